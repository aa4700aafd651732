/* qlaunch rng plugin — entry point: registers the `rng` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-rng-device.h"

static gboolean
ql_rng_plugin_init (QlPlugin  *plugin,
                    GError   **error)
{
  return ql_plugin_register_device (plugin, "rng", QL_TYPE_RNG_DEVICE, error);
}

QL_PLUGIN_DEFINE (rng, "rng",
                  "Entropy for the guest: virtio-rng-pci on an rng-random or rng-builtin backend",
                  QL_VERSION, "Apache-2.0", ql_rng_plugin_init)
