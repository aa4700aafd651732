/* qlaunch tests — the security suite: whom `qmp`, `hotplug` and `unplug`
 * talk to, and what `qmp` prints of what they say.
 *
 * The peers are real processes on real unix sockets
 * (tests/helpers/fake-qmp-peer.py), run as another user (uid 65534, with
 * setpriv) where the test is about the peer's user; each records what it
 * received: connections, commands, and descriptors (SCM_RIGHTS).
 *
 *  - a socket served by a process of uid 65534 is refused, naming the
 *    socket, the uid and the pid, before anything is sent (the peer sees a
 *    connection and no command); `--peer-uid 65534` accepts it;
 *  - hotplug's descriptors (getfd) never reach such a peer; with
 *    `--peer-uid` the same run passes one, so the record would show it;
 *  - a socket file of uid 65534 in a sticky world-writable directory is
 *    refused before connecting; our own socket there is accepted;
 *  - the library's QlQmp checks by itself, with peer-uid and the
 *    check-peer opt-out; a uint64 beyond int64 arrives as a double;
 *  - `qmp` prints QEMU's reply as valid UTF-8 JSON that parses (strictly,
 *    by Python's json) to what QEMU sent, or exits 1 with a message and
 *    prints nothing when the client cannot hold it faithfully (1e400, an
 *    integer beyond 64 bits, "\u0000", a lone surrogate).
 *
 * Needs root (to play another user) and setpriv; skipped otherwise. */
#include <qlaunch/qlaunch.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ql-test-util.h"
#include "ql-test-vm-guard.h"

#define HANG_LIMIT_S 30
#define NOBODY 65534

typedef struct
{
  GSubprocess *proc;
  char *record;         /* what the peer received, one line each */
  char *path;           /* where it listens */
} Peer;

/* A work directory that uid 65534 can enter (and nothing else). */
static char *
make_workdir (void)
{
  char *dir = ql_test_make_tmpdir ();

  g_assert_cmpint (g_chmod (dir, 0711), ==, 0);
  return dir;
}

/* A python3 that another user can run too: the system's when there is
 * one (PATH may lead to one under root's home). */
static char *
find_python (void)
{
  if (g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup ("/usr/bin/python3");
  return g_find_program_in_path ("python3");
}

/* The peer on @path, as @uid (0: as we are), recording in @record; it
 * answers the commands after the handshake with @replies, then {}. */
static Peer *
peer_start (const char         *path,
            const char         *record,
            uid_t               uid,
            const char * const *replies)
{
  g_autofree char *script = g_build_filename (g_getenv ("QLAUNCH_TEST_SRCDIR"), "helpers",
                                              "fake-qmp-peer.py", NULL);
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *python = find_python ();
  g_autofree char *source = NULL;
  g_autofree char *reuid = g_strdup_printf ("--reuid=%u", (unsigned) uid);
  g_autofree char *regid = g_strdup_printf ("--regid=%u", (unsigned) uid);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  Peer *p = g_new0 (Peer, 1);

  /* Given as -c: the user the peer runs as may not reach the source tree. */
  g_assert_true (g_file_get_contents (script, &source, NULL, NULL));
  if (uid != 0)
    {
      g_ptr_array_add (argv, setpriv);
      g_ptr_array_add (argv, reuid);
      g_ptr_array_add (argv, regid);
      g_ptr_array_add (argv, (gpointer) "--clear-groups");
    }
  g_ptr_array_add (argv, python);
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, source);
  g_ptr_array_add (argv, (gpointer) path);
  g_ptr_array_add (argv, (gpointer) record);
  for (guint i = 0; replies != NULL && replies[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) replies[i]);
  g_ptr_array_add (argv, NULL);
  /* Its stdin is a pipe that ends with this process, and the peer with it. */
  p->proc = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->proc));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "ready");
  p->record = g_strdup (record);
  p->path = g_strdup (path);
  return p;
}

/* What the peer received so far. */
static char *
peer_record (Peer *p)
{
  char *text = NULL;

  if (!g_file_get_contents (p->record, &text, NULL, NULL))
    text = g_strdup ("");
  g_test_message ("the peer's record: %s", text);
  return text;
}

