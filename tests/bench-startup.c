/* Benchmark (meson test --benchmark): what `qlaunch args` costs at start-up,
 * and how that grows with the number of installed plugins.
 *
 * Side by side, interleaved (the order rotates every round), the CPU time
 * (user + system, from wait4's rusage) of:
 *   floor:     tests/helpers/startup-floor.c, a program linked against
 *              exactly the libraries `qlaunch` links (its DT_NEEDED list),
 *              which returns at once: what any program with these
 *              libraries pays to start on this machine;
 *   stack:     tests/helpers/startup-stack.c, linked the same way, doing what
 *              the libraries and idioms qlaunch is built on cost for the same
 *              command (GOptionContext, the VM file in a GKeyFile, one GObject
 *              class with a VM configuration's 55 properties, one plugin file
 *              opened with the dynamic loader, the line printed) and nothing
 *              of qlaunch's own: how much of stock's cost above the floor is
 *              the stack's;
 *   stock:     `qlaunch --plugin-dir BUILD/plugins args --no-host-checks
 *              data/examples/minimal.vm`, the stock plugins, warm registry
 *              cache;
 *   many:      the same with a second --plugin-dir holding 91 more plugins,
 *              generated from tests/bench-plugins/bench-plugin.c.in at build
 *              time (distinct, valid, trivial), warm cache;
 * and, in rounds of their own, the cold first run of stock and many (a new,
 * empty cache directory each time: every plugin is scanned in the
 * out-of-process scanner and the cache written).
 *
 * Reports medians and minimums, and the ratios stock/floor (target: at most
 * 1.2) and many/stock (target: at most 1.05), with stack/floor and
 * stock/stack to show where the first one goes; and each case's page
 * faults, with what a fresh page costs on this machine: on a virtual
 * machine where a page fault costs many times what it costs on bare metal,
 * pages touched weigh more than instructions run. Asserts only that every run
 * exits 0 and that stock and many print the same argv. QLAUNCH_BENCH_ROUNDS
 * sets the warm rounds (default 45; the cold ones are a fifth of that). */
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

extern char **environ;

typedef struct
{
  const char *name;
  char      **argv;
  gboolean    cold;        /* a fresh cache directory for every run */
  GArray     *cpu_ms;
  GArray     *faults;      /* minor page faults of each run */
  char       *output;      /* stdout of the first run */
} Case;

/* Runs @c once with QLAUNCH_CACHE_DIR=@cache_dir; stdout into @out_path.
 * Returns the child's CPU time in milliseconds, and its minor page faults
 * in @faults. */
static double
run_once (Case       *c,
          const char *cache_dir,
          const char *out_path,
          double     *faults)
{
  g_auto(GStrv) env = g_environ_setenv (g_strdupv (environ), "QLAUNCH_CACHE_DIR", cache_dir, TRUE);
  posix_spawn_file_actions_t actions;
  struct rusage ru;
  int status = 0;
  pid_t pid;
  int rc;

  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  rc = posix_spawn (&pid, c->argv[0], &actions, NULL, c->argv, env);
  posix_spawn_file_actions_destroy (&actions);
  if (rc != 0)
    g_error ("%s: cannot run %s: %s", c->name, c->argv[0], g_strerror (rc));
  while (wait4 (pid, &status, 0, &ru) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("%s: %s exited with status %d", c->name, c->argv[0], status);
  *faults = ru.ru_minflt;
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void
run_case (Case       *c,
          const char *warm_cache,
          const char *scratch)
{
  g_autofree char *out_path = g_build_filename (scratch, "stdout", NULL);
  g_autofree char *cache = c->cold ? g_build_filename (scratch, "cold-cache", NULL) : NULL;
  double ms, faults;

  if (cache != NULL)
    {
      ql_test_rm_rf (cache);
      g_assert_cmpint (g_mkdir (cache, 0700), ==, 0);
    }
  ms = run_once (c, cache != NULL ? cache : warm_cache, out_path, &faults);
  g_array_append_val (c->cpu_ms, ms);
  g_array_append_val (c->faults, faults);
  if (c->output == NULL)
    g_assert_true (g_file_get_contents (out_path, &c->output, NULL, NULL));
}

static void
report (Case *c)
{
  g_print ("%-12s CPU median %7.2f ms, best %7.2f ms, %5.0f page faults (%u runs)\n", c->name,
           ql_test_median (c->cpu_ms), ql_test_minimum (c->cpu_ms), ql_test_median (c->faults),
           c->cpu_ms->len);
}

/* What this machine charges for the first touch of a fresh anonymous page
 * (the page fault, the zeroed page): the median over 9 rounds of 256
 * pages, in microseconds. On some virtual machines this is many times
 * what bare metal charges (9 to 15 us on the one the README's figures
 * come from), and it is paid for every page of heap, stack or written data
 * a program touches. */
static double
fresh_page_cost_us (void)
{
  const gsize n_pages = 256;
  const gsize page = (gsize) sysconf (_SC_PAGESIZE);
  g_autoptr(GArray) costs = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint round = 0; round < 9; round++)
    {
      volatile char *pages = mmap (NULL, n_pages * page, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      struct timespec t0, t1;
      double us;

      g_assert_true (pages != MAP_FAILED);
      clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t0);
      for (gsize i = 0; i < n_pages; i++)
        pages[i * page] = 1;
      clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t1);
      us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n_pages;
      g_array_append_val (costs, us);
      munmap ((void *) pages, n_pages * page);
    }
  return ql_test_median (costs);
}

