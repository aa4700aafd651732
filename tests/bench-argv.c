/* Benchmark (meson test --benchmark): argv building cost for 1,000 and
 * 2,000 devices (should be linear), and the CPU cost of a whole
 * `qlaunch args` run on the example VM. Prints figures; asserts nothing
 * about time (these machines are noisy). */
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <gio/gio.h>
#include <malloc.h>
#include <sys/resource.h>

static QlVmConfig *
make_vm (QlRegistry *registry,
         guint       n_devices)
{
  QlVmConfig *vm = ql_vm_config_new ();

  ql_vm_config_set_host_probe (vm, NULL);
  /* pc: q35's root bus has room for 30 root ports, and qlaunch refuses a VM
   * that needs more (the argv alone is measured here). */
  g_object_set (vm, "machine-type", "pc", "machine-acceleration", "tcg", NULL);
  for (guint i = 0; i < n_devices; i++)
    {
      g_autofree char *id = g_strdup_printf ("n%u", i);
      g_autofree char *ifname = g_strdup_printf ("qlb%u", i);
      g_autoptr(QlDevice) device = ql_registry_create_device (registry, i % 2 ? "net" : "scsi-controller", id, NULL);

      if (i % 2)
        g_object_set (device, "if-name", ifname, "mac-address", "02:00:ca:fe:00:01", NULL);
      ql_vm_config_add_device (vm, device);
    }
  return vm;
}

static double
seconds_per_build (QlVmConfig *vm,
                   guint       rounds)
{
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint r = 0; r < rounds; r++)
    {
      gint64 start = g_get_monotonic_time ();
      g_auto(GStrv) argv = ql_vm_config_to_argv (vm, NULL);

      g_assert_nonnull (argv);
      double t = (g_get_monotonic_time () - start) / 1e6;
      g_array_append_val (times, t);
    }
  g_array_sort (times, ql_test_compare_doubles);
  /* The minimum: CPU-bound work only gets slower from outside noise. */
  return g_array_index (times, double, 0);
}

static double
child_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main (int argc, char **argv)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autoptr(QlVmConfig) vm1000 = make_vm (registry, 1000);
  g_autoptr(QlVmConfig) vm2000 = make_vm (registry, 2000);
  g_autofree char *example = g_build_filename (g_getenv ("QLAUNCH_TEST_SRCDIR"), "..", "data", "examples",
                                               "minimal.vm", NULL);
  const char *cli_args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "args",
                             "--no-host-checks", example, NULL };
  const guint cli_runs = 30;
  double t1000, t2000, cpu_before, cpu_per_run;

  /* Keep freed memory in the process between rounds, as a long-running
   * launcher would: otherwise glibc returns it to the kernel after every
   * round and the page faults of re-touching it dominate the larger case. */
  mallopt (M_TRIM_THRESHOLD, 256 << 20);
  mallopt (M_MMAP_THRESHOLD, 64 << 20);

  /* Warm up, then measure both sizes side by side. */
  seconds_per_build (vm1000, 3);
  seconds_per_build (vm2000, 3);
  t1000 = t2000 = G_MAXDOUBLE;
  for (guint r = 0; r < 15; r++)   /* interleaved, so both see the same noise */
    {
      t1000 = MIN (t1000, seconds_per_build (vm1000, 3));
      t2000 = MIN (t2000, seconds_per_build (vm2000, 3));
    }
  g_print ("argv build, 1000 devices: %.3f ms (best of 45)\n", t1000 * 1e3);
  g_print ("argv build, 2000 devices: %.3f ms (best of 45)\n", t2000 * 1e3);
  g_print ("ratio 2000/1000: %.2f (linear = 2.00, target <= 2.20)\n", t2000 / t1000);

  {
    const char *true_argv[] = { "/bin/true", NULL };
    const char *version_args[] = { "--version", NULL };
    double t0 = child_cpu_seconds ();

    for (guint i = 0; i < cli_runs; i++)
      {
        g_autoptr(GSubprocess) p = g_subprocess_newv (true_argv, G_SUBPROCESS_FLAGS_NONE, NULL);

        g_subprocess_wait (p, NULL, NULL);
      }
    g_print ("baseline /bin/true: %.2f ms CPU per run\n", (child_cpu_seconds () - t0) / cli_runs * 1e3);
    t0 = child_cpu_seconds ();
    for (guint i = 0; i < cli_runs; i++)
      g_assert_cmpint (ql_test_run_cli (version_args, NULL, NULL), ==, 0);
    g_print ("baseline qlaunch --version (process start with GLib/GIO): %.2f ms CPU per run\n",
             (child_cpu_seconds () - t0) / cli_runs * 1e3);
  }

  cpu_before = child_cpu_seconds ();
  for (guint i = 0; i < cli_runs; i++)
    {
      g_autofree char *out = NULL;

      g_assert_cmpint (ql_test_run_cli (cli_args, &out, NULL), ==, 0);
    }
  cpu_per_run = (child_cpu_seconds () - cpu_before) / cli_runs;
  g_print ("qlaunch args on data/examples/minimal.vm: %.2f ms CPU per run (user+sys, mean of %u; target < 5 ms)\n",
           cpu_per_run * 1e3, cli_runs);
  return 0;
}
