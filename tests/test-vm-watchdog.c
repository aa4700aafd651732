/* qlaunch tests — QlVm::watchdog from QMP's WATCHDOG event, without QEMU.
 *
 * The VM's QEMU is the fake (tests/helpers/fake-qemu.c: it sleeps); the
 * test itself listens on the VM's [qmp] socket and plays QEMU's side: the
 * greeting, the answers to qmp_capabilities and query-status, then WATCHDOG
 * events with each action QEMU 7.2 knows, one it does not, and one without
 * an action. Each must reach QlVm::watchdog once, in order, with its
 * QlWatchdogAction and QEMU's name.
 */
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"

#include <string.h>

static const struct
{
  const char       *name;
  QlWatchdogAction  action;
} events[] = {
  { "reset", QL_WATCHDOG_ACTION_RESET },
  { "shutdown", QL_WATCHDOG_ACTION_SHUTDOWN },
  { "poweroff", QL_WATCHDOG_ACTION_POWEROFF },
  { "pause", QL_WATCHDOG_ACTION_PAUSE },
  { "debug", QL_WATCHDOG_ACTION_DEBUG },
  { "none", QL_WATCHDOG_ACTION_NONE },
  { "inject-nmi", QL_WATCHDOG_ACTION_INJECT_NMI },
  { "self-destruct", QL_WATCHDOG_ACTION_OTHER },
};

typedef struct
{
  GSocket *listener;
  GThread *thread;
} Peer;

static void
peer_send (GSocket    *conn,
           const char *line)
{
  g_autoptr(GError) error = NULL;
  gsize len = strlen (line);
  gsize done = 0;

  while (done < len)
    {
      gssize n = g_socket_send (conn, line + done, len - done, NULL, &error);

      g_assert_no_error (error);
      done += (gsize) n;
    }
}

/* One line from @conn, without its '\n'; NULL at EOF. */
static char *
peer_read_line (GSocket *conn)
{
  GString *line = g_string_new (NULL);
  char c;

  for (;;)
    {
      gssize n = g_socket_receive (conn, &c, 1, NULL, NULL);

      if (n <= 0)
        {
          g_string_free (line, TRUE);
          return NULL;
        }
      if (c == '\n')
        return g_string_free (line, FALSE);
      g_string_append_c (line, c);
    }
}

/* Answers @line, a command, with an empty return or a running status. */
static void
peer_answer (GSocket    *conn,
             const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *with_newline = NULL;
  JsonObject *command;
  const char *execute;

  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  command = json_node_get_object (json_parser_get_root (parser));
  execute = json_object_get_string_member (command, "execute");

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "return");
  json_builder_begin_object (builder);
  if (g_strcmp0 (execute, "query-status") == 0)
    {
      json_builder_set_member_name (builder, "status");
      json_builder_add_string_value (builder, "running");
      json_builder_set_member_name (builder, "running");
      json_builder_add_boolean_value (builder, TRUE);
    }
  json_builder_end_object (builder);
  if (json_object_has_member (command, "id"))
    {
      json_builder_set_member_name (builder, "id");
      json_builder_add_value (builder, json_node_copy (json_object_get_member (command, "id")));
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  with_newline = g_strconcat (text, "\n", NULL);
  peer_send (conn, with_newline);
}

static gpointer
peer_thread (gpointer data)
{
  Peer *peer = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) conn = g_socket_accept (peer->listener, NULL, &error);
  char *line;

  g_assert_no_error (error);
  peer_send (conn, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                   "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\n");
  while ((line = peer_read_line (conn)) != NULL)
    {
      gboolean status = strstr (line, "query-status") != NULL;

      peer_answer (conn, line);
      g_free (line);
      if (!status)
        continue;
      /* Ready: the events, then one without data's action. */
      for (guint i = 0; i < G_N_ELEMENTS (events); i++)
        {
          g_autofree char *event = g_strdup_printf ("{\"timestamp\": {\"seconds\": 1, \"microseconds\": %u}, "
                                                    "\"event\": \"WATCHDOG\", \"data\": {\"action\": \"%s\"}}\n",
                                                    i, events[i].name);

          peer_send (conn, event);
        }
      peer_send (conn, "{\"timestamp\": {\"seconds\": 2, \"microseconds\": 0}, \"event\": \"WATCHDOG\", \"data\": {}}\n");
    }
  return NULL;
}

typedef struct
{
  GArray    *actions;   /* QlWatchdogAction */
  GPtrArray *names;
} Seen;

static void
on_watchdog (QlVm             *vm,
             QlWatchdogAction  action,
             const char       *name,
             gpointer          user_data)
{
  Seen *seen = user_data;

  (void) vm;
  g_array_append_val (seen->actions, action);
  g_ptr_array_add (seen->names, g_strdup (name));
}

static void
test_watchdog_signal (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *sock = g_build_filename (dir, "qmp.sock", NULL);
  g_autofree char *text = NULL;
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (sock);
  Seen seen = { g_array_new (FALSE, FALSE, sizeof (QlWatchdogAction)), g_ptr_array_new_with_free_func (g_free) };
  Peer peer = { 0 };
  gint64 deadline;

  peer.listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (peer.listener, address, FALSE, &error));
  g_assert_true (g_socket_listen (peer.listener, &error));
  g_assert_no_error (error);
  peer.thread = g_thread_new ("qmp-peer", peer_thread, &peer);

  text = g_strdup_printf ("[vm]\nqemu = %s\n[qmp control]\npath = %s\n", g_getenv ("QLAUNCH_FAKE_QEMU"), sock);
  config = ql_test_load_vm (registry, text);
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);
  {
    /* The fake sleeps while the peer plays QEMU. */
    g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "FAKE_QEMU_SLEEP_MS", "30000", TRUE);

    ql_vm_set_environ (vm, (const char * const *) env);
  }
  g_signal_connect (vm, "watchdog", G_CALLBACK (on_watchdog), &seen);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_connect_qmp (vm, 10000, NULL, &error));
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (seen.actions->len < G_N_ELEMENTS (events) + 1 && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }

  g_assert_cmpuint (seen.actions->len, ==, G_N_ELEMENTS (events) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    {
      g_assert_cmpint (g_array_index (seen.actions, QlWatchdogAction, i), ==, events[i].action);
      g_assert_cmpstr (g_ptr_array_index (seen.names, i), ==, events[i].name);
    }
  /* No action in the event: OTHER, with an empty name. */
  g_assert_cmpint (g_array_index (seen.actions, QlWatchdogAction, G_N_ELEMENTS (events)), ==, QL_WATCHDOG_ACTION_OTHER);
  g_assert_cmpstr (g_ptr_array_index (seen.names, G_N_ELEMENTS (events)), ==, "");

  ql_vm_stop (vm);
  while (ql_vm_get_state (vm) != QL_VM_STATE_EXITED && ql_vm_get_state (vm) != QL_VM_STATE_FAILED)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&vm);
  g_thread_join (peer.thread);
  g_clear_object (&peer.listener);
  g_array_unref (seen.actions);
  g_ptr_array_unref (seen.names);
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();
  g_test_add_func ("/vm-watchdog/signal", test_watchdog_signal);
  return g_test_run ();
}
