/* qlaunch tests — boot the test guest with the argv `qlaunch args` builds. */
#include "ql-test-guest.h"
#include "ql-test-proc.h"
#include "ql-test-util.h"

#include <json-glib/json-glib.h>
#include <gio/gunixsocketaddress.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define GRACE_AFTER_MARKER_US (15 * G_USEC_PER_SEC)
#define DRAIN_AFTER_KILL_US   (5 * G_USEC_PER_SEC)
#define SHELL_PROMPT          "QLTEST-SHELL"
#define SHELL_DONE            "QLTEST-DONE "

struct _QlTestGuest
{
  char *work_dir;
  char *vm_text;
  char *check;
  char *check_args;
  guint timeout_s;
  GPtrArray *qemu_args;       /* extra QEMU arguments, appended last */
  GPtrArray *run_args;        /* non-NULL: launched through `qlaunch run` */
  GPid pid;

  char *full_vm_text;
  char *qmp_path;
  GSubprocess *qemu;
  gboolean waited;
  QlTestGuestResult *result;

  /* QEMU's output, read from ql_test_guest_start() until QEMU is reaped:
   * the reads run in @context, iterated (as the thread default) only
   * inside this file's calls. */
  GMainContext *context;
  GCancellable *cancellable;
  GSource *tick;
  QlTestProcReader out;
  QlTestProcReader err;
  gboolean exited;
  gboolean io_done;
  gint64 start_time;
  /* The shell: the bytes of out.buf already consumed (prompts, command
   * outputs), and whether the guest waits for a line. */
  gsize shell_pos;
  gboolean at_prompt;
};

const char *
ql_test_guest_status_name (QlTestGuestStatus status)
{
  switch (status)
    {
    case QL_TEST_GUEST_PASS: return "PASS";
    case QL_TEST_GUEST_FAIL: return "FAIL";
    case QL_TEST_GUEST_TIMEOUT: return "TIMEOUT";
    case QL_TEST_GUEST_NO_RESULT: return "NO-RESULT";
    case QL_TEST_GUEST_LAUNCH_ERROR: return "LAUNCH-ERROR";
    default: return "?";
    }
}

