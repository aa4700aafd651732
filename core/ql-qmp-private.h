/* qlaunch — private helpers shared by the QMP client's files. */
#pragma once

#include "ql-private.h"

G_BEGIN_DECLS

/* Starts an asynchronous operation on @self that completes through
 * @callback. */
typedef void (*QlQmpStartFunc) (QlQmp               *self,
                                gpointer             data,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);

/* Runs @start and iterates the client's main context (the thread default
 * when not connected yet) until it completes; returns its result (owned). */
GAsyncResult *ql_qmp_run_sync (QlQmp          *self,
                               QlQmpStartFunc  start,
                               gpointer        start_data);

G_END_DECLS