static char **
qlaunch_argv (const char *vm_file,
              const char *extra_dir)
{
  const char *bin = g_getenv ("QLAUNCH_BIN");
  GPtrArray *argv = g_ptr_array_new ();

  g_ptr_array_add (argv, g_strdup (bin));
  g_ptr_array_add (argv, g_strdup ("--plugin-dir"));
  g_ptr_array_add (argv, g_strdup (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR")));
  if (extra_dir != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--plugin-dir"));
      g_ptr_array_add (argv, g_strdup (extra_dir));
    }
  g_ptr_array_add (argv, g_strdup ("args"));
  g_ptr_array_add (argv, g_strdup ("--no-host-checks"));
  g_ptr_array_add (argv, g_strdup (vm_file));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

static guint
count_plugins (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    n += g_str_has_prefix (name, "libqlaunch-") && g_str_has_suffix (name, ".so");
  return n;
}

int
main (void)
{
  const char *rounds_env = g_getenv ("QLAUNCH_BENCH_ROUNDS");
  guint rounds = rounds_env != NULL ? (guint) g_ascii_strtoull (rounds_env, NULL, 10) : 45;
  const char *many_dir = g_getenv ("QLAUNCH_BENCH_PLUGIN_DIR");
  g_autofree char *vm_file = g_build_filename (g_getenv ("QLAUNCH_TEST_SRCDIR"), "..", "data", "examples",
                                               "minimal.vm", NULL);
  g_autofree char *scratch = ql_test_make_tmpdir ();
  g_autofree char *warm_cache = g_build_filename (scratch, "warm-cache", NULL);
  char *floor_argv[] = { (char *) g_getenv ("QLAUNCH_STARTUP_FLOOR"), NULL };
  g_autofree char *net_plugin = g_build_filename (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "libqlaunch-net.so", NULL);
  char *stack_argv[] = { (char *) g_getenv ("QLAUNCH_STARTUP_STACK"), (char *) "--no-host-checks", vm_file,
                         net_plugin, NULL };
  guint n_stock = count_plugins (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  guint n_extra = count_plugins (many_dir);
  Case floor_case = { "floor", floor_argv, FALSE, NULL, NULL, NULL };
  Case stack = { "stack", stack_argv, FALSE, NULL, NULL, NULL };
  Case stock = { "stock", qlaunch_argv (vm_file, NULL), FALSE, NULL, NULL, NULL };
  Case many = { "many", qlaunch_argv (vm_file, many_dir), FALSE, NULL, NULL, NULL };
  Case stock_cold = { "stock cold", stock.argv, TRUE, NULL, NULL, NULL };
  Case many_cold = { "many cold", many.argv, TRUE, NULL, NULL, NULL };
  Case *warm[] = { &floor_case, &stack, &stock, &many };
  Case *cold[] = { &stock_cold, &many_cold };
  Case *all[] = { &floor_case, &stack, &stock, &many, &stock_cold, &many_cold };

  g_assert_nonnull (floor_argv[0]);
  g_assert_nonnull (stack_argv[0]);
  g_assert_cmpuint (rounds, >, 0);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      all[i]->cpu_ms = g_array_new (FALSE, FALSE, sizeof (double));
      all[i]->faults = g_array_new (FALSE, FALSE, sizeof (double));
    }
  g_assert_cmpint (g_mkdir (warm_cache, 0700), ==, 0);

  g_print ("plugins: stock %u files, many %u files (%u generated)\n", n_stock, n_stock + n_extra, n_extra);
  /* Warm the cache for both plugin sets; untimed. */
  run_case (&stock, warm_cache, scratch);
  run_case (&many, warm_cache, scratch);
  g_array_set_size (stock.cpu_ms, 0);
  g_array_set_size (many.cpu_ms, 0);
  g_array_set_size (stock.faults, 0);
  g_array_set_size (many.faults, 0);
  g_assert_cmpstr (stock.output, ==, many.output);

  for (guint r = 0; r < rounds; r++)
    for (guint k = 0; k < G_N_ELEMENTS (warm); k++)
      run_case (warm[(r + k) % G_N_ELEMENTS (warm)], warm_cache, scratch);
  for (guint r = 0; r < MAX (rounds / 5, 1); r++)
    for (guint k = 0; k < G_N_ELEMENTS (cold); k++)
      run_case (cold[(r + k) % G_N_ELEMENTS (cold)], warm_cache, scratch);
  g_assert_cmpstr (stock_cold.output, ==, stock.output);
  g_assert_cmpstr (many_cold.output, ==, stock.output);

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    report (all[i]);
  g_print ("stock / floor: %.3f (median), %.3f (best); target at most 1.2\n",
           ql_test_median (stock.cpu_ms) / ql_test_median (floor_case.cpu_ms), ql_test_minimum (stock.cpu_ms) / ql_test_minimum (floor_case.cpu_ms));
  g_print ("stack / floor: %.3f (median), %.3f (best): the stack alone\n",
           ql_test_median (stack.cpu_ms) / ql_test_median (floor_case.cpu_ms), ql_test_minimum (stack.cpu_ms) / ql_test_minimum (floor_case.cpu_ms));
  g_print ("stock / stack: %.3f (median), %.3f (best): qlaunch's own work\n",
           ql_test_median (stock.cpu_ms) / ql_test_median (stack.cpu_ms), ql_test_minimum (stock.cpu_ms) / ql_test_minimum (stack.cpu_ms));
  g_print ("many / stock:  %.3f (median), %.3f (best); target at most 1.05\n",
           ql_test_median (many.cpu_ms) / ql_test_median (stock.cpu_ms), ql_test_minimum (many.cpu_ms) / ql_test_minimum (stock.cpu_ms));
  g_print ("cold / warm:   stock %.2f, many %.2f (median)\n",
           ql_test_median (stock_cold.cpu_ms) / ql_test_median (stock.cpu_ms), ql_test_median (many_cold.cpu_ms) / ql_test_median (many.cpu_ms));
  {
    double page_us = fresh_page_cost_us ();
    double extra_faults = ql_test_median (stock.faults) - ql_test_median (floor_case.faults);
    double extra_ms = ql_test_median (stock.cpu_ms) - ql_test_median (floor_case.cpu_ms);

    g_print ("fresh page:    %.2f us on this machine; stock takes %.0f page faults more than the floor:\n"
             "               at most %.2f ms of the %.2f ms between their medians\n",
             page_us, extra_faults, extra_faults * page_us / 1e3, extra_ms);
  }

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_array_unref (all[i]->cpu_ms);
      g_array_unref (all[i]->faults);
      g_free (all[i]->output);
    }
  g_strfreev (stock.argv);
  g_strfreev (many.argv);
  ql_test_rm_rf (scratch);
  return 0;
}
