/* qlaunch tests — the security suite: what the README's "Security" section
 * promises, tried as an attacker would.
 *
 * The QMP commands of the CLI against a peer that does not behave: `qmp`,
 * `hotplug` and `unplug` bound every command's reply by --timeout, so a
 * peer that greets, accepts the handshake and then stays silent cannot hold
 * qlaunch (run as root, often by scripts) for ever.
 *
 * The peer is a thread of this test on a unix socket: it sends QEMU's
 * greeting, answers qmp_capabilities, then reads and never answers. Each
 * qlaunch is killed by the test after 30 s, so that a hang fails here
 * instead of timing the whole suite out. */
#include <qlaunch/qlaunch.h>

#include <string.h>

#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#include "ql-test-util.h"

#define HANG_LIMIT_S 30

typedef struct
{
  GSocketListener *listener;
  GCancellable *stop;
  GThread *thread;
  char *dir;
  char *path;
  guint answered;   /* commands answered: only the handshake */
  gboolean chatty;  /* an event in the handshake reply's write, then garbage */
  gboolean hostile; /* answers the first command with terminal escapes */
} SilentPeer;

static gboolean
read_line (GDataInputStream *in,
           GCancellable     *stop,
           char            **line)
{
  g_autoptr(GError) error = NULL;

  *line = g_data_input_stream_read_line_utf8 (in, NULL, stop, &error);
  return *line != NULL;
}

static gpointer
silent_peer_run (gpointer data)
{
  SilentPeer *p = data;

  for (;;)
    {
      g_autoptr(GSocketConnection) conn = NULL;
      g_autoptr(GDataInputStream) in = NULL;
      GOutputStream *out;
      char *line = NULL;
      static const char greeting[] =
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
        "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";
      static const char ok[] = "{\"return\": {}}\r\n";

      conn = g_socket_listener_accept (p->listener, NULL, p->stop, NULL);
      if (conn == NULL)
        return NULL;
      out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
      in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
      g_output_stream_write_all (out, greeting, strlen (greeting), NULL, p->stop, NULL);
      /* The handshake is answered; everything after it is read and
       * left unanswered until the client goes away. */
      if (read_line (in, p->stop, &line) && strstr (line, "qmp_capabilities") != NULL)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();
          g_autofree char *reply = NULL;
          JsonObject *request;

          g_assert_true (json_parser_load_from_data (parser, line, -1, NULL));
          request = json_node_get_object (json_parser_get_root (parser));
          /* The reply carries the request's id, as QEMU's does. */
          if (json_object_has_member (request, "id"))
            {
              g_autofree char *id = json_to_string (json_object_get_member (request, "id"), FALSE);

              reply = g_strdup_printf ("{\"return\": {}, \"id\": %s}\r\n", id);
            }
          else
            reply = g_strdup (ok);
          if (p->chatty)
            {
              /* One write: the reply, an event, then a line that is not
               * JSON (a protocol error). */
              char *more = g_strconcat (reply,
                                        "{\"event\": \"STOP\", \"data\": {}, \"timestamp\": "
                                        "{\"seconds\": 1, \"microseconds\": 2}}\r\n"
                                        "this is not JSON\r\n", NULL);

              g_free (reply);
              reply = more;
            }
          g_output_stream_write_all (out, reply, strlen (reply), NULL, p->stop, NULL);
          g_atomic_int_inc (&p->answered);
        }
      g_free (line);
      while (read_line (in, p->stop, &line))
        {
          if (p->hostile)
            {
              g_autoptr(JsonParser) parser = json_parser_new ();
              g_autofree char *id = NULL;
              g_autofree char *reply = NULL;

              g_assert_true (json_parser_load_from_data (parser, line, -1, NULL));
              id = json_to_string (json_object_get_member (json_node_get_object (json_parser_get_root (parser)),
                                                           "id"), FALSE);
              /* An OSC that retitles the terminal, a C1 CSI, an ESC [. */
              reply = g_strdup_printf ("{\"error\": {\"class\": \"GenericError\", \"desc\": "
                                       "\"\\u001b]0;owned\\u0007 \\u009b31m \\u001b[2J done\"}, "
                                       "\"id\": %s}\r\n", id);
              g_output_stream_write_all (out, reply, strlen (reply), NULL, p->stop, NULL);
            }
          g_free (line);
        }
    }
}

