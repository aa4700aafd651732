/* qlaunch — QlDevice: the abstract base class of every device type. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib-object.h>
#include <qlaunch/ql-types.h>
#include <qlaunch/ql-cmdline.h>
#include <qlaunch/ql-host-probe.h>

G_BEGIN_DECLS

#define QL_TYPE_DEVICE (ql_device_get_type ())
QL_API G_DECLARE_DERIVABLE_TYPE (QlDevice, ql_device, QL, DEVICE, GObject)

/**
 * QlDeviceClass:
 * @parent_class: the parent class
 * @valid: checks the device's properties against each other and against
 *   @vm, with no side effect on the host. Host facts (device nodes, mounts,
 *   files) come only from ql_vm_config_get_host_probe(), which is %NULL when
 *   host checks are off. On failure sets an error in #QL_CONFIG_ERROR that
 *   names the device id and the property at fault (see ql_device_set_error()).
 * @qemu_params: appends the device's QEMU options to @cmdline through the
 *   #QlCmdline API only. Called only after @valid returned %TRUE.
 * @hotplug_params: (nullable): since ABI 1.1. Appends the options that
 *   hot-plug the device into a running VM, for a device whose start-up form
 *   has no QMP equivalent (`-drive` becomes `-blockdev`). %NULL (the
 *   default, and every 1.0 plugin) means @qemu_params serves for both. The
 *   core turns each option into a QMP command: `-device` into `device_add`,
 *   `-netdev` into `netdev_add`, `-object` into `object-add`, `-blockdev`
 *   into `blockdev-add` (dotted keys become nested objects), `-chardev` into
 *   `chardev-add`; descriptors added with ql_cmdline_add_fd() and written
 *   with ql_option_set_fds() travel with `getfd`. Any other option (`-fsdev`,
 *   `-drive`, machine options) makes the device not hot-pluggable.
 *
 * The class structure of a device type. A plugin subclasses #QlDevice, installs
 * one GObject property per option (kebab-case name, non-empty blurb, a default)
 * and implements both vfuncs.
 */
struct _QlDeviceClass
{
  GObjectClass parent_class;

  gboolean (*valid)       (QlDevice    *self,
                           QlVmConfig  *vm,
                           GError     **error);
  gboolean (*qemu_params) (QlDevice    *self,
                           QlVmConfig  *vm,
                           QlCmdline   *cmdline,
                           GError     **error);
  gboolean (*hotplug_params) (QlDevice    *self,
                              QlVmConfig  *vm,
                              QlCmdline   *cmdline,
                              GError     **error);

  /*< private >*/
  gpointer padding[15];
};

QL_API const char *ql_device_get_id          (QlDevice    *self);
QL_API void        ql_device_set_id          (QlDevice    *self,
                                              const char  *id);
QL_API const char *ql_device_get_type_name   (QlDevice    *self);
QL_API gboolean    ql_device_valid           (QlDevice    *self,
                                              QlVmConfig  *vm,
                                              GError     **error);
QL_API gboolean    ql_device_qemu_params     (QlDevice    *self,
                                              QlVmConfig  *vm,
                                              QlCmdline   *cmdline,
                                              GError     **error);
QL_API gboolean    ql_device_hotplug_params  (QlDevice    *self,
                                              QlVmConfig  *vm,
                                              QlCmdline   *cmdline,
                                              GError     **error);
QL_API gboolean    ql_device_set_property_from_string (QlDevice    *self,
                                                       const char  *property,
                                                       const char  *value,
                                                       GError     **error);
QL_API void        ql_device_set_error       (QlDevice    *self,
                                              GError     **error,
                                              gint         code,
                                              const char  *property,
                                              const char  *format,
                                              ...) G_GNUC_PRINTF (5, 6);

QL_API gboolean    ql_device_check_not_empty (QlDevice    *self,
                                              const char  *value,
                                              const char  *property,
                                              GError     **error);

QL_API gboolean    ql_is_valid_id            (const char  *id);
QL_API gboolean    ql_is_valid_pci_addr      (const char  *addr);

G_END_DECLS
