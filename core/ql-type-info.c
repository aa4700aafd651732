/* qlaunch — descriptions of plugins, device types and their properties
 * that need no plugin loaded (the registry cache keeps them). */
#include "ql-private.h"

#include <string.h>

struct _QlPropertyInfo
{
  gatomicrefcount ref_count;
  char           *name;
  char           *nick;
  char           *blurb;
  char           *value_type_name;
  char           *description;
  char           *default_text;   /* (nullable) */
  QlPropertyKind  kind;
  GParamFlags     flags;
  guint64         minimum;        /* two's complement for QL_PROPERTY_KIND_INT */
  guint64         maximum;
  char          **nicks;          /* enumerations and flags; else empty */
  gint64         *values;
  guint           n_values;
  /* (nullable) Read back: the strings point into it (nicks is an array
   * of its own). */
  GBytes         *block;
};

struct _QlDeviceTypeInfo
{
  gatomicrefcount ref_count;
  char           *name;
  char           *gtype_name;
  char           *plugin;         /* (nullable): the application's */
  GPtrArray      *properties;     /* element-type QlPropertyInfo */
  GBytes         *block;          /* as in QlPropertyInfo */
};

struct _QlPluginInfo
{
  gatomicrefcount ref_count;
  char           *name;
  char           *description;
  char           *version;
  char           *license;
  char           *filename;
  char          **device_types;
};

G_DEFINE_BOXED_TYPE (QlPropertyInfo, ql_property_info, ql_property_info_ref, ql_property_info_unref)
G_DEFINE_BOXED_TYPE (QlDeviceTypeInfo, ql_device_type_info, ql_device_type_info_ref, ql_device_type_info_unref)
G_DEFINE_BOXED_TYPE (QlPluginInfo, ql_plugin_info, ql_plugin_info_ref, ql_plugin_info_unref)

#define KNOWN_FLAGS (G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_CONSTRUCT_ONLY | G_PARAM_LAX_VALIDATION \
                     | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_DEPRECATED)

static QlPropertyInfo *
property_info_alloc (void)
{
  QlPropertyInfo *info = g_new0 (QlPropertyInfo, 1);

  g_atomic_ref_count_init (&info->ref_count);
  return info;
}

static QlPropertyKind
kind_of (GParamSpec *pspec)
{
  GType vtype = G_PARAM_SPEC_VALUE_TYPE (pspec);

  if (ql_param_spec_is_size (pspec))
    return QL_PROPERTY_KIND_SIZE;
  if (ql_param_spec_is_path (pspec))
    return QL_PROPERTY_KIND_PATH;
  if (vtype == G_TYPE_BOOLEAN)
    return QL_PROPERTY_KIND_BOOLEAN;
  if (vtype == G_TYPE_STRING)
    return QL_PROPERTY_KIND_STRING;
  if (vtype == G_TYPE_STRV)
    return QL_PROPERTY_KIND_STRV;
  if (vtype == QL_TYPE_FD_LIST)
    return QL_PROPERTY_KIND_FD_LIST;
  if (G_IS_PARAM_SPEC_UINT (pspec) || G_IS_PARAM_SPEC_UINT64 (pspec))
    return QL_PROPERTY_KIND_UINT;
  if (G_IS_PARAM_SPEC_INT (pspec) || G_IS_PARAM_SPEC_INT64 (pspec))
    return QL_PROPERTY_KIND_INT;
  if (G_TYPE_IS_ENUM (vtype))
    return QL_PROPERTY_KIND_ENUM;
  if (G_TYPE_IS_FLAGS (vtype))
    return QL_PROPERTY_KIND_FLAGS;
  return QL_PROPERTY_KIND_OTHER;
}

/**
 * ql_property_info_new_for_pspec:
 * @pspec: a property of a device type
 *
 * Describes @pspec: what ql_param_describe_type() and
 * ql_param_value_to_string() say of its type and default, its range or
 * values, its flags.
 *
 * Returns: (transfer full): the description
 */
