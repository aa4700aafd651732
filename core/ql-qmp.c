/* qlaunch — QlQmp: a QMP client over a unix socket.
 *
 * One GSocket, non-blocking, watched by two GSources on the main context
 * that was the thread default when ql_qmp_connect_async() was called:
 *
 *   reader  bytes -> a buffer -> complete lines -> one JSON object each ->
 *           greeting | reply (matched to a pending command by "id") | event
 *   writer  a queue of outgoing messages; a message that carries a file
 *           descriptor sends it with its first byte (SCM_RIGHTS)
 *
 * Anything that is not QMP (bad JSON, bytes that are not UTF-8, a NUL, a
 * message larger than max-message-size, a reply nobody asked for) closes
 * the connection with QL_QMP_ERROR_PROTOCOL. Closing — for that reason, on
 * EOF, or through ql_qmp_close() — fails every pending command and event
 * wait at once.
 *
 * The synchronous wrappers iterate that same main context until their
 * asynchronous twin completes, so they must be called from the thread that
 * runs it (as GIO's own sync-over-async APIs).
 */
#include "ql-private.h"
#include "ql-qmp-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gunixfdmessage.h>
#include <gio/gunixsocketaddress.h>

#define READ_CHUNK (64 * 1024)
/* QEMU nests a few levels; json-glib's parser recurses per level, so a
 * deeper message is refused before it is parsed. */
#define MAX_NESTING 256
#define CONNECT_RETRY_MS 20

typedef enum
{
  STATE_IDLE,
  STATE_CONNECTING,
  STATE_GREETING,
  STATE_NEGOTIATING,
  STATE_READY,
  STATE_CLOSED,
} QmpState;

typedef struct
{
  GBytes *data;
  gsize offset;
  int fd;               /* owned; -1 when the message carries none */
} OutMessage;

typedef struct
{
  char *event;
  char *key;
  char *value;
  GTask *task;
  GSource *timeout;
  gulong cancel_id;
} EventWaiter;

/**
 * QlQmp:
 *
 * A client of QEMU's machine protocol (QMP) over a unix socket, driven by
 * a GLib main context.
 *
 * ql_qmp_connect_async() retries until QEMU listens, reads the greeting and
 * negotiates capabilities. Every command (ql_qmp_execute_async() and the
 * typed helpers of `ql-qmp-commands.h`) gets an `id` and its reply is
 * matched by it; a QMP error reply is a %QL_QMP_ERROR whose code is its
 * class. Events are emitted as the detailed #QlQmp::event signal and can
 * be awaited with ql_qmp_wait_event_async().
 *
 * The client treats the socket as untrusted: anything that is not QMP
 * closes the connection with %QL_QMP_ERROR_PROTOCOL, and when the
 * connection ends every pending command and event wait fails at once with
 * %QL_QMP_ERROR_DISCONNECTED.
 *
 * It talks only to a peer of a trusted user: the process serving the
 * socket (its credentials, `SO_PEERCRED`) must be ours, root's or
 * #QlQmp:peer-uid's, and a socket file in a directory that others can
 * write to (a sticky `/tmp`) must belong to one of them too. Both are
 * checked while connecting, before anything is sent (descriptors and
 * secrets included); otherwise connecting fails with
 * %QL_QMP_ERROR_UNTRUSTED_PEER. #QlQmp:check-peer turns the checks off.
 *
 * The synchronous wrappers iterate the client's main context, so they must
 * be called from the thread that runs it.
 */
struct _QlQmp
{
  GObject parent_instance;

  GMainContext *context;
  char *socket_path;
  GSocket *socket;
  GSource *in_source;
  GSource *out_source;
  GByteArray *inbuf;
  GQueue outq;
  GHashTable *pending;          /* id -> GTask (NULL once the caller gave up) */
  guint64 next_id;
  JsonObject *greeting;
  gsize max_message_size;
  QmpState state;

  GTask *connect_task;
  GSource *connect_retry;
  gint64 connect_deadline;
  gulong connect_cancel_id;
  gsize scanned;                /* inbuf bytes known to hold no newline */

  GList *waiters;               /* EventWaiter* */
  gint64 event_timestamp;       /* of the event being emitted, or -1 */

  gboolean exact_integers;      /* refuse integers outside int64 */
  gboolean check_peer;          /* whom we talk to: see ql-qmp-peer.c */
  gint64 peer_uid;              /* one more trusted uid, or -1 */
  GPid child_pid;               /* our own QEMU (a QlVm's), or 0 */
};

enum
{
  SIGNAL_EVENT,
  SIGNAL_DISCONNECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_SOCKET_PATH,
  PROP_CONNECTED,
  PROP_MAX_MESSAGE_SIZE,
  PROP_PEER_UID,
  PROP_CHECK_PEER,
  PROP_EXACT_INTEGERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/**
 * ql_qmp_error_quark:
 *
 * Gets the #GQuark of the #QL_QMP_ERROR error domain.
 *
 * Returns: the error domain's quark
 */
G_DEFINE_QUARK (ql-qmp-error-quark, ql_qmp_error)

G_DEFINE_FINAL_TYPE (QlQmp, ql_qmp, G_TYPE_OBJECT)

static const struct
{
  const char *name;
  QlQmpError code;
} qmp_classes[] = {
  { "GenericError", QL_QMP_ERROR_GENERIC },
  { "CommandNotFound", QL_QMP_ERROR_COMMAND_NOT_FOUND },
  { "DeviceNotActive", QL_QMP_ERROR_DEVICE_NOT_ACTIVE },
  { "DeviceNotFound", QL_QMP_ERROR_DEVICE_NOT_FOUND },
  { "KVMMissingCap", QL_QMP_ERROR_KVM_MISSING_CAP },
};

/**
 * ql_qmp_error_get_class:
 * @error: an error
 *
 * The QMP error class behind @error, when @error is a QMP error reply.
 *
 * Returns: (nullable): `GenericError`, `CommandNotFound`, `DeviceNotActive`,
 *   `DeviceNotFound`, `KVMMissingCap`, or `Other` for a class this version
 *   does not know; %NULL when @error is not a QMP error reply
 */
const char *
ql_qmp_error_get_class (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != QL_QMP_ERROR)
    return NULL;
  if (error->code == QL_QMP_ERROR_OTHER_CLASS)
    return "Other";
  for (gsize i = 0; i < G_N_ELEMENTS (qmp_classes); i++)
    if (qmp_classes[i].code == (QlQmpError) error->code)
      return qmp_classes[i].name;
  return NULL;
}

/* A pending command's cancellable handler goes with the command. */
static void
disconnect_cancel (GTask *task)
{
  gulong id = GPOINTER_TO_SIZE (g_object_steal_data (G_OBJECT (task), "ql-qmp-cancel-id"));

  if (id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), id);
}

