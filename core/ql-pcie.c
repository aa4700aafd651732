/* qlaunch — the PCIe topology of a q35 VM.
 *
 * On q35 nothing can be hot-plugged into the root bus pcie.0: a device can
 * be unplugged (and another plugged in its place) only behind a PCIe root
 * port. So, as libvirt does, every PCI endpoint that names neither a bus
 * nor an address gets a root port of its own, written right before it
 * (QEMU creates devices in command-line order: the bus must exist first):
 *
 *   -device pcie-root-port,id=ql-port1,bus=pcie.0,chassis=1,slot=1
 *   -device virtio-blk-pci,id=disk0,drive=disk0,config-wce=off,bus=ql-port1
 *
 * and [machine] hotplug-slots = N adds N empty ports (ql-hotplugN) after
 * the last device, for `qlaunch hotplug`.
 *
 * Which -device is a PCI endpoint: the plugin's mark
 * (ql_option_set_pci_placement()), else its driver's name: `-pci`,
 * `-pci-transitional`, `-pci-non-transitional`, or one of QEMU's virtio
 * aliases (`virtio-blk` is `virtio-blk-pci` on a PCI machine). Not the
 * probed binary's type information: the same VM file must give the same
 * command line with or without a probe (`args --no-host-checks`, golden
 * files, templates compare command lines).
 *
 * Numbers: each root port needs a (chassis, slot) pair of its own (QEMU
 * 7.2: "Can't add chassis slot, error -16"; it compares slots modulo 256),
 * and with native PCIe hot-plug the guest names a port's slot by its slot
 * number. A port the core
 * adds gets chassis = slot = N, N the smallest number from 1 upward, in
 * command-line order, that no chassis (pcie-root-port chassis, pci-bridge
 * chassis_nr) or root-port slot of the VM uses and whose id (ql-portN,
 * ql-hotplugN) no option uses. The same VM file always gives the same
 * topology. A pcie-root-port device that gives neither chassis nor slot is
 * numbered the same way.
 */
#include "ql-pcie-private.h"
#include "ql-qemu-caps-private.h"
#include "ql-qmp-private.h"

#include <string.h>

#define Q35_ROOT_BUS "pcie.0"
/* q35's pcie.0: slot 0 is the host bridge, 0x1f the ICH9 functions. */
#define Q35_FIRST_FREE_SLOT 0x01
#define Q35_LAST_FREE_SLOT 0x1e
#define Q35_FREE_SLOTS (Q35_LAST_FREE_SLOT - Q35_FIRST_FREE_SLOT + 1)
/* QEMU's chassis is a uint8; 0 is its default, never given out. */
#define MAX_NUMBER 255

static const char *const pci_suffixes[] = { "-pci", "-pci-transitional", "-pci-non-transitional" };

/* Root port types: a device behind one sits in its slot 0. */
static const char *const root_port_drivers[] = { "pcie-root-port", "ioh3420", NULL };

/**
 * ql_option_is_pci_endpoint:
 * @option: a #QlOption
 *
 * Tells whether @option is a `-device` that is a PCI endpoint, which on a
 * PCI Express machine (q35) gets a PCIe root port of its own when it names
 * no `bus` and no `addr`: a plugin's mark (ql_option_set_pci_placement())
 * decides; without one, a driver whose name ends in `-pci`,
 * `-pci-transitional` or `-pci-non-transitional`, or one of QEMU's virtio
 * aliases for such a type (`virtio-blk`, `virtio-net`, `virtio-serial`,
 * `virtio-9p`, `virtio-rng`, `virtio-balloon`, `virtio-scsi`, ...) is one.
 *
 * Returns: whether the option is a PCI endpoint `-device`
 *
 * Since: ABI 1.2
 */
