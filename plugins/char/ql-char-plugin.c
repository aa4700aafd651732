/* qlaunch char plugin — entry point: registers `char` and `serial`. */
#include <qlaunch/qlaunch.h>

#include "ql-char-device.h"
#include "ql-serial-device.h"

static gboolean
ql_char_plugin_init (QlPlugin  *plugin,
                     GError   **error)
{
  return ql_plugin_register_device (plugin, "char", QL_TYPE_CHAR_DEVICE,
                                    error) &&
         ql_plugin_register_device (plugin, "serial", QL_TYPE_SERIAL_DEVICE,
                                    error);
}

QL_PLUGIN_DEFINE (char, "char",
                  "Virtio consoles and serial ports on a chardev (socket, pty, pipe, serial) and virtio-serial controllers",
                  QL_VERSION, "Apache-2.0", ql_char_plugin_init)
