/* qlaunch — the argv of a VM, in govmm's LaunchQemu order,
 * through QlCmdline only. */
#include "ql-vm-config-private.h"
#include "ql-keyval.h"
#include "ql-pcie-private.h"
#include "ql-qemu-raw-private.h"
#include "ql-runtime-dir.h"

#include <sys/utsname.h>

#define STR(p) ql_vm_config_get_str (self, QL_VM_PROP_##p)
#define BOOL(p) ql_vm_config_get_bool (self, QL_VM_PROP_##p)
#define UINT(p) ql_vm_config_get_uint (self, QL_VM_PROP_##p)

/* QEMU names its system emulators by target, not by uname's machine. */
static char *
default_qemu_binary (void)
{
  static const struct { const char *prefix; const char *target; } targets[] = {
    { "i386", "i386" }, { "i486", "i386" }, { "i586", "i386" }, { "i686", "i386" },
    { "armv", "arm" }, { "ppc64", "ppc64" }, { "ppc", "ppc" }, { "mips64", "mips64" },
  };
  struct utsname u;

  if (uname (&u) != 0)
    return g_strdup ("qemu-system-x86_64");
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    if (g_str_has_prefix (u.machine, targets[i].prefix))
      return g_strdup_printf ("qemu-system-%s", targets[i].target);
  return g_strdup_printf ("qemu-system-%s", u.machine);
}

/**
 * ql_vm_config_dup_qemu_binary:
 * @self: a #QlVmConfig
 *
 * Gets the QEMU binary the VM's command line starts with: #QlVmConfig:qemu,
 * or `qemu-system-<host arch>` (looked up in `PATH` when QEMU starts) when
 * it is unset. Probe that binary (ql_qemu_caps_lookup()) for
 * ql_vm_config_set_qemu_caps().
 *
 * Returns: (transfer full) (type filename): the binary
 *
 * Since: ABI 1.2
 */
char *
ql_vm_config_dup_qemu_binary (QlVmConfig *self)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  return STR (QEMU) != NULL ? g_strdup (STR (QEMU)) : default_qemu_binary ();
}

static const char *
enum_nick (GType type,
           gint  value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *ev = g_enum_get_value (klass, value);

  return ev != NULL ? ev->value_nick : NULL;
}

static void
emit_machine (QlVmConfig *self,
              QlCmdline  *cl)
{
  QlOption *machine = ql_cmdline_add_option (cl, "-machine", STR (MACHINE_TYPE),
                                             "accel", STR (MACHINE_ACCELERATION), NULL);
  const char *options = STR (MACHINE_OPTIONS);

  ql_option_set_origin (machine, "[machine]");

  if (options != NULL && *options != '\0')
    {
      /* Validated already: every element is key=value. */
      g_autoptr(GPtrArray) pairs = ql_keyval_split (options, "[machine] options", NULL);

      for (guint i = 0; pairs != NULL && i < pairs->len; i++)
        {
          QlKeyvalPair *pair = g_ptr_array_index (pairs, i);

          ql_option_set (machine, pair->key, pair->value);
        }
    }
}

static void
emit_qmp (QlVmConfig *self,
          QlCmdline  *cl)
{
  for (guint i = 0; i < ql_vm_config_get_n_qmp_sockets (self); i++)
    {
      const char *path;
      gboolean server, no_wait;
      g_autofree char *address = NULL;
      QlOption *qmp;

      ql_vm_config_get_qmp_socket (self, i, NULL, &path, &server, &no_wait);
      address = g_strconcat ("unix:", path, NULL);
      qmp = ql_cmdline_add_option (cl, "-qmp", address, NULL);
      if (server)
        {
          /* Not govmm's deprecated "server,nowait" short forms. */
          ql_option_set_bool (qmp, "server", TRUE);
          if (no_wait)
            ql_option_set_bool (qmp, "wait", FALSE);
        }
    }
}

static void
emit_memory (QlVmConfig *self,
             QlCmdline  *cl)
{
  g_autofree char *size = NULL;
  g_autofree char *max = NULL;
  QlOption *m;

  if (UINT (MEMORY_SIZE) == 0)
    return;
  size = ql_format_size (UINT (MEMORY_SIZE));
  m = ql_cmdline_add_option (cl, "-m", size, NULL);
  if (UINT (MEMORY_SLOTS) > 0)
    ql_option_set_uint (m, "slots", UINT (MEMORY_SLOTS));
  if (UINT (MEMORY_MAX_MEM) > 0)
    {
      max = ql_format_size (UINT (MEMORY_MAX_MEM));
      ql_option_set (m, "maxmem", max);
    }
}

/* The devices' options in order. With @startup_only, not the devices
 * ql_hotplug_plan() placed into a running VM. */
