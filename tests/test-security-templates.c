/* qlaunch tests — the security suite: templates and pid files, tried as
 * another local user would (uid 65534 plays that user; the tests run as
 * root and are skipped otherwise).
 *
 * /security/templates/other-user: a template directory owned by uid 65534,
 *   or writable by its group, is refused by ql_template_new_clone() and
 *   `template clone` (exit 1, the reason named) before any QEMU starts;
 *   `template create` into a parent directory owned by uid 65534, or
 *   writable by its group, is refused before QEMU starts.
 * /security/templates/qemu-edited: a manifest edited (VM text, QEMU record
 *   and argv, consistently) to run a program uid 65534 planted is refused
 *   with the reason; the program never runs (it would write a marker).
 * /security/templates/newline-dir: a template moved into a directory whose
 *   name holds newlines and a [device] group: the clone gets no device from
 *   it (its memory path is a value, escaped): it is refused, since no QEMU
 *   option holds a line break (were it accepted, it would have exactly the
 *   template's arguments and its memory file).
 * /security/templates/killed-create: `template create` killed with SIGKILL
 *   while its QEMU boots leaves a partial directory; the next create into
 *   the same parent removes it.
 * /security/pidfile/planted: a pid file that is a symbolic link to a file
 *   of ours, or a file of uid 65534 naming a `sleep` of uid 65534: the
 *   launch is refused, the target is unchanged and the `sleep` is never
 *   signalled (even when the launch is stopped at once).
 *
 * The template cases need the test guest (skipped without it). */
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define OTHER_UID 65534
#define CREATE_TIMEOUT_S 110

static char *work_dir;
static char *vm_file;
static char *template_dir;

static gboolean
skip_unless_root (void)
{
  if (getuid () == 0)
    return FALSE;
  g_test_skip ("not root: cannot play another user (chown to uid 65534, setpriv)");
  return TRUE;
}

static gboolean
skip_without_guest (void)
{
  return skip_unless_root () || ql_test_skip_without_guest ();
}

static void
ensure_work_dir (void)
{
  if (work_dir != NULL)
    return;
  work_dir = ql_test_make_tmpdir ();
  g_assert_cmpint (g_chmod (work_dir, 0755), ==, 0);
}

static void
run_argv (const char * const *argv)
{
  g_autoptr(GError) error = NULL;

  if (!ql_test_run (argv, &error))
    g_error ("%s: %s", argv[0], error->message);
}

/* `qlaunch --plugin-dir ... template create ...`: the exit status. */
static int
template_create (const char  *dir,
                 const char  *timeout,
                 char       **err)
{
  const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "template", "create",
                         "--ready-pattern", "QLTEST-SHELL", "--timeout", timeout, vm_file, dir, NULL };

  return ql_test_run_cli (args, NULL, err);
}

static void
ensure_template (void)
{
  const char *guest = ql_test_guest_dir ();
  g_autofree char *text = NULL;
  g_autofree char *err = NULL;
  g_autofree char *timeout = g_strdup_printf ("%d", CREATE_TIMEOUT_S);

  if (template_dir != NULL)
    return;
  ensure_work_dir ();
  text = g_strdup_printf ("[vm]\nname = qlsec\n"
                          "[machine]\ntype = pc\nacceleration = tcg\n"
                          "[memory]\nsize = 128M\n"
                          "[knobs]\nno-user-config = true\nno-graphic = true\n"
                          "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                          "params = " QL_TEST_GUEST_PARAMS " qltest=shell\n", guest, guest);
  vm_file = g_build_filename (work_dir, "tpl.vm", NULL);
  g_assert_true (g_file_set_contents (vm_file, text, -1, NULL));
  template_dir = g_build_filename (work_dir, "tpl", NULL);
  if (template_create (template_dir, timeout, &err) != 0)
    g_error ("qlaunch template create failed:\n%s", err);
}

/* A copy of the template at @name in the work directory. */
static char *
copy_template (const char *name)
{
  char *copy = g_build_filename (work_dir, name, NULL);
  const char *cp[] = { "cp", "-a", template_dir, copy, NULL };

  run_argv (cp);
  return copy;
}

/* The clone of the template in @dir, through the library: NULL with
 * @error when refused (no QEMU is started either way). */
static QlVm *
library_clone (const char  *dir,
               GError     **error)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autoptr(QlTemplate) tpl = ql_template_load (dir, registry, error);

  return tpl != NULL ? ql_template_new_clone (tpl, error) : NULL;
}

