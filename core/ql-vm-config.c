/* qlaunch — QlVmConfig: every field of govmm's Config as a GObject property. */
#include "ql-vm-config-private.h"
#include "ql-keyval.h"

#include <string.h>

typedef struct
{
  char *name;
  char *path;
  gboolean server;
  gboolean no_wait;
} QlQmpSocket;

/**
 * QlVmConfig:
 *
 * A VM configuration: every setting of a VM file (govmm's `Config`) as a
 * GObject property, its QMP sockets, iothreads and devices.
 *
 * ql_vm_config_new_from_file() reads a VM file (a #GKeyFile: `[vm]`,
 * `[machine]`, `[device LABEL]`, ...); every bad group, key or value is a
 * %QL_CONFIG_ERROR that names it. ql_vm_config_validate() checks the whole
 * VM, devices included, and ql_vm_config_to_argv() builds QEMU's argv (as
 * `qlaunch args` prints it); #QlVm launches it.
 *
 * The property of VM file key `KEY` of group `[GROUP]` is `GROUP-KEY`
 * (`[memory] size` is #QlVmConfig:memory-size), except that the `[vm]`
 * keys keep their own names (#QlVmConfig:name).
 */
struct _QlVmConfig
{
  GObject parent_instance;

  GValue values[QL_VM_N_PROPS];
  GPtrArray *qmp_sockets;      /* QlQmpSocket */
  GPtrArray *iothreads;        /* char* */
  GPtrArray *devices;          /* QlDevice */
  QlHostProbe *host_probe;
  char *source_name;
  char *source_text;
  char *base_dir;
  char *file_path;             /* the VM file's absolute path, or NULL */
  QlRegistry *registry;
  guint qemu_major;            /* 0: QlCmdline's default (7.2) */
  guint qemu_minor;
  char *runtime_dir;           /* NULL: the default */
  QlQemuCaps *caps;            /* the binary's, when known: machine aliases */
  gboolean set[QL_VM_N_PROPS]; /* properties given a value */
};

G_DEFINE_FINAL_TYPE (QlVmConfig, ql_vm_config, G_TYPE_OBJECT)

static GParamSpec *properties[QL_VM_N_PROPS];

static const QlVmKey vm_keys[] = {
  { QL_VM_PROP_NAME, "vm", "name" },
  { QL_VM_PROP_UUID, "vm", "uuid" },
  { QL_VM_PROP_QEMU, "vm", "qemu" },
  { QL_VM_PROP_CPU_MODEL, "vm", "cpu-model" },
  { QL_VM_PROP_VGA, "vm", "vga" },
  { QL_VM_PROP_BIOS, "vm", "bios" },
  { QL_VM_PROP_GLOBAL, "vm", "global" },
  { QL_VM_PROP_PID_FILE, "vm", "pid-file" },
  { QL_VM_PROP_MACHINE_TYPE, "machine", "type" },
  { QL_VM_PROP_MACHINE_ACCELERATION, "machine", "acceleration" },
  { QL_VM_PROP_MACHINE_OPTIONS, "machine", "options" },
  { QL_VM_PROP_MACHINE_HOTPLUG_SLOTS, "machine", "hotplug-slots" },
  { QL_VM_PROP_MACHINE_AUTO_ROOT_PORTS, "machine", "auto-root-ports" },
  { QL_VM_PROP_SMP_CPUS, "smp", "cpus" },
  { QL_VM_PROP_SMP_CORES, "smp", "cores" },
  { QL_VM_PROP_SMP_THREADS, "smp", "threads" },
  { QL_VM_PROP_SMP_SOCKETS, "smp", "sockets" },
  { QL_VM_PROP_SMP_MAX_CPUS, "smp", "max-cpus" },
  { QL_VM_PROP_MEMORY_SIZE, "memory", "size" },
  { QL_VM_PROP_MEMORY_SLOTS, "memory", "slots" },
  { QL_VM_PROP_MEMORY_MAX_MEM, "memory", "max-mem" },
  { QL_VM_PROP_MEMORY_PATH, "memory", "path" },
  { QL_VM_PROP_KERNEL_PATH, "kernel", "path" },
  { QL_VM_PROP_KERNEL_INITRD, "kernel", "initrd" },
  { QL_VM_PROP_KERNEL_PARAMS, "kernel", "params" },
  { QL_VM_PROP_KNOBS_NO_USER_CONFIG, "knobs", "no-user-config" },
  { QL_VM_PROP_KNOBS_NO_DEFAULTS, "knobs", "no-defaults" },
  { QL_VM_PROP_KNOBS_NO_GRAPHIC, "knobs", "no-graphic" },
  { QL_VM_PROP_KNOBS_DAEMONIZE, "knobs", "daemonize" },
  { QL_VM_PROP_KNOBS_HUGEPAGES, "knobs", "hugepages" },
  { QL_VM_PROP_KNOBS_MEM_PREALLOC, "knobs", "mem-prealloc" },
  { QL_VM_PROP_KNOBS_FILE_BACKED_MEM, "knobs", "file-backed-mem" },
  { QL_VM_PROP_KNOBS_FILE_BACKED_MEM_SHARED, "knobs", "file-backed-mem-shared" },
  { QL_VM_PROP_KNOBS_MLOCK, "knobs", "mlock" },
  { QL_VM_PROP_KNOBS_STOPPED, "knobs", "stopped" },
  { QL_VM_PROP_KNOBS_REALTIME, "knobs", "realtime" },
  { QL_VM_PROP_KNOBS_SANDBOX, "knobs", "sandbox" },
  { QL_VM_PROP_KNOBS_SANDBOX_OBSOLETE, "knobs", "sandbox-obsolete" },
  { QL_VM_PROP_KNOBS_SANDBOX_ELEVATE_PRIVILEGES, "knobs", "sandbox-elevate-privileges" },
  { QL_VM_PROP_KNOBS_SANDBOX_SPAWN, "knobs", "sandbox-spawn" },
  { QL_VM_PROP_KNOBS_SANDBOX_RESOURCE_CONTROL, "knobs", "sandbox-resource-control" },
  { QL_VM_PROP_RTC_BASE, "rtc", "base" },
  { QL_VM_PROP_RTC_CLOCK, "rtc", "clock" },
  { QL_VM_PROP_RTC_DRIFT_FIX, "rtc", "drift-fix" },
  { QL_VM_PROP_INCOMING_TYPE, "incoming", "type" },
  { QL_VM_PROP_INCOMING_FD, "incoming", "fd" },
  { QL_VM_PROP_INCOMING_EXEC, "incoming", "exec" },
  { QL_VM_PROP_FIRMWARE_TYPE, "firmware", "type" },
  { QL_VM_PROP_FIRMWARE_CODE, "firmware", "code" },
  { QL_VM_PROP_FIRMWARE_VARS_TEMPLATE, "firmware", "vars-template" },
  { QL_VM_PROP_FIRMWARE_VARS, "firmware", "vars" },
  { QL_VM_PROP_FIRMWARE_SECURE_BOOT, "firmware", "secure-boot" },
  { QL_VM_PROP_QEMU_ADD, "qemu", "add" },
  { QL_VM_PROP_QEMU_REMOVE, "qemu", "remove" },
  { QL_VM_PROP_QEMU_REPLACE, "qemu", "replace" },
};

const QlVmKey *
ql_vm_config_keys (guint *n_keys)
{
  *n_keys = G_N_ELEMENTS (vm_keys);
  return vm_keys;
}

