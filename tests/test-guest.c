/* Suite guest: boot the test guest (tests/guest/) under TCG with the argv
 * `qlaunch args` builds, and check each device family from inside it.
 *
 * Every test writes its own VM file (the harness adds the kernel, the
 * initramfs and the check on the kernel command line), and passes only when
 * the guest prints QLTEST-PASS with the expected details: a missing or
 * misconfigured device makes the guest print QLTEST-FAIL (or never find the
 * device) and the test fail.
 *
 * QLAUNCH_GUEST_BREAK=NAME[,NAME...] breaks the named tests on purpose
 * (block, net, fs, char, vhost-user-blk, memory, bridge): each then runs a
 * VM with the device missing or misconfigured, and must fail. It is how the
 * tests were shown to catch what they claim to catch.
 *
 * Tests of families whose plugin is not built (not registered) are skipped.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <unistd.h>

/* A random token: bytes a stale image or share cannot hold by chance. */
static char *
token (const char *prefix)
{
  return g_strdup_printf ("%s-%08x", prefix, g_random_int ());
}

/* FALSE (and the test skipped) when no plugin registers device type @type. */
static gboolean
have_device_type (const char *type)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();

  if (ql_registry_lookup_device_type (registry, type) != G_TYPE_INVALID)
    return TRUE;
  g_test_skip_printf ("device type '%s' is not registered (its plugin is not built)", type);
  return FALSE;
}

/* The guest must exist: it is a dependency of this test in meson. */
static gboolean
have_guest (void)
{
  if (ql_test_guest_dir () != NULL)
    return TRUE;
  g_test_fail_printf ("no test guest in QLAUNCH_GUEST_DIR='%s': build it with `meson compile -C BUILDDIR guest`",
                      g_getenv ("QLAUNCH_GUEST_DIR") ? g_getenv ("QLAUNCH_GUEST_DIR") : "");
  return FALSE;
}

static void
write_image (const char *path,
             const char *head,
             goffset     size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileOutputStream) out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);

  g_assert_no_error (error);
  g_output_stream_write_all (G_OUTPUT_STREAM (out), head, strlen (head), NULL, NULL, &error);
  g_assert_no_error (error);
  g_seekable_truncate (G_SEEKABLE (out), size, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error);
  g_assert_no_error (error);
}

/* Asserts a PASS of @check whose details contain every string of the
 * NULL-terminated list; prints the whole story otherwise. */
static void
assert_pass (const QlTestGuestResult *result,
             const char              *check,
             ...)
{
  g_autofree char *story = ql_test_guest_result_describe (result);
  va_list args;
  const char *want;

  g_test_message ("guest: %s %s %s (%.1f s)", ql_test_guest_status_name (result->status),
                  result->check ? result->check : "-", result->details ? result->details : "",
                  result->seconds);
  if (result->argv != NULL)
    {
      g_autofree char *cmd = g_strjoinv (" ", result->argv);

      g_test_message ("argv: %s", cmd);
    }
  if (result->status != QL_TEST_GUEST_PASS || g_strcmp0 (result->check, check) != 0)
    {
      g_printerr ("%s\n", story);
      g_assert_cmpstr (ql_test_guest_status_name (result->status), ==, "PASS");
      g_assert_cmpstr (result->check, ==, check);
    }
  va_start (args, check);
  while ((want = va_arg (args, const char *)) != NULL)
    {
      if (strstr (result->details, want) == NULL)
        {
          g_printerr ("%s\nexpected in the details: '%s'\n", story, want);
          g_assert_cmpstr (result->details, ==, want);
        }
    }
  va_end (args);
  /* The guest powered itself off: QEMU ended on its own, and quietly. */
  g_assert_cmpstr (result->qemu_stderr, ==, "");
}

/* block: a virtio-blk disk and a SCSI disk behind scsi-controller hold known
 * bytes; the guest reads them from /dev/vda and /dev/sda. */
