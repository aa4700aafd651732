/* qlaunch fuzzing — argv building from arbitrary valid configurations.
 *
 * fuzz-vm-file feeds the VM-file parser text, so most of its inputs die in
 * the parser. This harness reads its input as a stream of choices instead
 * (a small FuzzedDataProvider: each byte answers one question; an
 * exhausted input answers 0, "the plainest choice") and builds a
 * QlVmConfig programmatically:
 *
 * - VM-level settings through ql_vm_config_set_from_string() with the
 *   property of every VM-file key (`[machine] type` is `machine-type`):
 *   the properties of QlVmConfig are enumerated, each given a value of its
 *   type (or of a known domain: machine types, accelerators, UUIDs, ...),
 *   and the groups whose keys depend on each other ([smp], [memory] with
 *   the memory knobs, [kernel], [incoming], daemonize) generated as a
 *   whole;
 * - iothreads and QMP sockets;
 * - 0..N devices of the registry's types (ql_registry_list_device_types(),
 *   ql_registry_create_device()), each with a chosen subset of its GObject
 *   properties (g_object_class_list_properties()) set from text generated
 *   for the pspec: sizes and paths (ql_param_spec_is_size/_is_path()),
 *   enum nicks, booleans, integers within range, fd lists, and strings
 *   drawn from the bytes with commas, '=', spaces, quotes, tabs, non-ASCII
 *   characters and long runs; ids, buses, PCI and MAC addresses in their
 *   syntax, and the references between devices (a port's bus is an
 *   earlier virtio-serial controller's, a disk's an earlier SCSI
 *   controller's, ...) made to point at real devices; user-mode network
 *   cards (net-type user and passt) with forwards, guest networks, DNS
 *   servers and host names in their domains, virtio-fs shares with
 *   unique tags and the [memory] size their shared RAM needs.
 *
 * The first byte picks strict mode (7 in 8 inputs: values from the valid
 * domains, the properties a type needs always set, the couplings between
 * properties honoured) or wild mode (any value of the property's type, any
 * key, broken references). The configuration is validated with host
 * checks off (ql_vm_config_set_host_probe (vm, NULL)). When it does not
 * validate, the error is checked (a QL_CONFIG_ERROR with a message;
 * build_cmdline() and to_argv() fail too) and the configuration repaired:
 * each error names a device and property, or a group and key, whose value
 * is drawn again, then reset, and at last the device or group dropped; up
 * to MAX_ROUNDS rounds. So nearly every input ends in a valid
 * configuration: QL_FUZZ_ARGV_STATS=1 prints the fractions (valid at once
 * and after repair, strict and wild), QL_FUZZ_ARGV_DEBUG=1 each
 * configuration tried, as a VM file.
 *
 * A configuration that validates must build (ql_vm_config_build_cmdline(),
 * ql_cmdline_to_argv(): ql_vm_config_validate() promises it "can be turned
 * into an argv"), and its argv keeps the invariants of ql_fuzz_check_argv()
 * (which include heads without '='), is the same built twice and through
 * ql_vm_config_to_argv(). Each device's hot-plug form
 * (ql_device_hotplug_params()) keeps the argv invariants too, and
 * ql_hotplug_plan() gives commands or a GError. Criticals abort
 * (ql_fuzz_init()), and ASan/UBSan/LSan watch the rest.
 *
 * The library bugs the harness found (tests/fuzz/crashes/fuzz-argv/
 * README.md) are fixed; the shapes that hit them ('=' in [vm] name and QMP
 * socket paths, '\r' in strings, line breaks in list values and QMP paths,
 * [machine] options keys with spaces or ",,", nvdimm=on,,X) are generated
 * like any other, and their inputs are in the seed corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_DEVICES 10
#define MAX_ROUNDS 8

typedef struct
{
  const guint8 *data;
  gsize         size;
  gsize         pos;
  gboolean      wild;
} Gen;

typedef struct
{
  char *key;
  char *value;
} Setting;

typedef struct
{
  char     *name;
  char     *path;
  gboolean  server;
  gboolean  no_wait;
} QmpSocket;

/* What the VM is made of; the QlVmConfig is built from it again after
 * each repair. */
typedef struct
{
  GPtrArray  *settings;   /* Setting, VM properties in the order set */
  GPtrArray  *iothreads;  /* char * */
  GPtrArray  *qmp;        /* QmpSocket */
  GPtrArray  *devices;    /* QlDevice */
  GHashTable *attempts;   /* "what" -> repairs tried */
} Plan;

static struct
{
  guint64 inputs;
  guint64 wild;
  guint64 valid_first;
  guint64 valid_final;
  guint64 wild_valid_first;
  guint64 wild_valid_final;
  guint64 devices;
  guint64 devices_final;
  guint64 set_failed;
  guint64 rounds;
  guint64 unattributed;
} stats;

static gboolean print_stats;
static gboolean debug;

/* ------------------------------------------------------------------ */
/* The choice stream */

static guint
take_byte (Gen *g)
{
  return g->pos < g->size ? g->data[g->pos++] : 0;
}

/* 0 .. n - 1 (0 when the input is exhausted). */
static guint
take_below (Gen  *g,
            guint n)
{
  guint v;

  if (n <= 1)
    return 0;
  v = take_byte (g);
  if (n > 256)
    v = v << 8 | take_byte (g);
  if (n > 65536)
    v = (v << 16) | (take_byte (g) << 8) | take_byte (g);
  return v % n;
}

/* TRUE with about @percent % chance; FALSE on an exhausted input. */
static gboolean
take_chance (Gen  *g,
             guint percent)
{
  return take_byte (g) >= 256 - percent * 256 / 100;
}

static guint64
take_u64 (Gen *g)
{
  guint64 v = 0;

  for (guint i = 0; i < 8; i++)
    v = v << 8 | take_byte (g);
  return v;
}

/* A value in [min, max], biased to the edges and small offsets. */
static guint64
take_range (Gen     *g,
            guint64  min,
            guint64  max)
{
  guint64 span = max - min;

  switch (take_below (g, 8))
    {
    case 0:
    case 1:
      return min + MIN (span, (guint64) take_below (g, 16));
    case 2:
      return min;
    case 3:
      return max;
    case 4:
      return max - MIN (span, (guint64) take_below (g, 4));
    default:
      return span == G_MAXUINT64 ? take_u64 (g) : min + take_u64 (g) % (span + 1);
    }
}

static const char *
take_one_of (Gen               *g,
             const char * const *values)
{
  return values[take_below (g, g_strv_length ((char **) values))];
}

/* ------------------------------------------------------------------ */
/* Text */

/* Pieces of strings beside plain letters: what QEMU's option syntax,
 * the key file and the shell treat specially, and multi-byte UTF-8. */
static const char * const spicy[] = {
  ",", ",,", ",,,", "=", "==", " ", "  ", ";", ":", "'", "\"", "\\", "#", "[", "]",
  "$", "%", "*", "?", "~", "@", "!", "&", "|", "<", ">", "(", ")", "{", "}", "\t",
  "é", "ü", "ß", "→", "日本", "🙂", "\xc2\xa0", "\xe2\x80\x8b", "\xef\xbb\xbf",
  "id=x", ",id=y", "server=on", ",path=/x", "file=", "driver=", "=,", ",=", "on",
  "off", "..", "/", "//", "-", "--", "\r", "\n",
};

static const char plain[] = "abcdefghijklmnopqrstuvwxyz0123456789-_./";

/* Appends up to @max_bytes of generated text without the characters of
 * @forbidden; newlines only in wild mode. */
static void
append_text (Gen        *g,
             GString    *s,
             gsize       max_bytes,
             const char *forbidden)
{
  guint n = take_below (g, 12);

  if (take_byte (g) >= 240)
    n = 32 + take_below (g, 512);
  for (guint i = 0; i < n; i++)
    {
      guint b = take_byte (g);
      char one[2] = { plain[b % (sizeof plain - 1)], '\0' };
      const char *piece = b < 160 ? one : spicy[(b - 160) % G_N_ELEMENTS (spicy)];

      if (strpbrk (piece, forbidden) != NULL || (!g->wild && strchr (piece, '\n') != NULL))
        piece = "x";
      if (s->len + strlen (piece) > max_bytes)
        break;
      g_string_append (s, piece);
    }
}

/* Free text: never empty unless @allow_empty. */
static char *
gen_text (Gen        *g,
          gsize       max_bytes,
          const char *forbidden,
          gboolean    allow_empty)
{
  GString *s = g_string_new (NULL);

  append_text (g, s, max_bytes, forbidden);
  if (s->len == 0 && !allow_empty)
    g_string_append_c (s, 'x');
  return g_string_free (s, FALSE);
}

/* A host path: absolute, relative or bare, with text in it. */
static char *
gen_path (Gen        *g,
          gsize       max_bytes,
          const char *forbidden)
{
  static const char * const prefixes[] = { "/tmp/", "/", "", "./", "../", "/var/lib/ql vm/", "~/", NULL };
  GString *s = g_string_new (take_one_of (g, prefixes));

  append_text (g, s, max_bytes, forbidden);
  if (s->len == 0 || g_str_has_suffix (s->str, "/"))
    g_string_append_c (s, 'f');
  return g_string_free (s, FALSE);
}

/* An absolute path: @dir, then a file name of generated text. */
static char *
gen_absolute_path (Gen        *g,
                   const char *dir)
{
  g_autofree char *name = gen_text (g, 60, "/", FALSE);

  return g_strconcat (dir, name, NULL);
}

/* An id in ql_is_valid_id()'s syntax, ending with a letter so that it is
 * never one that ql_vm_config_add_device() makes (`net0`). */
