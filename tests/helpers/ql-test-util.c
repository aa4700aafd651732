/* Tests: shared helpers. */
#include "ql-test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

QlRegistry *
ql_test_registry_new (void)
{
  QlRegistry *registry = ql_registry_new ();
  const char *dir = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  GPtrArray *errors;

  g_assert_nonnull (dir);
  ql_registry_add_search_dir (registry, dir);
  ql_registry_scan (registry);
  errors = ql_registry_get_load_errors (registry);
  for (guint i = 0; i < errors->len; i++)
    g_printerr ("plugin load error: %s\n", ((GError *) g_ptr_array_index (errors, i))->message);
  g_assert_cmpuint (errors->len, ==, 0);
  return registry;
}

static char *
argv_string (QlVmConfig  *vm,
             gboolean     with_sandbox,
             GError     **error)
{
  g_auto(GStrv) argv = ql_vm_config_to_argv (vm, error);
  g_autoptr(GString) s = NULL;

  if (argv == NULL)
    return NULL;
  s = g_string_new (NULL);
  for (guint i = 1; argv[i] != NULL; i++)
    {
      if (!with_sandbox && g_str_equal (argv[i], "-sandbox") && argv[i + 1] != NULL)
        {
          i++;
          continue;
        }
      g_string_append (s, argv[i]);
      g_string_append_c (s, '\n');
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
ql_test_argv_string (QlVmConfig  *vm,
                     GError     **error)
{
  return argv_string (vm, FALSE, error);
}

char *
ql_test_argv_string_all (QlVmConfig  *vm,
                         GError     **error)
{
  return argv_string (vm, TRUE, error);
}

QlVmConfig *
ql_test_load_vm (QlRegistry *registry,
                 const char *text)
{
  g_autoptr(GError) error = NULL;
  QlVmConfig *vm = ql_vm_config_new_from_data (text, -1, "test.vm", "/base", registry, &error);

  g_assert_no_error (error);
  ql_vm_config_set_host_probe (vm, NULL);
  return vm;
}

int
ql_test_run_cli (const char * const *args,
                 char              **out_stdout,
                 char              **out_stderr)
{
  return ql_test_run_cli_in (NULL, NULL, args, out_stdout, out_stderr);
}

int
ql_test_run_cli_in (const char         *cwd,
                    const char * const *env,
                    const char * const *args,
                    char              **out_stdout,
                    char              **out_stderr)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *bin = g_getenv ("QLAUNCH_BIN");

  g_assert_nonnull (bin);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      const char *eq = strchr (env[i], '=');
      g_autofree char *name = NULL;

      g_assert_nonnull (eq);
      name = g_strndup (env[i], eq - env[i]);
      g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
    }
  if (cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, cwd);
  g_ptr_array_add (argv, (gpointer) bin);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&out);
  if (out_stderr != NULL)
    *out_stderr = g_steal_pointer (&err);
  g_assert_true (g_subprocess_get_if_exited (proc));
  return g_subprocess_get_exit_status (proc);
}

static gboolean
kill_hung (gpointer data)
{
  GSubprocess *proc = data;

  g_object_set_data (G_OBJECT (proc), "ql-test-killed", GINT_TO_POINTER (1));
  g_subprocess_force_exit (proc);
  return G_SOURCE_REMOVE;
}

static void
store_result (GObject      *source,
              GAsyncResult *res,
              gpointer      data)
{
  (void) source;
  *(GAsyncResult **) data = g_object_ref (res);
}

void
ql_test_run_argv (QlTestRun           *r,
                  GSubprocessLauncher *launcher,
                  guint                limit_s,
                  const char * const  *argv)
{
  g_autoptr(GSubprocessLauncher) own = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) limit = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *what = g_strjoinv (" ", (char **) argv);
  gint64 start = g_get_monotonic_time ();

  ql_test_run_clear (r);
  g_assert_nonnull (argv[0]);
  if (launcher == NULL)
    launcher = own = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  if (limit_s > 0)
    {
      limit = g_timeout_source_new_seconds (limit_s);
      g_source_set_callback (limit, kill_hung, proc, NULL);
      g_source_attach (limit, NULL);
    }
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_subprocess_communicate_utf8_finish (proc, result, &r->out, &r->err, &error);
  g_assert_no_error (error);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  if (limit != NULL)
    g_source_destroy (limit);
  r->seconds = (g_get_monotonic_time () - start) / 1e6;
  r->killed = g_object_get_data (G_OBJECT (proc), "ql-test-killed") != NULL;
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  if (r->out == NULL)
    r->out = g_strdup ("");
  if (r->err == NULL)
    r->err = g_strdup ("");
  g_test_message ("%s: status %d after %.2f s%s; stdout: %s; stderr: %s", what, r->status,
                  r->seconds, r->killed ? " (killed: hung)" : "", r->out, r->err);
}

