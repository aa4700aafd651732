/* qlaunch — private: a hot-plug whose helpers stay supervised
 * (ql-hotplug.c). */
#pragma once

#include "ql-helper-group.h"

G_BEGIN_DECLS

/* ql_qmp_hotplug_device_async(), but the device's helpers start in
 * @helpers (a VM's group, ql_vm_get_hotplug_helpers(): their sockets in its
 * runtime directory) and stay there once QEMU connected: not detached, not
 * released, stopped with the VM. On failure only this device's helpers are
 * stopped. Finish with ql_qmp_hotplug_device_finish(). */
void ql_hotplug_device_supervised_async (QlQmp               *qmp,
                                         QlDevice            *device,
                                         QlVmConfig          *vm,
                                         QlHelperGroup       *helpers,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);

G_END_DECLS
