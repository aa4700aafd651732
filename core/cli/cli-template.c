/* qlaunch CLI — `qlaunch template create|clone`. */
#include "cli-common.h"

#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

static void
ql_store_result_cli (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  (void) source;
  *(GAsyncResult **) data = g_object_ref (result);
}

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

typedef struct
{
  GCancellable *cancellable;
  int signal_number;
  GAsyncResult *result;
} CreateState;

typedef struct
{
  CreateState *state;
  int signo;
} CreateSignal;

static gboolean
on_create_signal (gpointer data)
{
  CreateSignal *s = data;

  if (s->state->signal_number == 0)
    {
      s->state->signal_number = s->signo;
      g_printerr ("qlaunch: template: stopping (QEMU ends, the partial template is removed)\n");
      g_cancellable_cancel (s->state->cancellable);
    }
  return G_SOURCE_CONTINUE;
}

static int
template_create (const QlCliGlobals *globals,
                 int                 argc,
                 char              **argv)
{
  g_autofree char *pattern = NULL;
  g_autofree char *timeout_text = NULL;
  gboolean same_identity = FALSE;
  GOptionEntry entries[] = {
    { "ready-pattern", 0, 0, G_OPTION_ARG_STRING, &pattern,
      "The VM is ready when a console line matches REGEX (default: when the guest opens a "
      "virtio-serial port: QMP VSERPORT_CHANGE)", "REGEX" },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      "Give up after SECONDS (default 120)", "SECONDS" },
    { "same-identity", 0, 0, G_OPTION_ARG_NONE, &same_identity,
      "No identity fix-up: add no vmgenid device; every clone resumes with the template's "
      "RNG state and identity", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("VMFILE DIR - make a VM template");
  g_auto(QlCliQemuOptions) qemu = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlCmdline) checked = NULL;
  g_autoptr(QlTemplate) template_ = NULL;
  g_autofree char *state_file = NULL;
  g_autofree char *size_text = NULL;
  guint timeout_ms = 0;
  gint64 start;
  GStatBuf st;

  g_option_context_set_description (context,
    "Boots VMFILE with its memory in DIR/memory, waits until it is ready, pauses it,\n"
    "saves its device state (x-ignore-shared: the RAM stays in the memory file) to\n"
    "DIR/state and stops it. The console (QEMU's standard output) goes to\n"
    "DIR/console.log. DIR must not exist (or be empty); it appears only when the\n"
    "template is complete. Clone it with `qlaunch template clone DIR`.\n"
    "Unless --same-identity, the VM gets a vmgenid device (guid auto; or keeps its\n"
    "own): every clone starts with a new VM generation ID, and its guest is told\n"
    "(Linux 5.18 and later reseed their RNG).\n"
    "virtio-fs shares are left out of the saved state (QEMU cannot save them): the\n"
    "manifest records them, and every clone gets them hot-plugged.\n"
    "--qemu-add, --qemu-remove and --qemu-set are recorded in the manifest: every\n"
    "clone gets them (and `template clone` refuses others).\n");
  g_option_context_add_main_entries (context, entries, NULL);
  ql_cli_add_qemu_entries (context, &qemu);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc != 3)
    return ql_cli_usage_error (context, "template create needs VMFILE and DIR");
  if (!parse_seconds (timeout_text, &timeout_ms))
    return ql_cli_usage_error (context, "--timeout must be a number of seconds");

  registry = ql_cli_registry_new (globals);
  config = ql_cli_load_vm (registry, argv[1], NULL, &qemu, TRUE, &error);
  /* Checked against what its QEMU offers, as `run` does. (A template
   * writes the key=value forms, which every supported QEMU reads.) */
  if (config != NULL)
    checked = ql_cli_build_for_launch (config, argv[1], &error);
  if (config != NULL)
    ql_vm_config_set_qemu_version (config, 0, 0);
  if (checked == NULL)
    {
      ql_cli_print_error (argv[1], error);
      return QL_EXIT_FAILURE;
    }
  g_printerr ("qlaunch: template: making %s from %s (ready: %s; %s)\n", argv[2], argv[1],
              pattern != NULL ? pattern : "VSERPORT_CHANGE open",
              same_identity ? "same identity in every clone" : "a new VM generation ID in every clone");
  start = g_get_monotonic_time ();
  {
    CreateState state = { g_cancellable_new (), 0, NULL };
    CreateSignal signals[] = { { &state, SIGINT }, { &state, SIGTERM }, { &state, SIGHUP } };
    guint sources[G_N_ELEMENTS (signals)];

    for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
      sources[i] = g_unix_signal_add (signals[i].signo, on_create_signal, &signals[i]);
    ql_template_create_full_async (config, argv[2], pattern,
                                   same_identity ? QL_TEMPLATE_CREATE_SAME_IDENTITY : QL_TEMPLATE_CREATE_NONE,
                                   timeout_ms, state.cancellable, ql_store_result_cli, &state.result);
    while (state.result == NULL)
      g_main_context_iteration (NULL, TRUE);
    template_ = ql_template_create_finish (state.result, &error);
    g_object_unref (state.result);
    g_object_unref (state.cancellable);
    for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
      g_source_remove (sources[i]);
    if (state.signal_number != 0 && template_ == NULL)
      {
        /* Interrupted: end with the signal, as `run` does. */
        fflush (stderr);
        signal (state.signal_number, SIG_DFL);
        raise (state.signal_number);
        return 128 + state.signal_number;
      }
  }
  if (template_ == NULL)
    {
      ql_cli_print_error ("template create", error);
      return QL_EXIT_FAILURE;
    }
  state_file = g_build_filename (ql_template_get_dir (template_), "state", NULL);
  size_text = g_format_size (ql_template_get_memory_size (template_));
  g_printerr ("qlaunch: template %s made in %.1f s: QEMU %s, %s, %s of memory, "
              "device state %" G_GINT64_FORMAT " bytes\n",
              ql_template_get_dir (template_), (g_get_monotonic_time () - start) / 1e6,
              ql_template_get_qemu_version (template_), ql_template_get_machine_type (template_),
              size_text, g_stat (state_file, &st) == 0 ? (gint64) st.st_size : (gint64) -1);
  return QL_EXIT_OK;
}

