/* qlaunch — QlVm over QMP: ready, pause, resume, graceful shutdown, and
 * the VM's state kept in sync from QMP events. */
#include "ql-private.h"
#include "ql-qmp-private.h"

#include <string.h>

/* When the QMP connection fails while QEMU still runs, how long to wait
 * for QEMU's exit (QEMU may create its socket, then fail on a later
 * option and reset the connection). */
#define EXIT_AFTER_QMP_FAILURE_MS 2000

/* After `quit`, how long QEMU gets to exit before it is stopped with
 * signals. */
#define QUIT_TIMEOUT_MS 3000

static gboolean
vm_is_alive (QlVm *self)
{
  QlVmState state = ql_vm_get_state (self);

  return state == QL_VM_STATE_STARTING || state == QL_VM_STATE_RUNNING;
}

static void
on_qmp_event (QlQmp      *qmp,
              const char *name,
              JsonObject *data,
              QlVm       *self)
{
  (void) qmp;
  if (strcmp (name, "STOP") == 0)
    ql_vm_set_run_state (self, "paused");
  else if (strcmp (name, "RESUME") == 0)
    ql_vm_set_run_state (self, "running");
  else if (strcmp (name, "SHUTDOWN") == 0)
    ql_vm_set_run_state (self, "shutdown");
  else if (strcmp (name, "RESET") == 0)
    ql_vm_emit_reset (self, ql_json_bool (data, "guest", FALSE),
                      ql_json_string (data, "reason") != NULL ? ql_json_string (data, "reason") : "");
  else if (strcmp (name, "WATCHDOG") == 0)
    ql_vm_emit_watchdog (self, ql_json_string (data, "action") != NULL ? ql_json_string (data, "action") : "");
  else if (strcmp (name, "DEVICE_DELETED") == 0)
    ql_vm_emit_device_deleted (self, ql_json_string (data, "device"),
                               ql_json_string (data, "path") != NULL ? ql_json_string (data, "path") : "");
}

static gboolean
vm_error_if_no_qmp (QlVm    *self,
                    GTask   *task,
                    const char *what)
{
  QlQmp *qmp = ql_vm_get_qmp (self);

  if (qmp != NULL && ql_qmp_is_connected (qmp))
    return FALSE;
  g_task_return_new_error (task, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                           "cannot %s: %s", what,
                           qmp == NULL ? "the VM has no QMP connection (ql_vm_connect_qmp())"
                                       : "the QMP connection is closed");
  return TRUE;
}

/* ---- ready: connected to QMP -------------------------------------------- */

typedef struct
{
  QlQmp *qmp;
  GCancellable *cancel;         /* cancelled when QEMU exits meanwhile */
  gulong state_id;
  gulong caller_id;
  GCancellable *caller;
  GError *qmp_error;            /* the connect failure, while QEMU's exit is awaited */
  GSource *exit_timer;
  GSource *status_timer;        /* bounds query-status by what is left of timeout_ms */
  gint64 deadline;              /* monotonic, of the whole connect */
  guint timeout_ms;
  gboolean timed_out;
} Connect;

static void
connect_free (Connect *c)
{
  if (c->status_timer != NULL)
    {
      g_source_destroy (c->status_timer);
      g_source_unref (c->status_timer);
    }
  g_clear_error (&c->qmp_error);
  if (c->exit_timer != NULL)
    {
      g_source_destroy (c->exit_timer);
      g_source_unref (c->exit_timer);
    }
  g_clear_object (&c->qmp);
  g_clear_object (&c->cancel);
  if (c->caller_id != 0)
    g_cancellable_disconnect (c->caller, c->caller_id);
  g_clear_object (&c->caller);
  g_free (c);
}

/* Ends a failed connect: QEMU's exit (with its stderr) explains it best. */
static void
connect_fail (GTask  *task,
              GError *error)
{
  QlVm *self = g_task_get_source_object (task);
  Connect *c = g_task_get_task_data (task);

  if (!vm_is_alive (self) && !g_cancellable_is_cancelled (c->caller))
    {
      const char *err = ql_vm_get_stderr (self);

      g_error_free (error);
      g_task_return_new_error (task, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED,
                               "QEMU exited before its QMP socket answered%s%s",
                               err != NULL && *err != '\0' ? ": " : "",
                               err != NULL ? err : "");
    }
  else
    g_task_return_error (task, error);
}

