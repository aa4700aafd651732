/* qlaunch — opening plugin files in a child process.
 *
 * A registry with a cache does not open a new or changed plugin file
 * itself: qlaunch-plugin-scanner opens it and answers with what it
 * provides, or its load error. A plugin that crashes, aborts or hangs
 * while loading (its ELF constructors or its init) takes down the scanner
 * only; the file is recorded as bad, with how it failed, until it changes.
 * The plugin is opened in qlaunch itself later, when one of its device
 * types is used. As GStreamer's gst-plugin-scanner does. */
#include "ql-registry-scanner.h"
#include "ql-private.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>

#define ANSWER_TYPE "(isssssuuas)"
#define SCAN_TIMEOUT_MS_DEFAULT 10000
/* How much of the scanner's standard error goes into an error. */
#define STDERR_KEEP 400

/**
 * ql_registry_scanner_find:
 *
 * The plugin scanner: `$QLAUNCH_PLUGIN_SCANNER` when set (empty: none),
 * else the installed one. Like a plugin, it is refused if another user
 * could change it or a directory above it (owned by another user than root
 * or us, or writable by group or others).
 *
 * Returns: (transfer full) (nullable): its path, or %NULL when there is no
 *   usable scanner (plugins are then opened in-process)
 */
char *
ql_registry_scanner_find (void)
{
  const char *over = g_getenv ("QLAUNCH_PLUGIN_SCANNER");
  g_autofree char *path = g_strdup (over != NULL ? over : QL_PLUGIN_SCANNER_PATH);
  g_autoptr(GError) error = NULL;
  struct stat st;

  if (path[0] == '\0')
    return NULL;
  if (stat (path, &st) != 0 || !S_ISREG (st.st_mode) || (st.st_mode & 0111) == 0)
    {
      g_debug ("qlaunch: no plugin scanner at %s: plugins are opened in-process", path);
      return NULL;
    }
  /* It runs as us and opens plugins: trusted like one. */
  if (!ql_helper_check_binary_trusted (path, &error))
    {
      g_debug ("qlaunch: plugin scanner not run: %s", error->message);
      return NULL;
    }
  return g_steal_pointer (&path);
}

static guint
scan_timeout_ms (void)
{
  const char *env = g_getenv ("QLAUNCH_PLUGIN_SCAN_TIMEOUT_MS");
  guint64 ms;

  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 600000, &ms, NULL))
    return (guint) ms;
  return SCAN_TIMEOUT_MS_DEFAULT;
}

typedef struct
{
  gboolean done;
  gboolean timed_out;
  GBytes  *out;
  GBytes  *err;
  GError  *error;
} ScanRun;

static void
communicated_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ScanRun *run = user_data;

  g_subprocess_communicate_finish (G_SUBPROCESS (object), result, &run->out, &run->err, &run->error);
  run->done = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  ScanRun *run = user_data;

  run->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* The tail of the scanner's standard error, on one line. */
static char *
stderr_tail (GBytes *err)
{
  gsize len = 0;
  const char *data = err != NULL ? g_bytes_get_data (err, &len) : NULL;
  g_autofree char *text = NULL;

  if (len == 0)
    return g_strdup ("");
  if (len > STDERR_KEEP)
    {
      data += len - STDERR_KEEP;
      len = STDERR_KEEP;
    }
  text = g_utf8_make_valid (data, (gssize) len);
  g_strstrip (g_strdelimit (text, "\n\r\t", ' '));
  return text[0] != '\0' ? g_strdup_printf ("; it said: %s", text) : g_strdup ("");
}

static QlRegistryCacheEntry *
failed_entry (const char        *path,
              const struct stat *st,
              const char        *family,
              int                code,
              char              *message)
{
  QlRegistryCacheEntry *entry = ql_registry_cache_entry_new (path, st);

  entry->family = g_strdup (family);
  entry->error_code = code;
  entry->error_message = message;
  return entry;
}

/**
 * ql_registry_scanner_scan:
 * @scanner: the scanner program
 * @path: the plugin file
 * @st: its identity, read before
 * @family: its family (from its name)
 *
 * Opens @path in the scanner, under a deadline
 * (`$QLAUNCH_PLUGIN_SCAN_TIMEOUT_MS`, default 10 s).
 *
 * Returns: (transfer full) (nullable): the cache entry: what it provides,
 *   its load error, or how the scanner failed
 *   (%QL_PLUGIN_ERROR_SCAN_FAILED); %NULL if the scanner could not be run
 */