GParamSpec *
ql_vm_config_pspec (QlVmProp prop)
{
  g_type_ensure (QL_TYPE_VM_CONFIG);
  g_type_class_unref (g_type_class_ref (QL_TYPE_VM_CONFIG));
  return properties[prop];
}

static void
ql_vm_config_finalize (GObject *object)
{
  QlVmConfig *self = QL_VM_CONFIG (object);

  for (guint i = 1; i < QL_VM_N_PROPS; i++)
    g_value_unset (&self->values[i]);
  g_ptr_array_unref (self->qmp_sockets);
  g_ptr_array_unref (self->iothreads);
  g_ptr_array_unref (self->devices);
  g_clear_object (&self->host_probe);
  g_free (self->source_name);
  g_free (self->source_text);
  g_free (self->base_dir);
  g_free (self->file_path);
  g_free (self->runtime_dir);
  g_clear_object (&self->registry);
  g_clear_object (&self->caps);

  G_OBJECT_CLASS (ql_vm_config_parent_class)->finalize (object);
}

static void
ql_vm_config_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  QlVmConfig *self = QL_VM_CONFIG (object);

  g_value_copy (&self->values[prop_id], value);
}

static void
ql_vm_config_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  QlVmConfig *self = QL_VM_CONFIG (object);

  g_value_copy (value, &self->values[prop_id]);
  self->set[prop_id] = TRUE;
}

#define RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)

static GParamSpec *
str_prop (const char *name,
          const char *blurb)
{
  return g_param_spec_string (name, NULL, blurb, NULL, RW);
}

static GParamSpec *
path_prop (const char *name,
           const char *blurb)
{
  return ql_param_spec_path (name, NULL, blurb, RW);
}

static GParamSpec *
bool_prop (const char *name,
           const char *blurb)
{
  return g_param_spec_boolean (name, NULL, blurb, FALSE, RW);
}

static GParamSpec *
sandbox_prop (const char *name,
              const char *blurb)
{
  return g_param_spec_enum (name, NULL, blurb, QL_TYPE_SANDBOX_ACTION, QL_SANDBOX_ACTION_DENY, RW);
}

static GParamSpec *
uint_prop (const char *name,
           const char *blurb,
           guint       maximum)
{
  return g_param_spec_uint (name, NULL, blurb, 0, maximum, 0, RW);
}

static GParamSpec *
mem_size_prop (const char *name,
               const char *blurb)
{
  GParamSpec *pspec = ql_param_spec_size (name, NULL, blurb, 0, G_MAXUINT64, 0, RW);

  /* As QEMU's -m: a number without suffix is MiB. */
  ql_param_spec_set_size_unit (pspec, G_GUINT64_CONSTANT (1) << 20);
  return pspec;
}

/**
 * QlVmConfig:name:
 *
 * The guest's name (`-name`). VM file key: `[vm] name`.
 */

/**
 * QlVmConfig:uuid:
 *
 * The guest's UUID (`-uuid`), such as
 * `4a5c6e1b-8a2b-4d4e-9f00-123456789abc`. VM file key: `[vm] uuid`.
 */

/**
 * QlVmConfig:qemu:
 *
 * The QEMU binary; %NULL for `qemu-system-<host arch>`, found in `PATH`. VM
 * file key: `[vm] qemu`.
 */

/**
 * QlVmConfig:cpu-model:
 *
 * The CPU model (`-cpu`), such as `max`; `host` needs KVM. VM file key:
 * `[vm] cpu-model`.
 */

/**
 * QlVmConfig:vga:
 *
 * The VGA card (`-vga`): `std`, `cirrus`, `vmware`, `qxl`, `virtio`, `none`,
 * ... VM file key: `[vm] vga`.
 */

/**
 * QlVmConfig:bios:
 *
 * The firmware image (`-bios`); a bare name is looked up in QEMU's data
 * directories. VM file key: `[vm] bios`.
 */

/**
 * QlVmConfig:global:
 *
 * Global device defaults, each `DRIVER.PROPERTY=VALUE` (one `-global` each);
 * `;`-separated in a VM file. VM file key: `[vm] global`.
 */

/**
 * QlVmConfig:pid-file:
 *
 * The file QEMU writes its pid to (`-pidfile`); needed with
 * #QlVmConfig:knobs-daemonize. VM file key: `[vm] pid-file`.
 */

/**
 * QlVmConfig:machine-type:
 *
 * The machine type (`-machine TYPE`), such as `q35` or `pc`. VM file key:
 * `[machine] type`.
 */

/**
 * QlVmConfig:machine-acceleration:
 *
 * The accelerators (`-machine accel=`), such as `tcg`, `kvm` or `kvm:tcg`.
 * VM file key: `[machine] acceleration`.
 */

/**
 * QlVmConfig:machine-options:
 *
 * More `-machine` properties, in QEMU's `key=value,key=value` syntax. VM
 * file key: `[machine] options`.
 */

/**
 * QlVmConfig:machine-hotplug-slots:
 *
 * The number of empty PCIe root ports reserved for hot-plug on a PCI
 * Express machine (q35): `-device pcie-root-port,id=ql-hotplugN,...` after
 * the devices, where ql_qmp_hotplug_device() puts a device that names no
 * bus. 0 reserves none; an error on a machine without PCIe root ports
 * (pc). VM file key: `[machine] hotplug-slots`.
 *
 * Since: ABI 1.2
 */

/**
 * QlVmConfig:machine-auto-root-ports:
 *
 * Whether, on a PCI Express machine (q35), every PCI device that names no
 * bus and no address gets a PCIe root port of its own (`ql-portN`, right
 * before it), so that it can be unplugged and its slot reused; %FALSE puts
 * such devices on the root bus `pcie.0`, where nothing can be hot-plugged
 * or unplugged. %TRUE set explicitly is an error on a machine without PCIe
 * root ports. VM file key: `[machine] auto-root-ports`.
 *
 * Since: ABI 1.2
 */

/**
 * QlVmConfig:smp-cpus:
 *
 * The number of vCPUs at start (`-smp N`); 0 for QEMU's default. VM file
 * key: `[smp] cpus`.
 */

/**
 * QlVmConfig:smp-cores:
 *
 * The number of cores per socket; 0 to let QEMU compute it. VM file key:
 * `[smp] cores`.
 */

/**
 * QlVmConfig:smp-threads:
 *
 * The number of threads per core; 0 to let QEMU compute it. VM file key:
 * `[smp] threads`.
 */

/**
 * QlVmConfig:smp-sockets:
 *
 * The number of sockets; 0 to let QEMU compute it. VM file key: `[smp]
 * sockets`.
 */

/**
 * QlVmConfig:smp-max-cpus:
 *
 * The maximum number of vCPUs, for CPU hotplug; 0 for the same as
 * #QlVmConfig:smp-cpus. VM file key: `[smp] max-cpus`.
 */

/**
 * QlVmConfig:memory-size:
 *
 * The guest's RAM at start (`-m`), in bytes; a VM file's number without a
 * suffix is MiB. VM file key: `[memory] size`.
 */

/**
 * QlVmConfig:memory-slots:
 *
 * The number of memory hotplug slots (`-m slots=`). VM file key: `[memory]
 * slots`.
 */

/**
 * QlVmConfig:memory-max-mem:
 *
 * The maximum RAM with memory hotplug (`-m maxmem=`), in bytes; a VM file's
 * number without a suffix is MiB. VM file key: `[memory] max-mem`.
 */

