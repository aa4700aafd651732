/* qlaunch — the command-line forms that differ between QEMU versions.
 *
 * One table per concern, each row citing the QEMU version that changed it.
 * QlCmdline asks here how to write an option for the version it targets
 * (ql_cmdline_set_qemu_version()); QlQemuCaps asks here what a version
 * accepts when it has not probed the binary. The oldest version qlaunch
 * writes for is 7.2 (QL_QEMU_OLDEST_*), so forms older QEMUs needed
 * (govmm's `-realtime mlock=`, removed in 6.0) are never written:
 * `-overcommit mem-lock` exists in every supported version.
 */
#include "ql-private.h"

#include <string.h>

/* Since which version QEMU parses each option's argument as JSON when it
 * starts with '{' (QEMU's docs/about and qemu-options.hx). */
static const struct
{
  const char *flag;
  guint major, minor;
} json_accepted[] = {
  { "-blockdev", 2, 10 },
  { "-object", 6, 0 },
  { "-device", 6, 2 },
  { "-netdev", 7, 1 },
};

/* Since which version qlaunch writes JSON for an option. JSON is strictly
 * typed (a string "1" for an integer property is refused, which the
 * key=value parser accepts), the form libvirt writes, and the form QMP
 * hot-plugging already uses; key=value stays for 7.2 and 8.x, the versions
 * the project's guest tests run, and reads better in `qlaunch args`. */
static const struct
{
  const char *flag;
  guint major, minor;
} json_written[] = {
  { "-device", 9, 0 },
  { "-object", 9, 0 },
  { "-netdev", 9, 0 },
};

/* Options removed from QEMU: written for an older version only. */
static const struct
{
  const char *flag;
  const char *head;      /* NULL: any */
  guint major, minor;    /* removed in */
  const char *instead;
} removed[] = {
  { "-fsdev", "proxy", 9, 2,
    "use fs-driver local, or a vhost-user-fs device with virtiofsd "
    "(virtfs-proxy-helper is gone too)" },
  { "-realtime", NULL, 6, 0, "use -overcommit mem-lock=on ([knobs] mlock)" },
};

static gboolean
version_at_least (guint major,
                  guint minor,
                  guint want_major,
                  guint want_minor)
{
  return major > want_major || (major == want_major && minor >= want_minor);
}

gboolean
ql_qemu_syntax_accepts_json (guint       major,
                             guint       minor,
                             const char *flag)
{
  for (gsize i = 0; i < G_N_ELEMENTS (json_accepted); i++)
    if (strcmp (flag, json_accepted[i].flag) == 0)
      return version_at_least (major, minor, json_accepted[i].major, json_accepted[i].minor);
  return FALSE;
}

gboolean
ql_qemu_syntax_writes_json (guint       major,
                            guint       minor,
                            const char *flag)
{
  for (gsize i = 0; i < G_N_ELEMENTS (json_written); i++)
    if (strcmp (flag, json_written[i].flag) == 0)
      return version_at_least (major, minor, json_written[i].major, json_written[i].minor);
  return FALSE;
}

/* NULL when QEMU @major.@minor has the option, else why not and what to
 * use instead (static). */
const char *
ql_qemu_syntax_removed (guint       major,
                        guint       minor,
                        const char *flag,
                        const char *head,
                        guint      *removed_major,
                        guint      *removed_minor)
{
  for (gsize i = 0; i < G_N_ELEMENTS (removed); i++)
    if (strcmp (flag, removed[i].flag) == 0
        && (removed[i].head == NULL || g_strcmp0 (head, removed[i].head) == 0)
        && version_at_least (major, minor, removed[i].major, removed[i].minor))
      {
        *removed_major = removed[i].major;
        *removed_minor = removed[i].minor;
        return removed[i].instead;
      }
  return NULL;
}

/* Whether some QEMU version removed @flag (or one of its forms). */
gboolean
ql_qemu_syntax_ever_removed (const char *flag)
{
  for (gsize i = 0; i < G_N_ELEMENTS (removed); i++)
    if (strcmp (flag, removed[i].flag) == 0)
      return TRUE;
  return FALSE;
}

/* Parses "X.Y" or "X.Y.Z" (each a decimal number, no sign). */
gboolean
ql_qemu_syntax_parse_version (const char *text,
                              guint      *major,
                              guint      *minor,
                              guint      *micro)
{
  guint64 parts[3] = { 0, 0, 0 };
  const char *p = text;
  guint n = 0;

  if (text == NULL)
    return FALSE;
  while (n < 3)
    {
      char *end = NULL;

      if (!g_ascii_isdigit (*p))
        return FALSE;
      parts[n] = g_ascii_strtoull (p, &end, 10);
      if (parts[n] > 9999)
        return FALSE;
      n++;
      p = end;
      if (*p == '\0')
        break;
      if (*p != '.')
        return FALSE;
      p++;
    }
  if (*p != '\0' || n < 2)
    return FALSE;
  *major = (guint) parts[0];
  *minor = (guint) parts[1];
  if (micro != NULL)
    *micro = (guint) parts[2];
  return TRUE;
}
