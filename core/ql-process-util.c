/* qlaunch — what following a child process takes, shared by the launcher
 * of QEMU (ql-vm.c) and of helper processes (ql-helper-process.c): main
 * context sources owned by an object, and the environment a child gets by
 * default. */
#include "ql-private.h"

#include <string.h>

void
ql_source_destroy (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

GSource *
ql_source_attach_for (gpointer      owner,
                      GMainContext *context,
                      GSource      *source,
                      GSourceFunc   func,
                      const char   *name)
{
  g_source_set_callback (source, func, g_object_ref (owner), g_object_unref);
  g_source_set_name (source, name);
  g_source_attach (source, context);
  return source;
}

gboolean
ql_context_push (GMainContext *context)
{
  GMainContext *current = g_main_context_get_thread_default ();

  if ((current != NULL ? current : g_main_context_default ()) == context)
    return FALSE;
  g_main_context_push_thread_default (context);
  return TRUE;
}

void
ql_context_pop (GMainContext *context,
                gboolean      pushed)
{
  if (pushed)
    g_main_context_pop_thread_default (context);
}

gboolean
ql_env_passed_by_default (const char *entry)
{
  static const char * const names[] = { "PATH", "HOME", "LANG", "TMPDIR", "XDG_RUNTIME_DIR" };
  const char *eq = strchr (entry, '=');
  gsize len;

  if (eq == NULL)
    return FALSE;
  len = (gsize) (eq - entry);
  if (len > 3 && strncmp (entry, "LC_", 3) == 0)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strlen (names[i]) == len && strncmp (entry, names[i], len) == 0)
      return TRUE;
  return FALSE;
}