/**
 * QlVmConfig:memory-path:
 *
 * The file or directory backing guest RAM (with
 * #QlVmConfig:knobs-file-backed-mem), or the hugetlbfs mount (with
 * #QlVmConfig:knobs-hugepages; default `/dev/hugepages`). VM file key:
 * `[memory] path`.
 */

/**
 * QlVmConfig:kernel-path:
 *
 * The guest kernel image (`-kernel`). VM file key: `[kernel] path`.
 */

/**
 * QlVmConfig:kernel-initrd:
 *
 * The initial ramdisk (`-initrd`). VM file key: `[kernel] initrd`.
 */

/**
 * QlVmConfig:kernel-params:
 *
 * The kernel command line (`-append`). VM file key: `[kernel] params`.
 */

/**
 * QlVmConfig:knobs-no-user-config:
 *
 * Whether QEMU loads no user configuration files (`-no-user-config`). VM
 * file key: `[knobs] no-user-config`.
 */

/**
 * QlVmConfig:knobs-no-defaults:
 *
 * Whether QEMU creates no default devices (`-nodefaults`). VM file key:
 * `[knobs] no-defaults`.
 */

/**
 * QlVmConfig:knobs-no-graphic:
 *
 * Whether QEMU has no graphical output, with the serial console on its
 * standard input and output (`-nographic`). VM file key: `[knobs]
 * no-graphic`.
 */

/**
 * QlVmConfig:knobs-daemonize:
 *
 * Whether QEMU detaches and runs as a daemon (`-daemonize`); needs
 * #QlVmConfig:pid-file. VM file key: `[knobs] daemonize`.
 */

/**
 * QlVmConfig:knobs-hugepages:
 *
 * Whether all guest RAM is backed by preallocated huge pages; needs
 * #QlVmConfig:memory-size and a hugetlbfs mount. VM file key: `[knobs]
 * hugepages`.
 */

/**
 * QlVmConfig:knobs-mem-prealloc:
 *
 * Whether all guest RAM is preallocated; needs #QlVmConfig:memory-size. VM
 * file key: `[knobs] mem-prealloc`.
 */

/**
 * QlVmConfig:knobs-file-backed-mem:
 *
 * Whether guest RAM is backed by a file at #QlVmConfig:memory-path; needs
 * #QlVmConfig:memory-size. VM file key: `[knobs] file-backed-mem`.
 */

/**
 * QlVmConfig:knobs-file-backed-mem-shared:
 *
 * Whether the file-backed RAM is mapped shared (`share=on`), as vhost-user
 * devices need. VM file key: `[knobs] file-backed-mem-shared`.
 */

/**
 * QlVmConfig:knobs-mlock:
 *
 * Whether guest and QEMU memory is locked in RAM (`-overcommit
 * mem-lock=on`). VM file key: `[knobs] mlock`.
 */

/**
 * QlVmConfig:knobs-stopped:
 *
 * Whether the vCPUs stay stopped at start (`-S`) until QMP `cont`. VM file
 * key: `[knobs] stopped`.
 */

/**
 * QlVmConfig:knobs-realtime:
 *
 * govmm's `-realtime`, which QEMU removed: only its mlock sub-option
 * survives, as `-overcommit mem-lock`; alone it has no effect. VM file key:
 * `[knobs] realtime`.
 */

/**
 * QlVmConfig:knobs-sandbox:
 *
 * Whether QEMU runs under its seccomp filter (`-sandbox on`, with the
 * classes of #QlVmConfig:knobs-sandbox-obsolete,
 * #QlVmConfig:knobs-sandbox-elevate-privileges,
 * #QlVmConfig:knobs-sandbox-spawn and
 * #QlVmConfig:knobs-sandbox-resource-control). On by default; it is left
 * out when the QEMU binary's capabilities (ql_vm_config_set_qemu_caps())
 * say it was built without seccomp, unless set explicitly, which is then an
 * error. VM file key: `[knobs] sandbox` (`on` or `off`).
 *
 * Since: ABI 1.4
 */

/**
 * QlVmConfig:knobs-sandbox-obsolete:
 *
 * What the seccomp filter does with obsolete system calls (`-sandbox
 * obsolete=`); default %QL_SANDBOX_ACTION_DENY. VM file key: `[knobs]
 * sandbox-obsolete` (`allow` or `deny`).
 *
 * Since: ABI 1.4
 */

/**
 * QlVmConfig:knobs-sandbox-elevate-privileges:
 *
 * What the seccomp filter does with set*uid, set*gid and setsid
 * (`-sandbox elevateprivileges=`); default %QL_SANDBOX_ACTION_DENY.
 * `daemonize` needs it allowed: left unset, it is allowed for such a VM
 * and the command line says why (ql_cmdline_get_notes()); set to
 * %QL_SANDBOX_ACTION_DENY explicitly, such a VM is an error. VM file key:
 * `[knobs] sandbox-elevate-privileges` (`allow` or `deny`).
 *
 * Since: ABI 1.4
 */

/**
 * QlVmConfig:knobs-sandbox-spawn:
 *
 * What the seccomp filter does with fork and exec (`-sandbox spawn=`);
 * default %QL_SANDBOX_ACTION_DENY. What makes QEMU start a process (a tap
 * script or down-script, QEMU's bridge helper, an `exec` incoming
 * migration, `daemonize`) needs it allowed: left unset, it is allowed for
 * such a VM and the command line says why (ql_cmdline_get_notes()); set to
 * %QL_SANDBOX_ACTION_DENY explicitly, such a VM is an error. VM file key:
 * `[knobs] sandbox-spawn` (`allow` or `deny`).
 *
 * Since: ABI 1.4
 */

/**
 * QlVmConfig:knobs-sandbox-resource-control:
 *
 * What the seccomp filter does with the system calls that set scheduling
 * and CPU or memory affinity (`-sandbox resourcecontrol=`); default
 * %QL_SANDBOX_ACTION_DENY. VM file key: `[knobs]
 * sandbox-resource-control` (`allow` or `deny`).
 *
 * Since: ABI 1.4
 */

/**
 * QlVmConfig:rtc-base:
 *
 * The RTC's start time (`-rtc base=`). VM file key: `[rtc] base`.
 */

/**
 * QlVmConfig:rtc-clock:
 *
 * The RTC's clock source (`-rtc clock=`). VM file key: `[rtc] clock`.
 */

/**
 * QlVmConfig:rtc-drift-fix:
 *
 * The RTC's drift fix (`-rtc driftfix=`). VM file key: `[rtc] drift-fix`.
 */

/**
 * QlVmConfig:incoming-type:
 *
 * How the VM receives an incoming migration (`-incoming`); any kind starts
 * the VM stopped. VM file key: `[incoming] type`.
 */

/**
 * QlVmConfig:incoming-fd:
 *
 * The open descriptor to migrate in from, with %QL_INCOMING_FD; -1 for none.
 * VM file key: `[incoming] fd`.
 */

/**
 * QlVmConfig:incoming-exec:
 *
 * The command whose output is the migration stream, with %QL_INCOMING_EXEC.
 * VM file key: `[incoming] exec`.
 */

/**
 * QlVmConfig:firmware-type:
 *
 * The firmware: %QL_FIRMWARE_BIOS (the default: the machine's BIOS, or
 * #QlVmConfig:bios) or %QL_FIRMWARE_UEFI, two flash devices (`-blockdev`
 * nodes and `-machine pflash0=,pflash1=`) whose images come from
 * #QlVmConfig:firmware-code, #QlVmConfig:firmware-vars-template and
 * #QlVmConfig:firmware-vars, or from QEMU's firmware descriptors
 * (ql_firmware_find_uefi()). VM file key: `[firmware] type`.
 */