static void
unref_task (gpointer task)
{
  if (task != NULL)
    {
      disconnect_cancel (task);
      g_object_unref (task);
    }
}

/* ---- safe readers for QEMU's JSON ---------------------------------------- */

static JsonNode *
value_member (JsonObject *object,
              const char *member,
              GType       type)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != type)
    return NULL;
  return node;
}

const char *
ql_json_string (JsonObject *object,
                const char *member)
{
  JsonNode *node = value_member (object, member, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : NULL;
}

gint64
ql_json_int (JsonObject *object,
             const char *member,
             gint64      default_value)
{
  JsonNode *node = value_member (object, member, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : default_value;
}

gboolean
ql_json_bool (JsonObject *object,
              const char *member,
              gboolean    default_value)
{
  JsonNode *node = value_member (object, member, G_TYPE_BOOLEAN);

  return node != NULL ? json_node_get_boolean (node) : default_value;
}

JsonObject *
ql_json_object (JsonObject *object,
                const char *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonObject *
ql_json_array_object (JsonArray *array,
                      guint      index)
{
  JsonNode *node = array != NULL && index < json_array_get_length (array)
                   ? json_array_get_element (array, index) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static void
out_message_free (OutMessage *m)
{
  g_bytes_unref (m->data);
  if (m->fd >= 0)
    close (m->fd);
  g_free (m);
}

static void
event_waiter_free (EventWaiter *w)
{
  if (w->cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (w->task), w->cancel_id);
  if (w->timeout != NULL)
    {
      g_source_destroy (w->timeout);
      g_source_unref (w->timeout);
    }
  g_clear_object (&w->task);
  g_free (w->event);
  g_free (w->key);
  g_free (w->value);
  g_free (w);
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Closes the connection and fails everything that waits on it with
 * @reason (taken). Safe to call more than once and from callbacks. */
static void
close_with_error (QlQmp  *self,
                  GError *reason)
{
  g_autoptr(QlQmp) hold = g_object_ref (self);
  g_autoptr(GHashTable) pending = NULL;
  g_autoptr(GTask) connect_task = NULL;
  GList *waiters;
  GHashTableIter iter;
  gpointer value;
  gboolean was_open;

  if (self->state == STATE_CLOSED || self->state == STATE_IDLE)
    {
      g_error_free (reason);
      return;
    }
  was_open = self->state == STATE_READY;
  self->state = STATE_CLOSED;

  destroy_source (&self->in_source);
  destroy_source (&self->out_source);
  destroy_source (&self->connect_retry);
  if (self->socket != NULL)
    {
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }
  g_queue_clear_full (&self->outq, (GDestroyNotify) out_message_free);
  g_byte_array_set_size (self->inbuf, 0);
  self->scanned = 0;

  /* Detach everything first: the callbacks may call back into us. */
  pending = g_steal_pointer (&self->pending);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unref_task);
  connect_task = g_steal_pointer (&self->connect_task);
  waiters = g_steal_pointer (&self->waiters);

  if (connect_task != NULL)
    {
      GCancellable *c = g_task_get_cancellable (connect_task);

      if (self->connect_cancel_id != 0)
        g_cancellable_disconnect (c, self->connect_cancel_id);
      self->connect_cancel_id = 0;
      g_task_return_error (connect_task, g_error_copy (reason));
    }

  g_hash_table_iter_init (&iter, pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (value != NULL)
      {
        disconnect_cancel (value);
        g_task_return_error (G_TASK (value), g_error_copy (reason));
      }

  for (GList *l = waiters; l != NULL; l = l->next)
    {
      EventWaiter *w = l->data;

      g_task_return_error (w->task, g_error_copy (reason));
      event_waiter_free (w);
    }
  g_list_free (waiters);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
  if (was_open || connect_task == NULL)
    g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0, reason);
  g_error_free (reason);
}

static void
protocol_error (QlQmp      *self,
                const char *format,
                ...) G_GNUC_PRINTF (2, 3);

static void
protocol_error (QlQmp      *self,
                const char *format,
                ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                                       "QMP socket %s: %s; connection closed",
                                       self->socket_path, what));
}

/* ---- writing ------------------------------------------------------------ */

static gboolean on_writable (GSocket *socket, GIOCondition cond, gpointer data);

static void
flush_output (QlQmp *self)
{
  while (!g_queue_is_empty (&self->outq) && self->socket != NULL)
    {
      OutMessage *m = g_queue_peek_head (&self->outq);
      gsize len;
      const guint8 *data = g_bytes_get_data (m->data, &len);
      GOutputVector vec = { data + m->offset, len - m->offset };
      GSocketControlMessage *fdmsg = NULL;
      g_autoptr(GError) error = NULL;
      gssize n;

      if (m->offset == 0 && m->fd >= 0)
        {
          fdmsg = g_unix_fd_message_new ();
          if (!g_unix_fd_message_append_fd (G_UNIX_FD_MESSAGE (fdmsg), m->fd, &error))
            {
              g_object_unref (fdmsg);
              close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                                   "QMP socket %s: cannot pass file descriptor %d: %s",
                                                   self->socket_path, m->fd, error->message));
              return;
            }
        }
      n = g_socket_send_message (self->socket, NULL, &vec, 1,
                                 fdmsg != NULL ? &fdmsg : NULL, fdmsg != NULL ? 1 : 0,
                                 G_SOCKET_MSG_NONE, NULL, &error);
      g_clear_object (&fdmsg);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              if (self->out_source == NULL)
                {
                  self->out_source = g_socket_create_source (self->socket, G_IO_OUT, NULL);
                  g_source_set_callback (self->out_source, (GSourceFunc) (void (*) (void)) on_writable,
                                         self, NULL);
                  g_source_attach (self->out_source, self->context);
                }
              return;
            }
          close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                               "QMP socket %s: write failed: %s",
                                               self->socket_path, error->message));
          return;
        }
      m->offset += n;
      if (m->offset < len)
        continue;
      out_message_free (g_queue_pop_head (&self->outq));
    }
  destroy_source (&self->out_source);
}

static gboolean
on_writable (GSocket      *socket,
             GIOCondition  cond,
             gpointer      data)
{
  QlQmp *self = data;

  (void) socket;
  (void) cond;
  /* flush_output() keeps this source while blocked and destroys it once
   * the queue is empty. */
  flush_output (self);
  return self->out_source != NULL ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Queues @message (a JSON object) and, when @fd >= 0, a duplicate of @fd
 * to travel with it. */
static gboolean
send_message (QlQmp       *self,
              JsonObject  *message,
              int          fd,
              GError     **error)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  OutMessage *m;

  json_node_set_object (node, message);
  text = json_to_string (node, FALSE);
  m = g_new0 (OutMessage, 1);
  m->fd = -1;
  if (fd >= 0)
    {
      m->fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      if (m->fd < 0)
        {
          int saved = errno;

          g_free (m);
          g_set_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                       "cannot pass file descriptor %d to QEMU: %s", fd, g_strerror (saved));
          return FALSE;
        }
    }
  m->data = g_bytes_new_take (g_strconcat (text, "\n", NULL), strlen (text) + 1);
  g_queue_push_tail (&self->outq, m);
  flush_output (self);
  return TRUE;
}