static void
peer_free (Peer *p)
{
  g_subprocess_force_exit (p->proc);
  g_subprocess_wait (p->proc, NULL, NULL);
  g_object_unref (p->proc);
  g_free (p->record);
  g_free (p->path);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

static gboolean
skip_unless_root (void)
{
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *python = find_python ();

  if (getuid () != 0 || setpriv == NULL || python == NULL)
    {
      g_test_skip ("needs root, setpriv and python3 to play another user");
      return TRUE;
    }
  return FALSE;
}

/* A peer of uid 65534 whose socket sits in a private directory of ours
 * (bound in its own directory, then moved): only the peer's credentials
 * tell it apart from our own QEMU. */
static Peer *
foreign_peer_start (const char         *work,
                    const char * const *replies)
{
  g_autofree char *theirs = ql_test_make_owned_dir (work, "nobody", 0700, NOBODY);
  g_autofree char *ours = ql_test_make_owned_dir (work, "ours", 0700, 0);
  g_autofree char *bound = g_build_filename (theirs, "qmp.sock", NULL);
  g_autofree char *record = g_build_filename (theirs, "record", NULL);
  g_autofree char *path = g_build_filename (ours, "qmp.sock", NULL);
  Peer *p = peer_start (bound, record, NOBODY, replies);

  g_assert_cmpint (g_rename (bound, path), ==, 0);
  g_free (p->path);
  p->path = g_strdup (path);
  return p;
}

/* Refused naming the socket and the peer's uid and pid; the peer saw a
 * connection and not one command. */
static void
assert_peer_refused (QlTestRun  *r,
                     Peer       *p,
                     const char *command)
{
  g_autofree char *prefix = g_strdup_printf ("qlaunch: %s: ", command);
  g_autofree char *pid = g_strdup_printf ("pid %s", g_subprocess_get_identifier (p->proc));
  g_autofree char *record = peer_record (p);

  g_assert_false (r->killed);
  g_assert_cmpint (r->status, ==, 1);
  g_assert_true (g_str_has_prefix (r->err, prefix));
  g_assert_nonnull (strstr (r->err, p->path));
  g_assert_nonnull (strstr (r->err, "uid 65534"));
  g_assert_nonnull (strstr (r->err, "--peer-uid"));
  g_assert_null (strstr (record, "command"));
  g_assert_null (strstr (record, "fds"));
  if (strstr (r->err, pid) == NULL)
    g_error ("'%s' not in: %s", pid, r->err);
}

/* A peer of uid 65534 started in @work, and `qlaunch ARGS` against it
 * (@args[@socket_arg] becomes its socket) refused. */
static Peer *
assert_refused_by_foreign_peer (const char  *work,
                                const char **args,
                                guint        socket_arg)
{
  Peer *p = foreign_peer_start (work, NULL);
  QlTestRun r = { 0 };

  args[socket_arg] = p->path;
  ql_test_run_bounded (&r, NULL, HANG_LIMIT_S, args);
  assert_peer_refused (&r, p, args[0]);
  ql_test_run_clear (&r);
  return p;
}

/* `qmp` refuses a peer of another user; `--peer-uid` trusts it. */
static void
test_qmp_foreign_peer (void)
{
  g_autofree char *work = NULL;
  g_autoptr(Peer) p = NULL;
  g_autofree char *record = NULL;
  QlTestRun r = { 0 };
  const char *args[] = { "qmp", "--timeout", "2000", NULL, "query-status", NULL };

  if (skip_unless_root ())
    return;
  work = make_workdir ();
  p = assert_refused_by_foreign_peer (work, args, 3);
  {
    const char *trusting[] = { "qmp", "--peer-uid", "65534", "--timeout", "2000", p->path, "query-status", NULL };

    ql_test_run_bounded (&r, NULL, HANG_LIMIT_S, trusting);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.out, ==, "{}\n");
    record = peer_record (p);
    g_assert_nonnull (strstr (record, "command query-status"));
    ql_test_run_clear (&r);
  }
  ql_test_rm_rf (work);
}

