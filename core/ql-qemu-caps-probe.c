/* qlaunch — probing a QEMU binary through QMP.
 *
 * QEMU, `-machine none -nodefaults -no-user-config -S -display none`, its
 * QMP on a socket in a private 0700 directory, dying with us
 * (PR_SET_PDEATHSIG). Every query is sent at once (QMP answers in order;
 * pipelining saves a round trip each): the lists, the QMP schema (netdev
 * types), the command-line options (-sandbox), the CPU models, and the properties of the device types asked
 * for (and of the types their QEMU aliases may stand for) before the
 * device list is even known; a type QEMU lacks is simply no answer. Only
 * `--all-properties` needs a second round. QEMU is killed when the
 * answers are in; it has no state worth a `quit`.
 *
 * In that second round a type QEMU lists may still fail: QEMU 7.2 aborts
 * on `device-list-properties virtio-gpu-gl-pci` when the module of
 * virtio-gpu-gl-device is not installed (Debian's qemu-system-gui). The
 * answers come in order, so the first type without one when QEMU died is
 * the culprit: it is recorded as not probed, with QEMU's words, a fresh
 * QEMU is started and asked about the types after it. An error answer is
 * recorded the same way.
 */
#include "ql-qemu-caps-private.h"
#include "ql-qmp-private.h"

#include <glib/gstdio.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 30000
/* QEMU makes its QMP socket and greets within about 100 ms of exec (a few
 * hundred under load): a binary that has not after 5 s is no QEMU (or a
 * wrapper that does not pass the arguments on). */
#define CONNECT_TIMEOUT_MS 5000

/* qom-list-properties instantiates the type: QEMU 7.2 aborts on
 * x-remote-object and colo-compare, so it is asked only about these (the
 * objects a VM's plugins create); a type the binary lacks is skipped. */
static const char *const object_prop_types[] = {
  "memory-backend-file", "memory-backend-ram", "memory-backend-memfd",
  "iothread", "rng-random", "rng-builtin", "rng-egd", "secret", "secret_keyring",
};

/* One probing QEMU. */
typedef struct
{
  GSubprocess *qemu;
  QlQmp *qmp;
  gboolean exited;
} Instance;

/* How many times the second round starts QEMU again after a type
 * killed it before the probe gives up. */
#define MAX_RESTARTS 16

/* How many QEMUs share the queries (request i goes to QEMU i % N). One:
 * measured on the 2-core machine, idle, one QEMU answers everything in
 * about 240 ms, while two side by side took about 300 ms: the second
 * QEMU's start-up (about 90 ms of CPU) competes with the first's work and
 * with our parsing. */
#define N_INSTANCES 1

typedef struct
{
  GMainContext *context;
  Instance inst[N_INSTANCES];
  GCancellable *cancellable;
  guint pending;
  gboolean timed_out;
  GError *error;
  GHashTable *replies;        /* key -> JsonNode */
  GSource *timeout;
  gboolean retryable;         /* failed on QMP's protocol, QEMU still running */
  gboolean survive;           /* a type's failure is recorded, not fatal */
  GHashTable *failures;       /* key -> why its request failed (survive) */
  guint restarts;
} Probe;

static JsonObject *typename_args (const char *type);

typedef struct
{
  Probe *probe;
  char *key;
  gboolean optional;    /* an error reply is no answer, not a failure */
} Request;

static void
request_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Request *r = user_data;
  g_autoptr(GError) error = NULL;
  JsonNode *reply = ql_qmp_execute_finish (QL_QMP (source), result, &error);

  if (reply != NULL)
    g_hash_table_insert (r->probe->replies, g_steal_pointer (&r->key), reply);
  else if (r->optional && r->probe->survive)
    {
      /* QEMU's error reply, or the end of a QEMU that died on this or an
       * earlier request (sorted out when it is known to be gone). */
      if (ql_qmp_error_get_class (error) != NULL)
        g_hash_table_insert (r->probe->failures, g_steal_pointer (&r->key), g_strdup (error->message));
    }
  else if (r->optional && ql_qmp_error_get_class (error) != NULL)
    ;   /* QEMU's error reply (GenericError, DeviceNotFound): no such type */
  else if (r->probe->error == NULL)
    r->probe->error = g_steal_pointer (&error);
  r->probe->pending--;
  g_free (r->key);
  g_free (r);
}

