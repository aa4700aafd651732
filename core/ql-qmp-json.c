/* qlaunch — what json-glib would not keep as QEMU sent it.
 *
 * json-glib's strings are C strings and its numbers a gint64 or a double,
 * and its parser is lenient. Left to it, a message from the QMP socket
 * could arrive changed without a word:
 *
 *   "a\u0000b"               the string "a" (cut at the NUL)
 *   "\ud800"                 bytes that are not UTF-8
 *   18446744073709551615     -1 (an integer outside 64 bits wraps)
 *   1e400                    an infinite double (printed "inf.0": not JSON)
 *   0x10, 010, .5, 'x'       numbers and strings that are not JSON
 *   "\x", "\uzzzz"           escapes that are not JSON (json-glib 1.6
 *                            takes them; and a \u without four hex
 *                            digits, in a line it then refuses, leaks)
 *
 * QEMU sends none of these but one (its strings are C strings with
 * surrogate pairs for characters above U+FFFF, its doubles finite), so a
 * message holding one is refused as a protocol error rather than passed on
 * altered. The one is an integer outside int64: QEMU's uint64 values reach
 * 2^64-1. Such an integer becomes the nearest double (its text gets a
 * ".0"), never a wrapped int64; a client that must not see it rounded
 * (QlQmp:exact-integers) refuses it instead. */
#include "ql-private.h"
#include "ql-qmp-private.h"

#include <math.h>
#include <string.h>

static gboolean
hex4 (const char *text,
      gsize       len,
      gsize       at,
      guint      *value)
{
  *value = 0;
  if (at + 4 > len)
    return FALSE;
  for (gsize i = at; i < at + 4; i++)
    {
      if (!g_ascii_isxdigit (text[i]))
        return FALSE;
      *value = *value * 16 + g_ascii_xdigit_value (text[i]);
    }
  return TRUE;
}

/* The string that starts after the quote at @i; returns the index after
 * its closing quote, or 0 with @why set. */
static gsize
scan_string (const char  *text,
             gsize        len,
             gsize        i,
             char       **why)
{
  while (i < len && text[i] != '"')
    {
      guint unit, low;

      if (text[i] != '\\')
        {
          i++;
          continue;
        }
      if (i + 1 >= len)
        return i + 1;   /* unterminated: for the parser to refuse */
      if (text[i + 1] != 'u')
        {
          if (memchr ("\"\\/bfnrt", text[i + 1], 8) == NULL)
            {
              *why = g_strdup ("a string escape that is not JSON (JSON has \\\", \\\\, \\/, \\b, \\f, "
                               "\\n, \\r, \\t and \\u with four hex digits)");
              return 0;
            }
          i += 2;
          continue;
        }
      if (!hex4 (text, len, i + 2, &unit))
        {
          *why = g_strdup ("a \\u escape without four hex digits in a string (not JSON)");
          return 0;
        }
      if (unit == 0)
        {
          *why = g_strdup ("a \\u0000 in a string (the client's strings end at a NUL)");
          return 0;
        }
      if (unit >= 0xDC00 && unit <= 0xDFFF)
        {
          *why = g_strdup_printf ("an unpaired surrogate \\u%04X in a string (not UTF-8)", unit);
          return 0;
        }
      if (unit >= 0xD800 && unit <= 0xDBFF)
        {
          if (i + 7 >= len || text[i + 6] != '\\' || text[i + 7] != 'u'
              || !hex4 (text, len, i + 8, &low) || low < 0xDC00 || low > 0xDFFF)
            {
              *why = g_strdup_printf ("an unpaired surrogate \\u%04X in a string (not UTF-8)", unit);
              return 0;
            }
          i += 6;
        }
      i += 6;
    }
  return i + 1;
}

/* The number (or what json-glib would take for one) at @start; returns
 * the index after it, or 0 with @why set. An integer outside int64 adds
 * its end to @widen (or is refused, with @exact_integers). */
static gsize
scan_number (const char  *text,
             gsize        len,
             gsize        start,
             gboolean     exact_integers,
             GArray      *widen,
             char       **why)
{
  gsize end = start;
  gsize p = start;
  gboolean integer = TRUE;
  g_autofree char *token = NULL;

  while (end < len && (g_ascii_isalnum (text[end]) || text[end] == '.' || text[end] == '+' || text[end] == '-'))
    end++;
  token = g_strndup (text + start, end - start);
  if (p < end && text[p] == '-')
    p++;
  if (p < end && text[p] == '0')
    p++;
  else if (p < end && text[p] >= '1' && text[p] <= '9')
    while (p < end && g_ascii_isdigit (text[p]))
      p++;
  else
    p = end + 1;
  if (p < end && text[p] == '.')
    {
      integer = FALSE;
      if (++p >= end || !g_ascii_isdigit (text[p]))
        p = end + 1;
      while (p < end && g_ascii_isdigit (text[p]))
        p++;
    }
  if (p < end && (text[p] == 'e' || text[p] == 'E'))
    {
      integer = FALSE;
      p++;
      if (p < end && (text[p] == '+' || text[p] == '-'))
        p++;
      if (p >= end || !g_ascii_isdigit (text[p]))
        p = end + 1;
      while (p < end && g_ascii_isdigit (text[p]))
        p++;
    }
  if (p != end)
    {
      *why = g_strdup_printf ("a number that is not JSON (%.40s)", token);
      return 0;
    }
  if (integer && !g_ascii_string_to_signed (token, 10, G_MININT64, G_MAXINT64, NULL, NULL)
      && isfinite (g_ascii_strtod (token, NULL)))
    {
      if (exact_integers)
        {
          *why = g_strdup_printf ("an integer out of range (%.40s): the client holds -2^63 to 2^63-1 "
                                  "exactly, and this one would be rounded", token);
          return 0;
        }
      g_array_append_val (widen, end);
      return end;
    }
  if (!isfinite (g_ascii_strtod (token, NULL)))
    {
      *why = g_strdup_printf ("a number out of range (%.40s): beyond the doubles", token);
      return 0;
    }
  return end;
}

gboolean
ql_json_check_faithful (const char  *text,
                        gsize        len,
                        gboolean     exact_integers,
                        char       **rewritten,
                        char       **why)
{
  g_autoptr(GArray) widen = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize i = 0;

  while (i < len)
    {
      char c = text[i];

      if (c == '"')
        i = scan_string (text, len, i + 1, why);
      else if (c == '\'')
        {
          *why = g_strdup ("a single-quoted string (not JSON)");
          return FALSE;
        }
      else if (c == '-' || c == '+' || c == '.' || g_ascii_isdigit (c))
        i = scan_number (text, len, i, exact_integers, widen, why);
      else
        i++;
      if (i == 0)
        return FALSE;
    }
  *rewritten = NULL;
  if (widen->len > 0)
    {
      GString *s = g_string_sized_new (len + 2 * widen->len);
      gsize from = 0;

      for (guint k = 0; k < widen->len; k++)
        {
          gsize at = g_array_index (widen, gsize, k);

          g_string_append_len (s, text + from, at - from);
          g_string_append (s, ".0");
          from = at;
        }
      g_string_append_len (s, text + from, len - from);
      *rewritten = g_string_free (s, FALSE);
    }
  return TRUE;
}
