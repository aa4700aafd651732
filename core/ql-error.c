/* qlaunch — error domains and the private error list. */
#include "ql-private.h"

#include <string.h>

/**
 * ql_config_error_quark:
 *
 * Gets the #GQuark of the #QL_CONFIG_ERROR error domain.
 *
 * Returns: the error domain's quark
 */
G_DEFINE_QUARK (ql-config-error-quark, ql_config_error)

/**
 * ql_plugin_error_quark:
 *
 * Gets the #GQuark of the #QL_PLUGIN_ERROR error domain.
 *
 * Returns: the error domain's quark
 */
G_DEFINE_QUARK (ql-plugin-error-quark, ql_plugin_error)

QlErrorList *
ql_error_list_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
}

void
ql_error_list_add (QlErrorList *list,
                   GError      *error)
{
  g_return_if_fail (error != NULL);
  g_ptr_array_add (list, error);
}

void
ql_error_list_add_config (QlErrorList *list,
                          gint         code,
                          const char  *format,
                          ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  ql_error_list_add (list, g_error_new_literal (QL_CONFIG_ERROR, code, message));
}

gboolean
ql_error_list_propagate (QlErrorList *list,
                         GError     **error)
{
  g_autoptr(GString) all = NULL;

  if (list->len == 0)
    return TRUE;

  if (list->len == 1)
    {
      g_propagate_error (error, g_ptr_array_steal_index (list, 0));
      return FALSE;
    }

  all = g_string_new (NULL);
  for (guint i = 0; i < list->len; i++)
    {
      const GError *e = g_ptr_array_index (list, i);

      if (i > 0)
        g_string_append_c (all, '\n');
      g_string_append (all, e->message);
    }
  g_set_error_literal (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MULTIPLE, all->str);
  g_ptr_array_set_size (list, 0);
  return FALSE;
}

/* Damerau-Levenshtein (optimal string alignment): a swap of two
 * neighbouring letters ("qpm" for "qmp") costs 1. */
static guint
edit_distance (const char *a,
               const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *d = g_new (guint, (la + 1) * (lb + 1));

#define D(i, j) d[(i) * (lb + 1) + (j)]
  for (gsize i = 0; i <= la; i++)
    D (i, 0) = i;
  for (gsize j = 0; j <= lb; j++)
    D (0, j) = j;
  for (gsize i = 1; i <= la; i++)
    for (gsize j = 1; j <= lb; j++)
      {
        guint cost = a[i - 1] == b[j - 1] ? 0 : 1;

        D (i, j) = MIN (MIN (D (i - 1, j) + 1, D (i, j - 1) + 1), D (i - 1, j - 1) + cost);
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          D (i, j) = MIN (D (i, j), D (i - 2, j - 2) + 1);
      }
  return D (la, lb);
#undef D
}

const char *
ql_closest_word (const char         *word,
                 const char * const *candidates)
{
  const char *best = NULL;
  guint best_distance = 3;

  for (guint i = 0; candidates != NULL && candidates[i] != NULL; i++)
    {
      guint d = edit_distance (word, candidates[i]);

      if (d < best_distance)
        {
          best_distance = d;
          best = candidates[i];
        }
    }
  return best;
}

gboolean
ql_set_str (char      **str_pointer,
            const char *new_str)
{
  if (*str_pointer == new_str || g_strcmp0 (*str_pointer, new_str) == 0)
    return FALSE;
  g_free (*str_pointer);
  *str_pointer = g_strdup (new_str);
  return TRUE;
}

/* Notices: what the library worked around and the user should know. */
static GMutex notice_lock;
static QlNoticeFunc notice_func;
static gpointer notice_data;
static GPtrArray *notices;      /* GError, oldest first, while no func is set */

/**
 * ql_set_notice_func:
 * @func: (nullable) (scope forever): the function that receives each
 *   notice, or %NULL to keep them for ql_take_notices()
 * @user_data: (closure func): data for @func
 *
 * Sets where the library's notices go. A notice is something the library
 * worked around and the user should know, such as a cache directory
 * another user could write, which is then neither read nor written: the
 * call that met it still succeeds. The library itself never prints.
 *
 * With @func, each notice is given to it as it happens, in the thread
 * that met it (which may be any thread). Without one (the default), the
 * notices are kept until ql_take_notices(). `qlaunch` sets a function that
 * prints `qlaunch: warning: MESSAGE` on stderr. Notices kept before this
 * call stay for ql_take_notices().
 */
void
ql_set_notice_func (QlNoticeFunc func,
                    gpointer     user_data)
{
  g_mutex_lock (&notice_lock);
  notice_func = func;
  notice_data = user_data;
  g_mutex_unlock (&notice_lock);
}

/**
 * ql_take_notices:
 *
 * Takes the notices kept while no #QlNoticeFunc was set (see
 * ql_set_notice_func()), oldest first: a next call returns only newer
 * ones.
 *
 * Returns: (transfer full) (element-type GError): the notices (each a
 *   #GError whose message says what happened and what the library did),
 *   possibly none
 */
GPtrArray *
ql_take_notices (void)
{
  GPtrArray *taken;

  g_mutex_lock (&notice_lock);
  taken = notices != NULL ? g_steal_pointer (&notices)
                          : g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_mutex_unlock (&notice_lock);
  return taken;
}

/* Gives @notice (taken) to the notice function, or keeps it. */
void
ql_notice_take (GError *notice)
{
  QlNoticeFunc func;
  gpointer data;

  g_mutex_lock (&notice_lock);
  func = notice_func;
  data = notice_data;
  if (func == NULL)
    {
      if (notices == NULL)
        notices = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
      g_ptr_array_add (notices, notice);
    }
  g_mutex_unlock (&notice_lock);
  if (func != NULL)
    {
      func (notice, data);
      g_error_free (notice);
    }
}