QlPropertyInfo *
ql_property_info_new_for_pspec (GParamSpec *pspec)
{
  QlPropertyInfo *info;
  GType vtype;

  g_return_val_if_fail (G_IS_PARAM_SPEC (pspec), NULL);

  vtype = G_PARAM_SPEC_VALUE_TYPE (pspec);
  info = property_info_alloc ();
  info->name = g_strdup (g_param_spec_get_name (pspec));
  info->nick = g_strdup (g_param_spec_get_nick (pspec));
  info->blurb = g_strdup (g_param_spec_get_blurb (pspec));
  info->value_type_name = g_strdup (g_type_name (vtype));
  info->description = ql_param_describe_type (pspec);
  info->default_text = ql_param_value_to_string (pspec, g_param_spec_get_default_value (pspec));
  info->kind = kind_of (pspec);
  info->flags = pspec->flags & KNOWN_FLAGS;
  if (G_IS_PARAM_SPEC_UINT (pspec))
    {
      info->minimum = G_PARAM_SPEC_UINT (pspec)->minimum;
      info->maximum = G_PARAM_SPEC_UINT (pspec)->maximum;
    }
  else if (G_IS_PARAM_SPEC_UINT64 (pspec))
    {
      info->minimum = G_PARAM_SPEC_UINT64 (pspec)->minimum;
      info->maximum = G_PARAM_SPEC_UINT64 (pspec)->maximum;
    }
  else if (G_IS_PARAM_SPEC_INT (pspec))
    {
      info->minimum = (guint64) (gint64) G_PARAM_SPEC_INT (pspec)->minimum;
      info->maximum = (guint64) (gint64) G_PARAM_SPEC_INT (pspec)->maximum;
    }
  else if (G_IS_PARAM_SPEC_INT64 (pspec))
    {
      info->minimum = (guint64) G_PARAM_SPEC_INT64 (pspec)->minimum;
      info->maximum = (guint64) G_PARAM_SPEC_INT64 (pspec)->maximum;
    }
  if (info->kind == QL_PROPERTY_KIND_ENUM)
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (vtype);

      info->n_values = klass->n_values;
      info->nicks = g_new0 (char *, info->n_values + 1);
      info->values = g_new0 (gint64, info->n_values + 1);
      for (guint i = 0; i < klass->n_values; i++)
        {
          info->nicks[i] = g_strdup (klass->values[i].value_nick);
          info->values[i] = klass->values[i].value;
        }
    }
  else if (info->kind == QL_PROPERTY_KIND_FLAGS)
    {
      g_autoptr(GFlagsClass) klass = g_type_class_ref (vtype);

      info->n_values = klass->n_values;
      info->nicks = g_new0 (char *, info->n_values + 1);
      info->values = g_new0 (gint64, info->n_values + 1);
      for (guint i = 0; i < klass->n_values; i++)
        {
          info->nicks[i] = g_strdup (klass->values[i].value_nick);
          info->values[i] = klass->values[i].value;
        }
    }
  else
    {
      info->nicks = g_new0 (char *, 1);
      info->values = g_new0 (gint64, 1);
    }
  return info;
}

/**
 * ql_property_info_ref:
 * @info: a #QlPropertyInfo
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @info
 */
QlPropertyInfo *
ql_property_info_ref (QlPropertyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_ref_count_inc (&info->ref_count);
  return info;
}

/**
 * ql_property_info_unref:
 * @info: (transfer full): a #QlPropertyInfo
 *
 * Drops a reference; the last one frees it.
 */
void
ql_property_info_unref (QlPropertyInfo *info)
{
  g_return_if_fail (info != NULL);
  if (!g_atomic_ref_count_dec (&info->ref_count))
    return;
  if (info->block != NULL)
    {
      g_bytes_unref (info->block);
      g_free (info->nicks);
    }
  else
    {
      g_free (info->name);
      g_free (info->nick);
      g_free (info->blurb);
      g_free (info->value_type_name);
      g_free (info->description);
      g_free (info->default_text);
      g_strfreev (info->nicks);
    }
  g_free (info->values);
  g_free (info);
}

/**
 * ql_property_info_get_name:
 * @info: a #QlPropertyInfo
 *
 * Gets the property's name (kebab-case).
 *
 * Returns: the property's name (kebab-case)
 */
const char *
ql_property_info_get_name (QlPropertyInfo *info)
{
  return info->name;
}

/**
 * ql_property_info_get_nick:
 * @info: a #QlPropertyInfo
 *
 * Gets the property's nick (g_param_spec_get_nick()).
 *
 * Returns: the property's nick (g_param_spec_get_nick())
 */
const char *
ql_property_info_get_nick (QlPropertyInfo *info)
{
  return info->nick;
}

/**
 * ql_property_info_get_blurb:
 * @info: a #QlPropertyInfo
 *
 * Gets the property's description (g_param_spec_get_blurb()).
 *
 * Returns: the property's description (g_param_spec_get_blurb())
 */
