/* qlaunch — hotplug: a device of any plugin type into a running VM over QMP. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <qlaunch/ql-device.h>
#include <qlaunch/ql-qmp.h>
#include <qlaunch/ql-vm-config.h>

G_BEGIN_DECLS

QL_API JsonArray *ql_hotplug_plan                (QlDevice            *device,
                                                  QlVmConfig          *vm,
                                                  GArray             **fds,
                                                  GError             **error);

QL_API void       ql_qmp_hotplug_device_async    (QlQmp               *self,
                                                  QlDevice            *device,
                                                  QlVmConfig          *vm,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
QL_API gboolean   ql_qmp_hotplug_device_finish   (QlQmp               *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
QL_API gboolean   ql_qmp_hotplug_device          (QlQmp               *self,
                                                  QlDevice            *device,
                                                  QlVmConfig          *vm,
                                                  GCancellable        *cancellable,
                                                  GError             **error);

QL_API void       ql_qmp_unplug_device_async     (QlQmp               *self,
                                                  const char          *id,
                                                  guint                timeout_ms,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
QL_API gboolean   ql_qmp_unplug_device_finish    (QlQmp               *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
QL_API gboolean   ql_qmp_unplug_device           (QlQmp               *self,
                                                  const char          *id,
                                                  guint                timeout_ms,
                                                  GCancellable        *cancellable,
                                                  GError             **error);

G_END_DECLS
