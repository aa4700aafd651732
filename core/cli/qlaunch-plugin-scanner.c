/* qlaunch-plugin-scanner: opens plugin files in a process of its own and
 * says what each provides, so that a plugin that crashes, aborts or hangs
 * in its init takes down this process, not qlaunch.
 *
 * Usage: qlaunch-plugin-scanner FILE...
 *
 * Opens the files one after the other, each in a registry of its own, and
 * for each writes to standard output, as soon as it is done, one line: a
 * GVariant in text form, of type "(isssssuuas)": the QlPluginError code
 * (-1: loaded), the error message, then the family, description, version,
 * license, ABI major and minor and the device types of the plugin; then,
 * for a plugin that loaded, per device type in their order, a tab and the
 * type's description (ql_device_type_info_serialize()) in base64. The
 * caller knows which file took the process down by the lines it got.
 * Whatever the plugins themselves write to standard output goes to
 * standard error. Exit status 0 when every answer was written (loaded or
 * not), 2 on a usage error. Run by the library (ql-registry-scanner.c),
 * not by users. */
#include <qlaunch/qlaunch.h>

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define ANSWER_TYPE "(isssssuu^as)"

/* One answer line for @filename. */
static gboolean
answer (FILE       *out,
        const char *filename)
{
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GString) line = NULL;
  g_autofree char *text = NULL;
  const char * const none[] = { NULL };
  QlPlugin *plugin = ql_registry_load_plugin (registry, filename, &error);
  g_auto(GStrv) types = NULL;

  if (plugin == NULL)
    reply = g_variant_ref_sink (g_variant_new (ANSWER_TYPE,
                                               error->domain == QL_PLUGIN_ERROR ? error->code
                                                                                : QL_PLUGIN_ERROR_INIT_FAILED,
                                               error->message, "", "", "", "", 0u, 0u, none));
  else
    {
      types = ql_plugin_get_device_types (plugin);
      reply = g_variant_ref_sink (g_variant_new (ANSWER_TYPE, -1, "",
                                                 ql_plugin_get_name (plugin),
                                                 ql_plugin_get_description (plugin),
                                                 ql_plugin_get_version (plugin),
                                                 ql_plugin_get_license (plugin),
                                                 (guint32) QL_PLUGIN_ABI_MAJOR,
                                                 ql_plugin_get_abi_minor (plugin), types));
    }
  /* On one line: g_variant_print() escapes newlines and tabs in strings. */
  text = g_variant_print (reply, TRUE);
  line = g_string_new (text);
  for (guint i = 0; types != NULL && types[i] != NULL; i++)
    {
      g_autoptr(GError) describe_error = NULL;
      g_autoptr(QlDeviceTypeInfo) info = ql_registry_describe_device_type (registry, types[i],
                                                                           &describe_error);
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *base64 = NULL;
      gsize len = 0;
      const guchar *data;

      if (info == NULL)
        {
          /* An answer the caller refuses: it opens the file itself. */
          fprintf (stderr, "qlaunch-plugin-scanner: %s\n", describe_error->message);
          continue;
        }
      bytes = ql_device_type_info_serialize (info);
      data = g_bytes_get_data (bytes, &len);
      base64 = g_base64_encode (data, len);
      g_string_append_printf (line, "\t%s", base64);
    }
  return fprintf (out, "%s\n", line->str) >= 0 && fflush (out) == 0;
}

int
main (int    argc,
      char **argv)
{
  FILE *out;
  int out_fd;

  if (argc < 2)
    {
      fprintf (stderr, "usage: qlaunch-plugin-scanner FILE...\n");
      return 2;
    }
  /* The answers get the real standard output; the plugins' prints go to
   * standard error. */
  out_fd = dup (STDOUT_FILENO);
  if (out_fd < 0 || dup2 (STDERR_FILENO, STDOUT_FILENO) < 0)
    return 2;
  out = fdopen (out_fd, "w");
  if (out == NULL)
    return 2;

  /* A plugin that faults dies of its signal, which is what the caller
   * reports, even under a sanitizer that would catch it and exit. */
  {
    const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

    for (gsize i = 0; i < G_N_ELEMENTS (faults); i++)
      signal (faults[i], SIG_DFL);
  }

  for (int i = 1; i < argc; i++)
    if (!answer (out, argv[i]))
      return 1;
  if (fclose (out) != 0)
    return 1;
  return 0;
}
