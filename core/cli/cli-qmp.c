/* qlaunch CLI — the commands that talk to a running QEMU over QMP:
 *
 *   qmp SOCKET COMMAND [JSON]   run one QMP command, print its return value
 *   qmp SOCKET --events         print QEMU's events, one JSON line each
 *   hotplug SOCKET -d SPEC...   add devices of any plugin type (ql-hotplug)
 *   unplug SOCKET ID...         remove devices, waiting for DEVICE_DELETED
 *
 * All of them use the library's QlQmp client on the default main context;
 * the library never prints, so every message is made here. The client
 * talks only to a peer of ours or root's (or of --peer-uid UID), checked
 * while connecting, before anything is sent. Exit status:
 * 0 success, 1 failure (a message naming the command, device or socket),
 * 2 usage. */
#include "cli-common.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define QMP_DEFAULT_TIMEOUT_MS     5000
#define UNPLUG_DEFAULT_TIMEOUT_MS 10000

static gboolean
parse_timeout (const char *text,
               guint      *out_ms)
{
  guint64 value;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT, &value, NULL))
    return FALSE;
  *out_ms = (guint) value;
  return TRUE;
}

/* --peer-uid UID: a user, besides ours and root, trusted to serve the
 * socket (a QEMU run as that user). -1 when not given. */
static gboolean
parse_peer_uid (const char *text,
                gint64     *out_uid)
{
  guint64 value;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32 - 1, &value, NULL))
    return FALSE;
  *out_uid = (gint64) value;
  return TRUE;
}

#define PEER_UID_ENTRY(var) \
  { "peer-uid", 0, 0, G_OPTION_ARG_STRING, &(var), \
    "Trust the user UID, besides us and root, to serve SOCKET (a QEMU running as UID)", "UID" }
#define PEER_UID_USAGE "--peer-uid must be a uid: a number from 0 to 4294967294"

/* A connection error; a refused peer gets the way to trust it. */
static void
print_connect_error (const char   *what,
                     const GError *error)
{
  g_autofree char *safe = ql_cli_escape_untrusted (error->message);

  g_printerr ("qlaunch: %s: %s%s\n", what, safe,
              g_error_matches (error, QL_QMP_ERROR, QL_QMP_ERROR_UNTRUSTED_PEER)
              ? " (--peer-uid UID trusts another user)" : "");
}

/* A QMP error reply as `CLASS: DESCRIPTION`; any other error as its message.
 * The library's messages start with `COMMAND: `, which the caller prints
 * itself. */
static char *
describe_qmp_error (const char   *command,
                    const GError *error)
{
  const char *klass = ql_qmp_error_get_class (error);
  const char *desc = error->message;
  g_autofree char *prefix = g_strdup_printf ("%s: ", command);

  if (g_str_has_prefix (desc, prefix))
    desc = desc + strlen (prefix);
  if (klass == NULL)
    return g_strdup (desc);
  if (error->code == QL_QMP_ERROR_OTHER_CLASS)
    {
      /* "DESCRIPTION (CLASS)": the class QEMU sent is in the message. */
      const char *open = g_strrstr (desc, " (");
      gsize len = strlen (desc);

      if (open != NULL && len > 0 && desc[len - 1] == ')')
        return g_strdup_printf ("%.*s: %.*s", (int) (len - (open - desc) - 3), open + 2,
                                (int) (open - desc), desc);
    }
  return g_strdup_printf ("%s: %s", klass, desc);
}

static QlQmp *
connect_or_report (const char *what,
                   const char *socket_path,
                   gint64      peer_uid,
                   guint       timeout_ms)
{
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(GError) error = NULL;

  ql_qmp_set_peer_uid (qmp, peer_uid);
  if (!ql_qmp_connect (qmp, socket_path, timeout_ms, NULL, &error))
    {
      print_connect_error (what, error);
      return NULL;
    }
  return g_steal_pointer (&qmp);
}

