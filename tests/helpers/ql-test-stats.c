/* Test helpers: the statistics of the benchmarks. */
#include "ql-test-stats.h"

gint
ql_test_compare_doubles (gconstpointer a,
                         gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

double
ql_test_median (GArray *values)
{
  g_autoptr(GArray) sorted = g_array_copy (values);
  guint n = sorted->len;

  g_assert_cmpuint (n, >, 0);
  g_array_sort (sorted, ql_test_compare_doubles);
  if (n % 2)
    return g_array_index (sorted, double, n / 2);
  return (g_array_index (sorted, double, n / 2 - 1) + g_array_index (sorted, double, n / 2)) / 2;
}

double
ql_test_minimum (GArray *values)
{
  double m = G_MAXDOUBLE;

  for (guint i = 0; i < values->len; i++)
    m = MIN (m, g_array_index (values, double, i));
  return m;
}

double
ql_test_percentile (GArray *values,
                    double  p)
{
  g_autoptr(GArray) sorted = g_array_copy (values);
  double r = p / 100.0 * values->len;
  guint rank = (guint) r;

  if (rank < r)
    rank++;                     /* ceil, without libm */
  g_assert_cmpuint (sorted->len, >, 0);
  g_assert_cmpfloat (p, >, 0);
  g_assert_cmpfloat (p, <=, 100);
  g_array_sort (sorted, ql_test_compare_doubles);
  return g_array_index (sorted, double, MAX (rank, 1) - 1);
}
