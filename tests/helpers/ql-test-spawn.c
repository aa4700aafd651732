/* Test helpers: processes a test starts and waits for with a limit. */
#include "ql-test-spawn.h"

#include <json-glib/json-glib.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* In the child: dies with the test, so that a failed assertion leaves no
 * QEMU or daemon behind; and leaves no core file when QEMU aborts. */
static void
child_setup (gpointer user_data)
{
  struct rlimit no_core = { 0, 0 };

  (void) user_data;
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  setrlimit (RLIMIT_CORE, &no_core);
}

GSubprocess *
ql_test_spawn_child (const char * const *argv,
               int                 pass_fd,
               int                 target_fd,
               GSubprocessFlags    flags)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  GSubprocess *p;

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  if (pass_fd >= 0)
    {
      int copy = fcntl (pass_fd, F_DUPFD_CLOEXEC, 3);

      g_assert_cmpint (copy, >=, 0);
      g_subprocess_launcher_take_fd (launcher, copy, target_fd);
    }
  p = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return p;
}

typedef struct
{
  gboolean  done;
  char     *out;
  char     *err;
  GError   *error;
} Communication;

static void
communicated_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Communication *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->out, &c->err, &c->error);
  c->done = TRUE;
}

static gboolean
timed_out_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

int
ql_test_wait_exit (GSubprocess  *p,
                   guint         limit_s,
                   char        **out,
                   char        **err)
{
  Communication c = { 0 };
  gboolean timed_out = FALSE;
  guint timeout_id;

  g_subprocess_communicate_utf8_async (p, NULL, NULL, communicated_cb, &c);
  timeout_id = g_timeout_add_seconds (limit_s, timed_out_cb, &timed_out);
  while (!c.done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!c.done)
    {
      g_subprocess_force_exit (p);
      while (!c.done)
        g_main_context_iteration (NULL, TRUE);
      g_test_fail_printf ("the process did not exit within %u s; stderr:\n%s",
                          limit_s, c.err != NULL ? c.err : "");
    }
  else
    g_source_remove (timeout_id);
  g_assert_no_error (c.error);
  g_subprocess_wait (p, NULL, NULL);

  if (out != NULL)
    *out = g_steal_pointer (&c.out);
  if (err != NULL)
    *err = g_steal_pointer (&c.err);
  g_free (c.out);
  g_free (c.err);
  if (!g_subprocess_get_if_exited (p))
    return -1;
  return g_subprocess_get_exit_status (p);
}

int
ql_test_run_qlaunch (const char * const *args,
                     int                 pass_fd,
                     int                 target_fd,
                     guint               limit_s,
                     char              **out,
                     char              **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) p = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BIN"));
  g_ptr_array_add (argv, (gpointer) "--plugin-dir");
  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  p = ql_test_spawn_child ((const char * const *) argv->pdata, pass_fd, target_fd,
                     G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  return ql_test_wait_exit (p, limit_s, out, err);
}

GStrv
ql_test_qemu_argv (const char * const *args,
                   int                 pass_fd,
                   int                 target_fd,
                   guint               limit_s)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  JsonArray *array;
  int status;

  status = ql_test_run_qlaunch (args, pass_fd, target_fd, limit_s, &out, &err);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (status, ==, 0);
  g_test_message ("argv: %s", out);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_strv_builder_add (builder, json_array_get_string_element (array, i));
  g_strv_builder_add (builder, "-display");
  g_strv_builder_add (builder, "none");
  return g_strv_builder_end (builder);
}
