/* qlaunch net plugin — QlNetDevice: a virtio-net card on a tap or on QEMU's
 * user-mode network stack.
 *
 * What it produces (govmm's NetDevice, corrected for QEMU 7.2):
 *
 *   -netdev tap,id=ID,ifname=IF,script=S,downscript=D[,queues=N]
 *   -netdev tap,id=ID,fds=3:4
 *     then, on either form, [,vhost=on[,vhostfds=5:6]]
 *   -netdev user,id=ID[,net=CIDR][,dns=A][,restrict=on][,ipv6=off]
 *     [,hostname=H][,hostfwd=RULE]...   (net-type user, beyond govmm)
 *   -netdev stream,id=ID,server=off,addr.type=unix,addr.path=SOCK
 *     with a passt helper listening on SOCK (net-type passt, beyond govmm)
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
 *
 * The user-mode stack (slirp) needs no host interface and no privileges.
 * Its settings are checked the way QEMU 7.2's net_slirp_init() and
 * libslirp 4.7 use them, and more strictly where QEMU would accept
 * something that cannot work (a network too small for slirp's addresses,
 * a forward to the gateway, octal-looking numbers): see check_user().
 *
 * passt (net-type passt) is the same idea in a process of its own, which
 * QEMU 7.2 reaches through -netdev stream: the plugin declares it as a
 * helper (started, and listening, before QEMU; stopped after), with the
 * forwards as its -t/-u port specs: see check_passt() and
 * add_passt_netdev().
 */
#include "ql-net-device.h"

#include <string.h>
#include <unistd.h>

/* Linux's tun driver takes at most 256 queues (MAX_TAP_QUEUES); QEMU 7.2
 * fails with "could not configure /dev/net/tun (...): Argument list too
 * long" beyond. */
#define QL_NET_MAX_QUEUES 256

/* Linux's IFNAMSIZ minus the terminating NUL; QEMU truncates longer names. */
#define QL_NET_MAX_IF_NAME 15

/* QEMU's user-mode network when net= is not given. */
#define QL_NET_USER_DEFAULT_NETWORK "10.0.2.0/24"
/* Prefixes of guest-network: QEMU 7.2 takes 4 to 32 ("Invalid netmask
 * provided (must be in range 4-32)"), but slirp puts its gateway at .2, its
 * DNS server at .3 and hands out 16 DHCP leases from .15 (libslirp's
 * NB_BOOTP_CLIENTS): on a /28, .15 is the broadcast address, and from /30
 * on QEMU refuses ("DHCP must be different from host and DNS"). */
#define QL_NET_USER_MIN_PREFIX 4
#define QL_NET_USER_MAX_PREFIX 27
#define QL_NET_USER_DHCP_LEASES 16
/* QEMU 7.2: "'vhostname' parameter cannot exceed 255 bytes". */
#define QL_NET_USER_MAX_HOSTNAME 255
/* The longest device id written whole into the name of passt's socket. */

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
  /* net-type user */
  char     **host_forwards;
  char      *guest_network;
  char      *dns;
  gboolean   restrict_;
  gboolean   ipv6;
  char      *hostname;
  /* net-type passt */
  char      *passt_binary;
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
  PROP_HOST_FORWARDS,
  PROP_GUEST_NETWORK,
  PROP_DNS,
  PROP_RESTRICT,
  PROP_IPV6,
  PROP_HOSTNAME,
  PROP_PASST_BINARY,
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
    [QL_NET_TYPE_USER] = "user",
    [QL_NET_TYPE_PASST] = "passt",
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

/* disable-modern only exists on the plain virtio-net models. */
static gboolean
check_disable_modern (QlNetDevice  *self,
                      GError      **error)
{
  if (self->disable_modern && !driver_is_plain_virtio_net (self->driver))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern",
                           "disable-modern=true only applies to drivers virtio-net-pci and virtio-net, not to '%s'",
                           self->driver);
      return FALSE;
    }
  return TRUE;
}

/* ---- net-type user: QEMU's user-mode network stack (slirp) ---- */

/* guest-network and the addresses slirp derives from it, as QEMU 7.2's
 * net_slirp_init() computes them (host byte order). */
typedef struct
{
  guint32 network;
  guint32 mask;
  guint   prefix;
  guint32 gateway;      /* slirp's own address (QEMU's host=) */
  guint32 dns;          /* dns=, or the network's .3 */
  guint32 dhcp_start;   /* the first lease, the network's .15 */
} QlUserNetwork;

/* One element of host-forwards. */
typedef struct
{
  const char *text;
  gboolean    udp;
  char        host_address[16];  /* as written; empty for every address */
  guint32     host_addr;         /* 0: every address */
  guint       host_port;
  guint32     guest_addr;        /* 0: the first DHCP lease */
  guint       guest_port;
} QlNetForward;

static void
format_ipv4 (guint32 address,
             char     buf[16])
{
  g_snprintf (buf, 16, "%u.%u.%u.%u", address >> 24, (address >> 16) & 0xff,
              (address >> 8) & 0xff, address & 0xff);
}

/* Decimal digits without a leading zero, at most @max_digits of them. */
static gboolean
parse_decimal (const char *text,
               gsize       len,
               gsize       max_digits,
               guint      *out)
{
  guint value = 0;

  if (len == 0 || len > max_digits || (text[0] == '0' && len > 1))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = value * 10 + (guint) (text[i] - '0');
    }
  *out = value;
  return TRUE;
}

