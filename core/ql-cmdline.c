/* qlaunch — QlCmdline: structured QEMU options and their one formatter. */
#include "ql-private.h"

#include <string.h>

typedef struct
{
  char *key;
  char *value;
  QlValueType type;
} QlOptionValue;

struct _QlOption
{
  char *flag;
  QlOptionSyntax syntax;
  char *head;                 /* KEYVAL: driver/type; VERBATIM: the value */
  GArray *values;             /* QlOptionValue, KEYVAL only */
  QlCmdline *owner;
};

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
  GPtrArray *options;         /* QlOption */
  GArray *fds;                /* host fds, index i is QEMU fd 3 + i */
  GError *error;              /* first bad value, reported by check/to_argv */
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

/* Options whose value QEMU reads as is (DESIGN.md section 4). */
static const char *const verbatim_flags[] = {
  "-kernel", "-initrd", "-append", "-bios", "-uuid", "-incoming", "-pidfile",
  "-global", "-cpu", "-vga", "-serial", "-monitor", "-L", "-D", "-d",
  "-readconfig", "-boot", "-k", "-loadvm", NULL,
};

static const char *const flag_only[] = {
  "-S", "-nodefaults", "-no-user-config", "-nographic", "-daemonize",
  "-no-reboot", "-no-shutdown", "-snapshot", "-enable-kvm", "-no-hpet",
  "-no-acpi", "-s", NULL,
};

static void
option_value_clear (QlOptionValue *v)
{
  g_free (v->key);
  g_free (v->value);
}

static void
option_free (QlOption *option)
{
  g_free (option->flag);
  g_free (option->head);
  g_clear_pointer (&option->values, g_array_unref);
  g_free (option);
}

static void
ql_cmdline_finalize (GObject *object)
{
  QlCmdline *self = QL_CMDLINE (object);

  g_free (self->binary);
  g_ptr_array_unref (self->options);
  g_array_unref (self->fds);
  g_clear_error (&self->error);

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
  self->options = g_ptr_array_new_with_free_func ((GDestroyNotify) option_free);
  self->fds = g_array_new (FALSE, FALSE, sizeof (int));
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
  if (g_strv_contains (flag_only, flag))
    return QL_OPTION_SYNTAX_FLAG;
  if (g_strv_contains (verbatim_flags, flag))
    return QL_OPTION_SYNTAX_VERBATIM;
  return QL_OPTION_SYNTAX_KEYVAL;
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

static gboolean
check_text (QlCmdline  *self,
            const char *flag,
            const char *key,
            const char *value)
{
  if (strchr (value, '\n') != NULL || strchr (value, '\r') != NULL)
    {
      fail_value (self, flag, key, value, "holds a line break");
      return FALSE;
    }
  if (!g_utf8_validate (value, -1, NULL))
    {
      fail_value (self, flag, key, value, "is not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_key (QlCmdline  *self,
           const char *flag,
           const char *key)
{
  if (*key == '\0' || strpbrk (key, ",= \t\n") != NULL)
    {
      if (self->error == NULL)
        self->error = g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                                   "option %s: '%s' is not a valid key", flag, key);
      return FALSE;
    }
  return TRUE;
}

static QlOption *
append_option (QlCmdline      *self,
               const char     *flag,
               QlOptionSyntax  syntax,
               const char     *head)
{
  QlOption *option = g_new0 (QlOption, 1);

  option->flag = g_strdup (flag);
  option->syntax = syntax;
  option->owner = self;
  if (head != NULL && check_text (self, flag, NULL, head))
    option->head = g_strdup (head);
  if (syntax == QL_OPTION_SYNTAX_KEYVAL)
    {
      option->values = g_array_new (FALSE, TRUE, sizeof (QlOptionValue));
      g_array_set_clear_func (option->values, (GDestroyNotify) option_value_clear);
    }
  g_ptr_array_add (self->options, option);
  return option;
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
  g_return_if_fail (QL_IS_CMDLINE (self));
  g_return_if_fail (flag != NULL && flag[0] == '-');
  append_option (self, flag, QL_OPTION_SYNTAX_FLAG, NULL);
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
  g_return_if_fail (QL_IS_CMDLINE (self));
  g_return_if_fail (flag != NULL && flag[0] == '-');
  g_return_if_fail (value != NULL);
  g_return_if_fail (ql_cmdline_syntax_for_flag (flag) != QL_OPTION_SYNTAX_KEYVAL);
  if (*value == '\0')
    fail_value (self, flag, NULL, value, "is empty");
  append_option (self, flag, QL_OPTION_SYNTAX_VERBATIM, value);
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
  g_return_val_if_fail (flag != NULL && flag[0] == '-', NULL);
  g_return_val_if_fail (ql_cmdline_syntax_for_flag (flag) == QL_OPTION_SYNTAX_KEYVAL, NULL);

  option = append_option (self, flag, QL_OPTION_SYNTAX_KEYVAL, head);
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
  g_return_val_if_fail (flag != NULL && flag[0] == '-', NULL);
  g_return_val_if_fail (ql_cmdline_syntax_for_flag (flag) == QL_OPTION_SYNTAX_KEYVAL, NULL);

  option = append_option (self, flag, QL_OPTION_SYNTAX_KEYVAL, head);
  va_start (ap, head);
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);

      ql_option_set (option, key, value);
    }
  va_end (ap);
  return option;
}

