/* qlaunch — QlQemuCaps: what one QEMU binary offers, probed and cached. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <gio/gio.h>
#include <qlaunch/ql-macros.h>
#include <qlaunch/ql-cmdline.h>

G_BEGIN_DECLS

/**
 * QL_QEMU_CAPS_ERROR:
 *
 * Error domain of QEMU capability probing. Errors in it are #QlQemuCapsError.
 */
#define QL_QEMU_CAPS_ERROR (ql_qemu_caps_error_quark ())

/**
 * QlQemuCapsError:
 * @QL_QEMU_CAPS_ERROR_NOT_FOUND: the QEMU binary does not exist or is not executable
 * @QL_QEMU_CAPS_ERROR_PROBE_FAILED: QEMU did not start, exited or answered
 *   badly while being probed; the message carries what QEMU printed
 * @QL_QEMU_CAPS_ERROR_TIMED_OUT: the probe did not finish in time
 * @QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION: the QEMU version is older than
 *   the oldest qlaunch writes command lines for (7.2), or not a version
 * @QL_QEMU_CAPS_ERROR_INCOMPATIBLE: a command line uses something this QEMU
 *   lacks (a device type or property, machine type, accelerator, CPU
 *   model, or an option removed from this version)
 *
 * Errors of #QlQemuCaps.
 */
typedef enum
{
  QL_QEMU_CAPS_ERROR_NOT_FOUND,
  QL_QEMU_CAPS_ERROR_PROBE_FAILED,
  QL_QEMU_CAPS_ERROR_TIMED_OUT,
  QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION,
  QL_QEMU_CAPS_ERROR_INCOMPATIBLE,
} QlQemuCapsError;

/**
 * QlQemuCapsLookupFlags:
 * @QL_QEMU_CAPS_LOOKUP_NONE: use the cache when it is valid, probe otherwise
 * @QL_QEMU_CAPS_LOOKUP_NO_CACHE: always probe; neither read nor write the cache
 * @QL_QEMU_CAPS_LOOKUP_REFRESH: always probe, then write the cache
 * @QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES: probe the properties of every device
 *   type, not only of those asked for (about 2 ms a type: QEMU 7.2 has 446)
 *
 * How ql_qemu_caps_lookup() gets capabilities.
 */
typedef enum /*< flags >*/
{
  QL_QEMU_CAPS_LOOKUP_NONE = 0,
  QL_QEMU_CAPS_LOOKUP_NO_CACHE = 1 << 0,
  QL_QEMU_CAPS_LOOKUP_REFRESH = 1 << 1,
  QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES = 1 << 2,
} QlQemuCapsLookupFlags;

/**
 * QL_QEMU_OLDEST_MAJOR:
 *
 * The major version of the oldest QEMU qlaunch writes command lines for.
 */
#define QL_QEMU_OLDEST_MAJOR 7
/**
 * QL_QEMU_OLDEST_MINOR:
 *
 * The minor version of the oldest QEMU qlaunch writes command lines for.
 */
#define QL_QEMU_OLDEST_MINOR 2

#define QL_TYPE_QEMU_CAPS (ql_qemu_caps_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlQemuCaps, ql_qemu_caps, QL, QEMU_CAPS, GObject)

QL_API GQuark       ql_qemu_caps_error_quark      (void);

QL_API QlQemuCaps  *ql_qemu_caps_new_for_version  (const char             *version,
                                                   GError                **error);
QL_API QlQemuCaps  *ql_qemu_caps_lookup           (const char             *binary,
                                                   const char * const     *device_types,
                                                   QlQemuCapsLookupFlags   flags,
                                                   GCancellable           *cancellable,
                                                   GError                **error);
QL_API QlQemuCaps  *ql_qemu_caps_lookup_for_cmdline (QlCmdline            *cmdline,
                                                   QlQemuCapsLookupFlags   flags,
                                                   GCancellable           *cancellable,
                                                   GError                **error);
QL_API char        *ql_qemu_caps_get_cache_dir    (void);

QL_API gboolean     ql_qemu_caps_is_probed        (QlQemuCaps  *self);
QL_API gboolean     ql_qemu_caps_is_from_cache    (QlQemuCaps  *self);
QL_API const char  *ql_qemu_caps_get_binary       (QlQemuCaps  *self);
QL_API void         ql_qemu_caps_get_version      (QlQemuCaps  *self,
                                                   guint       *major,
                                                   guint       *minor,
                                                   guint       *micro);
QL_API const char  *ql_qemu_caps_get_version_string (QlQemuCaps *self);
QL_API const char  *ql_qemu_caps_get_package      (QlQemuCaps  *self);
QL_API gboolean     ql_qemu_caps_get_kvm_present  (QlQemuCaps  *self);

QL_API char       **ql_qemu_caps_list_machines    (QlQemuCaps  *self);
QL_API const char  *ql_qemu_caps_resolve_machine  (QlQemuCaps  *self,
                                                   const char  *name);
QL_API const char  *ql_qemu_caps_get_machine_alias (QlQemuCaps *self,
                                                   const char  *name);
QL_API const char  *ql_qemu_caps_get_default_machine (QlQemuCaps *self);
QL_API char       **ql_qemu_caps_list_device_types (QlQemuCaps *self);
QL_API gboolean     ql_qemu_caps_has_device_type  (QlQemuCaps  *self,
                                                   const char  *type);
QL_API const char  *ql_qemu_caps_resolve_device_type (QlQemuCaps *self,
                                                   const char  *name);
QL_API gboolean     ql_qemu_caps_has_device_properties (QlQemuCaps *self,
                                                   const char  *type);
QL_API char       **ql_qemu_caps_list_device_properties (QlQemuCaps *self,
                                                   const char  *type);
QL_API char       **ql_qemu_caps_list_unprobed_device_types (QlQemuCaps *self);
QL_API const char  *ql_qemu_caps_get_device_probe_failure (QlQemuCaps *self,
                                                   const char  *type);
QL_API const char  *ql_qemu_caps_get_device_property_type (QlQemuCaps *self,
                                                   const char  *type,
                                                   const char  *property);
QL_API char       **ql_qemu_caps_list_object_types (QlQemuCaps *self);
QL_API char       **ql_qemu_caps_list_object_properties (QlQemuCaps *self,
                                                   const char  *type);
QL_API char       **ql_qemu_caps_list_cpu_models  (QlQemuCaps  *self);
QL_API char       **ql_qemu_caps_list_accelerators (QlQemuCaps *self);
QL_API char       **ql_qemu_caps_list_chardev_backends (QlQemuCaps *self);
QL_API char       **ql_qemu_caps_list_netdev_types (QlQemuCaps *self);
QL_API char       **ql_qemu_caps_list_command_line_options (QlQemuCaps *self);
QL_API gboolean     ql_qemu_caps_has_command_line_option (QlQemuCaps *self,
                                                   const char  *option,
                                                   const char  *parameter);
QL_API gboolean     ql_qemu_caps_accepts_json     (QlQemuCaps  *self,
                                                   const char  *flag);

QL_API void         ql_qemu_caps_apply_syntax     (QlQemuCaps  *self,
                                                   QlCmdline   *cmdline);
QL_API gboolean     ql_qemu_caps_check_cmdline    (QlQemuCaps  *self,
                                                   QlCmdline   *cmdline,
                                                   GError     **error);
QL_API char        *ql_qemu_caps_to_json          (QlQemuCaps  *self,
                                                   gboolean     pretty);

G_END_DECLS