/* Four decimal numbers 0-255 separated by '.', without leading zeros: the
 * inet_aton() QEMU uses would read "010" as octal 8 and "127.1" as
 * 127.0.0.1. */
static gboolean
parse_ipv4 (const char *text,
            gsize       len,
            guint32    *out)
{
  guint32 value = 0;
  gsize start = 0;

  for (guint part = 0; part < 4; part++)
    {
      gsize end = start;
      guint number;

      while (end < len && text[end] != '.')
        end++;
      if ((part < 3) != (end < len)
          || !parse_decimal (text + start, end - start, 3, &number) || number > 255)
        return FALSE;
      value = (value << 8) | number;
      start = end + 1;
    }
  *out = value;
  return TRUE;
}

/* A port: 1 to 65535, decimal (QEMU reads "022" as octal 18). */
static gboolean
parse_port (const char *text,
            gsize       len,
            guint      *out)
{
  return parse_decimal (text, len, 5, out) && *out >= 1 && *out <= 65535;
}

/* RFC 1123 host name: labels of letters, digits and '-' (not first or
 * last), 1 to 63 bytes each, separated by '.'. */
static gboolean
is_valid_hostname (const char *name)
{
  gsize label = 0;

  if (strlen (name) > QL_NET_USER_MAX_HOSTNAME)
    return FALSE;
  for (const char *p = name; ; p++)
    {
      if (*p == '.' || *p == '\0')
        {
          if (label == 0 || label > 63 || p[-1] == '-')
            return FALSE;
          if (*p == '\0')
            return TRUE;
          label = 0;
          continue;
        }
      if (!g_ascii_isalnum (*p) && !(*p == '-' && label > 0))
        return FALSE;
      label++;
    }
}

static gboolean
ranges_overlap (guint32 first_a,
                guint32 last_a,
                guint32 first_b,
                guint32 last_b)
{
  return first_a <= last_b && first_b <= last_a;
}

/* What an address of @net is to slirp, or NULL for a plain guest address. */
static const char *
special_address (const QlUserNetwork *net,
                 guint32              address,
                 gboolean             with_dns)
{
  if (address == net->network)
    return "the network's own address";
  if (address == (net->network | ~net->mask))
    return "the broadcast address";
  if (address == net->gateway)
    return "slirp's gateway address";
  if (with_dns && address == net->dns)
    return "the DNS server address";
  return NULL;
}

/* guest-network, or QEMU's default, into @net (dns: the default .3). */
static gboolean
check_guest_network (QlNetDevice    *self,
                     QlUserNetwork  *net,
                     GError        **error)
{
  static const struct
  {
    guint32 first, last;
    const char *what;
  } reserved[] = {
    { 0x00000000u, 0x00ffffffu, "0.0.0.0/8 (this network)" },
    { 0x7f000000u, 0x7fffffffu, "127.0.0.0/8 (loopback)" },
    { 0xe0000000u, 0xffffffffu, "224.0.0.0/3 (multicast and reserved)" },
  };
  const char *text = self->guest_network != NULL ? self->guest_network : QL_NET_USER_DEFAULT_NETWORK;
  const char *slash = strchr (text, '/');
  guint32 address = 0;
  guint prefix = 0;
  char shown[16];

  if (slash == NULL || !parse_ipv4 (text, (gsize) (slash - text), &address)
      || !parse_decimal (slash + 1, strlen (slash + 1), 2, &prefix) || prefix > 32)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "guest-network",
                           "'%s' is not an IPv4 network: expected address/prefix, such as '10.0.2.0/24'",
                           text);
      return FALSE;
    }
  if (prefix < QL_NET_USER_MIN_PREFIX || prefix > QL_NET_USER_MAX_PREFIX)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "guest-network",
                           "'%s': a /%u network does not fit QEMU's user-mode stack: expected a prefix from /4 to /27 (slirp's gateway is .2, its DNS server .3, and it leases 16 addresses from .15)",
                           text, prefix);
      return FALSE;
    }
  net->prefix = prefix;
  net->mask = 0xffffffffu << (32 - prefix);
  if ((address & ~net->mask) != 0)
    {
      format_ipv4 (address & net->mask, shown);
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "guest-network",
                           "'%s' has host bits set: expected the network's own address, '%s/%u'",
                           text, shown, prefix);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (reserved); i++)
    if (ranges_overlap (address, address | ~net->mask, reserved[i].first, reserved[i].last))
      {
        ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE,
                             "guest-network",
                             "'%s' overlaps %s: expected a unicast network a guest can use, such as '10.0.2.0/24'",
                             text, reserved[i].what);
        return FALSE;
      }
  net->network = address;
  /* QEMU 7.2, net_slirp_init(): host .2, dns .3, dhcp .15, masked. */
  net->gateway = address | (0x0202u & ~net->mask);
  net->dns = address | (0x0203u & ~net->mask);
  net->dhcp_start = address | (0x020fu & ~net->mask);
  return TRUE;
}

/* dns: an address of the guest network that slirp does not use itself.
 * QEMU 7.2 takes one outside the network unless restrict=on ("DNS doesn't
 * belong to network"); qlaunch wants it inside either way. With
 * restrict=on it would do nothing: libslirp's DHCP then announces neither
 * router nor DNS server, and it drops the guest's DNS queries (any UDP but
 * DHCP and TFTP). */