static void
assert_clone_refused (const char *dir,
                      const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVm) vm = library_clone (dir, &error);
  g_autofree char *err = NULL;
  const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "template", "clone",
                         "--timeout", "20", dir, NULL };
  int status;

  if (vm != NULL)
    g_error ("the clone of %s was accepted (%s)", dir, reason);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, reason));
  /* The CLI too, before QEMU starts. */
  status = ql_test_run_cli (args, NULL, &err);
  g_test_message ("template clone: %s", err);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, reason));
}

static void
test_other_user (void)
{
  g_autofree char *owned = NULL;
  g_autofree char *group_writable = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *target = NULL;
  g_autofree char *err = NULL;
  const char *chown_args[] = { "chown", "-R", "65534:65534", NULL, NULL };

  if (skip_without_guest ())
    return;
  ensure_template ();

  owned = copy_template ("owned-by-other");
  chown_args[3] = owned;
  run_argv (chown_args);
  assert_clone_refused (owned, "owned by user 65534");

  group_writable = copy_template ("group-writable");
  g_assert_cmpint (g_chmod (group_writable, 0775), ==, 0);
  assert_clone_refused (group_writable, "writable by group or others");

  /* create: into a parent of another user, then a group-writable one. */
  parent = g_build_filename (work_dir, "other-parent", NULL);
  g_assert_cmpint (g_mkdir (parent, 0755), ==, 0);
  g_assert_cmpint (chown (parent, OTHER_UID, OTHER_UID), ==, 0);
  target = g_build_filename (parent, "t", NULL);
  g_assert_cmpint (template_create (target, "5", &err), ==, 1);
  g_test_message ("template create: %s", err);
  g_assert_nonnull (strstr (err, "owned by user 65534"));
  g_assert_null (strstr (err, "not ready"));
  g_assert_cmpint (chown (parent, 0, 0), ==, 0);
  g_assert_cmpint (g_chmod (parent, 0775), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (template_create (target, "5", &err), ==, 1);
  g_test_message ("template create: %s", err);
  g_assert_nonnull (strstr (err, "writable by group or others"));
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
}

static void
test_qemu_edited (void)
{
  g_autofree char *copy = NULL;
  g_autofree char *other = NULL;
  g_autofree char *program = NULL;
  g_autofree char *marker = NULL;
  g_autofree char *script = NULL;
  g_autofree char *manifest_path = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autofree char *text = NULL;
  g_autofree char *old_binary = NULL;
  JsonObject *manifest, *vm_record, *qemu;
  JsonArray *argv;
  GStatBuf st;

  if (skip_without_guest ())
    return;
  ensure_template ();
  copy = copy_template ("edited");
  other = g_build_filename (work_dir, "other-bin", NULL);
  program = g_build_filename (other, "qemu-system-x86_64", NULL);
  marker = g_build_filename (work_dir, "program-ran", NULL);
  script = g_strdup_printf ("#!/bin/sh\ntouch '%s'\nexit 1\n", marker);
  manifest_path = g_build_filename (copy, "manifest.json", NULL);

  /* The other user's program, in the other user's directory. */
  g_assert_cmpint (g_mkdir (other, 0755), ==, 0);
  g_assert_true (g_file_set_contents (program, script, -1, NULL));
  g_assert_cmpint (g_chmod (program, 0755), ==, 0);
  g_assert_cmpint (chown (program, OTHER_UID, OTHER_UID), ==, 0);
  g_assert_cmpint (chown (other, OTHER_UID, OTHER_UID), ==, 0);
  g_assert_cmpint (g_stat (program, &st), ==, 0);

  /* The manifest, edited consistently: the VM text names the program, the
   * QEMU record and the argv agree. */
  g_assert_true (json_parser_load_from_file (parser, manifest_path, NULL));
  manifest = json_node_get_object (json_parser_get_root (parser));
  vm_record = json_object_get_object_member (manifest, "vm");
  text = g_strdup_printf ("[vm]\nqemu = %s\n%s", program,
                          json_object_get_string_member (vm_record, "text") + strlen ("[vm]\n"));
  json_object_set_string_member (vm_record, "text", text);
  qemu = json_object_get_object_member (manifest, "qemu");
  old_binary = g_path_get_basename (json_object_get_string_member (qemu, "path"));
  json_object_set_string_member (qemu, "path", program);
  json_object_set_int_member (qemu, "size", st.st_size);
  json_object_set_int_member (qemu, "mtime", st.st_mtime);
  argv = json_object_get_array_member (manifest, "argv");
  g_assert_true (g_str_has_suffix (json_array_get_string_element (argv, 0), old_binary));
  {
    JsonArray *edited = json_array_new ();

    json_array_add_string_element (edited, program);
    for (guint i = 1; i < json_array_get_length (argv); i++)
      json_array_add_element (edited, json_node_copy (json_array_get_element (argv, i)));
    json_object_set_array_member (manifest, "argv", edited);
  }
  {
    g_autoptr(JsonGenerator) gen = json_generator_new ();
    g_autofree char *out = NULL;

    json_generator_set_root (gen, json_parser_get_root (parser));
    out = json_generator_to_data (gen, NULL);
    g_assert_cmpint (g_chmod (manifest_path, 0644), ==, 0);
    g_assert_true (g_file_set_contents (manifest_path, out, -1, NULL));
    g_assert_cmpint (g_chmod (manifest_path, 0444), ==, 0);
  }

  vm = library_clone (copy, &error);
  if (vm != NULL)
    {
      g_autoptr(QlRegistry) registry = ql_test_registry_new ();
      g_autoptr(QlTemplate) tpl = ql_template_load (copy, registry, NULL);
      g_autoptr(GError) start_error = NULL;

      /* Accepted: show what that means. */
      ql_template_start_clone (tpl, vm, QL_TEMPLATE_CLONE_PAUSED, NULL, 10000, NULL, &start_error);
      g_error ("a manifest naming %s was accepted; the program %s (%s)", program,
               g_file_test (marker, G_FILE_TEST_EXISTS) ? "ran" : "did not run",
               start_error != NULL ? start_error->message : "");
    }
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, program));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