/**
 * QlVmConfig:firmware-code:
 *
 * The UEFI code image (pflash0, mapped read-only), such as
 * `/usr/share/OVMF/OVMF_CODE_4M.fd`; %NULL to take the one of the first
 * firmware descriptor that matches the VM (architecture, machine type,
 * #QlVmConfig:firmware-secure-boot). It must be a firmware volume whose size
 * is a multiple of 4 KiB. VM file key: `[firmware] code`.
 */

/**
 * QlVmConfig:firmware-vars-template:
 *
 * The pristine UEFI variable store the VM's own store is copied from on
 * first use; it is never written. %NULL for the `nvram-template` of the
 * descriptor that gives the code (or that names #QlVmConfig:firmware-code).
 * VM file key: `[firmware] vars-template`.
 */

/**
 * QlVmConfig:firmware-vars:
 *
 * The VM's own UEFI variable store (pflash1, writable), created from
 * #QlVmConfig:firmware-vars-template when it does not exist
 * (ql_vm_config_prepare_firmware()) and kept between runs. %NULL for the
 * file beside the VM file: `NAME.vars.fd` for `NAME.vm` (see
 * ql_vm_config_dup_firmware_vars_path()). VM file key: `[firmware] vars`.
 */

/**
 * QlVmConfig:qemu-add:
 *
 * QEMU options to add, each written as on QEMU's command line (`-device
 * virtio-rng-pci,id=rng9`, `-object {"qom-type":...}`, `-no-hpet`) and
 * parsed with QEMU's rules (key=value with `,,` for a comma; JSON for the
 * options QEMU reads as JSON) into structured options, never pasted. They
 * come last, after the devices' `qemu-set`. An option qlaunch writes from a
 * VM-file key (`-m`, `-machine`, `-qmp`, ...) is refused, naming the key;
 * an id one of qlaunch's options of that name has is refused. Checked
 * against the probed QEMU like every option. VM file key: `[qemu] add`
 * (`;`-separated).
 */

/**
 * QlVmConfig:qemu-remove:
 *
 * QEMU options to leave out: an option name (`-nodefaults`, every option
 * of that name) or a name and id (`-device id=net0`); each must match an
 * option. `-qmp` and `-sandbox` cannot be removed. VM file key: `[qemu]
 * remove` (`;`-separated).
 */

/**
 * QlVmConfig:qemu-replace:
 *
 * QEMU options written instead of the option of the same name and id
 * (`-device virtio-rng-pci,id=rng0,...` replaces the `-device` whose id is
 * rng0), in its place; exactly one must match. VM file key: `[qemu]
 * replace` (`;`-separated).
 */

/**
 * QlVmConfig:firmware-secure-boot:
 *
 * Whether the UEFI firmware is a Secure Boot build: the descriptor must
 * have the `secure-boot` feature, the machine must be q35, and the VM gets
 * SMM (`-machine smm=on`, `-global driver=cfi.pflash01,property=secure,value=on`) so that only
 * the firmware can write its variables. %FALSE takes firmware without
 * Secure Boot. VM file key: `[firmware] secure-boot`.
 */

