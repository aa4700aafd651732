/* qlaunch — the VM file loader: GKeyFile, plus the
 * checks GKeyFile does not make (duplicate groups and keys, unknown names). */
#include "ql-vm-config-private.h"

#include <string.h>

typedef struct
{
  const char *source;          /* for messages */
  const char *base_dir;        /* relative paths resolve against it */
  GHashTable *lines;           /* "group\x1fkey" or "group" -> line number */
  QlErrorList *errors;
  GHashTable *failed_groups;   /* "[group] key:" (or "[smp]") prefixes of bad keys */
  GPtrArray *failed_properties; /* "device 'ID': property 'KEY'" with a bad value */
} Loader;

static const char *const fixed_groups[] = {
  "vm", "machine", "smp", "memory", "kernel", "knobs", "rtc", "incoming", "firmware", "qemu", NULL,
};

static const char *const group_kinds[] = {
  "vm", "machine", "smp", "memory", "kernel", "knobs", "rtc", "incoming", "firmware", "qemu",
  "qmp", "iothread", "device", NULL,
};

static guint
line_of (Loader     *loader,
         const char *group,
         const char *key)
{
  g_autofree char *k = key != NULL ? g_strconcat (group, "\x1f", key, NULL) : g_strdup (group);

  return GPOINTER_TO_UINT (g_hash_table_lookup (loader->lines, k));
}

static void
fail (Loader     *loader,
      gint        code,
      const char *group,
      const char *key,
      const char *format,
      ...) G_GNUC_PRINTF (5, 6);

static void
fail (Loader     *loader,
      gint        code,
      const char *group,
      const char *key,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);

  if (key != NULL)
    ql_error_list_add (loader->errors,
                       g_error_new (QL_CONFIG_ERROR, code, "%s:%u: [%s] %s: %s", loader->source,
                                    line_of (loader, group, key), group, key, message));
  else
    ql_error_list_add (loader->errors,
                       g_error_new (QL_CONFIG_ERROR, code, "%s:%u: [%s]: %s", loader->source,
                                    line_of (loader, group, NULL), group, message));
}

/* GKeyFile merges a repeated group and keeps the last of a repeated key
 * silently: find both, with line numbers, in the raw text. */
static void
scan_lines (Loader     *loader,
            const char *data,
            gsize       length)
{
  g_autofree char *text = g_strndup (data, length);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *group = NULL;
  gboolean repeated_group = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      guint lineno = i + 1;

      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '[')
        {
          char *end = strrchr (line, ']');

          if (end == NULL)
            continue;   /* GKeyFile reports it */
          g_free (group);
          group = g_strndup (line + 1, end - line - 1);
          repeated_group = g_hash_table_contains (loader->lines, group);
          if (repeated_group)
            ql_error_list_add (loader->errors,
                               g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE,
                                            "%s:%u: [%s]: group appears twice (first at line %u); GKeyFile would merge them",
                                            loader->source, lineno, group,
                                            GPOINTER_TO_UINT (g_hash_table_lookup (loader->lines, group))));
          else
            g_hash_table_insert (loader->lines, g_strdup (group), GUINT_TO_POINTER (lineno));
        }
      /* The keys of a repeated group are not reported once more. */
      else if (group != NULL && !repeated_group && strchr (line, '=') != NULL)
        {
          g_autofree char *key = g_strstrip (g_strndup (line, strchr (line, '=') - line));
          g_autofree char *k = g_strconcat (group, "\x1f", key, NULL);

          if (g_hash_table_contains (loader->lines, k))
            ql_error_list_add (loader->errors,
                               g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE,
                                            "%s:%u: [%s] %s: key appears twice in the group (first at line %u)",
                                            loader->source, lineno, group, key,
                                            GPOINTER_TO_UINT (g_hash_table_lookup (loader->lines, k))));
          else
            g_hash_table_insert (loader->lines, g_steal_pointer (&k), GUINT_TO_POINTER (lineno));
        }
    }
}

static char *
resolve_path (Loader     *loader,
              const char *value)
{
  if (loader->base_dir == NULL)
    return g_strdup (value);
  return ql_path_resolve (value, loader->base_dir);
}