static char *
gen_id (Gen *g)
{
  static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static const char rest[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  GString *s = g_string_new (NULL);
  guint n = take_below (g, 8);

  if (take_byte (g) >= 250)
    n = 16 + take_below (g, 200);
  g_string_append_c (s, letters[take_below (g, sizeof letters - 1)]);
  for (guint i = 0; i < n; i++)
    g_string_append_c (s, rest[take_below (g, sizeof rest - 1)]);
  if (n > 0)
    g_string_append_c (s, letters[take_below (g, sizeof letters - 1)]);
  return g_string_free (s, FALSE);
}

static char *
gen_pci_addr (Gen *g)
{
  guint slot = take_below (g, 0x20);

  switch (take_below (g, 4))
    {
    case 0:
      return g_strdup_printf ("%x", slot);
    case 1:
      return g_strdup_printf ("%02x.%x", slot, take_below (g, 8));
    case 2:
      return g_strdup_printf ("%X.%X", slot, take_below (g, 8));
    default:
      return g_strdup_printf ("%x.%x", slot, take_below (g, 8));
    }
}

/* A unicast MAC address. */
static char *
gen_mac (Gen *g)
{
  guint8 b[6];

  for (guint i = 0; i < 6; i++)
    b[i] = take_byte (g);
  b[0] &= 0xfe;
  if (b[0] == 0 && take_chance (g, 50))
    b[0] = 0x52;
  return g_strdup_printf (take_chance (g, 20) ? "%02X:%02X:%02X:%02X:%02X:%02X" : "%02x:%02x:%02x:%02x:%02x:%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5]);
}

static char *
gen_uuid (Gen *g)
{
  guint8 b[16];

  for (guint i = 0; i < 16; i++)
    b[i] = take_byte (g);
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                          b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* @bytes written with a suffix that divides it (or B). */
static char *
format_size (Gen     *g,
             guint64  bytes)
{
  static const char units[] = "KMGT";
  static const char lower[] = "kmgt";
  int shift = take_below (g, 5);

  while (shift > 0 && (bytes & ((G_GUINT64_CONSTANT (1) << (10 * shift)) - 1)) != 0)
    shift--;
  if (shift == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "%s", bytes, take_chance (g, 50) ? "b" : "B");
  return g_strdup_printf ("%" G_GUINT64_FORMAT "%c", bytes >> (10 * shift),
                          take_chance (g, 20) ? lower[shift - 1] : units[shift - 1]);
}

/* ------------------------------------------------------------------ */
/* The plan */

static void
setting_free (gpointer data)
{
  Setting *s = data;

  g_free (s->key);
  g_free (s->value);
  g_free (s);
}

static void
qmp_socket_free (gpointer data)
{
  QmpSocket *q = data;

  g_free (q->name);
  g_free (q->path);
  g_free (q);
}

static Plan *
plan_new (void)
{
  Plan *plan = g_new0 (Plan, 1);

  plan->settings = g_ptr_array_new_with_free_func (setting_free);
  plan->iothreads = g_ptr_array_new_with_free_func (g_free);
  plan->qmp = g_ptr_array_new_with_free_func (qmp_socket_free);
  plan->devices = g_ptr_array_new_with_free_func (g_object_unref);
  plan->attempts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return plan;
}

static void
plan_free (Plan *plan)
{
  g_ptr_array_unref (plan->settings);
  g_ptr_array_unref (plan->iothreads);
  g_ptr_array_unref (plan->qmp);
  g_ptr_array_unref (plan->devices);
  g_hash_table_unref (plan->attempts);
  g_free (plan);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Plan, plan_free)

static const char *
plan_get (Plan       *plan,
          const char *key)
{
  for (guint i = 0; i < plan->settings->len; i++)
    {
      Setting *s = g_ptr_array_index (plan->settings, i);

      if (g_str_equal (s->key, key))
        return s->value;
    }
  return NULL;
}

static gboolean
plan_unset (Plan       *plan,
            const char *key)
{
  for (guint i = 0; i < plan->settings->len; i++)
    if (g_str_equal (((Setting *) g_ptr_array_index (plan->settings, i))->key, key))
      {
        g_ptr_array_remove_index (plan->settings, i);
        return TRUE;
      }
  return FALSE;
}

/* Sets a VM property from text, as a VM file does. A value the property
 * refuses is a QL_CONFIG_ERROR, and is left out of the plan. */
static void
plan_set (Plan       *plan,
          const char *key,
          const char *value)
{
  static QlVmConfig *scratch;
  g_autoptr(GError) error = NULL;
  Setting *s;

  if (scratch == NULL)
    scratch = ql_vm_config_new ();
  if (!ql_vm_config_set_from_string (scratch, key, value, &error))
    {
      g_assert (error != NULL && error->domain == QL_CONFIG_ERROR && error->message[0] != '\0');
      stats.set_failed++;
      return;
    }
  plan_unset (plan, key);
  s = g_new0 (Setting, 1);
  s->key = g_strdup (key);
  s->value = g_strdup (value);
  g_ptr_array_add (plan->settings, s);
}

static void
plan_set_take (Plan       *plan,
               const char *key,
               char       *value)
{
  plan_set (plan, key, value);
  g_free (value);
}

static gboolean
plan_get_bool (Plan       *plan,
               const char *key)
{
  static const char * const yes[] = { "true", "on", "yes", "1", NULL };
  const char *v = plan_get (plan, key);

  return v != NULL && g_strv_contains (yes, v);
}

/* The string property @name of @object, if it has one. */
static char *
dup_string_property (GObject    *object,
                     const char *name)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (object), name);
  char *value = NULL;

  if (pspec == NULL || pspec->value_type != G_TYPE_STRING || !(pspec->flags & G_PARAM_READABLE))
    return NULL;
  g_object_get (object, name, &value, NULL);
  return value;
}

static gboolean
is_type (QlDevice   *device,
         const char *type)
{
  return g_strcmp0 (ql_device_get_type_name (device), type) == 0;
}

/* Whether @id is taken: a device id, any of the other ids devices add
 * (a port's device-id, an nvdimm's device-id, a vhost-user device's
 * chardev and netdev ids), an iothread, the RAM backend's, or a bus name
 * (so that a bridge's bus never becomes the id of a device after it). */
static gboolean
plan_id_in_use (Plan       *plan,
                QlDevice   *current,
                const char *id)
{
  static const char * const extra[] = { "device-id", "char-dev-id", "type-dev-id", "bus" };

  if (g_str_equal (id, "dimm1"))
    return TRUE;
  for (guint i = 0; i < plan->iothreads->len; i++)
    if (g_str_equal (g_ptr_array_index (plan->iothreads, i), id))
      return TRUE;
  for (guint i = 0; i <= plan->devices->len; i++)
    {
      QlDevice *device = i < plan->devices->len ? g_ptr_array_index (plan->devices, i) : current;

      if (device == NULL)
        continue;
      if (g_strcmp0 (ql_device_get_id (device), id) == 0)
        return TRUE;
      for (guint k = 0; k < G_N_ELEMENTS (extra); k++)
        {
          g_autofree char *other = dup_string_property (G_OBJECT (device), extra[k]);

          if (g_strcmp0 (other, id) == 0)
            return TRUE;
        }
    }
  return FALSE;
}

static char *
gen_fresh_id (Gen      *g,
              Plan     *plan,
              QlDevice *current)
{
  char *id = gen_id (g);

  while (plan_id_in_use (plan, current, id))
    {
      char *longer = g_strconcat (id, "z", NULL);

      g_free (id);
      id = longer;
    }
  return id;
}

/* The devices of @plan before @current (all of them when @current is not
 * in the plan yet). */
static guint
position_of (Plan     *plan,
             QlDevice *current)
{
  guint index;

  if (current != NULL && g_ptr_array_find (plan->devices, current, &index))
    return index;
  return plan->devices->len;
}

/* The id of a device of @type before @current, with @suffix, or NULL. */
static char *
pick_earlier (Gen        *g,
              Plan       *plan,
              QlDevice   *current,
              const char *type,
              const char *suffix)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  guint end = position_of (plan, current);

  for (guint i = 0; i < end; i++)
    {
      QlDevice *device = g_ptr_array_index (plan->devices, i);

      if ((type == NULL || is_type (device, type)) && ql_device_get_id (device) != NULL)
        g_ptr_array_add (found, device);
    }
  if (found->len == 0)
    return NULL;
  return g_strconcat (ql_device_get_id (g_ptr_array_index (found, take_below (g, found->len))), suffix, NULL);
}

/* ------------------------------------------------------------------ */
/* Values by type */

static int
enum_value (GObject    *object,
            const char *name)
{
  int value = -1;
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (object), name);

  if (pspec != NULL && G_IS_PARAM_SPEC_ENUM (pspec))
    g_object_get (object, name, &value, NULL);
  return value;
}

static const char *
enum_nick (GObject    *object,
           const char *name)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (object), name);
  g_autoptr(GEnumClass) klass = NULL;
  GEnumValue *ev;

  if (pspec == NULL || !G_IS_PARAM_SPEC_ENUM (pspec))
    return NULL;
  klass = g_type_class_ref (pspec->value_type);
  ev = g_enum_get_value (klass, enum_value (object, name));
  return ev != NULL ? g_intern_string (ev->value_nick) : NULL;
}

static gboolean
has_nick (GObject    *object,
          const char *name,
          const char *nick)
{
  return g_strcmp0 (enum_nick (object, name), nick) == 0;
}

/* The length of fd-list property @name of @object. */
static guint
fd_list_length (GObject    *object,
                const char *name)
{
  QlFdList *list = NULL;
  guint n;

  g_object_get (object, name, &list, NULL);
  n = list != NULL ? ql_fd_list_get_length (list) : 0;
  if (list != NULL)
    ql_fd_list_unref (list);
  return n;
}