static void
ql_vm_config_class_init (QlVmConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ql_vm_config_finalize;
  object_class->get_property = ql_vm_config_get_property;
  object_class->set_property = ql_vm_config_set_property;

  properties[QL_VM_PROP_NAME] = str_prop ("name", "Guest name (-name)");
  properties[QL_VM_PROP_UUID] = str_prop ("uuid", "Guest UUID (-uuid), e.g. 4a5c6e1b-8a2b-4d4e-9f00-123456789abc");
  properties[QL_VM_PROP_QEMU] = str_prop ("qemu", "QEMU binary (default: qemu-system-<host arch>, found in PATH)");
  properties[QL_VM_PROP_CPU_MODEL] = str_prop ("cpu-model", "CPU model (-cpu), e.g. max; 'host' needs KVM");
  properties[QL_VM_PROP_VGA] = str_prop ("vga", "VGA card (-vga): std, cirrus, vmware, qxl, virtio, none, ...");
  properties[QL_VM_PROP_BIOS] = str_prop ("bios", "Firmware image (-bios); a bare name is looked up in QEMU's data directories");
  properties[QL_VM_PROP_GLOBAL] = g_param_spec_boxed ("global", NULL,
                                                      "Global device defaults (-global DRIVER.PROPERTY=VALUE), ';'-separated",
                                                      G_TYPE_STRV, RW);
  properties[QL_VM_PROP_PID_FILE] = path_prop ("pid-file", "File QEMU writes its pid to (-pidfile)");
  properties[QL_VM_PROP_MACHINE_TYPE] = str_prop ("machine-type", "Machine type (-machine TYPE), e.g. q35, pc");
  properties[QL_VM_PROP_MACHINE_ACCELERATION] = str_prop ("machine-acceleration",
                                                          "Accelerators (-machine accel=), e.g. tcg, kvm, kvm:tcg");
  properties[QL_VM_PROP_MACHINE_OPTIONS] = str_prop ("machine-options",
                                                     "More -machine properties, QEMU's key=value,key=value syntax");
  properties[QL_VM_PROP_MACHINE_HOTPLUG_SLOTS] =
    uint_prop ("machine-hotplug-slots",
               "Empty PCIe root ports reserved for hot-plug on q35 (-device pcie-root-port,id=ql-hotplugN,...); "
               "default 0; q35's root bus has 30 slots",
               QL_VM_MAX_HOTPLUG_SLOTS);
  properties[QL_VM_PROP_MACHINE_AUTO_ROOT_PORTS] =
    g_param_spec_boolean ("machine-auto-root-ports", NULL,
                          "On q35, give every PCI device without bus or addr a PCIe root port of its own "
                          "(-device pcie-root-port,id=ql-portN,... before it); default true; "
                          "false leaves them on pcie.0, which takes no hot-plug",
                          TRUE, RW);
  properties[QL_VM_PROP_SMP_CPUS] = uint_prop ("smp-cpus", "Number of vCPUs at start (-smp N); 0 = QEMU's default", 4096);
  properties[QL_VM_PROP_SMP_CORES] = uint_prop ("smp-cores", "Cores per socket (0 = let QEMU compute)", 4096);
  properties[QL_VM_PROP_SMP_THREADS] = uint_prop ("smp-threads", "Threads per core (0 = let QEMU compute)", 4096);
  properties[QL_VM_PROP_SMP_SOCKETS] = uint_prop ("smp-sockets", "Sockets (0 = let QEMU compute)", 4096);
  properties[QL_VM_PROP_SMP_MAX_CPUS] = uint_prop ("smp-max-cpus", "Maximum vCPUs, for hotplug (0 = same as cpus)", 4096);
  properties[QL_VM_PROP_MEMORY_SIZE] = mem_size_prop ("memory-size", "Guest RAM at start (-m); without suffix: MiB");
  properties[QL_VM_PROP_MEMORY_SLOTS] = uint_prop ("memory-slots", "Hotplug memory slots (-m slots=)", 256);
  properties[QL_VM_PROP_MEMORY_MAX_MEM] = mem_size_prop ("memory-max-mem", "Maximum RAM with hotplug (-m maxmem=); without suffix: MiB");
  properties[QL_VM_PROP_MEMORY_PATH] = path_prop ("memory-path",
                                                  "File or directory backing guest RAM (file-backed-mem), or the hugetlbfs mount (hugepages; default /dev/hugepages)");
  properties[QL_VM_PROP_KERNEL_PATH] = path_prop ("kernel-path", "Guest kernel image (-kernel)");
  properties[QL_VM_PROP_KERNEL_INITRD] = path_prop ("kernel-initrd", "Initial ramdisk (-initrd)");
  properties[QL_VM_PROP_KERNEL_PARAMS] = str_prop ("kernel-params", "Kernel command line (-append)");
  properties[QL_VM_PROP_KNOBS_NO_USER_CONFIG] = bool_prop ("knobs-no-user-config", "Do not load user config files (-no-user-config)");
  properties[QL_VM_PROP_KNOBS_NO_DEFAULTS] = bool_prop ("knobs-no-defaults", "Create no default devices (-nodefaults)");
  properties[QL_VM_PROP_KNOBS_NO_GRAPHIC] = bool_prop ("knobs-no-graphic", "No graphical output; serial on the terminal (-nographic)");
  properties[QL_VM_PROP_KNOBS_DAEMONIZE] = bool_prop ("knobs-daemonize", "QEMU detaches and runs as a daemon (-daemonize); needs pid-file");
  properties[QL_VM_PROP_KNOBS_HUGEPAGES] = bool_prop ("knobs-hugepages",
                                                      "Back all guest RAM with preallocated huge pages (needs memory size and a hugetlbfs mount)");
  properties[QL_VM_PROP_KNOBS_MEM_PREALLOC] = bool_prop ("knobs-mem-prealloc", "Preallocate all guest RAM (needs memory size)");
  properties[QL_VM_PROP_KNOBS_FILE_BACKED_MEM] = bool_prop ("knobs-file-backed-mem",
                                                            "Back guest RAM with a file at memory path (needs memory size and path)");
  properties[QL_VM_PROP_KNOBS_FILE_BACKED_MEM_SHARED] = bool_prop ("knobs-file-backed-mem-shared",
                                                                   "Map the file-backed RAM shared (share=on), as vhost-user needs");
  properties[QL_VM_PROP_KNOBS_MLOCK] = bool_prop ("knobs-mlock", "Lock guest and QEMU memory in RAM (-overcommit mem-lock=on)");
  properties[QL_VM_PROP_KNOBS_STOPPED] = bool_prop ("knobs-stopped", "Do not start the vCPUs at startup (-S)");
  properties[QL_VM_PROP_KNOBS_REALTIME] = bool_prop ("knobs-realtime",
                                                     "govmm's -realtime (removed from QEMU): only its mlock sub-option survives, as -overcommit mem-lock");
  properties[QL_VM_PROP_KNOBS_SANDBOX] =
    g_param_spec_boolean ("knobs-sandbox", NULL,
                          "Run QEMU under its seccomp filter (-sandbox on); default on, left out for a QEMU "
                          "built without seccomp",
                          TRUE, RW);
  properties[QL_VM_PROP_KNOBS_SANDBOX_OBSOLETE] =
    sandbox_prop ("knobs-sandbox-obsolete", "Obsolete system calls under the sandbox (-sandbox obsolete=): "
                  "allow or deny (default)");
  properties[QL_VM_PROP_KNOBS_SANDBOX_ELEVATE_PRIVILEGES] =
    sandbox_prop ("knobs-sandbox-elevate-privileges",
                  "set*uid/set*gid/setsid under the sandbox (-sandbox elevateprivileges=): allow or deny "
                  "(default; allowed with a note when daemonize needs it)");
  properties[QL_VM_PROP_KNOBS_SANDBOX_SPAWN] =
    sandbox_prop ("knobs-sandbox-spawn",
                  "fork/exec under the sandbox (-sandbox spawn=): allow or deny (default; allowed with a note "
                  "when a tap script, an exec incoming migration or daemonize needs it)");
  properties[QL_VM_PROP_KNOBS_SANDBOX_RESOURCE_CONTROL] =
    sandbox_prop ("knobs-sandbox-resource-control",
                  "Scheduling and affinity calls under the sandbox (-sandbox resourcecontrol=): allow or deny (default)");
  properties[QL_VM_PROP_RTC_BASE] = g_param_spec_enum ("rtc-base", NULL, "RTC start time (-rtc base=)",
                                                       QL_TYPE_RTC_BASE, QL_RTC_BASE_DEFAULT, RW);
  properties[QL_VM_PROP_RTC_CLOCK] = g_param_spec_enum ("rtc-clock", NULL, "RTC clock source (-rtc clock=)",
                                                        QL_TYPE_RTC_CLOCK, QL_RTC_CLOCK_DEFAULT, RW);
  properties[QL_VM_PROP_RTC_DRIFT_FIX] = g_param_spec_enum ("rtc-drift-fix", NULL, "RTC drift fix (-rtc driftfix=)",
                                                            QL_TYPE_RTC_DRIFT_FIX, QL_RTC_DRIFT_FIX_DEFAULT, RW);
  properties[QL_VM_PROP_INCOMING_TYPE] = g_param_spec_enum ("incoming-type", NULL,
                                                            "Incoming migration: none, fd, exec or defer (-incoming); starts the VM stopped",
                                                            QL_TYPE_INCOMING_TYPE, QL_INCOMING_NONE, RW);
  properties[QL_VM_PROP_INCOMING_FD] = g_param_spec_int ("incoming-fd", NULL,
                                                         "Open descriptor to migrate in from (incoming type fd); -1 = none",
                                                         -1, G_MAXINT, -1, RW);
  properties[QL_VM_PROP_INCOMING_EXEC] = str_prop ("incoming-exec", "Command whose output is the migration stream (incoming type exec)");

  properties[QL_VM_PROP_FIRMWARE_TYPE] =
    g_param_spec_enum ("firmware-type", NULL,
                       "Firmware: bios (the machine's BIOS or [vm] bios) or uefi (pflash code + the VM's own variables)",
                       QL_TYPE_FIRMWARE_TYPE, QL_FIRMWARE_BIOS, RW);
  properties[QL_VM_PROP_FIRMWARE_CODE] =
    path_prop ("firmware-code", "UEFI code image, mapped read-only (default: from QEMU's firmware descriptors)");
  properties[QL_VM_PROP_FIRMWARE_VARS_TEMPLATE] =
    path_prop ("firmware-vars-template",
               "UEFI variable store template, copied on first use, never written (default: the descriptor's nvram-template)");
  properties[QL_VM_PROP_FIRMWARE_VARS] =
    path_prop ("firmware-vars", "The VM's own UEFI variable store, kept between runs (default: NAME.vars.fd beside NAME.vm)");
  properties[QL_VM_PROP_FIRMWARE_SECURE_BOOT] =
    bool_prop ("firmware-secure-boot", "UEFI Secure Boot firmware; needs q35, turns SMM on");
  properties[QL_VM_PROP_QEMU_ADD] =
    g_param_spec_boxed ("qemu-add", NULL,
                        "QEMU options to add, ';'-separated, each as on QEMU's command line "
                        "(-device virtio-sound-pci,id=snd0); parsed and checked against the QEMU binary",
                        G_TYPE_STRV, RW);
  properties[QL_VM_PROP_QEMU_REMOVE] =
    g_param_spec_boxed ("qemu-remove", NULL,
                        "QEMU options to leave out, ';'-separated: an option name (-nodefaults), "
                        "or a name and id (-device id=net0); each must match",
                        G_TYPE_STRV, RW);
  properties[QL_VM_PROP_QEMU_REPLACE] =
    g_param_spec_boxed ("qemu-replace", NULL,
                        "QEMU options to write instead of the option of the same name and id, ';'-separated",
                        G_TYPE_STRV, RW);

  g_object_class_install_properties (object_class, QL_VM_N_PROPS, properties);
}

