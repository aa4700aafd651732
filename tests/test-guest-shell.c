/* Suite guest: the test guest's interactive shell (check `shell` of
 * tests/guest/init) and the harness's API for it (ql_test_guest_shell()
 * and friends in tests/helpers/ql-test-guest.h), which the QMP hotplug and
 * migration tests build on.
 *
 * - shell: commands run one per line; their output (stdout and stderr,
 *   with or without a final newline, never the command itself) and exit
 *   status come back; `poweroff` ends the session with a PASS.
 * - qmp: a [qmp NAME] group in the VM text gives a socket that works while
 *   the shell does; ql_test_guest_free() kills QEMU (the socket goes dead).
 * - console: ql_test_guest_wait() after shell commands keeps everything the
 *   console printed (timeout 0 kills QEMU at once).
 * - migrate: the guest's state moves to a second QEMU started with
 *   `-incoming defer` (ql_test_guest_add_qemu_args()), through a file;
 *   the shell goes on over the destination's console.
 *
 * Skipped when the test guest is not built.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"
#include "ql-test-qmp.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define BOOT_TIMEOUT_S    120
#define COMMAND_TIMEOUT_S 60

static const char qmp_vm_text[] =
  "[qmp q]\n"
  "type = unix\n"
  "path = qmp.sock\n"
  "server = true\n"
  "no-wait = true\n";

static gboolean
have_guest (void)
{
  if (ql_test_guest_dir () != NULL)
    return TRUE;
  g_test_skip_printf ("no test guest in QLAUNCH_GUEST_DIR='%s' (meson compile -C BUILDDIR guest)",
                      g_getenv ("QLAUNCH_GUEST_DIR") ? g_getenv ("QLAUNCH_GUEST_DIR") : "");
  return FALSE;
}

/* Starts @guest and waits for its shell; prints the story on failure. */
static void
start_shell (QlTestGuest *guest)
{
  g_autoptr(GError) error = NULL;

  if (!ql_test_guest_start (guest))
    {
      g_autoptr(QlTestGuestResult) result = ql_test_guest_wait (guest);
      g_autofree char *story = ql_test_guest_result_describe (result);

      g_printerr ("%s\n", story);
      g_assert_not_reached ();
    }
  ql_test_guest_wait_for_shell (guest, BOOT_TIMEOUT_S, &error);
  g_assert_no_error (error);
}

/* Runs @command, asserts its output and status. */
static void
assert_shell (QlTestGuest *guest,
              const char  *command,
              const char  *want_output,
              int          want_status)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  int status = -1;

  output = ql_test_guest_shell (guest, command, COMMAND_TIMEOUT_S, &status, &error);
  g_assert_no_error (error);
  g_test_message ("$ %s -> %d: %s", command, status, output);
  g_assert_cmpstr (output, ==, want_output);
  g_assert_cmpint (status, ==, want_status);
}

/* Sends poweroff, waits for QEMU's end: a PASS of check shell with
 * @commands commands, and a quiet QEMU. */
static QlTestGuestResult *
poweroff_and_wait (QlTestGuest *guest,
                   guint        commands)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *details = g_strdup_printf ("%u commands", commands);
  QlTestGuestResult *result;

  ql_test_guest_shell_poweroff (guest, COMMAND_TIMEOUT_S, &error);
  g_assert_no_error (error);
  result = ql_test_guest_wait (guest);
  if (result->status != QL_TEST_GUEST_PASS)
    {
      g_autofree char *story = ql_test_guest_result_describe (result);

      g_printerr ("%s\n", story);
    }
  g_assert_cmpstr (ql_test_guest_status_name (result->status), ==, "PASS");
  g_assert_cmpstr (result->check, ==, "shell");
  g_assert_cmpstr (result->details, ==, details);
  g_assert_cmpstr (result->qemu_stderr, ==, "");
  return result;
}

