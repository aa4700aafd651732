/* qlaunch — QlVm: one QEMU process of a VM configuration, run through
 * GSubprocess.
 *
 * Everything that follows the process (its exit, its stderr, the grace
 * period timer, the watch on a daemonized QEMU) runs in the VM's main
 * context: the thread-default main context of the launch call. The blocking
 * calls iterate that context themselves while they wait.
 *
 * While QEMU (or the parent of a daemonizing QEMU) runs, each pending
 * internal operation holds a reference on the VM, so a VM is never
 * finalized with a live child: the child is always reaped (by GSubprocess)
 * and its stderr always drained.
 */
#include "ql-vm-config-private.h"
#include "ql-helper-group.h"
#include "ql-runtime-dir.h"
#include "ql-pid-file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* How much of QEMU's stderr is kept. */
#define STDERR_KEEP (64 * 1024)
/* After QEMU exited, how long to wait for the end of its stderr (a child
 * of QEMU may hold the pipe open). */
#define STDERR_SETTLE_MS 500
/* Poll interval for a daemonized QEMU when pidfds are not available. */
#define DAEMON_POLL_MS 50

/**
 * ql_launch_error_quark:
 *
 * Gets the #GQuark of the #QL_LAUNCH_ERROR error domain.
 *
 * Returns: the quark of the #QL_LAUNCH_ERROR error domain
 */
G_DEFINE_QUARK (ql-launch-error-quark, ql_launch_error)

typedef struct
{
  GTask   *task;
  GSource *cancel_source;
  gboolean cancelled;      /* its cancellable stopped the VM */
} Waiter;

/**
 * QlVm:
 *
 * One run of QEMU for a #QlVmConfig: spawned through #GSubprocessLauncher,
 * followed until it exits, stopped on request or cancellation.
 *
 * A #QlVm runs QEMU once. It follows QEMU (its exit, its stderr, the grace
 * period, a daemonized QEMU's pid) in its main context: the thread-default
 * main context of the launch call, which must keep running (a main loop,
 * or the blocking ql_vm_wait(), which iterates it). Notifications are
 * emitted there; async callbacks run in the thread-default context of
 * their call. A #QlVm is not thread-safe: use it from the thread of its
 * context. While QEMU runs, the VM keeps itself alive, so its child is
 * always reaped and its stderr drained, even if the caller drops its
 * reference.
 */
struct _QlVm
{
  GObject parent_instance;

  QlVmConfig *config;
  QlVmState state;
  GPid pid;
  int exit_status;
  guint grace_period;
  gboolean stdio_inherit;
  int stdout_fd;                  /* ours (a dup), or -1 */
  int stdin_fd;                   /* ours (a dup), or -1 */
  gboolean die_with_parent;       /* PR_SET_PDEATHSIG in the child */
  gboolean unchecked;             /* ql_vm_set_check_qemu (self, FALSE) */
  char **env;                     /* QEMU's environment, or NULL: the default */

  GMainContext *context;          /* where the process is followed */
  char *binary;
  gboolean daemonize;
  char *pid_file;
  QlPidFile pid_file_made;        /* the file made for QEMU's -pidfile */
  QlProcessMark launched;         /* the process spawned: its start, its executable */

  /* Our child: QEMU, or the parent of a daemonizing QEMU. */
  GSubprocess *subprocess;
  gboolean child_exited;
  int child_status;               /* raw wait status */
  GSource *settle_source;

  /* QEMU's stderr. */
  GString *stderr_text;
  GInputStream *stderr_stream;
  GCancellable *stderr_cancellable;
  gboolean stderr_reading;

  /* A daemonized QEMU: not our child. */
  gboolean daemon;
  int pidfd;
  GSource *daemon_source;

  gboolean stopping;              /* we sent SIGTERM (or SIGKILL) */
  GSource *kill_source;

  GTask *launch_task;             /* pending while daemonizing */
  GSource *launch_cancel_source;
  gboolean launch_cancelled;
  GList *waiters;                 /* Waiter */
  GError *failure;                /* why the VM is FAILED */

  /* The devices' helper processes (virtiofsd, passt, ...): started
   * before QEMU, stopped after it. */
  QlHelperGroup *helpers;
  GCancellable *helper_cancellable;  /* cancels their start */
  gboolean helpers_starting;
  gboolean helpers_after_qemu;    /* socket activated: started right after
                                   * QEMU, which is RUNNING once they are */
  QlCmdline *pending_cmdline;     /* QEMU's, while the helpers start */
  char **pending_argv;

  /* ql_vm_build_cmdline()'s: the launch runs it. */
  QlCmdline *built_cmdline;
  char *built_runtime_dir;
  gboolean built_made_here;
  GError *helper_failure;         /* a helper died while the VM ran */
  char *helper_death;             /* "device 'x': helper y (pid N) exited
                                   * with status S while the VM ran", when
                                   * QEMU may be ending too */
  char *helper_death_output;
  GSource *helper_death_source;   /* decides which, after a moment */
  gboolean finishing;             /* QEMU gone; the helpers are stopped */

  /* QMP (ql-vm-lifecycle.c) */
  QlQmp *qmp;
  gulong qmp_event_id;
  char *run_state;                /* QMP's run state, NULL before QMP */
};

G_DEFINE_FINAL_TYPE (QlVm, ql_vm, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CONFIG,
  PROP_STATE,
  PROP_PID,
  PROP_EXIT_STATUS,
  PROP_GRACE_PERIOD,
  PROP_STDERR,
  PROP_RUN_STATE,
  PROP_QMP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_DEVICE_DELETED,
  SIGNAL_RESET,
  SIGNAL_HELPER_READY,
  SIGNAL_WATCHDOG,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void process_gone (QlVm *self);
static void stderr_read_next (QlVm *self);
static void watch_helper_death (QlVm *self);

/* Helpers */

static void
set_state (QlVm      *self,
           QlVmState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_pid (QlVm *self,
         GPid  pid)
{
  if (self->pid == pid)
    return;
  self->pid = pid;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);
}

static void
set_exit_status (QlVm *self,
                 int   status)
{
  if (self->exit_status == status)
    return;
  self->exit_status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXIT_STATUS]);
}

#define destroy_source ql_source_destroy

/* Attaches @source to the VM's context with a reference on the VM. */
static GSource *
attach_source (QlVm        *self,
               GSource     *source,
               GSourceFunc  func,
               const char  *name)
{
  return ql_source_attach_for (self, self->context, source, func, name);
}

/* QEMU's stderr for a message: valid UTF-8, without surrounding blanks. */
static char *
stderr_for_message (QlVm *self)
{
  g_autofree char *text = g_utf8_make_valid (self->stderr_text->str, self->stderr_text->len);

  return g_strdup (g_strstrip (text));
}

static gboolean
push_context (QlVm *self)
{
  return ql_context_push (self->context);
}

static void
pop_context (QlVm     *self,
             gboolean  pushed)
{
  ql_context_pop (self->context, pushed);
}

static void
write_all (int         fd,
           const void *data,
           gsize       size)
{
  const char *p = data;

  while (size > 0)
    {
      ssize_t n = write (fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      p += n;
      size -= (gsize) n;
    }
}

static int
pidfd_open_ (pid_t pid)
{
  return (int) syscall (SYS_pidfd_open, pid, 0);
}

/* Sends @sig to the process QEMU is: our child, or the daemon. */
static void
send_signal (QlVm *self,
             int   sig)
{
  if (self->daemon)
    {
      if (self->pidfd >= 0)
        {
          if (syscall (SYS_pidfd_send_signal, self->pidfd, sig, NULL, 0) == 0 || errno != ENOSYS)
            return;
        }
      /* No pidfds (Linux < 5.3): only while the pid is still the QEMU
       * checked when it was read (not a process that took it since). */
      if (self->pid > 0 && ql_process_is_ours (self->pid, &self->launched, self->pid_file, NULL))
        kill (self->pid, sig);
      return;
    }
  /* GSubprocess does nothing once the child has been reaped: no risk of
   * signalling a recycled pid. */
  if (self->subprocess != NULL && !self->child_exited)
    g_subprocess_send_signal (self->subprocess, sig);
}

/* Stderr */

static void
stderr_append (QlVm        *self,
               const char  *data,
               gsize        size)
{
  g_string_append_len (self->stderr_text, data, size);
  if (self->stderr_text->len > STDERR_KEEP)
    {
      gsize cut = self->stderr_text->len - STDERR_KEEP;
      const char *nl = memchr (self->stderr_text->str + cut, '\n', self->stderr_text->len - cut);

      /* Keep whole lines where a line ends in what is kept. */
      if (nl != NULL && nl + 1 < self->stderr_text->str + self->stderr_text->len)
        cut = (gsize) (nl + 1 - self->stderr_text->str);
      g_string_erase (self->stderr_text, 0, (gssize) cut);
    }
}

static void
stderr_done (QlVm *self)
{
  self->stderr_reading = FALSE;
  if (self->child_exited && self->settle_source != NULL)
    {
      destroy_source (&self->settle_source);
      process_gone (self);
    }
}

static void
stderr_read_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(QlVm) self = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  gsize size = 0;
  const char *data;

  data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;
  if (size == 0 || g_cancellable_is_cancelled (self->stderr_cancellable))
    {
      /* End of file, an error or cancelled: nothing more will come. */
      stderr_done (self);
      return;
    }
  stderr_append (self, data, size);
  if (self->stdio_inherit)
    write_all (STDERR_FILENO, data, size);
  stderr_read_next (self);
}

static void
stderr_read_next (QlVm *self)
{
  gboolean pushed = push_context (self);

  self->stderr_reading = TRUE;
  g_input_stream_read_bytes_async (self->stderr_stream, 16384, G_PRIORITY_DEFAULT,
                                   self->stderr_cancellable, stderr_read_cb,
                                   g_object_ref (self));
  pop_context (self, pushed);
}

/* Completion */