static void
send_request (Probe      *probe,
              guint       which,
              const char *key,
              const char *command,
              JsonObject *arguments,   /* transfer full, nullable */
              gboolean    optional)
{
  Request *r = g_new0 (Request, 1);

  r->probe = probe;
  r->key = g_strdup (key);
  r->optional = optional;
  probe->pending++;
  ql_qmp_execute_async (probe->inst[which % N_INSTANCES].qmp, command, arguments, probe->cancellable,
                        request_done, r);
  if (arguments != NULL)
    json_object_unref (arguments);
}

static void
send (Probe      *probe,
      guint       which,
      const char *key,
      const char *command,
      JsonObject *arguments)   /* transfer full, nullable */
{
  send_request (probe, which, key, command, arguments, FALSE);
}

/* The properties of a type QEMU may lack: its error is no failure. */
static void
send_properties (Probe      *probe,
                 guint       which,
                 const char *prefix,
                 const char *command,
                 const char *type)
{
  g_autofree char *key = g_strconcat (prefix, type, NULL);

  if (g_hash_table_contains (probe->replies, key)
      || (probe->failures != NULL && g_hash_table_contains (probe->failures, key)))
    return;
  send_request (probe, which, key, command, typename_args (type), TRUE);
}

static JsonObject *
list_types_args (const char *implements)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "implements", implements);
  json_object_set_boolean_member (args, "abstract", FALSE);
  return args;
}

static JsonObject *
typename_args (const char *type)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "typename", type);
  return args;
}

static void
qemu_exited (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Instance *inst = user_data;

  (void) g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  inst->exited = TRUE;
}

static void
connected (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Probe *probe = user_data;
  g_autoptr(GError) error = NULL;

  if (!ql_qmp_connect_finish (QL_QMP (source), result, &error) && probe->error == NULL)
    probe->error = g_steal_pointer (&error);
  probe->pending--;
}

static gboolean
any_exited (Probe *probe)
{
  for (guint i = 0; i < N_INSTANCES; i++)
    if (probe->inst[i].qemu != NULL && probe->inst[i].exited)
      return TRUE;
  return FALSE;
}

static gboolean
timed_out (gpointer user_data)
{
  Probe *probe = user_data;

  probe->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until every request is answered, QEMU exits, time runs out or
 * an error comes. */
static gboolean
run (Probe *probe)
{
  while (probe->pending > 0 && !any_exited (probe) && !probe->timed_out && probe->error == NULL)
    g_main_context_iteration (probe->context, TRUE);
  return probe->pending == 0 && probe->error == NULL && !any_exited (probe) && !probe->timed_out;
}

static JsonArray *
reply_array (Probe      *probe,
             const char *key)
{
  JsonNode *node = g_hash_table_lookup (probe->replies, key);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
reply_object (Probe      *probe,
              const char *key)
{
  JsonNode *node = g_hash_table_lookup (probe->replies, key);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The "name" members of an array of objects, sorted, without duplicates;
 * @strip is cut from the end of each (accelerators: "tcg-accel" -> "tcg"). */
static GPtrArray *
names_of (JsonArray  *array,
          const char *member,
          const char *strip)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *o = ql_json_array_object (array, i);
      const char *name = o != NULL ? ql_json_string (o, member) : NULL;

      if (name == NULL)
        continue;
      if (strip != NULL)
        {
          if (!g_str_has_suffix (name, strip) || strlen (name) == strlen (strip))
            continue;
          g_ptr_array_add (names, g_strndup (name, strlen (name) - strlen (strip)));
        }
      else
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 1; i < names->len;)
    if (strcmp (g_ptr_array_index (names, i - 1), g_ptr_array_index (names, i)) == 0)
      g_ptr_array_remove_index (names, i);
    else
      i++;
  return names;
}

static GVariant *
string_array (GPtrArray *names)
{
  return g_variant_new_strv ((const char * const *) names->pdata, names->len);
}

/* a(ss) of (name, type) from device-list-properties / qom-list-properties. */
static GVariant *
property_list (JsonArray *array)
{
  g_autoptr(GPtrArray) names = names_of (array, "name", NULL);
  g_autoptr(GHashTable) types = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantBuilder b;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = ql_json_array_object (array, i);
      const char *name = o != NULL ? ql_json_string (o, "name") : NULL;
      const char *type = o != NULL ? ql_json_string (o, "type") : NULL;

      if (name != NULL)
        g_hash_table_insert (types, (gpointer) name, (gpointer) (type != NULL ? type : ""));
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i < names->len; i++)
    g_variant_builder_add (&b, "(ss)", g_ptr_array_index (names, i),
                           g_hash_table_lookup (types, g_ptr_array_index (names, i)));
  return g_variant_builder_end (&b);
}

