/* Suite qemu: the helper processes QlVm owns, with the real QEMU (-S, TCG)
 * and a stand-in helper (tests/helpers/fake-helper.c) declared by a device
 * type of this test:
 *
 *  /helpers/lifecycle        two helpers start before QEMU, in order, each
 *                            listening; QEMU runs; stop: QEMU, helpers,
 *                            sockets and the runtime directory are gone
 *  /helpers/start-fails      a helper that exits at once: the launch fails
 *                            naming the device, its status and its output;
 *                            the helper started before it is stopped; no
 *                            QEMU, no directory
 *  /helpers/not-ready        a helper that never listens: the launch fails
 *                            after its deadline and it is killed
 *  /helpers/dies-while-running  a helper exits while QEMU runs: the VM
 *                            fails naming the device and the status, QEMU
 *                            is stopped
 *  /helpers/grace            a helper that ignores SIGTERM is killed after
 *                            the VM's grace period
 *  /helpers/cancel           cancelling the launch while a helper starts
 *  /helpers/untrusted        a helper program in a directory other users
 *                            may write to is refused before anything runs
 *  /helpers/explicit-runtime-dir  a runtime directory of the caller's:
 *                            used as it is, and only what qlaunch put
 *                            there is removed
 *  /helpers/virtio-fs        the real virtiofsd and a vhost-user-fs-pci
 *                            device: virtiofsd (socket activated) starts
 *                            right after QEMU; QEMU starts with empty stderr, the
 *                            device's tag reads back over QOM, everything
 *                            goes with the VM
 *  /helpers/virtio-fs-cannot-start  an untrusted virtiofsd is refused
 *                            before QEMU; one that cannot be executed fails
 *                            after QEMU started: the launch fails naming it,
 *                            and QEMU is stopped
 *  /helpers/concurrent       six VMs with helpers launched at once: six
 *                            directories, six helpers, all gone after
 *  /helpers/passt            the real passt and a -netdev stream card: QEMU
 *                            starts with empty stderr and connects
 *  /helpers/binary-without-virtio-fs  a QEMU without vhost-user-fs-pci
 *                            (Debian's microvm build): check and run
 *                            refuse the VM before anything starts (on a
 *                            host without KVM, because that binary cannot
 *                            be probed there)
 *
 * Every test has its own XDG_RUNTIME_DIR (0700).
 */
#include "ql-test-pids.h"
#include "ql-test-util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* ---- a device type that declares a fake helper ---- */

#define TEST_TYPE_HELPER_DEVICE (test_helper_device_get_type ())
G_DECLARE_FINAL_TYPE (TestHelperDevice, test_helper_device, TEST, HELPER_DEVICE, QlDevice)

struct _TestHelperDevice
{
  QlDevice parent_instance;
  char *binary;
  char *mode;
  char *say;
  guint ready_timeout;
};

G_DEFINE_FINAL_TYPE (TestHelperDevice, test_helper_device, QL_TYPE_DEVICE)

enum { PROP_0, PROP_BINARY, PROP_MODE, PROP_SAY, PROP_READY_TIMEOUT, N_PROPS };

static gboolean
test_helper_device_valid (QlDevice    *device,
                          QlVmConfig  *vm,
                          GError     **error)
{
  (void) vm;
  return ql_device_check_not_empty (device, TEST_HELPER_DEVICE (device)->binary, "binary", error);
}

static gboolean
test_helper_device_qemu_params (QlDevice    *device,
                                QlVmConfig  *vm,
                                QlCmdline   *cmdline,
                                GError     **error)
{
  TestHelperDevice *self = TEST_HELPER_DEVICE (device);
  g_autofree char *name = g_strconcat (ql_device_get_id (device), ".sock", NULL);
  g_autofree char *socket = ql_cmdline_build_runtime_path (cmdline, name);
  QlHelper *helper = ql_cmdline_add_helper (cmdline, "fake-helper", self->binary);

  (void) vm;
  (void) error;
  ql_helper_add_arg_printf (helper, "--socket=%s", socket);
  ql_helper_add_arg_printf (helper, "--mode=%s", self->mode);
  if (self->say != NULL)
    ql_helper_add_arg_printf (helper, "--say=%s", self->say);
  ql_helper_set_socket (helper, socket);
  if (self->ready_timeout > 0)
    ql_helper_set_ready_timeout (helper, self->ready_timeout);
  return TRUE;
}