static gboolean
emit_device_options (QlVmConfig  *self,
                     QlCmdline   *cl,
                     gboolean     startup_only,
                     GError     **error)
{
  GPtrArray *devices = ql_vm_config_get_devices (self);

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      guint first = ql_cmdline_get_n_options (cl);
      guint first_helper = ql_cmdline_get_n_helpers (cl);

      if (startup_only && ql_pcie_get_planned_ports (device) != NULL)
        continue;
      if (!ql_device_qemu_params (device, self, cl, error))
        return FALSE;
      ql_cmdline_set_device_origin (cl, first, ql_device_get_id (device));
      for (guint k = first_helper; k < ql_cmdline_get_n_helpers (cl); k++)
        ql_helper_set_device_id (ql_cmdline_get_helper (cl, k), ql_device_get_id (device));
    }
  return TRUE;
}

/* The devices, then their PCIe topology (ql-pcie.c). */
static gboolean
emit_devices (QlVmConfig  *self,
              QlCmdline   *cl,
              gboolean     startup_only,
              GError     **error)
{
  guint first_device = ql_cmdline_get_n_options (cl);

  if (!emit_device_options (self, cl, startup_only, error))
    return FALSE;
  /* A plugin's bad value is reported before the topology is looked at. */
  if (!ql_cmdline_check (cl, error))
    return FALSE;
  return ql_pcie_place (self, cl, first_device, error);
}

GError *
ql_vm_config_check_topology (QlVmConfig *self,
                             gboolean    startup_only)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(GError) plugin_error = NULL;
  GError *error = NULL;

  /* Helpers only name their sockets in it. */
  ql_cmdline_set_runtime_dir (cl, "/run/qlaunch/check");
  if (!emit_device_options (self, cl, startup_only, &plugin_error)
      || !ql_cmdline_check (cl, &plugin_error))
    return NULL;
  if (!ql_pcie_place (self, cl, 0, &error))
    return error;
  return NULL;
}

static void
emit_rtc (QlVmConfig *self,
          QlCmdline  *cl)
{
  QlRtcBase base = ql_vm_config_get_enum (self, QL_VM_PROP_RTC_BASE);
  QlRtcClock clock = ql_vm_config_get_enum (self, QL_VM_PROP_RTC_CLOCK);
  QlRtcDriftFix drift = ql_vm_config_get_enum (self, QL_VM_PROP_RTC_DRIFT_FIX);

  if (base == QL_RTC_BASE_DEFAULT && clock == QL_RTC_CLOCK_DEFAULT && drift == QL_RTC_DRIFT_FIX_DEFAULT)
    return;
  ql_cmdline_add_option (cl, "-rtc", NULL,
                         "base", base ? enum_nick (QL_TYPE_RTC_BASE, base) : NULL,
                         "driftfix", drift ? enum_nick (QL_TYPE_RTC_DRIFT_FIX, drift) : NULL,
                         "clock", clock ? enum_nick (QL_TYPE_RTC_CLOCK, clock) : NULL,
                         NULL);
}

/* The boot RAM backend: id, then size in bytes (typed: the JSON form of
 * -object needs a number), then the rest. */
static QlOption *
add_ram_backend (QlVmConfig *self,
                 QlCmdline  *cl,
                 const char *type)
{
  QlOption *backend = ql_cmdline_add_option (cl, "-object", type, "id", QL_RAM_BACKEND_ID, NULL);

  ql_option_set_uint (backend, "size", UINT (MEMORY_SIZE));
  return backend;
}