/* The netdev types: the enum of netdev_add's "type" in the QMP schema
 * (QEMU 7.2 has no query for them). */
static GPtrArray *
netdev_types (JsonArray *schema)
{
  g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  JsonObject *cmd, *args, *type_enum;
  JsonArray *members, *values;
  const char *arg_type, *type_name = NULL;

  for (guint i = 0; schema != NULL && i < json_array_get_length (schema); i++)
    {
      JsonObject *o = ql_json_array_object (schema, i);
      const char *name = o != NULL ? ql_json_string (o, "name") : NULL;

      if (name != NULL)
        g_hash_table_insert (by_name, (gpointer) name, o);
    }
  cmd = g_hash_table_lookup (by_name, "netdev_add");
  arg_type = cmd != NULL ? ql_json_string (cmd, "arg-type") : NULL;
  args = arg_type != NULL ? g_hash_table_lookup (by_name, arg_type) : NULL;
  members = args != NULL && json_object_has_member (args, "members")
            && JSON_NODE_HOLDS_ARRAY (json_object_get_member (args, "members"))
            ? json_object_get_array_member (args, "members") : NULL;
  for (guint i = 0; members != NULL && i < json_array_get_length (members); i++)
    {
      JsonObject *m = ql_json_array_object (members, i);

      if (m != NULL && g_strcmp0 (ql_json_string (m, "name"), "type") == 0)
        type_name = ql_json_string (m, "type");
    }
  type_enum = type_name != NULL ? g_hash_table_lookup (by_name, type_name) : NULL;
  values = type_enum != NULL && json_object_has_member (type_enum, "values")
           && JSON_NODE_HOLDS_ARRAY (json_object_get_member (type_enum, "values"))
           ? json_object_get_array_member (type_enum, "values") : NULL;
  for (guint i = 0; values != NULL && i < json_array_get_length (values); i++)
    {
      JsonNode *v = json_array_get_element (values, i);

      if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
        g_ptr_array_add (out, g_strdup (json_node_get_string (v)));
    }
  g_ptr_array_sort (out, compare_strings);
  return out;
}

/* a(sas): the command-line options (query-command-line-options: only those
 * QEMU parses through its option tables; `sandbox` is there when QEMU was
 * built with seccomp), each with its parameter names, all sorted. */
