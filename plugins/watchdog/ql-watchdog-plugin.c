/* qlaunch watchdog plugin — entry point: registers the `watchdog` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-watchdog-device.h"

static gboolean
ql_watchdog_plugin_init (QlPlugin  *plugin,
                         GError   **error)
{
  return ql_plugin_register_device (plugin, "watchdog", QL_TYPE_WATCHDOG_DEVICE, error);
}

QL_PLUGIN_DEFINE (watchdog, "watchdog",
                  "A hardware watchdog for the guest (i6300esb) and what QEMU does when it fires",
                  QL_VERSION, "Apache-2.0", ql_watchdog_plugin_init)
