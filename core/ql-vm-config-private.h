/* qlaunch — private: QlVmConfig's property table, shared with the loader
 * and the argv builder. */
#pragma once

#include "ql-private.h"

G_BEGIN_DECLS

typedef enum
{
  QL_VM_PROP_0,
  /* [vm] */
  QL_VM_PROP_NAME,
  QL_VM_PROP_UUID,
  QL_VM_PROP_QEMU,
  QL_VM_PROP_CPU_MODEL,
  QL_VM_PROP_VGA,
  QL_VM_PROP_BIOS,
  QL_VM_PROP_GLOBAL,
  QL_VM_PROP_PID_FILE,
  /* [machine] */
  QL_VM_PROP_MACHINE_TYPE,
  QL_VM_PROP_MACHINE_ACCELERATION,
  QL_VM_PROP_MACHINE_OPTIONS,
  QL_VM_PROP_MACHINE_HOTPLUG_SLOTS,
  QL_VM_PROP_MACHINE_AUTO_ROOT_PORTS,
  /* [smp] */
  QL_VM_PROP_SMP_CPUS,
  QL_VM_PROP_SMP_CORES,
  QL_VM_PROP_SMP_THREADS,
  QL_VM_PROP_SMP_SOCKETS,
  QL_VM_PROP_SMP_MAX_CPUS,
  /* [memory] */
  QL_VM_PROP_MEMORY_SIZE,
  QL_VM_PROP_MEMORY_SLOTS,
  QL_VM_PROP_MEMORY_MAX_MEM,
  QL_VM_PROP_MEMORY_PATH,
  /* [kernel] */
  QL_VM_PROP_KERNEL_PATH,
  QL_VM_PROP_KERNEL_INITRD,
  QL_VM_PROP_KERNEL_PARAMS,
  /* [knobs] */
  QL_VM_PROP_KNOBS_NO_USER_CONFIG,
  QL_VM_PROP_KNOBS_NO_DEFAULTS,
  QL_VM_PROP_KNOBS_NO_GRAPHIC,
  QL_VM_PROP_KNOBS_DAEMONIZE,
  QL_VM_PROP_KNOBS_HUGEPAGES,
  QL_VM_PROP_KNOBS_MEM_PREALLOC,
  QL_VM_PROP_KNOBS_FILE_BACKED_MEM,
  QL_VM_PROP_KNOBS_FILE_BACKED_MEM_SHARED,
  QL_VM_PROP_KNOBS_MLOCK,
  QL_VM_PROP_KNOBS_STOPPED,
  QL_VM_PROP_KNOBS_REALTIME,
  QL_VM_PROP_KNOBS_SANDBOX,
  QL_VM_PROP_KNOBS_SANDBOX_OBSOLETE,
  QL_VM_PROP_KNOBS_SANDBOX_ELEVATE_PRIVILEGES,
  QL_VM_PROP_KNOBS_SANDBOX_SPAWN,
  QL_VM_PROP_KNOBS_SANDBOX_RESOURCE_CONTROL,
  /* [rtc] */
  QL_VM_PROP_RTC_BASE,
  QL_VM_PROP_RTC_CLOCK,
  QL_VM_PROP_RTC_DRIFT_FIX,
  /* [incoming] */
  QL_VM_PROP_INCOMING_TYPE,
  QL_VM_PROP_INCOMING_FD,
  QL_VM_PROP_INCOMING_EXEC,
  /* [firmware] */
  QL_VM_PROP_FIRMWARE_TYPE,
  QL_VM_PROP_FIRMWARE_CODE,
  QL_VM_PROP_FIRMWARE_VARS_TEMPLATE,
  QL_VM_PROP_FIRMWARE_VARS,
  QL_VM_PROP_FIRMWARE_SECURE_BOOT,
  /* [qemu] */
  QL_VM_PROP_QEMU_ADD,
  QL_VM_PROP_QEMU_REMOVE,
  QL_VM_PROP_QEMU_REPLACE,
  QL_VM_N_PROPS
} QlVmProp;

/* The VM file group and key of a property ("vm", "cpu-model"). */
typedef struct
{
  QlVmProp prop;
  const char *group;
  const char *key;
} QlVmKey;

const QlVmKey *ql_vm_config_keys          (guint       *n_keys);
GParamSpec    *ql_vm_config_pspec         (QlVmProp     prop);

const char    *ql_vm_config_get_str       (QlVmConfig  *self,
                                           QlVmProp     prop);
gboolean       ql_vm_config_get_bool      (QlVmConfig  *self,
                                           QlVmProp     prop);
guint64        ql_vm_config_get_uint      (QlVmConfig  *self,
                                           QlVmProp     prop);
gint           ql_vm_config_get_enum      (QlVmConfig  *self,
                                           QlVmProp     prop);
gint           ql_vm_config_get_int       (QlVmConfig  *self,
                                           QlVmProp     prop);
const char * const *ql_vm_config_get_strv (QlVmConfig  *self,
                                           QlVmProp     prop);
/* Whether @prop was set (from a VM file or g_object_set()), even to its
 * default value. */
gboolean       ql_vm_config_is_set        (QlVmConfig  *self,
                                           QlVmProp     prop);

void           ql_vm_config_set_source    (QlVmConfig  *self,
                                           const char  *source_name);

/* The text and base directory of the VM file the configuration was loaded
 * from (NULL for one built through the API); templates keep them. */
