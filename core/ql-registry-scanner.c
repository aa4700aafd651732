/* qlaunch — opening plugin files in a child process.
 *
 * A registry with a cache does not open a new or changed plugin file
 * itself: qlaunch-plugin-scanner opens it and answers with what it
 * provides, or its load error. One scanner process opens many files, one
 * after the other, and answers each on a line of its own as soon as it is
 * done. A plugin that crashes, aborts or hangs while loading (its ELF
 * constructors or its init) takes down that scanner only: the file it was
 * on (the first one not answered) is recorded as bad, with how it failed,
 * until it changes, and a new scanner goes on with the files after it. As
 * GStreamer's gst-plugin-scanner does. The plugin is opened in qlaunch
 * itself later, when one of its device types is used. */
#include "ql-registry-scanner.h"
#include "ql-private.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>

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

/* The tail of what the scanner said on standard error while it was on
 * one file, on one line. */
static char *
stderr_tail (const char *data,
             gsize       len)
{
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
failed_entry (const QlRegistryScanFile *file,
              char                     *message)
{
  QlRegistryCacheEntry *entry = ql_registry_cache_entry_new (file->path, &file->st);

  entry->family = g_strdup (file->family);
  entry->error_code = QL_PLUGIN_ERROR_SCAN_FAILED;
  entry->error_message = message;
  return entry;
}

/* The entry of one answer line; NULL if the answer is not what a load in
 * qlaunch would give (let it load there). */
/* The descriptions of @entry's device types that follow the answer's
 * GVariant: per type a tab and its description in base64, each checked
 * (ql_device_type_info_new_from_bytes()), one per device type in their
 * order. Returns them as they came (GBytes). */
static GPtrArray *
answer_types (const QlRegistryCacheEntry  *entry,
              const char                  *line,
              GError                     **error)
{
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_auto(GStrv) fields = g_strsplit (line, "\t", -1);
  guint n = g_strv_length (fields);

  /* The text before the first tab is the GVariant. */
  if (n != g_strv_length (entry->device_types) + 1)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "%u descriptions for %u device types", n - 1, g_strv_length (entry->device_types));
      return NULL;
    }
  for (guint i = 1; i < n; i++)
    {
      gsize len = 0;
      guchar *data = g_base64_decode_inplace (fields[i], &len);
      GBytes *bytes = g_bytes_new (data, len);
      g_autoptr(QlDeviceTypeInfo) info = NULL;

      g_ptr_array_add (types, bytes);
      info = ql_device_type_info_new_from_bytes (bytes, error);
      if (info == NULL)
        return NULL;
      if (strcmp (ql_device_type_info_get_name (info), entry->device_types[i - 1]) != 0
          || g_strcmp0 (ql_device_type_info_get_plugin (info), entry->family) != 0)
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                       "description %u is of '%s' of plugin '%s', not of '%s'",
                       i - 1, ql_device_type_info_get_name (info),
                       ql_device_type_info_get_plugin (info) != NULL ? ql_device_type_info_get_plugin (info) : "",
                       entry->device_types[i - 1]);
          return NULL;
        }
    }
  return g_steal_pointer (&types);
}

