/* qlaunch CLI — `qlaunch inspect`: plugins, device types, properties.
 * Both print from descriptions (ql_registry_list_plugin_infos(),
 * ql_registry_describe_device_type()) that the registry cache holds: with
 * a warm cache no plugin file is opened, and the output is the same
 * without one. */
#include "cli-common.h"

#include <string.h>

static void
list_all (QlRegistry *registry)
{
  g_autoptr(GPtrArray) plugins = ql_registry_list_plugin_infos (registry);
  g_auto(GStrv) types = ql_registry_list_device_types (registry);
  g_autoptr(GHashTable) type_plugin = g_hash_table_new (g_str_hash, g_str_equal);

  /* Plugins the cache vouched for that clash were opened now, and can
   * fail. */
  ql_cli_print_load_errors (registry);

  int name_width = 12;
  int type_width = 18;

  /* Columns as wide as the longest name (at least the usual width). */
  for (guint i = 0; i < plugins->len; i++)
    {
      QlPluginInfo *plugin = g_ptr_array_index (plugins, i);
      const char * const *devices = ql_plugin_info_get_device_types (plugin);

      name_width = MAX (name_width, (int) strlen (ql_plugin_info_get_name (plugin)));
      for (guint k = 0; devices[k] != NULL; k++)
        g_hash_table_insert (type_plugin, (gpointer) devices[k], (gpointer) ql_plugin_info_get_name (plugin));
    }
  for (guint i = 0; types[i] != NULL; i++)
    type_width = MAX (type_width, (int) strlen (types[i]));

  g_print ("Plugins:\n");
  for (guint i = 0; i < plugins->len; i++)
    {
      QlPluginInfo *plugin = g_ptr_array_index (plugins, i);
      g_autofree char *list = g_strjoinv (", ", (char **) ql_plugin_info_get_device_types (plugin));

      g_print ("  %-*s %s (version %s, %s)\n", name_width, ql_plugin_info_get_name (plugin),
               ql_plugin_info_get_description (plugin), ql_plugin_info_get_version (plugin),
               ql_plugin_info_get_license (plugin));
      g_print ("  %-*s file: %s\n", name_width, "", ql_plugin_info_get_filename (plugin));
      g_print ("  %-*s device types: %s\n", name_width, "", list);
    }
  g_print ("\nDevice types:\n");
  for (guint i = 0; types[i] != NULL; i++)
    {
      const char *plugin = g_hash_table_lookup (type_plugin, types[i]);

      g_print ("  %-*s (plugin %s)\n", type_width, types[i], plugin != NULL ? plugin : "built in");
    }
  g_print ("\n%u plugins, %u device types. 'qlaunch inspect TYPE' lists a type's properties.\n",
           plugins->len, g_strv_length (types));
}

static int
show_type (QlRegistry *registry,
           const char *type_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDeviceTypeInfo) info = ql_registry_describe_device_type (registry, type_name, &error);
  GPtrArray *properties;
  const char *plugin;

  if (info == NULL)
    {
      ql_cli_print_error (NULL, error);
      return QL_EXIT_FAILURE;
    }
  plugin = ql_device_type_info_get_plugin (info);
  g_print ("Device type %s (GType %s, plugin %s)\n\nProperties:\n", type_name,
           ql_device_type_info_get_gtype_name (info), plugin != NULL ? plugin : "built in");

  properties = ql_device_type_info_get_properties (info);
  for (guint i = 0; i < properties->len; i++)
    {
      QlPropertyInfo *property = g_ptr_array_index (properties, i);
      const char *def = ql_property_info_get_default_text (property);

      if (!(ql_property_info_get_flags (property) & G_PARAM_WRITABLE))
        continue;
      g_print ("  %s\n", ql_property_info_get_name (property));
      g_print ("      %s\n", ql_property_info_get_blurb (property));
      g_print ("      type: %s\n", ql_property_info_get_type_description (property));
      g_print ("      default: %s\n", def != NULL && *def != '\0' ? def : "(none)");
    }
  return QL_EXIT_OK;
}

int
ql_cli_inspect (const QlCliGlobals *globals,
                int                 argc,
                char              **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("[TYPE] - list plugins and device types, or a type's properties");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc > 2)
    return ql_cli_usage_error (context, "inspect takes at most one TYPE");

  registry = ql_cli_registry_new (globals);
  if (argc == 2)
    return show_type (registry, argv[1]);
  list_all (registry);
  return QL_EXIT_OK;
}