/* ---- reading ------------------------------------------------------------ */

/* QEMU's "timestamp": {"seconds": S, "microseconds": U} as µs, or -1. */
static gint64
event_timestamp (JsonObject *message)
{
  JsonNode *ts = json_object_get_member (message, "timestamp");
  JsonObject *o;
  gint64 seconds, micro;

  if (ts == NULL || !JSON_NODE_HOLDS_OBJECT (ts))
    return -1;
  o = json_node_get_object (ts);
  seconds = ql_json_int (o, "seconds", -1);
  micro = ql_json_int (o, "microseconds", -1);
  if (seconds < 0 || micro < 0 || micro >= G_USEC_PER_SEC || seconds > G_MAXINT64 / G_USEC_PER_SEC - 1)
    return -1;
  return seconds * G_USEC_PER_SEC + micro;
}

static void
emit_event (QlQmp      *self,
            JsonObject *message)
{
  const char *name = ql_json_string (message, "event");
  JsonObject *data = NULL;
  g_autoptr(JsonObject) empty = NULL;
  GList *matched = NULL;
  GList *l;

  if (name == NULL || *name == '\0')
    {
      protocol_error (self, "an event without a name");
      return;
    }
  if (json_object_has_member (message, "data"))
    {
      JsonNode *d = json_object_get_member (message, "data");

      if (!JSON_NODE_HOLDS_OBJECT (d))
        {
          protocol_error (self, "event %s: \"data\" is not an object", name);
          return;
        }
      data = json_node_get_object (d);
    }
  else
    data = empty = json_object_new ();

  /* Waiters first: a signal handler may close the connection. The
   * matching ones leave the list before any is completed, since a
   * completion may close the client and free the rest. */
  l = self->waiters;
  while (l != NULL)
    {
      EventWaiter *w = l->data;
      GList *next = l->next;

      if (g_strcmp0 (w->event, name) == 0
          && (w->key == NULL || g_strcmp0 (ql_json_string (data, w->key), w->value) == 0))
        {
          self->waiters = g_list_remove_link (self->waiters, l);
          matched = g_list_concat (matched, l);
        }
      l = next;
    }
  for (l = matched; l != NULL; l = l->next)
    {
      EventWaiter *w = l->data;

      g_task_return_pointer (w->task, json_object_ref (data), (GDestroyNotify) json_object_unref);
      event_waiter_free (w);
    }
  g_list_free (matched);
  if (self->state == STATE_CLOSED)
    return;

  self->event_timestamp = event_timestamp (message);
  /* An event name nobody connected to is not made a quark: a peer could
   * otherwise grow the quark table with endless new names. */
  g_signal_emit (self, signals[SIGNAL_EVENT], g_quark_try_string (name), name, data);
  self->event_timestamp = -1;
}

static void
complete_reply (QlQmp      *self,
                JsonObject *message)
{
  JsonNode *id_node = json_object_get_member (message, "id");
  const char *id;
  g_autoptr(GTask) task = NULL;
  gpointer stolen_key = NULL, stolen_task = NULL;

  if (id_node == NULL || !JSON_NODE_HOLDS_VALUE (id_node)
      || json_node_get_value_type (id_node) != G_TYPE_STRING)
    {
      if (json_object_has_member (message, "error"))
        {
          const char *desc = ql_json_string (ql_json_object (message, "error"), "desc");

          protocol_error (self, "error reply without an id: %s", desc != NULL ? desc : "?");
        }
      else
        protocol_error (self, "a reply without an id");
      return;
    }
  id = json_node_get_string (id_node);
  if (!g_hash_table_steal_extended (self->pending, id, &stolen_key, &stolen_task))
    {
      protocol_error (self, "a reply with id '%s', which no pending command has", id);
      return;
    }
  g_free (stolen_key);
  task = stolen_task;
  if (task == NULL)
    return;     /* the caller cancelled: the reply is dropped */
  disconnect_cancel (task);

  if (json_object_has_member (message, "return"))
    {
      g_task_return_pointer (task, json_node_copy (json_object_get_member (message, "return")),
                             (GDestroyNotify) json_node_unref);
      return;
    }
  else
    {
      JsonNode *e = json_object_get_member (message, "error");
      JsonObject *eo = e != NULL && JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *klass = ql_json_string (eo, "class");
      const char *desc = ql_json_string (eo, "desc");
      const char *command = g_task_get_task_data (task);
      QlQmpError code = QL_QMP_ERROR_OTHER_CLASS;

      if (klass == NULL || desc == NULL)
        {
          /* Not QMP: this command and everything else fail, and the
           * connection ends. */
          g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                                   "%s: malformed error reply (no class or desc)", command);
          protocol_error (self, "a malformed error reply (no class or desc) to %s", command);
          return;
        }
      for (gsize i = 0; i < G_N_ELEMENTS (qmp_classes); i++)
        if (strcmp (qmp_classes[i].name, klass) == 0)
          code = qmp_classes[i].code;
      if (code == QL_QMP_ERROR_OTHER_CLASS)
        g_task_return_new_error (task, QL_QMP_ERROR, code, "%s: %s (%s)", command, desc, klass);
      else
        g_task_return_new_error (task, QL_QMP_ERROR, code, "%s: %s", command, desc);
    }
}

static void negotiate (QlQmp *self);

/* Checks, before json-glib sees it, that @text is one JSON object and
 * nothing after it: json-glib recurses per nesting level, and with several
 * top-level values keeps the last and leaks the others. */
gboolean
ql_json_check_single_object (const char  *text,
                             gsize        len,
                             guint        max_depth,
                             const char **why)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean closed = FALSE;
  gsize i = 0;

  while (i < len && g_ascii_isspace (text[i]))
    i++;
  if (i == len || text[i] != '{')
    {
      *why = "a message that is not a JSON object";
      return FALSE;
    }
  for (; i < len; i++)
    {
      char c = text[i];

      if (closed)
        {
          if (!g_ascii_isspace (c))
            {
              *why = "more than one JSON value in one message";
              return FALSE;
            }
          continue;
        }
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > max_depth)
            {
              *why = "JSON nested too deep";
              return FALSE;
            }
        }
      else if ((c == ']' || c == '}') && depth > 0)
        closed = --depth == 0;
    }
  return TRUE;   /* an unclosed object is for the parser to refuse */
}

