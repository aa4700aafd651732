/* qlaunch — the escape hatch: QEMU options and properties the user writes
 * as text ([qemu] add/remove/replace, a device's qemu-set/qemu-unset),
 * parsed with QEMU's own rules into structured options, never pasted. */
#include "ql-qemu-raw-private.h"
#include "ql-keyval.h"

#include <string.h>

/* Options qlaunch writes from VM-file keys, or needs for itself: [qemu]
 * cannot add or replace them (two -m would make QEMU take the last one
 * silently), and says which key to use. */
static const struct
{
  const char *flag;
  const char *instead;
} managed[] = {
  { "-name", "use [vm] name" },
  { "-uuid", "use [vm] uuid" },
  { "-cpu", "use [vm] cpu-model" },
  { "-vga", "use [vm] vga" },
  { "-bios", "use [vm] bios or [firmware]" },
  { "-pidfile", "use [vm] pid-file" },
  { "-machine", "use [machine] type, acceleration and options" },
  { "-M", "use [machine] type, acceleration and options" },
  { "-accel", "use [machine] acceleration" },
  { "-enable-kvm", "use [machine] acceleration = kvm" },
  { "-smp", "use the [smp] keys" },
  { "-m", "use the [memory] keys" },
  { "-kernel", "use [kernel] path" },
  { "-initrd", "use [kernel] initrd" },
  { "-append", "use [kernel] params" },
  { "-rtc", "use the [rtc] keys" },
  { "-incoming", "use the [incoming] keys" },
  { "-daemonize", "use [knobs] daemonize" },
  { "-nodefaults", "use [knobs] no-defaults" },
  { "-no-user-config", "use [knobs] no-user-config" },
  { "-nographic", "use [knobs] no-graphic" },
  { "-S", "use [knobs] stopped" },
  { "-overcommit", "use [knobs] mlock" },
  { "-sandbox", "use [knobs] sandbox and its sandbox-* keys" },
  { "-qmp", "use a [qmp NAME] group: qlaunch drives QEMU through its own QMP sockets" },
  { "-qmp-pretty", "use a [qmp NAME] group: qlaunch drives QEMU through its own QMP sockets" },
  { "-monitor", "use a [qmp NAME] group: qlaunch drives QEMU through its own QMP sockets" },
  { "-mon", "use a [qmp NAME] group: qlaunch drives QEMU through its own QMP sockets" },
  { "-runas", "run qlaunch as the user QEMU is to run as" },
  { "-run-with", "run qlaunch as the user QEMU is to run as" },
  { "-chroot", "run qlaunch in the root QEMU is to see" },
  { "-readconfig", "QEMU would read its options from that file unchecked: write them in [qemu] add one by one" },
  { "-writeconfig", "not an option of a VM" },
};

/* What [qemu] remove cannot take away. */
static const struct
{
  const char *flag;
  const char *instead;
} kept[] = {
  { "-qmp", "qlaunch drives QEMU through its QMP sockets: remove the [qmp NAME] group instead" },
  { "-sandbox", "use [knobs] sandbox = off, or relax one class with its sandbox-* key" },
};

/* The key QEMU reads a key=value option's first bare element as, and the
 * JSON member of the same. */
static const char *
head_key (const char *flag)
{
  if (strcmp (flag, "-device") == 0 || strcmp (flag, "-blockdev") == 0)
    return "driver";
  if (strcmp (flag, "-object") == 0)
    return "qom-type";
  if (strcmp (flag, "-netdev") == 0)
    return "type";
  if (strcmp (flag, "-chardev") == 0)
    return "backend";
  return NULL;
}

/* Splits "-flag value" at the first run of blanks; "--flag" is "-flag". */
static gboolean
split_option (const char  *text,
              char       **flag_out,
              char       **value_out,
              GError     **error)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  const char *p = copy;
  const char *end;

  if (*p != '-')
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "not a QEMU option: write it as on QEMU's command line, -device virtio-rng-pci,id=rng1");
      return FALSE;
    }
  if (p[1] == '-')
    p++;
  end = p + 1;
  while (*end != '\0' && *end != ' ' && *end != '\t')
    {
      if (!g_ascii_isalnum (*end) && *end != '-' && *end != '_')
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                       "not a QEMU option name (letters, digits, '-' and '_'; "
                       "a blank separates it from its value)");
          return FALSE;
        }
      end++;
    }
  if (end == p + 1)
    {
      g_set_error_literal (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE, "names no option");
      return FALSE;
    }
  *flag_out = g_strndup (p, end - p);
  while (*end == ' ' || *end == '\t')
    end++;
  *value_out = *end != '\0' ? g_strdup (end) : NULL;
  return TRUE;
}

