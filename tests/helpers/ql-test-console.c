/* qlaunch tests — a guest's console on pipes (see ql-test-console.h). */
#include "ql-test-console.h"
#include "ql-test-guest.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#define SHELL_PROMPT "QLTEST-SHELL"
#define SHELL_DONE   "QLTEST-DONE "

typedef struct
{
  GInputStream *stream;
  GString *buf;
  GCancellable *cancellable;
  gboolean pending;
  gboolean eof;
} Reader;

struct _QlTestConsole
{
  GSubprocess *proc;        /* `qlaunch ...`, or */
  QlVm *vm;                 /* a VM started through the library */
  GOutputStream *in;
  Reader out;               /* the console (QEMU's stdout) */
  Reader err;               /* qlaunch's stderr (CLI only) */
  GCancellable *cancellable;
  gboolean exited;
  int status;
  gsize pos;                /* bytes of out.buf consumed by shell calls */
  gboolean typed;
  char *what;
};

static void reader_read (Reader *r);

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
  g_input_stream_read_bytes_async (r->stream, 65536, G_PRIORITY_DEFAULT, r->cancellable, reader_done, r);
}

static void
reader_start (Reader        *r,
              GInputStream  *stream,
              GCancellable  *cancellable)
{
  r->stream = g_object_ref (stream);
  r->buf = g_string_new (NULL);
  r->cancellable = cancellable;
  reader_read (r);
}

static gboolean
wake_up (gpointer data)
{
  (void) data;
  return G_SOURCE_CONTINUE;
}

/* One iteration of the default main context, at most 50 ms. */
static void
iterate (void)
{
  static guint tick;

  if (tick == 0)
    tick = g_timeout_add (50, wake_up, NULL);
  g_main_context_iteration (NULL, TRUE);
}

static void
cli_exited (GObject      *source,
            GAsyncResult *res,
            gpointer      user_data)
{
  QlTestConsole *c = user_data;
  GSubprocess *proc = G_SUBPROCESS (source);

  g_subprocess_wait_finish (proc, res, NULL);
  c->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  c->exited = TRUE;
}

static void
vm_exited (GObject      *source,
           GAsyncResult *res,
           gpointer      user_data)
{
  QlTestConsole *c = user_data;

  ql_vm_wait_finish (QL_VM (source), res, NULL);
  c->status = ql_vm_get_exit_status (QL_VM (source));
  c->exited = TRUE;
}

QlTestConsole *
ql_test_console_spawn_cli (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  QlTestConsole *c = g_new0 (QlTestConsole, 1);

  g_ptr_array_add (argv, (char *) g_getenv ("QLAUNCH_BIN"));
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (char *) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (char *) *args);
  g_ptr_array_add (argv, NULL);
  g_assert_nonnull (g_ptr_array_index (argv, 0));
  g_assert_nonnull (g_ptr_array_index (argv, 2));

  c->what = g_strjoinv (" ", (char **) argv->pdata + 3);
  c->proc = ql_test_spawn ((const char * const *) argv->pdata,
                           G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                           | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  c->cancellable = g_cancellable_new ();
  c->in = g_object_ref (g_subprocess_get_stdin_pipe (c->proc));
  reader_start (&c->out, g_subprocess_get_stdout_pipe (c->proc), c->cancellable);
  reader_start (&c->err, g_subprocess_get_stderr_pipe (c->proc), c->cancellable);
  g_subprocess_wait_async (c->proc, NULL, cli_exited, c);
  return c;
}

