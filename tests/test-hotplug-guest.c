/* Suite guest: the library's QMP client against the booted test guest.
 *
 * /hotplug-guest/disk-net-memory: a virtio-blk disk and a virtio-net card
 *   hot-plugged through the block and net plugins (the same -d specs as a
 *   VM file's devices), seen by the guest; unplugged, completing on
 *   DEVICE_DELETED, gone in the guest and their backends removed; 128 MiB
 *   of memory hot-plugged (memory-backend-ram + pc-dimm), MemTotal grows by
 *   exactly that much (the kernel onlines it: memhp_default_state).
 * /hotplug-guest/migration: migration capabilities and parameters set and
 *   read back; a paused guest migrated to a file (given to QEMU as a
 *   descriptor: getfd, fd:NAME), a second QEMU started with -incoming
 *   defer loads it the same way and resumes, and the marker the guest
 *   wrote before is still there.
 *
 * Machine type pc: its root bus takes ACPI PCI hotplug with no extra device
 * (q35's pcie.0 does not; every device would need a root port).
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define TAP_NAME "qlhp0"
#define MAC "52:54:00:51:0c:01"
#define DISK_HEADER "QLHOTPLUG-DISK-1"

static const char vm_text[] =
  "[machine]\ntype=pc\n"
  "[memory]\nsize=256M\nslots=2\nmax-mem=1G\n"
  "[qmp q]\ntype=unix\npath=qmp.sock\nserver=true\nno-wait=true\n";

/* Runs @command in the guest; fails the test on a shell error or a
 * non-zero status. */
static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, 30);
}

static guint64
guest_mem_total_kb (QlTestGuest *guest)
{
  g_autofree char *out = shell_ok (guest, "sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo");

  return g_ascii_strtoull (out, NULL, 10);
}

static QlDevice *
device_from_spec (QlRegistry *registry,
                  const char *spec)
{
  g_autoptr(GError) error = NULL;
  QlDevice *device = ql_registry_create_device_from_spec (registry, spec, &error);

  g_assert_no_error (error);
  return device;
}

static gboolean
has_block_node (QlQmp      *qmp,
                const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) nodes = NULL;
  JsonArray *array;

  json_object_set_boolean_member (args, "flat", TRUE);
  nodes = ql_qmp_execute (qmp, "query-named-block-nodes", args, NULL, &error);
  g_assert_no_error (error);
  array = json_node_get_array (nodes);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (array, i),
                                                  "node-name"), name) == 0)
      return TRUE;
  return FALSE;
}

static void
make_disk (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = g_malloc0 (1024 * 1024);

  memcpy (data, DISK_HEADER, strlen (DISK_HEADER));
  g_assert_true (g_file_set_contents (path, data, 1024 * 1024, &error));
  g_assert_no_error (error);
}