/* Text for @pspec from its type alone: any value the type has. */
static char *
gen_by_type (Gen        *g,
             GParamSpec *pspec)
{
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);

  if (ql_param_spec_is_size (pspec))
    {
      GParamSpecUInt64 *u = G_PARAM_SPEC_UINT64 (pspec);

      if (g->wild && take_chance (g, 20))
        return g_strdup_printf ("%" G_GUINT64_FORMAT, take_u64 (g));
      return format_size (g, take_range (g, u->minimum, u->maximum));
    }
  if (ql_param_spec_is_path (pspec))
    return gen_path (g, 300, "");
  if (type == G_TYPE_BOOLEAN)
    {
      static const char * const yes[] = { "true", "on", "yes", "1", NULL };
      static const char * const no[] = { "false", "off", "no", "0", NULL };

      return g_strdup (take_one_of (g, take_chance (g, 50) ? yes : no));
    }
  if (type == G_TYPE_STRING)
    return gen_text (g, 300, "", g->wild);
  if (type == G_TYPE_STRV)
    {
      GString *s = g_string_new (NULL);
      guint n = take_below (g, 4);

      for (guint i = 0; i < n; i++)
        {
          if (i > 0)
            g_string_append_c (s, ';');
          append_text (g, s, s->len + 100, ";");
        }
      return g_string_free (s, FALSE);
    }
  if (type == QL_TYPE_FD_LIST)
    {
      GString *s = g_string_new (NULL);
      guint n = take_below (g, 5);

      for (guint i = 0; i < n; i++)
        g_string_append_printf (s, "%s%u", i > 0 ? (take_chance (g, 20) ? ":" : ";") : "",
                                (guint) take_range (g, 0, G_MAXINT));
      return g_string_free (s, FALSE);
    }
  if (G_IS_PARAM_SPEC_UINT (pspec))
    return g_strdup_printf ("%" G_GUINT64_FORMAT,
                            take_range (g, G_PARAM_SPEC_UINT (pspec)->minimum, G_PARAM_SPEC_UINT (pspec)->maximum));
  if (G_IS_PARAM_SPEC_UINT64 (pspec))
    return g_strdup_printf ("%" G_GUINT64_FORMAT,
                            take_range (g, G_PARAM_SPEC_UINT64 (pspec)->minimum, G_PARAM_SPEC_UINT64 (pspec)->maximum));
  if (G_IS_PARAM_SPEC_INT (pspec))
    {
      gint64 min = G_PARAM_SPEC_INT (pspec)->minimum, max = G_PARAM_SPEC_INT (pspec)->maximum;

      return g_strdup_printf ("%" G_GINT64_FORMAT, min + (gint64) take_range (g, 0, (guint64) (max - min)));
    }
  if (G_IS_PARAM_SPEC_INT64 (pspec))
    {
      gint64 min = G_PARAM_SPEC_INT64 (pspec)->minimum, max = G_PARAM_SPEC_INT64 (pspec)->maximum;

      return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) ((guint64) min + take_range (g, 0, (guint64) max - (guint64) min)));
    }
  if (G_TYPE_IS_ENUM (type))
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (type);

      return g_strdup (klass->values[take_below (g, klass->n_values)].value_nick);
    }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Device properties */

/* The function a bdf names, as one number; -1 when it is none. */
static gint64
bdf_number (const char *bdf)
{
  guint domain = 0, bus, slot, fn;
  char end;

  if (bdf == NULL)
    return -1;
  if (sscanf (bdf, "%x:%x:%x.%x%c", &domain, &bus, &slot, &fn, &end) != 4
      && (domain = 0, sscanf (bdf, "%x:%x.%x%c", &bus, &slot, &fn, &end) != 3))
    return -1;
  return ((gint64) domain << 16) | (bus << 8) | (slot << 3) | fn;
}

/* A host PCI function that no other vfio device of @plan assigns. */
static char *
gen_bdf (Gen      *g,
         Plan     *plan,
         QlDevice *device)
{
  guint domain = take_range (g, 0, 0xffff), bus = take_below (g, 256);
  guint slot = take_below (g, 0x20), fn = take_below (g, 8);
  gboolean taken = TRUE;

  for (guint tries = 0; taken && tries < 256; tries++)
    {
      gint64 number = ((gint64) domain << 16) | (bus << 8) | (slot << 3) | fn;

      taken = FALSE;
      for (guint i = 0; i < plan->devices->len && !taken; i++)
        {
          g_autofree char *other = dup_string_property (g_ptr_array_index (plan->devices, i), "bdf");

          taken = g_ptr_array_index (plan->devices, i) != device && bdf_number (other) == number;
        }
      if (taken)
        {
          fn = (fn + 1) % 8;
          if (fn == 0)
            slot = (slot + 1) % 0x20;
        }
    }

  switch (take_below (g, 3))
    {
    case 0:
      return g_strdup_printf ("%04x:%02x:%02x.%x", domain, bus, slot, fn);
    case 1:
      return g_strdup_printf ("%02x:%02x.%x", bus, slot, fn);
    default:
      return g_strdup_printf ("%x:%x:%x.%x", domain, bus, slot, fn);
    }
}

/* Whether another device of @type has @value as its string property
 * @property. */
static gboolean
value_taken (Plan       *plan,
             QlDevice   *device,
             const char *type,
             const char *property,
             const char *value)
{
  for (guint i = 0; i < plan->devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (plan->devices, i);
      g_autofree char *other_value = NULL;

      if (other == device || !is_type (other, type))
        continue;
      other_value = dup_string_property (G_OBJECT (other), property);
      if (g_strcmp0 (other_value, value) == 0)
        return TRUE;
    }
  return FALSE;
}

/* ---- user-mode networking (net-type user and passt) ---- */

