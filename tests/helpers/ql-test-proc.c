/* Test helpers: a process whose guest console is on pipes (see
 * ql-test-proc.h). */
#include "ql-test-proc.h"

#include "ql-test-guest.h"
#include "ql-test-util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>

static void reader_read (QlTestProcReader *r);

static void
reader_done (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  QlTestProcReader *r = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, NULL);

  r->pending = FALSE;
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      r->eof = TRUE;
      return;
    }
  g_string_append_len (r->buf, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (!g_cancellable_is_cancelled (r->cancel))
    reader_read (r);
}

static void
reader_read (QlTestProcReader *r)
{
  r->pending = TRUE;
  g_input_stream_read_bytes_async (r->stream, 65536, G_PRIORITY_DEFAULT, r->cancel, reader_done, r);
}

void
ql_test_proc_reader_start (QlTestProcReader *r,
                           GInputStream     *stream,
                           GCancellable     *cancel)
{
  r->stream = g_object_ref (stream);
  r->buf = g_string_new (NULL);
  r->cancel = cancel;
  reader_read (r);
}

void
ql_test_proc_reader_clear (QlTestProcReader *r)
{
  g_clear_object (&r->stream);
  if (r->buf != NULL)
    g_string_free (r->buf, TRUE);
  r->buf = NULL;
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

void
ql_test_proc_iterate (void)
{
  static guint tick;

  if (tick == 0)
    tick = g_timeout_add (20, wake_up, NULL);
  g_main_context_iteration (NULL, TRUE);
}

static void
proc_exited (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  QlTestProc *p = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  p->status = g_subprocess_get_if_exited (G_SUBPROCESS (source))
              ? g_subprocess_get_exit_status (G_SUBPROCESS (source)) : -1;
  p->exited = TRUE;
}

QlTestProc *
ql_test_proc_spawn (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  QlTestProc *p = g_new0 (QlTestProc, 1);

  p->what = g_strdup (argv[0]);
  p->start = g_get_monotonic_time ();
  p->proc = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (p->proc == NULL)
    g_error ("%s: %s", argv[0], error->message);
  p->in = g_object_ref (g_subprocess_get_stdin_pipe (p->proc));
  p->cancel = g_cancellable_new ();
  ql_test_proc_reader_start (&p->out, g_subprocess_get_stdout_pipe (p->proc), p->cancel);
  ql_test_proc_reader_start (&p->err, g_subprocess_get_stderr_pipe (p->proc), p->cancel);
  g_subprocess_wait_async (p->proc, NULL, proc_exited, p);
  return p;
}

QlTestProc *
ql_test_proc_new_console (int         in_fd,
                          int         out_fd,
                          const char *what)
{
  g_autoptr(GInputStream) out = NULL;
  QlTestProc *p = g_new0 (QlTestProc, 1);

  p->what = g_strdup (what);
  p->start = g_get_monotonic_time ();
  p->exited = TRUE;
  p->in = g_unix_output_stream_new (in_fd, TRUE);
  p->cancel = g_cancellable_new ();
  out = g_unix_input_stream_new (out_fd, TRUE);
  ql_test_proc_reader_start (&p->out, out, p->cancel);
  p->err.buf = g_string_new (NULL);
  p->err.eof = TRUE;
  return p;
}

QlTestProc *
ql_test_proc_qlaunch (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_assert_nonnull (g_getenv ("QLAUNCH_BIN"));
  g_assert_nonnull (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  g_ptr_array_add (argv, (char *) g_getenv ("QLAUNCH_BIN"));
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (char *) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (char *) *args);
  g_ptr_array_add (argv, NULL);
  return ql_test_proc_spawn ((const char * const *) argv->pdata);
}

char *
ql_test_strip_cr (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));

  for (; *text != '\0'; text++)
    if (*text != '\r')
      g_string_append_c (out, *text);
  return g_string_free (out, FALSE);
}

void
ql_test_proc_fail (QlTestProc *p,
                   const char *why)
{
  const char *from = p->out.buf->str;
  g_autofree char *tail = NULL;

  if (p->out.buf->len > 3000)
    from += p->out.buf->len - 3000;
  tail = ql_test_strip_cr (from);
  g_error ("%s: %s\nstderr:\n%s\nconsole (end):\n%s", p->what, why,
           p->stderr_text != NULL ? p->stderr_text (p->stderr_data) : p->err.buf->str, tail);
}

void
ql_test_proc_write (QlTestProc *p,
                    const char *line)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = g_strconcat (line, "\n", NULL);

  if (!g_output_stream_write_all (p->in, data, strlen (data), NULL, NULL, &error)
      || !g_output_stream_flush (p->in, NULL, &error))
    ql_test_proc_fail (p, error->message);
}

