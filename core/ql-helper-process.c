/* qlaunch — QlHelperProcess: one running helper (virtiofsd, passt, ...):
 * spawned through GSubprocess, ready when it listens on its socket,
 * followed until it exits, stopped with SIGTERM then SIGKILL.
 *
 * Readiness is read from /proc/net/unix (the socket bound at the helper's
 * path in the listening state), not by connecting: virtiofsd serves the
 * first client that connects and exits when it goes, so a test connection
 * would end it. */
#include "ql-helper-process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

/* How much of a helper's output is kept. */
#define OUTPUT_KEEP (64 * 1024)
/* After the helper exited, how long to wait for the end of its output. */
#define OUTPUT_SETTLE_MS 500
/* Readiness polling: fast at first, then slower. */
#define POLL_FAST_MS 1
#define POLL_FAST_UNTIL_MS 200
#define POLL_SLOW_MS 20
/* __SO_ACCEPTCON in /proc/net/unix's Flags: a listening socket. */
#define UNIX_FLAG_LISTENING 0x10000
/* SS_CONNECTED in its St column. */
#define UNIX_STATE_CONNECTED 3

struct _QlHelperProcess
{
  GObject parent_instance;

  char *name;
  char *device_id;
  char *binary;
  char **argv;
  char **env;                 /* the helper's own variables */
  char *socket;
  GArray *fds;                /* host fds, ours to duplicate at spawn;
                               * -1: a listening socket made at spawn */
  GPtrArray *listen_paths;    /* parallel: where that socket listens */
  GArray *early_fds;          /* parallel: that socket, made before the
                               * spawn (ql_helper_process_listen_early()),
                               * or -1 */
  gboolean listening_early;
  guint ready_timeout;
  gboolean detached;
  char **read_only_paths;
  char **state_dirs;          /* the VM's, created 0700 before the spawn */

  GMainContext *context;
  GSubprocess *subprocess;
  GPid pid;
  gboolean started;           /* spawned */
  gboolean ready;
  gboolean exited;            /* reaped */
  int status;                 /* raw wait status */
  gboolean stopping;
  gboolean released;
  gboolean gone;              /* "exited" emitted */

  GString *output;
  int output_fd;              /* detached: an unlinked file, or -1 */
  GInputStream *output_stream;
  GCancellable *output_cancellable;
  gboolean output_reading;

  GSource *kill_source;
  GSource *poll_source;
  GSource *settle_source;
  gint64 start_time;          /* monotonic, µs */

  GTask *start_task;
  GSource *start_cancel_source;
};

G_DEFINE_FINAL_TYPE (QlHelperProcess, ql_helper_process, G_TYPE_OBJECT)

enum
{
  SIGNAL_EXITED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void output_read_next (QlHelperProcess *self);
static void process_gone (QlHelperProcess *self);

#define destroy_source ql_source_destroy

static GSource *
attach_source (QlHelperProcess *self,
               GSource         *source,
               GSourceFunc      func,
               const char      *name)
{
  return ql_source_attach_for (self, self->context, source, func, name);
}

/* Output */

static void
output_append (QlHelperProcess *self,
               const char      *data,
               gsize            size)
{
  g_string_append_len (self->output, data, size);
  if (self->output->len > OUTPUT_KEEP)
    g_string_erase (self->output, 0, (gssize) (self->output->len - OUTPUT_KEEP));
}

static void
output_done (QlHelperProcess *self)
{
  self->output_reading = FALSE;
  if (self->exited && self->settle_source != NULL)
    {
      destroy_source (&self->settle_source);
      process_gone (self);
    }
}

static void
output_read_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(QlHelperProcess) self = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  gsize size = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;

  if (size == 0 || g_cancellable_is_cancelled (self->output_cancellable))
    {
      output_done (self);
      return;
    }
  output_append (self, data, size);
  output_read_next (self);
}

static void
output_read_next (QlHelperProcess *self)
{
  gboolean pushed = ql_context_push (self->context);

  self->output_reading = TRUE;
  g_input_stream_read_bytes_async (self->output_stream, 8192, G_PRIORITY_DEFAULT,
                                   self->output_cancellable, output_read_cb,
                                   g_object_ref (self));
  ql_context_pop (self->context, pushed);
}

