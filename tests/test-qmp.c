/* Suite core: QlQmp against a fake QMP server, no QEMU.
 *
 * The fake server runs in a thread of its own with blocking sockets (every
 * read, write and accept is bounded by SERVER_TIMEOUT_S) and plays a
 * scripted session: greeting, capabilities negotiation, then whatever the
 * test needs, including the hostile inputs a client must survive. The
 * client lives on the test thread's main context; the test waits on it
 * with a watchdog, never with sleeps. Server and test hand over with two
 * queues: the server wakes the test's context when it posts.
 *
 * Cases that can crash or hang the process (hostile inputs, reentrancy,
 * use after free) run in a subprocess with a time limit, so one failure
 * reports itself and leaves the other cases running.
 */
#include "ql-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixfdmessage.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#define SERVER_TIMEOUT_S 5
/* How long to wait for what must happen: a deadline against hangs, not a
 * timing assertion (valgrind runs everything some 20 times slower). */
#define WAIT_MS (g_getenv ("QLAUNCH_UNDER_VALGRIND") != NULL ? 60000u : 5000u)
#define SUBPROCESS_TIMEOUT (10 * G_USEC_PER_SEC)

#define GREETING \
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
  "\"package\": \"fake\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* ---- waiting on a main context, bounded --------------------------------- */

static void
wait_flag (gboolean   *flag,
           const char *what)
{
  ql_test_wait_until (NULL, ql_test_flag_set, flag, WAIT_MS, what);
}

/* Runs what is ready on the default context (bounded: a source that keeps
 * re-arming itself cannot hold the test). */
static void
drain (void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* ---- the fake server ---------------------------------------------------- */

typedef struct _Server Server;
typedef void (*ServerScript) (Server *s);

struct _Server
{
  char *dir;
  char *path;
  GSocket *listener;
  GSocket *conn;
  GByteArray *in;
  GArray *fds;                  /* int: descriptors received, in order */
  GThread *thread;
  ServerScript script;
  gconstpointer data;
  GAsyncQueue *to_server;
  GAsyncQueue *to_main;
  GMainContext *main_context;   /* woken when the server posts to the test */
  char *last_id;                /* "id" of the last command srv_expect read */
  char *popped;                 /* the test's last message from the server */
};

static gpointer
server_thread (gpointer data)
{
  Server *s = data;

  s->script (s);
  if (s->conn != NULL)
    g_socket_close (s->conn, NULL);
  return NULL;
}

static void
server_listen (Server *s)
{
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (s->path);
  g_autoptr(GError) error = NULL;

  s->listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                              G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_socket_bind (s->listener, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_listen (s->listener, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (s->listener, SERVER_TIMEOUT_S);
  s->thread = g_thread_new ("fake-qmp", server_thread, s);
}

/* A server whose socket does not exist yet; server_listen() starts it. */
static Server *
server_new_unstarted (ServerScript  script,
                      gconstpointer data)
{
  Server *s = g_new0 (Server, 1);

  s->dir = ql_test_make_tmpdir ();
  s->path = g_build_filename (s->dir, "qmp.sock", NULL);
  s->in = g_byte_array_new ();
  s->fds = g_array_new (FALSE, FALSE, sizeof (int));
  s->script = script;
  s->data = data;
  s->to_server = g_async_queue_new_full (g_free);
  s->to_main = g_async_queue_new_full (g_free);
  s->main_context = g_main_context_ref_thread_default ();
  return s;
}

static Server *
server_new (ServerScript  script,
            gconstpointer data)
{
  Server *s = server_new_unstarted (script, data);

  server_listen (s);
  return s;
}

/* Joins the server thread (its script has ended) and frees everything. */
static void
server_free (Server *s)
{
  if (s->thread != NULL)
    g_thread_join (s->thread);
  g_clear_object (&s->conn);
  if (s->listener != NULL)
    g_socket_close (s->listener, NULL);
  g_clear_object (&s->listener);
  for (guint i = 0; i < s->fds->len; i++)
    close (g_array_index (s->fds, int, i));
  g_array_unref (s->fds);
  g_byte_array_unref (s->in);
  g_async_queue_unref (s->to_server);
  g_async_queue_unref (s->to_main);
  g_main_context_unref (s->main_context);
  ql_test_rm_rf (s->dir);
  g_free (s->dir);
  g_free (s->path);
  g_free (s->last_id);
  g_free (s->popped);
  g_free (s);
}

/* Server thread: hand-over with the test. */
static void
srv_notify (Server     *s,
            const char *tag)
{
  g_async_queue_push (s->to_main, g_strdup (tag));
  g_main_context_wakeup (s->main_context);
}

static void
srv_wait (Server     *s,
          const char *tag)
{
  g_autofree char *got = g_async_queue_timeout_pop (s->to_server, SERVER_TIMEOUT_S * G_USEC_PER_SEC);

  if (got == NULL)
    g_error ("fake server: no '%s' from the test in %d s", tag, SERVER_TIMEOUT_S);
  g_assert_cmpstr (got, ==, tag);
}

/* Test thread: the other end of the hand-over. */
static void
main_notify (Server     *s,
             const char *tag)
{
  g_async_queue_push (s->to_server, g_strdup (tag));
}

static gboolean
popped_from_server (gpointer data)
{
  Server *s = data;

  if (s->popped == NULL)
    s->popped = g_async_queue_try_pop (s->to_main);
  return s->popped != NULL;
}

static void
main_wait (Server     *s,
           const char *tag)
{
  ql_test_wait_until (s->main_context, popped_from_server, s, WAIT_MS, tag);
  g_assert_cmpstr (s->popped, ==, tag);
  g_clear_pointer (&s->popped, g_free);
}

static void
srv_accept (Server *s)
{
  g_autoptr(GError) error = NULL;

  s->conn = g_socket_accept (s->listener, NULL, &error);
  if (s->conn == NULL)
    g_error ("fake server: accept: %s", error->message);
  g_socket_set_blocking (s->conn, TRUE);
  g_socket_set_timeout (s->conn, SERVER_TIMEOUT_S);
}

/* Reads what the client sent (and the descriptors that came with it):
 * > 0 bytes read, 0 at EOF, -1 when the connection broke. */
static gssize
srv_fill (Server *s)
{
  guint8 buf[64 * 1024];
  GInputVector vec = { buf, sizeof buf };
  GSocketControlMessage **messages = NULL;
  gint n_messages = 0;
  gint flags = 0;
  g_autoptr(GError) error = NULL;
  gssize n;

  n = g_socket_receive_message (s->conn, NULL, &vec, 1, &messages, &n_messages, &flags,
                                NULL, &error);
  for (gint i = 0; i < n_messages; i++)
    {
      if (G_IS_UNIX_FD_MESSAGE (messages[i]))
        {
          gint n_fds = 0;
          gint *fds = g_unix_fd_message_steal_fds (G_UNIX_FD_MESSAGE (messages[i]), &n_fds);

          g_array_append_vals (s->fds, fds, n_fds);
          g_free (fds);
        }
      g_object_unref (messages[i]);
    }
  g_free (messages);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_error ("fake server: read timed out after %d s", SERVER_TIMEOUT_S);
      return -1;
    }
  g_byte_array_append (s->in, buf, n);
  return n;
}

/* The next line from the client without its end of line; NULL at EOF. */
static char *
srv_read_line (Server *s)
{
  for (;;)
    {
      guint8 *nl = s->in->len > 0 ? memchr (s->in->data, '\n', s->in->len) : NULL;

      if (nl != NULL)
        {
          gsize len = nl - s->in->data;
          char *line = g_strndup ((const char *) s->in->data, len);

          g_byte_array_remove_range (s->in, 0, len + 1);
          return line;
        }
      if (srv_fill (s) <= 0)
        return NULL;
    }
}

/* Reads one command, checks it is @command and has a string "id"
 * (kept in last_id); returns the whole message. */
static JsonObject *
srv_expect (Server     *s,
            const char *command)
{
  g_autofree char *line = srv_read_line (s);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *message;
  JsonNode *id;

  if (line == NULL)
    g_error ("fake server: EOF while waiting for '%s'", command);
  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  message = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member_with_default (message, "execute", NULL), ==, command);
  id = json_object_get_member (message, "id");
  g_assert_nonnull (id);
  g_assert_cmpint (json_node_get_value_type (id), ==, G_TYPE_STRING);
  g_free (s->last_id);
  s->last_id = g_strdup (json_node_get_string (id));
  return json_object_ref (message);
}

static char *
node_to_string (JsonNode *node)
{
  return node != NULL ? json_to_string (node, FALSE) : g_strdup ("(none)");
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, FALSE);
}

/* Reads @command and checks its "arguments" equal @args (JSON text; NULL:
 * no arguments member). */
static void
srv_expect_args (Server     *s,
                 const char *command,
                 const char *args)
{
  g_autoptr(JsonObject) message = srv_expect (s, command);
  JsonNode *got = json_object_get_member (message, "arguments");

  if (args == NULL)
    {
      if (got != NULL)
        {
          g_autofree char *text = node_to_string (got);

          g_error ("%s: unexpected arguments %s", command, text);
        }
      return;
    }
  else
    {
      g_autoptr(JsonNode) want = ql_test_parse_json (args);

      if (got == NULL || !json_node_equal (got, want))
        {
          g_autofree char *text = node_to_string (got);

          g_error ("%s: arguments %s, expected %s", command, text, args);
        }
    }
}