const char *
ql_test_guest_dir (void)
{
  const char *dir = g_getenv ("QLAUNCH_GUEST_DIR");
  g_autofree char *kernel = NULL;
  g_autofree char *initrd = NULL;

  if (dir == NULL || *dir == '\0')
    return NULL;
  kernel = g_build_filename (dir, "vmlinux", NULL);
  initrd = g_build_filename (dir, "initramfs.img", NULL);
  if (!g_file_test (kernel, G_FILE_TEST_IS_REGULAR) || !g_file_test (initrd, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return dir;
}

gboolean
ql_test_guest_breaking (const char *name)
{
  const char *env = g_getenv ("QLAUNCH_GUEST_BREAK");
  g_auto(GStrv) names = NULL;

  if (env == NULL)
    return FALSE;
  names = g_strsplit (env, ",", -1);
  if (!g_strv_contains ((const char * const *) names, name))
    return FALSE;
  g_test_message ("QLAUNCH_GUEST_BREAK: '%s' is broken on purpose: the test must fail", name);
  return TRUE;
}

gboolean
ql_test_skip_without_guest (void)
{
  if (ql_test_guest_dir () != NULL)
    return FALSE;
  g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
  return TRUE;
}

static void
child_setup (gpointer data)
{
  /* The child dies with the test, even when an assertion aborts it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

GSubprocess *
ql_test_spawn (const char * const *argv,
               GSubprocessFlags    flags,
               GError            **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

gboolean
ql_test_run (const char * const *argv,
             GError            **error)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *err = NULL;

  proc = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (proc == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, error))
    return FALSE;
  if (!g_subprocess_get_successful (proc))
    {
      g_autofree char *cmd = g_strjoinv (" ", (char **) argv);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s' failed: %s", cmd, err);
      return FALSE;
    }
  return TRUE;
}

GSocket *
ql_test_unix_connect (const char  *path,
                      guint        timeout_ms,
                      GError     **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_DEFAULT, error);

      if (socket == NULL)
        return NULL;
      if (g_socket_connect (socket, address, NULL, &local_error))
        return g_steal_pointer (&socket);
      if (g_get_monotonic_time () >= deadline)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "cannot connect to '%s' in %u ms: ", path, timeout_ms);
          return NULL;
        }
      g_usleep (10 * 1000);
    }
}

char *
ql_test_socket_read_all (GSocket *socket,
                         guint    timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GString *s = g_string_new (NULL);

  for (;;)
    {
      char buf[4096];
      gssize n;
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;

      if (left <= 0)
        break;
      if (!g_socket_condition_timed_wait (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, left * 1000, NULL, NULL))
        break;
      n = g_socket_receive (socket, buf, sizeof buf, NULL, NULL);
      if (n <= 0)
        break;
      g_string_append_len (s, buf, n);
    }
  return g_string_free (s, FALSE);
}

QlTestGuest *
ql_test_guest_new (const char *work_dir,
                   const char *vm_text,
                   const char *check,
                   const char *check_args)
{
  QlTestGuest *guest = g_new0 (QlTestGuest, 1);

  guest->work_dir = g_strdup (work_dir);
  guest->vm_text = g_strdup (vm_text);
  guest->check = g_strdup (check);
  guest->check_args = g_strdup (check_args);
  guest->timeout_s = 60;
  guest->qemu_args = g_ptr_array_new_with_free_func (g_free);
  guest->result = g_new0 (QlTestGuestResult, 1);
  return guest;
}

void
ql_test_guest_add_qemu_args (QlTestGuest        *guest,
                             const char * const *args)
{
  g_return_if_fail (guest->qemu == NULL);

  for (; args != NULL && *args != NULL; args++)
    g_ptr_array_add (guest->qemu_args, g_strdup (*args));
}

static void io_iterate_nonblocking (QlTestGuest *guest);
static void io_iterate (QlTestGuest *guest);

void
ql_test_guest_use_run (QlTestGuest        *guest,
                       const char * const *run_args)
{
  g_return_if_fail (guest->qemu == NULL);

  guest->run_args = g_ptr_array_new_with_free_func (g_free);
  for (; run_args != NULL && *run_args != NULL; run_args++)
    g_ptr_array_add (guest->run_args, g_strdup (*run_args));
}

GPid
ql_test_guest_get_pid (QlTestGuest *guest)
{
  return guest->pid;
}

char *
ql_test_guest_get_stderr (QlTestGuest *guest)
{
  if (guest->context != NULL && !guest->io_done)
    io_iterate_nonblocking (guest);
  return guest->err.buf != NULL ? g_strdup (guest->err.buf->str) : g_strdup ("");
}

void
ql_test_guest_set_timeout (QlTestGuest *guest,
                           guint        seconds)
{
  guest->timeout_s = seconds;
}

const char *
ql_test_guest_get_vm_text (QlTestGuest *guest)
{
  return guest->full_vm_text;
}

const char *
ql_test_guest_get_qmp_path (QlTestGuest *guest)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  const char *text = guest->full_vm_text != NULL ? guest->full_vm_text : guest->vm_text;

  if (guest->qmp_path != NULL)
    return guest->qmp_path;
  if (!g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, NULL))
    return NULL;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *path = NULL;

      if (!g_str_has_prefix (groups[i], "qmp "))
        continue;
      path = g_key_file_get_value (kf, groups[i], "path", NULL);
      if (path == NULL)
        continue;
      if (g_path_is_absolute (path))
        guest->qmp_path = g_steal_pointer (&path);
      else
        guest->qmp_path = g_build_filename (guest->work_dir, path, NULL);
      return guest->qmp_path;
    }
  return NULL;
}

static void
launch_error (QlTestGuest *guest,
              const char  *format,
              ...) G_GNUC_PRINTF (2, 3);

static void
launch_error (QlTestGuest *guest,
              const char  *format,
              ...)
{
  va_list args;

  va_start (args, format);
  g_free (guest->result->error);
  guest->result->error = g_strdup_vprintf (format, args);
  guest->result->status = QL_TEST_GUEST_LAUNCH_ERROR;
  va_end (args);
}

static void
wait_done (GObject      *source,
           GAsyncResult *res,
           gpointer      user_data)
{
  gboolean *exited = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  *exited = TRUE;
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Starts reading QEMU's stdout and stderr and watching for its exit. */
static void
io_begin (QlTestGuest *guest)
{
  guest->context = g_main_context_new ();
  g_main_context_push_thread_default (guest->context);
  guest->cancellable = g_cancellable_new ();
  ql_test_proc_reader_start (&guest->out, g_subprocess_get_stdout_pipe (guest->qemu), guest->cancellable);
  ql_test_proc_reader_start (&guest->err, g_subprocess_get_stderr_pipe (guest->qemu), guest->cancellable);
  g_subprocess_wait_async (guest->qemu, NULL, wait_done, &guest->exited);
  guest->tick = g_timeout_source_new (50);
  g_source_set_callback (guest->tick, wake_up, NULL, NULL);
  g_source_attach (guest->tick, guest->context);
  g_main_context_pop_thread_default (guest->context);
}

/* One blocking iteration (at most 50 ms: the tick) of the guest's context. */
static void
io_iterate (QlTestGuest *guest)
{
  g_main_context_push_thread_default (guest->context);
  g_main_context_iteration (guest->context, TRUE);
  g_main_context_pop_thread_default (guest->context);
}

/* What is ready in the guest's context, without blocking. */
static void
io_iterate_nonblocking (QlTestGuest *guest)
{
  g_main_context_push_thread_default (guest->context);
  while (g_main_context_iteration (guest->context, FALSE))
    ;
  g_main_context_pop_thread_default (guest->context);
}

gboolean
ql_test_guest_wait_for_stderr (QlTestGuest *guest,
                               const char  *text,
                               guint        timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (guest->context == NULL)
    return FALSE;
  while (strstr (guest->err.buf->str, text) == NULL)
    {
      if (guest->io_done || g_get_monotonic_time () > deadline
          || (guest->exited && guest->err.eof))
        return strstr (guest->err.buf->str, text) != NULL;
      io_iterate (guest);
    }
  return TRUE;
}

/* Kills QEMU unless it exited, reaps it and stops reading. Idempotent. */
static void
io_end (QlTestGuest *guest)
{
  if (guest->context == NULL || guest->io_done)
    return;
  if (!guest->exited)
    g_subprocess_force_exit (guest->qemu);
  g_cancellable_cancel (guest->cancellable);
  while (guest->out.pending || guest->err.pending || !guest->exited)
    io_iterate (guest);
  g_source_destroy (guest->tick);
  guest->io_done = TRUE;
}

/* Whether the VM must boot the guest's bzImage (vmlinuz) rather than the
 * uncompressed kernel (vmlinux), which QEMU boots through its PVH entry
 * point, about 4 s sooner under TCG (the bzImage's decompressor runs in the
 * guest). UEFI firmware boots only the bzImage (its EFI stub). With a TPM,
 * SeaBIOS's ACPI tables (with the TPM's event log) outgrow the 160 KiB
 * QEMU 7.2's PVH loader leaves them above the initrd, which then overwrites
 * them; the option ROM that loads a bzImage places the initrd below them. */
static gboolean
needs_bzimage (GKeyFile *kf)
{
  g_autofree char *firmware = g_key_file_get_string (kf, "firmware", "type", NULL);
  g_auto(GStrv) groups = g_key_file_get_groups (kf, NULL);

  if (g_strcmp0 (firmware, "uefi") == 0)
    return TRUE;
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *type = NULL;

      if (!g_str_has_prefix (groups[i], "device "))
        continue;
      type = g_key_file_get_string (kf, groups[i], "type", NULL);
      if (g_strcmp0 (type, "tpm") == 0)
        return TRUE;
    }
  return FALSE;
}

/* The test's VM text with the guest's [kernel] group and the defaults. */
static char *
complete_vm_text (QlTestGuest  *guest,
                  const char   *guest_dir,
                  GError      **error)
{
  static const char * const defaults[][3] = {
    { "vm", "name", "qltest" },
    { "machine", "type", "q35" },
    { "machine", "acceleration", "tcg" },
    { "memory", "size", "256M" },
    { "knobs", "no-defaults", "true" },
    { "knobs", "no-user-config", "true" },
  };
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *kernel = NULL;
  g_autofree char *initrd = g_build_filename (guest_dir, "initramfs.img", NULL);
  g_autofree char *params = NULL;

  if (!g_key_file_load_from_data (kf, guest->vm_text, -1, G_KEY_FILE_KEEP_COMMENTS, error))
    return NULL;
  if (g_key_file_has_group (kf, "kernel"))
    {
      g_set_error_literal (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                           "the test's VM text must not have a [kernel] group: the harness sets it");
      return NULL;
    }
  if (guest->run_args != NULL)
    {
      /* qlaunch run: the console is QEMU's default serial port on its
       * standard output (-nographic without -nodefaults). */
      if (!g_key_file_has_key (kf, "knobs", "no-graphic", NULL))
        g_key_file_set_value (kf, "knobs", "no-graphic", "true");
      if (!g_key_file_has_key (kf, "knobs", "no-defaults", NULL))
        g_key_file_set_value (kf, "knobs", "no-defaults", "false");
    }
  for (guint i = 0; i < G_N_ELEMENTS (defaults); i++)
    if (!g_key_file_has_key (kf, defaults[i][0], defaults[i][1], NULL))
      g_key_file_set_value (kf, defaults[i][0], defaults[i][1], defaults[i][2]);

  kernel = g_build_filename (guest_dir, needs_bzimage (kf) ? "vmlinuz" : "vmlinux", NULL);
  params = g_strdup_printf (QL_TEST_GUEST_PARAMS " qltest=%s%s%s", guest->check,
                            guest->check_args != NULL ? " " : "",
                            guest->check_args != NULL ? guest->check_args : "");
  g_key_file_set_value (kf, "kernel", "path", kernel);
  g_key_file_set_value (kf, "kernel", "initrd", initrd);
  g_key_file_set_value (kf, "kernel", "params", params);
  return g_key_file_to_data (kf, NULL, error);
}

/* `qlaunch run VMFILE`, its standard streams the harness's pipes. */
static gboolean
start_run (QlTestGuest *guest,
           const char  *vm_file)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *pid_text;

  if (guest->qemu_args->len > 0)
    {
      launch_error (guest, "extra QEMU arguments cannot go through qlaunch run");
      return FALSE;
    }
  g_ptr_array_add (argv, g_strdup (g_getenv ("QLAUNCH_BIN")));
  g_ptr_array_add (argv, g_strdup ("--plugin-dir"));
  g_ptr_array_add (argv, g_strdup (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR")));
  g_ptr_array_add (argv, g_strdup ("run"));
  for (guint i = 0; i < guest->run_args->len; i++)
    g_ptr_array_add (argv, g_strdup (g_ptr_array_index (guest->run_args, i)));
  g_ptr_array_add (argv, g_strdup (vm_file));
  g_ptr_array_add (argv, NULL);
  guest->result->argv = (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);

  guest->start_time = g_get_monotonic_time ();
  guest->qemu = ql_test_spawn ((const char * const *) guest->result->argv,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (guest->qemu == NULL)
    {
      launch_error (guest, "cannot start qlaunch run: %s", error->message);
      return FALSE;
    }
  pid_text = g_subprocess_get_identifier (guest->qemu);
  guest->pid = pid_text != NULL ? (GPid) atoi (pid_text) : 0;
  io_begin (guest);
  return TRUE;
}

gboolean
ql_test_guest_start (QlTestGuest *guest)
{
  const char *guest_dir = ql_test_guest_dir ();
  g_autofree char *vm_file = g_build_filename (guest->work_dir, "guest.vm", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"),
                         "args", "--format", "json", vm_file, NULL };
  JsonNode *root;
  JsonArray *array;
  int status;

  g_return_val_if_fail (guest->qemu == NULL, FALSE);

  if (guest_dir == NULL)
    {
      launch_error (guest, "no test guest in QLAUNCH_GUEST_DIR='%s' (build it: meson compile -C BUILDDIR guest)",
                    g_getenv ("QLAUNCH_GUEST_DIR") ? g_getenv ("QLAUNCH_GUEST_DIR") : "");
      return FALSE;
    }
  guest->full_vm_text = complete_vm_text (guest, guest_dir, &error);
  if (guest->full_vm_text == NULL)
    {
      launch_error (guest, "bad VM text: %s", error->message);
      return FALSE;
    }
  if (!g_file_set_contents (vm_file, guest->full_vm_text, -1, &error))
    {
      launch_error (guest, "%s", error->message);
      return FALSE;
    }

  if (guest->run_args != NULL)
    return start_run (guest, vm_file);

  status = ql_test_run_cli (args, &out, &err);
  if (status != 0)
    {
      launch_error (guest, "qlaunch args exited with %d: %s", status, err);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, out, -1, &error))
    {
      launch_error (guest, "qlaunch args printed no JSON: %s", error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root) || json_array_get_length (json_node_get_array (root)) == 0)
    {
      launch_error (guest, "qlaunch args printed no argv array");
      return FALSE;
    }
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (argv, g_strdup (json_array_get_string_element (array, i)));
  /* The console is the test's; no window; a panic ends the run. */
  g_ptr_array_add (argv, g_strdup ("-serial"));
  g_ptr_array_add (argv, g_strdup ("stdio"));
  g_ptr_array_add (argv, g_strdup ("-display"));
  g_ptr_array_add (argv, g_strdup ("none"));
  g_ptr_array_add (argv, g_strdup ("-no-reboot"));
  for (guint i = 0; i < guest->qemu_args->len; i++)
    g_ptr_array_add (argv, g_strdup (g_ptr_array_index (guest->qemu_args, i)));
  g_ptr_array_add (argv, NULL);
  guest->result->argv = (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);

  /* stdin is a pipe only the shell API writes: QEMU's stdio chardev must
   * not read the test's stdin or put a terminal in raw mode. */
  guest->start_time = g_get_monotonic_time ();
  guest->qemu = ql_test_spawn ((const char * const *) guest->result->argv,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (guest->qemu == NULL)
    {
      launch_error (guest, "cannot start QEMU: %s", error->message);
      return FALSE;
    }
  if (g_subprocess_get_identifier (guest->qemu) != NULL)
    guest->pid = (GPid) atoi (g_subprocess_get_identifier (guest->qemu));
  io_begin (guest);
  return TRUE;
}

/* The first complete result-marker line in @console, or NULL. */
static const char *
find_marker (const char  *console,
             gboolean    *pass,
             gsize       *len)
{
  const char *pass_at = strstr (console, "QLTEST-PASS ");
  const char *fail_at = strstr (console, "QLTEST-FAIL ");
  const char *at;
  const char *end;

  if (pass_at == NULL && fail_at == NULL)
    return NULL;
  if (pass_at != NULL && (fail_at == NULL || pass_at < fail_at))
    at = pass_at;
  else
    at = fail_at;
  end = strchr (at, '\n');
  if (end == NULL)
    return NULL;
  *pass = at == pass_at;
  *len = end - at;
  return at;
}

QlTestGuestResult *
ql_test_guest_wait (QlTestGuest *guest)
{
  QlTestGuestResult *result = g_steal_pointer (&guest->result);
  gboolean marker = FALSE;
  gboolean pass = FALSE;
  gboolean killed = FALSE;
  gboolean timed_out = FALSE;
  gint64 deadline;
  g_autofree char *tail = NULL;
  const char *at;
  gsize len;

  g_return_val_if_fail (result != NULL, NULL);
  if (guest->qemu == NULL)
    {
      if (result->status != QL_TEST_GUEST_LAUNCH_ERROR)
        {
          guest->result = result;
          launch_error (guest, "ql_test_guest_start() was not called or failed");
          guest->result = NULL;
        }
      result->console = g_strdup ("");
      result->qemu_stderr = g_strdup ("");
      return result;
    }

  /* Result markers count from where the shell API stopped reading: a
   * command's output is not the check's result. */
  deadline = g_get_monotonic_time () + (gint64) guest->timeout_s * G_USEC_PER_SEC;
  while (!(guest->exited && guest->out.eof && guest->err.eof))
    {
      gint64 now;

      io_iterate (guest);
      now = g_get_monotonic_time ();
      if (!marker && find_marker (guest->out.buf->str + guest->shell_pos, &pass, &len) != NULL)
        {
          marker = TRUE;
          /* The guest powers off right after the marker. */
          deadline = MIN (deadline, now + GRACE_AFTER_MARKER_US);
        }
      if (now < deadline)
        continue;
      if (killed)
        break;      /* killed and still not drained: give up on the pipes */
      if (!marker)
        timed_out = TRUE;
      g_subprocess_force_exit (guest->qemu);
      killed = TRUE;
      deadline = now + DRAIN_AFTER_KILL_US;
    }
  result->seconds = (g_get_monotonic_time () - guest->start_time) / (double) G_USEC_PER_SEC;

  /* QEMU was killed (or exited) by now: reap it, stop reading. */
  io_end (guest);
  guest->waited = TRUE;

  result->console = ql_test_strip_cr (guest->out.buf->str);
  result->qemu_stderr = g_strdup (guest->err.buf->str);
  result->ready = strstr (result->console, "QLTEST-READY") != NULL;
  tail = ql_test_strip_cr (guest->out.buf->str + guest->shell_pos);
  at = find_marker (tail, &pass, &len);
  if (at != NULL)
    {
      g_autofree char *line = g_strndup (at + strlen ("QLTEST-PASS "), len - strlen ("QLTEST-PASS "));
      const char *space = strchr (line, ' ');

      result->status = pass ? QL_TEST_GUEST_PASS : QL_TEST_GUEST_FAIL;
      result->check = space != NULL ? g_strndup (line, space - line) : g_strdup (line);
      result->details = g_strdup (space != NULL ? space + 1 : "");
    }
  else
    result->status = timed_out ? QL_TEST_GUEST_TIMEOUT : QL_TEST_GUEST_NO_RESULT;
  return result;
}

/* The interactive shell (check `shell` of tests/guest/init). */

/* The last @max bytes of the console so far, without '\r'. */
static char *
console_tail (QlTestGuest *guest,
              gsize        max)
{
  const char *s = guest->out.buf->str;
  gsize len = guest->out.buf->len;

  if (len > max)
    s += len - max;
  return ql_test_strip_cr (s);
}

/* Sets @error for a shell call that gave up: QEMU is gone or the deadline
 * passed while waiting for @what. */
static void
shell_error (QlTestGuest  *guest,
             const char   *what,
             guint         timeout_s,
             GError      **error)
{
  g_autofree char *tail = console_tail (guest, 2000);

  if (guest->exited)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                 "QEMU exited while waiting for %s\nQEMU stderr:\n%s\nconsole (end):\n%s",
                 what, guest->err.buf->str, tail);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "no %s within %u s\nconsole (end):\n%s", what, timeout_s, tail);
}

/* The first @prefix at or after offset @from of the console whose line is
 * complete (its '\n' arrived), or -1. @prefix may follow other text on its
 * line (output without a final newline). @line_end: the offset after that
 * line's '\n'. */
static gssize
find_line (QlTestGuest *guest,
           const char  *prefix,
           gsize        from,
           gsize       *line_end)
{
  const char *buf = guest->out.buf->str;
  gsize len = guest->out.buf->len;
  const char *at;
  const char *nl;

  if (from >= len)
    return -1;
  at = memmem (buf + from, len - from, prefix, strlen (prefix));
  if (at == NULL)
    return -1;
  nl = memchr (at, '\n', buf + len - at);
  if (nl == NULL)
    return -1;
  *line_end = nl + 1 - buf;
  return at - buf;
}

/* Iterates until find_line() finds @prefix, QEMU's output ends, or
 * @deadline passes. */
static gssize
wait_for_line (QlTestGuest *guest,
               const char  *prefix,
               gsize        from,
               gint64       deadline,
               gsize       *line_end)
{
  for (;;)
    {
      gssize at = find_line (guest, prefix, from, line_end);

      if (at >= 0)
        return at;
      if ((guest->exited && guest->out.eof) || g_get_monotonic_time () >= deadline)
        return -1;
      io_iterate (guest);
    }
}

/* Whether the console's line that goes on at @at (up to @line_end) holds
 * nothing more than a '\r'. */
static gboolean
rest_is_empty (QlTestGuest *guest,
               gsize        at,
               gsize        line_end)
{
  const char *p = guest->out.buf->str + at;
  const char *end = guest->out.buf->str + line_end - 1;   /* the '\n' */

  return p == end || (p + 1 == end && *p == '\r');
}

static gboolean
shell_usable (QlTestGuest  *guest,
              GError      **error)
{
  if (guest->qemu == NULL || guest->context == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                   "QEMU is not running: %s",
                   guest->result != NULL && guest->result->error != NULL
                   ? guest->result->error : "ql_test_guest_start() was not called or failed");
      return FALSE;
    }
  if (guest->waited || guest->io_done)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           "ql_test_guest_wait() was called: QEMU is gone");
      return FALSE;
    }
  return TRUE;
}

