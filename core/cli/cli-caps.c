/* qlaunch CLI — `qlaunch caps`, and building a VM for the QEMU that runs it. */
#include "cli-common.h"

#include <string.h>

static QlCmdline *
build_for_qemu (QlVmConfig  *vm,
                const char  *qemu_version,
                gboolean     host_checks,
                const char  *hint,
                GError     **error)
{
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  guint major, minor;

  if (qemu_version == NULL && host_checks)
    {
      g_autoptr(GError) local = NULL;

      cmdline = ql_vm_config_build_checked_cmdline (vm, &local);
      if (cmdline != NULL)
        return g_steal_pointer (&cmdline);
      if (local->domain == QL_QEMU_CAPS_ERROR && local->code != QL_QEMU_CAPS_ERROR_INCOMPATIBLE)
        g_set_error (error, local->domain, local->code, "%s%s", local->message, hint);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (qemu_version != NULL)
    {
      caps = ql_qemu_caps_new_for_version (qemu_version, error);
      if (caps == NULL)
        return NULL;
      /* Plugins check what needs a newer QEMU against it. */
      ql_qemu_caps_get_version (caps, &major, &minor, NULL);
      ql_vm_config_set_qemu_version (vm, major, minor);
    }
  cmdline = ql_vm_config_build_cmdline (vm, error);
  if (cmdline == NULL || caps == NULL)
    return g_steal_pointer (&cmdline);
  ql_qemu_caps_apply_syntax (caps, cmdline);
  if (!ql_qemu_caps_check_cmdline (caps, cmdline, error))
    return NULL;
  return g_steal_pointer (&cmdline);
}

/* On stderr, before the argv is printed or QEMU starts: the defaults the
 * library changed for this VM, and why (ql_cmdline_add_note()). */
static QlCmdline *
with_notes (QlCmdline *cmdline)
{
  const char * const *notes = cmdline != NULL ? ql_cmdline_get_notes (cmdline) : NULL;

  for (guint i = 0; notes != NULL && notes[i] != NULL; i++)
    g_printerr ("qlaunch: note: %s\n", notes[i]);
  return cmdline;
}

QlCmdline *
ql_cli_build_for_qemu (QlVmConfig  *vm,
                       const char  *qemu_version,
                       gboolean     host_checks,
                       GError     **error)
{
  return with_notes (build_for_qemu (vm, qemu_version, host_checks,
                                     " (--no-host-checks or --qemu-version X.Y skip this)", error));
}

/* After a checked build failed with @local: whether to go on unchecked
 * (the binary could not be probed: said on stderr; or it is missing, which
 * the launch reports); else @local goes to @error. */
static gboolean
launch_unchecked (GError     **local,
                  const char  *label,
                  GError     **error)
{
  if (!g_error_matches (*local, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_PROBE_FAILED)
      && !g_error_matches (*local, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_TIMED_OUT)
      && !g_error_matches (*local, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (local));
      return FALSE;
    }
  if (!g_error_matches (*local, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_NOT_FOUND))
    g_printerr ("qlaunch: warning: %s: %s; launching it unchecked\n", label, (*local)->message);
  g_clear_error (local);
  return TRUE;
}

QlCmdline *
ql_cli_build_for_launch (QlVmConfig  *vm,
                         const char  *label,
                         GError     **error)
{
  g_autoptr(GError) local = NULL;
  QlCmdline *cmdline = build_for_qemu (vm, NULL, TRUE, "", &local);

  if (cmdline != NULL)
    return with_notes (cmdline);
  if (!launch_unchecked (&local, label, error))
    return NULL;
  ql_vm_config_set_qemu_version (vm, 0, 0);
  return with_notes (ql_vm_config_build_cmdline (vm, error));
}

QlCmdline *
ql_cli_build_vm_for_launch (QlVm        *vm,
                            const char  *label,
                            GError     **error)
{
  g_autoptr(GError) local = NULL;
  QlCmdline *cmdline;

  ql_vm_set_check_qemu (vm, TRUE);
  cmdline = ql_vm_build_cmdline (vm, &local);
  if (cmdline != NULL)
    return with_notes (cmdline);
  if (!launch_unchecked (&local, label, error))
    return NULL;
  ql_vm_config_set_qemu_version (ql_vm_get_config (vm), 0, 0);
  ql_vm_set_check_qemu (vm, FALSE);
  return with_notes (ql_vm_build_cmdline (vm, error));
}

/* "title (N):" then the items, wrapped at 78 columns. */
static void
print_list (const char  *title,
            char       **items)
{
  g_autoptr(GString) line = g_string_new ("  ");

  g_print ("%s (%u):\n", title, g_strv_length (items));
  for (guint i = 0; items[i] != NULL; i++)
    {
      if (line->len > 2 && line->len + strlen (items[i]) + 1 > 78)
        {
          g_print ("%s\n", line->str);
          g_string_assign (line, "  ");
        }
      if (line->len > 2)
        g_string_append_c (line, ' ');
      g_string_append (line, items[i]);
    }
  if (line->len > 2)
    g_print ("%s\n", line->str);
}

static void
print_text (QlQemuCaps *caps,
            gint64      microseconds)
{
  g_auto(GStrv) machines = ql_qemu_caps_list_machines (caps);
  g_auto(GStrv) devices = ql_qemu_caps_list_device_types (caps);
  g_auto(GStrv) objects = ql_qemu_caps_list_object_types (caps);
  g_auto(GStrv) cpus = ql_qemu_caps_list_cpu_models (caps);
  g_auto(GStrv) accels = ql_qemu_caps_list_accelerators (caps);
  g_auto(GStrv) chardevs = ql_qemu_caps_list_chardev_backends (caps);
  g_auto(GStrv) netdevs = ql_qemu_caps_list_netdev_types (caps);
  static const char *const json_flags[] = { "-device", "-object", "-netdev", "-blockdev" };
  g_autoptr(GString) json = g_string_new (NULL);
  guint with_props = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (json_flags); i++)
    if (ql_qemu_caps_accepts_json (caps, json_flags[i]))
      g_string_append_printf (json, "%s%s", json->len > 0 ? " " : "", json_flags[i]);
  for (guint i = 0; devices[i] != NULL; i++)
    if (ql_qemu_caps_has_device_properties (caps, devices[i]))
      with_props++;

  g_print ("binary: %s\n", ql_qemu_caps_get_binary (caps));
  g_print ("version: %s (%s)\n", ql_qemu_caps_get_version_string (caps), ql_qemu_caps_get_package (caps));
  g_print ("source: %s, %.1f ms\n", ql_qemu_caps_is_from_cache (caps) ? "cache" : "probe",
           (double) microseconds / 1000.0);
  g_print ("kvm: %s\n", ql_qemu_caps_get_kvm_present (caps) ? "present" : "absent");
  g_print ("seccomp: %s\n", ql_qemu_caps_has_command_line_option (caps, "sandbox", NULL)
                            ? "yes (-sandbox: [knobs] sandbox is on by default)"
                            : "no (built without it: VMs run without -sandbox)");
  g_print ("json options: %s\n", json->str);
  g_print ("default machine: %s\n", ql_qemu_caps_get_default_machine (caps) != NULL
                                    ? ql_qemu_caps_get_default_machine (caps) : "(none)");
  g_print ("machines (%u):\n", g_strv_length (machines));
  for (guint i = 0; machines[i] != NULL; i++)
    {
      const char *alias = ql_qemu_caps_get_machine_alias (caps, machines[i]);

      g_print ("  %s%s%s%s\n", machines[i], alias != NULL ? " (" : "",
               alias != NULL ? alias : "", alias != NULL ? ")" : "");
    }
  print_list ("accelerators", accels);
  print_list ("cpu models", cpus);
  print_list ("netdev types", netdevs);
  print_list ("chardev backends", chardevs);
  print_list ("object types", objects);
  print_list ("device types", devices);
  g_print ("device types with probed properties: %u (--all-properties probes every one)\n", with_props);
}

