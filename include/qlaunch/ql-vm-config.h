/* qlaunch — QlVmConfig: a VM configuration (govmm's Config) and its argv. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib-object.h>
#include <qlaunch/ql-types.h>
#include <qlaunch/ql-cmdline.h>
#include <qlaunch/ql-host-probe.h>
#include <qlaunch/ql-registry.h>
#include <qlaunch/ql-qemu-caps.h>

G_BEGIN_DECLS

/**
 * QlRtcBase:
 * @QL_RTC_BASE_DEFAULT: not set: QEMU's default
 * @QL_RTC_BASE_UTC: the RTC starts at UTC
 * @QL_RTC_BASE_LOCALTIME: the RTC starts at local time
 *
 * The RTC's start time (`-rtc base=`).
 */
typedef enum
{
  QL_RTC_BASE_DEFAULT,
  QL_RTC_BASE_UTC,
  QL_RTC_BASE_LOCALTIME,
} QlRtcBase;

/**
 * QlRtcClock:
 * @QL_RTC_CLOCK_DEFAULT: not set: QEMU's default
 * @QL_RTC_CLOCK_HOST: the host clock drives the RTC
 * @QL_RTC_CLOCK_VM: the guest's virtual clock drives the RTC
 * @QL_RTC_CLOCK_RT: the host's monotonic clock drives the RTC
 *
 * The RTC's clock (`-rtc clock=`).
 */
typedef enum
{
  QL_RTC_CLOCK_DEFAULT,
  QL_RTC_CLOCK_HOST,
  QL_RTC_CLOCK_VM,
  QL_RTC_CLOCK_RT,
} QlRtcClock;

/**
 * QlRtcDriftFix:
 * @QL_RTC_DRIFT_FIX_DEFAULT: not set: QEMU's default
 * @QL_RTC_DRIFT_FIX_SLEW: slew lost ticks
 * @QL_RTC_DRIFT_FIX_NONE: no drift fix
 *
 * The RTC's drift fix (`-rtc driftfix=`).
 */
typedef enum
{
  QL_RTC_DRIFT_FIX_DEFAULT,
  QL_RTC_DRIFT_FIX_SLEW,
  QL_RTC_DRIFT_FIX_NONE,
} QlRtcDriftFix;

/**
 * QlIncomingType:
 * @QL_INCOMING_NONE: no incoming migration
 * @QL_INCOMING_FD: migrate in from an open file descriptor (`-incoming fd:N`)
 * @QL_INCOMING_EXEC: migrate in from a command's output (`-incoming exec:CMD`)
 * @QL_INCOMING_DEFER: wait for QMP `migrate-incoming` (`-incoming defer`)
 *
 * How the VM receives an incoming migration. Every kind also starts the VM
 * stopped (`-S`), as govmm does.
 */
typedef enum
{
  QL_INCOMING_NONE,
  QL_INCOMING_FD,
  QL_INCOMING_EXEC,
  QL_INCOMING_DEFER,
} QlIncomingType;

/**
 * QlSandboxAction:
 * @QL_SANDBOX_ACTION_DENY: QEMU's seccomp filter refuses the system calls
 *   of the class
 * @QL_SANDBOX_ACTION_ALLOW: the filter lets them through
 *
 * What QEMU's seccomp filter (`-sandbox on`) does with one class of system
 * calls: `obsolete`, `elevateprivileges`, `spawn` or `resourcecontrol`.
 *
 * Since: ABI 1.4
 */
typedef enum
{
  QL_SANDBOX_ACTION_DENY,
  QL_SANDBOX_ACTION_ALLOW,
} QlSandboxAction;

/**
 * QlFirmwareType:
 * @QL_FIRMWARE_BIOS: the machine's BIOS (SeaBIOS on x86), or the image of
 *   `[vm] bios` (`-bios`); QEMU's default
 * @QL_FIRMWARE_UEFI: UEFI (OVMF on x86) in two flash devices: the code
 *   mapped read-only and the VM's own variable store
 *
 * The VM's firmware (`[firmware] type`).
 */
typedef enum
{
  QL_FIRMWARE_BIOS,
  QL_FIRMWARE_UEFI,
} QlFirmwareType;

#define QL_TYPE_VM_CONFIG (ql_vm_config_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlVmConfig, ql_vm_config, QL, VM_CONFIG, GObject)

QL_API QlVmConfig  *ql_vm_config_new                 (void);
QL_API QlVmConfig  *ql_vm_config_new_from_file       (const char   *path,
                                                      QlRegistry   *registry,
                                                      GError      **error);