/* Sends @len bytes; FALSE when the client closed the connection. */
static gboolean
srv_send (Server     *s,
          const void *data,
          gsize       len)
{
  gsize done = 0;

  while (done < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (s->conn, (const char *) data + done, len - done, NULL, &error);

      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            g_error ("fake server: write timed out after %d s", SERVER_TIMEOUT_S);
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

static void srv_line (Server *s, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Sends one message (printf-style) and QEMU's "\r\n". */
static void
srv_line (Server     *s,
          const char *format,
          ...)
{
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  line = g_strconcat (text, "\r\n", NULL);
  g_assert_true (srv_send (s, line, strlen (line)));
}

static void
srv_return (Server     *s,
            const char *json)
{
  srv_line (s, "{\"return\": %s, \"id\": \"%s\"}", json, s->last_id);
}

static void
srv_error (Server     *s,
           const char *id,
           const char *klass,
           const char *desc)
{
  srv_line (s, "{\"id\": \"%s\", \"error\": {\"class\": \"%s\", \"desc\": \"%s\"}}", id, klass, desc);
}

static void
srv_event (Server     *s,
           const char *name,
           const char *data)
{
  if (data != NULL)
    srv_line (s, "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, "
                 "\"event\": \"%s\", \"data\": %s}", name, data);
  else
    srv_line (s, "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, "
                 "\"event\": \"%s\"}", name);
}

static void
srv_handshake (Server *s)
{
  g_autoptr(JsonObject) caps = NULL;

  srv_accept (s);
  g_assert_true (srv_send (s, GREETING, strlen (GREETING)));
  caps = srv_expect (s, "qmp_capabilities");
  g_assert_false (json_object_has_member (caps, "arguments"));
  srv_return (s, "{}");
}

/* Reads until the client closes the connection. */
static void
srv_wait_eof (Server *s)
{
  while (srv_fill (s) > 0)
    g_byte_array_set_size (s->in, 0);
}

/* ---- the client side ---------------------------------------------------- */

typedef struct
{
  guint disconnected;
  GError *reason;
  GPtrArray *events;            /* "NAME DATA" */
  guint stops;                  /* event::STOP */
  char *stop_data;
} Recorder;

static void
on_disconnected (QlQmp    *qmp,
                 GError   *reason,
                 Recorder *r)
{
  g_assert_nonnull (reason);
  g_assert_false (ql_qmp_is_connected (qmp));
  r->disconnected++;
  g_clear_error (&r->reason);
  r->reason = g_error_copy (reason);
}

static void
on_event (QlQmp      *qmp,
          const char *name,
          JsonObject *data,
          Recorder   *r)
{
  g_autofree char *text = NULL;

  g_assert_nonnull (data);
  text = object_to_string (data);
  g_ptr_array_add (r->events, g_strdup_printf ("%s %s", name, text));
}

static void
on_stop (QlQmp      *qmp,
         const char *name,
         JsonObject *data,
         Recorder   *r)
{
  g_assert_cmpstr (name, ==, "STOP");
  r->stops++;
  g_free (r->stop_data);
  r->stop_data = object_to_string (data);
}

static void
recorder_init (Recorder *r,
               QlQmp    *qmp)
{
  memset (r, 0, sizeof *r);
  r->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (qmp, "disconnected", G_CALLBACK (on_disconnected), r);
  g_signal_connect (qmp, "event", G_CALLBACK (on_event), r);
  g_signal_connect (qmp, "event::STOP", G_CALLBACK (on_stop), r);
}

static void
recorder_clear (Recorder *r,
                QlQmp    *qmp)
{
  if (qmp != NULL)
    g_signal_handlers_disconnect_by_data (qmp, r);
  g_clear_error (&r->reason);
  g_ptr_array_unref (r->events);
  g_free (r->stop_data);
}

/* A client connected to @s (whose script must start with srv_handshake). */
static QlQmp *
client_connect (Server   *s,
                Recorder *r)
{
  QlQmp *qmp = ql_qmp_new ();
  g_autoptr(GError) error = NULL;

  if (r != NULL)
    recorder_init (r, qmp);
  g_assert_true (ql_qmp_connect (qmp, s->path, WAIT_MS, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_is_connected (qmp));
  return qmp;
}

typedef struct
{
  gboolean done;
  guint order;
  gint64 when;
  JsonNode *ret;
  JsonObject *event;
  gboolean ok;
  GError *error;
} Result;

static guint completions;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->ret, json_node_unref);
  g_clear_pointer (&r->event, json_object_unref);
  g_clear_error (&r->error);
  memset (r, 0, sizeof *r);
}

static void
result_done (Result *r)
{
  g_assert_false (r->done);
  r->done = TRUE;
  r->order = ++completions;
  r->when = g_get_monotonic_time ();
}

static void
on_execute (GObject      *source,
            GAsyncResult *res,
            gpointer      data)
{
  Result *r = data;

  r->ret = ql_qmp_execute_finish (QL_QMP (source), res, &r->error);
  r->ok = r->ret != NULL;
  g_assert_true (r->ok == (r->error == NULL));
  result_done (r);
}

static void
on_wait_event (GObject      *source,
               GAsyncResult *res,
               gpointer      data)
{
  Result *r = data;

  r->event = ql_qmp_wait_event_finish (QL_QMP (source), res, &r->error);
  r->ok = r->event != NULL;
  result_done (r);
}

static void
on_connect (GObject      *source,
            GAsyncResult *res,
            gpointer      data)
{
  Result *r = data;

  r->ok = ql_qmp_connect_finish (QL_QMP (source), res, &r->error);
  result_done (r);
}

static void
wait_result (Result     *r,
             const char *what)
{
  wait_flag (&r->done, what);
}

static void
assert_json (JsonNode   *node,
             const char *expected)
{
  g_autoptr(JsonNode) want = ql_test_parse_json (expected);

  if (node == NULL || !json_node_equal (node, want))
    {
      g_autofree char *text = node_to_string (node);

      g_error ("got %s, expected %s", text, expected);
    }
}

/* Runs the calling test in a subprocess (time-limited, stderr shown) unless
 * it is that subprocess: returns TRUE when the caller should do the work. */
static gboolean
isolated (void)
{
  if (g_test_subprocess ())
    return TRUE;
  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT, G_TEST_SUBPROCESS_INHERIT_STDERR);
  /* Not g_test_trap_assert_passed(): that would end the whole program. */
  if (g_test_trap_reached_timeout ())
    g_test_fail_printf ("the subprocess hung: killed after %d s", (int) (SUBPROCESS_TIMEOUT / G_USEC_PER_SEC));
  else if (!g_test_trap_has_passed ())
    g_test_fail_printf ("the subprocess failed: a crash or an assertion (its stderr is above)");
  return FALSE;
}

/* ---- greeting, ids, two commands answered in reverse -------------------- */

static void
script_handshake (Server *s)
{
  g_autoptr(JsonObject) a = NULL;
  g_autoptr(JsonObject) b = NULL;
  g_autofree char *id_a = NULL;

  srv_handshake (s);
  a = srv_expect (s, "cmd-a");
  assert_json (json_object_get_member (a, "arguments"),
               "{\"n\": 1, \"s\": \"x\\\"y\", \"l\": [true, null]}");
  id_a = g_strdup (s->last_id);
  b = srv_expect (s, "cmd-b");
  g_assert_false (json_object_has_member (b, "arguments"));
  g_assert_cmpstr (id_a, !=, s->last_id);
  /* Blank lines are no messages. */
  srv_line (s, "%s", "");
  srv_line (s, "   ");
  srv_return (s, "{\"who\": \"b\"}");
  srv_line (s, "{\"return\": [1, 2], \"id\": \"%s\"}", id_a);
  srv_wait_eof (s);
}

static void
test_handshake (void)
{
  Server *s = server_new (script_handshake, NULL);
  Recorder rec;
  QlQmp *qmp = client_connect (s, &rec);
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonArray) list = json_array_new ();
  Result a = { 0 }, b = { 0 };
  guint major = 0, minor = 0, micro = 0;
  JsonObject *greeting;

  g_assert_cmpstr (ql_qmp_get_socket_path (qmp), ==, s->path);
  greeting = ql_qmp_get_greeting (qmp);
  g_assert_nonnull (greeting);
  g_assert_true (json_object_has_member (greeting, "capabilities"));
  g_assert_true (ql_qmp_get_qemu_version (qmp, &major, &minor, &micro));
  g_assert_cmpuint (major, ==, 7);
  g_assert_cmpuint (minor, ==, 2);
  g_assert_cmpuint (micro, ==, 22);
  g_assert_cmpuint (ql_qmp_get_max_message_size (qmp), ==, QL_QMP_DEFAULT_MAX_MESSAGE_SIZE);

  json_object_set_int_member (args, "n", 1);
  json_object_set_string_member (args, "s", "x\"y");
  json_array_add_boolean_element (list, TRUE);
  json_array_add_null_element (list);
  json_object_set_array_member (args, "l", g_steal_pointer (&list));
  ql_qmp_execute_async (qmp, "cmd-a", args, NULL, on_execute, &a);
  ql_qmp_execute_async (qmp, "cmd-b", NULL, NULL, on_execute, &b);
  wait_result (&a, "cmd-a");
  wait_result (&b, "cmd-b");
  g_assert_no_error (a.error);
  g_assert_no_error (b.error);
  assert_json (a.ret, "[1, 2]");
  assert_json (b.ret, "{\"who\": \"b\"}");
  g_assert_cmpuint (b.order, <, a.order);
  g_assert_cmpuint (rec.disconnected, ==, 0);

  ql_qmp_close (qmp);
  server_free (s);
  g_assert_cmpuint (rec.disconnected, ==, 1);
  g_assert_error (rec.reason, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  result_clear (&a);
  result_clear (&b);
  recorder_clear (&rec, qmp);
  g_object_unref (qmp);
}

/* ---- connecting --------------------------------------------------------- */

static void
script_ping (Server *s)
{
  srv_handshake (s);
  srv_expect_args (s, "ping", NULL);
  srv_return (s, "{\"pong\": true}");
  srv_wait_eof (s);
}

static gboolean
start_server_late (gpointer data)
{
  server_listen (data);
  return G_SOURCE_REMOVE;
}

static void
test_connect_retry (void)
{
  Server *s = server_new_unstarted (script_ping, NULL);
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  Result r = { 0 };
  gint64 start = g_get_monotonic_time ();
  gint64 ms;

  ql_qmp_connect_async (qmp, s->path, 3000, NULL, on_connect, &r);
  g_timeout_add (200, start_server_late, s);
  wait_result (&r, "connect");
  ms = (r.when - start) / 1000;
  g_test_message ("connected after %" G_GINT64_FORMAT " ms", ms);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  g_assert_cmpint (ms, >=, 190);
  g_assert_cmpint (ms, <, 1500);
  g_assert_true (ql_qmp_is_connected (qmp));

  ret = ql_qmp_execute (qmp, "ping", NULL, NULL, &error);
  g_assert_no_error (error);
  assert_json (ret, "{\"pong\": true}");
  ql_qmp_close (qmp);
  server_free (s);
  result_clear (&r);
}

static void
test_connect_timeout (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "nobody.sock", NULL);
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(QlQmp) qmp2 = ql_qmp_new ();
  g_autoptr(GError) error = NULL;
  Recorder rec;
  Result r = { 0 };
  gint64 start;
  gint64 ms;

  recorder_init (&rec, qmp);
  start = g_get_monotonic_time ();
  ql_qmp_connect_async (qmp, path, 300, NULL, on_connect, &r);
  wait_result (&r, "connect");
  ms = (r.when - start) / 1000;
  g_test_message ("gave up after %" G_GINT64_FORMAT " ms: %s", ms, r.error->message);
  g_assert_error (r.error, QL_QMP_ERROR, QL_QMP_ERROR_CONNECT);
  g_assert_false (r.ok);
  g_assert_cmpint (ms, >=, 295);
  g_assert_cmpint (ms, <, 1300);
  g_assert_false (ql_qmp_is_connected (qmp));
  g_assert_cmpuint (rec.disconnected, ==, 0);

  /* The synchronous form, and a client is not reused. */
  start = g_get_monotonic_time ();
  g_assert_false (ql_qmp_connect (qmp2, path, 200, NULL, &error));
  ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_CONNECT);
  g_assert_cmpint (ms, >=, 195);
  g_assert_cmpint (ms, <, 1200);
  g_clear_error (&error);
  g_assert_false (ql_qmp_connect (qmp2, path, 200, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_CONNECT);

  drain ();
  g_assert_cmpuint (rec.disconnected, ==, 0);
  recorder_clear (&rec, qmp);
  result_clear (&r);
  ql_test_rm_rf (dir);
}

static void
script_silent (Server *s)
{
  srv_accept (s);
  srv_wait_eof (s);
}

static void
test_connect_no_greeting (void)
{
  Server *s = server_new (script_silent, NULL);
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 ms;

  g_assert_false (ql_qmp_connect (qmp, s->path, 300, NULL, &error));
  ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("%s", error->message);
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_CONNECT);
  g_assert_cmpint (ms, >=, 295);
  g_assert_cmpint (ms, <, 1300);
  g_assert_false (ql_qmp_is_connected (qmp));
  server_free (s);      /* the server saw the client close */
}

static void
script_caps_rejected (Server *s)
{
  srv_accept (s);
  g_assert_true (srv_send (s, GREETING, strlen (GREETING)));
  json_object_unref (srv_expect (s, "qmp_capabilities"));
  srv_error (s, s->last_id, "GenericError", "no capabilities today");
  srv_wait_eof (s);
}