/* An IPv4 address the checks read back (decimal, no leading zero). */
static char *
format_ipv4 (guint32 a)
{
  return g_strdup_printf ("%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* A unicast address outside 0/8, 127/8 and 224/3. */
static guint32
gen_unicast (Gen *g)
{
  guint32 a = (guint32) take_range (g, 0, G_MAXUINT32);
  guint first = a >> 24;

  if (first == 0 || first == 127 || first >= 224)
    a = (10u << 24) | (a & 0xffffff);
  return a;
}

/* The guest network of a user card (guest-network, else QEMU's
 * 10.0.2.0/24), as address and prefix. */
static void
user_network (GObject *object,
              guint32 *network,
              guint   *prefix)
{
  g_autofree char *text = dup_string_property (object, "guest-network");
  guint a = 0, b = 0, c = 0, d = 0, p = 0;

  *network = (10u << 24) | (2u << 8);
  *prefix = 24;
  if (text != NULL && sscanf (text, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &p) == 5 && p <= 32)
    {
      *network = (a << 24) | (b << 16) | (c << 8) | d;
      *prefix = p;
    }
}

/* host-forwards: 1 to 3 forwards in QEMU's hostfwd syntax on distinct
 * host ports, so that none clashes; a guest address (user only) in QEMU's
 * default network, which guest-network then keeps. */
static char *
gen_forwards (Gen      *g,
              gboolean  passt)
{
  static const char * const protocols[] = { "tcp", "udp", "", NULL };
  GString *s = g_string_new (NULL);
  guint n = 1 + take_below (g, 3);
  guint port = 1 + take_below (g, 65535 - 3);

  for (guint i = 0; i < n; i++, port++)
    {
      g_autofree char *host = NULL;
      g_autofree char *guest = NULL;

      switch (take_below (g, 4))
        {
        case 0:
          host = g_strdup ("127.0.0.1");
          break;
        case 1:
          host = g_strdup (take_chance (g, 50) ? "0.0.0.0" : "");
          break;
        case 2:
          host = format_ipv4 (gen_unicast (g));
          break;
        default:
          host = g_strdup ("");
          break;
        }
      if (!passt && take_chance (g, 40))
        guest = g_strdup_printf ("10.0.2.%u", 4 + take_below (g, 251));
      g_string_append_printf (s, "%s%s:%s:%u-%s:%u", i > 0 ? ";" : "", take_one_of (g, protocols),
                              host, port, guest != NULL ? guest : "",
                              (guint) take_range (g, 1, 65535));
    }
  return g_string_free (s, FALSE);
}

/* A network for guest-network: a prefix from /8 to /27 (slirp needs .2,
 * .3 and 16 leases from .15), unicast, host bits clear. */
static char *
gen_guest_network (Gen *g)
{
  guint prefix = 8 + take_below (g, 20);
  guint32 mask = 0xffffffffu << (32 - prefix);
  g_autofree char *address = format_ipv4 (gen_unicast (g) & mask);

  return g_strdup_printf ("%s/%u", address, prefix);
}

/* A host name: labels of letters, digits and inner '-'. */
static char *
gen_hostname (Gen *g)
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  GString *s = g_string_new (NULL);
  guint labels = 1 + take_below (g, 3);

  for (guint i = 0; i < labels; i++)
    {
      guint len = 1 + take_below (g, 12);

      if (i > 0)
        g_string_append_c (s, '.');
      for (guint k = 0; k < len; k++)
        g_string_append_c (s, k > 0 && k + 1 < len && take_chance (g, 10)
                              ? '-' : chars[take_below (g, sizeof chars - 1)]);
    }
  return g_string_free (s, FALSE);
}

/* A property of a net-type user or passt card (@passt), in the order the
 * properties come: the tap settings are errors there, guest-network
 * keeps a forward's guest address in it, dns lies in the guest network
 * (user) and rules restrict out. *@handled is FALSE for the properties
 * every card has. */
static char *
gen_user_net_value (Gen        *g,
                    GObject    *object,
                    const char *name,
                    gboolean    passt,
                    gboolean   *handled)
{
  static const char * const tap_only[] = { "if-name", "script", "down-script", "fds", "vhost-fds",
                                           "queues", NULL };

  *handled = TRUE;
  if (g_strv_contains (tap_only, name))
    return NULL;
  if (g_str_equal (name, "vhost"))
    return g_strdup ("false");
  if (g_str_equal (name, "host-forwards"))
    return gen_forwards (g, passt);
  if (g_str_equal (name, "ipv6"))
    return g_strdup (take_chance (g, 50) ? "true" : "false");
  if (g_str_equal (name, "passt-binary"))
    return passt && take_chance (g, 50) ? gen_absolute_path (g, "/usr/local/bin/") : NULL;
  if (passt)
    {
      if (g_str_equal (name, "dns"))
        return format_ipv4 (gen_unicast (g));
      if (g_str_equal (name, "guest-network") || g_str_equal (name, "restrict") || g_str_equal (name, "hostname"))
        return NULL;
    }
  else
    {
      g_auto(GStrv) forwards = NULL;
      g_autofree char *dns = NULL;

      if (g_str_equal (name, "guest-network"))
        {
          g_object_get (object, "host-forwards", &forwards, NULL);
          /* "...-GUEST:PORT": a guest address of 10.0.2.0/24. */
          for (guint i = 0; forwards != NULL && forwards[i] != NULL; i++)
            if (strstr (forwards[i], "-:") == NULL)
              return NULL;
          return gen_guest_network (g);
        }
      if (g_str_equal (name, "dns"))
        {
          guint32 network;
          guint prefix;

          user_network (object, &network, &prefix);
          /* .3 to .14: neither the gateway (.2) nor a lease (.15 on). */
          return format_ipv4 (network | (3 + take_below (g, 12)));
        }
      if (g_str_equal (name, "restrict"))
        {
          dns = dup_string_property (object, "dns");
          return g_strdup (dns == NULL && take_chance (g, 30) ? "true" : "false");
        }
      if (g_str_equal (name, "hostname"))
        return gen_hostname (g);
    }
  *handled = FALSE;
  return NULL;
}

/* Text for property @pspec of @device (of @type), in the property's
 * domain as far as the harness knows it; NULL to leave it unset. */
static char *
gen_device_value (Gen        *g,
                  Plan       *plan,
                  QlDevice   *device,
                  const char *type,
                  GParamSpec *pspec)
{
  const char *name = pspec->name;
  GObject *object = G_OBJECT (device);

  if (g->wild && take_chance (g, 25))
    return gen_by_type (g, pspec);

  if (g_str_equal (name, "driver"))
    {
      static const char * const block[] = { "virtio-blk-pci", "virtio-blk", "scsi-hd", NULL };
      static const char * const chr[] = { "virtconsole", "virtserialport", NULL };
      static const char * const fs[] = { "virtio-9p-pci", "virtio-9p", "virtio-9p-pci-transitional",
                                         "virtio-9p-pci-non-transitional", NULL };
      static const char * const net[] = { "virtio-net-pci", "virtio-net-pci-transitional",
                                          "virtio-net-pci-non-transitional", "virtio-net", NULL };
      static const char * const serial[] = { "virtio-serial-pci", "virtio-serial", "virtio-serial-pci-transitional",
                                             "virtio-serial-pci-non-transitional", NULL };
      static const char * const memory[] = { "nvdimm", NULL };

      if (g_str_equal (type, "block"))
        return g_strdup (has_nick (object, "interface", "scsi") ? "scsi-hd" : take_one_of (g, block));
      if (g_str_equal (type, "char"))
        return g_strdup (take_one_of (g, chr));
      if (g_str_equal (type, "fs"))
        return g_strdup (take_one_of (g, fs));
      if (g_str_equal (type, "net"))
        return g_strdup (take_one_of (g, net));
      if (g_str_equal (type, "serial"))
        return g_strdup (take_one_of (g, serial));
      if (g_str_equal (type, "memory-object"))
        return g_strdup (take_one_of (g, memory));
    }

  if (g_str_equal (name, "bus"))
    {
      static const char * const roots[] = { "pcie.0", "pci.0", NULL };
      g_autofree char *machine = g_strdup (plan_get (plan, "machine-type"));
      char *earlier = NULL;

      if (g_str_equal (type, "char"))
        return pick_earlier (g, plan, device, "serial", ".0");
      if (g_str_equal (type, "block") && !has_nick (object, "interface", "scsi") && take_chance (g, 50))
        return NULL;
      if (g_str_equal (type, "block") && has_nick (object, "interface", "scsi"))
        {
          earlier = pick_earlier (g, plan, device, "scsi-controller", ".0");
          return earlier != NULL ? earlier : gen_text (g, 60, "", FALSE);
        }
      if (take_chance (g, 50))
        earlier = pick_earlier (g, plan, device, "bridge", "");
      if (earlier != NULL)
        return earlier;
      if (g_str_equal (type, "bridge"))
        {
          if (g_strcmp0 (machine, "q35") == 0 || g_strcmp0 (machine, "pc-q35-7.2") == 0)
            return g_strdup ("pcie.0");
          if (g_strcmp0 (machine, "pc") == 0 || g_strcmp0 (machine, "pc-i440fx-7.2") == 0)
            return g_strdup ("pci.0");
          return gen_fresh_id (g, plan, device);
        }
      /* Any bus name: only its syntax matters to these devices. */
      return take_chance (g, 50) ? g_strdup (take_one_of (g, roots)) : gen_text (g, 60, "", FALSE);
    }

  if (g_str_equal (name, "addr"))
    {
      if (g_str_equal (type, "block") && has_nick (object, "interface", "scsi"))
        return NULL;
      return gen_pci_addr (g);
    }

  if (g_str_equal (name, "mac-address"))
    return gen_mac (g);
  if (g_str_equal (name, "address"))
    return g_strcmp0 (enum_nick (object, "vhost-user-type"), "net") == 0 ? gen_mac (g) : NULL;
  /* Only the plain virtio drivers have disable-modern. */
  if (g_str_equal (name, "disable-modern") && !g_str_equal (type, "block"))
    {
      g_autofree char *driver = dup_string_property (object, "driver");

      if (driver != NULL && g_str_has_suffix (driver, "transitional"))
        return NULL;
    }
  if (g_str_equal (name, "bdf"))
    return gen_bdf (g, plan, device);
  if (g_str_equal (name, "device-id") || g_str_equal (name, "char-dev-id") || g_str_equal (name, "type-dev-id"))
    return gen_fresh_id (g, plan, device);

  if (g_str_equal (name, "io-thread"))
    {
      if (plan->iothreads->len == 0)
        g_ptr_array_add (plan->iothreads, gen_fresh_id (g, plan, device));
      return g_strdup (g_ptr_array_index (plan->iothreads, take_below (g, plan->iothreads->len)));
    }

  if (g_str_equal (name, "security-model"))
    {
      static const char * const models[] = { "passthrough", "mapped-xattr", "mapped-file", "none", NULL };

      return has_nick (object, "fs-driver", "local") ? g_strdup (take_one_of (g, models)) : NULL;
    }

  if (g_str_equal (type, "fs"))
    {
      gboolean local = has_nick (object, "fs-driver", "local");

      if (g_str_equal (name, "fs-driver"))
        return g_strdup (take_chance (g, 30) ? "proxy" : "local");
      if (g_str_equal (name, "path"))
        return local ? gen_path (g, 300, "") : NULL;
      if (g_str_equal (name, "socket"))
        return local || take_chance (g, 40) ? NULL : gen_path (g, 300, "");
      if (g_str_equal (name, "sock-fd"))
        {
          g_autofree char *socket = dup_string_property (object, "socket");

          return local || socket != NULL ? NULL : g_strdup_printf ("%u", (guint) take_range (g, 0, G_MAXINT));
        }
      if (g_str_equal (name, "mount-tag"))
        {
          /* At most 31 bytes, unique among the fs devices. */
          char *tag = gen_text (g, 31, "", FALSE);

          for (guint k = 0; value_taken (plan, device, "fs", "mount-tag", tag); k++)
            {
              g_free (tag);
              tag = g_strdup_printf ("t%u", k);
            }
          return tag;
        }
      if (g_str_equal (name, "disable-modern"))
        return g_strdup ("false");
    }

  if (g_str_equal (type, "char"))
    {
      if (g_str_equal (name, "backend"))
        {
          static const char * const backends[] = { "socket", "pty", "pipe", "serial", "tty", NULL };

          return g_strdup (take_one_of (g, backends));
        }
      if (g_str_equal (name, "path"))
        {
          /* A unix socket path holds at most 107 bytes. */
          return g_strcmp0 (enum_nick (object, "backend"), "pty") == 0 ? NULL : gen_path (g, 100, "");
        }
      if (g_str_equal (name, "server") || g_str_equal (name, "wait"))
        {
          gboolean server = TRUE;

          g_object_get (object, "server", &server, NULL);
          if (g_strcmp0 (enum_nick (object, "backend"), "socket") != 0)
            return NULL;
          return g_strdup (take_chance (g, 50) && (server || g_str_equal (name, "server")) ? "true" : "false");
        }
      if (g_str_equal (name, "name"))
        {
          /* Unique among the ports. */
          char *port = gen_text (g, 80, "", FALSE);

          while (value_taken (plan, device, "char", "name", port))
            {
              char *longer = g_strconcat (port, "+", NULL);

              g_free (port);
              port = longer;
            }
          return port;
        }
      if (g_str_equal (name, "disable-modern"))
        return NULL;
    }

  if (g_str_equal (type, "net"))
    {
      /* Either an interface by name (tap, vethtap) with its scripts, or
       * tap fds (any type), optionally with as many vhost fds. The
       * properties come in this order. */
      g_autofree char *if_name = dup_string_property (object, "if-name");
      guint n_fds = fd_list_length (object, "fds");
      guint n_vhost_fds = fd_list_length (object, "vhost-fds");
      gboolean by_name = has_nick (object, "net-type", "tap") || has_nick (object, "net-type", "vethtap");
      gboolean passt = has_nick (object, "net-type", "passt");
      static const char * const user_only[] = { "host-forwards", "guest-network", "dns", "restrict",
                                                "hostname", "passt-binary", NULL };

      if (g_str_equal (name, "net-type"))
        {
          static const char * const types[] = { "tap", "vethtap", "macvtap", "ipvtap", "user", "passt", NULL };

          return g_strdup (take_one_of (g, types));
        }
      if (passt || has_nick (object, "net-type", "user"))
        {
          gboolean handled = FALSE;
          char *value = gen_user_net_value (g, object, name, passt, &handled);

          if (handled)
            return value;
        }
      /* The user-mode settings are errors on a tap card; ipv6 too but
       * its default. */
      else if (g_strv_contains (user_only, name))
        return NULL;
      else if (g_str_equal (name, "ipv6"))
        return g_strdup ("true");
      if (g_str_equal (name, "if-name"))
        return by_name && take_chance (g, 80) ? gen_text (g, 15, "/: \t\r\n\v\f", FALSE) : NULL;
      if (g_str_equal (name, "script") || g_str_equal (name, "down-script"))
        return if_name == NULL ? NULL : take_chance (g, 50) ? g_strdup ("no") : gen_path (g, 200, "");
      if (g_str_equal (name, "rom-file"))
        return gen_text (g, 200, "", TRUE);
      if (g_str_equal (name, "fds") || g_str_equal (name, "vhost-fds"))
        {
          GString *s = g_string_new (NULL);
          gboolean vhost = g_str_equal (name, "vhost-fds");
          guint n = vhost ? n_fds : 1 + take_below (g, 4);
          guint base = vhost ? 100 : 3;

          if (vhost ? n_fds == 0 || take_chance (g, 50) : if_name != NULL)
            {
              g_string_free (s, TRUE);
              return NULL;
            }
          for (guint i = 0, fd = base; i < n; i++, fd += 1 + take_below (g, 3))
            g_string_append_printf (s, "%s%u", i > 0 ? ";" : "", fd);
          return g_string_free (s, FALSE);
        }
      if (g_str_equal (name, "vhost"))
        return g_strdup (n_vhost_fds > 0 || take_chance (g, 50) ? "true" : "false");
      if (g_str_equal (name, "queues"))
        {
          if (n_fds > 0)
            return take_chance (g, 50) ? g_strdup_printf ("%u", n_fds) : NULL;
          return g_strdup_printf ("%u", take_below (g, 9));
        }
    }

  if (g_str_equal (type, "bridge"))
    {
      gboolean pcie = has_nick (object, "bridge-type", "pcie");

      if (g_str_equal (name, "chassis"))
        {
          /* 1 to 255, the next free one after a chosen start. */
          gboolean used[256] = { FALSE };
          guint chassis = 1 + take_below (g, 255);

          if (pcie)
            return NULL;
          for (guint i = 0; i < plan->devices->len; i++)
            {
              QlDevice *other = g_ptr_array_index (plan->devices, i);
              guint n = 0;

              if (other == device || !is_type (other, "bridge"))
                continue;
              g_object_get (other, "chassis", &n, NULL);
              used[MIN (n, 255u)] = TRUE;
            }
          for (guint tries = 0; used[chassis] && tries < 255; tries++)
            chassis = chassis % 255 + 1;
          return g_strdup_printf ("%u", chassis);
        }
      if (g_str_equal (name, "shpc"))
        return pcie ? NULL : g_strdup (take_chance (g, 50) ? "true" : "false");
    }

  if (g_str_equal (type, "block"))
    {
      /* In the order of the properties: driver, file, interface, aio,
       * format, scsi, wce, disable-modern, cache-direct, ... */
      gboolean virtio = !has_nick (object, "interface", "scsi");
      g_autofree char *driver = dup_string_property (object, "driver");
      gboolean scsi = FALSE;

      if (g_str_equal (name, "file"))
        return gen_path (g, 300, "");
      if (g_str_equal (name, "interface"))
        return g_strdup (driver != NULL ? (g_str_equal (driver, "scsi-hd") ? "scsi" : "none")
                                        : take_chance (g, 40) ? "scsi" : "none");
      if (g_str_equal (name, "disable-modern"))
        {
          g_object_get (object, "scsi", &scsi, NULL);
          return virtio ? g_strdup (scsi || take_chance (g, 50) ? "true" : "false") : NULL;
        }
      if (g_str_equal (name, "scsi") || g_str_equal (name, "wce"))
        return virtio ? g_strdup (take_chance (g, 50) ? "true" : "false") : NULL;
      if (g_str_equal (name, "cache-direct"))
        return g_strdup (g_strcmp0 (enum_nick (object, "aio"), "native") == 0 || take_chance (g, 50) ? "true" : "false");
    }

  if (g_str_equal (type, "memory-object"))
    {
      if (g_str_equal (name, "size"))
        return format_size (g, 4096 * (1 + (guint64) take_below (g, 1 << 18)));
      if (g_str_equal (name, "mem-path"))
        return gen_path (g, 300, "");
    }

  if (g_str_equal (type, "vhost-user"))
    {
      if (g_str_equal (name, "vhost-user-type"))
        {
          static const char * const types[] = { "net", "blk", "scsi", NULL };

          return g_strdup (take_one_of (g, types));
        }
      if (g_str_equal (name, "socket-path"))
        return gen_path (g, 100, "");
      if (g_str_equal (name, "size") || g_str_equal (name, "logical-block-size"))
        return NULL;
    }

  if (g_str_equal (type, "vsock"))
    {
      if (g_str_equal (name, "context-id"))
        return g_strdup_printf ("%" G_GUINT64_FORMAT, take_range (g, 3, G_MAXUINT32 - 1));
      if (g_str_equal (name, "disable-modern"))
        return NULL;
    }

  if (g_str_equal (type, "virtio-fs"))
    {
      /* Absolute: the API keeps a relative path as it is. */
      if (g_str_equal (name, "path"))
        return gen_absolute_path (g, take_chance (g, 50) ? "/srv/" : "/tmp/ql share/");
      if (g_str_equal (name, "tag"))
        {
          /* At most 36 bytes, unique among the shares. */
          char *tag = gen_text (g, 36, "", FALSE);

          for (guint k = 0; value_taken (plan, device, "virtio-fs", "tag", tag); k++)
            {
              g_free (tag);
              tag = g_strdup_printf ("t%u", k);
            }
          return tag;
        }
      if (g_str_equal (name, "queue-size"))
        return g_strdup_printf ("%u", take_chance (g, 20) ? 0 : 1u << take_below (g, 11));
      if (g_str_equal (name, "binary"))
        return take_chance (g, 50) ? NULL : gen_absolute_path (g, "/usr/libexec/");
      if (g_str_equal (name, "thread-pool-size"))
        return g_strdup_printf ("%d", (int) take_below (g, 66) - 1);
    }

  if (g_str_equal (type, "rng"))
    {
      /* backend, file (random only), max-bytes, period (with max-bytes). */
      if (g_str_equal (name, "file"))
        return has_nick (object, "backend", "builtin") ? NULL : gen_path (g, 300, "");
      if (g_str_equal (name, "max-bytes"))
        return format_size (g, take_range (g, 0, G_MAXINT64));
      if (g_str_equal (name, "period"))
        {
          guint64 max_bytes = 0;

          g_object_get (object, "max-bytes", &max_bytes, NULL);
          return max_bytes == 0 ? NULL : g_strdup_printf ("%" G_GUINT64_FORMAT, take_range (g, 1, G_MAXUINT32));
        }
    }

  if (g_str_equal (name, "sock-fd") || g_str_equal (name, "vhost-fd"))
    return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) take_range (g, 0, G_MAXINT) - (take_chance (g, 30) ? 1 : 0));

  if (G_IS_PARAM_SPEC_ENUM (pspec) || pspec->value_type == G_TYPE_BOOLEAN
      || ql_param_spec_is_path (pspec) || pspec->value_type != G_TYPE_STRING)
    return gen_by_type (g, pspec);
  return gen_text (g, 300, "", FALSE);
}

