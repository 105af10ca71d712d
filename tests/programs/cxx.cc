/* cxx.cc — C++'s allocation paths: new/delete, new[]/delete[] (with and
 * without an array cookie) and std::vector growth.
 *
 * Prints nothing.  libstdc++ allocates its exception emergency pool with
 * malloc before main, so whole-process totals are compared with
 * count-preload.c, and the exact numbers below are checked over the sites
 * whose stacks hold these extern "C" functions (plain names, no mangling).
 *
 *   function          allocations  bytes  frees  leaked blocks / bytes
 *   cxx_new_delete    100          2 400  60     40 / 960
 *   cxx_new_array     15           2 360  15     0 / 0
 *   cxx_vector_growth 8            1 020  8      0 / 0
 *   own total         123          5 780  83     40 / 960
 *
 * Widget is 24 bytes.  new int[50] asks for 200 bytes; new Tracked[4] asks
 * for 4 x 16 + 8: a type with a destructor gets an 8-byte element-count cookie
 * (Itanium C++ ABI).  A vector<int> growing to 100 elements without reserve()
 * doubles its capacity 1, 2, 4 ... 128: 8 allocations of 4 ... 512 bytes,
 * each freed by the next growth or by the destructor.
 */
#include <cstdlib>
#include <vector>

#define NOINLINE __attribute__((noinline))

struct Widget
{
  long id;
  double weight;
  Widget *next;
};

struct Tracked
{
  long a;
  long b;
  ~Tracked () { a = b = 0; }
};

static Widget *kept_widgets[40];

extern "C" NOINLINE void
cxx_new_delete (void)
{
  Widget *widgets[100];
  for (int i = 0; i < 100; i++)
    widgets[i] = new Widget { i, i * 0.5, nullptr }; // SITE: new
  for (int i = 0; i < 100; i++)
    {
      if (i % 5 < 2)
        kept_widgets[(i / 5) * 2 + i % 5] = widgets[i];
      else
        delete widgets[i];
    }
}

extern "C" NOINLINE void
cxx_new_array (void)
{
  for (int i = 0; i < 10; i++)
    {
      int *numbers = new int[50]; // SITE: new-array
      numbers[49] = i;
      delete[] numbers;
    }
  for (int i = 0; i < 5; i++)
    {
      Tracked *tracked = new Tracked[4]; // SITE: new-array-cookie
      tracked[3].a = i;
      delete[] tracked;
    }
}

extern "C" NOINLINE void
cxx_vector_growth (void)
{
  std::vector<int> numbers;
  for (int i = 0; i < 100; i++)
    numbers.push_back (i);
  if (numbers.capacity () != 128)
    std::exit (91);
}

int
main ()
{
  static_assert (sizeof (Widget) == 24, "Widget is 24 bytes");
  static_assert (sizeof (Tracked) == 16, "Tracked is 16 bytes");
  cxx_new_delete ();
  cxx_new_array ();
  cxx_vector_growth ();
  return 0;
}