typedef struct
{
  QlTemplate *template_;
  GPtrArray *extra;
  guint timeout_ms;
  int stdin_pipe;               /* QEMU's stdin, fed once the clone runs; or -1 */
} CloneStart;

static void
stdin_spliced (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  (void) data;
  /* EOF on our stdin, or QEMU gone (EPIPE): either way, done. */
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
}

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
  gboolean ok;

  (void) vm;
  ok = ql_template_start_clone_finish (c->template_, result, error);
  if (c->stdin_pipe >= 0)
    {
      /* What was typed (or piped) before the clone ran reaches it only
       * now: a byte the serial port took before the state was loaded
       * would be lost. */
      g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      g_autoptr(GOutputStream) out = g_unix_output_stream_new (c->stdin_pipe, TRUE);

      c->stdin_pipe = -1;
      if (ok)
        g_output_stream_splice_async (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                      G_PRIORITY_DEFAULT, NULL, stdin_spliced, NULL);
    }
  return ok;
}

/* A --nic card: a device of a type with a mac-address; without one in the
 * spec, a random unicast, locally administered MAC (first byte x2, x6, xa
 * or xe), so that no two clones share one. */
static QlDevice *
clone_nic (QlRegistry  *registry,
           const char  *spec,
           GError     **error)
{
  g_autoptr(QlDevice) device = ql_registry_create_device_from_spec (registry, spec, error);
  g_autofree char *mac = NULL;

  if (device == NULL)
    return NULL;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (device), "mac-address") == NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "--nic %s: a '%s' device is not a network card (it has no mac-address): "
                   "use -d for other devices", spec, ql_device_get_type_name (device));
      return NULL;
    }
  g_object_get (device, "mac-address", &mac, NULL);
  if (mac == NULL)
    {
      guint32 high = g_random_int (), low = g_random_int ();

      mac = g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x", ((high >> 8) & 0xfc) | 0x02,
                             high & 0xff, (low >> 24) & 0xff, (low >> 16) & 0xff, (low >> 8) & 0xff,
                             low & 0xff);
      g_object_set (device, "mac-address", mac, NULL);
    }
  g_printerr ("qlaunch: template clone: network card '%s' gets MAC %s\n",
              ql_device_get_id (device) != NULL ? ql_device_get_id (device) : "(no id)", mac);
  return g_steal_pointer (&device);
}

