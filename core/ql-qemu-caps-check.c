/* qlaunch — checking a command line against a QEMU's capabilities. */
#include "ql-qemu-caps-private.h"

#include <string.h>

#define MAX_LISTED 12

/* Properties every -device takes that device-list-properties omits. */
static const char *const generic_device_keys[] = { "id", "bus", NULL };

static guint
edit_distance (const char *a,
               const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diag = row[0];

      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint up = row[j];
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;

          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
          diag = up;
        }
    }
  return row[lb];
}

/* "; did you mean 'x'?" when a candidate is close to @wrong, else
 * "; <what>: a, b, c (and N more)", or "" when @candidates is empty or
 * @what is NULL. */
static char *
suggest_more (const char  *wrong,
              char       **candidates,
              const char  *what,
              const char  *more)
{
  g_autoptr(GString) s = g_string_new (NULL);
  guint limit = MAX (1, (guint) strlen (wrong) / 3);
  const char *best = NULL;
  guint best_distance = G_MAXUINT;
  guint n = candidates != NULL ? g_strv_length (candidates) : 0;

  for (guint i = 0; i < n; i++)
    {
      guint d = edit_distance (wrong, candidates[i]);

      if (d < best_distance)
        {
          best_distance = d;
          best = candidates[i];
        }
    }
  if (best != NULL && best_distance <= limit)
    {
      g_string_printf (s, "; did you mean '%s'?", best);
      return g_string_free (g_steal_pointer (&s), FALSE);
    }
  if (n == 0 || what == NULL)
    return g_strdup ("");
  g_string_printf (s, "; %s: ", what);
  for (guint i = 0; i < n && i < MAX_LISTED; i++)
    g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", candidates[i]);
  if (n > MAX_LISTED)
    g_string_append_printf (s, " (and %u more: %s)", n - MAX_LISTED, more);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
suggest (const char  *wrong,
         char       **candidates,
         const char  *what)
{
  return suggest_more (wrong, candidates, what, "qlaunch caps");
}

/* Machine types for a message: the aliased ones first ("pc-q35-7.2
 * (q35)"), then the rest, newest names first. */
static GStrv
machine_names_for_message (QlQemuCaps *caps)
{
  g_auto(GStrv) machines = ql_qemu_caps_list_machines (caps);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  guint n = g_strv_length (machines);

  for (guint i = 0; i < n; i++)
    {
      const char *alias = ql_qemu_caps_get_machine_alias (caps, machines[i]);

      if (alias != NULL)
        {
          g_autofree char *s = g_strdup_printf ("%s (%s)", machines[i], alias);

          g_strv_builder_add (b, s);
        }
    }
  for (guint i = n; i > 0; i--)
    if (ql_qemu_caps_get_machine_alias (caps, machines[i - 1]) == NULL)
      g_strv_builder_add (b, machines[i - 1]);
  return g_strv_builder_end (b);
}

typedef struct
{
  QlQemuCaps *caps;
  GPtrArray *problems;
  char *qemu;           /* "/usr/bin/qemu-system-x86_64 7.2.22" */
  char *short_version;  /* "QEMU 7.2" */
} Check;

G_GNUC_PRINTF (3, 4)
static void
problem (Check      *check,
         QlOption   *option,
         const char *format,
         ...)
{
  va_list args;
  g_autofree char *text = NULL;
  const char *origin = ql_option_get_origin (option);

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (origin != NULL)
    g_ptr_array_add (check->problems, g_strdup_printf ("%s: %s", origin, text));
  else
    g_ptr_array_add (check->problems, g_strdup_printf ("%s %s: %s", ql_option_get_flag (option),
                                                       ql_option_get_head (option) != NULL
                                                       ? ql_option_get_head (option) : "",
                                                       text));
}

static void
check_machine (Check    *check,
               QlOption *option)
{
  const char *type = ql_option_get_head (option);
  const char *accel = ql_option_lookup (option, "accel");

  if (type != NULL && ql_qemu_caps_resolve_machine (check->caps, type) == NULL)
    {
      g_auto(GStrv) known = machine_names_for_message (check->caps);
      g_autoptr(GString) list = g_string_new (NULL);

      for (guint i = 0; known[i] != NULL && i < MAX_LISTED; i++)
        g_string_append_printf (list, "%s%s", i > 0 ? ", " : "", known[i]);
      if (g_strv_length (known) > MAX_LISTED)
        g_string_append_printf (list, ", ... (%u more: qlaunch caps)",
                                g_strv_length (known) - MAX_LISTED);
      problem (check, option, "type: machine type '%s' is not known to %s; known: %s",
               type, check->qemu, list->str);
    }
  if (accel != NULL)
    {
      g_auto(GStrv) wanted = g_strsplit (accel, ":", -1);

      for (guint i = 0; wanted[i] != NULL; i++)
        if (!ql_qemu_caps_field_has (check->caps, QL_CAPS_FIELD_ACCELERATORS, wanted[i]))
          {
            g_auto(GStrv) have = ql_qemu_caps_list_accelerators (check->caps);
            g_autofree char *hint = suggest (wanted[i], have, "it has");

            problem (check, option, "acceleration: accelerator '%s' is not built into %s%s",
                     wanted[i], check->qemu, hint);
          }
    }
}

static void
check_cpu (Check    *check,
           QlOption *option)
{
  const char *value = ql_option_get_head (option);
  g_autofree char *model = g_strndup (value, strcspn (value, ","));

  if (!ql_qemu_caps_field_has (check->caps, QL_CAPS_FIELD_CPU_MODELS, model))
    {
      g_auto(GStrv) models = ql_qemu_caps_list_cpu_models (check->caps);
      g_autofree char *hint = suggest (model, models, "known");

      problem (check, option, "cpu-model: CPU model '%s' is not known to %s%s",
               model, check->qemu, hint);
    }
}

static void
check_device (Check    *check,
              QlOption *option)
{
  const char *driver = ql_option_get_head (option);

  if (driver == NULL)
    return;
  driver = ql_qemu_caps_resolve_device_type (check->caps, driver);
  if (driver == NULL)
    {
      g_auto(GStrv) types = ql_qemu_caps_list_device_types (check->caps);
      g_autofree char *hint = suggest (ql_option_get_head (option), types, NULL);

      problem (check, option, "%s has no device type '%s'%s", check->short_version,
               ql_option_get_head (option),
               hint[0] != '\0' ? hint : "; `qlaunch caps` lists its device types");
      return;
    }
  if (!ql_qemu_caps_has_device_properties (check->caps, driver))
    return;   /* not probed: ql_qemu_caps_lookup_for_cmdline() probes them */
  for (guint i = 0; i < ql_option_get_n_values (option); i++)
    {
      const char *key = ql_option_get_key (option, i);
      const char *source = ql_option_get_source (option, i);
      /* "property 'qemu-set': " when a device's key gave the value (a
       * [qemu] entry is the option's origin already). */
      g_autofree char *by = source != NULL && source[0] != '['
                            ? g_strdup_printf ("property '%s': ", source) : g_strdup ("");
      const char *type;

      if (g_strv_contains (generic_device_keys, key))
        continue;
      type = ql_qemu_caps_get_device_property_type (check->caps, driver, key);
      if (type != NULL)
        {
          QlValueType vtype;
          g_autofree char *normalized = NULL;
          g_autofree char *why = NULL;

          if (ql_option_is_from_text (option, i)
              && !ql_qom_value_parse (type, ql_option_get_value (option, i), &vtype, &normalized, &why))
            problem (check, option, "%s'%s=%s': property '%s' of %s is %s", by, key,
                     ql_option_get_value (option, i), key, driver, why);
          continue;
        }
      {
        g_auto(GStrv) props = ql_qemu_caps_list_device_properties (check->caps, driver);
        g_autofree char *more = g_strdup_printf ("qlaunch caps --device %s", driver);
        g_autofree char *hint = suggest_more (key, props, "it has", more);

        problem (check, option, "%s%s has no property '%s' on %s%s",
                 by, check->short_version, key, driver, hint);
      }
    }
}

static void
check_in_list (Check       *check,
               QlOption    *option,
               guint        field,
               const char  *what)
{
  const char *head = ql_option_get_head (option);
  g_auto(GStrv) have = NULL;
  g_autofree char *hint = NULL;

  if (head == NULL || ql_qemu_caps_field_has (check->caps, field, head))
    return;
  /* An empty list: nothing known to check against. */
  have = ql_qemu_caps_field_list (check->caps, field);
  if (have[0] == NULL)
    return;
  hint = suggest (head, have, "it has");
  problem (check, option, "%s has no %s '%s'%s", check->short_version, what, head, hint);
}

/* The keys the user gave an -object by text (the escape hatch), for the
 * object types whose properties were probed. */
static void
check_object_keys (Check    *check,
                   QlOption *option)
{
  const char *type = ql_option_get_head (option);
  g_auto(GStrv) props = NULL;

  if (type == NULL || (props = ql_qemu_caps_list_object_properties (check->caps, type)) == NULL)
    return;
  for (guint i = 0; i < ql_option_get_n_values (option); i++)
    {
      const char *key = ql_option_get_key (option, i);
      g_autofree char *hint = NULL;

      if (ql_option_get_source (option, i) == NULL || g_str_equal (key, "id")
          || g_strv_contains ((const char * const *) props, key))
        continue;
      hint = suggest (key, props, "it has");
      problem (check, option, "%s has no property '%s' on object type %s%s",
               check->short_version, key, type, hint);
    }
}

/* -sandbox needs a QEMU built with seccomp, and each class it names. */
static void
check_sandbox (Check    *check,
               QlOption *option)
{
  g_autoptr(GVariant) parameters = ql_qemu_caps_command_line_parameters (check->caps, "sandbox");

  if (parameters == NULL)
    {
      problem (check, option, "%s has no -sandbox (it was built without seccomp): set [knobs] sandbox = off",
               check->qemu);
      return;
    }
  for (guint i = 0; i < ql_option_get_n_values (option); i++)
    {
      const char *key = ql_option_get_key (option, i);
      g_autoptr(GVariant) found = key != NULL ? ql_caps_array_lookup (parameters, key) : NULL;

      if (key != NULL && found == NULL)
        problem (check, option, "%s has no -sandbox %s=", check->qemu, key);
    }
}

/**
 * ql_qemu_caps_check_cmdline:
 * @self: a #QlQemuCaps
 * @cmdline: a built command line
 * @error: return location for an error
 *
 * Checks @cmdline against this QEMU before it starts: options this version
 * removed; then, for a probed binary, the machine type (or alias), each
 * accelerator of `accel=`, the CPU model, each `-device` driver and its
 * properties (those probed: ql_qemu_caps_lookup_for_cmdline() probes the
 * drivers of @cmdline), `-netdev` types, `-chardev` backends and `-object`
 * types. Each problem names the VM-file group it comes from and says what
 * this QEMU has instead, such as `device 'disk0': QEMU 7.2 has no property
 * 'logical_block_size' on vhost-user-blk-pci; it has: ...`.
 *
 * Returns: %TRUE when QEMU has everything; else %FALSE with
 *   %QL_QEMU_CAPS_ERROR_INCOMPATIBLE, one problem a line
 */
gboolean
ql_qemu_caps_check_cmdline (QlQemuCaps  *self,
                            QlCmdline   *cmdline,
                            GError     **error)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *qemu = NULL;
  g_autofree char *short_version = NULL;
  guint major, minor;
  Check check;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  g_return_val_if_fail (QL_IS_CMDLINE (cmdline), FALSE);

  ql_qemu_caps_get_version (self, &major, &minor, NULL);
  short_version = g_strdup_printf ("QEMU %u.%u", major, minor);
  qemu = g_strdup_printf ("%s %s", ql_qemu_caps_is_probed (self) ? ql_qemu_caps_get_binary (self)
                                                                 : "QEMU",
                          ql_qemu_caps_get_version_string (self));
  check = (Check) { self, problems, qemu, short_version };

  for (guint i = 0; i < ql_cmdline_get_n_options (cmdline); i++)
    {
      QlOption *option = ql_cmdline_get_option (cmdline, i);
      const char *flag = ql_option_get_flag (option);
      guint removed_major, removed_minor;
      const char *instead = ql_qemu_syntax_removed (major, minor, flag, ql_option_get_head (option),
                                                    &removed_major, &removed_minor);

      if (instead != NULL)
        {
          problem (&check, option, "%s has no %s%s%s (removed in %u.%u): %s", short_version, flag,
                   ql_option_get_head (option) != NULL ? " " : "",
                   ql_option_get_head (option) != NULL ? ql_option_get_head (option) : "",
                   removed_major, removed_minor, instead);
          continue;
        }
      if (!ql_qemu_caps_is_probed (self))
        continue;
      if (strcmp (flag, "-machine") == 0)
        check_machine (&check, option);
      else if (strcmp (flag, "-cpu") == 0)
        check_cpu (&check, option);
      else if (strcmp (flag, "-device") == 0)
        check_device (&check, option);
      else if (strcmp (flag, "-netdev") == 0)
        check_in_list (&check, option, QL_CAPS_FIELD_NETDEVS, "netdev type");
      else if (strcmp (flag, "-chardev") == 0)
        check_in_list (&check, option, QL_CAPS_FIELD_CHARDEVS, "chardev backend");
      else if (strcmp (flag, "-object") == 0)
        {
          check_in_list (&check, option, QL_CAPS_FIELD_OBJECT_TYPES, "object type");
          check_object_keys (&check, option);
        }
      else if (strcmp (flag, "-sandbox") == 0)
        check_sandbox (&check, option);
    }
  if (problems->len == 0)
    return TRUE;
  g_ptr_array_add (problems, NULL);
  {
    g_autofree char *message = g_strjoinv ("\n", (char **) problems->pdata);

    g_set_error_literal (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_INCOMPATIBLE, message);
  }
  return FALSE;
}

