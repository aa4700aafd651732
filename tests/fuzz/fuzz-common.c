/* qlaunch fuzzing — helpers shared by the libFuzzer harnesses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

#ifndef QL_FUZZ_PLUGIN_DIR
#error "QL_FUZZ_PLUGIN_DIR must be defined by the build"
#endif

G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) static void
fuzz_fail (const char *format,
           ...)
{
  va_list args;

  va_start (args, format);
  fputs ("qlaunch fuzz invariant broken: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
  abort ();
}

static GLogWriterOutput
quiet_writer (GLogLevelFlags   log_level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO | G_LOG_LEVEL_MESSAGE))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

void
ql_fuzz_init (void)
{
  static gboolean done;

  if (done)
    return;
  done = TRUE;
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (quiet_writer, NULL, NULL);
}

QlRegistry *
ql_fuzz_registry (void)
{
  static QlRegistry *registry;
  const char *dir;
  GPtrArray *errors;

  if (registry != NULL)
    return registry;
  ql_fuzz_init ();
  dir = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  if (dir == NULL || *dir == '\0')
    dir = QL_FUZZ_PLUGIN_DIR;
  registry = ql_registry_new ();
  ql_registry_add_search_dir (registry, dir);
  ql_registry_scan (registry);
  errors = ql_registry_get_load_errors (registry);
  for (guint i = 0; i < errors->len; i++)
    fprintf (stderr, "plugin load error: %s\n",
             ((GError *) g_ptr_array_index (errors, i))->message);
  if (errors->len > 0)
    abort ();
  if (ql_registry_get_plugins (registry)->len == 0)
    fuzz_fail ("no plugin found in %s", dir);
  return registry;
}

/* Splits @arg by QEMU's rule: a single comma ends an element, ",," is a
 * literal comma. */
static GPtrArray *
split_keyval (const char *arg)
{
  GPtrArray *elements = g_ptr_array_new_with_free_func (g_free);
  GString *current = g_string_new (NULL);

  for (const char *p = arg; *p != '\0'; p++)
    {
      if (*p == ',' && p[1] == ',')
        {
          g_string_append_c (current, ',');
          p++;
        }
      else if (*p == ',')
        {
          g_ptr_array_add (elements, g_string_free (current, FALSE));
          current = g_string_new (NULL);
        }
      else
        g_string_append_c (current, *p);
    }
  g_ptr_array_add (elements, g_string_free (current, FALSE));
  return elements;
}

static void
check_keyval (QlOption   *option,
              const char *arg)
{
  g_autoptr(GPtrArray) elements = split_keyval (arg);
  const char *head = ql_option_get_head (option);
  guint n = ql_option_get_n_values (option);
  guint first = head != NULL ? 1 : 0;

  /* QEMU reads a first element that holds '=' as a key=value pair, not as
   * the implied head (`-name a=b`: "Invalid parameter 'a'"; `-name
   * process=x` set the process name). */
  if (head != NULL && strchr (head, '=') != NULL)
    fuzz_fail ("%s '%s': head '%s' holds '=', so QEMU reads it as a key=value pair",
               ql_option_get_flag (option), arg, head);
  if (elements->len != first + n)
    fuzz_fail ("%s '%s': %u elements after splitting, expected %u",
               ql_option_get_flag (option), arg, elements->len, first + n);
  if (head != NULL && strcmp (g_ptr_array_index (elements, 0), head) != 0)
    fuzz_fail ("%s '%s': head '%s' came back as '%s'", ql_option_get_flag (option),
               arg, head, (const char *) g_ptr_array_index (elements, 0));
  for (guint i = 0; i < n; i++)
    {
      const char *key = ql_option_get_key (option, i);
      const char *value = ql_option_get_value (option, i);
      const char *element = g_ptr_array_index (elements, first + i);
      const char *eq = strchr (element, '=');

      if (key == NULL || *key == '\0')
        fuzz_fail ("%s '%s': pair %u has an empty key", ql_option_get_flag (option), arg, i);
      if (eq == NULL)
        fuzz_fail ("%s '%s': element '%s' has no '='", ql_option_get_flag (option), arg, element);
      if ((gsize) (eq - element) != strlen (key) || strncmp (element, key, eq - element) != 0)
        fuzz_fail ("%s '%s': key '%s' came back as '%.*s'", ql_option_get_flag (option),
                   arg, key, (int) (eq - element), element);
      if (value == NULL || strcmp (eq + 1, value) != 0)
        fuzz_fail ("%s '%s': value of '%s' ('%s') came back as '%s'",
                   ql_option_get_flag (option), arg, key,
                   value != NULL ? value : "(null)", eq + 1);
    }
}

void
ql_fuzz_check_argv (QlCmdline  *cmdline,
                    char      **argv)
{
  guint pos = 1;

  if (argv == NULL || argv[0] == NULL)
    fuzz_fail ("no argv[0]");
  for (guint i = 0; argv[i] != NULL; i++)
    if (argv[i][0] == '\0')
      fuzz_fail ("argument %u is empty", i);

  for (guint i = 0; i < ql_cmdline_get_n_options (cmdline); i++)
    {
      QlOption *option = ql_cmdline_get_option (cmdline, i);
      const char *flag = ql_option_get_flag (option);

      switch (ql_option_get_syntax (option))
        {
        case QL_OPTION_SYNTAX_FLAG:
          if (argv[pos] == NULL || strcmp (argv[pos], flag) != 0)
            fuzz_fail ("option %u: expected flag %s at argument %u", i, flag, pos);
          pos++;
          break;
        case QL_OPTION_SYNTAX_VERBATIM:
          if (argv[pos] == NULL || strcmp (argv[pos], flag) != 0 || argv[pos + 1] == NULL
              || g_strcmp0 (argv[pos + 1], ql_option_get_head (option)) != 0)
            fuzz_fail ("option %u: expected %s VALUE at argument %u", i, flag, pos);
          pos += 2;
          break;
        case QL_OPTION_SYNTAX_KEYVAL:
          if (ql_option_get_head (option) == NULL && ql_option_get_n_values (option) == 0)
            break;
          if (argv[pos] == NULL || strcmp (argv[pos], flag) != 0 || argv[pos + 1] == NULL)
            fuzz_fail ("option %u: expected %s KEYVAL at argument %u", i, flag, pos);
          check_keyval (option, argv[pos + 1]);
          pos += 2;
          break;
        default:
          fuzz_fail ("option %u: unknown syntax", i);
        }
    }
  if (argv[pos] != NULL)
    fuzz_fail ("argument %u ('%s') comes from no option", pos, argv[pos]);
}

void
ql_fuzz_check_same (char **a,
                    char **b)
{
  if (!g_strv_equal ((const char * const *) a, (const char * const *) b))
    {
      g_autofree char *ja = g_strjoinv ("' '", a);
      g_autofree char *jb = g_strjoinv ("' '", b);

      fuzz_fail ("the same configuration gave two argvs:\n  '%s'\n  '%s'", ja, jb);
    }
}

void
ql_fuzz_fail (const char *format,
              ...)
{
  va_list args;

  va_start (args, format);
  fputs ("qlaunch fuzz invariant broken: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
  abort ();
}