/* A detached helper writes into an unlinked file (a pipe would break when
 * this process goes): what it holds so far. */
static void
output_reload (QlHelperProcess *self)
{
  char buf[8192];
  off_t offset = 0;
  ssize_t n;

  if (self->output_fd < 0)
    return;
  g_string_truncate (self->output, 0);
  while ((n = pread (self->output_fd, buf, sizeof buf, offset)) > 0)
    {
      output_append (self, buf, (gsize) n);
      offset += n;
    }
}

char *
ql_helper_process_get_output (QlHelperProcess *self)
{
  g_autofree char *text = NULL;

  output_reload (self);
  text = g_utf8_make_valid (self->output->str, self->output->len);
  return g_strdup (g_strstrip (text));
}

/* Descriptions */

char *
ql_helper_process_describe (QlHelperProcess *self)
{
  g_autofree char *pid = self->pid > 0 ? g_strdup_printf (" (pid %d)", (int) self->pid) : g_strdup ("");

  if (self->device_id != NULL)
    return g_strdup_printf ("device '%s': helper %s%s", self->device_id, self->name, pid);
  return g_strdup_printf ("helper %s%s", self->name, pid);
}

char *
ql_helper_process_describe_exit (QlHelperProcess *self)
{
  if (!self->exited)
    return g_strdup ("is running");
  if (WIFSIGNALED (self->status))
    return g_strdup_printf ("was killed by signal %d (%s)", WTERMSIG (self->status),
                            g_strsignal (WTERMSIG (self->status)));
  return g_strdup_printf ("exited with status %d", WEXITSTATUS (self->status));
}

/* "...: OUTPUT" or "... and wrote nothing" */
static char *
with_output (QlHelperProcess *self,
             const char      *message)
{
  g_autofree char *output = ql_helper_process_get_output (self);

  if (*output == '\0')
    return g_strdup_printf ("%s, and wrote nothing", message);
  return g_strdup_printf ("%s: %s", message, output);
}

/* Start */

static void
complete_start (QlHelperProcess *self,
                GError          *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->start_task);

  destroy_source (&self->start_cancel_source);
  destroy_source (&self->poll_source);
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

/* What /proc/net/unix says of the sockets named @path: whether one
 * listens, and whether one is connected (a client the listener accepted:
 * an accepted socket carries its listener's name). */
static void
socket_state (const char *path,
              gboolean   *listening,
              gboolean   *connected)
{
  g_autofree char *contents = NULL;
  gsize path_len = strlen (path);
  char *line;
  char *next;

  *listening = FALSE;
  *connected = FALSE;
  if (!g_file_get_contents ("/proc/net/unix", &contents, NULL, NULL))
    {
      /* No /proc: the socket file is the best we have. */
      GStatBuf st;

      *listening = g_lstat (path, &st) == 0 && S_ISSOCK (st.st_mode);
      return;
    }
  /* Num RefCount Protocol Flags Type St Inode Path */
  for (line = contents; line != NULL && *line != '\0'; line = next)
    {
      char *nl = strchr (line, '\n');
      char *fields[8];
      guint n = 0;
      char *p = line;

      next = nl != NULL ? nl + 1 : NULL;
      if (nl != NULL)
        *nl = '\0';
      while (n < 7 && *p != '\0')
        {
          while (*p == ' ')
            p++;
          fields[n++] = p;
          while (*p != '\0' && *p != ' ')
            p++;
        }
      if (n < 7)
        continue;
      while (*p == ' ')
        p++;
      if (strlen (p) != path_len || memcmp (p, path, path_len) != 0)
        continue;
      if ((strtoul (fields[3], NULL, 16) & UNIX_FLAG_LISTENING) != 0)
        *listening = TRUE;
      else if (strtoul (fields[5], NULL, 16) == UNIX_STATE_CONNECTED)
        *connected = TRUE;
    }
}

static gboolean
socket_listening (const char *path)
{
  gboolean listening, connected;

  socket_state (path, &listening, &connected);
  return listening;
}