static gboolean
check_dns (QlNetDevice    *self,
           QlUserNetwork  *net,
           GError        **error)
{
  const char *network = self->guest_network != NULL ? self->guest_network : QL_NET_USER_DEFAULT_NETWORK;
  const char *what;
  guint32 dns = 0;
  char example[16];
  char first[16];
  char last[16];

  if (self->dns == NULL)
    return TRUE;
  if (self->restrict_)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "dns",
                           "'%s' has no effect with restrict=true: the restricted stack announces no DNS server and relays no DNS query; remove dns or set restrict=false",
                           self->dns);
      return FALSE;
    }
  format_ipv4 (net->dns, example);
  if (!parse_ipv4 (self->dns, strlen (self->dns), &dns))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "dns",
                           "'%s' is not an IPv4 address: expected one in guest-network %s, such as '%s'",
                           self->dns, network, example);
      return FALSE;
    }
  if ((dns & net->mask) != net->network)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "dns",
                           "'%s' is outside guest-network %s: expected an address of the guest's network, such as '%s'",
                           self->dns, network, example);
      return FALSE;
    }
  what = special_address (net, dns, FALSE);
  if (what != NULL)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "dns",
                           "'%s' is %s of guest-network %s: expected another address, such as '%s'",
                           self->dns, what, network, example);
      return FALSE;
    }
  if (dns >= net->dhcp_start && dns < net->dhcp_start + QL_NET_USER_DHCP_LEASES)
    {
      format_ipv4 (net->dhcp_start, first);
      format_ipv4 (net->dhcp_start + QL_NET_USER_DHCP_LEASES - 1, last);
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "dns",
                           "'%s' is in the DHCP range %s to %s of guest-network %s, where slirp leases guest addresses: expected another address, such as '%s'",
                           self->dns, first, last, network, example);
      return FALSE;
    }
  net->dns = dns;
  return TRUE;
}

static gboolean
forward_syntax_error (QlNetDevice  *self,
                      const char   *text,
                      GError      **error)
{
  ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                       "'%s' is not a forward: expected [tcp|udp]:[host address]:host port-[guest address]:guest port, such as 'tcp::2222-:22' or 'udp:127.0.0.1:5353-:53'",
                       text);
  return FALSE;
}

/* One forward, QEMU's hostfwd syntax as slirp_hostfwd() reads it (without
 * its `unix:` form, which QEMU 7.2 lacks). @net: the user-mode network the
 * guest address must lie in; NULL for passt, which forwards to the
 * guest's one address only. */
static gboolean
parse_forward (QlNetDevice          *self,
               const QlUserNetwork  *net,
               const char           *text,
               QlNetForward         *fwd,
               GError              **error)
{
  const char *network = self->guest_network != NULL ? self->guest_network : QL_NET_USER_DEFAULT_NETWORK;
  const char *proto_end = strchr (text, ':');
  const char *address_end = proto_end != NULL ? strchr (proto_end + 1, ':') : NULL;
  const char *port_end = address_end != NULL ? strchr (address_end + 1, '-') : NULL;
  const char *guest_end = port_end != NULL ? strchr (port_end + 1, ':') : NULL;
  g_autofree char *part = NULL;
  const char *what;
  char lease[16] = "";

  memset (fwd, 0, sizeof *fwd);
  fwd->text = text;
  if (guest_end == NULL)
    return forward_syntax_error (self, text, error);

  part = g_strndup (text, (gsize) (proto_end - text));
  if (*part == '\0' || g_str_equal (part, "tcp"))
    fwd->udp = FALSE;
  else if (g_str_equal (part, "udp"))
    fwd->udp = TRUE;
  else
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                           "forward '%s': protocol '%s' is not tcp or udp (empty means tcp)",
                           text, part);
      return FALSE;
    }

  g_free (part);
  part = g_strndup (proto_end + 1, (gsize) (address_end - proto_end - 1));
  if (*part != '\0')
    {
      if (strlen (part) >= sizeof fwd->host_address
          || !parse_ipv4 (part, strlen (part), &fwd->host_addr))
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                               "forward '%s': host address '%s' is not an IPv4 address: expected four numbers 0-255 such as '127.0.0.1', or nothing for every address",
                               text, part);
          return FALSE;
        }
      g_strlcpy (fwd->host_address, part, sizeof fwd->host_address);
    }

  g_free (part);
  part = g_strndup (address_end + 1, (gsize) (port_end - address_end - 1));
  if (!parse_port (part, strlen (part), &fwd->host_port))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                           "forward '%s': host port '%s' is not a port: expected a decimal number from 1 to 65535 without leading zeros",
                           text, part);
      return FALSE;
    }

  g_free (part);
  part = g_strndup (port_end + 1, (gsize) (guest_end - port_end - 1));
  if (net == NULL && *part != '\0')
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                           "forward '%s': guest address '%s' cannot be given to passt, which forwards to the guest's one address (the host's, given by DHCP): leave it empty, as in 'tcp::2222-:22'",
                           text, part);
      return FALSE;
    }
  if (net != NULL)
    format_ipv4 (net->dhcp_start, lease);
  if (*part != '\0')
    {
      if (!parse_ipv4 (part, strlen (part), &fwd->guest_addr))
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                               "forward '%s': guest address '%s' is not an IPv4 address: expected one in guest-network %s, or nothing for the guest's DHCP address %s",
                               text, part, network, lease);
          return FALSE;
        }
      if ((fwd->guest_addr & net->mask) != net->network)
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                               "forward '%s': guest address '%s' is outside guest-network %s: expected an address in it, or nothing for the guest's DHCP address %s",
                               text, part, network, lease);
          return FALSE;
        }
      what = special_address (net, fwd->guest_addr, TRUE);
      if (what != NULL)
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                               "forward '%s': guest address '%s' is %s of guest-network %s, not a guest's: expected a guest address, or nothing for the guest's DHCP address %s",
                               text, part, what, network, lease);
          return FALSE;
        }
    }

  if (!parse_port (guest_end + 1, strlen (guest_end + 1), &fwd->guest_port))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                           "forward '%s': guest port '%s' is not a port: expected a decimal number from 1 to 65535 without leading zeros",
                           text, guest_end + 1);
      return FALSE;
    }
  return TRUE;
}