static SilentPeer *
silent_peer_start_with (gboolean chatty,
                        gboolean hostile)
{
  SilentPeer *p = g_new0 (SilentPeer, 1);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  p->dir = ql_test_make_tmpdir ();
  p->path = g_build_filename (p->dir, "qmp.sock", NULL);
  p->stop = g_cancellable_new ();
  p->listener = g_socket_listener_new ();
  address = g_unix_socket_address_new (p->path);
  g_socket_listener_add_address (p->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error);
  g_assert_no_error (error);
  p->chatty = chatty;
  p->hostile = hostile;
  p->thread = g_thread_new ("silent-qmp", silent_peer_run, p);
  return p;
}

static SilentPeer *
silent_peer_start_full (gboolean chatty)
{
  return silent_peer_start_with (chatty, FALSE);
}

static SilentPeer *
silent_peer_start (void)
{
  return silent_peer_start_full (FALSE);
}

static SilentPeer *
hostile_peer_start (void)
{
  return silent_peer_start_with (FALSE, TRUE);
}

static void
silent_peer_free (SilentPeer *p)
{
  g_cancellable_cancel (p->stop);
  g_thread_join (p->thread);
  g_socket_listener_close (p->listener);
  g_object_unref (p->listener);
  g_object_unref (p->stop);
  ql_test_rm_rf (p->dir);
  g_free (p->dir);
  g_free (p->path);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SilentPeer, silent_peer_free)

/* `qlaunch --plugin-dir BUILD ARGS...`; killed after HANG_LIMIT_S. */
static void
run_qlaunch (QlTestRun          *r,
             const char * const *args)
{
  ql_test_run_bounded (r, NULL, HANG_LIMIT_S, args);
}

static void
assert_timed_out (QlTestRun  *r,
                  const char *fragment)
{
  if (r->killed)
    g_error ("qlaunch was still waiting for the silent peer after %d s", HANG_LIMIT_S);
  g_assert_cmpint (r->status, ==, 1);
  if (strstr (r->err, fragment) == NULL)
    g_error ("'%s' not in: %s", fragment, r->err);
  g_assert_nonnull (strstr (r->err, "did not answer within 400 ms"));
  g_assert_null (strstr (r->err, "CRITICAL"));
  g_assert_cmpfloat (r->seconds, <, HANG_LIMIT_S);
  g_clear_pointer (&r->err, g_free);
  g_clear_pointer (&r->out, g_free);
}

/* `qmp SOCKET COMMAND`: the reply waits at most --timeout. */
static void
test_qmp_reply_deadline (void)
{
  g_autoptr(SilentPeer) p = silent_peer_start ();
  QlTestRun r = { 0 };
  const char *args[] = { "qmp", "--timeout", "400", p->path, "query-status", NULL };

  run_qlaunch (&r, args);
  assert_timed_out (&r, "qlaunch: qmp query-status:");
  g_assert_cmpuint (g_atomic_int_get (&p->answered), ==, 1);
}

/* `hotplug SOCKET -d SPEC`: the device's commands wait at most --timeout. */
static void
test_hotplug_reply_deadline (void)
{
  g_autoptr(SilentPeer) p = silent_peer_start ();
  QlTestRun r = { 0 };
  const char *args[] = { "hotplug", "--timeout", "400", p->path, "-d", "rng,id=rng9", NULL };

  run_qlaunch (&r, args);
  assert_timed_out (&r, "rng9");
}

/* `unplug SOCKET ID`: device_del's reply is bounded too. */
static void
test_unplug_reply_deadline (void)
{
  g_autoptr(SilentPeer) p = silent_peer_start ();
  QlTestRun r = { 0 };
  const char *args[] = { "unplug", "--timeout", "400", p->path, "dev0", NULL };

  run_qlaunch (&r, args);
  if (r.killed)
    g_error ("qlaunch unplug was still waiting for the silent peer after %d s", HANG_LIMIT_S);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "device 'dev0'"));
  g_assert_cmpfloat (r.seconds, <, 10.0);
  g_free (r.err);
  g_free (r.out);
}

/* `qmp --events`: the event that came with the handshake's reply is
 * printed, and a protocol error ends it with exit 1 (not 0, as the end of
 * QEMU's stream would). */
static void
test_events_protocol_error (void)
{
  g_autoptr(SilentPeer) p = silent_peer_start_full (TRUE);
  QlTestRun r = { 0 };
  const char *args[] = { "qmp", "--events", "--timeout", "2000", p->path, NULL };

  run_qlaunch (&r, args);
  if (r.killed)
    g_error ("qlaunch qmp --events did not end on a protocol error within %d s", HANG_LIMIT_S);
  g_assert_cmpstr (r.out, ==, "{\"event\":\"STOP\",\"data\":{},\"timestamp\":{\"seconds\":1,\"microseconds\":2}}\n");
  g_assert_cmpint (r.status, ==, 1);
  g_assert_null (strstr (r.err, "CRITICAL"));
  g_free (r.err);
  g_free (r.out);
}