static void
emit_memory_knobs (QlVmConfig *self,
                   QlCmdline  *cl)
{
  const char *shared_for = ql_cmdline_get_shared_memory_reason (cl);
  QlOption *backend;

  /* govmm's -numa node,memdev= / pc-dimm forms are replaced by
   * -machine memory-backend=, which sets the backend of all boot RAM
   * (govmm's MemPrealloc pc-dimm ADDED a DIMM instead). */
  if (BOOL (KNOBS_HUGEPAGES))
    {
      const char *mount = STR (MEMORY_PATH) != NULL ? STR (MEMORY_PATH) : "/dev/hugepages";

      backend = add_ram_backend (self, cl, "memory-backend-file");
      ql_option_set (backend, "mem-path", mount);
      ql_option_set_bool (backend, "share", TRUE);
      ql_option_set_bool (backend, "prealloc", TRUE);
    }
  else if (BOOL (KNOBS_MEM_PREALLOC))
    {
      /* RAM that a vhost-user backend maps must be shared: a memfd is
       * what memory-backend-ram is, shareable. */
      backend = add_ram_backend (self, cl, shared_for != NULL ? "memory-backend-memfd" : "memory-backend-ram");
      ql_option_set_bool (backend, "prealloc", TRUE);
      if (shared_for != NULL)
        ql_option_set_bool (backend, "share", TRUE);
    }
  else if (BOOL (KNOBS_FILE_BACKED_MEM))
    {
      backend = add_ram_backend (self, cl, "memory-backend-file");
      ql_option_set (backend, "mem-path", STR (MEMORY_PATH));
      if (BOOL (KNOBS_FILE_BACKED_MEM_SHARED))
        ql_option_set_bool (backend, "share", TRUE);
      else if (shared_for != NULL)
        ql_cmdline_fail (cl, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                                          "[memory]: guest RAM is a private file mapping ([knobs] file-backed-mem "
                                          "without file-backed-mem-shared), and %s maps it from another process: "
                                          "set [knobs] file-backed-mem-shared = true",
                                          shared_for));
    }
  else if (shared_for != NULL)
    {
      /* Nothing asked for a backend, and a device needs guest RAM shared
       * with its backend process: an anonymous shared memfd. */
      if (UINT (MEMORY_SIZE) == 0)
        {
          ql_cmdline_fail (cl, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING,
                                            "[memory]: size: %s needs guest RAM shared with its backend "
                                            "(memory-backend-memfd, share=on), which needs the size: set [memory] size",
                                            shared_for));
          return;
        }
      backend = add_ram_backend (self, cl, "memory-backend-memfd");
      ql_option_set_bool (backend, "share", TRUE);
    }
  else
    return;
  ql_option_set_origin (backend, "[memory]");

  ql_cmdline_set_machine_option (cl, "memory-backend", QL_RAM_BACKEND_ID);
}

/* ---- the seccomp sandbox ------------------------------------------------ */

typedef struct
{
  QlVmProp prop;
  const char *key;        /* [knobs] key */
  const char *parameter;  /* -sandbox parameter */
} SandboxClass;

static const SandboxClass sandbox_classes[] = {
  { QL_VM_PROP_KNOBS_SANDBOX_OBSOLETE, "sandbox-obsolete", "obsolete" },
  { QL_VM_PROP_KNOBS_SANDBOX_ELEVATE_PRIVILEGES, "sandbox-elevate-privileges", "elevateprivileges" },
  { QL_VM_PROP_KNOBS_SANDBOX_SPAWN, "sandbox-spawn", "spawn" },
  { QL_VM_PROP_KNOBS_SANDBOX_RESOURCE_CONTROL, "sandbox-resource-control", "resourcecontrol" },
};

static const char *
origin_or (QlOption   *option,
           const char *fallback)
{
  const char *origin = ql_option_get_origin (option);

  return origin != NULL ? origin : fallback;
}

/* The options of @cl that make QEMU fork and exec (the spawn class): tap
 * scripts, QEMU's bridge helper; each a sentence for a message, named
 * after the option's origin or @fallback. */
void
ql_cmdline_spawn_reasons (QlCmdline  *cl,
                          const char *fallback,
                          GPtrArray  *reasons)
{
  for (guint i = 0; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);
      const char *head = ql_option_get_head (option);
      static const struct { const char *key; const char *name; } scripts[] = {
        { "script", "script" }, { "downscript", "down-script" },
      };

      if (g_strcmp0 (ql_option_get_flag (option), "-netdev") != 0 || head == NULL)
        continue;
      /* The origin is asked for only for a reason: a device's is written
       * when first asked for. */
      if (g_str_equal (head, "bridge"))
        g_ptr_array_add (reasons, g_strdup_printf ("%s is a bridge netdev (QEMU runs its bridge helper)", origin_or (option, fallback)));
      if (!g_str_equal (head, "tap"))
        continue;
      for (guint k = 0; k < G_N_ELEMENTS (scripts); k++)
        {
          const char *script = ql_option_lookup (option, scripts[k].key);

          if (script != NULL && *script != '\0' && !g_str_equal (script, "no"))
            g_ptr_array_add (reasons, g_strdup_printf ("%s runs its %s '%s' (QEMU forks to run it)",
                                                       origin_or (option, fallback), scripts[k].name, script));
        }
      if (ql_option_lookup (option, "helper") != NULL)
        g_ptr_array_add (reasons, g_strdup_printf ("%s runs the helper '%s' (QEMU forks to run it)",
                                                   origin_or (option, fallback), ql_option_lookup (option, "helper")));
    }
}

/* What in the VM makes QEMU fork and exec: its options', an exec incoming
 * migration, daemonizing. */