/* Sets @pspec of @device from generated text; FALSE when left unset. */
static gboolean
set_device_property (Gen        *g,
                     Plan       *plan,
                     QlDevice   *device,
                     GParamSpec *pspec)
{
  g_autofree char *text = gen_device_value (g, plan, device, ql_device_get_type_name (device), pspec);
  g_autoptr(GError) error = NULL;

  if (text == NULL)
    return FALSE;
  if (!ql_device_set_property_from_string (device, pspec->name, text, &error))
    {
      g_assert (error != NULL && error->domain == QL_CONFIG_ERROR && error->message[0] != '\0');
      stats.set_failed++;
      return FALSE;
    }
  return TRUE;
}

static void
reset_property (GObject    *object,
                GParamSpec *pspec)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_value_init (&value, pspec->value_type);
  g_param_value_set_default (pspec, &value);
  g_object_set_property (object, pspec->name, &value);
}

static gboolean
settable (GParamSpec *pspec)
{
  return (pspec->flags & G_PARAM_WRITABLE) && !(pspec->flags & G_PARAM_CONSTRUCT_ONLY);
}

static gboolean
plan_has_type (Plan       *plan,
               const char *type)
{
  for (guint i = 0; i < plan->devices->len; i++)
    if (is_type (g_ptr_array_index (plan->devices, i), type))
      return TRUE;
  return FALSE;
}

/* Properties a device of the type needs (the plugins' "required"): set
 * always in strict mode, the others half of the time. */
static gboolean
wanted (const char *type,
        const char *name)
{
  static const char * const required[] = {
    "block:file", "block:bus", "block:interface", "block:cache-direct", "block:disable-modern", "bridge:bus", "bridge:chassis", "char:driver", "char:path", "fs:mount-tag", "fs:path", "fs:security-model", "fs:socket", "fs:sock-fd",
    "memory-object:device-id", "memory-object:mem-path", "memory-object:size",
    "net:if-name", "net:fds", "net:vhost", "vfio:bdf", "vhost-user:vhost-user-type", "vhost-user:socket-path",
    "vhost-user:address", "vsock:context-id", "virtio-fs:path", "virtio-fs:tag", NULL
  };
  g_autofree char *both = g_strconcat (type, ":", name, NULL);

  return g_strv_contains (required, both);
}

static void
gen_device (Gen        *g,
            Plan       *plan,
            QlRegistry *registry,
            const char *type)
{
  g_autofree char *id = NULL;
  g_autoptr(QlDevice) device = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree GParamSpec **pspecs = NULL;
  guint n = 0;

  /* What the device needs before it: a virtio-serial controller for a
   * port, a single vsock, a single balloon. */
  if (!g->wild)
    {
      if (g_str_equal (type, "char") && !plan_has_type (plan, "serial"))
        gen_device (g, plan, registry, "serial");
      if ((g_str_equal (type, "vsock") || g_str_equal (type, "balloon")) && plan_has_type (plan, type))
        return;
    }

  /* No id: ql_vm_config_add_device() makes one. */
  if (!take_chance (g, 15))
    id = gen_fresh_id (g, plan, NULL);
  else if (g->wild && take_chance (g, 30))
    id = gen_text (g, 40, "", TRUE);
  device = ql_registry_create_device (registry, type, id, &error);
  g_assert_no_error (error);
  g_assert (device != NULL);

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n);
  for (guint i = 0; i < n; i++)
    {
      if (!settable (pspecs[i]))
        continue;
      if (g_str_equal (pspecs[i]->name, "id"))
        {
          if (g->wild && take_chance (g, 10))
            {
              g_autofree char *text = gen_text (g, 40, "", TRUE);

              ql_device_set_property_from_string (device, "id", text, NULL);
            }
          continue;
        }
      if ((!g->wild && wanted (type, pspecs[i]->name)) || take_chance (g, 50))
        set_device_property (g, plan, device, pspecs[i]);
    }
  g_ptr_array_add (plan->devices, g_steal_pointer (&device));
  stats.devices++;
}

/* ------------------------------------------------------------------ */
/* VM settings */

static const char * const vm_groups[] = { "machine", "smp", "memory", "kernel", "knobs", "rtc", "incoming", NULL };

/* The VM-file group of VM property @name ("vm" for the [vm] keys). */
static const char *
group_of (const char *name)
{
  for (guint i = 0; vm_groups[i] != NULL; i++)
    if (g_str_has_prefix (name, vm_groups[i]) && name[strlen (vm_groups[i])] == '-')
      return vm_groups[i];
  return "vm";
}

/* The keys generated as a group, by gen_vm_groups(). */
static gboolean
in_group_generator (const char *name)
{
  static const char * const loose[] = { "knobs-no-user-config", "knobs-no-defaults", "knobs-no-graphic",
                                        "knobs-mlock", "knobs-stopped", "knobs-realtime", NULL };
  const char *group = group_of (name);

  if (g_strv_contains (loose, name))
    return FALSE;
  return g_str_equal (group, "smp") || g_str_equal (group, "memory") || g_str_equal (group, "kernel")
         || g_str_equal (group, "knobs") || g_str_equal (group, "incoming") || g_str_equal (name, "pid-file");
}