QlTestConsole *
ql_test_console_for_vm (QlVm       *vm,
                        const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) out = NULL;
  QlTestConsole *c = g_new0 (QlTestConsole, 1);
  int in_pipe[2], out_pipe[2];

  g_assert_true (g_unix_open_pipe (in_pipe, FD_CLOEXEC, &error));
  g_assert_true (g_unix_open_pipe (out_pipe, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  ql_vm_set_stdin_fd (vm, in_pipe[0]);
  ql_vm_set_stdout_fd (vm, out_pipe[1]);
  close (in_pipe[0]);
  close (out_pipe[1]);

  c->what = g_strdup (what);
  c->vm = g_object_ref (vm);
  c->cancellable = g_cancellable_new ();
  c->in = g_unix_output_stream_new (in_pipe[1], TRUE);
  out = g_unix_input_stream_new (out_pipe[0], TRUE);
  reader_start (&c->out, out, c->cancellable);
  return c;
}

void
ql_test_console_watch_vm (QlTestConsole *c)
{
  ql_vm_wait_async (c->vm, NULL, vm_exited, c);
}

GPid
ql_test_console_get_pid (QlTestConsole *c)
{
  const char *id = c->proc != NULL ? g_subprocess_get_identifier (c->proc) : NULL;

  return id != NULL ? (GPid) atoi (id) : 0;
}

const char *
ql_test_console_get_stderr (QlTestConsole *c)
{
  if (c->err.buf != NULL)
    return c->err.buf->str;
  return c->vm != NULL && ql_vm_get_stderr (c->vm) != NULL ? ql_vm_get_stderr (c->vm) : "";
}

QlVm *
ql_test_console_get_vm (QlTestConsole *c)
{
  return c->vm;
}

void
ql_test_console_close_input (QlTestConsole *c)
{
  g_output_stream_close (c->in, NULL, NULL);
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

G_GNUC_NORETURN static void
console_fail (QlTestConsole *c,
              const char    *why)
{
  const char *s = c->out.buf->str;
  g_autofree char *tail = NULL;

  if (c->out.buf->len > 3000)
    s += c->out.buf->len - 3000;
  tail = strip_cr (s);
  g_error ("%s: %s\nstderr:\n%s\nconsole (end):\n%s", c->what, why, ql_test_console_get_stderr (c), tail);
}

static void
write_line (QlTestConsole *c,
            const char    *line)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = g_strconcat (line, "\n", NULL);

  if (!g_output_stream_write_all (c->in, data, strlen (data), NULL, NULL, &error)
      || !g_output_stream_flush (c->in, NULL, &error))
    console_fail (c, error->message);
  c->typed = TRUE;
}

/* The offset of the first "QLTEST-DONE <digits>" line at or after c->pos,
 * or -1; @status and @line_end set. */
static gssize
find_done (QlTestConsole *c,
           int           *status,
           gsize         *line_end)
{
  const char *buf = c->out.buf->str;
  gsize from = c->pos;

  for (;;)
    {
      const char *at = from < c->out.buf->len
                       ? memmem (buf + from, c->out.buf->len - from, SHELL_DONE, strlen (SHELL_DONE))
                       : NULL;
      const char *p;
      char *end;
      long n;

      if (at == NULL)
        return -1;
      p = at + strlen (SHELL_DONE);
      if (g_ascii_isdigit (*p))
        {
          n = strtol (p, &end, 10);
          if (*end == '\r')
            end++;
          if (*end == '\n')
            {
              *status = (int) n;
              *line_end = end + 1 - buf;
              return at - buf;
            }
          if (*end == '\0')
            return -1;
        }
      from = p - buf;
    }
}

static char *
output_between (QlTestConsole *c,
                gsize          end)
{
  g_autofree char *raw = g_strndup (c->out.buf->str + c->pos, end - c->pos);
  g_autofree char *text = strip_cr (raw);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_equal (lines[i], SHELL_PROMPT))
        continue;
      if (out->len > 0)
        g_string_append_c (out, '\n');
      g_string_append (out, lines[i]);
    }
  return g_string_free (out, FALSE);
}

/* The first line gets a leading blank: QEMU's serial port takes one byte
 * before a clone's state is loaded, and loading it drops that byte. */