static void
test_helper_device_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  TestHelperDevice *self = TEST_HELPER_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BINARY: g_free (self->binary); self->binary = g_value_dup_string (value); break;
    case PROP_MODE: g_free (self->mode); self->mode = g_value_dup_string (value); break;
    case PROP_SAY: g_free (self->say); self->say = g_value_dup_string (value); break;
    case PROP_READY_TIMEOUT: self->ready_timeout = g_value_get_uint (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
    }
}

static void
test_helper_device_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  TestHelperDevice *self = TEST_HELPER_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BINARY: g_value_set_string (value, self->binary); break;
    case PROP_MODE: g_value_set_string (value, self->mode); break;
    case PROP_SAY: g_value_set_string (value, self->say); break;
    case PROP_READY_TIMEOUT: g_value_set_uint (value, self->ready_timeout); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
    }
}

static void
test_helper_device_finalize (GObject *object)
{
  TestHelperDevice *self = TEST_HELPER_DEVICE (object);

  g_free (self->binary);
  g_free (self->mode);
  g_free (self->say);
  G_OBJECT_CLASS (test_helper_device_parent_class)->finalize (object);
}

static void
test_helper_device_class_init (TestHelperDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = test_helper_device_set_property;
  object_class->get_property = test_helper_device_get_property;
  object_class->finalize = test_helper_device_finalize;
  device_class->valid = test_helper_device_valid;
  device_class->qemu_params = test_helper_device_qemu_params;
  g_object_class_install_property (object_class, PROP_BINARY,
    g_param_spec_string ("binary", "Binary", "The fake helper program", NULL, flags));
  g_object_class_install_property (object_class, PROP_MODE,
    g_param_spec_string ("mode", "Mode", "The fake helper's --mode", "listen", flags));
  g_object_class_install_property (object_class, PROP_SAY,
    g_param_spec_string ("say", "Say", "What the fake helper writes first on stderr", NULL, flags));
  g_object_class_install_property (object_class, PROP_READY_TIMEOUT,
    g_param_spec_uint ("ready-timeout", "Ready timeout", "Readiness deadline in ms (0: the default)",
                       0, G_MAXUINT, 0, flags));
}

static void
test_helper_device_init (TestHelperDevice *self)
{
  self->mode = g_strdup ("listen");
}

/* ---- the test's world ---- */

static QlRegistry *registry;
static char *fake_helper;
static char *fake_helper_dir;

typedef struct
{
  char *work;
  char *runtime;
  char *base;
} World;

static void
world_init (World *w)
{
  w->work = ql_test_make_tmpdir ();
  w->runtime = ql_test_make_runtime_dir (w->work, "rt");
  w->base = g_build_filename (w->runtime, "qlaunch", NULL);
}

static void
world_clear (World *w)
{
  g_unsetenv ("XDG_RUNTIME_DIR");
  ql_test_rm_rf (w->work);
  g_free (w->work);
  g_free (w->runtime);
  g_free (w->base);
}

/* Iterates the thread-default main context until *@count reaches @want;
 * aborts after @timeout_ms. */
static void
ql_test_run_until_count (guint *count,
                         guint  want,
                         guint  timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (*count < want)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("only %u of %u launches completed in %u ms", *count, want, timeout_ms);
      g_main_context_iteration (NULL, TRUE);
    }
}

/* The live children of this process whose command line holds @needle. */
static GArray *
children_with (const char *needle)
{
  g_autoptr(GArray) all = ql_test_find_processes (NULL, needle);

  return ql_test_children_among (all, getpid ());
}