static void
test_shell (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *uname = NULL;

  if (!have_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  guest = ql_test_guest_new (dir, "", "shell", NULL);
  start_shell (guest);

  assert_shell (guest, "echo hi; exit 3", "hi\n", 3);
  assert_shell (guest, "printf no-newline", "no-newline", 0);
  assert_shell (guest, "true", "", 0);
  assert_shell (guest, "echo to-stderr >&2; false", "to-stderr\n", 1);
  assert_shell (guest, "no-such-command-here 2>/dev/null", "", 127);
  /* Commands do not come back (no echo), quotes and $ reach the shell. */
  assert_shell (guest, "x='a  b'; echo \"$x\" '$x'", "a  b $x\n", 0);
  /* stdin is /dev/null: cat cannot eat the next command. */
  assert_shell (guest, "cat; echo after-cat", "after-cat\n", 0);
  /* Files outlive a command; a marker-like word in the output is output. */
  assert_shell (guest, "echo kept > /tmp/f", "", 0);
  assert_shell (guest, "cat /tmp/f; echo QLTEST-DONE x", "kept\nQLTEST-DONE x\n", 0);
  assert_shell (guest, "printf 'a\\nb\\n\\nc\\n'", "a\nb\n\nc\n", 0);

  uname = ql_test_guest_shell (guest, "uname -r", COMMAND_TIMEOUT_S, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (uname, "\n") && strlen (uname) > 1);

  /* One line per command. */
  output = ql_test_guest_shell (guest, "echo a\necho b", COMMAND_TIMEOUT_S, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (output);

  result = poweroff_and_wait (guest, 11);
  g_assert_true (result->ready);
  g_assert_nonnull (strstr (result->console, "QLTEST-SHELL\nhi\nQLTEST-DONE 3\n"));
  g_assert_nonnull (strstr (result->console, uname));
  ql_test_rm_rf (dir);
}

/* QMP answers while the guest sits in the shell; free kills QEMU. */
static void
test_qmp_and_free (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) dead = NULL;
  g_autofree char *want_path = NULL;
  g_autofree char *qmp_path = NULL;

  if (!have_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  guest = ql_test_guest_new (dir, qmp_vm_text, "shell", NULL);
  start_shell (guest);

  /* qlaunch turned the group into -qmp unix:PATH,server=on,wait=off. */
  want_path = g_build_filename (dir, "qmp.sock", NULL);
  g_assert_cmpstr (ql_test_guest_get_qmp_path (guest), ==, want_path);
  qmp_path = g_strdup (ql_test_guest_get_qmp_path (guest));
  qmp = ql_test_qmp_connect (qmp_path, 30000, &error);
  g_assert_no_error (error);
  reply = ql_test_qmp_execute (qmp, "query-status", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"), ==, "running");
  assert_shell (guest, "echo still-here", "still-here\n", 0);
  g_clear_pointer (&qmp, ql_test_qmp_free);

  /* No wait: free must kill QEMU, whose socket then refuses connections. */
  g_clear_pointer (&guest, ql_test_guest_free);
  dead = ql_test_unix_connect (qmp_path, 200, &error);
  g_assert_null (dead);
  g_assert_nonnull (error);
  ql_test_rm_rf (dir);
}

/* wait() after shell commands keeps the console; timeout 0 kills QEMU. */
static void
test_console_after_shell (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *console = NULL;
  g_autofree char *output = NULL;

  if (!have_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  guest = ql_test_guest_new (dir, "", "shell", NULL);
  start_shell (guest);
  assert_shell (guest, "echo seen-by-wait", "seen-by-wait\n", 0);
  console = ql_test_guest_get_console (guest);
  g_assert_nonnull (strstr (console, "QLTEST-READY"));
  g_assert_nonnull (strstr (console, "seen-by-wait\nQLTEST-DONE 0\n"));

  ql_test_guest_set_timeout (guest, 0);
  result = ql_test_guest_wait (guest);
  g_assert_cmpstr (ql_test_guest_status_name (result->status), ==, "TIMEOUT");
  g_assert_true (result->ready);
  g_assert_nonnull (strstr (result->console, "seen-by-wait\nQLTEST-DONE 0\n"));

  /* QEMU is gone: the shell says so instead of hanging. */
  output = ql_test_guest_shell (guest, "true", 5, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_null (output);
  ql_test_rm_rf (dir);
}

static JsonObject *
object_of (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
qmp_ok (QlTestQmp  *qmp,
        const char *command,
        const char *arguments_json)
{
  g_autoptr(JsonObject) arguments = arguments_json != NULL ? object_of (arguments_json) : NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = ql_test_qmp_execute (qmp, command, arguments, &error);
  g_assert_no_error (error);
}

/* Polls query-migrate until the migration ends; asserts "completed". */
static void
wait_migration (QlTestQmp *qmp)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) reply = ql_test_qmp_execute (qmp, "query-migrate", NULL, &error);
      const char *status;

      g_assert_no_error (error);
      status = json_object_get_string_member_with_default (json_node_get_object (reply), "status", "");
      if (g_strcmp0 (status, "completed") == 0)
        return;
      if (g_strcmp0 (status, "failed") == 0 || g_strcmp0 (status, "cancelled") == 0
          || g_get_monotonic_time () > deadline)
        {
          g_autofree char *text = json_to_string (reply, FALSE);

          g_error ("migration did not complete: %s", text);
        }
      g_usleep (100 * 1000);
    }
}

/* The guest's RAM, devices and console move to a second QEMU through a
 * file; the shell goes on over the destination's console. */
static void
test_migrate (void)
{
  const char * const incoming[] = { "-incoming", "defer", NULL };
  g_autofree char *dir = NULL;
  g_autofree char *state = NULL;
  g_autofree char *to = NULL;
  g_autofree char *from = NULL;
  g_autoptr(QlTestGuest) source = NULL;
  g_autoptr(QlTestGuest) dest = NULL;
  g_autoptr(QlTestGuestResult) source_result = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(GError) error = NULL;

  if (!have_guest ())
    return;
  dir = ql_test_make_tmpdir ();
  state = g_build_filename (dir, "state", NULL);
  source = ql_test_guest_new (dir, qmp_vm_text, "shell", NULL);
  start_shell (source);
  assert_shell (source, "echo hello > /tmp/marker", "", 0);

  qmp = ql_test_qmp_connect (ql_test_guest_get_qmp_path (source), 30000, &error);
  g_assert_no_error (error);
  qmp_ok (qmp, "migrate-set-capabilities", "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}");
  qmp_ok (qmp, "migrate-set-parameters", "{\"max-bandwidth\": 1073741824}");
  qmp_ok (qmp, "stop", NULL);
  /* The state file goes to QEMU as a descriptor: under its seccomp filter
   * (spawn=deny) QEMU could not start an exec: migration's `cat`. */
  {
    int fd = open (state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    g_assert_cmpint (fd, >=, 0);
    g_assert_true (ql_test_qmp_getfd (qmp, fd, "state", &error));
    g_assert_no_error (error);
    close (fd);
  }
  to = g_strdup ("{\"uri\": \"fd:state\"}");
  qmp_ok (qmp, "migrate", to);
  wait_migration (qmp);
  g_clear_pointer (&qmp, ql_test_qmp_free);
  g_assert_true (g_file_test (state, G_FILE_TEST_IS_REGULAR));

  /* The source is done (paused, postmigrate): kill it, keep its story. */
  ql_test_guest_set_timeout (source, 0);
  source_result = ql_test_guest_wait (source);
  g_assert_true (source_result->ready);

  /* Same VM text (and QMP path: the source is gone), stopped for the
   * incoming migration. */
  dest = ql_test_guest_new (dir, qmp_vm_text, "shell", NULL);
  ql_test_guest_add_qemu_args (dest, incoming);
  g_assert_true (ql_test_guest_start (dest));
  qmp = ql_test_qmp_connect (ql_test_guest_get_qmp_path (dest), 30000, &error);
  g_assert_no_error (error);
  {
    int fd = open (state, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint (fd, >=, 0);
    g_assert_true (ql_test_qmp_getfd (qmp, fd, "state", &error));
    g_assert_no_error (error);
    close (fd);
  }
  from = g_strdup ("{\"uri\": \"fd:state\"}");
  qmp_ok (qmp, "migrate-incoming", from);
  wait_migration (qmp);
  /* The source was stopped: so is the destination until cont. */
  qmp_ok (qmp, "cont", NULL);
  g_clear_pointer (&qmp, ql_test_qmp_free);

  /* The guest printed its prompt on the source's console. */
  ql_test_guest_assume_shell (dest);
  assert_shell (dest, "cat /tmp/marker", "hello\n", 0);
  assert_shell (dest, "echo on-dest; exit 4", "on-dest\n", 4);
  result = poweroff_and_wait (dest, 3);   /* the count migrated too */
  g_assert_false (result->ready);    /* it never booted here */
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/guest-shell/shell", test_shell);
  g_test_add_func ("/guest-shell/qmp-and-free", test_qmp_and_free);
  g_test_add_func ("/guest-shell/console-after-shell", test_console_after_shell);
  g_test_add_func ("/guest-shell/migrate", test_migrate);
  return g_test_run ();
}
