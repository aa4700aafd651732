/* qlaunch tests — the commands that talk to a running QEMU over QMP: the
 * built qlaunch ($QLAUNCH_BIN) against the real qemu-system-x86_64 (q35,
 * TCG, stopped with -S, no guest), started by the test.
 *
 *  - `qmp SOCKET COMMAND [JSON]`: the return value as one JSON line; a QMP
 *    error as `CLASS: DESCRIPTION`, exit 1; a bad JSON argument exit 2; no
 *    server at the socket exit 1 once --timeout has passed;
 *  - `qmp SOCKET --events`: one JSON line per event (RESUME, STOP after
 *    `cont`, `stop` through a second QMP socket), exit 0 on SIGTERM and
 *    when QEMU quits;
 *  - `hotplug SOCKET -d SPEC` / `unplug SOCKET ID`: a virtio-serial port
 *    (the char plugin) with its socket chardev is added and removed (a
 *    virtio-serial port goes without the guest's consent); a device QEMU
 *    refuses is rolled back and the ones added before it stay; a virtio-blk
 *    disk on a PCIe root port is added, and its unplug times out (there is no
 *    guest to release it); `--dry-run` prints blockdev-add and device_add
 *    without QEMU.
 *
 * Suite `qemu`; skipped when qemu-system-x86_64 is not installed. */
#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "ql-test-guest.h"
#include "ql-test-util.h"

#define QEMU_START_TIMEOUT_MS 20000
#define WAIT_TIMEOUT_MS       20000
/* A qlaunch that runs longer than this hangs. */
#define RUN_LIMIT_S           60

/* ---- running qlaunch to completion ---- */

static const char *
env_dir (const char *name)
{
  const char *dir = g_getenv (name);

  g_assert_nonnull (dir);
  return dir;
}

/* The directory qlaunch runs in; NULL: the test's own. */
static const char *run_cwd;

/* `qlaunch --plugin-dir BUILD ARGS...`, LC_ALL=C; output and status in @r. */
static void
run_argv (QlTestRun          *r,
          const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  if (run_cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, run_cwd);
  ql_test_run_bounded (r, launcher, RUN_LIMIT_S, args);
  ql_test_run_assert_exited (r);
}

static G_GNUC_NULL_TERMINATED void
run (QlTestRun *r,
     ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  run_argv (r, (const char * const *) args->pdata);
}

static void
assert_has (const char *text,
            const char *fragment)
{
  if (strstr (text, fragment) == NULL)
    g_error ("\"%s\" not found in: %s", fragment, text);
}

static void
assert_ok (QlTestRun *r)
{
  if (r->status != 0)
    g_error ("qlaunch failed (exit %d): %s", r->status, r->err);
}

/* Exit 1, nothing on stdout, each fragment on stderr. */
static G_GNUC_NULL_TERMINATED void
assert_failure (QlTestRun *r,
                ...)
{
  const char *fragment;
  va_list ap;

  g_assert_cmpint (r->status, ==, 1);
  g_assert_cmpstr (r->out, ==, "");
  va_start (ap, r);
  while ((fragment = va_arg (ap, const char *)) != NULL)
    assert_has (r->err, fragment);
  va_end (ap);
}

static void
assert_usage (QlTestRun  *r,
              const char *fragment)
{
  g_assert_cmpint (r->status, ==, 2);
  g_assert_cmpstr (r->out, ==, "");
  assert_has (r->err, "Usage");
  assert_has (r->err, fragment);
}