static char *
gen_machine_options (Gen  *g,
                     Plan *plan)
{
  static const char * const keys[] = { "usb", "dump-guest-core", "mem-merge", "vmport", "graphics", "smm",
                                       "hpet", "sata", "smbus", "acpi", "pit", "suppress-vmdesc",
                                       "kernel-irqchip", "firmware", "nvdimm", NULL };
  static const char * const values[] = { "on", "off", "auto", "split", NULL };
  GString *s = g_string_new (NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n = 1 + take_below (g, 4);

  (void) plan;
  for (guint i = 0; i < n; i++)
    {
      const char *key = take_one_of (g, keys);
      g_autofree char *wild_key = NULL;

      if (g->wild && take_chance (g, 30))
        {
          /* Any key: with ",," (a comma in the key), spaces, '='. */
          GString *k = g_string_new (NULL);

          append_text (g, k, 30, "=");
          if (k->len == 0)
            g_string_append_c (k, 'k');
          if (take_chance (g, 20))
            g_string_append (k, ",,");
          key = wild_key = g_string_free (k, FALSE);
        }
      if (!g_hash_table_add (seen, g_strdup (key)) && !g->wild)
        continue;
      if (s->len > 0)
        g_string_append_c (s, ',');
      g_string_append_printf (s, "%s=", key);
      if (g_str_equal (key, "nvdimm"))
        {
          g_string_append (s, "on");
          if (take_chance (g, 30))
            g_string_append (s, ",,x");
        }
      else if (g_str_equal (key, "firmware") || (g->wild && take_chance (g, 30)))
        {
          /* A value with commas, written ",," as the option syntax wants. */
          g_autofree char *value = gen_text (g, 80, g->wild ? "" : "=", TRUE);
          g_autofree char *escaped = ql_cmdline_escape_value (value);

          g_string_append (s, escaped);
        }
      else
        g_string_append (s, take_one_of (g, values));
    }
  if (g->wild && take_chance (g, 20))
    g_string_append (s, take_chance (g, 50) ? "," : ",bare");
  return g_string_free (s, FALSE);
}

/* Text for VM property @pspec outside the groups. */
static char *
gen_vm_value (Gen        *g,
              Plan       *plan,
              GParamSpec *pspec)
{
  const char *name = pspec->name;

  if (g->wild && take_chance (g, 25))
    return gen_by_type (g, pspec);

  if (g_str_equal (name, "name"))
    return gen_text (g, 200, "", FALSE);
  if (g_str_equal (name, "uuid"))
    return gen_uuid (g);
  if (g_str_equal (name, "qemu"))
    {
      static const char * const binaries[] = { "qemu-system-x86_64", "/usr/bin/qemu-system-x86_64",
                                                "qemu-kvm", NULL };

      return take_chance (g, 50) ? gen_path (g, 200, "") : g_strdup (take_one_of (g, binaries));
    }
  if (g_str_equal (name, "cpu-model"))
    {
      static const char * const models[] = { "max", "qemu64", "Skylake-Client", "EPYC,+svm", "max,-vmx",
                                              "host", "host,migratable=off", NULL };
      const char *accel = plan_get (plan, "machine-acceleration");
      const char *model = take_one_of (g, models);

      if (g_str_has_prefix (model, "host") && (accel == NULL || strstr (accel, "kvm") == NULL))
        model = "max";
      return take_chance (g, 20) ? gen_text (g, 100, "", FALSE) : g_strdup (model);
    }
  if (g_str_equal (name, "vga"))
    {
      static const char * const vgas[] = { "std", "cirrus", "vmware", "qxl", "xenfb", "tcx", "cg3", "virtio", "none", NULL };

      return g_strdup (take_one_of (g, vgas));
    }
  if (g_str_equal (name, "bios"))
    return take_chance (g, 50) ? g_strdup ("bios-256k.bin") : gen_path (g, 200, "");
  if (g_str_equal (name, "global"))
    {
      static const char * const drivers[] = { "kvm-pit", "virtio-blk-pci", "isa-fdc", "ICH9-LPC", "q35-pcihost", NULL };
      GString *s = g_string_new (NULL);
      guint n = 1 + take_below (g, 3);

      for (guint i = 0; i < n; i++)
        {
          g_string_append_printf (s, "%s%s.", i > 0 ? ";" : "", take_one_of (g, drivers));
          append_text (g, s, s->len + 20, ";=.\n");
          if (g_str_has_suffix (s->str, "."))
            g_string_append_c (s, 'p');
          g_string_append_c (s, '=');
          append_text (g, s, s->len + 80, ";");
        }
      return g_string_free (s, FALSE);
    }
  if (g_str_equal (name, "machine-type"))
    {
      static const char * const types[] = { "q35", "pc", "pc-q35-7.2", "pc-i440fx-7.2", NULL };
      static const char * const rare[] = { "microvm", "isapc", "none", NULL };

      if (take_chance (g, 10))
        return gen_text (g, 60, ",=", FALSE);
      return g_strdup (take_one_of (g, take_chance (g, 10) ? rare : types));
    }
  if (g_str_equal (name, "machine-acceleration"))
    {
      static const char * const accels[] = { "tcg", "kvm", "kvm:tcg", "tcg:kvm", "xen", "hvf", "whpx",
                                             "nvmm", "hax", "qtest", NULL };

      return g_strdup (take_one_of (g, accels));
    }
  if (g_str_equal (name, "machine-options"))
    return gen_machine_options (g, plan);
  if (g_str_equal (name, "kernel-params") || g_str_equal (name, "incoming-exec"))
    return gen_text (g, 300, "", FALSE);
  /* The keys of the groups, alone (gen_vm_groups() makes them together). */
  if (g_str_equal (name, "memory-size") || g_str_equal (name, "memory-max-mem"))
    return g_strdup_printf ("%uM", 64 * (1 + take_below (g, 64)));
  if (g_str_has_prefix (name, "smp-"))
    return g_strdup_printf ("%u", 1 + take_below (g, 8));
  return gen_by_type (g, pspec);
}

static void
gen_vm_loose (Gen        *g,
              Plan       *plan,
              QlVmConfig *vm)
{
  g_autofree GParamSpec **pspecs = NULL;
  guint n = 0;

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (vm), &n);
  for (guint i = 0; i < n; i++)
    {
      if (!settable (pspecs[i]) || (!g->wild && in_group_generator (pspecs[i]->name)))
        continue;
      if (take_chance (g, g->wild ? 25 : 35))
        {
          char *text = gen_vm_value (g, plan, pspecs[i]);

          if (text != NULL)
            plan_set_take (plan, pspecs[i]->name, text);
        }
    }
}

static void
gen_smp (Gen  *g,
         Plan *plan)
{
  guint s = 1 + take_below (g, 4), c = 1 + take_below (g, 4), t = 1 + take_below (g, 2);
  guint total = s * c * t;
  guint omit = take_below (g, 5);

  if (!take_chance (g, 50))
    return;
  if (take_chance (g, 50))
    plan_set_take (plan, "smp-cpus", g_strdup_printf ("%u", total));
  else
    {
      plan_set_take (plan, "smp-cpus", g_strdup_printf ("%u", 1 + take_below (g, total)));
      plan_set_take (plan, "smp-max-cpus", g_strdup_printf ("%u", total));
    }
  /* Leave out one member or more: QEMU computes it. */
  if (omit != 0)
    plan_set_take (plan, "smp-sockets", g_strdup_printf ("%u", s));
  if (omit != 1)
    plan_set_take (plan, "smp-cores", g_strdup_printf ("%u", c));
  if (omit != 2 && omit != 4)
    plan_set_take (plan, "smp-threads", g_strdup_printf ("%u", t));
}

static guint64
device_size (QlDevice *device)
{
  guint64 size = 0;

  g_object_get (device, "size", &size, NULL);
  return size;
}

/* [memory] and the memory knobs, after the devices: an nvdimm needs
 * slots and room up to max-mem, vhost-user and virtio-fs shared guest
 * RAM. */
static void
gen_memory (Gen  *g,
            Plan *plan)
{
  guint64 mib = 64 * (1 + (guint64) take_below (g, 256));
  guint64 nvdimms = 0, n_nvdimms = 0;
  gboolean vhost_user = plan_has_type (plan, "vhost-user");
  gboolean virtio_fs = plan_has_type (plan, "virtio-fs");
  guint mode = take_below (g, 6);   /* none, prealloc, hugepages, file, file shared, plain */

  for (guint i = 0; i < plan->devices->len; i++)
    if (is_type (g_ptr_array_index (plan->devices, i), "memory-object"))
      {
        nvdimms += device_size (g_ptr_array_index (plan->devices, i));
        n_nvdimms++;
      }
  if (vhost_user && mode != 2)
    mode = 4;
  /* virtio-fs: the core shares guest RAM itself (a memfd of [memory]
   * size) unless a knob gives a backend; a private file mapping is an
   * error. Wild inputs leave [memory] out too. */
  if (virtio_fs && !g->wild && (mode == 0 || mode == 3))
    mode = take_chance (g, 50) ? 4 : 5;
  if (mode == 0 && n_nvdimms == 0)
    return;

  switch (take_below (g, 4))
    {
    case 0:
      plan_set_take (plan, "memory-size", g_strdup_printf ("%" G_GUINT64_FORMAT, mib));
      break;
    default:
      plan_set_take (plan, "memory-size", format_size (g, mib << 20));
      break;
    }
  if (n_nvdimms > 0 || take_chance (g, 30))
    {
      guint64 max = (mib << 20) + nvdimms + ((guint64) (1 + take_below (g, 64)) << 20);

      plan_set_take (plan, "memory-slots", g_strdup_printf ("%u", MAX ((guint) n_nvdimms, 1u) + take_below (g, 4)));
      plan_set_take (plan, "memory-max-mem", format_size (g, max));
    }
  switch (mode)
    {
    case 1:
      plan_set (plan, "knobs-mem-prealloc", "true");
      break;
    case 2:
      plan_set (plan, "knobs-hugepages", "true");
      if (take_chance (g, 50))
        plan_set_take (plan, "memory-path", gen_path (g, 200, ""));
      break;
    case 3:
    case 4:
      plan_set (plan, "knobs-file-backed-mem", "true");
      plan_set_take (plan, "memory-path", gen_path (g, 200, ""));
      if (mode == 4)
        plan_set (plan, "knobs-file-backed-mem-shared", "true");
      break;
    default:
      break;
    }
}