/* Two forwards that bind the same host port: same protocol and port, and
 * the same address or one of them on every address (empty or 0.0.0.0):
 * the second bind() fails with EADDRINUSE. */
static gboolean
forwards_clash (const QlNetForward *a,
                const QlNetForward *b)
{
  return a->udp == b->udp && a->host_port == b->host_port
         && (a->host_addr == 0 || b->host_addr == 0 || a->host_addr == b->host_addr);
}

/* host-forwards: every element parsed into @out_forwards (@out_n of them),
 * no two on the same host port. */
static gboolean
check_forwards (QlNetDevice          *self,
                const QlUserNetwork  *net,
                QlNetForward        **out_forwards,
                guint                *out_n,
                GError              **error)
{
  guint n = self->host_forwards != NULL ? g_strv_length (self->host_forwards) : 0;
  g_autofree QlNetForward *forwards = NULL;

  *out_forwards = NULL;
  *out_n = 0;
  if (self->host_forwards == NULL)
    return TRUE;
  if (n == 0)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                           "the list is empty: leave it unset or give forwards such as 'tcp::2222-:22'");
      return FALSE;
    }

  forwards = g_new0 (QlNetForward, n);
  for (guint i = 0; i < n; i++)
    {
      if (*self->host_forwards[i] == '\0')
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                               "forward %u of %u is empty: expected [tcp|udp]:[host address]:host port-[guest address]:guest port, such as 'tcp::2222-:22'",
                               i + 1, n);
          return FALSE;
        }
      if (!parse_forward (self, net, self->host_forwards[i], &forwards[i], error))
        return FALSE;
      for (guint k = 0; k < i; k++)
        if (forwards_clash (&forwards[k], &forwards[i]))
          {
            ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "host-forwards",
                                 "forward '%s': host port %u/%s is already forwarded by '%s': a host port (on one address, or on every address) takes one forward",
                                 forwards[i].text, forwards[i].host_port,
                                 forwards[i].udp ? "udp" : "tcp", forwards[k].text);
            return FALSE;
          }
    }

  *out_forwards = g_steal_pointer (&forwards);
  *out_n = n;
  return TRUE;
}

/* With host checks on: each forwarded host port can be bound now. */
static gboolean
probe_forwards (QlNetDevice         *self,
                QlHostProbe         *probe,
                const QlNetForward  *forwards,
                guint                n,
                GError             **error)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) local_error = NULL;
      const QlNetForward *fwd = &forwards[i];

      if (ql_host_probe_port_available (probe, fwd->udp, fwd->host_address, fwd->host_port,
                                        &local_error))
        continue;
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        return TRUE;
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST, "host-forwards",
                           "forward '%s': host port %u/%s on %s cannot be bound: %s%s",
                           fwd->text, fwd->host_port, fwd->udp ? "udp" : "tcp",
                           fwd->host_address[0] != '\0' ? fwd->host_address : "every address",
                           local_error->message,
                           g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED)
                           && fwd->host_port < 1024
                           ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a higher host port)"
                           : "; choose another host port or stop what holds it");
      return FALSE;
    }
  return TRUE;
}

/* A property of tap netdevs set on a user-mode card (user or passt). */
static gboolean
check_no_tap_property (QlNetDevice  *self,
                       GError      **error)
{
  const char *property;
  g_autofree char *shown = NULL;

  if (self->if_name != NULL)
    {
      property = "if-name";
      shown = g_strdup_printf ("'%s'", self->if_name);
    }
  else if (!g_str_equal (self->script, QL_NET_DEFAULT_SCRIPT))
    {
      property = "script";
      shown = g_strdup_printf ("'%s'", self->script);
    }
  else if (!g_str_equal (self->down_script, QL_NET_DEFAULT_SCRIPT))
    {
      property = "down-script";
      shown = g_strdup_printf ("'%s'", self->down_script);
    }
  else if (fd_list_length (self->fds) > 0)
    {
      property = "fds";
      shown = g_strdup_printf ("%u descriptor(s)", fd_list_length (self->fds));
    }
  else if (fd_list_length (self->vhost_fds) > 0)
    {
      property = "vhost-fds";
      shown = g_strdup_printf ("%u descriptor(s)", fd_list_length (self->vhost_fds));
    }
  else if (self->vhost)
    {
      property = "vhost";
      shown = g_strdup ("vhost=true");
    }
  else if (self->queues != 0)
    {
      property = "queues";
      shown = g_strdup_printf ("queues=%u", self->queues);
    }
  else
    return TRUE;

  if (self->net_type == QL_NET_TYPE_PASST)
    ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, property,
                         "%s is for tap interfaces, not for net-type 'passt' (passt's user-mode network has no host interface and one queue): remove %s",
                         shown, property);
  else
    ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, property,
                         "%s is for tap interfaces, not for net-type 'user' (QEMU's user-mode stack has no host interface and one queue): remove %s",
                         shown, property);
  return FALSE;
}

/* A user-mode property set on a tap card: host-forwards, dns and ipv6
 * apply to user and passt, passt-binary to passt, the rest to user. */