static void
complete_launch (QlVm   *self,
                 GError *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->launch_task);

  destroy_source (&self->launch_cancel_source);
  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
waiter_free (Waiter *waiter)
{
  destroy_source (&waiter->cancel_source);
  g_clear_object (&waiter->task);
  g_free (waiter);
}

static void
complete_waiters (QlVm *self)
{
  GList *waiters = g_steal_pointer (&self->waiters);

  for (GList *l = waiters; l != NULL; l = l->next)
    {
      Waiter *waiter = l->data;

      destroy_source (&waiter->cancel_source);
      if (waiter->cancelled)
        g_task_return_new_error (waiter->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 "The wait was cancelled: QEMU was stopped");
      else if (self->failure != NULL)
        g_task_return_error (waiter->task, g_error_copy (self->failure));
      else
        g_task_return_boolean (waiter->task, TRUE);
    }
  g_list_free_full (waiters, (GDestroyNotify) waiter_free);
}

static void finish_gone (QlVm *self, QlVmState state, int status);

typedef struct
{
  QlVm *vm;
  QlVmState state;
  int status;
} Finish;

static void
helpers_stopped_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Finish *finish = user_data;

  ql_helper_group_stop_finish (QL_HELPER_GROUP (object), result, NULL);
  finish_gone (finish->vm, finish->state, finish->status);
  g_object_unref (finish->vm);
  g_free (finish);
}

/* QEMU has ended: its helpers are stopped (they normally end by
 * themselves when QEMU's connection goes) and their runtime directory
 * removed before anyone is told. */
static void
stop_helpers_then_finish (QlVm      *self,
                          QlVmState  state,
                          int        status)
{
  Finish *finish;

  if (self->helpers == NULL || self->finishing)
    {
      finish_gone (self, state, status);
      return;
    }
  self->finishing = TRUE;
  /* QEMU is gone: a start of helpers after it goes no further. */
  if (self->helper_cancellable != NULL)
    g_cancellable_cancel (self->helper_cancellable);
  finish = g_new0 (Finish, 1);
  finish->vm = g_object_ref (self);
  finish->state = state;
  finish->status = status;
  ql_helper_group_stop_async (self->helpers, NULL, self->grace_period, helpers_stopped_cb, finish);
}

/* QEMU is gone (our child was reaped and its stderr has ended or settled,
 * or the daemon exited): record the outcome, tell everyone. */
static void
process_gone (QlVm *self)
{
  g_autoptr(QlVm) keep = g_object_ref (self);
  int status = -1;
  QlVmState state = QL_VM_STATE_EXITED;

  destroy_source (&self->kill_source);
  destroy_source (&self->settle_source);
  destroy_source (&self->daemon_source);
  destroy_source (&self->helper_death_source);
  if (self->pidfd >= 0)
    {
      close (self->pidfd);
      self->pidfd = -1;
    }
  /* A read still pending ends now (its callback sees the cancellation). */
  g_cancellable_cancel (self->stderr_cancellable);

  if (!self->daemon && self->child_exited)
    {
      int raw = self->child_status;

      if (WIFEXITED (raw))
        status = WEXITSTATUS (raw);
      else if (WIFSIGNALED (raw))
        status = 128 + WTERMSIG (raw);
    }

  if (self->helper_failure != NULL)
    {
      /* A helper died, and we stopped QEMU: that is the VM's failure. */
      state = QL_VM_STATE_FAILED;
      self->failure = g_steal_pointer (&self->helper_failure);
    }
  else if (self->stopping || self->launch_cancelled)
    state = QL_VM_STATE_EXITED;
  else if (self->daemon)
    state = QL_VM_STATE_EXITED;   /* not our child: its status is unknown */
  else if (WIFEXITED (self->child_status) && WEXITSTATUS (self->child_status) == 0)
    state = QL_VM_STATE_EXITED;
  else
    {
      g_autofree char *text = stderr_for_message (self);
      int raw = self->child_status;

      state = QL_VM_STATE_FAILED;
      if (WIFSIGNALED (raw))
        {
          if (*text != '\0')
            self->failure = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED,
                                         "QEMU '%s' was killed by signal %d (%s): %s",
                                         self->binary, WTERMSIG (raw), g_strsignal (WTERMSIG (raw)), text);
          else
            self->failure = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED,
                                         "QEMU '%s' was killed by signal %d (%s) and wrote nothing on stderr",
                                         self->binary, WTERMSIG (raw), g_strsignal (WTERMSIG (raw)));
        }
      else if (*text != '\0')
        self->failure = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED,
                                     "QEMU '%s' exited with status %d: %s",
                                     self->binary, WEXITSTATUS (raw), text);
      else
        self->failure = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED,
                                     "QEMU '%s' exited with status %d and wrote nothing on stderr",
                                     self->binary, WEXITSTATUS (raw));
    }

  /* QEMU failed right after a helper ended: say both. */
  if (state == QL_VM_STATE_FAILED && self->helper_death != NULL && self->failure != NULL
      && self->failure->domain == QL_LAUNCH_ERROR && self->failure->code != QL_LAUNCH_ERROR_HELPER)
    g_prefix_error (&self->failure, "%s; then ", self->helper_death);
  g_clear_pointer (&self->helper_death, g_free);
  g_clear_pointer (&self->helper_death_output, g_free);
  stop_helpers_then_finish (self, state, status);
}

static void
finish_gone (QlVm      *self,
             QlVmState  state,
             int        status)
{
  g_autoptr(QlVm) keep = g_object_ref (self);
  gboolean launch_pending = self->launch_task != NULL;

  /* QEMU removes its pid file when it exits cleanly, not when killed. */
  ql_pid_file_clear (&self->pid_file_made);
  set_exit_status (self, status);
  set_state (self, state);

  if (launch_pending)
    {
      /* A helper that could not start after QEMU, which was stopped. */
      if (self->failure != NULL && g_error_matches (self->failure, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER)
          && !self->launch_cancelled)
        complete_launch (self, g_error_copy (self->failure));
      else if (self->launch_cancelled || self->stopping)
        complete_launch (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                    "The launch was cancelled: QEMU was stopped"));
      else if (self->failure != NULL)
        complete_launch (self, g_error_copy (self->failure));
      else
        complete_launch (self, g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                                            "the daemonized QEMU '%s' exited before it was found",
                                            self->binary));
    }
  complete_waiters (self);

  g_clear_object (&self->stderr_stream);
  g_clear_object (&self->subprocess);
}

/* Failure of the daemon search: the launch fails with @error. */
static void
daemon_failed (QlVm   *self,
               GError *error)
{
  g_autoptr(QlVm) keep = g_object_ref (self);

  destroy_source (&self->kill_source);
  g_cancellable_cancel (self->stderr_cancellable);
  self->failure = error;
  stop_helpers_then_finish (self, QL_VM_STATE_FAILED, -1);
}

/* Stopping */

static gboolean
kill_timeout_cb (gpointer user_data)
{
  QlVm *self = user_data;

  g_clear_pointer (&self->kill_source, g_source_unref);
  send_signal (self, SIGKILL);
  /* A daemonizing QEMU that is still in its parent: kill the parent too;
   * whatever daemon it made is found through the pid file once the parent
   * is reaped. */
  return G_SOURCE_REMOVE;
}

static void
begin_stop (QlVm *self)
{
  if (self->stopping)
    return;
  /* Helpers starting after QEMU: no more of them. */
  if (self->helpers_starting && self->helpers_after_qemu)
    g_cancellable_cancel (self->helper_cancellable);
  if (self->helpers_starting && !self->helpers_after_qemu)
    {
      /* No QEMU yet: the helpers' start is cancelled, and the launch
       * fails as cancelled once they are gone. */
      self->stopping = TRUE;
      self->launch_cancelled = TRUE;
      g_cancellable_cancel (self->helper_cancellable);
      return;
    }
  if (self->state != QL_VM_STATE_STARTING && self->state != QL_VM_STATE_RUNNING)
    return;
  /* QEMU ended by itself already (its last stderr is being read): what it
   * did stands. */
  if (self->child_exited && !self->daemon)
    return;
  /* It may also have ended (killed by someone else) without its exit being
   * dispatched yet: then it was not stopped by us either, and must end
   * FAILED (a signal qlaunch did not send), not as a clean stop. WNOWAIT
   * leaves the reaping to GSubprocess; ECHILD means it is reaped already. */
  if (!self->daemon && self->pid > 0)
    {
      siginfo_t info = { 0 };

      if (waitid (P_PID, (id_t) self->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0
          ? errno == ECHILD : info.si_pid == self->pid)
        return;
    }
  self->stopping = TRUE;

  /* While QEMU daemonizes, its parent is not QEMU: a signal to it would
   * leave the daemon behind. It is waited for (it ends when the daemon is
   * ready or failed), then the daemon is stopped; the grace period bounds
   * the wait. */
  if (!(self->daemonize && !self->daemon))
    send_signal (self, self->grace_period == 0 ? SIGKILL : SIGTERM);

  self->kill_source = attach_source (self, g_timeout_source_new (self->grace_period),
                                     kill_timeout_cb, "[qlaunch] QEMU grace period");
}

/* Daemon */

static gboolean
daemon_exited_cb (gpointer user_data)
{
  QlVm *self = user_data;

  process_gone (self);
  return G_SOURCE_REMOVE;
}

static gboolean
daemon_pidfd_cb (gint         fd,
                 GIOCondition condition,
                 gpointer     user_data)
{
  return daemon_exited_cb (user_data);
}

/* Whether @pid is a process that has not exited (a zombie has: its parent,
 * not us, has yet to reap it). */
static gboolean
process_running (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *paren;

  if (kill (pid, 0) != 0 && errno == ESRCH)
    return FALSE;
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return TRUE;   /* no /proc: kill() said it exists */
  paren = strrchr (stat, ')');
  return paren == NULL || paren[1] == '\0' || paren[2] != 'Z';
}

static gboolean
daemon_poll_cb (gpointer user_data)
{
  QlVm *self = user_data;

  if (process_running (self->pid))
    return G_SOURCE_CONTINUE;
  return daemon_exited_cb (user_data);
}

/* The pid in the pid file qlaunch made, if that file is still the one
 * made and the process it names is the QEMU this launch started (QEMU's
 * executable, started no earlier than our child): never a stale or
 * planted pid. 0 with @error set otherwise. */
static GPid
read_pid_file (QlVm    *self,
               GError **error)
{
  GPid pid = ql_pid_file_read (&self->pid_file_made, error);

  if (pid == 0 || !ql_process_is_ours (pid, &self->launched, self->pid_file, error))
    return 0;
  return pid;
}

/* Starts following the daemon @pid; FALSE with @error when it is not
 * running. */
static gboolean
watch_daemon (QlVm     *self,
              GPid      pid,
              GError  **error)
{
  int pidfd = pidfd_open_ (pid);

  if (pidfd < 0 && errno == ESRCH)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "the daemonized QEMU (pid %d, from pid file '%s') is not running",
                   (int) pid, self->pid_file);
      return FALSE;
    }
  if (pidfd < 0 && !process_running (pid))
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "the daemonized QEMU (pid %d, from pid file '%s') is not running",
                   (int) pid, self->pid_file);
      return FALSE;
    }

  /* The pidfd names the process checked, not one that took its pid since. */
  if (pidfd >= 0 && !ql_process_is_ours (pid, &self->launched, self->pid_file, error))
    {
      close (pidfd);
      return FALSE;
    }
  self->daemon = TRUE;
  self->pidfd = pidfd;
  set_pid (self, pid);
  if (pidfd >= 0)
    {
      GSource *source = g_unix_fd_source_new (pidfd, G_IO_IN);

      g_source_set_callback (source, G_SOURCE_FUNC (daemon_pidfd_cb), g_object_ref (self), g_object_unref);
      g_source_set_name (source, "[qlaunch] daemonized QEMU");
      g_source_attach (source, self->context);
      self->daemon_source = source;
    }
  else
    self->daemon_source = attach_source (self, g_timeout_source_new (DAEMON_POLL_MS),
                                         daemon_poll_cb, "[qlaunch] daemonized QEMU (poll)");
  return TRUE;
}