gboolean
ql_option_is_pci_endpoint (QlOption *option)
{
  const char *driver;
  g_auto(GStrv) candidates = NULL;
  g_autofree char *pci = NULL;

  g_return_val_if_fail (option != NULL, FALSE);

  if (g_strcmp0 (ql_option_get_flag (option), "-device") != 0)
    return FALSE;
  switch (ql_option_get_pci_placement (option))
    {
    case QL_PCI_PLACEMENT_ROOT_PORT:
      return TRUE;
    case QL_PCI_PLACEMENT_NONE:
      return FALSE;
    case QL_PCI_PLACEMENT_AUTO:
    default:
      break;
    }
  driver = ql_option_get_head (option);
  if (driver == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (pci_suffixes); i++)
    if (g_str_has_suffix (driver, pci_suffixes[i]) && strlen (driver) > strlen (pci_suffixes[i]))
      return TRUE;
  /* QEMU's qdev aliases: on x86 the -pci type is the one they create. */
  candidates = ql_qemu_caps_device_alias_candidates (driver);
  pci = g_strconcat (driver, "-pci", NULL);
  return g_strv_contains ((const char * const *) candidates, pci);
}

gboolean
ql_pcie_option_needs_port (QlOption *option)
{
  return ql_option_is_pci_endpoint (option)
         && ql_option_lookup (option, "bus") == NULL
         && ql_option_lookup (option, "addr") == NULL;
}

static gboolean
is_device (QlOption   *option,
           const char *driver)
{
  return g_strcmp0 (ql_option_get_flag (option), "-device") == 0
         && g_strcmp0 (ql_option_get_head (option), driver) == 0;
}

static gboolean
is_root_port (QlOption *option)
{
  return g_strcmp0 (ql_option_get_flag (option), "-device") == 0
         && ql_option_get_head (option) != NULL
         && g_strv_contains (root_port_drivers, ql_option_get_head (option));
}

/* A -device's name in messages: its origin (`device 'disk0'`), else its
 * driver and id. */
static char *
describe_option (QlOption *option)
{
  const char *id = ql_option_lookup (option, "id");

  if (ql_option_get_origin (option) != NULL)
    return g_strdup (ql_option_get_origin (option));
  if (id != NULL)
    return g_strdup_printf ("-device %s (id '%s')", ql_option_get_head (option), id);
  return g_strdup_printf ("-device %s", ql_option_get_head (option));
}

/* The slot of a PCI address `slot[.fn]` (hex); FALSE if it is not one. */
static gboolean
addr_slot (const char *addr,
           guint      *slot)
{
  char *end = NULL;
  guint64 value;

  if (addr == NULL || !g_ascii_isxdigit (addr[0]))
    return FALSE;
  value = g_ascii_strtoull (addr, &end, 16);
  if (end == addr || (*end != '\0' && *end != '.') || value > 0x1f)
    return FALSE;
  *slot = (guint) value;
  return TRUE;
}

static gboolean
parse_number (const char *text,
              guint      *out)
{
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT16, &value, NULL))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

/* ---- numbering ---------------------------------------------------------- */

/* Made when first asked for a number: most VMs never are (no q35, or
 * every port numbered), and making it reads every id of the VM. */
typedef struct
{
  QlVmConfig *vm;
  QlCmdline *cl;
  GHashTable *numbers;  /* chassis and root-port slot numbers in use, n + 1 */
  GHashTable *ids;      /* every id in use */
  guint next;
} Allocator;

/* What @a->cl uses when the first number is asked for (nothing changed
 * it before). */
