/* Suite guest: the `iommu`, `watchdog` and `vmgenid` device types seen
 * from inside the test guest (q35, TCG).
 *
 * /devices-guest/intel-iommu (kernel intel_iommu=on, the interactive
 * `shell` check): a virtio-blk disk listed BEFORE the IOMMU in the VM,
 * with VIRTIO_F_ACCESS_PLATFORM on ([vm] global
 * virtio-blk-pci.iommu_platform=on), and intel-iommu with intremap=on.
 * The guest has /sys/class/iommu/dmar0 with its intel-iommu attributes,
 * the disk's PCI function is in an IOMMU group with a translating (DMA)
 * domain, its driver negotiated
 * ACCESS_PLATFORM (so the guest gives it IOVAs, translated by QEMU's
 * IOMMU), the disk's first bytes read back what the host wrote (so DMA
 * through the IOMMU works for a device written before it on QEMU's
 * command line), and the kernel enabled interrupt remapping.
 *
 * /devices-guest/virtio-iommu: Debian 12's 6.1 kernel is built without
 * CONFIG_VIRTIO_IOMMU, so no guest driver binds the device and no IOMMU
 * group can appear. What the guest can see is checked: the virtio-iommu
 * PCI function (1af4:1057) on the root bus, the virtio device of type 23
 * (IOMMU) with no driver, and QEMU's ACPI VIOT table that describes it.
 *
 * /devices-guest/watchdog: the VM runs through QlVm (console on a pipe);
 * the guest (check `watchdog`) loads i6300esb with a 1 s heartbeat, writes
 * /dev/watchdog once and stops feeding it. QlVm::watchdog must report
 * action poweroff, QEMU must exit by itself with status 0 (the guest is
 * still sleeping: no QLTEST-PASS or -FAIL on its console).
 *
 * /devices-guest/run-watchdog: the same through `qlaunch run`, which
 * prints its status line "the guest's watchdog fired".
 *
 * /devices-guest/vmgenid: a fixed GUID. The guest finds the ACPI device
 * QEMUVGID:00 bound to the vmgenid driver, takes the GUID's address the
 * way the ACPI method ADDR computes it (QEMU's SSDT holds it as the named
 * DWORD VGIA; the GUID sits 40 bytes further) and reads the 16 bytes from
 * physical memory with devmem (kernel option nopat: without it the
 * memory-type tracking refuses the mapping of a range the vmgenid driver
 * maps already). The bytes, in the little-endian GUID layout ACPI uses,
 * must be the configured GUID.
 *
 * QLAUNCH_GUEST_BREAK=iommu (no intel_iommu=on), =watchdog (action none),
 * =vmgenid (guid auto) must each make its test fail.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"
#include "ql-test-proc.h"
#include "ql-test-vm-guard.h"

#include <string.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>

#define SHELL_TIMEOUT_S 60
#define VMGENID_GUID "5aab4d4c-0b39-4a4d-9f0c-3c2b1e6d8f71"

/* Runs @command in the guest; fails the test on a shell error or a
 * non-zero status. */
static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, SHELL_TIMEOUT_S);
}

static QlTestGuest *
start_shell (const char *dir,
             const char *vm_text,
             const char *check_args)
{
  QlTestGuest *guest = ql_test_guest_new (dir, vm_text, "shell", check_args);
  g_autoptr(GError) error = NULL;

  if (!ql_test_guest_start (guest))
    {
      g_autoptr(QlTestGuestResult) result = ql_test_guest_wait (guest);
      g_autofree char *describe = ql_test_guest_result_describe (result);

      g_error ("the guest did not start:\n%s", describe);
    }
  g_assert_true (ql_test_guest_wait_for_shell (guest, 180, &error));
  g_assert_no_error (error);
  return guest;
}

static void
power_off (QlTestGuest *guest)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autofree char *describe = NULL;

  result = ql_test_guest_poweroff_pass (guest, SHELL_TIMEOUT_S, NULL);
  g_assert_cmpstr (result->qemu_stderr, ==, "");
}

/* ---- intel-iommu ---- */

