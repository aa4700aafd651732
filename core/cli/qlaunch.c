/* qlaunch CLI — entry point: global options, then one command. */
#include "cli-common.h"

#include <string.h>

static const char usage[] =
  "Usage: qlaunch [--plugin-dir DIR]... COMMAND [OPTIONS] ...\n"
  "\n"
  "Commands:\n"
  "  args    [--format shell|lines|json] [--no-host-checks] [--qemu-version X.Y]\n"
  "          [-d SPEC]... VMFILE\n"
  "          print the QEMU command line, run nothing\n"
  "  check   [--no-host-checks] [--qemu-version X.Y] [-d SPEC]... VMFILE\n"
  "          validate the VM against this host and its QEMU; list every error\n"
  "  run     [--grace-period MS] [-d SPEC]... VMFILE\n"
  "          launch QEMU on the terminal and wait; exit with QEMU's status\n"
  "  caps    [--format text|json] [--all-properties] [--device TYPE] [--refresh]\n"
  "          [--no-cache] [QEMU]\n"
  "          print what a QEMU binary offers (probed once, then cached)\n"
  "  inspect [TYPE]\n"
  "          list plugins and device types, or a type's properties\n"
  "  qmp     [--timeout MS] SOCKET COMMAND [JSON-ARGUMENTS]\n"
  "          run a QMP command on a running QEMU, print its return value as JSON\n"
  "  qmp     [--timeout MS] SOCKET --events\n"
  "          print QEMU's events, one JSON line each, until SIGINT/SIGTERM\n"
  "  hotplug [--timeout MS] [--dry-run] [--vm VMFILE] SOCKET -d SPEC...\n"
  "          add devices (SPEC with an id) to a running VM; --dry-run prints the\n"
  "          QMP commands instead\n"
  "  unplug  [--timeout MS] SOCKET ID...\n"
  "          remove devices and wait until the guest released them (default 10 s)\n"
  "  template create [--ready-pattern REGEX] [--timeout SECONDS] [--same-identity] VMFILE DIR\n"
  "          boot VMFILE, wait until ready, save it paused as a template in DIR\n"
  "          (each clone gets a new VM generation ID unless --same-identity)\n"
  "  template clone [--timeout SECONDS] [--keep-disks DIR] [-d SPEC]... [--nic SPEC]... DIR\n"
  "          start a VM from the template in DIR, then as run; --nic: a network\n"
  "          card with a new random MAC unless SPEC sets mac-address\n"
  "\n"
  "Global options:\n"
  "  --plugin-dir DIR   search DIR for plugins first (repeatable)\n"
  "  --no-registry-cache  open every plugin file (default: only those a command\n"
  "                     uses, known from the registry cache; QLAUNCH_REGISTRY_CACHE=0\n"
  "                     does the same)\n"
  "  --version          print the version\n"
  "  -h, --help         print this help; COMMAND --help for a command's options\n"
  "\n"
  "Plugins are searched in the --plugin-dir directories, then QLAUNCH_PLUGIN_PATH\n"
  "(colon-separated), then the installed plugin directory (QLAUNCH_PLUGIN_SYSTEM_PATH\n"
  "replaces it; empty means none).\n"
  "Exit status: 0 success, 1 invalid VM or failure (a QMP error, a device the\n"
  "guest did not release), 2 usage error; run exits with\n"
  "QEMU's status, or 128+N when stopped by signal N.\n";

/* The library's notices (a refused cache, ...), as they happen. */
static void
print_notice (const GError *notice,
              gpointer      user_data)
{
  (void) user_data;
  g_printerr ("qlaunch: warning: %s\n", notice->message);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  QlCliGlobals globals = { NULL };
  int i;

  /* Messages in the user's character set, loaded when needed
   * (cli-output.c). Every other locale category stays "C": qlaunch speaks
   * English, the system's error texts included, and formats no numbers,
   * dates or money for people. */
  ql_cli_output_init ();
  ql_cli_load_locale_for_args (argc, argv);
  ql_set_notice_func (print_notice, NULL);

  for (i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      const char *dir = NULL;

      if (g_str_equal (arg, "--plugin-dir"))
        {
          if (i + 1 >= argc)
            {
              g_printerr ("qlaunch: --plugin-dir needs a directory\n\n%s", usage);
              return QL_EXIT_USAGE;
            }
          dir = argv[++i];
        }
      else if (g_str_has_prefix (arg, "--plugin-dir="))
        dir = arg + strlen ("--plugin-dir=");
      if (dir != NULL)
        {
          /* Made absolute later, an empty directory would be the current
           * one: plugins are never loaded from wherever qlaunch runs. */
          if (dir[0] == '\0')
            {
              g_printerr ("qlaunch: --plugin-dir: the directory is empty\n\n%s", usage);
              return QL_EXIT_USAGE;
            }
          g_ptr_array_add (dirs, g_strdup (dir));
        }
      else if (g_str_equal (arg, "--no-registry-cache"))
        globals.no_registry_cache = TRUE;
      else if (g_str_equal (arg, "--version"))
        {
          g_print ("qlaunch %s (plugin ABI %d.%d)\n", QL_VERSION, QL_PLUGIN_ABI_MAJOR, QL_PLUGIN_ABI_MINOR);
          return QL_EXIT_OK;
        }
      else if (g_str_equal (arg, "--help") || g_str_equal (arg, "-h"))
        {
          g_print ("%s", usage);
          return QL_EXIT_OK;
        }
      else if (arg[0] == '-')
        {
          g_printerr ("qlaunch: unknown option '%s'\n\n%s", arg, usage);
          return QL_EXIT_USAGE;
        }
      else
        break;
    }
  g_ptr_array_add (dirs, NULL);
  globals.plugin_dirs = (char **) dirs->pdata;

  if (i >= argc)
    {
      g_printerr ("qlaunch: no command given\n\n%s", usage);
      return QL_EXIT_USAGE;
    }

  /* The command sees argv from its own name on, as GOptionContext expects. */
  if (g_str_equal (argv[i], "args"))
    return ql_cli_args (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "caps"))
    return ql_cli_caps (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "check"))
    return ql_cli_check (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "run"))
    return ql_cli_run (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "inspect"))
    return ql_cli_inspect (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "qmp"))
    return ql_cli_qmp (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "hotplug"))
    return ql_cli_hotplug (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "unplug"))
    return ql_cli_unplug (&globals, argc - i, argv + i);
  if (g_str_equal (argv[i], "template"))
    return ql_cli_template (&globals, argc - i, argv + i);

  g_printerr ("qlaunch: unknown command '%s'\n\n%s", argv[i], usage);
  return QL_EXIT_USAGE;
}