const char *
ql_property_info_get_blurb (QlPropertyInfo *info)
{
  return info->blurb;
}

/**
 * ql_property_info_get_flags:
 * @info: a #QlPropertyInfo
 *
 * The property's #GParamFlags: %G_PARAM_WRITABLE (settable from a VM file
 * or spec), %G_PARAM_CONSTRUCT_ONLY, %G_PARAM_DEPRECATED and the others
 * GLib defines.
 *
 * Returns: the flags
 */
GParamFlags
ql_property_info_get_flags (QlPropertyInfo *info)
{
  return info->flags;
}

/**
 * ql_property_info_get_kind:
 * @info: a #QlPropertyInfo
 *
 * Gets what the property holds.
 *
 * Returns: what the property holds
 */
QlPropertyKind
ql_property_info_get_kind (QlPropertyInfo *info)
{
  return info->kind;
}

/**
 * ql_property_info_get_value_type_name:
 * @info: a #QlPropertyInfo
 *
 * The name of the property's value #GType (`gchararray`, `guint`, an
 * enumeration's name). Only a name: the type itself may not exist in this
 * process (its plugin not loaded).
 *
 * Returns: the type name
 */
const char *
ql_property_info_get_value_type_name (QlPropertyInfo *info)
{
  return info->value_type_name;
}

/**
 * ql_property_info_get_type_description:
 * @info: a #QlPropertyInfo
 *
 * What ql_param_describe_type() says of the property's #GParamSpec:
 * "integer 0..255", "one of: tap, macvtap", ...
 *
 * Returns: the description
 */
const char *
ql_property_info_get_type_description (QlPropertyInfo *info)
{
  return info->description;
}

/**
 * ql_property_info_get_default_text:
 * @info: a #QlPropertyInfo
 *
 * The property's default as ql_param_value_to_string() writes it.
 *
 * Returns: (nullable): the text, or %NULL (an unset string)
 */
const char *
ql_property_info_get_default_text (QlPropertyInfo *info)
{
  return info->default_text;
}

/**
 * ql_property_info_get_int_range:
 * @info: a #QlPropertyInfo
 * @minimum: (out) (optional): the smallest value
 * @maximum: (out) (optional): the largest value
 *
 * The range of a %QL_PROPERTY_KIND_INT property.
 *
 * Returns: %TRUE if @info is one (the outputs are set only then)
 */
gboolean
ql_property_info_get_int_range (QlPropertyInfo *info,
                                gint64         *minimum,
                                gint64         *maximum)
{
  if (info->kind != QL_PROPERTY_KIND_INT)
    return FALSE;
  if (minimum != NULL)
    *minimum = (gint64) info->minimum;
  if (maximum != NULL)
    *maximum = (gint64) info->maximum;
  return TRUE;
}

/**
 * ql_property_info_get_uint_range:
 * @info: a #QlPropertyInfo
 * @minimum: (out) (optional): the smallest value
 * @maximum: (out) (optional): the largest value
 *
 * The range of a %QL_PROPERTY_KIND_UINT or %QL_PROPERTY_KIND_SIZE property
 * (bytes for a size).
 *
 * Returns: %TRUE if @info is one (the outputs are set only then)
 */
gboolean
ql_property_info_get_uint_range (QlPropertyInfo *info,
                                 guint64        *minimum,
                                 guint64        *maximum)
{
  if (info->kind != QL_PROPERTY_KIND_UINT && info->kind != QL_PROPERTY_KIND_SIZE)
    return FALSE;
  if (minimum != NULL)
    *minimum = info->minimum;
  if (maximum != NULL)
    *maximum = info->maximum;
  return TRUE;
}

/**
 * ql_property_info_get_nicks:
 * @info: a #QlPropertyInfo
 *
 * The nicks of an enumeration's or flags type's values, in the type's
 * order; empty for other kinds.
 *
 * Returns: (transfer none) (array zero-terminated=1): the nicks
 */
const char * const *
ql_property_info_get_nicks (QlPropertyInfo *info)
{
  return (const char * const *) info->nicks;
}

/**
 * ql_property_info_get_values:
 * @info: a #QlPropertyInfo
 * @n_values: (out): the number of values
 *
 * The numeric values of ql_property_info_get_nicks(), in the same order.
 *
 * Returns: (transfer none) (array length=n_values): the values
 */
const gint64 *
ql_property_info_get_values (QlPropertyInfo *info,
                             guint          *n_values)
{
  *n_values = info->n_values;
  return info->values;
}