static gboolean
connect_exit_wait_over (gpointer data)
{
  GTask *task = data;
  QlVm *self = g_task_get_source_object (task);
  Connect *c = g_task_get_task_data (task);

  g_clear_pointer (&c->exit_timer, g_source_unref);
  g_signal_handler_disconnect (self, c->state_id);
  c->state_id = 0;
  connect_fail (task, g_steal_pointer (&c->qmp_error));
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
connect_vm_state_changed (QlVm       *self,
                          GParamSpec *pspec,
                          GTask      *task)
{
  Connect *c = g_task_get_task_data (task);

  (void) pspec;
  if (vm_is_alive (self))
    return;
  if (c->qmp_error == NULL)
    {
      g_cancellable_cancel (c->cancel);   /* connect_done follows */
      return;
    }
  /* The failed connect was waiting for this exit. */
  g_source_destroy (c->exit_timer);
  g_clear_pointer (&c->exit_timer, g_source_unref);
  g_signal_handler_disconnect (self, c->state_id);
  c->state_id = 0;
  connect_fail (task, g_steal_pointer (&c->qmp_error));
  g_object_unref (task);
}

static void
connect_caller_cancelled (GCancellable *caller,
                          GCancellable *ours)
{
  (void) caller;
  g_cancellable_cancel (ours);
}

/* QEMU greeted but does not answer (stopped, hung): the connect's
 * timeout covers the first command too. */
static gboolean
connect_status_timed_out (gpointer data)
{
  Connect *c = data;

  g_clear_pointer (&c->status_timer, g_source_unref);
  c->timed_out = TRUE;
  g_cancellable_cancel (c->cancel);
  return G_SOURCE_REMOVE;
}

static void
connect_status_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  g_autoptr(GTask) task = data;
  QlVm *self = g_task_get_source_object (task);
  Connect *c = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;

  if (c->status_timer != NULL)
    {
      g_source_destroy (c->status_timer);
      g_clear_pointer (&c->status_timer, g_source_unref);
    }
  if (c->state_id != 0)
    {
      g_signal_handler_disconnect (self, c->state_id);
      c->state_id = 0;
    }
  if (!ql_qmp_query_status_finish (QL_QMP (source), result, &status, NULL, &error))
    {
      ql_vm_set_qmp (self, NULL, NULL);
      if (c->timed_out)
        g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT,
                                 "QMP socket %s: QEMU greeted, but did not answer query-status "
                                 "within the connect timeout (%u ms): is it stopped or hung?",
                                 ql_qmp_get_socket_path (c->qmp), c->timeout_ms);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && vm_is_alive (self)
               && !g_cancellable_is_cancelled (c->caller))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        connect_fail (task, g_steal_pointer (&error));
      return;
    }
  ql_vm_set_run_state (self, status);
  g_task_return_boolean (task, TRUE);
}

static void
connect_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(GTask) task = data;
  QlVm *self = g_task_get_source_object (task);
  Connect *c = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!ql_qmp_connect_finish (QL_QMP (source), result, &error))
    {
      if (vm_is_alive (self) && !g_cancellable_is_cancelled (c->caller))
        {
          /* Maybe QEMU is on its way out: its exit and stderr say more. */
          c->qmp_error = g_steal_pointer (&error);
          c->exit_timer = g_timeout_source_new (EXIT_AFTER_QMP_FAILURE_MS);
          g_source_set_callback (c->exit_timer, connect_exit_wait_over, task, NULL);
          g_source_attach (c->exit_timer, g_task_get_context (task));
          g_steal_pointer (&task);      /* the state handler or the timer ends it */
          return;
        }
      g_signal_handler_disconnect (self, c->state_id);
      c->state_id = 0;
      connect_fail (task, g_steal_pointer (&error));
      return;
    }
  /* QEMU's exit still cancels c->cancel (and so the query-status) until
   * the task ends; so do the caller's cancellable and the deadline. */
  ql_vm_set_qmp (self, c->qmp, G_CALLBACK (on_qmp_event));
  c->status_timer = g_timeout_source_new (MAX (1, (c->deadline - g_get_monotonic_time ()) / 1000));
  g_source_set_callback (c->status_timer, connect_status_timed_out, c, NULL);
  g_source_attach (c->status_timer, g_task_get_context (task));
  ql_qmp_query_status_async (c->qmp, c->cancel, connect_status_done, g_steal_pointer (&task));
}