/* @text is one JSON value on one line, newline-terminated. */
static JsonNode *
parse_line (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize len = strlen (text);

  g_assert_cmpuint (len, >, 0);
  g_assert_cmpint (text[len - 1], ==, '\n');
  g_assert_null (memchr (text, '\n', len - 1));
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* ---- QEMU ---- */

typedef struct
{
  char        *dir;
  char        *sock;     /* QMP for the commands */
  char        *ev_sock;  /* a second QMP monitor, for `qmp --events` */
  GSubprocess *proc;
} Qemu;

static gboolean
have_qemu (void)
{
  g_autofree char *path = g_find_program_in_path ("qemu-system-x86_64");

  if (path == NULL)
    {
      g_test_skip ("qemu-system-x86_64 is not installed");
      return FALSE;
    }
  return TRUE;
}

/* QEMU, stopped (-S), with a virtio-serial controller vser0 and a PCIe root
 * port rp0, and two QMP sockets; returns once both exist. */
static Qemu *
qemu_start (void)
{
  g_autoptr(GError) error = NULL;
  Qemu *q = g_new0 (Qemu, 1);
  g_autofree char *qmp1 = NULL;
  g_autofree char *qmp2 = NULL;
  gint64 deadline;

  q->dir = ql_test_make_tmpdir ();
  q->sock = g_build_filename (q->dir, "q.sock", NULL);
  q->ev_sock = g_build_filename (q->dir, "ev.sock", NULL);
  qmp1 = g_strdup_printf ("unix:%s,server=on,wait=off", q->sock);
  qmp2 = g_strdup_printf ("unix:%s,server=on,wait=off", q->ev_sock);
  {
    const char *argv[] = {
      "qemu-system-x86_64", "-S", "-nodefaults", "-display", "none",
      "-machine", "q35,accel=tcg", "-m", "128M",
      "-qmp", qmp1, "-qmp", qmp2,
      "-device", "virtio-serial-pci,id=vser0",
      "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1",
      NULL
    };

    q->proc = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_STDIN_INHERIT, &error);
  }
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + QEMU_START_TIMEOUT_MS * 1000;
  while (!g_file_test (q->sock, G_FILE_TEST_EXISTS) || !g_file_test (q->ev_sock, G_FILE_TEST_EXISTS))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("QEMU did not create its QMP sockets in %d ms", QEMU_START_TIMEOUT_MS);
      g_usleep (10 * 1000);
    }
  return q;
}

static void
qemu_free (Qemu *q)
{
  g_subprocess_force_exit (q->proc);
  g_subprocess_wait (q->proc, NULL, NULL);
  g_object_unref (q->proc);
  ql_test_rm_rf (q->dir);
  g_free (q->sock);
  g_free (q->ev_sock);
  g_free (q->dir);
  g_free (q);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Qemu, qemu_free)

/* `qmp SOCK COMMAND [JSON]` that must succeed; its parsed return value. */
static JsonNode *
qmp_ok (Qemu       *q,
        const char *command,
        const char *json)
{
  g_auto(QlTestRun) r = { 0 };

  run (&r, "qmp", q->sock, command, json, NULL);
  assert_ok (&r);
  g_assert_cmpstr (r.err, ==, "");
  return parse_line (r.out);
}

/* The names of `qom-list PATH`. */
static GStrv
qom_names (Qemu       *q,
           const char *path)
{
  g_autofree char *json = g_strdup_printf ("{\"path\": \"%s\"}", path);
  g_autoptr(JsonNode) list = qmp_ok (q, "qom-list", json);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  JsonArray *array;

  g_assert_true (JSON_NODE_HOLDS_ARRAY (list));
  array = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_strv_builder_add (names, json_object_get_string_member (json_array_get_object_element (array, i), "name"));
  return g_strv_builder_end (names);
}

static gboolean
has_chardev (Qemu       *q,
             const char *label)
{
  g_autoptr(JsonNode) list = qmp_ok (q, "query-chardev", NULL);
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (array, i), "label"), label) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
has_block_node (Qemu       *q,
                const char *node_name)
{
  g_autoptr(JsonNode) list = qmp_ok (q, "query-named-block-nodes", NULL);
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_object_get_string_member_with_default (json_array_get_object_element (array, i),
                                                               "node-name", NULL), node_name) == 0)
      return TRUE;
  return FALSE;
}

/* ---- qmp ---- */

static void
test_qmp_query_status (void)
{
  g_autoptr(Qemu) q = NULL;
  g_autoptr(JsonNode) status = NULL;
  JsonObject *o;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  status = qmp_ok (q, "query-status", NULL);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (status));
  o = json_node_get_object (status);
  g_assert_true (JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "running")));
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (o, "running")), ==, G_TYPE_BOOLEAN);
  g_assert_false (json_object_get_boolean_member (o, "running"));
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (o, "status")), ==, G_TYPE_STRING);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "prelaunch");

  /* A running VM: after cont, the same shape says so. */
  {
    g_autoptr(JsonNode) ret = qmp_ok (q, "cont", NULL);
    g_autoptr(JsonNode) running = qmp_ok (q, "query-status", NULL);

    o = json_node_get_object (running);
    g_assert_true (json_object_get_boolean_member (o, "running"));
    g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "running");
  }
}