static gboolean
wait_for_prompt (QlTestGuest  *guest,
                 gint64        deadline,
                 guint         timeout_s,
                 GError      **error)
{
  gsize from = guest->shell_pos;
  gsize end;
  gssize at;

  if (guest->at_prompt)
    return TRUE;
  /* The prompt is a line of its own. */
  for (;;)
    {
      at = wait_for_line (guest, SHELL_PROMPT, from, deadline, &end);
      if (at < 0)
        {
          shell_error (guest, "the shell's prompt (" SHELL_PROMPT ")", timeout_s, error);
          return FALSE;
        }
      if ((at == 0 || guest->out.buf->str[at - 1] == '\n')
          && rest_is_empty (guest, at + strlen (SHELL_PROMPT), end))
        break;
      from = end;
    }
  guest->shell_pos = end;
  guest->at_prompt = TRUE;
  return TRUE;
}

gboolean
ql_test_guest_wait_for_shell (QlTestGuest  *guest,
                              guint         timeout_s,
                              GError      **error)
{
  if (!shell_usable (guest, error))
    return FALSE;
  return wait_for_prompt (guest, g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC,
                          timeout_s, error);
}

void
ql_test_guest_assume_shell (QlTestGuest *guest)
{
  guest->at_prompt = TRUE;
}