static void
allocator_fill (Allocator *a)
{
  QlVmConfig *vm = a->vm;
  QlCmdline *cl = a->cl;
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  g_auto(GStrv) iothreads = ql_vm_config_get_iothreads (vm);

  a->numbers = g_hash_table_new (NULL, NULL);
  a->ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  a->next = 1;
  for (guint i = 0; i < devices->len; i++)
    {
      const char *id = ql_device_get_id (g_ptr_array_index (devices, i));

      if (id != NULL)
        g_hash_table_add (a->ids, g_strdup (id));
    }
  for (guint i = 0; iothreads[i] != NULL; i++)
    g_hash_table_add (a->ids, g_strdup (iothreads[i]));
  for (guint i = 0; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);
      guint n;

      if (ql_option_get_syntax (option) != QL_OPTION_SYNTAX_KEYVAL)
        continue;
      if (ql_option_lookup (option, "id") != NULL)
        g_hash_table_add (a->ids, g_strdup (ql_option_lookup (option, "id")));
      if (g_strcmp0 (ql_option_get_flag (option), "-device") != 0)
        continue;
      /* A root port's chassis and slot; a pci-bridge's chassis_nr. */
      if (parse_number (ql_option_lookup (option, "chassis"), &n))
        {
          g_hash_table_add (a->numbers, GUINT_TO_POINTER (n + 1));
          if (parse_number (ql_option_lookup (option, "slot"), &n))
            g_hash_table_add (a->numbers, GUINT_TO_POINTER (n + 1));
        }
      if (parse_number (ql_option_lookup (option, "chassis_nr"), &n))
        g_hash_table_add (a->numbers, GUINT_TO_POINTER (n + 1));
    }
}

static void
allocator_init (Allocator  *a,
                QlVmConfig *vm,
                QlCmdline  *cl)
{
  a->vm = vm;
  a->cl = cl;
}

static void
allocator_clear (Allocator *a)
{
  g_clear_pointer (&a->numbers, g_hash_table_unref);
  g_clear_pointer (&a->ids, g_hash_table_unref);
}

/* The next free number, with the id @prefix + number when @prefix is
 * given (that id must be free too); @what names the setting that wants it
 * in the error. */
static gboolean
allocate (Allocator   *a,
          const char  *what,
          const char  *prefix,
          guint       *number,
          char       **id,
          GError     **error)
{
  if (a->numbers == NULL)
    allocator_fill (a);
  for (guint n = a->next; n <= MAX_NUMBER; n++)
    {
      g_autofree char *candidate = prefix != NULL ? g_strdup_printf ("%s%u", prefix, n) : NULL;

      if (g_hash_table_contains (a->numbers, GUINT_TO_POINTER (n + 1))
          || (candidate != NULL && g_hash_table_contains (a->ids, candidate)))
        continue;
      a->next = n + 1;
      *number = n;
      if (candidate != NULL)
        g_hash_table_add (a->ids, g_strdup (candidate));
      if (id != NULL)
        *id = g_steal_pointer (&candidate);
      return TRUE;
    }
  g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
               "%s: the VM's PCIe root ports need more than %d chassis numbers: "
               "each root port qlaunch numbers takes one from 1 to %d that no other root port "
               "or pci bridge of the VM uses as its chassis or slot",
               what, MAX_NUMBER, MAX_NUMBER);
  return FALSE;
}

static QlOption *
insert_port (QlCmdline  *cl,
             guint       index,
             const char *id,
             guint       number,
             const char *origin)
{
  QlOption *port = ql_cmdline_insert_option (cl, index, "-device", "pcie-root-port");

  ql_option_set (port, "id", id);
  ql_option_set (port, "bus", Q35_ROOT_BUS);
  ql_option_set_uint (port, "chassis", number);
  ql_option_set_uint (port, "slot", number);
  ql_option_set_pci_placement (port, QL_PCI_PLACEMENT_NONE);
  ql_option_set_origin (port, origin);
  return port;
}

/* ---- checks ------------------------------------------------------------- */

/* QEMU fails with "PCI: no slot/function available for pcie-root-port"
 * when q35's root bus is full: say why first. Counts what certainly takes
 * a slot of pcie.0 (QEMU's default devices come on top). */