static gboolean
check_no_user_property (QlNetDevice  *self,
                        GError      **error)
{
  const char *property;
  g_autofree char *shown = NULL;

  if (self->host_forwards != NULL || self->dns != NULL || !self->ipv6)
    {
      if (self->host_forwards != NULL)
        {
          g_autofree char *joined = g_strjoinv (";", self->host_forwards);

          property = "host-forwards";
          shown = g_strdup_printf ("'%s'", joined);
        }
      else if (self->dns != NULL)
        {
          property = "dns";
          shown = g_strdup_printf ("'%s'", self->dns);
        }
      else
        {
          property = "ipv6";
          shown = g_strdup ("ipv6=false");
        }
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, property,
                           "%s only applies to user-mode networking (net-type 'user' or 'passt'), not to '%s': set net-type=user or net-type=passt, or remove %s",
                           shown, ql_net_type_to_nick (self->net_type), property);
      return FALSE;
    }
  if (self->passt_binary != NULL)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "passt-binary",
                           "'%s' only applies to net-type 'passt', not to '%s': set net-type=passt or remove passt-binary",
                           self->passt_binary, ql_net_type_to_nick (self->net_type));
      return FALSE;
    }
  if (self->guest_network != NULL)
    {
      property = "guest-network";
      shown = g_strdup_printf ("'%s'", self->guest_network);
    }
  else if (self->restrict_)
    {
      property = "restrict";
      shown = g_strdup ("restrict=true");
    }
  else if (self->hostname != NULL)
    {
      property = "hostname";
      shown = g_strdup_printf ("'%s'", self->hostname);
    }
  else
    return TRUE;

  ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, property,
                       "%s only applies to net-type 'user' (QEMU's user-mode stack), not to '%s': set net-type=user or remove %s",
                       shown, ql_net_type_to_nick (self->net_type), property);
  return FALSE;
}

/* Everything about a net-type user card after the checks common to every
 * card (driver, bus, addr, mac-address). */
static gboolean
check_user (QlNetDevice  *self,
            QlHostProbe  *probe,
            GError      **error)
{
  QlUserNetwork net = { 0 };
  g_autofree QlNetForward *forwards = NULL;
  guint n_forwards = 0;

  if (!check_no_tap_property (self, error) || !check_disable_modern (self, error))
    return FALSE;
  if (self->passt_binary != NULL)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "passt-binary",
                           "'%s' only applies to net-type 'passt', not to 'user' (QEMU's own user-mode stack runs no helper): set net-type=passt or remove passt-binary",
                           self->passt_binary);
      return FALSE;
    }
  if (!ql_device_check_not_empty (QL_DEVICE (self), self->guest_network, "guest-network", error)
      || !ql_device_check_not_empty (QL_DEVICE (self), self->dns, "dns", error)
      || !ql_device_check_not_empty (QL_DEVICE (self), self->hostname, "hostname", error))
    return FALSE;
  if (!check_guest_network (self, &net, error) || !check_dns (self, &net, error))
    return FALSE;
  if (self->hostname != NULL && !is_valid_hostname (self->hostname))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "hostname",
                           "'%s' is not a host name: expected labels of letters, digits and '-' (not first or last) separated by '.', each at most 63 bytes, at most 255 in all",
                           self->hostname);
      return FALSE;
    }
  if (!check_forwards (self, &net, &forwards, &n_forwards, error))
    return FALSE;
  if (probe != NULL && !probe_forwards (self, probe, forwards, n_forwards, error))
    return FALSE;
  return TRUE;
}

/* ---- net-type passt: passt beside QEMU, through -netdev stream ---- */

/* A slirp setting that passt has no equivalent of. */
static gboolean
check_passt_no_slirp_property (QlNetDevice  *self,
                               GError      **error)
{
  if (self->guest_network != NULL)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "guest-network",
                           "'%s' is for net-type 'user': passt gives the guest the address, prefix and gateway of the host's interface with the default route, so the guest's network is the host's; remove guest-network, or use net-type=user",
                           self->guest_network);
      return FALSE;
    }
  if (self->restrict_)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "restrict",
                           "restrict=true is for net-type 'user': passt has no mode that cuts the guest off while forwarding ports in; remove restrict, or use net-type=user");
      return FALSE;
    }
  if (self->hostname != NULL)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "hostname",
                           "'%s' is for net-type 'user': qlaunch gives passt no host name to hand out by DHCP; remove hostname, or use net-type=user",
                           self->hostname);
      return FALSE;
    }
  return TRUE;
}

/* dns for passt: the IPv4 address it announces by DHCP instead of the
 * host's resolvers (--dns). The guest sends its queries there through
 * passt, as any traffic: no address of the guest's own (0.0.0.0/8,
 * loopback) nor a multicast one. */
static gboolean
check_passt_dns (QlNetDevice  *self,
                 GError      **error)
{
  guint32 dns = 0;

  if (self->dns == NULL)
    return TRUE;
  if (!parse_ipv4 (self->dns, strlen (self->dns), &dns))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "dns",
                           "'%s' is not an IPv4 address: expected four numbers 0-255 without leading zeros, such as '192.0.2.53'",
                           self->dns);
      return FALSE;
    }
  if (dns >> 24 == 0 || dns >> 24 == 127 || dns >= 0xe0000000u)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "dns",
                           "'%s' is no DNS server the guest can reach: 0.0.0.0/8 and 127.0.0.0/8 are the guest's own, 224.0.0.0/3 multicast and reserved; expected a unicast address, such as '192.0.2.53'",
                           self->dns);
      return FALSE;
    }
  return TRUE;
}

