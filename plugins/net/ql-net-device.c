/* qlaunch net plugin — QlNetDevice: a tap-backed virtio-net card.
 *
 * What it produces (govmm's NetDevice, corrected for QEMU 7.2):
 *
 *   -netdev tap,id=ID,ifname=IF,script=S,downscript=D[,queues=N]
 *   -netdev tap,id=ID,fds=3:4
 *     then, on either form, [,vhost=on[,vhostfds=5:6]]
 *   -device DRIVER,id=ID,netdev=ID[,mac=MAC][,bus=B][,addr=A]
 *     [,disable-modern=on][,mq=on,vectors=2N+2][,romfile=R]
 *
 * Differences from govmm, on purpose:
 * - every inconsistency is an error naming the property (govmm's Valid()
 *   silently dropped ipvtap/vethtap cards and macvtap without fds);
 * - `addr` is QEMU's hex `slot[.fn]` syntax, passed as is (govmm read a
 *   decimal number and printed it in hex);
 * - `mq=on,vectors=2N+2` only when there is more than one queue (govmm
 *   turned multiqueue on for a single fd too);
 * - ifname=/script=/downscript= are never combined with fds= (QEMU rejects
 *   them), and `script`/`down-script` default to "no" instead of QEMU's
 *   default of running /etc/qemu-ifup;
 * - `vhost=on` is only emitted when /dev/vhost-net is usable or vhost fds
 *   are passed: QEMU 7.2 aborts (SIGABRT) otherwise.
 */
#include "ql-net-device.h"

#include <string.h>

/* Linux's tun driver takes at most 256 queues (MAX_TAP_QUEUES); QEMU 7.2
 * fails with "could not configure /dev/net/tun (...): Argument list too
 * long" beyond. */
#define QL_NET_MAX_QUEUES 256

/* Linux's IFNAMSIZ minus the terminating NUL; QEMU truncates longer names. */
#define QL_NET_MAX_IF_NAME 15

struct _QlNetDevice
{
  QlDevice   parent_instance;

  QlNetType  net_type;
  char      *driver;
  char      *if_name;
  char      *bus;
  char      *addr;
  char      *script;
  char      *down_script;
  QlFdList  *fds;
  QlFdList  *vhost_fds;
  gboolean   vhost;
  char      *mac_address;
  gboolean   disable_modern;
  guint      queues;
  char      *rom_file;
};

G_DEFINE_FINAL_TYPE (QlNetDevice, ql_net_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_NET_TYPE,
  PROP_DRIVER,
  PROP_IF_NAME,
  PROP_BUS,
  PROP_ADDR,
  PROP_SCRIPT,
  PROP_DOWN_SCRIPT,
  PROP_FDS,
  PROP_VHOST_FDS,
  PROP_VHOST,
  PROP_MAC_ADDRESS,
  PROP_DISABLE_MODERN,
  PROP_QUEUES,
  PROP_ROM_FILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define QL_NET_DEFAULT_DRIVER "virtio-net-pci"
#define QL_NET_DEFAULT_SCRIPT "no"

static const char * const ql_net_drivers[] = {
  "virtio-net-pci",
  "virtio-net-pci-transitional",
  "virtio-net-pci-non-transitional",
  "virtio-net",
  NULL
};

static const char *
ql_net_type_to_nick (QlNetType type)
{
  static const char * const nicks[] = {
    [QL_NET_TYPE_TAP] = "tap",
    [QL_NET_TYPE_MACVTAP] = "macvtap",
    [QL_NET_TYPE_IPVTAP] = "ipvtap",
    [QL_NET_TYPE_VETHTAP] = "vethtap",
    [QL_NET_TYPE_VFIO] = "vfio",
    [QL_NET_TYPE_VHOST_USER] = "vhost-user",
  };

  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (nicks), "?");
  return nicks[type];
}

static guint
fd_list_length (QlFdList *list)
{
  return list != NULL ? ql_fd_list_get_length (list) : 0;
}

/* Number of queue pairs: `queues`, else one per fd, else one. */
static guint
ql_net_device_get_n_queues (QlNetDevice *self)
{
  if (self->queues > 0)
    return self->queues;
  if (fd_list_length (self->fds) > 0)
    return fd_list_length (self->fds);
  return 1;
}