/* `hotplug` of a tap card with a descriptor (fds=3, sent with getfd):
 * nothing, and no descriptor, reaches a peer of another user. With
 * `--peer-uid` the same run passes the descriptor: the peer's record
 * shows SCM_RIGHTS when they come. */
static void
test_hotplug_fd_not_sent (void)
{
  g_autofree char *work = NULL;
  g_autoptr(Peer) p = NULL;
  g_autofree char *record = NULL;
  QlTestRun r = { 0 };

  if (skip_unless_root ())
    return;
  work = make_workdir ();
  p = foreign_peer_start (work, NULL);
  for (guint trusted = 0; trusted < 2; trusted++)
    {
      g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
      const char *args[] = { "hotplug", "--timeout", "2000", "-d", "net,id=n1,net-type=tap,fds=3",
                             trusted ? "--peer-uid=65534" : p->path, trusted ? p->path : NULL, NULL };
      int fd = open ("/dev/null", O_RDWR | O_CLOEXEC);

      g_assert_cmpint (fd, >=, 0);
      g_subprocess_launcher_take_fd (launcher, fd, 3);
      ql_test_run_bounded (&r, launcher, HANG_LIMIT_S, args);
      if (!trusted)
        assert_peer_refused (&r, p, "hotplug");
      else
        {
          g_assert_cmpint (r.status, ==, 0);
          g_assert_cmpstr (r.out, ==, "hotplugged n1 (net)\n");
          record = peer_record (p);
          g_assert_nonnull (strstr (record, "fds 1\ncommand getfd\n"));
        }
      ql_test_run_clear (&r);
    }
  ql_test_rm_rf (work);
}

/* `unplug` refuses the peer of another user too. */
static void
test_unplug_foreign_peer (void)
{
  g_autofree char *work = NULL;
  g_autoptr(Peer) p = NULL;
  const char *args[] = { "unplug", "--timeout", "2000", NULL, "dev0", NULL };

  if (skip_unless_root ())
    return;
  work = make_workdir ();
  p = assert_refused_by_foreign_peer (work, args, 3);
  ql_test_rm_rf (work);
}

/* A socket file of uid 65534 in a sticky world-writable directory (as
 * another user could plant one in /tmp) is refused before connecting,
 * even though the process behind it is ours; our own socket file there is
 * accepted. */
static void
test_socket_in_shared_dir (void)
{
  g_autofree char *work = NULL;
  g_autofree char *sticky = NULL;
  g_autofree char *path = NULL;
  g_autofree char *record = NULL;
  g_autofree char *seen = NULL;
  g_autoptr(Peer) p = NULL;
  QlTestRun r = { 0 };
  const char *args[] = { "qmp", "--timeout", "2000", NULL, "query-status", NULL };

  if (skip_unless_root ())
    return;
  work = make_workdir ();
  sticky = ql_test_make_owned_dir (work, "tmp", 01777, 0);
  path = g_build_filename (sticky, "qmp.sock", NULL);
  record = g_build_filename (work, "record", NULL);
  p = peer_start (path, record, 0, NULL);
  args[3] = path;

  g_assert_cmpint (lchown (path, NOBODY, NOBODY), ==, 0);
  ql_test_run_bounded (&r, NULL, HANG_LIMIT_S, args);
  seen = peer_record (p);
  g_assert_false (r.killed);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_str_has_prefix (r.err, "qlaunch: qmp: "));
  g_assert_nonnull (strstr (r.err, path));
  g_assert_nonnull (strstr (r.err, "uid 65534"));
  g_assert_nonnull (strstr (r.err, "writable by others"));
  g_assert_cmpstr (seen, ==, "");
  ql_test_run_clear (&r);

  /* Ours again: accepted. */
  g_assert_cmpint (lchown (path, 0, 0), ==, 0);
  ql_test_run_bounded (&r, NULL, HANG_LIMIT_S, args);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "{}\n");
  ql_test_run_clear (&r);
  ql_test_rm_rf (work);
}

/* The library's QlQmp: the check is its own (on by default), with
 * QlQmp:peer-uid and the QlQmp:check-peer opt-out; an integer beyond int64
 * (QEMU's uint64) arrives as the nearest double, not wrapped to -1. */