static GVariant *
command_line_options_variant (JsonArray *options)
{
  g_autoptr(GPtrArray) names = names_of (options, "option", NULL);
  g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantBuilder b;

  for (guint i = 0; options != NULL && i < json_array_get_length (options); i++)
    {
      JsonObject *o = ql_json_array_object (options, i);
      const char *name = o != NULL ? ql_json_string (o, "option") : NULL;

      if (name != NULL)
        g_hash_table_insert (by_name, (gpointer) name, o);
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sas)"));
  for (guint i = 0; i < names->len; i++)
    {
      JsonObject *o = g_hash_table_lookup (by_name, g_ptr_array_index (names, i));
      JsonArray *parameters = json_object_has_member (o, "parameters")
                              && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "parameters"))
                              ? json_object_get_array_member (o, "parameters") : NULL;
      g_autoptr(GPtrArray) params = names_of (parameters, "name", NULL);

      g_variant_builder_add (&b, "(s@as)", g_ptr_array_index (names, i), string_array (params));
    }
  return g_variant_builder_end (&b);
}

static GVariant *
machines_variant (JsonArray *machines,
                  char     **default_machine)
{
  g_autoptr(GPtrArray) names = names_of (machines, "name", NULL);
  g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantBuilder b;

  for (guint i = 0; machines != NULL && i < json_array_get_length (machines); i++)
    {
      JsonObject *o = ql_json_array_object (machines, i);
      const char *name = o != NULL ? ql_json_string (o, "name") : NULL;

      if (name == NULL)
        continue;
      g_hash_table_insert (by_name, (gpointer) name, o);
      if (ql_json_bool (o, "is-default", FALSE))
        ql_set_str (default_machine, name);
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sssb)"));
  for (guint i = 0; i < names->len; i++)
    {
      JsonObject *o = g_hash_table_lookup (by_name, g_ptr_array_index (names, i));
      const char *alias = ql_json_string (o, "alias");
      const char *cpu = ql_json_string (o, "default-cpu-type");

      g_variant_builder_add (&b, "(sssb)", g_ptr_array_index (names, i),
                             alias != NULL ? alias : "", cpu != NULL ? cpu : "",
                             ql_json_bool (o, "deprecated", FALSE));
    }
  return g_variant_builder_end (&b);
}

/* Kills the QEMUs still running and reaps them. */
static void
stop_all (Probe *probe)
{
  for (guint i = 0; i < N_INSTANCES; i++)
    if (probe->inst[i].qemu != NULL && !probe->inst[i].exited)
      g_subprocess_force_exit (probe->inst[i].qemu);
  for (guint i = 0; i < N_INSTANCES; i++)
    while (probe->inst[i].qemu != NULL && !probe->inst[i].exited)
      g_main_context_iteration (probe->context, TRUE);
}

/* a(sa(ss)): the types of @names whose properties were answered (under
 * @prefix + name), with their properties. */
static GVariant *
properties_variant (Probe      *probe,
                    GPtrArray  *names,
                    const char *prefix)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sa(ss))"));
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *key = g_strconcat (prefix, (char *) g_ptr_array_index (names, i), NULL);
      JsonArray *props = reply_array (probe, key);

      if (props != NULL)
        g_variant_builder_add (&b, "(s@a(ss))", g_ptr_array_index (names, i), property_list (props));
    }
  return g_variant_builder_end (&b);
}

static void
probe_clear (Probe *probe)
{
  for (guint i = 0; i < N_INSTANCES; i++)
    if (probe->inst[i].qmp != NULL)
      ql_qmp_close (probe->inst[i].qmp);
  /* Closing fails every pending command at once; let their callbacks run
   * (they point at @probe). */
  for (guint i = 0; probe->pending > 0 && i < 1000; i++)
    g_main_context_iteration (probe->context, FALSE);
  stop_all (probe);
  for (guint i = 0; i < N_INSTANCES; i++)
    {
      g_clear_object (&probe->inst[i].qmp);
      g_clear_object (&probe->inst[i].qemu);
    }
  if (probe->timeout != NULL)
    g_source_destroy (probe->timeout);
  g_clear_pointer (&probe->timeout, g_source_unref);
  g_clear_pointer (&probe->replies, g_hash_table_unref);
  g_clear_pointer (&probe->failures, g_hash_table_unref);
  g_clear_error (&probe->error);
}