static void
run_with_bin (QlTestRun           *r,
              GSubprocessLauncher *launcher,
              guint                limit_s,
              gboolean             plugin_dir,
              const char * const  *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_assert_nonnull (g_getenv ("QLAUNCH_BIN"));
  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BIN"));
  if (plugin_dir)
    {
      g_assert_nonnull (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
      g_ptr_array_add (argv, (gpointer) "--plugin-dir");
      g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
    }
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  ql_test_run_argv (r, launcher, limit_s, (const char * const *) argv->pdata);
}

void
ql_test_run_bounded_bare (QlTestRun           *r,
                     GSubprocessLauncher *launcher,
                     guint                limit_s,
                     const char * const  *args)
{
  run_with_bin (r, launcher, limit_s, FALSE, args);
}

void
ql_test_run_bounded (QlTestRun           *r,
                     GSubprocessLauncher *launcher,
                     guint                limit_s,
                     const char * const  *args)
{
  run_with_bin (r, launcher, limit_s, TRUE, args);
}

void
ql_test_run_assert_exited (const QlTestRun *r)
{
  if (r->killed)
    g_error ("still running after its limit (%.0f s), killed; stdout: %s; stderr: %s", r->seconds, r->out, r->err);
  if (r->status < 0)
    g_error ("killed by a signal after %.2f s; stdout: %s; stderr: %s", r->seconds, r->out, r->err);
}

void
ql_test_run_clear (QlTestRun *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

char *
ql_test_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("qlaunch-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

char *
ql_test_make_safe_tmpdir (void)
{
  const char *env = g_getenv ("QLAUNCH_TEST_PLUGIN_TMPDIR");
  g_autofree char *base = env != NULL ? g_strdup (env)
                                      : g_build_filename (g_get_user_cache_dir (), "qlaunch-test-plugins", NULL);
  char *dir;

  g_assert_cmpint (g_mkdir_with_parents (base, 0755), ==, 0);
  g_assert_cmpint (g_chmod (base, 0755), ==, 0);
  dir = g_build_filename (base, "qlaunch-test-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp_full (dir, 0700));
  return dir;
}

void
ql_test_rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            ql_test_rm_rf (child);
          else
            g_unlink (child);
        }
    }
  g_rmdir (path);
}

void
ql_test_run_until (gboolean *flag,
                   guint     timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!*flag)
    {
      if (g_get_monotonic_time () > end)
        g_error ("timed out after %u ms", timeout_ms);
      g_main_context_iteration (NULL, FALSE);
      if (!*flag)
        g_usleep (1000);
    }
}

static gboolean
watchdog_fired (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
ql_test_wait_until (GMainContext *context,
                    QlTestCond    cond,
                    gpointer      data,
                    guint         timeout_ms,
                    const char   *what)
{
  gboolean expired = FALSE;
  GSource *watchdog = g_timeout_source_new (timeout_ms);

  g_source_set_callback (watchdog, watchdog_fired, &expired, NULL);
  g_source_attach (watchdog, context != NULL ? context : g_main_context_default ());
  while (!cond (data) && !expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (watchdog);
  g_source_unref (watchdog);
  if (!cond (data))
    g_error ("timed out after %u ms waiting for %s", timeout_ms, what);
}

gboolean
ql_test_flag_set (gpointer data)
{
  return *(gboolean *) data;
}

void
ql_test_spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

int
ql_test_seccomp_mode (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *line;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  line = strstr (text, "\nSeccomp:\t");
  if (line == NULL)
    return -1;
  return atoi (line + strlen ("\nSeccomp:\t"));
}

char *
ql_test_without_line (const char *text,
                      const char *file)
{
  const char *at = strstr (text, file);
  const char *p;
  GString *out;

  if (at == NULL)
    return g_strdup (text);
  p = at + strlen (file);
  if (*p != ':' || !g_ascii_isdigit (p[1]))
    return g_strdup (text);
  out = g_string_new_len (text, p - text);
  for (p++; g_ascii_isdigit (*p); p++)
    ;
  g_string_append (out, p);
  return g_string_free (out, FALSE);
}

gboolean
ql_test_pid_alive (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *paren;

  if (pid <= 0 || !g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  paren = strrchr (stat, ')');
  return paren != NULL && paren[1] != '\0' && paren[2] != 'Z';
}

gboolean
ql_test_uid_can_run (guint       uid,
                     const char *path)
{
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *reuid = g_strdup_printf ("--reuid=%u", uid);
  g_autofree char *regid = g_strdup_printf ("--regid=%u", uid);
  const char *argv[] = { setpriv, reuid, regid, "--clear-groups", "test", "-x", path, NULL };
  int status = 0;

  if (setpriv == NULL)
    return FALSE;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                     | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL))
    return FALSE;
  return g_spawn_check_wait_status (status, NULL);
}

char *
ql_test_make_owned_dir (const char *parent,
                        const char *name,
                        mode_t      mode,
                        uid_t       owner)
{
  char *dir = g_build_filename (parent, name, NULL);

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_cmpint (chown (dir, owner, owner), ==, 0);
  g_assert_cmpint (g_chmod (dir, mode), ==, 0);
  return dir;
}

JsonNode *
ql_test_parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

char *
ql_test_make_runtime_dir (const char *parent,
                          const char *name)
{
  char *dir = g_build_filename (parent, name, NULL);

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_setenv ("XDG_RUNTIME_DIR", dir, TRUE);
  return dir;
}

char *
ql_test_write_file (const char *dir,
                    const char *name,
                    const char *text)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

char *
ql_test_file_sha256 (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, &error);

  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *) g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

guint
ql_test_count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}