/* A deadline on what a command waits for: when it passes, @cancellable is
 * cancelled, and the command's error says that the peer did not answer
 * in time (a silent peer would hold qlaunch for ever otherwise). */
typedef struct
{
  GCancellable *cancellable;
  GSource      *source;
  guint         ms;
  gboolean      expired;
} Deadline;

static gboolean
deadline_fired (gpointer data)
{
  Deadline *d = data;

  d->expired = TRUE;
  g_cancellable_cancel (d->cancellable);
  return G_SOURCE_REMOVE;
}

static void
deadline_start (Deadline *d,
                guint     ms)
{
  d->cancellable = g_cancellable_new ();
  d->ms = ms;
  d->expired = FALSE;
  d->source = g_timeout_source_new (ms);
  g_source_set_callback (d->source, deadline_fired, d, NULL);
  g_source_attach (d->source, g_main_context_get_thread_default ());
}

static void
deadline_stop (Deadline *d)
{
  if (d->source != NULL)
    g_source_destroy (d->source);
  g_clear_pointer (&d->source, g_source_unref);
  g_clear_object (&d->cancellable);
}

/* The error to print: "no reply within N ms" when the deadline passed. */
static void
deadline_explain (Deadline  *d,
                  GError   **error)
{
  if (d->expired && error != NULL && *error != NULL
      && g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (error);
      g_set_error (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT,
                   "QEMU did not answer within %u ms (--timeout)", d->ms);
    }
}

/* ---- qmp --events --------------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  int        status;
  gboolean   done;
} EventsState;

static void
on_event (QlQmp      *qmp,
          const char *name,
          JsonObject *data,
          gpointer    user_data)
{
  gint64 timestamp_us = ql_qmp_get_event_timestamp (qmp);
  g_autoptr(JsonObject) line = json_object_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  (void) qmp;
  (void) user_data;
  /* As QEMU sent it: event, data, timestamp. */
  json_object_set_string_member (line, "event", name);
  json_object_set_object_member (line, "data", json_object_ref (data));
  if (timestamp_us >= 0)
    {
      JsonObject *ts = json_object_new ();

      json_object_set_int_member (ts, "seconds", timestamp_us / G_USEC_PER_SEC);
      json_object_set_int_member (ts, "microseconds", timestamp_us % G_USEC_PER_SEC);
      json_object_set_object_member (line, "timestamp", ts);
    }
  json_node_set_object (node, line);
  text = ql_cli_json_to_string (node, &error);
  if (text == NULL)
    {
      g_autofree char *safe = ql_cli_escape_untrusted (name);

      g_printerr ("qlaunch: qmp: event %s not printed: %s\n", safe, error->message);
      return;
    }
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static void
on_disconnected (QlQmp    *qmp,
                 GError   *reason,
                 gpointer  user_data)
{
  EventsState *state = user_data;

  (void) qmp;
  if (state->done)
    return;
  {
    g_autofree char *safe = ql_cli_escape_untrusted (reason->message);

    g_printerr ("qlaunch: qmp: %s\n", safe);
  }
  /* QEMU quit or closed the socket: the end of the stream, not a failure. */
  state->status = g_error_matches (reason, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED)
                  ? QL_EXIT_OK : QL_EXIT_FAILURE;
  state->done = TRUE;
  g_main_loop_quit (state->loop);
}

static gboolean
on_stop_signal (gpointer user_data)
{
  EventsState *state = user_data;

  if (!state->done)
    {
      state->status = QL_EXIT_OK;
      state->done = TRUE;
      g_main_loop_quit (state->loop);
    }
  return G_SOURCE_CONTINUE;
}

