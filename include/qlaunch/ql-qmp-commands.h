/* qlaunch — typed helpers for the QMP commands a launcher needs.
 *
 * Each command has an asynchronous form, finished with
 * ql_qmp_execute_finish() unless its documentation names another finish
 * function, and a synchronous form that iterates the client's main context.
 */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <qlaunch/ql-qmp.h>

G_BEGIN_DECLS

QL_API void ql_qmp_query_status_async (QlQmp *self,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);
QL_API gboolean ql_qmp_query_status_finish (QlQmp *self,
                                            GAsyncResult *result,
                                            char **status,
                                            gboolean *running,
                                            GError **error);
QL_API gboolean ql_qmp_query_status (QlQmp *self,
                                     char **status,
                                     gboolean *running,
                                     GCancellable *cancellable,
                                     GError **error);

QL_API void ql_qmp_query_sev_capabilities_async (QlQmp *self,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer user_data);
QL_API gboolean ql_qmp_query_sev_capabilities_finish (QlQmp *self,
                                                      GAsyncResult *result,
                                                      char **pdh,
                                                      char **cert_chain,
                                                      guint *cbitpos,
                                                      guint *reduced_phys_bits,
                                                      GError **error);
QL_API gboolean ql_qmp_query_sev_capabilities (QlQmp *self,
                                               char **pdh,
                                               char **cert_chain,
                                               guint *cbitpos,
                                               guint *reduced_phys_bits,
                                               GCancellable *cancellable,
                                               GError **error);