static gboolean
set_from_key_file (Loader      *loader,
                   GObject     *object,
                   GParamSpec  *pspec,
                   const char  *value,
                   GError     **error)
{
  g_autofree char *resolved = NULL;

  /* A bare firmware name (bios-256k.bin) is looked up in QEMU's data
   * directories; one with a '/' is a path like any other. */
  if (ql_param_spec_is_path (pspec)
      || (g_str_equal (pspec->name, "bios") && G_OBJECT_TYPE (object) == QL_TYPE_VM_CONFIG
          && strchr (value, '/') != NULL))
    value = resolved = resolve_path (loader, value);
  if (QL_IS_DEVICE (object))
    return ql_device_set_property_from_string (QL_DEVICE (object), pspec->name, value, error);
  return ql_object_set_property_from_string (object, pspec->name, value, error);
}

static void
load_fixed_group (Loader     *loader,
                  GKeyFile   *kf,
                  const char *group,
                  QlVmConfig *vm)
{
  g_auto(GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  guint n_table;
  const QlVmKey *table = ql_vm_config_keys (&n_table);
  g_autoptr(GPtrArray) known = g_ptr_array_new ();

  for (guint i = 0; i < n_table; i++)
    if (g_str_equal (table[i].group, group))
      g_ptr_array_add (known, (gpointer) table[i].key);
  g_ptr_array_add (known, NULL);

  for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
    {
      const QlVmKey *entry = NULL;
      g_autofree char *value = NULL;
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < n_table && entry == NULL; i++)
        if (g_str_equal (table[i].group, group) && g_str_equal (table[i].key, keys[k]))
          entry = &table[i];

      if (entry == NULL)
        {
          const char *close = ql_closest_word (keys[k], (const char * const *) known->pdata);
          g_autofree char *list = g_strjoinv (", ", (char **) known->pdata);

          if (close != NULL)
            fail (loader, QL_CONFIG_ERROR_UNKNOWN_KEY, group, keys[k],
                  "unknown key; did you mean '%s'?", close);
          else
            fail (loader, QL_CONFIG_ERROR_UNKNOWN_KEY, group, keys[k],
                  "unknown key; [%s] has: %s", group, list);
          continue;
        }

      value = g_key_file_get_string (kf, group, keys[k], &error);
      if (value == NULL
          || !set_from_key_file (loader, G_OBJECT (vm), ql_vm_config_pspec (entry->prop), value, &error))
        {
          /* SMP members are computed from each other: a bad one makes any
           * [smp] rule a consequence. Elsewhere only rules about the key. */
          if (g_str_equal (group, "smp"))
            g_hash_table_add (loader->failed_groups, g_strdup_printf ("[%s]", group));
          else
            g_hash_table_add (loader->failed_groups, g_strdup_printf ("[%s] %s:", group, keys[k]));
          fail (loader, error->code == QL_CONFIG_ERROR_INVALID_VALUE ? QL_CONFIG_ERROR_INVALID_VALUE : QL_CONFIG_ERROR_PARSE,
                group, keys[k], "%s", error->message);
        }
    }
}

/* Errors a device reports name the device and property already. */
static void
fail_device (Loader       *loader,
             const GError *error,
             const char   *group,
             const char   *key)
{
  ql_error_list_add (loader->errors,
                     g_error_new (QL_CONFIG_ERROR, error->code, "%s:%u: %s", loader->source,
                                  line_of (loader, group, key), error->message));
}

static gboolean
get_bool (Loader     *loader,
          GKeyFile   *kf,
          const char *group,
          const char *key,
          gboolean    default_value)
{
  g_autofree char *text = g_key_file_get_string (kf, group, key, NULL);
  GParamSpec *pspec;
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;

  if (text == NULL)
    return default_value;
  pspec = ql_vm_config_pspec (QL_VM_PROP_KNOBS_STOPPED); /* any boolean */
  if (!ql_param_value_from_string (pspec, text, &value, &error))
    {
      fail (loader, QL_CONFIG_ERROR_INVALID_VALUE, group, key, "%s", error->message);
      return default_value;
    }
  return g_value_get_boolean (&value);
}