static int
print_events (const char *socket_path,
              gint64      peer_uid,
              guint       timeout_ms)
{
  g_autoptr(QlQmp) qmp = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  EventsState state = { loop, QL_EXIT_OK, FALSE };
  guint sigint, sigterm;

  g_autoptr(GError) error = NULL;

  /* Listening before the handshake: an event that arrives in the same read
   * as the handshake's reply is printed too. */
  qmp = ql_qmp_new ();
  ql_qmp_set_peer_uid (qmp, peer_uid);
  ql_qmp_set_exact_integers (qmp, TRUE);
  g_signal_connect (qmp, "event", G_CALLBACK (on_event), &state);
  g_signal_connect (qmp, "disconnected", G_CALLBACK (on_disconnected), &state);
  if (!ql_qmp_connect (qmp, socket_path, timeout_ms, NULL, &error))
    {
      g_signal_handlers_disconnect_by_data (qmp, &state);
      print_connect_error ("qmp", error);
      return QL_EXIT_FAILURE;
    }
  sigint = g_unix_signal_add (SIGINT, on_stop_signal, &state);
  sigterm = g_unix_signal_add (SIGTERM, on_stop_signal, &state);
  /* On stderr, so that stdout holds events only; a caller can wait for it
   * before making QEMU send the events it wants to see. */
  g_printerr ("qlaunch: qmp: connected to %s; printing events until SIGINT or SIGTERM\n", socket_path);

  while (!state.done)
    g_main_loop_run (loop);

  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_signal_handlers_disconnect_by_data (qmp, &state);
  ql_qmp_close (qmp);
  return state.status;
}

/* ---- qmp ------------------------------------------------------------------ */

/* `balloon SIZE`: the shorthand of `balloon {"value": BYTES}`, SIZE with
 * QEMU's suffixes (128M). Anything that starts like a JSON object is left
 * to the JSON form. */
static gboolean
is_balloon_shorthand (const char *command,
                      const char *text)
{
  while (g_ascii_isspace (*text))
    text++;
  return g_str_equal (command, "balloon") && *text != '{';
}

/* The arguments of `balloon SIZE`, or NULL with the usage message in
 * @message. */
static JsonObject *
balloon_shorthand_arguments (const char  *text,
                             char       **message)
{
  g_autoptr(GError) error = NULL;
  JsonObject *arguments;
  guint64 bytes = 0;

  if (!ql_parse_size (text, 1, &bytes, &error))
    {
      *message = g_strdup_printf ("balloon SIZE '%s': not a size: expected bytes with an optional suffix K, M, G or T (such as 128M), or JSON-ARGUMENTS such as {\"value\": 134217728}",
                                  text);
      return NULL;
    }
  if (bytes == 0 || bytes > G_MAXINT64)
    {
      *message = g_strdup_printf ("balloon SIZE '%s': the guest's target memory size must be from 1 to 9223372036854775807 bytes (2^63-1), such as 128M",
                                  text);
      return NULL;
    }
  arguments = json_object_new ();
  json_object_set_int_member (arguments, "value", (gint64) bytes);
  return arguments;
}