static void
gen_vm_groups (Gen  *g,
               Plan *plan)
{
  gen_smp (g, plan);
  gen_memory (g, plan);

  if (take_chance (g, 40))
    {
      plan_set_take (plan, "kernel-path", gen_path (g, 200, ""));
      if (take_chance (g, 50))
        plan_set_take (plan, "kernel-initrd", gen_path (g, 200, ""));
      if (take_chance (g, 60))
        plan_set_take (plan, "kernel-params", gen_text (g, 300, "", TRUE));
    }

  switch (take_below (g, 5))
    {
    case 1:
      plan_set (plan, "incoming-type", "fd");
      plan_set_take (plan, "incoming-fd", g_strdup_printf ("%u", (guint) take_range (g, 0, G_MAXINT)));
      break;
    case 2:
      plan_set (plan, "incoming-type", "exec");
      plan_set_take (plan, "incoming-exec", gen_text (g, 300, "", FALSE));
      break;
    case 3:
      plan_set (plan, "incoming-type", take_chance (g, 50) ? "defer" : "none");
      break;
    default:
      break;
    }

  if (take_chance (g, 20))
    {
      plan_set (plan, "knobs-daemonize", "true");
      plan_set_take (plan, "pid-file", gen_path (g, 200, ""));
      if (plan_get_bool (plan, "knobs-no-graphic"))
        plan_set (plan, "knobs-no-defaults", "true");
    }
}

static void
gen_iothreads_and_qmp (Gen  *g,
                       Plan *plan)
{
  guint n = take_below (g, 3);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (plan->iothreads, g->wild && take_chance (g, 20) ? gen_text (g, 30, "", TRUE)
                                                                      : gen_fresh_id (g, plan, NULL));
  n = take_below (g, 3);
  for (guint i = 0; i < n; i++)
    {
      QmpSocket *q = g_new0 (QmpSocket, 1);

      q->name = g_strdup_printf ("qmp%u", i);
      q->path = g->wild && take_chance (g, 10) ? g_strdup ("")
                                               : gen_path (g, 200, "");
      q->server = !take_chance (g, 20);
      q->no_wait = q->server ? take_chance (g, 50) : (g->wild && take_chance (g, 30));
      g_ptr_array_add (plan->qmp, q);
    }
}

/* ------------------------------------------------------------------ */
/* Building, checking, repairing */

static QlVmConfig *
plan_build (Plan *plan)
{
  QlVmConfig *vm = ql_vm_config_new ();

  ql_vm_config_set_host_probe (vm, NULL);
  for (guint i = 0; i < plan->settings->len; i++)
    {
      Setting *s = g_ptr_array_index (plan->settings, i);
      g_autoptr(GError) error = NULL;

      /* Accepted once by plan_set(): the same text again. */
      if (!ql_vm_config_set_from_string (vm, s->key, s->value, &error))
        ql_fuzz_fail ("%s = '%s' was accepted once, then refused: %s", s->key, s->value, error->message);
    }
  for (guint i = 0; i < plan->iothreads->len; i++)
    ql_vm_config_add_iothread (vm, g_ptr_array_index (plan->iothreads, i));
  for (guint i = 0; i < plan->qmp->len; i++)
    {
      QmpSocket *q = g_ptr_array_index (plan->qmp, i);

      ql_vm_config_add_qmp_socket (vm, q->name, q->path, q->server, q->no_wait);
    }
  for (guint i = 0; i < plan->devices->len; i++)
    ql_vm_config_add_device (vm, g_ptr_array_index (plan->devices, i));
  return vm;
}

/* How often @what was repaired already, counting this time. */
static guint
attempt (Plan       *plan,
         const char *what)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (plan->attempts, what)) + 1;

  g_hash_table_replace (plan->attempts, g_strdup (what), GUINT_TO_POINTER (n));
  return n;
}

static void
repair_device (Gen        *g,
               Plan       *plan,
               QlDevice   *device,
               const char *key)
{
  g_autofree char *what = g_strdup_printf ("device %p %s", (void *) device, key != NULL ? key : "");
  GParamSpec *pspec = key != NULL ? g_object_class_find_property (G_OBJECT_GET_CLASS (device), key) : NULL;
  guint n = attempt (plan, what);

  if (pspec != NULL && g_str_equal (key, "id") && n <= 2)
    {
      g_autofree char *id = gen_fresh_id (g, plan, NULL);

      ql_device_set_id (device, id);
      return;
    }
  if (pspec != NULL && settable (pspec) && n <= 2)
    {
      if (!set_device_property (g, plan, device, pspec))
        reset_property (G_OBJECT (device), pspec);
      return;
    }
  if (pspec != NULL && settable (pspec) && n == 3)
    {
      reset_property (G_OBJECT (device), pspec);
      return;
    }
  g_ptr_array_remove (plan->devices, device);
}

static void
repair_vm (Gen        *g,
           Plan       *plan,
           const char *group,
           const char *key)
{
  g_autofree char *property = NULL;
  g_autofree char *what = NULL;
  GObjectClass *vm_class = g_type_class_peek (QL_TYPE_VM_CONFIG);
  GParamSpec *pspec;
  guint n;

  if (g_str_has_prefix (group, "qmp "))
    {
      for (guint i = 0; i < plan->qmp->len; i++)
        if (g_str_equal (((QmpSocket *) g_ptr_array_index (plan->qmp, i))->name, group + 4))
          g_ptr_array_remove_index (plan->qmp, i--);
      return;
    }
  if (g_str_has_prefix (group, "iothread "))
    {
      for (guint i = 0; i < plan->iothreads->len; i++)
        if (g_str_equal (g_ptr_array_index (plan->iothreads, i), group + 9))
          g_ptr_array_remove_index (plan->iothreads, i--);
      return;
    }

  property = key == NULL ? NULL : g_str_equal (group, "vm") ? g_strdup (key) : g_strdup_printf ("%s-%s", group, key);
  pspec = property != NULL ? g_object_class_find_property (vm_class, property) : NULL;
  what = g_strdup_printf ("[%s] %s", group, key != NULL ? key : "");
  n = attempt (plan, what);

  /* A new value, then none, then the whole group goes; then every VM
   * setting (the cause may be in another group: [vm] pid-file is missing
   * because of [knobs] daemonize). */
  if (pspec != NULL && n == 1)
    {
      g_autofree char *text = gen_vm_value (g, plan, pspec);

      if (text != NULL)
        {
          plan_set (plan, property, text);
          return;
        }
    }
  if (pspec != NULL && n <= 2 && plan_unset (plan, property))
    return;
  for (guint i = 0; i < plan->settings->len; i++)
    if (n > 3 || g_str_equal (group_of (((Setting *) g_ptr_array_index (plan->settings, i))->key), group))
      g_ptr_array_remove_index (plan->settings, i--);
}

/* Where @prefix starts a line of @message (the first of several errors
 * is the message's start, each other one follows a newline), from @from
 * on; NULL when it does not. Ids may hold newlines themselves (the API
 * takes any text), so a message is not simply split into lines. */
static const char *
find_line_start (const char *message,
                 const char *from,
                 const char *prefix)
{
  for (const char *p = strstr (from, prefix); p != NULL; p = strstr (p + 1, prefix))
    if (p == message || p[-1] == '\n')
      return p;
  return NULL;
}

/* Repairs what each error of @message names: "device 'ID': property
 * 'KEY': ...", "[GROUP] KEY: ...", "[qmp NAME] ..." or "[iothread ID]...".
 * FALSE when it names nothing the plan has. */
static gboolean
repair (Gen        *g,
        Plan       *plan,
        const char *message)
{
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) group_keys = g_ptr_array_new_with_free_func (g_free);

  /* Read every error first: a repair may drop a device the next names.
   * With two devices of one id, the last is at fault. */
  for (guint i = 0; i < plan->devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (plan->devices, i);
      const char *id = ql_device_get_id (device);
      g_autofree char *prefix = g_strdup_printf ("device '%s': ", id != NULL ? id : "(no id)");

      for (const char *at = find_line_start (message, message, prefix); at != NULL;
           at = find_line_start (message, at + 1, prefix))
        {
          const char *rest = at + strlen (prefix);
          guint j;

          for (j = i + 1; j < plan->devices->len; j++)
            if (g_strcmp0 (ql_device_get_id (g_ptr_array_index (plan->devices, j)), id) == 0)
              break;
          if (j < plan->devices->len)
            break;
          g_ptr_array_add (devices, g_object_ref (device));
          if (g_str_has_prefix (rest, "property '") && strchr (rest + 10, '\'') != NULL)
            g_ptr_array_add (keys, g_strndup (rest + 10, strchr (rest + 10, '\'') - (rest + 10)));
          else
            g_ptr_array_add (keys, NULL);
        }
    }
  for (guint i = 0; i < plan->iothreads->len; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("[iothread %s]", (char *) g_ptr_array_index (plan->iothreads, i));

      /* "iothread ID", as repair_vm() takes it. */
      if (find_line_start (message, message, prefix) != NULL)
        {
          g_ptr_array_add (groups, g_strndup (prefix + 1, strlen (prefix) - 2));
          g_ptr_array_add (group_keys, NULL);
        }
    }
  /* "[GROUP] KEY: ..." and "[qmp NAME] KEY: ...". */
  for (const char *line = message; line != NULL; line = strchr (line, '\n'), line = line != NULL ? line + 1 : NULL)
    {
      const char *close = strpbrk (line, "]\n");
      const char *colon;

      if (line[0] != '[' || close == NULL || *close != ']' || g_str_has_prefix (line, "[iothread "))
        continue;
      colon = strpbrk (close, ":\n");
      g_ptr_array_add (groups, g_strndup (line + 1, close - line - 1));
      if (close[1] == ' ' && colon != NULL && *colon == ':')
        g_ptr_array_add (group_keys, g_strndup (close + 2, colon - close - 2));
      else
        g_ptr_array_add (group_keys, NULL);
    }

  for (guint i = 0; i < devices->len; i++)
    if (g_ptr_array_find (plan->devices, g_ptr_array_index (devices, i), NULL))
      repair_device (g, plan, g_ptr_array_index (devices, i), g_ptr_array_index (keys, i));
  for (guint i = 0; i < groups->len; i++)
    repair_vm (g, plan, g_ptr_array_index (groups, i), g_ptr_array_index (group_keys, i));
  return devices->len > 0 || groups->len > 0;
}