/* QEMU's words reach the terminal inert: an error description holding an
 * OSC (retitles the terminal), a C1 CSI and ESC [2J (clears the screen) is
 * printed with those bytes escaped, never raw. */
static void
test_qmp_error_escaped (void)
{
  g_autoptr(SilentPeer) p = hostile_peer_start ();
  QlTestRun r = { 0 };
  const char *args[] = { "qmp", "--timeout", "5000", p->path, "query-status", NULL };

  run_qlaunch (&r, args);
  g_assert_false (r.killed);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_null (strchr (r.err, '\033'));
  g_assert_null (strchr (r.err, '\007'));
  g_assert_null (strstr (r.err, "\302\233"));
  g_assert_cmpstr (r.err, ==, "qlaunch: qmp query-status: GenericError: "
                   "\\x1B]0;owned\\x07 \\u009B31m \\x1B[2J done\n");
  g_free (r.err);
  g_free (r.out);
}

/* A block device's `file` is a file, never a protocol: `nbd:HOST:PORT` or
 * `json:{...}` in a VM file (or a -d spec) becomes a path beside the VM
 * file, and QEMU, given that argv, opens no connection (a listener on the
 * port sees none) and fails on the missing file instead. */
static void
test_block_file_is_not_a_protocol (void)
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *vm = g_build_filename (dir, "nbd.vm", NULL);
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocket) knocked = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GPtrArray) qemu_argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *qemu_err = NULL;
  QlTestRun r = { 0 };
  guint16 port;
  const char *args[] = { "args", "--no-host-checks", "--format", "shell", NULL, NULL };

  /* A listener QEMU would reach if it read the file name as NBD. */
  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (listener, any_port, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  g_socket_set_blocking (listener, FALSE);
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  text = g_strdup_printf ("[vm]\nname = nbd\n[machine]\ntype = q35\nacceleration = tcg\n"
                          "[device d0]\ntype = block\nfile = nbd:127.0.0.1:%u\nformat = raw\n", port);
  g_assert_true (g_file_set_contents (vm, text, -1, NULL));
  args[4] = vm;
  run_qlaunch (&r, args);
  g_assert_cmpint (r.status, ==, 0);
  expected = g_strdup_printf ("file=%s/nbd:127.0.0.1:%u,", dir, port);
  if (strstr (r.out, expected) == NULL)
    g_error ("'%s' not in: %s", expected, r.out);

  if (qemu == NULL)
    {
      g_test_message ("qemu-system-x86_64 is not installed: the argv alone was checked");
      goto out;
    }
  g_assert_true (g_shell_parse_argv (r.out, NULL, &argv, &error));
  g_assert_no_error (error);
  g_ptr_array_add (qemu_argv, qemu);
  for (guint i = 1; argv[i] != NULL; i++)
    g_ptr_array_add (qemu_argv, argv[i]);
  g_ptr_array_add (qemu_argv, (gpointer) "-S");
  g_ptr_array_add (qemu_argv, (gpointer) "-display");
  g_ptr_array_add (qemu_argv, (gpointer) "none");
  g_ptr_array_add (qemu_argv, NULL);
  proc = g_subprocess_newv ((const char * const *) qemu_argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &qemu_err, &error);
  g_assert_no_error (error);
  g_test_message ("QEMU: exit %d: %s", g_subprocess_get_exit_status (proc), qemu_err);
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 1);
  g_assert_nonnull (strstr (qemu_err, "nbd:127.0.0.1"));
  /* Nobody knocked on the port: no connection waits to be accepted. */
  knocked = g_socket_accept (listener, NULL, &error);
  g_assert_null (knocked);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
out:
  g_free (r.out);
  g_free (r.err);
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/security/qmp/reply-deadline", test_qmp_reply_deadline);
  g_test_add_func ("/security/hotplug/reply-deadline", test_hotplug_reply_deadline);
  g_test_add_func ("/security/unplug/reply-deadline", test_unplug_reply_deadline);
  g_test_add_func ("/security/qmp-events/protocol-error", test_events_protocol_error);
  g_test_add_func ("/security/qmp/error-escaped", test_qmp_error_escaped);
  g_test_add_func ("/security/block/file-is-not-a-protocol", test_block_file_is_not_a_protocol);
  return g_test_run ();
}
