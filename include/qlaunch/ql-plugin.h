/* qlaunch — the device-plugin ABI: descriptor, entry point, registration. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <gmodule.h>
#include <glib-object.h>
#include <qlaunch/ql-types.h>

G_BEGIN_DECLS

/**
 * QL_PLUGIN_ABI_MAJOR:
 *
 * The plugin ABI major version. A loader refuses plugins built for another
 * major version.
 */
#define QL_PLUGIN_ABI_MAJOR 1

/**
 * QL_PLUGIN_ABI_MINOR:
 *
 * The plugin ABI minor version. A loader accepts plugins whose minor version
 * is at most its own: minor versions only add (into reserved slots).
 *
 * 1.1 added #QlDeviceClass.hotplug_params, %QL_VALUE_FDS and
 * ql_option_set_fds().
 *
 * 1.2 added helper processes (#QlHelper: ql_cmdline_add_helper() and the
 * ql_helper_*() calls, ql_helper_find_vhost_user_binary(),
 * ql_helper_socket_name(), ql_helper_check_socket_name()), the runtime
 * directory (ql_cmdline_get_runtime_dir(), ql_cmdline_build_runtime_path()),
 * shared guest RAM (ql_cmdline_require_shared_memory()), list-valued keys
 * (ql_option_add_list_value(), %QL_VALUE_LIST, ql_option_get_list_member())
 * the host check of a port (#QlHostProbeClass.port_available,
 * ql_host_probe_port_available()) and the PCIe topology of q35
 * (ql_option_set_pci_placement(), ql_option_is_pci_endpoint(),
 * ql_vm_config_is_pcie_machine(), ql_vm_config_resolve_machine_type(),
 * ql_vm_config_set_qemu_caps()). A 1.0 or 1.1 plugin loads unchanged.
 *
 * 1.3 added the host check of a kernel module's parameter
 * (#QlHostProbeClass.module_parameter,
 * ql_host_probe_get_module_parameter()), state directories that belong to
 * the VM (ql_helper_add_state_dir(), ql_helper_get_state_dirs(): created
 * 0700 and checked by the launcher before the helper starts) and the
 * default place of such state beside the VM file
 * (ql_vm_config_build_state_path()). Older plugins load unchanged.
 *
 * 1.4 added notes on a command line (ql_cmdline_add_note(),
 * ql_cmdline_get_notes()), the command-line options of a probed QEMU
 * (ql_qemu_caps_has_command_line_option(),
 * ql_qemu_caps_list_command_line_options()), the seccomp knobs of a VM
 * (#QlSandboxAction, #QlVmConfig:knobs-sandbox and its finer keys) and the
 * host paths of kinds other than a file (ql_param_spec_script(),
 * ql_param_spec_firmware()). Older plugins load unchanged.
 */
#define QL_PLUGIN_ABI_MINOR 4

/**
 * QlPluginInitFunc:
 * @plugin: the plugin being loaded
 * @error: return location for an error
 *
 * A plugin's init function: registers its device types with
 * ql_plugin_register_device(). Nothing it registers is kept if it fails.
 *
 * Returns: %TRUE on success
 */
typedef gboolean (*QlPluginInitFunc) (QlPlugin  *plugin,
                                      GError   **error);

/**
 * QlPluginDesc:
 * @abi_major: %QL_PLUGIN_ABI_MAJOR at build time
 * @abi_minor: %QL_PLUGIN_ABI_MINOR at build time
 * @name: the family name; must equal the family part of the file name
 *   (`libqlaunch-vhost-user.so` → `vhost-user`)
 * @description: one line saying what the plugin provides
 * @version: the plugin's version
 * @license: the plugin's license (SPDX identifier)
 * @init: the init function
 *
 * The static descriptor a plugin returns from its only exported symbol,
 * `ql_plugin_<family>_get_desc` (dashes in the family become underscores).
 * Write it with QL_PLUGIN_DEFINE().
 */
typedef struct _QlPluginDesc
{
  guint            abi_major;
  guint            abi_minor;
  const char      *name;
  const char      *description;
  const char      *version;
  const char      *license;
  QlPluginInitFunc init;

  /*< private >*/
  gpointer _ql_reserved[8];
} QlPluginDesc;

/**
 * QlPluginGetDescFunc:
 *
 * The type of a plugin's entry point.
 *
 * Returns: (transfer none): the plugin's static descriptor
 */
typedef const QlPluginDesc *(*QlPluginGetDescFunc) (void);

/**
 * QL_PLUGIN_DEFINE:
 * @family: the family as a C identifier (`vhost_user` for `vhost-user`)
 * @name: the family name as a string (`"vhost-user"`)
 * @description: a one-line description
 * @version: the plugin version string
 * @license: the license (SPDX identifier string)
 * @init: a #QlPluginInitFunc
 *
 * Defines the plugin's descriptor and exports its entry point,
 * `ql_plugin_@family_get_desc`. Build plugins with hidden symbol visibility
 * so that this is the only exported symbol.
 */
#define QL_PLUGIN_DEFINE(family, name, description, version, license, init)   \
  G_MODULE_EXPORT const QlPluginDesc *ql_plugin_##family##_get_desc (void);  \
  G_MODULE_EXPORT const QlPluginDesc *                                       \
  ql_plugin_##family##_get_desc (void)                                       \
  {                                                                          \
    static const QlPluginDesc desc = {                                       \
      QL_PLUGIN_ABI_MAJOR, QL_PLUGIN_ABI_MINOR, (name), (description),       \
      (version), (license), (init), { NULL, }                                \
    };                                                                       \
    return &desc;                                                            \
  }

#define QL_TYPE_PLUGIN (ql_plugin_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlPlugin, ql_plugin, QL, PLUGIN, GObject)

QL_API const char *ql_plugin_get_name        (QlPlugin    *self);
QL_API const char *ql_plugin_get_description (QlPlugin    *self);
QL_API const char *ql_plugin_get_version     (QlPlugin    *self);
QL_API const char *ql_plugin_get_license     (QlPlugin    *self);
QL_API const char *ql_plugin_get_filename    (QlPlugin    *self);
QL_API guint       ql_plugin_get_abi_minor   (QlPlugin    *self);
QL_API char      **ql_plugin_get_device_types (QlPlugin   *self);
QL_API gboolean    ql_plugin_register_device (QlPlugin    *self,
                                              const char  *name,
                                              GType        type,
                                              GError     **error);

G_END_DECLS