int
ql_cli_qmp (const QlCliGlobals *globals,
            int                 argc,
            char              **argv)
{
  g_autofree char *timeout_text = NULL;
  g_autofree char *peer_uid_text = NULL;
  gboolean events = FALSE;
  GOptionEntry entries[] = {
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      "Keep trying to connect for MS milliseconds (default 5000)", "MS" },
    { "events", 0, 0, G_OPTION_ARG_NONE, &events,
      "Print QEMU's events, one JSON object a line, until SIGINT/SIGTERM or QEMU closes the socket", NULL },
    PEER_UID_ENTRY (peer_uid_text),
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("SOCKET COMMAND [JSON-ARGUMENTS] | SOCKET --events - talk to QEMU over QMP");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(QlQmp) qmp = NULL;
  Deadline deadline = { 0 };
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonObject) shorthand = NULL;
  g_autofree char *text = NULL;
  JsonObject *arguments = NULL;
  guint timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
  gint64 peer_uid = -1;
  const char *command;

  (void) globals;
  g_option_context_set_description (context,
    "Runs COMMAND with JSON-ARGUMENTS (a JSON object) and prints the return value\n"
    "as one JSON line. A QMP error is printed as 'CLASS: DESCRIPTION', exit 1.\n"
    "'balloon SIZE' takes a size with suffix K, M, G or T (128M) for {\"value\": BYTES}.\n"
    "With --events, prints every event as {\"event\": NAME, \"data\": {...}}.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (!parse_timeout (timeout_text, &timeout_ms))
    return ql_cli_usage_error (context, "--timeout must be a positive number of milliseconds");
  if (!parse_peer_uid (peer_uid_text, &peer_uid))
    return ql_cli_usage_error (context, PEER_UID_USAGE);

  if (events)
    {
      if (argc != 2)
        return ql_cli_usage_error (context, "qmp --events takes exactly one SOCKET and no COMMAND");
      return print_events (argv[1], peer_uid, timeout_ms);
    }
  if (argc < 3 || argc > 4)
    return ql_cli_usage_error (context, "qmp needs a SOCKET, a COMMAND and at most one JSON-ARGUMENTS");
  command = argv[2];

  if (argc == 4 && is_balloon_shorthand (command, argv[3]))
    {
      g_autofree char *message = NULL;

      shorthand = balloon_shorthand_arguments (argv[3], &message);
      if (shorthand == NULL)
        return ql_cli_usage_error (context, message);
      arguments = shorthand;
    }
  else if (argc == 4)
    {
      JsonNode *root;

      parser = json_parser_new ();
      if (!json_parser_load_from_data (parser, argv[3], -1, &error))
        {
          g_autofree char *message = g_strdup_printf ("JSON-ARGUMENTS '%s': %s", argv[3], error->message);

          return ql_cli_usage_error (context, message);
        }
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          g_autofree char *message =
            g_strdup_printf ("JSON-ARGUMENTS '%s': not a JSON object (expected {\"name\": value, ...})", argv[3]);

          return ql_cli_usage_error (context, message);
        }
      arguments = json_node_get_object (root);
    }

  qmp = connect_or_report ("qmp", argv[1], peer_uid, timeout_ms);
  if (qmp == NULL)
    return QL_EXIT_FAILURE;
  /* What qmp prints is what QEMU sent, or nothing: never a rounded uint64. */
  ql_qmp_set_exact_integers (qmp, TRUE);
  deadline_start (&deadline, timeout_ms);
  reply = ql_qmp_execute (qmp, command, arguments, deadline.cancellable, &error);
  deadline_explain (&deadline, &error);
  deadline_stop (&deadline);
  if (reply == NULL)
    {
      g_autofree char *what = describe_qmp_error (command, error);
      g_autofree char *safe = ql_cli_escape_untrusted (what);

      g_printerr ("qlaunch: qmp %s: %s\n", command, safe);
      return QL_EXIT_FAILURE;
    }
  text = ql_cli_json_to_string (reply, &error);
  if (text == NULL)
    {
      g_printerr ("qlaunch: qmp %s: QEMU's reply not printed: %s\n", command, error->message);
      return QL_EXIT_FAILURE;
    }
  ql_cli_print_data ("%s\n", text);
  return QL_EXIT_OK;
}

/* ---- hotplug -------------------------------------------------------------- */

/* The VM the devices join: VMFILE (the one QEMU was started from, so that
 * the plugins' checks see the devices already there), or an empty one. */
static QlVmConfig *
load_vm (QlRegistry  *registry,
         const char  *vm_file,
         GError     **error)
{
  if (vm_file == NULL)
    return ql_vm_config_new ();
  return ql_vm_config_new_from_file (vm_file, registry, error);
}

/* The devices of @specs, each with an id that neither @vm nor an earlier
 * spec uses; every error in one message. */
