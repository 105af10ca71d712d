/* exit3.c — writes one fixed line to stdout and one to stderr through stdio,
 * then exits with status 3.  `hmtrace record` must pass both streams and the
 * status through untouched.
 */
#include <stdio.h>

int
main (void)
{
  printf ("exit3: a line on stdout\n");
  fprintf (stderr, "exit3: a line on stderr\n");
  return 3;
}