gboolean
ql_helper_process_has_client (QlHelperProcess *self)
{
  gboolean listening, connected;

  if (self->socket == NULL)
    return TRUE;
  socket_state (self->socket, &listening, &connected);
  return connected;
}

static gboolean
poll_ready_cb (gpointer user_data);

static void
schedule_poll (QlHelperProcess *self)
{
  gint64 elapsed_ms = (g_get_monotonic_time () - self->start_time) / 1000;
  guint interval = elapsed_ms < POLL_FAST_UNTIL_MS ? POLL_FAST_MS : POLL_SLOW_MS;

  destroy_source (&self->poll_source);
  self->poll_source = attach_source (self, g_timeout_source_new (interval), poll_ready_cb,
                                     "[qlaunch] helper readiness");
}

static gboolean
poll_ready_cb (gpointer user_data)
{
  QlHelperProcess *self = user_data;
  gint64 elapsed_ms = (g_get_monotonic_time () - self->start_time) / 1000;

  g_clear_pointer (&self->poll_source, g_source_unref);
  if (self->start_task == NULL || self->exited)
    return G_SOURCE_REMOVE;
  if (socket_listening (self->socket))
    {
      self->ready = TRUE;
      complete_start (self, NULL);
      return G_SOURCE_REMOVE;
    }
  if (elapsed_ms >= self->ready_timeout)
    {
      /* The error is made once its output is complete: process_gone(). */
      ql_helper_process_stop (self, 0);
      return G_SOURCE_REMOVE;
    }
  schedule_poll (self);
  return G_SOURCE_REMOVE;
}

static void
start_cancelled_cb (QlHelperProcess *self)
{
  g_clear_pointer (&self->start_cancel_source, g_source_unref);
  if (self->start_task != NULL)
    ql_helper_process_stop (self, 0);
}

static gboolean
start_cancel_source_cb (GCancellable *cancellable,
                        gpointer      user_data)
{
  (void) cancellable;
  start_cancelled_cb (user_data);
  return G_SOURCE_REMOVE;
}

/* The helper is gone (reaped, its output ended or settled). */
static void
process_gone (QlHelperProcess *self)
{
  g_autoptr(QlHelperProcess) keep = g_object_ref (self);

  if (self->gone)
    return;
  self->gone = TRUE;
  destroy_source (&self->kill_source);
  destroy_source (&self->settle_source);
  destroy_source (&self->poll_source);
  g_cancellable_cancel (self->output_cancellable);

  if (self->start_task != NULL)
    {
      g_autofree char *who = ql_helper_process_describe (self);
      g_autofree char *how = ql_helper_process_describe_exit (self);
      g_autofree char *message = NULL;
      gint64 elapsed_ms = (g_get_monotonic_time () - self->start_time) / 1000;

      if (g_task_get_cancellable (self->start_task) != NULL
          && g_cancellable_is_cancelled (g_task_get_cancellable (self->start_task)))
        complete_start (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                           "%s was stopped: the launch was cancelled", who));
      else
        {
          if (self->stopping && elapsed_ms >= self->ready_timeout)
            message = g_strdup_printf ("%s did not listen on '%s' within %u ms and was stopped",
                                       who, self->socket, self->ready_timeout);
          else
            message = g_strdup_printf ("%s %s before it listened on '%s'", who, how,
                                       self->socket != NULL ? self->socket : "its socket");
          {
            g_autofree char *full = with_output (self, message);

            complete_start (self, g_error_new_literal (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER, full));
          }
        }
    }
  g_signal_emit (self, signals[SIGNAL_EXITED], 0);
  g_clear_object (&self->output_stream);
  g_clear_object (&self->subprocess);
}

static gboolean
settle_timeout_cb (gpointer user_data)
{
  QlHelperProcess *self = user_data;

  g_clear_pointer (&self->settle_source, g_source_unref);
  process_gone (self);
  return G_SOURCE_REMOVE;
}

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(QlHelperProcess) self = user_data;
  GSubprocess *subprocess = G_SUBPROCESS (object);

  g_subprocess_wait_finish (subprocess, result, NULL);
  self->exited = TRUE;
  self->status = g_subprocess_get_status (subprocess);
  if (self->released)
    return;
  if (!self->output_reading)
    {
      process_gone (self);
      return;
    }
  self->settle_source = attach_source (self, g_timeout_source_new (OUTPUT_SETTLE_MS),
                                       settle_timeout_cb, "[qlaunch] helper output settle");
}

