/* qlaunch — the one body behind the QMP client's typed helpers. */
#include "ql-private.h"
#include "ql-qmp-command-private.h"

QlQmpCommand
ql_qmp_command (const char *name,
                JsonObject *args)
{
  return (QlQmpCommand) { .name = name, .args = args, .fd = -1 };
}

QlQmpCommand
ql_qmp_command_refused (GError *error)
{
  return (QlQmpCommand) { .refused = error, .fd = -1 };
}

QlQmpCommand
ql_qmp_operation (void           (*run) (GTask *task),
                  gpointer         state,
                  GDestroyNotify   state_free)
{
  return (QlQmpCommand) { .run = run, .state = state, .state_free = state_free, .fd = -1 };
}

/* A QlQmpStartFunc for a QlQmpCommand. */
static void
command_start (QlQmp               *self,
               gpointer             data,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  QlQmpCommand *c = data;
  g_autoptr(JsonObject) args = g_steal_pointer (&c->args);
  g_autoptr(GTask) task = NULL;

  if (c->refused == NULL && c->run == NULL)
    {
      if (c->fd >= 0)
        ql_qmp_execute_with_fd_async (self, c->name, args, c->fd, c->cancellable, callback, user_data);
      else
        ql_qmp_execute_async (self, c->name, args, c->cancellable, callback, user_data);
      return;
    }
  task = g_task_new (self, c->cancellable, callback, user_data);
  g_task_set_source_tag (task, c->tag);
  if (c->state != NULL)
    g_task_set_task_data (task, g_steal_pointer (&c->state), c->state_free);
  if (c->refused != NULL)
    g_task_return_error (task, g_steal_pointer (&c->refused));
  else
    c->run (task);
}

void
ql_qmp_command_async (QlQmp               *self,
                      QlQmpCommand         command,
                      gpointer             tag,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  command.tag = tag;
  command.cancellable = cancellable;
  command_start (self, &command, callback, user_data);
}

GAsyncResult *
ql_qmp_command_sync (QlQmp        *self,
                     QlQmpCommand  command,
                     gpointer      tag,
                     GCancellable *cancellable)
{
  command.tag = tag;
  command.cancellable = cancellable;
  return ql_qmp_run_sync (self, command_start, &command);
}

gboolean
ql_qmp_command_succeeded (QlQmp         *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_autoptr(JsonNode) ret = ql_qmp_execute_finish (self, result, error);

  return ret != NULL;
}

gboolean
ql_qmp_operation_finish (QlQmp         *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

JsonNode *
ql_qmp_operation_reply (GTask        *task,
                        GObject      *source,
                        GAsyncResult *result)
{
  GError *error = NULL;
  JsonNode *ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);

  if (ret == NULL)
    g_task_return_error (task, error);
  return ret;
}