/* A VM whose QEMU stops at start (-S, TCG, no display) with @devices. */
static QlVmConfig *
vm_new (World      *w,
        const char *devices)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("[vm]\nname=helpers\n"
                                           "[machine]\ntype=pc\nacceleration=tcg\n"
                                           "[memory]\nsize=128M\n"
                                           "[knobs]\nno-defaults=true\nno-user-config=true\nno-graphic=true\nstopped=true\n"
                                           "[qmp q]\ntype=unix\npath=qmp.sock\nserver=true\nno-wait=true\n"
                                           "%s", devices);
  QlVmConfig *vm = ql_vm_config_new_from_data (text, -1, "helpers.vm", w->work, registry, &error);

  g_assert_no_error (error);
  return vm;
}

/* A QlVm whose QEMU dies with this test even when an assertion aborts
 * it (helpers always do). */
static QlVm *
vm_launcher_new (QlVmConfig *config)
{
  QlVm *vm = ql_vm_new (config);

  ql_vm_set_die_with_parent (vm, TRUE);
  return vm;
}

static char *
fake_device (const char *id,
             const char *extra)
{
  return g_strdup_printf ("[device %s]\ntype=helper-test\nbinary=%s\n%s", id, fake_helper, extra);
}

/* ---- tests ---- */

static void
test_lifecycle (void)
{
  World w = { 0 };
  g_autofree char *a = NULL, *b = NULL, *devices = NULL, *dir = NULL, *sock_a = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  g_autoptr(GDir) d = NULL;
  GPid qemu;

  world_init (&w);
  a = fake_device ("a", "");
  b = fake_device ("b", "");
  devices = g_strconcat (a, b, NULL);
  config = vm_new (&w, devices);
  vm = vm_launcher_new (config);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  qemu = ql_vm_get_pid (vm);
  g_assert_true (ql_test_pid_alive (qemu));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);

  helpers = children_with ("fake-helper --socket=");
  g_assert_cmpuint (helpers->len, ==, 2);
  /* One private directory NAME.XXXXXX (0700) holding both sockets and the
   * lock. */
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 1);
  d = g_dir_open (w.base, 0, NULL);
  dir = g_build_filename (w.base, g_dir_read_name (d), NULL);
  g_assert_true (g_str_has_prefix (dir + strlen (w.base) + 1, "helpers."));
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (dir, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  }
  sock_a = g_build_filename (dir, "a.sock", NULL);
  g_assert_true (g_file_test (sock_a, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (ql_test_count_entries (dir), ==, 3);

  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_false (ql_test_pid_alive (qemu));
  for (guint i = 0; i < helpers->len; i++)
    g_assert_false (ql_test_pid_alive (g_array_index (helpers, GPid, i)));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

static void
test_start_fails (void)
{
  World w = { 0 };
  g_autofree char *a = NULL, *b = NULL, *devices = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;

  world_init (&w);
  a = fake_device ("first", "");
  b = fake_device ("broken", "mode=exit:3\nsay=fake: the share is gone\n");
  devices = g_strconcat (a, b, NULL);
  config = vm_new (&w, devices);
  vm = vm_launcher_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "device 'broken': helper fake-helper (pid "));
  g_assert_nonnull (strstr (error->message, "exited with status 3 before it listened on"));
  g_assert_nonnull (strstr (error->message, ": fake: the share is gone"));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_cmpint (ql_vm_get_pid (vm), ==, 0);
  {
    g_autoptr(GArray) left = children_with ("fake-helper --socket=");

    g_assert_cmpuint (left->len, ==, 0);
  }
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

static void
test_not_ready (void)
{
  World w = { 0 };
  g_autofree char *a = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  gint64 t0;

  world_init (&w);
  a = fake_device ("slow", "mode=never\nready-timeout=300\nsay=fake: still thinking\n");
  config = vm_new (&w, a);
  vm = vm_launcher_new (config);
  t0 = g_get_monotonic_time ();
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
  g_test_message ("%s (after %.0f ms)", error->message, (g_get_monotonic_time () - t0) / 1000.0);
  g_assert_nonnull (strstr (error->message, "device 'slow': helper fake-helper"));
  g_assert_nonnull (strstr (error->message, "did not listen on"));
  g_assert_nonnull (strstr (error->message, "within 300 ms"));
  g_assert_nonnull (strstr (error->message, "fake: still thinking"));
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 300 * 1000);
  {
    g_autoptr(GArray) left = children_with ("fake-helper --socket=");

    g_assert_cmpuint (left->len, ==, 0);
  }
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

static void
test_dies_while_running (void)
{
  World w = { 0 };
  g_autofree char *a = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  GPid qemu;

  world_init (&w);
  a = fake_device ("net9", "mode=listen-exit:700:7\n");
  config = vm_new (&w, a);
  vm = vm_launcher_new (config);
  ql_vm_set_grace_period (vm, 2000);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  qemu = ql_vm_get_pid (vm);
  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "device 'net9': helper fake-helper (pid "));
  g_assert_nonnull (strstr (error->message, "exited with status 7 while the VM ran; QEMU was stopped"));
  g_assert_nonnull (strstr (error->message, "giving up after 700 ms"));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_false (ql_test_pid_alive (qemu));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