/* passt's socket in a runtime directory the caller chose must fit a unix
 * socket address (the default one always leaves room). */
static gboolean
check_passt_socket (QlNetDevice  *self,
                    QlVmConfig   *vm,
                    GError      **error)
{
  g_autofree char *name = NULL;

  /* passt's socket is named after the card (found by fuzz-device-spec: a
   * card made from a spec without an id). */
  if (ql_device_get_id (QL_DEVICE (self)) == NULL)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_MISSING, "id",
                           "a passt card needs an id: its passt's socket is named after it");
      return FALSE;
    }
  name = ql_helper_socket_name (ql_device_get_id (QL_DEVICE (self)), "passt");
  return ql_helper_check_socket_name (QL_DEVICE (self), vm, "passt", name, error);
}

/* Everything about a net-type passt card after the checks common to every
 * card (driver, bus, addr, mac-address). */
static gboolean
check_passt (QlNetDevice  *self,
             QlVmConfig   *vm,
             QlHostProbe  *probe,
             GError      **error)
{
  g_autofree QlNetForward *forwards = NULL;
  guint n_forwards = 0;

  if (!check_no_tap_property (self, error) || !check_disable_modern (self, error)
      || !check_passt_no_slirp_property (self, error))
    return FALSE;
  if (!ql_device_check_not_empty (QL_DEVICE (self), self->dns, "dns", error)
      || !ql_device_check_not_empty (QL_DEVICE (self), self->passt_binary, "passt-binary", error))
    return FALSE;
  if (!check_passt_dns (self, error))
    return FALSE;
  if (self->passt_binary != NULL && !g_path_is_absolute (self->passt_binary))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "passt-binary",
                           "'%s' is not an absolute path: name the passt program by its full path (in a VM file, relative to the VM file), or leave passt-binary unset to find passt in PATH",
                           self->passt_binary);
      return FALSE;
    }
  if (!check_forwards (self, NULL, &forwards, &n_forwards, error)
      || !check_passt_socket (self, vm, error))
    return FALSE;
  if (probe == NULL)
    return TRUE;
  if (self->passt_binary != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      GFileType type = G_FILE_TYPE_UNKNOWN;

      if (!ql_host_probe_query_file (probe, self->passt_binary, &type, NULL, &local_error))
        {
          if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
            {
              ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST, "passt-binary",
                                   "cannot run '%s': %s: expected the passt program",
                                   self->passt_binary, local_error->message);
              return FALSE;
            }
        }
      else if (type != G_FILE_TYPE_REGULAR)
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST, "passt-binary",
                               "cannot run '%s': it is not a regular file: expected the passt program",
                               self->passt_binary);
          return FALSE;
        }
    }
  else
    {
      g_autofree char *found = g_find_program_in_path ("passt");

      if (found == NULL)
        {
          ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST, "passt-binary",
                               "net-type 'passt' needs the passt program, and there is none in PATH: install passt (Debian: passt) or name it in passt-binary");
          return FALSE;
        }
    }
  return probe_forwards (self, probe, forwards, n_forwards, error);
}

static gboolean
ql_net_device_valid (QlDevice    *device,
                     QlVmConfig  *vm,
                     GError     **error)
{
  QlNetDevice *self = QL_NET_DEVICE (device);
  QlHostProbe *probe = vm != NULL ? ql_vm_config_get_host_probe (vm) : NULL;
  g_autoptr(GHashTable) seen_fds = NULL;
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
    case QL_NET_TYPE_USER:
    case QL_NET_TYPE_PASST:
    default:
      break;
    }

  if (self->net_type != QL_NET_TYPE_USER && self->net_type != QL_NET_TYPE_PASST
      && !check_no_user_property (self, error))
    return FALSE;

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

  if (self->net_type == QL_NET_TYPE_USER)
    return check_user (self, probe, error);
  if (self->net_type == QL_NET_TYPE_PASST)
    return check_passt (self, vm, probe, error);

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

  if (!check_disable_modern (self, error))
    return FALSE;

  /* Only a card with descriptors needs the set (argv building validates
   * thousands of cards). */
  if (n_fds + n_vhost_fds > 0)
    seen_fds = g_hash_table_new (NULL, NULL);
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

/* -netdev user: QEMU's user-mode stack. */
static void
add_user_netdev (QlNetDevice *self,
                 const char  *id,
                 QlCmdline   *cmdline)
{
  QlOption *netdev;

  netdev = ql_cmdline_add_option (cmdline, "-netdev", "user",
                                  "id", id,
                                  "net", self->guest_network,
                                  "dns", self->dns,
                                  NULL);
  if (self->restrict_)
    ql_option_set_bool (netdev, "restrict", TRUE);
  if (!self->ipv6)
    ql_option_set_bool (netdev, "ipv6", FALSE);
  ql_option_set (netdev, "hostname", self->hostname);
  /* QAPI's hostfwd is ['String']: hostfwd=A,hostfwd=B in key=value form,
   * [{"str": A}, {"str": B}] in JSON and for netdev_add. */
  for (guint i = 0; self->host_forwards != NULL && self->host_forwards[i] != NULL; i++)
    ql_option_add_list_value (netdev, "hostfwd", "str", self->host_forwards[i]);
}

/* passt's port spec of one forward: [ADDRESS/]PORT:GUEST_PORT (-t for
 * TCP, -u for UDP). No address is every address, IPv4 and IPv6 (slirp
 * binds IPv4 only); the guest address is always the guest's own. */
