/* qlaunch — the compact byte form of a device type's description
 * (QlDeviceTypeInfo): what the registry cache stores and the plugin
 * scanner sends, and the reading of it as untrusted input. */
#include "ql-type-info-private.h"

#include <string.h>

static gboolean
bad (GError    **error,
     const char *type_name,
     const char *format,
     ...) G_GNUC_PRINTF (3, 4);

static gboolean
bad (GError    **error,
     const char *type_name,
     const char *format,
     ...)
{
  g_autofree char *what = NULL;
  va_list ap;

  va_start (ap, format);
  what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
               "description of device type '%s': %s", type_name, what);
  return FALSE;
}

/* Checks the fields of property @index of a description read back (from
 * a file or another process): its values are there, unchecked. */
static gboolean
check_property (QlPropertyInfo *info,
                guint32         kind,
                guint32         flags,
                const char     *type_name,
                guint           index,
                GError        **error)
{
  const char *name = info->name;

  if (!ql_name_is_valid (name))
    return bad (error, type_name, "property %u: name '%s' is not [a-z][a-z0-9-]*", index, name);
  if (info->blurb[0] == '\0' || info->value_type_name[0] == '\0' || info->description[0] == '\0')
    return bad (error, type_name, "property '%s': no blurb, value type or type description", name);
  if (kind > QL_PROPERTY_KIND_FD_LIST)
    return bad (error, type_name, "property '%s': unknown kind %u", name, kind);
  if ((flags & ~(guint32) QL_PROPERTY_INFO_KNOWN_FLAGS) != 0)
    return bad (error, type_name, "property '%s': unknown flags 0x%x", name, flags);
  info->kind = kind;
  info->flags = flags;
  if ((kind == QL_PROPERTY_KIND_INT && (gint64) info->minimum > (gint64) info->maximum)
      || ((kind == QL_PROPERTY_KIND_UINT || kind == QL_PROPERTY_KIND_SIZE) && info->minimum > info->maximum))
    return bad (error, type_name, "property '%s': its minimum is above its maximum", name);
  if (info->n_values > 0 && kind != QL_PROPERTY_KIND_ENUM && kind != QL_PROPERTY_KIND_FLAGS)
    return bad (error, type_name, "property '%s': %u values for a property of kind %u",
                name, info->n_values, kind);
  for (guint i = 0; i < info->n_values; i++)
    if (info->nicks[i][0] == '\0')
      return bad (error, type_name, "property '%s': value %u has no nick", name, i);
  return TRUE;
}

/* The compact form (ql_device_type_info_serialize()): the type's name,
 * GType name and plugin name ("" for none), the number of properties, then per property its kind, flags, minimum,
 * maximum, number of values and whether it has a default (32, 32, 64, 64,
 * 32 and 32 bits, little-endian), its name, nick, blurb, value type name,
 * type description and default (NUL-ended UTF-8; "" without one), then
 * per value the value (64 bits) and its nick. */

