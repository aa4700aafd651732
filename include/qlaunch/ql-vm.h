/* qlaunch — QlVm: one QEMU process of a VM configuration, run through
 * GSubprocess. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <gio/gio.h>
#include <qlaunch/ql-types.h>
#include <qlaunch/ql-vm-config.h>
#include <qlaunch/ql-qmp.h>

G_BEGIN_DECLS

/**
 * QL_LAUNCH_ERROR:
 *
 * Error domain for VMs that fail to start or that end badly. Errors in this
 * domain use #QlLaunchError codes.
 */
#define QL_LAUNCH_ERROR (ql_launch_error_quark ())

/**
 * QlLaunchError:
 * @QL_LAUNCH_ERROR_SPAWN: QEMU could not be started (for example the binary
 *   is missing); the message says which binary and why
 * @QL_LAUNCH_ERROR_EXITED: QEMU exited with a non-zero status; the message
 *   holds the status and QEMU's stderr
 * @QL_LAUNCH_ERROR_SIGNALED: QEMU was killed by a signal it was not sent by
 *   qlaunch; the message holds the signal and QEMU's stderr
 * @QL_LAUNCH_ERROR_STATE: the call does not fit the VM's state (launching
 *   twice, waiting before launching)
 * @QL_LAUNCH_ERROR_DAEMON: a daemonized QEMU could not be found (no or a bad
 *   pid file)
 * @QL_LAUNCH_ERROR_HELPER: a device's helper process (#QlHelper) could not
 *   start, did not get ready in time, or died while the VM ran; the message
 *   names the device, the helper and how it ended, with its output
 *
 * Error codes in the #QL_LAUNCH_ERROR domain.
 */
typedef enum
{
  QL_LAUNCH_ERROR_SPAWN,
  QL_LAUNCH_ERROR_EXITED,
  QL_LAUNCH_ERROR_SIGNALED,
  QL_LAUNCH_ERROR_STATE,
  QL_LAUNCH_ERROR_DAEMON,
  QL_LAUNCH_ERROR_HELPER,
} QlLaunchError;

/**
 * QlVmState:
 * @QL_VM_STATE_NEW: not launched yet
 * @QL_VM_STATE_STARTING: QEMU is being spawned (or is daemonizing)
 * @QL_VM_STATE_RUNNING: QEMU runs
 * @QL_VM_STATE_EXITED: QEMU exited with status 0, or was stopped by qlaunch
 * @QL_VM_STATE_FAILED: QEMU could not start, or exited with an error
 *
 * The life of a #QlVm. #GObject::notify on #QlVm:state reports each change.
 */
typedef enum
{
  QL_VM_STATE_NEW,
  QL_VM_STATE_STARTING,
  QL_VM_STATE_RUNNING,
  QL_VM_STATE_EXITED,
  QL_VM_STATE_FAILED,
} QlVmState;

/**
 * QlVmShutdownMethod:
 * @QL_VM_SHUTDOWN_ALREADY_EXITED: QEMU had exited before
 * @QL_VM_SHUTDOWN_POWERDOWN: the guest powered off after `system_powerdown`
 * @QL_VM_SHUTDOWN_QUIT: QEMU exited on `quit`
 * @QL_VM_SHUTDOWN_KILLED: QEMU had to be stopped with signals (ql_vm_stop())
 *
 * How ql_vm_shutdown() ended QEMU.
 */
typedef enum
{
  QL_VM_SHUTDOWN_ALREADY_EXITED,
  QL_VM_SHUTDOWN_POWERDOWN,
  QL_VM_SHUTDOWN_QUIT,
  QL_VM_SHUTDOWN_KILLED,
} QlVmShutdownMethod;

/**
 * QlWatchdogAction:
 * @QL_WATCHDOG_ACTION_RESET: QEMU resets the VM
 * @QL_WATCHDOG_ACTION_SHUTDOWN: QEMU asks the guest to shut down (ACPI)
 * @QL_WATCHDOG_ACTION_POWEROFF: QEMU powers the VM off: it exits with
 *   status 0
 * @QL_WATCHDOG_ACTION_PAUSE: QEMU pauses the VM
 * @QL_WATCHDOG_ACTION_DEBUG: QEMU prints a debug message and goes on
 * @QL_WATCHDOG_ACTION_NONE: QEMU does nothing
 * @QL_WATCHDOG_ACTION_INJECT_NMI: QEMU injects an NMI into the guest
 * @QL_WATCHDOG_ACTION_OTHER: an action this version of qlaunch does not
 *   know (see the signal's action name)
 *
 * What QEMU does when the guest's watchdog fires, as its `WATCHDOG` event
 * reports it (see #QlVm::watchdog).
 *
 * Since: 0.2
 */