/* A JSON member into @option: nested objects become dotted keys, as
 * QEMU's key=value parser reads them. */
static gboolean
add_json_member (QlOption    *option,
                 const char  *key,
                 JsonNode    *node,
                 const char  *source,
                 GError     **error)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr(GList) members = json_object_get_members (object);

      for (GList *l = members; l != NULL; l = l->next)
        {
          g_autofree char *sub = g_strconcat (key, ".", (const char *) l->data, NULL);

          if (!add_json_member (option, sub, json_object_get_member (object, l->data), source, error))
            return FALSE;
        }
      return TRUE;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
            ql_option_add_list_value (option, key, NULL, json_node_get_string (element));
          else if (JSON_NODE_HOLDS_OBJECT (element)
                   && json_object_get_size (json_node_get_object (element)) == 1)
            {
              JsonObject *o = json_node_get_object (element);
              g_autoptr(GList) m = json_object_get_members (o);
              JsonNode *v = json_object_get_member (o, m->data);

              if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
                goto unsupported;
              ql_option_add_list_value (option, key, m->data, json_node_get_string (v));
            }
          else
            goto unsupported;
        }
      ql_option_mark_source (option, key, source, FALSE);
      return TRUE;
    }
  /* {"a.b": 1, "a": {"b": 2}} names one key twice. */
  if (ql_option_lookup (option, key) != NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE, "key '%s' is given twice", key);
      return FALSE;
    }
  if (JSON_NODE_HOLDS_NULL (node))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "member '%s' is null; leave it out instead", key);
      return FALSE;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      ql_option_set (option, key, json_node_get_string (node));
      break;
    case G_TYPE_BOOLEAN:
      ql_option_set_bool (option, key, json_node_get_boolean (node));
      break;
    case G_TYPE_INT64:
      if (json_node_get_int (node) < 0)
        ql_option_set_int (option, key, json_node_get_int (node));
      else
        ql_option_set_uint (option, key, (guint64) json_node_get_int (node));
      break;
    default:
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "member '%s' is not a string, a boolean or an integer", key);
      return FALSE;
    }
  ql_option_mark_source (option, key, source, FALSE);
  return TRUE;

unsupported:
  g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
               "member '%s': a list of strings or of one-member objects ({\"str\": ...}) only", key);
  return FALSE;
}

static QlOption *
parse_json (QlCmdline   *cl,
            const char  *flag,
            const char  *value,
            const char  *source,
            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  const char *member = head_key (flag);
  JsonObject *root;
  JsonNode *head;
  g_autoptr(GList) members = NULL;
  QlOption *option;
  guint major, minor;

  ql_cmdline_get_qemu_version (cl, &major, &minor);
  if (!ql_qemu_syntax_accepts_json (major, minor, flag))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "QEMU %u.%u reads %s only as key=value, not JSON", major, minor, flag);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, value, -1, &local))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE, "%s: not JSON: %s", flag, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE, "%s: the JSON is not an object", flag);
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  head = json_object_get_member (root, member);
  if (head == NULL || !JSON_NODE_HOLDS_VALUE (head) || json_node_get_value_type (head) != G_TYPE_STRING)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING,
                   "%s: the JSON object has no string member \"%s\"", flag, member);
      return NULL;
    }
  /* Written first in key=value form, a head with '=' would be read as a
   * key. */
  if (strchr (json_node_get_string (head), '=') != NULL || *json_node_get_string (head) == '\0')
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "%s: \"%s\" '%s' is not a type name", flag, member, json_node_get_string (head));
      return NULL;
    }
  option = ql_cmdline_add_option (cl, flag, json_node_get_string (head), NULL);
  members = json_object_get_members (root);
  for (GList *l = members; l != NULL; l = l->next)
    {
      if (strcmp (l->data, member) == 0)
        continue;
      if (!add_json_member (option, l->data, json_object_get_member (root, l->data), source, error))
        {
          ql_cmdline_remove_option (cl, ql_cmdline_get_n_options (cl) - 1);
          return NULL;
        }
    }
  return option;
}

