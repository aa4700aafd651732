/* qlaunch — descriptions of plugins, device types and their properties
 * that need no plugin loaded. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib-object.h>
#include <qlaunch/ql-macros.h>

G_BEGIN_DECLS

/**
 * QlPropertyKind:
 * @QL_PROPERTY_KIND_OTHER: a value type none of the others describes
 * @QL_PROPERTY_KIND_BOOLEAN: a boolean
 * @QL_PROPERTY_KIND_STRING: a string
 * @QL_PROPERTY_KIND_PATH: a string holding a host path
 *   (ql_param_spec_path() and its kin)
 * @QL_PROPERTY_KIND_SIZE: a size in bytes (ql_param_spec_size())
 * @QL_PROPERTY_KIND_INT: a signed integer (`int` or `int64`): a range
 * @QL_PROPERTY_KIND_UINT: an unsigned integer (`uint` or `uint64`): a range
 * @QL_PROPERTY_KIND_ENUM: one of the values of an enumeration
 * @QL_PROPERTY_KIND_FLAGS: a set of the values of a flags type
 * @QL_PROPERTY_KIND_STRV: a list of strings
 * @QL_PROPERTY_KIND_FD_LIST: a #QlFdList
 *
 * What a property holds, as far as reading it from text goes.
 */
typedef enum
{
  QL_PROPERTY_KIND_OTHER,
  QL_PROPERTY_KIND_BOOLEAN,
  QL_PROPERTY_KIND_STRING,
  QL_PROPERTY_KIND_PATH,
  QL_PROPERTY_KIND_SIZE,
  QL_PROPERTY_KIND_INT,
  QL_PROPERTY_KIND_UINT,
  QL_PROPERTY_KIND_ENUM,
  QL_PROPERTY_KIND_FLAGS,
  QL_PROPERTY_KIND_STRV,
  QL_PROPERTY_KIND_FD_LIST,
} QlPropertyKind;

/**
 * QlPropertyInfo:
 *
 * What a device type's property is, without its #GParamSpec: name, nick,
 * blurb, flags, value type, range or values, and the texts `qlaunch
 * inspect` shows for its type and default. Made from a #GParamSpec, or
 * read back from the registry cache, where a #GParamSpec could not be
 * rebuilt honestly (an enumeration's #GType exists only once its plugin
 * is loaded). Immutable and reference-counted.
 */
typedef struct _QlPropertyInfo QlPropertyInfo;

/**
 * QlDeviceTypeInfo:
 *
 * What a device type is: its name, #GType name, plugin and properties
 * (#QlPropertyInfo), as ql_registry_describe_device_type() gives it.
 * Immutable and reference-counted.
 */
typedef struct _QlDeviceTypeInfo QlDeviceTypeInfo;

/**
 * QlPluginInfo:
 *
 * What a plugin file provides: its descriptor's name, description, version
 * and license, its file and its device types, as
 * ql_registry_list_plugin_infos() gives it. Immutable and
 * reference-counted.
 */
typedef struct _QlPluginInfo QlPluginInfo;

#define QL_TYPE_PROPERTY_INFO (ql_property_info_get_type ())
QL_API GType           ql_property_info_get_type        (void) G_GNUC_CONST;
QL_API QlPropertyInfo *ql_property_info_new_for_pspec   (GParamSpec      *pspec);
QL_API QlPropertyInfo *ql_property_info_ref             (QlPropertyInfo  *info);
QL_API void            ql_property_info_unref           (QlPropertyInfo  *info);
QL_API const char     *ql_property_info_get_name        (QlPropertyInfo  *info);
QL_API const char     *ql_property_info_get_nick        (QlPropertyInfo  *info);
QL_API const char     *ql_property_info_get_blurb       (QlPropertyInfo  *info);
QL_API GParamFlags     ql_property_info_get_flags       (QlPropertyInfo  *info);
QL_API QlPropertyKind  ql_property_info_get_kind        (QlPropertyInfo  *info);
QL_API const char     *ql_property_info_get_value_type_name (QlPropertyInfo *info);
QL_API const char     *ql_property_info_get_type_description (QlPropertyInfo *info);
QL_API const char     *ql_property_info_get_default_text (QlPropertyInfo *info);
QL_API gboolean        ql_property_info_get_int_range   (QlPropertyInfo  *info,
                                                         gint64          *minimum,
                                                         gint64          *maximum);
QL_API gboolean        ql_property_info_get_uint_range  (QlPropertyInfo  *info,
                                                         guint64         *minimum,
                                                         guint64         *maximum);
QL_API const char * const *ql_property_info_get_nicks   (QlPropertyInfo  *info);
QL_API const gint64   *ql_property_info_get_values      (QlPropertyInfo  *info,
                                                         guint           *n_values);

#define QL_TYPE_DEVICE_TYPE_INFO (ql_device_type_info_get_type ())
QL_API GType             ql_device_type_info_get_type       (void) G_GNUC_CONST;
QL_API QlDeviceTypeInfo *ql_device_type_info_new_for_type   (const char        *name,
                                                             GType              type,
                                                             const char        *plugin);
QL_API QlDeviceTypeInfo *ql_device_type_info_new_from_bytes (GBytes          *bytes,
                                                             GError         **error);
QL_API GBytes           *ql_device_type_info_serialize      (QlDeviceTypeInfo  *info);
QL_API QlDeviceTypeInfo *ql_device_type_info_ref            (QlDeviceTypeInfo  *info);
QL_API void              ql_device_type_info_unref          (QlDeviceTypeInfo  *info);
QL_API const char       *ql_device_type_info_get_name       (QlDeviceTypeInfo  *info);
QL_API const char       *ql_device_type_info_get_gtype_name (QlDeviceTypeInfo  *info);
QL_API const char       *ql_device_type_info_get_plugin     (QlDeviceTypeInfo  *info);
QL_API GPtrArray        *ql_device_type_info_get_properties (QlDeviceTypeInfo  *info);
QL_API QlPropertyInfo   *ql_device_type_info_find_property  (QlDeviceTypeInfo  *info,
                                                             const char        *name);

#define QL_TYPE_PLUGIN_INFO (ql_plugin_info_get_type ())
QL_API GType         ql_plugin_info_get_type         (void) G_GNUC_CONST;
QL_API QlPluginInfo *ql_plugin_info_ref              (QlPluginInfo  *info);
QL_API void          ql_plugin_info_unref            (QlPluginInfo  *info);
QL_API const char   *ql_plugin_info_get_name         (QlPluginInfo  *info);
QL_API const char   *ql_plugin_info_get_description  (QlPluginInfo  *info);
QL_API const char   *ql_plugin_info_get_version      (QlPluginInfo  *info);
QL_API const char   *ql_plugin_info_get_license      (QlPluginInfo  *info);
QL_API const char   *ql_plugin_info_get_filename     (QlPluginInfo  *info);
QL_API const char * const *ql_plugin_info_get_device_types (QlPluginInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlPropertyInfo, ql_property_info_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlDeviceTypeInfo, ql_device_type_info_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlPluginInfo, ql_plugin_info_unref)

G_END_DECLS
