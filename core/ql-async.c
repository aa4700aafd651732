/* qlaunch — the one way the library's synchronous wrappers wait. */
#include "ql-private.h"

void
ql_store_result (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  (void) source;
  *(GAsyncResult **) data = g_object_ref (result);
}

void
ql_wait_result (GAsyncResult **result)
{
  GMainContext *context = g_main_context_ref_thread_default ();

  while (*result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_unref (context);
}
