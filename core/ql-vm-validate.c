/* qlaunch — whole-VM validation: every rule of the configuration, every
 * device, every error gathered. */
#include "ql-vm-config-private.h"
#include "ql-keyval.h"
#include "ql-qemu-raw-private.h"

#include <string.h>

#define STR(p) ql_vm_config_get_str (self, QL_VM_PROP_##p)
#define BOOL(p) ql_vm_config_get_bool (self, QL_VM_PROP_##p)
#define UINT(p) ql_vm_config_get_uint (self, QL_VM_PROP_##p)

/* The rules' errors: a config error each (ql_error_list_add_config()). */
#define add ql_error_list_add_config

static gboolean
has_accel (QlVmConfig *self,
           const char *accel)
{
  const char *list = STR (MACHINE_ACCELERATION);
  g_auto(GStrv) parts = NULL;

  if (list == NULL)
    return FALSE;
  parts = g_strsplit (list, ":", -1);
  return g_strv_contains ((const char * const *) parts, accel);
}

/* An empty string would become an empty QEMU argument or value. */
static void
check_empty_strings (QlVmConfig  *self,
                     QlErrorList *errors)
{
  guint n_keys;
  const QlVmKey *keys = ql_vm_config_keys (&n_keys);

  for (guint i = 0; i < n_keys; i++)
    {
      GParamSpec *pspec = ql_vm_config_pspec (keys[i].prop);
      const char *value;

      /* Empty kernel params simply mean none. */
      if (G_PARAM_SPEC_VALUE_TYPE (pspec) != G_TYPE_STRING || keys[i].prop == QL_VM_PROP_KERNEL_PARAMS)
        continue;
      value = ql_vm_config_get_str (self, keys[i].prop);
      if (value != NULL && *value == '\0')
        add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
             "[%s] %s: empty value; remove the key to leave it unset", keys[i].group, keys[i].key);
    }
}