static void
put_u32 (GByteArray *out,
         guint32     v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_u64 (GByteArray *out,
         guint64     v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_str (GByteArray *out,
         const char *s)
{
  s = s != NULL ? s : "";
  g_byte_array_append (out, (const guint8 *) s, (guint) strlen (s) + 1);
}

void
ql_device_type_info_write_compact (QlDeviceTypeInfo *info,
                                   GByteArray       *out)
{
  put_str (out, info->name);
  put_str (out, info->gtype_name);
  put_str (out, info->plugin);
  put_u32 (out, info->properties->len);
  for (guint i = 0; i < info->properties->len; i++)
    {
      QlPropertyInfo *p = g_ptr_array_index (info->properties, i);

      put_u32 (out, p->kind);
      put_u32 (out, p->flags);
      put_u64 (out, p->minimum);
      put_u64 (out, p->maximum);
      put_u32 (out, p->n_values);
      put_u32 (out, p->default_text != NULL);
      put_str (out, p->name);
      put_str (out, p->nick);
      put_str (out, p->blurb);
      put_str (out, p->value_type_name);
      put_str (out, p->description);
      put_str (out, p->default_text);
      for (guint k = 0; k < p->n_values; k++)
        {
          put_u64 (out, (guint64) p->values[k]);
          put_str (out, p->nicks[k]);
        }
    }
}

/* Reads what the bytes hold, never past their end. */
typedef struct
{
  const guint8 *p;
  const guint8 *end;
} Cursor;

static gboolean
get_u32 (Cursor  *c,
         guint32 *v)
{
  if ((gsize) (c->end - c->p) < sizeof *v)
    return FALSE;
  memcpy (v, c->p, sizeof *v);
  *v = GUINT32_FROM_LE (*v);
  c->p += sizeof *v;
  return TRUE;
}

static gboolean
get_u64 (Cursor  *c,
         guint64 *v)
{
  if ((gsize) (c->end - c->p) < sizeof *v)
    return FALSE;
  memcpy (v, c->p, sizeof *v);
  *v = GUINT64_FROM_LE (*v);
  c->p += sizeof *v;
  return TRUE;
}

/* A NUL-ended UTF-8 string within the bytes, where it is. */
static gboolean
get_str (Cursor  *c,
         char   **s)
{
  const guint8 *nul = memchr (c->p, '\0', (gsize) (c->end - c->p));

  if (nul == NULL || !g_utf8_validate ((const char *) c->p, nul - c->p, NULL))
    return FALSE;
  *s = (char *) c->p;
  c->p = nul + 1;
  return TRUE;
}

QlDeviceTypeInfo *
ql_device_type_info_read_compact (const guint8  *data,
                                  gsize          len,
                                  GError       **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);

  return ql_device_type_info_read_compact_bytes (bytes, error);
}

/* Reads @bytes in place: the description's strings point into them. */
QlDeviceTypeInfo *
ql_device_type_info_read_compact_bytes (GBytes  *bytes,
                                        GError **error)
{
  g_autoptr(QlDeviceTypeInfo) info = ql_device_type_info_alloc ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  Cursor c = { data, data + len };
  guint32 n_props;

  if (data == NULL)
    c.p = c.end = (const guint8 *) "";
  info->block = g_bytes_ref (bytes);

  if (!get_str (&c, &info->name) || !get_str (&c, &info->gtype_name) || !get_str (&c, &info->plugin)
      || !get_u32 (&c, &n_props))
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "device type description cut short");
      return NULL;
    }
  if (!ql_name_is_valid (info->name))
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "device type description: name '%s' is not [a-z][a-z0-9-]*", info->name);
      return NULL;
    }
  if (info->gtype_name[0] == '\0' || (info->plugin[0] != '\0' && !ql_name_is_valid (info->plugin)))
    return bad (error, info->name, "no GType name, or plugin name '%s' not [a-z][a-z0-9-]*",
                info->plugin), NULL;
  if (info->plugin[0] == '\0')
    info->plugin = NULL;
  /* Each property takes 38 bytes at least: a count above what is left
   * is a lie, found out before anything is allocated for it. */
  if (n_props > (gsize) (c.end - c.p) / 38)
    return bad (error, info->name, "%u properties in %" G_GSIZE_FORMAT " bytes",
                n_props, (gsize) (c.end - c.p)), NULL;
  for (guint i = 0; i < n_props; i++)
    {
      g_autoptr(QlPropertyInfo) p = ql_property_info_alloc ();
      guint32 kind, flags, n_values, has_default;
      char *default_text = NULL;

      p->block = g_bytes_ref (bytes);
      if (!get_u32 (&c, &kind) || !get_u32 (&c, &flags) || !get_u64 (&c, &p->minimum)
          || !get_u64 (&c, &p->maximum) || !get_u32 (&c, &n_values) || !get_u32 (&c, &has_default)
          || !get_str (&c, &p->name) || !get_str (&c, &p->nick) || !get_str (&c, &p->blurb)
          || !get_str (&c, &p->value_type_name) || !get_str (&c, &p->description)
          || !get_str (&c, &default_text))
        return bad (error, info->name, "property %u cut short", i), NULL;
      if (has_default > 1 || (!has_default && default_text[0] != '\0'))
        return bad (error, info->name, "property %u: a default that is none", i), NULL;
      if (has_default)
        p->default_text = default_text;
      /* Each value takes 9 bytes at least. */
      if (n_values > (gsize) (c.end - c.p) / 9)
        return bad (error, info->name, "property '%s': %u values in %" G_GSIZE_FORMAT " bytes",
                    p->name, n_values, (gsize) (c.end - c.p)), NULL;
      p->n_values = n_values;
      p->nicks = g_new0 (char *, n_values + 1);
      p->values = g_new0 (gint64, n_values + 1);
      for (guint k = 0; k < n_values; k++)
        {
          guint64 v;

          if (!get_u64 (&c, &v) || !get_str (&c, &p->nicks[k]))
            return bad (error, info->name, "property '%s': value %u cut short", p->name, k), NULL;
          p->values[k] = (gint64) v;
        }
      if (!check_property (p, kind, flags, info->name, i, error))
        return NULL;
      if (!g_hash_table_add (seen, p->name))
        return bad (error, info->name, "property '%s' given twice", p->name), NULL;
      g_ptr_array_add (info->properties, g_steal_pointer (&p));
    }
  if (c.p != c.end)
    return bad (error, info->name, "%" G_GSIZE_FORMAT " bytes after its properties",
                (gsize) (c.end - c.p)), NULL;
  return g_steal_pointer (&info);
}

/**
 * ql_device_type_info_serialize:
 * @info: a #QlDeviceTypeInfo
 *
 * @info in a compact byte form that ql_device_type_info_new_from_bytes()
 * reads back, the same in every process of one qlaunch version: what the
 * registry cache stores and the plugin scanner sends. Not a stable format
 * across versions.
 *
 * Returns: (transfer full): the bytes
 */
GBytes *
ql_device_type_info_serialize (QlDeviceTypeInfo *info)
{
  GByteArray *out = g_byte_array_new ();

  g_return_val_if_fail (info != NULL, NULL);

  ql_device_type_info_write_compact (info, out);
  return g_byte_array_free_to_bytes (out);
}

/**
 * ql_device_type_info_new_from_bytes:
 * @bytes: a description, as ql_device_type_info_serialize() gives it
 * @error: return location for a %QL_PLUGIN_ERROR_BAD_DEVICE_TYPE error
 *
 * Reads a description back. @bytes are checked as untrusted input: never
 * read past their end, every count checked against what is left, every
 * text NUL-ended UTF-8, and the names (`[a-z][a-z0-9-]*`, no property
 * twice), blurbs, kinds, flags, ranges and values checked; the error
 * names what is wrong.
 *
 * Returns: (transfer full) (nullable): the description, or %NULL with
 *   @error set
 */
QlDeviceTypeInfo *
ql_device_type_info_new_from_bytes (GBytes  *bytes,
                                    GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);

  return ql_device_type_info_read_compact_bytes (bytes, error);
}

