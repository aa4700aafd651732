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
  /* [rtc] */
  QL_VM_PROP_RTC_BASE,
  QL_VM_PROP_RTC_CLOCK,
  QL_VM_PROP_RTC_DRIFT_FIX,
  /* [incoming] */
  QL_VM_PROP_INCOMING_TYPE,
  QL_VM_PROP_INCOMING_FD,
  QL_VM_PROP_INCOMING_EXEC,
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

/* ql_vm_config_build_cmdline() with the runtime directory of a launch. */
QlCmdline     *ql_vm_config_build_cmdline_in (QlVmConfig  *self,
                                              const char  *runtime_dir,
                                              GError     **error);

/* The id core uses for the guest RAM backend of the memory knobs. */
#define QL_RAM_BACKEND_ID "dimm1"

G_END_DECLS
