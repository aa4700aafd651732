/* qlaunch — typed properties read from text: sizes, paths, fd lists. */
#include "ql-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct _QlFdList
{
  gatomicrefcount ref_count;
  GArray *fds;
};

G_DEFINE_BOXED_TYPE (QlFdList, ql_fd_list, ql_fd_list_ref, ql_fd_list_unref)

/**
 * ql_fd_list_new:
 *
 * Creates an empty list of file descriptors.
 *
 * Returns: (transfer full): a new #QlFdList
 */
QlFdList *
ql_fd_list_new (void)
{
  QlFdList *list = g_new0 (QlFdList, 1);

  g_atomic_ref_count_init (&list->ref_count);
  list->fds = g_array_new (FALSE, FALSE, sizeof (int));
  return list;
}

/**
 * ql_fd_list_ref:
 * @list: a #QlFdList
 *
 * Takes a reference on the list.
 *
 * Returns: (transfer full): @list
 */
QlFdList *
ql_fd_list_ref (QlFdList *list)
{
  g_return_val_if_fail (list != NULL, NULL);
  g_atomic_ref_count_inc (&list->ref_count);
  return list;
}

/**
 * ql_fd_list_unref:
 * @list: (transfer full): a #QlFdList
 *
 * Drops a reference; the descriptors themselves are not closed.
 */
void
ql_fd_list_unref (QlFdList *list)
{
  g_return_if_fail (list != NULL);
  if (g_atomic_ref_count_dec (&list->ref_count))
    {
      g_array_unref (list->fds);
      g_free (list);
    }
}

/**
 * ql_fd_list_append:
 * @list: a #QlFdList
 * @fd: a file descriptor number (>= 0)
 *
 * Appends @fd to @list.
 */
void
ql_fd_list_append (QlFdList *list,
                   int       fd)
{
  g_return_if_fail (list != NULL);
  g_return_if_fail (fd >= 0);
  g_array_append_val (list->fds, fd);
}

/**
 * ql_fd_list_get_length:
 * @list: (nullable): a #QlFdList
 *
 * Gets the number of descriptors in the list.
 *
 * Returns: the number of descriptors in @list (0 for %NULL)
 */
guint
ql_fd_list_get_length (QlFdList *list)
{
  return list != NULL ? list->fds->len : 0;
}

/**
 * ql_fd_list_get:
 * @list: a #QlFdList
 * @index: a position in @list
 *
 * Gets one descriptor of the list.
 *
 * Returns: the descriptor at @index
 */
int
ql_fd_list_get (QlFdList *list,
                guint     index)
{
  g_return_val_if_fail (list != NULL, -1);
  g_return_val_if_fail (index < list->fds->len, -1);
  return g_array_index (list->fds, int, index);
}

static GQuark ql_param_size_quark (void);
static GQuark ql_param_path_quark (void);
static GQuark ql_param_size_unit_quark (void);

G_DEFINE_QUARK (ql-param-size, ql_param_size)
G_DEFINE_QUARK (ql-param-path, ql_param_path)
G_DEFINE_QUARK (ql-param-size-unit, ql_param_size_unit)

void
ql_param_spec_set_size_unit (GParamSpec *pspec,
                             guint64     unit)
{
  guint64 *stored = g_new (guint64, 1);

  *stored = unit;
  g_param_spec_set_qdata_full (pspec, ql_param_size_unit_quark (), stored, g_free);
}

static guint64
size_unit (GParamSpec *pspec)
{
  guint64 *unit = g_param_spec_get_qdata (pspec, ql_param_size_unit_quark ());

  return unit != NULL ? *unit : 1;
}

/**
 * ql_param_spec_size:
 * @name: canonical (kebab-case) property name
 * @nick: nick name
 * @blurb: description
 * @minimum: smallest allowed size in bytes
 * @maximum: largest allowed size in bytes
 * @default_value: default size in bytes
 * @flags: flags for the property
 *
 * Creates a #guint64 property holding a size in bytes, read from text with
 * QEMU's suffixes (K, M, G, T: powers of 1024).
 *
 * Returns: (transfer full): a new #GParamSpec
 */
