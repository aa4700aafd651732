/* qlaunch — error domains. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <qlaunch/ql-macros.h>

G_BEGIN_DECLS

/**
 * QL_CONFIG_ERROR:
 *
 * Error domain for invalid VM configurations, VM files and device specs.
 * Errors in this domain use #QlConfigError codes.
 */
#define QL_CONFIG_ERROR (ql_config_error_quark ())

/**
 * QlConfigError:
 * @QL_CONFIG_ERROR_PARSE: the VM file or a device spec cannot be parsed
 * @QL_CONFIG_ERROR_UNKNOWN_GROUP: a VM file group is not known
 * @QL_CONFIG_ERROR_UNKNOWN_KEY: a key is not known in its group or device type
 * @QL_CONFIG_ERROR_DUPLICATE: a group, key or id appears twice
 * @QL_CONFIG_ERROR_INVALID_VALUE: a value is malformed or out of range
 * @QL_CONFIG_ERROR_MISSING: a required value is missing
 * @QL_CONFIG_ERROR_CONFLICT: two settings cannot be used together
 * @QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE: no loaded plugin provides the device type
 * @QL_CONFIG_ERROR_HOST: the host cannot provide what the configuration needs
 * @QL_CONFIG_ERROR_UNSUPPORTED: the setting is not supported by the QEMU qlaunch targets
 * @QL_CONFIG_ERROR_MULTIPLE: several errors; the message lists each on its own line
 *
 * Error codes in the #QL_CONFIG_ERROR domain.
 */
typedef enum
{
  QL_CONFIG_ERROR_PARSE,
  QL_CONFIG_ERROR_UNKNOWN_GROUP,
  QL_CONFIG_ERROR_UNKNOWN_KEY,
  QL_CONFIG_ERROR_DUPLICATE,
  QL_CONFIG_ERROR_INVALID_VALUE,
  QL_CONFIG_ERROR_MISSING,
  QL_CONFIG_ERROR_CONFLICT,
  QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
  QL_CONFIG_ERROR_HOST,
  QL_CONFIG_ERROR_UNSUPPORTED,
  QL_CONFIG_ERROR_MULTIPLE,
} QlConfigError;

/**
 * QL_PLUGIN_ERROR:
 *
 * Error domain for plugins that cannot be loaded. Errors in this domain use
 * #QlPluginError codes; the message names the plugin file.
 */
#define QL_PLUGIN_ERROR (ql_plugin_error_quark ())

/**
 * QlPluginError:
 * @QL_PLUGIN_ERROR_OPEN_FAILED: the file cannot be opened as a shared module
 * @QL_PLUGIN_ERROR_NO_ENTRY_POINT: the module lacks `ql_plugin_<family>_get_desc`
 * @QL_PLUGIN_ERROR_ABI_MISMATCH: the plugin's ABI major version differs from the loader's
 * @QL_PLUGIN_ERROR_ABI_TOO_NEW: the plugin needs a newer ABI minor version than the loader's
 * @QL_PLUGIN_ERROR_BAD_DESCRIPTOR: the descriptor is missing or lacks a required field
 * @QL_PLUGIN_ERROR_NAME_MISMATCH: the descriptor's name is not the family of the file name
 * @QL_PLUGIN_ERROR_INIT_FAILED: the plugin's init function failed
 * @QL_PLUGIN_ERROR_DUPLICATE_DEVICE: the plugin registers a device type that exists already
 * @QL_PLUGIN_ERROR_INSECURE_PATH: another user could change the file: it, a directory
 *   above it or a symbolic link on its path is owned by another user than root or us,
 *   or (links aside) writable by group or others
 * @QL_PLUGIN_ERROR_BAD_DEVICE_TYPE: a registered device type is not a concrete #QlDevice subclass or has a bad name
 * @QL_PLUGIN_ERROR_SCAN_FAILED: loading it in the plugin scanner (a child process) crashed,
 *   aborted, hung or gave no answer (Since: 0.2)
 *
 * Error codes in the #QL_PLUGIN_ERROR domain.
 */
typedef enum
{
  QL_PLUGIN_ERROR_OPEN_FAILED,
  QL_PLUGIN_ERROR_NO_ENTRY_POINT,
  QL_PLUGIN_ERROR_ABI_MISMATCH,
  QL_PLUGIN_ERROR_ABI_TOO_NEW,
  QL_PLUGIN_ERROR_BAD_DESCRIPTOR,
  QL_PLUGIN_ERROR_NAME_MISMATCH,
  QL_PLUGIN_ERROR_INIT_FAILED,
  QL_PLUGIN_ERROR_DUPLICATE_DEVICE,
  QL_PLUGIN_ERROR_INSECURE_PATH,
  QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
  QL_PLUGIN_ERROR_SCAN_FAILED,
} QlPluginError;

QL_API GQuark ql_config_error_quark (void);
QL_API GQuark ql_plugin_error_quark (void);

/**
 * QlNoticeFunc:
 * @notice: what happened; the library keeps it (copy it to keep it)
 * @user_data: the data given to ql_set_notice_func()
 *
 * Receives a notice of the library: something it worked around and the
 * user should know (see ql_set_notice_func()).
 */
typedef void (*QlNoticeFunc) (const GError *notice,
                              gpointer      user_data);

QL_API void       ql_set_notice_func (QlNoticeFunc  func,
                                      gpointer      user_data);
QL_API GPtrArray *ql_take_notices    (void);

G_END_DECLS