QlRegistryCacheEntry *
ql_registry_scanner_scan (const char        *scanner,
                          const char        *path,
                          const struct stat *st,
                          const char        *family)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) timeout = NULL;
  g_autoptr(GVariant) answer = NULL;
  g_autofree char *said = NULL;
  ScanRun run = { FALSE, FALSE, NULL, NULL, NULL };
  guint timeout_ms = scan_timeout_ms ();
  QlRegistryCacheEntry *entry;
  const char *argv[] = { scanner, path, NULL };
  const char *out;
  gsize out_len = 0;

  child = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                                   | G_SUBPROCESS_FLAGS_STDIN_INHERIT, &error);
  if (child == NULL)
    {
      g_debug ("qlaunch: cannot run the plugin scanner %s: %s", scanner, error->message);
      return NULL;
    }
  g_main_context_push_thread_default (context);
  g_subprocess_communicate_async (child, NULL, NULL, communicated_cb, &run);
  timeout = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timeout, timeout_cb, &run, NULL);
  g_source_attach (timeout, context);
  while (!run.done && !run.timed_out)
    g_main_context_iteration (context, TRUE);
  if (!run.done)
    {
      g_subprocess_force_exit (child);
      while (!run.done)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timeout);
  g_subprocess_wait (child, NULL, NULL);
  g_main_context_pop_thread_default (context);

  said = stderr_tail (run.err);
  if (run.timed_out)
    entry = failed_entry (path, st, family, QL_PLUGIN_ERROR_SCAN_FAILED,
                          g_strdup_printf ("'%s': hung while loading: no answer from the plugin "
                                           "scanner within %u ms, stopped%s", path, timeout_ms, said));
  else if (g_subprocess_get_if_signaled (child))
    {
      int sig = g_subprocess_get_term_sig (child);

      entry = failed_entry (path, st, family, QL_PLUGIN_ERROR_SCAN_FAILED,
                            g_strdup_printf ("'%s': crashed while loading (in its constructors or "
                                             "init): signal %d (%s) in the plugin scanner%s",
                                             path, sig, g_strsignal (sig), said));
    }
  else if (run.error != NULL || g_subprocess_get_exit_status (child) != 0)
    entry = failed_entry (path, st, family, QL_PLUGIN_ERROR_SCAN_FAILED,
                          g_strdup_printf ("'%s': the plugin scanner failed while loading it "
                                           "(exit status %d)%s", path,
                                           g_subprocess_get_exit_status (child), said));
  else
    {
      g_autofree char *text = NULL;

      out = run.out != NULL ? g_bytes_get_data (run.out, &out_len) : NULL;
      text = out != NULL ? g_strndup (out, out_len) : g_strdup ("");
      /* g_variant_parse() gives a non-floating reference: no ref_sink. */
      answer = g_variant_parse (G_VARIANT_TYPE (ANSWER_TYPE), text, NULL, NULL, NULL);
      if (answer == NULL)
        entry = failed_entry (path, st, family, QL_PLUGIN_ERROR_SCAN_FAILED,
                              g_strdup_printf ("'%s': the plugin scanner gave no answer "
                                               "(the plugin exited while loading?)%s", path, said));
      else
        {
          g_autofree char *name = NULL;

          entry = ql_registry_cache_entry_new (path, st);
          g_variant_get (answer, "(isssssuu^as)",
                         &entry->error_code, &entry->error_message, &name, &entry->description,
                         &entry->version, &entry->license, &entry->abi_major, &entry->abi_minor,
                         &entry->device_types);
          entry->family = g_strdup (family);
          if (entry->error_code < 0)
            {
              g_clear_pointer (&entry->error_message, g_free);
              if (strcmp (name, family) != 0 || entry->device_types[0] == NULL)
                {
                  /* Not what a load in qlaunch would give: let it load there. */
                  ql_registry_cache_entry_free (entry);
                  entry = NULL;
                }
            }
        }
    }
  g_clear_pointer (&run.out, g_bytes_unref);
  g_clear_pointer (&run.err, g_bytes_unref);
  g_clear_error (&run.error);
  return entry;
}
