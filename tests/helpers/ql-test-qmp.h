/* qlaunch tests — a small synchronous QMP client.
 *
 * For tests only: it blocks, and every wait is bounded by the timeout given
 * to ql_test_qmp_connect(), so a QEMU that never answers fails the test
 * instead of hanging it. The library has its own asynchronous client.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define QL_TEST_QMP_ERROR (ql_test_qmp_error_quark ())

/**
 * QlTestQmpError:
 * @QL_TEST_QMP_ERROR_GENERIC: QEMU answered with error class "GenericError"
 *   (or a class this client does not know)
 * @QL_TEST_QMP_ERROR_COMMAND_NOT_FOUND: error class "CommandNotFound"
 * @QL_TEST_QMP_ERROR_DEVICE_NOT_ACTIVE: error class "DeviceNotActive"
 * @QL_TEST_QMP_ERROR_DEVICE_NOT_FOUND: error class "DeviceNotFound"
 * @QL_TEST_QMP_ERROR_KVM_MISSING_CAP: error class "KVMMissingCap"
 * @QL_TEST_QMP_ERROR_PROTOCOL: QEMU sent something that is not QMP, or a
 *   reply of an unexpected shape
 *
 * Errors in %QL_TEST_QMP_ERROR. Failures of the connection itself are
 * reported in %G_IO_ERROR: %G_IO_ERROR_TIMED_OUT when the timeout passed,
 * %G_IO_ERROR_CONNECTION_CLOSED when QEMU closed the socket.
 */
typedef enum
{
  QL_TEST_QMP_ERROR_GENERIC,
  QL_TEST_QMP_ERROR_COMMAND_NOT_FOUND,
  QL_TEST_QMP_ERROR_DEVICE_NOT_ACTIVE,
  QL_TEST_QMP_ERROR_DEVICE_NOT_FOUND,
  QL_TEST_QMP_ERROR_KVM_MISSING_CAP,
  QL_TEST_QMP_ERROR_PROTOCOL,
} QlTestQmpError;

GQuark ql_test_qmp_error_quark (void);

typedef struct _QlTestQmp QlTestQmp;

/* Connects to the QMP unix socket at @socket_path, retrying while it does
 * not exist or refuses connections, reads the greeting and negotiates
 * capabilities; all of it within @timeout_ms (> 0). @timeout_ms is also
 * the limit for each later ql_test_qmp_execute(). */
QlTestQmp *ql_test_qmp_connect        (const char  *socket_path,
                                       guint        timeout_ms,
                                       GError     **error);

/* Runs @command with @arguments (nullable, not consumed) and returns the
 * reply's "return" member (free with json_node_unref()). Events received
 * meanwhile are skipped. A QMP error reply becomes a %QL_TEST_QMP_ERROR
 * whose message holds the error class and description. */
JsonNode  *ql_test_qmp_execute        (QlTestQmp   *qmp,
                                       const char  *command,
                                       JsonObject  *arguments,
                                       GError     **error);

/* `getfd`: passes @fd (a duplicate; @fd stays the caller's) to QEMU with
 * SCM_RIGHTS, filed under @name: `fd:NAME` for migrate/migrate-incoming. */
gboolean   ql_test_qmp_getfd          (QlTestQmp   *qmp,
                                       int          fd,
                                       const char  *name,
                                       GError     **error);

/* qom-get of a string property: the value, or an error (also
 * %QL_TEST_QMP_ERROR_PROTOCOL when the property is not a string). */
char      *ql_test_qmp_qom_get_string (QlTestQmp   *qmp,
                                       const char  *path,
                                       const char  *property,
                                       GError     **error);

void       ql_test_qmp_free           (QlTestQmp   *qmp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlTestQmp, ql_test_qmp_free)

/* QEMU started from a VM file: the argv `qlaunch args --format json
 * @vm_file` gives (the build's plugins; qlaunch must succeed and say
 * nothing on stderr), with `-display none` added, stdin on a pipe,
 * stdout silenced and stderr on a pipe. */
GSubprocess *ql_test_qemu_start_vm_file (const char  *vm_file);
/* Quits @qemu through @qmp; asserts its clean exit (status 0) and an
 * empty stderr: no warning of any kind. */
void         ql_test_qemu_quit_clean    (QlTestQmp   *qmp,
                                         GSubprocess *qemu);

G_END_DECLS
