/* Suite qemu: QlVm's lifecycle over QMP with the real qemu-system-x86_64
 * (TCG): ready when QMP answers, run state from events, pause/resume,
 * graceful shutdown escalating from powerdown to quit to signals, and a
 * QEMU that dies before QMP answers.
 *
 * The VMs have no guest (-S, no kernel): an ACPI power button press goes
 * unanswered, which is exactly what makes ql_vm_shutdown() escalate.
 */
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"

#include <signal.h>
#include <string.h>

typedef struct
{
  QlRegistry *registry;
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  (void) data;
  f->registry = ql_test_registry_new ();
  f->dir = ql_test_make_tmpdir ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  (void) data;
  ql_test_rm_rf (f->dir);
  g_free (f->dir);
  g_object_unref (f->registry);
}

/* @vm_extra: more lines of the [vm] group. */
static QlVm *
new_vm (Fixture    *f,
        const char *name,
        const char *vm_extra)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autofree char *text = g_strdup_printf (
    "[vm]\nname=%s\n%s"
    "[machine]\ntype=pc\nacceleration=tcg\n"
    "[memory]\nsize=64M\n"
    "[knobs]\nno-defaults=true\nno-user-config=true\nno-graphic=true\nstopped=true\n"
    "[qmp control]\npath=%s/%s.qmp\n",
    name, vm_extra != NULL ? vm_extra : "", f->dir, name);
  QlVm *vm;

  config = ql_vm_config_new_from_data (text, -1, "lifecycle.vm", f->dir, f->registry, &error);
  g_assert_no_error (error);
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);
  return vm;
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              GPtrArray  *seen)
{
  (void) pspec;
  g_ptr_array_add (seen, g_strdup (ql_vm_get_run_state (QL_VM (object))));
}

static void
test_ready_pause_resume (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, "qllife", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  QlVmShutdownMethod method = QL_VM_SHUTDOWN_KILLED;
  guint major = 0;

  (void) data;
  /* Before the launch: no QMP, a clear error. */
  g_assert_false (ql_vm_pause (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE);
  g_clear_error (&error);

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_connect_qmp (vm, 10000, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (ql_vm_get_qmp (vm));
  g_assert_true (ql_qmp_get_qemu_version (ql_vm_get_qmp (vm), &major, NULL, NULL));
  g_assert_cmpuint (major, >=, 7);
  g_assert_cmpstr (ql_vm_get_run_state (vm), ==, "prelaunch");

  g_signal_connect (vm, "notify::run-state", G_CALLBACK (count_notify), seen);
  g_assert_true (ql_vm_resume (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ql_vm_get_run_state (vm), ==, "running");
  g_assert_true (ql_vm_pause (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ql_vm_get_run_state (vm), ==, "paused");
  g_assert_cmpuint (seen->len, ==, 2);

  /* A stop not made through the VM: the state follows QEMU's STOP event,
   * which arrives after the reply. */
  g_assert_true (ql_vm_resume (vm, NULL, &error));
  g_assert_cmpstr (ql_vm_get_run_state (vm), ==, "running");
  {
    g_autoptr(JsonNode) ret = ql_qmp_execute (ql_vm_get_qmp (vm), "stop", NULL, NULL, &error);
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    g_assert_no_error (error);
    while (g_strcmp0 (ql_vm_get_run_state (vm), "paused") != 0 && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpstr (ql_vm_get_run_state (vm), ==, "paused");
  }

  /* No guest answers the power button: powerdown times out, quit ends it. */
  g_assert_true (ql_vm_shutdown (vm, 300, &method, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (method, ==, QL_VM_SHUTDOWN_QUIT);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 0);

  /* Again: nothing left to do. */
  g_assert_true (ql_vm_shutdown (vm, 300, &method, NULL, &error));
  g_assert_cmpint (method, ==, QL_VM_SHUTDOWN_ALREADY_EXITED);
}

static void
test_shutdown_without_qmp (Fixture       *f,
                           gconstpointer  data)
{
  /* Never connected: signals it is (after SIGTERM QEMU exits). */
  g_autoptr(QlVm) vm = new_vm (f, "qlnoqmp", NULL);
  g_autoptr(GError) error = NULL;
  QlVmShutdownMethod method = QL_VM_SHUTDOWN_ALREADY_EXITED;

  (void) data;
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_true (ql_vm_shutdown (vm, 1000, &method, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (method, ==, QL_VM_SHUTDOWN_KILLED);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
}

static void
test_qemu_dies_before_qmp (Fixture       *f,
                           gconstpointer  data)
{
  /* QEMU refuses an unknown CPU model at start-up: connect fails at once with its
   * message, long before the 20 s timeout. */
  g_autoptr(QlVm) vm = new_vm (f, "qldies", "cpu-model=no-such-cpu\n");
  g_autoptr(GError) error = NULL;
  gint64 start;

  (void) data;
  ql_vm_config_set_host_probe (ql_vm_get_config (vm), NULL);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  start = g_get_monotonic_time ();
  g_assert_false (ql_vm_connect_qmp (vm, 20000, NULL, &error));
  g_test_message ("error after %.2f s: %s", (g_get_monotonic_time () - start) / 1e6, error->message);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
  g_assert_nonnull (strstr (error->message, "no-such-cpu"));
}

static void
test_no_qmp_socket (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;

  (void) data;
  config = ql_vm_config_new_from_data ("[machine]\ntype=pc\nacceleration=tcg\n"
                                       "[knobs]\nno-defaults=true\nstopped=true\nno-graphic=true\n",
                                       -1, "noqmp.vm", f->dir, f->registry, &error);
  g_assert_no_error (error);
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_false (ql_vm_connect_qmp (vm, 1000, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE);
  g_assert_nonnull (strstr (error->message, "[qmp]"));
  g_clear_error (&error);
  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");

  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();
  if (qemu == NULL)
    {
      g_test_skip ("no qemu-system-x86_64");
      return g_test_run ();
    }
#define ADD(path, func) \
  g_test_add ("/vm-lifecycle/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("ready-pause-resume-shutdown", test_ready_pause_resume);
  ADD ("shutdown-without-qmp", test_shutdown_without_qmp);
  ADD ("qemu-dies-before-qmp", test_qemu_dies_before_qmp);
  ADD ("no-qmp-socket", test_no_qmp_socket);
  return g_test_run ();
}
