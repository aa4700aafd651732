/* qlaunch — umbrella header: include only this one. */
#pragma once

#define QLAUNCH_INSIDE
#include <qlaunch/ql-macros.h>
#include <qlaunch/ql-version.h>
#include <qlaunch/ql-error.h>
#include <qlaunch/ql-types.h>
#include <qlaunch/ql-param.h>
#include <qlaunch/ql-cmdline.h>
#include <qlaunch/ql-helper.h>
#include <qlaunch/ql-host-probe.h>
#include <qlaunch/ql-device.h>
#include <qlaunch/ql-plugin.h>
#include <qlaunch/ql-type-info.h>
#include <qlaunch/ql-registry.h>
#include <qlaunch/ql-vm-config.h>
#include <qlaunch/ql-vm.h>
#include <qlaunch/ql-qmp.h>
#include <qlaunch/ql-qmp-commands.h>
#include <qlaunch/ql-hotplug.h>
#include <qlaunch/ql-template.h>
#include <qlaunch/ql-vm-factory.h>
#include <qlaunch/ql-qemu-caps.h>
#include <qlaunch/ql-enum-types.h>
#undef QLAUNCH_INSIDE
