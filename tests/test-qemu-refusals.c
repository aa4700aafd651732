/* Suite qemu: the devices this host cannot run — vfio (no device, no
 * IOMMU), vsock (no /dev/vhost-vsock), vhost-user net and scsi (no
 * backend) — and the one it can, vhost-user blk behind qemu-storage-daemon.
 *
 * For each refusal, two layers are shown:
 * - `qlaunch check` with host checks on catches the case first, with a
 *   message naming the device, the property and what to do;
 * - the argv `qlaunch args --no-host-checks` builds (for another host) makes
 *   the real qemu-system-x86_64 (TCG, -S) exit with status 1 and QEMU's own
 *   message on stderr, which names our option; no warning comes before it.
 * The library's launcher does not exist yet, so QEMU is spawned here with
 * GSubprocess.
 *
 * vhost-user blk: the daemon exports an image, `qlaunch args` (host checks
 * on: the socket exists) builds the argv with shared file-backed guest RAM,
 * and QEMU accepts it: the device is in the QOM tree, RAM is shared, and
 * QEMU prints nothing at all.
 */
#include "ql-test-spawn.h"
#include "ql-test-util.h"
#include "ql-test-qmp.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

/* A failing QEMU exits within a second; this bounds a hang. */
#define QEMU_TIMEOUT_S 30
#define QMP_TIMEOUT_MS 20000

/* The machine every case runs on: q35 under TCG, stopped, no defaults. */
#define VM_BASE \
  "[machine]\ntype = q35\nacceleration = tcg\n" \
  "[knobs]\nno-defaults = true\nstopped = true\n"

/* Guest RAM a vhost-user backend can map (a file in the VM's directory). */
#define VM_SHARED_RAM \
  "[memory]\nsize = 128M\npath = guest-ram\n" \
  "[knobs]\nno-defaults = true\nstopped = true\n" \
  "file-backed-mem = true\nfile-backed-mem-shared = true\n" \
  "[machine]\ntype = q35\nacceleration = tcg\n"

static gboolean
have_qemu (void)
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");

  if (qemu == NULL)
    g_test_skip ("qemu-system-x86_64 is not installed");
  return qemu != NULL;
}

/* `qlaunch check` with host checks on: it fails, and its message holds
 * each of the NULL-terminated fragments. */