static void
test_library_peer (void)
{
  g_autofree char *work = NULL;
  g_autoptr(Peer) p = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *record = NULL;
  const char *peer_replies[] = { "{\"return\": 18446744073709551615, \"id\": @ID@}",
                                 "!{\"event\": \"STOP\", \"data\": {}}", NULL };

  if (skip_unless_root ())
    return;
  work = make_workdir ();
  p = foreign_peer_start (work, peer_replies);
  {
    g_autoptr(QlQmp) qmp = ql_qmp_new ();

    g_assert_true (ql_qmp_get_check_peer (qmp));
    g_assert_cmpint (ql_qmp_get_peer_uid (qmp), ==, -1);
    g_assert_false (ql_qmp_connect (qmp, p->path, 2000, NULL, &error));
    g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_UNTRUSTED_PEER);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "uid 65534"));
    g_clear_error (&error);
    record = peer_record (p);
    g_assert_null (strstr (record, "command"));
    g_clear_pointer (&record, g_free);
  }
  {
    g_autoptr(QlQmp) qmp = ql_qmp_new ();

    g_object_set (qmp, "peer-uid", (gint64) NOBODY, NULL);
    ql_qmp_connect (qmp, p->path, 2000, NULL, &error);
    g_assert_no_error (error);
  }
  {
    g_autoptr(QlQmp) qmp = ql_qmp_new ();
    g_autoptr(JsonNode) reply = NULL;

    ql_qmp_set_check_peer (qmp, FALSE);
    ql_qmp_connect (qmp, p->path, 2000, NULL, &error);
    g_assert_no_error (error);
    reply = ql_qmp_execute (qmp, "query-status", NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (json_node_get_value_type (reply), ==, G_TYPE_DOUBLE);
    g_assert_cmpfloat (json_node_get_double (reply), ==, 18446744073709551615.0);
    /* The settings stay as set, events or not. */
    g_assert_false (ql_qmp_get_check_peer (qmp));
    g_assert_cmpint (ql_qmp_get_peer_uid (qmp), ==, -1);
  }
  ql_test_rm_rf (work);
}

/* A QlVm's own QEMU is trusted whoever it runs as: a `[vm] qemu` wrapper
 * that makes QEMU uid 65534, its socket in that user's directory, and
 * ql_vm_connect_qmp() still connects (the peer is the VM's own process). */
static void
test_vm_own_child (void)
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *work = NULL;
  g_autofree char *theirs = NULL;
  g_autofree char *safe = NULL;
  g_autofree char *wrapper = NULL;
  g_autofree char *script = NULL;
  g_autofree char *text = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_unless_root ())
    return;
  if (qemu == NULL)
    {
      g_test_skip ("needs qemu-system-x86_64");
      return;
    }
  ql_test_vm_guard_install ();
  work = make_workdir ();
  theirs = ql_test_make_owned_dir (work, "nobody", 0700, NOBODY);
  /* The wrapper is a program qlaunch runs: in a directory no other user
   * can change (not /tmp). */
  safe = ql_test_make_safe_tmpdir ();
  wrapper = g_build_filename (safe, "qemu-as-nobody", NULL);
  script = g_strdup_printf ("#!/bin/sh\nexec %s --reuid=%d --regid=%d --clear-groups %s \"$@\"\n",
                            setpriv, NOBODY, NOBODY, qemu);
  g_assert_true (g_file_set_contents (wrapper, script, -1, NULL));
  g_assert_cmpint (g_chmod (wrapper, 0755), ==, 0);
  text = g_strdup_printf ("[vm]\nname=qlnobody\nqemu=%s\n"
                          "[machine]\ntype=pc\nacceleration=tcg\n[memory]\nsize=64M\n"
                          "[knobs]\nno-defaults=true\nno-user-config=true\nno-graphic=true\nstopped=true\n"
                          "[qmp control]\npath=%s/qmp.sock\n", wrapper, theirs);
  registry = ql_test_registry_new ();
  config = ql_vm_config_new_from_data (text, -1, "nobody.vm", work, registry, &error);
  g_assert_no_error (error);
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);
  /* A wrapper that runs QEMU as another user cannot be probed (QEMU, as
   * nobody, cannot make its socket in the probe's private directory). */
  ql_vm_set_check_qemu (vm, FALSE);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  ql_vm_connect_qmp (vm, 20000, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_vm_shutdown (vm, 1000, NULL, NULL, &error));
  g_assert_no_error (error);
  ql_test_rm_rf (work);
  ql_test_rm_rf (safe);
}