typedef struct
{
  int pid_fd;
  gboolean detached;
  pid_t parent;
  char **read_only_paths;
} ChildSetup;

/* In the child: says why it cannot run, on its captured output. */
static void
child_fail (const char *what,
            const char *path)
{
  ssize_t n;
  int saved = errno;

  n = write (STDERR_FILENO, "qlaunch: ", 9);
  n = write (STDERR_FILENO, what, strlen (what));
  if (path != NULL)
    {
      n = write (STDERR_FILENO, " '", 2);
      n = write (STDERR_FILENO, path, strlen (path));
      n = write (STDERR_FILENO, "'", 1);
    }
  n = write (STDERR_FILENO, ": ", 2);
  /* strerror is not async-signal-safe; the number is. */
  {
    char digits[16];
    int len = 0;
    char buf[16];

    do
      digits[len++] = (char) ('0' + saved % 10);
    while ((saved /= 10) > 0 && len < (int) sizeof digits);
    for (int i = 0; i < len; i++)
      buf[i] = digits[len - 1 - i];
    n = write (STDERR_FILENO, "errno ", 6);
    n = write (STDERR_FILENO, buf, (size_t) len);
  }
  n = write (STDERR_FILENO, "\n", 1);
  (void) n;
  _exit (126);
}

/* Between fork and exec: async-signal-safe calls only. */
static void
child_setup (gpointer user_data)
{
  const ChildSetup *setup = user_data;
  pid_t pid = getpid ();
  ssize_t n;

  umask (077);
  if (setup->read_only_paths != NULL && setup->read_only_paths[0] != NULL)
    {
      /* A mount namespace of its own, whose mounts do not propagate back
       * to the host's, with each path read-only. */
      if (unshare (CLONE_NEWNS) != 0)
        child_fail ("cannot make a mount namespace for a read-only share", NULL);
      if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
        child_fail ("cannot make the mounts private", NULL);
      for (guint i = 0; setup->read_only_paths[i] != NULL; i++)
        {
          const char *path = setup->read_only_paths[i];

          if (mount (path, path, NULL, MS_BIND | MS_REC, NULL) != 0)
            child_fail ("cannot bind-mount", path);
          if (mount (NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
            child_fail ("cannot make read-only", path);
        }
    }
  if (setup->detached)
    setsid ();
  else
    {
      /* Signals to the launcher's process group (a terminal's Ctrl-C)
       * reach the launcher, which stops the helper in order. */
      setpgid (0, 0);
      if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid () != setup->parent)
        _exit (127);
    }
  n = write (setup->pid_fd, &pid, sizeof pid);
  (void) n;
}

static char **
helper_environ (QlHelperProcess *self)
{
  g_auto(GStrv) all = g_get_environ ();
  char **env = NULL;

  for (guint i = 0; all[i] != NULL; i++)
    if (ql_env_passed_by_default (all[i]))
      {
        g_autofree char *name = g_strndup (all[i], (gsize) (strchr (all[i], '=') - all[i]));

        env = g_environ_setenv (env, name, strchr (all[i], '=') + 1, TRUE);
      }
  for (guint i = 0; self->env[i] != NULL; i++)
    {
      g_autofree char *name = g_strndup (self->env[i], (gsize) (strchr (self->env[i], '=') - self->env[i]));

      env = g_environ_setenv (env, name, strchr (self->env[i], '=') + 1, TRUE);
    }
  if (env == NULL)
    env = g_new0 (char *, 1);
  return env;
}

/* A stale socket file at the helper's path (of a launcher that was
 * killed) is removed; one that something listens on is an error. */
static gboolean
clear_socket_path (QlHelperProcess  *self,
                   GError          **error)
{
  GStatBuf st;

  if (self->socket == NULL || g_lstat (self->socket, &st) != 0)
    return TRUE;
  if (!S_ISSOCK (st.st_mode) || socket_listening (self->socket))
    {
      g_autofree char *who = ql_helper_process_describe (self);

      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                   "%s cannot start: '%s' exists already%s", who, self->socket,
                   S_ISSOCK (st.st_mode) ? " and a process listens on it (another VM?)" : " and is not a socket");
      return FALSE;
    }
  g_unlink (self->socket);
  return TRUE;
}