static QlRegistryCacheEntry *
answer_entry (const QlRegistryScanFile *file,
              const char               *line,
              const char               *said)
{
  /* g_variant_parse() gives a non-floating reference: no ref_sink. */
  const char *tab = strchr (line, '\t');
  g_autofree char *head = tab != NULL ? g_strndup (line, (gsize) (tab - line)) : g_strdup (line);
  g_autoptr(GVariant) answer = g_variant_parse (G_VARIANT_TYPE (ANSWER_TYPE), head, NULL, NULL, NULL);
  g_autofree char *name = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) infos = NULL;
  QlRegistryCacheEntry *entry;

  if (answer == NULL)
    return failed_entry (file, g_strdup_printf ("'%s': the plugin scanner gave no answer "
                                                "(the plugin exited while loading?)%s",
                                                file->path, said));
  entry = ql_registry_cache_entry_new (file->path, &file->st);
  g_variant_get (answer, "(isssssuu^as)",
                 &entry->error_code, &entry->error_message, &name, &entry->description,
                 &entry->version, &entry->license, &entry->abi_major, &entry->abi_minor,
                 &entry->device_types);
  entry->family = g_strdup (file->family);
  if (entry->error_code < 0)
    {
      g_clear_pointer (&entry->error_message, g_free);
      if (strcmp (name, file->family) != 0 || entry->device_types[0] == NULL)
        {
          ql_registry_cache_entry_free (entry);
          return NULL;
        }
      /* The descriptions, checked, one per device type, in their order. */
      infos = answer_types (entry, line, &error);
      if (infos == NULL)
        {
          g_debug ("qlaunch: the plugin scanner's answer for %s: %s", file->path, error->message);
          ql_registry_cache_entry_free (entry);
          return NULL;
        }
      ql_registry_cache_entry_set_types (entry, infos);
    }
  return entry;
}

/* How the scanner that was on @file ended without answering for it. */
static QlRegistryCacheEntry *
died_entry (const QlRegistryScanFile *file,
            GSubprocess              *child,
            gboolean                  timed_out,
            guint                     timeout_ms,
            const char               *said)
{
  if (timed_out)
    return failed_entry (file, g_strdup_printf ("'%s': hung while loading: no answer from the plugin "
                                                "scanner within %u ms, stopped%s",
                                                file->path, timeout_ms, said));
  if (g_subprocess_get_if_signaled (child))
    {
      int sig = g_subprocess_get_term_sig (child);

      return failed_entry (file, g_strdup_printf ("'%s': crashed while loading (in its constructors or "
                                                  "init): signal %d (%s) in the plugin scanner%s",
                                                  file->path, sig, g_strsignal (sig), said));
    }
  if (g_subprocess_get_exit_status (child) != 0)
    return failed_entry (file, g_strdup_printf ("'%s': the plugin scanner failed while loading it "
                                                "(exit status %d)%s", file->path,
                                                g_subprocess_get_exit_status (child), said));
  return failed_entry (file, g_strdup_printf ("'%s': the plugin scanner gave no answer "
                                              "(the plugin exited while loading?)%s",
                                              file->path, said));
}

/* Reads what is there on @fd into @buf; FALSE at its end (or an error). */
static gboolean
drain (int      fd,
       GString *buf)
{
  char chunk[4096];
  ssize_t n = read (fd, chunk, sizeof chunk);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return TRUE;
  if (n <= 0)
    return FALSE;
  g_string_append_len (buf, chunk, n);
  return TRUE;
}

/* Runs one scanner on @files from @first on, filling @entries; returns
 * the index after the last file it answered for or took it down
 * (files->len: all), or -1 if it could not be run. */