static void
child_setup (gpointer user_data)
{
  pid_t parent = (pid_t) GPOINTER_TO_INT (user_data);

  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid () != parent)
    _exit (127);
}

static char *
read_stderr (Probe *probe)
{
  g_autoptr(GString) all = g_string_new (NULL);

  for (guint i = 0; i < N_INSTANCES; i++)
    {
      GInputStream *err = probe->inst[i].qemu != NULL
                          ? g_subprocess_get_stderr_pipe (probe->inst[i].qemu) : NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *text = NULL;

      if (err == NULL)
        continue;
      /* QEMU has exited or was killed: this does not block for long. */
      bytes = g_input_stream_read_bytes (err, 4096, NULL, NULL);
      if (bytes == NULL || g_bytes_get_size (bytes) == 0)
        continue;
      text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      g_strstrip (text);
      if (text[0] != '\0' && strstr (all->str, text) == NULL)
        g_string_append_printf (all, "%s%s", all->len > 0 ? "; " : "", text);
    }
  return g_string_free (g_steal_pointer (&all), FALSE);
}

static gboolean
start_instance (Probe              *probe,
                guint               which,
                const QlCapsStamp  *stamp,
                const char         *socket_path,
                GError            **error)
{
  g_autofree char *qmp_arg = g_strdup_printf ("unix:%s,server=on,wait=off", socket_path);
  const char *argv[] = {
    stamp->path, "-machine", "none", "-nodefaults", "-no-user-config", "-S",
    "-display", "none", "-qmp", qmp_arg, NULL,
  };
  const char *env[] = { "LANG=C", "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  Instance *inst = &probe->inst[which];

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, (char **) env);
  /* Nothing of the directory qlaunch runs in is QEMU's to open. */
  g_subprocess_launcher_set_cwd (launcher, "/");
  g_subprocess_launcher_set_child_setup (launcher, child_setup,
                                         GINT_TO_POINTER ((int) getpid ()), NULL);
  inst->qemu = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (inst->qemu == NULL)
    {
      g_prefix_error (error, "cannot start %s to probe it: ", stamp->path);
      return FALSE;
    }
  g_subprocess_wait_async (inst->qemu, NULL, qemu_exited, inst);
  inst->qmp = ql_qmp_new ();
  probe->pending++;
  ql_qmp_connect_async (inst->qmp, socket_path, CONNECT_TIMEOUT_MS, probe->cancellable,
                        connected, probe);
  return TRUE;
}

/* a(ss): the types of @names whose properties could not be probed (under
 * @prefix + name in probe->failures), with why. */
static GVariant *
failures_variant (Probe      *probe,
                  GPtrArray  *names,
                  const char *prefix)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *key = g_strconcat (prefix, (char *) g_ptr_array_index (names, i), NULL);
      const char *why = g_hash_table_lookup (probe->failures, key);

      if (why != NULL)
        g_variant_builder_add (&b, "(ss)", g_ptr_array_index (names, i), why);
    }
  return g_variant_builder_end (&b);
}

/* The restart below knows one QEMU only. */
G_STATIC_ASSERT (N_INSTANCES == 1);

/* QEMU died (or its QMP broke): records @key (when it is known to be the
 * request QEMU died on) as not probed with what QEMU said, and starts a
 * fresh QEMU at @socket_path. FALSE (probe->error set) when that QEMU
 * cannot be started or reached. */
