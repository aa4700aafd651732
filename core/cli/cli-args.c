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

static char *
shell_join (char **argv)
{
  GString *line = g_string_new (NULL);

  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *quoted = needs_quoting (argv[i]) ? g_shell_quote (argv[i]) : g_strdup (argv[i]);

      if (i > 0)
        g_string_append_c (line, ' ');
      g_string_append (line, quoted);
    }
  return g_string_free (line, FALSE);
}

/* What the helpers say in shell form: the runtime directory, then each
 * helper started in the background, in order; QEMU's line comes last. */
static void
print_shell_helpers (QlCmdline *cmdline)
{
  g_autofree char *dir = NULL;

  if (ql_cmdline_get_n_helpers (cmdline) == 0)
    return;
  dir = g_shell_quote (ql_cmdline_get_runtime_dir (cmdline));
  ql_cli_print_data ("# helper processes: start each, and QEMU once they listen on their sockets\n");
  ql_cli_print_data ("mkdir -p -m 0700 %s\n", dir);
  for (guint i = 0; i < ql_cmdline_get_n_helpers (cmdline); i++)
    {
      QlHelper *helper = ql_cmdline_get_helper (cmdline, i);
      g_auto(GStrv) env = ql_helper_get_environ (helper);
      g_auto(GStrv) helper_argv = ql_helper_get_argv (helper);
      g_auto(GStrv) read_only = ql_helper_get_read_only_paths (helper);
      g_auto(GStrv) state_dirs = ql_helper_get_state_dirs (helper);
      g_autofree char *env_text = env[0] != NULL ? shell_join (env) : NULL;
      g_autofree char *line = shell_join (helper_argv);

      GArray *fds = ql_helper_get_fds (helper);
      const char *activated = ql_helper_get_listen_socket (helper, 3);
      g_autofree char *quoted_socket = NULL;

      ql_cli_print_data ("# device '%s': %s", ql_helper_get_device_id (helper), ql_helper_get_name (helper));
      if (ql_helper_get_socket (helper) != NULL)
        ql_cli_print_data (", listens on %s", ql_helper_get_socket (helper));
      for (guint k = 0; read_only[k] != NULL; k++)
        ql_cli_print_data ("%s%s", k == 0 ? "; run it where this is a read-only bind mount: " : ", ", read_only[k]);
      for (guint k = 0; k < fds->len; k++)
        if (g_array_index (fds, int, k) >= 0)
          ql_cli_print_data ("; its descriptor %u is our %d", 3 + k, g_array_index (fds, int, k));
      ql_cli_print_data ("\n");
      /* The VM's state: qlaunch creates it 0700 (and refuses one that
       * others can write to). */
      for (guint k = 0; state_dirs[k] != NULL; k++)
        {
          g_autofree char *quoted = g_shell_quote (state_dirs[k]);

          ql_cli_print_data ("mkdir -p -m 0700 %s\n", quoted);
        }
      /* A socket qlaunch would make and pass as descriptor 3: by hand,
       * systemd-socket-activate does the same. */
      if (activated != NULL && fds->len == 1)
        {
          quoted_socket = needs_quoting (activated) ? g_shell_quote (activated) : g_strdup (activated);
          ql_cli_print_data ("systemd-socket-activate -l %s ", quoted_socket);
        }
      ql_cli_print_data ("%s%s%s &\n", env_text != NULL ? env_text : "", env_text != NULL ? " " : "", line);
    }
}

static void
add_strv (JsonBuilder  *builder,
          char        **strv)
{
  json_builder_begin_array (builder);
  for (guint i = 0; strv[i] != NULL; i++)
    json_builder_add_string_value (builder, strv[i]);
  json_builder_end_array (builder);
}

/* A VM without helpers: QEMU's argv as an array (as always). With
 * helpers, an object, so that a program that only knows the array cannot
 * start QEMU without them by mistake:
 * {"qemu": [...], "runtime-dir": DIR, "helpers": [{"device", "name",
 *  "argv", "env", "socket", "fds", "listen-sockets", "read-only-paths",
 *  "state-dirs"},
 *  ...]}: "fds" are our descriptors the helper gets (as 3, 4, ...),
 * "listen-sockets" [{"fd": N, "path": P}] the sockets qlaunch makes
 * listening at P and hands over as descriptor N. */