/* Writes @line and a newline to QEMU's stdin (the guest's console). A QEMU
 * that is gone is an error, not a SIGPIPE. */
static gboolean
write_line (QlTestGuest  *guest,
            const char   *line,
            GError      **error)
{
  GOutputStream *in = g_subprocess_get_stdin_pipe (guest->qemu);
  g_autofree char *data = g_strconcat (line, "\n", NULL);
  sigset_t pipe_set;
  sigset_t old_set;
  gboolean ok;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old_set);
  ok = g_output_stream_write_all (in, data, strlen (data), NULL, NULL, error)
       && g_output_stream_flush (in, NULL, error);
  if (!ok && !sigismember (&old_set, SIGPIPE))
    {
      /* Consume the SIGPIPE the failed write raised before unblocking. */
      struct timespec zero = { 0, 0 };

      while (sigtimedwait (&pipe_set, NULL, &zero) < 0 && errno == EINTR)
        ;
    }
  pthread_sigmask (SIG_SETMASK, &old_set, NULL);
  if (!ok)
    g_prefix_error (error, "cannot write to QEMU's stdin: ");
  return ok;
}

char *
ql_test_guest_shell (QlTestGuest  *guest,
                     const char   *command,
                     guint         timeout_s,
                     int          *exit_status,
                     GError      **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  g_autofree char *what = NULL;
  g_autofree char *raw = NULL;
  const char *p;
  char *digits_end;
  gsize from;
  gssize at;
  gsize end;
  long status = 0;

  g_return_val_if_fail (command != NULL, NULL);

  if (strchr (command, '\n') != NULL || strchr (command, '\r') != NULL || strlen (command) > 4000)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a shell command is one line of at most 4000 bytes: '%s'", command);
      return NULL;
    }
  if (!shell_usable (guest, error) || !wait_for_prompt (guest, deadline, timeout_s, error))
    return NULL;
  if (!write_line (guest, command, error))
    return NULL;
  guest->at_prompt = FALSE;

  what = g_strdup_printf ("the end (" SHELL_DONE "N) of the command '%s'", command);
  from = guest->shell_pos;
  for (;;)
    {
      at = wait_for_line (guest, SHELL_DONE, from, deadline, &end);
      if (at < 0)
        {
          shell_error (guest, what, timeout_s, error);
          return NULL;
        }
      /* "QLTEST-DONE <digits>\r\n": anything else is output that happens
       * to contain the word; look further. */
      p = guest->out.buf->str + at + strlen (SHELL_DONE);
      if (g_ascii_isdigit (*p))
        {
          errno = 0;
          status = strtol (p, &digits_end, 10);
          if (errno == 0 && status <= 255 && rest_is_empty (guest, digits_end - guest->out.buf->str, end))
            break;
        }
      from = at + strlen (SHELL_DONE);
    }

  raw = g_strndup (guest->out.buf->str + guest->shell_pos, at - guest->shell_pos);
  guest->shell_pos = end;
  if (exit_status != NULL)
    *exit_status = (int) status;
  return ql_test_strip_cr (raw);
}

