/* Suite qemu: QlQmp against the real qemu-system-x86_64 (7.2, TCG).
 *
 * Every VM is stopped (-S), has no devices (-nodefaults, no display) and a
 * QMP socket in the test's temporary directory. QEMU is started with
 * ql_test_spawn() (it dies with the test process) and is always killed and
 * reaped in the teardown. Waits are bounded by a watchdog on the main
 * context.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>

#define QEMU "qemu-system-x86_64"
#define CONNECT_MS 15000
#define WAIT_MS 20000

/* ---- bounded waits ------------------------------------------------------ */

static gboolean
count_nonzero (gpointer data)
{
  return *(guint *) data != 0;
}

static void
drain (void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* ---- VMs ---------------------------------------------------------------- */

typedef struct
{
  char *name;
  char *qmp_path;
  GSubprocess *proc;
  QlQmp *qmp;
  guint disconnected;
  GError *reason;
} Vm;

typedef struct
{
  char *dir;
  GPtrArray *vms;
} Fixture;

static gboolean
have_qemu (void)
{
  g_autofree char *path = g_find_program_in_path (QEMU);

  if (path == NULL)
    {
      g_test_skip (QEMU " is not installed");
      return FALSE;
    }
  return TRUE;
}

/* What QEMU wrote on stderr so far (never blocks). */
static char *
vm_stderr (Vm *vm)
{
  GInputStream *in = g_subprocess_get_stderr_pipe (vm->proc);
  GString *text = g_string_new (NULL);
  char buf[4096];

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), buf,
                                                           sizeof buf, NULL, &error);

      if (n <= 0)
        break;
      g_string_append_len (text, buf, n);
    }
  return g_string_free (text, FALSE);
}

static void
vm_kill (Vm *vm)
{
  if (vm->proc == NULL)
    return;
  g_subprocess_force_exit (vm->proc);
  g_subprocess_wait (vm->proc, NULL, NULL);
}

static void
vm_free (Vm *vm)
{
  g_autofree char *err = NULL;

  if (vm->qmp != NULL)
    {
      g_signal_handlers_disconnect_by_data (vm->qmp, vm);
      ql_qmp_close (vm->qmp);
    }
  vm_kill (vm);
  if (vm->proc != NULL)
    {
      err = vm_stderr (vm);
      if (err[0] != '\0')
        g_test_message ("QEMU %s stderr: %s", vm->name, err);
    }
  g_clear_object (&vm->proc);
  g_clear_object (&vm->qmp);
  g_clear_error (&vm->reason);
  g_free (vm->qmp_path);
  g_free (vm->name);
  g_free (vm);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = ql_test_make_tmpdir ();
  f->vms = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_free);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_ptr_array_unref (f->vms);
  drain ();
  ql_test_rm_rf (f->dir);
  g_free (f->dir);
}

static void
on_vm_disconnected (QlQmp  *qmp,
                    GError *reason,
                    Vm     *vm)
{
  vm->disconnected++;
  g_clear_error (&vm->reason);
  vm->reason = g_error_copy (reason);
}

/* Starts QEMU (-S, no devices, @memory of RAM, then @extra) and connects
 * to its QMP socket. */
static Vm *
vm_start (Fixture            *f,
          const char         *name,
          const char         *memory,
          const char * const *extra)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *sock = g_strdup_printf ("%s.qmp", name);
  Vm *vm = g_new0 (Vm, 1);

  vm->name = g_strdup (name);
  vm->qmp_path = g_build_filename (f->dir, sock, NULL);
  g_ptr_array_add (argv, g_strdup (QEMU));
  g_ptr_array_add (argv, g_strdup ("-S"));
  g_ptr_array_add (argv, g_strdup ("-nodefaults"));
  g_ptr_array_add (argv, g_strdup ("-display"));
  g_ptr_array_add (argv, g_strdup ("none"));
  g_ptr_array_add (argv, g_strdup ("-machine"));
  g_ptr_array_add (argv, g_strdup ("q35,accel=tcg"));
  g_ptr_array_add (argv, g_strdup ("-m"));
  g_ptr_array_add (argv, g_strdup (memory != NULL ? memory : "128M"));
  g_ptr_array_add (argv, g_strdup ("-qmp"));
  g_ptr_array_add (argv, g_strdup_printf ("unix:%s,server=on,wait=off", vm->qmp_path));
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (extra[i]));
  g_ptr_array_add (argv, NULL);

  vm->proc = ql_test_spawn ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_ptr_array_add (f->vms, vm);

  vm->qmp = ql_qmp_new ();
  g_signal_connect (vm->qmp, "disconnected", G_CALLBACK (on_vm_disconnected), vm);
  if (!ql_qmp_connect (vm->qmp, vm->qmp_path, CONNECT_MS, NULL, &error))
    {
      g_autofree char *err = vm_stderr (vm);

      g_error ("QEMU %s: %s; stderr: %s", name, error->message, err);
    }
  return vm;
}

