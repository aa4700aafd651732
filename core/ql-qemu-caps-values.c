/* qlaunch — values given as text (the escape hatch: [qemu], qemu-set),
 * read as the QOM type the probed QEMU gives their property. */
#include "ql-qemu-caps-private.h"

#include <errno.h>
#include <string.h>

/* QAPI enums device properties are declared with (QEMU's qapi schema), and
 * the values QEMU takes for them. */
static const struct
{
  const char *type;
  const char *const values[8];
} enums[] = {
  { "OnOffAuto", { "on", "off", "auto", NULL } },
  { "OnOffSplit", { "on", "off", "split", NULL } },
  { "LostTickPolicy", { "discard", "delay", "slew", NULL } },
  { "BiosAtaTranslation", { "auto", "none", "lba", "large", "rechs", NULL } },
  { "FloppyDriveType", { "144", "288", "120", "none", "auto", NULL } },
  { "BlockdevOnError", { "report", "ignore", "enospc", "stop", "auto", NULL } },
};

static const struct
{
  const char *type;
  gboolean is_signed;
  guint64 max;        /* the largest value (signed: of the positive side) */
} integers[] = {
  { "uint8", FALSE, G_MAXUINT8 },
  { "uint16", FALSE, G_MAXUINT16 },
  { "uint32", FALSE, G_MAXUINT32 },
  { "uint64", FALSE, G_MAXUINT64 },
  { "int8", TRUE, G_MAXINT8 },
  { "int16", TRUE, G_MAXINT16 },
  { "int32", TRUE, G_MAXINT32 },
  { "int64", TRUE, G_MAXINT64 },
};

/* QEMU's size suffixes (qemu_strtosz): B, K, M, G, T, P, E, powers of 1024. */
static gboolean
parse_size (const char *text,
            guint64    *out)
{
  static const char suffixes[] = "BKMGTPE";
  char *end = NULL;
  guint64 value;
  const char *s;

  if (!g_ascii_isdigit (*text))
    return FALSE;
  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    return FALSE;
  if (*end == '\0')
    {
      *out = value;
      return TRUE;
    }
  s = strchr (suffixes, g_ascii_toupper (*end));
  if (s == NULL || end[1] != '\0')
    return FALSE;
  for (const char *p = suffixes; p < s; p++)
    {
      if (value > G_MAXUINT64 / 1024)
        return FALSE;
      value *= 1024;
    }
  *out = value;
  return TRUE;
}

/* Reads @text as QOM type @type. TRUE with the value's type and its
 * normal form (booleans on/off, integers in decimal, sizes in bytes);
 * FALSE with @why when @type is one qlaunch knows and @text is not of it.
 * Types qlaunch does not know (pci-devfn, macaddr, links) stay strings,
 * which QEMU reads itself. */
gboolean
ql_qom_value_parse (const char   *type,
                    const char   *text,
                    QlValueType  *vtype,
                    char        **normalized,
                    char        **why)
{
  *vtype = QL_VALUE_STRING;
  *normalized = NULL;
  *why = NULL;
  if (strcmp (type, "bool") == 0)
    {
      static const char *const yes[] = { "on", "yes", "true", NULL };
      static const char *const no[] = { "off", "no", "false", NULL };

      if (!g_strv_contains (yes, text) && !g_strv_contains (no, text))
        {
          *why = g_strdup ("a bool: on or off");
          return FALSE;
        }
      *vtype = QL_VALUE_BOOL;
      *normalized = g_strdup (g_strv_contains (yes, text) ? "on" : "off");
      return TRUE;
    }
  if (strcmp (type, "size") == 0)
    {
      guint64 v;

      if (!parse_size (text, &v))
        {
          *why = g_strdup ("a size: a number of bytes, or with a suffix K, M, G, T (1G)");
          return FALSE;
        }
      *vtype = QL_VALUE_UINT;
      *normalized = g_strdup_printf ("%" G_GUINT64_FORMAT, v);
      return TRUE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (integers); i++)
    if (strcmp (type, integers[i].type) == 0)
      {
        gboolean negative = text[0] == '-';
        const char *digits = negative ? text + 1 : text;
        char *end = NULL;
        guint64 v;

        errno = 0;
        v = g_ascii_strtoull (digits, &end, g_str_has_prefix (digits, "0x") ? 16 : 10);
        if (!g_ascii_isdigit (*digits) || *end != '\0' || errno != 0
            || (negative && !integers[i].is_signed)
            || v > integers[i].max + (negative ? 1 : 0))
          {
            if (integers[i].is_signed)
              *why = g_strdup_printf ("a %s: an integer from %" G_GINT64_FORMAT " to %" G_GUINT64_FORMAT,
                                      type, -(gint64) integers[i].max - 1, integers[i].max);
            else
              *why = g_strdup_printf ("a %s: an integer from 0 to %" G_GUINT64_FORMAT, type, integers[i].max);
            return FALSE;
          }
        if (negative)
          {
            *vtype = QL_VALUE_INT;
            *normalized = g_strdup_printf ("-%" G_GUINT64_FORMAT, v);
          }
        else
          {
            *vtype = QL_VALUE_UINT;
            *normalized = g_strdup_printf ("%" G_GUINT64_FORMAT, v);
          }
        return TRUE;
      }
  for (gsize i = 0; i < G_N_ELEMENTS (enums); i++)
    if (strcmp (type, enums[i].type) == 0)
      {
        if (!g_strv_contains (enums[i].values, text))
          {
            g_autofree char *list = g_strjoinv (", ", (char **) enums[i].values);

            *why = g_strdup_printf ("%s: one of %s", type, list);
            return FALSE;
          }
        break;
      }
  *normalized = g_strdup (text);
  return TRUE;
}

/**
 * ql_qemu_caps_type_values:
 * @self: a probed #QlQemuCaps
 * @cmdline: a built command line
 *
 * Gives the `-device` values read from text (the escape hatch) the QOM
 * type this QEMU declares for their property, so that they are written
 * typed (JSON, QMP); a value that is not of its type is left as it is, for
 * ql_qemu_caps_check_cmdline() to report.
 */
void
ql_qemu_caps_type_values (QlQemuCaps *self,
                          QlCmdline  *cmdline)
{
  for (guint i = 0; i < ql_cmdline_get_n_options (cmdline); i++)
    {
      QlOption *option = ql_cmdline_get_option (cmdline, i);
      const char *driver;

      if (strcmp (ql_option_get_flag (option), "-device") != 0 || ql_option_get_head (option) == NULL)
        continue;
      driver = ql_qemu_caps_resolve_device_type (self, ql_option_get_head (option));
      if (driver == NULL || !ql_qemu_caps_has_device_properties (self, driver))
        continue;
      for (guint k = 0; k < ql_option_get_n_values (option); k++)
        {
          const char *type;
          QlValueType vtype;
          g_autofree char *normalized = NULL;
          g_autofree char *why = NULL;

          if (!ql_option_is_from_text (option, k))
            continue;
          type = ql_qemu_caps_get_device_property_type (self, driver, ql_option_get_key (option, k));
          if (type != NULL
              && ql_qom_value_parse (type, ql_option_get_value (option, k), &vtype, &normalized, &why))
            ql_option_retype (option, k, normalized, vtype);
        }
    }
}