/**
 * ql_vm_connect_qmp_async:
 * @self: a launched #QlVm whose configuration has a `[qmp]` unix server
 *   socket
 * @timeout_ms: how long to wait for QEMU to answer on it
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once QMP answers (the VM is ready), or on failure
 * @user_data: data for @callback
 *
 * Connects to the VM's first QMP socket: the VM is ready for commands when
 * this completes, and from then on #QlVm:run-state follows QEMU's STOP,
 * RESUME and SHUTDOWN events, #QlVm::reset, #QlVm::device-deleted and
 * #QlVm::watchdog are emitted, and ql_vm_get_qmp() gives the client. Fails at once when QEMU
 * exits meanwhile (with QEMU's stderr in the error). The client talks to
 * the VM's own QEMU, trusted by its pid whatever user it runs as, and
 * checks any other peer as #QlQmp does. Finish with
 * ql_vm_connect_qmp_finish().
 */
void
ql_vm_connect_qmp_async (QlVm                *self,
                         guint                timeout_ms,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  QlVmConfig *config;
  const char *path = NULL;
  gboolean server = FALSE;
  Connect *c;

  g_return_if_fail (QL_IS_VM (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_vm_connect_qmp_async);
  config = ql_vm_get_config (self);
  for (guint i = 0; i < ql_vm_config_get_n_qmp_sockets (config) && path == NULL; i++)
    {
      const char *p = NULL;

      if (ql_vm_config_get_qmp_socket (config, i, NULL, &p, &server, NULL) && server && p != NULL)
        path = p;
    }
  if (path == NULL)
    {
      g_task_return_new_error (task, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                               "the VM configuration has no [qmp] unix socket with server=true to connect to");
      return;
    }
  if (!vm_is_alive (self))
    {
      g_task_return_new_error (task, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                               "QEMU is not running: launch the VM first");
      return;
    }
  if (ql_vm_get_qmp (self) != NULL && ql_qmp_is_connected (ql_vm_get_qmp (self)))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  c = g_new0 (Connect, 1);
  c->qmp = ql_qmp_new ();
  /* QEMU is our child, whoever it runs as ([vm] qemu may be a wrapper
   * that changes user): the peer is trusted by its pid. */
  ql_qmp_trust_child (c->qmp, ql_vm_get_pid (self));
  c->cancel = g_cancellable_new ();
  c->timeout_ms = timeout_ms;
  c->deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  if (cancellable != NULL)
    {
      c->caller = g_object_ref (cancellable);
      c->caller_id = g_cancellable_connect (cancellable, G_CALLBACK (connect_caller_cancelled),
                                            c->cancel, NULL);
    }
  g_task_set_task_data (task, c, (GDestroyNotify) connect_free);
  c->state_id = g_signal_connect (self, "notify::state", G_CALLBACK (connect_vm_state_changed), task);
  ql_qmp_connect_async (c->qmp, path, timeout_ms, c->cancel, connect_done, g_steal_pointer (&task));
}

/**
 * ql_vm_connect_qmp_finish:
 * @self: a #QlVm
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_vm_connect_qmp_async().
 *
 * Returns: %TRUE when the VM is ready
 */
gboolean
ql_vm_connect_qmp_finish (QlVm          *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ql_vm_connect_qmp:
 * @self: a launched #QlVm
 * @timeout_ms: how long to wait for QEMU to answer
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_vm_connect_qmp_async(): iterates the
 * thread-default main context (the VM's) until QMP answers.
 *
 * Returns: %TRUE when the VM is ready
 */
gboolean
ql_vm_connect_qmp (QlVm          *self,
                   guint          timeout_ms,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  ql_vm_connect_qmp_async (self, timeout_ms, cancellable, ql_store_result, &result);
  ql_wait_result (&result);
  return ql_vm_connect_qmp_finish (self, result, error);
}

/* ---- pause and resume --------------------------------------------------- */

static void
run_state_command_done (GObject      *source,
                        GAsyncResult *result,
                        gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (ret == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The event follows; the state is known now. */
  ql_vm_set_run_state (g_task_get_source_object (task), g_task_get_task_data (task));
  g_task_return_boolean (task, TRUE);
}

static void
run_state_command (QlVm                *self,
                   const char          *command,
                   const char          *new_state,
                   gpointer             tag,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  g_task_set_task_data (task, (gpointer) new_state, NULL);
  if (vm_error_if_no_qmp (self, task, command))
    {
      g_object_unref (task);
      return;
    }
  ql_qmp_execute_async (ql_vm_get_qmp (self), command, NULL, cancellable,
                        run_state_command_done, task);
}

/**
 * ql_vm_pause_async:
 * @self: a #QlVm connected to QMP
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the guest is paused
 * @user_data: data for @callback
 *
 * Pauses the guest's CPUs (`stop`). Finish with ql_vm_pause_finish().
 */
void
ql_vm_pause_async (QlVm                *self,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  g_return_if_fail (QL_IS_VM (self));
  run_state_command (self, "stop", "paused", ql_vm_pause_async, cancellable, callback, user_data);
}

/**
 * ql_vm_pause_finish:
 * @self: a #QlVm
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_vm_pause_async().
 *
 * Returns: %TRUE when the guest is paused
 */
gboolean
ql_vm_pause_finish (QlVm          *self,
                    GAsyncResult  *result,
                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ql_vm_pause:
 * @self: a #QlVm connected to QMP
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_vm_pause_async().
 *
 * Returns: %TRUE when the guest is paused
 */
gboolean
ql_vm_pause (QlVm          *self,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  ql_vm_pause_async (self, cancellable, ql_store_result, &result);
  ql_wait_result (&result);
  return ql_vm_pause_finish (self, result, error);
}

/**
 * ql_vm_resume_async:
 * @self: a #QlVm connected to QMP
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the guest runs
 * @user_data: data for @callback
 *
 * Resumes the guest's CPUs (`cont`), also after `-S`. Finish with
 * ql_vm_resume_finish().
 */
void
ql_vm_resume_async (QlVm                *self,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_return_if_fail (QL_IS_VM (self));
  run_state_command (self, "cont", "running", ql_vm_resume_async, cancellable, callback, user_data);
}

/**
 * ql_vm_resume_finish:
 * @self: a #QlVm
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_vm_resume_async().
 *
 * Returns: %TRUE when the guest runs
 */
gboolean
ql_vm_resume_finish (QlVm          *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ql_vm_resume:
 * @self: a #QlVm connected to QMP
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_vm_resume_async().
 *
 * Returns: %TRUE when the guest runs
 */
gboolean
ql_vm_resume (QlVm          *self,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  ql_vm_resume_async (self, cancellable, ql_store_result, &result);
  ql_wait_result (&result);
  return ql_vm_resume_finish (self, result, error);
}

/* ---- graceful shutdown: powerdown, quit, signals ------------------------ */

typedef struct
{
  QlVmShutdownMethod method;    /* what was tried last */
  guint powerdown_timeout_ms;
  GSource *timer;
  gulong state_id;
} Shutdown;

static void
shutdown_free (Shutdown *s)
{
  if (s->timer != NULL)
    {
      g_source_destroy (s->timer);
      g_source_unref (s->timer);
    }
  g_free (s);
}

static void shutdown_escalate (GTask *task);

static void
shutdown_vm_state_changed (QlVm       *self,
                           GParamSpec *pspec,
                           GTask      *task)
{
  Shutdown *s = g_task_get_task_data (task);

  (void) pspec;
  if (vm_is_alive (self))
    return;
  g_signal_handler_disconnect (self, s->state_id);
  s->state_id = 0;
  if (s->timer != NULL)
    {
      g_source_destroy (s->timer);
      g_clear_pointer (&s->timer, g_source_unref);
    }
  g_task_return_int (task, s->method);
  g_object_unref (task);        /* the reference the state handler held */
}

static gboolean
shutdown_timed_out (gpointer data)
{
  GTask *task = data;
  Shutdown *s = g_task_get_task_data (task);

  g_clear_pointer (&s->timer, g_source_unref);
  shutdown_escalate (task);
  return G_SOURCE_REMOVE;
}

static void
shutdown_arm_timer (GTask *task,
                    guint  ms)
{
  Shutdown *s = g_task_get_task_data (task);

  s->timer = g_timeout_source_new (ms);
  g_source_set_callback (s->timer, shutdown_timed_out, task, NULL);
  g_source_attach (s->timer, g_task_get_context (task));
}

static void
shutdown_command_done (GObject      *source,
                       GAsyncResult *result,
                       gpointer      data)
{
  GTask *task = data;
  Shutdown *s = g_task_get_task_data (task);
  g_autoptr(JsonNode) ret = NULL;

  /* A failed command (or QEMU gone already) escalates now; the state
   * handler ends the task when QEMU exits. */
  ret = ql_qmp_execute_finish (QL_QMP (source), result, NULL);
  if (s->state_id == 0)
    {
      g_object_unref (task);
      return;
    }
  if (ret == NULL && s->timer != NULL)
    {
      g_source_destroy (s->timer);
      g_clear_pointer (&s->timer, g_source_unref);
      shutdown_escalate (task);
    }
  g_object_unref (task);
}

/* The next step: powerdown -> quit -> ql_vm_stop(). */
static void
shutdown_escalate (GTask *task)
{
  QlVm *self = g_task_get_source_object (task);
  Shutdown *s = g_task_get_task_data (task);
  QlQmp *qmp = ql_vm_get_qmp (self);
  gboolean have_qmp = qmp != NULL && ql_qmp_is_connected (qmp);

  if (s->method == QL_VM_SHUTDOWN_ALREADY_EXITED && have_qmp && s->powerdown_timeout_ms > 0)
    {
      s->method = QL_VM_SHUTDOWN_POWERDOWN;
      shutdown_arm_timer (task, s->powerdown_timeout_ms);
      ql_qmp_execute_async (qmp, "system_powerdown", NULL, NULL, shutdown_command_done,
                            g_object_ref (task));
      return;
    }
  if (s->method < QL_VM_SHUTDOWN_QUIT && have_qmp)
    {
      s->method = QL_VM_SHUTDOWN_QUIT;
      shutdown_arm_timer (task, QUIT_TIMEOUT_MS);
      ql_qmp_execute_async (qmp, "quit", NULL, NULL, shutdown_command_done, g_object_ref (task));
      return;
    }
  /* SIGTERM, then SIGKILL after the grace period: QEMU ends for sure. */
  s->method = QL_VM_SHUTDOWN_KILLED;
  ql_vm_stop (self);
}

/**
 * ql_vm_shutdown_async:
 * @self: a launched #QlVm
 * @powerdown_timeout_ms: how long the guest gets to power off after
 *   `system_powerdown` (an ACPI power button press); 0 skips that step
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once QEMU has exited
 * @user_data: data for @callback
 *
 * Ends the VM gracefully, escalating until QEMU has exited: the guest is
 * asked to power off; if it has not within @powerdown_timeout_ms, QEMU is
 * told to `quit`; if it has not exited 3 s later, or without a QMP
 * connection, it is stopped with SIGTERM and then SIGKILL (ql_vm_stop()).
 * Finish with ql_vm_shutdown_finish(), which says which step ended it.
 */
void
ql_vm_shutdown_async (QlVm                *self,
                      guint                powerdown_timeout_ms,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task;
  Shutdown *s;

  g_return_if_fail (QL_IS_VM (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_vm_shutdown_async);
  s = g_new0 (Shutdown, 1);
  s->method = QL_VM_SHUTDOWN_ALREADY_EXITED;
  s->powerdown_timeout_ms = powerdown_timeout_ms;
  g_task_set_task_data (task, s, (GDestroyNotify) shutdown_free);
  if (!vm_is_alive (self))
    {
      if (ql_vm_get_state (self) == QL_VM_STATE_NEW)
        g_task_return_new_error (task, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE,
                                 "the VM was never launched");
      else
        g_task_return_int (task, QL_VM_SHUTDOWN_ALREADY_EXITED);
      g_object_unref (task);
      return;
    }
  /* The state handler holds the task's reference until QEMU exits. */
  s->state_id = g_signal_connect (self, "notify::state", G_CALLBACK (shutdown_vm_state_changed), task);
  shutdown_escalate (task);
}

/**
 * ql_vm_shutdown_finish:
 * @self: a #QlVm
 * @result: the #GAsyncResult given to the callback
 * @method: (out) (optional): which step ended QEMU
 * @error: return location for an error
 *
 * Finishes ql_vm_shutdown_async().
 *
 * Returns: %TRUE once QEMU has exited
 */
gboolean
ql_vm_shutdown_finish (QlVm                *self,
                       GAsyncResult        *result,
                       QlVmShutdownMethod  *method,
                       GError             **error)
{
  gssize value;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  value = g_task_propagate_int (G_TASK (result), error);
  if (value < 0)
    return FALSE;
  if (method != NULL)
    *method = (QlVmShutdownMethod) value;
  return TRUE;
}

/**
 * ql_vm_shutdown:
 * @self: a launched #QlVm
 * @powerdown_timeout_ms: how long the guest gets to power off; 0 skips it
 * @method: (out) (optional): which step ended QEMU
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_vm_shutdown_async().
 *
 * Returns: %TRUE once QEMU has exited
 */
gboolean
ql_vm_shutdown (QlVm                *self,
                guint                powerdown_timeout_ms,
                QlVmShutdownMethod  *method,
                GCancellable        *cancellable,
                GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  ql_vm_shutdown_async (self, powerdown_timeout_ms, cancellable, ql_store_result, &result);
  ql_wait_result (&result);
  return ql_vm_shutdown_finish (self, result, method, error);
}
