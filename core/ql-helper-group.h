/* qlaunch — private: the helper processes of one VM and their runtime
 * directory (ql-helper-group.c). */
#pragma once

#include "ql-helper-process.h"

G_BEGIN_DECLS

#define QL_TYPE_HELPER_GROUP (ql_helper_group_get_type ())
G_DECLARE_FINAL_TYPE (QlHelperGroup, ql_helper_group, QL, HELPER_GROUP, GObject)

/* A group followed in @context, whose sockets live in @runtime_dir (made
 * by ql_runtime_dir_create(); @made_here: remove it whole at the end;
 * @lock_fd: its lock, now the group's). */
QlHelperGroup   *ql_helper_group_new              (GMainContext        *context,
                                                   const char          *runtime_dir,
                                                   gboolean             made_here,
                                                   int                  lock_fd);

/* Starts the helpers of @cmdline, one after the other, each once the one
 * before listens. On failure, those started are stopped (and waited for)
 * before the task fails with the first error. */
void             ql_helper_group_start_async      (QlHelperGroup       *self,
                                                   QlCmdline           *cmdline,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
/* For QEMU to start before the helpers of @cmdline: when every one is
 * socket activated (its socket is one qlaunch makes listening: ql_helper_add_listen_socket()), makes their
 * processes and listening sockets now, and the next
 * ql_helper_group_start_async() starts those. FALSE, @error unset, when
 * one is not (nothing made); FALSE with @error when a socket cannot be
 * made (what was made goes with the group's stop). */
gboolean         ql_helper_group_listen_early     (QlHelperGroup       *self,
                                                   QlCmdline           *cmdline,
                                                   GError             **error);
gboolean         ql_helper_group_start_finish     (QlHelperGroup       *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* Called when a started helper ends without being stopped by the group. */
typedef void (*QlHelperGroupDiedFunc) (QlHelperGroup   *group,
                                       QlHelperProcess *helper,
                                       gpointer         user_data);
void             ql_helper_group_set_died_func    (QlHelperGroup       *self,
                                                   QlHelperGroupDiedFunc func,
                                                   gpointer             user_data);
/* Called when a helper listens (after its start, before the next one). */
void             ql_helper_group_set_ready_func   (QlHelperGroup       *self,
                                                   QlHelperGroupDiedFunc func,
                                                   gpointer             user_data);

/* Stops the helpers of @device_id (all with NULL): SIGTERM, SIGKILL after
 * @grace_ms; completes when they are gone and their sockets removed. With
 * @device_id NULL the runtime directory goes too. */
void             ql_helper_group_stop_async       (QlHelperGroup       *self,
                                                   const char          *device_id,
                                                   guint                grace_ms,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
gboolean         ql_helper_group_stop_finish      (QlHelperGroup       *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* Helpers started from now on are detached (see
 * ql_helper_process_set_detached()): for a short-lived command. */
void             ql_helper_group_set_detached     (QlHelperGroup       *self,
                                                   gboolean             detached);
/* Gives up every helper (they run on, no longer followed: each ends when
 * QEMU's connection to it goes) and removes their sockets and the runtime
 * directory: QEMU is connected already. */
void             ql_helper_group_release_all      (QlHelperGroup       *self);

guint            ql_helper_group_get_n_running    (QlHelperGroup       *self);
/* Every helper started and not yet removed, in start order. */
GPtrArray       *ql_helper_group_get_processes    (QlHelperGroup       *self);
const char      *ql_helper_group_get_runtime_dir  (QlHelperGroup       *self);

/* ql-vm.c: the group that the helpers of a device hot-plugged into @vm
 * join: followed as the launch's (one that dies stops QEMU, and the VM
 * fails) and stopped when QEMU ends. A VM launched without helpers gets
 * one in @runtime_dir (an existing private directory, removed whole when
 * they are stopped). NULL when QEMU does not run (or is ending). */
QlHelperGroup   *ql_vm_get_hotplug_helpers        (QlVm                *vm,
                                                   const char          *runtime_dir);

G_END_DECLS