static GPtrArray *
create_devices (QlRegistry  *registry,
                QlVmConfig  *vm,
                const char  *vm_file,
                char       **specs,
                GError     **error)
{
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) messages = g_string_new (NULL);
  guint n_errors = 0;

  for (guint i = 0; specs[i] != NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(QlDevice) device = ql_registry_create_device_from_spec (registry, specs[i], &local_error);
      const char *id;

      if (device == NULL)
        {
          g_string_append_printf (messages, "%s%s", n_errors++ ? "\n" : "", local_error->message);
          continue;
        }
      id = ql_device_get_id (device);
      if (id == NULL || *id == '\0')
        {
          g_string_append_printf (messages, "%sdevice spec '%s': hotplug needs an id (add id=NAME)",
                                  n_errors++ ? "\n" : "", specs[i]);
          continue;
        }
      if (ql_vm_config_lookup_device (vm, id) != NULL)
        {
          g_string_append_printf (messages, "%sdevice spec '%s': id '%s' is the id of a device of %s",
                                  n_errors++ ? "\n" : "", specs[i], id, vm_file);
          continue;
        }
      if (!g_hash_table_add (ids, (gpointer) id))
        {
          g_string_append_printf (messages, "%sdevice spec '%s': id '%s' is given to an earlier -d device",
                                  n_errors++ ? "\n" : "", specs[i], id);
          continue;
        }
      g_ptr_array_add (devices, g_steal_pointer (&device));
    }
  if (n_errors > 0)
    {
      g_set_error_literal (error, QL_CONFIG_ERROR,
                           n_errors > 1 ? QL_CONFIG_ERROR_MULTIPLE : QL_CONFIG_ERROR_INVALID_VALUE,
                           messages->str);
      return NULL;
    }
  return g_steal_pointer (&devices);
}

/* `qlaunch: hotplug: device 'ID' (TYPE): MESSAGE`, without the plugin's own
 * `device 'ID': ` at the start of MESSAGE. */
static void
print_device_error (QlDevice     *device,
                    const GError *error)
{
  g_autofree char *prefix = g_strdup_printf ("device '%s': ", ql_device_get_id (device));
  const char *message = error->message;
  g_autofree char *safe = NULL;

  if (g_str_has_prefix (message, prefix))
    message += strlen (prefix);
  safe = ql_cli_escape_untrusted (message);
  g_printerr ("qlaunch: hotplug: device '%s' (%s): %s\n", ql_device_get_id (device),
              ql_device_get_type_name (device), safe);
}

/* The commands of every device, in order, as one JSON array: each device
 * is checked against @vm and then joins it, so that a later device may use
 * an earlier one (a port on a controller plugged before it). NULL, with a
 * message printed, when a device cannot be hot-plugged. */
static JsonArray *
plan_all (GPtrArray  *devices,
          QlVmConfig *vm,
          gboolean    dry_run)
{
  g_autoptr(JsonArray) all = json_array_new ();

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      g_autoptr(GError) error = NULL;
      /* Descriptors (a spec's fds=N) stay the device's: nothing to close. */
      g_autoptr(JsonArray) plan = ql_hotplug_plan (device, vm, NULL, &error);

      if (plan == NULL)
        {
          print_device_error (device, error);
          if (!dry_run)
            g_printerr ("qlaunch: hotplug: no device was added (nothing was sent to QEMU)\n");
          return NULL;
        }
      for (guint j = 0; j < json_array_get_length (plan); j++)
        json_array_add_element (all, json_node_copy (json_array_get_element (plan, j)));
      ql_vm_config_add_device (vm, device);
    }
  return g_steal_pointer (&all);
}

static char *
join_ids (GPtrArray *devices,
          guint      n)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%s'%s'", i > 0 ? ", " : "",
                            ql_device_get_id (g_ptr_array_index (devices, i)));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

