/* qlaunch — a VM's command line checked against the QEMU binary that will
 * run it: the sequence `qlaunch args`, `run` and QlVm share. */
#include "ql-vm-config-private.h"
#include "ql-qemu-caps-private.h"

/* Probes (or reads from the cache) what @binary offers, with the errors of
 * ql_qemu_caps_lookup() prefixed by what the probe was for. */
static QlQemuCaps *
lookup (const char          *binary,
        QlCmdline           *cmdline,
        GError             **error)
{
  QlQemuCaps *caps = cmdline != NULL
                     ? ql_qemu_caps_lookup_for_cmdline (cmdline, QL_QEMU_CAPS_LOOKUP_NONE, NULL, error)
                     : ql_qemu_caps_lookup (binary, NULL, QL_QEMU_CAPS_LOOKUP_NONE, NULL, error);

  if (caps == NULL)
    g_prefix_error (error, "cannot check the VM against its QEMU: ");
  return caps;
}

QlCmdline *
ql_vm_config_build_checked_cmdline_in (QlVmConfig  *self,
                                       const char  *runtime_dir,
                                       GError     **error)
{
  g_autofree char *binary = ql_vm_config_dup_qemu_binary (self);
  g_autoptr(QlQemuCaps) machines = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  guint major, minor;

  /* The binary's machine types and version first: plugins see [machine]
   * type as the binary resolves it (q35 is pc-q35-7.2) and check what
   * needs a newer QEMU against its version. */
  machines = lookup (binary, NULL, error);
  if (machines == NULL)
    return NULL;
  ql_vm_config_set_qemu_caps (self, machines);
  ql_qemu_caps_get_version (machines, &major, &minor, NULL);
  ql_vm_config_set_qemu_version (self, major, minor);

  cmdline = runtime_dir != NULL ? ql_vm_config_build_cmdline_in (self, runtime_dir, error)
                                : ql_vm_config_build_cmdline (self, error);
  if (cmdline == NULL)
    return NULL;

  /* Then the properties of the device types this command line uses:
   * read a moment ago with the machine types when the cache has them. */
  {
    g_auto(GStrv) types = ql_qemu_caps_cmdline_device_types (cmdline);

    caps = ql_qemu_caps_has_properties_of (machines, (const char * const *) types)
           ? g_object_ref (machines) : lookup (binary, cmdline, error);
  }
  if (caps == NULL)
    return NULL;
  ql_qemu_caps_apply_syntax (caps, cmdline);
  if (!ql_qemu_caps_check_cmdline (caps, cmdline, error))
    return NULL;
  return g_steal_pointer (&cmdline);
}

/**
 * ql_vm_config_build_checked_cmdline:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Builds the command line as ql_vm_config_build_cmdline() does, checked
 * against the QEMU binary that will run it (ql_vm_config_dup_qemu_binary()),
 * as `qlaunch args` and `qlaunch run` do:
 *
 * - the binary is probed, or its capabilities read from the cache
 *   (ql_qemu_caps_lookup(); the first probe of a binary takes about a
 *   second, later calls read the cache), and set on @self
 *   (ql_vm_config_set_qemu_caps(), ql_vm_config_set_qemu_version()), so that
 *   plugins see the machine type the binary resolves (`q35` is
 *   `pc-q35-7.2` on QEMU 7.2) and its version;
 * - the command line uses that version's forms (ql_qemu_caps_apply_syntax());
 * - every device type, property, machine type, CPU model, accelerator,
 *   backend and option the command line uses must exist on that binary
 *   (ql_qemu_caps_check_cmdline(): %QL_QEMU_CAPS_ERROR_INCOMPATIBLE with
 *   what the binary offers instead).
 *
 * A binary that cannot be probed fails with the #QL_QEMU_CAPS_ERROR of the
 * probe (%QL_QEMU_CAPS_ERROR_NOT_FOUND, %QL_QEMU_CAPS_ERROR_PROBE_FAILED,
 * %QL_QEMU_CAPS_ERROR_TIMED_OUT, %QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION),
 * prefixed "cannot check the VM against its QEMU". Use ql_vm_config_build_cmdline() to build a command line for
 * a binary that is not QEMU (a wrapper script, say) unchecked.
 *
 * Returns: (transfer full): the checked command line, or %NULL with @error set
 *
 * Since: ABI 1.4
 */
QlCmdline *
ql_vm_config_build_checked_cmdline (QlVmConfig  *self,
                                    GError     **error)
{
  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return ql_vm_config_build_checked_cmdline_in (self, NULL, error);
}
