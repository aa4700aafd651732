/* qlaunch — QEMU's key=value list syntax, parsed. */
#include "ql-keyval.h"

#include <qlaunch/qlaunch.h>

void
ql_keyval_pair_free (QlKeyvalPair *pair)
{
  if (pair == NULL)
    return;
  g_free (pair->key);
  g_free (pair->value);
  g_free (pair);
}

static gboolean
add_element (GPtrArray   *out,
             GString     *element,
             const char  *text,
             const char  *what,
             GError     **error)
{
  QlKeyvalPair *pair;
  const char *eq;

  if (element->len == 0)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "%s '%s': empty element (write a literal comma as ',,')",
                   what, text);
      return FALSE;
    }

  pair = g_new0 (QlKeyvalPair, 1);
  eq = strchr (element->str, '=');
  if (eq == NULL)
    pair->value = g_strdup (element->str);
  else
    {
      if (eq == element->str)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                       "%s '%s': element '%s' has an empty key",
                       what, text, element->str);
          g_free (pair);
          return FALSE;
        }
      pair->key = g_strndup (element->str, eq - element->str);
      pair->value = g_strdup (eq + 1);
    }
  g_ptr_array_add (out, pair);
  g_string_truncate (element, 0);
  return TRUE;
}

GPtrArray *
ql_keyval_split (const char  *text,
                 const char  *what,
                 GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_keyval_pair_free);
  g_autoptr(GString) element = g_string_new (NULL);
  const char *p;

  g_return_val_if_fail (text != NULL, NULL);

  for (p = text; *p != '\0'; p++)
    {
      if (*p == ',' && p[1] == ',')
        {
          /* ",," is one literal comma; only values may hold one. */
          g_string_append_c (element, ',');
          p++;
        }
      else if (*p == ',')
        {
          if (!add_element (out, element, text, what, error))
            return NULL;
        }
      else
        g_string_append_c (element, *p);
    }
  if (!add_element (out, element, text, what, error))
    return NULL;

  return g_steal_pointer (&out);
}