/* The helper's state directories (ql_helper_add_state_dir()): created
 * 0700 when missing, and refused unless each is a directory of this user
 * that nobody else can write to. */
static gboolean
prepare_state_dirs (QlHelperProcess  *self,
                    GError          **error)
{
  for (guint i = 0; self->state_dirs != NULL && self->state_dirs[i] != NULL; i++)
    {
      const char *path = self->state_dirs[i];
      g_autofree char *who = NULL;
      GStatBuf st;

      if (g_stat (path, &st) != 0 && errno == ENOENT
          && g_mkdir_with_parents (path, 0700) != 0)
        {
          int saved = errno;

          who = ql_helper_process_describe (self);
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: cannot create its state directory '%s': %s",
                       who, path, g_strerror (saved));
          return FALSE;
        }
      if (g_stat (path, &st) != 0)
        {
          int saved = errno;

          who = ql_helper_process_describe (self);
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: its state directory '%s': %s",
                       who, path, g_strerror (saved));
          return FALSE;
        }
      if (!S_ISDIR (st.st_mode))
        {
          who = ql_helper_process_describe (self);
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: its state directory '%s' is not a directory",
                       who, path);
          return FALSE;
        }
      if (st.st_uid != geteuid ())
        {
          who = ql_helper_process_describe (self);
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: its state directory '%s' belongs to uid %u, not to uid %u "
                       "that qlaunch runs as: the VM's state must be its own",
                       who, path, (guint) st.st_uid, (guint) geteuid ());
          return FALSE;
        }
      if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        {
          who = ql_helper_process_describe (self);
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: its state directory '%s' is writable by %s (mode %04o): "
                       "the VM's state must be private (chmod 700)",
                       who, path, (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
                       (guint) (st.st_mode & 07777));
          return FALSE;
        }
    }
  return TRUE;
}

/* A unix socket listening at @path (socket activation: the helper gets
 * it, and connections queue until it accepts them). */
static int
listen_socket (const char  *path,
               GError     **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                   "socket path '%s' is too long", path);
      return -1;
    }
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0 || listen (fd, 16) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                   "cannot listen on '%s': %s", path, g_strerror (saved));
      return -1;
    }
  return fd;
}

/* What is checked before the spawn (and before QEMU's, for a helper
 * listening early): the program no other user can change, the state
 * directories, root for a read-only share. */
static gboolean
check_can_start (QlHelperProcess  *self,
                 GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *who = ql_helper_process_describe (self);

  if (!ql_helper_check_binary_trusted (self->binary, &local_error))
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                   "%s cannot start: %s", who, local_error->message);
      return FALSE;
    }
  if (!prepare_state_dirs (self, error))
    return FALSE;
  if (self->read_only_paths[0] != NULL && geteuid () != 0)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                   "%s cannot start: sharing '%s' read-only takes a mount namespace, which needs root",
                   who, self->read_only_paths[0]);
      return FALSE;
    }
  return TRUE;
}

