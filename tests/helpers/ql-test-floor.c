/* Test helpers: the raw-QEMU floor of the template benchmarks (see
 * ql-test-floor.h). */
#include "ql-test-floor.h"

#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

char **
ql_test_floor_qemu_argv (const char *template_dir,
                         const char *qmp_path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *manifest = g_build_filename (template_dir, "manifest.json", NULL);
  g_autofree char *memory = g_build_filename (template_dir, "memory", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  JsonArray *array;

  json_parser_load_from_file (parser, manifest, &error);
  g_assert_no_error (error);
  array = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "argv");
  g_assert_nonnull (array);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *arg = json_array_get_string_element (array, i);
      g_autoptr(GString) s = g_string_new (arg);

      g_string_replace (s, "mem-path=/template/memory", "", 0);
      if (s->len != strlen (arg))
        {
          g_string_assign (s, arg);
          g_string_replace (s, "/template/memory", memory, 0);
        }
      g_ptr_array_add (argv, g_string_free (g_steal_pointer (&s), FALSE));
    }
  g_ptr_array_add (argv, g_strdup ("-qmp"));
  g_ptr_array_add (argv, g_strdup_printf ("unix:%s,server=on,wait=off", qmp_path));
  g_ptr_array_add (argv, g_strdup ("-S"));
  g_ptr_array_add (argv, g_strdup ("-incoming"));
  g_ptr_array_add (argv, g_strdup ("defer"));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

QlTestProc *
ql_test_floor_spawn (const char  *template_dir,
                     char       **qemu_argv,
                     const char  *qmp_path)
{
  g_autofree char *driver = g_build_filename (g_getenv ("QLAUNCH_TEST_BUILDDIR"), "clone-floor", NULL);
  g_autofree char *state = g_build_filename (template_dir, "state", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_assert_nonnull (g_getenv ("QLAUNCH_TEST_BUILDDIR"));
  g_ptr_array_add (argv, driver);
  g_ptr_array_add (argv, state);
  g_ptr_array_add (argv, (char *) qmp_path);
  g_ptr_array_add (argv, "--");
  for (guint i = 0; qemu_argv[i] != NULL; i++)
    g_ptr_array_add (argv, qemu_argv[i]);
  g_ptr_array_add (argv, NULL);
  return ql_test_proc_spawn ((const char * const *) argv->pdata);
}

void
ql_test_floor_wait_resumed (QlTestProc        *p,
                            guint              timeout_s,
                            QlTestFloorPhases *phases)
{
  const char *at = ql_test_proc_wait_stderr (p, "clone-floor: resumed: ", timeout_s);
  double qmp, migrated, resumed;

  /* The line may still be arriving. */
  while (strchr (at, '\n') == NULL)
    {
      if (p->exited && p->err.eof)
        ql_test_proc_fail (p, "exited");
      ql_test_proc_iterate ();
      at = strstr (p->err.buf->str, "clone-floor: resumed: ");
    }
  if (sscanf (at, "clone-floor: resumed: qmp %lf ms, migrated %lf ms, cont %lf ms",
              &qmp, &migrated, &resumed) != 3)
    ql_test_proc_fail (p, "cannot parse its 'resumed' line");
  if (phases != NULL)
    {
      phases->qmp = qmp / 1e3;
      phases->migrated = migrated / 1e3;
      phases->resumed = resumed / 1e3;
    }
}