static void
test_block (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vda_text = token ("QLVDA");
  g_autofree char *sda_text = token ("QLSDA");
  g_autofree char *vda = NULL;
  g_autofree char *sda = NULL;
  g_autofree char *text = NULL;
  g_autofree char *args = NULL;
  g_autofree char *want_vda = NULL;
  g_autofree char *want_sda = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  gboolean broken = ql_test_guest_breaking ("block");

  if (!have_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  vda = g_build_filename (dir, "vda.img", NULL);
  sda = g_build_filename (dir, "sda.img", NULL);
  write_image (vda, vda_text, 16 << 20);
  write_image (sda, sda_text, 16 << 20);

  /* Broken: the SCSI disk is left off the controller's bus. */
  text = g_strdup_printf ("[device disk0]\ntype = block\nfile = vda.img\nformat = raw\n"
                          "[device scsi0]\ntype = scsi-controller\n"
                          "%s",
                          broken ? ""
                          : "[device disk1]\ntype = block\ninterface = scsi\nbus = scsi0.0\nfile = sda.img\nformat = raw\n");
  args = g_strdup_printf ("qltest.dev=vda,sda qltest.len=%zu qltest.expect=%s,%s",
                          strlen (vda_text), vda_text, sda_text);
  result = ql_test_guest_run (dir, text, "blk", args);
  ql_test_rm_rf (dir);

  want_vda = g_strdup_printf ("vda=%s", vda_text);
  want_sda = g_strdup_printf ("sda=%s", sda_text);
  assert_pass (result, "blk", want_vda, want_sda, NULL);
}

static gboolean
can_make_taps (void)
{
  if (getuid () == 0 && g_file_test ("/dev/net/tun", G_FILE_TEST_EXISTS))
    return TRUE;
  g_test_skip ("needs root and /dev/net/tun to create a tap");
  return FALSE;
}

/* net: a multiqueue tap the test creates; the guest finds the interface by
 * the configured MAC and counts its receive queues. */
static void
test_net (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *tap = g_strdup_printf ("qlg%u", (guint) getpid () % 1000000);
  g_autofree char *mac = g_strdup_printf ("02:00:ca:fe:%02x:%02x", g_random_int_range (0, 256),
                                          g_random_int_range (0, 256));
  g_autofree char *text = NULL;
  g_autofree char *args = NULL;
  g_autofree char *want = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) del_error = NULL;
  const char *add[] = { "ip", "tuntap", "add", "dev", tap, "mode", "tap", "multi_queue", NULL };
  const char *del[] = { "ip", "link", "del", tap, NULL };
  gboolean broken = ql_test_guest_breaking ("net");

  if (!have_guest () || !can_make_taps ())
    return;
  dir = ql_test_make_tmpdir ();
  ql_test_run (add, &error);
  g_assert_no_error (error);

  /* Two queue pairs need two vCPUs: the guest driver uses min(queues, cpus).
   * Broken: another MAC than the one the guest looks for. */
  text = g_strdup_printf ("[smp]\ncpus = 2\n"
                          "[device net0]\ntype = net\nif-name = %s\nqueues = 2\nmac-address = %s\nrom-file =\n",
                          tap, broken ? "02:00:ca:fe:ee:ee" : mac);
  args = g_strdup_printf ("qltest.mac=%s qltest.queues=2", mac);
  result = ql_test_guest_run (dir, text, "net", args);

  /* Clean up before asserting: the tap is ours to delete. */
  ql_test_run (del, &del_error);
  ql_test_rm_rf (dir);
  g_assert_no_error (del_error);

  want = g_strdup_printf ("mac=%s queues=2", mac);
  assert_pass (result, "net", want, NULL);
}

/* fs: a 9p share; the guest mounts it by its tag, reads a file the host
 * wrote and writes one the host then reads. */