int
ql_cli_caps (const QlCliGlobals *globals,
             int                 argc,
             char              **argv)
{
  g_autofree char *format = NULL;
  g_autofree char *properties_of = NULL;
  gboolean all_properties = FALSE;
  gboolean refresh = FALSE;
  gboolean no_cache = FALSE;
  GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output: text (default) or json", "FORMAT" },
    { "all-properties", 0, 0, G_OPTION_ARG_NONE, &all_properties,
      "Probe the properties of every device type (about 1 s for QEMU 7.2)", NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &properties_of,
      "Print the properties of device TYPE (probed if needed)", "TYPE" },
    { "refresh", 0, 0, G_OPTION_ARG_NONE, &refresh, "Probe again and rewrite the cache", NULL },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache, "Probe; neither read nor write the cache", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[QEMU] - print what a QEMU binary offers");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  g_autofree char *cache_dir = ql_qemu_caps_get_cache_dir ();
  g_autofree char *description = NULL;
  const char *binary = "qemu-system-x86_64";
  const char *types[] = { NULL, NULL };
  QlQemuCapsLookupFlags flags = QL_QEMU_CAPS_LOOKUP_NONE;
  gint64 t0;

  (void) globals;
  description = g_strdup_printf (
    "Probes QEMU (default qemu-system-x86_64 in PATH) once through QMP and caches\n"
    "the result in %s, keyed by the binary's path, size, mtime\n"
    "and inode; a changed binary is probed again.\n", cache_dir);
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc > 2)
    return ql_cli_usage_error (context, "caps takes at most one QEMU binary");
  if (format == NULL)
    format = g_strdup ("text");
  if (!g_str_equal (format, "text") && !g_str_equal (format, "json"))
    return ql_cli_usage_error (context, "--format must be text or json");
  if (argc == 2)
    binary = argv[1];
  if (all_properties)
    flags |= QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES;
  if (refresh)
    flags |= QL_QEMU_CAPS_LOOKUP_REFRESH;
  if (no_cache)
    flags |= QL_QEMU_CAPS_LOOKUP_NO_CACHE;
  types[0] = properties_of;

  t0 = g_get_monotonic_time ();
  caps = ql_qemu_caps_lookup (binary, types, flags, NULL, &error);
  if (caps == NULL)
    {
      ql_cli_print_error (binary, error);
      return QL_EXIT_FAILURE;
    }
  if (all_properties)
    {
      g_auto(GStrv) unprobed = ql_qemu_caps_list_unprobed_device_types (caps);

      /* A notice, not a failure: the other types' properties are there. */
      for (guint i = 0; unprobed[i] != NULL; i++)
        {
          g_autofree char *why = ql_cli_escape_untrusted (ql_qemu_caps_get_device_probe_failure (caps, unprobed[i]));

          g_printerr ("qlaunch: notice: %s: the properties of device type '%s' could not be probed: %s\n",
                      ql_qemu_caps_get_binary (caps), unprobed[i], why);
        }
    }
  if (properties_of != NULL)
    {
      const char *type = ql_qemu_caps_resolve_device_type (caps, properties_of);
      g_auto(GStrv) props = type != NULL ? ql_qemu_caps_list_device_properties (caps, type) : NULL;

      if (props == NULL)
        {
          g_printerr ("qlaunch: %s %s has no device type '%s'\n", ql_qemu_caps_get_binary (caps),
                      ql_qemu_caps_get_version_string (caps), properties_of);
          return QL_EXIT_FAILURE;
        }
      if (strcmp (type, properties_of) != 0)
        g_printerr ("qlaunch: '%s' is QEMU's alias of %s\n", properties_of, type);
      for (guint i = 0; props[i] != NULL; i++)
        g_print ("%s %s\n", props[i], ql_qemu_caps_get_device_property_type (caps, type, props[i]));
      return QL_EXIT_OK;
    }
  if (g_str_equal (format, "json"))
    {
      g_autofree char *json = ql_qemu_caps_to_json (caps, TRUE);

      ql_cli_print_data ("%s\n", json);
    }
  else
    print_text (caps, g_get_monotonic_time () - t0);
  return QL_EXIT_OK;
}