GParamSpec *
ql_param_spec_size (const char  *name,
                    const char  *nick,
                    const char  *blurb,
                    guint64      minimum,
                    guint64      maximum,
                    guint64      default_value,
                    GParamFlags  flags)
{
  GParamSpec *pspec = g_param_spec_uint64 (name, nick, blurb, minimum, maximum,
                                           default_value, flags);

  g_param_spec_set_qdata (pspec, ql_param_size_quark (), GINT_TO_POINTER (1));
  return pspec;
}

/**
 * ql_param_spec_path:
 * @name: canonical (kebab-case) property name
 * @nick: nick name
 * @blurb: description
 * @flags: flags for the property
 *
 * Creates a string property holding a host path. A relative path given in a
 * VM file is resolved against the VM file's directory.
 *
 * Returns: (transfer full): a new #GParamSpec
 */
GParamSpec *
ql_param_spec_path (const char  *name,
                    const char  *nick,
                    const char  *blurb,
                    GParamFlags  flags)
{
  return ql_param_spec_path_of_kind (name, nick, blurb, NULL, QL_PATH_FILE, flags);
}

/**
 * ql_param_spec_script:
 * @name: canonical (kebab-case) property name
 * @nick: nick name
 * @blurb: description
 * @flags: flags for the property
 *
 * Creates a string property holding a program QEMU runs on the host (a tap
 * device's up and down scripts), `no` by default. `no` means none; any
 * other value is a path, and a relative one given in a VM file is resolved
 * against the VM file's directory (QEMU would run it from its own working
 * directory).
 *
 * Returns: (transfer full): a new #GParamSpec
 *
 * Since: ABI 1.4
 */
GParamSpec *
ql_param_spec_script (const char  *name,
                      const char  *nick,
                      const char  *blurb,
                      GParamFlags  flags)
{
  return ql_param_spec_path_of_kind (name, nick, blurb, "no", QL_PATH_SCRIPT, flags);
}

/**
 * ql_param_spec_firmware:
 * @name: canonical (kebab-case) property name
 * @nick: nick name
 * @blurb: description
 * @flags: flags for the property
 *
 * Creates a string property holding a firmware image QEMU loads (an option
 * ROM). A value with a `/` is a path, and a relative one given in a VM file
 * is resolved against the VM file's directory. A bare name is one of
 * QEMU's own files: when the command line is built for a probed QEMU, it
 * becomes the file's absolute path in that QEMU's data directories (QEMU
 * itself would look in its working directory first). Empty means none.
 *
 * Returns: (transfer full): a new #GParamSpec
 *
 * Since: ABI 1.4
 */
GParamSpec *
ql_param_spec_firmware (const char  *name,
                        const char  *nick,
                        const char  *blurb,
                        GParamFlags  flags)
{
  return ql_param_spec_path_of_kind (name, nick, blurb, NULL, QL_PATH_FIRMWARE, flags);
}

/* A path-typed string property of @kind (QlPathKind). */
GParamSpec *
ql_param_spec_path_of_kind (const char  *name,
                            const char  *nick,
                            const char  *blurb,
                            const char  *default_value,
                            QlPathKind   kind,
                            GParamFlags  flags)
{
  GParamSpec *pspec = g_param_spec_string (name, nick, blurb, default_value, flags);

  g_param_spec_set_qdata (pspec, ql_param_path_quark (), GINT_TO_POINTER (kind));
  return pspec;
}

/* The QlPathKind of @pspec, or 0 for a property that holds no path. */
QlPathKind
ql_param_spec_get_path_kind (GParamSpec *pspec)
{
  return GPOINTER_TO_INT (g_param_spec_get_qdata (pspec, ql_param_path_quark ()));
}

/**
 * ql_param_spec_is_size:
 * @pspec: a #GParamSpec
 *
 * Tells whether a property holds a size, which a VM file writes with a K, M,
 * G or T suffix.
 *
 * Returns: whether @pspec was made by ql_param_spec_size()
 */
gboolean
ql_param_spec_is_size (GParamSpec *pspec)
{
  return g_param_spec_get_qdata (pspec, ql_param_size_quark ()) != NULL;
}

