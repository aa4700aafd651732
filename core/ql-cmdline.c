/* qlaunch — QlCmdline: structured QEMU options and their one formatter. */
#include "ql-private.h"
#include "ql-arena-private.h"

#include <string.h>

/* Every string and structure of an option lives in its command line's
 * arena (ql-arena.c), written once and freed with the command line: a
 * value set again or unset leaves its old text there. */
typedef struct
{
  const char *key;
  const char *value;
  guint key_len;
  guint value_len;
  gboolean value_comma;       /* the value holds a ',' (doubled when written) */
  QlValueType type;
  const char *member;         /* QL_VALUE_LIST: each element's member, or NULL */
  const char *source;         /* the VM-file key that gave it ("qemu-set"), or NULL */
  gboolean from_text;         /* read from key=value text: its QEMU type is not known */
} QlOptionValue;

struct _QlOption
{
  const char *flag;           /* a static string for the flags of the table below */
  const struct _FlagInfo *info; /* the flag's row of that table, or NULL */
  QlOptionSyntax syntax;
  const char *head;           /* KEYVAL: driver/type; VERBATIM: the value */
  guint head_len;
  gboolean head_comma;
  QlOptionValue *values;      /* KEYVAL only */
  guint n_values;
  guint n_allocated;
  QlCmdline *owner;
  const char *origin;         /* VM-file group that produced it, or NULL */
  const char *origin_device;  /* the id of the device that produced it: origin
                               * "device 'ID'" is written when first asked for */
  QlPciPlacement pci_placement; /* -device: a plugin's mark (ql-pcie.c) */
};

/* Keys are compared often (every set, every lookup): most differ in the
 * first byte, so no call for those. */
static inline gboolean
key_equal (const char *a,
           const char *b)
{
  return a[0] == b[0] && strcmp (a, b) == 0;
}

/**
 * QlCmdline:
 *
 * A QEMU command line under construction: the binary, then structured
 * options (#QlOption), and the host file descriptors QEMU inherits.
 *
 * Every option is kept as data (a flag, its #QlOptionSyntax, a head and
 * typed key/value pairs) and formatted only by ql_cmdline_to_argv(), which
 * doubles every `,` in key=value values, so that no value can inject an
 * option. The same options can become QMP commands for hot-plugging
 * (ql_hotplug_plan()).
 *
 * Device plugins append their options in #QlDeviceClass.qemu_params
 * through this API only; ql_vm_config_build_cmdline() makes the whole
 * command line of a VM. A bad value does not stop the building: the first
 * one is kept (ql_cmdline_fail()) and reported by ql_cmdline_check() and
 * ql_cmdline_to_argv().
 */
struct _QlCmdline
{
  GObject parent_instance;

  char *binary;
  QlArena arena;              /* the options, their values and strings */
  GPtrArray *options;         /* QlOption, in the arena */
  GArray *fds;                /* host fds, index i is QEMU fd 3 + i */
  GError *error;              /* first bad value, reported by check/to_argv */
  guint qemu_major;           /* target QEMU version; 0: the oldest (7.2) */
  guint qemu_minor;
  GPtrArray *helpers;         /* QlHelper */
  char *runtime_dir;          /* where helpers' sockets go */
  char *shared_memory_reason; /* non-NULL: guest RAM must be shared */
  GPtrArray *notes;           /* char*, NULL-terminated: ql_cmdline_add_note() */
};

G_DEFINE_FINAL_TYPE (QlCmdline, ql_cmdline, G_TYPE_OBJECT)

/* A boxed reference to an option keeps its command line alive (bindings
 * may hold an option longer than the command line). */
static QlOption *
ql_option_keep (QlOption *option)
{
  g_object_ref (option->owner);
  return option;
}

static void
ql_option_release (QlOption *option)
{
  g_object_unref (option->owner);
}

G_DEFINE_BOXED_TYPE (QlOption, ql_option, ql_option_keep, ql_option_release)

/* The options QlCmdline knows by name: how each is written. Any other
 * option is key=value. The key=value options listed are the ones qlaunch
 * and its plugins write: their names need no copy. */
typedef struct _FlagInfo
{
  const char *flag;
  QlOptionSyntax syntax;
  gboolean needs_value;       /* key=value options that cannot stand alone */
} FlagInfo;

static const FlagInfo known_flags[] = {
  /* Options without value. */
  { "-S", QL_OPTION_SYNTAX_FLAG }, { "-nodefaults", QL_OPTION_SYNTAX_FLAG },
  { "-no-user-config", QL_OPTION_SYNTAX_FLAG }, { "-nographic", QL_OPTION_SYNTAX_FLAG },
  { "-daemonize", QL_OPTION_SYNTAX_FLAG }, { "-no-reboot", QL_OPTION_SYNTAX_FLAG },
  { "-no-shutdown", QL_OPTION_SYNTAX_FLAG }, { "-snapshot", QL_OPTION_SYNTAX_FLAG },
  { "-enable-kvm", QL_OPTION_SYNTAX_FLAG }, { "-no-hpet", QL_OPTION_SYNTAX_FLAG },
  { "-no-acpi", QL_OPTION_SYNTAX_FLAG }, { "-s", QL_OPTION_SYNTAX_FLAG },
  /* Options whose value QEMU reads as is. */
  { "-kernel", QL_OPTION_SYNTAX_VERBATIM }, { "-initrd", QL_OPTION_SYNTAX_VERBATIM },
  { "-append", QL_OPTION_SYNTAX_VERBATIM }, { "-bios", QL_OPTION_SYNTAX_VERBATIM },
  { "-uuid", QL_OPTION_SYNTAX_VERBATIM }, { "-incoming", QL_OPTION_SYNTAX_VERBATIM },
  { "-pidfile", QL_OPTION_SYNTAX_VERBATIM }, { "-global", QL_OPTION_SYNTAX_VERBATIM },
  { "-cpu", QL_OPTION_SYNTAX_VERBATIM }, { "-vga", QL_OPTION_SYNTAX_VERBATIM },
  { "-serial", QL_OPTION_SYNTAX_VERBATIM }, { "-monitor", QL_OPTION_SYNTAX_VERBATIM },
  { "-L", QL_OPTION_SYNTAX_VERBATIM }, { "-D", QL_OPTION_SYNTAX_VERBATIM },
  { "-d", QL_OPTION_SYNTAX_VERBATIM }, { "-readconfig", QL_OPTION_SYNTAX_VERBATIM },
  { "-boot", QL_OPTION_SYNTAX_VERBATIM }, { "-k", QL_OPTION_SYNTAX_VERBATIM },
  { "-loadvm", QL_OPTION_SYNTAX_VERBATIM },
  /* Key=value options that cannot stand alone. */
  { "-device", QL_OPTION_SYNTAX_KEYVAL, TRUE }, { "-netdev", QL_OPTION_SYNTAX_KEYVAL, TRUE },
  { "-object", QL_OPTION_SYNTAX_KEYVAL, TRUE }, { "-chardev", QL_OPTION_SYNTAX_KEYVAL, TRUE },
  { "-blockdev", QL_OPTION_SYNTAX_KEYVAL, TRUE }, { "-drive", QL_OPTION_SYNTAX_KEYVAL, TRUE },
  /* Other key=value options. */
  { "-machine", QL_OPTION_SYNTAX_KEYVAL }, { "-name", QL_OPTION_SYNTAX_KEYVAL },
  { "-smp", QL_OPTION_SYNTAX_KEYVAL }, { "-m", QL_OPTION_SYNTAX_KEYVAL },
  { "-rtc", QL_OPTION_SYNTAX_KEYVAL }, { "-qmp", QL_OPTION_SYNTAX_KEYVAL },
  { "-sandbox", QL_OPTION_SYNTAX_KEYVAL }, { "-overcommit", QL_OPTION_SYNTAX_KEYVAL },
  { "-fsdev", QL_OPTION_SYNTAX_KEYVAL }, { "-numa", QL_OPTION_SYNTAX_KEYVAL },
  { "-mon", QL_OPTION_SYNTAX_KEYVAL }, { "-display", QL_OPTION_SYNTAX_KEYVAL },
  { "-accel", QL_OPTION_SYNTAX_KEYVAL }, { "-fw_cfg", QL_OPTION_SYNTAX_KEYVAL },
  { "-audiodev", QL_OPTION_SYNTAX_KEYVAL }, { "-iscsi", QL_OPTION_SYNTAX_KEYVAL },
};

/* Whether some QEMU version removed the flag of each row of known_flags:
 * most options need no look at the table of removed options. */
static gboolean flag_ever_removed[G_N_ELEMENTS (known_flags)];

