/* Suite qemu: QlVm running the real qemu-system-x86_64 (TCG).
 *
 * Each VM is stopped at start (-S), has no devices (-nodefaults, no
 * display) and a QMP socket; the tests check over QMP that QEMU is up,
 * stop it by cancellation, and check QEMU's own messages on failure, the
 * descriptors QEMU holds (a real tap device passed as fd 3), and 20 VMs at
 * once from one main loop; QEMU under its seccomp filter (a daemonizing
 * one with spawn and elevateprivileges allowed). Host checks are on, as for `qlaunch run`,
 * except where a test turns them off to reach QEMU's own check.
 */
#include "ql-test-pids.h"
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"
#include "ql-test-qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

typedef struct
{
  QlRegistry *registry;
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->registry = ql_test_registry_new ();
  f->dir = ql_test_make_tmpdir ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  ql_test_rm_rf (f->dir);
  g_free (f->dir);
  g_object_unref (f->registry);
}

static char *
qmp_path (Fixture    *f,
          const char *name)
{
  g_autofree char *file = g_strdup_printf ("%s.qmp", name);

  return g_build_filename (f->dir, file, NULL);
}

/* A stopped VM with no devices and a QMP socket, plus @extra (VM file
 * text whose keys are added to, or replace, the defaults). */
static QlVmConfig *
load_config (Fixture    *f,
             const char *name,
             const char *extra,
             gboolean    host_checks)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GKeyFile) more = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *qmp = qmp_path (f, name);
  g_autofree char *text = NULL;
  g_auto(GStrv) groups = NULL;
  QlVmConfig *config;

  g_key_file_set_value (kf, "vm", "name", name);
  g_key_file_set_value (kf, "machine", "type", "q35");
  g_key_file_set_value (kf, "machine", "acceleration", "tcg");
  g_key_file_set_value (kf, "memory", "size", "64M");
  g_key_file_set_value (kf, "knobs", "no-defaults", "true");
  g_key_file_set_value (kf, "knobs", "no-user-config", "true");
  g_key_file_set_value (kf, "knobs", "no-graphic", "true");
  g_key_file_set_value (kf, "knobs", "stopped", "true");
  g_key_file_set_value (kf, "qmp control", "path", qmp);
  if (extra != NULL)
    {
      g_key_file_load_from_data (more, extra, -1, G_KEY_FILE_NONE, &error);
      g_assert_no_error (error);
      groups = g_key_file_get_groups (more, NULL);
      for (guint i = 0; groups[i] != NULL; i++)
        {
          g_auto(GStrv) keys = g_key_file_get_keys (more, groups[i], NULL, NULL);

          for (guint j = 0; keys[j] != NULL; j++)
            {
              g_autofree char *value = g_key_file_get_value (more, groups[i], keys[j], NULL);

              g_key_file_set_value (kf, groups[i], keys[j], value);
            }
        }
    }
  text = g_key_file_to_data (kf, NULL, NULL);
  config = ql_vm_config_new_from_data (text, -1, "test.vm", f->dir, f->registry, &error);
  g_assert_no_error (error);
  if (!host_checks)
    ql_vm_config_set_host_probe (config, NULL);
  return config;
}

static QlVm *
new_vm (Fixture    *f,
        const char *name,
        const char *extra)
{
  g_autoptr(QlVmConfig) config = load_config (f, name, extra, TRUE);
  QlVm *vm = ql_vm_new (config);

  ql_test_vm_guard (vm);
  return vm;
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
  gint64 time;
} Result;

static void
launched_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  r->ok = ql_vm_launch_finish (QL_VM (source), result, &r->error);
  r->time = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
waited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Result *r = user_data;

  r->ok = ql_vm_wait_finish (QL_VM (source), result, &r->error);
  r->time = g_get_monotonic_time ();
  r->done = TRUE;
}

/* Connects to the VM's QMP socket while iterating the main context (QEMU's
 * stderr keeps being read); fails with QEMU's stderr when QEMU ended. */