/* The clone's argv, without host checks. */
static char *
clone_argv (QlVm *vm)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;

  ql_vm_config_set_host_probe (ql_vm_get_config (vm), NULL);
  argv = ql_vm_config_to_argv (ql_vm_get_config (vm), &error);
  g_assert_no_error (error);
  return g_strjoinv ("\n", argv);
}

static void
test_newline_dir (void)
{
  g_autofree char *copy = NULL;
  g_autofree char *odd = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *plain_argv = NULL;
  g_autofree char *odd_argv = NULL;
  g_autofree char *mem_path = NULL;
  g_autoptr(QlVm) plain = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_without_guest ())
    return;
  ensure_template ();
  plain = library_clone (template_dir, &error);
  g_assert_no_error (error);
  plain_argv = clone_argv (plain);

  /* A directory whose name would be lines of a VM file: the rest of the
   * path after it becomes a comment. */
  copy = copy_template ("nl-copy");
  odd = g_build_filename (work_dir, "x\n[device injected]\ntype = rng\n#", NULL);
  g_assert_cmpint (g_mkdir (odd, 0755), ==, 0);
  moved = g_build_filename (odd, "tpl", NULL);
  g_assert_cmpint (g_rename (copy, moved), ==, 0);

  vm = library_clone (moved, &error);
  if (vm == NULL)
    {
      /* No QEMU option holds a line break: refused, the reason named. */
      g_test_message ("refused: %s", error->message);
      g_assert_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH);
      g_assert_nonnull (strstr (error->message, "holds a line break"));
      return;
    }
  odd_argv = clone_argv (vm);
  g_test_message ("clone argv:\n%s", odd_argv);
  if (strstr (odd_argv, "injected") != NULL)
    g_error ("the directory's name added a device to the clone:\n%s", odd_argv);
  mem_path = g_strdup_printf ("mem-path=%s/memory,", moved);
  g_assert_nonnull (strstr (odd_argv, mem_path));
  /* As many arguments as the clone of the same template elsewhere. */
  {
    g_auto(GStrv) a = g_strsplit (plain_argv, "\n", -1);
    g_auto(GStrv) b = g_strsplit (odd_argv, "\n", -1);

    g_assert_cmpuint (g_strv_length (b), ==, g_strv_length (a));
  }
}