static gboolean
restart_after (Probe             *probe,
               const char        *key,
               const QlCapsStamp *stamp,
               const char        *socket_path)
{
  Instance *inst = &probe->inst[0];
  g_autofree char *why = NULL;
  GError *error = NULL;

  /* Its end, if only the connection told so far. */
  while (!inst->exited && !probe->timed_out && !ql_qmp_is_connected (inst->qmp))
    g_main_context_iteration (probe->context, TRUE);
  ql_qmp_close (inst->qmp);
  for (guint i = 0; probe->pending > 0 && i < 1000; i++)
    g_main_context_iteration (probe->context, FALSE);
  stop_all (probe);
  why = read_stderr (probe);
  if (key != NULL)
    {
      if (why[0] == '\0')
        {
          g_free (why);
          why = g_strdup (g_subprocess_get_if_signaled (inst->qemu)
                          ? "QEMU was killed by a signal on this request"
                          : "QEMU exited on this request");
        }
      g_hash_table_insert (probe->failures, g_strdup (key), g_steal_pointer (&why));
    }
  g_clear_object (&inst->qmp);
  g_clear_object (&inst->qemu);
  inst->exited = FALSE;
  probe->restarts++;
  (void) g_unlink (socket_path);
  if (!start_instance (probe, 0, stamp, socket_path, &error))
    {
      probe->error = error;
      return FALSE;
    }
  return run (probe);
}

/* The index in @devices of the first type with neither properties nor a
 * recorded failure, or -1. */
static int
first_unanswered (Probe     *probe,
                  GPtrArray *devices)
{
  for (guint i = 0; i < devices->len; i++)
    {
      g_autofree char *key = g_strconcat ("device:", (char *) g_ptr_array_index (devices, i), NULL);

      if (!g_hash_table_contains (probe->replies, key) && !g_hash_table_contains (probe->failures, key))
        return (int) i;
    }
  return -1;
}

/* The second round: the properties of every device type in @devices, all
 * asked at once. When QEMU dies, the answers it had not written yet are
 * lost with it: the type it died on is somewhere from the first one
 * unanswered. A fresh QEMU is asked about those one at a time until it
 * dies again, on the culprit for sure, which is recorded as not probed;
 * then another fresh QEMU gets the rest at once (at most MAX_RESTARTS
 * QEMUs in all). */
static void
probe_all_properties (Probe             *probe,
                      const QlCapsStamp *stamp,
                      const char        *socket_path,
                      GPtrArray         *devices)
{
  gboolean one_by_one = FALSE;

  probe->survive = TRUE;
  for (;;)
    {
      int next = first_unanswered (probe, devices);
      g_autofree char *key = NULL;

      if (next < 0)
        break;   /* every type answered */
      if (one_by_one)
        send_properties (probe, 0, "device:", "device-list-properties", g_ptr_array_index (devices, next));
      else
        for (guint i = (guint) next; i < devices->len; i++)
          send_properties (probe, 0, "device:", "device-list-properties", g_ptr_array_index (devices, i));
      run (probe);
      if (probe->error != NULL || probe->timed_out)
        break;
      if (probe->pending == 0 && !any_exited (probe) && ql_qmp_is_connected (probe->inst[0].qmp))
        continue;
      /* QEMU died. */
      next = first_unanswered (probe, devices);
      if (next < 0 || probe->restarts >= MAX_RESTARTS)
        break;   /* a failure as any other */
      key = g_strconcat ("device:", (char *) g_ptr_array_index (devices, next), NULL);
      g_debug ("qlaunch: probing %s: QEMU ended at %s%s; starting it again", stamp->path, key,
               one_by_one ? "" : " or after it");
      if (!restart_after (probe, one_by_one ? key : NULL, stamp, socket_path))
        break;
      one_by_one = !one_by_one;
    }
  probe->survive = FALSE;
}

