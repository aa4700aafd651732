/* qlaunch — the one body behind the QMP client's typed helpers.
 *
 * A typed helper says what it does as a QlQmpCommand: one QMP command and
 * its arguments, or an operation of several steps run on a GTask. The
 * QL_QMP_DEFINE_* macros define its public functions around it (write the
 * doc comments right above the macro): the asynchronous form checks its
 * parameters and starts the command; the synchronous form checks them,
 * runs the command while iterating the client's main context and finishes
 * it as an asynchronous caller would. */
#pragma once

#include "ql-qmp-private.h"

G_BEGIN_DECLS

typedef struct
{
  const char *name;             /* the QMP command, when @run is NULL */
  JsonObject *args;             /* (owned) (nullable): its arguments */
  int fd;                       /* a descriptor sent with it, or -1 */
  GError *refused;              /* (owned) (nullable): fails with it, sending nothing */
  void (*run) (GTask *task);    /* an operation of several steps, on a task holding @state */
  gpointer state;               /* (owned) */
  GDestroyNotify state_free;
  gpointer tag;                 /* the public asynchronous function */
  GCancellable *cancellable;
} QlQmpCommand;

/* QMP command @name with @args (taken; NULL: none). */
QlQmpCommand  ql_qmp_command                (const char           *name,
                                             JsonObject           *args);
/* Fails with @error (taken) without reaching QEMU. */
QlQmpCommand  ql_qmp_command_refused        (GError               *error);
/* @run (@task) starts an operation of several steps that ends by returning
 * a boolean on @task; @task's data is @state (taken). */
QlQmpCommand  ql_qmp_operation              (void                (*run) (GTask *task),
                                             gpointer              state,
                                             GDestroyNotify        state_free);

void          ql_qmp_command_async          (QlQmp                *self,
                                             QlQmpCommand          command,
                                             gpointer              tag,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
/* Runs @command to its end: the result its callback would get (owned). */
GAsyncResult *ql_qmp_command_sync           (QlQmp                *self,
                                             QlQmpCommand          command,
                                             gpointer              tag,
                                             GCancellable         *cancellable);
/* ql_qmp_execute_finish(), telling only whether the command succeeded. */
gboolean      ql_qmp_command_succeeded      (QlQmp                *self,
                                             GAsyncResult         *result,
                                             GError              **error);
gboolean      ql_qmp_operation_finish       (QlQmp                *self,
                                             GAsyncResult         *result,
                                             GError              **error);
/* The reply to a command an operation sent on @task; NULL when the command
 * failed, and @task returned its error. */
JsonNode     *ql_qmp_operation_reply        (GTask                *task,
                                             GObject              *source,
                                             GAsyncResult         *result);

/* The parameter lists below are parenthesised: (QlQmp *self, ...). */
#define QL_QMP_PARAMETERS(...) __VA_ARGS__

/* ql_qmp_NAME_async (PARAMS..., cancellable, callback, user_data): after
 * g_return_if_fail (CHECK) it starts COMMAND, a QlQmpCommand. */
#define QL_QMP_DEFINE_ASYNC(NAME, PARAMS, CHECK, COMMAND)                       \
  void                                                                          \
  ql_qmp_##NAME##_async (QL_QMP_PARAMETERS PARAMS,                              \
                         GCancellable        *cancellable,                      \
                         GAsyncReadyCallback  callback,                         \
                         gpointer             user_data)                        \
  {                                                                             \
    g_return_if_fail (QL_IS_QMP (self));                                        \
    g_return_if_fail (CHECK);                                                   \
    ql_qmp_command_async (self, COMMAND, ql_qmp_##NAME##_async, cancellable,    \
                          callback, user_data);                                 \
  }

/* RTYPE ql_qmp_NAME (PARAMS..., cancellable, error): after
 * g_return_val_if_fail (CHECK, FAILED) it runs COMMAND and returns FINISH,
 * an expression of self, result and error. */
#define QL_QMP_DEFINE_SYNC(NAME, PARAMS, CHECK, COMMAND, RTYPE, FAILED, FINISH) \
  RTYPE                                                                         \
  ql_qmp_##NAME (QL_QMP_PARAMETERS PARAMS,                                      \
                 GCancellable  *cancellable,                                    \
                 GError       **error)                                          \
  {                                                                             \
    g_autoptr(GAsyncResult) result = NULL;                                      \
                                                                                \
    g_return_val_if_fail (QL_IS_QMP (self), FAILED);                            \
    g_return_val_if_fail (CHECK, FAILED);                                       \
    result = ql_qmp_command_sync (self, COMMAND, ql_qmp_##NAME##_async,         \
                                  cancellable);                                 \
    return FINISH;                                                              \
  }

/* A command finished with ql_qmp_execute_finish(); the synchronous form
 * tells whether it succeeded. */
#define QL_QMP_DEFINE_COMMAND(NAME, PARAMS, CHECK, COMMAND)                     \
  QL_QMP_DEFINE_ASYNC (NAME, PARAMS, CHECK, COMMAND)                            \
  QL_QMP_DEFINE_SYNC (NAME, PARAMS, CHECK, COMMAND, gboolean, FALSE,            \
                      ql_qmp_command_succeeded (self, result, error))

/* A command finished with ql_qmp_execute_finish(); the synchronous form
 * returns the reply. */
#define QL_QMP_DEFINE_QUERY(NAME, PARAMS, CHECK, COMMAND)                       \
  QL_QMP_DEFINE_ASYNC (NAME, PARAMS, CHECK, COMMAND)                            \
  QL_QMP_DEFINE_SYNC (NAME, PARAMS, CHECK, COMMAND, JsonNode *, NULL,           \
                      ql_qmp_execute_finish (self, result, error))

/* A command without arguments whose reply ql_qmp_NAME_finish() (written
 * out) reads into the out parameters OUTS, named ARGS. */
#define QL_QMP_DEFINE_TYPED_QUERY(NAME, QMP_COMMAND, OUTS, ARGS)                \
  QL_QMP_DEFINE_ASYNC (NAME, (QlQmp *self), TRUE,                               \
                       ql_qmp_command (QMP_COMMAND, NULL))                      \
  QL_QMP_DEFINE_SYNC (NAME, (QlQmp *self, QL_QMP_PARAMETERS OUTS), TRUE,        \
                      ql_qmp_command (QMP_COMMAND, NULL), gboolean, FALSE,      \
                      ql_qmp_##NAME##_finish (self, result,                     \
                                              QL_QMP_PARAMETERS ARGS, error))

/* An operation of several steps (COMMAND comes from ql_qmp_operation()),
 * with its own ql_qmp_NAME_finish(). */
#define QL_QMP_DEFINE_OPERATION(NAME, PARAMS, CHECK, COMMAND)                   \
  QL_QMP_DEFINE_ASYNC (NAME, PARAMS, CHECK, COMMAND)                            \
  gboolean                                                                      \
  ql_qmp_##NAME##_finish (QlQmp         *self,                                  \
                          GAsyncResult  *result,                                \
                          GError       **error)                                 \
  {                                                                             \
    return ql_qmp_operation_finish (self, result, error);                       \
  }                                                                             \
  QL_QMP_DEFINE_SYNC (NAME, PARAMS, CHECK, COMMAND, gboolean, FALSE,            \
                      ql_qmp_##NAME##_finish (self, result, error))

G_END_DECLS