static void
load_qmp_group (Loader     *loader,
                GKeyFile   *kf,
                const char *group,
                const char *name,
                QlVmConfig *vm)
{
  static const char *const known[] = { "type", "path", "server", "no-wait", NULL };
  g_auto(GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  g_autofree char *type = g_key_file_get_string (kf, group, "type", NULL);
  g_autofree char *path = g_key_file_get_string (kf, group, "path", NULL);
  g_autofree char *resolved = NULL;
  gboolean server, no_wait;
  guint errors_before = loader->errors->len;

  for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
    if (!g_strv_contains (known, keys[k]))
      {
        const char *close = ql_closest_word (keys[k], known);

        if (close != NULL)
          fail (loader, QL_CONFIG_ERROR_UNKNOWN_KEY, group, keys[k], "unknown key; did you mean '%s'?", close);
        else
          fail (loader, QL_CONFIG_ERROR_UNKNOWN_KEY, group, keys[k],
                "unknown key; [qmp NAME] has: type, path, server, no-wait");
      }

  if (type != NULL && !g_str_equal (type, "unix"))
    fail (loader, QL_CONFIG_ERROR_INVALID_VALUE, group, "type",
          "'%s' is not a QMP socket type; expected unix", type);
  if (path == NULL)
    fail (loader, QL_CONFIG_ERROR_MISSING, group, NULL, "key 'path' is missing");
  else
    resolved = resolve_path (loader, path);

  /* Unlike govmm's zero values, a QMP socket is a listening server that
   * does not block QEMU's start unless the file says otherwise. */
  server = get_bool (loader, kf, group, "server", TRUE);
  no_wait = get_bool (loader, kf, group, "no-wait", server);
  /* As for devices: a broken socket is reported once, not validated too. */
  if (loader->errors->len == errors_before)
    ql_vm_config_add_qmp_socket (vm, name, resolved, server, no_wait);
}

static void
load_device_group (Loader     *loader,
                   GKeyFile   *kf,
                   const char *group,
                   const char *label,
                   QlRegistry *registry,
                   QlVmConfig *vm)
{
  g_auto(GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  g_autofree char *type = g_key_file_get_string (kf, group, "type", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) device = NULL;

  if (type == NULL)
    {
      g_auto(GStrv) types = ql_registry_list_device_types (registry);
      g_autofree char *list = g_strjoinv (", ", types);

      fail (loader, QL_CONFIG_ERROR_MISSING, group, NULL,
            "key 'type' is missing; known device types: %s", list);
      return;
    }
  device = ql_registry_create_device (registry, type, label, &error);
  if (device == NULL)
    {
      fail (loader, error->code, group, "type", "%s", error->message);
      return;
    }
  ql_device_set_source_line (device, line_of (loader, group, NULL));

  for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
    {
      g_autofree char *value = NULL;
      GParamSpec *pspec;

      if (g_str_equal (keys[k], "type"))
        continue;
      value = g_key_file_get_string (kf, group, keys[k], &error);
      if (value == NULL)
        {
          fail (loader, QL_CONFIG_ERROR_PARSE, group, keys[k], "%s", error->message);
          g_clear_error (&error);
          continue;
        }
      pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (device), keys[k]);
      if (pspec == NULL)
        {
          g_autofree GParamSpec **pspecs = NULL;
          g_autoptr(GPtrArray) names = g_ptr_array_new ();
          const char *close;
          guint n = 0;

          /* Let the device name the property and suggest a close one. */
          ql_device_set_property_from_string (device, keys[k], value, &error);
          fail_device (loader, error, group, keys[k]);
          g_clear_error (&error);

          /* "fiel" meant "file": do not also report file as missing. */
          pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n);
          for (guint i = 0; i < n; i++)
            g_ptr_array_add (names, (gpointer) pspecs[i]->name);
          g_ptr_array_add (names, NULL);
          close = ql_closest_word (keys[k], (const char * const *) names->pdata);
          if (close != NULL)
            g_ptr_array_add (loader->failed_properties,
                             g_strdup_printf ("device '%s': property '%s'", ql_device_get_id (device), close));
          continue;
        }
      if (!set_from_key_file (loader, G_OBJECT (device), pspec, value, &error))
        {
          g_ptr_array_add (loader->failed_properties,
                           g_strdup_printf ("device '%s': property '%s'", ql_device_get_id (device), keys[k]));
          fail_device (loader, error, group, keys[k]);
          g_clear_error (&error);
        }
    }
  ql_vm_config_add_device (vm, device);
}