static GSubprocess *
spawn (QlHelperProcess  *self,
       GError          **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) env = NULL;
  g_autofree char *who = ql_helper_process_describe (self);
  g_autoptr(GArray) dups = g_array_new (FALSE, FALSE, sizeof (int));
  ChildSetup setup = { -1, self->detached, getpid (), self->read_only_paths };
  int pid_pipe[2] = { -1, -1 };
  GSubprocess *subprocess;
  pid_t pid = 0;
  int min_fd = 3 + (int) self->fds->len;

  if (!check_can_start (self, error)
      || (!self->listening_early && !clear_socket_path (self, error)))
    return NULL;

  for (guint i = 0; i < self->fds->len; i++)
    {
      const char *listen_path = g_ptr_array_index (self->listen_paths, i);
      int source = g_array_index (self->fds, int, i);
      int copy;

      if (listen_path != NULL && g_array_index (self->early_fds, int, i) >= 0)
        {
          /* Made before the spawn: ours to close, as one made here. */
          source = g_array_index (self->early_fds, int, i);
          g_array_index (self->early_fds, int, i) = -1;
        }
      else if (listen_path != NULL)
        {
          source = listen_socket (listen_path, &local_error);
          if (source < 0)
            {
              for (guint j = 0; j < dups->len; j++)
                close (g_array_index (dups, int, j));
              g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                           "%s cannot start: %s", who, local_error->message);
              return NULL;
            }
        }
      copy = fcntl (source, F_DUPFD_CLOEXEC, min_fd);
      if (copy < 0)
        {
          int saved = errno;

          if (listen_path != NULL)
            close (source);
          for (guint j = 0; j < dups->len; j++)
            close (g_array_index (dups, int, j));
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: descriptor %d cannot be passed: %s",
                       who, source, g_strerror (saved));
          return NULL;
        }
      if (listen_path != NULL)
        close (source);
      g_array_append_val (dups, copy);
    }
  if (!g_unix_open_pipe (pid_pipe, FD_CLOEXEC, &local_error))
    {
      for (guint j = 0; j < dups->len; j++)
        close (g_array_index (dups, int, j));
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                   "%s cannot start: %s", who, local_error->message);
      return NULL;
    }
  {
    int high = fcntl (pid_pipe[1], F_DUPFD_CLOEXEC, min_fd);

    if (high >= 0)
      {
        close (pid_pipe[1]);
        pid_pipe[1] = high;
      }
  }

  if (self->detached)
    {
      g_autofree char *name = NULL;
      int fd = g_file_open_tmp ("qlaunch-helper-XXXXXX.log", &name, &local_error);

      if (fd < 0)
        {
          close (pid_pipe[0]);
          close (pid_pipe[1]);
          for (guint j = 0; j < dups->len; j++)
            close (g_array_index (dups, int, j));
          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: %s", who, local_error->message);
          return NULL;
        }
      g_unlink (name);
      self->output_fd = fd;
      launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
      g_subprocess_launcher_take_stdout_fd (launcher, fcntl (fd, F_DUPFD_CLOEXEC, min_fd));
    }
  else
    launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  for (guint i = 0; i < dups->len; i++)
    g_subprocess_launcher_take_fd (launcher, g_array_index (dups, int, i), 3 + (int) i);
  setup.pid_fd = pid_pipe[1];
  g_subprocess_launcher_set_child_setup (launcher, child_setup, &setup, NULL);
  env = helper_environ (self);
  g_subprocess_launcher_set_environ (launcher, env);
  subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) self->argv, &local_error);
  g_clear_object (&launcher);
  close (pid_pipe[1]);
  if (subprocess != NULL)
    {
      ssize_t n;

      do
        n = read (pid_pipe[0], &pid, sizeof pid);
      while (n < 0 && errno == EINTR);
      if (n != (ssize_t) sizeof pid)
        pid = 0;
    }
  close (pid_pipe[0]);
  if (subprocess == NULL)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                   "%s cannot start '%s': %s", who, self->binary, local_error->message);
      return NULL;
    }
  if (pid <= 0 && g_subprocess_get_identifier (subprocess) != NULL)
    pid = (pid_t) atoi (g_subprocess_get_identifier (subprocess));
  self->pid = pid;
  return subprocess;
}

/* Whether @path is a socket the launcher made listening for the helper. */
static gboolean
made_listening (QlHelperProcess *self,
                const char      *path)
{
  for (guint i = 0; i < self->listen_paths->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->listen_paths, i), path) == 0)
      return TRUE;
  return FALSE;
}

gboolean
ql_helper_process_listen_early (QlHelperProcess  *self,
                                GError          **error)
{
  g_return_val_if_fail (!self->started && !self->listening_early, FALSE);

  if (!check_can_start (self, error) || !clear_socket_path (self, error))
    return FALSE;
  for (guint i = 0; i < self->listen_paths->len; i++)
    {
      const char *path = g_ptr_array_index (self->listen_paths, i);
      g_autoptr(GError) local_error = NULL;
      int fd;

      if (path == NULL)
        continue;
      fd = listen_socket (path, &local_error);
      if (fd < 0)
        {
          g_autofree char *who = ql_helper_process_describe (self);

          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                       "%s cannot start: %s", who, local_error->message);
          return FALSE;
        }
      g_array_index (self->early_fds, int, i) = fd;
    }
  self->listening_early = TRUE;
  return TRUE;
}