static QlOption *
parse_keyval (QlCmdline   *cl,
              const char  *flag,
              const char  *value,
              const char  *source,
              GError     **error)
{
  g_autoptr(GPtrArray) pairs = ql_keyval_split (value, flag, error);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  const char *implied = head_key (flag);
  const char *head = NULL;
  guint first = 0;
  QlOption *option;

  if (pairs == NULL)
    return NULL;
  if (pairs->len > 0)
    {
      QlKeyvalPair *p = g_ptr_array_index (pairs, 0);

      if (p->key == NULL || (implied != NULL && strcmp (p->key, implied) == 0))
        {
          head = p->value;
          first = 1;
        }
    }
  for (guint i = first; i < pairs->len; i++)
    {
      QlKeyvalPair *p = g_ptr_array_index (pairs, i);

      if (p->key == NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                       "%s: element '%s' has no '=': write %s=on (QEMU's short boolean form is deprecated), "
                       "and a literal comma as ',,'", flag, p->value, p->value);
          return NULL;
        }
      if (!g_hash_table_add (seen, p->key))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE,
                       "%s: key '%s' is given twice", flag, p->key);
          return NULL;
        }
      if (strpbrk (p->key, " \t") != NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                       "%s: key '%s' holds a blank", flag, p->key);
          return NULL;
        }
    }
  option = ql_cmdline_add_option (cl, flag, head, NULL);
  for (guint i = first; i < pairs->len; i++)
    {
      QlKeyvalPair *p = g_ptr_array_index (pairs, i);

      ql_option_set (option, p->key, p->value);
      ql_option_mark_source (option, p->key, source, TRUE);
    }
  return option;
}

static const char *
lookup_instead (const char *flag,
                gboolean    removing)
{
  if (removing)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (kept); i++)
        if (strcmp (flag, kept[i].flag) == 0)
          return kept[i].instead;
      return NULL;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (managed); i++)
    if (strcmp (flag, managed[i].flag) == 0)
      return managed[i].instead;
  return NULL;
}

QlOption *
ql_qemu_raw_parse (QlCmdline   *cl,
                   const char  *text,
                   const char  *source,
                   GError     **error)
{
  g_autofree char *flag = NULL;
  g_autofree char *value = NULL;
  const char *instead;

  if (!split_option (text, &flag, &value, error))
    return NULL;
  instead = lookup_instead (flag, FALSE);
  if (instead != NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                   "qlaunch writes %s itself: %s", flag, instead);
      return NULL;
    }
  switch (ql_cmdline_syntax_for_flag (flag))
    {
    case QL_OPTION_SYNTAX_FLAG:
      if (value != NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                       "%s takes no value (got '%s')", flag, value);
          return NULL;
        }
      ql_cmdline_add_flag (cl, flag);
      break;
    case QL_OPTION_SYNTAX_VERBATIM:
      if (value == NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING, "%s needs a value", flag);
          return NULL;
        }
      if (strcmp (flag, "-global") == 0)
        {
          const char *dot = strchr (value, '.');
          const char *eq = strchr (value, '=');

          if (dot == NULL || eq == NULL || dot == value || eq < dot + 2)
            {
              g_set_error_literal (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                                   "-global takes DRIVER.PROPERTY=VALUE");
              return NULL;
            }
        }
      ql_cmdline_add_verbatim (cl, flag, value);
      break;
    case QL_OPTION_SYNTAX_KEYVAL:
    default:
      if (value == NULL && head_key (flag) != NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING, "%s needs a value", flag);
          return NULL;
        }
      if (value == NULL)
        /* An option qlaunch does not write itself (-no-hpet, -usb): a
         * flag, as the user wrote it. */
        ql_cmdline_add_flag (cl, flag);
      else if (value[0] == '{')
        return parse_json (cl, flag, value, source, error);
      else
        return parse_keyval (cl, flag, value, source, error);
      break;
    }
  return ql_cmdline_get_option (cl, ql_cmdline_get_n_options (cl) - 1);
}

