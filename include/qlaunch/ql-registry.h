/* qlaunch — QlRegistry: plugin search, loading and device types. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib-object.h>
#include <qlaunch/ql-types.h>
#include <qlaunch/ql-plugin.h>
#include <qlaunch/ql-type-info.h>

G_BEGIN_DECLS

#define QL_TYPE_REGISTRY (ql_registry_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlRegistry, ql_registry, QL, REGISTRY, GObject)

QL_API QlRegistry *ql_registry_new                   (void);
QL_API QlRegistry *ql_registry_get_default           (void);
QL_API const char *ql_registry_get_system_plugin_dir (void);

QL_API void        ql_registry_add_search_dir        (QlRegistry  *self,
                                                      const char  *dir);
QL_API void        ql_registry_add_env_search_dirs   (QlRegistry  *self);
QL_API char      **ql_registry_get_search_dirs       (QlRegistry  *self);
QL_API void        ql_registry_set_cache_file        (QlRegistry  *self,
                                                      const char  *path);
QL_API char       *ql_registry_get_default_cache_file (void);
QL_API void        ql_registry_scan                  (QlRegistry  *self);
QL_API QlPlugin   *ql_registry_load_plugin           (QlRegistry  *self,
                                                      const char  *filename,
                                                      GError     **error);
QL_API GPtrArray  *ql_registry_get_load_errors       (QlRegistry  *self);

QL_API GPtrArray  *ql_registry_get_plugins           (QlRegistry  *self);
QL_API QlPlugin   *ql_registry_lookup_plugin         (QlRegistry  *self,
                                                      const char  *name);
QL_API GPtrArray  *ql_registry_list_plugin_infos     (QlRegistry  *self);
QL_API QlDeviceTypeInfo *ql_registry_describe_device_type (QlRegistry  *self,
                                                           const char  *name,
                                                           GError     **error);
QL_API char      **ql_registry_list_device_types     (QlRegistry  *self);
QL_API GType       ql_registry_lookup_device_type    (QlRegistry  *self,
                                                      const char  *name);
QL_API QlPlugin   *ql_registry_get_device_plugin     (QlRegistry  *self,
                                                      const char  *name);
QL_API gboolean    ql_registry_register_device       (QlRegistry  *self,
                                                      const char  *name,
                                                      GType        type,
                                                      GError     **error);

QL_API QlDevice   *ql_registry_create_device         (QlRegistry  *self,
                                                      const char  *type_name,
                                                      const char  *id,
                                                      GError     **error);
QL_API QlDevice   *ql_registry_create_device_from_spec (QlRegistry  *self,
                                                        const char  *spec,
                                                        GError     **error);

G_END_DECLS