static char *
passt_port_spec (const QlNetForward *fwd)
{
  if (fwd->host_address[0] != '\0')
    return g_strdup_printf ("%s/%u:%u", fwd->host_address, fwd->host_port, fwd->guest_port);
  return g_strdup_printf ("%u:%u", fwd->host_port, fwd->guest_port);
}

/* net-type passt: the passt helper, then -netdev stream to its socket.
 *
 *   passt --foreground --quiet --stderr --one-off --runas UID:GID
 *         --socket RUNTIME_DIR/ID.passt.sock [--ipv4-only] [--dns A]
 *         [--tcp-ports SPEC | --udp-ports SPEC]...
 *
 * (for an id longer than 32 bytes, its first 23 and a hash name the
 * socket) in the foreground with its errors on stderr (the launcher keeps them for
 * its messages), ending with its one client: QEMU's connection, so it
 * never outlives the VM (nor a hot-plugged card's netdev_del). --runas
 * keeps it as the user who runs qlaunch: as root, passt would otherwise
 * switch to nobody, who cannot create its socket in the private runtime
 * directory (and this passt then says so only by exiting). */
static gboolean
add_passt_netdev (QlNetDevice  *self,
                  const char   *id,
                  QlCmdline    *cmdline,
                  GError      **error)
{
  g_autofree char *socket_name = ql_helper_socket_name (id, "passt");
  g_autofree char *socket_path = ql_cmdline_build_runtime_path (cmdline, socket_name);
  g_autofree QlNetForward *forwards = NULL;
  guint n_forwards = 0;
  QlHelper *helper;
  QlOption *netdev;

  if (!check_forwards (self, NULL, &forwards, &n_forwards, error))
    return FALSE;
  /* The runtime directory a launch makes is known only now: under a long
   * $XDG_RUNTIME_DIR or $TMPDIR, even a short name may not fit. */
  if (strlen (socket_path) > QL_HELPER_SOCKET_PATH_MAX)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_INVALID_VALUE, "id",
                           "passt's socket '%s' would be %" G_GSIZE_FORMAT " bytes long, and a unix socket path holds at most %d: use a shorter runtime directory (run --runtime-dir)",
                           socket_path, strlen (socket_path), QL_HELPER_SOCKET_PATH_MAX);
      return FALSE;
    }

  helper = ql_cmdline_add_helper (cmdline, "passt",
                                  self->passt_binary != NULL ? self->passt_binary : "passt");
  ql_helper_add_args (helper, "--foreground", "--quiet", "--stderr", "--one-off", NULL);
  ql_helper_add_arg (helper, "--runas");
  ql_helper_add_arg_printf (helper, "%u:%u", (guint) geteuid (), (guint) getegid ());
  ql_helper_add_args (helper, "--socket", socket_path, NULL);
  if (!self->ipv6)
    ql_helper_add_arg (helper, "--ipv4-only");
  if (self->dns != NULL)
    ql_helper_add_args (helper, "--dns", self->dns, NULL);
  for (guint i = 0; i < n_forwards; i++)
    {
      g_autofree char *spec = passt_port_spec (&forwards[i]);

      ql_helper_add_args (helper, forwards[i].udp ? "--udp-ports" : "--tcp-ports", spec, NULL);
    }
  ql_helper_set_socket (helper, socket_path);

  netdev = ql_cmdline_add_option (cmdline, "-netdev", "stream", "id", id, NULL);
  ql_option_set_bool (netdev, "server", FALSE);
  ql_option_set (netdev, "addr.type", "unix");
  ql_option_set (netdev, "addr.path", socket_path);
  return TRUE;
}

/* -netdev tap: macvtap, ipvtap and vethtap are all tap netdevs to QEMU. */
static void
add_tap_netdev (QlNetDevice *self,
                const char  *id,
                QlCmdline   *cmdline)
{
  guint n_queues = ql_net_device_get_n_queues (self);
  g_autoptr(GArray) fd_numbers = NULL;
  g_autoptr(GArray) vhost_fd_numbers = NULL;
  QlOption *netdev;

  /* Numbers as QEMU sees them: this card's fds, then its vhost fds. */
  if (fd_list_length (self->fds) > 0)
    fd_numbers = add_fd_list (cmdline, self->fds);
  if (self->vhost && fd_list_length (self->vhost_fds) > 0)
    vhost_fd_numbers = add_fd_list (cmdline, self->vhost_fds);

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
}

