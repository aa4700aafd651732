/* qlaunch tpm plugin — entry point: registers the `tpm` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-tpm-device.h"

static gboolean
ql_tpm_plugin_init (QlPlugin  *plugin,
                    GError   **error)
{
  return ql_plugin_register_device (plugin, "tpm", QL_TYPE_TPM_DEVICE, error);
}

QL_PLUGIN_DEFINE (tpm, "tpm",
                  "TPM 2.0 for the guest: tpm-crb or tpm-tis on a supervised swtpm or a host TPM (passthrough)",
                  QL_VERSION, "Apache-2.0", ql_tpm_plugin_init)