static void
test_grace (void)
{
  World w = { 0 };
  g_autofree char *a = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  gint64 t0;
  double ms;

  world_init (&w);
  a = fake_device ("stubborn", "mode=ignore-term\n");
  config = vm_new (&w, a);
  vm = vm_launcher_new (config);
  ql_vm_set_grace_period (vm, 400);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  helpers = children_with ("fake-helper --socket=");
  g_assert_cmpuint (helpers->len, ==, 1);
  t0 = g_get_monotonic_time ();
  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_test_message ("stopped in %.0f ms with a helper that ignores SIGTERM (grace 400 ms)", ms);
  g_assert_cmpfloat (ms, >=, 400.0);
  g_assert_false (ql_test_pid_alive (g_array_index (helpers, GPid, 0)));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (void)
{
  World w = { 0 };
  g_autofree char *a = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  world_init (&w);
  a = fake_device ("waits", "mode=never\nready-timeout=20000\n");
  config = vm_new (&w, a);
  vm = vm_launcher_new (config);
  g_timeout_add (300, cancel_later, cancellable);
  g_assert_false (ql_vm_launch (vm, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (ql_vm_get_pid (vm), ==, 0);
  {
    g_autoptr(GArray) left = children_with ("fake-helper --socket=");

    g_assert_cmpuint (left->len, ==, 0);
  }
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

static void
test_untrusted (void)
{
  World w = { 0 };
  g_autofree char *bin_dir = NULL, *copy = NULL, *contents = NULL, *device = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  world_init (&w);
  bin_dir = g_build_filename (w.work, "bin", NULL);
  g_assert_cmpint (g_mkdir (bin_dir, 0777), ==, 0);
  g_assert_cmpint (g_chmod (bin_dir, 0777), ==, 0);   /* another user could swap the program */
  copy = g_build_filename (bin_dir, "fake-helper", NULL);
  g_assert_true (g_file_get_contents (fake_helper, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (copy, contents, (gssize) len, NULL));
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);
  device = g_strdup_printf ("[device u]\ntype=helper-test\nbinary=%s\n", copy);
  config = vm_new (&w, device);
  /* With host checks: refused while the command line is built. */
  vm = vm_launcher_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "device 'u': helper fake-helper: refusing to run"));
  g_assert_nonnull (strstr (error->message, "can be changed by another user"));
  g_clear_error (&error);
  g_clear_object (&vm);
  /* Without: refused by the launcher itself, before it spawns. */
  ql_vm_config_set_host_probe (config, NULL);
  vm = vm_launcher_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "device 'u': helper fake-helper cannot start: refusing to run"));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

static void
test_explicit_runtime_dir (void)
{
  World w = { 0 };
  g_autofree char *a = NULL, *dir = NULL, *keep = NULL, *sock = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;

  world_init (&w);
  dir = g_build_filename (w.work, "mine", NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  keep = g_build_filename (dir, "keep-me", NULL);
  g_assert_true (g_file_set_contents (keep, "x", -1, NULL));
  a = fake_device ("a", "");
  config = vm_new (&w, a);
  ql_vm_config_set_runtime_dir (config, dir);
  vm = vm_launcher_new (config);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  sock = g_build_filename (dir, "a.sock", NULL);
  g_assert_true (g_file_test (sock, G_FILE_TEST_EXISTS));
  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_false (g_file_test (sock, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (keep, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (ql_test_count_entries (dir), ==, 1);
  g_clear_object (&vm);

  /* Writable by others: refused before anything runs. */
  g_assert_cmpint (g_chmod (dir, 0777), ==, 0);
  vm = vm_launcher_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN);
  g_assert_nonnull (strstr (error->message, "refusing the runtime directory"));
  world_clear (&w);
}

/* A world with a directory to share (returned), or NULL (the test
 * skipped) without QEMU's virtiofsd. */
static char *
virtio_fs_world (World *w)
{
  char *share;

  if (!g_file_test ("/usr/lib/qemu/virtiofsd", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/lib/qemu/virtiofsd");
      return NULL;
    }
  world_init (w);
  share = g_build_filename (w->work, "share", NULL);
  g_assert_cmpint (g_mkdir (share, 0755), ==, 0);
  return share;
}

static void
record_qemu_pid (QlVm       *vm,
                 const char *device_id,
                 const char *name,
                 int         pid,
                 gpointer    user_data)
{
  GPid *qemu_then = user_data;

  (void) device_id;
  (void) name;
  (void) pid;
  *qemu_then = ql_vm_get_pid (vm);
}

static void
test_virtio_fs (void)
{
  World w = { 0 };
  g_autofree char *share = NULL, *device = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) tag = NULL;
  g_autoptr(GArray) helpers = NULL;
  GPid qemu_then = 0;
  GPid qemu;

  share = virtio_fs_world (&w);
  if (share == NULL)
    return;
  device = g_strdup_printf ("[device fs0]\ntype=virtio-fs\npath=%s\ntag=myshare\n", share);
  config = vm_new (&w, device);
  vm = vm_launcher_new (config);
  g_signal_connect (vm, "helper-ready", G_CALLBACK (record_qemu_pid), &qemu_then);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  qemu = ql_vm_get_pid (vm);
  /* Socket activated: virtiofsd started right after QEMU, whose pid was
   * known when virtiofsd was reported started. */
  g_assert_cmpint (qemu, >, 0);
  g_assert_cmpint (qemu_then, ==, qemu);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);
  g_assert_true (ql_vm_connect_qmp (vm, 10000, NULL, &error));
  g_assert_no_error (error);
  json_object_set_string_member (args, "path", "/machine/peripheral/fs0");
  json_object_set_string_member (args, "property", "tag");
  tag = ql_qmp_execute (ql_vm_get_qmp (vm), "qom-get", args, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (tag), ==, "myshare");
  /* QEMU 7.2 took the argv, shared memfd included, without a word. */
  g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "");
  helpers = children_with ("virtiofsd --fd=");
  g_assert_cmpuint (helpers->len, ==, 1);

  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_false (ql_test_pid_alive (qemu));
  g_assert_false (ql_test_pid_alive (g_array_index (helpers, GPid, 0)));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}


/* A socket-activated helper that cannot start: one other users could swap
 * is refused before QEMU starts, as any helper (here without host checks,
 * which would refuse it earlier still); one that passes the checks and
 * then cannot be executed (its interpreter is missing) fails after QEMU
 * started: the launch fails with its error, and QEMU is stopped. */
static void
test_virtio_fs_cannot_start (void)
{
  World w = { 0 };
  g_autofree char *share = NULL, *device = NULL, *bin_dir = NULL, *copy = NULL, *contents = NULL;
  g_autofree char *broken = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) left = NULL;
  GPid qemu;
  gsize len;

  share = virtio_fs_world (&w);
  if (share == NULL)
    return;
  bin_dir = g_build_filename (w.work, "bin", NULL);
  g_assert_cmpint (g_mkdir (bin_dir, 0777), ==, 0);
  g_assert_cmpint (g_chmod (bin_dir, 0777), ==, 0);
  copy = g_build_filename (bin_dir, "virtiofsd", NULL);
  g_assert_true (g_file_get_contents ("/usr/lib/qemu/virtiofsd", &contents, &len, NULL));
  g_assert_true (g_file_set_contents (copy, contents, (gssize) len, NULL));
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);
  device = g_strdup_printf ("[device fs0]\ntype=virtio-fs\npath=%s\ntag=myshare\nbinary=%s\n", share, copy);
  config = vm_new (&w, device);
  ql_vm_config_set_host_probe (config, NULL);
  vm = vm_launcher_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "device 'fs0': helper virtiofsd cannot start: refusing to run"));
  g_assert_cmpint (ql_vm_get_pid (vm), <=, 0);   /* before QEMU */
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  g_clear_error (&error);
  g_clear_object (&vm);
  g_clear_object (&config);
  g_free (device);

  /* Beside the fake helper: a directory no other user can change. */
  broken = g_build_filename (fake_helper_dir, "virtiofsd", NULL);
  g_assert_true (g_file_set_contents (broken, "#!/nonexistent/interpreter\n", -1, NULL));
  g_assert_cmpint (g_chmod (broken, 0755), ==, 0);
  device = g_strdup_printf ("[device fs0]\ntype=virtio-fs\npath=%s\ntag=myshare\nbinary=%s\n", share, broken);
  config = vm_new (&w, device);
  vm = vm_launcher_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "device 'fs0': helper virtiofsd cannot start"));
  qemu = ql_vm_get_pid (vm);
  g_assert_cmpint (qemu, >, 0);   /* it ran, and was stopped */
  g_assert_false (ql_test_pid_alive (qemu));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  left = children_with ("virtiofsd --fd=");
  g_assert_cmpuint (left->len, ==, 0);
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  g_unlink (broken);
  world_clear (&w);
}