/* The card's options, for the command line and (the same) for QMP. */
static gboolean
ql_net_device_qemu_params (QlDevice    *device,
                           QlVmConfig  *vm,
                           QlCmdline   *cmdline,
                           GError     **error)
{
  QlNetDevice *self = QL_NET_DEVICE (device);
  const char *id = ql_device_get_id (device);
  guint n_queues = ql_net_device_get_n_queues (self);
  QlOption *dev;

  if (self->net_type == QL_NET_TYPE_USER)
    add_user_netdev (self, id, cmdline);
  else if (self->net_type == QL_NET_TYPE_PASST)
    {
      if (!add_passt_netdev (self, id, cmdline, error))
        return FALSE;
    }
  else
    add_tap_netdev (self, id, cmdline);

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
    case PROP_HOST_FORWARDS:
      g_strfreev (self->host_forwards);
      self->host_forwards = g_value_dup_boxed (value);
      break;
    case PROP_GUEST_NETWORK:
      set_string_or_default (&self->guest_network, value, NULL);
      break;
    case PROP_DNS:
      set_string_or_default (&self->dns, value, NULL);
      break;
    case PROP_RESTRICT:
      self->restrict_ = g_value_get_boolean (value);
      break;
    case PROP_IPV6:
      self->ipv6 = g_value_get_boolean (value);
      break;
    case PROP_HOSTNAME:
      set_string_or_default (&self->hostname, value, NULL);
      break;
    case PROP_PASST_BINARY:
      set_string_or_default (&self->passt_binary, value, NULL);
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
    case PROP_HOST_FORWARDS:
      g_value_set_boxed (value, self->host_forwards);
      break;
    case PROP_GUEST_NETWORK:
      g_value_set_string (value, self->guest_network);
      break;
    case PROP_DNS:
      g_value_set_string (value, self->dns);
      break;
    case PROP_RESTRICT:
      g_value_set_boolean (value, self->restrict_);
      break;
    case PROP_IPV6:
      g_value_set_boolean (value, self->ipv6);
      break;
    case PROP_HOSTNAME:
      g_value_set_string (value, self->hostname);
      break;
    case PROP_PASST_BINARY:
      g_value_set_string (value, self->passt_binary);
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
  g_strfreev (self->host_forwards);
  g_free (self->guest_network);
  g_free (self->dns);
  g_free (self->hostname);
  g_free (self->passt_binary);

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
                       "Kind of host interface: tap, macvtap, ipvtap or vethtap (all QEMU tap netdevs), user (QEMU's user-mode stack, -netdev user) or passt (a passt process qlaunch runs beside QEMU, -netdev stream; the guest gets the host's address): no host interface, no root needed for the last two; vfio and vhost-user are separate device types",
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
    ql_param_spec_script ("script", "Up script",
                          "Script QEMU runs after opening the tap by name; 'no' for none (QEMU's own default would run /etc/qemu-ifup); a relative path is relative to the VM file",
                          flags);
  properties[PROP_DOWN_SCRIPT] =
    ql_param_spec_script ("down-script", "Down script",
                          "Script QEMU runs when closing a tap it opened by name; 'no' for none (QEMU's own default would run /etc/qemu-ifdown); a relative path is relative to the VM file",
                          flags);
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
    ql_param_spec_firmware ("rom-file", "ROM file",
                            "Option ROM of the card (romfile=); empty for none, which skips the iPXE boot ROM; unset keeps QEMU's default; "
                            "a bare name is found in QEMU's data directories, a relative path is relative to the VM file",
                            flags);
  properties[PROP_HOST_FORWARDS] =
    g_param_spec_boxed ("host-forwards", "Host forwards",
                        "net-type user and passt: host ports forwarded to the guest, each [tcp|udp]:[host address]:host port-[guest address]:guest port, such as 'tcp:127.0.0.1:2222-:22'; an empty host address is every address, an empty guest address the guest's DHCP address; several are separated by ';', no two on one host port. user: QEMU's hostfwd=. passt: --tcp-ports/--udp-ports [host address/]host port:guest port, the guest address left empty (passt forwards to the guest's one address), and no host address binds IPv6 too. Default: none",
                        G_TYPE_STRV, flags);
  properties[PROP_GUEST_NETWORK] =
    g_param_spec_string ("guest-network", "Guest network",
                         "net-type user only: the guest's IPv4 network as address/prefix, /4 to /27 (QEMU's net=); slirp's gateway is its .2, its DNS server .3, DHCP leases start at .15. Default: QEMU's 10.0.2.0/24",
                         NULL, flags);
  properties[PROP_DNS] =
    g_param_spec_string ("dns", "DNS server",
                         "net-type user and passt: the DNS server address the guest is given by DHCP. user: in guest-network, not the gateway nor a DHCP lease, and not with restrict (QEMU's dns=); slirp relays it to the host's resolver; default the network's .3 (10.0.2.3). passt: any unicast IPv4 address, which the guest then queries through passt (--dns); default the host's resolvers (/etc/resolv.conf)",
                         NULL, flags);
  properties[PROP_RESTRICT] =
    g_param_spec_boolean ("restrict", "Restrict",
                          "net-type user only: isolate the guest, which then reaches neither the host nor the outside, and gets no router and no DNS server by DHCP; host-forwards still reach it (QEMU's restrict=on). Default: false",
                          FALSE, flags);
  properties[PROP_IPV6] =
    g_param_spec_boolean ("ipv6", "IPv6",
                          "net-type user and passt: give the guest IPv6 as well as IPv4 (user: false writes QEMU's ipv6=off; passt: --ipv4-only). Default: true",
                          TRUE, flags);
  properties[PROP_HOSTNAME] =
    g_param_spec_string ("hostname", "Host name",
                         "net-type user only: the host name the guest gets from DHCP (QEMU's hostname=): labels of letters, digits and '-' separated by '.', at most 255 bytes. Default: none",
                         NULL, flags);
  properties[PROP_PASST_BINARY] =
    ql_param_spec_path ("passt-binary", "passt binary",
                        "net-type passt only: the passt program, an absolute path (in a VM file, relative to the VM file). Default: passt found in PATH",
                        flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_net_device_init (QlNetDevice *self)
{
  self->net_type = QL_NET_TYPE_TAP;
  self->driver = g_strdup (QL_NET_DEFAULT_DRIVER);
  self->script = g_strdup (QL_NET_DEFAULT_SCRIPT);
  self->down_script = g_strdup (QL_NET_DEFAULT_SCRIPT);
  self->ipv6 = TRUE;
}
