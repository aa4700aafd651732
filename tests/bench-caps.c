/* Benchmark: probing this machine's QEMU against a cached lookup.
 *
 * In one run, side by side: ROUNDS probes that bypass the cache (the
 * lists; the lists plus the properties of the device types a typical VM
 * uses; every device type's properties), then LOOKUPS cached lookups of the
 * same binary and device types (stat, map, check). Prints min, median and
 * mean of each and the ratio of the medians. The targets (probe
 * under 300 ms, cached lookup under 1 ms) are reported, not asserted: these
 * machines are noisy. */
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <stdio.h>
#include <stdlib.h>

#define QEMU "qemu-system-x86_64"
#define ROUNDS 7
#define LOOKUPS 500

static double
report (const char *what,
        double     *ms,
        guint       n)
{
  double sum = 0;

  qsort (ms, n, sizeof *ms, ql_test_compare_doubles);
  for (guint i = 0; i < n; i++)
    sum += ms[i];
  printf ("%-34s min %9.3f ms  median %9.3f ms  mean %9.3f ms  (n=%u)\n",
          what, ms[0], ms[n / 2], sum / n, n);
  return ms[n / 2];
}

static double
time_lookup (const char * const     *types,
             QlQemuCapsLookupFlags   flags)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  gint64 t0 = g_get_monotonic_time ();

  caps = ql_qemu_caps_lookup (QEMU, types, flags, NULL, &error);
  if (caps == NULL)
    g_error ("%s", error->message);
  return (g_get_monotonic_time () - t0) / 1000.0;
}

int
main (void)
{
  const char *vm_types[] = { "virtio-blk-pci", "virtio-net-pci", "virtio-scsi-pci", "scsi-hd",
                             "virtio-serial-pci", "virtconsole", "pci-bridge", "vhost-vsock-pci",
                             "virtio-9p-pci", "vhost-user-blk-pci", NULL };
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *cache = g_build_filename (dir, "cache", NULL);
  double lists[ROUNDS], with_vm[ROUNDS], all[3], cached[LOOKUPS];
  double probe_median, cached_median;

  g_autofree char *qemu = g_find_program_in_path (QEMU);

  if (qemu == NULL)
    {
      printf ("no %s: skipped\n", QEMU);
      return 77;
    }
  g_setenv ("QLAUNCH_CACHE_DIR", cache, TRUE);

  for (guint i = 0; i < ROUNDS; i++)
    {
      lists[i] = time_lookup (NULL, QL_QEMU_CAPS_LOOKUP_NO_CACHE);
      with_vm[i] = time_lookup (vm_types, QL_QEMU_CAPS_LOOKUP_NO_CACHE);
    }
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    all[i] = time_lookup (NULL, QL_QEMU_CAPS_LOOKUP_NO_CACHE | QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES);
  /* Fill the cache, then read it. */
  time_lookup (vm_types, QL_QEMU_CAPS_LOOKUP_REFRESH);
  for (guint i = 0; i < LOOKUPS; i++)
    cached[i] = time_lookup (vm_types, QL_QEMU_CAPS_LOOKUP_NONE);

  printf ("QEMU capabilities of %s, this machine, one run:\n", QEMU);
  report ("probe: lists only", lists, ROUNDS);
  probe_median = report ("probe: lists + 10 device types", with_vm, ROUNDS);
  report ("probe: every device type", all, G_N_ELEMENTS (all));
  cached_median = report ("cached lookup (10 device types)", cached, LOOKUPS);
  printf ("probe/cached (medians): %.0fx\n", probe_median / cached_median);
  printf ("targets: probe < 300 ms: %s (%.1f ms); cached < 1 ms: %s (%.3f ms)\n",
          probe_median < 300 ? "met" : "NOT met", probe_median,
          cached_median < 1 ? "met" : "NOT met", cached_median);
  ql_test_rm_rf (dir);
  return 0;
}