static void
test_connect_caps_rejected (void)
{
  Server *s = server_new (script_caps_rejected, NULL);
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (ql_qmp_connect (qmp, s->path, WAIT_MS, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_CONNECT);
  g_assert_nonnull (strstr (error->message, "no capabilities today"));
  g_assert_false (ql_qmp_is_connected (qmp));
  server_free (s);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_connect_cancel (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "nobody.sock", NULL);
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(QlQmp) qmp2 = ql_qmp_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  Result r = { 0 }, r2 = { 0 };
  gint64 start = g_get_monotonic_time ();

  ql_qmp_connect_async (qmp, path, 10000, cancellable, on_connect, &r);
  g_timeout_add (50, cancel_later, cancellable);
  wait_result (&r, "cancelled connect");
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint ((r.when - start) / 1000, <, 1000);

  g_cancellable_cancel (cancelled);
  ql_qmp_connect_async (qmp2, path, 10000, cancelled, on_connect, &r2);
  wait_result (&r2, "connect with a cancelled cancellable");
  g_assert_error (r2.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  drain ();
  result_clear (&r);
  result_clear (&r2);
  ql_test_rm_rf (dir);
}

/* ---- QMP error replies -------------------------------------------------- */

static void
script_errors (Server *s)
{
  srv_handshake (s);
  json_object_unref (srv_expect (s, "device_add"));
  srv_error (s, s->last_id, "GenericError", "'nope' is not a valid device model name");
  json_object_unref (srv_expect (s, "no-such-command"));
  srv_error (s, s->last_id, "CommandNotFound", "The command no-such-command has not been found");
  json_object_unref (srv_expect (s, "device_del"));
  srv_error (s, s->last_id, "DeviceNotFound", "Device 'x' not found");
  json_object_unref (srv_expect (s, "weird"));
  srv_error (s, s->last_id, "WeirdClass", "something odd");
  srv_expect_args (s, "after", NULL);
  srv_return (s, "{}");
  srv_wait_eof (s);
}

static void
test_error_reply (void)
{
  Server *s = server_new (script_errors, NULL);
  Recorder rec;
  QlQmp *qmp = client_connect (s, &rec);
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  GError *error = NULL;

  json_object_set_string_member (args, "driver", "nope");
  g_assert_null (ql_qmp_execute (qmp, "device_add", args, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
  g_assert_cmpstr (error->message, ==, "device_add: 'nope' is not a valid device model name");
  g_assert_cmpstr (ql_qmp_error_get_class (error), ==, "GenericError");
  g_clear_error (&error);

  g_assert_null (ql_qmp_execute (qmp, "no-such-command", NULL, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_COMMAND_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "no-such-command: The command no-such-command has not been found");
  g_assert_cmpstr (ql_qmp_error_get_class (error), ==, "CommandNotFound");
  g_clear_error (&error);

  g_assert_null (ql_qmp_execute (qmp, "device_del", NULL, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "device_del: Device 'x' not found");
  g_assert_cmpstr (ql_qmp_error_get_class (error), ==, "DeviceNotFound");
  g_clear_error (&error);

  /* A class this version does not know: the message names it. */
  g_assert_null (ql_qmp_execute (qmp, "weird", NULL, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_OTHER_CLASS);
  g_assert_true (g_str_has_prefix (error->message, "weird: something odd"));
  g_assert_nonnull (strstr (error->message, "WeirdClass"));
  g_assert_cmpstr (ql_qmp_error_get_class (error), ==, "Other");
  g_clear_error (&error);

  /* Not a QMP error reply, or not QMP at all. */
  error = g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT, "t");
  g_assert_null (ql_qmp_error_get_class (error));
  g_clear_error (&error);
  error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "f");
  g_assert_null (ql_qmp_error_get_class (error));
  g_clear_error (&error);

  /* Error replies leave the connection up. */
  ret = ql_qmp_execute (qmp, "after", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qmp_is_connected (qmp));
  g_assert_cmpuint (rec.disconnected, ==, 0);

  ql_qmp_close (qmp);
  server_free (s);
  recorder_clear (&rec, qmp);
  g_object_unref (qmp);
}

/* ---- events ------------------------------------------------------------- */

static void
script_events (Server *s)
{
  srv_handshake (s);
  srv_wait (s, "go");
  srv_event (s, "STOP", NULL);
  srv_event (s, "RESUME", "{}");
  srv_event (s, "DEVICE_DELETED", "{\"device\": \"a\", \"path\": \"/machine/peripheral/a\"}");
  srv_event (s, "DEVICE_DELETED", "{\"path\": \"/machine/peripheral-anon/device[0]\"}");
  srv_event (s, "DEVICE_DELETED", "{\"device\": \"b\", \"path\": \"/machine/peripheral/b\"}");
  srv_event (s, "STOP", "{\"n\": 2}");
  srv_expect_args (s, "sync", NULL);
  srv_return (s, "{}");
  srv_wait_eof (s);
}

static void
test_events (void)
{
  Server *s = server_new (script_events, NULL);
  Recorder rec;
  QlQmp *qmp = client_connect (s, &rec);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  Result match = { 0 }, any = { 0 }, never = { 0 }, cancelled = { 0 };
  gint64 start = g_get_monotonic_time ();

  ql_qmp_wait_event_async (qmp, "DEVICE_DELETED", "device", "b", 0, NULL, on_wait_event, &match);
  ql_qmp_wait_event_async (qmp, "DEVICE_DELETED", NULL, NULL, 2000, NULL, on_wait_event, &any);
  ql_qmp_wait_event_async (qmp, "NEVER", NULL, NULL, 150, NULL, on_wait_event, &never);
  ql_qmp_wait_event_async (qmp, "NEVER", NULL, NULL, 0, cancellable, on_wait_event, &cancelled);
  main_notify (s, "go");
  ret = ql_qmp_execute (qmp, "sync", NULL, NULL, &error);
  g_assert_no_error (error);

  /* Every event, in order, through the "event" signal. */
  g_assert_cmpuint (rec.events->len, ==, 6);
  g_assert_cmpstr (rec.events->pdata[0], ==, "STOP {}");
  g_assert_cmpstr (rec.events->pdata[1], ==, "RESUME {}");
  g_assert_true (g_str_has_prefix (rec.events->pdata[2], "DEVICE_DELETED {"));
  g_assert_cmpstr (rec.events->pdata[5], ==, "STOP {\"n\":2}");
  /* event::STOP only sees STOP. */
  g_assert_cmpuint (rec.stops, ==, 2);
  g_assert_cmpstr (rec.stop_data, ==, "{\"n\":2}");

  /* The waits: the matching event, the first of its kind. */
  g_assert_true (match.done);
  g_assert_no_error (match.error);
  g_assert_cmpstr (json_object_get_string_member (match.event, "path"), ==, "/machine/peripheral/b");
  g_assert_true (any.done);
  g_assert_no_error (any.error);
  g_assert_cmpstr (json_object_get_string_member (any.event, "device"), ==, "a");

  wait_result (&never, "event wait timeout");
  g_assert_error (never.error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
  g_assert_cmpint ((never.when - start) / 1000, >=, 145);
  g_assert_cmpint ((never.when - start) / 1000, <, 1500);

  g_assert_false (cancelled.done);
  g_cancellable_cancel (cancellable);
  wait_result (&cancelled, "cancelled event wait");
  g_assert_error (cancelled.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_assert_cmpuint (rec.disconnected, ==, 0);
  ql_qmp_close (qmp);
  server_free (s);
  result_clear (&match);
  result_clear (&any);
  result_clear (&never);
  result_clear (&cancelled);
  recorder_clear (&rec, qmp);
  g_object_unref (qmp);
}

/* ---- hostile input ------------------------------------------------------ */

typedef enum
{
  PHASE_GREETING,       /* instead of the greeting; the connect fails */
  PHASE_COMMAND,        /* with a command pending */
} Phase;

typedef struct
{
  const char *name;
  Phase phase;
  gsize max_size;                                       /* 0: the default */
  void (*payload) (GByteArray *out, const char *id);    /* what the server sends */
  gboolean shutdown;                                    /* then EOF */
} HostileCase;

#define APPEND(out, text) g_byte_array_append ((out), (const guint8 *) (text), sizeof (text) - 1)

static void
payload_truncated (GByteArray *out, const char *id)
{
  APPEND (out, "{\"return\": {}, \"id\": \"ql-");
}

static void
payload_broken_json (GByteArray *out, const char *id)
{
  APPEND (out, "{\"return\": {}, \"id\": }\r\n");
}

static void
payload_unknown_id (GByteArray *out, const char *id)
{
  APPEND (out, "{\"return\": {}, \"id\": \"nobody-asked\"}\r\n");
}

static void
payload_id_not_string (GByteArray *out, const char *id)
{
  APPEND (out, "{\"return\": {}, \"id\": 7}\r\n");
}

/* A reply for the pending command whose "return" is a string of @size
 * bytes, @newline or not. */
static void
payload_big (GByteArray *out,
             const char *id,
             gsize       size,
             gboolean    newline)
{
  g_autofree char *head = g_strdup_printf ("{\"id\": \"%s\", \"return\": \"", id);
  gsize at;

  g_byte_array_append (out, (const guint8 *) head, strlen (head));
  at = out->len;
  g_byte_array_set_size (out, at + size);
  memset (out->data + at, 'a', size);
  if (newline)
    APPEND (out, "\"}\r\n");
}

static void
payload_16m (GByteArray *out, const char *id)
{
  payload_big (out, id, 16 * 1024 * 1024, FALSE);
}

static void
payload_16m_line (GByteArray *out, const char *id)
{
  payload_big (out, id, 16 * 1024 * 1024, TRUE);
}

static void
payload_2k_line (GByteArray *out, const char *id)
{
  payload_big (out, id, 2000, TRUE);
}

static void
payload_4k (GByteArray *out, const char *id)
{
  payload_big (out, id, 4096, FALSE);
}

static void
payload_nul (GByteArray *out, const char *id)
{
  g_autofree char *line = g_strdup_printf ("{\"return\": \"a_b\", \"id\": \"%s\"}\r\n", id);
  gsize at = out->len;

  g_byte_array_append (out, (const guint8 *) line, strlen (line));
  out->data[at + strlen ("{\"return\": \"a")] = '\0';
}

static void
payload_bad_utf8 (GByteArray *out, const char *id)
{
  g_autofree char *line = g_strdup_printf ("{\"return\": \"\xff\xfe\xc3\", \"id\": \"%s\"}\r\n", id);

  g_byte_array_append (out, (const guint8 *) line, strlen (line));
}

static void
payload_reply_first (GByteArray *out, const char *id)
{
  APPEND (out, "{\"return\": {}}\r\n");
}

static void
payload_array_first (GByteArray *out, const char *id)
{
  APPEND (out, "[{\"QMP\": {\"version\": {}, \"capabilities\": []}}]\r\n");
}

static void
payload_array (GByteArray *out, const char *id)
{
  g_autofree char *line = g_strdup_printf ("[{\"return\": {}, \"id\": \"%s\"}]\r\n", id);

  g_byte_array_append (out, (const guint8 *) line, strlen (line));
}

static void
payload_scalar (GByteArray *out, const char *id)
{
  APPEND (out, "\"just a string\"\r\n");
}

static void
payload_deep (GByteArray *out, const char *id)
{
  gsize depth = 100000;
  gsize at = out->len;

  g_byte_array_set_size (out, at + 2 * depth);
  memset (out->data + at, '[', depth);
  memset (out->data + at + depth, ']', depth);
  APPEND (out, "\r\n");
}

static void
payload_error_not_object (GByteArray *out, const char *id)
{
  APPEND (out, "{\"error\": \"boom\"}\r\n");
}

/* Two replies on one line: json-glib would keep the second and leak the
 * first (found by fuzz-qmp). */
static void
payload_two_values (GByteArray *out, const char *id)
{
  g_autofree char *line = g_strdup_printf ("{\"return\": [], \"id\": \"%s\"}{\"return\": [], \"id\": \"%s\"}\r\n",
                                           id, id);

  g_byte_array_append (out, (const guint8 *) line, strlen (line));
}

static void
payload_error_malformed (GByteArray *out, const char *id)
{
  g_autofree char *line = g_strdup_printf ("{\"error\": {\"desc\": \"no class\"}, \"id\": \"%s\"}\r\n", id);

  g_byte_array_append (out, (const guint8 *) line, strlen (line));
}

static void
payload_event_bad_data (GByteArray *out, const char *id)
{
  APPEND (out, "{\"event\": \"STOP\", \"data\": 5}\r\n");
}

static void
payload_event_no_name (GByteArray *out, const char *id)
{
  APPEND (out, "{\"event\": 5, \"data\": {}}\r\n");
}

static void
payload_neither (GByteArray *out, const char *id)
{
  APPEND (out, "{\"hello\": \"world\"}\r\n");
}

static void
payload_second_greeting (GByteArray *out, const char *id)
{
  APPEND (out, GREETING);
}

/* A reply whose `return` is @value, as written: what json-glib would keep
 * altered (cut, wrapped, infinite) or read although it is not JSON. */
static void
payload_return (GByteArray *out,
                const char *id,
                const char *value)
{
  g_autofree char *line = g_strdup_printf ("{\"return\": %s, \"id\": \"%s\"}\r\n", value, id);

  g_byte_array_append (out, (const guint8 *) line, strlen (line));
}

#define RETURN_PAYLOAD(fn, value) \
  static void fn (GByteArray *out, const char *id) { payload_return (out, id, value); }

RETURN_PAYLOAD (payload_escaped_nul, "\"a\\u0000b\"")
RETURN_PAYLOAD (payload_lone_high_surrogate, "\"a\\ud800b\"")
RETURN_PAYLOAD (payload_lone_low_surrogate, "\"\\udc00\"")
RETURN_PAYLOAD (payload_huge_double, "[1, 1e400]")
RETURN_PAYLOAD (payload_huge_integer, "1" "000000000000000000000000000000000000000000000000000000000000"
                "000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "0000000000")
RETURN_PAYLOAD (payload_hex, "0x10")
RETURN_PAYLOAD (payload_octal, "010")
RETURN_PAYLOAD (payload_bare_fraction, ".5")
RETURN_PAYLOAD (payload_plus, "[+1]")
RETURN_PAYLOAD (payload_single_quotes, "'x'")
RETURN_PAYLOAD (payload_unknown_escape, "\"a\\xb\"")
RETURN_PAYLOAD (payload_short_unicode_escape, "\"\\uDe{\"")
RETURN_PAYLOAD (payload_non_hex_unicode_escape, "\"\\uzzzz\"")

static const HostileCase hostile_cases[] = {
  { "truncated-json-eof", PHASE_COMMAND, 0, payload_truncated, TRUE },
  { "broken-json", PHASE_COMMAND, 0, payload_broken_json, FALSE },
  { "unknown-id", PHASE_COMMAND, 0, payload_unknown_id, FALSE },
  { "id-not-string", PHASE_COMMAND, 0, payload_id_not_string, FALSE },
  { "16m-no-newline", PHASE_COMMAND, 0, payload_16m, FALSE },
  { "16m-line", PHASE_COMMAND, 0, payload_16m_line, FALSE },
  { "small-limit-line", PHASE_COMMAND, 1024, payload_2k_line, FALSE },
  { "small-limit-no-newline", PHASE_COMMAND, 1024, payload_4k, FALSE },
  { "nul-in-line", PHASE_COMMAND, 0, payload_nul, FALSE },
  { "invalid-utf8", PHASE_COMMAND, 0, payload_bad_utf8, FALSE },
  { "not-a-greeting", PHASE_GREETING, 0, payload_reply_first, FALSE },
  { "array-greeting", PHASE_GREETING, 0, payload_array_first, FALSE },
  { "truncated-greeting", PHASE_GREETING, 0, payload_truncated, TRUE },
  { "json-array", PHASE_COMMAND, 0, payload_array, FALSE },
  { "json-scalar", PHASE_COMMAND, 0, payload_scalar, FALSE },
  { "deep-nesting", PHASE_COMMAND, 0, payload_deep, FALSE },
  { "error-not-object", PHASE_COMMAND, 0, payload_error_not_object, FALSE },
  { "error-malformed", PHASE_COMMAND, 0, payload_error_malformed, FALSE },
  { "two-values", PHASE_COMMAND, 0, payload_two_values, FALSE },
  { "event-bad-data", PHASE_COMMAND, 0, payload_event_bad_data, FALSE },
  { "event-no-name", PHASE_COMMAND, 0, payload_event_no_name, FALSE },
  { "neither-reply-nor-event", PHASE_COMMAND, 0, payload_neither, FALSE },
  { "second-greeting", PHASE_COMMAND, 0, payload_second_greeting, FALSE },
  { "escaped-nul", PHASE_COMMAND, 0, payload_escaped_nul, FALSE },
  { "lone-high-surrogate", PHASE_COMMAND, 0, payload_lone_high_surrogate, FALSE },
  { "lone-low-surrogate", PHASE_COMMAND, 0, payload_lone_low_surrogate, FALSE },
  { "huge-double", PHASE_COMMAND, 0, payload_huge_double, FALSE },
  { "integer-beyond-doubles", PHASE_COMMAND, 0, payload_huge_integer, FALSE },
  { "hex-number", PHASE_COMMAND, 0, payload_hex, FALSE },
  { "octal-number", PHASE_COMMAND, 0, payload_octal, FALSE },
  { "bare-fraction", PHASE_COMMAND, 0, payload_bare_fraction, FALSE },
  { "plus-sign", PHASE_COMMAND, 0, payload_plus, FALSE },
  { "single-quotes", PHASE_COMMAND, 0, payload_single_quotes, FALSE },
  { "unknown-escape", PHASE_COMMAND, 0, payload_unknown_escape, FALSE },
  { "short-unicode-escape", PHASE_COMMAND, 0, payload_short_unicode_escape, FALSE },
  { "non-hex-unicode-escape", PHASE_COMMAND, 0, payload_non_hex_unicode_escape, FALSE },
};

typedef struct
{
  const HostileCase *c;
  GBytes *raw;          /* instead of c->payload */
} HostileRun;

static void
script_hostile (Server *s)
{
  const HostileRun *run = s->data;
  g_autoptr(GByteArray) out = g_byte_array_new ();

  if (run->c->phase == PHASE_GREETING)
    srv_accept (s);
  else
    {
      srv_handshake (s);
      json_object_unref (srv_expect (s, "query-status"));
    }
  if (run->raw != NULL)
    g_byte_array_append (out, g_bytes_get_data (run->raw, NULL), g_bytes_get_size (run->raw));
  else
    run->c->payload (out, s->last_id);
  /* The client may close before it has read everything: a failed write is
   * fine, a client that does not close is not. */
  if (srv_send (s, out->data, out->len) && run->c->shutdown)
    g_socket_shutdown (s->conn, FALSE, TRUE, NULL);
  srv_wait_eof (s);
}

static void
run_hostile (const HostileRun *run)
{
  Server *s = server_new (script_hostile, run);
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(GError) error = NULL;
  Recorder rec;
  Result r = { 0 };

  recorder_init (&rec, qmp);
  if (run->c->phase == PHASE_GREETING)
    {
      g_assert_false (ql_qmp_connect (qmp, s->path, WAIT_MS, NULL, &error));
      g_test_message ("%s: %s", run->c->name, error->message);
      g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
      g_assert_false (ql_qmp_is_connected (qmp));
      server_free (s);
      drain ();
      g_assert_cmpuint (rec.disconnected, ==, 0);
    }
  else
    {
      g_assert_true (ql_qmp_connect (qmp, s->path, WAIT_MS, NULL, &error));
      g_assert_no_error (error);
      if (run->c->max_size != 0)
        {
          ql_qmp_set_max_message_size (qmp, run->c->max_size);
          g_assert_cmpuint (ql_qmp_get_max_message_size (qmp), ==, run->c->max_size);
        }
      ql_qmp_query_status_async (qmp, NULL, on_execute, &r);
      wait_result (&r, "the pending command to fail");
      g_assert_nonnull (r.error);
      g_test_message ("%s: %s", run->c->name, r.error->message);
      g_assert_error (r.error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
      ql_test_wait_until (NULL, ql_test_flag_set, &rec.disconnected, 2000,
                          "the disconnected signal");
      g_assert_false (ql_qmp_is_connected (qmp));
      server_free (s);  /* returns once the server saw the connection end */
      drain ();
      g_assert_cmpuint (rec.disconnected, ==, 1);
      g_assert_error (rec.reason, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
      /* Closed for good. */
      result_clear (&r);
      ql_qmp_execute_async (qmp, "query-status", NULL, NULL, on_execute, &r);
      wait_result (&r, "a command after the close");
      g_assert_error (r.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
    }
  result_clear (&r);
  recorder_clear (&rec, qmp);
}

static void
test_hostile (gconstpointer data)
{
  HostileRun run = { data, NULL };

  if (!isolated ())
    return;
  run_hostile (&run);
}

static void
test_hostile_random (void)
{
  static const HostileCase random_case = { "random", PHASE_COMMAND, 0, NULL, TRUE };
  const char *env = g_getenv ("QL_TEST_QMP_SEED");
  g_autoptr(GRand) rand = NULL;
  guint32 seed;

  g_assert_nonnull (env);
  seed = (guint32) g_ascii_strtoull (env, NULL, 10);
  g_test_message ("random bytes seed: %u (set QL_TEST_QMP_SEED=%u to replay)", seed, seed);
  if (!isolated ())
    return;
  rand = g_rand_new_with_seed (seed);
  for (guint round = 0; round < 12; round++)
    {
      gsize len = round < 4 ? (gsize) g_rand_int_range (rand, 1, 64)
                            : (gsize) g_rand_int_range (rand, 64, 256 * 1024);
      g_autoptr(GByteArray) bytes = g_byte_array_sized_new (len);
      HostileRun run = { &random_case, NULL };

      g_byte_array_set_size (bytes, len);
      for (gsize i = 0; i < len; i++)
        bytes->data[i] = (guint8) g_rand_int_range (rand, 0, 256);
      /* Never whitespace only: that is no message at all. */
      bytes->data[0] = '}';
      run.raw = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
      run_hostile (&run);
      g_bytes_unref (run.raw);
    }
}

/* A reply just under a small limit is fine. */
static void
script_under_limit (Server *s)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  srv_handshake (s);
  json_object_unref (srv_expect (s, "query-status"));
  payload_big (out, s->last_id, 900, TRUE);
  g_assert_true (srv_send (s, out->data, out->len));
  srv_wait_eof (s);
}

static void
test_limit_ok (void)
{
  Server *s = server_new (script_under_limit, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ql_qmp_set_max_message_size (qmp, 1024);
  ret = ql_qmp_execute (qmp, "query-status", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (json_node_get_string (ret)), ==, 900);
  g_assert_true (ql_qmp_is_connected (qmp));
  ql_qmp_close (qmp);
  server_free (s);
  g_object_unref (qmp);
}

/* ---- the connection ends with commands pending -------------------------- */

static void
script_read3_close (Server *s)
{
  srv_handshake (s);
  json_object_unref (srv_expect (s, "one"));
  json_object_unref (srv_expect (s, "two"));
  json_object_unref (srv_expect (s, "three"));
  srv_notify (s, "got-3");
  srv_wait (s, "close");
  g_socket_close (s->conn, NULL);
}

static void
test_peer_close (void)
{
  Server *s = server_new (script_read3_close, NULL);
  Recorder rec;
  QlQmp *qmp = client_connect (s, &rec);
  Result r[4] = { { 0 } };

  ql_qmp_execute_async (qmp, "one", NULL, NULL, on_execute, &r[0]);
  ql_qmp_execute_async (qmp, "two", NULL, NULL, on_execute, &r[1]);
  ql_qmp_execute_async (qmp, "three", NULL, NULL, on_execute, &r[2]);
  ql_qmp_wait_event_async (qmp, "SHUTDOWN", NULL, NULL, 0, NULL, on_wait_event, &r[3]);
  main_wait (s, "got-3");
  main_notify (s, "close");
  ql_test_wait_until (NULL, ql_test_flag_set, &r[0].done, WAIT_MS, "the first failure");
  /* All of them at once, in the same main loop iteration. */
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    {
      g_assert_true (r[i].done);
      g_assert_error (r[i].error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
    }
  g_assert_false (ql_qmp_is_connected (qmp));
  server_free (s);
  drain ();
  g_assert_cmpuint (rec.disconnected, ==, 1);
  g_assert_error (rec.reason, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    result_clear (&r[i]);
  recorder_clear (&rec, qmp);
  g_object_unref (qmp);
}

static void
script_read3 (Server *s)
{
  srv_handshake (s);
  json_object_unref (srv_expect (s, "one"));
  json_object_unref (srv_expect (s, "two"));
  json_object_unref (srv_expect (s, "three"));
  srv_notify (s, "got-3");
  srv_wait_eof (s);
}

static void
test_close_pending (void)
{
  Server *s = server_new (script_read3, NULL);
  Recorder rec;
  QlQmp *qmp = client_connect (s, &rec);
  Result r[4] = { { 0 } };
  Result after = { 0 }, wait_after = { 0 };
  g_autoptr(GError) error = NULL;

  ql_qmp_execute_async (qmp, "one", NULL, NULL, on_execute, &r[0]);
  ql_qmp_execute_async (qmp, "two", NULL, NULL, on_execute, &r[1]);
  ql_qmp_execute_async (qmp, "three", NULL, NULL, on_execute, &r[2]);
  ql_qmp_wait_event_async (qmp, "SHUTDOWN", NULL, NULL, 5000, NULL, on_wait_event, &r[3]);
  main_wait (s, "got-3");
  ql_qmp_close (qmp);
  g_assert_false (ql_qmp_is_connected (qmp));
  g_assert_cmpuint (rec.disconnected, ==, 1);
  g_assert_error (rec.reason, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    {
      wait_result (&r[i], "a failure after ql_qmp_close()");
      g_assert_error (r[i].error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
    }
  /* Again: nothing more happens. */
  ql_qmp_close (qmp);
  g_assert_cmpuint (rec.disconnected, ==, 1);

  ql_qmp_execute_async (qmp, "late", NULL, NULL, on_execute, &after);
  wait_result (&after, "a command after the close");
  g_assert_error (after.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  g_assert_null (ql_qmp_execute (qmp, "late", NULL, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  ql_qmp_wait_event_async (qmp, "STOP", NULL, NULL, 0, NULL, on_wait_event, &wait_after);
  wait_result (&wait_after, "an event wait after the close");
  g_assert_error (wait_after.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);

  server_free (s);
  drain ();
  g_assert_cmpuint (rec.disconnected, ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    result_clear (&r[i]);
  result_clear (&after);
  result_clear (&wait_after);
  recorder_clear (&rec, qmp);
  g_object_unref (qmp);
}

/* Dropping the last reference to a connected client closes it. */
static void
test_unref_closes (void)
{
  Server *s = server_new (script_read3, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  GWeakRef weak;

  g_weak_ref_init (&weak, qmp);
  ql_qmp_execute_async (qmp, "one", NULL, NULL, NULL, NULL);
  ql_qmp_execute_async (qmp, "two", NULL, NULL, NULL, NULL);
  ql_qmp_execute_async (qmp, "three", NULL, NULL, NULL, NULL);
  main_wait (s, "got-3");
  /* The pending commands keep the client; closing lets it go. */
  ql_qmp_close (qmp);
  g_object_unref (qmp);
  drain ();
  g_assert_null (g_weak_ref_get (&weak));
  g_weak_ref_clear (&weak);
  server_free (s);
}

/* ---- cancellation ------------------------------------------------------- */

static void
script_cancel (Server *s)
{
  srv_handshake (s);
  json_object_unref (srv_expect (s, "slow"));
  srv_notify (s, "got-slow");
  srv_wait (s, "reply");
  srv_return (s, "{\"late\": true}");
  srv_expect_args (s, "next", NULL);
  srv_return (s, "{\"next\": true}");
  srv_wait_eof (s);
}

static void
test_cancel (void)
{
  Server *s = server_new (script_cancel, NULL);
  Recorder rec;
  QlQmp *qmp = client_connect (s, &rec);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  Result slow = { 0 }, early = { 0 };

  ql_qmp_execute_async (qmp, "slow", NULL, cancellable, on_execute, &slow);
  main_wait (s, "got-slow");
  g_cancellable_cancel (cancellable);
  wait_result (&slow, "the cancelled command");
  g_assert_error (slow.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Already cancelled: nothing goes out. */
  g_cancellable_cancel (cancelled);
  ql_qmp_execute_async (qmp, "never-sent", NULL, cancelled, on_execute, &early);
  wait_result (&early, "a command with a cancelled cancellable");
  g_assert_error (early.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The late reply is swallowed; the connection goes on. */
  main_notify (s, "reply");
  ret = ql_qmp_execute (qmp, "next", NULL, NULL, &error);
  g_assert_no_error (error);
  assert_json (ret, "{\"next\": true}");
  g_assert_true (ql_qmp_is_connected (qmp));
  g_assert_cmpuint (rec.disconnected, ==, 0);

  ql_qmp_close (qmp);
  server_free (s);
  result_clear (&slow);
  result_clear (&early);
  recorder_clear (&rec, qmp);
  g_object_unref (qmp);
}

/* A cancellable outlives the commands it was given to (one cancellable
 * for a whole session is common): cancelling it later must not touch the
 * finished commands. */
static void
script_two_pings (Server *s)
{
  srv_handshake (s);
  srv_expect_args (s, "ping", NULL);
  srv_return (s, "{}");
  srv_expect_args (s, "ping", NULL);
  srv_return (s, "{}");
  srv_wait_eof (s);
}

static void
test_cancel_after_reply (void)
{
  Server *s;
  QlQmp *qmp;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  Result r = { 0 };

  if (!isolated ())
    return;
  s = server_new (script_two_pings, NULL);
  qmp = client_connect (s, NULL);
  cancellable = g_cancellable_new ();
  ql_qmp_execute_async (qmp, "ping", NULL, cancellable, on_execute, &r);
  wait_result (&r, "ping");
  g_assert_no_error (r.error);
  ret = ql_qmp_execute (qmp, "ping", NULL, cancellable, &error);
  g_assert_no_error (error);
  drain ();
  g_cancellable_cancel (cancellable);
  drain ();
  g_assert_true (ql_qmp_is_connected (qmp));
  ql_qmp_close (qmp);
  server_free (s);
  result_clear (&r);
  g_object_unref (qmp);
}

/* ---- getfd: a descriptor over SCM_RIGHTS -------------------------------- */

typedef struct
{
  dev_t dev;
  ino_t ino;
} FileId;

static void
script_getfd (Server *s)
{
  const FileId *want = s->data;
  struct stat st;
  int fd;

  srv_handshake (s);
  srv_expect_args (s, "getfd", "{\"fdname\": \"fd0\"}");
  g_assert_cmpuint (s->fds->len, ==, 1);
  fd = g_array_index (s->fds, int, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  g_assert_cmpuint (st.st_dev, ==, want->dev);
  g_assert_cmpuint (st.st_ino, ==, want->ino);
  srv_return (s, "{}");
  /* The async form, and a command without a descriptor after it. */
  srv_expect_args (s, "getfd", "{\"fdname\": \"fd1\"}");
  g_assert_cmpuint (s->fds->len, ==, 2);
  g_assert_cmpint (fstat (g_array_index (s->fds, int, 1), &st), ==, 0);
  g_assert_cmpuint (st.st_ino, ==, want->ino);
  srv_return (s, "{}");
  srv_expect_args (s, "closefd", "{\"fdname\": \"fd0\"}");
  g_assert_cmpuint (s->fds->len, ==, 2);
  srv_return (s, "{}");
  srv_wait_eof (s);
}

static void
test_getfd (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *file = g_build_filename (dir, "passed", NULL);
  g_autoptr(GError) error = NULL;
  FileId id;
  struct stat st;
  Server *s;
  QlQmp *qmp;
  Result r = { 0 };
  int fd, closed_fd;

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  fd = open (file, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  id.dev = st.st_dev;
  id.ino = st.st_ino;

  s = server_new (script_getfd, &id);
  qmp = client_connect (s, NULL);
  g_assert_true (ql_qmp_getfd (qmp, fd, "fd0", NULL, &error));
  g_assert_no_error (error);
  ql_qmp_getfd_async (qmp, fd, "fd1", NULL, on_execute, &r);
  wait_result (&r, "getfd");
  g_assert_no_error (r.error);
  g_assert_true (ql_qmp_closefd (qmp, "fd0", NULL, &error));
  g_assert_no_error (error);
  /* The caller's descriptor stays open and the caller's. */
  g_assert_cmpint (fcntl (fd, F_GETFD), >=, 0);

  /* A descriptor that is not open fails without reaching the server. */
  closed_fd = dup (fd);
  close (closed_fd);
  g_assert_false (ql_qmp_getfd (qmp, closed_fd, "bad", NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  g_assert_true (ql_qmp_is_connected (qmp));

  ql_qmp_close (qmp);
  server_free (s);
  close (fd);
  result_clear (&r);
  g_object_unref (qmp);
  ql_test_rm_rf (dir);
}

/* ---- sync wrappers and their async twins -------------------------------- */

static void
script_sync (Server *s)
{
  srv_handshake (s);
  srv_expect_args (s, "query-name", NULL);
  srv_return (s, "{\"name\": \"vm0\"}");
  srv_expect_args (s, "qom-list", "{\"path\": \"/machine\"}");
  srv_return (s, "[]");
  srv_expect_args (s, "query-status", NULL);
  srv_return (s, "{\"status\": \"running\", \"singlestep\": false, \"running\": true}");
  srv_expect_args (s, "query-status", NULL);
  srv_return (s, "{\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}");
  srv_expect_args (s, "query-status", NULL);
  srv_return (s, "{\"status\": 3}");
  srv_wait_eof (s);
}

static void
on_query_status (GObject      *source,
                 GAsyncResult *res,
                 gpointer      data)
{
  Result *r = data;
  g_autofree char *status = NULL;
  gboolean running = TRUE;

  r->ok = ql_qmp_query_status_finish (QL_QMP (source), res, &status, &running, &r->error);
  if (r->ok)
    r->ret = json_node_init_string (json_node_alloc (), running ? "running=1" : status);
  result_done (r);
}

static void
test_sync (void)
{
  Server *s = server_new (script_sync, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;
  gboolean running = FALSE;
  Result r = { 0 };

  ret = ql_qmp_execute (qmp, "query-name", NULL, NULL, &error);
  g_assert_no_error (error);
  assert_json (ret, "{\"name\": \"vm0\"}");
  json_node_unref (g_steal_pointer (&ret));

  json_object_set_string_member (args, "path", "/machine");
  ql_qmp_execute_async (qmp, "qom-list", args, NULL, on_execute, &r);
  wait_result (&r, "qom-list");
  g_assert_no_error (r.error);
  assert_json (r.ret, "[]");
  result_clear (&r);

  g_assert_true (ql_qmp_query_status (qmp, &status, &running, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (status, ==, "running");
  g_assert_true (running);

  ql_qmp_query_status_async (qmp, NULL, on_query_status, &r);
  wait_result (&r, "query-status");
  g_assert_no_error (r.error);
  g_assert_cmpstr (json_node_get_string (r.ret), ==, "prelaunch");
  result_clear (&r);

  /* A reply of the wrong shape. */
  g_clear_pointer (&status, g_free);
  g_assert_false (ql_qmp_query_status (qmp, &status, &running, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
  g_assert_null (status);

  ql_qmp_close (qmp);
  server_free (s);
  g_object_unref (qmp);
}

/* ---- the typed helpers, on the wire ------------------------------------- */

typedef struct
{
  const char *command;
  const char *args;     /* NULL: none */
  const char *ret;
} Exchange;

static const Exchange wire[] = {
  { "stop", NULL, "{}" },
  { "cont", NULL, "{}" },
  { "system_powerdown", NULL, "{}" },
  { "device_add", "{\"driver\": \"virtio-net-pci\", \"id\": \"n0\", \"netdev\": \"h0\", \"addr\": \"0x5\"}", "{}" },
  { "netdev_add", "{\"type\": \"tap\", \"id\": \"h0\", \"fd\": \"tapfd\", \"vhost\": true}", "{}" },
  { "netdev_del", "{\"id\": \"h0\"}", "{}" },
  { "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": \"nul0\", \"size\": 1048576}", "{}" },
  { "blockdev-del", "{\"node-name\": \"nul0\"}", "{}" },
  { "chardev-add", "{\"id\": \"c0\", \"backend\": {\"type\": \"null\", \"data\": {}}}", "{}" },
  { "chardev-remove", "{\"id\": \"c0\"}", "{}" },
  { "object-add", "{\"qom-type\": \"memory-backend-ram\", \"id\": \"m0\", \"size\": 67108864}", "{}" },
  { "object-del", "{\"id\": \"m0\"}", "{}" },
  { "query-hotpluggable-cpus", NULL, "[{\"type\": \"qemu64-x86_64-cpu\", \"vcpus-count\": 1, \"props\": {\"socket-id\": 1, \"core-id\": 0, \"thread-id\": 0}}]" },
  { "device_add", "{\"driver\": \"qemu64-x86_64-cpu\", \"id\": \"cpu1\", \"socket-id\": 1, \"core-id\": 0, \"thread-id\": 0}", "{}" },
  { "query-memory-devices", NULL, "[]" },
  { "migrate-set-capabilities", "{\"capabilities\": [{\"capability\": \"x-ignore-shared\", \"state\": true}, "
                                "{\"capability\": \"events\", \"state\": true}, {\"capability\": \"zero-blocks\", \"state\": false}]}", "{}" },
  { "migrate-set-parameters", "{\"max-bandwidth\": 1000000, \"downtime-limit\": 300}", "{}" },
  { "migrate", "{\"uri\": \"exec:cat > /x\"}", "{}" },
  { "migrate-incoming", "{\"uri\": \"exec:cat /x\"}", "{}" },
  { "query-migrate", NULL, "{\"status\": \"active\"}" },
  { "qom-get", "{\"path\": \"/machine/peripheral/n0\", \"property\": \"mac\"}", "\"52:54:00:12:34:56\"" },
  { "closefd", "{\"fdname\": \"f0\"}", "{}" },
  { "quit", NULL, "{}" },
  /* async forms */
  { "device_add", "{\"driver\": \"e1000\", \"id\": \"n1\"}", "{}" },
  { "object-del", "{\"id\": \"m1\"}", "{}" },
  { "query-hotpluggable-cpus", NULL, "[]" },
  { "migrate", "{\"uri\": \"unix:/x.sock\"}", "{}" },
  { "hotplug-cpu-async", NULL, NULL },
};

static void
script_wire (Server *s)
{
  srv_handshake (s);
  for (gsize i = 0; i < G_N_ELEMENTS (wire); i++)
    {
      if (wire[i].ret == NULL)
        {
          srv_expect_args (s, "device_add", "{\"driver\": \"host-x86_64-cpu\", \"id\": \"c2\", \"socket-id\": 0, \"die-id\": 1, \"core-id\": 2, \"thread-id\": 3}");
          srv_return (s, "{}");
          continue;
        }
      srv_expect_args (s, wire[i].command, wire[i].args);
      srv_return (s, wire[i].ret);
    }
  srv_wait_eof (s);
}

static void
test_wire (void)
{
  Server *s = server_new (script_wire, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  g_autoptr(JsonObject) props = json_object_new ();
  g_autoptr(JsonObject) netdev = json_object_new ();
  g_autoptr(JsonObject) block = json_object_new ();
  g_autoptr(JsonObject) backend = json_object_new ();
  g_autoptr(JsonObject) params = json_object_new ();
  g_autoptr(JsonObject) memory = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  const char *enable[] = { "x-ignore-shared", "events", NULL };
  const char *disable[] = { "zero-blocks", NULL };
  Result r[5] = { { 0 } };

  g_assert_true (ql_qmp_stop (qmp, NULL, &error));
  g_assert_true (ql_qmp_cont (qmp, NULL, &error));
  g_assert_true (ql_qmp_system_powerdown (qmp, NULL, &error));
  json_object_set_string_member (props, "netdev", "h0");
  json_object_set_string_member (props, "addr", "0x5");
  g_assert_true (ql_qmp_device_add (qmp, "virtio-net-pci", "n0", props, NULL, &error));
  /* The caller's properties are not changed. */
  g_assert_cmpuint (json_object_get_size (props), ==, 2);
  json_object_set_string_member (netdev, "fd", "tapfd");
  json_object_set_boolean_member (netdev, "vhost", TRUE);
  g_assert_true (ql_qmp_netdev_add (qmp, "tap", "h0", netdev, NULL, &error));
  g_assert_true (ql_qmp_netdev_del (qmp, "h0", NULL, &error));
  json_object_set_string_member (block, "driver", "null-co");
  json_object_set_string_member (block, "node-name", "nul0");
  json_object_set_int_member (block, "size", 1048576);
  g_assert_true (ql_qmp_blockdev_add (qmp, block, NULL, &error));
  g_assert_true (ql_qmp_blockdev_del (qmp, "nul0", NULL, &error));
  json_object_set_string_member (backend, "type", "null");
  json_object_set_object_member (backend, "data", json_object_new ());
  g_assert_true (ql_qmp_chardev_add (qmp, "c0", backend, NULL, &error));
  g_assert_true (ql_qmp_chardev_remove (qmp, "c0", NULL, &error));
  json_object_set_int_member (memory, "size", 64 * 1024 * 1024);
  g_assert_true (ql_qmp_object_add (qmp, "memory-backend-ram", "m0", memory, NULL, &error));
  g_assert_true (ql_qmp_object_del (qmp, "m0", NULL, &error));
  ret = ql_qmp_query_hotpluggable_cpus (qmp, NULL, &error);
  g_assert_nonnull (ret);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (ret)), ==, 1);
  json_node_unref (g_steal_pointer (&ret));
  g_assert_true (ql_qmp_hotplug_cpu (qmp, "qemu64-x86_64-cpu", "cpu1", 1, -1, 0, 0, NULL, &error));
  ret = ql_qmp_query_memory_devices (qmp, NULL, &error);
  assert_json (ret, "[]");
  json_node_unref (g_steal_pointer (&ret));
  g_assert_true (ql_qmp_migrate_set_capabilities (qmp, enable, disable, NULL, &error));
  json_object_set_int_member (params, "max-bandwidth", 1000000);
  json_object_set_int_member (params, "downtime-limit", 300);
  g_assert_true (ql_qmp_migrate_set_parameters (qmp, params, NULL, &error));
  g_assert_true (ql_qmp_migrate (qmp, "exec:cat > /x", NULL, &error));
  g_assert_true (ql_qmp_migrate_incoming (qmp, "exec:cat /x", NULL, &error));
  ret = ql_qmp_query_migrate (qmp, NULL, &error);
  assert_json (ret, "{\"status\": \"active\"}");
  json_node_unref (g_steal_pointer (&ret));
  ret = ql_qmp_qom_get (qmp, "/machine/peripheral/n0", "mac", NULL, &error);
  assert_json (ret, "\"52:54:00:12:34:56\"");
  json_node_unref (g_steal_pointer (&ret));
  g_assert_true (ql_qmp_closefd (qmp, "f0", NULL, &error));
  g_assert_true (ql_qmp_quit (qmp, NULL, &error));
  g_assert_no_error (error);

  ql_qmp_device_add_async (qmp, "e1000", "n1", NULL, NULL, on_execute, &r[0]);
  ql_qmp_object_del_async (qmp, "m1", NULL, on_execute, &r[1]);
  ql_qmp_query_hotpluggable_cpus_async (qmp, NULL, on_execute, &r[2]);
  ql_qmp_migrate_async (qmp, "unix:/x.sock", NULL, on_execute, &r[3]);
  ql_qmp_hotplug_cpu_async (qmp, "host-x86_64-cpu", "c2", 0, 1, 2, 3, NULL, on_execute, &r[4]);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    {
      wait_result (&r[i], "an async helper");
      g_assert_no_error (r[i].error);
    }
  assert_json (r[2].ret, "[]");

  ql_qmp_close (qmp);
  server_free (s);
  for (guint i = 0; i < G_N_ELEMENTS (r); i++)
    result_clear (&r[i]);
  g_object_unref (qmp);
}

/* ---- the memory balloon ------------------------------------------------- */

static void
script_balloon (Server *s)
{
  srv_handshake (s);
  srv_expect_args (s, "balloon", "{\"value\": 134217728}");
  srv_return (s, "{}");
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "{\"actual\": 268435456}");
  /* async forms; the largest target QMP can carry */
  srv_expect_args (s, "balloon", "{\"value\": 9223372036854775807}");
  srv_return (s, "{}");
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "{\"actual\": 134217728}");
  /* QEMU without a balloon device */
  srv_expect_args (s, "balloon", "{\"value\": 1}");
  srv_error (s, s->last_id, "DeviceNotActive", "No balloon device has been activated");
  srv_expect_args (s, "query-balloon", NULL);
  srv_error (s, s->last_id, "DeviceNotActive", "No balloon device has been activated");
  /* replies of the wrong shape */
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "{\"actual\": -1}");
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "{\"actual\": \"256M\"}");
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "{\"actual\": 1.5e8}");
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "{}");
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "[]");
  /* still connected */
  srv_expect_args (s, "query-balloon", NULL);
  srv_return (s, "{\"actual\": 0}");
  srv_wait_eof (s);
}

static void
on_query_balloon (GObject      *source,
                  GAsyncResult *res,
                  gpointer      data)
{
  Result *r = data;
  guint64 actual = 0;

  r->ok = ql_qmp_query_balloon_finish (QL_QMP (source), res, &actual, &r->error);
  if (r->ok)
    r->ret = json_node_init_int (json_node_alloc (), (gint64) actual);
  result_done (r);
}

static void
test_balloon (void)
{
  Server *s = server_new (script_balloon, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  g_autoptr(GError) error = NULL;
  Result r = { 0 };
  guint64 actual = 0;

  g_assert_true (ql_qmp_balloon (qmp, 128 * 1024 * 1024, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_query_balloon (qmp, &actual, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (actual, ==, 256 * 1024 * 1024);

  ql_qmp_balloon_async (qmp, G_MAXINT64, NULL, on_execute, &r);
  wait_result (&r, "balloon");
  g_assert_no_error (r.error);
  assert_json (r.ret, "{}");
  result_clear (&r);
  ql_qmp_query_balloon_async (qmp, NULL, on_query_balloon, &r);
  wait_result (&r, "query-balloon");
  g_assert_no_error (r.error);
  g_assert_cmpint (json_node_get_int (r.ret), ==, 128 * 1024 * 1024);
  result_clear (&r);

  /* Targets QMP cannot carry or QEMU refuses never reach the server (the
   * script would see them), in both forms. */
  g_assert_false (ql_qmp_balloon (qmp, 0, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==,
                   "balloon: the target size '0' is not valid: expected 1 to 9223372036854775807 bytes");
  g_clear_error (&error);
  g_assert_false (ql_qmp_balloon (qmp, (guint64) G_MAXINT64 + 1, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==,
                   "balloon: the target size '9223372036854775808' is not valid: expected 1 to 9223372036854775807 bytes");
  g_clear_error (&error);
  ql_qmp_balloon_async (qmp, 0, NULL, on_execute, &r);
  wait_result (&r, "balloon 0");
  g_assert_error (r.error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  result_clear (&r);
  ql_qmp_balloon_async (qmp, G_MAXUINT64, NULL, on_execute, &r);
  wait_result (&r, "balloon 2^64-1");
  g_assert_error (r.error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  result_clear (&r);

  /* QEMU's refusals keep their class. */
  g_assert_false (ql_qmp_balloon (qmp, 1, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_ACTIVE);
  g_assert_cmpstr (error->message, ==, "balloon: No balloon device has been activated");
  g_clear_error (&error);
  actual = 7;
  g_assert_false (ql_qmp_query_balloon (qmp, &actual, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_ACTIVE);
  g_assert_cmpstr (error->message, ==, "query-balloon: No balloon device has been activated");
  g_assert_cmpuint (actual, ==, 7);
  g_clear_error (&error);

  /* Malformed replies: a negative, a string, a float, none, not an object. */
  for (guint i = 0; i < 5; i++)
    {
      if (i % 2 == 0)
        {
          g_assert_false (ql_qmp_query_balloon (qmp, &actual, NULL, &error));
          g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
          g_assert_cmpstr (error->message, ==, "query-balloon: the reply lacks \"actual\" (a size in bytes)");
          g_clear_error (&error);
        }
      else
        {
          ql_qmp_query_balloon_async (qmp, NULL, on_query_balloon, &r);
          wait_result (&r, "query-balloon");
          g_assert_error (r.error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
          result_clear (&r);
        }
      g_assert_cmpuint (actual, ==, 7);
    }
  g_assert_true (ql_qmp_is_connected (qmp));
  g_assert_true (ql_qmp_query_balloon (qmp, NULL, NULL, &error));
  g_assert_no_error (error);

  ql_qmp_close (qmp);
  server_free (s);
  g_object_unref (qmp);
}

/* ---- device_del waits for DEVICE_DELETED -------------------------------- */

static void
script_device_del (Server *s)
{
  srv_handshake (s);
  /* reply, another device's event, then ours */
  srv_expect_args (s, "device_del", "{\"id\": \"d0\"}");
  srv_return (s, "{}");
  srv_event (s, "DEVICE_DELETED", "{\"device\": \"other\", \"path\": \"/machine/peripheral/other\"}");
  srv_wait (s, "event");
  srv_event (s, "DEVICE_DELETED", "{\"device\": \"d0\", \"path\": \"/machine/peripheral/d0\"}");
  /* the event before the reply */
  srv_expect_args (s, "device_del", "{\"id\": \"d1\"}");
  srv_event (s, "DEVICE_DELETED", "{\"device\": \"d1\", \"path\": \"/machine/peripheral/d1\"}");
  srv_return (s, "{}");
  /* refused */
  srv_expect_args (s, "device_del", "{\"id\": \"d2\"}");
  srv_error (s, s->last_id, "DeviceNotFound", "Device 'd2' not found");
  /* the guest never lets go */
  srv_expect_args (s, "device_del", "{\"id\": \"d3\"}");
  srv_return (s, "{}");
  /* the event arrives after a refusal: nobody waits for it any more */
  srv_event (s, "DEVICE_DELETED", "{\"device\": \"d2\", \"path\": \"/machine/peripheral/d2\"}");
  srv_expect_args (s, "sync", NULL);
  srv_return (s, "{}");
  srv_wait_eof (s);
}

static void
on_device_del (GObject      *source,
               GAsyncResult *res,
               gpointer      data)
{
  Result *r = data;

  r->ok = ql_qmp_device_del_finish (QL_QMP (source), res, &r->error);
  result_done (r);
}

static void
test_device_del (void)
{
  Server *s = server_new (script_device_del, NULL);
  Recorder rec;
  QlQmp *qmp = client_connect (s, &rec);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  Result r = { 0 };
  gint64 start;

  ql_qmp_device_del_async (qmp, "d0", 5000, NULL, on_device_del, &r);
  /* Not done before its own event. */
  ql_test_wait_until (NULL, ql_test_flag_set, &rec.events->len, WAIT_MS,
                      "the other device's event");
  g_assert_false (r.done);
  main_notify (s, "event");
  wait_result (&r, "device_del d0");
  g_assert_no_error (r.error);
  g_assert_true (r.ok);

  g_assert_true (ql_qmp_device_del (qmp, "d1", 5000, NULL, &error));
  g_assert_no_error (error);

  g_assert_false (ql_qmp_device_del (qmp, "d2", 5000, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND);
  g_clear_error (&error);

  start = g_get_monotonic_time ();
  g_assert_false (ql_qmp_device_del (qmp, "d3", 150, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 145);
  g_clear_error (&error);

  ret = ql_qmp_execute (qmp, "sync", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qmp_is_connected (qmp));
  g_assert_cmpuint (rec.disconnected, ==, 0);
  ql_qmp_close (qmp);
  server_free (s);
  result_clear (&r);
  recorder_clear (&rec, qmp);
  g_object_unref (qmp);
}

/* ---- memory hotplug: backend + pc-dimm, rolled back on failure ---------- */

static void
script_memory (Server *s)
{
  srv_handshake (s);
  srv_expect_args (s, "object-add", "{\"qom-type\": \"memory-backend-file\", \"id\": \"memh1\", "
                                    "\"size\": 134217728, \"mem-path\": \"/dev/shm/x\", \"share\": true}");
  srv_return (s, "{}");
  srv_expect_args (s, "device_add", "{\"driver\": \"pc-dimm\", \"id\": \"dimmh1\", \"memdev\": \"memh1\"}");
  srv_return (s, "{}");

  srv_expect_args (s, "object-add", "{\"qom-type\": \"memory-backend-ram\", \"id\": \"memh2\", \"size\": 134217728}");
  srv_return (s, "{}");
  srv_expect_args (s, "device_add", "{\"driver\": \"pc-dimm\", \"id\": \"dimmh2\", \"memdev\": \"memh2\"}");
  srv_error (s, s->last_id, "GenericError", "no free slots");
  srv_expect_args (s, "object-del", "{\"id\": \"memh2\"}");
  srv_return (s, "{}");

  srv_expect_args (s, "object-add", "{\"qom-type\": \"memory-backend-ram\", \"id\": \"memh3\", \"size\": 134217728}");
  srv_error (s, s->last_id, "GenericError", "cannot allocate");
  srv_wait_eof (s);
}

static void
test_hotplug_memory (void)
{
  Server *s = server_new (script_memory, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  g_autoptr(GError) error = NULL;
  const guint64 size = 128 * 1024 * 1024;

  g_assert_true (ql_qmp_hotplug_memory (qmp, "memory-backend-file", "h1", "/dev/shm/x", size, TRUE,
                                        NULL, &error));
  g_assert_no_error (error);

  g_assert_false (ql_qmp_hotplug_memory (qmp, "memory-backend-ram", "h2", NULL, size, FALSE, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
  g_assert_nonnull (strstr (error->message, "no free slots"));
  g_clear_error (&error);

  g_assert_false (ql_qmp_hotplug_memory (qmp, "memory-backend-ram", "h3", NULL, size, FALSE, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
  g_assert_nonnull (strstr (error->message, "cannot allocate"));
  g_clear_error (&error);

  /* Nothing to send for a zero size. */
  g_assert_false (ql_qmp_hotplug_memory (qmp, "memory-backend-ram", "h4", NULL, 0, FALSE, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);

  g_assert_true (ql_qmp_is_connected (qmp));
  ql_qmp_close (qmp);
  server_free (s);
  g_object_unref (qmp);
}

/* ---- waiting for a migration -------------------------------------------- */

static void migration_active_until_end (Server *s);

static void
script_migration (Server *s)
{
  srv_handshake (s);
  srv_expect_args (s, "query-migrate", NULL);
  srv_return (s, "{}");
  srv_expect_args (s, "query-migrate", NULL);
  srv_return (s, "{\"status\": \"setup\"}");
  srv_expect_args (s, "query-migrate", NULL);
  srv_return (s, "{\"status\": \"active\"}");
  srv_expect_args (s, "query-migrate", NULL);
  srv_return (s, "{\"status\": \"completed\", \"total-time\": 5}");
  /* Completed, but the run state has not left finish-migrate yet: the wait
   * goes on until it has. */
  srv_expect_args (s, "query-status", NULL);
  srv_return (s, "{\"status\": \"finish-migrate\", \"running\": false}");
  srv_expect_args (s, "query-migrate", NULL);
  srv_return (s, "{\"status\": \"completed\", \"total-time\": 5}");
  srv_expect_args (s, "query-status", NULL);
  srv_return (s, "{\"status\": \"postmigrate\", \"running\": false}");

  srv_expect_args (s, "query-migrate", NULL);
  srv_return (s, "{\"status\": \"failed\", \"error-desc\": \"boom\"}");

  migration_active_until_end (s);
}

/* Answers query-migrate with "active" until the test sends "end". */
static void
migration_active_until_end (Server *s)
{
  for (;;)
    {
      g_autofree char *line = srv_read_line (s);
      g_autoptr(JsonNode) node = NULL;
      JsonObject *message;
      const char *command;

      g_assert_nonnull (line);
      node = ql_test_parse_json (line);
      message = json_node_get_object (node);
      command = json_object_get_string_member (message, "execute");
      g_free (s->last_id);
      s->last_id = g_strdup (json_object_get_string_member (message, "id"));
      if (strcmp (command, "end") == 0)
        {
          srv_return (s, "{}");
          break;
        }
      g_assert_cmpstr (command, ==, "query-migrate");
      srv_return (s, "{\"status\": \"active\"}");
    }
  srv_wait_eof (s);
}

static void
on_wait_migration (GObject      *source,
                   GAsyncResult *res,
                   gpointer      data)
{
  Result *r = data;

  r->ok = ql_qmp_wait_migration_finish (QL_QMP (source), res, &r->error);
  result_done (r);
}

static void
test_wait_migration (void)
{
  Server *s = server_new (script_migration, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_assert_true (ql_qmp_wait_migration (qmp, 5000, NULL, &error));
  g_assert_no_error (error);

  g_assert_false (ql_qmp_wait_migration (qmp, 5000, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "boom"));
  g_clear_error (&error);

  start = g_get_monotonic_time ();
  g_assert_false (ql_qmp_wait_migration (qmp, 150, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 145);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, <, 1500);
  g_clear_error (&error);

  ret = ql_qmp_execute (qmp, "end", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qmp_is_connected (qmp));
  ql_qmp_close (qmp);
  server_free (s);
  g_object_unref (qmp);
}

static void
script_migration_forever (Server *s)
{
  srv_handshake (s);
  migration_active_until_end (s);
}

/* Cancelling a wait that has polled a few times. */
static void
test_wait_migration_cancel (void)
{
  Server *s;
  QlQmp *qmp;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  Result r = { 0 };

  if (!isolated ())
    return;
  s = server_new (script_migration_forever, NULL);
  qmp = client_connect (s, NULL);
  cancellable = g_cancellable_new ();
  ql_qmp_wait_migration_async (qmp, 0, cancellable, on_wait_migration, &r);
  g_timeout_add (100, cancel_later, cancellable);
  wait_result (&r, "a cancelled migration wait");
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  drain ();
  ret = ql_qmp_execute (qmp, "end", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qmp_is_connected (qmp));
  ql_qmp_close (qmp);
  server_free (s);
  result_clear (&r);
  g_object_unref (qmp);
}

/* ---- output backpressure ------------------------------------------------ */

#define BIG_ARG (4 * 1024 * 1024)

static void
script_big (Server *s)
{
  g_autoptr(JsonObject) message = NULL;
  JsonObject *args;

  srv_handshake (s);
  message = srv_expect (s, "big");
  args = json_object_get_object_member (message, "arguments");
  g_assert_cmpuint (strlen (json_object_get_string_member (args, "blob")), ==, BIG_ARG);
  srv_return (s, "{}");
  srv_expect_args (s, "small", NULL);
  srv_return (s, "{}");
  srv_wait_eof (s);
}

static JsonObject *
big_args_sized (gsize size)
{
  JsonObject *args = json_object_new ();
  char *blob = g_malloc (size + 1);

  memset (blob, 'b', size);
  blob[size] = '\0';
  json_object_set_string_member (args, "blob", blob);
  g_free (blob);
  return args;
}

static JsonObject *
big_args (void)
{
  return big_args_sized (BIG_ARG);
}

static void
test_backpressure (void)
{
  Server *s = server_new (script_big, NULL);
  QlQmp *qmp = client_connect (s, NULL);
  g_autoptr(JsonObject) args = big_args ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  Result big = { 0 }, small = { 0 };

  ql_qmp_execute_async (qmp, "big", args, NULL, on_execute, &big);
  ql_qmp_execute_async (qmp, "small", NULL, NULL, on_execute, &small);
  wait_result (&big, "the big command");
  wait_result (&small, "the small command after it");
  g_assert_no_error (big.error);
  g_assert_no_error (small.error);
  g_assert_cmpuint (big.order, <, small.order);
  ql_qmp_close (qmp);
  server_free (s);
  result_clear (&big);
  result_clear (&small);
  g_object_unref (qmp);
}

/* The client is dropped while a big command is half written: its
 * command was cancelled, so nothing holds the client any more. */
static void
script_stall (Server *s)
{
  gsize got = 0;

  srv_handshake (s);
  while (got < 1024 * 1024)
    {
      gssize n = srv_fill (s);

      g_assert_cmpint (n, >, 0);
      got += n;
      g_byte_array_set_size (s->in, 0);
    }
  srv_notify (s, "stalled");
  srv_wait (s, "dropped");
  srv_wait_eof (s);
}

static void
test_backpressure_drop (void)
{
  Server *s;
  QlQmp *qmp;
  g_autoptr(JsonObject) args = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  Result big = { 0 };
  GWeakRef weak;

  if (!isolated ())
    return;
  s = server_new (script_stall, NULL);
  qmp = client_connect (s, NULL);
  args = big_args ();
  cancellable = g_cancellable_new ();
  g_weak_ref_init (&weak, qmp);
  ql_qmp_execute_async (qmp, "big", args, cancellable, on_execute, &big);
  main_wait (s, "stalled");
  g_cancellable_cancel (cancellable);
  wait_result (&big, "the cancelled big command");
  g_assert_error (big.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* The last reference: dispose closes the connection. */
  g_object_unref (qmp);
  g_assert_null (g_weak_ref_get (&weak));
  /* Whatever the client left on the context must not touch it now. */
  drain ();
  main_notify (s, "dropped");
  server_free (s);
  drain ();
  g_weak_ref_clear (&weak);
  result_clear (&big);
}

/* ---- reentrancy --------------------------------------------------------- */

/* An event waiter's callback closes the client while another waiter is
 * registered. */
typedef struct
{
  QlQmp *qmp;
  Result first;
  Result second;
} CloseInCallback;

static void
on_shutdown_close (GObject      *source,
                   GAsyncResult *res,
                   gpointer      data)
{
  CloseInCallback *c = data;

  on_wait_event (source, res, &c->first);
  ql_qmp_close (c->qmp);
}

static void
script_shutdown_event (Server *s)
{
  static const char both[] =
    "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n"
    "{\"event\": \"STOP\"}\r\n";

  srv_handshake (s);
  srv_wait (s, "go");
  /* One write: the client closes as soon as it has read the first. */
  (void) srv_send (s, both, strlen (both));
  srv_wait_eof (s);
}

static void
test_close_in_waiter (void)
{
  Server *s;
  Recorder rec;
  CloseInCallback c = { 0 };

  if (!isolated ())
    return;
  s = server_new (script_shutdown_event, NULL);
  c.qmp = client_connect (s, &rec);
  ql_qmp_wait_event_async (c.qmp, "SHUTDOWN", NULL, NULL, 0, NULL, on_shutdown_close, &c);
  ql_qmp_wait_event_async (c.qmp, "STOP", NULL, NULL, 0, NULL, on_wait_event, &c.second);
  main_notify (s, "go");
  wait_result (&c.first, "the SHUTDOWN wait");
  wait_result (&c.second, "the other wait");
  g_assert_no_error (c.first.error);
  g_assert_cmpstr (json_object_get_string_member (c.first.event, "reason"), ==, "host-qmp-quit");
  g_assert_error (c.second.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  server_free (s);
  drain ();
  g_assert_cmpuint (rec.disconnected, ==, 1);
  result_clear (&c.first);
  result_clear (&c.second);
  recorder_clear (&rec, c.qmp);
  g_object_unref (c.qmp);
}

/* A synchronous call from an event handler: the handler runs while the
 * client reads, and the call needs the client to read again. */
typedef struct
{
  gboolean done;
  gboolean ok;
  char *status;
  GError *error;
} SyncInHandler;

static void
on_stop_query (QlQmp         *qmp,
               const char    *name,
               JsonObject    *data,
               SyncInHandler *h)
{
  gboolean running = TRUE;

  h->ok = ql_qmp_query_status (qmp, &h->status, &running, NULL, &h->error);
  h->done = TRUE;
}

static void
script_stop_then_status (Server *s)
{
  srv_handshake (s);
  srv_wait (s, "go");
  srv_event (s, "STOP", NULL);
  srv_expect_args (s, "query-status", NULL);
  srv_return (s, "{\"status\": \"paused\", \"singlestep\": false, \"running\": false}");
  srv_wait_eof (s);
}

static void
test_sync_in_handler (void)
{
  Server *s;
  QlQmp *qmp;
  SyncInHandler h = { 0 };

  if (!isolated ())
    return;
  s = server_new (script_stop_then_status, NULL);
  qmp = client_connect (s, NULL);
  g_signal_connect (qmp, "event::STOP", G_CALLBACK (on_stop_query), &h);
  main_notify (s, "go");
  wait_flag (&h.done, "query-status from the STOP handler");
  g_assert_no_error (h.error);
  g_assert_true (h.ok);
  g_assert_cmpstr (h.status, ==, "paused");
  ql_qmp_close (qmp);
  server_free (s);
  g_free (h.status);
  g_object_unref (qmp);
}

/* ---- the client's main context ------------------------------------------ */

static void
test_context (void)
{
  GMainContext *context = g_main_context_new ();
  Server *s;
  QlQmp *qmp;
  Result r = { 0 };

  drain ();
  g_main_context_push_thread_default (context);
  s = server_new (script_two_pings, NULL);
  qmp = client_connect (s, NULL);
  ql_qmp_execute_async (qmp, "ping", NULL, NULL, on_execute, &r);
  ql_test_wait_until (context, ql_test_flag_set, &r.done, WAIT_MS, "ping on the pushed context");
  g_assert_no_error (r.error);
  /* Nothing of the client's on the global default context. */
  g_assert_false (g_main_context_pending (NULL));
  result_clear (&r);
  ql_qmp_execute_async (qmp, "ping", NULL, NULL, on_execute, &r);
  g_main_context_pop_thread_default (context);
  /* From another thread-default: still the connect's context that runs it. */
  ql_test_wait_until (context, ql_test_flag_set, &r.done, WAIT_MS, "ping on the connect's context");
  g_assert_no_error (r.error);
  ql_qmp_close (qmp);
  server_free (s);
  g_main_context_push_thread_default (context);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_object_unref (qmp);
  g_main_context_unref (context);
  result_clear (&r);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char **args = g_new0 (char *, argc + 2);

  /* Keep going after a failure: each case reports on its own. */
  for (int i = 0; i < argc; i++)
    args[i] = argv[i];
  args[argc++] = (char *) "--keep-going";
  argv = args;
  g_test_init (&argc, &argv, NULL);
  /* Set before any thread runs; inherited by the subprocess that uses it. */
  if (g_getenv ("QL_TEST_QMP_SEED") == NULL)
    {
      g_autofree char *seed = g_strdup_printf ("%u", g_test_rand_int ());

      g_setenv ("QL_TEST_QMP_SEED", seed, TRUE);
    }

  g_test_add_func ("/qmp/handshake", test_handshake);
  g_test_add_func ("/qmp/connect/retry", test_connect_retry);
  g_test_add_func ("/qmp/connect/timeout", test_connect_timeout);
  g_test_add_func ("/qmp/connect/no-greeting", test_connect_no_greeting);
  g_test_add_func ("/qmp/connect/capabilities-rejected", test_connect_caps_rejected);
  g_test_add_func ("/qmp/connect/cancel", test_connect_cancel);
  g_test_add_func ("/qmp/error-reply", test_error_reply);
  g_test_add_func ("/qmp/events", test_events);
  for (gsize i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/qmp/hostile/%s", hostile_cases[i].name);

      g_test_add_data_func (path, &hostile_cases[i], test_hostile);
    }
  g_test_add_func ("/qmp/hostile/random", test_hostile_random);
  g_test_add_func ("/qmp/limit/under", test_limit_ok);
  g_test_add_func ("/qmp/peer-close", test_peer_close);
  g_test_add_func ("/qmp/close/pending", test_close_pending);
  g_test_add_func ("/qmp/close/unref", test_unref_closes);
  g_test_add_func ("/qmp/cancel/pending", test_cancel);
  g_test_add_func ("/qmp/cancel/after-reply", test_cancel_after_reply);
  g_test_add_func ("/qmp/getfd", test_getfd);
  g_test_add_func ("/qmp/sync", test_sync);
  g_test_add_func ("/qmp/helpers/wire", test_wire);
  g_test_add_func ("/qmp/helpers/balloon", test_balloon);
  g_test_add_func ("/qmp/helpers/device-del", test_device_del);
  g_test_add_func ("/qmp/helpers/hotplug-memory", test_hotplug_memory);
  g_test_add_func ("/qmp/helpers/wait-migration", test_wait_migration);
  g_test_add_func ("/qmp/helpers/wait-migration/cancel", test_wait_migration_cancel);
  g_test_add_func ("/qmp/backpressure/complete", test_backpressure);
  g_test_add_func ("/qmp/backpressure/drop", test_backpressure_drop);
  g_test_add_func ("/qmp/reentrancy/close-in-waiter", test_close_in_waiter);
  g_test_add_func ("/qmp/reentrancy/sync-in-handler", test_sync_in_handler);
  g_test_add_func ("/qmp/context", test_context);

  return g_test_run ();
}