static gboolean
check_root_bus_slots (QlVmConfig  *vm,
                      QlCmdline   *cl,
                      guint        n_auto,
                      guint        n_reserved,
                      GError     **error)
{
  g_autoptr(GHashTable) slots = g_hash_table_new (NULL, NULL);
  guint n_unaddressed = 0, total, others;

  for (guint i = 0; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);
      const char *bus, *addr;
      guint slot;

      if (g_strcmp0 (ql_option_get_flag (option), "-device") != 0)
        continue;
      bus = ql_option_lookup (option, "bus");
      if (!(g_strcmp0 (bus, Q35_ROOT_BUS) == 0 || (bus == NULL && ql_option_is_pci_endpoint (option))))
        continue;
      addr = ql_option_lookup (option, "addr");
      if (addr == NULL)
        n_unaddressed++;
      else if (addr_slot (addr, &slot) && slot >= Q35_FIRST_FREE_SLOT && slot <= Q35_LAST_FREE_SLOT)
        g_hash_table_add (slots, GUINT_TO_POINTER (slot));
    }
  total = n_unaddressed + g_hash_table_size (slots);
  if (total <= Q35_FREE_SLOTS)
    return TRUE;
  others = total - n_auto - n_reserved;
  if (n_reserved > 0)
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                 "[machine] hotplug-slots: the VM needs %u slots of the root bus %s, which has %d "
                 "(%x to %x): %u root ports reserved for hot-plug, %u root ports qlaunch adds for PCI devices "
                 "that name no bus, %u other devices on %s; reserve fewer ports, put devices behind "
                 "a bridge (bus=), or set [machine] auto-root-ports = false to leave devices on %s",
                 total, Q35_ROOT_BUS, Q35_FREE_SLOTS, Q35_FIRST_FREE_SLOT, Q35_LAST_FREE_SLOT,
                 n_reserved, n_auto, others, Q35_ROOT_BUS, Q35_ROOT_BUS);
  else if (n_auto > 0)
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                 "[machine] auto-root-ports: the VM needs %u slots of the root bus %s, which has %d "
                 "(%x to %x): %u root ports qlaunch adds for PCI devices that name no bus, "
                 "%u other devices on %s; put devices behind a bridge (bus=), or set "
                 "[machine] auto-root-ports = false to leave devices on %s",
                 total, Q35_ROOT_BUS, Q35_FREE_SLOTS, Q35_FIRST_FREE_SLOT, Q35_LAST_FREE_SLOT,
                 n_auto, others, Q35_ROOT_BUS, Q35_ROOT_BUS);
  else
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                 "[machine] type: the VM puts %u devices on the root bus %s of machine type '%s', "
                 "which has %d slots (%x to %x); put devices behind a bridge (bus=)",
                 total, Q35_ROOT_BUS, ql_vm_config_resolve_machine_type (vm), Q35_FREE_SLOTS,
                 Q35_FIRST_FREE_SLOT, Q35_LAST_FREE_SLOT);
  return FALSE;
}

/* QEMU 7.2 accepts `-device virtio-rng-pci,bus=PORT,addr=5`, and the guest
 * never sees the device: behind a root port (a PCIe link) only device 0
 * exists. */
static gboolean
check_behind_root_ports (QlCmdline  *cl,
                         GError    **error)
{
  g_autoptr(GHashTable) ports = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);
      const char *bus;
      const char *addr;
      guint slot;

      if (!g_str_equal (ql_option_get_flag (option), "-device"))
        continue;
      if (is_root_port (option) && ql_option_lookup (option, "id") != NULL)
        g_hash_table_add (ports, (gpointer) ql_option_lookup (option, "id"));
      bus = ql_option_lookup (option, "bus");
      if (bus == NULL || !g_hash_table_contains (ports, bus))
        continue;
      addr = ql_option_lookup (option, "addr");
      if (addr_slot (addr, &slot) && slot != 0)
        {
          g_autofree char *what = describe_option (option);

          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                       "%s: property 'addr': '%s' on bus '%s', a PCIe root port: a root port has "
                       "one slot, 0, and the guest does not look for a device in another; remove addr "
                       "or give 0 (with a function: 0.N)",
                       what, addr, bus);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- the pass ----------------------------------------------------------- */