static GVariant *
probe_in_context (Probe              *probe,
                  const QlCapsStamp  *stamp,
                  const char         *dir,
                  const char * const *device_types,
                  gboolean            all_properties,
                  GError            **error)
{
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GPtrArray) object_names = NULL;
  g_autoptr(GPtrArray) chardevs = NULL;
  g_autoptr(GPtrArray) accels = NULL;
  g_autoptr(GPtrArray) cpus = NULL;
  g_autoptr(GPtrArray) netdevs = NULL;
  g_autofree char *default_machine = NULL;
  g_autofree char *version_string = NULL;
  g_autofree char *package = NULL;
  JsonObject *greeting, *kvm;
  GVariant *machines;
  guint major = 0, minor = 0, micro = 0;

  probe->timeout = g_timeout_source_new (PROBE_TIMEOUT_MS);
  g_source_set_callback (probe->timeout, timed_out, probe, NULL);
  g_source_attach (probe->timeout, probe->context);
  for (guint i = 0; i < N_INSTANCES; i++)
    {
      g_autofree char *name = g_strdup_printf ("qmp%u.sock", i);
      g_autofree char *socket_path = g_build_filename (dir, name, NULL);

      if (!start_instance (probe, i, stamp, socket_path, error))
        return NULL;
    }

  /* One round: the lists on the first QEMU, the slow queries on the
   * second, and the properties of the types asked for (and of the types
   * their aliases may stand for) at once, before the lists are known. */
  if (run (probe))
    {
      send (probe, 1, "schema", "query-qmp-schema", NULL);
      send (probe, 1, "cpus", "query-cpu-definitions", NULL);
      for (gsize i = 0; i < G_N_ELEMENTS (object_prop_types); i++)
        send_properties (probe, 1, "object:", "qom-list-properties", object_prop_types[i]);
      send (probe, 0, "kvm", "query-kvm", NULL);
      send (probe, 0, "machines", "query-machines", NULL);
      send (probe, 0, "devices", "qom-list-types", list_types_args ("device"));
      send (probe, 0, "objects", "qom-list-types", list_types_args ("user-creatable"));
      send (probe, 0, "accels", "qom-list-types", list_types_args ("accel"));
      send (probe, 0, "chardevs", "query-chardev-backends", NULL);
      send (probe, 0, "cmdline", "query-command-line-options", NULL);
      for (guint k = 0; device_types != NULL && device_types[k] != NULL; k++)
        {
          g_auto(GStrv) candidates = ql_qemu_caps_device_alias_candidates (device_types[k]);

          send_properties (probe, k, "device:", "device-list-properties", device_types[k]);
          for (guint c = 0; candidates[c] != NULL; c++)
            send_properties (probe, k + c + 1, "device:", "device-list-properties", candidates[c]);
        }
      run (probe);
    }
  devices = names_of (reply_array (probe, "devices"), "name", NULL);
  object_names = names_of (reply_array (probe, "objects"), "name", NULL);
  /* Every type's properties: a second round, now that the list is known. */
  if (all_properties && probe->pending == 0 && probe->error == NULL && !any_exited (probe))
    {
      g_autofree char *socket_path = g_build_filename (dir, "qmp0.sock", NULL);

      probe_all_properties (probe, stamp, socket_path, devices);
    }

  if (any_exited (probe) || probe->error != NULL || probe->timed_out || probe->pending > 0)
    {
      g_autofree char *why = NULL;

      stop_all (probe);
      why = read_stderr (probe);
      if (probe->timed_out)
        g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_TIMED_OUT,
                     "probing %s took longer than %d s", stamp->path, PROBE_TIMEOUT_MS / 1000);
      else if (probe->error != NULL && g_error_matches (probe->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&probe->error));
      else
        {
          /* QEMU 7.2 can greet twice a client that connected while it was
           * starting (the monitor's OPENED event comes again when it
           * attaches): QlQmp takes that as a protocol error. Seen once in
           * hundreds of probes; one more try is enough. */
          probe->retryable = probe->error != NULL
                             && g_error_matches (probe->error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
          g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_PROBE_FAILED,
                       "probing %s failed: %s%s%s", stamp->path,
                       probe->error != NULL ? probe->error->message : "QEMU exited",
                       why[0] != '\0' ? "; QEMU said: " : "", why);
        }
      return NULL;
    }

  greeting = ql_qmp_get_greeting (probe->inst[0].qmp);
  if (!ql_qmp_get_qemu_version (probe->inst[0].qmp, &major, &minor, &micro))
    {
      g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_PROBE_FAILED,
                   "probing %s failed: its QMP greeting has no version", stamp->path);
      return NULL;
    }
  version_string = g_strdup_printf ("%u.%u.%u", major, minor, micro);
  if (greeting != NULL)
    {
      /* The greeting's "QMP" member: {"version": {"qemu", "package"}, ...}. */
      JsonObject *version = ql_json_object (greeting, "version");
      const char *p = version != NULL ? ql_json_string (version, "package") : NULL;

      if (p != NULL)
        package = g_strstrip (g_strdup (p));
    }
  if (package == NULL)
    package = g_strdup ("");

  kvm = reply_object (probe, "kvm");
  chardevs = names_of (reply_array (probe, "chardevs"), "name", NULL);
  accels = names_of (reply_array (probe, "accels"), "name", "-accel");
  cpus = names_of (reply_array (probe, "cpus"), "name", NULL);
  netdevs = netdev_types (reply_array (probe, "schema"));

  machines = machines_variant (reply_array (probe, "machines"), &default_machine);
  return g_variant_ref_sink (g_variant_new ("(sssxxx(uuu)ssbs@a(sssb)@as@a(sa(ss))@as@a(sa(ss))@as@as@as@as@a(sas)@a(ss))",
      QL_CAPS_FORMAT, QL_VERSION, stamp->path, stamp->size, stamp->mtime, stamp->inode,
      major, minor, micro, version_string, package,
      kvm != NULL && ql_json_bool (kvm, "present", FALSE),
      default_machine != NULL ? default_machine : "",
      machines, string_array (devices), properties_variant (probe, devices, "device:"),
      string_array (object_names), properties_variant (probe, object_names, "object:"),
      string_array (cpus), string_array (accels), string_array (chardevs),
      string_array (netdevs), command_line_options_variant (reply_array (probe, "cmdline")),
      failures_variant (probe, devices, "device:")));
}