static void
handle_line (QlQmp      *self,
             const char *line,
             gsize       len)
{
  const char *why = NULL;
  g_autofree char *unfaithful = NULL;
  g_autofree char *widened = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *root;
  JsonObject *message;
  gsize i;

  for (i = 0; i < len && g_ascii_isspace (line[i]); i++)
    ;
  if (i == len)
    return;
  if (memchr (line, '\0', len) != NULL)
    {
      protocol_error (self, "a NUL byte in a message");
      return;
    }
  if (!g_utf8_validate_len (line, len, NULL))
    {
      protocol_error (self, "a message that is not UTF-8");
      return;
    }
  if (!ql_json_check_single_object (line, len, MAX_NESTING, &why))
    {
      protocol_error (self, "%s", why);
      return;
    }
  if (!ql_json_check_faithful (line, len, self->exact_integers, &widened, &unfaithful))
    {
      protocol_error (self, "%s", unfaithful);
      return;
    }
  if (widened != NULL)
    {
      line = widened;
      len = strlen (widened);
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, line, len, &error))
    {
      protocol_error (self, "malformed JSON (%s)", error->message);
      return;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      protocol_error (self, "a message that is not a JSON object");
      return;
    }
  message = json_node_get_object (root);

  if (json_object_has_member (message, "QMP"))
    {
      JsonNode *g = json_object_get_member (message, "QMP");

      if (self->state != STATE_GREETING || !JSON_NODE_HOLDS_OBJECT (g))
        {
          protocol_error (self, "an unexpected greeting");
          return;
        }
      self->greeting = json_object_ref (json_node_get_object (g));
      negotiate (self);
      return;
    }
  if (self->state == STATE_GREETING)
    {
      protocol_error (self, "the first message is not a QMP greeting");
      return;
    }
  if (json_object_has_member (message, "event"))
    emit_event (self, message);
  else if (json_object_has_member (message, "return") || json_object_has_member (message, "error"))
    complete_reply (self, message);
  else
    protocol_error (self, "a message that is neither a reply nor an event");
}

static gboolean
on_readable (GSocket      *socket,
             GIOCondition  cond,
             gpointer      data)
{
  QlQmp *self = data;
  g_autoptr(QlQmp) hold = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  guint8 chunk[READ_CHUNK];
  gssize n;

  (void) cond;
  n = g_socket_receive (socket, (char *) chunk, sizeof chunk, NULL, &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                           "QMP socket %s: read failed: %s",
                                           self->socket_path, error->message));
      return G_SOURCE_REMOVE;
    }
  if (n == 0)
    {
      if (self->inbuf->len > 0)
        protocol_error (self, "the connection ended in the middle of a message (%u bytes without a newline)",
                        self->inbuf->len);
      else
        close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                             "QMP socket %s: QEMU closed the connection",
                                             self->socket_path));
      return G_SOURCE_REMOVE;
    }

  g_byte_array_append (self->inbuf, chunk, n);
  /* Each line leaves the buffer before it is handled: a handler may run
   * the main context (a sync call inside a signal handler), and this
   * source may then run again, nested, and take the next lines. */
  while (self->state != STATE_CLOSED)
    {
      const guint8 *nl = memchr (self->inbuf->data + self->scanned, '\n',
                                 self->inbuf->len - self->scanned);
      g_autofree char *line = NULL;
      gsize len;

      if (nl == NULL)
        {
          self->scanned = self->inbuf->len;
          break;
        }
      self->scanned = 0;
      len = nl - self->inbuf->data;
      if (len > self->max_message_size)
        {
          protocol_error (self, "a message of %" G_GSIZE_FORMAT " bytes (the limit is %" G_GSIZE_FORMAT ")",
                          len, self->max_message_size);
          break;
        }
      line = g_malloc (len + 1);
      memcpy (line, self->inbuf->data, len);
      line[len] = '\0';
      g_byte_array_remove_range (self->inbuf, 0, len + 1);
      handle_line (self, line, len);
    }
  if (self->state == STATE_CLOSED)
    return G_SOURCE_REMOVE;
  if (self->inbuf->len > self->max_message_size)
    {
      protocol_error (self, "more than %" G_GSIZE_FORMAT " bytes without a newline",
                      self->max_message_size);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* ---- commands ----------------------------------------------------------- */

static void
execute_internal (QlQmp               *self,
                  const char          *command,
                  JsonObject          *arguments,
                  int                  fd,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data,
                  gpointer             source_tag);

static void
capabilities_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  QlQmp *self = QL_QMP (source);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;

  (void) data;
  ret = ql_qmp_execute_finish (self, result, &error);
  if (self->state == STATE_CLOSED)
    return;     /* close_with_error() already failed the connect task */
  if (ret == NULL)
    {
      close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_CONNECT,
                                           "QMP socket %s: qmp_capabilities failed: %s",
                                           self->socket_path, error->message));
      return;
    }
  self->state = STATE_READY;
  task = g_steal_pointer (&self->connect_task);
  if (self->connect_cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), self->connect_cancel_id);
  self->connect_cancel_id = 0;
  destroy_source (&self->connect_retry);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
  g_task_return_boolean (task, TRUE);
}

static void
negotiate (QlQmp *self)
{
  self->state = STATE_NEGOTIATING;
  execute_internal (self, "qmp_capabilities", NULL, -1, NULL, capabilities_done, NULL,
                    negotiate);
}

static void
pending_task_cancelled (GCancellable *cancellable,
                        GTask        *task);

static void
execute_internal (QlQmp               *self,
                  const char          *command,
                  JsonObject          *arguments,
                  int                  fd,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data,
                  gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(JsonObject) message = json_object_new ();
  g_autoptr(GError) error = NULL;
  char *id;

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, g_strdup (command), g_free);

  if (self->state != STATE_READY
      && !(self->state == STATE_NEGOTIATING && strcmp (command, "qmp_capabilities") == 0))
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                               "%s: not connected to QMP%s%s", command,
                               self->socket_path != NULL ? " socket " : "",
                               self->socket_path != NULL ? self->socket_path : "");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  id = g_strdup_printf ("ql-%" G_GUINT64_FORMAT, self->next_id++);
  json_object_set_string_member (message, "execute", command);
  if (arguments != NULL)
    json_object_set_object_member (message, "arguments", json_object_ref (arguments));
  json_object_set_string_member (message, "id", id);
  if (!send_message (self, message, fd, &error))
    {
      g_free (id);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->state == STATE_CLOSED)
    {
      /* The write failed and closed the connection: report that. */
      g_free (id);
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                               "%s: the QMP connection to %s is closed", command, self->socket_path);
      return;
    }
  g_hash_table_insert (self->pending, id, g_object_ref (task));
  if (cancellable != NULL)
    {
      /* The pending entry stays to swallow the reply; the caller is told now. */
      gulong handler;

      g_object_set_data_full (G_OBJECT (task), "ql-qmp-id", g_strdup (id), g_free);
      handler = g_cancellable_connect (cancellable, G_CALLBACK (pending_task_cancelled),
                                       task, NULL);
      g_object_set_data (G_OBJECT (task), "ql-qmp-cancel-id", GSIZE_TO_POINTER (handler));
    }
}