/* The parent of a daemonizing QEMU exited with status 0: QEMU is ready and
 * has written its pid file. */
static void
daemon_ready (QlVm *self)
{
  GError *error = NULL;
  GPid pid = read_pid_file (self, &error);

  if (pid == 0 || !watch_daemon (self, pid, &error))
    {
      daemon_failed (self, error);
      return;
    }
  if (self->stopping)
    {
      /* Stopped while it daemonized: stop the daemon now (the grace timer
       * runs already). */
      send_signal (self, self->grace_period == 0 ? SIGKILL : SIGTERM);
      return;
    }
  set_state (self, QL_VM_STATE_RUNNING);
  complete_launch (self, NULL);
}

/* The parent of a daemonizing QEMU that we stopped was reaped: stop the
 * daemon it may have left. */
static void
daemon_stopped_early (QlVm *self)
{
  GPid pid = read_pid_file (self, NULL);

  if (pid > 0 && watch_daemon (self, pid, NULL))
    {
      send_signal (self, self->kill_source != NULL ? SIGTERM : SIGKILL);
      return;
    }
  process_gone (self);
}

/* Our child */

static gboolean
settle_timeout_cb (gpointer user_data)
{
  QlVm *self = user_data;

  g_clear_pointer (&self->settle_source, g_source_unref);
  process_gone (self);
  return G_SOURCE_REMOVE;
}

static void
child_wait_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(QlVm) self = user_data;
  GSubprocess *subprocess = G_SUBPROCESS (object);

  /* Never cancelled: it returns once GSubprocess has reaped the child. */
  g_subprocess_wait_finish (subprocess, result, NULL);
  self->child_exited = TRUE;
  self->child_status = g_subprocess_get_status (subprocess);

  if (self->daemonize && !self->daemon && self->state == QL_VM_STATE_STARTING)
    {
      if (self->stopping)
        {
          daemon_stopped_early (self);
          return;
        }
      if (g_subprocess_get_if_exited (subprocess) && g_subprocess_get_exit_status (subprocess) == 0)
        {
          daemon_ready (self);
          return;
        }
    }

  if (!self->stderr_reading)
    {
      process_gone (self);
      return;
    }
  /* Give the end of stderr a moment: QEMU's last words are in the error. */
  self->settle_source = attach_source (self, g_timeout_source_new (STDERR_SETTLE_MS),
                                       settle_timeout_cb, "[qlaunch] QEMU stderr settle");
}

/* GObject */

static void
ql_vm_finalize (GObject *object)
{
  QlVm *self = QL_VM (object);

  /* Every operation that could still run holds a reference: nothing is
   * pending here. */
  g_clear_object (&self->config);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->binary);
  ql_pid_file_clear (&self->pid_file_made);
  g_free (self->pid_file);
  g_clear_object (&self->subprocess);
  g_string_free (self->stderr_text, TRUE);
  g_clear_object (&self->stderr_stream);
  g_clear_object (&self->stderr_cancellable);
  if (self->pidfd >= 0)
    close (self->pidfd);
  if (self->stdout_fd >= 0)
    close (self->stdout_fd);
  if (self->stdin_fd >= 0)
    close (self->stdin_fd);
  g_strfreev (self->env);
  g_clear_error (&self->failure);
  g_clear_error (&self->helper_failure);
  g_free (self->helper_death);
  g_free (self->helper_death_output);
  g_clear_object (&self->helpers);
  g_clear_object (&self->helper_cancellable);
  g_clear_object (&self->pending_cmdline);
  g_strfreev (self->pending_argv);
  g_clear_object (&self->built_cmdline);
  g_free (self->built_runtime_dir);
  if (self->qmp != NULL)
    {
      /* The event handler went with our weak reference (connect_object). */
      ql_qmp_close (self->qmp);
      g_clear_object (&self->qmp);
    }
  g_free (self->run_state);

  G_OBJECT_CLASS (ql_vm_parent_class)->finalize (object);
}

