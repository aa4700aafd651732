/* qlaunch watchdog plugin — QlWatchdogDevice: a hardware watchdog timer
 * the guest must keep feeding, and what QEMU does when it is not fed. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlWatchdogModel:
 * @QL_WATCHDOG_MODEL_I6300ESB: the Intel 6300ESB PCI watchdog
 *   (`-device i6300esb`; Linux driver i6300esb)
 *
 * The emulated watchdog.
 */
typedef enum
{
  QL_WATCHDOG_MODEL_I6300ESB,
} QlWatchdogModel;

/*
 * QlWatchdogDeviceAction:
 * @QL_WATCHDOG_DEVICE_ACTION_RESET: reset the VM (QEMU's default)
 * @QL_WATCHDOG_DEVICE_ACTION_SHUTDOWN: ask the guest to shut down (ACPI)
 * @QL_WATCHDOG_DEVICE_ACTION_POWEROFF: power off: QEMU exits
 * @QL_WATCHDOG_DEVICE_ACTION_PAUSE: pause the VM
 * @QL_WATCHDOG_DEVICE_ACTION_DEBUG: print a debug message and go on
 * @QL_WATCHDOG_DEVICE_ACTION_NONE: nothing (the QMP event only)
 * @QL_WATCHDOG_DEVICE_ACTION_INJECT_NMI: inject an NMI into the guest
 *
 * What QEMU does when the watchdog fires (`-action watchdog=`).
 */
typedef enum
{
  QL_WATCHDOG_DEVICE_ACTION_RESET,
  QL_WATCHDOG_DEVICE_ACTION_SHUTDOWN,
  QL_WATCHDOG_DEVICE_ACTION_POWEROFF,
  QL_WATCHDOG_DEVICE_ACTION_PAUSE,
  QL_WATCHDOG_DEVICE_ACTION_DEBUG,
  QL_WATCHDOG_DEVICE_ACTION_NONE,
  QL_WATCHDOG_DEVICE_ACTION_INJECT_NMI,
} QlWatchdogDeviceAction;

#include "ql-watchdog-enums.h"

#define QL_TYPE_WATCHDOG_DEVICE (ql_watchdog_device_get_type ())
G_DECLARE_FINAL_TYPE (QlWatchdogDevice, ql_watchdog_device, QL, WATCHDOG_DEVICE, QlDevice)

G_END_DECLS
