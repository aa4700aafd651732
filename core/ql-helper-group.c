/* qlaunch — QlHelperGroup: the helper processes of one VM, started in
 * order before QEMU (or before a hot-plugged device; socket-activated ones
 * listening early, right after QEMU), followed while the VM
 * runs, stopped with it; and the VM's runtime directory, removed once they
 * are gone. */
#include "ql-helper-group.h"
#include "ql-runtime-dir.h"

#include <unistd.h>

struct _QlHelperGroup
{
  GObject parent_instance;

  GMainContext *context;
  char *runtime_dir;
  gboolean made_here;
  int lock_fd;
  gboolean dir_removed;

  GPtrArray *processes;       /* QlHelperProcess, start order */
  GQueue early;               /* QlHelperProcess (in processes) listening
                               * early, not started yet: the next start
                               * takes them in order */
  GList *stops;               /* StopOp */
  QlHelperGroupDiedFunc died_func;
  gpointer died_data;
  QlHelperGroupDiedFunc ready_func;
  gpointer ready_data;
  gboolean detached;
};

G_DEFINE_FINAL_TYPE (QlHelperGroup, ql_helper_group, G_TYPE_OBJECT)

typedef struct
{
  GTask *task;
  GPtrArray *waiting;         /* QlHelperProcess not gone yet */
  gboolean whole_group;
} StopOp;

typedef struct
{
  QlCmdline *cmdline;
  guint next;                 /* the helper to start next */
  GPtrArray *started;         /* this start's processes */
  GError *error;              /* the first failure */
} StartOp;

static void
start_op_free (StartOp *op)
{
  g_clear_object (&op->cmdline);
  g_ptr_array_unref (op->started);
  g_clear_error (&op->error);
  g_free (op);
}

static void
stop_op_free (StopOp *op)
{
  g_clear_object (&op->task);
  g_ptr_array_unref (op->waiting);
  g_free (op);
}

/* Stops: completes the operations whose helpers are all gone. */
static void
finish_stops (QlHelperGroup *self)
{
  GList *l = self->stops;

  while (l != NULL)
    {
      GList *next = l->next;
      StopOp *op = l->data;

      if (op->waiting->len == 0)
        {
          self->stops = g_list_delete_link (self->stops, l);
          if (op->whole_group && !self->dir_removed)
            {
              for (guint i = 0; i < self->processes->len; i++)
                ql_helper_process_remove_socket (g_ptr_array_index (self->processes, i));
              ql_runtime_dir_remove (self->runtime_dir, self->made_here, self->lock_fd);
              self->lock_fd = -1;
              self->dir_removed = TRUE;
            }
          g_task_return_boolean (op->task, TRUE);
          stop_op_free (op);
        }
      l = next;
    }
}

static void
process_exited_cb (QlHelperProcess *process,
                   gpointer         user_data)
{
  QlHelperGroup *self = user_data;
  gboolean awaited = FALSE;

  ql_helper_process_remove_socket (process);
  for (GList *l = self->stops; l != NULL; l = l->next)
    {
      StopOp *op = l->data;

      if (g_ptr_array_remove (op->waiting, process))
        awaited = TRUE;
    }
  if (!awaited && !ql_helper_process_was_stopped (process)
      && ql_helper_process_is_ready (process) && self->died_func != NULL)
    self->died_func (self, process, self->died_data);
  finish_stops (self);
}

/* Start */

static void start_next (GTask *task);

static void
start_failed_stopped_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  StartOp *op = g_task_get_task_data (task);

  (void) object;
  (void) result;
  g_task_return_error (task, g_steal_pointer (&op->error));
}