static void
check_machine (QlVmConfig  *self,
               QlErrorList *errors)
{
  static const char *const accels[] = { "tcg", "kvm", "xen", "hax", "hvf", "whpx", "nvmm", "qtest", NULL };
  const char *type = STR (MACHINE_TYPE);
  const char *accel = STR (MACHINE_ACCELERATION);
  const char *options = STR (MACHINE_OPTIONS);
  const char *cpu = STR (CPU_MODEL);
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);

  if (type != NULL && (strchr (type, ',') != NULL || strchr (type, '=') != NULL))
    add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
         "[machine] type: '%s' is not a machine type name (put properties in 'options')", type);

  if (accel != NULL && *accel != '\0')
    {
      g_auto(GStrv) parts = g_strsplit (accel, ":", -1);

      for (guint i = 0; parts[i] != NULL; i++)
        if (!g_strv_contains (accels, parts[i]))
          add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
               "[machine] acceleration: '%s' is not an accelerator; expected tcg, kvm, xen, hax, hvf, whpx or nvmm, "
               "several separated by ':'", parts[i]);
    }

  if (options != NULL && *options != '\0')
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) pairs = ql_keyval_split (options, "[machine] options", &error);
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

      if (pairs == NULL)
        ql_error_list_add (errors, g_steal_pointer (&error));
      for (guint i = 0; pairs != NULL && i < pairs->len; i++)
        {
          QlKeyvalPair *pair = g_ptr_array_index (pairs, i);

          if (pair->key == NULL)
            add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
                 "[machine] options: '%s' has no value; write '%s=on' (QEMU deprecates the short form)",
                 pair->value, pair->value);
          else if (strpbrk (pair->key, ",= \t\n\r") != NULL || !g_utf8_validate (pair->key, -1, NULL))
            add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
                 "[machine] options: '%s' is not a valid key (no comma, '=', space or line break)",
                 pair->key);
          else if (strpbrk (pair->value, "\n\r") != NULL || !g_utf8_validate (pair->value, -1, NULL))
            add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
                 "[machine] options: the value of '%s' holds a line break or is not UTF-8", pair->key);
          else if (g_str_equal (pair->key, "type"))
            add (errors, QL_CONFIG_ERROR_CONFLICT,
                 "[machine] options: set the machine type with the 'type' key, not in options");
          else if (g_str_equal (pair->key, "accel"))
            add (errors, QL_CONFIG_ERROR_CONFLICT,
                 "[machine] options: set accelerators with the 'acceleration' key, not in options");
          else if (g_str_equal (pair->key, "memory-backend")
                   && (BOOL (KNOBS_HUGEPAGES) || BOOL (KNOBS_MEM_PREALLOC) || BOOL (KNOBS_FILE_BACKED_MEM)))
            add (errors, QL_CONFIG_ERROR_CONFLICT,
                 "[machine] options: memory-backend is set by the memory knobs already");
          else if (!g_hash_table_add (seen, pair->key))
            add (errors, QL_CONFIG_ERROR_DUPLICATE, "[machine] options: key '%s' appears twice", pair->key);
        }
    }

  /* Root ports exist on PCI Express machines only. */
  if (!ql_vm_config_is_pcie_machine (self))
    {
      /* As the VM file says it, or QEMU's default machine. */
      const char *resolved = type != NULL ? type : ql_vm_config_resolve_machine_type (self);
      guint64 slots = UINT (MACHINE_HOTPLUG_SLOTS);

      if (slots > 0 && resolved == NULL)
        add (errors, QL_CONFIG_ERROR_MISSING,
             "[machine] hotplug-slots: root ports reserved for hot-plug need a PCI Express machine, "
             "and no [machine] type says which machine: set type = q35");
      else if (slots > 0)
        add (errors, QL_CONFIG_ERROR_UNSUPPORTED,
             "[machine] hotplug-slots: machine type '%s' has no PCIe root ports to reserve (only q35 has): "
             "remove the key (pc hot-plugs into its root bus pci.0 without them) or use type = q35",
             resolved);
      if (ql_vm_config_is_set (self, QL_VM_PROP_MACHINE_AUTO_ROOT_PORTS) && BOOL (MACHINE_AUTO_ROOT_PORTS))
        add (errors, QL_CONFIG_ERROR_UNSUPPORTED,
             "[machine] auto-root-ports: machine type '%s' has no PCIe root ports (only q35 has): "
             "remove the key or use type = q35",
             resolved != NULL ? resolved : "(unset)");
    }

  if (cpu != NULL && (g_str_equal (cpu, "host") || g_str_has_prefix (cpu, "host,")))
    {
      g_autoptr(GError) error = NULL;

      if (!has_accel (self, "kvm"))
        add (errors, QL_CONFIG_ERROR_UNSUPPORTED,
             "[vm] cpu-model: 'host' requires KVM but [machine] acceleration is '%s'; use 'max' under TCG",
             accel != NULL ? accel : "(QEMU's default, tcg)");
      else if (probe != NULL && !ql_host_probe_kvm_usable (probe, &error))
        add (errors, QL_CONFIG_ERROR_HOST,
             "[vm] cpu-model: 'host' requires KVM, which this host cannot give: %s", error->message);
    }
  else if (has_accel (self, "kvm") && !has_accel (self, "tcg") && probe != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!ql_host_probe_kvm_usable (probe, &error))
        add (errors, QL_CONFIG_ERROR_HOST,
             "[machine] acceleration: 'kvm' is not usable on this host: %s", error->message);
    }
}

static void
check_vm (QlVmConfig  *self,
          QlErrorList *errors)
{
  static const char *const vgas[] = { "std", "cirrus", "vmware", "qxl", "xenfb", "tcx", "cg3", "virtio", "none", NULL };
  const char *uuid = STR (UUID);
  const char *vga = STR (VGA);
  const char *bios = STR (BIOS);
  const char * const *globals = ql_vm_config_get_strv (self, QL_VM_PROP_GLOBAL);
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);

  if (uuid != NULL && !g_uuid_string_is_valid (uuid))
    add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
         "[vm] uuid: '%s' is not a UUID; expected the form 4a5c6e1b-8a2b-4d4e-9f00-123456789abc", uuid);
  if (vga != NULL && !g_strv_contains (vgas, vga))
    add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
         "[vm] vga: '%s' is not a VGA type; expected std, cirrus, vmware, qxl, xenfb, tcx, cg3, virtio or none", vga);
  if (bios != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (strchr (bios, '/') != NULL && probe != NULL
               && !ql_host_probe_file_readable (probe, bios, &error))
        add (errors, QL_CONFIG_ERROR_HOST, "[vm] bios: cannot read '%s': %s", bios, error->message);
    }
  for (guint i = 0; globals != NULL && globals[i] != NULL; i++)
    {
      const char *g = globals[i];
      const char *dot = strchr (g, '.');
      const char *eq = strchr (g, '=');

      if (dot == NULL || eq == NULL || dot == g || eq < dot + 2)
        add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
             "[vm] global: '%s' is not of the form DRIVER.PROPERTY=VALUE", g);
    }
}