static gssize
run_scanner (const char    *scanner,
             GPtrArray     *files,
             guint          first,
             guint          timeout_ms,
             QlRegistryCacheEntry **entries)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) err = g_string_new (NULL);
  gsize err_mark = 0;
  guint next = first;
  gboolean out_open = TRUE, err_open = TRUE, timed_out = FALSE;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  int out_fd, err_fd;

  g_ptr_array_add (argv, (gpointer) scanner);
  for (guint i = first; i < files->len; i++)
    g_ptr_array_add (argv, ((QlRegistryScanFile *) g_ptr_array_index (files, i))->path);
  g_ptr_array_add (argv, NULL);
  child = g_subprocess_newv ((const char * const *) argv->pdata,
                             G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                             | G_SUBPROCESS_FLAGS_STDIN_INHERIT, &error);
  if (child == NULL)
    {
      g_debug ("qlaunch: cannot run the plugin scanner %s: %s", scanner, error->message);
      return -1;
    }
  out_fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stdout_pipe (child)));
  err_fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stderr_pipe (child)));

  while (out_open || err_open)
    {
      struct pollfd fds[2] = { { out_open ? out_fd : -1, POLLIN, 0 }, { err_open ? err_fd : -1, POLLIN, 0 } };
      gint64 left = deadline - g_get_monotonic_time ();
      char *newline;
      int rc;

      if (left <= 0)
        {
          timed_out = TRUE;
          break;
        }
      rc = poll (fds, 2, (int) MIN ((left + 999) / 1000, G_MAXINT));
      if (rc < 0 && errno != EINTR)
        break;
      if (rc <= 0)
        continue;
      if (fds[1].revents != 0)
        err_open = drain (err_fd, err);
      if (fds[0].revents != 0)
        out_open = drain (out_fd, out);
      /* Each whole line answers for the next file. */
      while ((newline = memchr (out->str, '\n', out->len)) != NULL && next < files->len)
        {
          QlRegistryScanFile *file = g_ptr_array_index (files, next);
          g_autofree char *line = g_strndup (out->str, (gsize) (newline - out->str));
          g_autofree char *said = stderr_tail (err->str + err_mark, err->len - err_mark);

          g_string_erase (out, 0, (gssize) (newline - out->str) + 1);
          entries[next] = answer_entry (file, line, said);
          next++;
          err_mark = err->len;
          deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
        }
    }
  if (timed_out)
    g_subprocess_force_exit (child);
  g_subprocess_wait (child, NULL, NULL);
  if (next < files->len)
    {
      g_autofree char *said = stderr_tail (err->str + err_mark, err->len - err_mark);

      entries[next] = died_entry (g_ptr_array_index (files, next), child, timed_out, timeout_ms, said);
      next++;
    }
  return (gssize) next;
}

/**
 * ql_registry_scanner_scan_files:
 * @scanner: the scanner program
 * @files: (element-type QlRegistryScanFile): the plugin files, each with
 *   its identity, read before, and its family
 * @n_processes: (out) (optional): how many scanner processes ran
 *
 * Opens @files in scanner processes: one for all of them, and after a
 * file that took its scanner down, a new one for the files after it. Each
 * file has its own deadline (`$QLAUNCH_PLUGIN_SCAN_TIMEOUT_MS`, default
 * 10 s), from the answer before it.
 *
 * Returns: (transfer full) (nullable): an array of @files->len cache
 *   entries, one per file: what it provides, its load error, or how the
 *   scanner failed on it (%QL_PLUGIN_ERROR_SCAN_FAILED); %NULL in a slot
 *   for an answer a load in qlaunch would not give, or when the scanner
 *   could not be run for it. Free each with ql_registry_cache_entry_free(),
 *   then the array with g_free().
 */
QlRegistryCacheEntry **
ql_registry_scanner_scan_files (const char *scanner,
                                GPtrArray  *files,
                                guint      *n_processes)
{
  QlRegistryCacheEntry **entries = g_new0 (QlRegistryCacheEntry *, files->len + 1);
  guint timeout_ms = scan_timeout_ms ();
  guint first = 0;
  guint runs = 0;

  while (first < files->len)
    {
      gssize next = run_scanner (scanner, files, first, timeout_ms, entries);

      if (next < 0)
        break;
      runs++;
      first = (guint) next;
    }
  if (n_processes != NULL)
    *n_processes = runs;
  return entries;
}

/**
 * ql_registry_scanner_scan:
 * @scanner: the scanner program
 * @path: the plugin file
 * @st: its identity, read before
 * @family: its family (from its name)
 *
 * ql_registry_scanner_scan_files() for one file.
 *
 * Returns: (transfer full) (nullable): the cache entry, or %NULL
 */
QlRegistryCacheEntry *
ql_registry_scanner_scan (const char        *scanner,
                          const char        *path,
                          const struct stat *st,
                          const char        *family)
{
  QlRegistryScanFile file = { (char *) path, (char *) family, *st };
  g_autoptr(GPtrArray) files = g_ptr_array_new ();
  g_autofree QlRegistryCacheEntry **entries = NULL;

  g_ptr_array_add (files, &file);
  entries = ql_registry_scanner_scan_files (scanner, files, NULL);
  return entries[0];
}