static void
option_put (QlOption    *option,
            const char  *key,
            char        *value,
            QlValueType  type)
{
  QlOptionValue v = { NULL, NULL, type };

  g_return_if_fail (option->syntax == QL_OPTION_SYNTAX_KEYVAL);

  if (!check_key (option->owner, option->flag, key)
      || !check_text (option->owner, option->flag, key, value))
    {
      g_free (value);
      return;
    }

  /* Setting a key again replaces its value in place. */
  for (guint i = 0; i < option->values->len; i++)
    {
      QlOptionValue *old = &g_array_index (option->values, QlOptionValue, i);

      if (g_str_equal (old->key, key))
        {
          g_free (old->value);
          old->value = value;
          old->type = type;
          return;
        }
    }
  v.key = g_strdup (key);
  v.value = value;
  g_array_append_val (option->values, v);
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
  g_return_if_fail (option != NULL && key != NULL);
  if (value == NULL)
    return;
  option_put (option, key, g_strdup (value), QL_VALUE_STRING);
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
  g_return_if_fail (option != NULL && key != NULL);
  option_put (option, key, g_strdup (value ? "on" : "off"), QL_VALUE_BOOL);
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
  g_return_if_fail (option != NULL && key != NULL);
  option_put (option, key, g_strdup_printf ("%" G_GINT64_FORMAT, value), QL_VALUE_INT);
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
  g_return_if_fail (option != NULL && key != NULL);
  option_put (option, key, g_strdup_printf ("%" G_GUINT64_FORMAT, value), QL_VALUE_UINT);
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

  g_return_if_fail (option != NULL && key != NULL);
  g_return_if_fail (qemu_fds != NULL && n_fds > 0);

  s = g_string_new (NULL);
  for (guint i = 0; i < n_fds; i++)
    g_string_append_printf (s, "%s%d", i > 0 ? ":" : "", qemu_fds[i]);
  option_put (option, key, g_string_free (s, FALSE), QL_VALUE_FDS);
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
  return option->values != NULL ? option->values->len : 0;
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
  return g_array_index (option->values, QlOptionValue, index).key;
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
  return g_array_index (option->values, QlOptionValue, index).value;
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
  return g_array_index (option->values, QlOptionValue, index).type;
}

/**
 * ql_option_lookup:
 * @option: a #QlOption
 * @key: a key
 *
 * Looks up the value of a key in a key=value option.
 *
 * Returns: (nullable): the value for @key, or %NULL
 */
const char *
ql_option_lookup (QlOption   *option,
                  const char *key)
{
  for (guint i = 0; i < ql_option_get_n_values (option); i++)
    if (g_str_equal (ql_option_get_key (option, i), key))
      return ql_option_get_value (option, i);
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
  g_return_if_fail (key != NULL && value != NULL);

  machine = ql_cmdline_find_option (self, "-machine", NULL);
  if (machine == NULL)
    machine = append_option (self, "-machine", QL_OPTION_SYNTAX_KEYVAL, NULL);

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

static char *
format_keyval (QlOption *option)
{
  GString *s = g_string_new (NULL);

  if (option->head != NULL)
    append_escaped (s, option->head);
  for (guint i = 0; i < option->values->len; i++)
    {
      QlOptionValue *v = &g_array_index (option->values, QlOptionValue, i);

      if (s->len > 0)
        g_string_append_c (s, ',');
      g_string_append (s, v->key);
      g_string_append_c (s, '=');
      append_escaped (s, v->value);
    }
  return g_string_free (s, FALSE);
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
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  if (!ql_cmdline_check (self, error))
    return NULL;

  g_ptr_array_add (argv, g_strdup (self->binary));
  for (guint i = 0; i < self->options->len; i++)
    {
      QlOption *option = g_ptr_array_index (self->options, i);

      switch (option->syntax)
        {
        case QL_OPTION_SYNTAX_FLAG:
          g_ptr_array_add (argv, g_strdup (option->flag));
          break;
        case QL_OPTION_SYNTAX_VERBATIM:
          g_ptr_array_add (argv, g_strdup (option->flag));
          g_ptr_array_add (argv, g_strdup (option->head));
          break;
        case QL_OPTION_SYNTAX_KEYVAL:
          if (option->head == NULL && option->values->len == 0)
            break;
          g_ptr_array_add (argv, g_strdup (option->flag));
          g_ptr_array_add (argv, format_keyval (option));
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}
