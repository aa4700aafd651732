/* qlaunch char plugin — QlCharDevice: a virtio console or serial port with
 * its host chardev (govmm's CharDevice). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlCharBackend:
 * @QL_CHAR_BACKEND_PIPE: a pair of FIFOs PATH.in/PATH.out, or PATH itself
 * @QL_CHAR_BACKEND_SOCKET: a unix stream socket at PATH
 * @QL_CHAR_BACKEND_SERIAL: a host serial device or terminal at PATH
 * @QL_CHAR_BACKEND_TTY: govmm's name for serial (QEMU's `tty` alias is
 *   deprecated): emitted as `serial`
 * @QL_CHAR_BACKEND_PTY: a new pseudo-terminal QEMU allocates (no path)
 * @QL_CHAR_BACKEND_CONSOLE: QEMU's Windows-only console backend: an error
 *
 * The host side of the character device (govmm's CharDeviceBackend).
 */
typedef enum
{
  QL_CHAR_BACKEND_PIPE,
  QL_CHAR_BACKEND_SOCKET,
  QL_CHAR_BACKEND_SERIAL,
  QL_CHAR_BACKEND_TTY,
  QL_CHAR_BACKEND_PTY,
  QL_CHAR_BACKEND_CONSOLE,
} QlCharBackend;

#include "ql-char-enums.h"

#define QL_TYPE_CHAR_DEVICE (ql_char_device_get_type ())
G_DECLARE_FINAL_TYPE (QlCharDevice, ql_char_device, QL, CHAR_DEVICE, QlDevice)

/* The id of the -device this char device adds: device-id, else its id. */
const char *ql_char_device_get_device_id (QlCharDevice *self);

G_END_DECLS