static QlDeviceTypeInfo *
device_type_info_alloc (void)
{
  QlDeviceTypeInfo *info = g_new0 (QlDeviceTypeInfo, 1);

  g_atomic_ref_count_init (&info->ref_count);
  info->properties = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_property_info_unref);
  return info;
}

/**
 * ql_device_type_info_new_for_type:
 * @name: the device type name
 * @type: its #QlDevice subclass
 * @plugin: (nullable): the name of the plugin that provides it, or %NULL
 *   for the application's own types
 *
 * Describes a registered device type from its class: every property of
 * g_object_class_list_properties(), in its order.
 *
 * Returns: (transfer full): the description
 */
QlDeviceTypeInfo *
ql_device_type_info_new_for_type (const char *name,
                                  GType       type,
                                  const char *plugin)
{
  g_autoptr(GTypeClass) klass = NULL;
  g_autofree GParamSpec **pspecs = NULL;
  QlDeviceTypeInfo *info;
  guint n = 0;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (g_type_is_a (type, G_TYPE_OBJECT), NULL);

  klass = g_type_class_ref (type);
  info = device_type_info_alloc ();
  info->name = g_strdup (name);
  info->gtype_name = g_strdup (g_type_name (type));
  info->plugin = g_strdup (plugin);
  pspecs = g_object_class_list_properties (G_OBJECT_CLASS (klass), &n);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (info->properties, ql_property_info_new_for_pspec (pspecs[i]));
  return info;
}

/* [a-z][a-z0-9-]*: device type, plugin and property names. */
static gboolean
valid_name (const char *s)
{
  if (!g_ascii_islower (s[0]))
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

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

  if (!valid_name (name))
    return bad (error, type_name, "property %u: name '%s' is not [a-z][a-z0-9-]*", index, name);
  if (info->blurb[0] == '\0' || info->value_type_name[0] == '\0' || info->description[0] == '\0')
    return bad (error, type_name, "property '%s': no blurb, value type or type description", name);
  if (kind > QL_PROPERTY_KIND_FD_LIST)
    return bad (error, type_name, "property '%s': unknown kind %u", name, kind);
  if ((flags & ~(guint32) KNOWN_FLAGS) != 0)
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
  g_autoptr(QlDeviceTypeInfo) info = device_type_info_alloc ();
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
  if (!valid_name (info->name))
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "device type description: name '%s' is not [a-z][a-z0-9-]*", info->name);
      return NULL;
    }
  if (info->gtype_name[0] == '\0' || (info->plugin[0] != '\0' && !valid_name (info->plugin)))
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
      g_autoptr(QlPropertyInfo) p = property_info_alloc ();
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

/**
 * ql_device_type_info_ref:
 * @info: a #QlDeviceTypeInfo
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @info
 */
QlDeviceTypeInfo *
ql_device_type_info_ref (QlDeviceTypeInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_ref_count_inc (&info->ref_count);
  return info;
}

/**
 * ql_device_type_info_unref:
 * @info: (transfer full): a #QlDeviceTypeInfo
 *
 * Drops a reference; the last one frees it.
 */
void
ql_device_type_info_unref (QlDeviceTypeInfo *info)
{
  g_return_if_fail (info != NULL);
  if (!g_atomic_ref_count_dec (&info->ref_count))
    return;
  if (info->block != NULL)
    g_bytes_unref (info->block);
  else
    {
      g_free (info->name);
      g_free (info->gtype_name);
      g_free (info->plugin);
    }
  g_ptr_array_unref (info->properties);
  g_free (info);
}

/**
 * ql_device_type_info_get_name:
 * @info: a #QlDeviceTypeInfo
 *
 * Gets the device type name.
 *
 * Returns: the device type name
 */
const char *
ql_device_type_info_get_name (QlDeviceTypeInfo *info)
{
  return info->name;
}

/**
 * ql_device_type_info_get_gtype_name:
 * @info: a #QlDeviceTypeInfo
 *
 * The name of the type's #GType; only a name: the type itself exists in
 * the process only once its plugin is loaded.
 *
 * Returns: the #GType name
 */
const char *
ql_device_type_info_get_gtype_name (QlDeviceTypeInfo *info)
{
  return info->gtype_name;
}

/**
 * ql_device_type_info_get_plugin:
 * @info: a #QlDeviceTypeInfo
 *
 * Gets the plugin that provides the type.
 *
 * Returns: (nullable): the name of the plugin that provides the type, or
 *   %NULL for one the application registered
 */