static void
spawn_reasons (QlVmConfig *self,
               QlCmdline  *cl,
               GPtrArray  *reasons)
{
  ql_cmdline_spawn_reasons (cl, "-netdev", reasons);
  if (ql_vm_config_get_enum (self, QL_VM_PROP_INCOMING_TYPE) == QL_INCOMING_EXEC)
    g_ptr_array_add (reasons, g_strdup_printf ("[incoming] type exec runs '%s' (QEMU forks to run it; "
                                               "type fd needs no process)", STR (INCOMING_EXEC)));
  if (BOOL (KNOBS_DAEMONIZE))
    g_ptr_array_add (reasons, g_strdup ("[knobs] daemonize makes QEMU fork to detach"));
}

/* -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny
 * unless [knobs] sandbox is off or the binary lacks seccomp. A class the VM
 * needs (spawn for a tap script, both spawn and elevateprivileges for
 * daemonize) is allowed with a note when its key is unset, and is an error
 * when the key says deny. */
static void
emit_sandbox (QlVmConfig *self,
              QlCmdline  *cl)
{
  QlQemuCaps *caps = ql_vm_config_get_qemu_caps (self);
  QlOption *sandbox;

  if (!BOOL (KNOBS_SANDBOX))
    return;
  if (caps != NULL && ql_qemu_caps_is_probed (caps) && !ql_qemu_caps_has_command_line_option (caps, "sandbox", NULL))
    {
      g_autofree char *what = g_strdup_printf ("%s %s", ql_qemu_caps_get_binary (caps),
                                               ql_qemu_caps_get_version_string (caps));

      if (ql_vm_config_is_set (self, QL_VM_PROP_KNOBS_SANDBOX))
        ql_cmdline_fail (cl, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                                          "[knobs] sandbox: on, but QEMU %s has no -sandbox (it was built "
                                          "without seccomp): set sandbox = off", what));
      else
        {
          g_autofree char *note = g_strdup_printf ("[knobs] sandbox: QEMU %s has no -sandbox (it was built "
                                                   "without seccomp): the VM runs without a seccomp filter",
                                                   what);

          ql_cmdline_add_note (cl, note);
        }
      return;
    }

  sandbox = ql_cmdline_add_option (cl, "-sandbox", "on", NULL);
  ql_option_set_origin (sandbox, "[knobs] sandbox");
  for (guint i = 0; i < G_N_ELEMENTS (sandbox_classes); i++)
    {
      const SandboxClass *c = &sandbox_classes[i];
      QlSandboxAction action = ql_vm_config_get_enum (self, c->prop);
      g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);

      if (c->prop == QL_VM_PROP_KNOBS_SANDBOX_SPAWN)
        spawn_reasons (self, cl, reasons);
      else if (c->prop == QL_VM_PROP_KNOBS_SANDBOX_ELEVATE_PRIVILEGES && BOOL (KNOBS_DAEMONIZE))
        g_ptr_array_add (reasons, g_strdup ("[knobs] daemonize makes the detached QEMU call setsid"));
      if (action == QL_SANDBOX_ACTION_DENY && reasons->len > 0)
        {
          g_autofree char *why = NULL;

          g_ptr_array_add (reasons, NULL);
          why = g_strjoinv ("; ", (char **) reasons->pdata);
          if (ql_vm_config_is_set (self, c->prop))
            ql_cmdline_fail (cl, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                                              "[knobs] %s: deny, but %s: QEMU's seccomp filter would kill it "
                                              "(SIGSYS); set %s = allow",
                                              c->key, why, c->key));
          else
            {
              g_autofree char *note = g_strdup_printf ("[knobs] %s: allowed for this VM, since %s; the rest "
                                                       "of the seccomp filter stays on (set %s = deny to "
                                                       "refuse such a VM instead)",
                                                       c->key, why, c->key);

              ql_cmdline_add_note (cl, note);
              action = QL_SANDBOX_ACTION_ALLOW;
            }
        }
      ql_option_set (sandbox, c->parameter, action == QL_SANDBOX_ACTION_ALLOW ? "allow" : "deny");
    }
}

/* The sandbox's conflicts (a class the VM needs that its key denies), found
 * at validation: the reasons come from the devices' options, as the
 * topology's do, so they are built on a scratch command line. */
GError *
ql_vm_config_check_sandbox (QlVmConfig *self,
                            gboolean    startup_only)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(GError) plugin_error = NULL;
  GError *error = NULL;

  if (!BOOL (KNOBS_SANDBOX))
    return NULL;
  ql_cmdline_set_runtime_dir (cl, "/run/qlaunch/check");
  /* A device that cannot be emitted is reported by the device checks. */
  if (!emit_device_options (self, cl, startup_only, &plugin_error)
      || !ql_cmdline_check (cl, &plugin_error))
    return NULL;
  emit_sandbox (self, cl);
  if (!ql_cmdline_check (cl, &error))
    return error;
  return NULL;
}