static void
test_qmp_arguments (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(JsonNode) empty = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  names = qom_names (q, "/machine");
  g_assert_true (g_strv_contains ((const char * const *) names, "peripheral"));
  g_assert_true (g_strv_contains ((const char * const *) names, "unattached"));
  g_strfreev (names);
  names = qom_names (q, "/machine/peripheral");
  g_assert_true (g_strv_contains ((const char * const *) names, "vser0"));

  /* A command whose return value is an empty object. */
  empty = qmp_ok (q, "stop", "{}");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (empty));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (empty)), ==, 0);
}

static void
test_qmp_errors (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };

  if (!have_qemu ())
    return;
  q = qemu_start ();

  run (&r, "qmp", q->sock, "frobnicate", NULL);
  assert_failure (&r, "qlaunch: qmp frobnicate: CommandNotFound: ", "frobnicate", NULL);

  run (&r, "qmp", q->sock, "qom-list", "{\"path\": \"/nosuch\"}", NULL);
  assert_failure (&r, "qlaunch: qmp qom-list: DeviceNotFound: ", "/nosuch", NULL);

  run (&r, "qmp", q->sock, "qom-list", "{\"nopath\": 1}", NULL);
  assert_failure (&r, "qlaunch: qmp qom-list: GenericError: ", NULL);

  /* Usage errors: nothing is sent. */
  run (&r, "qmp", q->sock, "qom-list", "{\"path\":", NULL);
  assert_usage (&r, "JSON-ARGUMENTS");
  run (&r, "qmp", q->sock, "qom-list", "[1, 2]", NULL);
  assert_usage (&r, "not a JSON object");
  run (&r, "qmp", q->sock, "qom-list", "\"/machine\"", NULL);
  assert_usage (&r, "not a JSON object");
  run (&r, "qmp", q->sock, NULL);
  assert_usage (&r, "COMMAND");
  run (&r, "qmp", q->sock, "query-status", "{}", "{}", NULL);
  assert_usage (&r, "COMMAND");
  run (&r, "qmp", "--timeout", "soon", q->sock, "query-status", NULL);
  assert_usage (&r, "--timeout");
  run (&r, "qmp", "--events", q->sock, "query-status", NULL);
  assert_usage (&r, "--events");

  /* QEMU is still fine. */
  run (&r, "qmp", q->sock, "query-status", NULL);
  assert_ok (&r);
}

static void
test_qmp_no_server (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *sock = g_build_filename (dir, "nobody.sock", NULL);
  g_autofree char *file = g_build_filename (dir, "plain-file", NULL);
  g_auto(QlTestRun) r = { 0 };

  run (&r, "qmp", "--timeout", "300", sock, "query-status", NULL);
  assert_failure (&r, "qlaunch: qmp: ", sock, NULL);
  /* It kept trying for the timeout, and no longer. */
  g_assert_cmpfloat (r.seconds, >=, 0.25);
  g_assert_cmpfloat (r.seconds, <, 5.0);

  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  run (&r, "qmp", "--timeout", "200", file, "query-status", NULL);
  assert_failure (&r, "qlaunch: qmp: ", file, NULL);
  g_assert_cmpfloat (r.seconds, <, 5.0);

  run (&r, "unplug", "--timeout", "200", sock, "x", NULL);
  assert_failure (&r, "qlaunch: unplug: ", sock, NULL);
  ql_test_rm_rf (dir);
}

/* ---- qmp --events: a qlaunch read as it runs ---- */

typedef struct
{
  GSubprocess      *proc;
  GDataInputStream *out;
  GPtrArray        *lines;   /* stdout, one event each */
  GString          *err;
  gboolean          out_eof;
  gboolean          err_eof;
  gboolean          exited;
} Live;

static void read_out (Live *live);
static void read_err (Live *live);

static void
on_out_line (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Live *live = user_data;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, NULL);

  if (line == NULL)
    {
      live->out_eof = TRUE;
      return;
    }
  g_test_message ("events: %s", line);
  g_ptr_array_add (live->lines, line);
  read_out (live);
}

static void
read_out (Live *live)
{
  g_data_input_stream_read_line_async (live->out, G_PRIORITY_DEFAULT, NULL, on_out_line, live);
}

static void
on_err (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  Live *live = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      live->err_eof = TRUE;
      return;
    }
  g_string_append_len (live->err, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_err (live);
}

static void
read_err (Live *live)
{
  g_input_stream_read_bytes_async (g_subprocess_get_stderr_pipe (live->proc), 4096,
                                   G_PRIORITY_DEFAULT, NULL, on_err, live);
}

static void
on_live_exited (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Live *live = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  live->exited = TRUE;
}

