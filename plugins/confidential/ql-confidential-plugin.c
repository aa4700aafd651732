/* qlaunch confidential plugin — entry point: registers the
 * `confidential-guest` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-confidential-guest.h"

static gboolean
ql_confidential_plugin_init (QlPlugin  *plugin,
                             GError   **error)
{
  return ql_plugin_register_device (plugin, "confidential-guest", QL_TYPE_CONFIDENTIAL_GUEST, error);
}

QL_PLUGIN_DEFINE (confidential, "confidential",
                  "Confidential guests: encrypted guest memory with AMD SEV (sev-guest), SEV-SNP (sev-snp-guest) or Intel TDX (tdx-guest)",
                  QL_VERSION, "Apache-2.0", ql_confidential_plugin_init)