/* A wild id as a key-file group name: no brackets, no control characters. */
static void
sanitize_group (char *group)
{
  for (char *p = group; *p != '\0'; p++)
    if (*p == '[' || *p == ']' || g_ascii_iscntrl (*p))
      *p = '?';
}

/* The plan as a VM file, for QL_FUZZ_ARGV_DEBUG=1: what `qlaunch check`
 * and `qlaunch args --no-host-checks` reproduce. */
static void
plan_dump (Plan       *plan,
           const char *what)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = NULL;

  for (guint i = 0; i < plan->settings->len; i++)
    {
      Setting *s = g_ptr_array_index (plan->settings, i);
      const char *group = group_of (s->key);
      const char *key = g_str_equal (group, "vm") ? s->key : s->key + strlen (group) + 1;

      g_key_file_set_string (kf, group, key, s->value);
    }
  for (guint i = 0; i < plan->iothreads->len; i++)
    {
      g_autofree char *group = g_strdup_printf ("iothread %s", (char *) g_ptr_array_index (plan->iothreads, i));

      sanitize_group (group);
      g_key_file_set_comment (kf, NULL, NULL, "iothreads are groups without keys", NULL);
      g_key_file_set_string (kf, group, "#", "");
    }
  for (guint i = 0; i < plan->qmp->len; i++)
    {
      QmpSocket *q = g_ptr_array_index (plan->qmp, i);
      g_autofree char *group = g_strdup_printf ("qmp %s", q->name);

      g_key_file_set_string (kf, group, "path", q->path != NULL ? q->path : "");
      g_key_file_set_boolean (kf, group, "server", q->server);
      g_key_file_set_boolean (kf, group, "no-wait", q->no_wait);
    }
  for (guint i = 0; i < plan->devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (plan->devices, i);
      g_autofree char *group = g_strdup_printf ("device %s", ql_device_get_id (device));

      sanitize_group (group);
      g_autofree GParamSpec **pspecs = NULL;
      guint n = 0;

      g_key_file_set_string (kf, group, "type", ql_device_get_type_name (device));
      pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n);
      for (guint k = 0; k < n; k++)
        {
          g_auto(GValue) value = G_VALUE_INIT;
          g_autofree char *text_value = NULL;

          if (g_str_equal (pspecs[k]->name, "id") || !(pspecs[k]->flags & G_PARAM_READABLE))
            continue;
          g_value_init (&value, pspecs[k]->value_type);
          g_object_get_property (G_OBJECT (device), pspecs[k]->name, &value);
          if (g_param_value_defaults (pspecs[k], &value))
            continue;
          text_value = ql_param_value_to_string (pspecs[k], &value);
          if (text_value != NULL)
            g_key_file_set_string (kf, group, pspecs[k]->name, text_value);
        }
    }
  text = g_key_file_to_data (kf, NULL, NULL);
  fprintf (stderr, "fuzz-argv: %s\n%s", what, text);
}

/* A configuration that does not validate: a QL_CONFIG_ERROR with a
 * message, and it does not build either. */
static void
check_invalid (QlVmConfig   *vm,
               const GError *error)
{
  g_autoptr(GError) again = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_auto(GStrv) argv = NULL;

  if (error == NULL || error->domain != QL_CONFIG_ERROR || error->message[0] == '\0')
    ql_fuzz_fail ("validation failed without a QL_CONFIG_ERROR with a message");
  cmdline = ql_vm_config_build_cmdline (vm, &again);
  if (cmdline != NULL || again == NULL)
    ql_fuzz_fail ("an invalid configuration built: %s", error->message);
  g_clear_error (&again);
  argv = ql_vm_config_to_argv (vm, &again);
  if (argv != NULL || again == NULL)
    ql_fuzz_fail ("an invalid configuration gave an argv: %s", error->message);
}

/* A configuration that validates builds, and its argv keeps the
 * invariants. */
static void
check_valid (QlVmConfig *vm)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) again = NULL;
  g_auto(GStrv) direct = NULL;
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  cmdline = ql_vm_config_build_cmdline (vm, &error);
  if (cmdline == NULL)
    ql_fuzz_fail ("the configuration validates but does not build: %s",
                  error != NULL ? error->message : "(no error)");
  argv = ql_cmdline_to_argv (cmdline, &error);
  if (argv == NULL)
    ql_fuzz_fail ("the configuration builds but gives no argv: %s",
                  error != NULL ? error->message : "(no error)");
  ql_fuzz_check_argv (cmdline, argv);
  again = ql_cmdline_to_argv (cmdline, &error);
  g_assert (again != NULL);
  ql_fuzz_check_same (argv, again);
  direct = ql_vm_config_to_argv (vm, &error);
  if (direct == NULL)
    ql_fuzz_fail ("ql_vm_config_to_argv() failed on a configuration that built: %s",
                  error != NULL ? error->message : "(no error)");
  ql_fuzz_check_same (argv, direct);

  /* Each device's hot-plug form. */
  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      g_autoptr(QlCmdline) hotplug = ql_cmdline_new ("qemu-system-x86_64");
      g_autoptr(GError) hotplug_error = NULL;
      g_auto(GStrv) hotplug_argv = NULL;
      g_autoptr(JsonArray) steps = NULL;
      g_autoptr(GArray) fds = NULL;

      if (!ql_device_hotplug_params (device, vm, hotplug, &hotplug_error))
        g_assert (hotplug_error != NULL);
      else if ((hotplug_argv = ql_cmdline_to_argv (hotplug, &hotplug_error)) != NULL)
        ql_fuzz_check_argv (hotplug, hotplug_argv);
      g_clear_error (&hotplug_error);
      steps = ql_hotplug_plan (device, vm, &fds, &hotplug_error);
      g_assert ((steps != NULL) != (hotplug_error != NULL));
    }
}

static void
print_stats_now (void)
{
  guint64 strict = stats.inputs - stats.wild;

  if (stats.inputs == 0)
    return;
  fprintf (stderr,
           "fuzz-argv: %" G_GUINT64_FORMAT " inputs: valid at once %.1f%%, after repair %.1f%% "
           "(strict %" G_GUINT64_FORMAT ": %.1f%%, %.1f%%; wild %" G_GUINT64_FORMAT ": %.1f%%, %.1f%%); "
           "%.2f devices per input, %.2f per valid configuration; %.2f repair rounds per input; "
           "%" G_GUINT64_FORMAT " values refused when set; %" G_GUINT64_FORMAT " errors naming nothing\n",
           stats.inputs, 100.0 * stats.valid_first / stats.inputs, 100.0 * stats.valid_final / stats.inputs,
           strict, strict ? 100.0 * (stats.valid_first - stats.wild_valid_first) / strict : 0.0,
           strict ? 100.0 * (stats.valid_final - stats.wild_valid_final) / strict : 0.0,
           stats.wild, stats.wild ? 100.0 * stats.wild_valid_first / stats.wild : 0.0,
           stats.wild ? 100.0 * stats.wild_valid_final / stats.wild : 0.0,
           (double) stats.devices / stats.inputs,
           stats.valid_final ? (double) stats.devices_final / stats.valid_final : 0.0,
           (double) stats.rounds / stats.inputs, stats.set_failed, stats.unattributed);
}

static void
init_once (void)
{
  static gboolean done;

  if (done)
    return;
  done = TRUE;
  print_stats = g_getenv ("QL_FUZZ_ARGV_STATS") != NULL && *g_getenv ("QL_FUZZ_ARGV_STATS") != '\0';
  debug = g_strcmp0 (g_getenv ("QL_FUZZ_ARGV_DEBUG"), "1") == 0;
  if (print_stats)
    atexit (print_stats_now);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  QlRegistry *registry = ql_fuzz_registry ();
  g_auto(GStrv) types = ql_registry_list_device_types (registry);
  g_autoptr(Plan) plan = plan_new ();
  g_autoptr(QlVmConfig) shape = ql_vm_config_new ();
  Gen gen = { data, size, 0, FALSE };
  Gen *g = &gen;
  guint n_types = g_strv_length (types);
  const char *device_types[MAX_DEVICES];
  guint n_devices;

  init_once ();
  stats.inputs++;
  gen.wild = (take_byte (g) & 7) == 7;
  stats.wild += gen.wild;

  /* The devices' types first, so that a short input has some. */
  n_devices = n_types > 0 ? take_below (g, MAX_DEVICES + 1) : 0;
  for (guint i = 0; i < n_devices; i++)
    device_types[i] = types[take_below (g, n_types)];
  gen_vm_loose (g, plan, shape);
  gen_iothreads_and_qmp (g, plan);
  for (guint i = 0; i < n_devices; i++)
    gen_device (g, plan, registry, device_types[i]);
  gen_vm_groups (g, plan);

  for (guint round = 0; round <= MAX_ROUNDS; round++)
    {
      g_autoptr(QlVmConfig) vm = plan_build (plan);
      g_autoptr(GError) error = NULL;

      if (ql_vm_config_validate (vm, &error))
        {
          g_assert (error == NULL);
          if (debug)
            plan_dump (plan, g->wild ? "valid configuration (wild):" : "valid configuration (strict):");
          check_valid (vm);
          stats.valid_first += round == 0;
          stats.valid_final++;
          stats.wild_valid_first += g->wild && round == 0;
          stats.wild_valid_final += g->wild;
          stats.devices_final += plan->devices->len;
          break;
        }
      if (debug)
        {
          plan_dump (plan, g->wild ? "invalid configuration (wild):" : "invalid configuration (strict):");
          fprintf (stderr, "fuzz-argv: error%s:\n%s\n", g->wild ? " (wild)" : " (strict)", error->message);
        }
      if (round == 0)
        check_invalid (vm, error);
      if (round == MAX_ROUNDS)
        {
          if (debug)
            {
              g_autofree char *escaped = g_strescape (error->message, NULL);

              fprintf (stderr, "fuzz-argv: still invalid after repair (%s): %s\n",
                       g->wild ? "wild" : "strict", escaped);
            }
          break;
        }
      stats.rounds++;
      if (!repair (g, plan, error->message))
        {
          stats.unattributed++;
          if (print_stats)
            {
              g_autofree char *escaped = g_strescape (error->message, NULL);

              fprintf (stderr, "fuzz-argv: error naming no device or group: %s\n", escaped);
            }
        }
    }

  if (print_stats && (stats.inputs & (stats.inputs - 1)) == 0 && stats.inputs >= 1024)
    print_stats_now ();
  return 0;
}
