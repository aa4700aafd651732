/* qlaunch CLI — what every command shares. */
#include "cli-common.h"

QlRegistry *
ql_cli_registry_new (const QlCliGlobals *globals)
{
  QlRegistry *registry = ql_registry_new ();

  /* --plugin-dir names a directory explicitly: a relative one is made
   * absolute once, here, so that nothing later depends on the current
   * directory. */
  for (guint i = 0; globals->plugin_dirs != NULL && globals->plugin_dirs[i] != NULL; i++)
    {
      g_autofree char *dir = g_canonicalize_filename (globals->plugin_dirs[i], NULL);

      ql_registry_add_search_dir (registry, dir);
    }
  ql_registry_add_env_search_dirs (registry);
  if (!globals->no_registry_cache && g_strcmp0 (g_getenv ("QLAUNCH_REGISTRY_CACHE"), "0") != 0)
    {
      g_autofree char *cache = ql_registry_get_default_cache_file ();

      ql_registry_set_cache_file (registry, cache);
    }
  ql_registry_scan (registry);
  ql_cli_print_load_errors (registry);
  return registry;
}

void
ql_cli_print_load_errors (QlRegistry *registry)
{
  GPtrArray *errors = ql_registry_get_load_errors (registry);
  guint printed = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (registry), "ql-cli-errors-printed"));

  /* A broken plugin is skipped; say so and go on with the others. */
  for (guint i = printed; i < errors->len; i++)
    g_printerr ("qlaunch: warning: plugin skipped: %s\n",
                ((GError *) g_ptr_array_index (errors, i))->message);
  g_object_set_data (G_OBJECT (registry), "ql-cli-errors-printed", GUINT_TO_POINTER (errors->len));
}

void
ql_cli_print_vm_error (const char   *prefix,
                       QlVmConfig   *vm,
                       const GError *error)
{
  g_auto(GStrv) lines = g_strsplit (error->message, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint line = 0;

      /* Lines from the VM file start with its name; -d spec errors are
       * not in the file and say so themselves. */
      if (prefix != NULL && !g_str_has_prefix (lines[i], prefix)
          && !g_str_has_prefix (lines[i], "device spec "))
        {
          if (vm != NULL)
            line = ql_vm_config_get_message_line (vm, lines[i]);
          if (line > 0)
            g_printerr ("qlaunch: %s:%u: %s\n", prefix, line, lines[i]);
          else
            g_printerr ("qlaunch: %s: %s\n", prefix, lines[i]);
        }
      else
        g_printerr ("qlaunch: %s\n", lines[i]);
    }
}

void
ql_cli_print_error (const char   *prefix,
                    const GError *error)
{
  ql_cli_print_vm_error (prefix, NULL, error);
}

int
ql_cli_usage_error (GOptionContext *context,
                    const char     *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  g_printerr ("qlaunch: %s\n\n%s", message, help);
  return QL_EXIT_USAGE;
}

void
ql_cli_qemu_options_clear (QlCliQemuOptions *options)
{
  g_clear_pointer (&options->add, g_strfreev);
  g_clear_pointer (&options->remove, g_strfreev);
  g_clear_pointer (&options->set, g_strfreev);
}

void
ql_cli_add_qemu_entries (GOptionContext   *context,
                         QlCliQemuOptions *options)
{
  GOptionEntry entries[] = {
    { "qemu-add", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->add,
      "Add a QEMU option, as on QEMU's command line ([qemu] add); checked against the binary", "OPTION" },
    { "qemu-remove", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->remove,
      "Leave out a QEMU option: NAME or NAME id=ID ([qemu] remove)", "SPEC" },
    { "qemu-set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->set,
      "Set QEMU properties of a device's options: LABEL:key=value,... (its qemu-set)", "LABEL:KEY=VALUE" },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, NULL);
}

QlVmConfig *
ql_cli_load_vm (QlRegistry              *registry,
                const char              *vm_file,
                char                   **device_specs,
                const QlCliQemuOptions  *qemu,
                gboolean                 host_checks,
                GError                 **error)
{
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) messages = g_string_new (NULL);
  guint n_errors = 0;

  vm = ql_vm_config_new_from_file (vm_file, registry, &local_error);
  if (vm == NULL)
    {
      g_string_append (messages, local_error->message);
      n_errors += local_error->code == QL_CONFIG_ERROR_MULTIPLE ? 2 : 1;
      g_clear_error (&local_error);
    }
  else if (!host_checks)
    ql_vm_config_set_host_probe (vm, NULL);

  /* Device specs are checked even when the file has errors: every
   * mistake is reported in one run. */
  for (guint i = 0; device_specs != NULL && device_specs[i] != NULL; i++)
    {
      g_autoptr(QlDevice) device = ql_registry_create_device_from_spec (registry, device_specs[i], &local_error);

      if (device == NULL)
        {
          /* The message names the spec already. */
          g_string_append_printf (messages, "%s%s", n_errors ? "\n" : "", local_error->message);
          n_errors++;
          g_clear_error (&local_error);
        }
      else if (vm != NULL)
        ql_vm_config_add_device (vm, device);
    }
  if (vm != NULL && qemu != NULL
      && !ql_vm_config_apply_qemu_overrides (vm, (const char *const *) qemu->add,
                                             (const char *const *) qemu->remove,
                                             (const char *const *) qemu->set, &local_error))
    {
      g_string_append_printf (messages, "%s%s", n_errors ? "\n" : "", local_error->message);
      n_errors += local_error->code == QL_CONFIG_ERROR_MULTIPLE ? 2 : 1;
      g_clear_error (&local_error);
    }
  if (n_errors > 0)
    {
      g_set_error_literal (error, QL_CONFIG_ERROR,
                           n_errors > 1 ? QL_CONFIG_ERROR_MULTIPLE : QL_CONFIG_ERROR_INVALID_VALUE,
                           messages->str);
      return NULL;
    }
  return g_steal_pointer (&vm);
}

gboolean
ql_cli_set_runtime_dir (QlVmConfig  *vm,
                        const char  *dir,
                        GError     **error)
{
  g_autofree char *absolute = NULL;

  if (*dir == '\0')
    {
      g_set_error_literal (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                           "--runtime-dir: the directory is empty");
      return FALSE;
    }
  absolute = g_canonicalize_filename (dir, NULL);
  ql_vm_config_set_runtime_dir (vm, absolute);
  return TRUE;
}

char *
ql_cli_escape_untrusted (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02X", (guchar) *p);
          p++;
          continue;
        }
      if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02X", c);
      else if (c >= 0x80 && c < 0xa0)
        g_string_append_printf (out, "\\u%04X", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}