static QlTestQmp *
qmp_connect (Fixture    *f,
             QlVm       *vm,
             const char *name)
{
  g_autofree char *path = qmp_path (f, name);
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (ql_vm_get_state (vm) != QL_VM_STATE_RUNNING)
        g_error ("QEMU ended before its QMP socket appeared: %s", ql_vm_get_stderr (vm));
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      ql_test_spin (10);
    }
  {
    g_autoptr(GError) error = NULL;
    QlTestQmp *qmp = ql_test_qmp_connect (path, 30000, &error);

    if (qmp == NULL)
      g_error ("QMP: %s; QEMU stderr: %s", error->message, ql_vm_get_stderr (vm));
    return qmp;
  }
}

static char *
qmp_status (QlTestQmp *qmp)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ql_test_qmp_execute (qmp, "query-status", NULL, &error);

  g_assert_no_error (error);
  return g_strdup (json_object_get_string_member (json_node_get_object (reply), "status"));
}

/* waitpid says it is not our child (reaped), and it is not running. */
static void
assert_process_gone (GPid pid)
{
  g_autofree char *proc = g_strdup_printf ("/proc/%d", (int) pid);
  int status;

  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (waitpid (pid, &status, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
  g_assert_false (g_file_test (proc, G_FILE_TEST_EXISTS));
}

static guint
count_own_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;
}

/* fd number -> link target of every descriptor of @pid. */
static GHashTable *
fds_of (GPid pid)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  GHashTable *fds = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (dir_path, name, NULL);
      char *target = g_file_read_link (link, NULL);

      if (target != NULL)
        g_hash_table_insert (fds, GINT_TO_POINTER (atoi (name)), target);
    }
  return fds;
}

/* Cancels the VM's wait; asserts it ends within @grace_ms, cancelled,
 * EXITED, reaped. */
static void
cancel_vm (QlVm  *vm,
           guint  grace_ms)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result waited = { 0 };
  GPid pid = ql_vm_get_pid (vm);
  gint64 start;

  ql_vm_set_grace_period (vm, grace_ms);
  ql_vm_wait_async (vm, cancellable, waited_cb, &waited);
  ql_test_spin (20);
  g_assert_false (waited.done);
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  ql_test_run_until (&waited.done, grace_ms + 10000);
  g_test_message ("QEMU ended %" G_GINT64_FORMAT " ms after the cancellation (grace %u ms); stderr: %s",
                  (waited.time - start) / 1000, grace_ms, ql_vm_get_stderr (vm));
  g_assert_error (waited.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&waited.error);
  g_assert_cmpint ((waited.time - start) / 1000, <, grace_ms);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  /* QEMU handles SIGTERM: a clean exit, and it says why. */
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 0);
  g_assert_nonnull (strstr (ql_vm_get_stderr (vm), "terminating on signal 15"));
  assert_process_gone (pid);
}

static void
test_run_and_cancel (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, "qlrun", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autofree char *status = NULL;
  g_autofree char *name = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *cmdline_path = NULL;
  g_autofree char *cmdline = NULL;
  gsize cmdline_len;

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);
  qmp = qmp_connect (f, vm, "qlrun");
  status = qmp_status (qmp);
  g_assert_cmpstr (status, ==, "prelaunch");
  reply = ql_test_qmp_execute (qmp, "query-name", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "name"), ==, "qlrun");

  /* The pid is QEMU's. */
  cmdline_path = g_strdup_printf ("/proc/%d/cmdline", (int) ql_vm_get_pid (vm));
  g_assert_true (g_file_get_contents (cmdline_path, &cmdline, &cmdline_len, NULL));
  g_assert_true (g_str_has_suffix (cmdline, "qemu-system-x86_64"));
  g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "");

  cancel_vm (vm, 5000);
}

static void
test_stop_then_wait (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, "qlstop", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  GPid pid;

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  qmp = qmp_connect (f, vm, "qlstop");
  pid = ql_vm_get_pid (vm);
  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  assert_process_gone (pid);
}

static void
test_quit_over_qmp (Fixture       *f,
                    gconstpointer  data)
{
  /* QEMU that ends by itself with status 0: EXITED, wait succeeds. */
  g_autoptr(QlVm) vm = new_vm (f, "qlquit", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(JsonNode) reply = NULL;

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  qmp = qmp_connect (f, vm, "qlquit");
  reply = ql_test_qmp_execute (qmp, "quit", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 0);
  g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "");
}

