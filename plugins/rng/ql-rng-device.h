/* qlaunch rng plugin — QlRngDevice: an entropy source for the guest
 * (virtio-rng-pci fed by a QEMU rng backend object). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlRngBackend:
 * @QL_RNG_BACKEND_RANDOM: QEMU reads a host file or device
 *   (`-object rng-random,filename=FILE`; /dev/urandom by default)
 * @QL_RNG_BACKEND_BUILTIN: QEMU's own generator, which draws from the host
 *   kernel with getrandom() (`-object rng-builtin`)
 *
 * Where the entropy the guest gets comes from.
 */
typedef enum
{
  QL_RNG_BACKEND_RANDOM,
  QL_RNG_BACKEND_BUILTIN,
} QlRngBackend;

#include "ql-rng-enums.h"

#define QL_TYPE_RNG_DEVICE (ql_rng_device_get_type ())
G_DECLARE_FINAL_TYPE (QlRngDevice, ql_rng_device, QL, RNG_DEVICE, QlDevice)

G_END_DECLS