static gboolean
return_cancelled_in_idle (gpointer data)
{
  GTask *task = data;
  QlQmp *self = g_task_get_source_object (task);
  const char *id = g_object_get_data (G_OBJECT (task), "ql-qmp-id");
  gpointer current = NULL;

  /* Still pending (no reply yet): answer the caller, keep the slot. */
  if (g_hash_table_lookup_extended (self->pending, id, NULL, &current) && current == task)
    {
      g_object_ref (task);
      g_hash_table_insert (self->pending, g_strdup (id), NULL);   /* unrefs, disconnects */
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

static void
pending_task_cancelled (GCancellable *cancellable,
                        GTask        *task)
{
  GSource *idle = g_idle_source_new ();

  (void) cancellable;
  /* Cancellation may come from any thread: act on the client's context. */
  g_source_set_callback (idle, return_cancelled_in_idle, g_object_ref (task), g_object_unref);
  g_source_attach (idle, QL_QMP (g_task_get_source_object (task))->context);
  g_source_unref (idle);
}

/**
 * ql_qmp_execute_async:
 * @self: a connected #QlQmp
 * @command: the QMP command, e.g. `query-status`
 * @arguments: (nullable): the command's arguments
 * @cancellable: (nullable): a #GCancellable; cancelling stops the wait (QEMU
 *   may still carry the command out)
 * @callback: called when the reply arrives or the connection closes
 * @user_data: data for @callback
 *
 * Sends @command with a fresh `id` and completes when the reply with that id
 * arrives. Get the result with ql_qmp_execute_finish().
 */
void
ql_qmp_execute_async (QlQmp               *self,
                      const char          *command,
                      JsonObject          *arguments,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (command != NULL);

  execute_internal (self, command, arguments, -1, cancellable, callback, user_data,
                    ql_qmp_execute_async);
}

/**
 * ql_qmp_execute_with_fd_async:
 * @self: a connected #QlQmp
 * @command: the QMP command, e.g. `getfd`
 * @arguments: (nullable): the command's arguments
 * @fd: a file descriptor sent with the command (SCM_RIGHTS); a duplicate is
 *   sent, @fd stays the caller's
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the reply arrives or the connection closes
 * @user_data: data for @callback
 *
 * Like ql_qmp_execute_async(), passing @fd to QEMU with the command.
 */
void
ql_qmp_execute_with_fd_async (QlQmp               *self,
                              const char          *command,
                              JsonObject          *arguments,
                              int                  fd,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (fd >= 0);

  execute_internal (self, command, arguments, fd, cancellable, callback, user_data,
                    ql_qmp_execute_async);
}

/**
 * ql_qmp_execute_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_execute_async() and the command helpers whose
 * documentation says so.
 *
 * Returns: (transfer full) (nullable): the reply's `return` value (often an
 *   empty object), or %NULL with @error set
 */
JsonNode *
ql_qmp_execute_finish (QlQmp         *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

GAsyncResult *
ql_qmp_run_sync (QlQmp           *self,
                 QlQmpStartFunc   start,
                 gpointer         start_data)
{
  GAsyncResult *result = NULL;
  GMainContext *context = self->context != NULL ? g_main_context_ref (self->context)
                                                : g_main_context_ref_thread_default ();

  start (self, start_data, ql_store_result, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_unref (context);
  return result;
}

typedef struct
{
  const char *command;
  JsonObject *arguments;
  GCancellable *cancellable;
} ExecuteArgs;

static void
start_execute (QlQmp               *self,
               gpointer             data,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  ExecuteArgs *a = data;

  ql_qmp_execute_async (self, a->command, a->arguments, a->cancellable, callback, user_data);
}

/**
 * ql_qmp_execute:
 * @self: a connected #QlQmp
 * @command: the QMP command
 * @arguments: (nullable): its arguments
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_execute_async(): iterates the client's main
 * context until the reply arrives. Call it from the thread that owns that
 * context.
 *
 * Returns: (transfer full) (nullable): the reply's `return` value, or %NULL
 *   with @error set
 */
JsonNode *
ql_qmp_execute (QlQmp         *self,
                const char    *command,
                JsonObject    *arguments,
                GCancellable  *cancellable,
                GError       **error)
{
  ExecuteArgs a = { command, arguments, cancellable };
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);

  result = ql_qmp_run_sync (self, start_execute, &a);
  return ql_qmp_execute_finish (self, result, error);
}

/* ---- events ------------------------------------------------------------- */

static gboolean
waiter_timed_out (gpointer data)
{
  EventWaiter *w = data;
  QlQmp *self = g_task_get_source_object (w->task);

  self->waiters = g_list_remove (self->waiters, w);
  g_task_return_new_error (w->task, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT,
                           "no %s event%s%s%s%s within %u ms", w->event,
                           w->key != NULL ? " with " : "", w->key != NULL ? w->key : "",
                           w->key != NULL ? "=" : "", w->key != NULL ? w->value : "",
                           GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (w->task), "ql-timeout")));
  g_clear_pointer (&w->timeout, g_source_unref);
  event_waiter_free (w);
  return G_SOURCE_REMOVE;
}

static gboolean
waiter_cancel_idle (gpointer data)
{
  GTask *task = data;
  QlQmp *self = g_task_get_source_object (task);

  for (GList *l = self->waiters; l != NULL; l = l->next)
    {
      EventWaiter *w = l->data;

      if (w->task != task)
        continue;
      self->waiters = g_list_delete_link (self->waiters, l);
      g_task_return_error_if_cancelled (task);
      event_waiter_free (w);
      break;
    }
  return G_SOURCE_REMOVE;
}

static void
waiter_cancelled (GCancellable *cancellable,
                  GTask        *task)
{
  GSource *idle = g_idle_source_new ();

  (void) cancellable;
  g_source_set_callback (idle, waiter_cancel_idle, g_object_ref (task), g_object_unref);
  g_source_attach (idle, QL_QMP (g_task_get_source_object (task))->context);
  g_source_unref (idle);
}

/**
 * ql_qmp_wait_event_async:
 * @self: a connected #QlQmp
 * @event: the event name, e.g. `DEVICE_DELETED`
 * @data_key: (nullable): a member of the event's data that must match
 * @data_value: (nullable): the string @data_key must hold
 * @timeout_ms: how long to wait; 0 waits for ever
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the event, on timeout, or when the connection closes
 * @user_data: data for @callback
 *
 * Waits for the next @event (whose `data` member @data_key equals
 * @data_value, if given). Only events that arrive after this call count, so
 * call it before the command that causes the event.
 */
void
ql_qmp_wait_event_async (QlQmp               *self,
                         const char          *event,
                         const char          *data_key,
                         const char          *data_value,
                         guint                timeout_ms,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  EventWaiter *w;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (event != NULL);
  g_return_if_fail ((data_key == NULL) == (data_value == NULL));

  g_task_set_source_tag (task, ql_qmp_wait_event_async);
  if (self->state != STATE_READY)
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                               "waiting for %s: not connected to QMP", event);
      return;
    }
  w = g_new0 (EventWaiter, 1);
  w->event = g_strdup (event);
  w->key = g_strdup (data_key);
  w->value = g_strdup (data_value);
  w->task = g_object_ref (task);
  if (timeout_ms > 0)
    {
      g_object_set_data (G_OBJECT (task), "ql-timeout", GUINT_TO_POINTER (timeout_ms));
      w->timeout = g_timeout_source_new (timeout_ms);
      g_source_set_callback (w->timeout, waiter_timed_out, w, NULL);
      g_source_attach (w->timeout, self->context);
    }
  self->waiters = g_list_append (self->waiters, w);
  if (cancellable != NULL)
    w->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (waiter_cancelled), task, NULL);
}