static gboolean
driver_is_plain_virtio_net (const char *driver)
{
  return g_str_equal (driver, "virtio-net-pci") ||
         g_str_equal (driver, "virtio-net");
}

/* Six hex bytes separated by ':'. Sets *multicast from the first octet's
 * low bit (the I/G bit). QEMU 7.2 accepts a multicast address for a card
 * without a word, but it is no address a station can have: the guest's
 * driver discards it. */
static gboolean
parse_mac_address (const char *mac,
                   gboolean   *multicast)
{
  guint i;

  for (i = 0; i < 6; i++)
    {
      const char *p = mac + i * 3;

      if (!g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]))
        return FALSE;
      if (p[2] != (i == 5 ? '\0' : ':'))
        return FALSE;
    }

  *multicast = (g_ascii_xdigit_value (mac[1]) & 1) != 0;
  return TRUE;
}

/* The kernel's dev_valid_name(): what TUNSETIFF accepts. */
static gboolean
is_valid_if_name (const char *name)
{
  const char *p;

  if (strlen (name) > QL_NET_MAX_IF_NAME ||
      g_str_equal (name, ".") || g_str_equal (name, ".."))
    return FALSE;

  for (p = name; *p != '\0'; p++)
    {
      if (*p == '/' || *p == ':' || g_ascii_isspace (*p))
        return FALSE;
    }

  return TRUE;
}