static Live *
live_start (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  Live *live = g_new0 (Live, 1);

  g_ptr_array_add (argv, (gpointer) env_dir ("QLAUNCH_BIN"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  live->proc = ql_test_spawn ((const char * const *) argv->pdata,
                              G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  live->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (live->proc));
  live->lines = g_ptr_array_new_with_free_func (g_free);
  live->err = g_string_new (NULL);
  read_out (live);
  read_err (live);
  g_subprocess_wait_async (live->proc, NULL, on_live_exited, live);
  return live;
}

static void
live_free (Live *live)
{
  if (!live->exited)
    {
      g_subprocess_force_exit (live->proc);
      while (!live->exited)
        g_main_context_iteration (NULL, TRUE);
    }
  /* Let the reads see their EOF before the streams go. */
  while (!live->out_eof || !live->err_eof)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (live->out);
  g_object_unref (live->proc);
  g_ptr_array_unref (live->lines);
  g_string_free (live->err, TRUE);
  g_free (live);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Live, live_free)

/* Iterates until @done (live) holds; fails the test after the timeout. */
static void
live_wait (Live       *live,
           gboolean  (*done) (Live *, gconstpointer),
           gconstpointer data,
           const char *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_MS * 1000;

  while (!done (live, data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s; stderr so far: %s", what, live->err->str);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
err_has (Live         *live,
         gconstpointer fragment)
{
  return strstr (live->err->str, fragment) != NULL || live->exited;
}

static gboolean
has_n_lines (Live         *live,
             gconstpointer n)
{
  return live->lines->len >= GPOINTER_TO_UINT (n) || live->out_eof;
}

static gboolean
is_done (Live         *live,
         gconstpointer unused)
{
  (void) unused;
  return live->exited && live->out_eof && live->err_eof;
}

/* Line @i is event @name: {"event": NAME, "data": {...}}. */
static void
assert_event_line (Live       *live,
                   guint       i,
                   const char *name)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *o;

  if (i >= live->lines->len)
    g_error ("no event line %u (%s); stderr: %s", i, name, live->err->str);
  node = ql_test_parse_json (g_ptr_array_index (live->lines, i));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member_with_default (o, "event", NULL), ==, name);
  g_assert_true (json_object_has_member (o, "data"));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "data")));
}

/* `qmp --events` on the second monitor, connected. */
static Live *
events_start (Qemu *q)
{
  const char *args[] = { "qmp", q->ev_sock, "--events", NULL };
  Live *live = live_start (args);

  live_wait (live, err_has, "connected to", "qmp --events to connect");
  g_assert_false (live->exited);
  return live;
}

