/* Suite guest: hot-plug on q35, into the PCIe root ports that
 * [machine] hotplug-slots reserves, with the booted test guest (one boot,
 * the `shell` check).
 *
 * /pcie-hotplug-guest/disk-net: q35 with hotplug-slots = 2 and nothing
 *   else. `qlaunch hotplug --vm` adds a virtio-blk disk and a virtio-net
 *   card (user-mode network) naming no bus: each goes into a reserved
 *   port (QOM parent_bus), and the guest sees the disk in /sys/block (its
 *   first bytes are the image's) and the card by its MAC in
 *   /sys/class/net. A third device is refused: no free port, how many the
 *   VM reserved, how to reserve more; nothing is added. `qlaunch unplug`
 *   removes both (QEMU's DEVICE_DELETED once the guest let them go) and
 *   they are gone in the guest; a device plugged again takes the port the
 *   disk freed. The guest kernel's messages say which driver (pciehp or
 *   acpiphp) handled the slots, and the times are logged.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <string.h>

#define MAC "52:54:00:51:0c:35"
#define DISK_HEADER "QLPCIE-HOTPLUG-1"

/* Runs @command in the guest; fails the test on a shell error or a
 * non-zero status. */
static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, 30);
}

/* Polls @command in the guest until its output is @expected, for at most
 * @timeout_s; returns the seconds it took. */
static double
wait_in_guest (QlTestGuest *guest,
               const char  *command,
               const char  *expected,
               guint        timeout_s)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + (gint64) timeout_s * G_USEC_PER_SEC;
  g_autofree char *out = NULL;

  for (;;)
    {
      g_free (out);
      out = shell_ok (guest, command);
      if (g_str_equal (out, expected))
        return (g_get_monotonic_time () - start) / 1e6;
      if (g_get_monotonic_time () > deadline)
        g_error ("after %u s the guest still says '%s' to: %s (expected '%s')", timeout_s, out, command, expected);
      g_usleep (100000);
    }
}

static int
run_cli (char       **out,
         char       **err,
         const char  *first,
         ...) G_GNUC_NULL_TERMINATED;

static int
run_cli (char       **out,
         char       **err,
         const char  *first,
         ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (gpointer) "--plugin-dir");
  g_ptr_array_add (args, (gpointer) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return ql_test_run_cli ((const char * const *) args->pdata, out, err);
}

/* The bus a device of the running VM sits on (QOM parent_bus). */
static char *
parent_bus (const char *qmp,
            const char *id)
{
  g_autofree char *args = g_strdup_printf ("{\"path\": \"/machine/peripheral/%s\", \"property\": \"parent_bus\"}", id);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  if (run_cli (&out, &err, "qmp", qmp, "qom-get", args, NULL) != 0)
    g_error ("qom-get parent_bus of %s: %s", id, err);
  return g_strdup (g_strstrip (out));
}