const char *
ql_device_type_info_get_plugin (QlDeviceTypeInfo *info)
{
  return info->plugin;
}

/**
 * ql_device_type_info_get_properties:
 * @info: a #QlDeviceTypeInfo
 *
 * Every property of the type (read-only ones and those of #QlDevice
 * included), in the order of g_object_class_list_properties().
 *
 * Returns: (transfer none) (element-type QlPropertyInfo): the properties
 */
GPtrArray *
ql_device_type_info_get_properties (QlDeviceTypeInfo *info)
{
  return info->properties;
}

/**
 * ql_device_type_info_find_property:
 * @info: a #QlDeviceTypeInfo
 * @name: a property name
 *
 * Finds one of the type's properties by name.
 *
 * Returns: (transfer none) (nullable): the property, or %NULL
 */
QlPropertyInfo *
ql_device_type_info_find_property (QlDeviceTypeInfo *info,
                                   const char       *name)
{
  for (guint i = 0; i < info->properties->len; i++)
    {
      QlPropertyInfo *p = g_ptr_array_index (info->properties, i);

      if (strcmp (p->name, name) == 0)
        return p;
    }
  return NULL;
}

/* A plugin's description (ql-private.h). */
QlPluginInfo *
ql_plugin_info_new (const char         *name,
                    const char         *description,
                    const char         *version,
                    const char         *license,
                    const char         *filename,
                    const char * const *device_types)
{
  QlPluginInfo *info = g_new0 (QlPluginInfo, 1);

  g_atomic_ref_count_init (&info->ref_count);
  info->name = g_strdup (name);
  info->description = g_strdup (description);
  info->version = g_strdup (version);
  info->license = g_strdup (license);
  info->filename = g_strdup (filename);
  info->device_types = g_strdupv ((char **) device_types);
  return info;
}

/**
 * ql_plugin_info_ref:
 * @info: a #QlPluginInfo
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @info
 */
QlPluginInfo *
ql_plugin_info_ref (QlPluginInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_ref_count_inc (&info->ref_count);
  return info;
}

/**
 * ql_plugin_info_unref:
 * @info: (transfer full): a #QlPluginInfo
 *
 * Drops a reference; the last one frees it.
 */
void
ql_plugin_info_unref (QlPluginInfo *info)
{
  g_return_if_fail (info != NULL);
  if (!g_atomic_ref_count_dec (&info->ref_count))
    return;
  g_free (info->name);
  g_free (info->description);
  g_free (info->version);
  g_free (info->license);
  g_free (info->filename);
  g_strfreev (info->device_types);
  g_free (info);
}

/**
 * ql_plugin_info_get_name:
 * @info: a #QlPluginInfo
 *
 * Gets the plugin's family name (ql_plugin_get_name()).
 *
 * Returns: the plugin's family name (ql_plugin_get_name())
 */
const char *
ql_plugin_info_get_name (QlPluginInfo *info)
{
  return info->name;
}

/**
 * ql_plugin_info_get_description:
 * @info: a #QlPluginInfo
 *
 * Gets the descriptor's description.
 *
 * Returns: the descriptor's description
 */
const char *
ql_plugin_info_get_description (QlPluginInfo *info)
{
  return info->description;
}

/**
 * ql_plugin_info_get_version:
 * @info: a #QlPluginInfo
 *
 * Gets the descriptor's version.
 *
 * Returns: the descriptor's version
 */
const char *
ql_plugin_info_get_version (QlPluginInfo *info)
{
  return info->version;
}

/**
 * ql_plugin_info_get_license:
 * @info: a #QlPluginInfo
 *
 * Gets the descriptor's license.
 *
 * Returns: the descriptor's license
 */
const char *
ql_plugin_info_get_license (QlPluginInfo *info)
{
  return info->license;
}

/**
 * ql_plugin_info_get_filename:
 * @info: a #QlPluginInfo
 *
 * Gets the plugin's file.
 *
 * Returns: (type filename): the plugin file
 */
const char *
ql_plugin_info_get_filename (QlPluginInfo *info)
{
  return info->filename;
}

/**
 * ql_plugin_info_get_device_types:
 * @info: a #QlPluginInfo
 *
 * Gets the plugin's device types.
 *
 * Returns: (transfer none) (array zero-terminated=1): the device types the
 *   plugin registers, in registration order
 */
const char * const *
ql_plugin_info_get_device_types (QlPluginInfo *info)
{
  return (const char * const *) info->device_types;
}
