/* main.c — hybridmem-debugger, the GTK4 debugger of hybridmem traces. */
#include <glib/gi18n.h>
#include <locale.h>

#include "hm-dbg-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(HmDbgApplication) application = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, HM_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = hm_dbg_application_new (G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (application), argc, argv);
}