static void
test_disk_net (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *disk = NULL;
  g_autofree char *disk_spec = NULL;
  g_autofree char *vm_file = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *bus = NULL;
  const char *qmp;
  gint64 t0;
  double plugged, seen_disk, seen_nic, unplugged, gone;
  int status;

  if (ql_test_skip_without_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  disk = g_build_filename (dir, "hot.img", NULL);
  {
    g_autofree char *data = g_malloc0 (1024 * 1024);

    memcpy (data, DISK_HEADER, strlen (DISK_HEADER));
    g_assert_true (g_file_set_contents (disk, data, 1024 * 1024, &error));
    g_assert_no_error (error);
  }

  guest = ql_test_guest_new (dir,
                             "[machine]\ntype = q35\nacceleration = tcg\nhotplug-slots = 2\n"
                             "[memory]\nsize = 256M\n"
                             "[qmp q]\ntype = unix\npath = qmp.sock\n",
                             "shell", NULL);
  t0 = g_get_monotonic_time ();
  if (!ql_test_guest_start (guest))
    {
      g_autofree char *why = NULL;

      result = ql_test_guest_wait (guest);
      why = ql_test_guest_result_describe (result);
      g_error ("the guest did not start:\n%s", why);
    }
  g_assert_true (ql_test_guest_wait_for_shell (guest, 120, &error));
  g_assert_no_error (error);
  g_test_message ("guest shell after %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  qmp = ql_test_guest_get_qmp_path (guest);
  vm_file = g_build_filename (dir, "guest.vm", NULL);

  /* Two devices that name no bus, in one command: the two reserved ports. */
  disk_spec = g_strdup_printf ("block,id=hd1,file=%s,format=raw", disk);
  t0 = g_get_monotonic_time ();
  status = run_cli (&out, &err, "hotplug", "--vm", vm_file, qmp, "-d", disk_spec,
                    "-d", "net,id=nic1,net-type=user,mac-address=" MAC ",rom-file=", NULL);
  plugged = (g_get_monotonic_time () - t0) / 1e6;
  if (status != 0)
    g_error ("hotplug failed (%d): %s", status, err);
  g_assert_cmpstr (out, ==, "hotplugged hd1 (block)\nhotplugged nic1 (net)\n");
  bus = parent_bus (qmp, "hd1");
  g_assert_cmpstr (bus, ==, "\"/machine/peripheral/ql-hotplug1/ql-hotplug1\"");
  g_free (bus);
  bus = parent_bus (qmp, "nic1");
  g_assert_cmpstr (bus, ==, "\"/machine/peripheral/ql-hotplug2/ql-hotplug2\"");

  /* The guest sees both. */
  seen_disk = wait_in_guest (guest, "ls /sys/block | grep -c '^vd' || true", "1", 30);
  g_free (out);
  out = shell_ok (guest, "head -c 16 /dev/vda");
  g_assert_cmpstr (out, ==, DISK_HEADER);
  seen_nic = wait_in_guest (guest, "grep -lx " MAC " /sys/class/net/*/address | wc -l", "1", 30);

  /* Both reserved ports hold a device: a third is refused, and nothing of
   * it is added. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run_cli (&out, &err, "hotplug", "--vm", vm_file, qmp, "-d", "rng,id=rng1,backend=builtin", NULL);
  g_test_message ("third device: %s", err);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "qlaunch: hotplug: device 'rng1' (rng): no free PCIe root port"));
  g_assert_nonnull (strstr (err, "2 root ports reserved for hot-plug ([machine] hotplug-slots = 2)"));
  g_assert_nonnull (strstr (err, "larger [machine] hotplug-slots = N"));
  g_assert_nonnull (strstr (err, "no device was added"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&out, &err, "qmp", qmp, "qom-list", "{\"path\": \"/objects\"}", NULL), ==, 0);
  g_assert_null (strstr (out, "rng1"));

  /* Unplug: the guest lets the slots go, QEMU says DEVICE_DELETED. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  t0 = g_get_monotonic_time ();
  status = run_cli (&out, &err, "unplug", "--timeout", "30000", qmp, "hd1", "nic1", NULL);
  unplugged = (g_get_monotonic_time () - t0) / 1e6;
  if (status != 0)
    g_error ("unplug failed (%d): %s", status, err);
  g_assert_cmpstr (out, ==, "unplugged hd1\nunplugged nic1\n");
  gone = wait_in_guest (guest, "ls /sys/block | grep -c '^vd' || true; grep -lx " MAC " /sys/class/net/*/address | wc -l",
                        "0\n0", 30);

  /* The port the disk left takes the next device. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run_cli (&out, &err, "hotplug", "--vm", vm_file, qmp, "-d", "rng,id=rng1,backend=builtin", NULL);
  if (status != 0)
    g_error ("hotplug after unplug failed (%d): %s", status, err);
  g_free (bus);
  bus = parent_bus (qmp, "rng1");
  g_assert_cmpstr (bus, ==, "\"/machine/peripheral/ql-hotplug1/ql-hotplug1\"");

  /* Which guest driver handled the slots (QEMU 7.2's q35 uses ACPI PCI
   * hot-plug for root ports by default). */
  g_free (out);
  out = shell_ok (guest, "for s in /sys/bus/pci/slots/*; do echo \"slot ${s##*/}: $(cat $s/address)\"; done; "
                         "dmesg | grep -i -E 'pciehp|acpiphp|shpchp' | tail -n 8; true");
  g_test_message ("guest slots and hot-plug drivers:\n%s", out);
  g_test_message ("timing: hotplug of 2 devices %.2f s; disk seen %.2f s after, NIC %.2f s after that; "
                  "unplug of both %.2f s; gone in the guest %.2f s after",
                  plugged, seen_disk, seen_nic, unplugged, gone);

  result = ql_test_guest_poweroff_pass (guest, 30, NULL);
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pcie-hotplug-guest/disk-net", test_disk_net);
  return g_test_run ();
}