static void
stop_processes_async (QlHelperGroup       *self,
                      GPtrArray           *processes,
                      gboolean             whole_group,
                      guint                grace_ms,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  StopOp *op = g_new0 (StopOp, 1);

  op->task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (op->task, ql_helper_group_stop_async);
  op->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  op->whole_group = whole_group;
  for (guint i = 0; i < processes->len; i++)
    {
      QlHelperProcess *process = g_ptr_array_index (processes, i);

      if (!ql_helper_process_is_gone (process))
        g_ptr_array_add (op->waiting, g_object_ref (process));
    }
  self->stops = g_list_append (self->stops, op);
  for (guint i = 0; i < processes->len; i++)
    ql_helper_process_stop (g_ptr_array_index (processes, i), grace_ms);
  finish_stops (self);
}

static void
helper_started_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  QlHelperGroup *self = g_task_get_source_object (task);
  StartOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  if (!ql_helper_process_start_finish (QL_HELPER_PROCESS (object), result, &error))
    {
      op->error = error;
      /* What this start began goes again, helpers included that were
       * ready already. */
      stop_processes_async (self, op->started, FALSE, 0, start_failed_stopped_cb,
                            g_steal_pointer (&task));
      return;
    }
  if (self->ready_func != NULL)
    self->ready_func (self, QL_HELPER_PROCESS (object), self->ready_data);
  start_next (g_steal_pointer (&task));
}

/* A process for @helper, followed by the group. */
static QlHelperProcess *
add_process (QlHelperGroup *self,
             QlHelper      *helper)
{
  QlHelperProcess *process = ql_helper_process_new (helper, self->context);

  ql_helper_process_set_detached (process, self->detached);
  g_signal_connect_object (process, "exited", G_CALLBACK (process_exited_cb), self, 0);
  g_ptr_array_add (self->processes, process);
  return process;
}

static void
start_next (GTask *task)
{
  QlHelperGroup *self = g_task_get_source_object (task);
  StartOp *op = g_task_get_task_data (task);
  QlHelperProcess *process;

  if (op->next >= ql_cmdline_get_n_helpers (op->cmdline))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  op->next++;
  process = g_queue_pop_head (&self->early);
  if (process == NULL)
    process = add_process (self, ql_cmdline_get_helper (op->cmdline, op->next - 1));
  g_ptr_array_add (op->started, g_object_ref (process));
  ql_helper_process_start_async (process, g_task_get_cancellable (task), helper_started_cb, task);
}

void
ql_helper_group_start_async (QlHelperGroup       *self,
                             QlCmdline           *cmdline,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  StartOp *op = g_new0 (StartOp, 1);

  g_task_set_source_tag (task, ql_helper_group_start_async);
  g_task_set_check_cancellable (task, FALSE);
  op->cmdline = g_object_ref (cmdline);
  op->started = g_ptr_array_new_with_free_func (g_object_unref);
  g_task_set_task_data (task, op, (GDestroyNotify) start_op_free);
  start_next (task);
}

/* Whether @helper's socket is one the launcher makes listening and hands
 * over (ql_helper_add_listen_socket()). */
static gboolean
socket_activated (QlHelper *helper)
{
  const char *socket = ql_helper_get_socket (helper);

  for (guint i = 0; socket != NULL && i < ql_helper_get_fds (helper)->len; i++)
    if (g_strcmp0 (ql_helper_get_listen_socket (helper, 3 + (int) i), socket) == 0)
      return TRUE;
  return FALSE;
}