/* QEMU's seccomp filter by default: Seccomp: 2 once QMP answers. A
 * daemonizing QEMU forks and calls setsid: spawn and elevateprivileges are
 * allowed for it (a note on the command line says so), the rest of the
 * filter stays on and the daemon runs under it; with
 * sandbox-elevate-privileges = deny the VM is refused before QEMU starts. */
static void
test_sandbox (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pid_file = g_build_filename (f->dir, "qld.pid", NULL);
  g_autofree char *daemon_keys = g_strdup_printf ("[vm]\npid-file = %s\n[knobs]\ndaemonize = true\n", pid_file);
  g_autofree char *denied_keys = g_strconcat (daemon_keys, "sandbox-elevate-privileges = deny\n", NULL);

  {
    g_autoptr(QlVm) vm = new_vm (f, "qlsbx", NULL);
    g_autoptr(QlTestQmp) qmp = NULL;
    g_autofree char *status = NULL;
    g_autofree char *args = NULL;

    g_assert_true (ql_vm_launch (vm, NULL, &error));
    g_assert_no_error (error);
    qmp = qmp_connect (f, vm, "qlsbx");
    status = qmp_status (qmp);
    g_assert_cmpstr (status, ==, "prelaunch");
    args = ql_test_process_args (ql_vm_get_pid (vm));
    g_assert_nonnull (args);
    g_test_message ("QEMU pid %d: Seccomp %d: %s", (int) ql_vm_get_pid (vm),
                    ql_test_seccomp_mode (ql_vm_get_pid (vm)), args);
    g_assert_cmpint (ql_test_seccomp_mode (ql_vm_get_pid (vm)), ==, 2);
    g_assert_nonnull (strstr (args, " -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny "));
    cancel_vm (vm, 5000);
  }
  {
    g_autoptr(QlVmConfig) config = load_config (f, "qld", daemon_keys, TRUE);
    g_autoptr(QlCmdline) cl = ql_vm_config_build_cmdline (config, &error);
    g_autoptr(QlVm) vm = NULL;
    g_autoptr(QlTestQmp) qmp = NULL;
    g_autoptr(JsonNode) reply = NULL;
    g_autofree char *status = NULL;
    g_autofree char *args = NULL;
    const char * const *notes;
    GPid pid;

    g_assert_no_error (error);
    notes = ql_cmdline_get_notes (cl);
    g_assert_nonnull (notes[0]);
    g_assert_true (g_str_has_prefix (notes[0], "[knobs] sandbox-elevate-privileges: allowed for this VM"));
    g_assert_nonnull (notes[1]);
    g_assert_true (g_str_has_prefix (notes[1], "[knobs] sandbox-spawn: allowed for this VM"));
    vm = ql_vm_new (config);
    ql_test_vm_guard (vm);
    g_assert_true (ql_vm_launch (vm, NULL, &error));
    g_assert_no_error (error);
    pid = ql_vm_get_pid (vm);
    qmp = qmp_connect (f, vm, "qld");
    status = qmp_status (qmp);
    g_assert_cmpstr (status, ==, "prelaunch");
    args = ql_test_process_args (pid);
    g_assert_nonnull (args);
    g_test_message ("daemon pid %d: Seccomp %d: %s", (int) pid, ql_test_seccomp_mode (pid), args);
    g_assert_cmpint (ql_test_seccomp_mode (pid), ==, 2);
    g_assert_nonnull (strstr (args, " -sandbox on,obsolete=deny,elevateprivileges=allow,spawn=allow,resourcecontrol=deny "));
    reply = ql_test_qmp_execute (qmp, "quit", NULL, &error);
    g_assert_no_error (error);
    g_assert_true (ql_vm_wait (vm, NULL, &error));
    g_assert_no_error (error);
    /* Not our child: init reaps it. */
    {
      g_autofree char *proc = g_strdup_printf ("/proc/%d", (int) pid);
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      while (g_file_test (proc, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
        g_usleep (10 * 1000);
      g_assert_false (g_file_test (proc, G_FILE_TEST_EXISTS));
    }
  }
  {
    g_autoptr(QlVmConfig) config = load_config (f, "qldeny", denied_keys, TRUE);
    g_autoptr(QlVm) vm = ql_vm_new (config);

    ql_test_vm_guard (vm);
    g_assert_false (ql_vm_launch (vm, NULL, &error));
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
    g_assert_nonnull (strstr (error->message, "[knobs] sandbox-elevate-privileges: deny, but [knobs] daemonize"));
    g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
  }
}

/* Launch succeeds (QEMU is spawned), then QEMU fails: the wait's error
 * holds QEMU's message. */
static void
assert_qemu_fails (QlVm       *vm,
                   const char *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_test_message ("error: %s", error != NULL ? error->message : "(none)");
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
  g_assert_nonnull (strstr (error->message, "exited with status 1"));
  g_assert_nonnull (strstr (error->message, message));
  g_assert_nonnull (strstr (ql_vm_get_stderr (vm), message));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 1);
  assert_process_gone (ql_vm_get_pid (vm));
}

static void
test_bad_global (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, "qlglobal", "[vm]\nglobal = ICH9-LPC.noreboot=maybe\n");

  assert_qemu_fails (vm, "can't apply global ICH9-LPC.noreboot=maybe");
}