/* The partial directories (.NAME.partial-*) in @parent, space-separated. */
static char *
partial_dirs (const char *parent)
{
  g_autoptr(GDir) d = g_dir_open (parent, 0, NULL);
  GString *found = g_string_new (NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (strstr (name, ".partial-") != NULL)
      g_string_append_printf (found, "%s%s", found->len > 0 ? " " : "", name);
  return g_string_free (found, FALSE);
}

/* The pids of processes with an argument containing @needle (not us). */
static GArray *
pids_mentioning (const char *needle)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "cmdline", NULL);
      g_autofree char *cmdline = NULL;
      gsize len = 0;
      int pid = atoi (name);

      if (pid <= 0 || pid == getpid () || !g_file_get_contents (path, &cmdline, &len, NULL))
        continue;
      for (gsize at = 0; at < len; at += strlen (cmdline + at) + 1)
        if (strstr (cmdline + at, needle) != NULL)
          {
            g_array_append_val (pids, pid);
            break;
          }
    }
  return pids;
}

static void
test_killed_create (void)
{
  g_autofree char *parent = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *stale = NULL;
  g_autofree char *left = NULL;
  g_autofree char *err = NULL;
  g_autofree char *timeout = g_strdup_printf ("%d", CREATE_TIMEOUT_S);
  g_autoptr(GSubprocess) create = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) qemus = NULL;
  gint64 deadline;

  if (skip_without_guest ())
    return;
  ensure_template ();
  parent = g_build_filename (work_dir, "killed", NULL);
  g_assert_cmpint (g_mkdir (parent, 0755), ==, 0);
  first = g_build_filename (parent, "first", NULL);
  second = g_build_filename (parent, "second", NULL);
  {
    const char *argv[] = { g_getenv ("QLAUNCH_BIN"), "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"),
                           "template", "create", "--ready-pattern", "QLTEST-SHELL", "--timeout", timeout,
                           vm_file, first, NULL };

    create = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
    g_assert_no_error (error);
  }
  /* Mid-way: the partial directory holds the guest's memory file. */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autofree char *found = partial_dirs (parent);

      if (*found != '\0')
        {
          g_autofree char *memory = g_build_filename (parent, found, "memory", NULL);

          if (g_file_test (memory, G_FILE_TEST_EXISTS))
            {
              stale = g_build_filename (parent, found, NULL);
              break;
            }
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("no partial directory with a memory file in %s", parent);
      g_usleep (20 * 1000);
    }
  g_subprocess_send_signal (create, SIGKILL);
  g_subprocess_wait (create, NULL, NULL);
  g_test_message ("killed template create; left %s", stale);
  /* Its QEMU, if it outlived it, goes too (it is not what is tested). */
  qemus = pids_mentioning (parent);
  for (guint i = 0; i < qemus->len; i++)
    {
      g_test_message ("QEMU %d outlived the killed create", g_array_index (qemus, int, i));
      kill (g_array_index (qemus, int, i), SIGKILL);
    }
  g_assert_true (g_file_test (stale, G_FILE_TEST_IS_DIR));

  g_assert_cmpint (template_create (second, timeout, &err), ==, 0);
  left = partial_dirs (parent);
  if (*left != '\0')
    g_error ("after the next create in %s, partial directories are left: %s", parent, left);
  g_assert_true (g_file_test (second, G_FILE_TEST_IS_DIR));
  g_assert_false (g_file_test (first, G_FILE_TEST_EXISTS));
}

