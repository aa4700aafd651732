/* qlaunch CLI — what it writes, by kind.
 *
 * Messages for people (g_print(), g_printerr()) are converted to the
 * character set of the user's locale, as GLib does. The locale (LC_CTYPE,
 * nothing else) is loaded when the first message is written, or before
 * the options are parsed when an argument is not ASCII (GOptionContext
 * converts string arguments from the locale's character set): loading it
 * reads and maps locale files (0.3 ms on a small virtual machine, a sixth
 * of what `qlaunch args` spends after main() starts), and a command that
 * writes only data never needs it.
 *
 * Data (command lines, JSON) is written as its bytes, whatever the locale:
 * a command line converted to another character set would name other files,
 * and JSON is UTF-8 by definition. */
#include "cli-common.h"

#include <locale.h>
#include <stdio.h>

static void
load_locale (void)
{
  static gsize loaded;

  /* Once, whichever thread writes first (run's threads can). */
  if (g_once_init_enter (&loaded))
    {
      setlocale (LC_CTYPE, "");
      g_once_init_leave (&loaded, 1);
    }
}

void
ql_cli_load_locale_for_args (int    argc,
                             char **argv)
{
  for (int i = 1; i < argc; i++)
    for (const guchar *p = (const guchar *) argv[i]; *p != '\0'; p++)
      if (*p >= 0x80)
        {
          load_locale ();
          return;
        }
}

/* @string (UTF-8, or not if it came from elsewhere) in @charset, as
 * g_print() writes it: invalid UTF-8 escaped as \xNN, characters the
 * charset lacks as '?'. */
static char *
convert_message (const char *string,
                 const char *charset)
{
  g_autoptr(GString) escaped = NULL;
  char *converted;

  if (g_utf8_validate (string, -1, NULL))
    {
      converted = g_convert_with_fallback (string, -1, charset, "UTF-8", "?", NULL, NULL, NULL);
      if (converted != NULL)
        return converted;
    }
  escaped = g_string_new (NULL);
  for (const guchar *p = (const guchar *) string; *p != '\0'; p++)
    if (*p < 0x80 && (*p >= 0x20 || *p == '\n' || *p == '\t'))
      g_string_append_c (escaped, (char) *p);
    else
      g_string_append_printf (escaped, "\\x%02x", *p);
  return g_string_free (g_steal_pointer (&escaped), FALSE);
}

static void
write_message (FILE       *stream,
               const char *string)
{
  const char *charset;

  load_locale ();
  if (g_get_console_charset (&charset))
    fputs (string, stream);
  else
    {
      g_autofree char *converted = convert_message (string, charset);

      fputs (converted, stream);
    }
  fflush (stream);
}

static void
print_message (const char *string)
{
  write_message (stdout, string);
}

static void
printerr_message (const char *string)
{
  write_message (stderr, string);
}

void
ql_cli_output_init (void)
{
  g_set_print_handler (print_message);
  g_set_printerr_handler (printerr_message);
}

void
ql_cli_print_data (const char *format,
                   ...)
{
  va_list args;

  va_start (args, format);
  vfprintf (stdout, format, args);
  va_end (args);
}