/**
 * ql_qmp_wait_event_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_wait_event_async().
 *
 * Returns: (transfer full) (nullable): the event's data (an empty object when
 *   it had none), or %NULL with @error set
 */
JsonObject *
ql_qmp_wait_event_finish (QlQmp         *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- connecting --------------------------------------------------------- */

static gboolean try_connect (gpointer data);

static gboolean
connect_cancel_idle (gpointer data)
{
  QlQmp *self = data;

  if (self->connect_task != NULL)
    close_with_error (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                         "connecting to QMP socket %s: cancelled",
                                         self->socket_path));
  return G_SOURCE_REMOVE;
}

static void
connect_cancelled (GCancellable *cancellable,
                   QlQmp        *self)
{
  GSource *idle = g_idle_source_new ();

  (void) cancellable;
  /* Runs in the cancelling thread: act on the client's context. */
  g_source_set_callback (idle, connect_cancel_idle, g_object_ref (self), g_object_unref);
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}

static gboolean connect_timer (gpointer data);

static gboolean
try_connect (gpointer data)
{
  QlQmp *self = data;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  if (self->connect_task == NULL || self->state != STATE_CONNECTING)
    return G_SOURCE_REMOVE;

  /* Whom we talk to is settled here, before the greeting is read and
   * before the first command (and any descriptor or secret) is sent. */
  if (self->check_peer && self->child_pid <= 0
      && !ql_qmp_check_socket_file (self->socket_path, self->peer_uid, &error))
    {
      close_with_error (self, g_steal_pointer (&error));
      return G_SOURCE_REMOVE;
    }
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  if (socket != NULL)
    {
      address = g_unix_socket_address_new (self->socket_path);
      if (g_socket_connect (socket, address, NULL, &error))
        {
          if (self->check_peer
              && !ql_qmp_check_peer (socket, self->socket_path, self->peer_uid, self->child_pid, &error))
            {
              g_socket_close (socket, NULL);
              close_with_error (self, g_steal_pointer (&error));
              return G_SOURCE_REMOVE;
            }
          destroy_source (&self->connect_retry);
          g_socket_set_blocking (socket, FALSE);
          self->socket = g_steal_pointer (&socket);
          self->state = STATE_GREETING;
          self->in_source = g_socket_create_source (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
          /* Sync calls from event handlers iterate the context: replies
           * must still be read then. */
          g_source_set_can_recurse (self->in_source, TRUE);
          g_source_set_callback (self->in_source, (GSourceFunc) (void (*) (void)) on_readable,
                                 self, NULL);
          g_source_attach (self->in_source, self->context);
          /* The retry timer now bounds the greeting and negotiation. */
          self->connect_retry = g_timeout_source_new (MAX (1, (self->connect_deadline - g_get_monotonic_time ()) / 1000));
          g_source_set_callback (self->connect_retry, connect_timer, self, NULL);
          g_source_attach (self->connect_retry, self->context);
          return G_SOURCE_REMOVE;
        }
    }

  if (g_get_monotonic_time () >= self->connect_deadline)
    {
      close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_CONNECT,
                                           "cannot connect to QMP socket %s: %s",
                                           self->socket_path, error->message));
      return G_SOURCE_REMOVE;
    }
  if (self->connect_retry == NULL)
    {
      self->connect_retry = g_timeout_source_new (CONNECT_RETRY_MS);
      g_source_set_callback (self->connect_retry, connect_timer, self, NULL);
      g_source_attach (self->connect_retry, self->context);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
greeting_timed_out (QlQmp *self)
{
  close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_CONNECT,
                                       "QMP socket %s: connected, but no QMP greeting and "
                                       "capabilities negotiation in time",
                                       self->socket_path));
  return G_SOURCE_REMOVE;
}

static gboolean
connect_timer (gpointer data)
{
  QlQmp *self = data;

  if (self->state == STATE_GREETING || self->state == STATE_NEGOTIATING)
    {
      g_clear_pointer (&self->connect_retry, g_source_unref);
      return greeting_timed_out (self);
    }
  return try_connect (data);
}

/**
 * ql_qmp_connect_async:
 * @self: a #QlQmp that is not connected
 * @socket_path: the QMP unix socket
 * @timeout_ms: how long to keep trying (while the socket does not exist yet
 *   or refuses connections, e.g. QEMU is starting) and to wait for the
 *   greeting
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the client is ready or has given up
 * @user_data: data for @callback
 *
 * Connects, reads QEMU's greeting and negotiates capabilities. The client
 * then lives on the thread-default main context of this call.
 */
void
ql_qmp_connect_async (QlQmp               *self,
                      const char          *socket_path,
                      guint                timeout_ms,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (socket_path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_qmp_connect_async);
  if (self->state != STATE_IDLE)
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_CONNECT,
                               "this QMP client was already connected (to %s); use a new one",
                               self->socket_path);
      return;
    }
  g_free (self->socket_path);
  self->socket_path = g_strdup (socket_path);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->state = STATE_CONNECTING;
  self->connect_task = g_steal_pointer (&task);
  self->connect_deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  if (cancellable != NULL)
    self->connect_cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled),
                                                     self, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SOCKET_PATH]);
  if (g_cancellable_is_cancelled (cancellable))
    connect_cancelled (cancellable, self);
  else
    try_connect (self);
}

/**
 * ql_qmp_connect_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_connect_async().
 *
 * Returns: %TRUE when the client is ready for commands
 */