/* known_flags by FNV-1a hash of the name, open addressing: built once,
 * then a lookup is one pass over the name and one strcmp(). */
#define FLAG_SLOTS 128

static guint32
flag_hash (const char *flag)
{
  guint32 h = 2166136261u;

  for (const guchar *p = (const guchar *) flag; *p != '\0'; p++)
    h = (h ^ *p) * 16777619u;
  return h;
}

/* @flag's row of known_flags, or NULL. */
static const FlagInfo *
lookup_flag (const char *flag)
{
  static const FlagInfo *slots[FLAG_SLOTS];
  static gsize built;
  guint32 i;

  G_STATIC_ASSERT (G_N_ELEMENTS (known_flags) < FLAG_SLOTS / 2);
  if (g_once_init_enter (&built))
    {
      for (gsize k = 0; k < G_N_ELEMENTS (known_flags); k++)
        {
          flag_ever_removed[k] = ql_qemu_syntax_ever_removed (known_flags[k].flag);
          for (i = flag_hash (known_flags[k].flag) % FLAG_SLOTS; slots[i] != NULL; i = (i + 1) % FLAG_SLOTS)
            ;
          slots[i] = &known_flags[k];
        }
      g_once_init_leave (&built, 1);
    }
  for (i = flag_hash (flag) % FLAG_SLOTS; slots[i] != NULL; i = (i + 1) % FLAG_SLOTS)
    if (strcmp (slots[i]->flag, flag) == 0)
      return slots[i];
  return NULL;
}

static void
ql_cmdline_finalize (GObject *object)
{
  QlCmdline *self = QL_CMDLINE (object);

  g_free (self->binary);
  g_ptr_array_unref (self->options);
  ql_arena_clear (&self->arena);
  g_array_unref (self->fds);
  g_clear_error (&self->error);
  g_ptr_array_unref (self->helpers);
  g_free (self->runtime_dir);
  g_free (self->shared_memory_reason);
  g_ptr_array_unref (self->notes);

  G_OBJECT_CLASS (ql_cmdline_parent_class)->finalize (object);
}

static void
ql_cmdline_class_init (QlCmdlineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ql_cmdline_finalize;
}

static void
ql_cmdline_init (QlCmdline *self)
{
  ql_arena_init (&self->arena);
  self->options = g_ptr_array_new ();
  self->fds = g_array_new (FALSE, FALSE, sizeof (int));
  self->helpers = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_helper_free);
  self->qemu_major = QL_QEMU_OLDEST_MAJOR;
  self->qemu_minor = QL_QEMU_OLDEST_MINOR;
  self->notes = g_ptr_array_new_null_terminated (0, g_free, TRUE);
}

/**
 * ql_cmdline_new:
 * @binary: the QEMU binary, argv[0]
 *
 * Creates an empty command line.
 *
 * Returns: (transfer full): a new #QlCmdline
 */
QlCmdline *
ql_cmdline_new (const char *binary)
{
  QlCmdline *self = g_object_new (QL_TYPE_CMDLINE, NULL);

  self->binary = g_strdup (binary);
  return self;
}

/**
 * ql_cmdline_get_binary:
 * @self: a #QlCmdline
 *
 * Gets the QEMU binary the command line starts with.
 *
 * Returns: the QEMU binary (argv[0])
 */
const char *
ql_cmdline_get_binary (QlCmdline *self)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  return self->binary;
}

/**
 * ql_cmdline_set_qemu_version:
 * @self: a #QlCmdline
 * @major: QEMU's major version
 * @minor: QEMU's minor version
 *
 * Sets the QEMU version the command line is written for. It chooses the
 * form of the options whose form changed between versions (from QEMU 9.0,
 * `-device`, `-object` and `-netdev` are written as JSON) and makes
 * ql_cmdline_to_argv() refuse options that version removed. The default is
 * the oldest version qlaunch supports, %QL_QEMU_OLDEST_MAJOR.
 * %QL_QEMU_OLDEST_MINOR (7.2); older versions are raised to it.
 */
void
ql_cmdline_set_qemu_version (QlCmdline *self,
                             guint      major,
                             guint      minor)
{
  g_return_if_fail (QL_IS_CMDLINE (self));
  if (major < QL_QEMU_OLDEST_MAJOR
      || (major == QL_QEMU_OLDEST_MAJOR && minor < QL_QEMU_OLDEST_MINOR))
    {
      major = QL_QEMU_OLDEST_MAJOR;
      minor = QL_QEMU_OLDEST_MINOR;
    }
  self->qemu_major = major;
  self->qemu_minor = minor;
}

/**
 * ql_cmdline_get_qemu_version:
 * @self: a #QlCmdline
 * @major: (out) (optional): QEMU's major version
 * @minor: (out) (optional): QEMU's minor version
 *
 * Gets the QEMU version the command line is written for (see
 * ql_cmdline_set_qemu_version()).
 */
void
ql_cmdline_get_qemu_version (QlCmdline *self,
                             guint     *major,
                             guint     *minor)
{
  g_return_if_fail (QL_IS_CMDLINE (self));
  if (major != NULL)
    *major = self->qemu_major;
  if (minor != NULL)
    *minor = self->qemu_minor;
}

/**
 * ql_cmdline_writes_json:
 * @self: a #QlCmdline
 * @flag: an option such as `-device`
 *
 * Whether ql_cmdline_to_argv() writes @flag's key=value options as JSON for
 * the QEMU version the command line targets.
 *
 * Returns: %TRUE for JSON, %FALSE for key=value
 */
gboolean
ql_cmdline_writes_json (QlCmdline  *self,
                        const char *flag)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), FALSE);
  g_return_val_if_fail (flag != NULL, FALSE);
  return ql_qemu_syntax_writes_json (self->qemu_major, self->qemu_minor, flag);
}

/**
 * ql_cmdline_syntax_for_flag:
 * @flag: a QEMU option such as `-device`
 *
 * Tells how QlCmdline writes @flag's value: %QL_OPTION_SYNTAX_FLAG for
 * options without value, %QL_OPTION_SYNTAX_VERBATIM for options QEMU reads
 * as is (`-kernel`, `-append`, `-global`, ...), %QL_OPTION_SYNTAX_KEYVAL for
 * every other option (`-device`, `-drive`, `-netdev`, `-object`, `-machine`,
 * `-name`, `-smp`, `-m`, `-rtc`, `-qmp`, ...).
 *
 * Returns: the syntax
 */
QlOptionSyntax
ql_cmdline_syntax_for_flag (const char *flag)
{
  const FlagInfo *info = lookup_flag (flag);

  return info != NULL ? info->syntax : QL_OPTION_SYNTAX_KEYVAL;
}

static void
fail_value (QlCmdline  *self,
            const char *flag,
            const char *key,
            const char *value,
            const char *why)
{
  if (self->error != NULL)
    return;
  self->error = g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                             "option %s: value '%s' for '%s' %s",
                             flag, value, key != NULL ? key : flag, why);
}

/* Whether @value can be written (no line break, valid UTF-8); its length
 * in @len. One pass over ASCII text. */
static gboolean
check_text (QlCmdline  *self,
            const char *flag,
            const char *key,
            const char *value,
            gsize      *len,
            gboolean   *has_comma)
{
  const guint64 ones = G_GUINT64_CONSTANT (0x0101010101010101);
  const guint64 highs = G_GUINT64_CONSTANT (0x8080808080808080);
  const guchar *p = (const guchar *) value;
  gsize n = strlen (value), i = 0;
  guint64 commas = 0;
  gboolean ascii = TRUE;

  /* Eight bytes at a time: a byte of '\n' becomes zero in w ^ '\n'...,
   * and (x - 0x01...) & ~x has the high bit of some byte set exactly when
   * x has a zero byte; a high bit in w is not ASCII. */
  for (; i + 8 <= n; i += 8)
    {
      guint64 w, nl, cr, cm;

      memcpy (&w, p + i, 8);
      nl = w ^ (ones * '\n');
      cr = w ^ (ones * '\r');
      cm = w ^ (ones * ',');
      if (((w | ((nl - ones) & ~nl) | ((cr - ones) & ~cr)) & highs) != 0)
        break;
      commas |= (cm - ones) & ~cm & highs;
    }
  for (p += i; *p != '\0'; p++)
    {
      if (*p == '\n' || *p == '\r')
        {
          fail_value (self, flag, key, value, "holds a line break");
          return FALSE;
        }
      if (*p >= 0x80)
        ascii = FALSE;
      else if (*p == ',')
        commas = 1;
    }
  *has_comma = commas != 0;
  if (!ascii && !g_utf8_validate (value, -1, NULL))
    {
      fail_value (self, flag, key, value, "is not valid UTF-8");
      return FALSE;
    }
  *len = (gsize) (p - (const guchar *) value);
  return TRUE;
}

