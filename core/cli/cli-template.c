/* qlaunch CLI — `qlaunch template create|clone`. */
#include "cli-common.h"

#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

static gboolean
parse_seconds (const char *text,
               guint      *out_ms)
{
  guint64 value;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT / 1000, &value, NULL))
    return FALSE;
  *out_ms = (guint) value * 1000;
  return TRUE;
}

static int
template_create (const QlCliGlobals *globals,
                 int                 argc,
                 char              **argv)
{
  g_autofree char *pattern = NULL;
  g_autofree char *timeout_text = NULL;
  GOptionEntry entries[] = {
    { "ready-pattern", 0, 0, G_OPTION_ARG_STRING, &pattern,
      "The VM is ready when a console line matches REGEX (default: when the guest opens a "
      "virtio-serial port: QMP VSERPORT_CHANGE)", "REGEX" },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      "Give up after SECONDS (default 120)", "SECONDS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("VMFILE DIR - make a VM template");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlTemplate) template_ = NULL;
  g_autofree char *state = NULL;
  g_autofree char *size_text = NULL;
  guint timeout_ms = 0;
  gint64 start;
  GStatBuf st;

  g_option_context_set_description (context,
    "Boots VMFILE with its memory in DIR/memory, waits until it is ready, pauses it,\n"
    "saves its device state (x-ignore-shared: the RAM stays in the memory file) to\n"
    "DIR/state and stops it. The console (QEMU's standard output) goes to\n"
    "DIR/console.log. DIR must not exist (or be empty); it appears only when the\n"
    "template is complete. Clone it with `qlaunch template clone DIR`.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc != 3)
    return ql_cli_usage_error (context, "template create needs VMFILE and DIR");
  if (!parse_seconds (timeout_text, &timeout_ms))
    return ql_cli_usage_error (context, "--timeout must be a number of seconds");

  registry = ql_cli_registry_new (globals);
  config = ql_cli_load_vm (registry, argv[1], NULL, TRUE, &error);
  if (config == NULL)
    {
      ql_cli_print_error (argv[1], error);
      return QL_EXIT_FAILURE;
    }
  g_printerr ("qlaunch: template: booting %s (ready: %s)\n", argv[1],
              pattern != NULL ? pattern : "VSERPORT_CHANGE open");
  start = g_get_monotonic_time ();
  template_ = ql_template_create (config, argv[2], pattern, timeout_ms, NULL, &error);
  if (template_ == NULL)
    {
      ql_cli_print_error ("template create", error);
      return QL_EXIT_FAILURE;
    }
  state = g_build_filename (ql_template_get_dir (template_), "state", NULL);
  size_text = g_format_size (ql_template_get_memory_size (template_));
  g_printerr ("qlaunch: template %s made in %.1f s: QEMU %s, %s, %s of memory, "
              "device state %" G_GINT64_FORMAT " bytes\n",
              ql_template_get_dir (template_), (g_get_monotonic_time () - start) / 1e6,
              ql_template_get_qemu_version (template_), ql_template_get_machine_type (template_),
              size_text, g_stat (state, &st) == 0 ? (gint64) st.st_size : (gint64) -1);
  return QL_EXIT_OK;
}

typedef struct
{
  QlTemplate *template_;
  GPtrArray *extra;
  guint timeout_ms;
} CloneStart;

static void
start_clone (QlVm               *vm,
             gpointer            data,
             GCancellable       *cancellable,
             GAsyncReadyCallback callback,
             gpointer            user_data)
{
  CloneStart *c = data;

  ql_template_start_clone_async (c->template_, vm, QL_TEMPLATE_CLONE_INHERIT_STDIO, c->extra,
                                 c->timeout_ms, cancellable, callback, user_data);
}

static gboolean
finish_clone (QlVm          *vm,
              gpointer       data,
              GAsyncResult  *result,
              GError       **error)
{
  CloneStart *c = data;

  (void) vm;
  return ql_template_start_clone_finish (c->template_, result, error);
}

static int
template_clone (const QlCliGlobals *globals,
                int                 argc,
                char              **argv)
{
  g_auto(GStrv) specs = NULL;
  g_autofree char *timeout_text = NULL;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs,
      "Hot-plug a device after the clone resumed: TYPE,key=value,...", "SPEC" },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      "Give up loading the clone after SECONDS (default 120)", "SECONDS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("DIR - start a VM from a template");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlTemplate) template_ = NULL;
  g_autoptr(GPtrArray) extra = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(QlVm) vm = NULL;
  CloneStart c = { 0 };

  g_option_context_set_description (context,
    "Checks the template (QEMU binary and version, kernel, initrd, state and memory\n"
    "files) and starts a clone: the template's VM with its memory mapped privately\n"
    "from DIR/memory and its device state loaded from DIR/state, then resumed;\n"
    "-d devices are hot-plugged after that. Then as `qlaunch run`: the console on\n"
    "the terminal, QEMU's exit status.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc != 2)
    return ql_cli_usage_error (context, "template clone needs exactly one DIR");
  if (!parse_seconds (timeout_text, &c.timeout_ms))
    return ql_cli_usage_error (context, "--timeout must be a number of seconds");

  registry = ql_cli_registry_new (globals);
  for (guint i = 0; specs != NULL && specs[i] != NULL; i++)
    {
      QlDevice *device = ql_registry_create_device_from_spec (registry, specs[i], &error);

      if (device == NULL)
        {
          ql_cli_print_error (NULL, error);
          return QL_EXIT_FAILURE;
        }
      g_ptr_array_add (extra, device);
    }
  template_ = ql_template_load (argv[1], registry, &error);
  if (template_ != NULL)
    vm = ql_template_new_clone (template_, &error);
  if (vm == NULL)
    {
      ql_cli_print_error ("template clone", error);
      return QL_EXIT_FAILURE;
    }
  c.template_ = template_;
  c.extra = extra;
  return ql_cli_run_vm (vm, "template clone", start_clone, finish_clone, &c);
}

int
ql_cli_template (const QlCliGlobals *globals,
                 int                 argc,
                 char              **argv)
{
  if (argc >= 2 && strcmp (argv[1], "create") == 0)
    return template_create (globals, argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "clone") == 0)
    return template_clone (globals, argc - 1, argv + 1);
  g_printerr ("qlaunch: template: usage: qlaunch template create [--ready-pattern REGEX] "
              "[--timeout SECONDS] VMFILE DIR\n"
              "       qlaunch template clone [--timeout SECONDS] [-d SPEC]... DIR\n");
  return QL_EXIT_USAGE;
}
