/* qlaunch CLI — `qlaunch inspect`: plugins, device types, properties. */
#include "cli-common.h"

#include <string.h>

static void
list_all (QlRegistry *registry)
{
  GPtrArray *plugins = ql_registry_get_plugins (registry);
  g_auto(GStrv) types = ql_registry_list_device_types (registry);

  /* Opening the plugins the registry cache vouched for can fail now. */
  ql_cli_print_load_errors (registry);

  int name_width = 12;
  int type_width = 18;

  /* Columns as wide as the longest name (at least the usual width). */
  for (guint i = 0; i < plugins->len; i++)
    name_width = MAX (name_width, (int) strlen (ql_plugin_get_name (g_ptr_array_index (plugins, i))));
  for (guint i = 0; types[i] != NULL; i++)
    type_width = MAX (type_width, (int) strlen (types[i]));

  g_print ("Plugins:\n");
  for (guint i = 0; i < plugins->len; i++)
    {
      QlPlugin *plugin = g_ptr_array_index (plugins, i);
      g_auto(GStrv) devices = ql_plugin_get_device_types (plugin);
      g_autofree char *list = g_strjoinv (", ", devices);

      g_print ("  %-*s %s (version %s, %s)\n", name_width, ql_plugin_get_name (plugin),
               ql_plugin_get_description (plugin), ql_plugin_get_version (plugin),
               ql_plugin_get_license (plugin));
      g_print ("  %-*s file: %s\n", name_width, "", ql_plugin_get_filename (plugin));
      g_print ("  %-*s device types: %s\n", name_width, "", list);
    }
  g_print ("\nDevice types:\n");
  for (guint i = 0; types[i] != NULL; i++)
    {
      QlPlugin *plugin = ql_registry_get_device_plugin (registry, types[i]);

      g_print ("  %-*s (plugin %s)\n", type_width, types[i],
               plugin != NULL ? ql_plugin_get_name (plugin) : "built in");
    }
  g_print ("\n%u plugins, %u device types. 'qlaunch inspect TYPE' lists a type's properties.\n",
           plugins->len, g_strv_length (types));
}

static int
show_type (QlRegistry *registry,
           const char *type_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) device = ql_registry_create_device (registry, type_name, NULL, &error);
  g_autofree GParamSpec **pspecs = NULL;
  QlPlugin *plugin;
  guint n = 0;

  if (device == NULL)
    {
      ql_cli_print_error (NULL, error);
      return QL_EXIT_FAILURE;
    }
  plugin = ql_registry_get_device_plugin (registry, type_name);
  g_print ("Device type %s (GType %s, plugin %s)\n\nProperties:\n", type_name,
           G_OBJECT_TYPE_NAME (device), plugin != NULL ? ql_plugin_get_name (plugin) : "built in");

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n);
  for (guint i = 0; i < n; i++)
    {
      GParamSpec *pspec = pspecs[i];
      g_autofree char *type = ql_param_describe_type (pspec);
      g_autofree char *def = NULL;
      const GValue *default_value = g_param_spec_get_default_value (pspec);

      if (!(pspec->flags & G_PARAM_WRITABLE))
        continue;
      def = ql_param_value_to_string (pspec, default_value);
      g_print ("  %s\n", pspec->name);
      g_print ("      %s\n", g_param_spec_get_blurb (pspec));
      g_print ("      type: %s\n", type);
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