gboolean
ql_qmp_connect_finish (QlQmp         *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  const char *path;
  guint timeout_ms;
  GCancellable *cancellable;
} ConnectArgs;

static void
start_connect (QlQmp               *self,
               gpointer             data,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  ConnectArgs *a = data;

  ql_qmp_connect_async (self, a->path, a->timeout_ms, a->cancellable, callback, user_data);
}

/**
 * ql_qmp_connect:
 * @self: a #QlQmp that is not connected
 * @socket_path: the QMP unix socket
 * @timeout_ms: how long to keep trying
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_connect_async(), on the thread-default main
 * context.
 *
 * Returns: %TRUE when the client is ready for commands
 */
gboolean
ql_qmp_connect (QlQmp         *self,
                const char    *socket_path,
                guint          timeout_ms,
                GCancellable  *cancellable,
                GError       **error)
{
  ConnectArgs a = { socket_path, timeout_ms, cancellable };
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  result = ql_qmp_run_sync (self, start_connect, &a);
  return ql_qmp_connect_finish (self, result, error);
}

/* ---- accessors ---------------------------------------------------------- */

/**
 * ql_qmp_is_connected:
 * @self: a #QlQmp
 *
 * Tells whether the client is connected: the greeting arrived and
 * `qmp_capabilities` succeeded, and the connection has not ended since.
 *
 * Returns: %TRUE between a successful connect and the connection's end
 */
gboolean
ql_qmp_is_connected (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  return self->state == STATE_READY;
}

/**
 * ql_qmp_get_socket_path:
 * @self: a #QlQmp
 *
 * Gets the path of the QMP socket the client connects or connected to.
 *
 * Returns: (nullable): the socket given to ql_qmp_connect_async()
 */
const char *
ql_qmp_get_socket_path (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), NULL);

  return self->socket_path;
}

/**
 * ql_qmp_get_greeting:
 * @self: a #QlQmp
 *
 * Gets the greeting QEMU sent when the client connected.
 *
 * Returns: (transfer none) (nullable): the `QMP` member of QEMU's greeting
 *   (`version`, `capabilities`), or %NULL before it arrived
 */
JsonObject *
ql_qmp_get_greeting (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), NULL);

  return self->greeting;
}

/**
 * ql_qmp_get_qemu_version:
 * @self: a #QlQmp
 * @major: (out) (optional): QEMU's major version
 * @minor: (out) (optional): its minor version
 * @micro: (out) (optional): its micro version
 *
 * QEMU's version from the greeting.
 *
 * Returns: %FALSE when no greeting (or none with a version) arrived
 */
gboolean
ql_qmp_get_qemu_version (QlQmp *self,
                         guint *major,
                         guint *minor,
                         guint *micro)
{
  JsonObject *version;
  JsonObject *qemu;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  version = ql_json_object (self->greeting, "version");
  qemu = ql_json_object (version, "qemu");
  if (qemu == NULL)
    return FALSE;
  if (major != NULL)
    *major = (guint) CLAMP (ql_json_int (qemu, "major", 0), 0, G_MAXUINT);
  if (minor != NULL)
    *minor = (guint) CLAMP (ql_json_int (qemu, "minor", 0), 0, G_MAXUINT);
  if (micro != NULL)
    *micro = (guint) CLAMP (ql_json_int (qemu, "micro", 0), 0, G_MAXUINT);
  return TRUE;
}

/**
 * ql_qmp_get_event_timestamp:
 * @self: a #QlQmp
 *
 * QEMU's time stamp of the event being emitted: valid in #QlQmp::event
 * handlers.
 *
 * Returns: microseconds since the epoch, or -1 outside an emission or when
 *   the event had no valid `timestamp`
 */
gint64
ql_qmp_get_event_timestamp (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), -1);

  return self->event_timestamp;
}

/**
 * ql_qmp_get_max_message_size:
 * @self: a #QlQmp
 *
 * Gets the largest message the client accepts (#QlQmp:max-message-size).
 *
 * Returns: the largest message, in bytes, the client accepts from the socket
 */
gsize
ql_qmp_get_max_message_size (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), 0);

  return self->max_message_size;
}

/**
 * ql_qmp_set_max_message_size:
 * @self: a #QlQmp
 * @size: a size in bytes, at least 1024
 *
 * Sets the largest message the client accepts; a larger one closes the
 * connection with %QL_QMP_ERROR_PROTOCOL. Default
 * %QL_QMP_DEFAULT_MAX_MESSAGE_SIZE.
 */
void
ql_qmp_set_max_message_size (QlQmp *self,
                             gsize  size)
{
  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (size >= 1024);

  if (self->max_message_size == size)
    return;
  self->max_message_size = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * ql_qmp_get_peer_uid:
 * @self: a #QlQmp
 *
 * Gets the one more user the client trusts as its peer (#QlQmp:peer-uid).
 *
 * Returns: a uid, or -1 for none (only ours and root's)
 */
gint64
ql_qmp_get_peer_uid (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), -1);

  return self->peer_uid;
}

/**
 * ql_qmp_set_peer_uid:
 * @self: a #QlQmp that is not connected yet
 * @uid: a uid, or -1 for none
 *
 * Trusts the user @uid, besides ours and root, to serve the QMP socket:
 * for a QEMU that runs as another user. Takes effect at the next
 * ql_qmp_connect_async().
 */
void
ql_qmp_set_peer_uid (QlQmp  *self,
                     gint64  uid)
{
  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (uid >= -1 && uid <= G_MAXUINT32 - 1);

  if (self->peer_uid == uid)
    return;
  self->peer_uid = uid;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_UID]);
}

void
ql_qmp_trust_child (QlQmp *self,
                    GPid   pid)
{
  g_return_if_fail (QL_IS_QMP (self));

  self->child_pid = pid;
}

/**
 * ql_qmp_get_check_peer:
 * @self: a #QlQmp
 *
 * Tells whether the client checks whom it talks to (#QlQmp:check-peer).
 *
 * Returns: %TRUE (the default) when the socket file and the peer are checked
 */
gboolean
ql_qmp_get_check_peer (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), TRUE);

  return self->check_peer;
}

/**
 * ql_qmp_set_check_peer:
 * @self: a #QlQmp that is not connected yet
 * @check: %FALSE to talk to any peer
 *
 * Turns the checks of the socket file's owner and the peer's user off (or
 * on again). Off, descriptors and secrets go to whoever serves the socket:
 * only for a socket whose peer the caller vouches for by other means.
 */
void
ql_qmp_set_check_peer (QlQmp    *self,
                       gboolean  check)
{
  g_return_if_fail (QL_IS_QMP (self));

  check = !!check;
  if (self->check_peer == check)
    return;
  self->check_peer = check;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHECK_PEER]);
}