static void
ql_vm_get_property (GObject    *object,
                    guint       prop_id,
                    GValue     *value,
                    GParamSpec *pspec)
{
  QlVm *self = QL_VM (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PID:
      g_value_set_int (value, self->pid);
      break;
    case PROP_EXIT_STATUS:
      g_value_set_int (value, self->exit_status);
      break;
    case PROP_GRACE_PERIOD:
      g_value_set_uint (value, self->grace_period);
      break;
    case PROP_RUN_STATE:
      g_value_set_string (value, self->run_state);
      break;
    case PROP_QMP:
      g_value_set_object (value, self->qmp);
      break;
    case PROP_STDERR:
      g_value_set_string (value, self->stderr_text->str);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ql_vm_set_property (GObject      *object,
                    guint         prop_id,
                    const GValue *value,
                    GParamSpec   *pspec)
{
  QlVm *self = QL_VM (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      self->config = g_value_dup_object (value);
      break;
    case PROP_GRACE_PERIOD:
      ql_vm_set_grace_period (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ql_vm_class_init (QlVmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ql_vm_finalize;
  object_class->get_property = ql_vm_get_property;
  object_class->set_property = ql_vm_set_property;

  /**
   * QlVm:config:
   *
   * The VM configuration QEMU's argv is built from, at launch.
   */
  properties[PROP_CONFIG] =
    g_param_spec_object ("config", "Config", "The VM configuration QEMU's argv is built from",
                         QL_TYPE_VM_CONFIG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVm:state:
   *
   * Where the VM is in its life; notified on every change.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", "State", "Where the VM is in its life",
                       QL_TYPE_VM_STATE, QL_VM_STATE_NEW,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVm:pid:
   *
   * The process id of QEMU (of the daemon, once a daemonizing QEMU is
   * found), or 0 before the launch.
   */
  properties[PROP_PID] =
    g_param_spec_int ("pid", "Pid", "The process id of QEMU, or 0 before the launch",
                      0, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVm:exit-status:
   *
   * QEMU's exit status, 128 + the signal number when a signal ended it,
   * or -1 while it runs or when it is not known (a daemonized QEMU).
   */
  properties[PROP_EXIT_STATUS] =
    g_param_spec_int ("exit-status", "Exit status",
                      "QEMU's exit status (128 + signal when killed), or -1 while running or unknown",
                      -1, G_MAXINT, -1,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVm:grace-period:
   *
   * Milliseconds between SIGTERM and SIGKILL when QEMU is stopped; 0 sends
   * SIGKILL at once.
   */
  properties[PROP_GRACE_PERIOD] =
    g_param_spec_uint ("grace-period", "Grace period",
                       "Milliseconds between SIGTERM and SIGKILL when QEMU is stopped",
                       0, G_MAXUINT, 5000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVm:stderr:
   *
   * What QEMU wrote on its standard error so far (the last 64 KiB). Not
   * notified.
   */
  properties[PROP_STDERR] =
    g_param_spec_string ("stderr", "Stderr", "What QEMU wrote on its standard error (the last 64 KiB)",
                         "",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * QlVm:run-state:
   *
   * QEMU's run state as QMP reports it (`running`, `paused`, `prelaunch`,
   * `inmigrate`, `postmigrate`, `shutdown`, ...), kept in sync from the
   * STOP, RESUME and SHUTDOWN events once ql_vm_connect_qmp() succeeded;
   * %NULL before.
   */
  properties[PROP_RUN_STATE] =
    g_param_spec_string ("run-state", "Run state", "QEMU's run state as QMP reports it",
                         NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVm:qmp:
   *
   * The VM's QMP client once ql_vm_connect_qmp() succeeded.
   */
  properties[PROP_QMP] =
    g_param_spec_object ("qmp", "QMP", "The VM's QMP client",
                         QL_TYPE_QMP,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QlVm::device-deleted:
   * @self: the VM
   * @id: (nullable): the device's id (%NULL for a device without one)
   * @path: the device's QOM path
   *
   * QEMU reported a device gone (`DEVICE_DELETED`).
   */
  signals[SIGNAL_DEVICE_DELETED] =
    g_signal_new ("device-deleted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * QlVm::reset:
   * @self: the VM
   * @guest: whether the guest asked for it
   * @reason: QEMU's reason, e.g. `guest-reset`, `host-qmp-system-reset`
   *
   * The VM was reset (`RESET`).
   */
  signals[SIGNAL_RESET] =
    g_signal_new ("reset", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
  /**
   * QlVm::helper-ready:
   * @self: the VM
   * @device_id: the device that declared the helper
   * @name: the helper's name, e.g. `virtiofsd`
   * @pid: its process id
   *
   * A device's helper process (#QlHelper) was started and listens on its
   * socket; emitted before QEMU starts, once per helper, in start order.
   * A clone of a template with virtio-fs shares emits it too for each
   * share's virtiofsd, started while the clone is being made (before its
   * share is hot-plugged); that helper is followed and stopped as the
   * launch's are.
   *
   * Since: ABI 1.2
   */
  signals[SIGNAL_HELPER_READY] =
    g_signal_new ("helper-ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT);
  /**
   * QlVm::watchdog:
   * @self: the VM
   * @action: what QEMU does, %QL_WATCHDOG_ACTION_OTHER for an action
   *   qlaunch does not know
   * @action_name: the action as QEMU names it (`reset`, `shutdown`,
   *   `poweroff`, `pause`, `debug`, `none`, `inject-nmi`)
   *
   * The guest's watchdog fired: the guest stopped feeding it (QMP event
   * `WATCHDOG`). QEMU reports it before it does the action, so a
   * `poweroff` or `shutdown` is usually followed by QEMU's exit. Emitted
   * once ql_vm_connect_qmp() succeeded.
   *
   * Since: 0.2
   */
  signals[SIGNAL_WATCHDOG] =
    g_signal_new ("watchdog", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, QL_TYPE_WATCHDOG_ACTION, G_TYPE_STRING);
}

/* QMP state, for ql-vm-lifecycle.c */

/**
 * ql_vm_get_qmp:
 * @self: a #QlVm
 *
 * Gets the VM's QMP client.
 *
 * Returns: (transfer none) (nullable): the VM's QMP client once
 *   ql_vm_connect_qmp() succeeded
 */
QlQmp *
ql_vm_get_qmp (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), NULL);
  return self->qmp;
}

/**
 * ql_vm_get_run_state:
 * @self: a #QlVm
 *
 * Gets QEMU's run state (`prelaunch`, `running`, `paused`, `shutdown`, ...),
 * followed over QMP once ql_vm_connect_qmp() succeeded.
 *
 * Returns: (nullable): QEMU's run state as QMP reports it (#QlVm:run-state)
 */
const char *
ql_vm_get_run_state (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), NULL);
  return self->run_state;
}

void
ql_vm_set_run_state (QlVm       *self,
                     const char *run_state)
{
  if (g_strcmp0 (self->run_state, run_state) == 0)
    return;
  g_free (self->run_state);
  self->run_state = g_strdup (run_state);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_STATE]);
}

void
ql_vm_set_qmp (QlVm   *self,
               QlQmp  *qmp,
               GCallback on_event)
{
  if (self->qmp != NULL)
    {
      if (g_signal_handler_is_connected (self->qmp, self->qmp_event_id))
        g_signal_handler_disconnect (self->qmp, self->qmp_event_id);
      g_clear_object (&self->qmp);
    }
  if (qmp != NULL)
    {
      self->qmp = g_object_ref (qmp);
      self->qmp_event_id = g_signal_connect_object (qmp, "event", on_event, self, 0);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QMP]);
}

void
ql_vm_emit_device_deleted (QlVm       *self,
                           const char *id,
                           const char *path)
{
  g_signal_emit (self, signals[SIGNAL_DEVICE_DELETED], 0, id, path);
}

void
ql_vm_emit_reset (QlVm       *self,
                  gboolean    guest,
                  const char *reason)
{
  g_signal_emit (self, signals[SIGNAL_RESET], 0, guest, reason);
}

void
ql_vm_emit_watchdog (QlVm       *self,
                     const char *action_name)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (QL_TYPE_WATCHDOG_ACTION);
  GEnumValue *value = g_enum_get_value_by_nick (klass, action_name);
  QlWatchdogAction action = value != NULL ? (QlWatchdogAction) value->value : QL_WATCHDOG_ACTION_OTHER;

  g_signal_emit (self, signals[SIGNAL_WATCHDOG], 0, action, action_name);
}

static void
ql_vm_init (QlVm *self)
{
  self->grace_period = 5000;
  self->exit_status = -1;
  self->stdout_fd = -1;
  self->stdin_fd = -1;
  self->pidfd = -1;
  self->stderr_text = g_string_new (NULL);
  self->stderr_cancellable = g_cancellable_new ();
}

/* Public API */

/**
 * ql_vm_new:
 * @config: the VM configuration
 *
 * Creates a VM for @config. Nothing runs until ql_vm_launch() or
 * ql_vm_launch_async(); the configuration is read (and QEMU's argv built)
 * at launch.
 *
 * Returns: (transfer full): a new #QlVm in state %QL_VM_STATE_NEW
 */
QlVm *
ql_vm_new (QlVmConfig *config)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (config), NULL);
  return g_object_new (QL_TYPE_VM, "config", config, NULL);
}

/**
 * ql_vm_get_config:
 * @self: a #QlVm
 *
 * Gets the configuration the VM was created with.
 *
 * Returns: (transfer none): the VM's configuration
 */
QlVmConfig *
ql_vm_get_config (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), NULL);
  return self->config;
}

/**
 * ql_vm_get_state:
 * @self: a #QlVm
 *
 * Gets the VM's state in its life: new, starting, running, exited or failed.
 *
 * Returns: the VM's state (#QlVm:state)
 */
QlVmState
ql_vm_get_state (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), QL_VM_STATE_NEW);
  return self->state;
}

/**
 * ql_vm_get_pid:
 * @self: a #QlVm
 *
 * The process id of QEMU: the child spawned, or for a daemonized QEMU the
 * pid read from its pid file once the launch completed. It stays set after
 * QEMU exited (the process is then gone).
 *
 * Returns: the pid, or 0 before the launch
 */
GPid
ql_vm_get_pid (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), 0);
  return self->pid;
}

/**
 * ql_vm_get_exit_status:
 * @self: a #QlVm
 *
 * Gets QEMU's exit status.
 *
 * Returns: QEMU's exit status once it ended (128 + the signal number when
 *   a signal ended it), or -1 while it runs, before the launch, or when the
 *   status cannot be known (a daemonized QEMU is not our child)
 */
int
ql_vm_get_exit_status (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), -1);
  return self->exit_status;
}

/**
 * ql_vm_get_stderr:
 * @self: a #QlVm
 *
 * What QEMU wrote on its standard error so far: the last 64 KiB, read
 * continuously while QEMU runs (also with ql_vm_set_stdio_inherit()).
 *
 * Returns: (transfer none): the text; it changes when the VM's main
 *   context runs, so copy it to keep it
 */
const char *
ql_vm_get_stderr (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), NULL);
  return self->stderr_text->str;
}

/**
 * ql_vm_get_grace_period:
 * @self: a #QlVm
 *
 * Gets the grace period given to QEMU between SIGTERM and SIGKILL.
 *
 * Returns: the milliseconds between SIGTERM and SIGKILL when QEMU is
 *   stopped (#QlVm:grace-period)
 */
guint
ql_vm_get_grace_period (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), 0);
  return self->grace_period;
}

/**
 * ql_vm_set_grace_period:
 * @self: a #QlVm
 * @milliseconds: the time QEMU has to exit after SIGTERM before it is sent
 *   SIGKILL; 0 sends SIGKILL at once
 *
 * Sets #QlVm:grace-period (default 5000). A stop already in progress keeps
 * the period it started with.
 */
void
ql_vm_set_grace_period (QlVm  *self,
                        guint  milliseconds)
{
  g_return_if_fail (QL_IS_VM (self));
  if (self->grace_period == milliseconds)
    return;
  self->grace_period = milliseconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GRACE_PERIOD]);
}

/**
 * ql_vm_set_stdio_inherit:
 * @self: a #QlVm
 * @inherit: whether QEMU shares this process's stdin and stdout
 *
 * By default QEMU's stdin and stdout are `/dev/null` and its stderr is
 * captured. With @inherit, QEMU inherits stdin and stdout (so a
 * `-nographic` guest console is on the terminal) and its stderr is still
 * captured and also copied, as it arrives, to this process's stderr. Call
 * before the launch.
 */
void
ql_vm_set_stdio_inherit (QlVm     *self,
                         gboolean  inherit)
{
  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (self->state == QL_VM_STATE_NEW);
  self->stdio_inherit = !!inherit;
}

/**
 * ql_vm_set_stdout_fd:
 * @self: a #QlVm
 * @fd: a descriptor open for writing, or -1
 *
 * Sends QEMU's standard output (with `-nographic` and the default devices:
 * the guest's serial console) to @fd instead of `/dev/null` (or of the
 * stdout inherited with ql_vm_set_stdio_inherit()). @fd is duplicated now:
 * the caller keeps @fd and may close it; the VM closes its duplicate once
 * QEMU is spawned, so the reader of a pipe sees its end when QEMU exits.
 * -1 undoes a previous call. Call before the launch.
 */