static void
print_json (QlCmdline  *cmdline,
            char      **argv)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  guint n_helpers = ql_cmdline_get_n_helpers (cmdline);

  if (n_helpers > 0)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "qemu");
    }
  add_strv (builder, argv);
  if (n_helpers > 0)
    {
      json_builder_set_member_name (builder, "runtime-dir");
      json_builder_add_string_value (builder, ql_cmdline_get_runtime_dir (cmdline));
      json_builder_set_member_name (builder, "helpers");
      json_builder_begin_array (builder);
      for (guint i = 0; i < n_helpers; i++)
        {
          QlHelper *helper = ql_cmdline_get_helper (cmdline, i);
          g_auto(GStrv) helper_argv = ql_helper_get_argv (helper);
          g_auto(GStrv) env = ql_helper_get_environ (helper);
          g_auto(GStrv) read_only = ql_helper_get_read_only_paths (helper);
          g_auto(GStrv) state_dirs = ql_helper_get_state_dirs (helper);
          GArray *fds = ql_helper_get_fds (helper);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "device");
          json_builder_add_string_value (builder, ql_helper_get_device_id (helper));
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, ql_helper_get_name (helper));
          json_builder_set_member_name (builder, "argv");
          add_strv (builder, helper_argv);
          json_builder_set_member_name (builder, "env");
          json_builder_begin_object (builder);
          for (guint k = 0; env[k] != NULL; k++)
            {
              g_autofree char *name = g_strndup (env[k], (gsize) (strchr (env[k], '=') - env[k]));

              json_builder_set_member_name (builder, name);
              json_builder_add_string_value (builder, strchr (env[k], '=') + 1);
            }
          json_builder_end_object (builder);
          json_builder_set_member_name (builder, "socket");
          if (ql_helper_get_socket (helper) != NULL)
            json_builder_add_string_value (builder, ql_helper_get_socket (helper));
          else
            json_builder_add_null_value (builder);
          json_builder_set_member_name (builder, "fds");
          json_builder_begin_array (builder);
          for (guint k = 0; k < fds->len; k++)
            if (g_array_index (fds, int, k) >= 0)
              json_builder_add_int_value (builder, g_array_index (fds, int, k));
          json_builder_end_array (builder);
          json_builder_set_member_name (builder, "listen-sockets");
          json_builder_begin_array (builder);
          for (guint k = 0; k < fds->len; k++)
            if (ql_helper_get_listen_socket (helper, 3 + (int) k) != NULL)
              {
                json_builder_begin_object (builder);
                json_builder_set_member_name (builder, "fd");
                json_builder_add_int_value (builder, 3 + (int) k);
                json_builder_set_member_name (builder, "path");
                json_builder_add_string_value (builder, ql_helper_get_listen_socket (helper, 3 + (int) k));
                json_builder_end_object (builder);
              }
          json_builder_end_array (builder);
          json_builder_set_member_name (builder, "read-only-paths");
          add_strv (builder, read_only);
          json_builder_set_member_name (builder, "state-dirs");
          add_strv (builder, state_dirs);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  ql_cli_print_data ("%s\n", text);
}

/* On stderr: what the argv alone does not tell. */
static void
print_notes (QlCmdline  *cmdline,
             const char *format)
{
  const char *shared_for = ql_cmdline_get_shared_memory_reason (cmdline);
  QlOption *backend = ql_cmdline_find_option (cmdline, "-object", "dimm1");

  if (shared_for != NULL && backend != NULL
      && g_strcmp0 (ql_option_get_head (backend), "memory-backend-memfd") == 0)
    g_printerr ("qlaunch: note: guest RAM is memory-backend-memfd with share=on: %s maps it from another process\n",
                shared_for);
  if (g_str_equal (format, "lines"))
    for (guint i = 0; i < ql_cmdline_get_n_helpers (cmdline); i++)
      {
        QlHelper *helper = ql_cmdline_get_helper (cmdline, i);

        g_printerr ("qlaunch: note: device '%s' needs its helper %s running before QEMU starts "
                    "(--format shell or json lists it)\n",
                    ql_helper_get_device_id (helper), ql_helper_get_name (helper));
      }
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
  g_autofree char *runtime_dir = NULL;
  GOptionEntry entries[] = {
    { "runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &runtime_dir,
      "Put the helpers' sockets in DIR (default: a directory per VM under $XDG_RUNTIME_DIR/qlaunch or /run/qlaunch)", "DIR" },
    { "qemu-version", 0, 0, G_OPTION_ARG_STRING, &qemu_version,
      "Write the forms of QEMU X.Y (no probing, no check against a binary)", "X.Y" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output: shell (default), lines or json", "FORMAT" },
    { "no-host-checks", 0, 0, G_OPTION_ARG_NONE, &no_host_checks,
      "Skip checks of this host (device nodes, files, fds): build argv for another host", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs, "Add a device: TYPE,key=value,...", "SPEC" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("VMFILE - print the QEMU command line of a VM");
  g_auto(QlCliQemuOptions) qemu = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_auto(GStrv) qemu_argv = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  ql_cli_add_qemu_entries (context, &qemu);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc != 2)
    return ql_cli_usage_error (context, "args needs exactly one VMFILE");
  if (format == NULL)
    format = g_strdup ("shell");
  if (!g_str_equal (format, "shell") && !g_str_equal (format, "lines") && !g_str_equal (format, "json"))
    return ql_cli_usage_error (context, "--format must be shell, lines or json");

  registry = ql_cli_registry_new (globals);
  vm = ql_cli_load_vm (registry, argv[1], specs, &qemu, !no_host_checks, &error);
  if (vm != NULL && runtime_dir != NULL && !ql_cli_set_runtime_dir (vm, runtime_dir, &error))
    g_clear_object (&vm);
  if (vm != NULL)
    cmdline = ql_cli_build_for_qemu (vm, qemu_version, !no_host_checks, &error);
  if (cmdline != NULL)
    qemu_argv = ql_cmdline_to_argv (cmdline, &error);
  if (qemu_argv == NULL)
    {
      ql_cli_print_vm_error (argv[1], vm, error);
      return QL_EXIT_FAILURE;
    }

  print_notes (cmdline, format);
  if (g_str_equal (format, "json"))
    print_json (cmdline, qemu_argv);
  else if (g_str_equal (format, "lines"))
    for (guint i = 0; qemu_argv[i] != NULL; i++)
      ql_cli_print_data ("%s\n", qemu_argv[i]);
  else
    {
      g_autofree char *line = shell_join (qemu_argv);

      print_shell_helpers (cmdline);
      ql_cli_print_data ("%s\n", line);
    }
  return QL_EXIT_OK;
}