void
ql_helper_process_start_async (QlHelperProcess     *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;
  gboolean pushed;

  g_task_set_source_tag (task, ql_helper_process_start_async);
  g_task_set_check_cancellable (task, FALSE);
  g_return_if_fail (!self->started);

  if (g_task_return_error_if_cancelled (task))
    return;
  self->started = TRUE;
  self->start_time = g_get_monotonic_time ();
  self->subprocess = spawn (self, &error);
  if (self->subprocess == NULL)
    {
      self->gone = TRUE;
      g_task_return_error (task, error);
      return;
    }

  pushed = ql_context_push (self->context);
  g_subprocess_wait_async (self->subprocess, NULL, wait_cb, g_object_ref (self));
  ql_context_pop (self->context, pushed);
  if (self->output_fd < 0)
    {
      self->output_stream = g_object_ref (g_subprocess_get_stdout_pipe (self->subprocess));
      output_read_next (self);
    }

  /* No socket to wait for, or one we made listening before the spawn
   * (socket activation): the kernel queues connections until the helper
   * accepts, so it is ready now, and a death is seen by wait_cb(). */
  if (self->socket == NULL || made_listening (self, self->socket))
    {
      self->ready = TRUE;
      g_task_return_boolean (task, TRUE);
      return;
    }
  self->start_task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      GSource *source = g_cancellable_source_new (cancellable);

      g_source_set_callback (source, G_SOURCE_FUNC (start_cancel_source_cb), g_object_ref (self), g_object_unref);
      g_source_set_name (source, "[qlaunch] helper start cancelled");
      g_source_attach (source, self->context);
      self->start_cancel_source = source;
    }
  /* It may listen already (a fast helper): look at once. */
  self->poll_source = attach_source (self, g_timeout_source_new (0), poll_ready_cb,
                                     "[qlaunch] helper readiness");
}