static gboolean
check_key (QlCmdline  *self,
           const char *flag,
           const char *key,
           gsize      *len)
{
  const char *p = key;

  for (; *p != '\0'; p++)
    if (*p == ',' || *p == '=' || *p == ' ' || *p == '\t' || *p == '\n')
      break;
  *len = (gsize) (p - key);
  if (*key == '\0' || *p != '\0')
    {
      if (self->error == NULL)
        self->error = g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                                   "option %s: '%s' is not a valid key", flag, key);
      return FALSE;
    }
  return TRUE;
}

/* A key used against its kind: a list key set to one value, or the
 * reverse; the elements of one list with different members. */
static void
fail_key (QlCmdline  *self,
          const char *flag,
          const char *key,
          const char *why)
{
  if (self->error != NULL)
    return;
  self->error = g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                             "option %s: key '%s' %s", flag, key, why);
}

/* A call against the API's contract (a plugin bug): recorded like a bad
 * value, so that building the argv fails with an error naming the device
 * (ql_device_qemu_params() attributes it), never a critical and a device
 * silently missing from the argv. */
static void G_GNUC_PRINTF (2, 3)
fail_misuse (QlCmdline  *self,
             const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  if (self->error != NULL)
    return;
  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  self->error = g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                             "plugin bug: %s", message);
}

static const char *
syntax_advice (const char *flag)
{
  switch (ql_cmdline_syntax_for_flag (flag))
    {
    case QL_OPTION_SYNTAX_FLAG:
      return "it takes no value: use ql_cmdline_add_flag()";
    case QL_OPTION_SYNTAX_VERBATIM:
      return "its value is not key=value: use ql_cmdline_add_verbatim()";
    case QL_OPTION_SYNTAX_KEYVAL:
    default:
      return "it takes key=value: use ql_cmdline_add_option()";
    }
}

/* Whether @flag can name an option; records a misuse by @function if not. */
static gboolean
check_flag (QlCmdline  *self,
            const char *function,
            const char *flag)
{
  if (flag == NULL || flag[0] != '-' || flag[1] == '\0')
    {
      fail_misuse (self, "%s(): '%s' is not an option name (it starts with '-')",
                   function, flag != NULL ? flag : "(null)");
      return FALSE;
    }
  return TRUE;
}

/* @info: @flag's row of known_flags, or NULL when it has none. */
static QlOption *
append_option (QlCmdline      *self,
               const char     *flag,
               const FlagInfo *info,
               QlOptionSyntax  syntax,
               const char     *head)
{
  QlOption *option = ql_arena_alloc0 (&self->arena, sizeof (QlOption));
  gboolean comma;
  gsize len;

  option->flag = info != NULL ? info->flag : ql_arena_strdup (&self->arena, flag);
  option->info = info;
  option->syntax = syntax;
  option->owner = self;
  if (head != NULL && check_text (self, flag, NULL, head, &len, &comma))
    {
      option->head = ql_arena_strndup (&self->arena, head, len);
      option->head_len = (guint) len;
      option->head_comma = comma;
    }
  g_ptr_array_add (self->options, option);
  return option;
}

/* A key=value option for the add/insert functions. A misuse (no option
 * name, or one of another syntax) is recorded and still gives an option,
 * so that the caller's further calls on it are harmless. */
static QlOption *
append_keyval_option (QlCmdline  *self,
                      const char *function,
                      const char *flag,
                      const char *head)
{
  const FlagInfo *info = NULL;

  if (!check_flag (self, function, flag))
    flag = "-invalid";
  else if ((info = lookup_flag (flag)) != NULL && info->syntax != QL_OPTION_SYNTAX_KEYVAL)
    fail_misuse (self, "%s(): option %s: %s", function, flag, syntax_advice (flag));
  return append_option (self, flag, info, QL_OPTION_SYNTAX_KEYVAL, head);
}

/**
 * ql_cmdline_add_flag:
 * @self: a #QlCmdline
 * @flag: an option without value, such as `-nodefaults`
 *
 * Appends an option that takes no value.
 */
void
ql_cmdline_add_flag (QlCmdline  *self,
                     const char *flag)
{
  const FlagInfo *info;

  g_return_if_fail (QL_IS_CMDLINE (self));
  if (!check_flag (self, "ql_cmdline_add_flag", flag))
    return;
  /* Options that cannot stand alone (the table lists only the flags
   * qlaunch itself writes; an unknown flag is taken as the caller says). */
  info = lookup_flag (flag);
  if (info != NULL && (info->syntax == QL_OPTION_SYNTAX_VERBATIM || info->needs_value))
    {
      fail_misuse (self, "ql_cmdline_add_flag(): option %s needs a value: %s",
                   flag, syntax_advice (flag));
      return;
    }
  append_option (self, flag, info, QL_OPTION_SYNTAX_FLAG, NULL);
}

/**
 * ql_cmdline_add_verbatim:
 * @self: a #QlCmdline
 * @flag: an option QEMU reads verbatim, such as `-kernel`
 * @value: its value, passed as one argument, never escaped
 *
 * Appends an option whose value QEMU does not split on commas. A value with
 * a line break makes ql_cmdline_check() fail.
 */
void
ql_cmdline_add_verbatim (QlCmdline  *self,
                         const char *flag,
                         const char *value)
{
  const FlagInfo *info;

  g_return_if_fail (QL_IS_CMDLINE (self));
  if (!check_flag (self, "ql_cmdline_add_verbatim", flag))
    return;
  info = lookup_flag (flag);
  if (info == NULL || info->syntax == QL_OPTION_SYNTAX_KEYVAL)
    {
      fail_misuse (self, "ql_cmdline_add_verbatim(): option %s: %s",
                   flag, syntax_advice (flag));
      return;
    }
  if (value == NULL)
    {
      fail_misuse (self, "ql_cmdline_add_verbatim(): option %s without a value", flag);
      return;
    }
  if (*value == '\0')
    fail_value (self, flag, NULL, value, "is empty");
  append_option (self, flag, info, QL_OPTION_SYNTAX_VERBATIM, value);
}

/**
 * ql_cmdline_add_optionv:
 * @self: a #QlCmdline
 * @flag: a key=value option such as `-device`
 * @head: (nullable): the driver or type written first (`virtio-net-pci`)
 * @keys: (array zero-terminated=1) (nullable): keys
 * @values: (array zero-terminated=1) (nullable): values, one per key; a
 *   %NULL-terminated list as long as @keys
 *
 * Appends a key=value option. See ql_cmdline_add_option().
 *
 * Returns: (transfer none): the option, to add more values to
 */
QlOption *
ql_cmdline_add_optionv (QlCmdline          *self,
                        const char         *flag,
                        const char         *head,
                        const char * const *keys,
                        const char * const *values)
{
  QlOption *option;

  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);

  option = append_keyval_option (self, "ql_cmdline_add_optionv", flag, head);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    ql_option_set (option, keys[i], values[i]);
  return option;
}

/**
 * ql_cmdline_add_option: (skip)
 * @self: a #QlCmdline
 * @flag: a key=value option such as `-device`
 * @head: (nullable): the driver or type written first (`virtio-net-pci`)
 * @...: pairs of key and string value, ending with a %NULL key; a pair whose
 *   value is %NULL is left out
 *
 * Appends a key=value option, e.g.
 * `ql_cmdline_add_option (cl, "-device", "virtio-net-pci", "netdev", id, "mac", mac, NULL)`.
 * The option stays structured; commas in the head and values are doubled
 * only when the argv is written.
 *
 * Returns: (transfer none): the option, to add more values to
 */
QlOption *
ql_cmdline_add_option (QlCmdline  *self,
                       const char *flag,
                       const char *head,
                       ...)
{
  QlOption *option;
  const char *key;
  va_list ap;

  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);

  option = append_keyval_option (self, "ql_cmdline_add_option", flag, head);
  va_start (ap, head);
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);

      ql_option_set (option, key, value);
    }
  va_end (ap);
  return option;
}

/* A setter called with no key, or on an option that takes no keys. */
static gboolean
check_option_key (QlOption   *option,
                  const char *function,
                  const char *key)
{
  if (key == NULL)
    {
      fail_misuse (option->owner, "%s(): option %s: no key given", function, option->flag);
      return FALSE;
    }
  if (option->syntax != QL_OPTION_SYNTAX_KEYVAL)
    {
      fail_misuse (option->owner, "%s(): option %s takes no key=value (key '%s')",
                   function, option->flag, key);
      return FALSE;
    }
  return TRUE;
}