/* Each fd non-negative and used once by this card. */
static gboolean
check_fd_list (QlNetDevice  *self,
               QlFdList     *list,
               const char   *property,
               GHashTable   *seen,
               GError      **error)
{
  guint n = fd_list_length (list);
  guint i;

  for (i = 0; i < n; i++)
    {
      int fd = ql_fd_list_get (list, i);

      if (fd < 0)
        {
          ql_device_set_error (QL_DEVICE (self), error,
                               QL_CONFIG_ERROR_INVALID_VALUE, property,
                               "'%d' is not a file descriptor: expected a number of 0 or more",
                               fd);
          return FALSE;
        }
      if (!g_hash_table_add (seen, GINT_TO_POINTER (fd)))
        {
          ql_device_set_error (QL_DEVICE (self), error,
                               QL_CONFIG_ERROR_CONFLICT, property,
                               "file descriptor '%d' is listed twice in fds and vhost-fds: each queue needs its own descriptor",
                               fd);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
probe_fd_list (QlNetDevice  *self,
               QlHostProbe  *probe,
               QlFdList     *list,
               const char   *property,
               GError      **error)
{
  guint n = fd_list_length (list);
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autoptr(GError) local_error = NULL;
      int fd = ql_fd_list_get (list, i);

      if (!ql_host_probe_fd_is_open (probe, fd, &local_error))
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST,
                               property,
                               "file descriptor '%d' cannot be handed to QEMU: %s",
                               fd, local_error->message);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
ql_net_device_valid (QlDevice    *device,
                     QlVmConfig  *vm,
                     GError     **error)
{
  QlNetDevice *self = QL_NET_DEVICE (device);
  QlHostProbe *probe = vm != NULL ? ql_vm_config_get_host_probe (vm) : NULL;
  g_autoptr(GHashTable) seen_fds = g_hash_table_new (NULL, NULL);
  guint n_fds = fd_list_length (self->fds);
  guint n_vhost_fds = fd_list_length (self->vhost_fds);
  guint n_queues;
  gboolean multicast = FALSE;

  switch (self->net_type)
    {
    case QL_NET_TYPE_VFIO:
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED,
                           "net-type",
                           "'vfio' is not a network backend: a VFIO function is a PCI device: use a [device] of type 'vfio' with its bdf");
      return FALSE;
    case QL_NET_TYPE_VHOST_USER:
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED,
                           "net-type",
                           "'vhost-user' is not handled by the net device: use device type 'vhost-user' with vhost-user-type=net");
      return FALSE;
    case QL_NET_TYPE_TAP:
    case QL_NET_TYPE_MACVTAP:
    case QL_NET_TYPE_IPVTAP:
    case QL_NET_TYPE_VETHTAP:
    default:
      break;
    }

  if (!g_strv_contains (ql_net_drivers, self->driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "driver",
                           "'%s' is not a supported driver: expected one of virtio-net-pci, virtio-net-pci-transitional, virtio-net-pci-non-transitional, virtio-net",
                           self->driver);
      return FALSE;
    }

  if (!ql_device_check_not_empty (QL_DEVICE (self), self->bus, "bus", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->addr, "addr", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->mac_address, "mac-address", error))
    return FALSE;

  if (self->addr != NULL && !ql_is_valid_pci_addr (self->addr))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "addr",
                           "'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1f.2'",
                           self->addr);
      return FALSE;
    }

  if (self->mac_address != NULL)
    {
      if (!parse_mac_address (self->mac_address, &multicast))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                               "mac-address",
                               "'%s' is not a MAC address: expected six hex bytes separated by ':', such as '52:54:00:12:34:56'",
                               self->mac_address);
          return FALSE;
        }
      if (multicast)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                               "mac-address",
                               "'%s' is a multicast address, which a network card cannot have: the first byte must be even, such as '52:54:00:12:34:56'",
                               self->mac_address);
          return FALSE;
        }
    }

  if (self->if_name != NULL && *self->if_name != '\0' &&
      !is_valid_if_name (self->if_name))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "if-name",
                           "'%s' is not an interface name: expected at most 15 characters, without '/', ':' or spaces",
                           self->if_name);
      return FALSE;
    }

  if (*self->script == '\0' || *self->down_script == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           *self->script == '\0' ? "script" : "down-script",
                           "the value is empty: expected 'no' (no script) or the path of a script");
      return FALSE;
    }

  if (self->disable_modern && !driver_is_plain_virtio_net (self->driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern",
                           "disable-modern=true only applies to drivers virtio-net-pci and virtio-net, not to '%s'",
                           self->driver);
      return FALSE;
    }

  if (!check_fd_list (self, self->fds, "fds", seen_fds, error) ||
      !check_fd_list (self, self->vhost_fds, "vhost-fds", seen_fds, error))
    return FALSE;

  if (n_fds > 0)
    {
      /* QEMU: "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=,
       * and vhostfd= are invalid with fds=". */
      if (self->if_name != NULL && *self->if_name != '\0')
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "if-name",
                               "'%s' cannot be used with fds: QEMU takes the interface from the descriptors; unset if-name or fds",
                               self->if_name);
          return FALSE;
        }
      if (!g_str_equal (self->script, QL_NET_DEFAULT_SCRIPT))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "script",
                               "'%s' cannot be used with fds: QEMU runs no script for descriptors it is given; leave script at 'no'",
                               self->script);
          return FALSE;
        }
      if (!g_str_equal (self->down_script, QL_NET_DEFAULT_SCRIPT))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "down-script",
                               "'%s' cannot be used with fds: QEMU runs no script for descriptors it is given; leave down-script at 'no'",
                               self->down_script);
          return FALSE;
        }
      if (self->queues != 0 && self->queues != n_fds)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "queues",
                               "'%u' differs from the number of fds (%u): each queue is one descriptor; set queues=%u or leave it at 0",
                               self->queues, n_fds, n_fds);
          return FALSE;
        }
    }
  else
    {
      if (self->net_type == QL_NET_TYPE_MACVTAP ||
          self->net_type == QL_NET_TYPE_IPVTAP)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "fds",
                               "net-type '%s' needs fds: QEMU cannot open a %s interface by name; pass the descriptors of its tap device",
                               ql_net_type_to_nick (self->net_type),
                               ql_net_type_to_nick (self->net_type));
          return FALSE;
        }
      if (self->if_name == NULL || *self->if_name == '\0')
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING,
                               "if-name",
                               "no interface given: set if-name to the tap interface, or pass fds");
          return FALSE;
        }
    }

  n_queues = ql_net_device_get_n_queues (self);
  if (n_queues > QL_NET_MAX_QUEUES)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "fds",
                           "%u fds given: a tap device has at most 256 queues",
                           n_queues);
      return FALSE;
    }

  if (n_vhost_fds > 0)
    {
      if (!self->vhost)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "vhost-fds",
                               "vhost fds are given but vhost is false: set vhost=true or remove vhost-fds");
          return FALSE;
        }
      if (n_fds == 0)
        {
          /* QEMU: "vhostfds= is invalid if fds= wasn't specified". */
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "vhost-fds",
                               "vhost fds need tap fds: QEMU accepts vhostfds only together with fds; pass fds or remove vhost-fds");
          return FALSE;
        }
      if (n_vhost_fds != n_queues)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "vhost-fds",
                               "%u vhost fds given for %u queues: expected one vhost fd per queue",
                               n_vhost_fds, n_queues);
          return FALSE;
        }
    }

  if (probe == NULL)
    return TRUE;

  if (self->vhost && n_vhost_fds == 0)
    {
      g_autoptr(GError) local_error = NULL;

      if (!ql_host_probe_device_usable (probe, "/dev/vhost-net", &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "vhost",
                               "vhost=true needs '/dev/vhost-net', which cannot be used: %s (QEMU 7.2 aborts without it); set vhost=false or pass vhost-fds",
                               local_error->message);
          return FALSE;
        }
    }

  if (!probe_fd_list (self, probe, self->fds, "fds", error) ||
      !probe_fd_list (self, probe, self->vhost_fds, "vhost-fds", error))
    return FALSE;

  return TRUE;
}