char *
ql_test_guest_shell_ok (QlTestGuest *guest,
                        const char  *command,
                        guint        timeout_s)
{
  g_autoptr(GError) error = NULL;
  int status = -1;
  char *out = ql_test_guest_shell (guest, command, timeout_s, &status, &error);

  g_assert_no_error (error);
  if (status != 0)
    g_error ("guest command failed (status %d): %s\noutput: %s", status, command, out);
  return g_strstrip (out);
}

char *
ql_test_guest_interface (QlTestGuest *guest,
                         const char  *mac,
                         guint        timeout_s)
{
  g_autofree char *command = g_strdup_printf ("n=50; while ! grep -qx %s /sys/class/net/*/address && [ $n -gt 0 ]; do "
                                              "usleep 100000; n=$((n-1)); done; "
                                              "for f in /sys/class/net/*/address; do "
                                              "if [ \"$(cat $f)\" = %s ]; then d=${f%%/address}; echo ${d##*/}; fi; done",
                                              mac, mac);
  char *iface = ql_test_guest_shell_ok (guest, command, timeout_s);

  g_test_message ("guest interface with %s: '%s'", mac, iface);
  g_assert_cmpstr (iface, !=, "");
  g_assert_null (strchr (iface, '\n'));
  return iface;
}

gboolean
ql_test_guest_shell_poweroff (QlTestGuest  *guest,
                              guint         timeout_s,
                              GError      **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  if (!shell_usable (guest, error) || !wait_for_prompt (guest, deadline, timeout_s, error))
    return FALSE;
  if (!write_line (guest, "poweroff", error))
    return FALSE;
  guest->at_prompt = FALSE;
  return TRUE;
}