/* ---- what `qmp` prints -------------------------------------------------- */

/* Whether @text is strict JSON (no NaN or Infinity), valid UTF-8, and
 * equal, with its types, to @expected; the reason when not. */
static char *
json_mismatch (const char *text,
               const char *expected)
{
  static const char check[] =
    "import json, sys\n"
    "def strict(c):\n"
    "    raise ValueError('not JSON: ' + c)\n"
    "def typed(v):\n"
    "    if isinstance(v, dict):\n"
    "        return {k: typed(x) for k, x in v.items()}\n"
    "    if isinstance(v, list):\n"
    "        return [typed(x) for x in v]\n"
    "    return (type(v).__name__, v)\n"
    "got = json.loads(sys.stdin.buffer.read().decode('utf-8'), parse_constant=strict)\n"
    "want = json.loads(sys.argv[1], parse_constant=strict)\n"
    "if typed(got) != typed(want):\n"
    "    sys.exit('differs: %r, not %r' % (got, want))\n";
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) input = g_bytes_new (text, strlen (text));
  g_autoptr(GBytes) err = NULL;
  gsize len;
  const char *data;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                           | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                           "python3", "-c", check, expected, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate (proc, input, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_if_exited (proc) && g_subprocess_get_exit_status (proc) == 0)
    return NULL;
  data = g_bytes_get_data (err, &len);
  return g_strndup (data, len);
}

/* Each reply QEMU could send (raw text): printed as JSON equal to it, or
 * (@refused) exit 1 with a message holding @refused and nothing on
 * stdout. */
static const struct
{
  const char *name;
  const char *reply;        /* the `return` value, as sent */
  const char *expected;     /* what stdout must parse to */
  const char *refused;      /* or: the error message's words */
} replies[] = {
  { "huge-double", "1e400", NULL, "out of range" },
  { "huge-negative-double", "-1e400", NULL, "out of range" },
  { "beyond-int64", "18446744073709551615", NULL, "out of range" },
  { "below-int64", "-9223372036854775809", NULL, "out of range" },
  { "escaped-nul", "\"a\\u0000b\"", NULL, "\\u0000" },
  { "escaped-nul-in-a-name", "{\"a\\u0000b\": 1}", NULL, "\\u0000" },
  { "lone-surrogate", "\"a\\ud800b\"", NULL, "surrogate" },
  { "double-with-exponent", "1e20", "1e20", NULL },
  { "double", "[0.5, -2.5e-3, 3.0]", "[0.5, -2.5e-3, 3.0]", NULL },
  { "int64-limits", "[9223372036854775807, -9223372036854775808]",
    "[9223372036854775807, -9223372036854775808]", NULL },
  { "controls", "\"\\u001b[2J\\u0007\\u007f\\u009b31m\\u2028 \\ud83d\\ude00 \\\"\\\\\"",
    "\"\\u001b[2J\\u0007\\u007f\\u009b31m\\u2028 \\ud83d\\ude00 \\\"\\\\\"", NULL },
};