/* Room for one more value at @at (the values from @at move up). */
static QlOptionValue *
insert_value_slot (QlOption *option,
                   guint     at)
{
  if (option->n_values == option->n_allocated)
    {
      guint n = MAX (4, option->n_allocated * 2);
      QlOptionValue *values = ql_arena_alloc (&option->owner->arena, n * sizeof (QlOptionValue));

      if (option->n_values > 0)
        memcpy (values, option->values, option->n_values * sizeof (QlOptionValue));
      option->values = values;
      option->n_allocated = n;
    }
  memmove (&option->values[at + 1], &option->values[at], (option->n_values - at) * sizeof (QlOptionValue));
  option->n_values++;
  return memset (&option->values[at], 0, sizeof (QlOptionValue));
}

/* How option_put() takes a value. */
typedef enum
{
  VALUE_CHECK,                /* anything: checked, then copied */
  VALUE_NUMBER,               /* a decimal number of our own: copied */
  VALUE_STATIC,               /* a word of our own that outlives the option */
} ValueKind;

/* Sets @key to @value. */
static void
option_put (QlOption    *option,
            const char  *key,
            const char  *value,
            ValueKind    kind,
            QlValueType  type)
{
  QlArena *arena = &option->owner->arena;
  QlOptionValue *v;
  gsize key_len, value_len;
  gboolean comma = FALSE;

  if (!check_key (option->owner, option->flag, key, &key_len))
    return;
  if (kind == VALUE_CHECK)
    {
      if (!check_text (option->owner, option->flag, key, value, &value_len, &comma))
        return;
    }
  else
    value_len = strlen (value);
  if (kind != VALUE_STATIC)
    value = ql_arena_strndup (arena, value, value_len);

  /* Setting a key again replaces its value in place. */
  for (guint i = 0; i < option->n_values; i++)
    {
      QlOptionValue *old = &option->values[i];

      if (key_equal (old->key, key))
        {
          if (old->type == QL_VALUE_LIST)
            {
              fail_key (option->owner, option->flag, key,
                        "holds a list (ql_option_add_list_value()), and cannot be set to one value");
              return;
            }
          old->value = value;
          old->value_len = (guint) value_len;
          old->value_comma = comma;
          old->type = type;
          old->from_text = FALSE;
          return;
        }
    }
  v = insert_value_slot (option, option->n_values);
  v->key = ql_arena_strndup (arena, key, key_len);
  v->key_len = (guint) key_len;
  v->value = value;
  v->value_len = (guint) value_len;
  v->value_comma = comma;
  v->type = type;
}

/**
 * ql_option_set:
 * @option: a key=value #QlOption
 * @key: the key
 * @value: (nullable): the value; %NULL leaves the option unchanged
 *
 * Sets a string value; setting a key again replaces its value in place.
 */
void
ql_option_set (QlOption   *option,
               const char *key,
               const char *value)
{
  g_return_if_fail (option != NULL);
  if (!check_option_key (option, "ql_option_set", key) || value == NULL)
    return;
  option_put (option, key, value, VALUE_CHECK, QL_VALUE_STRING);
}

/**
 * ql_option_set_bool:
 * @option: a key=value #QlOption
 * @key: the key
 * @value: the value, written `on` or `off`
 *
 * Sets a boolean value.
 */
void
ql_option_set_bool (QlOption   *option,
                    const char *key,
                    gboolean    value)
{
  g_return_if_fail (option != NULL);
  if (!check_option_key (option, "ql_option_set_bool", key))
    return;
  option_put (option, key, value ? "on" : "off", VALUE_STATIC, QL_VALUE_BOOL);
}

/* @value in decimal, at the end of @buffer. */
static const char *
format_decimal (char    buffer[static 24],
                guint64 value,
                gboolean negative)
{
  char *p = buffer + 23;

  *p = '\0';
  do
    {
      *--p = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value != 0);
  if (negative)
    *--p = '-';
  return p;
}

/**
 * ql_option_set_int:
 * @option: a key=value #QlOption
 * @key: the key
 * @value: the value
 *
 * Sets a signed integer value.
 */
void
ql_option_set_int (QlOption   *option,
                   const char *key,
                   gint64      value)
{
  char buffer[24];

  g_return_if_fail (option != NULL);
  if (!check_option_key (option, "ql_option_set_int", key))
    return;
  /* The magnitude of G_MININT64 as unsigned: -(value + 1) + 1. */
  option_put (option, key,
              format_decimal (buffer, value < 0 ? (guint64) -(value + 1) + 1 : (guint64) value, value < 0),
              VALUE_NUMBER, QL_VALUE_INT);
}

/**
 * ql_option_set_uint:
 * @option: a key=value #QlOption
 * @key: the key
 * @value: the value
 *
 * Sets an unsigned integer value.
 */
void
ql_option_set_uint (QlOption   *option,
                    const char *key,
                    guint64     value)
{
  char buffer[24];

  g_return_if_fail (option != NULL);
  if (!check_option_key (option, "ql_option_set_uint", key))
    return;
  option_put (option, key, format_decimal (buffer, value, FALSE), VALUE_NUMBER, QL_VALUE_UINT);
}

/**
 * ql_option_set_fds:
 * @option: a key=value #QlOption
 * @key: the key, e.g. `fds`
 * @qemu_fds: (array length=n_fds): descriptor numbers returned by
 *   ql_cmdline_add_fd()
 * @n_fds: how many, at least one
 *
 * Sets a value naming descriptors passed to QEMU, written `3:4` on the
 * command line. Marking them lets hotplug pass the same descriptors over
 * QMP (`getfd`) and write their names instead.
 */
void
ql_option_set_fds (QlOption   *option,
                   const char *key,
                   const int  *qemu_fds,
                   guint       n_fds)
{
  GString *s;

  g_return_if_fail (option != NULL);
  if (!check_option_key (option, "ql_option_set_fds", key))
    return;
  if (qemu_fds == NULL || n_fds == 0)
    {
      fail_misuse (option->owner, "ql_option_set_fds(): option %s, key '%s': no descriptors",
                   option->flag, key);
      return;
    }

  s = g_string_new (NULL);
  for (guint i = 0; i < n_fds; i++)
    g_string_append_printf (s, "%s%d", i > 0 ? ":" : "", qemu_fds[i]);
  option_put (option, key, s->str, VALUE_CHECK, QL_VALUE_FDS);
  g_string_free (s, TRUE);
}

/**
 * ql_option_add_list_value:
 * @option: a key=value #QlOption
 * @key: the key, e.g. `hostfwd`
 * @member: (nullable): the member each element is an object of, for QEMU
 *   lists of structures such as QAPI's `['String']` (member `str`); %NULL
 *   for a list of plain strings
 * @value: (nullable): the element to append; %NULL leaves the option
 *   unchanged
 *
 * Appends an element to a list-valued key. The elements of a key stay
 * together, in the order added, and are written:
 *
 * - in key=value form, as the key repeated, each value with its `,`
 *   doubled: `hostfwd=A,hostfwd=B` (QEMU's QemuOpts read a repeated key as
 *   a list);
 * - in JSON form (ql_cmdline_writes_json()), as one array:
 *   `"hostfwd":[{"str":"A"},{"str":"B"}]` with @member `str`,
 *   `"key":["A","B"]` without;
 * - as QMP arguments (ql_hotplug_plan()), as the same array.
 *
 * Each element is one key/value pair of the option (its type
 * %QL_VALUE_LIST, its member ql_option_get_list_member()), so
 * ql_option_lookup() finds the first. A key holds either one value or a
 * list, and all the elements of a list have the same @member: anything
 * else makes ql_cmdline_check() fail.
 *
 * Since: ABI 1.2
 */
void
ql_option_add_list_value (QlOption   *option,
                          const char *key,
                          const char *member,
                          const char *value)
{
  QlArena *arena;
  QlOptionValue *v;
  gsize key_len, value_len;
  gboolean comma;
  guint at;

  g_return_if_fail (option != NULL);
  if (!check_option_key (option, "ql_option_add_list_value", key) || value == NULL)
    return;
  if (!check_key (option->owner, option->flag, key, &key_len)
      || !check_text (option->owner, option->flag, key, value, &value_len, &comma))
    return;
  if (member != NULL && (*member == '\0' || strpbrk (member, ",=. \t\n") != NULL
                         || !g_utf8_validate (member, -1, NULL)))
    {
      g_autofree char *why = g_strdup_printf ("has list member '%s', which is not a member name (empty, or with ',', '=', '.' or a space)",
                                              member);

      fail_key (option->owner, option->flag, key, why);
      return;
    }

  /* After the key's last element, or at the end. */
  at = option->n_values;
  for (guint i = 0; i < option->n_values; i++)
    {
      QlOptionValue *old = &option->values[i];

      if (!key_equal (old->key, key))
        continue;
      if (old->type != QL_VALUE_LIST)
        {
          fail_key (option->owner, option->flag, key,
                    "holds one value, and cannot also be a list");
          return;
        }
      if (g_strcmp0 (old->member, member) != 0)
        {
          fail_key (option->owner, option->flag, key,
                    "is a list whose elements need the same member");
          return;
        }
      at = i + 1;
    }
  arena = &option->owner->arena;
  v = insert_value_slot (option, at);
  v->key = ql_arena_strndup (arena, key, key_len);
  v->key_len = (guint) key_len;
  v->value = ql_arena_strndup (arena, value, value_len);
  v->value_len = (guint) value_len;
  v->value_comma = comma;
  v->type = QL_VALUE_LIST;
  v->member = ql_arena_strdup (arena, member);
}

