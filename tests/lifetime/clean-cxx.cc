// clean-cxx.cc — C++ containers (std::vector, std::map, std::string,
// std::unordered_map, std::shared_ptr) in globals and on the stack while
// the reachability scan runs, then destroyed: it must say nothing.
#include <hybridmem.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

static std::vector<std::string> names;
static std::map<int, std::string> by_number;

struct Shape {
  std::string name;
  std::vector<double> points;
};

static size_t __attribute__ ((noinline))
work ()
{
  std::unordered_map<std::string, std::shared_ptr<Shape>> shapes;
  std::vector<std::unique_ptr<Shape>> owned;
  for (int i = 0; i < 200; i++)
    {
      names.push_back ("a name long enough not to be small: " + std::to_string (i));
      by_number[i] = names.back ();
      auto s = std::make_shared<Shape> ();
      s->name = names.back ();
      s->points.assign (i % 17 + 1, 1.5);
      shapes[s->name] = s;
      owned.push_back (std::make_unique<Shape> (*s));
    }
  return hm_analyze ();
}

int
main ()
{
  size_t leaks = work ();
  leaks += hm_analyze ();
  std::printf ("%s %zu\n", leaks == 0 ? "clean" : "LEAKS", names.size ());
  return 0;
}