/*
 * ql_path_resolve:
 * @value: a path-typed value as the user wrote it
 * @base_dir: (nullable): the directory it is relative to: a VM file's
 *   directory; %NULL for the current directory (a `-d` spec on the command
 *   line is relative to where the user typed it)
 *
 * Makes a relative path absolute. An empty value stays empty. Callers
 * setting a property go through ql_param_resolve_path_value(), which knows
 * which values of a property are not paths.
 *
 * Returns: (transfer full): the absolute path, lexically canonical
 */
char *
ql_path_resolve (const char *value,
                 const char *base_dir)
{
  if (*value == '\0' || g_path_is_absolute (value))
    return g_strdup (value);
  return g_canonicalize_filename (value, base_dir);
}

/*
 * ql_param_resolve_path_value:
 * @pspec: the property @value is for
 * @value: the value as the user wrote it
 * @base_dir: (nullable): as for ql_path_resolve()
 *
 * The one place where the value of a path-typed property (VM file, `-d`
 * spec, hot-plug) becomes what qlaunch keeps, so that QEMU is never handed
 * a relative path it would resolve in its own working directory, and no
 * program or file is taken from the directory qlaunch runs in. Per kind:
 * a file is always a path; a program (`[vm] qemu`) or a firmware image
 * (`[vm] bios`, `rom-file`) without a `/` is a name (looked up in `PATH`,
 * or in QEMU's data directories when the command line is built); a script
 * is a path unless it is `no`.
 *
 * Returns: (transfer full) (nullable): the value to set, or %NULL when
 *   @pspec holds no path (set @value as it is)
 */
char *
ql_param_resolve_path_value (GParamSpec *pspec,
                             const char *value,
                             const char *base_dir)
{
  switch (ql_param_spec_get_path_kind (pspec))
    {
    case QL_PATH_FILE:
      break;
    case QL_PATH_PROGRAM:
    case QL_PATH_FIRMWARE:
      if (strchr (value, '/') == NULL)
        return g_strdup (value);
      break;
    case QL_PATH_SCRIPT:
      if (g_str_equal (value, "no"))
        return g_strdup (value);
      break;
    default:
      return NULL;
    }
  return ql_path_resolve (value, base_dir);
}

/**
 * ql_param_spec_is_path:
 * @pspec: a #GParamSpec
 *
 * Tells whether a property holds a path, which a VM file resolves against
 * its directory.
 *
 * Returns: whether @pspec was made by ql_param_spec_path()
 */
gboolean
ql_param_spec_is_path (GParamSpec *pspec)
{
  return ql_param_spec_get_path_kind (pspec) != 0;
}

/**
 * ql_parse_size:
 * @text: a size such as `512M`, `2G` or `4096`
 * @default_unit: the multiplier for a number without suffix (1 for bytes,
 *   1048576 for QEMU's `-m` convention of MiB)
 * @out_bytes: (out): the size in bytes
 * @error: return location for an error
 *
 * Parses a size with QEMU's suffixes K, M, G, T (binary; lower case
 * accepted; a trailing `B` for bytes too).
 *
 * Returns: %TRUE on success
 */
gboolean
ql_parse_size (const char  *text,
               guint64      default_unit,
               guint64     *out_bytes,
               GError     **error)
{
  guint64 number, unit = default_unit;
  char *end = NULL;

  g_return_val_if_fail (text != NULL, FALSE);

  if (!g_ascii_isdigit (text[0]))
    goto bad;

  errno = 0;
  number = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    goto bad;

  if (*end != '\0')
    {
      switch (g_ascii_toupper (*end))
        {
        case 'B': unit = 1; break;
        case 'K': unit = G_GUINT64_CONSTANT (1) << 10; break;
        case 'M': unit = G_GUINT64_CONSTANT (1) << 20; break;
        case 'G': unit = G_GUINT64_CONSTANT (1) << 30; break;
        case 'T': unit = G_GUINT64_CONSTANT (1) << 40; break;
        default: goto bad;
        }
      if (end[1] != '\0')
        goto bad;
    }

  if (number != 0 && unit > G_MAXUINT64 / number)
    goto bad;

  *out_bytes = number * unit;
  return TRUE;

bad:
  g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
               "'%s' is not a size; expected a number with an optional suffix K, M, G or T",
               text);
  return FALSE;
}

