/* qlaunch memory plugin — entry point: registers the `memory-object` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-memory-object.h"

static gboolean
ql_memory_plugin_init (QlPlugin  *plugin,
                       GError   **error)
{
  return ql_plugin_register_device (plugin, "memory-object", QL_TYPE_MEMORY_OBJECT, error);
}

QL_PLUGIN_DEFINE (memory, "memory",
                  "Memory objects: an NVDIMM backed by a host file (memory-backend-file + nvdimm)",
                  QL_VERSION, "Apache-2.0", ql_memory_plugin_init)