static void
emit_knobs (QlVmConfig *self,
            QlCmdline  *cl)
{
  if (BOOL (KNOBS_NO_USER_CONFIG))
    ql_cmdline_add_flag (cl, "-no-user-config");
  if (BOOL (KNOBS_NO_DEFAULTS))
    ql_cmdline_add_flag (cl, "-nodefaults");
  if (BOOL (KNOBS_NO_GRAPHIC))
    ql_cmdline_add_flag (cl, "-nographic");
  if (BOOL (KNOBS_DAEMONIZE))
    ql_cmdline_add_flag (cl, "-daemonize");
  if (STR (PID_FILE) != NULL)
    ql_cmdline_add_verbatim (cl, "-pidfile", STR (PID_FILE));

  emit_memory_knobs (self, cl);

  /* govmm's -realtime mlock= was removed in QEMU 6.0; -overcommit
   * mem-lock= replaces it. mem-lock=off is the default, so only "on" is
   * written: realtime alone has no remaining effect. */
  if (BOOL (KNOBS_MLOCK))
    {
      QlOption *overcommit = ql_cmdline_add_option (cl, "-overcommit", NULL, NULL);

      ql_option_set_bool (overcommit, "mem-lock", TRUE);
    }

  if (BOOL (KNOBS_STOPPED))
    ql_cmdline_add_flag (cl, "-S");

  emit_sandbox (self, cl);
}

gboolean
ql_vm_config_started_with_spawn (QlVmConfig *self)
{
  g_autoptr(QlCmdline) startup = ql_vm_config_build_startup_cmdline (self, NULL);
  QlOption *sandbox;
  const char *spawn;

  /* A VM that cannot be built was not started from this configuration:
   * assume the default filter. */
  if (startup == NULL)
    return !BOOL (KNOBS_SANDBOX);
  sandbox = ql_cmdline_find_option (startup, "-sandbox", NULL);
  if (sandbox == NULL)
    return TRUE;
  spawn = ql_option_lookup (sandbox, "spawn");
  return g_strcmp0 (spawn, "allow") == 0;
}

static void
emit_kernel_bios_iothreads (QlVmConfig *self,
                            QlCmdline  *cl)
{
  g_auto(GStrv) iothreads = ql_vm_config_get_iothreads (self);

  if (STR (KERNEL_PATH) != NULL)
    {
      ql_cmdline_add_verbatim (cl, "-kernel", STR (KERNEL_PATH));
      if (STR (KERNEL_INITRD) != NULL)
        ql_cmdline_add_verbatim (cl, "-initrd", STR (KERNEL_INITRD));
      if (STR (KERNEL_PARAMS) != NULL && *STR (KERNEL_PARAMS) != '\0')
        ql_cmdline_add_verbatim (cl, "-append", STR (KERNEL_PARAMS));
    }
  if (STR (BIOS) != NULL)
    ql_cmdline_add_verbatim (cl, "-bios", STR (BIOS));
  ql_vm_config_emit_firmware (self, cl);
  for (guint i = 0; iothreads[i] != NULL; i++)
    ql_cmdline_add_option (cl, "-object", "iothread", "id", iothreads[i], NULL);
}

static void
emit_incoming (QlVmConfig *self,
               QlCmdline  *cl)
{
  QlIncomingType type = ql_vm_config_get_enum (self, QL_VM_PROP_INCOMING_TYPE);
  g_autofree char *uri = NULL;

  switch (type)
    {
    case QL_INCOMING_FD:
      uri = g_strdup_printf ("fd:%d", ql_cmdline_add_fd (cl, ql_vm_config_get_int (self, QL_VM_PROP_INCOMING_FD)));
      break;
    case QL_INCOMING_EXEC:
      uri = g_strconcat ("exec:", STR (INCOMING_EXEC), NULL);
      break;
    case QL_INCOMING_DEFER:
      uri = g_strdup ("defer");
      break;
    case QL_INCOMING_NONE:
    default:
      return;
    }
  /* An incoming VM starts stopped, as govmm does; -S only once. */
  if (!BOOL (KNOBS_STOPPED))
    ql_cmdline_add_flag (cl, "-S");
  ql_cmdline_add_verbatim (cl, "-incoming", uri);
}

static void
emit_smp (QlVmConfig *self,
          QlCmdline  *cl)
{
  g_autofree char *cpus = NULL;
  QlOption *smp;

  if (UINT (SMP_CPUS) == 0)
    return;
  cpus = g_strdup_printf ("%" G_GUINT64_FORMAT, UINT (SMP_CPUS));
  smp = ql_cmdline_add_option (cl, "-smp", cpus, NULL);
  if (UINT (SMP_CORES))
    ql_option_set_uint (smp, "cores", UINT (SMP_CORES));
  if (UINT (SMP_THREADS))
    ql_option_set_uint (smp, "threads", UINT (SMP_THREADS));
  if (UINT (SMP_SOCKETS))
    ql_option_set_uint (smp, "sockets", UINT (SMP_SOCKETS));
  if (UINT (SMP_MAX_CPUS))
    ql_option_set_uint (smp, "maxcpus", UINT (SMP_MAX_CPUS));
}