/* The [qemu] group's syntax; what each entry matches is checked when the
 * command line is built (ql_qemu_raw_apply_group()). */
static void
check_qemu_group (QlVmConfig  *self,
                  QlErrorList *errors)
{
  static const struct { QlVmProp prop; const char *key; } lists[] = {
    { QL_VM_PROP_QEMU_ADD, "add" },
    { QL_VM_PROP_QEMU_REMOVE, "remove" },
    { QL_VM_PROP_QEMU_REPLACE, "replace" },
  };

  for (gsize l = 0; l < G_N_ELEMENTS (lists); l++)
    {
      const char * const *texts = ql_vm_config_get_strv (self, lists[l].prop);
      g_autofree char *source = g_strdup_printf ("[qemu] %s", lists[l].key);

      for (guint i = 0; texts != NULL && texts[i] != NULL; i++)
        {
          g_autoptr(GError) error = NULL;
          gboolean ok = lists[l].prop == QL_VM_PROP_QEMU_REMOVE
                        ? ql_qemu_raw_check_remove_syntax (texts[i], &error)
                        : ql_qemu_raw_check_syntax (texts[i], source, &error);

          if (!ok)
            add (errors, error->code, "%s: '%s': %s", source, texts[i], error->message);
        }
    }
}

static void
check_smp (QlVmConfig  *self,
           QlErrorList *errors)
{
  guint64 cpus = UINT (SMP_CPUS), cores = UINT (SMP_CORES), threads = UINT (SMP_THREADS);
  guint64 sockets = UINT (SMP_SOCKETS), max = UINT (SMP_MAX_CPUS);
  guint64 t, c, s, total, target;

  if (cpus == 0)
    {
      if (cores || threads || sockets || max)
        add (errors, QL_CONFIG_ERROR_MISSING,
             "[smp] cpus: missing; cores, threads, sockets and max-cpus need a cpus count");
      return;
    }
  if (max != 0 && max < cpus)
    {
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[smp] max-cpus: %" G_GUINT64_FORMAT " is below cpus (%" G_GUINT64_FORMAT "); it must be at least cpus",
           max, cpus);
      return;
    }
  if (!cores && !threads && !sockets)
    return;

  /* QEMU 7.2's smp_parse() for machine types of 6.2 and later (which
   * prefer cores): maxcpus defaults to cpus, missing members are computed
   * from it, then sockets * cores * threads (dies = clusters = 1) must
   * equal maxcpus. */
  target = max ? max : cpus;
  s = sockets;
  c = cores;
  t = threads;
  if (c == 0)
    {
      s = s ? s : 1;
      t = t ? t : 1;
      c = target / (s * t);
    }
  else if (s == 0)
    {
      t = t ? t : 1;
      s = target / (c * t);
    }
  else if (t == 0)
    t = target / (s * c);
  total = s * c * t;
  if (total != target)
    add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
         "[smp] %s: topology %" G_GUINT64_FORMAT " sockets * %" G_GUINT64_FORMAT " cores * %" G_GUINT64_FORMAT
         " threads gives %" G_GUINT64_FORMAT " vCPU slots, but QEMU requires exactly %s (%" G_GUINT64_FORMAT "); "
         "omit one of sockets, cores, threads to let QEMU compute it",
         max ? "max-cpus" : "cpus", s, c, t, total, max ? "max-cpus" : "cpus", target);
}

