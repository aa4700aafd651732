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

/* Whether the text of one JSON message holds only what json-glib keeps as
 * it was sent: no \u0000 (its strings end there), no unpaired surrogate
 * (it would make invalid UTF-8), no number beyond the doubles, nor its
 * non-JSON forms (hex, octal, leading '.', single quotes); FALSE with what
 * it found in @why (free it). An integer outside int64 (which json-glib
 * wraps) is refused with @exact_integers, else made a double: then
 * @rewritten is the text to parse instead (else NULL). (ql-qmp-json.c) */
gboolean      ql_json_check_faithful      (const char  *text,
                                           gsize        len,
                                           gboolean     exact_integers,
                                           char       **rewritten,
                                           char       **why);

/* Whom a client talks to (ql-qmp-peer.c): @uid is ours (effective),
 * root's or @extra_uid (-1: none). */
gboolean      ql_qmp_uid_trusted          (guint        uid,
                                           gint64       extra_uid);
/* Before connecting: @path, when it exists, is a trusted user's, or sits
 * in a directory only a trusted user can write to. */
gboolean      ql_qmp_check_socket_file    (const char  *path,
                                           gint64       extra_uid,
                                           GError     **error);
/* After connecting: the listening process is a trusted user's, or is
 * @child_pid (> 0: a QEMU we started, whoever it runs as). */
gboolean      ql_qmp_check_peer           (GSocket     *socket,
                                           const char  *path,
                                           gint64       extra_uid,
                                           GPid         child_pid,
                                           GError     **error);
/* A QlVm's client: the peer may be process @pid, its own QEMU, of any
 * user (a [vm] qemu wrapper may change it); the socket file is then not
 * judged by its owner, since the peer's pid says who listens. */
void          ql_qmp_trust_child          (QlQmp       *self,
                                           GPid         pid);

G_END_DECLS