void           ql_vm_config_set_source_text (QlVmConfig  *self,
                                             const char  *text,
                                             gsize        length,
                                             const char  *base_dir,
                                             QlRegistry  *registry);
QlRegistry    *ql_vm_config_get_registry    (QlVmConfig  *self);
const char    *ql_vm_config_get_source_text (QlVmConfig  *self);
const char    *ql_vm_config_get_base_dir    (QlVmConfig  *self);
/* The absolute path of the VM file the configuration was loaded from
 * (ql_vm_config_new_from_file()), or NULL. */
void           ql_vm_config_set_file_path   (QlVmConfig  *self,
                                             const char  *file_path);

/* ql_vm_config_validate(); with @startup_only, the topology check leaves
 * out the devices ql_hotplug_plan() placed (see
 * ql_vm_config_build_startup_cmdline()). */
gboolean       ql_vm_config_validate_for  (QlVmConfig  *self,
                                           gboolean     startup_only,
                                           GError     **error);
/* ql_vm_config_validate_for() without ql_vm_config_check_options() when
 * @check_options is FALSE: for a build that makes the same checks on the
 * command line it builds. */
gboolean       ql_vm_config_validate_checks (QlVmConfig  *self,
                                             gboolean     startup_only,
                                             gboolean     check_options,
                                             GError     **error);
/* The checks validation makes on scratch builds of the VM's options
 * (topology, sandbox, escape hatch), in its order: the first error, or
 * NULL. */
GError        *ql_vm_config_check_options  (QlVmConfig *self,
                                            gboolean    startup_only);
/* The PCIe topology of the devices' options (ql_pcie_place() on a scratch
 * command line): its error, or NULL (also when a plugin's own options
 * fail: the build reports that). */
GError        *ql_vm_config_check_topology (QlVmConfig *self,
                                            gboolean    startup_only);
/* What the escape hatch ([qemu], qemu-set, qemu-unset) does not match
 * in the VM's options (a scratch build), or NULL. */
GError        *ql_vm_config_check_escape_hatch (QlVmConfig *self,
                                                gboolean    startup_only);
/* The sandbox classes the VM needs but its keys deny, or NULL. */
GError        *ql_vm_config_check_sandbox  (QlVmConfig *self,
                                            gboolean    startup_only);

/* ql_vm_config_build_cmdline() with the runtime directory of a launch. */
QlCmdline     *ql_vm_config_build_cmdline_in (QlVmConfig  *self,
                                              const char  *runtime_dir,
                                              GError     **error);
/* ql_vm_config_build_checked_cmdline() in the runtime directory of a
 * launch (%NULL: the default). */
QlCmdline     *ql_vm_config_build_checked_cmdline_in (QlVmConfig  *self,
                                                      const char  *runtime_dir,
                                                      GError     **error);

/* The command line the running VM of @self was started with, to work out
 * its PCIe topology for a hot-plug: without host checks, and without the
 * devices ql_hotplug_plan() placed in a root port reserved for hot-plug
 * (ql_pcie_get_planned_ports()), which were not on it. */
QlCmdline     *ql_vm_config_build_startup_cmdline (QlVmConfig  *self,
                                                   GError     **error);

/* The options of @cl that make QEMU fork and exec (tap scripts, QEMU's
 * bridge helper): a sentence each, appended to @reasons, naming the
 * option's origin or @fallback. */
void           ql_cmdline_spawn_reasons   (QlCmdline   *cl,
                                           const char  *fallback,
                                           GPtrArray   *reasons);
/* Whether the seccomp filter of the running VM of @self lets QEMU fork
 * and exec: no -sandbox, or spawn=allow on its start-up command line. */
gboolean       ql_vm_config_started_with_spawn (QlVmConfig *self);

/* The UEFI firmware of a VM ([firmware] type = uefi), every path
 * resolved: explicit keys first, then QEMU's firmware descriptors. */
typedef struct
{
  char *code;            /* mapped read-only (pflash0) */
  char *vars_template;   /* copied into vars on first use */
  char *vars;            /* the VM's own variable store (pflash1) */
  char *descriptor;      /* the descriptor that gave code or template, or NULL */
  gboolean smm;          /* secure boot, or firmware that requires SMM */
} QlFirmware;

void           ql_firmware_free           (QlFirmware  *firmware);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlFirmware, ql_firmware_free)

/* The UEFI firmware of @self, or NULL with @error naming the [firmware]
 * key at fault; NULL without error when the type is not uefi. No host
 * access beyond reading descriptors. */
QlFirmware    *ql_vm_config_resolve_firmware (QlVmConfig *self,
                                              GError    **error);
/* The [firmware] rules (ql-firmware.c); host checks through the probe. */
void           ql_vm_config_check_firmware   (QlVmConfig  *self,
                                              QlErrorList *errors,
                                              GHashTable  *ids);
/* The -blockdev pairs, the pflash machine options and SMM. */
void           ql_vm_config_emit_firmware    (QlVmConfig  *self,
                                              QlCmdline   *cl);

/* Node names of the flash devices' block nodes. */
#define QL_PFLASH_CODE_NODE "ql-pflash0"
#define QL_PFLASH_VARS_NODE "ql-pflash1"

/* The id core uses for the guest RAM backend of the memory knobs. */
#define QL_RAM_BACKEND_ID "dimm1"

/* [machine] hotplug-slots: at most the free slots of q35's root bus. */
#define QL_VM_MAX_HOTPLUG_SLOTS 30

G_END_DECLS