QlTestGuestResult *
ql_test_guest_poweroff_pass (QlTestGuest *guest,
                             guint        timeout_s,
                             const char  *what)
{
  g_autoptr(GError) error = NULL;
  QlTestGuestResult *result;

  if (!ql_test_guest_shell_poweroff (guest, timeout_s, &error))
    g_error ("%s%sno poweroff: %s", what != NULL ? what : "", what != NULL ? ": " : "",
             error != NULL ? error->message : "(no error)");
  result = ql_test_guest_wait (guest);
  if (result->status != QL_TEST_GUEST_PASS)
    {
      g_autofree char *describe = ql_test_guest_result_describe (result);

      g_error ("%s%sthe guest did not power off cleanly:\n%s", what != NULL ? what : "",
               what != NULL ? ": " : "", describe);
    }
  return result;
}

char *
ql_test_guest_get_console (QlTestGuest *guest)
{
  if (guest->out.buf == NULL)
    return g_strdup ("");
  return ql_test_strip_cr (guest->out.buf->str);
}

void
ql_test_guest_free (QlTestGuest *guest)
{
  if (guest == NULL)
    return;
  if (guest->qemu != NULL && !guest->waited)
    {
      if (guest->context != NULL)
        io_end (guest);
      else
        {
          g_subprocess_force_exit (guest->qemu);
          g_subprocess_wait (guest->qemu, NULL, NULL);
        }
    }
  g_clear_object (&guest->qemu);
  ql_test_proc_reader_clear (&guest->out);
  ql_test_proc_reader_clear (&guest->err);
  g_clear_pointer (&guest->tick, g_source_unref);
  g_clear_object (&guest->cancellable);
  g_clear_pointer (&guest->context, g_main_context_unref);
  g_clear_pointer (&guest->result, ql_test_guest_result_free);
  g_ptr_array_unref (guest->qemu_args);
  g_clear_pointer (&guest->run_args, g_ptr_array_unref);
  g_free (guest->work_dir);
  g_free (guest->vm_text);
  g_free (guest->check);
  g_free (guest->check_args);
  g_free (guest->full_vm_text);
  g_free (guest->qmp_path);
  g_free (guest);
}