static GVariant *
probe_once (const QlCapsStamp   *stamp,
            const char * const  *device_types,
            gboolean             all_properties,
            GCancellable        *cancellable,
            gboolean            *retryable,
            GError             **error)
{
  Probe probe = { 0 };
  g_autofree char *dir = NULL;
  GVariant *data;

  dir = g_dir_make_tmp ("qlaunch-probe-XXXXXX", error);
  if (dir == NULL)
    return NULL;

  probe.context = g_main_context_new ();
  probe.cancellable = cancellable;
  probe.replies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) json_node_unref);
  probe.failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_main_context_push_thread_default (probe.context);
  data = probe_in_context (&probe, stamp, dir, device_types, all_properties, error);
  *retryable = probe.retryable;
  probe_clear (&probe);
  g_main_context_pop_thread_default (probe.context);
  g_main_context_unref (probe.context);
  for (guint i = 0; i < N_INSTANCES; i++)
    {
      g_autofree char *name = g_strdup_printf ("qmp%u.sock", i);
      g_autofree char *socket_path = g_build_filename (dir, name, NULL);

      (void) g_unlink (socket_path);
    }
  (void) g_rmdir (dir);
  return data;
}

GVariant *
ql_qemu_caps_probe_data (const QlCapsStamp   *stamp,
                         const char * const  *device_types,
                         gboolean             all_properties,
                         GCancellable        *cancellable,
                         GError             **error)
{
  g_autoptr(GError) first = NULL;
  gboolean retryable = FALSE;
  GVariant *data;

  data = probe_once (stamp, device_types, all_properties, cancellable, &retryable, &first);
  if (data != NULL || !retryable)
    {
      if (first != NULL)
        g_propagate_error (error, g_steal_pointer (&first));
      return data;
    }
  g_debug ("qlaunch: probing again: %s", first->message);
  return probe_once (stamp, device_types, all_properties, cancellable, &retryable, error);
}
