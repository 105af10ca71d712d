/* demo.c — the program the README records: a word-frequency counter.
 *
 * It makes up a text from a fixed generator, counts the words in a chained
 * hash table that grows as it fills, sorts the words into a linked list by
 * count, prints the three most frequent words, and cleans up — except for two
 * leaks left in on purpose, the kind a memory debugger should point at:
 *
 *   - summarize_top_words() returns a malloc'd string that main never frees;
 *   - free_word_list() forgets the nodes of words that start with 'z'.
 *
 * Deterministic: the same run makes the same calls and prints the same line.
 * Optional argument: the number of words to generate (default 3 000 000,
 * about half a second on a laptop).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct WordEntry WordEntry;
struct WordEntry
{
  WordEntry *next_in_bucket;
  char *word;
  unsigned long count;
};

typedef struct
{
  WordEntry **buckets;
  size_t n_buckets;
  size_t n_entries;
} WordTable;

typedef struct WordNode WordNode;
struct WordNode
{
  WordNode *next;
  const WordEntry *entry;
};

static const char *const syllables[] = {
  "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "do",
};
#define N_SYLLABLES (sizeof syllables / sizeof syllables[0])

static uint32_t rng_state = 2024;

static uint32_t
next_random (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return rng_state >> 8;
}

/* Writes a made-up word into buffer: frequent short words, rare long ones. */
static size_t
make_up_word (char *buffer)
{
  uint32_t r = next_random ();
  int n_syllables = 1 + (int) (r % 7 == 0) + (int) (r % 13 == 0) + (int) (r % 3 == 0);
  size_t len = 0;

  for (int i = 0; i < n_syllables; i++)
    {
      uint32_t pick = next_random () % (N_SYLLABLES * N_SYLLABLES);
      const char *s = syllables[(pick * pick / (N_SYLLABLES * N_SYLLABLES)) % N_SYLLABLES];
      size_t n = strlen (s);
      memcpy (buffer + len, s, n);
      len += n;
    }
  buffer[len] = '\0';
  return len;
}

static uint64_t
hash_word (const char *word)
{
  uint64_t h = 1469598103934665603ull;      /* FNV-1a */
  for (; *word; word++)
    h = (h ^ (unsigned char) *word) * 1099511628211ull;
  return h;
}

static void
word_table_grow (WordTable *table)
{
  size_t n_buckets = table->n_buckets ? table->n_buckets * 2 : 64;
  WordEntry **buckets = calloc (n_buckets, sizeof *buckets);

  for (size_t i = 0; i < table->n_buckets; i++)
    {
      WordEntry *entry = table->buckets[i];
      while (entry != NULL)
        {
          WordEntry *next = entry->next_in_bucket;
          size_t b = hash_word (entry->word) & (n_buckets - 1);
          entry->next_in_bucket = buckets[b];
          buckets[b] = entry;
          entry = next;
        }
    }
  free (table->buckets);
  table->buckets = buckets;
  table->n_buckets = n_buckets;
}

/* Takes ownership of word: keeps it for a new entry or frees it. */
static void
word_table_count (WordTable *table, char *word)
{
  size_t b;

  if (table->n_entries + 1 > table->n_buckets * 3 / 4)
    word_table_grow (table);
  b = hash_word (word) & (table->n_buckets - 1);
  for (WordEntry *entry = table->buckets[b]; entry; entry = entry->next_in_bucket)
    if (strcmp (entry->word, word) == 0)
      {
        entry->count++;
        free (word);
        return;
      }

  WordEntry *entry = malloc (sizeof *entry);
  entry->word = word;
  entry->count = 1;
  entry->next_in_bucket = table->buckets[b];
  table->buckets[b] = entry;
  table->n_entries++;
}

static void
word_table_free (WordTable *table)
{
  for (size_t i = 0; i < table->n_buckets; i++)
    {
      WordEntry *entry = table->buckets[i];
      while (entry != NULL)
        {
          WordEntry *next = entry->next_in_bucket;
          free (entry->word);
          free (entry);
          entry = next;
        }
    }
  free (table->buckets);
}

/* A list of every entry, most frequent first (ties by word). */
static WordNode *
sort_words_by_count (const WordTable *table)
{
  WordNode *head = NULL;

  for (size_t i = 0; i < table->n_buckets; i++)
    for (const WordEntry *entry = table->buckets[i]; entry; entry = entry->next_in_bucket)
      {
        WordNode *node = malloc (sizeof *node);
        WordNode **link = &head;
        node->entry = entry;
        while (*link != NULL
               && ((*link)->entry->count > entry->count
                   || ((*link)->entry->count == entry->count
                       && strcmp ((*link)->entry->word, entry->word) < 0)))
          link = &(*link)->next;
        node->next = *link;
        *link = node;
      }
  return head;
}

static char *
summarize_top_words (const WordNode *list, int n_top)
{
  size_t size = 256;
  char *summary = malloc (size);
  size_t len = 0;

  summary[0] = '\0';
  for (int i = 0; i < n_top && list != NULL; i++, list = list->next)
    len += (size_t) snprintf (summary + len, size - len, "%s%s (%lu)",
                              i ? ", " : "", list->entry->word, list->entry->count);
  return summary;
}

static void
free_word_list (WordNode *list)
{
  while (list != NULL)
    {
      WordNode *next = list->next;
#ifndef HM_DEMO_FIXED
      if (list->entry->word[0] != 'z')     /* the bug: 'z' words leak */
#endif
        free (list);
      list = next;
    }
}

int
main (int argc, char **argv)
{
  long n_words = argc > 1 ? atol (argv[1]) : 3000000;
  WordTable table = { 0 };
  char buffer[64];

  for (long i = 0; i < n_words; i++)
    {
      size_t len = make_up_word (buffer);
      char *word = malloc (len + 1);
      memcpy (word, buffer, len + 1);
      word_table_count (&table, word);
    }

  WordNode *list = sort_words_by_count (&table);
  char *summary = summarize_top_words (list, 3);
  printf ("demo: %ld words, %zu distinct; most frequent: %s\n",
          n_words, table.n_entries, summary);
  free_word_list (list);
  word_table_free (&table);
  return 0;                                /* summary leaks too */
}