/* Host checks of the helpers the devices declared: each program may be
 * run (an executable that no other user can change). */
static gboolean
check_helpers (QlCmdline  *cl,
               GError    **error)
{
  for (guint i = 0; i < ql_cmdline_get_n_helpers (cl); i++)
    {
      QlHelper *helper = ql_cmdline_get_helper (cl, i);
      g_autoptr(GError) local_error = NULL;

      if (!ql_helper_check_binary_trusted (ql_helper_get_binary (helper), &local_error))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                       "device '%s': helper %s: %s",
                       ql_helper_get_device_id (helper) != NULL ? ql_helper_get_device_id (helper) : "?",
                       ql_helper_get_name (helper), local_error->message);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * ql_vm_config_build_cmdline:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Validates the configuration (ql_vm_config_validate()) and builds its
 * structured command line, in govmm's order: name, uuid, machine, cpu
 * model, QMP sockets, memory, devices in order, rtc, globals, vga, knobs
 * (with the memory knobs), kernel, bios (or the UEFI flash devices),
 * iothreads, incoming, smp.
 *
 * Returns: (transfer full): the command line, or %NULL with @error set
 */
QlCmdline *
ql_vm_config_build_cmdline (QlVmConfig  *self,
                            GError     **error)
{
  g_autofree char *runtime_dir = NULL;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);

  if (ql_vm_config_get_runtime_dir (self) != NULL)
    runtime_dir = g_strdup (ql_vm_config_get_runtime_dir (self));
  else
    {
      g_autofree char *base = ql_runtime_dir_default_base ();
      g_autofree char *name = ql_runtime_dir_name_for (STR (NAME));

      runtime_dir = g_build_filename (base, name, NULL);
    }
  return ql_vm_config_build_cmdline_in (self, runtime_dir, error);
}

/* A bare firmware name of @object's @pspec, as the path of QEMU's own
 * file: QEMU 7.2 would take a file of that name in its working directory
 * first (qemu_find_file()). */
static gboolean
resolve_firmware_name (GObject     *object,
                       GParamSpec  *pspec,
                       const char  *binary,
                       const char  *where,
                       GError     **error)
{
  g_autofree char *value = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) local = NULL;

  if (ql_param_spec_get_path_kind (pspec) != QL_PATH_FIRMWARE)
    return TRUE;
  g_object_get (object, pspec->name, &value, NULL);
  if (value == NULL || *value == '\0' || strchr (value, '/') != NULL)
    return TRUE;
  path = ql_qemu_find_data_file (binary, value, &local);
  if (path == NULL)
    {
      g_set_error (error, local->domain, local->code, "%s %s: %s", where, pspec->name, local->message);
      return FALSE;
    }
  g_object_set (object, pspec->name, path, NULL);
  return TRUE;
}

/* With a probed QEMU, every bare firmware name ([vm] bios, a device's
 * rom-file) becomes the absolute path of the file in its data
 * directories. Without one (--no-host-checks, --qemu-version) the name
 * stays, and `qlaunch run` starts QEMU in `/`. */
static gboolean
resolve_firmware_names (QlVmConfig  *self,
                        GError     **error)
{
  QlQemuCaps *caps = ql_vm_config_get_qemu_caps (self);
  const char *binary = caps != NULL ? ql_qemu_caps_get_binary (caps) : NULL;
  GPtrArray *devices = ql_vm_config_get_devices (self);

  if (binary == NULL)
    return TRUE;
  if (!resolve_firmware_name (G_OBJECT (self), ql_vm_config_pspec (QL_VM_PROP_BIOS), binary, "[vm]", error))
    return FALSE;
  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      g_autofree char *where = g_strdup_printf ("device '%s':", ql_device_get_id (device));
      guint n_pspecs = 0;
      g_autofree GParamSpec **pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n_pspecs);

      for (guint k = 0; k < n_pspecs; k++)
        if (!resolve_firmware_name (G_OBJECT (device), pspecs[k], binary, where, error))
          return FALSE;
    }
  return TRUE;
}

/* What [qemu] added or replaced that makes QEMU fork and exec, under a
 * sandbox that denies it (the devices' own reasons were weighed when
 * -sandbox was written): QEMU's seccomp filter would kill it. */
