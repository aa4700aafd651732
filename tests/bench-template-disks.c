/* Benchmark (meson test --benchmark): a clone with a writable disk against
 * a clone without one, side by side in one run.
 *
 * Two templates of the same test guest VM (shell, machine pc, TCG,
 * 256 MiB) over the same 8 MiB raw image: one with the disk writable (it
 * runs on overlays: the template's, and one made for every clone), one
 * with it read-only (the image itself, as before writable disks). Clones
 * of the two are started alternately, `qlaunch template clone DIR`, each
 * timed from the spawn to the guest's answer to its first console command
 * (`true`), then powered off. Prints every time, the medians and the ratio
 * writable/read-only (target <= 1.1). Also the library's
 * ql_template_new_clone() (checks and, for the writable one, the overlay;
 * no QEMU), 20 in a row of each, medians.
 *
 * It shares the test's template code
 * (tests/test-template-disks-guest.c, without its main).
 */
#define QL_TEMPLATE_DISKS_BENCH 1
/* The test's cases are not run here. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test-template-disks-guest.c"
#include "ql-test-stats.h"

#define ROUNDS 7
#define NEW_CLONES 20

static double
time_clone (const char *dir)
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(QlTestConsole) c = template_clone (dir, NULL);
  g_autofree char *out = ql_test_console_shell_ok (c, "true", COMMAND_TIMEOUT_S);
  double ms = (g_get_monotonic_time () - start) / 1e3;

  ql_test_console_poweroff_ok (c, CLONE_TIMEOUT_S);
  return ms;
}

static double
time_new_clone (QlTemplate *tpl)
{
  g_autoptr(GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(QlVm) vm = ql_template_new_clone (tpl, &error);
  double ms = (g_get_monotonic_time () - t0) / 1e3;

  g_assert_no_error (error);
  return ms;
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *rw = NULL;
  g_autofree char *ro = NULL;
  g_autoptr(GArray) t_rw = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) t_ro = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) n_rw = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) n_ro = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(GError) error = NULL;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  if (ql_test_guest_dir () == NULL)
    {
      g_print ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest): skipped\n");
      return 0;
    }
  work_dir = ql_test_make_tmpdir ();
  ql_test_proc_guard (work_dir, NULL);
  run_dir = ql_test_make_runtime_dir (work_dir, "run");
  ensure_base ();
  rw = make_template ("writable", TRUE, NULL);
  ro = make_template ("read-only", FALSE, NULL);
  {
    g_autofree char *load = NULL;

    g_file_get_contents ("/proc/loadavg", &load, NULL, NULL);
    g_print ("VM: the test guest, machine pc, TCG, 256 MiB, an 8 MiB raw disk; load average %s",
             load != NULL ? load : "?\n");
  }
  for (guint i = 0; i < ROUNDS; i++)
    {
      /* Alternate which goes first. */
      double a, b;

      if (i % 2 == 0)
        {
          a = time_clone (rw);
          b = time_clone (ro);
        }
      else
        {
          b = time_clone (ro);
          a = time_clone (rw);
        }
      g_array_append_val (t_rw, a);
      g_array_append_val (t_ro, b);
      g_print ("round %u: writable disk %.1f ms, read-only disk %.1f ms\n", i, a, b);
    }
  registry = ql_test_registry_new ();
  {
    g_autoptr(QlTemplate) tpl_rw = ql_template_load (rw, registry, &error);
    g_autoptr(QlTemplate) tpl_ro = ql_template_load (ro, registry, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < NEW_CLONES; i++)
      {
        double a = time_new_clone (tpl_rw);
        double b = time_new_clone (tpl_ro);

        g_array_append_val (n_rw, a);
        g_array_append_val (n_ro, b);
      }
  }
  g_print ("clone, request to first answer, median of %u: writable %.1f ms, read-only %.1f ms, "
           "ratio %.3f (target <= 1.1)\n", ROUNDS, ql_test_median (t_rw), ql_test_median (t_ro),
           ql_test_median (t_rw) / ql_test_median (t_ro));
  g_print ("ql_template_new_clone, median of %u: writable %.2f ms, read-only %.2f ms\n", NEW_CLONES,
           ql_test_median (n_rw), ql_test_median (n_ro));
  {
    const char *chmod[] = { "chmod", "-R", "u+w", work_dir, NULL };

    ql_test_run (chmod, NULL);
    ql_test_rm_rf (work_dir);
  }
  return 0;
}