static void
load_group (Loader     *loader,
            GKeyFile   *kf,
            const char *group,
            QlRegistry *registry,
            QlVmConfig *vm)
{
  const char *space = strchr (group, ' ');
  g_autofree char *kind = space != NULL ? g_strndup (group, space - group) : g_strdup (group);
  const char *label = space != NULL ? space + 1 : NULL;

  if (label == NULL && g_strv_contains (fixed_groups, group))
    load_fixed_group (loader, kf, group, vm);
  else if (label != NULL && *label != '\0' && g_str_equal (kind, "qmp"))
    load_qmp_group (loader, kf, group, label, vm);
  else if (label != NULL && *label != '\0' && g_str_equal (kind, "iothread"))
    {
      g_auto(GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);

      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        fail (loader, QL_CONFIG_ERROR_UNKNOWN_KEY, group, keys[k],
              "unknown key; an [iothread ID] group has no keys");
      ql_vm_config_add_iothread (vm, label);
    }
  else if (label != NULL && *label != '\0' && g_str_equal (kind, "device"))
    load_device_group (loader, kf, group, label, registry, vm);
  else if (g_str_equal (kind, "qmp") || g_str_equal (kind, "iothread") || g_str_equal (kind, "device"))
    fail (loader, QL_CONFIG_ERROR_UNKNOWN_GROUP, group, NULL,
          "this group needs a label: [%s NAME]", kind);
  else
    {
      const char *close = ql_closest_word (kind, group_kinds);
      gboolean labelled = close != NULL && !g_strv_contains (fixed_groups, close);

      if (close != NULL && labelled)
        fail (loader, QL_CONFIG_ERROR_UNKNOWN_GROUP, group, NULL,
              "unknown group; did you mean [%s %s]?", close, label != NULL ? label : "LABEL");
      else if (close != NULL)
        fail (loader, QL_CONFIG_ERROR_UNKNOWN_GROUP, group, NULL,
              "unknown group; did you mean [%s]?", close);
      else
        fail (loader, QL_CONFIG_ERROR_UNKNOWN_GROUP, group, NULL,
              "unknown group; known: [vm], [machine], [smp], [memory], [kernel], [knobs], [rtc], [incoming], [firmware], [qemu], "
              "[qmp NAME], [iothread ID], [device LABEL]");
    }
}

static gboolean
starts_with_any (const char *message,
                 GHashTable *prefixes)
{
  GHashTableIter iter;
  gpointer prefix;

  g_hash_table_iter_init (&iter, prefixes);
  while (g_hash_table_iter_next (&iter, &prefix, NULL))
    if (g_str_has_prefix (message, prefix))
      return TRUE;
  return FALSE;
}

static gboolean
is_about_failed_property (const char *message,
                          GPtrArray  *failed_properties)
{
  for (guint i = 0; i < failed_properties->len; i++)
    if (g_str_has_prefix (message, g_ptr_array_index (failed_properties, i)))
      return TRUE;
  return FALSE;
}

static QlVmConfig *load_vm_data (const char  *data,
                                 gssize       length,
                                 const char  *source_name,
                                 const char  *base_dir,
                                 const char  *file_path,
                                 QlRegistry  *registry,
                                 GError     **error);

/**
 * ql_vm_config_new_from_data:
 * @data: the VM file's text
 * @length: length of @data, or -1 if it is nul-terminated
 * @source_name: (nullable): the name messages use for the file
 * @base_dir: (nullable): directory relative paths resolve against
 * @registry: the registry that provides device types
 * @error: return location for an error
 *
 * Loads a VM file from memory. Every error is
 * gathered: one comes as is, several as one %QL_CONFIG_ERROR_MULTIPLE error
 * listing each on its own line as `SOURCE:LINE: [group] key: message`.
 * When the file has such errors, the whole-VM rules of ql_vm_config_validate()
 * are also checked on what did load (without host checks) and their errors
 * listed too, so that one run shows every mistake; a file without errors is
 * not validated here: see ql_vm_config_validate().
 *
 * Returns: (transfer full): the configuration, or %NULL
 */