static gboolean
check_qemu_group_spawn (QlCmdline  *cl,
                        GError    **error)
{
  QlOption *sandbox = ql_cmdline_find_option (cl, "-sandbox", NULL);
  g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);

  if (sandbox == NULL || g_strcmp0 (ql_option_lookup (sandbox, "spawn"), "deny") != 0)
    return TRUE;
  ql_cmdline_spawn_reasons (cl, "[qemu]", reasons);
  /* A tap netdev without script= runs QEMU's default /etc/qemu-ifup. */
  for (guint i = 0; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);

      /* The origin last: a device's is written when first asked for. */
      if (g_str_equal (ql_option_get_flag (option), "-netdev")
          && g_strcmp0 (ql_option_get_head (option), "tap") == 0
          && ql_option_lookup (option, "fd") == NULL && ql_option_lookup (option, "fds") == NULL
          && (ql_option_lookup (option, "script") == NULL || ql_option_lookup (option, "downscript") == NULL)
          && g_str_has_prefix (ql_option_get_origin (option) != NULL ? ql_option_get_origin (option) : "", "[qemu]"))
        g_ptr_array_add (reasons, g_strdup_printf ("%s: a tap netdev without script=no and downscript=no "
                                                   "runs QEMU's default /etc/qemu-ifup and /etc/qemu-ifdown "
                                                   "(QEMU forks to run them)", ql_option_get_origin (option)));
    }
  if (reasons->len == 0)
    return TRUE;
  g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
               "%s, but QEMU runs under its seccomp filter with spawn denied (the kernel would kill it): "
               "write script=no, or set [knobs] sandbox-spawn = allow",
               (const char *) g_ptr_array_index (reasons, 0));
  return FALSE;
}

/* Every option of the VM into @cl, without validating it first. */
static gboolean
emit_all (QlVmConfig  *self,
          QlCmdline   *cl,
          gboolean     startup_only,
          GError     **error)
{
  const char * const *globals;
  guint major = 0, minor = 0;

  ql_vm_config_get_qemu_version (self, &major, &minor);
  if (major > 0)
    ql_cmdline_set_qemu_version (cl, major, minor);

  if (STR (NAME) != NULL)
    /* guest=NAME, not NAME as the head: QEMU reads a first element that
     * holds '=' as a key (name "process=x" renamed QEMU's process: found
     * by fuzz-argv). */
    ql_cmdline_add_option (cl, "-name", NULL, "guest", STR (NAME), NULL);
  if (STR (UUID) != NULL)
    ql_cmdline_add_verbatim (cl, "-uuid", STR (UUID));
  emit_machine (self, cl);
  if (STR (CPU_MODEL) != NULL)
    {
      ql_cmdline_add_verbatim (cl, "-cpu", STR (CPU_MODEL));
      ql_option_set_origin (ql_cmdline_get_option (cl, ql_cmdline_get_n_options (cl) - 1), "[vm]");
    }
  emit_qmp (self, cl);
  emit_memory (self, cl);
  if (!emit_devices (self, cl, startup_only, error))
    return FALSE;
  emit_rtc (self, cl);
  globals = ql_vm_config_get_strv (self, QL_VM_PROP_GLOBAL);
  for (guint i = 0; globals != NULL && globals[i] != NULL; i++)
    ql_cmdline_add_verbatim (cl, "-global", globals[i]);
  if (STR (VGA) != NULL)
    ql_cmdline_add_verbatim (cl, "-vga", STR (VGA));
  emit_knobs (self, cl);
  emit_kernel_bios_iothreads (self, cl);
  emit_incoming (self, cl);
  emit_smp (self, cl);
  /* Last: the [qemu] group sees every option, the devices' overrides
   * applied. */
  if (!ql_cmdline_check (cl, error)
      || !ql_qemu_raw_apply_group (cl, ql_vm_config_get_strv (self, QL_VM_PROP_QEMU_ADD),
                                   ql_vm_config_get_strv (self, QL_VM_PROP_QEMU_REMOVE),
                                   ql_vm_config_get_strv (self, QL_VM_PROP_QEMU_REPLACE), error)
      || !check_qemu_group_spawn (cl, error))
    return FALSE;
  return ql_cmdline_check (cl, error);
}

/* Whether the VM uses the escape hatch: [qemu], or a device's qemu-set or
 * qemu-unset. */
static gboolean
uses_escape_hatch (QlVmConfig *self)
{
  GPtrArray *devices = ql_vm_config_get_devices (self);

  if (ql_vm_config_get_strv (self, QL_VM_PROP_QEMU_ADD) != NULL
      || ql_vm_config_get_strv (self, QL_VM_PROP_QEMU_REMOVE) != NULL
      || ql_vm_config_get_strv (self, QL_VM_PROP_QEMU_REPLACE) != NULL)
    return TRUE;
  for (guint i = 0; i < devices->len; i++)
    if (ql_device_peek_qemu_set (g_ptr_array_index (devices, i)) != NULL
        || ql_device_peek_qemu_unset (g_ptr_array_index (devices, i)) != NULL)
      return TRUE;
  return FALSE;
}

