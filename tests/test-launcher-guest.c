/* Suite guest: boot the test guest (tests/guest/) through QlVm, as
 * `qlaunch run` does, to its ready marker.
 *
 * The VM file cannot name a `-serial`; the guest console is QEMU's default
 * serial port instead: the no-graphic knob without no-defaults puts it on
 * QEMU's stdout (multiplexed with the monitor), which QlVm sends to a pipe
 * the test reads (ql_vm_set_stdout_fd()). The guest's init runs the
 * `ready` check: prints QLTEST-READY, QLTEST-PASS ready, and powers off, so
 * QEMU exits by itself with status 0.
 */
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"
#include "ql-test-guest.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>

typedef struct
{
  GString *console;
  gboolean eof;
  gboolean ready;
  gboolean passed;
  gint64 ready_time;
} Console;

static void
console_read_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Console *c = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      c->eof = TRUE;
      return;
    }
  g_string_append_len (c->console, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (!c->ready && strstr (c->console->str, "QLTEST-READY") != NULL)
    {
      c->ready = TRUE;
      c->ready_time = g_get_monotonic_time ();
    }
  if (strstr (c->console->str, "QLTEST-PASS ready") != NULL)
    c->passed = TRUE;
  g_input_stream_read_bytes_async (G_INPUT_STREAM (object), 4096, G_PRIORITY_DEFAULT, NULL,
                                   console_read_cb, c);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} Result;

static void
waited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Result *r = user_data;

  r->ok = ql_vm_wait_finish (QL_VM (source), result, &r->error);
  r->done = TRUE;
}

static gboolean
cancel_cb (gpointer cancellable)
{
  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_boot_ready (void)
{
  const char *guest_dir = ql_test_guest_dir ();
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GCancellable) timeout = g_cancellable_new ();
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;
  Console console = { g_string_new (NULL), FALSE, FALSE, FALSE, 0 };
  Result waited = { 0 };
  gint64 start;
  guint timeout_id;
  GPid pid;
  int p[2];

  if (guest_dir == NULL)
    {
      g_test_fail_printf ("no test guest in QLAUNCH_GUEST_DIR='%s': build it with `meson compile -C BUILDDIR guest`",
                          g_getenv ("QLAUNCH_GUEST_DIR") ? g_getenv ("QLAUNCH_GUEST_DIR") : "");
      return;
    }

  dir = ql_test_make_tmpdir ();
  text = g_strdup_printf ("[vm]\nname = qlboot\n"
                          "[machine]\ntype = q35\nacceleration = tcg\n"
                          "[memory]\nsize = 256M\n"
                          "[knobs]\nno-user-config = true\nno-graphic = true\n"
                          "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                          "params = " QL_TEST_GUEST_PARAMS " qltest=ready\n",
                          guest_dir, guest_dir);
  registry = ql_test_registry_new ();
  config = ql_vm_config_new_from_data (text, -1, "boot.vm", dir, registry, &error);
  g_assert_no_error (error);   /* host checks on: the kernel files exist */
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);

  g_assert_cmpint (pipe (p), ==, 0);
  ql_vm_set_stdout_fd (vm, p[1]);
  close (p[1]);
  stream = g_unix_input_stream_new (p[0], TRUE);
  g_input_stream_read_bytes_async (stream, 4096, G_PRIORITY_DEFAULT, NULL, console_read_cb, &console);

  start = g_get_monotonic_time ();
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  pid = ql_vm_get_pid (vm);

  /* At most 120 s: then the VM is stopped and the test fails. */
  timeout_id = g_timeout_add_seconds (120, cancel_cb, timeout);
  ql_vm_wait_async (vm, timeout, waited_cb, &waited);
  while (!waited.done || !console.eof)
    g_main_context_iteration (NULL, TRUE);
  if (!g_cancellable_is_cancelled (timeout))
    g_source_remove (timeout_id);

  g_test_message ("QEMU ran %.1f s; the guest was ready after %.1f s",
                  (g_get_monotonic_time () - start) / 1e6,
                  console.ready ? (console.ready_time - start) / 1e6 : -1.0);
  if (!console.passed)
    g_test_message ("console:\n%s\nQEMU stderr:\n%s", console.console->str, ql_vm_get_stderr (vm));
  g_assert_no_error (waited.error);
  g_assert_true (waited.ok);
  g_assert_true (console.ready);
  g_assert_true (console.passed);
  /* The guest powered off: QEMU exited by itself, status 0. */
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 0);
  g_assert_cmpint (waitpid (pid, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);

  g_string_free (console.console, TRUE);
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();
  g_test_add_func ("/launcher-guest/boot-ready", test_boot_ready);
  return g_test_run ();
}
