/* qlaunch tests — a small synchronous QMP client. */
#include "ql-test-qmp.h"
#include "ql-test-spawn.h"

#include <string.h>

#include <gio/gunixfdmessage.h>
#include <gio/gunixsocketaddress.h>

/* No QMP message of a test comes near this; it only bounds a runaway peer. */
#define QL_TEST_QMP_MAX_MESSAGE (64 * 1024 * 1024)

/* Pause between two connection attempts while QEMU creates its socket. */
#define QL_TEST_QMP_RETRY_US (10 * G_TIME_SPAN_MILLISECOND)

struct _QlTestQmp
{
  GSocketConnection *connection;
  GSocket           *socket;
  guint              timeout_ms;
  guint64            next_id;

  /* Received bytes not yet returned as a message, and the state of the
   * scan for the end of the first JSON object in them. */
  GString           *buf;
  gsize              scanned;
  guint              depth;
  gboolean           in_string;
  gboolean           escaped;
};

G_DEFINE_QUARK (ql-test-qmp-error-quark, ql_test_qmp_error)

static const struct
{
  const char     *name;
  QlTestQmpError  code;
} error_classes[] = {
  { "GenericError", QL_TEST_QMP_ERROR_GENERIC },
  { "CommandNotFound", QL_TEST_QMP_ERROR_COMMAND_NOT_FOUND },
  { "DeviceNotActive", QL_TEST_QMP_ERROR_DEVICE_NOT_ACTIVE },
  { "DeviceNotFound", QL_TEST_QMP_ERROR_DEVICE_NOT_FOUND },
  { "KVMMissingCap", QL_TEST_QMP_ERROR_KVM_MISSING_CAP },
};

static QlTestQmpError
error_class_to_code (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (error_classes); i++)
    if (g_strcmp0 (name, error_classes[i].name) == 0)
      return error_classes[i].code;
  return QL_TEST_QMP_ERROR_GENERIC;
}

/* Microseconds left until @deadline (monotonic), whole milliseconds as
 * g_socket_condition_timed_wait() wants them; 0 once it has passed. */
static gint64
remaining_us (gint64 deadline)
{
  gint64 left = deadline - g_get_monotonic_time ();

  if (left <= 0)
    return 0;
  return (left + G_TIME_SPAN_MILLISECOND - 1) / G_TIME_SPAN_MILLISECOND * G_TIME_SPAN_MILLISECOND;
}

/* Waits for @condition on the socket until @deadline. @what names what is
 * being waited for, for the error message. */
static gboolean
wait_for (QlTestQmp     *qmp,
          GIOCondition   condition,
          gint64         deadline,
          const char    *what,
          GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 left = remaining_us (deadline);

  if (left > 0 && g_socket_condition_timed_wait (qmp->socket, condition, left, NULL, &local_error))
    return TRUE;

  if (left == 0 || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "Timed out after %u ms waiting for %s", qmp->timeout_ms, what);
  else
    g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                "Waiting for %s: ", what);
  return FALSE;
}

/* Looks for the end of the first JSON object in qmp->buf, resuming where
 * the previous call stopped. Sets @length to its length, or to 0 if more
 * bytes are needed. This only has to find the end of a value; json-glib
 * checks the syntax afterwards. Newlines are not relied upon, so a monitor
 * with pretty=on works too. */
static gboolean
scan_message (QlTestQmp  *qmp,
              gsize      *length,
              GError    **error)
{
  *length = 0;
  while (qmp->scanned < qmp->buf->len)
    {
      char c = qmp->buf->str[qmp->scanned++];

      if (qmp->depth == 0)
        {
          if (g_ascii_isspace (c))
            {
              /* Separators between messages (QEMU ends each with "\r\n"). */
              g_string_erase (qmp->buf, 0, qmp->scanned);
              qmp->scanned = 0;
              continue;
            }
          if (c != '{')
            {
              g_set_error (error, QL_TEST_QMP_ERROR, QL_TEST_QMP_ERROR_PROTOCOL,
                           "Unexpected byte 0x%02x between QMP messages", (guchar) c);
              return FALSE;
            }
          qmp->depth = 1;
        }
      else if (qmp->in_string)
        {
          if (qmp->escaped)
            qmp->escaped = FALSE;
          else if (c == '\\')
            qmp->escaped = TRUE;
          else if (c == '"')
            qmp->in_string = FALSE;
        }
      else if (c == '"')
        {
          qmp->in_string = TRUE;
        }
      else if (c == '{' || c == '[')
        {
          qmp->depth++;
        }
      else if (c == '}' || c == ']')
        {
          if (--qmp->depth == 0)
            {
              *length = qmp->scanned;
              return TRUE;
            }
        }
    }
  return TRUE;
}