static void
test_events_sigterm (void)
{
  g_autoptr(Qemu) q = NULL;
  g_autoptr(Live) live = NULL;
  g_autoptr(JsonNode) a = NULL;
  g_autoptr(JsonNode) b = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  live = events_start (q);

  a = qmp_ok (q, "cont", NULL);
  live_wait (live, has_n_lines, GUINT_TO_POINTER (1), "the RESUME event");
  assert_event_line (live, 0, "RESUME");
  b = qmp_ok (q, "stop", NULL);
  live_wait (live, has_n_lines, GUINT_TO_POINTER (2), "the STOP event");
  assert_event_line (live, 1, "STOP");

  g_subprocess_send_signal (live->proc, SIGTERM);
  live_wait (live, is_done, NULL, "qmp --events to exit on SIGTERM");
  g_assert_true (g_subprocess_get_if_exited (live->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (live->proc), ==, 0);
  g_assert_cmpuint (live->lines->len, ==, 2);
}

static void
test_events_qemu_quit (void)
{
  g_autoptr(Qemu) q = NULL;
  g_autoptr(Live) live = NULL;
  g_autoptr(JsonNode) a = NULL;
  JsonObject *data;
  g_autoptr(JsonNode) node = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  live = events_start (q);

  a = qmp_ok (q, "quit", NULL);
  live_wait (live, is_done, NULL, "qmp --events to exit when QEMU quits");
  g_assert_true (g_subprocess_get_if_exited (live->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (live->proc), ==, 0);
  assert_event_line (live, 0, "SHUTDOWN");
  node = ql_test_parse_json (g_ptr_array_index (live->lines, 0));
  data = json_object_get_object_member (json_node_get_object (node), "data");
  g_assert_cmpstr (json_object_get_string_member (data, "reason"), ==, "host-qmp-quit");
  assert_has (live->err->str, "closed the connection");
}

/* ---- hotplug / unplug ---- */

/* A VM file for the QEMU of qemu_start() (what `qlaunch hotplug --vm`
 * checks new devices against): the virtio-serial controller vser0. */
static char *
write_vm_file (Qemu *q)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (q->dir, "test.vm", NULL);

  g_file_set_contents (path,
                       "[machine]\ntype = q35\nacceleration = tcg\n"
                       "[memory]\nsize = 128M\n"
                       "[knobs]\nno-defaults = true\nstopped = true\n"
                       "[device vser0]\ntype = serial\n",
                       -1, &error);
  g_assert_no_error (error);
  return path;
}

static char *
port_spec (Qemu       *q,
           const char *id,
           const char *driver,
           const char *name,
           const char *bus)
{
  return g_strdup_printf ("char,id=%s,driver=%s,backend=socket,path=%s/%s.sock%s%s,bus=%s",
                          id, driver, q->dir, id, name != NULL ? ",name=" : "",
                          name != NULL ? name : "", bus);
}

static void
test_hotplug_char (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) names = NULL;
  g_autofree char *vm = NULL;
  g_autofree char *port_sock = NULL;
  g_autofree char *spec = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  vm = write_vm_file (q);
  port_sock = g_build_filename (q->dir, "port0.sock", NULL);
  spec = port_spec (q, "port0", "virtserialport", "org.qlaunch.port0", "vser0.0");

  /* Without the VM, the char plugin does not know a controller vser0. */
  run (&r, "hotplug", q->sock, "-d", spec, NULL);
  assert_failure (&r, "device 'port0'", "bus", "vser0.0", "no device was added", NULL);

  run (&r, "hotplug", "--vm", vm, q->sock, "-d", spec, NULL);
  assert_ok (&r);
  g_assert_cmpstr (r.out, ==, "hotplugged port0 (char)\n");

  names = qom_names (q, "/machine/peripheral");
  g_assert_true (g_strv_contains ((const char * const *) names, "port0"));
  g_assert_true (has_chardev (q, "port0"));
  /* QEMU listens on the port's socket (server=on by default). */
  g_assert_true (g_file_test (port_sock, G_FILE_TEST_EXISTS));

  /* The same id again: QEMU refuses it, and the first one is untouched. */
  run (&r, "hotplug", "--vm", vm, q->sock, "-d", spec, NULL);
  assert_failure (&r, "device 'port0'", "no device was added", NULL);
  g_assert_true (has_chardev (q, "port0"));

  run (&r, "unplug", q->sock, "port0", NULL);
  assert_ok (&r);
  g_assert_cmpstr (r.out, ==, "unplugged port0\n");
  g_strfreev (names);
  names = qom_names (q, "/machine/peripheral");
  g_assert_false (g_strv_contains ((const char * const *) names, "port0"));
  g_assert_true (g_strv_contains ((const char * const *) names, "vser0"));
  g_assert_false (has_chardev (q, "port0"));

  /* Gone: unplugging it again fails and names it. */
  run (&r, "unplug", q->sock, "port0", NULL);
  assert_failure (&r, "qlaunch: unplug: device 'port0'", NULL);
}

/* A device's qemu-set reaches the hot-plug commands: the -device property
 * (device_add) and, with its prefix, the backend's (netdev_add, strictly
 * typed: ipv4=on goes as a boolean); QEMU has the new values (qom-get). A typo is refused before anything is sent. */
static void
test_hotplug_qemu_set (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_autoptr(JsonNode) mq = NULL;
  g_autoptr(JsonNode) mtu = NULL;
  g_auto(GStrv) names = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();

  run (&r, "hotplug", "--dry-run", q->sock, "-d", "net,id=net8,net-type=user,bus=rp0,qemu-unset=mqq", NULL);
  assert_failure (&r, "device 'net8'", "qemu-unset", "'mqq'", NULL);

  run (&r, "hotplug", q->sock, "-d", "net,id=net9,net-type=user,bus=rp0,qemu-set=mq=on,,host_mtu=1400,,netdev.ipv4=on",
       NULL);
  assert_ok (&r);
  g_assert_cmpstr (r.out, ==, "hotplugged net9 (net)\n");
  mq = qmp_ok (q, "qom-get", "{\"path\": \"/machine/peripheral/net9\", \"property\": \"mq\"}");
  g_assert_true (json_node_get_boolean (mq));
  mtu = qmp_ok (q, "qom-get", "{\"path\": \"/machine/peripheral/net9\", \"property\": \"host_mtu\"}");
  g_assert_cmpint (json_node_get_int (mtu), ==, 1400);
  names = qom_names (q, "/machine/peripheral");
  g_assert_true (g_strv_contains ((const char * const *) names, "net9"));
}