static void
test_intel_iommu (void)
{
  gboolean broken = ql_test_guest_breaking ("iommu");
  g_autofree char *dir = NULL;
  g_autofree char *disk = NULL;
  g_autofree char *out = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  static const char content[] = "QLAUNCH-IOMMU-DMA-0123456789";

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return;
    }
  dir = ql_test_make_tmpdir ();
  disk = g_build_filename (dir, "disk.img", NULL);
  {
    g_autofree char *bytes = g_malloc0 (1024 * 1024);

    memcpy (bytes, content, sizeof content - 1);
    g_assert_true (g_file_set_contents (disk, bytes, 1024 * 1024, NULL));
  }

  guest = start_shell (dir,
                       "[vm]\nglobal = virtio-blk-pci.iommu_platform=on\n"
                       "[device disk0]\ntype = block\nfile = disk.img\nformat = raw\n"
                       "[device vtd]\ntype = iommu\nmodel = intel\nintremap = on\n",
                       broken ? NULL : "intel_iommu=on");

  out = shell_ok (guest, "ls /sys/class/iommu");
  g_test_message ("/sys/class/iommu: %s", out);
  g_assert_cmpstr (out, ==, "dmar0");
  g_clear_pointer (&out, g_free);
  out = shell_ok (guest, "ls /sys/class/iommu/dmar0/intel-iommu && cat /sys/class/iommu/dmar0/intel-iommu/version");
  g_test_message ("dmar0/intel-iommu: %s", out);
  g_assert_nonnull (strstr (out, "cap"));
  g_assert_nonnull (strstr (out, "ecap"));
  g_clear_pointer (&out, g_free);

  /* The disk's PCI function, its IOMMU group, and ACCESS_PLATFORM (bit
   * 33 of the negotiated features). */
  out = shell_ok (guest, "d=$(readlink -f /sys/block/vda/device/..); g=$(readlink -f $d/iommu_group); "
                         "echo ${d##*/} group=${g##*/} $(ls $g/devices | tr '\\n' ' ') type=$(cat $g/type) "
                         "access_platform=$(cut -c34 /sys/block/vda/device/features)");
  g_test_message ("vda: %s", out);
  /* A DMA domain (DMA or DMA-FQ: translated), not identity. */
  g_assert_true (g_regex_match_simple ("^[0-9a-f:.]+ group=[0-9]+ [0-9a-f:. ]+type=DMA(-FQ)? access_platform=1$",
                                       out, 0, 0));
  g_clear_pointer (&out, g_free);

  /* DMA through the IOMMU, for a device QEMU created before it. */
  out = shell_ok (guest, "head -c 28 /dev/vda");
  g_assert_cmpstr (out, ==, content);
  g_clear_pointer (&out, g_free);

  out = shell_ok (guest, "dmesg | grep -E 'DMAR: IOMMU enabled|DMAR-IR: Enabled IRQ remapping'");
  g_test_message ("dmesg: %s", out);
  g_assert_nonnull (strstr (out, "DMAR: IOMMU enabled"));
  g_assert_nonnull (strstr (out, "DMAR-IR: Enabled IRQ remapping"));

  power_off (guest);
  ql_test_rm_rf (dir);
}

/* ---- virtio-iommu ---- */

static void
test_virtio_iommu (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *out = NULL;
  g_autoptr(QlTestGuest) guest = NULL;

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return;
    }
  dir = ql_test_make_tmpdir ();
  guest = start_shell (dir, "[device viommu]\ntype = iommu\nmodel = virtio\n", NULL);

  /* On the root bus (bus 00), no bridge above it. */
  out = shell_ok (guest, "for d in /sys/bus/pci/devices/*; do "
                         "[ \"$(cat $d/vendor):$(cat $d/device)\" = 0x1af4:0x1057 ] && "
                         "echo \"${d##*/} $(basename $(dirname $(readlink -f $d)))\"; done; true");
  g_test_message ("virtio-iommu PCI function: %s", out);
  g_assert_true (g_regex_match_simple ("^0000:00:[0-9a-f]{2}\\.0 pci0000:00$", out, 0, 0));
  g_clear_pointer (&out, g_free);

  /* The virtio device: type 23 (IOMMU); no driver in this kernel. */
  out = shell_ok (guest, "for v in /sys/bus/virtio/devices/*; do echo \"$(cat $v/device) driver=$(basename \"$(readlink $v/driver)\")\"; done");
  g_test_message ("virtio devices: %s", out);
  g_assert_cmpstr (out, ==, "0x0017 driver=");
  g_clear_pointer (&out, g_free);

  /* QEMU's ACPI table for it; and no IOMMU registered (no driver). */
  out = shell_ok (guest, "head -c 4 /sys/firmware/acpi/tables/VIOT; echo; ls /sys/class/iommu | wc -l");
  g_assert_cmpstr (out, ==, "VIOT\n0");
  g_test_message ("VIOT table present; no IOMMU group: the Debian 6.1 guest kernel has no CONFIG_VIRTIO_IOMMU");

  power_off (guest);
  ql_test_rm_rf (dir);
}