gboolean
ql_qemu_raw_check_syntax (const char  *text,
                          const char  *source,
                          GError     **error)
{
  g_autoptr(QlCmdline) scratch = ql_cmdline_new ("qemu");

  return ql_qemu_raw_parse (scratch, text, source, error) != NULL
         && ql_cmdline_check (scratch, error);
}

/* A [qemu] remove spec: an option name, optionally "id=ID". */
static gboolean
parse_remove_spec (const char  *text,
                   char       **flag,
                   char       **id,
                   GError     **error)
{
  g_autofree char *value = NULL;
  g_autoptr(GPtrArray) pairs = NULL;
  QlKeyvalPair *p;
  const char *instead;

  if (!split_option (text, flag, &value, error))
    return FALSE;
  instead = lookup_instead (*flag, TRUE);
  if (instead != NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                   "qlaunch keeps %s: %s", *flag, instead);
      return FALSE;
    }
  *id = NULL;
  if (value == NULL)
    return TRUE;
  pairs = ql_keyval_split (value, *flag, error);
  if (pairs == NULL)
    return FALSE;
  p = g_ptr_array_index (pairs, 0);
  if (pairs->len != 1 || g_strcmp0 (p->key, "id") != 0 || *p->value == '\0')
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "write an option name, or a name and its id (%s id=ID)", *flag);
      return FALSE;
    }
  *id = g_strdup (p->value);
  return TRUE;
}

gboolean
ql_qemu_raw_check_remove_syntax (const char  *text,
                                 GError     **error)
{
  g_autofree char *flag = NULL;
  g_autofree char *id = NULL;

  return parse_remove_spec (text, &flag, &id, error);
}

/* The ids of the @flag options of @cl, for a "did you mean". */
static GStrv
ids_of (QlCmdline  *cl,
        const char *flag)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  for (guint i = 0; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);
      const char *id;

      if (strcmp (ql_option_get_flag (option), flag) != 0
          || ql_option_get_syntax (option) != QL_OPTION_SYNTAX_KEYVAL)
        continue;
      id = ql_option_lookup (option, "id");
      if (id != NULL)
        g_strv_builder_add (b, id);
    }
  return g_strv_builder_end (b);
}

static void
set_no_match (GError     **error,
              QlCmdline   *cl,
              const char  *what,
              const char  *text,
              const char  *flag,
              const char  *id)
{
  g_auto(GStrv) ids = ids_of (cl, flag);
  g_autofree char *list = g_strjoinv (", ", ids);
  const char *close = id != NULL ? ql_closest_word (id, (const char * const *) ids) : NULL;

  if (id == NULL)
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                 "[qemu] %s: '%s' matches no option: the command line has no %s", what, text, flag);
  else if (close != NULL)
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                 "[qemu] %s: '%s' matches no option: no %s has id '%s'; did you mean '%s'?",
                 what, text, flag, id, close);
  else
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                 "[qemu] %s: '%s' matches no option: no %s has id '%s'%s%s", what, text, flag, id,
                 ids[0] != NULL ? "; the ids are: " : "", list);
}

static gboolean
matches (QlOption   *option,
         const char *flag,
         const char *id)
{
  if (strcmp (ql_option_get_flag (option), flag) != 0)
    return FALSE;
  if (id == NULL)
    return TRUE;
  return ql_option_get_syntax (option) == QL_OPTION_SYNTAX_KEYVAL
         && g_strcmp0 (ql_option_lookup (option, "id"), id) == 0;
}

static gboolean
apply_remove (QlCmdline   *cl,
              const char  *text,
              GError     **error)
{
  g_autofree char *flag = NULL;
  g_autofree char *id = NULL;
  gboolean found = FALSE;

  if (!parse_remove_spec (text, &flag, &id, error))
    {
      g_prefix_error (error, "[qemu] remove: '%s': ", text);
      return FALSE;
    }
  for (guint i = ql_cmdline_get_n_options (cl); i > 0; i--)
    if (matches (ql_cmdline_get_option (cl, i - 1), flag, id))
      {
        ql_cmdline_remove_option (cl, i - 1);
        found = TRUE;
      }
  if (!found)
    set_no_match (error, cl, "remove", text, flag, id);
  return found;
}