static G_GNUC_NULL_TERMINATED void
assert_check_refuses (const char *vm_file,
                      ...)
{
  const char *args[] = { "check", vm_file, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *fragment;
  va_list ap;
  int status = ql_test_run_qlaunch (args, -1, -1, QEMU_TIMEOUT_S, &out, &err);

  g_assert_cmpint (status, ==, 1);
  va_start (ap, vm_file);
  while ((fragment = va_arg (ap, const char *)) != NULL)
    if (strstr (err, fragment) == NULL)
      g_error ("qlaunch check: message does not hold \"%s\":\n%s", fragment, err);
  va_end (ap);
}

/* `qlaunch args --format json` (with or without host checks): the argv,
 * with `-display none` added. */
static GStrv
qlaunch_argv (const char *vm_file,
              gboolean    host_checks,
              int         pass_fd,
              int         target_fd)
{
  const char *with_checks[] = { "args", "--format", "json", vm_file, NULL };
  const char *without_checks[] = { "args", "--no-host-checks", "--format", "json", vm_file, NULL };

  return ql_test_qemu_argv (host_checks ? with_checks : without_checks, pass_fd, target_fd, QEMU_TIMEOUT_S);
}

/* The argv holds @arg (the option QEMU's message will name). */
static void
assert_argv_has (GStrv       argv,
                 const char *arg)
{
  if (!g_strv_contains ((const char * const *) argv, arg))
    {
      g_autofree char *joined = g_strjoinv (" ", argv);

      g_error ("argv lacks '%s': %s", arg, joined);
    }
}

/* Real QEMU refuses @argv: exit status 1 (no crash, no hang), and stderr
 * holds QEMU's message for our option: "qemu-system-x86_64: OPTION VALUE:
 * REASON". Nothing else comes first: no deprecation or other warning. */
static void
assert_qemu_refuses (GStrv       argv,
                     int         pass_fd,
                     int         target_fd,
                     const char *option,
                     const char *value,
                     const char *reason)
{
  g_autoptr(GSubprocess) qemu = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = g_strdup_printf ("qemu-system-x86_64: %s %s: %s",
                                               option, value, reason);
  int status;

  assert_argv_has (argv, value);
  qemu = ql_test_spawn_child ((const char * const *) argv, pass_fd, target_fd,
                              G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                              G_SUBPROCESS_FLAGS_STDERR_PIPE);
  status = ql_test_wait_exit (qemu, QEMU_TIMEOUT_S, NULL, &err);
  g_test_message ("QEMU said: %s", err);

  g_assert_cmpint (status, ==, 1);
  if (!g_str_has_prefix (err, expected))
    g_error ("QEMU's stderr does not start with \"%s\":\n%s", expected, err);
  g_assert_null (strstr (err, "warning"));
  g_assert_null (strstr (err, "deprecated"));
}

/* ---- vfio ---- */

static void
test_vfio_no_such_device (void)
{
  const char *bdf = "ffff:ff:1f.7";
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) argv = NULL;

  if (!have_qemu ())
    return;
  if (g_file_test ("/sys/bus/pci/devices/ffff:ff:1f.7", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("this host has a PCI function ffff:ff:1f.7");
      return;
    }

  dir = ql_test_make_tmpdir ();
  text = g_strdup_printf (VM_BASE "[device hostdev0]\ntype = vfio\nbdf = %s\n", bdf);
  vm_file = ql_test_write_file (dir, "test.vm", text);

  assert_check_refuses (vm_file,
                        "device 'hostdev0': property 'bdf': the host has no PCI function 'ffff:ff:1f.7'",
                        "QEMU would fail with \"no such host device\"",
                        NULL);

  argv = qlaunch_argv (vm_file, FALSE, -1, -1);
  /* q35: the device in a PCIe root port of its own. */
  assert_qemu_refuses (argv, -1, -1, "-device", "vfio-pci,id=hostdev0,host=ffff:ff:1f.7,bus=ql-port1",
                       "vfio /sys/bus/pci/devices/ffff:ff:1f.7: no such host device: No such file or directory");
  ql_test_rm_rf (dir);
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* A host PCI function that exists but is in no IOMMU group, or NULL. */
static char *
find_function_without_iommu_group (void)
{
  g_autoptr(GDir) devices = g_dir_open ("/sys/bus/pci/devices", 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (devices != NULL && (name = g_dir_read_name (devices)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *bdf = g_ptr_array_index (names, i);
      g_autofree char *group = g_build_filename ("/sys/bus/pci/devices", bdf, "iommu_group", NULL);

      if (!g_file_test (group, G_FILE_TEST_EXISTS))
        return g_strdup (bdf);
    }
  return NULL;
}

static void
test_vfio_no_iommu_group (void)
{
  g_autofree char *bdf = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *text = NULL;
  g_autofree char *device = NULL;
  g_autofree char *fragment = NULL;
  g_auto(GStrv) argv = NULL;

  if (!have_qemu ())
    return;
  bdf = find_function_without_iommu_group ();
  if (bdf == NULL)
    {
      g_test_skip ("every PCI function of this host is in an IOMMU group");
      return;
    }

  dir = ql_test_make_tmpdir ();
  text = g_strdup_printf (VM_BASE "[device hostdev0]\ntype = vfio\nbdf = %s\n", bdf);
  vm_file = ql_test_write_file (dir, "test.vm", text);

  fragment = g_strdup_printf ("device 'hostdev0': property 'bdf': host PCI function '%s' is in no IOMMU group", bdf);
  assert_check_refuses (vm_file, fragment,
                        "QEMU would fail with \"no iommu_group found\"",
                        NULL);

  argv = qlaunch_argv (vm_file, FALSE, -1, -1);
  device = g_strdup_printf ("vfio-pci,id=hostdev0,host=%s,bus=ql-port1", bdf);
  g_free (fragment);
  fragment = g_strdup_printf ("vfio %s: no iommu_group found", bdf);
  assert_qemu_refuses (argv, -1, -1, "-device", device, fragment);
  ql_test_rm_rf (dir);
}

/* ---- vsock ---- */

static void
test_vsock_no_vhost_device (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_auto(GStrv) argv = NULL;
  int fd;

  if (!have_qemu ())
    return;
  fd = open ("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
  if (fd >= 0)
    {
      close (fd);
      g_test_skip ("this host has a usable /dev/vhost-vsock");
      return;
    }

  dir = ql_test_make_tmpdir ();
  vm_file = ql_test_write_file (dir, "test.vm", VM_BASE "[device vsock0]\ntype = vsock\ncontext-id = 3\n");

  assert_check_refuses (vm_file,
                        "device 'vsock0': property 'vhost-fd': a vsock device needs '/dev/vhost-vsock', which cannot be used",
                        "QEMU fails with \"vhost-vsock: failed to open vhost device\"",
                        NULL);

  argv = qlaunch_argv (vm_file, FALSE, -1, -1);
  assert_qemu_refuses (argv, -1, -1, "-device", "vhost-vsock-pci,id=vsock0,guest-cid=3,bus=ql-port1",
                       "vhost-vsock: failed to open vhost device: ");
  ql_test_rm_rf (dir);
}

static void
test_vsock_vhost_fd_not_vhost (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_auto(GStrv) argv = NULL;
  int devnull;

  if (!have_qemu ())
    return;

  /* An open descriptor that is not /dev/vhost-vsock: qlaunch can only see
   * that it is open (host checks pass); QEMU finds out and says so. It
   * also shows the descriptor reaching QEMU as fd 3 (vhostfd=3). */
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  g_assert_cmpint (devnull, >=, 0);
  dir = ql_test_make_tmpdir ();
  vm_file = ql_test_write_file (dir, "test.vm",
                                VM_BASE "[device vsock0]\ntype = vsock\ncontext-id = 3\nvhost-fd = 9\n");

  argv = qlaunch_argv (vm_file, TRUE, devnull, 9);
  assert_qemu_refuses (argv, devnull, 3, "-device",
                       "vhost-vsock-pci,id=vsock0,guest-cid=3,vhostfd=3,bus=ql-port1",
                       "vhost_set_owner failed: Inappropriate ioctl for device");
  close (devnull);
  ql_test_rm_rf (dir);
}

/* ---- vhost-user without a backend ---- */

static void
test_vhost_user_no_backend (gconstpointer data)
{
  const char *type = data;
  gboolean net = g_str_equal (type, "net");
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *text = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *chardev = NULL;
  g_autofree char *reason = NULL;
  g_auto(GStrv) argv = NULL;

  if (!have_qemu ())
    return;

  dir = ql_test_make_tmpdir ();
  socket_path = g_build_filename (dir, "backend.sock", NULL);
  text = g_strdup_printf (VM_SHARED_RAM
                          "[device vhu0]\ntype = vhost-user\nvhost-user-type = %s\n"
                          "socket-path = backend.sock\nchar-dev-id = char0\n%s",
                          type, net ? "address = 02:00:ca:fe:00:02\n" : "");
  vm_file = ql_test_write_file (dir, "test.vm", text);

  assert_check_refuses (vm_file,
                        "device 'vhu0': property 'socket-path': cannot use the backend's socket",
                        "No such file or directory; start the vhost-user backend first",
                        NULL);

  argv = qlaunch_argv (vm_file, FALSE, -1, -1);
  if (net)
    assert_argv_has (argv, "type=vhost-user,id=vhu0,chardev=char0,vhostforce=on");
  chardev = g_strdup_printf ("socket,id=char0,path=%s", socket_path);
  reason = g_strdup_printf ("Failed to connect to '%s': No such file or directory", socket_path);
  assert_qemu_refuses (argv, -1, -1, "-chardev", chardev, reason);
  ql_test_rm_rf (dir);
}

static void
test_vhost_user_stale_socket (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *chardev = NULL;
  g_autofree char *reason = NULL;
  g_autoptr(GSocket) unheard = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;

  if (!have_qemu ())
    return;

  /* A socket file nobody listens on (a backend that died): it exists, so
   * the host check passes; QEMU's connection is refused. */
  dir = ql_test_make_tmpdir ();
  socket_path = g_build_filename (dir, "backend.sock", NULL);
  unheard = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (socket_path);
  g_socket_bind (unheard, address, FALSE, &error);
  g_assert_no_error (error);

  vm_file = ql_test_write_file (dir, "test.vm", VM_SHARED_RAM
                                                "[device vhu0]\ntype = vhost-user\nvhost-user-type = net\n"
                                                "socket-path = backend.sock\naddress = 02:00:ca:fe:00:03\n");
  argv = qlaunch_argv (vm_file, TRUE, -1, -1);
  chardev = g_strdup_printf ("socket,id=vhu0,path=%s", socket_path);
  reason = g_strdup_printf ("Failed to connect to '%s': Connection refused", socket_path);
  assert_qemu_refuses (argv, -1, -1, "-chardev", chardev, reason);

  g_socket_close (unheard, NULL);
  ql_test_rm_rf (dir);
}

/* ---- vhost-user blk with a real backend ---- */

static void
run_or_die (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);

  g_assert_no_error (error);
  g_subprocess_wait_check (p, NULL, &error);
  g_assert_no_error (error);
}

/* Waits until @path exists (the daemon listens once it is there). */
static gboolean
wait_for_socket (const char  *path,
                 GSubprocess *daemon)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (g_get_monotonic_time () < deadline)
    {
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return TRUE;
      if (g_subprocess_get_identifier (daemon) == NULL)
        return FALSE;
      g_usleep (20 * G_TIME_SPAN_MILLISECOND);
    }
  return FALSE;
}

static JsonNode *
qmp_execute (QlTestQmp  *qmp,
             const char *command,
             const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  JsonNode *reply;

  if (path != NULL)
    json_object_set_string_member (args, "path", path);
  reply = ql_test_qmp_execute (qmp, command, path != NULL ? args : NULL, &error);
  g_assert_no_error (error);
  return reply;
}

/* The type of @name in a qom-list reply, or NULL. */
static const char *
qom_list_type (JsonNode   *list,
               const char *name)
{
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0)
        return json_object_get_string_member (o, "type");
    }
  return NULL;
}

static void
test_vhost_user_blk_accepted (void)
{
  g_autofree char *storage_daemon = g_find_program_in_path ("qemu-storage-daemon");
  g_autofree char *dir = NULL;
  g_autofree char *image = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *qmp_path = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *blockdev = NULL;
  g_autofree char *export = NULL;
  g_autofree char *qemu_err = NULL;
  g_autofree char *daemon_err = NULL;
  g_autofree char *chardev = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GSubprocess) qemu = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) peripheral = NULL;
  g_autoptr(JsonNode) memdevs = NULL;
  g_autoptr(JsonNode) chardevs = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_auto(GStrv) argv = NULL;
  JsonObject *memdev;
  gboolean found_chardev = FALSE;

  if (!have_qemu ())
    return;
  if (storage_daemon == NULL)
    {
      g_test_skip ("qemu-storage-daemon is not installed");
      return;
    }

  dir = ql_test_make_tmpdir ();
  image = g_build_filename (dir, "disk.img", NULL);
  socket_path = g_build_filename (dir, "vub.sock", NULL);
  qmp_path = g_build_filename (dir, "qmp.sock", NULL);

  {
    const char *create[] = { "qemu-img", "create", "-q", "-f", "raw", image, "64M", NULL };

    run_or_die (create);
  }

  /* The backend (QEMU 7.2's vhost-user-blk): the block size is set on
   * the export, not on QEMU's device. */
  blockdev = g_strdup_printf ("driver=file,node-name=file0,filename=%s", image);
  export = g_strdup_printf ("type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,"
                            "addr.path=%s,writable=on,logical-block-size=4096", socket_path);
  {
    const char *daemon_argv[] = {
      storage_daemon,
      "--blockdev", blockdev,
      "--blockdev", "driver=raw,node-name=disk0,file=file0",
      "--export", export,
      NULL
    };

    daemon = ql_test_spawn_child (daemon_argv, -1, -1,
                                  G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  }
  if (!wait_for_socket (socket_path, daemon))
    {
      g_subprocess_force_exit (daemon);
      ql_test_wait_exit (daemon, QEMU_TIMEOUT_S, NULL, &daemon_err);
      g_error ("qemu-storage-daemon did not create %s: %s", socket_path, daemon_err);
    }

  vm_file = ql_test_write_file (dir, "test.vm", VM_SHARED_RAM
                                                "[qmp control]\npath = qmp.sock\n"
                                                "[device disk0]\ntype = vhost-user\nvhost-user-type = blk\n"
                                                "socket-path = vub.sock\nchar-dev-id = char-disk0\n");

  /* Host checks on: the socket exists. */
  argv = qlaunch_argv (vm_file, TRUE, -1, -1);
  assert_argv_has (argv, "vhost-user-blk-pci,id=disk0,chardev=char-disk0,bus=ql-port1");

  qemu = ql_test_spawn_child ((const char * const *) argv, -1, -1,
                              G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                              G_SUBPROCESS_FLAGS_STDERR_PIPE);
  qmp = ql_test_qmp_connect (qmp_path, QMP_TIMEOUT_MS, &error);
  if (qmp == NULL)
    {
      g_subprocess_force_exit (qemu);
      ql_test_wait_exit (qemu, QEMU_TIMEOUT_S, NULL, &qemu_err);
      g_error ("no QMP: %s; QEMU said: %s", error->message, qemu_err);
    }

  peripheral = qmp_execute (qmp, "qom-list", "/machine/peripheral");
  g_assert_cmpstr (qom_list_type (peripheral, "disk0"), ==, "child<vhost-user-blk-pci>");

  chardev = ql_test_qmp_qom_get_string (qmp, "/machine/peripheral/disk0", "chardev", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (chardev, ==, "char-disk0");

  memdevs = qmp_execute (qmp, "query-memdev", NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (memdevs)), ==, 1);
  memdev = json_array_get_object_element (json_node_get_array (memdevs), 0);
  g_assert_true (json_object_get_boolean_member (memdev, "share"));
  g_assert_cmpint (json_object_get_int_member (memdev, "size"), ==, 128 << 20);

  chardevs = qmp_execute (qmp, "query-chardev", NULL);
  for (guint i = 0; i < json_array_get_length (json_node_get_array (chardevs)); i++)
    {
      JsonObject *c = json_array_get_object_element (json_node_get_array (chardevs), i);

      if (g_strcmp0 (json_object_get_string_member (c, "label"), "char-disk0") == 0)
        {
          found_chardev = TRUE;
          /* Connected to the daemon and opened by the device. */
          g_assert_cmpstr (json_object_get_string_member (c, "filename"), ==, "unix:");
          g_assert_true (json_object_get_boolean_member (c, "frontend-open"));
        }
    }
  g_assert_true (found_chardev);

  reply = ql_test_qmp_execute (qmp, "quit", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ql_test_wait_exit (qemu, QEMU_TIMEOUT_S, NULL, &qemu_err), ==, 0);
  /* Not a warning of any kind. */
  g_assert_cmpstr (qemu_err, ==, "");

  g_subprocess_send_signal (daemon, SIGTERM);
  ql_test_wait_exit (daemon, QEMU_TIMEOUT_S, NULL, &daemon_err);
  g_test_message ("qemu-storage-daemon said: %s", daemon_err);
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qemu-refusals/vfio/no-such-device", test_vfio_no_such_device);
  g_test_add_func ("/qemu-refusals/vfio/no-iommu-group", test_vfio_no_iommu_group);
  g_test_add_func ("/qemu-refusals/vsock/no-vhost-device", test_vsock_no_vhost_device);
  g_test_add_func ("/qemu-refusals/vsock/vhost-fd-not-vhost", test_vsock_vhost_fd_not_vhost);
  g_test_add_data_func ("/qemu-refusals/vhost-user/net-no-backend", "net", test_vhost_user_no_backend);
  g_test_add_data_func ("/qemu-refusals/vhost-user/scsi-no-backend", "scsi", test_vhost_user_no_backend);
  g_test_add_func ("/qemu-refusals/vhost-user/stale-socket", test_vhost_user_stale_socket);
  g_test_add_func ("/qemu-accepts/vhost-user/blk-storage-daemon", test_vhost_user_blk_accepted);

  return g_test_run ();
}