gboolean
ql_pcie_place (QlVmConfig  *vm,
               QlCmdline   *cl,
               guint        first,
               GError     **error)
{
  gboolean pcie = ql_vm_config_is_pcie_machine (vm);
  gboolean auto_ports = pcie && ql_vm_config_get_bool (vm, QL_VM_PROP_MACHINE_AUTO_ROOT_PORTS);
  guint n_reserved = pcie ? (guint) ql_vm_config_get_uint (vm, QL_VM_PROP_MACHINE_HOTPLUG_SLOTS) : 0;
  guint end = ql_cmdline_get_n_options (cl);
  guint n_auto = 0;
  Allocator a = { 0 };
  gboolean ok = FALSE;

  allocator_init (&a, vm, cl);
  for (guint i = first; i < end; i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);
      g_autofree char *id = NULL;
      guint n;

      if (is_device (option, "pcie-root-port")
          && ql_option_lookup (option, "chassis") == NULL && ql_option_lookup (option, "slot") == NULL)
        {
          /* A root port of the VM file that left its numbers to qlaunch. */
          g_autofree char *what = g_strdup_printf ("%s: property 'chassis'",
                                                   ql_option_get_origin (option) != NULL
                                                   ? ql_option_get_origin (option) : "-device pcie-root-port");

          if (!allocate (&a, what, NULL, &n, NULL, error))
            goto out;
          ql_option_set_uint (option, "chassis", n);
          ql_option_set_uint (option, "slot", n);
        }
      else if (auto_ports && ql_pcie_option_needs_port (option))
        {
          if (!allocate (&a, "[machine] auto-root-ports", QL_PCIE_PORT_PREFIX, &n, &id, error))
            goto out;
          insert_port (cl, i, id, n, ql_option_get_origin (option));
          ql_option_set (option, "bus", id);
          n_auto++;
          i++;
          end++;
        }
    }
  for (guint k = 0; k < n_reserved; k++)
    {
      g_autofree char *id = NULL;
      guint n;

      if (!allocate (&a, "[machine] hotplug-slots", QL_PCIE_HOTPLUG_PREFIX, &n, &id, error))
        goto out;
      insert_port (cl, end++, id, n, "[machine]");
    }
  if (pcie && !check_root_bus_slots (vm, cl, n_auto, n_reserved, error))
    goto out;
  ok = check_behind_root_ports (cl, error);

out:
  allocator_clear (&a);
  return ok;
}

/* The number of a port id PREFIXnumber, or -1. */
static gint64
port_number (const char *id,
             const char *prefix)
{
  guint64 n;

  if (!g_str_has_prefix (id, prefix)
      || !g_ascii_string_to_unsigned (id + strlen (prefix), 10, 0, MAX_NUMBER, &n, NULL))
    return -1;
  return (gint64) n;
}

GPtrArray *
ql_pcie_list_reserved_ports (QlCmdline *cl)
{
  GPtrArray *ports = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);
      const char *id = ql_option_lookup (option, "id");

      if (is_device (option, "pcie-root-port") && id != NULL
          && port_number (id, QL_PCIE_HOTPLUG_PREFIX) >= 0
          && g_strcmp0 (ql_option_get_origin (option), "[machine]") == 0)
        g_ptr_array_add (ports, g_strdup (id));
    }
  return ports;
}

/* ---- planned hot-plugs -------------------------------------------------- */

static GQuark
planned_ports_quark (void)
{
  return g_quark_from_static_string ("ql-pcie-planned-ports");
}

void
ql_pcie_set_planned_ports (QlDevice  *device,
                           GPtrArray *ports)
{
  GStrvBuilder *builder;

  if (ports == NULL || ports->len == 0)
    {
      g_object_set_qdata (G_OBJECT (device), planned_ports_quark (), NULL);
      return;
    }
  builder = g_strv_builder_new ();
  for (guint i = 0; i < ports->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (ports, i));
  g_object_set_qdata_full (G_OBJECT (device), planned_ports_quark (),
                           g_strv_builder_end (builder), (GDestroyNotify) g_strfreev);
  g_strv_builder_unref (builder);
}