/* Later messages about the option (the capability check, a removed
 * option) name the entry: "[qemu] add: '-device ...'". */
static void
set_entry_origin (QlOption   *option,
                  const char *key,
                  const char *text)
{
  g_autofree char *origin = g_strdup_printf ("[qemu] %s: '%s'", key, text);

  ql_option_set_origin (option, origin);
}

static gboolean
apply_replace (QlCmdline   *cl,
               const char  *text,
               GError     **error)
{
  QlOption *option = ql_qemu_raw_parse (cl, text, "[qemu] replace", error);
  guint last, at = G_MAXUINT, count = 0;
  const char *flag;
  const char *id = NULL;

  if (option == NULL)
    {
      g_prefix_error (error, "[qemu] replace: '%s': ", text);
      return FALSE;
    }
  set_entry_origin (option, "replace", text);
  last = ql_cmdline_get_n_options (cl) - 1;
  flag = ql_option_get_flag (option);
  if (ql_option_get_syntax (option) == QL_OPTION_SYNTAX_KEYVAL)
    id = ql_option_lookup (option, "id");
  for (guint i = 0; i < last; i++)
    if (matches (ql_cmdline_get_option (cl, i), flag, id))
      {
        if (at == G_MAXUINT)
          at = i;
        count++;
      }
  if (count == 0)
    {
      g_autofree char *f = g_strdup (flag);
      g_autofree char *i = g_strdup (id);

      ql_cmdline_remove_option (cl, last);
      set_no_match (error, cl, "replace", text, f, i);
      return FALSE;
    }
  if (count > 1)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "[qemu] replace: '%s' matches %u %s options: give the one to replace its id", text,
                   count, flag);
      ql_cmdline_remove_option (cl, last);
      return FALSE;
    }
  /* A -device that names no place keeps the one qlaunch gave the option
   * it replaces (its PCIe root port). */
  {
    QlOption *old = ql_cmdline_get_option (cl, at);
    const char *bus = ql_option_get_syntax (old) == QL_OPTION_SYNTAX_KEYVAL
                      ? ql_option_lookup (old, "bus") : NULL;

    if (strcmp (flag, "-device") == 0 && bus != NULL && g_str_has_prefix (bus, "ql-port")
        && ql_option_lookup (option, "bus") == NULL && ql_option_lookup (option, "addr") == NULL)
      ql_option_set (option, "bus", bus);
  }
  ql_cmdline_replace_with_last (cl, at);
  return TRUE;
}

static gboolean
apply_add (QlCmdline   *cl,
           const char  *text,
           GError     **error)
{
  guint before = ql_cmdline_get_n_options (cl);
  QlOption *option = ql_qemu_raw_parse (cl, text, "[qemu] add", error);
  const char *id;

  if (option == NULL)
    {
      g_prefix_error (error, "[qemu] add: '%s': ", text);
      return FALSE;
    }
  set_entry_origin (option, "add", text);
  if (ql_option_get_syntax (option) != QL_OPTION_SYNTAX_KEYVAL
      || (id = ql_option_lookup (option, "id")) == NULL)
    return TRUE;
  for (guint i = 0; i < before; i++)
    {
      QlOption *other = ql_cmdline_get_option (cl, i);

      if (matches (other, ql_option_get_flag (option), id))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE,
                       "[qemu] add: '%s': id '%s' is taken by the %s of %s; choose another id%s",
                       text, id, ql_option_get_flag (other),
                       ql_option_get_origin (other) != NULL ? ql_option_get_origin (other) : "qlaunch",
                       strcmp (ql_option_get_flag (other), "-device") == 0
                       ? " (or change that device with qemu-set)" : "");
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
ql_qemu_raw_apply_group (QlCmdline           *cl,
                         const char * const  *add,
                         const char * const  *remove,
                         const char * const  *replace,
                         GError             **error)
{
  for (guint i = 0; remove != NULL && remove[i] != NULL; i++)
    if (!apply_remove (cl, remove[i], error))
      return FALSE;
  for (guint i = 0; replace != NULL && replace[i] != NULL; i++)
    if (!apply_replace (cl, replace[i], error))
      return FALSE;
  for (guint i = 0; add != NULL && add[i] != NULL; i++)
    if (!apply_add (cl, add[i], error))
      return FALSE;
  return TRUE;
}

/* Per-device overrides: qemu-set and qemu-unset */

/* The backends a key's prefix can name: "netdev.vhost" is vhost on the
 * device's -netdev. */
static const char *const backend_prefixes[] = {
  "netdev", "drive", "blockdev", "chardev", "object", "fsdev", NULL,
};

typedef struct
{
  char *flag;      /* "-device", "-netdev", ... */
  char *key;       /* the property in that option */
  char *written;   /* as the user wrote it: "netdev.vhost" */
  char *value;     /* qemu-set: the value; qemu-unset: NULL */
} Override;

static void
override_free (Override *o)
{
  g_free (o->flag);
  g_free (o->key);
  g_free (o->written);
  g_free (o->value);
  g_free (o);
}

static void G_GNUC_PRINTF (4, 5)
device_error (GError     **error,
              QlDevice    *device,
              const char  *what,
              const char  *format,
              ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, what, "%s", message);
}