static pid_t
vm_pid (Vm *vm)
{
  return (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (vm->proc), NULL, 10);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  gint64 when;
  JsonNode *ret;
  JsonObject *event;
  GError *error;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->ret, json_node_unref);
  g_clear_pointer (&r->event, json_object_unref);
  g_clear_error (&r->error);
  memset (r, 0, sizeof *r);
}

static void
on_execute (GObject      *source,
            GAsyncResult *res,
            gpointer      data)
{
  Result *r = data;

  r->ret = ql_qmp_execute_finish (QL_QMP (source), res, &r->error);
  r->ok = r->ret != NULL;
  r->when = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
on_wait_event (GObject      *source,
               GAsyncResult *res,
               gpointer      data)
{
  Result *r = data;

  r->event = ql_qmp_wait_event_finish (QL_QMP (source), res, &r->error);
  r->ok = r->event != NULL;
  r->when = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
on_device_del (GObject      *source,
               GAsyncResult *res,
               gpointer      data)
{
  Result *r = data;

  r->ok = ql_qmp_device_del_finish (QL_QMP (source), res, &r->error);
  r->when = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
wait_result (Result     *r,
             const char *what)
{
  ql_test_wait_until (NULL, ql_test_flag_set, &r->done, WAIT_MS, what);
}

static void
assert_status (Vm         *vm,
               const char *expected,
               gboolean    expected_running)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;
  gboolean running = !expected_running;

  g_assert_true (ql_qmp_query_status (vm->qmp, &status, &running, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (status, ==, expected);
  g_assert_cmpint (running, ==, expected_running);
}

/* The element of the array @list whose @key member is the string @value. */
static JsonObject *
find_in (JsonNode   *list,
         const char *key,
         const char *value)
{
  JsonArray *array;

  g_assert_nonnull (list);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (list));
  array = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (o, key, NULL), value) == 0)
        return o;
    }
  return NULL;
}

static JsonNode *
execute_ok (Vm         *vm,
            const char *command,
            JsonObject *args)
{
  g_autoptr(GError) error = NULL;
  JsonNode *ret = ql_qmp_execute (vm->qmp, command, args, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ret);
  return ret;
}

/* ---- run state ---------------------------------------------------------- */

static void
on_event_count (QlQmp      *qmp,
                const char *name,
                JsonObject *data,
                guint      *count)
{
  (*count)++;
}

static void
test_status (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Result resume = { 0 }, stop = { 0 };
  guint major = 0, minor = 0, micro = 0;
  guint resumes = 0;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "status", NULL, NULL);
  g_assert_true (ql_qmp_is_connected (vm->qmp));
  g_assert_true (ql_qmp_get_qemu_version (vm->qmp, &major, &minor, &micro));
  g_test_message ("QEMU %u.%u.%u", major, minor, micro);
  g_assert_cmpuint (major, ==, 7);
  g_assert_cmpuint (minor, ==, 2);
  assert_status (vm, "prelaunch", FALSE);

  g_signal_connect (vm->qmp, "event::RESUME", G_CALLBACK (on_event_count), &resumes);
  ql_qmp_wait_event_async (vm->qmp, "RESUME", NULL, NULL, WAIT_MS, NULL, on_wait_event, &resume);
  g_assert_true (ql_qmp_cont (vm->qmp, NULL, &error));
  g_assert_no_error (error);
  wait_result (&resume, "RESUME");
  g_assert_no_error (resume.error);
  g_assert_cmpuint (resumes, ==, 1);
  assert_status (vm, "running", TRUE);

  ql_qmp_wait_event_async (vm->qmp, "STOP", NULL, NULL, WAIT_MS, NULL, on_wait_event, &stop);
  g_assert_true (ql_qmp_stop (vm->qmp, NULL, &error));
  g_assert_no_error (error);
  wait_result (&stop, "STOP");
  g_assert_no_error (stop.error);
  assert_status (vm, "paused", FALSE);
  g_signal_handlers_disconnect_by_data (vm->qmp, &resumes);
  g_assert_cmpuint (vm->disconnected, ==, 0);
  result_clear (&resume);
  result_clear (&stop);
}

/* ---- errors ------------------------------------------------------------- */