QL_API QlVmConfig  *ql_vm_config_new_from_data       (const char   *data,
                                                      gssize        length,
                                                      const char   *source_name,
                                                      const char   *base_dir,
                                                      QlRegistry   *registry,
                                                      GError      **error);

QL_API const char  *ql_vm_config_get_source_name     (QlVmConfig   *self);
QL_API guint        ql_vm_config_get_message_line    (QlVmConfig   *self,
                                                      const char   *message);
QL_API char        *ql_vm_config_build_state_path    (QlVmConfig   *self,
                                                      const char   *suffix);
QL_API QlHostProbe *ql_vm_config_get_host_probe      (QlVmConfig   *self);
QL_API void         ql_vm_config_set_host_probe      (QlVmConfig   *self,
                                                      QlHostProbe  *probe);

QL_API gboolean     ql_vm_config_set_from_string     (QlVmConfig   *self,
                                                      const char   *property,
                                                      const char   *value,
                                                      GError      **error);

QL_API void         ql_vm_config_add_qmp_socket      (QlVmConfig   *self,
                                                      const char   *name,
                                                      const char   *path,
                                                      gboolean      server,
                                                      gboolean      no_wait);
QL_API guint        ql_vm_config_get_n_qmp_sockets   (QlVmConfig   *self);
QL_API gboolean     ql_vm_config_get_qmp_socket      (QlVmConfig   *self,
                                                      guint         index,
                                                      const char  **name,
                                                      const char  **path,
                                                      gboolean     *server,
                                                      gboolean     *no_wait);

QL_API void         ql_vm_config_add_iothread        (QlVmConfig   *self,
                                                      const char   *id);
QL_API gboolean     ql_vm_config_has_iothread        (QlVmConfig   *self,
                                                      const char   *id);
QL_API char       **ql_vm_config_get_iothreads       (QlVmConfig   *self);

QL_API void         ql_vm_config_add_device          (QlVmConfig   *self,
                                                      QlDevice     *device);
QL_API GPtrArray   *ql_vm_config_get_devices         (QlVmConfig   *self);
QL_API QlDevice    *ql_vm_config_lookup_device       (QlVmConfig   *self,
                                                      const char   *id);

QL_API gboolean     ql_vm_config_validate            (QlVmConfig   *self,
                                                      GError      **error);
QL_API char        *ql_vm_config_lookup_machine_option (QlVmConfig *self,
                                                 const char   *key);
QL_API void         ql_vm_config_set_qemu_version    (QlVmConfig   *self,
                                                 guint         major,
                                                 guint         minor);
QL_API void         ql_vm_config_get_qemu_version    (QlVmConfig   *self,
                                                 guint        *major,
                                                 guint        *minor);
QL_API void         ql_vm_config_set_runtime_dir     (QlVmConfig   *self,
                                                      const char   *dir);
QL_API const char  *ql_vm_config_get_runtime_dir     (QlVmConfig   *self);
QL_API void         ql_vm_config_set_qemu_caps       (QlVmConfig   *self,
                                                      QlQemuCaps   *caps);
QL_API QlQemuCaps  *ql_vm_config_get_qemu_caps       (QlVmConfig   *self);
QL_API const char  *ql_vm_config_resolve_machine_type (QlVmConfig  *self);
QL_API gboolean     ql_vm_config_is_pcie_machine     (QlVmConfig   *self);
QL_API char        *ql_vm_config_dup_qemu_binary     (QlVmConfig   *self);
QL_API char        *ql_vm_config_dup_firmware_vars_path (QlVmConfig *self,
                                                      GError     **error);
QL_API gboolean     ql_vm_config_prepare_firmware    (QlVmConfig   *self,
                                                      GError      **error);
QL_API gboolean     ql_firmware_find_uefi            (const char   *architecture,
                                                      const char   *machine_type,
                                                      gboolean      secure_boot,
                                                      const char   *code,
                                                      char        **out_code,
                                                      char        **out_vars_template,
                                                      char        **out_descriptor,
                                                      gboolean     *out_requires_smm,
                                                      GError      **error);
QL_API QlCmdline   *ql_vm_config_build_cmdline       (QlVmConfig   *self,
                                                      GError      **error);
QL_API QlCmdline   *ql_vm_config_build_checked_cmdline (QlVmConfig *self,
                                                        GError    **error);
QL_API char       **ql_vm_config_to_argv             (QlVmConfig   *self,
                                                      GError      **error);
QL_API gboolean     ql_vm_config_apply_qemu_overrides (QlVmConfig       *self,
                                                       const char *const *add,
                                                       const char *const *remove,
                                                       const char *const *set,
                                                       GError          **error);

G_END_DECLS