/* Registers each fd of @list with @cmdline in order and returns the numbers
 * QEMU will see them as. */
static GArray *
add_fd_list (QlCmdline *cmdline,
             QlFdList  *list)
{
  guint n = fd_list_length (list);
  GArray *numbers = g_array_sized_new (FALSE, FALSE, sizeof (int), n);

  for (guint i = 0; i < n; i++)
    {
      int qemu_fd = ql_cmdline_add_fd (cmdline, ql_fd_list_get (list, i));

      g_array_append_val (numbers, qemu_fd);
    }
  return numbers;
}

static gboolean
ql_net_device_qemu_params (QlDevice    *device,
                           QlVmConfig  *vm,
                           QlCmdline   *cmdline,
                           GError     **error)
{
  QlNetDevice *self = QL_NET_DEVICE (device);
  const char *id = ql_device_get_id (device);
  guint n_queues = ql_net_device_get_n_queues (self);
  g_autoptr(GArray) fd_numbers = NULL;
  g_autoptr(GArray) vhost_fd_numbers = NULL;
  QlOption *netdev;
  QlOption *dev;

  /* Numbers as QEMU sees them: this card's fds, then its vhost fds. */
  if (fd_list_length (self->fds) > 0)
    fd_numbers = add_fd_list (cmdline, self->fds);
  if (self->vhost && fd_list_length (self->vhost_fds) > 0)
    vhost_fd_numbers = add_fd_list (cmdline, self->vhost_fds);

  /* macvtap, ipvtap and vethtap are all tap netdevs to QEMU. */
  netdev = ql_cmdline_add_option (cmdline, "-netdev", "tap", "id", id, NULL);
  if (fd_numbers != NULL)
    {
      ql_option_set_fds (netdev, "fds", (const int *) fd_numbers->data, fd_numbers->len);
    }
  else
    {
      ql_option_set (netdev, "ifname", self->if_name);
      ql_option_set (netdev, "script", self->script);
      ql_option_set (netdev, "downscript", self->down_script);
      if (n_queues > 1)
        ql_option_set_uint (netdev, "queues", n_queues);
    }
  if (self->vhost)
    {
      ql_option_set_bool (netdev, "vhost", TRUE);
      if (vhost_fd_numbers != NULL)
        ql_option_set_fds (netdev, "vhostfds", (const int *) vhost_fd_numbers->data,
                           vhost_fd_numbers->len);
    }

  dev = ql_cmdline_add_option (cmdline, "-device", self->driver,
                               "id", id,
                               "netdev", id,
                               "mac", self->mac_address,
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (self->disable_modern)
    ql_option_set_bool (dev, "disable-modern", TRUE);
  if (n_queues > 1)
    {
      /* N rx + N tx queues, one config vector, one control queue. */
      ql_option_set_bool (dev, "mq", TRUE);
      ql_option_set_uint (dev, "vectors", 2 * (guint64) n_queues + 2);
    }
  /* An empty rom-file is meaningful: `romfile=` skips the iPXE ROM. */
  if (self->rom_file != NULL)
    ql_option_set (dev, "romfile", self->rom_file);

  return TRUE;
}

static void
set_string_or_default (char       **field,
                       const GValue *value,
                       const char  *default_value)
{
  const char *text = g_value_get_string (value);

  g_free (*field);
  *field = g_strdup (text != NULL ? text : default_value);
}

static void
ql_net_device_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  QlNetDevice *self = QL_NET_DEVICE (object);

  switch (prop_id)
    {
    case PROP_NET_TYPE:
      self->net_type = g_value_get_enum (value);
      break;
    case PROP_DRIVER:
      /* NULL restores the default, like for every string with one. */
      set_string_or_default (&self->driver, value, QL_NET_DEFAULT_DRIVER);
      break;
    case PROP_IF_NAME:
      set_string_or_default (&self->if_name, value, NULL);
      break;
    case PROP_BUS:
      set_string_or_default (&self->bus, value, NULL);
      break;
    case PROP_ADDR:
      set_string_or_default (&self->addr, value, NULL);
      break;
    case PROP_SCRIPT:
      set_string_or_default (&self->script, value, QL_NET_DEFAULT_SCRIPT);
      break;
    case PROP_DOWN_SCRIPT:
      set_string_or_default (&self->down_script, value, QL_NET_DEFAULT_SCRIPT);
      break;
    case PROP_FDS:
      g_clear_pointer (&self->fds, ql_fd_list_unref);
      self->fds = g_value_dup_boxed (value);
      break;
    case PROP_VHOST_FDS:
      g_clear_pointer (&self->vhost_fds, ql_fd_list_unref);
      self->vhost_fds = g_value_dup_boxed (value);
      break;
    case PROP_VHOST:
      self->vhost = g_value_get_boolean (value);
      break;
    case PROP_MAC_ADDRESS:
      set_string_or_default (&self->mac_address, value, NULL);
      break;
    case PROP_DISABLE_MODERN:
      self->disable_modern = g_value_get_boolean (value);
      break;
    case PROP_QUEUES:
      self->queues = g_value_get_uint (value);
      break;
    case PROP_ROM_FILE:
      set_string_or_default (&self->rom_file, value, NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_net_device_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  QlNetDevice *self = QL_NET_DEVICE (object);

  switch (prop_id)
    {
    case PROP_NET_TYPE:
      g_value_set_enum (value, self->net_type);
      break;
    case PROP_DRIVER:
      g_value_set_string (value, self->driver);
      break;
    case PROP_IF_NAME:
      g_value_set_string (value, self->if_name);
      break;
    case PROP_BUS:
      g_value_set_string (value, self->bus);
      break;
    case PROP_ADDR:
      g_value_set_string (value, self->addr);
      break;
    case PROP_SCRIPT:
      g_value_set_string (value, self->script);
      break;
    case PROP_DOWN_SCRIPT:
      g_value_set_string (value, self->down_script);
      break;
    case PROP_FDS:
      g_value_set_boxed (value, self->fds);
      break;
    case PROP_VHOST_FDS:
      g_value_set_boxed (value, self->vhost_fds);
      break;
    case PROP_VHOST:
      g_value_set_boolean (value, self->vhost);
      break;
    case PROP_MAC_ADDRESS:
      g_value_set_string (value, self->mac_address);
      break;
    case PROP_DISABLE_MODERN:
      g_value_set_boolean (value, self->disable_modern);
      break;
    case PROP_QUEUES:
      g_value_set_uint (value, self->queues);
      break;
    case PROP_ROM_FILE:
      g_value_set_string (value, self->rom_file);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_net_device_finalize (GObject *object)
{
  QlNetDevice *self = QL_NET_DEVICE (object);

  g_free (self->driver);
  g_free (self->if_name);
  g_free (self->bus);
  g_free (self->addr);
  g_free (self->script);
  g_free (self->down_script);
  g_clear_pointer (&self->fds, ql_fd_list_unref);
  g_clear_pointer (&self->vhost_fds, ql_fd_list_unref);
  g_free (self->mac_address);
  g_free (self->rom_file);

  G_OBJECT_CLASS (ql_net_device_parent_class)->finalize (object);
}

static void
ql_net_device_class_init (QlNetDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_net_device_set_property;
  object_class->get_property = ql_net_device_get_property;
  object_class->finalize = ql_net_device_finalize;

  device_class->valid = ql_net_device_valid;
  device_class->qemu_params = ql_net_device_qemu_params;

  properties[PROP_NET_TYPE] =
    g_param_spec_enum ("net-type", "Net type",
                       "Kind of host interface: tap, macvtap, ipvtap or vethtap (all QEMU tap netdevs); vfio and vhost-user are separate device types",
                       QL_TYPE_NET_TYPE, QL_NET_TYPE_TAP, flags);
  properties[PROP_DRIVER] =
    g_param_spec_string ("driver", "Driver",
                         "QEMU device model: virtio-net-pci, virtio-net-pci-transitional, virtio-net-pci-non-transitional or virtio-net (an alias of virtio-net-pci)",
                         QL_NET_DEFAULT_DRIVER, flags);
  properties[PROP_IF_NAME] =
    g_param_spec_string ("if-name", "Interface name",
                         "Host tap interface QEMU opens by name (ifname=); required unless fds are given, and not allowed with them",
                         NULL, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus the card plugs into, such as 'pcie.0' or a bridge id; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on the bus in QEMU's hex syntax slot[.function], such as '5' or '1f.2'",
                         NULL, flags);
  properties[PROP_SCRIPT] =
    g_param_spec_string ("script", "Up script",
                         "Script QEMU runs after opening the tap by name; 'no' for none (QEMU's own default would run /etc/qemu-ifup)",
                         QL_NET_DEFAULT_SCRIPT, flags);
  properties[PROP_DOWN_SCRIPT] =
    g_param_spec_string ("down-script", "Down script",
                         "Script QEMU runs when closing a tap it opened by name; 'no' for none (QEMU's own default would run /etc/qemu-ifdown)",
                         QL_NET_DEFAULT_SCRIPT, flags);
  properties[PROP_FDS] =
    g_param_spec_boxed ("fds", "Tap fds",
                        "Open tap descriptors, one per queue (fds=); needed for macvtap and ipvtap",
                        QL_TYPE_FD_LIST, flags);
  properties[PROP_VHOST_FDS] =
    g_param_spec_boxed ("vhost-fds", "Vhost fds",
                        "Open /dev/vhost-net descriptors, one per queue (vhostfds=); need vhost=true and fds",
                        QL_TYPE_FD_LIST, flags);
  properties[PROP_VHOST] =
    g_param_spec_boolean ("vhost", "Vhost",
                          "Let the host kernel (vhost-net) move the packets; needs a usable /dev/vhost-net or vhost-fds",
                          FALSE, flags);
  properties[PROP_MAC_ADDRESS] =
    g_param_spec_string ("mac-address", "MAC address",
                         "Guest MAC address, six hex bytes separated by ':' (not multicast); QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "Expose a legacy (virtio 0.9) device only; for drivers virtio-net-pci and virtio-net",
                          FALSE, flags);
  properties[PROP_QUEUES] =
    g_param_spec_uint ("queues", "Queues",
                       "Number of queue pairs; 0 means one per fd, or one without fds. More than one turns on multiqueue (mq=on, vectors=2N+2)",
                       0, QL_NET_MAX_QUEUES, 0, flags);
  properties[PROP_ROM_FILE] =
    g_param_spec_string ("rom-file", "ROM file",
                         "Option ROM of the card (romfile=); empty for none, which skips the iPXE boot ROM; unset keeps QEMU's default",
                         NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_net_device_init (QlNetDevice *self)
{
  self->net_type = QL_NET_TYPE_TAP;
  self->driver = g_strdup (QL_NET_DEFAULT_DRIVER);
  self->script = g_strdup (QL_NET_DEFAULT_SCRIPT);
  self->down_script = g_strdup (QL_NET_DEFAULT_SCRIPT);
}
