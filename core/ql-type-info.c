/* qlaunch — descriptions of plugins, device types and their properties
 * that need no plugin loaded (the registry cache keeps them). */
#include "ql-type-info-private.h"

#include <string.h>

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

QlPropertyInfo *
ql_property_info_alloc (void)
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
  info = ql_property_info_alloc ();
  info->name = g_strdup (g_param_spec_get_name (pspec));
  info->nick = g_strdup (g_param_spec_get_nick (pspec));
  info->blurb = g_strdup (g_param_spec_get_blurb (pspec));
  info->value_type_name = g_strdup (g_type_name (vtype));
  info->description = ql_param_describe_type (pspec);
  info->default_text = ql_param_value_to_string (pspec, g_param_spec_get_default_value (pspec));
  info->kind = kind_of (pspec);
  info->flags = pspec->flags & QL_PROPERTY_INFO_KNOWN_FLAGS;
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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, 0);

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
  g_return_val_if_fail (info != NULL, 0);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, FALSE);

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
  g_return_val_if_fail (info != NULL, FALSE);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL && n_values != NULL, NULL);

  *n_values = info->n_values;
  return info->values;
}

QlDeviceTypeInfo *
ql_device_type_info_alloc (void)
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
  info = ql_device_type_info_alloc ();
  info->name = g_strdup (name);
  info->gtype_name = g_strdup (g_type_name (type));
  info->plugin = g_strdup (plugin);
  pspecs = g_object_class_list_properties (G_OBJECT_CLASS (klass), &n);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (info->properties, ql_property_info_new_for_pspec (pspecs[i]));
  return info;
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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

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
  g_return_val_if_fail (info != NULL, NULL);

  return (const char * const *) info->device_types;
}