/* The device key that sets the same property: "vhost" for netdev.vhost,
 * "cache-direct" for drive.cache.direct, "addr" for addr; NULL when the
 * device has none. */
static GParamSpec *
device_key_for (QlDevice   *device,
                const char *key)
{
  g_autofree char *dashed = g_strdup (key);
  GObjectClass *klass = G_OBJECT_GET_CLASS (device);
  GParamSpec *pspec;

  pspec = g_object_class_find_property (klass, key);
  if (pspec == NULL)
    {
      g_strdelimit (dashed, "_.", '-');
      pspec = g_object_class_find_property (klass, dashed);
    }
  if (pspec != NULL && (g_str_equal (pspec->name, "qemu-set") || g_str_equal (pspec->name, "qemu-unset")))
    return NULL;
  return pspec;
}

static gboolean
key_is_set (QlDevice   *device,
            GParamSpec *pspec)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (pspec));
  g_object_get_property (G_OBJECT (device), pspec->name, &value);
  return !g_param_value_defaults (pspec, &value);
}

/* Parses one of the device's lists; NULL with @error naming the device. */
static GPtrArray *
parse_overrides (QlDevice    *device,
                 const char  *what,
                 const char  *text,
                 gboolean     with_values,
                 GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) override_free);
  g_autoptr(GPtrArray) pairs = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  pairs = ql_keyval_split (text, what, &local);
  if (pairs == NULL)
    {
      device_error (error, device, what, "%s", local->message);
      return NULL;
    }
  for (guint i = 0; i < pairs->len; i++)
    {
      QlKeyvalPair *p = g_ptr_array_index (pairs, i);
      const char *written = with_values ? p->key : p->value;
      Override *o;
      const char *dot;
      GParamSpec *pspec;

      if (with_values && p->key == NULL)
        {
          device_error (error, device, what, "'%s' has no '=': write KEY=VALUE (%s=on for a boolean)",
                        p->value, p->value);
          return NULL;
        }
      if (!with_values && p->key != NULL)
        {
          device_error (error, device, what, "'%s=%s': name the property only (qemu-set changes a value)",
                        p->key, p->value);
          return NULL;
        }
      if (*written == '\0' || strpbrk (written, " \t=") != NULL || written[strlen (written) - 1] == '.')
        {
          device_error (error, device, what, "'%s' is not a property name", written);
          return NULL;
        }
      if (!g_hash_table_add (seen, (gpointer) written))
        {
          device_error (error, device, what, "'%s' is given twice", written);
          return NULL;
        }
      o = g_new0 (Override, 1);
      o->written = g_strdup (written);
      o->value = with_values ? g_strdup (p->value) : NULL;
      dot = strchr (written, '.');
      if (dot != NULL)
        {
          g_autofree char *prefix = g_strndup (written, dot - written);

          if (g_strv_contains (backend_prefixes, prefix))
            {
              o->flag = g_strconcat ("-", prefix, NULL);
              o->key = g_strdup (dot + 1);
            }
        }
      if (o->flag == NULL)
        {
          o->flag = g_strdup ("-device");
          o->key = g_strdup (written);
        }
      g_ptr_array_add (out, o);

      /* What the plugin sets from one of the device's keys is changed
       * through that key, which the plugin validates. */
      pspec = device_key_for (device, o->key);
      if (pspec != NULL && with_values)
        {
          device_error (error, device, what,
                        "'%s' is what the device's key '%s' sets: use %s = ... instead",
                        written, pspec->name, pspec->name);
          return NULL;
        }
      if (pspec != NULL && key_is_set (device, pspec))
        {
          device_error (error, device, what,
                        "'%s' comes from the device's key '%s': leave that key out instead",
                        written, pspec->name);
          return NULL;
        }
    }
  return g_steal_pointer (&out);
}

