/* Test helpers: the statistics of the benchmarks. */
#include "ql-test-stats.h"

#include <stdlib.h>

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

char *
ql_test_list_ms (GArray *values)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < values->len; i++)
    g_string_append_printf (s, "%s%.0f", i ? " " : "", g_array_index (values, double, i) * 1e3);
  return g_string_free (s, FALSE);
}

guint
ql_test_env_uint (const char *name,
                  guint       fallback)
{
  const char *v = g_getenv (name);

  return v != NULL && *v != '\0' ? (guint) atoi (v) : fallback;
}
