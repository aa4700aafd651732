/* qlaunch — VM templates: a paused VM saved once, cloned in milliseconds. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <gio/gio.h>
#include <qlaunch/ql-macros.h>
#include <qlaunch/ql-registry.h>
#include <qlaunch/ql-vm-config.h>
#include <qlaunch/ql-vm.h>

G_BEGIN_DECLS

/**
 * QL_TEMPLATE_ERROR:
 *
 * Error domain of templates. Errors in this domain are #QlTemplateError
 * values.
 */
#define QL_TEMPLATE_ERROR (ql_template_error_quark ())

/**
 * QlTemplateError:
 * @QL_TEMPLATE_ERROR_EXISTS: the template directory exists and is not empty
 * @QL_TEMPLATE_ERROR_UNSUPPORTED: the VM configuration cannot be a template
 *   (daemonize, hugepages, an incoming migration, no kernel...)
 * @QL_TEMPLATE_ERROR_CORRUPT: the template directory is incomplete or a file
 *   in it does not match the manifest (size or hash)
 * @QL_TEMPLATE_ERROR_MISMATCH: the template no longer fits this host: the
 *   QEMU binary, its version, the kernel or initrd changed, or the clone's
 *   configuration differs from the template's
 * @QL_TEMPLATE_ERROR_TIMEOUT: a phase (boot to ready, saving, loading) did
 *   not finish in time
 * @QL_TEMPLATE_ERROR_FAILED: QEMU failed (its stderr is in the message)
 * @QL_TEMPLATE_ERROR_UNSAFE: another user could have changed the template:
 *   its directory or a file in it is owned by a user other than root or
 *   the caller, or writable by group or others (for `template create`: the
 *   directory it is made in); or its QEMU binary is a program another user
 *   could change. Since: ABI 1.4
 *
 * Error codes of %QL_TEMPLATE_ERROR.
 */
typedef enum
{
  QL_TEMPLATE_ERROR_EXISTS,
  QL_TEMPLATE_ERROR_UNSUPPORTED,
  QL_TEMPLATE_ERROR_CORRUPT,
  QL_TEMPLATE_ERROR_MISMATCH,
  QL_TEMPLATE_ERROR_TIMEOUT,
  QL_TEMPLATE_ERROR_FAILED,
  QL_TEMPLATE_ERROR_UNSAFE,
} QlTemplateError;

/**
 * QlTemplateCloneFlags:
 * @QL_TEMPLATE_CLONE_NONE: the clone runs when the clone operation completes
 * @QL_TEMPLATE_CLONE_PAUSED: the clone stays paused after loading its state
 *   (resume it with ql_vm_resume())
 * @QL_TEMPLATE_CLONE_INHERIT_STDIO: QEMU inherits this process's standard
 *   input and output (the console on the terminal, as `qlaunch run`)
 *
 * How ql_template_clone_async() starts a clone.
 */
typedef enum /*< flags >*/
{
  QL_TEMPLATE_CLONE_NONE = 0,
  QL_TEMPLATE_CLONE_PAUSED = 1 << 0,
  QL_TEMPLATE_CLONE_INHERIT_STDIO = 1 << 1,
} QlTemplateCloneFlags;

/**
 * QlTemplateCreateFlags:
 * @QL_TEMPLATE_CREATE_NONE: identity fix-up: the template VM gets a
 *   `vmgenid` device with `guid = auto` (or keeps its own, which must have
 *   `guid = auto`), so that every clone starts with a new VM generation ID
 *   and its guest is told so (Linux 5.18 and later reseed their RNG)
 * @QL_TEMPLATE_CREATE_SAME_IDENTITY: no identity fix-up: the VM is saved as
 *   it is, and its clones resume with the template's RNG state and identity
 *
 * How ql_template_create_full_async() makes a template. The manifest
 * records the choice (`identity`).
 */
typedef enum /*< flags >*/
{
  QL_TEMPLATE_CREATE_NONE = 0,
  QL_TEMPLATE_CREATE_SAME_IDENTITY = 1 << 0,
} QlTemplateCreateFlags;

#define QL_TYPE_TEMPLATE (ql_template_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlTemplate, ql_template, QL, TEMPLATE, GObject)

QL_API GQuark       ql_template_error_quark       (void);

QL_API void         ql_template_create_async      (QlVmConfig          *config,
                                                   const char          *dir,
                                                   const char          *ready_pattern,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
QL_API QlTemplate  *ql_template_create_finish     (GAsyncResult        *result,
                                                   GError             **error);
QL_API QlTemplate  *ql_template_create            (QlVmConfig          *config,
                                                   const char          *dir,
                                                   const char          *ready_pattern,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

QL_API void         ql_template_create_full_async (QlVmConfig          *config,
                                                   const char          *dir,
                                                   const char          *ready_pattern,
                                                   QlTemplateCreateFlags flags,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
QL_API QlTemplate  *ql_template_create_full       (QlVmConfig          *config,
                                                   const char          *dir,
                                                   const char          *ready_pattern,
                                                   QlTemplateCreateFlags flags,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

QL_API QlTemplate  *ql_template_load              (const char          *dir,
                                                   QlRegistry          *registry,
                                                   GError             **error);

QL_API const char  *ql_template_get_dir           (QlTemplate          *self);
QL_API const char  *ql_template_get_qemu          (QlTemplate          *self);
QL_API const char  *ql_template_get_qemu_version  (QlTemplate          *self);
QL_API const char  *ql_template_get_machine_type  (QlTemplate          *self);
QL_API char       **ql_template_dup_qemu_overrides (QlTemplate         *self,
                                                   const char         *kind);
QL_API guint64      ql_template_get_memory_size   (QlTemplate          *self);
QL_API QlVmConfig  *ql_template_get_config        (QlTemplate          *self);
QL_API char       **ql_template_dup_disk_ids      (QlTemplate          *self);
QL_API GPtrArray   *ql_template_dup_shares        (QlTemplate          *self);

QL_API QlVm        *ql_template_new_clone         (QlTemplate          *self,
                                                   GError             **error);
QL_API QlVm        *ql_template_new_clone_keeping_disks (QlTemplate    *self,
                                                         const char    *keep_dir,
                                                         GError       **error);
QL_API const char  *ql_template_get_clone_disk    (QlVm                *clone,
                                                   const char          *id);
QL_API void         ql_template_start_clone_async (QlTemplate          *self,
                                                   QlVm                *clone,
                                                   QlTemplateCloneFlags flags,
                                                   GPtrArray           *extra_devices,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
QL_API gboolean     ql_template_start_clone_finish (QlTemplate         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
QL_API gboolean     ql_template_start_clone       (QlTemplate          *self,
                                                   QlVm                *clone,
                                                   QlTemplateCloneFlags flags,
                                                   GPtrArray           *extra_devices,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

QL_API void         ql_template_clone_async       (QlTemplate          *self,
                                                   QlTemplateCloneFlags flags,
                                                   GPtrArray           *extra_devices,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
QL_API QlVm        *ql_template_clone_finish      (QlTemplate          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
QL_API QlVm        *ql_template_clone             (QlTemplate          *self,
                                                   QlTemplateCloneFlags flags,
                                                   GPtrArray           *extra_devices,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

G_END_DECLS