void
ql_vm_set_stdout_fd (QlVm *self,
                     int   fd)
{
  int copy = -1;

  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (self->state == QL_VM_STATE_NEW);
  g_return_if_fail (fd >= -1);

  if (fd >= 0)
    {
      copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      g_return_if_fail (copy >= 0);
    }
  if (self->stdout_fd >= 0)
    close (self->stdout_fd);
  self->stdout_fd = copy;
}

/**
 * ql_vm_set_stdin_fd:
 * @self: a #QlVm
 * @fd: a descriptor open for reading, or -1
 *
 * Gives QEMU @fd as its standard input (with the serial console on stdio:
 * what the guest reads) instead of `/dev/null`. As with
 * ql_vm_set_stdout_fd(), @fd is duplicated now and the duplicate closed
 * once QEMU is spawned. -1 undoes a previous call. Call before the launch.
 */
void
ql_vm_set_stdin_fd (QlVm *self,
                    int   fd)
{
  int copy = -1;

  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (self->state == QL_VM_STATE_NEW);
  g_return_if_fail (fd >= -1);

  if (fd >= 0)
    {
      copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      g_return_if_fail (copy >= 0);
    }
  if (self->stdin_fd >= 0)
    close (self->stdin_fd);
  self->stdin_fd = copy;
}

/**
 * ql_vm_set_die_with_parent:
 * @self: a #QlVm
 * @die_with_parent: whether QEMU is killed when this process dies
 *
 * With @die_with_parent, QEMU is sent SIGKILL by the kernel as soon as the
 * process that launched it dies, however it dies (even by SIGKILL, when
 * nothing of qlaunch can run): no VM outlives a crashed launcher. It is
 * set up between fork and exec by the #GSubprocessLauncher child-setup
 * function: `prctl (PR_SET_PDEATHSIG, SIGKILL)`, then a check that the
 * parent is still the launcher (a launcher that died before the prctl
 * would go unnoticed: QEMU then exits before it starts).
 *
 * Linux ties the death signal to the thread that spawned QEMU, not to the
 * process: launch from a thread that lives as long as the VM (the main
 * thread, or the thread of the VM's main context), or QEMU is killed when
 * that thread exits. The signal is not inherited across fork, so a
 * daemonizing QEMU (the `daemonize` knob) is not covered once it has
 * forked. Linux only; the default is %FALSE. Call before the launch.
 *
 * QEMU always runs with the file mode creation mask 077, so that the
 * sockets (QMP, chardevs), pid file and memory-backend files it creates
 * are its user's only (a socket is 0600: nobody else can connect).
 *
 * Independently of this, QEMU always runs in a process group of its own
 * (`setpgid (0, 0)` in the same child setup), so that a signal to the
 * launcher's process group (a job-control signal, a supervisor's kill) does
 * not reach QEMU behind qlaunch's back: qlaunch stops it (ql_vm_stop()). The
 * exception is a QEMU whose standard input or output is a terminal
 * (ql_vm_set_stdio_inherit() on a terminal): it stays in the launcher's
 * process group, which is the terminal's foreground group, as a console on
 * the terminal needs (a background group is stopped by SIGTTIN and SIGTTOU
 * when it reads the terminal or sets it up).
 */
void
ql_vm_set_die_with_parent (QlVm     *self,
                           gboolean  die_with_parent)
{
  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (self->state == QL_VM_STATE_NEW);
  self->die_with_parent = !!die_with_parent;
}

/**
 * ql_vm_set_check_qemu:
 * @self: a #QlVm in state %QL_VM_STATE_NEW
 * @check: whether the launch checks the VM against its QEMU binary
 *
 * By default the launch builds QEMU's command line checked against the
 * binary that runs it, as `qlaunch run` does
 * (ql_vm_config_build_checked_cmdline()): the binary's capabilities are
 * probed once and then read from the cache, plugins see the machine type
 * the binary resolves and its version, and a device type, property,
 * machine type or option the binary lacks fails the launch with a
 * #QL_QEMU_CAPS_ERROR before QEMU starts, naming what the binary offers
 * instead (%QL_QEMU_CAPS_ERROR_INCOMPATIBLE). A binary that cannot be
 * probed fails the launch too, with the probe's error and this function
 * named, except a missing one, which the launch reports as
 * %QL_LAUNCH_ERROR_SPAWN.
 *
 * With @check %FALSE, or when the configuration's host checks are off
 * (ql_vm_config_set_host_probe() with %NULL), the command line is built
 * unchecked (ql_vm_config_build_cmdline()), for the QEMU 7.2 forms or the
 * version set with ql_vm_config_set_qemu_version(): for a wrapper script
 * that is not QEMU, or a caller that checked the configuration itself.
 * Call before the launch.
 *
 * Since: ABI 1.4
 */
void
ql_vm_set_check_qemu (QlVm     *self,
                      gboolean  check)
{
  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (self->state == QL_VM_STATE_NEW);
  self->unchecked = !check;
}

/**
 * ql_vm_get_check_qemu:
 * @self: a #QlVm
 *
 * Gets what ql_vm_set_check_qemu() set.
 *
 * Returns: whether the launch checks the VM against its QEMU binary
 *
 * Since: ABI 1.4
 */
gboolean
ql_vm_get_check_qemu (QlVm *self)
{
  g_return_val_if_fail (QL_IS_VM (self), FALSE);
  return !self->unchecked;
}

/**
 * ql_vm_set_environ:
 * @self: a #QlVm
 * @env: (array zero-terminated=1) (element-type filename) (nullable): the
 *   whole environment of QEMU, as `NAME=VALUE` strings, or %NULL for the
 *   default
 *
 * Sets the environment QEMU runs with: exactly @env, nothing of this
 * process's environment is added. By default (and with %NULL), QEMU gets
 * only these variables of this process's environment, as they are at the
 * launch: `PATH`, `HOME`, `LANG`, `LC_*`, `TMPDIR` and `XDG_RUNTIME_DIR`.
 * Everything else (credentials, `LD_PRELOAD`, proxies, a display) stays
 * out; a QEMU that needs more (for example `DISPLAY`, `WAYLAND_DISPLAY` or
 * `XAUTHORITY` for a graphical display) is given its full environment
 * here, for example from g_get_environ() and g_environ_setenv(). @env is
 * copied. Call before the launch.
 */
void
ql_vm_set_environ (QlVm               *self,
                   const char * const *env)
{
  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (self->state == QL_VM_STATE_NEW);
  g_strfreev (self->env);
  self->env = g_strdupv ((char **) env);
}

/* QEMU's environment: the caller's, or the allowed part of ours. */
static char **
qemu_environ (QlVm *self)
{
  g_auto(GStrv) all = NULL;
  GPtrArray *kept;

  if (self->env != NULL)
    return g_strdupv (self->env);
  all = g_get_environ ();
  kept = g_ptr_array_new ();
  for (guint i = 0; all[i] != NULL; i++)
    if (ql_env_passed_by_default (all[i]))
      g_ptr_array_add (kept, g_strdup (all[i]));
  g_ptr_array_add (kept, NULL);
  return (char **) g_ptr_array_free (kept, FALSE);
}

static void
launch_cancelled_cb (QlVm *self)
{
  self->launch_cancelled = TRUE;
  g_clear_pointer (&self->launch_cancel_source, g_source_unref);
  begin_stop (self);
}

static gboolean
launch_cancel_source_cb (GCancellable *cancellable,
                         gpointer      user_data)
{
  launch_cancelled_cb (user_data);
  return G_SOURCE_REMOVE;
}

/* Builds the launcher: stdio and the fds of @cmdline at 3 upward. */
static GSubprocessLauncher *
make_launcher (QlVm       *self,
               QlCmdline  *cmdline,
               GError    **error)
{
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDERR_PIPE;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  GArray *fds = ql_cmdline_get_fds (cmdline);
  g_autoptr(GArray) dups = g_array_new (FALSE, FALSE, sizeof (int));
  int stdout_copy = -1;
  int stdin_copy = -1;

  if (self->stdio_inherit)
    flags |= G_SUBPROCESS_FLAGS_STDIN_INHERIT;   /* stdout: inherited by default */
  else if (self->stdout_fd < 0)
    flags |= G_SUBPROCESS_FLAGS_STDOUT_SILENCE;
  /* (stdin is /dev/null unless inherited) */

  /* Duplicates first (close-on-exec, above every target number so no
   * source is also a target): the caller's descriptors stay its own. */
  for (guint i = 0; i < fds->len; i++)
    {
      int fd = g_array_index (fds, int, i);
      int copy = fcntl (fd, F_DUPFD_CLOEXEC, 3 + (int) fds->len);

      if (copy < 0)
        {
          int saved = errno;

          for (guint j = 0; j < dups->len; j++)
            close (g_array_index (dups, int, j));
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                       "cannot pass descriptor %d to QEMU as %d: %s",
                       fd, 3 + (int) i, g_strerror (saved));
          return NULL;
        }
      g_array_append_val (dups, copy);
    }
  if (self->stdout_fd >= 0)
    {
      stdout_copy = fcntl (self->stdout_fd, F_DUPFD_CLOEXEC, 3 + (int) fds->len);
      if (stdout_copy < 0)
        {
          int saved = errno;

          for (guint j = 0; j < dups->len; j++)
            close (g_array_index (dups, int, j));
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                       "cannot give QEMU its standard output: %s", g_strerror (saved));
          return NULL;
        }
    }

  if (self->stdin_fd >= 0)
    {
      stdin_copy = fcntl (self->stdin_fd, F_DUPFD_CLOEXEC, 3 + (int) fds->len);
      if (stdin_copy < 0)
        {
          int saved = errno;

          for (guint j = 0; j < dups->len; j++)
            close (g_array_index (dups, int, j));
          if (stdout_copy >= 0)
            close (stdout_copy);
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                       "cannot give QEMU its standard input: %s", g_strerror (saved));
          return NULL;
        }
      flags &= ~G_SUBPROCESS_FLAGS_STDIN_INHERIT;
    }

  launcher = g_subprocess_launcher_new (flags);
  /* QEMU 7.2 takes a firmware or ROM file it looks for by name (its
   * defaults included: bios-256k.bin, efi-virtio.rom) from its working
   * directory first. A VM read from a file has only absolute paths, so its
   * QEMU runs in /, where nobody plants such a file. */
  if (self->config != NULL && ql_vm_config_get_base_dir (self->config) != NULL)
    g_subprocess_launcher_set_cwd (launcher, "/");
  if (stdin_copy >= 0)
    g_subprocess_launcher_take_stdin_fd (launcher, stdin_copy);
  for (guint i = 0; i < dups->len; i++)
    g_subprocess_launcher_take_fd (launcher, g_array_index (dups, int, i), 3 + (int) i);
  if (stdout_copy >= 0)
    g_subprocess_launcher_take_stdout_fd (launcher, stdout_copy);
  return g_steal_pointer (&launcher);
}