const char * const *
ql_pcie_get_planned_ports (QlDevice *device)
{
  return g_object_get_qdata (G_OBJECT (device), planned_ports_quark ());
}

GPtrArray *
ql_pcie_plan_free_ports (QlVmConfig  *vm,
                         QlDevice    *device,
                         guint       *n_reserved,
                         GError     **error)
{
  g_autoptr(QlCmdline) cl = NULL;
  g_autoptr(GPtrArray) reserved = NULL;
  g_autoptr(GHashTable) taken = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  GPtrArray *free_ports;
  g_autoptr(GError) local_error = NULL;

  cl = ql_vm_config_build_startup_cmdline (vm, &local_error);
  if (cl == NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, local_error->code,
                   "device '%s': the PCIe root ports of the VM it joins cannot be worked out, "
                   "as its configuration does not build: %s",
                   ql_device_get_id (device), local_error->message);
      return NULL;
    }
  reserved = ql_pcie_list_reserved_ports (cl);
  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);
      const char * const *planned = ql_pcie_get_planned_ports (other);

      for (guint k = 0; other != device && planned != NULL && planned[k] != NULL; k++)
        g_hash_table_add (taken, (gpointer) planned[k]);
    }
  free_ports = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < reserved->len; i++)
    if (!g_hash_table_contains (taken, g_ptr_array_index (reserved, i)))
      g_ptr_array_add (free_ports, g_strdup (g_ptr_array_index (reserved, i)));
  *n_reserved = reserved->len;
  return free_ports;
}

/* ---- a running QEMU ----------------------------------------------------- */

void
ql_pcie_runtime_ports_free (QlPcieRuntimePorts *ports)
{
  if (ports == NULL)
    return;
  g_clear_pointer (&ports->free_reserved, g_ptr_array_unref);
  g_clear_pointer (&ports->free_other, g_ptr_array_unref);
  g_free (ports);
}

typedef enum
{
  QUERY_MACHINE,
  QUERY_PERIPHERALS,
  QUERY_PORT,
} QueryPhase;

typedef struct
{
  QueryPhase phase;
  QlPcieRuntimePorts *result;
  GPtrArray *ports;    /* root port ids still to look at */
  char *current;       /* the one being looked at */
} Query;

static void
query_free (Query *q)
{
  ql_pcie_runtime_ports_free (q->result);
  g_ptr_array_unref (q->ports);
  g_free (q->current);
  g_free (q);
}

