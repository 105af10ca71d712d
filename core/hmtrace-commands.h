/* hmtrace-commands.h — the subcommands of hmtrace, one file each. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Each takes argv from the subcommand's name on (argv[0] = "record", …) and
 * returns the process exit status. */
int hmtrace_record_main (int argc, char **argv);
int hmtrace_report_main (int argc, char **argv);
int hmtrace_export_main (int argc, char **argv);
int hmtrace_profile_main (int argc, char **argv);
int hmtrace_attach_main (int argc, char **argv);
int hmtrace_dump_main (int argc, char **argv);

/* hmtrace-record.c: libhybridmem.so — $HM_AGENT_PATH, beside a build tree's
 * hmtrace, or the installed one; malloc'd (free or g_free). */
char *hmtrace_find_agent (void);

/* hmtrace.c: the directory this program was run from (its /proc/self/exe
 * without the last component) in out; false (and "") if it cannot be read. */
bool hmtrace_self_dir (char *out, size_t size);

/* hmtrace.c: the locale and our message catalogue, set up at the first
 * message (the front prints none when all goes well, and loading the
 * locale's files cost a recorded program 0.1 ms of its start). */
void hmtrace_messages (void);
const char *hmtrace_gettext (const char *msgid);
/* strerror in the user's language (the locale set up first) */
const char *hmtrace_error_text (int error);