/* A block device's drive.KEY reaches its hot-plug form, blockdev-add (the
 * -blockdev it writes there instead of -drive), typed: QEMU's node has the
 * cache setting. */
static void
test_hotplug_qemu_set_block (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_autoptr(JsonNode) nodes = NULL;
  g_autofree char *image = NULL;
  g_autofree char *spec = NULL;
  JsonArray *array;
  gboolean found = FALSE;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  image = g_build_filename (q->dir, "disk9.raw", NULL);
  g_assert_true (g_file_set_contents (image, "", 0, NULL));
  spec = g_strdup_printf ("block,id=disk9,file=%s,format=raw,bus=rp0,qemu-set=drive.cache.no-flush=on,,serial=q9",
                          image);
  run (&r, "hotplug", q->sock, "-d", spec, NULL);
  assert_ok (&r);
  nodes = qmp_ok (q, "query-named-block-nodes", NULL);
  array = json_node_get_array (nodes);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *node = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (node, "node-name"), "disk9") != 0)
        continue;
      found = TRUE;
      g_assert_true (json_object_get_boolean_member (json_object_get_object_member (node, "cache"), "no-flush"));
    }
  g_assert_true (found);
}

/* A controller and a port on it in one command: the port is checked
 * against the controller plugged before it. */
static void
test_hotplug_controller_and_port (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) names = NULL;
  g_autofree char *port = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  port = port_spec (q, "con1", "virtconsole", NULL, "vser1.0");

  run (&r, "hotplug", q->sock, "-d", "serial,id=vser1,bus=rp0", "-d", port, NULL);
  assert_ok (&r);
  g_assert_cmpstr (r.out, ==, "hotplugged vser1 (serial)\nhotplugged con1 (char)\n");
  names = qom_names (q, "/machine/peripheral");
  g_assert_true (g_strv_contains ((const char * const *) names, "vser1"));
  g_assert_true (g_strv_contains ((const char * const *) names, "con1"));
  g_assert_true (has_chardev (q, "con1"));

  run (&r, "unplug", q->sock, "con1", NULL);
  assert_ok (&r);
  g_assert_false (has_chardev (q, "con1"));
}

static void
test_hotplug_rollback (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) names = NULL;
  g_autofree char *vm = NULL;
  g_autofree char *first = NULL;
  g_autofree char *good = NULL;
  g_autofree char *bad = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  vm = write_vm_file (q);
  first = port_spec (q, "first", "virtserialport", "org.qlaunch.taken", "vser0.0");
  good = port_spec (q, "good", "virtconsole", NULL, "vser0.0");
  /* The name of the port plugged by the first command: only QEMU knows
   * it, and refuses the device_add after the chardev-add succeeded. */
  bad = port_spec (q, "bad", "virtserialport", "org.qlaunch.taken", "vser0.0");

  run (&r, "hotplug", "--vm", vm, q->sock, "-d", first, NULL);
  assert_ok (&r);
  run (&r, "hotplug", "--vm", vm, q->sock, "-d", good, "-d", bad, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "hotplugged good (char)\n");
  assert_has (r.err, "device 'bad'");
  assert_has (r.err, "device_add");
  assert_has (r.err, "stay");
  assert_has (r.err, "'good'");

  names = qom_names (q, "/machine/peripheral");
  g_assert_true (g_strv_contains ((const char * const *) names, "good"));
  g_assert_false (g_strv_contains ((const char * const *) names, "bad"));
  g_assert_true (has_chardev (q, "good"));
  /* The failed device's chardev was rolled back. */
  g_assert_false (has_chardev (q, "bad"));

  /* Unplug several: the first removed, the second fails and is named. */
  run (&r, "unplug", q->sock, "good", "bad", "first", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "unplugged good\n");
  assert_has (r.err, "device 'bad'");
  assert_has (r.err, "already removed: 'good'");
  assert_has (r.err, "not tried: 'first'");
  g_assert_false (has_chardev (q, "good"));
  g_assert_true (has_chardev (q, "first"));
}