static void
qmp_socket_free (gpointer data)
{
  QlQmpSocket *qmp = data;

  g_free (qmp->name);
  g_free (qmp->path);
  g_free (qmp);
}

static void
ql_vm_config_init (QlVmConfig *self)
{
  for (guint i = 1; i < QL_VM_N_PROPS; i++)
    {
      g_value_init (&self->values[i], G_PARAM_SPEC_VALUE_TYPE (properties[i]));
      g_param_value_set_default (properties[i], &self->values[i]);
    }
  self->qmp_sockets = g_ptr_array_new_with_free_func (qmp_socket_free);
  self->iothreads = g_ptr_array_new_with_free_func (g_free);
  self->devices = g_ptr_array_new_with_free_func (g_object_unref);
  self->host_probe = ql_host_probe_new ();
}

/**
 * ql_vm_config_new:
 *
 * Creates an empty VM configuration that checks the real host (see
 * ql_vm_config_set_host_probe()).
 *
 * Returns: (transfer full): a new #QlVmConfig
 */
QlVmConfig *
ql_vm_config_new (void)
{
  return g_object_new (QL_TYPE_VM_CONFIG, NULL);
}

const char *
ql_vm_config_get_str (QlVmConfig *self,
                      QlVmProp    prop)
{
  return g_value_get_string (&self->values[prop]);
}

gboolean
ql_vm_config_get_bool (QlVmConfig *self,
                       QlVmProp    prop)
{
  return g_value_get_boolean (&self->values[prop]);
}

guint64
ql_vm_config_get_uint (QlVmConfig *self,
                       QlVmProp    prop)
{
  const GValue *v = &self->values[prop];

  return G_VALUE_HOLDS_UINT64 (v) ? g_value_get_uint64 (v) : g_value_get_uint (v);
}

gint
ql_vm_config_get_enum (QlVmConfig *self,
                       QlVmProp    prop)
{
  return g_value_get_enum (&self->values[prop]);
}

gint
ql_vm_config_get_int (QlVmConfig *self,
                      QlVmProp    prop)
{
  return g_value_get_int (&self->values[prop]);
}

const char * const *
ql_vm_config_get_strv (QlVmConfig *self,
                       QlVmProp    prop)
{
  return g_value_get_boxed (&self->values[prop]);
}

gboolean
ql_vm_config_is_set (QlVmConfig *self,
                     QlVmProp    prop)
{
  return self->set[prop];
}

void
ql_vm_config_set_source (QlVmConfig *self,
                         const char *source_name)
{
  ql_set_str (&self->source_name, source_name);
}

void
ql_vm_config_set_source_text (QlVmConfig *self,
                              const char *text,
                              gsize       length,
                              const char *base_dir,
                              QlRegistry *registry)
{
  g_free (self->source_text);
  self->source_text = g_strndup (text, length);
  ql_set_str (&self->base_dir, base_dir);
  g_set_object (&self->registry, registry);
}

QlRegistry *
ql_vm_config_get_registry (QlVmConfig *self)
{
  return self->registry;
}

const char *
ql_vm_config_get_source_text (QlVmConfig *self)
{
  return self->source_text;
}

const char *
ql_vm_config_get_base_dir (QlVmConfig *self)
{
  return self->base_dir;
}

void
ql_vm_config_set_file_path (QlVmConfig *self,
                            const char *file_path)
{
  ql_set_str (&self->file_path, file_path);
}

/**
 * ql_vm_config_build_state_path:
 * @self: a #QlVmConfig
 * @suffix: what the state is, as a file name suffix (`tpm`)
 *
 * The default place of state that belongs to the VM and is kept between
 * runs (a TPM's state directory): beside the VM file, `DIR/NAME.SUFFIX`
 * for the VM file `DIR/NAME.vm` (`DIR/FILE.SUFFIX` for a VM file whose
 * name does not end in `.vm`), so that the VM file and its state move
 * together. Nothing is created.
 *
 * Returns: (transfer full) (nullable): the absolute path, or %NULL when
 *   the configuration was not loaded from a file
 *   (ql_vm_config_new_from_file()): then a device must be told where
 *
 * Since: ABI 1.3
 */
char *
ql_vm_config_build_state_path (QlVmConfig *self,
                               const char *suffix)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *name = NULL;
  gsize len;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  g_return_val_if_fail (suffix != NULL && *suffix != '\0', NULL);
  if (self->file_path == NULL)
    return NULL;
  dir = g_path_get_dirname (self->file_path);
  base = g_path_get_basename (self->file_path);
  len = strlen (base);
  if (len > 3 && g_str_has_suffix (base, ".vm"))
    base[len - 3] = '\0';
  name = g_strconcat (base, ".", suffix, NULL);
  return g_build_filename (dir, name, NULL);
}

/**
 * ql_vm_config_get_source_name:
 * @self: a #QlVmConfig
 *
 * Gets the name of the VM file the configuration was read from, as errors
 * name it.
 *
 * Returns: (nullable): the VM file the configuration was loaded from
 */
const char *
ql_vm_config_get_source_name (QlVmConfig *self)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  return self->source_name;
}

/**
 * ql_vm_config_get_message_line:
 * @self: a #QlVmConfig
 * @message: one line of an error message of ql_vm_config_validate() or of
 *   building the command line
 *
 * Finds the line of the VM file a message is about, so that it can be
 * reported as `FILE:LINE: message` like the loader's own errors. A message
 * about a device starts `device 'ID'`; its line is that of the
 * `[device LABEL]` group the device was loaded from.
 *
 * Returns: the line number, or 0 when the message names no device of the
 *   VM file (a device added otherwise, an id that two devices share, a
 *   message about something else)
 */
guint
ql_vm_config_get_message_line (QlVmConfig *self,
                               const char *message)
{
  const char *prefix = "device '";
  g_autofree char *id = NULL;
  const char *end;
  QlDevice *found = NULL;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), 0);
  g_return_val_if_fail (message != NULL, 0);

  if (!g_str_has_prefix (message, prefix))
    return 0;
  end = strchr (message + strlen (prefix), '\'');
  if (end == NULL)
    return 0;
  id = g_strndup (message + strlen (prefix), end - (message + strlen (prefix)));
  for (guint i = 0; i < self->devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (self->devices, i);

      if (g_strcmp0 (ql_device_get_id (device), id) != 0)
        continue;
      if (found != NULL)
        return 0;
      found = device;
    }
  return found != NULL ? ql_device_get_source_line (found) : 0;
}

/**
 * ql_vm_config_lookup_machine_option:
 * @self: a #QlVmConfig
 * @key: a `-machine` property, such as `nvdimm`
 *
 * Looks @key up in `[machine] options`, read with QEMU's key=value rule
 * (a single `,` separates, `,,` is a literal comma). Plugins use it to see
 * what the VM file set on the machine.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL when @key is not
 *   set (or the options do not parse; validation reports that)
 */