gboolean
ql_test_proc_find_line (QlTestProc *p,
                        const char *needle)
{
  const char *buf = p->out.buf->str;
  const char *at = p->pos < p->out.buf->len
                   ? memmem (buf + p->pos, p->out.buf->len - p->pos, needle, strlen (needle)) : NULL;
  const char *nl = at != NULL ? memchr (at, '\n', buf + p->out.buf->len - at) : NULL;

  if (nl == NULL)
    return FALSE;
  p->pos = nl + 1 - buf;
  return TRUE;
}

int
ql_test_proc_last_status (QlTestProc *p)
{
  const char *done = g_strrstr_len (p->out.buf->str, p->pos, QL_TEST_SHELL_DONE);

  return done != NULL ? atoi (done + strlen (QL_TEST_SHELL_DONE)) : -1;
}

void
ql_test_proc_wait_line (QlTestProc *p,
                        const char *needle,
                        guint       timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!ql_test_proc_find_line (p, needle))
    {
      if (p->exited && p->out.eof)
        ql_test_proc_fail (p, "exited");
      if (g_get_monotonic_time () >= deadline)
        {
          g_autofree char *why = g_strdup_printf ("no '%s' within %u s", needle, timeout_s);

          ql_test_proc_fail (p, why);
        }
      ql_test_proc_iterate ();
    }
}

const char *
ql_test_proc_wait_stderr (QlTestProc *p,
                          const char *needle,
                          guint       timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  const char *at;

  while ((at = strstr (p->err.buf->str, needle)) == NULL)
    {
      if (p->exited && p->err.eof)
        ql_test_proc_fail (p, "exited");
      if (g_get_monotonic_time () >= deadline)
        {
          g_autofree char *why = g_strdup_printf ("no '%s' on stderr within %u s", needle, timeout_s);

          ql_test_proc_fail (p, why);
        }
      ql_test_proc_iterate ();
    }
  return at;
}

/* The offset of the first "QLTEST-DONE <digits>" line at or after
 * proc->pos, or -1; @status and @line_end set. */
static gssize
find_done (QlTestProc *proc,
           int        *status,
           gsize      *line_end)
{
  GString *out = proc->out.buf;
  gsize from = proc->pos;

  for (;;)
    {
      const char *at = from < out->len
                       ? memmem (out->str + from, out->len - from, QL_TEST_SHELL_DONE, strlen (QL_TEST_SHELL_DONE))
                       : NULL;
      const char *p;
      char *end;
      long n;

      if (at == NULL)
        return -1;
      p = at + strlen (QL_TEST_SHELL_DONE);
      if (g_ascii_isdigit (*p))
        {
          n = strtol (p, &end, 10);
          if (*end == '\r')
            end++;
          if (*end == '\n')
            {
              *status = (int) n;
              *line_end = end + 1 - out->str;
              return at - out->str;
            }
          if (*end == '\0')
            return -1;      /* the line is not complete yet */
        }
      from = p - out->str;
    }
}

/* What the console printed from p->pos to @end, without '\r' and without
 * the shell's prompt lines (a clone prints its first prompt after it
 * resumed when the template was saved before the guest printed it) nor
 * QEMU's own line for a pty backend. */
static char *
output_between (QlTestProc *p,
                gsize       end)
{
  g_autofree char *raw = g_strndup (p->out.buf->str + p->pos, end - p->pos);
  g_autofree char *text = ql_test_strip_cr (raw);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_equal (lines[i], QL_TEST_SHELL_PROMPT) || g_str_has_prefix (lines[i], "char device redirected to "))
        continue;
      if (out->len > 0)
        g_string_append_c (out, '\n');
      g_string_append (out, lines[i]);
    }
  return g_string_free (out, FALSE);
}

char *
ql_test_proc_collect (QlTestProc *p,
                      const char *command,
                      guint       timeout_s,
                      int        *status)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gsize end = 0;
  gssize at;
  int st = -1;
  char *out;

  while ((at = find_done (p, &st, &end)) < 0)
    {
      g_autofree char *why = NULL;

      if (p->exited && p->out.eof)
        {
          why = g_strdup_printf ("exited (status %d) before the end of '%s'", p->status, command);
          ql_test_proc_fail (p, why);
        }
      if (g_get_monotonic_time () >= deadline)
        {
          why = g_strdup_printf ("no " QL_TEST_SHELL_DONE "N for '%s' within %u s", command, timeout_s);
          ql_test_proc_fail (p, why);
        }
      ql_test_proc_iterate ();
    }
  out = output_between (p, at);
  p->pos = end;
  if (status != NULL)
    *status = st;
  return g_strstrip (out);
}