gboolean
ql_helper_group_listen_early (QlHelperGroup  *self,
                              QlCmdline      *cmdline,
                              GError        **error)
{
  guint n = ql_cmdline_get_n_helpers (cmdline);

  g_return_val_if_fail (g_queue_is_empty (&self->early), FALSE);

  for (guint i = 0; i < n; i++)
    if (!socket_activated (ql_cmdline_get_helper (cmdline, i)))
      return FALSE;
  for (guint i = 0; i < n; i++)
    {
      QlHelperProcess *process = add_process (self, ql_cmdline_get_helper (cmdline, i));

      g_queue_push_tail (&self->early, process);
      if (!ql_helper_process_listen_early (process, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
ql_helper_group_start_finish (QlHelperGroup  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Stop */

void
ql_helper_group_stop_async (QlHelperGroup       *self,
                            const char          *device_id,
                            guint                grace_ms,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GPtrArray) chosen = g_ptr_array_new ();

  for (guint i = 0; i < self->processes->len; i++)
    {
      QlHelperProcess *process = g_ptr_array_index (self->processes, i);
      const char *id = ql_helper_process_get_device_id (process);

      if (device_id == NULL || g_strcmp0 (id, device_id) == 0)
        g_ptr_array_add (chosen, process);
    }
  stop_processes_async (self, chosen, device_id == NULL, grace_ms, callback, user_data);
  if (device_id != NULL)
    /* The device is gone: its helpers are no longer the group's (a later
     * hot-plug may reuse its id). They stay referenced until stopped. */
    for (guint i = 0; i < chosen->len; i++)
      g_ptr_array_remove (self->processes, g_ptr_array_index (chosen, i));
}

gboolean
ql_helper_group_stop_finish (QlHelperGroup  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
ql_helper_group_set_ready_func (QlHelperGroup         *self,
                                QlHelperGroupDiedFunc  func,
                                gpointer               user_data)
{
  self->ready_func = func;
  self->ready_data = user_data;
}

void
ql_helper_group_set_detached (QlHelperGroup *self,
                              gboolean       detached)
{
  self->detached = detached;
}

void
ql_helper_group_release_all (QlHelperGroup *self)
{
  for (guint i = 0; i < self->processes->len; i++)
    {
      QlHelperProcess *process = g_ptr_array_index (self->processes, i);

      ql_helper_process_release (process);
      ql_helper_process_remove_socket (process);
    }
  if (!self->dir_removed)
    {
      ql_runtime_dir_remove (self->runtime_dir, self->made_here, self->lock_fd);
      self->lock_fd = -1;
      self->dir_removed = TRUE;
    }
}

/* Getters */

void
ql_helper_group_set_died_func (QlHelperGroup         *self,
                               QlHelperGroupDiedFunc  func,
                               gpointer               user_data)
{
  self->died_func = func;
  self->died_data = user_data;
}

guint
ql_helper_group_get_n_running (QlHelperGroup *self)
{
  guint n = 0;

  for (guint i = 0; i < self->processes->len; i++)
    if (!ql_helper_process_is_gone (g_ptr_array_index (self->processes, i)))
      n++;
  return n;
}

GPtrArray *
ql_helper_group_get_processes (QlHelperGroup *self)
{
  return self->processes;
}

const char *
ql_helper_group_get_runtime_dir (QlHelperGroup *self)
{
  return self->runtime_dir;
}

/* GObject */

static void
ql_helper_group_finalize (GObject *object)
{
  QlHelperGroup *self = QL_HELPER_GROUP (object);

  /* Pending stops hold a reference: none is left here. A group dropped
   * with its directory still there (a launch that never ran QEMU) removes
   * it now. */
  if (!self->dir_removed)
    ql_runtime_dir_remove (self->runtime_dir, self->made_here, self->lock_fd);
  g_queue_clear (&self->early);
  g_ptr_array_unref (self->processes);
  g_free (self->runtime_dir);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (ql_helper_group_parent_class)->finalize (object);
}

static void
ql_helper_group_class_init (QlHelperGroupClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ql_helper_group_finalize;
}

static void
ql_helper_group_init (QlHelperGroup *self)
{
  self->processes = g_ptr_array_new_with_free_func (g_object_unref);
  self->lock_fd = -1;
}

QlHelperGroup *
ql_helper_group_new (GMainContext *context,
                     const char   *runtime_dir,
                     gboolean      made_here,
                     int           lock_fd)
{
  QlHelperGroup *self = g_object_new (QL_TYPE_HELPER_GROUP, NULL);

  self->context = context != NULL ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  self->runtime_dir = g_strdup (runtime_dir);
  self->made_here = made_here;
  self->lock_fd = lock_fd;
  return self;
}