GError *
ql_vm_config_check_escape_hatch (QlVmConfig *self,
                                 gboolean    startup_only)
{
  g_autoptr(QlCmdline) cl = NULL;
  GError *error = NULL;

  if (!uses_escape_hatch (self))
    return NULL;
  /* What each entry matches is known only from the options themselves: a
   * scratch build (helpers only name their sockets in it). */
  cl = ql_cmdline_new ("qemu");
  ql_cmdline_set_runtime_dir (cl, "/run/qlaunch/check");
  if (!emit_all (self, cl, startup_only, &error))
    return error;
  return NULL;
}

/* The command line of a validated VM, its firmware names resolved. */
static QlCmdline *
emit_cmdline (QlVmConfig  *self,
              const char  *runtime_dir,
              gboolean     startup_only,
              GError     **error)
{
  g_autoptr(QlCmdline) cl = NULL;
  g_autofree char *binary = NULL;

  if (!resolve_firmware_names (self, error))
    return NULL;
  binary = ql_vm_config_dup_qemu_binary (self);
  cl = ql_cmdline_new (binary);
  ql_cmdline_set_runtime_dir (cl, runtime_dir);
  if (!emit_all (self, cl, startup_only, error))
    return NULL;
  return g_steal_pointer (&cl);
}

static QlCmdline *
build_cmdline (QlVmConfig  *self,
               const char  *runtime_dir,
               gboolean     startup_only,
               GError     **error)
{
  g_autoptr(QlCmdline) cl = NULL;
  GError *local_error = NULL;
  /* Validation builds the devices' options on scratch command lines to
   * check the topology, the sandbox and the escape hatch. The build makes
   * the same checks on the command line it builds (ql_pcie_place(),
   * emit_sandbox(), the [qemu] group) and succeeds only if they pass: they
   * look at the devices' drivers, ids, buses, addresses and netdev
   * scripts, which neither the runtime directory nor a resolved firmware
   * path changes. So the scratch builds run only when the build fails, to
   * report what validation would have reported first. What the escape
   * hatch matches can depend on those values: a VM that uses it is
   * validated in full first. */
  gboolean check_options_first = uses_escape_hatch (self);

  if (!ql_vm_config_validate_checks (self, startup_only, check_options_first, error))
    return NULL;
  cl = emit_cmdline (self, runtime_dir, startup_only, &local_error);
  if (cl == NULL)
    {
      GError *first = check_options_first ? NULL : ql_vm_config_check_options (self, startup_only);

      if (first != NULL)
        {
          g_error_free (local_error);
          local_error = first;
        }
      g_propagate_error (error, local_error);
      return NULL;
    }
  if (ql_vm_config_get_host_probe (self) != NULL && !check_helpers (cl, error))
    return NULL;
  return g_steal_pointer (&cl);
}

/* ql_vm_config_build_cmdline() with the runtime directory a launch made. */
QlCmdline *
ql_vm_config_build_cmdline_in (QlVmConfig  *self,
                               const char  *runtime_dir,
                               GError     **error)
{
  return build_cmdline (self, runtime_dir, FALSE, error);
}

QlCmdline *
ql_vm_config_build_startup_cmdline (QlVmConfig  *self,
                                    GError     **error)
{
  g_autoptr(QlHostProbe) probe = NULL;
  g_autofree char *base = ql_runtime_dir_default_base ();
  g_autofree char *name = ql_runtime_dir_name_for (STR (NAME));
  g_autofree char *runtime_dir = g_build_filename (base, name, NULL);
  QlCmdline *cl;

  /* The host was checked when the VM started. */
  if (ql_vm_config_get_host_probe (self) != NULL)
    probe = g_object_ref (ql_vm_config_get_host_probe (self));
  ql_vm_config_set_host_probe (self, NULL);
  cl = build_cmdline (self, runtime_dir, TRUE, error);
  ql_vm_config_set_host_probe (self, probe);
  return cl;
}

/**
 * ql_vm_config_to_argv:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Validates and builds the argv; argv[0] is the QEMU binary.
 *
 * Returns: (transfer full) (array zero-terminated=1): the argv, or %NULL
 */
char **
ql_vm_config_to_argv (QlVmConfig  *self,
                      GError     **error)
{
  g_autoptr(QlCmdline) cl = ql_vm_config_build_cmdline (self, error);

  if (cl == NULL)
    return NULL;
  return ql_cmdline_to_argv (cl, error);
}