/* ---- watchdog through QlVm ---- */

typedef struct
{
  guint             count;
  QlWatchdogAction  action;
  char             *name;
  gint64            time;
} Fired;

static void
on_watchdog (QlVm             *vm,
             QlWatchdogAction  action,
             const char       *name,
             gpointer          user_data)
{
  Fired *f = user_data;

  (void) vm;
  f->count++;
  f->action = action;
  g_free (f->name);
  f->name = g_strdup (name);
  f->time = g_get_monotonic_time ();
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} Waited;

static void
waited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Waited *w = user_data;

  w->ok = ql_vm_wait_finish (QL_VM (source), result, &w->error);
  w->done = TRUE;
}

static gboolean
cancel_cb (gpointer cancellable)
{
  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_watchdog (void)
{
  gboolean broken = ql_test_guest_breaking ("watchdog");
  const char *guest_dir = ql_test_guest_dir ();
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GCancellable) timeout = g_cancellable_new ();
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;
  QlTestProcReader console = { 0 };
  Fired fired = { 0 };
  Waited waited = { 0 };
  const char *armed;
  guint timeout_id;
  int p[2];

  if (guest_dir == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return;
    }
  dir = ql_test_make_tmpdir ();
  text = g_strdup_printf ("[vm]\nname = qlwatchdog\n"
                          "[machine]\ntype = q35\nacceleration = tcg\n"
                          "[memory]\nsize = 256M\n"
                          "[knobs]\nno-user-config = true\nno-graphic = true\n"
                          "[qmp control]\npath = qmp.sock\n"
                          "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                          "params = " QL_TEST_GUEST_PARAMS " qltest=watchdog qltest.heartbeat=1 qltest.timeout=120\n"
                          "[device wd]\ntype = watchdog\nmodel = i6300esb\naction = %s\n",
                          guest_dir, guest_dir, broken ? "none" : "poweroff");
  registry = ql_test_registry_new ();
  config = ql_vm_config_new_from_data (text, -1, "watchdog.vm", dir, registry, &error);
  g_assert_no_error (error);
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);
  g_signal_connect (vm, "watchdog", G_CALLBACK (on_watchdog), &fired);

  g_assert_cmpint (pipe (p), ==, 0);
  ql_vm_set_stdout_fd (vm, p[1]);
  close (p[1]);
  stream = g_unix_input_stream_new (p[0], TRUE);
  ql_test_proc_reader_start (&console, stream, NULL);

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_connect_qmp (vm, 30000, NULL, &error));
  g_assert_no_error (error);

  timeout_id = g_timeout_add_seconds (180, cancel_cb, timeout);
  ql_vm_wait_async (vm, timeout, waited_cb, &waited);
  while (!waited.done || !console.eof)
    g_main_context_iteration (NULL, TRUE);
  if (!g_cancellable_is_cancelled (timeout))
    g_source_remove (timeout_id);

  armed = strstr (console.buf->str, "QLTEST-WATCHDOG-ARMED");
  g_test_message ("console tail: %s", armed != NULL ? armed : console.buf->str);
  g_test_message ("QlVm::watchdog emitted %u time(s), action '%s'", fired.count, fired.name ? fired.name : "");
  g_assert_no_error (waited.error);
  g_assert_true (waited.ok);
  g_assert_nonnull (armed);
  /* QEMU ended the run, not the guest: no result marker after arming. */
  g_assert_null (strstr (console.buf->str, "QLTEST-FAIL"));
  g_assert_null (strstr (console.buf->str, "QLTEST-PASS"));
  g_assert_cmpuint (fired.count, ==, 1);
  g_assert_cmpint (fired.action, ==, QL_WATCHDOG_ACTION_POWEROFF);
  g_assert_cmpstr (fired.name, ==, "poweroff");
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 0);
  g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "");

  g_free (fired.name);
  ql_test_proc_reader_clear (&console);
  ql_test_rm_rf (dir);
}

/* ---- watchdog through `qlaunch run` ---- */