static void
test_disk_net_memory (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *disk = NULL;
  g_autofree char *disk_spec = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(QlQmp) qmp = NULL;
  g_autoptr(QlDevice) disk_dev = NULL;
  g_autoptr(QlDevice) nic = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) memdevs = NULL;
  g_autofree char *out = NULL;
  const char *tap_add[] = { "ip", "tuntap", "add", "dev", TAP_NAME, "mode", "tap", NULL };
  const char *tap_del[] = { "ip", "link", "del", TAP_NAME, NULL };
  gboolean have_tap;
  guint64 before, after = 0;
  gint64 deadline;

  if (ql_test_skip_without_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  disk = g_build_filename (dir, "hot.img", NULL);
  make_disk (disk);
  ql_test_run (tap_del, NULL);
  have_tap = ql_test_run (tap_add, &error);
  if (!have_tap)
    {
      g_test_message ("no tap device (%s): the NIC part is skipped", error->message);
      g_clear_error (&error);
    }

  registry = ql_test_registry_new ();
  guest = ql_test_guest_new (dir, vm_text, "shell", "memhp_default_state=online_movable");
  g_assert_true (ql_test_guest_start (guest));
  g_assert_true (ql_test_guest_wait_for_shell (guest, 90, &error));
  g_assert_no_error (error);

  qmp = ql_qmp_new ();
  g_assert_true (ql_qmp_connect (qmp, ql_test_guest_get_qmp_path (guest), 10000, NULL, &error));
  g_assert_no_error (error);

  /* A disk, from the same spec a VM file's [device] would give. */
  disk_spec = g_strdup_printf ("block,id=hd1,file=%s,format=raw", disk);
  disk_dev = device_from_spec (registry, disk_spec);
  g_assert_true (ql_qmp_hotplug_device (qmp, disk_dev, NULL, NULL, &error));
  g_assert_no_error (error);
  g_free (out);
  out = shell_ok (guest, "n=50; while [ ! -b /dev/vda ] && [ $n -gt 0 ]; do usleep 100000; n=$((n-1)); done; "
                         "head -c 16 /dev/vda");
  g_assert_cmpstr (out, ==, DISK_HEADER);

  /* A network card on the tap. */
  if (have_tap)
    {
      nic = device_from_spec (registry, "net,id=nic1,if-name=" TAP_NAME ",mac-address=" MAC);
      g_assert_true (ql_qmp_hotplug_device (qmp, nic, NULL, NULL, &error));
      g_assert_no_error (error);
      g_free (out);
      out = shell_ok (guest, "n=50; while ! grep -qx " MAC " /sys/class/net/*/address && [ $n -gt 0 ]; do "
                             "usleep 100000; n=$((n-1)); done; grep -lx " MAC " /sys/class/net/*/address");
      g_test_message ("guest NIC: %s", out);
      g_assert_nonnull (strstr (out, "/sys/class/net/"));
    }

  /* Memory: 128 MiB more, onlined by the guest kernel. */
  before = guest_mem_total_kb (guest);
  g_assert_cmpuint (before, >, 0);
  g_assert_true (ql_qmp_hotplug_memory (qmp, "memory-backend-ram", "hp1", NULL,
                                        128 * 1024 * 1024, FALSE, NULL, &error));
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && (after = guest_mem_total_kb (guest)) == before)
    g_usleep (100000);
  g_test_message ("MemTotal %" G_GUINT64_FORMAT " kB -> %" G_GUINT64_FORMAT " kB", before, after);
  g_assert_cmpuint (after - before, ==, 128 * 1024);
  memdevs = ql_qmp_query_memory_devices (qmp, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (memdevs)), ==, 1);

  /* Unplug: done when QEMU says DEVICE_DELETED; backends go too. */
  g_assert_true (has_block_node (qmp, "hd1"));
  g_assert_true (ql_qmp_unplug_device (qmp, "hd1", 20000, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (has_block_node (qmp, "hd1"));
  g_free (out);
  out = shell_ok (guest, "n=50; while [ -e /dev/vda ] && [ $n -gt 0 ]; do usleep 100000; n=$((n-1)); done; "
                         "ls /sys/block | grep -c vd || true");
  g_assert_cmpstr (out, ==, "0");
  if (have_tap)
    {
      g_autoptr(JsonNode) ret = NULL;
      g_autoptr(JsonObject) args = json_object_new ();

      g_assert_true (ql_qmp_unplug_device (qmp, "nic1", 20000, NULL, &error));
      g_assert_no_error (error);
      g_free (out);
      out = shell_ok (guest, "grep -c " MAC " /sys/class/net/*/address || true");
      g_assert_cmpstr (out, ==, "0");
      /* The netdev is gone: deleting it again fails. */
      json_object_set_string_member (args, "id", "nic1");
      ret = ql_qmp_execute (qmp, "netdev_del", args, NULL, &error);
      g_assert_null (ret);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  /* And the DIMM, with its backend (online_movable lets the guest let go). */
  g_assert_true (ql_qmp_unplug_device (qmp, "dimmhp1", 20000, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (guest_mem_total_kb (guest), ==, before);

  result = ql_test_guest_poweroff_pass (guest, 30, NULL);
  if (have_tap)
    ql_test_run (tap_del, NULL);
  ql_test_rm_rf (dir);
}

static gint64
migration_parameter (QlQmp      *qmp,
                     const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_execute (qmp, "query-migrate-parameters", NULL, NULL, &error);

  g_assert_no_error (error);
  return json_object_get_int_member (json_node_get_object (ret), name);
}

static gboolean
migration_capability (QlQmp      *qmp,
                      const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_execute (qmp, "query-migrate-capabilities", NULL, NULL, &error);
  JsonArray *caps;

  g_assert_no_error (error);
  caps = json_node_get_array (ret);
  for (guint i = 0; i < json_array_get_length (caps); i++)
    {
      JsonObject *c = json_array_get_object_element (caps, i);

      if (g_strcmp0 (json_object_get_string_member (c, "capability"), name) == 0)
        return json_object_get_boolean_member (c, "state");
    }
  g_error ("no migration capability %s", name);
}

static void
set_migration_controls (QlQmp *qmp)
{
  static const char *const enable[] = { "events", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) params = json_object_new ();

  g_assert_true (ql_qmp_migrate_set_capabilities (qmp, enable, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (migration_capability (qmp, "events"));
  json_object_set_int_member (params, "max-bandwidth", 1024 * 1024 * 1024);
  json_object_set_int_member (params, "downtime-limit", 500);
  g_assert_true (ql_qmp_migrate_set_parameters (qmp, params, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (migration_parameter (qmp, "max-bandwidth"), ==, 1024 * 1024 * 1024);
  g_assert_cmpint (migration_parameter (qmp, "downtime-limit"), ==, 500);
}

static void
test_migration (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *state = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *marker = NULL;
  g_autofree char *out = NULL;
  g_autofree char *status = NULL;
  g_autoptr(QlTestGuest) source = NULL;
  g_autoptr(QlTestGuest) dest = NULL;
  g_autoptr(QlTestGuestResult) source_result = NULL;
  g_autoptr(QlTestGuestResult) dest_result = NULL;
  g_autoptr(QlQmp) qmp = NULL;
  g_autoptr(QlQmp) qmp2 = NULL;
  g_autoptr(GError) error = NULL;
  const char *incoming[] = { "-incoming", "defer", NULL };
  gboolean running = TRUE;

  if (ql_test_skip_without_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  state = g_build_filename (dir, "vm.state", NULL);

  source = ql_test_guest_new (dir, vm_text, "shell", NULL);
  g_assert_true (ql_test_guest_start (source));
  g_assert_true (ql_test_guest_wait_for_shell (source, 90, &error));
  g_assert_no_error (error);
  marker = shell_ok (source, "m=QLMARK-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \\n'); "
                             "echo $m > /tmp/marker; cat /tmp/marker");
  g_assert_true (g_str_has_prefix (marker, "QLMARK-"));

  qmp = ql_qmp_new ();
  g_assert_true (ql_qmp_connect (qmp, ql_test_guest_get_qmp_path (source), 10000, NULL, &error));
  g_assert_no_error (error);
  set_migration_controls (qmp);
  g_assert_true (ql_qmp_stop (qmp, NULL, &error));
  g_assert_no_error (error);
  /* The state file goes to QEMU as a descriptor: under its seccomp filter
   * (spawn=deny) QEMU could not start an exec: migration's `cat`. */
  {
    int fd = open (state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    g_assert_cmpint (fd, >=, 0);
    g_assert_true (ql_qmp_getfd (qmp, fd, "state", NULL, &error));
    g_assert_no_error (error);
    close (fd);
  }
  uri = g_strdup ("fd:state");
  g_assert_true (ql_qmp_migrate (qmp, uri, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_wait_migration (qmp, 60000, NULL, &error));
  g_assert_no_error (error);
  /* QEMU marks the migration completed, then (in a bottom half) moves the
   * run state from finish-migrate to postmigrate. */
  {
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    do
      {
        g_clear_pointer (&status, g_free);
        g_assert_true (ql_qmp_query_status (qmp, &status, &running, NULL, &error));
      }
    while (g_strcmp0 (status, "finish-migrate") == 0 && g_get_monotonic_time () < deadline);
  }
  g_assert_cmpstr (status, ==, "postmigrate");
  g_assert_false (running);
  g_clear_object (&qmp);
  /* The source goes; the destination reuses its VM file and QMP path. */
  ql_test_guest_set_timeout (source, 0);
  source_result = ql_test_guest_wait (source);

  dest = ql_test_guest_new (dir, vm_text, "shell", NULL);
  ql_test_guest_add_qemu_args (dest, incoming);
  g_assert_true (ql_test_guest_start (dest));
  qmp2 = ql_qmp_new ();
  g_assert_true (ql_qmp_connect (qmp2, ql_test_guest_get_qmp_path (dest), 10000, NULL, &error));
  g_assert_no_error (error);
  set_migration_controls (qmp2);
  {
    int fd = open (state, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint (fd, >=, 0);
    g_assert_true (ql_qmp_getfd (qmp2, fd, "state", NULL, &error));
    g_assert_no_error (error);
    close (fd);
  }
  g_assert_true (ql_qmp_migrate_incoming (qmp2, uri, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_wait_migration (qmp2, 60000, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&status, g_free);
  g_assert_true (ql_qmp_query_status (qmp2, &status, &running, NULL, &error));
  g_assert_cmpstr (status, ==, "paused");
  g_assert_true (ql_qmp_cont (qmp2, NULL, &error));
  g_assert_no_error (error);

  /* Same guest, same memory: the marker is there. */
  ql_test_guest_assume_shell (dest);
  out = shell_ok (dest, "cat /tmp/marker");
  g_assert_cmpstr (out, ==, marker);
  dest_result = ql_test_guest_poweroff_pass (dest, 30, NULL);
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hotplug-guest/disk-net-memory", test_disk_net_memory);
  g_test_add_func ("/hotplug-guest/migration", test_migration);
  return g_test_run ();
}