static gboolean
get_overrides (QlDevice   *device,
               GPtrArray **set,
               GPtrArray **unset,
               GError    **error)
{
  const char *set_text = ql_device_peek_qemu_set (device);
  const char *unset_text = ql_device_peek_qemu_unset (device);

  *set = NULL;
  *unset = NULL;
  if (set_text != NULL && (*set = parse_overrides (device, "qemu-set", set_text, TRUE, error)) == NULL)
    return FALSE;
  if (unset_text != NULL
      && (*unset = parse_overrides (device, "qemu-unset", unset_text, FALSE, error)) == NULL)
    {
      g_clear_pointer (set, g_ptr_array_unref);
      return FALSE;
    }
  for (guint i = 0; *set != NULL && *unset != NULL && i < (*set)->len; i++)
    for (guint k = 0; k < (*unset)->len; k++)
      {
        Override *s = g_ptr_array_index (*set, i);
        Override *u = g_ptr_array_index (*unset, k);

        if (g_str_equal (s->written, u->written))
          {
            device_error (error, device, "qemu-unset", "'%s' is also in qemu-set: keep one", u->written);
            g_clear_pointer (set, g_ptr_array_unref);
            g_clear_pointer (unset, g_ptr_array_unref);
            return FALSE;
          }
      }
  return TRUE;
}

gboolean
ql_qemu_raw_check_device (QlDevice  *device,
                          GError   **error)
{
  g_autoptr(GPtrArray) set = NULL;
  g_autoptr(GPtrArray) unset = NULL;

  return get_overrides (device, &set, &unset, error);
}

/* A device key, set in the VM file, whose value the plugin wrote as
 * @value (mac-address as -device mac=): NULL when none. */
static GParamSpec *
device_key_with_value (QlDevice   *device,
                       const char *value)
{
  g_autofree GParamSpec **pspecs = NULL;
  guint n = 0;

  if (value == NULL)
    return NULL;
  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n);
  for (guint i = 0; i < n; i++)
    {
      g_auto(GValue) v = G_VALUE_INIT;
      g_auto(GValue) text = G_VALUE_INIT;
      GType type = G_PARAM_SPEC_VALUE_TYPE (pspecs[i]);

      if (g_str_equal (pspecs[i]->name, "id") || g_str_has_prefix (pspecs[i]->name, "qemu-")
          || type == G_TYPE_BOOLEAN || !(pspecs[i]->flags & G_PARAM_READABLE)
          || !g_value_type_transformable (type, G_TYPE_STRING))
        continue;
      g_value_init (&v, type);
      g_object_get_property (G_OBJECT (device), pspecs[i]->name, &v);
      if (g_param_value_defaults (pspecs[i], &v))
        continue;
      g_value_init (&text, G_TYPE_STRING);
      if (g_value_transform (&v, &text) && g_strcmp0 (g_value_get_string (&text), value) == 0)
        return pspecs[i];
    }
  return NULL;
}

/* How many key=value options named @flag @cl has from @first on; the
 * last one in @only, the one whose id or node-name is @id in @by_id. */
static guint
count_options (QlCmdline   *cl,
               guint        first,
               const char  *flag,
               const char  *id,
               QlOption   **only,
               QlOption   **by_id)
{
  guint count = 0;

  *only = *by_id = NULL;
  for (guint i = first; i < ql_cmdline_get_n_options (cl); i++)
    {
      QlOption *option = ql_cmdline_get_option (cl, i);

      if (!g_str_equal (ql_option_get_flag (option), flag)
          || ql_option_get_syntax (option) != QL_OPTION_SYNTAX_KEYVAL)
        continue;
      count++;
      *only = option;
      if (*by_id == NULL && (g_strcmp0 (ql_option_lookup (option, "id"), id) == 0
                             || g_strcmp0 (ql_option_lookup (option, "node-name"), id) == 0))
        *by_id = option;
    }
  return count;
}