typedef struct
{
  int pid_fd;                 /* the pid pipe's write end */
  gboolean die_with_parent;
  pid_t parent;               /* the launcher */
} ChildSetup;

/* In the child, between fork and exec (after GLib set up its stdio and
 * descriptors): async-signal-safe calls only. */
static void
child_setup (gpointer user_data)
{
  const ChildSetup *setup = user_data;
  pid_t pid = getpid ();
  ssize_t n;

  /* A process group of its own, except for a console on a terminal (see
   * ql_vm_set_die_with_parent()). */
  if (!isatty (STDIN_FILENO) && !isatty (STDOUT_FILENO))
    setpgid (0, 0);
  /* What QEMU creates (QMP and chardev sockets, the pid file, memory
   * backend files) is its user's only: sockets 0600 (connecting needs
   * write permission), files 0600, directories 0700. */
  umask (077);
  if (setup->die_with_parent)
    {
      /* The launcher may have died before the prctl: then nothing would
       * kill QEMU; it must not start. */
      if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid () != setup->parent)
        _exit (127);
    }
  n = write (setup->pid_fd, &pid, sizeof pid);
  (void) n;
}

/* A close-on-exec pipe whose write end is at @min_fd or above: no
 * descriptor QEMU receives (3 up to @min_fd - 1) can land on it in the
 * child before report_pid() runs. */
static gboolean
open_pid_pipe (int      fds[2],
               int      min_fd,
               GError **error)
{
  int high;

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, error))
    return FALSE;
  high = fcntl (fds[1], F_DUPFD_CLOEXEC, min_fd);
  if (high < 0)
    {
      int saved = errno;

      close (fds[0]);
      close (fds[1]);
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "cannot start QEMU: %s", g_strerror (saved));
      return FALSE;
    }
  close (fds[1]);
  fds[1] = high;
  return TRUE;
}

static GPid
read_reported_pid (int fd)
{
  pid_t pid = 0;
  ssize_t n;

  /* Written before exec, and the spawn returned after exec: no wait. */
  do
    n = read (fd, &pid, sizeof pid);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t) sizeof pid ? (GPid) pid : 0;
}

/* The launch failed before or while QEMU started: the helpers started
 * for it go first (and the runtime directory), then the launch fails. */
static void
fail_launch (QlVm   *self,
             GError *error)
{
  g_clear_error (&self->failure);
  self->failure = error;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      self->launch_cancelled = TRUE;
      stop_helpers_then_finish (self, QL_VM_STATE_EXITED, -1);
      return;
    }
  stop_helpers_then_finish (self, QL_VM_STATE_FAILED, -1);
}

/* The program to execute for @binary (argv[0]: a path, or a name found
 * in PATH), once it is known to be one no other user can change
 * (ql_path_check_trusted()): the file checked, so that what runs is what
 * was checked (no second PATH search in the child, which would also try
 * every directory before it with a failing exec). One that cannot be found
 * is returned as it is, for the spawn to say so. NULL when untrusted. */
static char *
qemu_binary_trusted (const char  *binary,
                     GError     **error)
{
  g_autofree char *found = strchr (binary, '/') == NULL ? g_find_program_in_path (binary)
                                                        : g_canonicalize_filename (binary, NULL);

  if (found == NULL || !g_file_test (found, G_FILE_TEST_EXISTS))
    return g_strdup (binary);
  if (!ql_path_check_trusted ("QEMU binary", found, error))
    return NULL;
  return g_steal_pointer (&found);
}

/* Spawns QEMU with @argv (the launch task is pending in the VM). */
static void
spawn_qemu (QlVm       *self,
            QlCmdline  *cmdline,
            char      **argv)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = NULL;
  int pid_pipe[2] = { -1, -1 };
  ChildSetup setup = { -1, FALSE, 0 };
  GPid pid = 0;
  guint64 spawn_ticks = 0;
  gboolean pushed;
  g_autofree char *program = NULL;

  program = qemu_binary_trusted (argv[0], &error);
  if (program != NULL)
    launcher = make_launcher (self, cmdline, &error);
  if (launcher != NULL && !open_pid_pipe (pid_pipe, 3 + (int) ql_cmdline_get_fds (cmdline)->len, &error))
    g_clear_object (&launcher);
  if (launcher != NULL)
    {
      /* GSubprocess forgets the pid once it reaped the child, which for a
       * QEMU that exits at once can be before we ask: the child reports
       * its pid itself, before exec. */
      setup.pid_fd = pid_pipe[1];
      setup.die_with_parent = self->die_with_parent;
      setup.parent = getpid ();
      /* The spawn forks and returns before @setup goes out of scope. */
      g_subprocess_launcher_set_child_setup (launcher, child_setup, &setup, NULL);
      env = qemu_environ (self);
      g_subprocess_launcher_set_environ (launcher, env);
      /* The program checked above, with QEMU's argv[0] naming it. */
      g_free (argv[0]);
      argv[0] = g_strdup (program);
      spawn_ticks = ql_process_now_ticks ();
      self->subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &error);
      /* Closes our duplicates now: only QEMU holds them. */
      g_clear_object (&launcher);
      close (pid_pipe[1]);
      if (self->subprocess != NULL)
        pid = read_reported_pid (pid_pipe[0]);
      close (pid_pipe[0]);
    }
  /* A QlVm runs QEMU once: its copy of the stdout descriptor is not needed
   * any more (and would keep the reader of the pipe from seeing its end). */
  if (self->stdout_fd >= 0)
    {
      close (self->stdout_fd);
      self->stdout_fd = -1;
    }
  if (self->stdin_fd >= 0)
    {
      close (self->stdin_fd);
      self->stdin_fd = -1;
    }
  if (self->subprocess == NULL)
    {
      if (error->domain != QL_LAUNCH_ERROR)
        {
          GError *spawn_error = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                                             "cannot start QEMU '%s': %s", argv[0], error->message);

          g_clear_error (&error);
          error = spawn_error;
        }
      fail_launch (self, g_steal_pointer (&error));
      return;
    }

  if (pid <= 0)
    {
      const char *identifier = g_subprocess_get_identifier (self->subprocess);

      pid = identifier != NULL ? (GPid) atoi (identifier) : 0;
    }
  set_pid (self, pid);
  /* What tells a daemon it forks from a process that reuses a pid later;
   * GSubprocess returned after the exec. */
  if (self->daemonize)
    ql_process_mark_spawned (pid, self->binary, spawn_ticks, &self->launched);

  self->stderr_stream = g_object_ref (g_subprocess_get_stderr_pipe (self->subprocess));
  pushed = push_context (self);
  g_subprocess_wait_async (self->subprocess, NULL, child_wait_cb, g_object_ref (self));
  pop_context (self, pushed);
  stderr_read_next (self);

  if (self->helper_death != NULL)
    watch_helper_death (self);
  if (!self->daemonize && !self->helpers_after_qemu)
    {
      set_state (self, QL_VM_STATE_RUNNING);
      complete_launch (self, NULL);
    }
  /* A daemonizing QEMU: the launch completes when its parent exits; with
   * helpers to start after QEMU, once they are started. */
}

static void
helpers_started_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(QlVm) self = user_data;
  g_autoptr(QlCmdline) cmdline = g_steal_pointer (&self->pending_cmdline);
  g_auto(GStrv) argv = g_steal_pointer (&self->pending_argv);
  GError *error = NULL;

  self->helpers_starting = FALSE;
  if (!ql_helper_group_start_finish (QL_HELPER_GROUP (object), result, &error))
    {
      fail_launch (self, error);
      return;
    }
  if (self->stopping || self->launch_cancelled)
    {
      fail_launch (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                              "The launch was cancelled: QEMU was stopped"));
      return;
    }
  spawn_qemu (self, cmdline, argv);
}

static void
helpers_started_after_qemu_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(QlVm) self = user_data;
  GError *error = NULL;

  self->helpers_starting = FALSE;
  if (!ql_helper_group_start_finish (QL_HELPER_GROUP (object), result, &error))
    {
      /* QEMU is being stopped or has ended: the launch ends with it. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->stopping
          || self->finishing || self->child_exited)
        {
          g_error_free (error);
          return;
        }
      /* A helper that cannot start: QEMU, which waits for it, is stopped,
       * and the launch fails with the helper's error once QEMU is gone. */
      g_clear_error (&self->helper_failure);
      self->helper_failure = error;
      begin_stop (self);
      return;
    }
  if (self->launch_task == NULL || self->stopping || self->finishing || self->child_exited
      || self->state != QL_VM_STATE_STARTING)
    return;
  set_state (self, QL_VM_STATE_RUNNING);
  complete_launch (self, NULL);
}

static void
helper_ready (QlHelperGroup   *group,
              QlHelperProcess *helper,
              gpointer         user_data)
{
  QlVm *self = user_data;

  (void) group;
  g_signal_emit (self, signals[SIGNAL_HELPER_READY], 0, ql_helper_process_get_device_id (helper),
                 ql_helper_process_get_name (helper), (int) ql_helper_process_get_pid (helper));
}