char *
ql_vm_config_lookup_machine_option (QlVmConfig *self,
                                    const char *key)
{
  const char *options;
  g_autoptr(GPtrArray) pairs = NULL;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);
  options = g_value_get_string (&self->values[QL_VM_PROP_MACHINE_OPTIONS]);
  if (options == NULL || *options == '\0')
    return NULL;
  pairs = ql_keyval_split (options, "[machine] options", NULL);
  for (guint i = 0; pairs != NULL && i < pairs->len; i++)
    {
      QlKeyvalPair *pair = g_ptr_array_index (pairs, i);

      if (pair->key != NULL && strcmp (pair->key, key) == 0)
        return g_strdup (pair->value);
    }
  return NULL;
}

/**
 * ql_vm_config_set_qemu_version:
 * @self: a #QlVmConfig
 * @major: QEMU's major version, 0 for the default
 * @minor: QEMU's minor version
 *
 * Sets the QEMU version the command line is built for
 * (ql_cmdline_set_qemu_version(); usually from ql_qemu_caps_get_version()
 * of the binary that will run it). Not a VM-file key: the same VM file
 * runs on several QEMU versions. The default, 0, builds for 7.2.
 */
void
ql_vm_config_set_qemu_version (QlVmConfig *self,
                               guint       major,
                               guint       minor)
{
  g_return_if_fail (QL_IS_VM_CONFIG (self));
  self->qemu_major = major;
  self->qemu_minor = minor;
}

/**
 * ql_vm_config_set_runtime_dir:
 * @self: a #QlVmConfig
 * @dir: (nullable) (type filename): an absolute directory, or %NULL for the
 *   default
 *
 * Sets the VM's runtime directory: where the sockets between QEMU and the
 * devices' helper processes (#QlHelper) go. Not a VM-file key. By default
 * the launcher (#QlVm) makes a fresh private directory for every launch,
 * `NAME.XXXXXX` under `$XDG_RUNTIME_DIR/qlaunch` (when `XDG_RUNTIME_DIR`
 * is a private directory of ours), `/run/qlaunch` (root) or
 * `$TMPDIR/qlaunch-UID`, and removes it when QEMU has ended; a command
 * line built without launching (ql_vm_config_build_cmdline()) names
 * `NAME` there instead. With @dir, that directory is used as it is
 * (created with mode 0700 if missing; refused unless it is a directory of
 * ours that nobody else can write to); the launcher then removes only what
 * it put there.
 *
 * Since: ABI 1.2
 */
void
ql_vm_config_set_runtime_dir (QlVmConfig *self,
                              const char *dir)
{
  g_return_if_fail (QL_IS_VM_CONFIG (self));
  ql_set_str (&self->runtime_dir, dir);
}

/**
 * ql_vm_config_get_runtime_dir:
 * @self: a #QlVmConfig
 *
 * Gets the runtime directory set by ql_vm_config_set_runtime_dir().
 *
 * Returns: (nullable) (type filename): the directory, or %NULL for the
 *   default
 *
 * Since: ABI 1.2
 */
const char *
ql_vm_config_get_runtime_dir (QlVmConfig *self)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  return self->runtime_dir;
}

/**
 * ql_vm_config_set_qemu_caps:
 * @self: a #QlVmConfig
 * @caps: (nullable): the capabilities of the QEMU binary that will run the
 *   VM (ql_qemu_caps_lookup()), or %NULL to forget them
 *
 * Tells the configuration what its QEMU binary offers, so that its checks
 * and plugins see the machine type as that binary does:
 * ql_vm_config_resolve_machine_type() resolves aliases (`q35` is
 * `pc-q35-7.2` for QEMU 7.2) and an unset type is the binary's default
 * machine. Not a VM-file key; `qlaunch args`, `check` and `run` set it from
 * the probed binary before they build the command line. Without it, the
 * machine type is read by its name alone.
 *
 * Since: ABI 1.2
 */
void
ql_vm_config_set_qemu_caps (QlVmConfig *self,
                            QlQemuCaps *caps)
{
  g_return_if_fail (QL_IS_VM_CONFIG (self));
  g_return_if_fail (caps == NULL || QL_IS_QEMU_CAPS (caps));
  g_set_object (&self->caps, caps);
}

/**
 * ql_vm_config_get_qemu_caps:
 * @self: a #QlVmConfig
 *
 * Gets the capabilities set by ql_vm_config_set_qemu_caps().
 *
 * Returns: (transfer none) (nullable): the capabilities, or %NULL
 *
 * Since: ABI 1.2
 */
QlQemuCaps *
ql_vm_config_get_qemu_caps (QlVmConfig *self)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  return self->caps;
}

/**
 * ql_vm_config_resolve_machine_type:
 * @self: a #QlVmConfig
 *
 * Gets the machine type the VM runs, as its QEMU binary resolves
 * `[machine] type`: with capabilities from a probed binary
 * (ql_vm_config_set_qemu_caps()), an alias becomes the machine type it
 * stands for (`q35` → `pc-q35-7.2`, `pc` → `pc-i440fx-7.2`) and an unset
 * type the binary's default machine; without them, or for a name the
 * binary does not know, the type as written. Plugins compare this, not the
 * raw #QlVmConfig:machine-type, with the machine types they know.
 *
 * Returns: (nullable): the machine type, or %NULL when it is unset and no
 *   probed binary gives a default
 *
 * Since: ABI 1.2
 */
const char *
ql_vm_config_resolve_machine_type (QlVmConfig *self)
{
  const char *type;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  type = g_value_get_string (&self->values[QL_VM_PROP_MACHINE_TYPE]);
  if (self->caps != NULL && ql_qemu_caps_is_probed (self->caps))
    {
      const char *resolved = type != NULL ? ql_qemu_caps_resolve_machine (self->caps, type)
                                          : ql_qemu_caps_get_default_machine (self->caps);

      if (resolved != NULL && *resolved != '\0')
        return resolved;
    }
  return type;
}

/**
 * ql_vm_config_is_pcie_machine:
 * @self: a #QlVmConfig
 *
 * Tells whether the VM's machine is a PCI Express machine, whose devices
 * are hot-plugged into PCIe root ports: the q35 family (`q35` and the
 * versioned `pc-q35-X.Y`, and any alias the probed binary resolves to one:
 * see ql_vm_config_resolve_machine_type()). On such a machine the core
 * gives PCI devices root ports of their own (#QlVmConfig:machine-auto-root-ports)
 * and reserves #QlVmConfig:machine-hotplug-slots; `pcie-root-port`
 * devices are valid only there.
 *
 * Returns: %TRUE for a q35 machine
 *
 * Since: ABI 1.2
 */
gboolean
ql_vm_config_is_pcie_machine (QlVmConfig *self)
{
  const char *type;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);
  type = ql_vm_config_resolve_machine_type (self);
  return type != NULL && (strcmp (type, "q35") == 0 || g_str_has_prefix (type, "pc-q35-"));
}

/**
 * ql_vm_config_get_qemu_version:
 * @self: a #QlVmConfig
 * @major: (out) (optional): the major version, 0 when not set
 * @minor: (out) (optional): the minor version
 *
 * Gets the QEMU version set by ql_vm_config_set_qemu_version().
 */
void
ql_vm_config_get_qemu_version (QlVmConfig *self,
                               guint      *major,
                               guint      *minor)
{
  g_return_if_fail (QL_IS_VM_CONFIG (self));
  if (major != NULL)
    *major = self->qemu_major;
  if (minor != NULL)
    *minor = self->qemu_minor;
}