static void
check_memory (QlVmConfig  *self,
              QlErrorList *errors)
{
  guint64 size = UINT (MEMORY_SIZE), max = UINT (MEMORY_MAX_MEM), slots = UINT (MEMORY_SLOTS);
  gboolean huge = BOOL (KNOBS_HUGEPAGES), prealloc = BOOL (KNOBS_MEM_PREALLOC);
  gboolean file = BOOL (KNOBS_FILE_BACKED_MEM);
  const char *path = STR (MEMORY_PATH);
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);

  if (size == 0 && (slots || max))
    add (errors, QL_CONFIG_ERROR_MISSING, "[memory] size: missing; slots and max-mem need a size");
  if (max != 0 && size != 0 && max < size)
    add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
         "[memory] max-mem: smaller than size; it must be at least size");
  if (slots != 0 && size != 0 && max <= size)
    add (errors, QL_CONFIG_ERROR_MISSING,
         "[memory] max-mem: slots are set, so max-mem must be set and larger than size (QEMU rejects it otherwise)");

  if ((huge ? 1 : 0) + (prealloc ? 1 : 0) + (file ? 1 : 0) > 1)
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[knobs] hugepages, mem-prealloc and file-backed-mem: at most one may be set (govmm silently preferred one)");
  if ((huge || prealloc || file) && size == 0)
    add (errors, QL_CONFIG_ERROR_MISSING,
         "[memory] size: missing; the %s knob backs all guest RAM and needs its size",
         huge ? "hugepages" : prealloc ? "mem-prealloc" : "file-backed-mem");
  if (file && path == NULL)
    add (errors, QL_CONFIG_ERROR_MISSING, "[memory] path: missing; the file-backed-mem knob needs it");
  if (BOOL (KNOBS_FILE_BACKED_MEM_SHARED) && !file)
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[knobs] file-backed-mem-shared: set, but file-backed-mem is not");
  if (!file && !huge && path != NULL)
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[memory] path: set, but neither file-backed-mem nor hugepages uses it");
  if (huge && probe != NULL)
    {
      g_autoptr(GError) error = NULL;
      const char *mount = path != NULL ? path : "/dev/hugepages";

      /* QEMU 7.2 silently creates a plain file when this is no hugetlbfs. */
      if (!ql_host_probe_is_hugetlbfs (probe, mount, &error))
        add (errors, QL_CONFIG_ERROR_HOST,
             "[knobs] hugepages: '%s' is not a hugetlbfs mount (%s); QEMU would back RAM with a plain file",
             mount, error->message);
    }
}

static void
check_kernel_and_knobs (QlVmConfig  *self,
                        QlErrorList *errors)
{
  const char *kernel = STR (KERNEL_PATH);
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);

  if (kernel == NULL && STR (KERNEL_INITRD) != NULL)
    add (errors, QL_CONFIG_ERROR_MISSING, "[kernel] path: missing; initrd needs a kernel");
  if (kernel == NULL && STR (KERNEL_PARAMS) != NULL)
    add (errors, QL_CONFIG_ERROR_MISSING, "[kernel] path: missing; params need a kernel");
  if (probe != NULL)
    {
      const char *files[] = { kernel, STR (KERNEL_INITRD) };
      const char *keys[] = { "path", "initrd" };

      for (guint i = 0; i < G_N_ELEMENTS (files); i++)
        {
          g_autoptr(GError) error = NULL;

          if (files[i] != NULL && !ql_host_probe_file_readable (probe, files[i], &error))
            add (errors, QL_CONFIG_ERROR_HOST, "[kernel] %s: cannot read '%s': %s",
                 keys[i], files[i], error->message);
        }
    }
  if (BOOL (KNOBS_DAEMONIZE))
    {
      if (BOOL (KNOBS_NO_GRAPHIC) && !BOOL (KNOBS_NO_DEFAULTS))
        add (errors, QL_CONFIG_ERROR_CONFLICT,
             "[knobs] daemonize: with no-graphic it needs no-defaults too (QEMU: -nographic cannot be used with -daemonize)");
      if (STR (PID_FILE) == NULL)
        add (errors, QL_CONFIG_ERROR_MISSING,
             "[vm] pid-file: missing; a daemonized QEMU can only be found through its pid file");
    }
}

/* The finer sandbox keys refine -sandbox on: with sandbox off they would
 * be dropped. */
