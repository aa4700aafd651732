/* qlaunch CLI — `qlaunch check`: validate a VM and list every error. */
#include "cli-common.h"

int
ql_cli_check (const QlCliGlobals *globals,
              int                 argc,
              char              **argv)
{
  g_auto(GStrv) specs = NULL;
  gboolean no_host_checks = FALSE;
  g_autofree char *qemu_version = NULL;
  GOptionEntry entries[] = {
    { "no-host-checks", 0, 0, G_OPTION_ARG_NONE, &no_host_checks,
      "Skip checks of this host (device nodes, files, fds, the QEMU binary's capabilities)", NULL },
    { "qemu-version", 0, 0, G_OPTION_ARG_STRING, &qemu_version,
      "Check for QEMU X.Y's forms instead of probing the binary", "X.Y" },
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs, "Add a device: TYPE,key=value,...", "SPEC" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("VMFILE - validate a VM and list every error");
  g_auto(QlCliQemuOptions) qemu = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  ql_cli_add_qemu_entries (context, &qemu);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc != 2)
    return ql_cli_usage_error (context, "check needs exactly one VMFILE");

  registry = ql_cli_registry_new (globals);
  vm = ql_cli_load_vm (registry, argv[1], specs, &qemu, !no_host_checks, &error);
  if (vm != NULL)
    cmdline = ql_cli_build_for_qemu (vm, qemu_version, !no_host_checks, &error);
  if (cmdline == NULL)
    {
      ql_cli_print_vm_error (argv[1], vm, error);
      return QL_EXIT_FAILURE;
    }
  {
    guint n_devices = ql_vm_config_get_devices (vm)->len;
    guint n_options = ql_cmdline_get_n_options (cmdline);

    g_print ("%s: valid (%u %s, %u QEMU %s)\n", argv[1],
             n_devices, n_devices == 1 ? "device" : "devices",
             n_options, n_options == 1 ? "option" : "options");
  }
  return QL_EXIT_OK;
}