/* Reads the next QMP message (a JSON object) before @deadline. */
static JsonObject *
read_message (QlTestQmp   *qmp,
              gint64       deadline,
              const char  *what,
              GError     **error)
{
  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      gsize length;
      char chunk[8192];
      gssize n;

      if (!scan_message (qmp, &length, error))
        return NULL;

      if (length > 0)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();
          g_autoptr(JsonNode) root = NULL;
          gboolean parsed;

          g_debug ("QMP <- %.*s", (int) length, qmp->buf->str);
          parsed = json_parser_load_from_data (parser, qmp->buf->str, length, &local_error);
          g_string_erase (qmp->buf, 0, length);
          qmp->scanned = 0;
          if (!parsed)
            {
              g_set_error (error, QL_TEST_QMP_ERROR, QL_TEST_QMP_ERROR_PROTOCOL,
                           "Malformed QMP message while waiting for %s: %s",
                           what, local_error->message);
              return NULL;
            }
          root = json_parser_steal_root (parser);
          /* scan_message() only ends a message on the '}' closing a '{'. */
          g_assert (JSON_NODE_HOLDS_OBJECT (root));
          return json_node_dup_object (root);
        }

      if (qmp->buf->len > QL_TEST_QMP_MAX_MESSAGE)
        {
          g_set_error (error, QL_TEST_QMP_ERROR, QL_TEST_QMP_ERROR_PROTOCOL,
                       "QMP message larger than %d bytes while waiting for %s",
                       QL_TEST_QMP_MAX_MESSAGE, what);
          return NULL;
        }

      if (!wait_for (qmp, G_IO_IN, deadline, what, error))
        return NULL;

      n = g_socket_receive_with_blocking (qmp->socket, chunk, sizeof chunk, FALSE,
                                          NULL, &local_error);
      if (n < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        continue;
      if (n < 0 && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Reading %s: ", what);
          return NULL;
        }
      if (n <= 0)
        {
          /* EOF, or ECONNRESET when QEMU exits with unread input queued. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "QEMU closed the QMP connection while we waited for %s", what);
          return NULL;
        }
      g_string_append_len (qmp->buf, chunk, n);
    }
}

/* Sends @length bytes of @data, the request for @command, before @deadline. */
static gboolean
write_all (QlTestQmp   *qmp,
           const char  *data,
           gsize        length,
           gint64       deadline,
           const char  *command,
           GError     **error)
{
  g_autofree char *what = g_strdup_printf ("QEMU to read '%s'", command);
  gsize done = 0;

  while (done < length)
    {
      g_autoptr(GError) local_error = NULL;
      gssize n;

      n = g_socket_send_with_blocking (qmp->socket, data + done, length - done, FALSE,
                                       NULL, &local_error);
      if (n >= 0)
        {
          done += n;
          continue;
        }
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Sending '%s': ", command);
          return FALSE;
        }
      if (!wait_for (qmp, G_IO_OUT, deadline, what, error))
        return FALSE;
    }
  return TRUE;
}

static char *
build_request (const char *command,
               JsonObject *arguments,
               const char *id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "execute");
  json_builder_add_string_value (builder, command);
  if (arguments != NULL)
    {
      /* json_node_init_object() takes its own reference. */
      json_builder_set_member_name (builder, "arguments");
      json_builder_add_value (builder, json_node_init_object (json_node_alloc (), arguments));
    }
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

/* Sends @line in one message carrying @fd (SCM_RIGHTS), before @deadline. */
static gboolean
send_with_fd (QlTestQmp   *qmp,
              const char  *line,
              int          fd,
              gint64       deadline,
              const char  *command,
              GError     **error)
{
  g_autofree char *what = g_strdup_printf ("QEMU to read '%s'", command);
  g_autoptr(GSocketControlMessage) message = g_unix_fd_message_new ();
  GOutputVector vector = { line, strlen (line) };
  gssize n;

  if (!g_unix_fd_message_append_fd (G_UNIX_FD_MESSAGE (message), fd, error))
    return FALSE;
  if (!wait_for (qmp, G_IO_OUT, deadline, what, error))
    return FALSE;
  n = g_socket_send_message (qmp->socket, NULL, &vector, 1, &message, 1, 0, NULL, error);
  if (n < 0)
    {
      g_prefix_error (error, "Sending '%s': ", command);
      return FALSE;
    }
  /* The descriptor went with the first byte: the rest as usual. */
  return write_all (qmp, line + n, strlen (line) - n, deadline, command, error);
}

static JsonNode *
execute_until (QlTestQmp   *qmp,
               const char  *command,
               JsonObject  *arguments,
               int          fd,
               gint64       deadline,
               GError     **error)
{
  g_autofree char *id = g_strdup_printf ("ql-test-%" G_GUINT64_FORMAT, ++qmp->next_id);
  g_autofree char *request = build_request (command, arguments, id);
  g_autofree char *what = g_strdup_printf ("the reply to '%s'", command);
  g_autofree char *line = g_strconcat (request, "\n", NULL);

  g_debug ("QMP -> %s", request);
  if (fd >= 0 ? !send_with_fd (qmp, line, fd, deadline, command, error)
              : !write_all (qmp, line, strlen (line), deadline, command, error))
    return NULL;

  for (;;)
    {
      g_autoptr(JsonObject) reply = read_message (qmp, deadline, what, error);
      JsonNode *failure;
      const char *reply_id;

      if (reply == NULL)
        return NULL;

      if (json_object_has_member (reply, "event"))
        continue;

      /* A reply without an id is one QEMU could not tie to a request; it
       * can only be ours. One with another id is the late reply to a
       * command that timed out earlier. */
      reply_id = json_object_get_string_member_with_default (reply, "id", NULL);
      if (reply_id != NULL && g_strcmp0 (reply_id, id) != 0)
        continue;

      if (json_object_has_member (reply, "return"))
        return json_object_dup_member (reply, "return");

      failure = json_object_get_member (reply, "error");
      if (failure != NULL && JSON_NODE_HOLDS_OBJECT (failure))
        {
          JsonObject *details = json_node_get_object (failure);
          const char *klass = json_object_get_string_member_with_default (details, "class", "");
          const char *desc = json_object_get_string_member_with_default (details, "desc", "");

          g_set_error (error, QL_TEST_QMP_ERROR, error_class_to_code (klass),
                       "QMP command '%s' failed: %s: %s", command, klass, desc);
          return NULL;
        }

      g_set_error (error, QL_TEST_QMP_ERROR, QL_TEST_QMP_ERROR_PROTOCOL,
                   "Reply to '%s' has neither 'return' nor 'error'", command);
      return NULL;
    }
}

static gboolean
connect_retryable (const GError *error)
{
  /* The socket does not exist yet, or QEMU has not started listening. */
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

QlTestQmp *
ql_test_qmp_connect (const char  *socket_path,
                     guint        timeout_ms,
                     GError     **error)
{
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(JsonObject) greeting = NULL;
  g_autoptr(JsonNode) reply = NULL;
  gint64 deadline;

  g_return_val_if_fail (socket_path != NULL, NULL);
  g_return_val_if_fail (timeout_ms > 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  deadline = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  client = g_socket_client_new ();
  g_socket_client_set_enable_proxy (client, FALSE);
  address = g_unix_socket_address_new (socket_path);

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      gint64 left;

      connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address),
                                            NULL, &local_error);
      if (connection != NULL)
        break;

      left = deadline - g_get_monotonic_time ();
      if (!connect_retryable (local_error))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Connecting to QMP socket '%s': ", socket_path);
          return NULL;
        }
      if (left <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "QMP socket '%s' not ready within %u ms: %s",
                       socket_path, timeout_ms, local_error->message);
          return NULL;
        }
      g_usleep (MIN (left, QL_TEST_QMP_RETRY_US));
    }

  qmp = g_new0 (QlTestQmp, 1);
  qmp->connection = g_steal_pointer (&connection);
  qmp->socket = g_object_ref (g_socket_connection_get_socket (qmp->connection));
  qmp->timeout_ms = timeout_ms;
  qmp->buf = g_string_new (NULL);

  greeting = read_message (qmp, deadline, "the QMP greeting", error);
  if (greeting == NULL)
    return NULL;
  if (!json_object_has_member (greeting, "QMP"))
    {
      g_set_error (error, QL_TEST_QMP_ERROR, QL_TEST_QMP_ERROR_PROTOCOL,
                   "'%s' did not greet with a QMP banner", socket_path);
      return NULL;
    }

  reply = execute_until (qmp, "qmp_capabilities", NULL, -1, deadline, error);
  if (reply == NULL)
    return NULL;

  return g_steal_pointer (&qmp);
}

