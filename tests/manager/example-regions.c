/* example-regions.c — a region per parse: build a syntax tree, use it, drop
 * it all at once.
 *
 * A parser makes many small nodes that all die together when the tree is no
 * longer needed.  With malloc, every node is a malloc and a free (and a walk
 * over the tree to find them all); with a region, every node is a pointer
 * bump and the whole tree goes with one hm_region_reset.
 *
 *   cc example-regions.c $(pkg-config --cflags --libs hybridmem)
 *   ./a.out                       evaluates a few expressions
 *   hmtrace record -o t.hmt -- ./a.out && hmtrace report t.hmt
 *                                 the report's region section shows the
 *                                 "expression-ast" region: its nodes, resets
 *                                 and peak size
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hybridmem.h>

typedef enum { NODE_NUMBER, NODE_BINARY, NODE_NEGATE } NodeKind;

typedef struct Node Node;
struct Node {
  NodeKind kind;
  char op;               /* NODE_BINARY: + - * / */
  double value;          /* NODE_NUMBER */
  Node *left, *right;    /* NODE_NEGATE uses left only */
};

typedef struct {
  const char *at;
  HmRegion *region;      /* where every node of this parse lives */
  size_t n_nodes;
  const char *error;
} Parser;

static Node *parse_sum (Parser *p);

/* Every node comes from the region: no free anywhere in the parser, and no
 * clean-up on the error paths either. */
static Node *
new_node (Parser *p, NodeKind kind)
{
  Node *node = HM_REGION_NEW (p->region, Node, 1);   /* zeroed */
  node->kind = kind;
  p->n_nodes++;
  return node;
}

static void
skip_spaces (Parser *p)
{
  while (*p->at == ' ')
    p->at++;
}

/* primary := number | '(' sum ')' | '-' primary */
static Node *
parse_primary (Parser *p)
{
  skip_spaces (p);
  if (*p->at == '(')
    {
      p->at++;
      Node *inner = parse_sum (p);
      skip_spaces (p);
      if (*p->at != ')')
        {
          p->error = "expected ')'";
          return inner;
        }
      p->at++;
      return inner;
    }
  if (*p->at == '-')
    {
      p->at++;
      Node *node = new_node (p, NODE_NEGATE);
      node->left = parse_primary (p);
      return node;
    }
  char *end;
  double value = strtod (p->at, &end);
  if (end == p->at)
    p->error = "expected a number";
  p->at = end;
  Node *node = new_node (p, NODE_NUMBER);
  node->value = value;
  return node;
}

/* product := primary (('*' | '/') primary)* */
static Node *
parse_product (Parser *p)
{
  Node *left = parse_primary (p);
  for (skip_spaces (p); *p->at == '*' || *p->at == '/'; skip_spaces (p))
    {
      Node *node = new_node (p, NODE_BINARY);
      node->op = *p->at++;
      node->left = left;
      node->right = parse_primary (p);
      left = node;
    }
  return left;
}

/* sum := product (('+' | '-') product)* */
static Node *
parse_sum (Parser *p)
{
  Node *left = parse_product (p);
  for (skip_spaces (p); *p->at == '+' || *p->at == '-'; skip_spaces (p))
    {
      Node *node = new_node (p, NODE_BINARY);
      node->op = *p->at++;
      node->left = left;
      node->right = parse_product (p);
      left = node;
    }
  return left;
}

static double
evaluate (const Node *node)
{
  switch (node->kind)
    {
    case NODE_NUMBER:
      return node->value;
    case NODE_NEGATE:
      return -evaluate (node->left);
    case NODE_BINARY:
      break;
    }
  double a = evaluate (node->left), b = evaluate (node->right);
  switch (node->op)
    {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    default: return a / b;
    }
}

int
main (void)
{
  static const char *const lines[] = {
    "1 + 2 * 3",
    "(1 + 2) * 3",
    "-(4 - 6) * (2 + 3) / 5",
    "2 * (3 + (4 - (5 * (6 + 7))))",
    "1 + + 2",                       /* an error: the tree goes just the same */
  };
  /* One region for every parse: its first chunk is kept across resets, so
   * after the first line no parse asks the system for memory. */
  HmRegion *ast = hm_region_new ("expression-ast");
  size_t total_nodes = 0;
  int rounds = 1000;

  for (int round = 0; round < rounds; round++)
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
      {
        Parser parser = { .at = lines[i], .region = ast };
        Node *tree = parse_sum (&parser);
        if (round == 0)
          {
            if (parser.error != NULL)
              printf ("%-32s error: %s\n", lines[i], parser.error);
            else
              printf ("%-32s = %g  (%zu nodes, %zu bytes)\n", lines[i], evaluate (tree),
                      parser.n_nodes, hm_region_used (ast));
          }
        total_nodes += parser.n_nodes;
        /* The whole tree, every node of it, ends here. */
        hm_region_reset (ast);
      }
  hm_region_free (ast);
  printf ("parsed %d expressions into %zu nodes in one region, reset %d times\n",
          rounds * (int) (sizeof lines / sizeof lines[0]), total_nodes,
          rounds * (int) (sizeof lines / sizeof lines[0]));
  return 0;
}