static gint
compare_reserved (gconstpointer a,
                  gconstpointer b)
{
  gint64 na = port_number (*(const char * const *) a, QL_PCIE_HOTPLUG_PREFIX);
  gint64 nb = port_number (*(const char * const *) b, QL_PCIE_HOTPLUG_PREFIX);

  return na < nb ? -1 : na > nb;
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void query_next (GTask *task);

static void
query_reply (GObject      *source,
             GAsyncResult *res,
             gpointer      data)
{
  GTask *task = data;
  Query *q = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_execute_finish (QL_QMP (source), res, &error);

  if (ret == NULL)
    {
      g_prefix_error (&error, "reading the VM's PCIe root ports: ");
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  switch (q->phase)
    {
    case QUERY_MACHINE:
      /* The QOM type of the machine: "pc-q35-7.2-machine". */
      q->result->pcie = JSON_NODE_HOLDS_VALUE (ret) && json_node_get_value_type (ret) == G_TYPE_STRING
                        && g_str_has_prefix (json_node_get_string (ret), "pc-q35-");
      if (!q->result->pcie)
        {
          g_task_return_pointer (task, g_steal_pointer (&q->result), (GDestroyNotify) ql_pcie_runtime_ports_free);
          g_object_unref (task);
          return;
        }
      q->phase = QUERY_PERIPHERALS;
      break;
    case QUERY_PERIPHERALS:
      if (JSON_NODE_HOLDS_ARRAY (ret))
        {
          JsonArray *children = json_node_get_array (ret);

          for (guint i = 0; i < json_array_get_length (children); i++)
            {
              JsonObject *child = ql_json_array_object (children, i);
              const char *name = child != NULL ? ql_json_string (child, "name") : NULL;

              if (name != NULL && g_strcmp0 (ql_json_string (child, "type"), "child<pcie-root-port>") == 0
                  && ql_is_valid_id (name))
                {
                  g_ptr_array_add (q->ports, g_strdup (name));
                  if (port_number (name, QL_PCIE_HOTPLUG_PREFIX) >= 0)
                    q->result->n_reserved++;
                }
            }
        }
      q->phase = QUERY_PORT;
      break;
    case QUERY_PORT:
    default:
      {
        gboolean empty = TRUE;

        /* A device on the port's bus is a link property "child[N]". */
        if (JSON_NODE_HOLDS_ARRAY (ret))
          {
            JsonArray *props = json_node_get_array (ret);

            for (guint i = 0; i < json_array_get_length (props); i++)
              {
                JsonObject *prop = ql_json_array_object (props, i);
                const char *name = prop != NULL ? ql_json_string (prop, "name") : NULL;

                if (name != NULL && g_str_has_prefix (name, "child["))
                  empty = FALSE;
              }
          }
        if (empty)
          g_ptr_array_add (port_number (q->current, QL_PCIE_HOTPLUG_PREFIX) >= 0
                           ? q->result->free_reserved : q->result->free_other,
                           g_strdup (q->current));
      }
      break;
    }
  query_next (task);
}

static void
query_next (GTask *task)
{
  Query *q = g_task_get_task_data (task);
  QlQmp *qmp = g_task_get_source_object (task);
  g_autoptr(JsonObject) args = json_object_new ();

  switch (q->phase)
    {
    case QUERY_MACHINE:
      json_object_set_string_member (args, "path", "/machine");
      json_object_set_string_member (args, "property", "type");
      ql_qmp_execute_async (qmp, "qom-get", args, g_task_get_cancellable (task), query_reply, task);
      return;
    case QUERY_PERIPHERALS:
      json_object_set_string_member (args, "path", "/machine/peripheral");
      ql_qmp_execute_async (qmp, "qom-list", args, g_task_get_cancellable (task), query_reply, task);
      return;
    case QUERY_PORT:
    default:
      if (q->ports->len > 0)
        {
          g_autofree char *path = NULL;

          g_free (q->current);
          q->current = g_ptr_array_steal_index (q->ports, 0);
          /* A bridge's bus is named after it, and is its child. */
          path = g_strdup_printf ("/machine/peripheral/%s/%s", q->current, q->current);
          json_object_set_string_member (args, "path", path);
          ql_qmp_execute_async (qmp, "qom-list", args, g_task_get_cancellable (task), query_reply, task);
          return;
        }
      g_ptr_array_sort (q->result->free_reserved, compare_reserved);
      g_ptr_array_sort (q->result->free_other, compare_names);
      g_task_return_pointer (task, g_steal_pointer (&q->result), (GDestroyNotify) ql_pcie_runtime_ports_free);
      g_object_unref (task);
      return;
    }
}

/* Which root ports of the running VM are empty: the machine's QOM type,
 * the root ports among /machine/peripheral's children, and for each
 * whether its bus has a child. */
void
ql_pcie_query_ports_async (QlQmp               *qmp,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task = g_task_new (qmp, cancellable, callback, user_data);
  Query *q = g_new0 (Query, 1);

  g_task_set_source_tag (task, ql_pcie_query_ports_async);
  q->result = g_new0 (QlPcieRuntimePorts, 1);
  q->result->free_reserved = g_ptr_array_new_with_free_func (g_free);
  q->result->free_other = g_ptr_array_new_with_free_func (g_free);
  q->ports = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, q, (GDestroyNotify) query_free);
  query_next (task);
}

QlPcieRuntimePorts *
ql_pcie_query_ports_finish (QlQmp         *qmp,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, qmp), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
