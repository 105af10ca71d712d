/* example-traced.c — plain malloc and free, nothing of hybridmem in the code.
 *
 * Run it under the agent to see every allocation with its stack:
 *   hmtrace record -o run.hmt -- ./example-traced && hmtrace report run.hmt
 * The block that is never freed shows up as leaked, with its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
duplicate_line (const char *text)
{
  char *copy = malloc (strlen (text) + 1);
  strcpy (copy, text);
  return copy;
}

int
main (void)
{
  char *lines[3];
  lines[0] = duplicate_line ("first");
  lines[1] = duplicate_line ("second");
  lines[2] = duplicate_line ("third");
  printf ("%s %s %s\n", lines[0], lines[1], lines[2]);
  free (lines[0]);
  free (lines[1]);
  /* lines[2] is leaked on purpose */
  return 0;
}