/**
 * ql_format_size:
 * @bytes: a size in bytes
 *
 * Formats @bytes with the largest QEMU suffix that divides it exactly
 * (`536870912` → `512M`); sizes that are not a multiple of 1 KiB get a `B`.
 *
 * Returns: (transfer full): the formatted size
 */
char *
ql_format_size (guint64 bytes)
{
  static const char suffixes[] = "KMGT";
  int i = -1;

  if (bytes == 0)
    return g_strdup ("0");

  while (i < 3 && (bytes & 1023) == 0)
    {
      bytes >>= 10;
      i++;
    }
  if (i < 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "B", bytes);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "%c", bytes, suffixes[i]);
}

static gboolean
parse_bool (const char *text,
            gboolean   *out)
{
  static const char *const yes[] = { "true", "on", "yes", "1", NULL };
  static const char *const no[] = { "false", "off", "no", "0", NULL };

  if (g_strv_contains (yes, text))
    *out = TRUE;
  else if (g_strv_contains (no, text))
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
parse_signed (const char *text,
              gint64      minimum,
              gint64      maximum,
              gint64     *out)
{
  return g_ascii_string_to_signed (text, 10, minimum, maximum, out, NULL);
}

static gboolean
parse_unsigned (const char *text,
                guint64     minimum,
                guint64     maximum,
                guint64    *out)
{
  return g_ascii_string_to_unsigned (text, 10, minimum, maximum, out, NULL);
}

static char *
enum_nicks (GType type)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < klass->n_values; i++)
    {
      if (i > 0)
        g_string_append (s, ", ");
      g_string_append (s, klass->values[i].value_nick);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
parse_fd_list (const char  *text,
               QlFdList   **out)
{
  g_autoptr(QlFdList) list = ql_fd_list_new ();
  g_auto(GStrv) parts = NULL;

  if (*text == '\0')
    {
      *out = g_steal_pointer (&list);
      return TRUE;
    }

  parts = g_strsplit_set (text, ";:", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *item = g_strstrip (parts[i]);
      guint64 fd;

      /* A trailing separator, as GKeyFile lists write, is fine. */
      if (*item == '\0' && parts[i + 1] == NULL && i > 0)
        break;
      if (!parse_unsigned (item, 0, G_MAXINT, &fd))
        return FALSE;
      ql_fd_list_append (list, (int) fd);
    }
  *out = g_steal_pointer (&list);
  return TRUE;
}

/**
 * ql_param_describe_type:
 * @pspec: a #GParamSpec
 *
 * Describes the text a property accepts, for messages and `qlaunch inspect`:
 * "boolean", "integer 0..255", "size", "one of: tap, macvtap", ...
 *
 * Returns: (transfer full): the description
 */
char *
ql_param_describe_type (GParamSpec *pspec)
{
  GType vtype = G_PARAM_SPEC_VALUE_TYPE (pspec);

  if (ql_param_spec_is_size (pspec))
    return g_strdup ("size (bytes, or with suffix K, M, G, T)");
  if (ql_param_spec_is_path (pspec))
    return g_strdup ("path");
  if (vtype == G_TYPE_BOOLEAN)
    return g_strdup ("boolean (true/false, on/off, yes/no)");
  if (vtype == G_TYPE_STRING)
    return g_strdup ("string");
  if (vtype == G_TYPE_STRV)
    return g_strdup ("list of strings separated by ';'");
  if (vtype == QL_TYPE_FD_LIST)
    return g_strdup ("list of open file descriptors separated by ';'");
  if (G_IS_PARAM_SPEC_UINT (pspec))
    return g_strdup_printf ("integer %u..%u", G_PARAM_SPEC_UINT (pspec)->minimum,
                            G_PARAM_SPEC_UINT (pspec)->maximum);
  if (G_IS_PARAM_SPEC_INT (pspec))
    return g_strdup_printf ("integer %d..%d", G_PARAM_SPEC_INT (pspec)->minimum,
                            G_PARAM_SPEC_INT (pspec)->maximum);
  if (G_IS_PARAM_SPEC_UINT64 (pspec))
    return g_strdup_printf ("integer %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                            G_PARAM_SPEC_UINT64 (pspec)->minimum,
                            G_PARAM_SPEC_UINT64 (pspec)->maximum);
  if (G_IS_PARAM_SPEC_INT64 (pspec))
    return g_strdup_printf ("integer %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                            G_PARAM_SPEC_INT64 (pspec)->minimum,
                            G_PARAM_SPEC_INT64 (pspec)->maximum);
  if (G_TYPE_IS_ENUM (vtype))
    {
      g_autofree char *nicks = enum_nicks (vtype);
      return g_strdup_printf ("one of: %s", nicks);
    }
  return g_strdup (g_type_name (vtype));
}

/* What QlCmdline accepts in a value: no line break (\n or \r), UTF-8. */
static gboolean
check_option_text (const char  *text,
                   GError     **error)
{
  if (strpbrk (text, "\n\r") != NULL)
    {
      g_autofree char *shown = g_strescape (text, NULL);

      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "'%s' holds a line break, which no QEMU option accepts", shown);
      return FALSE;
    }
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "the value is not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

/**
 * ql_param_value_from_string:
 * @pspec: the property to read a value for
 * @text: the value as text
 * @value: (out caller-allocates): an unset #GValue, initialized on success
 * @error: return location for an error
 *
 * Reads @text as a value of @pspec's type and checks it against @pspec's
 * range (g_param_value_is_valid()), so that a bad value is an error and
 * never a GObject warning.
 *
 * Returns: %TRUE on success
 */
gboolean
ql_param_value_from_string (GParamSpec  *pspec,
                            const char  *text,
                            GValue      *value,
                            GError     **error)
{
  GType vtype = G_PARAM_SPEC_VALUE_TYPE (pspec);
  g_auto(GValue) tmp = G_VALUE_INIT;
  gboolean ok = TRUE;

  g_return_val_if_fail (text != NULL, FALSE);

  g_value_init (&tmp, vtype);

  if (ql_param_spec_is_size (pspec))
    {
      guint64 bytes;

      if (!ql_parse_size (text, size_unit (pspec), &bytes, error))
        return FALSE;
      g_value_set_uint64 (&tmp, bytes);
    }
  else if (vtype == G_TYPE_BOOLEAN)
    {
      gboolean b = FALSE;

      ok = parse_bool (text, &b);
      g_value_set_boolean (&tmp, b);
    }
  else if (vtype == G_TYPE_STRING)
    {
      if (!check_option_text (text, error))
        return FALSE;
      g_value_set_string (&tmp, text);
    }
  else if (vtype == G_TYPE_STRV)
    {
      g_auto(GStrv) parts = g_strsplit (text, ";", -1);
      guint n = g_strv_length (parts);

      /* GKeyFile lists may end with the separator. */
      if (n > 0 && *parts[n - 1] == '\0')
        {
          g_free (parts[n - 1]);
          parts[n - 1] = NULL;
        }
      for (guint i = 0; parts[i] != NULL; i++)
        if (!check_option_text (parts[i], error))
          return FALSE;
      g_value_set_boxed (&tmp, parts);
    }
  else if (vtype == QL_TYPE_FD_LIST)
    {
      g_autoptr(QlFdList) list = NULL;

      ok = parse_fd_list (text, &list);
      if (ok)
        g_value_set_boxed (&tmp, list);
    }
  else if (G_IS_PARAM_SPEC_UINT (pspec))
    {
      guint64 v = 0;

      ok = parse_unsigned (text, 0, G_MAXUINT, &v);
      g_value_set_uint (&tmp, (guint) v);
    }
  else if (G_IS_PARAM_SPEC_INT (pspec))
    {
      gint64 v = 0;

      ok = parse_signed (text, G_MININT, G_MAXINT, &v);
      g_value_set_int (&tmp, (int) v);
    }
  else if (G_IS_PARAM_SPEC_UINT64 (pspec))
    {
      guint64 v = 0;

      ok = parse_unsigned (text, 0, G_MAXUINT64, &v);
      g_value_set_uint64 (&tmp, v);
    }
  else if (G_IS_PARAM_SPEC_INT64 (pspec))
    {
      gint64 v = 0;

      ok = parse_signed (text, G_MININT64, G_MAXINT64, &v);
      g_value_set_int64 (&tmp, v);
    }
  else if (G_TYPE_IS_ENUM (vtype))
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (vtype);
      GEnumValue *ev = g_enum_get_value_by_nick (klass, text);

      ok = ev != NULL;
      if (ok)
        g_value_set_enum (&tmp, ev->value);
    }
  else
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNSUPPORTED,
                   "property '%s' has type %s, which cannot be read from text",
                   pspec->name, g_type_name (vtype));
      return FALSE;
    }

  if (!ok || !g_param_value_is_valid (pspec, &tmp))
    {
      g_autofree char *expected = ql_param_describe_type (pspec);

      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "'%s' is not a valid value; expected %s", text, expected);
      return FALSE;
    }

  g_value_init (value, vtype);
  g_value_copy (&tmp, value);
  return TRUE;
}