int
ql_cli_hotplug (const QlCliGlobals *globals,
                int                 argc,
                char              **argv)
{
  g_autofree char *timeout_text = NULL;
  g_autofree char *peer_uid_text = NULL;
  g_autofree char *vm_file = NULL;
  g_auto(GStrv) specs = NULL;
  gboolean dry_run = FALSE;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs,
      "A device to add: TYPE,id=ID,key=value,... (repeatable; added in order)", "SPEC" },
    { "vm", 0, 0, G_OPTION_ARG_FILENAME, &vm_file,
      "The VM file QEMU was started from: the devices are checked against its devices "
      "(e.g. a 'char' port's bus on a 'serial' controller of the VM)", "VMFILE" },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      "Keep trying to connect for MS milliseconds (default 5000)", "MS" },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run,
      "Print the QMP commands as a JSON array; do not connect (SOCKET may be left out)", NULL },
    PEER_UID_ENTRY (peer_uid_text),
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("SOCKET -d SPEC... - add devices to a running VM over QMP");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) check_vm = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(JsonArray) plan = NULL;
  g_autoptr(QlQmp) qmp = NULL;
  Deadline deadline = { 0 };
  guint timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
  gint64 peer_uid = -1;

  g_option_context_set_description (context,
    "Each SPEC is a device as 'qlaunch args -d' takes it, with an id. Every device\n"
    "is checked first (against --vm VMFILE and the -d devices before it); then\n"
    "they are added in order, each with its backends (blockdev-add, chardev-add,\n"
    "netdev_add, object-add) before its device_add. A device that fails is rolled\n"
    "back; the devices added before it stay. Prints 'hotplugged ID (TYPE)' per device.\n"
    "On q35 a PCI device that names no bus goes into a free PCIe root port that the\n"
    "VM reserved with [machine] hotplug-slots (QEMU says which are free).\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (!parse_timeout (timeout_text, &timeout_ms))
    return ql_cli_usage_error (context, "--timeout must be a positive number of milliseconds");
  if (!parse_peer_uid (peer_uid_text, &peer_uid))
    return ql_cli_usage_error (context, PEER_UID_USAGE);
  if (specs == NULL || specs[0] == NULL)
    return ql_cli_usage_error (context, "hotplug needs at least one -d SPEC");
  if (argc != 2 && !(dry_run && argc == 1))
    return ql_cli_usage_error (context, "hotplug needs exactly one SOCKET");

  registry = ql_cli_registry_new (globals);
  check_vm = load_vm (registry, vm_file, &error);
  if (check_vm == NULL)
    {
      ql_cli_print_error (vm_file, error);
      return QL_EXIT_FAILURE;
    }
  devices = create_devices (registry, check_vm, vm_file, specs, &error);
  if (devices == NULL)
    {
      ql_cli_print_error ("hotplug", error);
      return QL_EXIT_FAILURE;
    }

  /* Every device is checked and converted before QEMU is touched. */
  plan = plan_all (devices, check_vm, dry_run);
  if (plan == NULL)
    return QL_EXIT_FAILURE;
  if (dry_run)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      g_autofree char *text = NULL;

      json_node_set_array (node, plan);
      text = json_to_string (node, TRUE);
      ql_cli_print_data ("%s\n", text);
      return QL_EXIT_OK;
    }

  vm = load_vm (registry, vm_file, &error);
  if (vm == NULL)
    {
      ql_cli_print_error (vm_file, error);
      return QL_EXIT_FAILURE;
    }
  qmp = connect_or_report ("hotplug", argv[1], peer_uid, timeout_ms);
  if (qmp == NULL)
    return QL_EXIT_FAILURE;
  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      gboolean plugged;

      /* Each device's commands within --timeout. */
      deadline_start (&deadline, timeout_ms);
      plugged = ql_qmp_hotplug_device (qmp, device, vm, deadline.cancellable, &error);
      deadline_explain (&deadline, &error);
      deadline_stop (&deadline);
      if (!plugged)
        {
          g_autofree char *added = join_ids (devices, i);

          print_device_error (device, error);
          if (i == 0)
            g_printerr ("qlaunch: hotplug: no device was added\n");
          else
            g_printerr ("qlaunch: hotplug: the devices added before it stay in the VM: %s\n", added);
          return QL_EXIT_FAILURE;
        }
      ql_vm_config_add_device (vm, device);
      g_print ("hotplugged %s (%s)\n", ql_device_get_id (device), ql_device_get_type_name (device));
      fflush (stdout);
    }
  return QL_EXIT_OK;
}