/**
 * ql_option_get_flag:
 * @option: a #QlOption
 *
 * Gets the option's flag.
 *
 * Returns: the option's flag, such as `-device`
 */
const char *
ql_option_get_flag (QlOption *option)
{
  return option->flag;
}

/**
 * ql_option_get_head:
 * @option: a #QlOption
 *
 * Gets the option's head: what comes before the first `key=value` pair.
 *
 * Returns: (nullable): the driver/type of a key=value option, or the value
 *   of a verbatim option
 */
const char *
ql_option_get_head (QlOption *option)
{
  return option->head;
}

/**
 * ql_option_get_syntax:
 * @option: a #QlOption
 *
 * Gets the option's syntax.
 *
 * Returns: how the option is written
 */
QlOptionSyntax
ql_option_get_syntax (QlOption *option)
{
  return option->syntax;
}

/**
 * ql_option_get_origin:
 * @option: a #QlOption
 *
 * Gets what in the VM configuration produced the option, as error messages
 * name it: `device 'disk0'` for a device's options, `[machine]`,
 * `[memory]`, ... for the VM's own groups.
 *
 * Returns: (nullable): the origin, or %NULL for an option added directly
 */
const char *
ql_option_get_origin (QlOption *option)
{
  g_return_val_if_fail (option != NULL, NULL);
  if (option->origin == NULL && option->origin_device != NULL)
    {
      gsize len = strlen (option->origin_device);
      char *origin = ql_arena_alloc (&option->owner->arena, len + sizeof ("device ''"));

      memcpy (origin, "device '", 8);
      memcpy (origin + 8, option->origin_device, len);
      memcpy (origin + 8 + len, "'", 2);
      option->origin = origin;
    }
  return option->origin;
}

void
ql_option_set_origin (QlOption   *option,
                      const char *origin)
{
  option->origin = ql_arena_strdup (&option->owner->arena, origin);
  option->origin_device = NULL;
}

/* The options from @first on came from device @device_id: their origin
 * is "device 'ID'" (written only when asked for). */
void
ql_cmdline_set_device_origin (QlCmdline  *self,
                              guint       first,
                              const char *device_id)
{
  const char *id;

  if (first >= self->options->len)
    return;
  id = ql_arena_strdup (&self->arena, device_id != NULL ? device_id : "(null)");
  for (guint i = first; i < self->options->len; i++)
    {
      QlOption *option = g_ptr_array_index (self->options, i);

      option->origin = NULL;
      option->origin_device = id;
    }
}

/**
 * ql_option_set_pci_placement:
 * @option: a `-device` #QlOption
 * @placement: whether the device is a PCI endpoint that gets a PCIe root
 *   port of its own
 *
 * Marks a `-device` option for the automatic PCIe topology: on a PCI
 * Express machine (q35) every PCI endpoint that names no `bus` and no
 * `addr` is put behind a PCIe root port of its own
 * (ql_vm_config_build_cmdline()). By default (%QL_PCI_PLACEMENT_AUTO) the
 * driver's name decides (ql_option_is_pci_endpoint()); a plugin whose
 * device is a PCI endpoint with another name (`e1000e`) marks it
 * %QL_PCI_PLACEMENT_ROOT_PORT, one whose `-pci` device must stay on the
 * root bus marks it %QL_PCI_PLACEMENT_NONE.
 *
 * Since: ABI 1.2
 */
void
ql_option_set_pci_placement (QlOption       *option,
                             QlPciPlacement  placement)
{
  g_return_if_fail (option != NULL);
  g_return_if_fail (placement <= QL_PCI_PLACEMENT_NONE);
  option->pci_placement = placement;
}

/**
 * ql_option_get_pci_placement:
 * @option: a #QlOption
 *
 * Gets the mark set by ql_option_set_pci_placement().
 *
 * Returns: the mark; %QL_PCI_PLACEMENT_AUTO when none was set
 *
 * Since: ABI 1.2
 */
QlPciPlacement
ql_option_get_pci_placement (QlOption *option)
{
  g_return_val_if_fail (option != NULL, QL_PCI_PLACEMENT_AUTO);
  return option->pci_placement;
}

/* A key=value option inserted at @index (ql-pcie.c: a root port right
 * before the device that plugs into it). */
QlOption *
ql_cmdline_insert_option (QlCmdline  *self,
                          guint       index,
                          const char *flag,
                          const char *head)
{
  QlOption *option;

  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);

  if (index > self->options->len)
    {
      fail_misuse (self, "ql_cmdline_insert_option(): position %u is past the end (%u options)",
                   index, self->options->len);
      index = self->options->len;
    }
  option = append_keyval_option (self, "ql_cmdline_insert_option", flag, head);
  g_ptr_array_remove_index (self->options, self->options->len - 1);
  g_ptr_array_insert (self->options, (gint) index, option);
  return option;
}

/* Marks @key's values as given by the user through @source (a VM-file
 * key such as "qemu-set"), and, with @from_text, as read from key=value
 * text whose QEMU type is not known yet. */
void
ql_option_mark_source (QlOption   *option,
                       const char *key,
                       const char *source,
                       gboolean    from_text)
{
  const char *copy = NULL;

  for (guint i = 0; i < option->n_values; i++)
    {
      QlOptionValue *v = &option->values[i];

      if (!key_equal (v->key, key))
        continue;
      if (copy == NULL && source != NULL)
        copy = ql_arena_strdup (&option->owner->arena, source);
      v->source = copy;
      v->from_text = from_text;
    }
}

const char *
ql_option_get_source (QlOption *option,
                      guint     index)
{
  g_return_val_if_fail (index < ql_option_get_n_values (option), NULL);
  return option->values[index].source;
}

gboolean
ql_option_is_from_text (QlOption *option,
                        guint     index)
{
  g_return_val_if_fail (index < ql_option_get_n_values (option), FALSE);
  return option->values[index].from_text;
}

/* Gives the value at @index its QEMU type (its text unchanged or
 * normalized: "on" for a boolean): it is no longer untyped text. */
void
ql_option_retype (QlOption    *option,
                  guint        index,
                  const char  *value,
                  QlValueType  type)
{
  QlOptionValue *v;

  g_return_if_fail (index < ql_option_get_n_values (option));
  v = &option->values[index];
  if (v->type == QL_VALUE_LIST)
    return;
  if (v->value != value)
    {
      v->value_len = (guint) strlen (value);
      v->value = ql_arena_strndup (&option->owner->arena, value, v->value_len);
      v->value_comma = memchr (value, ',', v->value_len) != NULL;
    }
  v->type = type;
  v->from_text = FALSE;
}

/* Removes every value of @key (all the elements of a list); FALSE when
 * the option has none. */
gboolean
ql_option_unset (QlOption   *option,
                 const char *key)
{
  gboolean found = FALSE;

  for (guint i = option->n_values; i > 0; i--)
    if (key_equal (option->values[i - 1].key, key))
      {
        memmove (&option->values[i - 1], &option->values[i], (option->n_values - i) * sizeof (QlOptionValue));
        option->n_values--;
        found = TRUE;
      }
  return found;
}

/* Removes the option at @index. */
void
ql_cmdline_remove_option (QlCmdline *self,
                          guint      index)
{
  g_return_if_fail (QL_IS_CMDLINE (self));
  g_return_if_fail (index < self->options->len);
  g_ptr_array_remove_index (self->options, index);
}

/* Puts the last option in the place of the one at @index, which goes. */
void
ql_cmdline_replace_with_last (QlCmdline *self,
                              guint      index)
{
  QlOption *last;

  g_return_if_fail (QL_IS_CMDLINE (self));
  g_return_if_fail (index + 1 < self->options->len);
  last = g_ptr_array_remove_index (self->options, self->options->len - 1);
  g_ptr_array_remove_index (self->options, index);
  g_ptr_array_insert (self->options, (gint) index, last);
}