/**
 * ql_param_value_to_string:
 * @pspec: a property
 * @value: a value of @pspec's type
 *
 * Writes @value as text that ql_param_value_from_string() reads back.
 *
 * Returns: (transfer full) (nullable): the text, or %NULL for an unset string
 */
char *
ql_param_value_to_string (GParamSpec   *pspec,
                          const GValue *value)
{
  GType vtype = G_VALUE_TYPE (value);

  if (ql_param_spec_is_size (pspec))
    return ql_format_size (g_value_get_uint64 (value));
  if (vtype == G_TYPE_STRING)
    return g_value_dup_string (value);
  if (vtype == G_TYPE_BOOLEAN)
    return g_strdup (g_value_get_boolean (value) ? "true" : "false");
  if (vtype == G_TYPE_STRV)
    {
      const char *const *v = g_value_get_boxed (value);
      return v != NULL ? g_strjoinv (";", (char **) v) : NULL;
    }
  if (vtype == QL_TYPE_FD_LIST)
    {
      QlFdList *list = g_value_get_boxed (value);
      g_autoptr(GString) s = g_string_new (NULL);

      for (guint i = 0; i < ql_fd_list_get_length (list); i++)
        g_string_append_printf (s, i ? ";%d" : "%d", ql_fd_list_get (list, i));
      return g_string_free (g_steal_pointer (&s), FALSE);
    }
  if (G_TYPE_IS_ENUM (vtype))
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (vtype);
      GEnumValue *ev = g_enum_get_value (klass, g_value_get_enum (value));
      return ev != NULL ? g_strdup (ev->value_nick) : NULL;
    }
  if (g_value_type_transformable (vtype, G_TYPE_STRING))
    {
      g_auto(GValue) s = G_VALUE_INIT;

      g_value_init (&s, G_TYPE_STRING);
      g_value_transform (value, &s);
      return g_value_dup_string (&s);
    }
  return NULL;
}

/**
 * ql_object_set_property_from_string:
 * @object: a #GObject
 * @property: a property name of @object
 * @text: the value as text
 * @error: return location for an error
 *
 * Sets a property from text with the checks of ql_param_value_from_string().
 * An unknown property is %QL_CONFIG_ERROR_UNKNOWN_KEY.
 *
 * Returns: %TRUE on success
 */
gboolean
ql_object_set_property_from_string (GObject     *object,
                                    const char  *property,
                                    const char  *text,
                                    GError     **error)
{
  GParamSpec *pspec;
  g_auto(GValue) value = G_VALUE_INIT;

  g_return_val_if_fail (G_IS_OBJECT (object), FALSE);

  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (object), property);
  if (pspec == NULL || !(pspec->flags & G_PARAM_WRITABLE)
      || (pspec->flags & G_PARAM_CONSTRUCT_ONLY))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_KEY,
                   "unknown key '%s'", property);
      return FALSE;
    }
  if (!ql_param_value_from_string (pspec, text, &value, error))
    return FALSE;
  g_object_set_property (object, property, &value);
  return TRUE;
}
