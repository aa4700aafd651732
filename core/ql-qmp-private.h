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

/* Readers for JSON from QEMU (untrusted): each gives NULL (or the default)
 * when the member is missing or of another type, never a critical. */
const char   *ql_json_string       (JsonObject  *object,
                                    const char  *member);
gint64        ql_json_int          (JsonObject  *object,
                                    const char  *member,
                                    gint64       default_value);
gboolean      ql_json_bool         (JsonObject  *object,
                                    const char  *member,
                                    gboolean     default_value);
JsonObject   *ql_json_object       (JsonObject  *object,
                                    const char  *member);
JsonObject   *ql_json_array_object (JsonArray   *array,
                                    guint        index);

gboolean      ql_json_check_single_object (const char  *text,
                                           gsize        len,
                                           guint        max_depth,
                                           const char **why);

G_END_DECLS