static void
launched_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  guint *done = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (ql_vm_launch_finish (QL_VM (source), result, &error));
  g_assert_no_error (error);
  (*done)++;
}

/* Several VMs with helpers launched at once under one base: each gets its
 * own directory, none sweeps another's (a lock file appears only once it
 * is locked), and all go with their VMs. */
static void
test_concurrent (void)
{
  World w = { 0 };
  g_autofree char *a = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  QlVm *vms[6];
  guint done = 0;

  world_init (&w);
  a = fake_device ("a", "");
  config = vm_new (&w, a);
  /* No QMP socket: six QEMUs cannot share one path. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *text = g_strdup_printf ("[machine]\ntype=pc\nacceleration=tcg\n[memory]\nsize=64M\n"
                                             "[knobs]\nno-defaults=true\nno-user-config=true\n"
                                             "no-graphic=true\nstopped=true\n%s", a);

    g_clear_object (&config);
    config = ql_vm_config_new_from_data (text, -1, "c.vm", w.work, registry, &error);
    g_assert_no_error (error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (vms); i++)
    {
      vms[i] = vm_launcher_new (config);
      ql_vm_launch_async (vms[i], NULL, launched_cb, &done);
    }
  ql_test_run_until_count (&done, G_N_ELEMENTS (vms), 30000);
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, G_N_ELEMENTS (vms));
  {
    g_autoptr(GArray) helpers = children_with ("fake-helper --socket=");

    g_assert_cmpuint (helpers->len, ==, G_N_ELEMENTS (vms));
  }
  for (guint i = 0; i < G_N_ELEMENTS (vms); i++)
    {
      g_autoptr(GError) error = NULL;

      ql_vm_stop (vms[i]);
      g_assert_true (ql_vm_wait (vms[i], NULL, &error));
      g_object_unref (vms[i]);
    }
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  {
    g_autoptr(GArray) helpers = children_with ("fake-helper --socket=");

    g_assert_cmpuint (helpers->len, ==, 0);
  }
  world_clear (&w);
}

/* A passt card: QEMU 7.2 takes its -netdev stream without a word, and
 * connects to the passt qlaunch started. */
static void
test_passt (void)
{
  World w = { 0 };
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  g_autofree char *passt = g_find_program_in_path ("passt");
  gint64 deadline;
  gboolean connected = FALSE;
  GPid qemu;

  if (passt == NULL)
    {
      g_test_skip ("no passt in PATH");
      return;
    }
  world_init (&w);
  config = vm_new (&w, "[device nic0]\ntype=net\nnet-type=passt\nmac-address=52:54:00:12:34:99\nrom-file=\n");
  vm = vm_launcher_new (config);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  qemu = ql_vm_get_pid (vm);
  g_assert_true (ql_vm_connect_qmp (vm, 10000, NULL, &error));
  g_assert_no_error (error);
  helpers = children_with ("passt ");
  g_assert_cmpuint (helpers->len, ==, 1);
  /* QEMU connects its stream in the background: "info network" says
   * "unix:PATH" once it has. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!connected && g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) args = json_object_new ();
      g_autoptr(JsonNode) reply = NULL;

      json_object_set_string_member (args, "command-line", "info network");
      reply = ql_qmp_execute (ql_vm_get_qmp (vm), "human-monitor-command", args, NULL, &error);
      g_assert_no_error (error);
      connected = strstr (json_node_get_string (reply), "nic0: index=0,type=stream,unix:") != NULL;
      if (!connected)
        g_usleep (20 * 1000);
    }
  g_assert_true (connected);
  g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "");

  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_false (ql_test_pid_alive (qemu));
  g_assert_false (ql_test_pid_alive (g_array_index (helpers, GPid, 0)));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

/* A QEMU binary without vhost-user-fs-pci (Debian's microvm build) is
 * refused before anything starts: no virtiofsd, no runtime directory. */
static void
test_binary_without_virtio_fs (void)
{
  const char *microvm = "/usr/bin/qemu-system-x86_64-microvm";
  World w = { 0 };
  g_autofree char *share = NULL, *vm_file = NULL, *text = NULL;
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;
  g_autofree char *needle = NULL;
  const char *plugins = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");

  if (!g_file_test (microvm, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no qemu-system-x86_64-microvm");
      return;
    }
  world_init (&w);
  share = g_build_filename (w.work, "share", NULL);
  g_assert_cmpint (g_mkdir (share, 0755), ==, 0);
  vm_file = g_build_filename (w.work, "micro.vm", NULL);
  text = g_strdup_printf ("[vm]\nqemu = %s\n[machine]\ntype = q35\n[memory]\nsize = 256M\n"
                          "[device fs0]\ntype = virtio-fs\npath = %s\ntag = share\n", microvm, share);
  g_assert_true (g_file_set_contents (vm_file, text, -1, NULL));
  {
    const char *check[] = { "--plugin-dir", plugins, "check", vm_file, NULL };
    const char *run[] = { "--plugin-dir", plugins, "run", vm_file, NULL };

    /* Debian's microvm build has KVM as its only accelerator: on a host
     * without a usable /dev/kvm it cannot even be probed, and that is
     * the refusal. */
    int kvm = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
    const char *expected = kvm >= 0 ? "device 'fs0': QEMU 7.2 has no device type 'vhost-user-fs-pci'"
                                    : "cannot check the VM against its QEMU: probing /usr/bin/qemu-system-x86_64-microvm failed";

    if (kvm >= 0)
      close (kvm);
    g_assert_cmpint (ql_test_run_cli (check, &out, &err), ==, 1);
    g_test_message ("%s", err);
    g_assert_nonnull (strstr (err, expected));
    g_assert_cmpint (ql_test_run_cli (run, &out2, &err2), ==, 1);
    g_test_message ("%s", err2);
    if (kvm >= 0)
      {
        g_assert_nonnull (strstr (err2, expected));
        g_assert_null (strstr (err2, "virtiofsd of device"));
      }
    else
      /* run launches a binary it cannot probe unchecked, after a warning:
       * QEMU then fails, and its virtiofsd goes with it (below). */
      g_assert_nonnull (strstr (err2, "failed to initialize kvm"));
  }
  needle = g_strdup_printf ("source=%s", share);
  {
    g_autoptr(GArray) left = ql_test_find_processes (NULL, needle);

    g_assert_cmpuint (left->len, ==, 0);
  }
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

/* qlaunch runs a helper only from where no other user can change it: not
 * from a build tree under /tmp (sticky, but writable by all). The fake
 * helper is copied into a private directory of a base that is ours:
 * /run for root, $XDG_RUNTIME_DIR (when private) for anyone else, else the
 * build tree as it is. */
static char *
trusted_copy (const char  *dir,
              const char  *name,
              char       **made_dir)
{
  g_autofree char *source = g_build_filename (dir, name, NULL);
  g_autofree char *contents = NULL;
  g_autofree char *base = NULL;
  g_autofree char *target_dir = NULL;
  g_autoptr(GError) error = NULL;
  char *target;
  gsize len = 0;
  GStatBuf st;

  *made_dir = NULL;
  if (geteuid () == 0)
    base = g_strdup ("/run");
  else if (g_getenv ("XDG_RUNTIME_DIR") != NULL && g_stat (g_getenv ("XDG_RUNTIME_DIR"), &st) == 0
           && st.st_uid == getuid () && (st.st_mode & 077) == 0)
    base = g_strdup (g_getenv ("XDG_RUNTIME_DIR"));
  else
    return g_steal_pointer (&source);
  target_dir = g_build_filename (base, "qlaunch-test-helper-XXXXXX", NULL);
  if (g_mkdtemp_full (target_dir, 0700) == NULL)
    return g_steal_pointer (&source);
  g_assert_true (g_file_get_contents (source, &contents, &len, &error));
  target = g_build_filename (target_dir, name, NULL);
  g_assert_true (g_file_set_contents (target, contents, (gssize) len, &error));
  g_assert_cmpint (g_chmod (target, 0755), ==, 0);
  *made_dir = g_steal_pointer (&target_dir);
  return target;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  fake_helper = trusted_copy (g_getenv ("QLAUNCH_TEST_BUILDDIR"), "fake-helper", &fake_helper_dir);
  registry = ql_test_registry_new ();
  g_assert_true (ql_registry_register_device (registry, "helper-test", TEST_TYPE_HELPER_DEVICE, &error));

  g_test_add_func ("/helpers/lifecycle", test_lifecycle);
  g_test_add_func ("/helpers/start-fails", test_start_fails);
  g_test_add_func ("/helpers/not-ready", test_not_ready);
  g_test_add_func ("/helpers/dies-while-running", test_dies_while_running);
  g_test_add_func ("/helpers/grace", test_grace);
  g_test_add_func ("/helpers/cancel", test_cancel);
  g_test_add_func ("/helpers/untrusted", test_untrusted);
  g_test_add_func ("/helpers/explicit-runtime-dir", test_explicit_runtime_dir);
  g_test_add_func ("/helpers/virtio-fs", test_virtio_fs);
  g_test_add_func ("/helpers/virtio-fs-cannot-start", test_virtio_fs_cannot_start);
  g_test_add_func ("/helpers/passt", test_passt);
  g_test_add_func ("/helpers/concurrent", test_concurrent);
  g_test_add_func ("/helpers/binary-without-virtio-fs", test_binary_without_virtio_fs);
  ret = g_test_run ();
  g_clear_object (&registry);
  g_free (fake_helper);
  if (fake_helper_dir != NULL)
    ql_test_rm_rf (fake_helper_dir);
  g_free (fake_helper_dir);
  return ret;
}