/* A `sleep 600` of uid 65534. */
static GSubprocess *
other_user_sleep (void)
{
  const char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         "sleep", "600", NULL };
  g_autoptr(GError) error = NULL;
  GSubprocess *sleeper = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_NONE, &error);

  g_assert_no_error (error);
  return sleeper;
}

/* A VM writing its pid to @pid_file, launched and stopped at once. */
static gboolean
launch_with_pid_file (const char  *pid_file,
                      gboolean     daemonize,
                      GError     **error)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autofree char *text = g_strdup_printf ("[vm]\nname = qlpid\npid-file = %s\n"
                                           "[machine]\ntype = none\nacceleration = tcg\n"
                                           "[knobs]\nno-defaults = true\nno-user-config = true\n"
                                           "no-graphic = true\ndaemonize = %s\n",
                                           pid_file, daemonize ? "true" : "false");
  g_autoptr(QlVmConfig) config = ql_vm_config_new_from_data (text, -1, "pid.vm", work_dir, registry, error);
  g_autoptr(QlVm) vm = NULL;
  gboolean launched;

  if (config == NULL)
    return FALSE;
  vm = ql_vm_new (config);
  ql_vm_set_grace_period (vm, 0);
  launched = ql_vm_launch (vm, NULL, error);
  ql_vm_stop (vm);
  ql_vm_wait (vm, NULL, NULL);
  return launched;
}

static void
test_pid_file_planted (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *link = NULL;
  g_autofree char *target = NULL;
  g_autofree char *planted = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *sleep_pid = NULL;
  g_autoptr(GSubprocess) sleeper = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_unless_root ())
    return;
  ensure_work_dir ();
  /* A directory everyone can write to, as /tmp (sticky). */
  dir = g_build_filename (work_dir, "public", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (dir, 01777), ==, 0);

  /* A symbolic link to a file of ours. */
  target = g_build_filename (work_dir, "precious", NULL);
  g_assert_true (g_file_set_contents (target, "precious\n", -1, NULL));
  link = g_build_filename (dir, "link.pid", NULL);
  g_assert_cmpint (symlink (target, link), ==, 0);
  if (launch_with_pid_file (link, FALSE, &error))
    g_error ("a launch with a pid file that is a symbolic link to %s was accepted", target);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, link));
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious\n");
  g_clear_error (&error);

  /* A file of the other user naming its `sleep`. */
  sleeper = other_user_sleep ();
  sleep_pid = g_strdup_printf ("%s\n", g_subprocess_get_identifier (sleeper));
  planted = g_build_filename (dir, "planted.pid", NULL);
  for (guint daemonize = 0; daemonize < 2; daemonize++)
    {
      g_assert_true (g_file_set_contents (planted, sleep_pid, -1, NULL));
      g_assert_cmpint (chown (planted, OTHER_UID, OTHER_UID), ==, 0);
      if (launch_with_pid_file (planted, daemonize, &error))
        g_error ("a launch with a planted pid file (daemonize %u) was accepted", daemonize);
      g_test_message ("refused: %s", error->message);
      g_assert_nonnull (strstr (error->message, planted));
      g_clear_error (&error);
      g_clear_pointer (&contents, g_free);
      g_assert_true (g_file_get_contents (planted, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, sleep_pid);
      g_assert_true (ql_test_pid_alive (atoi (g_subprocess_get_identifier (sleeper))));
    }
  g_subprocess_force_exit (sleeper);
  g_subprocess_wait (sleeper, NULL, NULL);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/security/templates/other-user", test_other_user);
  g_test_add_func ("/security/templates/qemu-edited", test_qemu_edited);
  g_test_add_func ("/security/templates/newline-dir", test_newline_dir);
  g_test_add_func ("/security/templates/killed-create", test_killed_create);
  g_test_add_func ("/security/pidfile/planted", test_pid_file_planted);
  status = g_test_run ();
  if (work_dir != NULL)
    ql_test_rm_rf (work_dir);
  return status;
}