static void
check_sandbox (QlVmConfig  *self,
               QlErrorList *errors)
{
  static const struct { QlVmProp prop; const char *key; } finer[] = {
    { QL_VM_PROP_KNOBS_SANDBOX_OBSOLETE, "sandbox-obsolete" },
    { QL_VM_PROP_KNOBS_SANDBOX_ELEVATE_PRIVILEGES, "sandbox-elevate-privileges" },
    { QL_VM_PROP_KNOBS_SANDBOX_SPAWN, "sandbox-spawn" },
    { QL_VM_PROP_KNOBS_SANDBOX_RESOURCE_CONTROL, "sandbox-resource-control" },
  };

  if (BOOL (KNOBS_SANDBOX))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (finer); i++)
    if (ql_vm_config_is_set (self, finer[i].prop))
      add (errors, QL_CONFIG_ERROR_CONFLICT,
           "[knobs] %s: set, but sandbox is off (QEMU runs without a seccomp filter): "
           "remove %s or set sandbox = on", finer[i].key, finer[i].key);
}

static void
check_qmp_iothreads_incoming (QlVmConfig  *self,
                              QlErrorList *errors,
                              GHashTable  *ids)
{
  g_auto(GStrv) iothreads = ql_vm_config_get_iothreads (self);
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);
  QlIncomingType incoming = ql_vm_config_get_enum (self, QL_VM_PROP_INCOMING_TYPE);
  int fd = ql_vm_config_get_int (self, QL_VM_PROP_INCOMING_FD);
  const char *exec = STR (INCOMING_EXEC);

  for (guint i = 0; i < ql_vm_config_get_n_qmp_sockets (self); i++)
    {
      const char *name, *path;
      gboolean server, no_wait;

      ql_vm_config_get_qmp_socket (self, i, &name, &path, &server, &no_wait);
      if (path == NULL || *path == '\0')
        add (errors, QL_CONFIG_ERROR_MISSING, "[qmp %s] path: missing", name ? name : "");
      else if (strpbrk (path, "\n\r") != NULL || !g_utf8_validate (path, -1, NULL))
        add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
             "[qmp %s] path: holds a line break or is not UTF-8, which no QEMU option accepts",
             name ? name : "");
      else if (strchr (path, '=') != NULL)
        /* -qmp unix:PATH: QEMU reads a first element that holds '=' as a
         * key=value pair (found by fuzz-argv). */
        add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
             "[qmp %s] path: '%s' holds '=', which QEMU's -qmp reads as option syntax; "
             "choose a path without '='", name ? name : "", path);
      if (no_wait && !server)
        add (errors, QL_CONFIG_ERROR_CONFLICT,
             "[qmp %s] no-wait: only a server socket can skip waiting (set server=true)", name ? name : "");
    }

  for (guint i = 0; iothreads[i] != NULL; i++)
    {
      if (!ql_is_valid_id (iothreads[i]))
        add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
             "[iothread %s]: '%s' is not a valid id; expected a letter, then letters, digits, '-', '.', '_'",
             iothreads[i], iothreads[i]);
      else if (!g_hash_table_add (ids, g_strdup (iothreads[i])))
        add (errors, QL_CONFIG_ERROR_DUPLICATE, "[iothread %s]: id '%s' is used twice", iothreads[i], iothreads[i]);
    }

  switch (incoming)
    {
    case QL_INCOMING_FD:
      if (fd < 0)
        add (errors, QL_CONFIG_ERROR_MISSING, "[incoming] fd: missing; type fd needs an open descriptor");
      else if (probe != NULL)
        {
          g_autoptr(GError) error = NULL;

          if (!ql_host_probe_fd_is_open (probe, fd, &error))
            add (errors, QL_CONFIG_ERROR_HOST, "[incoming] fd: %s", error->message);
        }
      if (exec != NULL)
        add (errors, QL_CONFIG_ERROR_CONFLICT, "[incoming] exec: set, but type is fd");
      break;
    case QL_INCOMING_EXEC:
      if (exec == NULL || *exec == '\0')
        add (errors, QL_CONFIG_ERROR_MISSING, "[incoming] exec: missing; type exec needs a command");
      if (fd >= 0)
        add (errors, QL_CONFIG_ERROR_CONFLICT, "[incoming] fd: set, but type is exec");
      break;
    case QL_INCOMING_NONE:
    case QL_INCOMING_DEFER:
    default:
      if (fd >= 0 || exec != NULL)
        add (errors, QL_CONFIG_ERROR_CONFLICT,
             "[incoming] type: fd or exec is set, so type must say which (fd or exec)");
      break;
    }
}

