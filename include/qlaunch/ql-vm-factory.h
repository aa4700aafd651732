/* qlaunch — QlVmFactory: a pool of running clones of a template, handed out
 * on request and replaced in the background. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <gio/gio.h>
#include <qlaunch/ql-macros.h>
#include <qlaunch/ql-template.h>
#include <qlaunch/ql-vm.h>

G_BEGIN_DECLS

/**
 * QL_VM_FACTORY_DEFAULT_CLONE_TIMEOUT_MS:
 *
 * The default of #QlVmFactory:clone-timeout: 30 seconds to start one clone
 * (QEMU spawned, its state loaded, QMP answering).
 */
#define QL_VM_FACTORY_DEFAULT_CLONE_TIMEOUT_MS 30000

/**
 * QL_VM_FACTORY_DEFAULT_MAX_FAILURES:
 *
 * The default of #QlVmFactory:max-failures: after 3 clones in a row failed,
 * the pending requests fail.
 */
#define QL_VM_FACTORY_DEFAULT_MAX_FAILURES 3

#define QL_TYPE_VM_FACTORY (ql_vm_factory_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlVmFactory, ql_vm_factory, QL, VM_FACTORY, GObject)

QL_API QlVmFactory *ql_vm_factory_new               (QlTemplate          *template_,
                                                     guint                pool_size);

QL_API QlTemplate  *ql_vm_factory_get_template      (QlVmFactory         *self);
QL_API guint        ql_vm_factory_get_pool_size     (QlVmFactory         *self);
QL_API guint        ql_vm_factory_get_clone_timeout (QlVmFactory         *self);
QL_API void         ql_vm_factory_set_clone_timeout (QlVmFactory         *self,
                                                     guint                timeout_ms);
QL_API guint        ql_vm_factory_get_max_failures  (QlVmFactory         *self);
QL_API void         ql_vm_factory_set_max_failures  (QlVmFactory         *self,
                                                     guint                max_failures);
QL_API guint        ql_vm_factory_get_n_ready       (QlVmFactory         *self);
QL_API guint        ql_vm_factory_get_n_starting    (QlVmFactory         *self);

QL_API void         ql_vm_factory_start             (QlVmFactory         *self);

QL_API void         ql_vm_factory_get_async         (QlVmFactory         *self,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
QL_API QlVm        *ql_vm_factory_get_finish        (QlVmFactory         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
QL_API QlVm        *ql_vm_factory_get               (QlVmFactory         *self,
                                                     GCancellable        *cancellable,
                                                     GError             **error);

QL_API void         ql_vm_factory_shutdown_async    (QlVmFactory         *self,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
QL_API gboolean     ql_vm_factory_shutdown_finish   (QlVmFactory         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
QL_API gboolean     ql_vm_factory_shutdown          (QlVmFactory         *self,
                                                     GCancellable        *cancellable,
                                                     GError             **error);

G_END_DECLS