QlTestGuestResult *
ql_test_guest_run (const char *work_dir,
                   const char *vm_text,
                   const char *check,
                   const char *check_args)
{
  g_autoptr(QlTestGuest) guest = ql_test_guest_new (work_dir, vm_text, check, check_args);

  ql_test_guest_start (guest);
  return ql_test_guest_wait (guest);
}

void
ql_test_guest_result_free (QlTestGuestResult *result)
{
  if (result == NULL)
    return;
  g_free (result->check);
  g_free (result->details);
  g_free (result->console);
  g_free (result->qemu_stderr);
  g_free (result->error);
  g_strfreev (result->argv);
  g_free (result);
}

char *
ql_test_guest_result_describe (const QlTestGuestResult *result)
{
  GString *s = g_string_new (NULL);
  const char *console = result->console != NULL ? result->console : "";
  gsize clen = strlen (console);

  g_string_append_printf (s, "guest result: %s", ql_test_guest_status_name (result->status));
  if (result->check != NULL)
    g_string_append_printf (s, " %s %s", result->check, result->details);
  g_string_append_printf (s, " (%.1f s, %s)\n", result->seconds, result->ready ? "init was up" : "init never reported");
  if (result->error != NULL)
    g_string_append_printf (s, "launch error: %s\n", result->error);
  if (result->argv != NULL)
    {
      g_autofree char *cmd = g_strjoinv (" ", result->argv);

      g_string_append_printf (s, "argv: %s\n", cmd);
    }
  if (result->qemu_stderr != NULL && result->qemu_stderr[0] != '\0')
    g_string_append_printf (s, "QEMU stderr:\n%s\n", result->qemu_stderr);
  /* The end of the console is where the story is. */
  if (clen > 3000)
    console += clen - 3000;
  g_string_append_printf (s, "console%s:\n%s", clen > 3000 ? " (last 3000 bytes)" : "", console);
  return g_string_free (s, FALSE);
}