/**
 * ql_option_get_n_values:
 * @option: a #QlOption
 *
 * Gets the number of key/value pairs of a key=value option.
 *
 * Returns: the number of key/value pairs
 */
guint
ql_option_get_n_values (QlOption *option)
{
  return option->n_values;
}

/**
 * ql_option_get_key:
 * @option: a #QlOption
 * @index: a pair index
 *
 * Gets the key of one key/value pair of a key=value option.
 *
 * Returns: the key of pair @index
 */
const char *
ql_option_get_key (QlOption *option,
                   guint     index)
{
  g_return_val_if_fail (index < ql_option_get_n_values (option), NULL);
  return option->values[index].key;
}

/**
 * ql_option_get_value:
 * @option: a #QlOption
 * @index: a pair index
 *
 * Gets the value of one key/value pair of a key=value option, as it was set
 * (before `,` is doubled).
 *
 * Returns: the unescaped value of pair @index
 */
const char *
ql_option_get_value (QlOption *option,
                     guint     index)
{
  g_return_val_if_fail (index < ql_option_get_n_values (option), NULL);
  return option->values[index].value;
}

/**
 * ql_option_get_value_type:
 * @option: a #QlOption
 * @index: a pair index
 *
 * Gets the type the value of one key/value pair was set with.
 *
 * Returns: the type of pair @index's value
 */
QlValueType
ql_option_get_value_type (QlOption *option,
                          guint     index)
{
  g_return_val_if_fail (index < ql_option_get_n_values (option), QL_VALUE_STRING);
  return option->values[index].type;
}

/**
 * ql_option_get_list_member:
 * @option: a #QlOption
 * @index: a pair index
 *
 * Gets the member of one element of a list-valued key (see
 * ql_option_add_list_value()).
 *
 * Returns: (nullable): the member (`str` for QEMU's `['String']`), or
 *   %NULL for a plain string element or a value that is no list element
 *
 * Since: ABI 1.2
 */
const char *
ql_option_get_list_member (QlOption *option,
                           guint     index)
{
  g_return_val_if_fail (index < ql_option_get_n_values (option), NULL);
  return option->values[index].member;
}

/**
 * ql_option_lookup:
 * @option: a #QlOption
 * @key: a key
 *
 * Looks up the value of a key in a key=value option (for a list-valued
 * key, its first element).
 *
 * Returns: (nullable): the value for @key, or %NULL
 */
const char *
ql_option_lookup (QlOption   *option,
                  const char *key)
{
  for (guint i = 0; i < option->n_values; i++)
    if (key_equal (option->values[i].key, key))
      return option->values[i].value;
  return NULL;
}

/**
 * ql_cmdline_get_n_options:
 * @self: a #QlCmdline
 *
 * Gets the number of options added so far (flags, verbatim and key=value
 * options).
 *
 * Returns: the number of options
 */
guint
ql_cmdline_get_n_options (QlCmdline *self)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), 0);
  return self->options->len;
}

/**
 * ql_cmdline_get_option:
 * @self: a #QlCmdline
 * @index: an option index
 *
 * Gets one of the options, in command-line order.
 *
 * Returns: (transfer none): the option at @index
 */
QlOption *
ql_cmdline_get_option (QlCmdline *self,
                       guint      index)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  g_return_val_if_fail (index < self->options->len, NULL);
  return g_ptr_array_index (self->options, index);
}

/**
 * ql_cmdline_find_option:
 * @self: a #QlCmdline
 * @flag: an option flag such as `-device`
 * @id: (nullable): the value of its `id` key, or %NULL for the first @flag
 *
 * Finds an option by its flag and, for key=value options, its `id` key.
 *
 * Returns: (transfer none) (nullable): the first matching option
 */
QlOption *
ql_cmdline_find_option (QlCmdline  *self,
                        const char *flag,
                        const char *id)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);

  for (guint i = 0; i < self->options->len; i++)
    {
      QlOption *option = g_ptr_array_index (self->options, i);

      if (!g_str_equal (option->flag, flag))
        continue;
      if (id == NULL || g_strcmp0 (ql_option_lookup (option, "id"), id) == 0)
        return option;
    }
  return NULL;
}

/**
 * ql_cmdline_set_machine_option:
 * @self: a #QlCmdline
 * @key: a `-machine` property, such as `nvdimm`
 * @value: its value
 *
 * Adds a property to the command line's `-machine` option (creating that
 * option if there is none). Setting a key that already has a different value
 * is a conflict that makes ql_cmdline_check() fail.
 */
void
ql_cmdline_set_machine_option (QlCmdline  *self,
                               const char *key,
                               const char *value)
{
  QlOption *machine;
  const char *old;

  g_return_if_fail (QL_IS_CMDLINE (self));
  if (key == NULL || value == NULL)
    {
      fail_misuse (self, "ql_cmdline_set_machine_option(): no %s given",
                   key == NULL ? "key" : "value");
      return;
    }

  machine = ql_cmdline_find_option (self, "-machine", NULL);
  if (machine == NULL)
    machine = append_option (self, "-machine", lookup_flag ("-machine"), QL_OPTION_SYNTAX_KEYVAL, NULL);

  old = ql_option_lookup (machine, key);
  if (old != NULL && !g_str_equal (old, value))
    {
      if (self->error == NULL)
        self->error = g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                                   "machine option '%s' is set to both '%s' and '%s'",
                                   key, old, value);
      return;
    }
  ql_option_set (machine, key, value);
}

/**
 * ql_cmdline_add_fd:
 * @self: a #QlCmdline
 * @host_fd: a descriptor open in this process
 *
 * Records a descriptor to hand to QEMU and returns the number QEMU will see
 * it as: 3 for the first, then upward in call order.
 *
 * Returns: the descriptor number in QEMU
 */
int
ql_cmdline_add_fd (QlCmdline *self,
                   int        host_fd)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), -1);
  g_array_append_val (self->fds, host_fd);
  return 3 + (int) self->fds->len - 1;
}

/**
 * ql_cmdline_add_note:
 * @self: a #QlCmdline
 * @note: one sentence
 *
 * Records something the argv alone does not tell its user: a default
 * qlaunch changed for this VM and why (a sandbox class allowed because a
 * device needs it). The library never prints; `qlaunch` writes each note
 * on its standard error as `qlaunch: note: NOTE` before the argv is
 * printed or QEMU starts. The same note is recorded once.
 *
 * Since: ABI 1.4
 */
void
ql_cmdline_add_note (QlCmdline  *self,
                     const char *note)
{
  g_return_if_fail (QL_IS_CMDLINE (self));
  g_return_if_fail (note != NULL);
  for (guint i = 0; i < self->notes->len; i++)
    if (strcmp (g_ptr_array_index (self->notes, i), note) == 0)
      return;
  g_ptr_array_add (self->notes, g_strdup (note));
}

/**
 * ql_cmdline_get_notes:
 * @self: a #QlCmdline
 *
 * Gets the notes recorded with ql_cmdline_add_note(), in order.
 *
 * Returns: (transfer none) (array zero-terminated=1): the notes
 *
 * Since: ABI 1.4
 */
const char * const *
ql_cmdline_get_notes (QlCmdline *self)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  /* An empty array may have no storage yet. */
  return self->notes->pdata != NULL ? (const char * const *) self->notes->pdata : none;
}

/**
 * ql_cmdline_get_fds:
 * @self: a #QlCmdline
 *
 * Gets the host file descriptors added with ql_cmdline_add_fd(), which the
 * launcher passes to QEMU.
 *
 * Returns: (transfer none) (element-type gint): the host descriptors, the
 *   one at index i to become QEMU's descriptor 3 + i
 */
GArray *
ql_cmdline_get_fds (QlCmdline *self)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  return self->fds;
}

/**
 * ql_cmdline_fail:
 * @self: a #QlCmdline
 * @error: (transfer full): an error
 *
 * Records an error found while building; the first one recorded is what
 * ql_cmdline_check() reports.
 */
void
ql_cmdline_fail (QlCmdline *self,
                 GError    *error)
{
  g_return_if_fail (QL_IS_CMDLINE (self));
  if (self->error == NULL)
    self->error = error;
  else
    g_error_free (error);
}

const GError *
ql_cmdline_peek_error (QlCmdline *self)
{
  return self->error;
}

/**
 * ql_cmdline_check:
 * @self: a #QlCmdline
 * @error: return location for an error
 *
 * Reports the first bad value given while building (a line break, a key
 * that is not a key, a machine option set twice).
 *
 * Returns: %TRUE when the command line can be written
 */
gboolean
ql_cmdline_check (QlCmdline  *self,
                  GError    **error)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), FALSE);
  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }
  return TRUE;
}