static void
test_fs (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *share = NULL;
  g_autofree char *host_text = token ("QLHOST");
  g_autofree char *guest_text = token ("QLGUEST");
  g_autofree char *in = NULL;
  g_autofree char *out = NULL;
  g_autofree char *out_text = NULL;
  g_autofree char *text = NULL;
  g_autofree char *args = NULL;
  g_autofree char *want = NULL;
  g_autofree char *want_out = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  gboolean broken = ql_test_guest_breaking ("fs");

  if (!have_guest () || !have_device_type ("fs"))
    return;
  dir = ql_test_make_tmpdir ();
  share = g_build_filename (dir, "share", NULL);
  g_assert_cmpint (g_mkdir (share, 0755), ==, 0);
  in = g_build_filename (share, "from-host.txt", NULL);
  out = g_build_filename (share, "from-guest.txt", NULL);
  g_assert_true (g_file_set_contents (in, host_text, -1, NULL));

  /* Broken: the share has another mount tag than the guest mounts. */
  text = g_strdup_printf ("[device share0]\ntype = fs\nfs-driver = local\npath = %s\n"
                          "mount-tag = %s\nsecurity-model = none\n",
                          share, broken ? "qlother" : "qlshare");
  args = g_strdup_printf ("qltest.tag=qlshare qltest.read=from-host.txt qltest.write=from-guest.txt qltest.data=%s",
                          guest_text);
  result = ql_test_guest_run (dir, text, "fs", args);
  g_file_get_contents (out, &out_text, NULL, NULL);
  ql_test_rm_rf (share);
  ql_test_rm_rf (dir);

  want = g_strdup_printf ("tag=qlshare read=%s", host_text);
  assert_pass (result, "fs", want, NULL);
  want_out = g_strdup_printf ("%s\n", guest_text);
  g_assert_cmpstr (out_text, ==, want_out);
}

/* char/serial: a virtio-serial controller with a virtconsole and a
 * virtserialport on socket chardevs; the guest writes to /dev/hvc0 and to the
 * port found by its name, the test reads both on the host side. */
static void
test_char (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *con_path = NULL;
  g_autofree char *port_path = NULL;
  g_autofree char *data = token ("QLCHAR");
  g_autofree char *text = NULL;
  g_autofree char *args = NULL;
  g_autofree char *con_text = NULL;
  g_autofree char *port_text = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GSocket) con = NULL;
  g_autoptr(GSocket) port = NULL;
  g_autoptr(GError) con_error = NULL;
  g_autoptr(GError) port_error = NULL;
  gboolean broken = ql_test_guest_breaking ("char");

  if (!have_guest () || !have_device_type ("serial") || !have_device_type ("char"))
    return;
  dir = ql_test_make_tmpdir ();
  con_path = g_build_filename (dir, "console.sock", NULL);
  port_path = g_build_filename (dir, "port.sock", NULL);

  /* Broken: the port carries another name than the guest looks for. */
  text = g_strdup_printf ("[device serial0]\ntype = serial\n"
                          "[device console0]\ntype = char\nbackend = socket\ndriver = virtconsole\n"
                          "bus = serial0.0\ndevice-id = vcon0\npath = %s\nname = org.qlaunch.console\n"
                          "[device channel0]\ntype = char\nbackend = socket\ndriver = virtserialport\n"
                          "bus = serial0.0\ndevice-id = vport0\npath = %s\nname = %s\n",
                          con_path, port_path, broken ? "org.qlaunch.other" : "org.qlaunch.port");
  args = g_strdup_printf ("qltest.port=org.qlaunch.port qltest.dev=hvc0 qltest.data=%s", data);
  guest = ql_test_guest_new (dir, text, "char", args);
  /* The guest's port writes block until the host side is connected: connect
   * before it boots (QEMU listens before the guest runs). */
  if (ql_test_guest_start (guest))
    {
      con = ql_test_unix_connect (con_path, 10000, &con_error);
      port = ql_test_unix_connect (port_path, 10000, &port_error);
    }
  result = ql_test_guest_wait (guest);
  /* QEMU has exited: each socket holds what the guest wrote, then EOF. */
  if (con != NULL)
    con_text = ql_test_socket_read_all (con, 5000);
  if (port != NULL)
    port_text = ql_test_socket_read_all (port, 5000);
  ql_test_rm_rf (dir);

  assert_pass (result, "char", data, "hvc0", NULL);
  g_assert_no_error (con_error);
  g_assert_no_error (port_error);
  g_assert_nonnull (strstr (con_text, data));
  g_assert_nonnull (strstr (port_text, data));
}

/* vhost-user blk: qemu-storage-daemon exports an image over vhost-user-blk
 * (guest RAM shared through file-backed memory); the guest reads the known
 * bytes from /dev/vda. */
