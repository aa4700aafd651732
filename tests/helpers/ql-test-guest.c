/* qlaunch tests — boot the test guest with the argv `qlaunch args` builds. */
#include "ql-test-guest.h"
#include "ql-test-util.h"

#include <json-glib/json-glib.h>
#include <gio/gunixsocketaddress.h>

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define GRACE_AFTER_MARKER_US (15 * G_USEC_PER_SEC)
#define DRAIN_AFTER_KILL_US   (5 * G_USEC_PER_SEC)

struct _QlTestGuest
{
  char *work_dir;
  char *vm_text;
  char *check;
  char *check_args;
  guint timeout_s;

  char *full_vm_text;
  GSubprocess *qemu;
  gboolean waited;
  QlTestGuestResult *result;
};

typedef struct
{
  GInputStream *stream;
  GString *buf;
  GCancellable *cancellable;
  gboolean pending;
  gboolean eof;
} Reader;

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
  kernel = g_build_filename (dir, "vmlinuz", NULL);
  initrd = g_build_filename (dir, "initramfs.img", NULL);
  if (!g_file_test (kernel, G_FILE_TEST_IS_REGULAR) || !g_file_test (initrd, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return dir;
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
  guest->result = g_new0 (QlTestGuestResult, 1);
  return guest;
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
  g_autofree char *kernel = g_build_filename (guest_dir, "vmlinuz", NULL);
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
  for (guint i = 0; i < G_N_ELEMENTS (defaults); i++)
    if (!g_key_file_has_key (kf, defaults[i][0], defaults[i][1], NULL))
      g_key_file_set_value (kf, defaults[i][0], defaults[i][1], defaults[i][2]);

  params = g_strdup_printf ("console=ttyS0 quiet panic=-1 qltest=%s%s%s", guest->check,
                            guest->check_args != NULL ? " " : "",
                            guest->check_args != NULL ? guest->check_args : "");
  g_key_file_set_value (kf, "kernel", "path", kernel);
  g_key_file_set_value (kf, "kernel", "initrd", initrd);
  g_key_file_set_value (kf, "kernel", "params", params);
  return g_key_file_to_data (kf, NULL, error);
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
  g_ptr_array_add (argv, NULL);
  guest->result->argv = (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);

  /* stdin is a pipe nobody writes: QEMU's stdio chardev must not read the
   * test's stdin or put a terminal in raw mode. */
  guest->qemu = ql_test_spawn ((const char * const *) guest->result->argv,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (guest->qemu == NULL)
    {
      launch_error (guest, "cannot start QEMU: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

static void
reader_read (Reader *r);

static void
reader_done (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  Reader *r = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, NULL);

  r->pending = FALSE;
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      r->eof = TRUE;
      return;
    }
  g_string_append_len (r->buf, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (!g_cancellable_is_cancelled (r->cancellable))
    reader_read (r);
}

static void
reader_read (Reader *r)
{
  r->pending = TRUE;
  g_input_stream_read_bytes_async (r->stream, 4096, G_PRIORITY_DEFAULT, r->cancellable, reader_done, r);
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

static char *
strip_cr (const char *s)
{
  GString *out = g_string_sized_new (strlen (s));

  for (; *s != '\0'; s++)
    if (*s != '\r')
      g_string_append_c (out, *s);
  return g_string_free (out, FALSE);
}

QlTestGuestResult *
ql_test_guest_wait (QlTestGuest *guest)
{
  QlTestGuestResult *result = g_steal_pointer (&guest->result);
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GSource) tick = NULL;
  Reader out = { 0 };
  Reader err = { 0 };
  gboolean exited = FALSE;
  gboolean marker = FALSE;
  gboolean pass = FALSE;
  gboolean killed = FALSE;
  gboolean timed_out = FALSE;
  gint64 start;
  gint64 deadline;
  g_autofree char *console = NULL;
  const char *at;
  gsize len;

  g_return_val_if_fail (result != NULL, NULL);
  if (guest->qemu == NULL)
    {
      if (result->status != QL_TEST_GUEST_LAUNCH_ERROR)
        launch_error (guest, "ql_test_guest_start() was not called or failed");
      result->console = g_strdup ("");
      result->qemu_stderr = g_strdup ("");
      return result;
    }

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  cancellable = g_cancellable_new ();
  out.stream = g_subprocess_get_stdout_pipe (guest->qemu);
  out.buf = g_string_new (NULL);
  out.cancellable = cancellable;
  err.stream = g_subprocess_get_stderr_pipe (guest->qemu);
  err.buf = g_string_new (NULL);
  err.cancellable = cancellable;
  reader_read (&out);
  reader_read (&err);
  g_subprocess_wait_async (guest->qemu, NULL, wait_done, &exited);
  tick = g_timeout_source_new (50);
  g_source_set_callback (tick, wake_up, NULL, NULL);
  g_source_attach (tick, context);

  start = g_get_monotonic_time ();
  deadline = start + (gint64) guest->timeout_s * G_USEC_PER_SEC;
  while (!(exited && out.eof && err.eof))
    {
      gint64 now;

      g_main_context_iteration (context, TRUE);
      now = g_get_monotonic_time ();
      if (!marker && find_marker (out.buf->str, &pass, &len) != NULL)
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
  result->seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  /* QEMU was killed (or exited) by now: reap it, stop reading. */
  if (!exited)
    g_subprocess_force_exit (guest->qemu);
  g_cancellable_cancel (cancellable);
  while (out.pending || err.pending || !exited)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (tick);
  g_main_context_pop_thread_default (context);
  guest->waited = TRUE;

  console = g_string_free (out.buf, FALSE);
  result->console = strip_cr (console);
  result->qemu_stderr = g_string_free (err.buf, FALSE);
  result->ready = strstr (result->console, "QLTEST-READY") != NULL;
  at = find_marker (result->console, &pass, &len);
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

void
ql_test_guest_free (QlTestGuest *guest)
{
  if (guest == NULL)
    return;
  if (guest->qemu != NULL && !guest->waited)
    {
      g_subprocess_force_exit (guest->qemu);
      g_subprocess_wait (guest->qemu, NULL, NULL);
    }
  g_clear_object (&guest->qemu);
  g_clear_pointer (&guest->result, ql_test_guest_result_free);
  g_free (guest->work_dir);
  g_free (guest->vm_text);
  g_free (guest->check);
  g_free (guest->check_args);
  g_free (guest->full_vm_text);
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