static void
append_escaped (GString    *s,
                const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == ',')
        g_string_append_c (s, ',');
      g_string_append_c (s, *p);
    }
}

/**
 * ql_cmdline_escape_value:
 * @value: a value for a key=value option
 *
 * Doubles every comma, as QEMU's key=value parser expects.
 *
 * Returns: (transfer full): the escaped value
 */
char *
ql_cmdline_escape_value (const char *value)
{
  GString *s = g_string_sized_new (strlen (value) + 4);

  append_escaped (s, value);
  return g_string_free (s, FALSE);
}

/* @value with every comma doubled into @out, which has room; returns the
 * end. */
static char *
write_escaped (char       *out,
               const char *value)
{
  const char *comma;

  while ((comma = strchr (value, ',')) != NULL)
    {
      memcpy (out, value, (gsize) (comma - value) + 1);
      out += comma - value + 1;
      *out++ = ',';
      value = comma + 1;
    }
  return stpcpy (out, value);
}

/* @text of @len bytes into @out, its commas doubled when it has some. */
static char *
write_text (char       *out,
            const char *text,
            gsize       len,
            gboolean    comma)
{
  if (comma)
    return write_escaped (out, text);
  memcpy (out, text, len);
  return out + len;
}

/* One allocation: the argv of a large VM holds thousands of these. Each
 * text's length and whether it holds a comma were noted when it was set;
 * a text with commas gets room for each doubled. */
static char *
format_keyval (QlOption *option)
{
  gsize len = 0;
  char *text, *p;

  if (option->head != NULL)
    len += option->head_comma ? 2 * option->head_len : option->head_len;
  for (guint i = 0; i < option->n_values; i++)
    len += option->values[i].key_len + 2
           + (option->values[i].value_comma ? 2 * option->values[i].value_len : option->values[i].value_len);
  text = p = g_malloc (len + 1);
  if (option->head != NULL)
    p = write_text (p, option->head, option->head_len, option->head_comma);
  for (guint i = 0; i < option->n_values; i++)
    {
      const QlOptionValue *v = &option->values[i];

      if (p > text)
        *p++ = ',';
      memcpy (p, v->key, v->key_len);
      p += v->key_len;
      *p++ = '=';
      p = write_text (p, v->value, v->value_len, v->value_comma);
    }
  *p = '\0';
  return text;
}

static void
append_json_string (GString    *s,
                    const char *text)
{
  g_string_append_c (s, '"');
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          g_string_append_c (s, '\\');
          g_string_append_c (s, (char) *p);
        }
      else if (*p < 0x20 || *p == 0x7f)
        g_string_append_printf (s, "\\u%04x", *p);
      else
        g_string_append_c (s, (char) *p);
    }
  g_string_append_c (s, '"');
}

static void
append_json_value (GString             *s,
                   const QlOptionValue *v)
{
  switch (v->type)
    {
    case QL_VALUE_BOOL:
      g_string_append (s, g_str_equal (v->value, "on") ? "true" : "false");
      break;
    case QL_VALUE_INT:
    case QL_VALUE_UINT:
      /* Checked decimal numbers (ql_option_set_int/uint). */
      g_string_append (s, v->value);
      break;
    case QL_VALUE_FDS:
    case QL_VALUE_STRING:
    case QL_VALUE_LIST:
    default:
      append_json_string (s, v->value);
      break;
    }
}

/* The list whose first element is value @first: one array of its
 * elements, which ql_option_add_list_value() keeps together. */
static void
append_json_list (GString  *s,
                  QlOption *option,
                  guint     first)
{
  const char *key = option->values[first].key;

  g_string_append_c (s, '[');
  for (guint i = first; i < option->n_values; i++)
    {
      QlOptionValue *v = &option->values[i];

      if (!g_str_equal (v->key, key))
        break;
      if (i > first)
        g_string_append_c (s, ',');
      if (v->member != NULL)
        {
          g_string_append_c (s, '{');
          append_json_string (s, v->member);
          g_string_append_c (s, ':');
        }
      append_json_string (s, v->value);
      if (v->member != NULL)
        g_string_append_c (s, '}');
    }
  g_string_append_c (s, ']');
}

/* The JSON key QEMU reads the head from. */
static const char *
json_head_key (const char *flag)
{
  if (strcmp (flag, "-device") == 0)
    return "driver";
  if (strcmp (flag, "-object") == 0)
    return "qom-type";
  return "type";   /* -netdev, -blockdev (driver: not written as JSON) */
}

/* Writes @object, whose leaves are strings holding JSON text. */
static void
append_json_tree (GString    *s,
                  JsonObject *object)
{
  g_autoptr(GList) members = json_object_get_members (object);
  gboolean first = TRUE;

  g_string_append_c (s, '{');
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (object, l->data);

      if (!first)
        g_string_append_c (s, ',');
      first = FALSE;
      append_json_string (s, l->data);
      g_string_append_c (s, ':');
      if (JSON_NODE_HOLDS_OBJECT (node))
        append_json_tree (s, json_node_get_object (node));
      else
        g_string_append (s, json_node_get_string (node));
    }
  g_string_append_c (s, '}');
}

/* @option as one JSON object, keys in the order added. Dotted keys become
 * nested objects, as QEMU's key=value parser reads them ("file.filename"
 * -> {"file": {"filename": ...}}). Values keep their #QlValueType: QEMU's
 * JSON input is strictly typed. */
static char *
format_json (QlOption  *option,
             GError   **error)
{
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(GString) s = g_string_new (NULL);

  if (option->head != NULL)
    {
      append_json_string (s, option->head);
      json_object_set_string_member (root, json_head_key (option->flag), s->str);
    }
  for (guint i = 0; i < option->n_values; i++)
    {
      QlOptionValue *v = &option->values[i];
      g_auto(GStrv) parts = NULL;
      guint n;
      JsonObject *object = root;

      /* A list's later elements went with its first. */
      if (v->type == QL_VALUE_LIST && i > 0
          && g_str_equal (option->values[i - 1].key, v->key))
        continue;
      parts = g_strsplit (v->key, ".", -1);
      n = g_strv_length (parts);
      for (guint k = 0; k + 1 < n; k++)
        {
          JsonNode *child = json_object_get_member (object, parts[k]);

          if (child == NULL)
            {
              json_object_set_object_member (object, parts[k], json_object_new ());
              child = json_object_get_member (object, parts[k]);
            }
          else if (!JSON_NODE_HOLDS_OBJECT (child))
            object = NULL;
          if (object == NULL)
            break;
          object = json_node_get_object (child);
        }
      if (object == NULL || json_object_has_member (object, parts[n - 1]))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                       "%s%s%s %s: key '%s' clashes with another key in JSON form",
                       ql_option_get_origin (option) != NULL ? ql_option_get_origin (option) : "",
                       ql_option_get_origin (option) != NULL ? ": " : "",
                       option->flag, option->head != NULL ? option->head : "", v->key);
          return NULL;
        }
      g_string_truncate (s, 0);
      if (v->type == QL_VALUE_LIST)
        append_json_list (s, option, i);
      else
        append_json_value (s, v);
      json_object_set_string_member (object, parts[n - 1], s->str);
    }
  g_string_truncate (s, 0);
  append_json_tree (s, root);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Values read from key=value text whose QEMU type is unknown (no probed
 * binary typed them: ql_qemu_caps_apply_syntax()): QEMU's JSON input is
 * strictly typed, so such an option keeps the key=value form, which QEMU
 * reads the types from. */
static gboolean
has_text_values (QlOption *option)
{
  for (guint i = 0; i < option->n_values; i++)
    if (option->values[i].from_text)
      return TRUE;
  return FALSE;
}

static gboolean
check_removed (QlCmdline  *self,
               QlOption   *option,
               GError    **error)
{
  guint major = 0, minor = 0;
  const char *instead;

  if (option->info != NULL && !flag_ever_removed[option->info - known_flags])
    return TRUE;
  instead = ql_qemu_syntax_removed (self->qemu_major, self->qemu_minor, option->flag, option->head,
                                    &major, &minor);
  if (instead == NULL)
    return TRUE;
  g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_INCOMPATIBLE,
               "%s%sQEMU %u.%u has no %s%s%s (removed in %u.%u): %s",
               ql_option_get_origin (option) != NULL ? ql_option_get_origin (option) : "",
               ql_option_get_origin (option) != NULL ? ": " : "",
               self->qemu_major, self->qemu_minor, option->flag,
               option->head != NULL ? " " : "", option->head != NULL ? option->head : "",
               major, minor, instead);
  return FALSE;
}