static void
test_vhost_user_blk (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *image = NULL;
  g_autofree char *sock = NULL;
  g_autofree char *blockdev = NULL;
  g_autofree char *export = NULL;
  g_autofree char *content = token ("QLVUB");
  g_autofree char *text = NULL;
  g_autofree char *args = NULL;
  g_autofree char *want = NULL;
  g_autofree char *daemon_err = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean broken = ql_test_guest_breaking ("vhost-user-blk");
  gint64 deadline;

  if (!have_guest () || !have_device_type ("vhost-user"))
    return;
  if (!g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no /dev/shm for shared guest memory");
      return;
    }
  dir = ql_test_make_tmpdir ();
  image = g_build_filename (dir, "vub.img", NULL);
  sock = g_build_filename (dir, "vub.sock", NULL);
  write_image (image, content, 16 << 20);

  blockdev = g_strdup_printf ("driver=file,node-name=file0,filename=%s", image);
  export = g_strdup_printf ("type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=%s,writable=on", sock);
  {
    const char *argv[] = { "qemu-storage-daemon", "--blockdev", blockdev,
                           "--blockdev", "driver=raw,node-name=disk0,file=file0",
                           "--export", export, NULL };

    daemon = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
    g_assert_no_error (error);
  }
  /* QEMU is the vhost-user client: the export must listen first. Probing it
   * with a connection would take the daemon's one client slot; wait for
   * the socket file instead. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!g_file_test (sock, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_usleep (50 * 1000);

  /* Guest RAM in a file under /dev/shm (a directory: QEMU makes and unlinks
   * a temporary file there), shared with the daemon.
   * Broken: no vhost-user device (a wrong socket-path is refused by QEMU
   * before the guest starts: that fails too, but proves less). */
  text = g_strdup_printf ("[memory]\nsize = 256M\npath = /dev/shm\n"
                          "[knobs]\nfile-backed-mem = true\nfile-backed-mem-shared = true\n"
                          "%s%s%s",
                          broken ? "" : "[device vub0]\ntype = vhost-user\nvhost-user-type = blk\nsocket-path = ",
                          broken ? "" : sock, broken ? "" : "\n");
  args = g_strdup_printf ("qltest.dev=vda qltest.len=%zu qltest.expect=%s", strlen (content), content);
  if (g_file_test (sock, G_FILE_TEST_EXISTS))
    result = ql_test_guest_run (dir, text, "blk", args);

  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_communicate_utf8 (daemon, NULL, NULL, NULL, &daemon_err, NULL);
  ql_test_rm_rf (dir);

  if (result == NULL)
    {
      g_printerr ("qemu-storage-daemon: %s\n", daemon_err);
      g_assert_true (g_file_test (sock, G_FILE_TEST_EXISTS));
    }
  want = g_strdup_printf ("vda=%s", content);
  assert_pass (result, "blk", want, NULL);
}

/* memory: an nvdimm backed by a file with known content appears in the guest
 * as /dev/pmem0 with that content. */
static void
test_memory (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *backing = NULL;
  g_autofree char *content = token ("QLPMEM");
  g_autofree char *text = NULL;
  g_autofree char *args = NULL;
  g_autofree char *want = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  gboolean broken = ql_test_guest_breaking ("memory");

  if (!have_guest () || !have_device_type ("memory-object"))
    return;
  dir = ql_test_make_tmpdir ();
  backing = g_build_filename (dir, "pmem.img", NULL);
  write_image (backing, content, 128 << 20);

  /* Broken: the nvdimm is backed by another (empty) file. */
  if (broken)
    {
      g_autofree char *other = g_build_filename (dir, "other.img", NULL);

      write_image (other, "", 128 << 20);
      g_free (backing);
      backing = g_steal_pointer (&other);
    }
  text = g_strdup_printf ("[memory]\nsize = 256M\nslots = 2\nmax-mem = 1G\n"
                          "[device mem0]\ntype = memory-object\ndriver = nvdimm\n"
                          "object-type = memory-backend-file\ndevice-id = nv0\n"
                          "mem-path = %s\nsize = 128M\n",
                          backing);
  args = g_strdup_printf ("qltest.len=%zu qltest.expect=%s", strlen (content), content);
  result = ql_test_guest_run (dir, text, "pmem", args);
  ql_test_rm_rf (dir);

  want = g_strdup_printf ("pmem0=%s", content);
  assert_pass (result, "pmem", want, NULL);
}