/* The template's virtio-fs shares, hot-plugged into the clone once its
 * state is loaded: the guest mounts them by their tags. */
static void
report_shares (QlTemplate *template_)
{
  g_autoptr(GPtrArray) shares = ql_template_dup_shares (template_);

  for (guint i = 0; i < shares->len; i++)
    {
      QlDevice *share = g_ptr_array_index (shares, i);
      g_autofree char *tag = NULL;
      g_autofree char *path = NULL;

      g_object_get (share, "tag", &tag, "path", &path, NULL);
      g_printerr ("qlaunch: template clone: virtio-fs share '%s' (tag '%s', %s) is hot-plugged when "
                  "the clone runs: mount it in the guest then (mount -t virtiofs %s DIR)\n",
                  ql_device_get_id (share), tag, path, tag);
    }
}

/* A clone runs the template's machine: --qemu-* given to clone must be
 * the template's own, flag by flag (none given: the template's). */
static gboolean
check_clone_overrides (QlTemplate              *template_,
                       const QlCliQemuOptions  *qemu,
                       GError                 **error)
{
  struct { const char *kind; char **given; } flags[] = {
    { "add", qemu->add }, { "remove", qemu->remove }, { "set", qemu->set },
  };

  if (qemu->add == NULL && qemu->remove == NULL && qemu->set == NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    {
      g_auto(GStrv) recorded = ql_template_dup_qemu_overrides (template_, flags[i].kind);
      char *none[] = { NULL };
      char **given = flags[i].given != NULL ? flags[i].given : none;

      if (!g_strv_equal ((const char *const *) recorded, (const char *const *) given))
        {
          g_autofree char *was = g_strjoinv ("' '", recorded);
          g_autofree char *now = g_strjoinv ("' '", given);

          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                       "template %s: --qemu-%s: the template was made with %s%s%s, this clone asks "
                       "for %s%s%s: a clone runs the machine the template's snapshot was taken of",
                       ql_template_get_dir (template_), flags[i].kind,
                       recorded[0] != NULL ? "'" : "", recorded[0] != NULL ? was : "none",
                       recorded[0] != NULL ? "'" : "",
                       given[0] != NULL ? "'" : "", given[0] != NULL ? now : "none",
                       given[0] != NULL ? "'" : "");
          return FALSE;
        }
    }
  return TRUE;
}