/**
 * ql_qemu_caps_lookup_for_cmdline:
 * @cmdline: a built command line
 * @flags: #QlQemuCapsLookupFlags
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * ql_qemu_caps_lookup() for @cmdline's binary, with the properties of every
 * `-device` driver it uses.
 *
 * Returns: (transfer full): the capabilities, or %NULL with @error set
 */
char **
ql_qemu_caps_cmdline_device_types (QlCmdline *cmdline)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  for (guint i = 0; i < ql_cmdline_get_n_options (cmdline); i++)
    {
      QlOption *option = ql_cmdline_get_option (cmdline, i);

      if (strcmp (ql_option_get_flag (option), "-device") == 0 && ql_option_get_head (option) != NULL)
        g_strv_builder_add (b, ql_option_get_head (option));
    }
  return g_strv_builder_end (b);
}

QlQemuCaps *
ql_qemu_caps_lookup_for_cmdline (QlCmdline              *cmdline,
                                 QlQemuCapsLookupFlags   flags,
                                 GCancellable           *cancellable,
                                 GError                **error)
{
  g_auto(GStrv) types = NULL;

  g_return_val_if_fail (QL_IS_CMDLINE (cmdline), NULL);
  types = ql_qemu_caps_cmdline_device_types (cmdline);
  return ql_qemu_caps_lookup (ql_cmdline_get_binary (cmdline), (const char * const *) types,
                              flags, cancellable, error);
}