char *
ql_test_console_shell (QlTestConsole *c,
                       const char    *command,
                       guint          timeout_s,
                       int           *status)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gsize end = 0;
  gssize at;
  int st = -1;
  char *out;

  if (!c->typed)
    {
      g_autofree char *padded = g_strconcat (" ", command, NULL);

      write_line (c, padded);
    }
  else
    write_line (c, command);
  while ((at = find_done (c, &st, &end)) < 0)
    {
      g_autofree char *why = NULL;

      if (c->exited && c->out.eof)
        {
          why = g_strdup_printf ("exited (status %d) before the end of '%s'", c->status, command);
          console_fail (c, why);
        }
      if (g_get_monotonic_time () >= deadline)
        {
          why = g_strdup_printf ("no " SHELL_DONE "N for '%s' within %u s", command, timeout_s);
          console_fail (c, why);
        }
      iterate ();
    }
  out = output_between (c, at);
  c->pos = end;
  if (status != NULL)
    *status = st;
  return g_strstrip (out);
}

char *
ql_test_console_shell_ok (QlTestConsole *c,
                          const char    *command,
                          guint          timeout_s)
{
  int status = -1;
  char *out = ql_test_console_shell (c, command, timeout_s, &status);

  if (status != 0)
    {
      g_autofree char *why = g_strdup_printf ("'%s' exited with %d: %s", command, status, out);

      console_fail (c, why);
    }
  return out;
}

void
ql_test_console_wait_for (QlTestConsole *c,
                          const char    *text,
                          guint          timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  const char *at;

  while ((at = strstr (c->out.buf->str + c->pos, text)) == NULL)
    {
      g_autofree char *why = NULL;

      if (c->exited && c->out.eof)
        {
          why = g_strdup_printf ("exited (status %d) before printing '%s'", c->status, text);
          console_fail (c, why);
        }
      if (g_get_monotonic_time () >= deadline)
        {
          why = g_strdup_printf ("no '%s' within %u s", text, timeout_s);
          console_fail (c, why);
        }
      iterate ();
    }
  c->pos = at + strlen (text) - c->out.buf->str;
}

int
ql_test_console_wait_polling (QlTestConsole    *c,
                              guint             timeout_s,
                              QlTestConsolePoll poll,
                              gpointer          data)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gboolean polling = poll != NULL;

  while (!(c->exited && c->out.eof && (c->err.buf == NULL || c->err.eof)))
    {
      if (g_get_monotonic_time () >= deadline)
        console_fail (c, "did not end in time");
      if (polling)
        {
          polling = poll (data);
          g_main_context_iteration (NULL, FALSE);
          g_usleep (5000);
        }
      else
        iterate ();
    }
  return c->status;
}

int
ql_test_console_wait (QlTestConsole *c,
                      guint          timeout_s)
{
  return ql_test_console_wait_polling (c, timeout_s, NULL, NULL);
}

int
ql_test_console_poweroff (QlTestConsole *c,
                          guint          timeout_s)
{
  write_line (c, "poweroff");
  return ql_test_console_wait (c, timeout_s);
}

void
ql_test_console_free (QlTestConsole *c)
{
  if (c == NULL)
    return;
  if (!c->exited)
    {
      if (c->proc != NULL)
        g_subprocess_force_exit (c->proc);
      else if (ql_vm_get_state (c->vm) == QL_VM_STATE_RUNNING)
        {
          ql_vm_set_grace_period (c->vm, 0);
          ql_vm_stop (c->vm);
        }
      else
        c->exited = TRUE;     /* never launched */
    }
  g_cancellable_cancel (c->cancellable);
  while (!c->exited || c->out.pending || c->err.pending)
    iterate ();
  g_clear_object (&c->in);
  g_clear_object (&c->out.stream);
  g_clear_object (&c->err.stream);
  if (c->out.buf != NULL)
    g_string_free (c->out.buf, TRUE);
  if (c->err.buf != NULL)
    g_string_free (c->err.buf, TRUE);
  g_clear_object (&c->cancellable);
  g_clear_object (&c->proc);
  g_clear_object (&c->vm);
  g_free (c->what);
  g_free (c);
}