/**
 * ql_qmp_get_exact_integers:
 * @self: a #QlQmp
 *
 * Tells whether an integer json-glib cannot hold is refused
 * (#QlQmp:exact-integers).
 *
 * Returns: %TRUE when such an integer is a protocol error
 */
gboolean
ql_qmp_get_exact_integers (QlQmp *self)
{
  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  return self->exact_integers;
}

/**
 * ql_qmp_set_exact_integers:
 * @self: a #QlQmp
 * @exact: %TRUE to refuse what would be rounded
 *
 * QEMU's uint64 values reach 2^64-1, beyond json-glib's gint64: by default
 * such an integer (any outside -2^63..2^63-1) arrives as the nearest double
 * (never wrapped). With @exact, a message holding one is a
 * %QL_QMP_ERROR_PROTOCOL instead, for a caller that must pass QEMU's
 * values on exactly (`qlaunch qmp` prints them).
 */
void
ql_qmp_set_exact_integers (QlQmp    *self,
                           gboolean  exact)
{
  g_return_if_fail (QL_IS_QMP (self));

  exact = !!exact;
  if (self->exact_integers == exact)
    return;
  self->exact_integers = exact;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXACT_INTEGERS]);
}

/**
 * ql_qmp_close:
 * @self: a #QlQmp
 *
 * Closes the connection. Every pending command and event wait fails with
 * %QL_QMP_ERROR_DISCONNECTED.
 */
void
ql_qmp_close (QlQmp *self)
{
  g_return_if_fail (QL_IS_QMP (self));

  close_with_error (self, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                       "QMP connection to %s closed by the client",
                                       self->socket_path != NULL ? self->socket_path : "(none)"));
}

/* ---- GObject ------------------------------------------------------------ */

static void
ql_qmp_dispose (GObject *object)
{
  QlQmp *self = QL_QMP (object);

  if (self->state != STATE_IDLE && self->state != STATE_CLOSED)
    ql_qmp_close (self);
  G_OBJECT_CLASS (ql_qmp_parent_class)->dispose (object);
}

static void
ql_qmp_finalize (GObject *object)
{
  QlQmp *self = QL_QMP (object);

  g_hash_table_unref (self->pending);
  g_byte_array_unref (self->inbuf);
  g_clear_pointer (&self->greeting, json_object_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->socket_path);
  G_OBJECT_CLASS (ql_qmp_parent_class)->finalize (object);
}

static void
ql_qmp_get_property (GObject    *object,
                     guint       prop_id,
                     GValue     *value,
                     GParamSpec *pspec)
{
  QlQmp *self = QL_QMP (object);

  switch (prop_id)
    {
    case PROP_SOCKET_PATH:
      g_value_set_string (value, self->socket_path);
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->state == STATE_READY);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;
    case PROP_PEER_UID:
      g_value_set_int64 (value, self->peer_uid);
      break;
    case PROP_CHECK_PEER:
      g_value_set_boolean (value, self->check_peer);
      break;
    case PROP_EXACT_INTEGERS:
      g_value_set_boolean (value, self->exact_integers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ql_qmp_set_property (GObject      *object,
                     guint         prop_id,
                     const GValue *value,
                     GParamSpec   *pspec)
{
  QlQmp *self = QL_QMP (object);

  switch (prop_id)
    {
    case PROP_MAX_MESSAGE_SIZE:
      ql_qmp_set_max_message_size (self, g_value_get_uint64 (value));
      break;
    case PROP_PEER_UID:
      ql_qmp_set_peer_uid (self, g_value_get_int64 (value));
      break;
    case PROP_CHECK_PEER:
      ql_qmp_set_check_peer (self, g_value_get_boolean (value));
      break;
    case PROP_EXACT_INTEGERS:
      ql_qmp_set_exact_integers (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ql_qmp_class_init (QlQmpClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ql_qmp_dispose;
  object_class->finalize = ql_qmp_finalize;
  object_class->get_property = ql_qmp_get_property;
  object_class->set_property = ql_qmp_set_property;

  /**
   * QlQmp:socket-path:
   *
   * The QMP socket this client connects or connected to.
   */
  properties[PROP_SOCKET_PATH] =
    g_param_spec_string ("socket-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * QlQmp:connected:
   *
   * Whether the client is connected and ready for commands.
   */
  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlQmp:max-message-size:
   *
   * The largest message, in bytes, accepted from the socket.
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL, 1024, G_MAXSIZE,
                         QL_QMP_DEFAULT_MAX_MESSAGE_SIZE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlQmp:peer-uid:
   *
   * One more user, besides ours and root, trusted to serve the QMP
   * socket; -1 for none.
   */
  properties[PROP_PEER_UID] =
    g_param_spec_int64 ("peer-uid", NULL, NULL, -1, G_MAXUINT32 - 1, -1,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlQmp:check-peer:
   *
   * Whether connecting checks the socket file's owner and the peer's
   * user (see #QlQmp). On by default.
   */
  properties[PROP_CHECK_PEER] =
    g_param_spec_boolean ("check-peer", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlQmp:exact-integers:
   *
   * Whether an integer outside -2^63..2^63-1 (QEMU's uint64 above 2^63-1)
   * is a protocol error rather than the nearest double. Off by default.
   */
  properties[PROP_EXACT_INTEGERS] =
    g_param_spec_boolean ("exact-integers", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QlQmp::event:
   * @self: the client
   * @name: the event's name, e.g. `STOP`; also the signal's detail
   * @data: the event's `data` (an empty object when it had none)
   *
   * Emitted for every QMP event, in the order QEMU sent them; during the
   * emission ql_qmp_get_event_timestamp() gives QEMU's time stamp. Connect to
   * `event::DEVICE_DELETED` for one kind only.
   */
  signals[SIGNAL_EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, JSON_TYPE_OBJECT);
  /**
   * QlQmp::disconnected:
   * @self: the client
   * @reason: why: QEMU closed the socket, a protocol error, or ql_qmp_close()
   *
   * Emitted once when a ready connection ends.
   */
  signals[SIGNAL_DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
ql_qmp_init (QlQmp *self)
{
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unref_task);
  self->inbuf = g_byte_array_new ();
  g_queue_init (&self->outq);
  self->max_message_size = QL_QMP_DEFAULT_MAX_MESSAGE_SIZE;
  self->next_id = 1;
  self->event_timestamp = -1;
  self->check_peer = TRUE;
  self->peer_uid = -1;
}

/**
 * ql_qmp_new:
 *
 * A QMP client that is not connected yet; see ql_qmp_connect_async().
 *
 * Returns: (transfer full): a new #QlQmp
 */
QlQmp *
ql_qmp_new (void)
{
  return g_object_new (QL_TYPE_QMP, NULL);
}