static void
test_qmp_prints_json (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  g_autofree char *work = NULL;
  g_autofree char *path = NULL;
  g_autofree char *record = NULL;
  g_autofree char *reply = g_strdup_printf ("{\"return\": %s, \"id\": @ID@}", replies[i].reply);
  const char *peer_replies[] = { reply, NULL };
  g_autoptr(Peer) p = NULL;
  QlTestRun r = { 0 };
  const char *args[] = { "qmp", "--timeout", "2000", NULL, "query-status", NULL };

  if (skip_unless_root ())
    return;
  work = make_workdir ();
  path = g_build_filename (work, "qmp.sock", NULL);
  record = g_build_filename (work, "record", NULL);
  p = peer_start (path, record, 0, peer_replies);
  args[3] = path;
  ql_test_run_bounded (&r, NULL, HANG_LIMIT_S, args);
  g_assert_false (r.killed);
  g_assert_true (g_utf8_validate (r.out, -1, NULL));
  g_assert_null (strchr (r.out, '\033'));
  g_assert_null (strstr (r.out, "\302\233"));
  if (replies[i].refused != NULL)
    {
      g_assert_cmpint (r.status, ==, 1);
      g_assert_cmpstr (r.out, ==, "");
      g_assert_true (g_str_has_prefix (r.err, "qlaunch: qmp query-status: "));
      if (strstr (r.err, replies[i].refused) == NULL)
        g_error ("'%s' not in: %s", replies[i].refused, r.err);
    }
  else
    {
      g_autofree char *why = NULL;

      g_assert_cmpint (r.status, ==, 0);
      why = json_mismatch (r.out, replies[i].expected);
      if (why != NULL)
        g_error ("qlaunch qmp printed %s: %s", r.out, why);
    }
  ql_test_run_clear (&r);
  ql_test_rm_rf (work);
}

/* `qmp --events` prints events with the same writer: valid JSON with the
 * controls escaped and doubles as JSON numbers; an event the client cannot
 * hold as sent ends it with exit 1. */
static void
test_events_print_json (void)
{
  g_autofree char *work = NULL;
  g_autofree char *path = NULL;
  g_autofree char *record = NULL;
  g_autofree char *why = NULL;
  QlTestRun r = { 0 };
  const char *args[] = { "qmp", "--events", "--timeout", "2000", NULL, NULL };
  const char *events[] = {
    "!{\"event\": \"X\", \"data\": {\"s\": \"\\u009b31m\\u001b[2J\", \"n\": 1e20}}",
    "!close", NULL
  };
  const char *hostile[] = { "!{\"event\": \"X\", \"data\": {\"s\": \"a\\u0000b\"}}", "!close", NULL };

  if (skip_unless_root ())
    return;
  work = make_workdir ();
  path = g_build_filename (work, "qmp.sock", NULL);
  record = g_build_filename (work, "record", NULL);
  args[4] = path;
  {
    g_autoptr(Peer) p = peer_start (path, record, 0, events);

    ql_test_run_bounded (&r, NULL, HANG_LIMIT_S, args);
    g_assert_false (r.killed);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_null (strchr (r.out, '\033'));
    g_assert_null (strstr (r.out, "\302\233"));
    why = json_mismatch (r.out, "{\"event\": \"X\", \"data\": {\"s\": \"\\u009b31m\\u001b[2J\", \"n\": 1e20}}");
    if (why != NULL)
      g_error ("qlaunch qmp --events printed %s: %s", r.out, why);
    ql_test_run_clear (&r);
  }
  g_unlink (path);
  {
    g_autoptr(Peer) p = peer_start (path, record, 0, hostile);

    ql_test_run_bounded (&r, NULL, HANG_LIMIT_S, args);
    g_assert_false (r.killed);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_cmpstr (r.out, ==, "");
    g_assert_nonnull (strstr (r.err, "\\u0000"));
    ql_test_run_clear (&r);
  }
  ql_test_rm_rf (work);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/security-qmp/qmp/foreign-peer", test_qmp_foreign_peer);
  g_test_add_func ("/security-qmp/hotplug/fd-not-sent", test_hotplug_fd_not_sent);
  g_test_add_func ("/security-qmp/unplug/foreign-peer", test_unplug_foreign_peer);
  g_test_add_func ("/security-qmp/qmp/socket-in-shared-dir", test_socket_in_shared_dir);
  g_test_add_func ("/security-qmp/library/peer", test_library_peer);
  g_test_add_func ("/security-qmp/library/vm-own-child", test_vm_own_child);
  g_test_add_func ("/security-qmp/qmp-events/print-json", test_events_print_json);
  for (guint i = 0; i < G_N_ELEMENTS (replies); i++)
    {
      g_autofree char *name = g_strdup_printf ("/security-qmp/qmp/prints-json/%s", replies[i].name);

      g_test_add_data_func (name, GUINT_TO_POINTER (i), test_qmp_prints_json);
    }
  return g_test_run ();
}