typedef enum
{
  QL_WATCHDOG_ACTION_RESET,
  QL_WATCHDOG_ACTION_SHUTDOWN,
  QL_WATCHDOG_ACTION_POWEROFF,
  QL_WATCHDOG_ACTION_PAUSE,
  QL_WATCHDOG_ACTION_DEBUG,
  QL_WATCHDOG_ACTION_NONE,
  QL_WATCHDOG_ACTION_INJECT_NMI,
  QL_WATCHDOG_ACTION_OTHER,
} QlWatchdogAction;

#define QL_TYPE_VM (ql_vm_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlVm, ql_vm, QL, VM, GObject)

QL_API GQuark       ql_launch_error_quark      (void);

QL_API QlVm        *ql_vm_new                  (QlVmConfig          *config);
QL_API QlVmConfig  *ql_vm_get_config           (QlVm                *self);
QL_API QlVmState    ql_vm_get_state            (QlVm                *self);
QL_API GPid         ql_vm_get_pid              (QlVm                *self);
QL_API int          ql_vm_get_exit_status      (QlVm                *self);
QL_API const char  *ql_vm_get_stderr           (QlVm                *self);
QL_API guint        ql_vm_get_grace_period     (QlVm                *self);
QL_API void         ql_vm_set_grace_period     (QlVm                *self,
                                                guint                milliseconds);
QL_API void         ql_vm_set_stdio_inherit    (QlVm                *self,
                                                gboolean             inherit);
QL_API void         ql_vm_set_stdout_fd        (QlVm                *self,
                                                int                  fd);
QL_API void         ql_vm_set_stdin_fd         (QlVm                *self,
                                                int                  fd);
QL_API void         ql_vm_set_die_with_parent  (QlVm                *self,
                                                gboolean             die_with_parent);
QL_API void         ql_vm_set_environ          (QlVm                *self,
                                                const char * const  *env);
QL_API void         ql_vm_set_check_qemu       (QlVm                *self,
                                                gboolean             check);
QL_API gboolean     ql_vm_get_check_qemu       (QlVm                *self);
QL_API QlCmdline   *ql_vm_build_cmdline        (QlVm                *self,
                                                GError             **error);

QL_API gboolean     ql_vm_launch               (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GError             **error);
QL_API void         ql_vm_launch_async         (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
QL_API gboolean     ql_vm_launch_finish        (QlVm                *self,
                                                GAsyncResult        *result,
                                                GError             **error);

QL_API gboolean     ql_vm_wait                 (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GError             **error);
QL_API void         ql_vm_wait_async           (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
QL_API gboolean     ql_vm_wait_finish          (QlVm                *self,
                                                GAsyncResult        *result,
                                                GError             **error);

QL_API void         ql_vm_stop                 (QlVm                *self);

QL_API QlQmp       *ql_vm_get_qmp              (QlVm                *self);
QL_API const char  *ql_vm_get_run_state        (QlVm                *self);
QL_API void         ql_vm_connect_qmp_async    (QlVm                *self,
                                                guint                timeout_ms,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
QL_API gboolean     ql_vm_connect_qmp_finish   (QlVm                *self,
                                                GAsyncResult        *result,
                                                GError             **error);
QL_API gboolean     ql_vm_connect_qmp          (QlVm                *self,
                                                guint                timeout_ms,
                                                GCancellable        *cancellable,
                                                GError             **error);
QL_API void         ql_vm_pause_async          (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
QL_API gboolean     ql_vm_pause_finish         (QlVm                *self,
                                                GAsyncResult        *result,
                                                GError             **error);
QL_API gboolean     ql_vm_pause                (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GError             **error);
QL_API void         ql_vm_resume_async         (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
QL_API gboolean     ql_vm_resume_finish        (QlVm                *self,
                                                GAsyncResult        *result,
                                                GError             **error);
QL_API gboolean     ql_vm_resume               (QlVm                *self,
                                                GCancellable        *cancellable,
                                                GError             **error);
QL_API void         ql_vm_shutdown_async       (QlVm                *self,
                                                guint                powerdown_timeout_ms,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
QL_API gboolean     ql_vm_shutdown_finish      (QlVm                *self,
                                                GAsyncResult        *result,
                                                QlVmShutdownMethod  *method,
                                                GError             **error);
QL_API gboolean     ql_vm_shutdown             (QlVm                *self,
                                                guint                powerdown_timeout_ms,
                                                QlVmShutdownMethod  *method,
                                                GCancellable        *cancellable,
                                                GError             **error);

G_END_DECLS