/* The launch checks the VM against the probed binary by default, as
 * `qlaunch run` does: a machine type QEMU 7.2 lacks is refused with what
 * it offers, before QEMU runs; with the check off, QEMU itself refuses it. */
static void
test_caps_checked (Fixture       *f,
                   gconstpointer  data)
{
  const char *extra = "[machine]\ntype = pc-q35-99.0\n";
  g_autoptr(QlVm) vm = new_vm (f, "qlcaps", extra);
  g_autoptr(QlVm) unchecked = new_vm (f, "qlcaps", extra);
  g_autoptr(GError) error = NULL;

  g_assert_true (ql_vm_get_check_qemu (vm));
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_test_message ("error: %s", error->message);
  g_assert_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_INCOMPATIBLE);
  g_assert_nonnull (strstr (error->message, "pc-q35-99.0"));
  g_assert_nonnull (strstr (error->message, "pc-q35-7.2"));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
  g_assert_cmpint (ql_vm_get_pid (vm), ==, 0);

  ql_vm_set_check_qemu (unchecked, FALSE);
  g_assert_false (ql_vm_get_check_qemu (unchecked));
  assert_qemu_fails (unchecked, "unsupported machine type");
}

/* Checked by default, plugins see the machine type the binary resolves
 * (q35 is pc-q35-7.2 on QEMU 7.2), and the binary's capabilities are on
 * the configuration. */
static void
test_caps_resolved_machine (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, "qlmachine", NULL);
  QlVmConfig *config = ql_vm_get_config (vm);
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autofree char *status = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (ql_vm_config_get_qemu_caps (config));
  g_assert_cmpstr (ql_vm_config_resolve_machine_type (config), ==, "q35");
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (ql_vm_config_get_qemu_caps (config));
  g_assert_cmpstr (ql_vm_config_resolve_machine_type (config), ==, "pc-q35-7.2");
  qmp = qmp_connect (f, vm, "qlmachine");
  status = qmp_status (qmp);
  g_assert_cmpstr (status, ==, "prelaunch");
  ql_vm_stop (vm);
  ql_vm_wait (vm, NULL, NULL);
  g_assert_cmpint (ql_vm_get_state (vm), !=, QL_VM_STATE_RUNNING);
}

static void
test_missing_kernel (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *kernel = g_build_filename (f->dir, "no-such-vmlinuz", NULL);
  g_autofree char *extra = g_strdup_printf ("[kernel]\npath = %s\n", kernel);
  g_autoptr(QlVmConfig) config = load_config (f, "qlkernel", extra, FALSE);
  g_autoptr(QlVm) vm = ql_vm_new (config);

  ql_test_vm_guard (vm);
  assert_qemu_fails (vm, "could not open kernel file");
}

static void
test_missing_kernel_host_checks (Fixture       *f,
                                 gconstpointer  data)
{
  /* With host checks on, qlaunch refuses it before QEMU runs. */
  g_autofree char *kernel = g_build_filename (f->dir, "no-such-vmlinuz", NULL);
  g_autofree char *extra = g_strdup_printf ("[kernel]\npath = %s\n", kernel);
  g_autoptr(QlVm) vm = new_vm (f, "qlkernel", extra);
  g_autoptr(GError) error = NULL;

  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
}