/* The option of @cl (from @first on) an override is about: the device's
 * only option of that name, or the one whose id is the device's. A drive.
 * key reaches the device's -blockdev when it writes no -drive (its
 * hot-plug form: blockdev-add). */
static QlOption *
find_target (QlDevice    *device,
             QlCmdline   *cl,
             guint        first,
             const char  *what,
             Override    *o,
             GError     **error)
{
  g_autoptr(GStrvBuilder) flags = g_strv_builder_new ();
  g_auto(GStrv) produced = NULL;
  QlOption *only = NULL;
  QlOption *by_id = NULL;
  guint count = count_options (cl, first, o->flag, ql_device_get_id (device), &only, &by_id);

  if (count == 0 && g_str_equal (o->flag, "-drive"))
    count = count_options (cl, first, "-blockdev", ql_device_get_id (device), &only, &by_id);
  for (guint i = first; i < ql_cmdline_get_n_options (cl); i++)
    g_strv_builder_add (flags, ql_option_get_flag (ql_cmdline_get_option (cl, i)));
  if (count == 1)
    return only;
  if (by_id != NULL)
    return by_id;
  produced = g_strv_builder_end (flags);
  if (count == 0)
    {
      g_autofree char *list = g_strjoinv (" ", produced);

      device_error (error, device, what, "'%s': the device writes no %s key=value option (it writes: %s)",
                    o->written, o->flag, list[0] != '\0' ? list : "nothing");
    }
  else
    device_error (error, device, what,
                  "'%s': the device writes %u %s options, none with id '%s': use [qemu] replace for one of them",
                  o->written, count, o->flag, ql_device_get_id (device));
  return NULL;
}

gboolean
ql_qemu_raw_apply_device (QlDevice   *device,
                          QlCmdline  *cl,
                          guint       first,
                          GError    **error)
{
  g_autoptr(GPtrArray) set = NULL;
  g_autoptr(GPtrArray) unset = NULL;
  GParamSpec *pspec;

  if (!get_overrides (device, &set, &unset, error))
    return FALSE;
  for (guint i = 0; unset != NULL && i < unset->len; i++)
    {
      Override *o = g_ptr_array_index (unset, i);
      QlOption *target = find_target (device, cl, first, "qemu-unset", o, error);

      if (target == NULL)
        return FALSE;
      if ((pspec = device_key_with_value (device, ql_option_lookup (target, o->key))) != NULL)
        {
          device_error (error, device, "qemu-unset",
                        "'%s' comes from the device's key '%s': leave that key out instead",
                        o->written, pspec->name);
          return FALSE;
        }
      if (!ql_option_unset (target, o->key))
        {
          g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
          g_auto(GStrv) keys = NULL;
          g_autofree char *list = NULL;
          const char *close;

          for (guint k = 0; k < ql_option_get_n_values (target); k++)
            g_strv_builder_add (b, ql_option_get_key (target, k));
          keys = g_strv_builder_end (b);
          list = g_strjoinv (", ", keys);
          close = ql_closest_word (o->key, (const char * const *) keys);
          if (close != NULL)
            device_error (error, device, "qemu-unset", "'%s': the device's %s has no '%s'; did you mean '%s'?",
                          o->written, o->flag, o->key, close);
          else
            device_error (error, device, "qemu-unset", "'%s': the device's %s has no '%s'; it has: %s",
                          o->written, o->flag, o->key, list);
          return FALSE;
        }
    }
  for (guint i = 0; set != NULL && i < set->len; i++)
    {
      Override *o = g_ptr_array_index (set, i);
      QlOption *target = find_target (device, cl, first, "qemu-set", o, error);

      if (target == NULL)
        return FALSE;
      if ((pspec = device_key_with_value (device, ql_option_lookup (target, o->key))) != NULL)
        {
          device_error (error, device, "qemu-set",
                        "'%s' is what the device's key '%s' sets: use %s = ... instead",
                        o->written, pspec->name, pspec->name);
          return FALSE;
        }
      ql_option_set (target, o->key, o->value);
      ql_option_mark_source (target, o->key, "qemu-set", TRUE);
    }
  return TRUE;
}