QlVmConfig *
ql_vm_config_new_from_data (const char  *data,
                            gssize       length,
                            const char  *source_name,
                            const char  *base_dir,
                            QlRegistry  *registry,
                            GError     **error)
{
  return load_vm_data (data, length, source_name, base_dir, NULL, registry, error);
}

/* ql_vm_config_new_from_data(); @file_path: the absolute path of the VM
 * file, when the text is one (ql_vm_config_build_state_path()). */
static QlVmConfig *
load_vm_data (const char  *data,
              gssize       length,
              const char  *source_name,
              const char  *base_dir,
              const char  *file_path,
              QlRegistry  *registry,
              GError     **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(GPtrArray) errors = ql_error_list_new ();
  g_autoptr(GHashTable) lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) failed_groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) failed_properties = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) parse_error = NULL;
  g_auto(GStrv) groups = NULL;
  Loader loader = { 0 };

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (QL_IS_REGISTRY (registry), NULL);

  if (length < 0)
    length = strlen (data);
  if (source_name == NULL)
    source_name = "(VM file)";

  loader.source = source_name;
  loader.base_dir = base_dir;
  loader.lines = lines;
  loader.errors = errors;
  loader.failed_groups = failed_groups;
  loader.failed_properties = failed_properties;

  if (memchr (data, '\0', length) != NULL || !g_utf8_validate (data, length, NULL))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "%s: not a text file (NUL byte or invalid UTF-8)", source_name);
      return NULL;
    }
  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, &parse_error))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE, "%s: %s",
                   source_name, parse_error->message);
      return NULL;
    }
  g_key_file_set_list_separator (kf, ';');

  scan_lines (&loader, data, length);
  ql_vm_config_set_source (vm, source_name);
  ql_vm_config_set_source_text (vm, data, length, base_dir, registry);
  ql_vm_config_set_file_path (vm, file_path);

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    load_group (&loader, kf, groups[i], registry, vm);

  if (errors->len > 0)
    {
      g_autoptr(GError) validation = NULL;

      /* List the whole-VM errors of what did load too (without host
       * checks), so one run shows every mistake in the file. */
      ql_vm_config_set_host_probe (vm, NULL);
      if (!ql_vm_config_validate (vm, &validation))
        {
          g_auto(GStrv) messages = g_strsplit (validation->message, "\n", -1);

          for (guint i = 0; messages[i] != NULL; i++)
            {
              /* "[memory] size: missing" after "size = 12Q" is the same
               * mistake: leave out rules about a key that was bad. */
              if (starts_with_any (messages[i], failed_groups))
                continue;
              /* Nor rules about a device property whose value was bad. */
              if (is_about_failed_property (messages[i], failed_properties))
                continue;
              guint line = ql_vm_config_get_message_line (vm, messages[i]);

              if (line > 0)
                ql_error_list_add (errors, g_error_new (QL_CONFIG_ERROR, validation->code, "%s:%u: %s",
                                                        source_name, line, messages[i]));
              else
                ql_error_list_add (errors, g_error_new (QL_CONFIG_ERROR, validation->code, "%s: %s",
                                                        source_name, messages[i]));
            }
        }
      ql_error_list_propagate (errors, error);
      return NULL;
    }
  return g_steal_pointer (&vm);
}

/**
 * ql_vm_config_new_from_file:
 * @path: a VM file
 * @registry: the registry that provides device types
 * @error: return location for an error
 *
 * Loads a VM file; relative paths in it resolve against its directory.
 * See ql_vm_config_new_from_data().
 *
 * Returns: (transfer full): the configuration, or %NULL
 */
QlVmConfig *
ql_vm_config_new_from_file (const char  *path,
                            QlRegistry  *registry,
                            GError     **error)
{
  g_autofree char *data = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *absolute = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;
  absolute = g_canonicalize_filename (path, NULL);
  dir = g_path_get_dirname (absolute);
  return load_vm_data (data, length, path, dir, absolute, registry, error);
}