static int
template_clone (const QlCliGlobals *globals,
                int                 argc,
                char              **argv)
{
  g_auto(GStrv) specs = NULL;
  g_auto(GStrv) nic_specs = NULL;
  g_autofree char *timeout_text = NULL;
  g_autofree char *keep_disks = NULL;
  GOptionEntry entries[] = {
    { "keep-disks", 0, 0, G_OPTION_ARG_FILENAME, &keep_disks,
      "Make the clone's writable disk overlays in DIR and keep them after it exits", "DIR" },
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs,
      "Hot-plug a device after the clone resumed: TYPE,key=value,...", "SPEC" },
    { "nic", 0, 0, G_OPTION_ARG_STRING_ARRAY, &nic_specs,
      "Hot-plug a network card after the clone resumed, with its mac-address or a new random "
      "locally administered one: net,key=value,...", "SPEC" },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text,
      "Give up loading the clone after SECONDS (default 120)", "SECONDS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("DIR - start a VM from a template");
  g_auto(QlCliQemuOptions) qemu = { 0 };
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
    "-d devices are hot-plugged after that, then --nic cards (each with a new random\n"
    "locally administered MAC unless its spec sets mac-address; the template's own\n"
    "NICs keep the template's MAC in every clone). Then as `qlaunch run`: the\n"
    "console on the terminal, QEMU's exit status.\n"
    "The template's virtio-fs shares are hot-plugged into the clone right after it\n"
    "resumed, each with its own virtiofsd (stopped when the clone ends): the guest\n"
    "mounts them then (mount -t virtiofs TAG DIR).\n"
    "A clone gets the --qemu-add, --qemu-remove and --qemu-set the template was\n"
    "made with; given here, each must equal the template's (a clone runs the\n"
    "machine the template's snapshot was taken of).\n"
    "Writable disks: the clone writes to a new qcow2 overlay of its own over the\n"
    "template's overlay (DIR/disk-ID.qcow2, itself over the VM file's image; neither\n"
    "is written), made in the clone's private runtime directory and removed when\n"
    "QEMU exits. With --keep-disks KEEPDIR it is made in KEEPDIR as\n"
    "TEMPLATE-ID-XXXXXXXX.qcow2 (XXXXXXXX: eight random hex digits) and kept\n"
    "(its path is printed on standard error):\n"
    "`qlaunch run` boots it with a VM file whose disk has file = that path and\n"
    "format = qcow2, as long as the template and the image stay in place. A disk\n"
    "image that changed since the template was made is refused before QEMU starts.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  ql_cli_add_qemu_entries (context, &qemu);
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
  for (guint i = 0; nic_specs != NULL && nic_specs[i] != NULL; i++)
    {
      QlDevice *device = clone_nic (registry, nic_specs[i], &error);

      if (device == NULL)
        {
          ql_cli_print_error (NULL, error);
          return QL_EXIT_FAILURE;
        }
      g_ptr_array_add (extra, device);
    }
  template_ = ql_template_load (argv[1], registry, &error);
  if (template_ != NULL && !check_clone_overrides (template_, &qemu, &error))
    g_clear_object (&template_);
  if (template_ != NULL)
    vm = ql_template_new_clone_keeping_disks (template_, keep_disks, &error);
  if (vm == NULL)
    {
      ql_cli_print_error ("template clone", error);
      return QL_EXIT_FAILURE;
    }
  if (keep_disks != NULL)
    {
      g_auto(GStrv) ids = ql_template_dup_disk_ids (template_);

      if (ids[0] == NULL)
        g_printerr ("qlaunch: template clone: --keep-disks: the template has no writable disk\n");
      for (guint i = 0; ids[i] != NULL; i++)
        g_printerr ("qlaunch: template clone: disk '%s' is kept in %s\n",
                    ids[i], ql_template_get_clone_disk (vm, ids[i]));
    }
  /* What its QEMU offers (cached by `template create`): a binary without
   * seccomp gets no -sandbox. */
  {
    QlVmConfig *clone_config = ql_vm_get_config (vm);
    g_autofree char *binary = ql_vm_config_dup_qemu_binary (clone_config);
    g_autoptr(QlQemuCaps) caps = ql_qemu_caps_lookup (binary, NULL, QL_QEMU_CAPS_LOOKUP_NONE, NULL, NULL);

    if (caps != NULL)
      ql_vm_config_set_qemu_caps (clone_config, caps);
  }
  /* Nothing of the clone outlives this command, even if it is killed. */
  ql_vm_set_die_with_parent (vm, TRUE);
  report_shares (template_);
  g_signal_connect (vm, "helper-ready", G_CALLBACK (ql_cli_on_helper_ready), (gpointer) "template clone: ");
  c.template_ = template_;
  c.extra = extra;
  c.stdin_pipe = -1;
  if (!isatty (STDIN_FILENO))
    {
      int fds[2];

      /* Not a terminal (a pipe, a file): QEMU reads it through us, from
       * the moment the clone runs. A terminal is QEMU's own, as for run
       * (keys typed in the first few hundred ms may be lost). */
      if (!g_unix_open_pipe (fds, FD_CLOEXEC, &error))
        {
          ql_cli_print_error ("template clone", error);
          return QL_EXIT_FAILURE;
        }
      ql_vm_set_stdin_fd (vm, fds[0]);
      close (fds[0]);
      c.stdin_pipe = fds[1];
      signal (SIGPIPE, SIG_IGN);
    }
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
              "[--timeout SECONDS] [--same-identity] [--qemu-add OPTION]... [--qemu-remove SPEC]... "
              "[--qemu-set LABEL:KEY=VALUE]... VMFILE DIR\n"
              "       qlaunch template clone [--timeout SECONDS] [--keep-disks DIR] [-d SPEC]... [--nic SPEC]... "
              "[--qemu-add OPTION]... [--qemu-remove SPEC]... [--qemu-set LABEL:KEY=VALUE]... DIR\n");
  return QL_EXIT_USAGE;
}