gboolean
ql_helper_process_start_finish (QlHelperProcess  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Stop */

static gboolean
kill_timeout_cb (gpointer user_data)
{
  QlHelperProcess *self = user_data;

  g_clear_pointer (&self->kill_source, g_source_unref);
  if (self->subprocess != NULL && !self->exited)
    g_subprocess_send_signal (self->subprocess, SIGKILL);
  return G_SOURCE_REMOVE;
}

void
ql_helper_process_stop (QlHelperProcess *self,
                        guint            grace_ms)
{
  if (self->subprocess == NULL || self->exited || self->released)
    return;
  if (self->stopping)
    {
      if (grace_ms == 0)
        {
          destroy_source (&self->kill_source);
          g_subprocess_send_signal (self->subprocess, SIGKILL);
        }
      return;
    }
  self->stopping = TRUE;
  g_subprocess_send_signal (self->subprocess, grace_ms == 0 ? SIGKILL : SIGTERM);
  if (grace_ms > 0)
    self->kill_source = attach_source (self, g_timeout_source_new (grace_ms), kill_timeout_cb,
                                       "[qlaunch] helper grace period");
}

void
ql_helper_process_release (QlHelperProcess *self)
{
  self->released = TRUE;
  destroy_source (&self->kill_source);
  destroy_source (&self->poll_source);
  destroy_source (&self->settle_source);
  g_cancellable_cancel (self->output_cancellable);
}

void
ql_helper_process_remove_socket (QlHelperProcess *self)
{
  GStatBuf st;

  if (self->socket != NULL && g_lstat (self->socket, &st) == 0 && S_ISSOCK (st.st_mode))
    g_unlink (self->socket);
}

/* Getters */

gboolean
ql_helper_process_is_running (QlHelperProcess *self)
{
  return self->subprocess != NULL && !self->exited;
}

gboolean
ql_helper_process_was_started (QlHelperProcess *self)
{
  return self->started && self->pid > 0;
}

gboolean
ql_helper_process_is_gone (QlHelperProcess *self)
{
  return self->gone || self->released || !self->started;
}

gboolean
ql_helper_process_is_ready (QlHelperProcess *self)
{
  return self->ready;
}

gboolean
ql_helper_process_was_stopped (QlHelperProcess *self)
{
  return self->stopping;
}

GPid
ql_helper_process_get_pid (QlHelperProcess *self)
{
  return self->pid;
}

const char *
ql_helper_process_get_name (QlHelperProcess *self)
{
  return self->name;
}

const char *
ql_helper_process_get_device_id (QlHelperProcess *self)
{
  return self->device_id;
}

const char *
ql_helper_process_get_socket (QlHelperProcess *self)
{
  return self->socket;
}

/* GObject */

static void
ql_helper_process_dispose (GObject *object)
{
  QlHelperProcess *self = QL_HELPER_PROCESS (object);

  /* Every pending operation holds a reference: a process that is still
   * followed cannot get here. A released one is left alone. */
  destroy_source (&self->kill_source);
  destroy_source (&self->poll_source);
  destroy_source (&self->settle_source);
  destroy_source (&self->start_cancel_source);
  G_OBJECT_CLASS (ql_helper_process_parent_class)->dispose (object);
}

static void
ql_helper_process_finalize (GObject *object)
{
  QlHelperProcess *self = QL_HELPER_PROCESS (object);

  g_free (self->name);
  g_free (self->device_id);
  g_free (self->binary);
  g_strfreev (self->argv);
  g_strfreev (self->env);
  g_strfreev (self->read_only_paths);
  g_strfreev (self->state_dirs);
  g_free (self->socket);
  g_array_unref (self->fds);
  for (guint i = 0; i < self->early_fds->len; i++)
    if (g_array_index (self->early_fds, int, i) >= 0)
      close (g_array_index (self->early_fds, int, i));
  g_array_unref (self->early_fds);
  g_ptr_array_unref (self->listen_paths);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->subprocess);
  g_string_free (self->output, TRUE);
  if (self->output_fd >= 0)
    close (self->output_fd);
  g_clear_object (&self->output_stream);
  g_clear_object (&self->output_cancellable);
  G_OBJECT_CLASS (ql_helper_process_parent_class)->finalize (object);
}

static void
ql_helper_process_class_init (QlHelperProcessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ql_helper_process_dispose;
  object_class->finalize = ql_helper_process_finalize;

  signals[SIGNAL_EXITED] = g_signal_new ("exited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
ql_helper_process_init (QlHelperProcess *self)
{
  self->output = g_string_new (NULL);
  self->output_fd = -1;
  self->output_cancellable = g_cancellable_new ();
  self->fds = g_array_new (FALSE, FALSE, sizeof (int));
  self->listen_paths = g_ptr_array_new_with_free_func (g_free);
  self->early_fds = g_array_new (FALSE, FALSE, sizeof (int));
}

QlHelperProcess *
ql_helper_process_new (QlHelper     *helper,
                       GMainContext *context)
{
  QlHelperProcess *self = g_object_new (QL_TYPE_HELPER_PROCESS, NULL);
  GArray *fds = ql_helper_get_fds (helper);

  self->name = g_strdup (ql_helper_get_name (helper));
  self->device_id = g_strdup (ql_helper_get_device_id (helper));
  self->binary = g_strdup (ql_helper_get_binary (helper));
  self->argv = ql_helper_get_argv (helper);
  self->env = ql_helper_get_environ (helper);
  self->socket = g_strdup (ql_helper_get_socket (helper));
  self->ready_timeout = ql_helper_get_ready_timeout (helper);
  self->read_only_paths = ql_helper_get_read_only_paths (helper);
  self->state_dirs = ql_helper_get_state_dirs (helper);
  g_array_append_vals (self->fds, fds->data, fds->len);
  for (guint i = 0; i < fds->len; i++)
    {
      int none = -1;

      g_ptr_array_add (self->listen_paths, g_strdup (ql_helper_get_listen_socket (helper, 3 + (int) i)));
      g_array_append_val (self->early_fds, none);
    }
  self->context = context != NULL ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  return self;
}

void
ql_helper_process_set_detached (QlHelperProcess *self,
                                gboolean         detached)
{
  self->detached = detached;
}