/**
 * ql_vm_config_get_host_probe:
 * @self: a #QlVmConfig
 *
 * Gets the host probe the configuration's checks use.
 *
 * Returns: (transfer none) (nullable): the probe host checks use, or %NULL
 *   when host checks are off
 */
QlHostProbe *
ql_vm_config_get_host_probe (QlVmConfig *self)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  return self->host_probe;
}

/**
 * ql_vm_config_set_host_probe:
 * @self: a #QlVmConfig
 * @probe: (nullable): a probe, or %NULL to turn host checks off (for
 *   building argv for another host)
 *
 * Replaces the probe used for host checks.
 */
void
ql_vm_config_set_host_probe (QlVmConfig  *self,
                             QlHostProbe *probe)
{
  g_return_if_fail (QL_IS_VM_CONFIG (self));
  g_set_object (&self->host_probe, probe);
}

/**
 * ql_vm_config_set_from_string:
 * @self: a #QlVmConfig
 * @property: a property name, such as `memory-size`
 * @value: the value as written in a VM file
 * @error: return location for an error
 *
 * Sets a configuration property from text, with the checks of the VM file
 * loader.
 *
 * Returns: %TRUE on success
 */
gboolean
ql_vm_config_set_from_string (QlVmConfig  *self,
                              const char  *property,
                              const char  *value,
                              GError     **error)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);
  return ql_object_set_property_from_string (G_OBJECT (self), property, value, error);
}

/**
 * ql_vm_config_add_qmp_socket:
 * @self: a #QlVmConfig
 * @name: (nullable): a label for the socket (the `[qmp NAME]` group)
 * @path: the unix socket path
 * @server: whether QEMU listens (`server=on`)
 * @no_wait: whether QEMU starts without waiting for a client (`wait=off`)
 *
 * Adds a QMP monitor on a unix socket (`-qmp unix:PATH,...`).
 */
void
ql_vm_config_add_qmp_socket (QlVmConfig *self,
                             const char *name,
                             const char *path,
                             gboolean    server,
                             gboolean    no_wait)
{
  QlQmpSocket *qmp;

  g_return_if_fail (QL_IS_VM_CONFIG (self));

  qmp = g_malloc0 (sizeof (QlQmpSocket));
  qmp->name = g_strdup (name);
  qmp->path = g_strdup (path);
  qmp->server = server;
  qmp->no_wait = no_wait;
  g_ptr_array_add (self->qmp_sockets, qmp);
}

/**
 * ql_vm_config_get_n_qmp_sockets:
 * @self: a #QlVmConfig
 *
 * Gets the number of QMP sockets (`[qmp NAME]` groups) of the VM.
 *
 * Returns: the number of QMP sockets
 */
guint
ql_vm_config_get_n_qmp_sockets (QlVmConfig *self)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), 0);
  return self->qmp_sockets->len;
}

/**
 * ql_vm_config_get_qmp_socket:
 * @self: a #QlVmConfig
 * @index: a socket index
 * @name: (out) (optional) (transfer none) (nullable): the socket's label
 * @path: (out) (optional) (transfer none) (nullable): the socket path
 * @server: (out) (optional): whether QEMU listens
 * @no_wait: (out) (optional): whether QEMU does not wait for a client
 *
 * Gets one of the VM's QMP sockets.
 *
 * Returns: %TRUE if @index is valid
 */
gboolean
ql_vm_config_get_qmp_socket (QlVmConfig  *self,
                             guint        index,
                             const char **name,
                             const char **path,
                             gboolean    *server,
                             gboolean    *no_wait)
{
  QlQmpSocket *qmp;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);
  if (index >= self->qmp_sockets->len)
    return FALSE;
  qmp = g_ptr_array_index (self->qmp_sockets, index);
  if (name != NULL)
    *name = qmp->name;
  if (path != NULL)
    *path = qmp->path;
  if (server != NULL)
    *server = qmp->server;
  if (no_wait != NULL)
    *no_wait = qmp->no_wait;
  return TRUE;
}

/**
 * ql_vm_config_add_iothread:
 * @self: a #QlVmConfig
 * @id: the iothread's id
 *
 * Adds an I/O thread (`-object iothread,id=ID`).
 */
void
ql_vm_config_add_iothread (QlVmConfig *self,
                           const char *id)
{
  g_return_if_fail (QL_IS_VM_CONFIG (self));
  g_return_if_fail (id != NULL);
  g_ptr_array_add (self->iothreads, g_strdup (id));
}

/**
 * ql_vm_config_has_iothread:
 * @self: a #QlVmConfig
 * @id: an id
 *
 * Tells whether the VM has an iothread with the given id.
 *
 * Returns: whether the VM has an iothread with @id
 */
gboolean
ql_vm_config_has_iothread (QlVmConfig *self,
                           const char *id)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);
  for (guint i = 0; i < self->iothreads->len; i++)
    if (g_str_equal (g_ptr_array_index (self->iothreads, i), id))
      return TRUE;
  return FALSE;
}

/**
 * ql_vm_config_get_iothreads:
 * @self: a #QlVmConfig
 *
 * Gets the ids of the VM's iothreads (`[iothread ID]` groups), in order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the iothread ids
 */
char **
ql_vm_config_get_iothreads (QlVmConfig *self)
{
  GPtrArray *ids;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  ids = g_ptr_array_new ();
  for (guint i = 0; i < self->iothreads->len; i++)
    g_ptr_array_add (ids, g_strdup (g_ptr_array_index (self->iothreads, i)));
  g_ptr_array_add (ids, NULL);
  return (char **) g_ptr_array_free (ids, FALSE);
}

static gboolean
id_in_use (QlVmConfig *self,
           const char *id)
{
  return ql_vm_config_lookup_device (self, id) != NULL
         || ql_vm_config_has_iothread (self, id);
}

/**
 * ql_vm_config_add_device:
 * @self: a #QlVmConfig
 * @device: (transfer none): a device
 *
 * Appends a device; devices are emitted in the order added. A device
 * without id gets one: its type name followed by the smallest free number
 * (`net0`, `block1`).
 */
void
ql_vm_config_add_device (QlVmConfig *self,
                         QlDevice   *device)
{
  g_return_if_fail (QL_IS_VM_CONFIG (self));
  g_return_if_fail (QL_IS_DEVICE (device));

  if (ql_device_get_id (device) == NULL)
    {
      const char *type = ql_device_get_type_name (device);

      for (guint n = 0;; n++)
        {
          g_autofree char *id = g_strdup_printf ("%s%u", type != NULL ? type : "device", n);

          if (!id_in_use (self, id))
            {
              ql_device_set_id (device, id);
              break;
            }
        }
    }
  g_ptr_array_add (self->devices, g_object_ref (device));
}

/**
 * ql_vm_config_get_devices:
 * @self: a #QlVmConfig
 *
 * Gets the VM's devices, in the order of the VM file or of
 * ql_vm_config_add_device().
 *
 * Returns: (transfer none) (element-type QlDevice): the devices in order
 */
GPtrArray *
ql_vm_config_get_devices (QlVmConfig *self)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  return self->devices;
}

/**
 * ql_vm_config_lookup_device:
 * @self: a #QlVmConfig
 * @id: a device id
 *
 * Looks a device up by its id.
 *
 * Returns: (transfer none) (nullable): the first device with @id
 */
QlDevice *
ql_vm_config_lookup_device (QlVmConfig *self,
                            const char *id)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  for (guint i = 0; i < self->devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (self->devices, i);

      if (g_strcmp0 (ql_device_get_id (device), id) == 0)
        return device;
    }
  return NULL;
}