static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "errors", NULL, NULL);

  g_assert_false (ql_qmp_device_add (vm->qmp, "no-such-driver", "x0", NULL, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
  g_assert_cmpstr (error->message, ==, "device_add: 'no-such-driver' is not a valid device model name");
  g_assert_cmpstr (ql_qmp_error_get_class (error), ==, "GenericError");
  g_clear_error (&error);

  g_assert_null (ql_qmp_execute (vm->qmp, "no-such-command", NULL, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_COMMAND_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "no-such-command: The command no-such-command has not been found");
  g_clear_error (&error);

  g_assert_false (ql_qmp_device_del (vm->qmp, "nope", 2000, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "device_del: Device 'nope' not found");
  g_clear_error (&error);

  g_assert_true (ql_qmp_is_connected (vm->qmp));
  assert_status (vm, "prelaunch", FALSE);
}

/* ---- objects, chardevs, netdevs, block nodes ---------------------------- */

static void
test_backends (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(JsonObject) props = json_object_new ();
  g_autoptr(JsonObject) backend = json_object_new ();
  g_autoptr(JsonObject) block = json_object_new ();
  g_autoptr(JsonObject) flat = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "backends", NULL, NULL);

  /* object-add / object-del */
  json_object_set_int_member (props, "size", 64 * 1024 * 1024);
  g_assert_true (ql_qmp_object_add (vm->qmp, "memory-backend-ram", "mb0", props, NULL, &error));
  g_assert_no_error (error);
  ret = execute_ok (vm, "query-memdev", NULL);
  g_assert_nonnull (find_in (ret, "id", "mb0"));
  g_clear_pointer (&ret, json_node_unref);
  ret = ql_qmp_qom_get (vm->qmp, "/objects/mb0", "size", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (ret), ==, 64 * 1024 * 1024);
  g_clear_pointer (&ret, json_node_unref);
  g_assert_true (ql_qmp_object_del (vm->qmp, "mb0", NULL, &error));
  g_assert_no_error (error);
  g_assert_null (ql_qmp_qom_get (vm->qmp, "/objects/mb0", "size", NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND);
  g_clear_error (&error);

  /* chardev-add / chardev-remove */
  json_object_set_string_member (backend, "type", "null");
  json_object_set_object_member (backend, "data", json_object_new ());
  g_assert_true (ql_qmp_chardev_add (vm->qmp, "c0", backend, NULL, &error));
  g_assert_no_error (error);
  ret = execute_ok (vm, "query-chardev", NULL);
  g_assert_nonnull (find_in (ret, "label", "c0"));
  g_clear_pointer (&ret, json_node_unref);
  g_assert_true (ql_qmp_chardev_remove (vm->qmp, "c0", NULL, &error));
  g_assert_no_error (error);
  ret = execute_ok (vm, "query-chardev", NULL);
  g_assert_null (find_in (ret, "label", "c0"));
  g_clear_pointer (&ret, json_node_unref);

  /* netdev_add / netdev_del of a user (slirp) backend, if QEMU has one */
  if (!ql_qmp_netdev_add (vm->qmp, "user", "n0", NULL, NULL, &error))
    {
      g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
      g_assert_nonnull (strstr (error->message, "user"));
      g_test_message ("no slirp in this QEMU (%s): netdev part skipped", error->message);
      g_clear_error (&error);
    }
  else
    {
      g_assert_true (ql_qmp_netdev_del (vm->qmp, "n0", NULL, &error));
      g_assert_no_error (error);
      g_assert_false (ql_qmp_netdev_del (vm->qmp, "n0", NULL, &error));
      g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND);
      g_clear_error (&error);
    }

  /* blockdev-add / blockdev-del of a null-co node */
  json_object_set_string_member (block, "driver", "null-co");
  json_object_set_string_member (block, "node-name", "null0");
  json_object_set_int_member (block, "size", 1024 * 1024);
  g_assert_true (ql_qmp_blockdev_add (vm->qmp, block, NULL, &error));
  g_assert_no_error (error);
  json_object_set_boolean_member (flat, "flat", TRUE);
  ret = execute_ok (vm, "query-named-block-nodes", flat);
  g_assert_nonnull (find_in (ret, "node-name", "null0"));
  g_clear_pointer (&ret, json_node_unref);
  g_assert_true (ql_qmp_blockdev_del (vm->qmp, "null0", NULL, &error));
  g_assert_no_error (error);
  ret = execute_ok (vm, "query-named-block-nodes", flat);
  g_assert_null (find_in (ret, "node-name", "null0"));
  g_clear_pointer (&ret, json_node_unref);

  g_assert_cmpuint (vm->disconnected, ==, 0);
}

/* ---- migration settings ------------------------------------------------- */

static gboolean
capability_state (JsonNode   *list,
                  const char *name)
{
  JsonObject *c = find_in (list, "capability", name);

  g_assert_nonnull (c);
  return json_object_get_boolean_member (c, "state");
}

static void
test_migration_settings (Fixture       *f,
                         gconstpointer  data)
{
  const char *enable[] = { "events", "x-ignore-shared", NULL };
  const char *disable[] = { "zero-blocks", NULL };
  const char *enable2[] = { "zero-blocks", NULL };
  const char *disable2[] = { "events", NULL };
  g_autoptr(JsonObject) params = json_object_new ();
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *o;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "migset", NULL, NULL);

  g_assert_true (ql_qmp_migrate_set_capabilities (vm->qmp, enable, disable, NULL, &error));
  g_assert_no_error (error);
  ret = execute_ok (vm, "query-migrate-capabilities", NULL);
  g_assert_true (capability_state (ret, "events"));
  g_assert_true (capability_state (ret, "x-ignore-shared"));
  g_assert_false (capability_state (ret, "zero-blocks"));
  g_clear_pointer (&ret, json_node_unref);
  g_assert_true (ql_qmp_migrate_set_capabilities (vm->qmp, enable2, disable2, NULL, &error));
  g_assert_no_error (error);
  ret = execute_ok (vm, "query-migrate-capabilities", NULL);
  g_assert_false (capability_state (ret, "events"));
  g_assert_true (capability_state (ret, "zero-blocks"));
  g_clear_pointer (&ret, json_node_unref);

  json_object_set_int_member (params, "max-bandwidth", 12345678);
  json_object_set_int_member (params, "downtime-limit", 456);
  g_assert_true (ql_qmp_migrate_set_parameters (vm->qmp, params, NULL, &error));
  g_assert_no_error (error);
  ret = execute_ok (vm, "query-migrate-parameters", NULL);
  o = json_node_get_object (ret);
  g_assert_cmpint (json_object_get_int_member (o, "max-bandwidth"), ==, 12345678);
  g_assert_cmpint (json_object_get_int_member (o, "downtime-limit"), ==, 456);
  g_clear_pointer (&ret, json_node_unref);

  /* QEMU checks the values. */
  json_object_set_int_member (params, "downtime-limit", -1);
  g_assert_false (ql_qmp_migrate_set_parameters (vm->qmp, params, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
}

/* ---- CPU and memory hotplug --------------------------------------------- */

static gint
prop_or_minus_one (JsonObject *props,
                   const char *name)
{
  return json_object_has_member (props, name) ? (gint) json_object_get_int_member (props, name) : -1;
}

static void
test_cpu_hotplug (Fixture       *f,
                  gconstpointer  data)
{
  const char *extra[] = { "-smp", "1,maxcpus=2", NULL };
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *slots;
  JsonObject *free_slot = NULL;
  g_autoptr(JsonObject) props = NULL;
  g_autofree char *type = NULL;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "cpus", NULL, extra);

  ret = ql_qmp_query_hotpluggable_cpus (vm->qmp, NULL, &error);
  g_assert_no_error (error);
  slots = json_node_get_array (ret);
  g_assert_cmpuint (json_array_get_length (slots), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *slot = json_array_get_object_element (slots, i);

      if (!json_object_has_member (slot, "qom-path"))
        {
          g_assert_null (free_slot);
          free_slot = slot;
        }
    }
  g_assert_nonnull (free_slot);
  type = g_strdup (json_object_get_string_member (free_slot, "type"));
  props = json_object_ref (json_object_get_object_member (free_slot, "props"));
  g_assert_true (ql_qmp_hotplug_cpu (vm->qmp, type, "cpu1",
                                     prop_or_minus_one (props, "socket-id"),
                                     prop_or_minus_one (props, "die-id"),
                                     prop_or_minus_one (props, "core-id"),
                                     prop_or_minus_one (props, "thread-id"),
                                     NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);

  ret = ql_qmp_query_hotpluggable_cpus (vm->qmp, NULL, &error);
  g_assert_no_error (error);
  slots = json_node_get_array (ret);
  g_assert_cmpuint (json_array_get_length (slots), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_true (json_object_has_member (json_array_get_object_element (slots, i), "qom-path"));

  /* No free slot left. */
  g_assert_false (ql_qmp_hotplug_cpu (vm->qmp, type, "cpu2",
                                      prop_or_minus_one (props, "socket-id"),
                                      prop_or_minus_one (props, "die-id"),
                                      prop_or_minus_one (props, "core-id"),
                                      prop_or_minus_one (props, "thread-id"),
                                      NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
}

static void
test_memory_hotplug (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *devices;
  JsonObject *dimm;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "memory", "128M,slots=2,maxmem=1G", NULL);

  g_assert_true (ql_qmp_hotplug_memory (vm->qmp, "memory-backend-ram", "hp0", NULL,
                                        128 * 1024 * 1024, FALSE, NULL, &error));
  g_assert_no_error (error);
  ret = ql_qmp_query_memory_devices (vm->qmp, NULL, &error);
  g_assert_no_error (error);
  devices = json_node_get_array (ret);
  g_assert_cmpuint (json_array_get_length (devices), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (devices, 0), "type"),
                   ==, "dimm");
  dimm = json_object_get_object_member (json_array_get_object_element (devices, 0), "data");
  g_assert_cmpstr (json_object_get_string_member (dimm, "id"), ==, "dimmhp0");
  g_assert_cmpstr (json_object_get_string_member (dimm, "memdev"), ==, "/objects/memhp0");
  g_assert_cmpint (json_object_get_int_member (dimm, "size"), ==, 128 * 1024 * 1024);
  g_clear_pointer (&ret, json_node_unref);

  /* Too big for what is left of maxmem: the DIMM fails and the backend
   * goes away again. */
  g_assert_false (ql_qmp_hotplug_memory (vm->qmp, "memory-backend-ram", "hp1", NULL,
                                         1024 * 1024 * 1024, FALSE, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
  g_clear_error (&error);
  g_assert_null (ql_qmp_qom_get (vm->qmp, "/objects/memhp1", "size", NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND);
  g_clear_error (&error);
  ret = ql_qmp_query_memory_devices (vm->qmp, NULL, &error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (ret)), ==, 1);
}

/* ---- the memory balloon; rng and balloon hot-plugged ------------------- */

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
  r->done = TRUE;
}

static QlDevice *
device_from_spec (QlRegistry *registry,
                  const char *spec)
{
  g_autoptr(GError) error = NULL;
  QlDevice *device = ql_registry_create_device_from_spec (registry, spec, &error);

  g_assert_no_error (error);
  return device;
}

static void
test_balloon (Fixture       *f,
              gconstpointer  data)
{
  const char *extra[] = { "-device", "virtio-balloon-pci,id=balloon0", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  Result r = { 0 };
  guint64 actual = 0;
  Vm *plain;
  Vm *vm;

  if (!have_qemu ())
    return;

  /* No balloon device: QEMU's class comes through. */
  plain = vm_start (f, "no-balloon", "256M", NULL);
  g_assert_false (ql_qmp_balloon (plain->qmp, 128 * 1024 * 1024, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_ACTIVE);
  g_assert_cmpstr (error->message, ==, "balloon: No balloon device has been activated");
  g_clear_error (&error);
  g_assert_false (ql_qmp_query_balloon (plain->qmp, &actual, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_ACTIVE);
  g_clear_error (&error);

  vm = vm_start (f, "balloon", "256M", extra);
  g_assert_true (ql_qmp_query_balloon (vm->qmp, &actual, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (actual, ==, 256 * 1024 * 1024);
  g_assert_true (ql_qmp_balloon (vm->qmp, 128 * 1024 * 1024, NULL, &error));
  g_assert_no_error (error);
  /* The guest never ran (-S): no driver took pages, so the memory the
   * balloon leaves the guest is still all of it. */
  ql_qmp_query_balloon_async (vm->qmp, NULL, on_query_balloon, &r);
  wait_result (&r, "query-balloon");
  g_assert_no_error (r.error);
  g_assert_cmpint (json_node_get_int (r.ret), ==, 256 * 1024 * 1024);
  result_clear (&r);
  /* Above the RAM size: QEMU takes it (and caps it). */
  ql_qmp_balloon_async (vm->qmp, G_GINT64_CONSTANT (1) << 40, NULL, on_execute, &r);
  wait_result (&r, "balloon");
  g_assert_no_error (r.error);
  result_clear (&r);

  /* What the library's check of 0 spares the caller: QEMU names a
   * parameter 'target' that the command does not have. */
  json_object_set_int_member (args, "value", 0);
  g_assert_null (ql_qmp_execute (vm->qmp, "balloon", args, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
  g_test_message ("QEMU on balloon 0: %s", error->message);
  g_clear_error (&error);
  g_assert_false (ql_qmp_balloon (vm->qmp, 0, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_true (ql_qmp_is_connected (vm->qmp));

  /* `qlaunch qmp SOCKET balloon SIZE`, the CLI's shorthand, and its JSON
   * form (QEMU serves one QMP client at a time: the library's goes). */
  g_signal_handlers_disconnect_by_data (vm->qmp, vm);
  ql_qmp_close (vm->qmp);
  {
    static const struct
    {
      const char *arg;          /* NULL: query-balloon */
      int status;
      const char *out;
      const char *err;          /* a fragment; NULL: empty */
    } cli[] = {
      { "128M", 0, "{}\n", NULL },
      { NULL, 0, "{\"actual\":268435456}\n", NULL },
      { "134217728", 0, "{}\n", NULL },
      { " {\"value\": 67108864}", 0, "{}\n", NULL },
      { "1T", 0, "{}\n", NULL },
      { "0", 2, "", "qlaunch: balloon SIZE '0': the guest's target memory size must be from 1 to 9223372036854775807 bytes (2^63-1), such as 128M\n" },
      { "8388608T", 2, "", "qlaunch: balloon SIZE '8388608T': the guest's target memory size must be" },
      { "128Q", 2, "", "qlaunch: balloon SIZE '128Q': not a size: expected bytes with an optional suffix K, M, G or T (such as 128M), or JSON-ARGUMENTS such as {\"value\": 134217728}\n" },
      { "1.5G", 2, "", "qlaunch: balloon SIZE '1.5G': not a size" },
      { "{\"value\": 0}", 1, "", "qlaunch: qmp balloon: GenericError: Parameter 'target' expects a size\n" },
      { "{\"value\": ", 2, "", "qlaunch: JSON-ARGUMENTS '{\"value\": ': " },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (cli); i++)
      {
        const char *cli_args[] = { "qmp", vm->qmp_path, cli[i].arg != NULL ? "balloon" : "query-balloon",
                                   cli[i].arg, NULL };
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;
        int status = ql_test_run_cli (cli_args, &out, &err);

        g_test_message ("qlaunch qmp %s %s: %d %s%s", cli_args[2], cli[i].arg != NULL ? cli[i].arg : "",
                        status, out, err);
        g_assert_cmpint (status, ==, cli[i].status);
        g_assert_cmpstr (out, ==, cli[i].out);
        if (cli[i].err == NULL)
          g_assert_cmpstr (err, ==, "");
        else
          g_assert_true (g_str_has_prefix (err, cli[i].err));
      }
  }
}

static void
test_rng_balloon_hotplug (Fixture       *f,
                          gconstpointer  data)
{
  const char *extra[] = { "-device", "pcie-root-port,id=rp0,chassis=1",
                          "-device", "pcie-root-port,id=rp1,chassis=2", NULL };
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlDevice) rng = NULL;
  g_autoptr(QlDevice) balloon = NULL;
  g_autoptr(QlDevice) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) period = NULL;
  g_autoptr(JsonNode) max_bytes = NULL;
  g_autoptr(JsonNode) link = NULL;
  g_autoptr(JsonNode) filename = NULL;
  g_autoptr(JsonNode) deflate = NULL;
  guint64 actual = 0;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "hotplug", "256M", extra);
  registry = ql_test_registry_new ();

  /* Through the plugins, as `qlaunch hotplug` does: object-add, then
   * device_add with typed values. */
  rng = device_from_spec (registry, "rng,id=rng0,bus=rp0,max-bytes=1K,period=100");
  g_assert_true (ql_qmp_hotplug_device (vm->qmp, rng, NULL, NULL, &error));
  g_assert_no_error (error);
  max_bytes = ql_qmp_qom_get (vm->qmp, "/machine/peripheral/rng0", "max-bytes", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (max_bytes), ==, 1024);
  period = ql_qmp_qom_get (vm->qmp, "/machine/peripheral/rng0", "period", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (period), ==, 100);
  link = ql_qmp_qom_get (vm->qmp, "/machine/peripheral/rng0", "rng", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (link), ==, "/objects/rng0");
  filename = ql_qmp_qom_get (vm->qmp, "/objects/rng0", "filename", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (filename), ==, "/dev/urandom");

  balloon = device_from_spec (registry, "balloon,id=balloon0,bus=rp1,deflate-on-oom=on");
  g_assert_true (ql_qmp_hotplug_device (vm->qmp, balloon, NULL, NULL, &error));
  g_assert_no_error (error);
  deflate = ql_qmp_qom_get (vm->qmp, "/machine/peripheral/balloon0/virtio-backend", "deflate-on-oom",
                            NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_get_boolean (deflate));
  g_assert_true (ql_qmp_balloon (vm->qmp, 64 * 1024 * 1024, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_query_balloon (vm->qmp, &actual, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (actual, ==, 256 * 1024 * 1024);

  /* A second balloon: QEMU refuses it ("Only one balloon device is
   * supported") and the hot-plug leaves nothing behind. */
  second = device_from_spec (registry, "balloon,id=balloon1,bus=rp0");
  g_assert_false (ql_qmp_hotplug_device (vm->qmp, second, NULL, NULL, &error));
  g_test_message ("second balloon: %s", error->message);
  g_assert_nonnull (strstr (error->message, "Only one balloon device is supported"));
  g_clear_error (&error);
  g_assert_null (ql_qmp_qom_get (vm->qmp, "/machine/peripheral/balloon1", "type", NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND);
}

/* ---- getfd / closefd ---------------------------------------------------- */

/* Whether process @pid has a descriptor open on @path. */
static gboolean
process_has_file (pid_t       pid,
                  const char *path)
{
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (fd_dir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (fd_dir, name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);

      if (g_strcmp0 (target, path) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_getfd (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *file = g_build_filename (f->dir, "passed-file", NULL);
  g_autoptr(GError) error = NULL;
  Vm *vm;
  int fd;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "getfd", NULL, NULL);
  g_assert_true (g_file_set_contents (file, "data", -1, NULL));
  fd = open (file, O_RDWR | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_false (process_has_file (vm_pid (vm), file));

  g_assert_true (ql_qmp_getfd (vm->qmp, fd, "fd0", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (process_has_file (vm_pid (vm), file));
  g_assert_cmpint (fcntl (fd, F_GETFD), >=, 0);

  g_assert_true (ql_qmp_closefd (vm->qmp, "fd0", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (process_has_file (vm_pid (vm), file));
  g_assert_false (ql_qmp_closefd (vm->qmp, "fd0", NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
  g_assert_cmpstr (error->message, ==, "closefd: File descriptor named 'fd0' not found");
  close (fd);
}

/* ---- migration to a file and back --------------------------------------- */

static void
test_migration (Fixture       *f,
                gconstpointer  data)
{
  const char *incoming[] = { "-incoming", "defer", NULL };
  g_autofree char *file = g_build_filename (f->dir, "mig.bin", NULL);
  g_autofree char *out_uri = g_strdup_printf ("exec:cat > '%s'", file);
  g_autofree char *in_uri = g_strdup_printf ("exec:cat '%s'", file);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;
  Vm *src, *dst;

  if (!have_qemu ())
    return;
  src = vm_start (f, "src", NULL, NULL);
  g_assert_true (ql_qmp_migrate (src->qmp, out_uri, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_wait_migration (src->qmp, WAIT_MS, NULL, &error));
  g_assert_no_error (error);
  ret = ql_qmp_query_migrate (src->qmp, NULL, &error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ret), "status"), ==, "completed");
  g_clear_pointer (&ret, json_node_unref);
  assert_status (src, "postmigrate", FALSE);
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_test_message ("migration stream: %" G_GINT64_FORMAT " bytes", (gint64) st.st_size);
  g_assert_cmpint (st.st_size, >, 0);

  dst = vm_start (f, "dst", NULL, incoming);
  assert_status (dst, "inmigrate", FALSE);
  g_assert_true (ql_qmp_migrate_incoming (dst->qmp, in_uri, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_wait_migration (dst->qmp, WAIT_MS, NULL, &error));
  g_assert_no_error (error);
  /* -S: the guest stays stopped. */
  assert_status (dst, "prelaunch", FALSE);
  g_assert_cmpuint (src->disconnected + dst->disconnected, ==, 0);
}

static void
test_migration_missing (Fixture       *f,
                        gconstpointer  data)
{
  const char *incoming[] = { "-incoming", "defer", NULL };
  g_autofree char *file = g_build_filename (f->dir, "missing.bin", NULL);
  g_autofree char *in_uri = g_strdup_printf ("exec:cat '%s'", file);
  g_autoptr(GError) error = NULL;
  gint64 start, ms;
  Vm *dst;

  if (!have_qemu ())
    return;
  dst = vm_start (f, "dst-missing", NULL, incoming);
  g_assert_true (ql_qmp_migrate_incoming (dst->qmp, in_uri, NULL, &error));
  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  g_assert_false (ql_qmp_wait_migration (dst->qmp, 2000, NULL, &error));
  ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("%s (after %" G_GINT64_FORMAT " ms)", error->message, ms);
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
  g_assert_cmpint (ms, >=, 1990);
  g_assert_cmpint (ms, <, 3500);
  /* QEMU 7.2 just sits there. */
  assert_status (dst, "inmigrate", FALSE);
}

/* ---- QEMU dies with a command pending ----------------------------------- */

static gboolean
process_stopped (gpointer data)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", GPOINTER_TO_INT (data));
  g_autofree char *stat = NULL;
  const char *paren;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  paren = strrchr (stat, ')');
  return paren != NULL && paren[1] == ' ' && paren[2] == 'T';
}

/* SIGSTOP first: a command sent then is never answered, whatever the
 * timing; then SIGKILL before the main loop runs again. */
static void
test_kill_pending (Fixture       *f,
                   gconstpointer  data)
{
  Result r = { 0 };
  gint64 killed;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "killed", NULL, NULL);
  g_subprocess_send_signal (vm->proc, SIGSTOP);
  for (guint i = 0; i < 2000 && !process_stopped (GINT_TO_POINTER (vm_pid (vm))); i++)
    g_usleep (1000);
  g_assert_true (process_stopped (GINT_TO_POINTER (vm_pid (vm))));

  ql_qmp_query_status_async (vm->qmp, NULL, on_execute, &r);
  killed = g_get_monotonic_time ();
  g_subprocess_send_signal (vm->proc, SIGKILL);
  wait_result (&r, "the command to fail");
  g_test_message ("failed after %" G_GINT64_FORMAT " us: %s", r.when - killed, r.error->message);
  g_assert_error (r.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  g_assert_cmpint (r.when - killed, <, G_USEC_PER_SEC);
  g_assert_false (ql_qmp_is_connected (vm->qmp));
  g_assert_true (g_subprocess_wait (vm->proc, NULL, NULL));
  drain ();
  g_assert_cmpuint (vm->disconnected, ==, 1);
  g_assert_error (vm->reason, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  result_clear (&r);
}

/* device_del of a PCIe device on a -S VM waits for a guest that never
 * runs; QEMU's death ends the wait. */
static void
test_kill_device_del (Fixture       *f,
                      gconstpointer  data)
{
  const char *extra[] = { "-device", "pcie-root-port,id=rp0,chassis=1,bus=pcie.0", NULL };
  g_autoptr(JsonObject) props = json_object_new ();
  g_autoptr(GError) error = NULL;
  Result del = { 0 };
  gint64 killed;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "unplug", NULL, extra);
  json_object_set_string_member (props, "bus", "rp0");
  g_assert_true (ql_qmp_device_add (vm->qmp, "virtio-net-pci", "nic0", props, NULL, &error));
  g_assert_no_error (error);

  ql_qmp_device_del_async (vm->qmp, "nic0", 0, NULL, on_device_del, &del);
  /* Replies come in order: once this one is back, QEMU accepted the
   * device_del and only DEVICE_DELETED is missing. */
  assert_status (vm, "prelaunch", FALSE);
  g_assert_false (del.done);

  killed = g_get_monotonic_time ();
  g_subprocess_send_signal (vm->proc, SIGKILL);
  wait_result (&del, "device_del to fail");
  g_test_message ("failed after %" G_GINT64_FORMAT " us: %s", del.when - killed, del.error->message);
  g_assert_false (del.ok);
  g_assert_error (del.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  g_assert_cmpint (del.when - killed, <, G_USEC_PER_SEC);
  g_assert_true (g_subprocess_wait (vm->proc, NULL, NULL));
  drain ();
  g_assert_cmpuint (vm->disconnected, ==, 1);
  result_clear (&del);
}

/* ---- quit --------------------------------------------------------------- */

static void
on_exited (GObject      *source,
           GAsyncResult *res,
           gpointer      data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  *(gboolean *) data = TRUE;
}

static void
test_quit (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Result shutdown = { 0 };
  gboolean exited = FALSE;
  Vm *vm;

  if (!have_qemu ())
    return;
  vm = vm_start (f, "quit", NULL, NULL);
  ql_qmp_wait_event_async (vm->qmp, "SHUTDOWN", NULL, NULL, WAIT_MS, NULL, on_wait_event, &shutdown);
  if (!ql_qmp_quit (vm->qmp, NULL, &error))
    {
      /* QEMU may close the socket before its reply is out. */
      g_test_message ("quit: %s", error->message);
      g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
    }
  ql_test_wait_until (NULL, count_nonzero, &vm->disconnected, WAIT_MS, "the disconnected signal");
  g_assert_false (ql_qmp_is_connected (vm->qmp));
  g_assert_error (vm->reason, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  wait_result (&shutdown, "SHUTDOWN");
  if (shutdown.ok)
    g_assert_cmpstr (json_object_get_string_member (shutdown.event, "reason"), ==, "host-qmp-quit");
  else
    g_assert_error (shutdown.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);

  g_subprocess_wait_async (vm->proc, NULL, on_exited, &exited);
  ql_test_wait_until (NULL, ql_test_flag_set, &exited, WAIT_MS, "QEMU to exit");
  g_assert_true (g_subprocess_get_if_exited (vm->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (vm->proc), ==, 0);
  drain ();
  g_assert_cmpuint (vm->disconnected, ==, 1);
  result_clear (&shutdown);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/qmp-qemu/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("status", test_status);
  ADD ("errors", test_errors);
  ADD ("backends", test_backends);
  ADD ("migration-settings", test_migration_settings);
  ADD ("cpu-hotplug", test_cpu_hotplug);
  ADD ("memory-hotplug", test_memory_hotplug);
  ADD ("balloon", test_balloon);
  ADD ("rng-balloon-hotplug", test_rng_balloon_hotplug);
  ADD ("getfd", test_getfd);
  ADD ("migration", test_migration);
  ADD ("migration-missing-source", test_migration_missing);
  ADD ("kill/pending-command", test_kill_pending);
  ADD ("kill/device-del", test_kill_device_del);
  ADD ("quit", test_quit);

#undef ADD
  return g_test_run ();
}
