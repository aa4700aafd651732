/* Test helpers: the statistics of the benchmarks. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Orders doubles (for g_array_sort() and qsort()). */
gint        ql_test_compare_doubles     (gconstpointer a,
                                         gconstpointer b);
/* The median and the minimum of a GArray of double (not changed). */
double      ql_test_median              (GArray       *values);
double      ql_test_minimum             (GArray       *values);
/* The @p-th percentile (0 < @p <= 100) of a GArray of double, nearest
 * rank: the smallest value with at least @p % of the values at or below
 * it (with fewer than 100 values, p99 is the maximum). Not changed. */
double      ql_test_percentile          (GArray       *values,
                                         double        p);

/* @values (seconds) as whole milliseconds, space-separated. */
char       *ql_test_list_ms             (GArray       *values);
/* The environment variable @name as a number, or @fallback when unset. */
guint       ql_test_env_uint            (const char   *name,
                                         guint         fallback);

G_END_DECLS
