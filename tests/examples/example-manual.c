/* example-manual.c — the manual strategy: hm_alloc and hm_free.
 *
 * Like malloc and free, but the memory is the manager's: traced as its own
 * strategy, and (with a profile) served from pools where that is faster.
 * Build: cc example-manual.c $(pkg-config --cflags --libs hybridmem)
 */
#include <hybridmem.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char name[32];
  int score;
} Player;

int
main (void)
{
  Player *players[100];

  for (int i = 0; i < 100; i++)
    {
      players[i] = hm_alloc (sizeof (Player));
      snprintf (players[i]->name, sizeof players[i]->name, "player-%d", i);
      players[i]->score = i * 7 % 100;
    }
  int best = 0;
  for (int i = 1; i < 100; i++)
    if (players[i]->score > players[best]->score)
      best = i;
  printf ("best: %s with %d\n", players[best]->name, players[best]->score);
  for (int i = 0; i < 100; i++)
    hm_free (players[i]);
  return 0;
}