char *
ql_test_proc_shell (QlTestProc *p,
                    const char *command,
                    guint       timeout_s)
{
  int status = -1;
  char *out;

  ql_test_proc_write (p, command);
  out = ql_test_proc_collect (p, command, timeout_s, &status);
  if (status != 0)
    {
      g_autofree char *why = g_strdup_printf ("'%s' exited with %d: %s", command, status, out);

      ql_test_proc_fail (p, why);
    }
  return out;
}

int
ql_test_proc_wait (QlTestProc *p,
                   guint       timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!(p->exited && p->out.eof && p->err.eof))
    {
      if (g_get_monotonic_time () >= deadline)
        ql_test_proc_fail (p, "did not exit in time");
      ql_test_proc_iterate ();
    }
  return p->status;
}

void
ql_test_proc_poweroff (QlTestProc *p)
{
  ql_test_proc_write (p, "poweroff");
  if (ql_test_proc_wait (p, 60) != 0)
    ql_test_proc_fail (p, "did not exit with status 0");
}

void
ql_test_proc_free (QlTestProc *p)
{
  if (p == NULL)
    return;
  if (!p->exited)
    g_subprocess_force_exit (p->proc);
  while (!p->exited)
    ql_test_proc_iterate ();
  g_cancellable_cancel (p->cancel);
  while (p->out.pending || p->err.pending)
    ql_test_proc_iterate ();
  ql_test_proc_reader_clear (&p->out);
  ql_test_proc_reader_clear (&p->err);
  g_clear_object (&p->in);
  g_clear_object (&p->cancel);
  g_clear_object (&p->proc);
  g_free (p->what);
  g_free (p);
}

int
ql_test_proc_qemu_pid (QlTestProc *p,
                       guint       timeout_s)
{
  const char *at = ql_test_proc_wait_stderr (p, "QEMU started (pid ", timeout_s);

  return atoi (at + strlen ("QEMU started (pid "));
}

double
ql_test_seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

static const char *guard_dir;
static const char *guard_vm_name;

static void
guard_handler (int sig)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/cmdline", name);
      g_autofree char *cmdline = NULL;
      gsize len = 0;

      if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (path, &cmdline, &len, NULL) || len == 0)
        continue;
      if (strstr (cmdline, "qemu-system-") == NULL)
        continue;
      for (gsize at = 0; at < len; at += strlen (cmdline + at) + 1)
        if (strstr (cmdline + at, guard_dir) != NULL || g_strcmp0 (cmdline + at, guard_vm_name) == 0)
          {
            kill (atoi (name), SIGKILL);
            break;
          }
    }
  ql_test_proc_remove_dir (guard_dir);    /* templates: 256 MiB each */
  signal (sig, SIG_DFL);
  raise (sig);
}

void
ql_test_proc_guard (const char *dir,
                    const char *vm_name)
{
  guard_dir = dir;
  guard_vm_name = vm_name;
  signal (SIGABRT, guard_handler);
  signal (SIGTRAP, guard_handler);
  signal (SIGTERM, guard_handler);
  signal (SIGINT, guard_handler);
}

static void
make_writable (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_chmod (path, 0700);
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        make_writable (child);
    }
}

void
ql_test_proc_remove_dir (const char *dir)
{
  make_writable (dir);
  ql_test_rm_rf (dir);
}

double
ql_test_proc_clock_skew (QlTestProc *p,
                         double     *uncertainty)
{
  gint64 t0 = g_get_real_time ();
  g_autofree char *out = ql_test_proc_shell (p, "adjtimex | grep time.tv_", 60);
  gint64 t1 = g_get_real_time ();
  const char *sec = strstr (out, "time.tv_sec:");
  const char *usec = strstr (out, "time.tv_usec:");
  double guest;

  if (sec == NULL || usec == NULL)
    {
      g_autofree char *why = g_strdup_printf ("no time.tv_sec/time.tv_usec in the guest's adjtimex: '%s'", out);

      ql_test_proc_fail (p, why);
    }
  guest = g_ascii_strtoll (sec + strlen ("time.tv_sec:"), NULL, 10)
          + g_ascii_strtoll (usec + strlen ("time.tv_usec:"), NULL, 10) / 1e6;
  if (uncertainty != NULL)
    *uncertainty = (t1 - t0) / 2e6;
  return (t0 + t1) / 2e6 - guest;
}