/* ---- unplug --------------------------------------------------------------- */

int
ql_cli_unplug (const QlCliGlobals *globals,
               int                 argc,
               char              **argv)
{
  g_autofree char *timeout_text = NULL;
  g_autofree char *peer_uid_text = NULL;
  GOptionEntry entries[] = {
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      "Wait MS milliseconds for the guest to release each device (default 10000); "
      "also bounds the connection attempt", "MS" },
    PEER_UID_ENTRY (peer_uid_text),
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("SOCKET ID... - remove devices from a running VM over QMP");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQmp) qmp = NULL;
  Deadline deadline = { 0 };
  guint timeout_ms = UNPLUG_DEFAULT_TIMEOUT_MS;
  gint64 peer_uid = -1;

  (void) globals;
  g_option_context_set_description (context,
    "Removes each device (device_del), waits for QEMU's DEVICE_DELETED event (a PCI\n"
    "device needs the guest's consent), then removes its backends. Prints\n"
    "'unplugged ID' per device; stops at the first failure.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (!parse_timeout (timeout_text, &timeout_ms))
    return ql_cli_usage_error (context, "--timeout must be a positive number of milliseconds");
  if (!parse_peer_uid (peer_uid_text, &peer_uid))
    return ql_cli_usage_error (context, PEER_UID_USAGE);
  if (argc < 3)
    return ql_cli_usage_error (context, "unplug needs a SOCKET and at least one device ID");

  qmp = connect_or_report ("unplug", argv[1], peer_uid, timeout_ms);
  if (qmp == NULL)
    return QL_EXIT_FAILURE;
  for (int i = 2; i < argc; i++)
    {
      const char *id = argv[i];
      gboolean unplugged;

      /* --timeout is how long the guest has to release the device; the
       * commands around it get as long again. */
      deadline_start (&deadline, timeout_ms > G_MAXUINT / 4 ? G_MAXUINT / 2 : timeout_ms * 2 + 1000);
      unplugged = ql_qmp_unplug_device (qmp, id, timeout_ms, deadline.cancellable, &error);
      deadline_explain (&deadline, &error);
      deadline_stop (&deadline);
      if (!unplugged)
        {
          const char *message = error->message;

          if (g_str_has_prefix (message, "unplug: "))
            message += strlen ("unplug: ");
          if (g_error_matches (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT))
            g_printerr ("qlaunch: unplug: device '%s': the guest did not release the device within %u ms "
                        "(QEMU's device_del stays pending: the device and its backends are still there)\n",
                        id, timeout_ms);
          else
            {
              g_autofree char *safe = ql_cli_escape_untrusted (message);

              g_printerr ("qlaunch: unplug: device '%s': %s\n", id, safe);
            }
          if (i > 2)
            {
              g_autoptr(GString) removed = g_string_new (NULL);

              for (int j = 2; j < i; j++)
                g_string_append_printf (removed, "%s'%s'", j > 2 ? ", " : "", argv[j]);
              g_printerr ("qlaunch: unplug: already removed: %s\n", removed->str);
            }
          if (i + 1 < argc)
            {
              g_autoptr(GString) left = g_string_new (NULL);

              for (int j = i + 1; j < argc; j++)
                g_string_append_printf (left, "%s'%s'", j > i + 1 ? ", " : "", argv[j]);
              g_printerr ("qlaunch: unplug: not tried: %s\n", left->str);
            }
          return QL_EXIT_FAILURE;
        }
      g_print ("unplugged %s\n", id);
      fflush (stdout);
    }
  return QL_EXIT_OK;
}