static void
test_hotplug_block_unplug_timeout (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) names = NULL;
  g_autofree char *image = NULL;
  g_autofree char *spec = NULL;
  g_autoptr(GError) error = NULL;

  if (!have_qemu ())
    return;
  q = qemu_start ();
  image = g_build_filename (q->dir, "disk0.img", NULL);
  {
    g_autofree char *zeros = g_malloc0 (1024 * 1024);

    g_file_set_contents (image, zeros, 1024 * 1024, &error);
    g_assert_no_error (error);
  }
  spec = g_strdup_printf ("block,id=disk0,file=%s,format=raw,bus=rp0", image);

  run (&r, "hotplug", q->sock, "-d", spec, NULL);
  assert_ok (&r);
  g_assert_cmpstr (r.out, ==, "hotplugged disk0 (block)\n");
  names = qom_names (q, "/machine/peripheral");
  g_assert_true (g_strv_contains ((const char * const *) names, "disk0"));

  /* A PCIe device leaves only when the guest lets it go: there is none. */
  run (&r, "unplug", "--timeout", "500", q->sock, "disk0", NULL);
  assert_failure (&r, "qlaunch: unplug: device 'disk0'", "did not release", "500 ms", NULL);
  g_assert_cmpfloat (r.seconds, >=, 0.45);
  g_assert_cmpfloat (r.seconds, <, 10.0);
  /* Still there, and so is its disk. */
  g_strfreev (names);
  names = qom_names (q, "/machine/peripheral");
  g_assert_true (g_strv_contains ((const char * const *) names, "disk0"));
  g_assert_true (has_block_node (q, "disk0"));
}

static void
write_zeros (const char *path,
             gsize       size)
{
  g_autofree char *zeros = g_malloc0 (size);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, zeros, size, &error);
  g_assert_no_error (error);
}

/* `hotplug -d block,file=rel.img` typed in directory D opens D/rel.img,
 * not the rel.img of QEMU's own working directory (which holds another,
 * of another size): query-block shows the file and its size. */
static void
test_hotplug_relative_path (void)
{
  g_autoptr(Qemu) q = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_autofree char *test_cwd = g_get_current_dir ();
  g_autofree char *qemu_cwd = NULL;
  g_autofree char *caller_dir = NULL;
  g_autofree char *qemu_image = NULL;
  g_autofree char *caller_image = NULL;
  g_autoptr(JsonNode) blocks = NULL;
  JsonArray *array;
  gboolean found = FALSE;

  if (!have_qemu ())
    return;
  qemu_cwd = ql_test_make_tmpdir ();
  caller_dir = ql_test_make_tmpdir ();
  qemu_image = g_build_filename (qemu_cwd, "rel.img", NULL);
  caller_image = g_build_filename (caller_dir, "rel.img", NULL);
  write_zeros (qemu_image, 1024 * 1024);
  write_zeros (caller_image, 2 * 1024 * 1024);

  /* QEMU inherits its working directory from us. */
  g_assert_cmpint (g_chdir (qemu_cwd), ==, 0);
  q = qemu_start ();
  g_assert_cmpint (g_chdir (test_cwd), ==, 0);

  run_cwd = caller_dir;
  run (&r, "hotplug", q->sock, "-d", "block,id=rel0,file=rel.img,format=raw,bus=rp0", NULL);
  run_cwd = NULL;
  assert_ok (&r);
  g_assert_cmpstr (r.out, ==, "hotplugged rel0 (block)\n");

  blocks = qmp_ok (q, "query-block", NULL);
  array = json_node_get_array (blocks);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *block = json_array_get_object_element (array, i);
      JsonObject *inserted = json_object_get_object_member (block, "inserted");
      const char *qdev = json_object_get_string_member_with_default (block, "qdev", "");

      if (inserted == NULL || strstr (qdev, "rel0") == NULL)
        continue;
      found = TRUE;
      g_assert_cmpstr (json_object_get_string_member (inserted, "file"), ==, caller_image);
      g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (inserted, "image"),
                                                   "virtual-size"), ==, 2 * 1024 * 1024);
    }
  g_assert_true (found);
  ql_test_rm_rf (qemu_cwd);
  ql_test_rm_rf (caller_dir);
}

