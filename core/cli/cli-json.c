/* qlaunch CLI — QEMU's JSON, printed as JSON.
 *
 * json-glib's generator writes a double as "%g" with ".0" appended when
 * there is no '.' ("1e+20.0", "inf.0": not JSON), and C1 controls raw. This
 * writer keeps the JSON valid and inert on a terminal: strings as UTF-8
 * with C0, DEL and C1 escaped as \uXXXX (the same string to a JSON
 * reader), doubles with 17 significant digits (read back as the same double), and refuses what
 * JSON cannot say (a non-finite double, a string that is not UTF-8). */
#include "cli-common.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static gboolean write_node (GString *out, JsonNode *node, GError **error);

static gboolean
write_string (GString     *out,
              const char  *text,
              GError     **error)
{
  const char *end = NULL;

  if (!g_utf8_validate (text, -1, &end))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "a string that is not UTF-8 (at byte %d): JSON cannot hold it", (int) (end - text));
      return FALSE;
    }
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  g_string_append_c (out, '"');
  return TRUE;
}

static gboolean
write_value (GString   *out,
             JsonNode  *node,
             GError   **error)
{
  GType type = json_node_get_value_type (node);

  if (type == G_TYPE_STRING)
    return write_string (out, json_node_get_string (node), error);
  if (type == G_TYPE_INT64)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
  else if (type == G_TYPE_BOOLEAN)
    g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
  else if (type == G_TYPE_DOUBLE)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      double d = json_node_get_double (node);

      if (!isfinite (d))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "a number that is not finite: JSON cannot hold it");
          return FALSE;
        }
      g_ascii_dtostr (buf, sizeof buf, d);
      g_string_append (out, buf);
      /* Still a double to the reader: 3.0, not 3. */
      if (strpbrk (buf, ".eE") == NULL)
        g_string_append (out, ".0");
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "a value of type %s: not JSON", g_type_name (type));
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_node (GString   *out,
            JsonNode  *node,
            GError   **error)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      return TRUE;
    case JSON_NODE_VALUE:
      return write_value (out, node, error);
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            if (!write_node (out, json_array_get_element (array, i), error))
              return FALSE;
          }
        g_string_append_c (out, ']');
        return TRUE;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            if (!write_string (out, name, error))
              return FALSE;
            g_string_append_c (out, ':');
            if (!write_node (out, member, error))
              return FALSE;
          }
        g_string_append_c (out, '}');
        return TRUE;
      }
    }
  g_assert_not_reached ();
}

char *
ql_cli_json_to_string (JsonNode  *node,
                       GError   **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (!write_node (out, node, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}