/* A tap device "ql..." with a vnet header, as libvirt opens it. */
static int
open_tap (char *name_out)
{
  struct ifreq ifr = { 0 };
  int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return -1;
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  g_strlcpy (ifr.ifr_name, "qltap%d", IFNAMSIZ);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    {
      close (fd);
      return -1;
    }
  g_strlcpy (name_out, ifr.ifr_name, IFNAMSIZ);
  return fd;
}

static void
test_tap_fd (Fixture       *f,
             gconstpointer  data)
{
  char tap_name[IFNAMSIZ] = "";
  g_autofree char *sys_path = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *file_path = g_build_filename (f->dir, "not-passed", NULL);
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(GHashTable) qemu_fds = NULL;
  g_autoptr(GHashTable) own_fds = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) reply = NULL;
  GHashTableIter iter;
  gpointer key, value;
  int tap_fd, extra_pipe[2], sv[2], file_fd;

  tap_fd = open_tap (tap_name);
  if (tap_fd < 0)
    {
      g_test_skip_printf ("cannot create a tap device: %s (needs root and /dev/net/tun)", g_strerror (errno));
      return;
    }
  sys_path = g_strdup_printf ("/sys/class/net/%s", tap_name);
  g_assert_true (g_file_test (sys_path, G_FILE_TEST_EXISTS));
  /* Descriptors of ours that must not reach QEMU. */
  g_assert_cmpint (pipe (extra_pipe), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
  file_fd = open (file_path, O_RDWR | O_CREAT, 0600);
  g_assert_cmpint (file_fd, >=, 0);

  extra = g_strdup_printf ("[device net0]\ntype = net\nnet-type = tap\nfds = %d\n"
                           "mac-address = 02:00:ca:fe:00:42\n", tap_fd);
  vm = new_vm (f, "qltap", extra);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  qmp = qmp_connect (f, vm, "qltap");

  /* QEMU runs the tap it was given. */
  json_object_set_string_member (args, "command-line", "info network");
  reply = ql_test_qmp_execute (qmp, "human-monitor-command", args, &error);
  g_assert_no_error (error);
  g_test_message ("info network: %s", json_node_get_string (reply));
  g_assert_nonnull (strstr (json_node_get_string (reply), "net0: index=0,type=tap,fd=3"));
  g_assert_nonnull (strstr (json_node_get_string (reply), "02:00:ca:fe:00:42"));

  /* fd 3 is the tun device; nothing of ours but it reached QEMU above the
   * standard descriptors (0-2 are /dev/null and our stderr pipe, whose
   * read end we hold). Pipes, sockets and files are unique objects;
   * anonymous inodes such as eventfds are not, and are left out. */
  qemu_fds = fds_of (ql_vm_get_pid (vm));
  own_fds = fds_of (getpid ());
  g_assert_cmpstr (g_hash_table_lookup (qemu_fds, GINT_TO_POINTER (3)), ==, "/dev/net/tun");
  g_hash_table_iter_init (&iter, own_fds);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      int fd = GPOINTER_TO_INT (key);
      const char *target = value;
      GHashTableIter qiter;
      gpointer qkey, qvalue;

      if (fd <= 2 || fd == tap_fd || g_str_has_prefix (target, "anon_inode:"))
        continue;
      if (g_str_equal (target, "/dev/null") || g_str_has_prefix (target, "/dev/pts") || g_str_equal (target, "/dev/net/tun"))
        continue;
      g_hash_table_iter_init (&qiter, qemu_fds);
      while (g_hash_table_iter_next (&qiter, &qkey, &qvalue))
        if (GPOINTER_TO_INT (qkey) > 2 && g_str_equal (qvalue, target))
          g_error ("our fd %d (%s) leaked into QEMU as fd %d", fd, target, GPOINTER_TO_INT (qkey));
    }
  /* Only one tun descriptor in QEMU: the one passed. */
  {
    guint n_tun = 0;

    g_hash_table_iter_init (&iter, qemu_fds);
    while (g_hash_table_iter_next (&iter, &key, &value))
      n_tun += g_str_equal (value, "/dev/net/tun");
    g_assert_cmpuint (n_tun, ==, 1);
  }

  cancel_vm (vm, 5000);
  /* Our descriptor is still ours; closing it removes the tap. */
  g_assert_cmpint (fcntl (tap_fd, F_GETFD), !=, -1);
  close (tap_fd);
  g_assert_false (g_file_test (sys_path, G_FILE_TEST_EXISTS));
  close (extra_pipe[0]);
  close (extra_pipe[1]);
  close (sv[0]);
  close (sv[1]);
  close (file_fd);
}