/* How long a helper's death waits for QEMU's: a helper such as virtiofsd
 * ends when QEMU's connection to it goes, so when QEMU exits (a guest
 * power-off) its helper may be seen ending first. */
#define HELPER_DEATH_SETTLE_MS 300

static gboolean
helper_death_settled_cb (gpointer user_data)
{
  QlVm *self = user_data;

  g_clear_pointer (&self->helper_death_source, g_source_unref);
  if (self->child_exited || self->stopping || self->finishing)
    return G_SOURCE_REMOVE;   /* QEMU ended (or is being stopped): its story stands */
  /* QEMU still runs without it: the VM fails with the helper's story. */
  if (*self->helper_death_output != '\0')
    self->helper_failure = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                                        "%s; QEMU was stopped. It said: %s",
                                        self->helper_death, self->helper_death_output);
  else
    self->helper_failure = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                                        "%s, and wrote nothing; QEMU was stopped", self->helper_death);
  begin_stop (self);
  return G_SOURCE_REMOVE;
}

static void
watch_helper_death (QlVm *self)
{
  if (self->helper_death_source == NULL)
    self->helper_death_source = attach_source (self, g_timeout_source_new (HELPER_DEATH_SETTLE_MS),
                                               helper_death_settled_cb, "[qlaunch] helper death");
}

/* A helper ended by itself while QEMU runs: the VM cannot work without
 * it. Unless QEMU ends at the same moment (which ended the helper), QEMU
 * is stopped and the VM fails with the helper's story. */
static void
helper_died (QlHelperGroup   *group,
             QlHelperProcess *helper,
             gpointer         user_data)
{
  QlVm *self = user_data;
  g_autofree char *who = NULL;
  g_autofree char *how = NULL;

  (void) group;
  if (self->finishing || self->stopping || self->helper_death != NULL || self->helper_failure != NULL
      || self->child_exited)
    return;
  who = ql_helper_process_describe (helper);
  how = ql_helper_process_describe_exit (helper);
  self->helper_death = g_strdup_printf ("%s %s while the VM ran", who, how);
  self->helper_death_output = ql_helper_process_get_output (helper);
  /* Before QEMU runs (a socket-activated helper that died while the next
   * one, or QEMU, was being started): QEMU is watched from its spawn. */
  if (self->subprocess != NULL)
    watch_helper_death (self);
}

QlHelperGroup *
ql_vm_get_hotplug_helpers (QlVm       *self,
                           const char *runtime_dir)
{
  g_return_val_if_fail (QL_IS_VM (self), NULL);

  if (self->state != QL_VM_STATE_RUNNING || self->stopping || self->finishing || self->child_exited)
    return NULL;
  if (self->helpers == NULL)
    {
      self->helpers = ql_helper_group_new (self->context, runtime_dir, TRUE, -1);
      ql_helper_group_set_died_func (self->helpers, helper_died, self);
      ql_helper_group_set_ready_func (self->helpers, helper_ready, self);
    }
  return self->helpers;
}

/* QEMU's command line for a launch, in the VM's runtime directory: the
 * configuration's, or a fresh one (*@made_here) that is created only if a
 * helper needs it. A binary that cannot be probed fails the checked build
 * with the probe's error, @hint appended; a missing one is built
 * unchecked (the spawn names it). */
