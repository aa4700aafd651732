/* qlaunch CLI — `qlaunch args`: print the argv, run nothing. */
#include "cli-common.h"

#include <json-glib/json-glib.h>
#include <string.h>

static gboolean
needs_quoting (const char *arg)
{
  if (*arg == '\0')
    return TRUE;
  for (const char *p = arg; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_@%+=:,./-", *p) == NULL)
      return TRUE;
  return FALSE;
}

static void
print_shell (char **argv)
{
  g_autoptr(GString) line = g_string_new (NULL);

  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *quoted = needs_quoting (argv[i]) ? g_shell_quote (argv[i]) : g_strdup (argv[i]);

      if (i > 0)
        g_string_append_c (line, ' ');
      g_string_append (line, quoted);
    }
  g_print ("%s\n", line->str);
}

static void
print_json (char **argv)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_array (builder);
  for (guint i = 0; argv[i] != NULL; i++)
    json_builder_add_string_value (builder, argv[i]);
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

int
ql_cli_args (const QlCliGlobals *globals,
             int                 argc,
             char              **argv)
{
  g_autofree char *format = NULL;
  g_auto(GStrv) specs = NULL;
  gboolean no_host_checks = FALSE;
  g_autofree char *qemu_version = NULL;
  GOptionEntry entries[] = {
    { "qemu-version", 0, 0, G_OPTION_ARG_STRING, &qemu_version,
      "Write the forms of QEMU X.Y (no probing, no check against a binary)", "X.Y" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output: shell (default), lines or json", "FORMAT" },
    { "no-host-checks", 0, 0, G_OPTION_ARG_NONE, &no_host_checks,
      "Skip checks of this host (device nodes, files, fds): build argv for another host", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs, "Add a device: TYPE,key=value,...", "SPEC" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("VMFILE - print the QEMU command line of a VM");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_auto(GStrv) qemu_argv = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc != 2)
    return ql_cli_usage_error (context, "args needs exactly one VMFILE");
  if (format == NULL)
    format = g_strdup ("shell");
  if (!g_str_equal (format, "shell") && !g_str_equal (format, "lines") && !g_str_equal (format, "json"))
    return ql_cli_usage_error (context, "--format must be shell, lines or json");

  registry = ql_cli_registry_new (globals);
  vm = ql_cli_load_vm (registry, argv[1], specs, !no_host_checks, &error);
  if (vm != NULL)
    cmdline = ql_cli_build_for_qemu (vm, qemu_version, !no_host_checks, &error);
  if (cmdline != NULL)
    qemu_argv = ql_cmdline_to_argv (cmdline, &error);
  if (qemu_argv == NULL)
    {
      ql_cli_print_error (argv[1], error);
      return QL_EXIT_FAILURE;
    }

  if (g_str_equal (format, "json"))
    print_json (qemu_argv);
  else if (g_str_equal (format, "lines"))
    for (guint i = 0; qemu_argv[i] != NULL; i++)
      g_print ("%s\n", qemu_argv[i]);
  else
    print_shell (qemu_argv);
  return QL_EXIT_OK;
}
