/* qlaunch — private: the PCIe topology of a q35 VM (ql-pcie.c), shared by
 * the argv builder and hot-plug. */
#pragma once

#include "ql-vm-config-private.h"

G_BEGIN_DECLS

/* Ids of the root ports the core adds: ql-portN before a device that
 * names no bus, ql-hotplugN reserved for hot-plug; N is their chassis
 * and slot number. */
#define QL_PCIE_PORT_PREFIX "ql-port"
#define QL_PCIE_HOTPLUG_PREFIX "ql-hotplug"

/* Whether @option is a -device PCI endpoint (ql_option_is_pci_endpoint())
 * that names neither a bus nor an address: on q35 it gets a root port. */
gboolean    ql_pcie_option_needs_port   (QlOption    *option);

/* The PCIe pass of the argv builder over the device options [@first, end)
 * of @cl: on a PCIe machine a root port before each device that needs one
 * ([machine] auto-root-ports), then the [machine] hotplug-slots reserved
 * ports after the last device; numbers for pcie-root-port devices that
 * gave none; the checks of the root bus's slots and of addresses behind
 * root ports. */
gboolean    ql_pcie_place               (QlVmConfig  *vm,
                                         QlCmdline   *cl,
                                         guint        first,
                                         GError     **error);

/* The ids of the ports reserved for hot-plug on @cl, in order. */
GPtrArray  *ql_pcie_list_reserved_ports (QlCmdline   *cl);

/* The reserved ports ql_hotplug_plan() put @device's options in (kept on
 * the device, which then joins the VM config), or NULL. */
void        ql_pcie_set_planned_ports   (QlDevice    *device,
                                         GPtrArray   *ports);
const char * const *ql_pcie_get_planned_ports (QlDevice *device);

/* The reserved ports of @vm that are free for @device: those of its
 * start-up command line, minus the ones planned for its other devices
 * (in order). @n_reserved: how many the VM reserves. */
GPtrArray  *ql_pcie_plan_free_ports     (QlVmConfig  *vm,
                                         QlDevice    *device,
                                         guint       *n_reserved,
                                         GError     **error);

/* The root ports of a running QEMU, read over QMP (QOM). */
typedef struct
{
  gboolean   pcie;          /* a q35 machine: its root bus takes no hot-plug */
  guint      n_reserved;    /* ql-hotplugN ports */
  GPtrArray *free_reserved; /* the empty ones, by number */
  GPtrArray *free_other;    /* other empty root ports, by name */
} QlPcieRuntimePorts;

void        ql_pcie_runtime_ports_free  (QlPcieRuntimePorts *ports);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlPcieRuntimePorts, ql_pcie_runtime_ports_free)

void        ql_pcie_query_ports_async   (QlQmp               *qmp,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
QlPcieRuntimePorts *ql_pcie_query_ports_finish (QlQmp        *qmp,
                                                GAsyncResult *result,
                                                GError      **error);

G_END_DECLS