JsonNode *
ql_test_qmp_execute (QlTestQmp   *qmp,
                     const char  *command,
                     JsonObject  *arguments,
                     GError     **error)
{
  gint64 deadline;

  g_return_val_if_fail (qmp != NULL, NULL);
  g_return_val_if_fail (command != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  deadline = g_get_monotonic_time () + (gint64) qmp->timeout_ms * G_TIME_SPAN_MILLISECOND;
  return execute_until (qmp, command, arguments, -1, deadline, error);
}

gboolean
ql_test_qmp_getfd (QlTestQmp   *qmp,
                   int          fd,
                   const char  *name,
                   GError     **error)
{
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) reply = NULL;
  gint64 deadline;

  g_return_val_if_fail (qmp != NULL, FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  json_object_set_string_member (arguments, "fdname", name);
  deadline = g_get_monotonic_time () + (gint64) qmp->timeout_ms * G_TIME_SPAN_MILLISECOND;
  reply = execute_until (qmp, "getfd", arguments, fd, deadline, error);
  return reply != NULL;
}

char *
ql_test_qmp_qom_get_string (QlTestQmp   *qmp,
                            const char  *path,
                            const char  *property,
                            GError     **error)
{
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) value = NULL;

  g_return_val_if_fail (qmp != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (property != NULL, NULL);

  json_object_set_string_member (arguments, "path", path);
  json_object_set_string_member (arguments, "property", property);
  value = ql_test_qmp_execute (qmp, "qom-get", arguments, error);
  if (value == NULL)
    return NULL;

  if (json_node_get_value_type (value) != G_TYPE_STRING)
    {
      g_set_error (error, QL_TEST_QMP_ERROR, QL_TEST_QMP_ERROR_PROTOCOL,
                   "QOM property '%s' of '%s' is not a string (JSON type: %s)",
                   property, path, json_node_type_name (value));
      return NULL;
    }
  return json_node_dup_string (value);
}

void
ql_test_qmp_free (QlTestQmp *qmp)
{
  if (qmp == NULL)
    return;

  if (qmp->connection != NULL)
    g_io_stream_close (G_IO_STREAM (qmp->connection), NULL, NULL);
  g_clear_object (&qmp->socket);
  g_clear_object (&qmp->connection);
  if (qmp->buf != NULL)
    g_string_free (qmp->buf, TRUE);
  g_free (qmp);
}

GSubprocess *
ql_test_qemu_start_vm_file (const char *vm_file)
{
  const char *args[] = { "args", "--format", "json", vm_file, NULL };
  g_auto(GStrv) argv = ql_test_qemu_argv (args, -1, -1, 60);
  g_autoptr(GError) error = NULL;
  GSubprocess *qemu;

  qemu = g_subprocess_newv ((const char * const *) argv,
                            G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                            | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  return qemu;
}

void
ql_test_qemu_quit_clean (QlTestQmp   *qmp,
                         GSubprocess *qemu)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ql_test_qmp_execute (qmp, "quit", NULL, &error);
  g_autofree char *stderr_text = NULL;

  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (qemu, NULL, NULL, NULL, &stderr_text, &error);
  g_assert_no_error (error);
  g_subprocess_wait (qemu, NULL, NULL);
  g_assert_cmpstr (stderr_text, ==, "");
  g_assert_true (g_subprocess_get_if_exited (qemu));
  g_assert_cmpint (g_subprocess_get_exit_status (qemu), ==, 0);
}