static void
test_run_watchdog (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autofree char *describe = NULL;

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return;
    }
  dir = ql_test_make_tmpdir ();
  guest = ql_test_guest_new (dir, "[device wd]\ntype = watchdog\naction = poweroff\n", "watchdog",
                             "qltest.heartbeat=1 qltest.timeout=120");
  ql_test_guest_use_run (guest, NULL);
  ql_test_guest_set_timeout (guest, 180);
  g_assert_true (ql_test_guest_start (guest));
  result = ql_test_guest_wait (guest);
  describe = ql_test_guest_result_describe (result);
  g_test_message ("%s", describe);
  /* No result marker: QEMU powered the VM off while the guest slept. */
  g_assert_cmpint (result->status, ==, QL_TEST_GUEST_NO_RESULT);
  g_assert_nonnull (strstr (result->console, "QLTEST-WATCHDOG-ARMED"));
  g_assert_nonnull (strstr (result->qemu_stderr, "qlaunch: the guest's watchdog fired: QEMU does 'poweroff'\n"));
  g_assert_nonnull (strstr (result->qemu_stderr, "exited with status 0"));
  ql_test_rm_rf (dir);
}

/* ---- vmgenid ---- */

/* The GUID of @hex, 16 bytes in ACPI's (little-endian) GUID layout. */
static char *
guid_from_le_bytes (const char *hex)
{
  g_auto(GStrv) words = g_strsplit_set (hex, " \n", -1);
  guint8 b[16];
  guint n = 0;

  for (guint i = 0; words[i] != NULL; i++)
    {
      guint64 v;

      if (*words[i] == '\0')
        continue;
      g_assert_cmpuint (n, <, 16);
      g_assert_true (g_ascii_string_to_unsigned (words[i], 16, 0, 255, &v, NULL));
      b[n++] = (guint8) v;
    }
  g_assert_cmpuint (n, ==, 16);
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6],
                          b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void
test_vmgenid (void)
{
  gboolean broken = ql_test_guest_breaking ("vmgenid");
  g_autofree char *dir = NULL;
  g_autofree char *out = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *guid = NULL;
  g_autoptr(QlTestGuest) guest = NULL;

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return;
    }
  dir = ql_test_make_tmpdir ();
  vm_text = g_strdup_printf ("[device gen]\ntype = vmgenid\nguid = %s\n", broken ? "auto" : VMGENID_GUID);
  guest = start_shell (dir, vm_text, "nopat");

  out = shell_ok (guest, "d=/sys/bus/acpi/devices/QEMUVGID:00; cat $d/hid $d/status; basename $(readlink $d/driver)");
  g_test_message ("QEMUVGID:00: %s", out);
  g_assert_cmpstr (out, ==, "QEMUVGID\n15\nvmgenid");
  g_clear_pointer (&out, g_free);

  /* VGIA (NameOp "VGIA", DWordPrefix 0x0c, 4 bytes LE) in the SSDT; the
   * GUID at VGIA + 40, read byte by byte. */
  out = shell_ok (guest, "v=$(cat /sys/firmware/acpi/tables/SSDT* | od -An -tx1 -v | tr -d ' \\n' "
                         "| grep -o '564749410c........' | head -n 1 | cut -c11-18); "
                         "a=$((0x$(echo $v | sed 's/\\(..\\)\\(..\\)\\(..\\)\\(..\\)/\\4\\3\\2\\1/'))); "
                         "[ $a -ne 0 ] || exit 1; i=0; while [ $i -lt 16 ]; do "
                         "printf '%02x ' $(devmem $((a + 40 + i)) 8); i=$((i + 1)); done");
  g_test_message ("guest memory at VGIA + 40: %s", out);
  guid = guid_from_le_bytes (out);
  g_test_message ("GUID the guest read: %s (configured: %s)", guid, broken ? "auto" : VMGENID_GUID);
  g_assert_cmpstr (guid, ==, VMGENID_GUID);

  power_off (guest);
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();
  g_test_add_func ("/devices-guest/intel-iommu", test_intel_iommu);
  g_test_add_func ("/devices-guest/virtio-iommu", test_virtio_iommu);
  g_test_add_func ("/devices-guest/watchdog", test_watchdog);
  g_test_add_func ("/devices-guest/run-watchdog", test_run_watchdog);
  g_test_add_func ("/devices-guest/vmgenid", test_vmgenid);
  return g_test_run ();
}