typedef struct
{
  QlVm *vm;
  Result launched;
  Result waited;
  GPid pid;
  char name[16];
} Many;

static void
test_concurrent (Fixture       *f,
                 gconstpointer  data)
{
  enum { N = 20 };
  Many vms[N];
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint fds_before;
  gint64 start;
  gboolean all;

  memset (vms, 0, sizeof vms);
  /* GLib opens some descriptors of its own at the first spawn (child
   * watch, worker thread): let it, before counting. */
  {
    const char *argv[] = { "true", NULL };
    g_autoptr(GSubprocess) warm = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, NULL);

    g_assert_nonnull (warm);
    g_assert_true (g_subprocess_wait (warm, NULL, NULL));
  }
  ql_test_spin (50);
  fds_before = count_own_fds ();
  start = g_get_monotonic_time ();
  for (guint i = 0; i < N; i++)
    {
      g_snprintf (vms[i].name, sizeof vms[i].name, "qlmany%02u", i);
      vms[i].vm = new_vm (f, vms[i].name, NULL);
      ql_vm_launch_async (vms[i].vm, NULL, launched_cb, &vms[i].launched);
    }
  do
    {
      all = TRUE;
      g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < N; i++)
        all = all && vms[i].launched.done;
    }
  while (!all);

  /* Each one is up: RUNNING, and answering on its QMP socket. */
  for (guint i = 0; i < N; i++)
    {
      g_autoptr(QlTestQmp) qmp = NULL;
      g_autofree char *status = NULL;

      g_assert_no_error (vms[i].launched.error);
      g_assert_cmpint (ql_vm_get_state (vms[i].vm), ==, QL_VM_STATE_RUNNING);
      vms[i].pid = ql_vm_get_pid (vms[i].vm);
      qmp = qmp_connect (f, vms[i].vm, vms[i].name);
      status = qmp_status (qmp);
      g_assert_cmpstr (status, ==, "prelaunch");
    }
  g_test_message ("20 VMs up (QMP answered) %" G_GINT64_FORMAT " ms after the first launch",
                  (g_get_monotonic_time () - start) / 1000);

  for (guint i = 0; i < N; i++)
    ql_vm_wait_async (vms[i].vm, cancellable, waited_cb, &vms[i].waited);
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  do
    {
      all = TRUE;
      g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < N; i++)
        all = all && vms[i].waited.done;
      g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
    }
  while (!all);
  g_test_message ("20 VMs stopped %" G_GINT64_FORMAT " ms after the cancellation",
                  (g_get_monotonic_time () - start) / 1000);

  for (guint i = 0; i < N; i++)
    {
      g_assert_error (vms[i].waited.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&vms[i].waited.error);
      g_assert_cmpint (ql_vm_get_state (vms[i].vm), ==, QL_VM_STATE_EXITED);
      assert_process_gone (vms[i].pid);
      g_clear_object (&vms[i].vm);
    }
  ql_test_spin (50);
  g_assert_cmpuint (count_own_fds (), ==, fds_before);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *qemu = NULL;

  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();

  qemu = g_find_program_in_path ("qemu-system-x86_64");
  if (qemu == NULL)
    {
      g_test_skip ("qemu-system-x86_64 is not installed");
      return g_test_run ();
    }

#define ADD(path, func) \
  g_test_add ("/launcher-qemu/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("run-and-cancel", test_run_and_cancel);
  ADD ("stop-then-wait", test_stop_then_wait);
  ADD ("quit-over-qmp", test_quit_over_qmp);
  ADD ("bad-global", test_bad_global);
  ADD ("caps-checked", test_caps_checked);
  ADD ("caps-resolved-machine", test_caps_resolved_machine);
  ADD ("missing-kernel", test_missing_kernel);
  ADD ("missing-kernel-host-checks", test_missing_kernel_host_checks);
  ADD ("tap-fd", test_tap_fd);
  ADD ("concurrent-20", test_concurrent);
  ADD ("sandbox", test_sandbox);

  return g_test_run ();
}
