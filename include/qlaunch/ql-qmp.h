/* qlaunch — QlQmp: a QMP client over a unix socket, driven by a GLib main context. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <qlaunch/ql-macros.h>

G_BEGIN_DECLS

/**
 * QL_QMP_ERROR:
 *
 * Error domain of #QlQmp. Errors in this domain are #QlQmpError values.
 * A QMP error reply becomes the code of its class (#QL_QMP_ERROR_GENERIC for
 * `GenericError`, ...); its message is `COMMAND: DESCRIPTION`, and
 * ql_qmp_error_get_class() gives QMP's class name back.
 */
#define QL_QMP_ERROR (ql_qmp_error_quark ())

/**
 * QlQmpError:
 * @QL_QMP_ERROR_CONNECT: no QMP server answered at the socket in time
 * @QL_QMP_ERROR_DISCONNECTED: the connection is closed (QEMU exited, or
 *   ql_qmp_close() was called) before the reply arrived
 * @QL_QMP_ERROR_PROTOCOL: the peer sent something that is not QMP: malformed
 *   or truncated JSON, an oversized message, a reply to no pending command, a
 *   missing greeting; the connection is closed
 * @QL_QMP_ERROR_TIMEOUT: the operation did not complete in time
 * @QL_QMP_ERROR_GENERIC: QMP error class `GenericError`
 * @QL_QMP_ERROR_COMMAND_NOT_FOUND: QMP error class `CommandNotFound`
 * @QL_QMP_ERROR_DEVICE_NOT_ACTIVE: QMP error class `DeviceNotActive`
 * @QL_QMP_ERROR_DEVICE_NOT_FOUND: QMP error class `DeviceNotFound`
 * @QL_QMP_ERROR_KVM_MISSING_CAP: QMP error class `KVMMissingCap`
 * @QL_QMP_ERROR_OTHER_CLASS: a QMP error class this version does not know
 *   (the message names it)
 * @QL_QMP_ERROR_FAILED: a multi-step operation failed for a reason QEMU
 *   reported outside an error reply (e.g. a migration ended `failed`)
 * @QL_QMP_ERROR_UNTRUSTED_PEER: the socket file or the process serving it
 *   belongs to a user the client does not trust (see #QlQmp:peer-uid);
 *   nothing was sent
 *
 * Error codes of %QL_QMP_ERROR.
 */
typedef enum
{
  QL_QMP_ERROR_CONNECT,
  QL_QMP_ERROR_DISCONNECTED,
  QL_QMP_ERROR_PROTOCOL,
  QL_QMP_ERROR_TIMEOUT,
  QL_QMP_ERROR_GENERIC,
  QL_QMP_ERROR_COMMAND_NOT_FOUND,
  QL_QMP_ERROR_DEVICE_NOT_ACTIVE,
  QL_QMP_ERROR_DEVICE_NOT_FOUND,
  QL_QMP_ERROR_KVM_MISSING_CAP,
  QL_QMP_ERROR_OTHER_CLASS,
  QL_QMP_ERROR_FAILED,
  QL_QMP_ERROR_UNTRUSTED_PEER,
} QlQmpError;

/**
 * QL_QMP_DEFAULT_MAX_MESSAGE_SIZE:
 *
 * The default for #QlQmp:max-message-size: 8 MiB. QEMU's largest replies
 * (`query-qmp-schema`, `qom-list-types`) are far below it.
 */
#define QL_QMP_DEFAULT_MAX_MESSAGE_SIZE (8 * 1024 * 1024)

#define QL_TYPE_QMP (ql_qmp_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlQmp, ql_qmp, QL, QMP, GObject)

QL_API GQuark       ql_qmp_error_quark          (void);
QL_API const char  *ql_qmp_error_get_class      (const GError        *error);

QL_API QlQmp       *ql_qmp_new                  (void);

QL_API void         ql_qmp_connect_async        (QlQmp               *self,
                                                 const char          *socket_path,
                                                 guint                timeout_ms,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
QL_API gboolean     ql_qmp_connect_finish       (QlQmp               *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
QL_API gboolean     ql_qmp_connect              (QlQmp               *self,
                                                 const char          *socket_path,
                                                 guint                timeout_ms,
                                                 GCancellable        *cancellable,
                                                 GError             **error);

QL_API gboolean     ql_qmp_is_connected         (QlQmp               *self);
QL_API const char  *ql_qmp_get_socket_path      (QlQmp               *self);
QL_API JsonObject  *ql_qmp_get_greeting         (QlQmp               *self);
QL_API gboolean     ql_qmp_get_qemu_version     (QlQmp               *self,
                                                 guint               *major,
                                                 guint               *minor,
                                                 guint               *micro);
QL_API gint64       ql_qmp_get_event_timestamp  (QlQmp               *self);
QL_API gsize        ql_qmp_get_max_message_size (QlQmp               *self);
QL_API void         ql_qmp_set_max_message_size (QlQmp               *self,
                                                 gsize                size);
QL_API gint64       ql_qmp_get_peer_uid         (QlQmp               *self);
QL_API void         ql_qmp_set_peer_uid         (QlQmp               *self,
                                                 gint64               uid);
QL_API gboolean     ql_qmp_get_check_peer       (QlQmp               *self);
QL_API void         ql_qmp_set_check_peer       (QlQmp               *self,
                                                 gboolean             check);
QL_API gboolean     ql_qmp_get_exact_integers   (QlQmp               *self);
QL_API void         ql_qmp_set_exact_integers   (QlQmp               *self,
                                                 gboolean             exact);
QL_API void         ql_qmp_close                (QlQmp               *self);

QL_API void         ql_qmp_execute_async        (QlQmp               *self,
                                                 const char          *command,
                                                 JsonObject          *arguments,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
QL_API void         ql_qmp_execute_with_fd_async (QlQmp              *self,
                                                 const char          *command,
                                                 JsonObject          *arguments,
                                                 int                  fd,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
QL_API JsonNode    *ql_qmp_execute_finish       (QlQmp               *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
QL_API JsonNode    *ql_qmp_execute              (QlQmp               *self,
                                                 const char          *command,
                                                 JsonObject          *arguments,
                                                 GCancellable        *cancellable,
                                                 GError             **error);

QL_API void         ql_qmp_wait_event_async     (QlQmp               *self,
                                                 const char          *event,
                                                 const char          *data_key,
                                                 const char          *data_value,
                                                 guint                timeout_ms,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
QL_API JsonObject  *ql_qmp_wait_event_finish    (QlQmp               *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

G_END_DECLS