/**
 * ql_cmdline_to_argv:
 * @self: a #QlCmdline
 * @error: return location for an error
 *
 * Writes the command line: argv[0] is the binary, then each option in the
 * order added. Key=value options get their commas doubled; a key=value
 * option with neither head nor values is left out.
 *
 * Returns: (transfer full) (array zero-terminated=1): the argv, or %NULL
 *   when a bad value was given (see ql_cmdline_check())
 */
char **
ql_cmdline_to_argv (QlCmdline  *self,
                    GError    **error)
{
  /* At most two arguments per option: one allocation for the array. */
  char **argv;
  guint n = 0;
  gboolean json_possible;

  if (!ql_cmdline_check (self, error))
    return NULL;

  /* Whether any known option is written as JSON for this version: when
   * none is (QEMU before 9.0), only options outside known_flags are asked
   * about one by one. */
  json_possible = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (known_flags) && !json_possible; i++)
    json_possible = ql_qemu_syntax_writes_json (self->qemu_major, self->qemu_minor, known_flags[i].flag);

  argv = g_new (char *, 2 * (gsize) self->options->len + 2);
  argv[n++] = g_strdup (self->binary);
  for (guint i = 0; i < self->options->len; i++)
    {
      QlOption *option = g_ptr_array_index (self->options, i);

      switch (option->syntax)
        {
        case QL_OPTION_SYNTAX_FLAG:
          if (!check_removed (self, option, error))
            goto failed;
          argv[n++] = g_strdup (option->flag);
          break;
        case QL_OPTION_SYNTAX_VERBATIM:
          argv[n++] = g_strdup (option->flag);
          argv[n++] = g_strdup (option->head);
          break;
        case QL_OPTION_SYNTAX_KEYVAL:
          if (option->head == NULL && option->n_values == 0)
            break;
          if (!check_removed (self, option, error))
            goto failed;
          argv[n++] = g_strdup (option->flag);
          if ((json_possible || option->info == NULL)
              && ql_cmdline_writes_json (self, option->flag) && !has_text_values (option))
            {
              char *json = format_json (option, error);

              if (json == NULL)
                goto failed;
              argv[n++] = json;
            }
          else
            argv[n++] = format_keyval (option);
          break;
        default:
          g_assert_not_reached ();
        }
    }
  argv[n] = NULL;
  return argv;

failed:
  argv[n] = NULL;
  g_strfreev (argv);
  return NULL;
}

/* Helpers, the runtime directory and shared memory (ql-helper.h) */

/**
 * ql_cmdline_add_helper:
 * @self: a #QlCmdline
 * @name: what messages call the helper, e.g. `virtiofsd`
 *   (`[a-z0-9][a-z0-9._-]*`)
 * @binary: the program: an absolute path, or a name looked up in `PATH`
 *
 * Declares a host process the VM needs beside QEMU (see #QlHelper); a
 * plugin calls it from #QlDeviceClass.qemu_params, then adds the helper's
 * arguments, socket and descriptors. The core records which device
 * declared it.
 *
 * Returns: (transfer none): the helper, to describe further
 *
 * Since: ABI 1.2
 */
QlHelper *
ql_cmdline_add_helper (QlCmdline  *self,
                       const char *name,
                       const char *binary)
{
  g_autofree char *found = NULL;
  QlHelper *helper;
  gboolean name_ok;

  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  g_return_val_if_fail (name != NULL && binary != NULL, NULL);

  name_ok = g_ascii_isalnum (*name);
  for (const char *p = name; name_ok && *p != '\0'; p++)
    name_ok = g_ascii_isalnum (*p) || strchr ("._-", *p) != NULL;
  if (!name_ok)
    ql_cmdline_fail (self, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                                        "helper name '%s' is not a name ([a-z0-9][a-z0-9._-]*)", name));
  if (*binary == '\0')
    ql_cmdline_fail (self, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                                        "helper '%s': no binary given", name));
  if (strchr (binary, '/') == NULL && *binary != '\0')
    found = g_find_program_in_path (binary);
  helper = ql_helper_new (self, name, found != NULL ? found : binary);
  g_ptr_array_add (self->helpers, helper);
  return helper;
}

/**
 * ql_cmdline_get_n_helpers:
 * @self: a #QlCmdline
 *
 * Gets the number of helpers declared so far.
 *
 * Returns: the number of helpers
 *
 * Since: ABI 1.2
 */
guint
ql_cmdline_get_n_helpers (QlCmdline *self)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), 0);
  return self->helpers->len;
}

/**
 * ql_cmdline_get_helper:
 * @self: a #QlCmdline
 * @index: a helper index
 *
 * Gets one of the helpers, in the order they were declared (the order the
 * launcher starts them in).
 *
 * Returns: (transfer none): the helper at @index
 *
 * Since: ABI 1.2
 */
QlHelper *
ql_cmdline_get_helper (QlCmdline *self,
                       guint      index)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  g_return_val_if_fail (index < self->helpers->len, NULL);
  return g_ptr_array_index (self->helpers, index);
}

/**
 * ql_cmdline_set_runtime_dir:
 * @self: a #QlCmdline
 * @dir: (nullable): an absolute directory, or %NULL
 *
 * Sets the VM's runtime directory, where devices put the sockets between
 * QEMU and their helpers. ql_vm_config_build_cmdline() sets it (see
 * ql_vm_config_set_runtime_dir()); the launcher creates it, private (0700),
 * and removes it when the VM ends.
 *
 * Since: ABI 1.2
 */
void
ql_cmdline_set_runtime_dir (QlCmdline  *self,
                            const char *dir)
{
  g_return_if_fail (QL_IS_CMDLINE (self));
  ql_set_str (&self->runtime_dir, dir);
}

/**
 * ql_cmdline_get_runtime_dir:
 * @self: a #QlCmdline
 *
 * Gets the VM's runtime directory (see ql_cmdline_set_runtime_dir()).
 *
 * Returns: (nullable): the directory, or %NULL when none was set
 *
 * Since: ABI 1.2
 */
const char *
ql_cmdline_get_runtime_dir (QlCmdline *self)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  return self->runtime_dir;
}

/**
 * ql_cmdline_build_runtime_path:
 * @self: a #QlCmdline
 * @name: a file name, e.g. `fs0.virtiofsd.sock`
 *
 * Builds the path of a file in the runtime directory. Without a runtime
 * directory the build of the command line fails (the path returned is then
 * only @name).
 *
 * Returns: (transfer full): the path
 *
 * Since: ABI 1.2
 */
char *
ql_cmdline_build_runtime_path (QlCmdline  *self,
                               const char *name)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  if (self->runtime_dir == NULL)
    {
      ql_cmdline_fail (self, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                                          "'%s' needs a runtime directory, and the command line has none "
                                          "(ql_cmdline_set_runtime_dir())", name));
      return g_strdup (name);
    }
  return g_build_filename (self->runtime_dir, name, NULL);
}

/**
 * ql_cmdline_require_shared_memory:
 * @self: a #QlCmdline
 * @reason: what needs it, for messages and `qlaunch args`, e.g.
 *   `device 'fs0' (vhost-user-fs-pci)`
 *
 * Says that guest RAM must be shared with another process (a vhost-user
 * backend maps it). Unless the VM's memory knobs give a shared backend
 * already, the core then backs guest RAM with `memory-backend-memfd`
 * (`share=on`). A device checks in its #QlDeviceClass.valid that the
 * configuration does not force private memory.
 *
 * Since: ABI 1.2
 */
void
ql_cmdline_require_shared_memory (QlCmdline  *self,
                                  const char *reason)
{
  g_return_if_fail (QL_IS_CMDLINE (self));
  g_return_if_fail (reason != NULL);
  if (self->shared_memory_reason == NULL)
    self->shared_memory_reason = g_strdup (reason);
}

/**
 * ql_cmdline_get_shared_memory:
 * @self: a #QlCmdline
 *
 * Whether a device asked for shared guest RAM
 * (ql_cmdline_require_shared_memory()).
 *
 * Returns: %TRUE when guest RAM must be shared
 *
 * Since: ABI 1.2
 */
gboolean
ql_cmdline_get_shared_memory (QlCmdline *self)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), FALSE);
  return self->shared_memory_reason != NULL;
}

/**
 * ql_cmdline_get_shared_memory_reason:
 * @self: a #QlCmdline
 *
 * Gets what asked first for shared guest RAM.
 *
 * Returns: (nullable): the reason given to
 *   ql_cmdline_require_shared_memory(), or %NULL
 *
 * Since: ABI 1.2
 */
const char *
ql_cmdline_get_shared_memory_reason (QlCmdline *self)
{
  g_return_val_if_fail (QL_IS_CMDLINE (self), NULL);
  return self->shared_memory_reason;
}