static void
test_hotplug_dry_run (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *image = g_build_filename (dir, "disk0.img", NULL);
  g_autofree char *spec = g_strdup_printf ("block,id=disk0,file=%s,format=raw", image);
  g_autofree char *nosock = g_build_filename (dir, "nobody.sock", NULL);
  g_auto(QlTestRun) r = { 0 };
  g_autoptr(JsonNode) root = NULL;
  JsonArray *commands;
  int blockdev_add = -1, device_add = -1;

  g_assert_true (g_file_set_contents (image, "", 0, NULL));

  /* No QEMU at the socket: nothing connects. */
  run (&r, "hotplug", "--dry-run", nosock, "-d", spec, NULL);
  assert_ok (&r);
  g_assert_cmpstr (r.err, ==, "");
  root = ql_test_parse_json (r.out);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  commands = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (commands), >=, 2);
  for (guint i = 0; i < json_array_get_length (commands); i++)
    {
      JsonObject *c = json_array_get_object_element (commands, i);
      const char *execute;

      g_assert_nonnull (c);
      execute = json_object_get_string_member_with_default (c, "execute", NULL);
      g_assert_nonnull (execute);
      g_assert_true (json_object_has_member (c, "arguments"));
      if (g_str_equal (execute, "blockdev-add") && blockdev_add < 0)
        blockdev_add = i;
      if (g_str_equal (execute, "device_add"))
        {
          JsonObject *args = json_object_get_object_member (c, "arguments");

          device_add = i;
          g_assert_cmpstr (json_object_get_string_member (args, "id"), ==, "disk0");
          g_assert_cmpstr (json_object_get_string_member (args, "driver"), ==, "virtio-blk-pci");
        }
    }
  g_assert_cmpint (blockdev_add, >=, 0);
  g_assert_cmpint (device_add, >, blockdev_add);
  g_assert_cmpint (device_add, ==, (int) json_array_get_length (commands) - 1);
  g_assert_true (strstr (r.out, image) != NULL);

  /* Without a SOCKET too. */
  run (&r, "hotplug", "--dry-run", "-d", spec, NULL);
  assert_ok (&r);
  ql_test_rm_rf (dir);
}

static void
test_hotplug_usage (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *sock = g_build_filename (dir, "nobody.sock", NULL);
  g_auto(QlTestRun) r = { 0 };

  run (&r, "hotplug", sock, NULL);
  assert_usage (&r, "-d");
  run (&r, "hotplug", "-d", "block,id=d,file=/x", NULL);
  assert_usage (&r, "SOCKET");
  run (&r, "hotplug", "--timeout", "0", sock, "-d", "block,id=d,file=/x", NULL);
  assert_usage (&r, "--timeout");
  run (&r, "unplug", sock, NULL);
  assert_usage (&r, "ID");

  /* Bad device specs: nothing connects (there is no QEMU). */
  run (&r, "hotplug", sock, "-d", "block,file=/x.img,format=raw", NULL);
  assert_failure (&r, "id", NULL);
  run (&r, "hotplug", sock, "-d", "frobnicator,id=f", NULL);
  assert_failure (&r, "frobnicator", NULL);
  run (&r, "hotplug", sock, "-d", "block,id=d,file=/x.img,format=raw", "-d", "block,id=d,file=/y.img,format=raw", NULL);
  assert_failure (&r, "'d'", NULL);
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli-qmp/qmp/query-status", test_qmp_query_status);
  g_test_add_func ("/cli-qmp/qmp/arguments", test_qmp_arguments);
  g_test_add_func ("/cli-qmp/qmp/errors", test_qmp_errors);
  g_test_add_func ("/cli-qmp/qmp/no-server", test_qmp_no_server);
  g_test_add_func ("/cli-qmp/events/sigterm", test_events_sigterm);
  g_test_add_func ("/cli-qmp/events/qemu-quit", test_events_qemu_quit);
  g_test_add_func ("/cli-qmp/hotplug/char", test_hotplug_char);
  g_test_add_func ("/cli-qmp/hotplug/qemu-set", test_hotplug_qemu_set);
  g_test_add_func ("/cli-qmp/hotplug/qemu-set-block", test_hotplug_qemu_set_block);
  g_test_add_func ("/cli-qmp/hotplug/controller-and-port", test_hotplug_controller_and_port);
  g_test_add_func ("/cli-qmp/hotplug/rollback", test_hotplug_rollback);
  g_test_add_func ("/cli-qmp/hotplug/block-unplug-timeout", test_hotplug_block_unplug_timeout);
  g_test_add_func ("/cli-qmp/hotplug/relative-path", test_hotplug_relative_path);
  g_test_add_func ("/cli-qmp/hotplug/dry-run", test_hotplug_dry_run);
  g_test_add_func ("/cli-qmp/hotplug/usage", test_hotplug_usage);

  return g_test_run ();
}