static void
check_devices (QlVmConfig  *self,
               QlErrorList *errors,
               GHashTable  *ids)
{
  GPtrArray *devices = ql_vm_config_get_devices (self);
  /* The devices' ids, not copied (the devices outlive the check); the ids
   * of the rest of the VM are in @ids. */
  g_autoptr(GHashTable) device_ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      const char *id = ql_device_get_id (device);
      g_autoptr(GError) error = NULL;

      if (!ql_is_valid_id (id))
        {
          add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
               "device '%s': property 'id': not a valid id; expected a letter, then letters, digits, '-', '.', '_'",
               id ? id : "");
          continue;
        }
      if (g_hash_table_contains (ids, id) || !g_hash_table_add (device_ids, (gpointer) id))
        add (errors, QL_CONFIG_ERROR_DUPLICATE,
             "device '%s': property 'id': the id '%s' is used twice in this VM", id, id);
      if (!ql_device_valid (device, self, &error))
        ql_error_list_add (errors, g_steal_pointer (&error));
    }
}

/**
 * ql_vm_config_validate:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Checks the whole configuration and every device, gathering every error:
 * one error is returned as is; several come as one
 * %QL_CONFIG_ERROR_MULTIPLE error whose message lists each on its own line.
 * Host checks run through the host probe unless it is %NULL. On a PCI
 * Express machine the PCIe topology the command line would get is checked
 * too (the root ports fit on the root bus, a device behind a root port
 * sits in its slot 0).
 *
 * Returns: %TRUE when the configuration can be turned into an argv
 */
gboolean
ql_vm_config_validate (QlVmConfig  *self,
                       GError     **error)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);
  return ql_vm_config_validate_for (self, FALSE, error);
}

/* The checks made on scratch builds of the VM's options, in the order
 * validation makes them, once every other check passed: the first error,
 * or NULL. */
GError *
ql_vm_config_check_options (QlVmConfig *self,
                            gboolean    startup_only)
{
  GError *error = NULL;

  /* The topology comes from the devices' options: once they are valid. */
  if (ql_vm_config_is_pcie_machine (self))
    error = ql_vm_config_check_topology (self, startup_only);
  /* So do the sandbox's conflicts (a tap script under sandbox-spawn = deny). */
  if (error == NULL)
    error = ql_vm_config_check_sandbox (self, startup_only);
  /* And what the escape hatch matches: a remove or qemu-unset that matches
   * nothing, an added id that is taken, is found here, not only when the
   * argv is built (fuzz-argv: 'the configuration validates but does not
   * build'). */
  if (error == NULL)
    error = ql_vm_config_check_escape_hatch (self, startup_only);
  return error;
}

gboolean
ql_vm_config_validate_for (QlVmConfig  *self,
                           gboolean     startup_only,
                           GError     **error)
{
  return ql_vm_config_validate_checks (self, startup_only, TRUE, error);
}

gboolean
ql_vm_config_validate_checks (QlVmConfig  *self,
                              gboolean     startup_only,
                              gboolean     check_options,
                              GError     **error)
{
  g_autoptr(GPtrArray) errors = ql_error_list_new ();
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (BOOL (KNOBS_HUGEPAGES) || BOOL (KNOBS_MEM_PREALLOC) || BOOL (KNOBS_FILE_BACKED_MEM))
    g_hash_table_add (ids, g_strdup (QL_RAM_BACKEND_ID));

  check_empty_strings (self, errors);
  check_vm (self, errors);
  check_qemu_group (self, errors);
  check_machine (self, errors);
  check_smp (self, errors);
  check_memory (self, errors);
  check_kernel_and_knobs (self, errors);
  check_sandbox (self, errors);
  check_qmp_iothreads_incoming (self, errors, ids);
  ql_vm_config_check_firmware (self, errors, ids);
  check_devices (self, errors, ids);
  if (check_options && errors->len == 0)
    {
      GError *options = ql_vm_config_check_options (self, startup_only);

      if (options != NULL)
        ql_error_list_add (errors, options);
    }

  return ql_error_list_propagate (errors, error);
}