static QlCmdline *
build_cmdline (QlVm        *self,
               const char  *hint,
               char       **runtime_dir,
               gboolean    *made_here,
               GError     **error)
{
  const char *explicit_dir = ql_vm_config_get_runtime_dir (self->config);

  *made_here = explicit_dir == NULL;
  *runtime_dir = explicit_dir != NULL
                 ? g_strdup (explicit_dir)
                 : ql_runtime_dir_propose (ql_vm_config_get_str (self->config, QL_VM_PROP_NAME));
  if (!self->unchecked && ql_vm_config_get_host_probe (self->config) != NULL)
    {
      g_autoptr(GError) local = NULL;
      QlCmdline *cmdline = ql_vm_config_build_checked_cmdline_in (self->config, *runtime_dir, &local);

      if (cmdline != NULL)
        return cmdline;
      if (!g_error_matches (local, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_NOT_FOUND))
        {
          if (local->domain == QL_QEMU_CAPS_ERROR && local->code != QL_QEMU_CAPS_ERROR_INCOMPATIBLE)
            g_set_error (error, local->domain, local->code, "%s%s", local->message, hint);
          else
            g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }
  return ql_vm_config_build_cmdline_in (self->config, *runtime_dir, error);
}

/**
 * ql_vm_build_cmdline:
 * @self: a #QlVm in state %QL_VM_STATE_NEW
 * @error: return location for an error
 *
 * Builds now the command line the launch runs, as ql_vm_launch_async()
 * does (checked against the binary unless ql_vm_set_check_qemu() turned
 * that off), in the runtime directory the launch uses, and keeps it: the
 * launch then runs this command line and does not build another. For a
 * caller that shows the command line's notes (ql_cmdline_get_notes()) or
 * reports a configuration error before the launch, without the cost of a
 * second build, as `qlaunch run` does.
 *
 * The launch sees no change made to the configuration after this call:
 * call it again after one (each call replaces the command line kept). A
 * failed call keeps none, and the launch builds its own.
 *
 * Errors: those of ql_vm_config_build_checked_cmdline(), or of
 * ql_vm_config_build_cmdline() when unchecked. A binary that cannot be
 * probed is the probe's #QL_QEMU_CAPS_ERROR, as it is (the launch adds
 * that ql_vm_set_check_qemu() turns the check off); a missing binary
 * gives an unchecked command line, whose launch then fails naming it.
 *
 * Returns: (transfer none) (nullable): the command line, owned by @self
 *   and valid until the launch, or %NULL with @error set
 *
 * Since: 0.2
 */
QlCmdline *
ql_vm_build_cmdline (QlVm    *self,
                     GError **error)
{
  g_autofree char *runtime_dir = NULL;
  gboolean made_here = FALSE;
  QlCmdline *cmdline;

  g_return_val_if_fail (QL_IS_VM (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_clear_object (&self->built_cmdline);
  g_clear_pointer (&self->built_runtime_dir, g_free);
  if (self->state != QL_VM_STATE_NEW)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                   "the VM was launched already: a QlVm runs QEMU once");
      return NULL;
    }
  cmdline = build_cmdline (self, "", &runtime_dir, &made_here, error);
  if (cmdline == NULL)
    return NULL;
  self->built_cmdline = cmdline;
  self->built_runtime_dir = g_steal_pointer (&runtime_dir);
  self->built_made_here = made_here;
  return cmdline;
}

/**
 * ql_vm_launch_async:
 * @self: a #QlVm in state %QL_VM_STATE_NEW
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when QEMU runs, or failed to start
 * @user_data: data for @callback
 *
 * Builds QEMU's argv from the configuration (ql_vm_config_build_cmdline():
 * validation and the host checks of the config's host probe) and starts
 * QEMU through #GSubprocessLauncher, without a shell. The descriptors the
 * configuration names are duplicated and given to QEMU as 3, 4, ... in the
 * order of the argv; the caller keeps its own. No other descriptor of this
 * process reaches QEMU. QEMU's stdin and stdout are `/dev/null` (see
 * ql_vm_set_stdio_inherit() and ql_vm_set_stdout_fd()); its stderr is read
 * continuously into #QlVm:stderr. QEMU's environment is explicit: a few
 * variables of this process (see ql_vm_set_environ()). QEMU runs in a
 * process group of its own, and is killed with this process when
 * ql_vm_set_die_with_parent() asks for it.
 *
 * The launch completes as soon as QEMU is spawned (state
 * %QL_VM_STATE_STARTING, then %QL_VM_STATE_RUNNING). The devices' helper
 * processes start before QEMU, each once the one before listens; when all
 * are socket-activated (ql_helper_add_listen_socket(): virtiofsd), their
 * sockets are made listening, QEMU starts first and the helpers right
 * after it, and the launch completes once they are spawned: a helper that
 * cannot start then stops QEMU and fails the launch with its
 * %QL_LAUNCH_ERROR_HELPER. With the `daemonize`
 * knob it completes when QEMU's parent process exits: on status 0 the
 * daemon's pid is read from the pid file and checked to be alive
 * (%QL_LAUNCH_ERROR_DAEMON otherwise); on another status the VM is
 * %QL_VM_STATE_FAILED with QEMU's stderr in the error.
 *
 * The VM follows QEMU from the thread-default main context of this call
 * (the VM's context): keep it running. Cancelling @cancellable while the
 * launch is pending (a daemonizing QEMU) stops QEMU and the launch fails
 * with %G_IO_ERROR_CANCELLED; once the launch completed, @cancellable has
 * no effect (use the one of ql_vm_wait_async() or ql_vm_stop()). A
 * configuration error leaves the VM in %QL_VM_STATE_NEW.
 */
void
ql_vm_launch_async (QlVm                *self,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *runtime_dir = NULL;
  gboolean made_here = FALSE;

  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_vm_launch_async);
  g_task_set_check_cancellable (task, FALSE);

  if (self->state != QL_VM_STATE_NEW)
    {
      g_task_return_new_error (task, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                               "the VM was launched already: a QlVm runs QEMU once");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  if (self->built_cmdline != NULL)
    {
      cmdline = g_steal_pointer (&self->built_cmdline);
      runtime_dir = g_steal_pointer (&self->built_runtime_dir);
      made_here = self->built_made_here;
    }
  else
    cmdline = build_cmdline (self, " (ql_vm_set_check_qemu() turns this check off)",
                             &runtime_dir, &made_here, &error);
  if (cmdline != NULL)
    argv = ql_cmdline_to_argv (cmdline, &error);
  /* A UEFI VM's own variable store, from its template on first use. */
  if (argv != NULL && !ql_vm_config_prepare_firmware (self->config, &error))
    g_clear_pointer (&argv, g_strfreev);
  if (argv == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->binary = g_strdup (argv[0]);
  self->daemonize = ql_vm_config_get_bool (self->config, QL_VM_PROP_KNOBS_DAEMONIZE);
  self->pid_file = g_strdup (ql_vm_config_get_str (self->config, QL_VM_PROP_PID_FILE));
  /* Made here, new, so that QEMU writes into a file of ours: never through a
   * symbolic link, never into a file someone planted. */
  if (self->pid_file != NULL && !ql_pid_file_create (&self->pid_file_made, self->pid_file, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (ql_cmdline_get_n_helpers (cmdline) > 0)
    {
      int lock_fd = -1;

      if (!ql_runtime_dir_claim (runtime_dir, made_here, &lock_fd, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      self->helpers = ql_helper_group_new (self->context, runtime_dir, made_here, lock_fd);
      ql_helper_group_set_died_func (self->helpers, helper_died, self);
      ql_helper_group_set_ready_func (self->helpers, helper_ready, self);
    }

  set_state (self, QL_VM_STATE_STARTING);
  self->launch_task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      GSource *source = g_cancellable_source_new (cancellable);

      g_source_set_callback (source, G_SOURCE_FUNC (launch_cancel_source_cb), g_object_ref (self), g_object_unref);
      g_source_set_name (source, "[qlaunch] launch cancelled");
      g_source_attach (source, self->context);
      self->launch_cancel_source = source;
    }

  if (self->helpers == NULL)
    {
      spawn_qemu (self, cmdline, argv);
      return;
    }
  self->helper_cancellable = g_cancellable_new ();
  /* Socket-activated helpers only (virtiofsd): their sockets are made
   * listening now, QEMU starts, and the helpers right after it. QEMU's
   * start, the long one, begins at once; its connections wait in the
   * sockets' queues until each helper accepts them. */
  if (!self->daemonize)
    {
      if (ql_helper_group_listen_early (self->helpers, cmdline, &error))
        {
          self->helpers_after_qemu = TRUE;
          spawn_qemu (self, cmdline, argv);
          if (self->subprocess == NULL)
            return;   /* the launch failed */
          self->helpers_starting = TRUE;
          ql_helper_group_start_async (self->helpers, cmdline, self->helper_cancellable,
                                       helpers_started_after_qemu_cb, g_object_ref (self));
          return;
        }
      if (error != NULL)
        {
          fail_launch (self, g_steal_pointer (&error));
          return;
        }
    }
  /* The helpers first, each ready (listening) before the next; QEMU
   * connects to their sockets as it starts. */
  self->pending_cmdline = g_steal_pointer (&cmdline);
  self->pending_argv = g_steal_pointer (&argv);
  self->helpers_starting = TRUE;
  ql_helper_group_start_async (self->helpers, self->pending_cmdline, self->helper_cancellable,
                               helpers_started_cb, g_object_ref (self));
}

/**
 * ql_vm_launch_finish:
 * @self: a #QlVm
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_vm_launch_async(). Errors: a configuration error
 * (#QL_CONFIG_ERROR), %QL_LAUNCH_ERROR_SPAWN naming the binary and the
 * reason, %QL_LAUNCH_ERROR_STATE, and for a daemonizing QEMU
 * %QL_LAUNCH_ERROR_EXITED, %QL_LAUNCH_ERROR_SIGNALED,
 * %QL_LAUNCH_ERROR_DAEMON or %G_IO_ERROR_CANCELLED.
 *
 * Returns: %TRUE when QEMU runs
 */
gboolean
ql_vm_launch_finish (QlVm          *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (QL_IS_VM (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ql_vm_launch_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sync_result_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/**
 * ql_vm_launch:
 * @self: a #QlVm in state %QL_VM_STATE_NEW
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Launches QEMU and blocks until the launch completes; see
 * ql_vm_launch_async(). The thread-default main context of the caller
 * becomes the VM's context: it is iterated while this waits (for a
 * daemonizing QEMU), and must be iterated afterwards (a main loop, or
 * ql_vm_wait()) to follow QEMU. It must not be owned by another thread.
 *
 * Returns: %TRUE when QEMU runs
 */
gboolean
ql_vm_launch (QlVm          *self,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_VM (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  context = g_main_context_ref_thread_default ();
  if (!g_main_context_acquire (context))
    {
      g_set_error_literal (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                           "cannot launch: this thread's main context is owned by another thread (use ql_vm_launch_async() there)");
      return FALSE;
    }
  g_main_context_push_thread_default (context);
  ql_vm_launch_async (self, cancellable, sync_result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  g_main_context_release (context);
  return ql_vm_launch_finish (self, result, error);
}

static void
wait_cancelled_cb (Waiter *waiter)
{
  QlVm *self = g_task_get_source_object (waiter->task);

  waiter->cancelled = TRUE;
  g_clear_pointer (&waiter->cancel_source, g_source_unref);
  begin_stop (self);
}

static gboolean
wait_cancel_source_cb (GCancellable *cancellable,
                       gpointer      user_data)
{
  wait_cancelled_cb (user_data);
  return G_SOURCE_REMOVE;
}

/**
 * ql_vm_wait_async:
 * @self: a launched #QlVm
 * @cancellable: (nullable): a #GCancellable that stops QEMU
 * @callback: (scope async): called when QEMU has ended
 * @user_data: data for @callback
 *
 * Waits until QEMU exits (at once when it has exited already). Cancelling
 * @cancellable stops QEMU as ql_vm_stop() does (SIGTERM, SIGKILL after the
 * grace period); the wait then completes, once QEMU is gone and reaped,
 * with %G_IO_ERROR_CANCELLED, and the state is %QL_VM_STATE_EXITED.
 * Several waits may be pending; @callback runs in the thread-default main
 * context of this call.
 */
void
ql_vm_wait_async (QlVm                *self,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Waiter *waiter;

  g_return_if_fail (QL_IS_VM (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_vm_wait_async);
  g_task_set_check_cancellable (task, FALSE);

  switch (self->state)
    {
    case QL_VM_STATE_NEW:
      g_task_return_new_error (task, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                               "the VM was not launched: there is nothing to wait for");
      return;
    case QL_VM_STATE_EXITED:
      g_task_return_boolean (task, TRUE);
      return;
    case QL_VM_STATE_FAILED:
      g_task_return_error (task, g_error_copy (self->failure));
      return;
    case QL_VM_STATE_STARTING:
    case QL_VM_STATE_RUNNING:
    default:
      break;
    }

  waiter = g_new0 (Waiter, 1);
  waiter->task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      GSource *source = g_cancellable_source_new (cancellable);

      /* The task holds the VM; the waiter lives until the task returns. */
      g_source_set_callback (source, G_SOURCE_FUNC (wait_cancel_source_cb), waiter, NULL);
      g_source_set_name (source, "[qlaunch] wait cancelled");
      g_source_attach (source, self->context);
      waiter->cancel_source = source;
    }
  self->waiters = g_list_append (self->waiters, waiter);
}

/**
 * ql_vm_wait_finish:
 * @self: a #QlVm
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_vm_wait_async(). QEMU exited with status 0, or was stopped by
 * ql_vm_stop(): %TRUE (state %QL_VM_STATE_EXITED). Otherwise the error of
 * the %QL_VM_STATE_FAILED VM (%QL_LAUNCH_ERROR_EXITED with the status and
 * QEMU's stderr, %QL_LAUNCH_ERROR_SIGNALED, ...), %G_IO_ERROR_CANCELLED
 * when the wait's cancellable stopped QEMU, or %QL_LAUNCH_ERROR_STATE when
 * the VM was not launched.
 *
 * Returns: %TRUE when QEMU ended well
 */
gboolean
ql_vm_wait_finish (QlVm          *self,
                   GAsyncResult  *result,
                   GError       **error)
{
  g_return_val_if_fail (QL_IS_VM (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ql_vm_wait_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ql_vm_wait:
 * @self: a launched #QlVm
 * @cancellable: (nullable): a #GCancellable that stops QEMU
 * @error: return location for an error
 *
 * Blocks until QEMU exits; see ql_vm_wait_async(). Iterates the VM's main
 * context (the thread-default context of the launch) while it waits, which
 * must not be owned by another thread.
 *
 * Returns: %TRUE when QEMU exited with status 0 or was stopped by
 *   ql_vm_stop()
 */
gboolean
ql_vm_wait (QlVm          *self,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GMainContext *context;

  g_return_val_if_fail (QL_IS_VM (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->context == NULL)
    {
      g_set_error_literal (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                           "the VM was not launched: there is nothing to wait for");
      return FALSE;
    }
  context = self->context;
  if (!g_main_context_acquire (context))
    {
      g_set_error_literal (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                           "cannot wait: the VM's main context is owned by another thread (use ql_vm_wait_async() there)");
      return FALSE;
    }
  g_main_context_ref (context);
  g_main_context_push_thread_default (context);
  ql_vm_wait_async (self, cancellable, sync_result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  g_main_context_release (context);
  g_main_context_unref (context);
  return ql_vm_wait_finish (self, result, error);
}

/**
 * ql_vm_stop:
 * @self: a #QlVm
 *
 * Stops QEMU: SIGTERM now, SIGKILL when it still runs after the grace
 * period (#QlVm:grace-period). Never blocks: the VM becomes
 * %QL_VM_STATE_EXITED when QEMU is gone, and pending waits then complete
 * with %TRUE. A daemonized QEMU (not our child) is signalled through a
 * pidfd and watched until it is gone. While a daemonizing QEMU starts, its
 * daemon is stopped as soon as it is known (the launch then fails with
 * %G_IO_ERROR_CANCELLED). Does nothing before the launch or after QEMU
 * ended.
 */
void
ql_vm_stop (QlVm *self)
{
  g_return_if_fail (QL_IS_VM (self));
  begin_stop (self);
}
