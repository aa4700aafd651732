/* qlaunch tests — a guest's console on pipes (see ql-test-console.h),
 * driven through QlTestProc (ql-test-proc.h). */
#include "ql-test-console.h"
#include "ql-test-proc.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

struct _QlTestConsole
{
  QlTestProc *p;            /* the pipes, the output so far, the exit */
  QlVm *vm;                 /* a VM started through the library, or NULL */
  gboolean typed;           /* a line was written to the console */
};

static const char *
vm_stderr (gpointer vm)
{
  return ql_vm_get_stderr (vm) != NULL ? ql_vm_get_stderr (vm) : "";
}

static void
vm_exited (GObject      *source,
           GAsyncResult *res,
           gpointer      user_data)
{
  QlTestConsole *c = user_data;

  ql_vm_wait_finish (QL_VM (source), res, NULL);
  c->p->status = ql_vm_get_exit_status (QL_VM (source));
  c->p->exited = TRUE;
}

QlTestConsole *
ql_test_console_spawn_cli (const char * const *args)
{
  QlTestConsole *c = g_new0 (QlTestConsole, 1);

  c->p = ql_test_proc_qlaunch (args);
  g_free (c->p->what);
  c->p->what = g_strjoinv (" ", (char **) args);
  return c;
}

QlTestConsole *
ql_test_console_for_vm (QlVm       *vm,
                        const char *what)
{
  g_autoptr(GError) error = NULL;
  QlTestConsole *c = g_new0 (QlTestConsole, 1);
  int in_pipe[2], out_pipe[2];

  g_assert_true (g_unix_open_pipe (in_pipe, FD_CLOEXEC, &error));
  g_assert_true (g_unix_open_pipe (out_pipe, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  ql_vm_set_stdin_fd (vm, in_pipe[0]);
  ql_vm_set_stdout_fd (vm, out_pipe[1]);
  close (in_pipe[0]);
  close (out_pipe[1]);

  c->vm = g_object_ref (vm);
  c->p = ql_test_proc_new_console (in_pipe[1], out_pipe[0], what);
  c->p->exited = FALSE;     /* until the VM ends */
  c->p->stderr_text = vm_stderr;
  c->p->stderr_data = vm;
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
  const char *id = c->p->proc != NULL ? g_subprocess_get_identifier (c->p->proc) : NULL;

  return id != NULL ? (GPid) atoi (id) : 0;
}

GPid
ql_test_console_get_qemu_pid (QlTestConsole *c)
{
  const char *line;

  if (c->vm != NULL)
    return ql_vm_get_pid (c->vm);
  line = strstr (c->p->err.buf->str, "QEMU started (pid ");
  return line != NULL ? (GPid) atoi (line + strlen ("QEMU started (pid ")) : 0;
}

const char *
ql_test_console_get_stderr (QlTestConsole *c)
{
  return c->vm != NULL ? vm_stderr (c->vm) : c->p->err.buf->str;
}

const char *
ql_test_console_get_output (QlTestConsole *c)
{
  return c->p->out.buf->str;
}

QlVm *
ql_test_console_get_vm (QlTestConsole *c)
{
  return c->vm;
}

gboolean
ql_test_console_has_exited (QlTestConsole *c)
{
  return c->p->exited;
}

double
ql_test_console_seconds (QlTestConsole *c)
{
  return ql_test_seconds_since (c->p->start);
}

void
ql_test_console_close_input (QlTestConsole *c)
{
  g_output_stream_close (c->p->in, NULL, NULL);
}

void
ql_test_console_fail (QlTestConsole *c,
                      const char    *why)
{
  ql_test_proc_fail (c->p, why);
}

void
ql_test_console_write (QlTestConsole *c,
                       const char    *line)
{
  ql_test_proc_write (c->p, line);
  c->typed = TRUE;
}

/* The first line gets a leading blank: QEMU's serial port takes one byte
 * before a clone's state is loaded, and loading it drops that byte. */
void
ql_test_console_send (QlTestConsole *c,
                      const char    *command)
{
  if (!c->typed)
    {
      g_autofree char *padded = g_strconcat (" ", command, NULL);

      ql_test_console_write (c, padded);
    }
  else
    ql_test_console_write (c, command);
}

char *
ql_test_console_collect (QlTestConsole *c,
                         const char    *command,
                         guint          timeout_s,
                         int           *status)
{
  return ql_test_proc_collect (c->p, command, timeout_s, status);
}

char *
ql_test_console_shell (QlTestConsole *c,
                       const char    *command,
                       guint          timeout_s,
                       int           *status)
{
  ql_test_console_send (c, command);
  return ql_test_console_collect (c, command, timeout_s, status);
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

      ql_test_console_fail (c, why);
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

  while ((at = strstr (c->p->out.buf->str + c->p->pos, text)) == NULL)
    {
      g_autofree char *why = NULL;

      if (c->p->exited && c->p->out.eof)
        {
          why = g_strdup_printf ("exited (status %d) before printing '%s'", c->p->status, text);
          ql_test_console_fail (c, why);
        }
      if (g_get_monotonic_time () >= deadline)
        {
          why = g_strdup_printf ("no '%s' within %u s", text, timeout_s);
          ql_test_console_fail (c, why);
        }
      ql_test_proc_iterate ();
    }
  c->p->pos = at + strlen (text) - c->p->out.buf->str;
}

int
ql_test_console_wait_polling (QlTestConsole    *c,
                              guint             timeout_s,
                              QlTestConsolePoll poll,
                              gpointer          data)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gboolean polling = poll != NULL;

  while (!(c->p->exited && c->p->out.eof && c->p->err.eof))
    {
      if (g_get_monotonic_time () >= deadline)
        ql_test_console_fail (c, "did not end in time");
      if (polling)
        {
          polling = poll (data);
          g_main_context_iteration (NULL, FALSE);
          g_usleep (5000);
        }
      else
        ql_test_proc_iterate ();
    }
  return c->p->status;
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
  ql_test_console_write (c, "poweroff");
  return ql_test_console_wait (c, timeout_s);
}

void
ql_test_console_poweroff_ok (QlTestConsole *c,
                             guint          timeout_s)
{
  g_assert_cmpint (ql_test_console_poweroff (c, timeout_s), ==, 0);
  ql_test_console_wait_for (c, "QLTEST-PASS shell", 0);
}

void
ql_test_console_free (QlTestConsole *c)
{
  if (c == NULL)
    return;
  if (c->vm != NULL && !c->p->exited)
    {
      if (ql_vm_get_state (c->vm) == QL_VM_STATE_RUNNING)
        {
          ql_vm_set_grace_period (c->vm, 0);
          ql_vm_stop (c->vm);
          while (!c->p->exited)
            ql_test_proc_iterate ();
        }
      else
        c->p->exited = TRUE;  /* never launched */
    }
  ql_test_proc_free (c->p);
  g_clear_object (&c->vm);
  g_free (c);
}