/* bridge: a virtio-blk disk on a pci-bridge's bus and a virtio-scsi
 * controller on a pcie-pci-bridge's bus are found behind those bridges in the
 * guest's PCI tree (1b36:0001 pci-bridge, 1b36:000e pcie-pci-bridge; 1af4:1001
 * and 1af4:1004 are transitional virtio-blk and virtio-scsi). */
static void
test_bridge (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *disk = NULL;
  g_autofree char *text = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  gboolean broken = ql_test_guest_breaking ("bridge");

  if (!have_guest () || !have_device_type ("bridge"))
    return;
  dir = ql_test_make_tmpdir ();
  disk = g_build_filename (dir, "disk.img", NULL);
  write_image (disk, "", 1 << 20);

  /* Broken: the disk is on the root bus. */
  text = g_strdup_printf ("[device pcibr0]\ntype = bridge\nbridge-type = pci\nbus = pcie.0\nchassis = 1\nshpc = true\naddr = 2\n"
                          "[device pciebr0]\ntype = bridge\nbridge-type = pcie\nbus = pcie.0\naddr = 3\n"
                          "[device disk0]\ntype = block\nfile = disk.img\nformat = raw\nbus = %s\naddr = %s\n"
                          "[device scsi0]\ntype = scsi-controller\nbus = pciebr0\naddr = 1\n",
                          broken ? "pcie.0" : "pcibr0", broken ? "5" : "1");
  result = ql_test_guest_run (dir, text, "bridge", "qltest.id=1af4:1001,1af4:1004 qltest.bridge=1b36:0001,1b36:000e");
  ql_test_rm_rf (dir);

  assert_pass (result, "bridge", "(1af4:1001)<", "(1b36:0001)", "(1af4:1004)<", "(1b36:000e)", NULL);
}

/* The harness itself: a guest FAIL is reported as such, a VM qlaunch
 * refuses never starts, and a guest that never answers is killed at the
 * timeout with nothing left running. */
static void
test_harness (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(QlTestGuestResult) fail = NULL;
  g_autoptr(QlTestGuestResult) refused = NULL;
  g_autoptr(QlTestGuestResult) timeout = NULL;
  g_autoptr(QlTestGuest) guest = NULL;

  if (!have_guest ())
    return;
  dir = ql_test_make_tmpdir ();

  fail = ql_test_guest_run (dir, "", "nosuch", NULL);
  g_test_message ("unknown check: %s %s", ql_test_guest_status_name (fail->status), fail->details);
  g_assert_cmpint (fail->status, ==, QL_TEST_GUEST_FAIL);
  g_assert_true (fail->ready);
  g_assert_cmpstr (fail->check, ==, "nosuch");
  g_assert_cmpstr (fail->details, ==, "unknown check");

  refused = ql_test_guest_run (dir, "[device d0]\ntype = block\nfile = missing.img\n", "ready", NULL);
  g_assert_cmpint (refused->status, ==, QL_TEST_GUEST_LAUNCH_ERROR);
  g_assert_null (refused->argv);
  g_assert_nonnull (strstr (refused->error, "missing.img"));

  /* No /dev/vdz: the guest waits 20 s for it; the harness gives up first. */
  guest = ql_test_guest_new (dir, "", "blk", "qltest.dev=vdz");
  ql_test_guest_set_timeout (guest, 5);
  g_assert_true (ql_test_guest_start (guest));
  timeout = ql_test_guest_wait (guest);
  g_clear_pointer (&guest, ql_test_guest_free);
  ql_test_rm_rf (dir);
  g_test_message ("timeout after %.1f s", timeout->seconds);
  g_assert_cmpint (timeout->status, ==, QL_TEST_GUEST_TIMEOUT);
  g_assert_cmpfloat (timeout->seconds, <, 15.0);
  /* Nothing left: every child of this process has been reaped. */
  g_assert_cmpint (waitpid (-1, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/guest/harness", test_harness);
  g_test_add_func ("/guest/block", test_block);
  g_test_add_func ("/guest/net", test_net);
  g_test_add_func ("/guest/fs", test_fs);
  g_test_add_func ("/guest/char", test_char);
  g_test_add_func ("/guest/vhost-user-blk", test_vhost_user_blk);
  g_test_add_func ("/guest/memory", test_memory);
  g_test_add_func ("/guest/bridge", test_bridge);
  return g_test_run ();
}