QL_API void ql_qmp_device_del_async (QlQmp *self,
                                     const char *id,
                                     guint timeout_ms,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
QL_API gboolean ql_qmp_device_del_finish (QlQmp *self,
                                          GAsyncResult *result,
                                          GError **error);
QL_API gboolean ql_qmp_device_del (QlQmp *self,
                                   const char *id,
                                   guint timeout_ms,
                                   GCancellable *cancellable,
                                   GError **error);

QL_API void ql_qmp_hotplug_memory_async (QlQmp *self,
                                         const char *qom_type,
                                         const char *id,
                                         const char *mem_path,
                                         guint64 size,
                                         gboolean share,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
QL_API gboolean ql_qmp_hotplug_memory_finish (QlQmp *self,
                                              GAsyncResult *result,
                                              GError **error);
QL_API gboolean ql_qmp_hotplug_memory (QlQmp *self,
                                       const char *qom_type,
                                       const char *id,
                                       const char *mem_path,
                                       guint64 size,
                                       gboolean share,
                                       GCancellable *cancellable,
                                       GError **error);

QL_API void ql_qmp_wait_migration_async (QlQmp *self,
                                         guint timeout_ms,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
QL_API gboolean ql_qmp_wait_migration_finish (QlQmp *self,
                                              GAsyncResult *result,
                                              GError **error);
QL_API gboolean ql_qmp_wait_migration (QlQmp *self,
                                       guint timeout_ms,
                                       GCancellable *cancellable,
                                       GError **error);

QL_API void ql_qmp_getfd_async (QlQmp *self,
                                int fd,
                                const char *name,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
QL_API gboolean ql_qmp_getfd (QlQmp *self,
                              int fd,
                              const char *name,
                              GCancellable *cancellable,
                              GError **error);

QL_API void ql_qmp_stop_async (QlQmp *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);

QL_API gboolean ql_qmp_stop (QlQmp *self,
                             GCancellable *cancellable,
                             GError **error);

QL_API void ql_qmp_cont_async (QlQmp *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);

QL_API gboolean ql_qmp_cont (QlQmp *self,
                             GCancellable *cancellable,
                             GError **error);

QL_API void ql_qmp_system_powerdown_async (QlQmp *self,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer user_data);

QL_API gboolean ql_qmp_system_powerdown (QlQmp *self,
                                         GCancellable *cancellable,
                                         GError **error);

QL_API void ql_qmp_quit_async (QlQmp *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);

QL_API gboolean ql_qmp_quit (QlQmp *self,
                             GCancellable *cancellable,
                             GError **error);

QL_API void ql_qmp_device_add_async (QlQmp *self,
                                     const char *driver,
                                     const char *id,
                                     JsonObject *properties,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);

QL_API gboolean ql_qmp_device_add (QlQmp *self,
                                   const char *driver,
                                   const char *id,
                                   JsonObject *properties,
                                   GCancellable *cancellable,
                                   GError **error);

QL_API void ql_qmp_netdev_add_async (QlQmp *self,
                                     const char *type,
                                     const char *id,
                                     JsonObject *properties,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);

QL_API gboolean ql_qmp_netdev_add (QlQmp *self,
                                   const char *type,
                                   const char *id,
                                   JsonObject *properties,
                                   GCancellable *cancellable,
                                   GError **error);

QL_API void ql_qmp_netdev_del_async (QlQmp *self,
                                     const char *id,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);

QL_API gboolean ql_qmp_netdev_del (QlQmp *self,
                                   const char *id,
                                   GCancellable *cancellable,
                                   GError **error);

QL_API void ql_qmp_blockdev_add_async (QlQmp *self,
                                       JsonObject *options,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);

QL_API gboolean ql_qmp_blockdev_add (QlQmp *self,
                                     JsonObject *options,
                                     GCancellable *cancellable,
                                     GError **error);

QL_API void ql_qmp_blockdev_del_async (QlQmp *self,
                                       const char *node_name,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);

QL_API gboolean ql_qmp_blockdev_del (QlQmp *self,
                                     const char *node_name,
                                     GCancellable *cancellable,
                                     GError **error);

QL_API void ql_qmp_chardev_add_async (QlQmp *self,
                                      const char *id,
                                      JsonObject *backend,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);

QL_API gboolean ql_qmp_chardev_add (QlQmp *self,
                                    const char *id,
                                    JsonObject *backend,
                                    GCancellable *cancellable,
                                    GError **error);

QL_API void ql_qmp_chardev_remove_async (QlQmp *self,
                                         const char *id,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);

QL_API gboolean ql_qmp_chardev_remove (QlQmp *self,
                                       const char *id,
                                       GCancellable *cancellable,
                                       GError **error);

QL_API void ql_qmp_object_add_async (QlQmp *self,
                                     const char *qom_type,
                                     const char *id,
                                     JsonObject *properties,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);

QL_API gboolean ql_qmp_object_add (QlQmp *self,
                                   const char *qom_type,
                                   const char *id,
                                   JsonObject *properties,
                                   GCancellable *cancellable,
                                   GError **error);

QL_API void ql_qmp_object_del_async (QlQmp *self,
                                     const char *id,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);

QL_API gboolean ql_qmp_object_del (QlQmp *self,
                                   const char *id,
                                   GCancellable *cancellable,
                                   GError **error);

QL_API void ql_qmp_hotplug_cpu_async (QlQmp *self,
                                      const char *driver,
                                      const char *id,
                                      gint socket_id,
                                      gint die_id,
                                      gint core_id,
                                      gint thread_id,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);

QL_API gboolean ql_qmp_hotplug_cpu (QlQmp *self,
                                    const char *driver,
                                    const char *id,
                                    gint socket_id,
                                    gint die_id,
                                    gint core_id,
                                    gint thread_id,
                                    GCancellable *cancellable,
                                    GError **error);

QL_API void ql_qmp_migrate_set_capabilities_async (QlQmp *self,
                                                   const char * const *enable,
                                                   const char * const *disable,
                                                   GCancellable *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer user_data);

QL_API gboolean ql_qmp_migrate_set_capabilities (QlQmp *self,
                                                 const char * const *enable,
                                                 const char * const *disable,
                                                 GCancellable *cancellable,
                                                 GError **error);

QL_API void ql_qmp_migrate_set_parameters_async (QlQmp *self,
                                                 JsonObject *parameters,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer user_data);

QL_API gboolean ql_qmp_migrate_set_parameters (QlQmp *self,
                                               JsonObject *parameters,
                                               GCancellable *cancellable,
                                               GError **error);

QL_API void ql_qmp_migrate_async (QlQmp *self,
                                  const char *uri,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);

QL_API gboolean ql_qmp_migrate (QlQmp *self,
                                const char *uri,
                                GCancellable *cancellable,
                                GError **error);

QL_API void ql_qmp_migrate_incoming_async (QlQmp *self,
                                           const char *uri,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer user_data);

QL_API gboolean ql_qmp_migrate_incoming (QlQmp *self,
                                         const char *uri,
                                         GCancellable *cancellable,
                                         GError **error);

QL_API void ql_qmp_closefd_async (QlQmp *self,
                                  const char *name,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);

QL_API gboolean ql_qmp_closefd (QlQmp *self,
                                const char *name,
                                GCancellable *cancellable,
                                GError **error);

QL_API void ql_qmp_query_hotpluggable_cpus_async (QlQmp *self,
                                                  GCancellable *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer user_data);

QL_API JsonNode *ql_qmp_query_hotpluggable_cpus (QlQmp *self,
                                                 GCancellable *cancellable,
                                                 GError **error);

QL_API void ql_qmp_query_memory_devices_async (QlQmp *self,
                                               GCancellable *cancellable,
                                               GAsyncReadyCallback callback,
                                               gpointer user_data);

QL_API JsonNode *ql_qmp_query_memory_devices (QlQmp *self,
                                              GCancellable *cancellable,
                                              GError **error);

QL_API void ql_qmp_query_migrate_async (QlQmp *self,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);

QL_API JsonNode *ql_qmp_query_migrate (QlQmp *self,
                                       GCancellable *cancellable,
                                       GError **error);

QL_API void ql_qmp_qom_get_async (QlQmp *self,
                                  const char *path,
                                  const char *property,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);

QL_API JsonNode *ql_qmp_qom_get (QlQmp *self,
                                 const char *path,
                                 const char *property,
                                 GCancellable *cancellable,
                                 GError **error);

QL_API void ql_qmp_balloon_async (QlQmp *self,
                                  guint64 target,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);

QL_API gboolean ql_qmp_balloon (QlQmp *self,
                                guint64 target,
                                GCancellable *cancellable,
                                GError **error);

QL_API void ql_qmp_query_balloon_async (QlQmp *self,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);

QL_API gboolean ql_qmp_query_balloon_finish (QlQmp *self,
                                             GAsyncResult *result,
                                             guint64 *actual,
                                             GError **error);

QL_API gboolean ql_qmp_query_balloon (QlQmp *self,
                                      guint64 *actual,
                                      GCancellable *cancellable,
                                      GError **error);

G_END_DECLS
