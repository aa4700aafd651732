/* qlaunch tests — processes found through /proc (see ql-test-pids.h). */
#include "ql-test-pids.h"
#include "ql-test-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The command line of /proc/@name, NULs turned to ' ' (the last one
 * kept); NULL when it is gone or has none (a zombie, a kernel thread).
 * @program (nullable): set to the base name of its program. */
static char *
read_cmdline (const char  *name,
              gsize       *len,
              char       **program)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/cmdline", name);
  char *cmdline = NULL;

  if (!g_file_get_contents (path, &cmdline, len, NULL) || *len == 0)
    {
      g_free (cmdline);
      return NULL;
    }
  if (program != NULL)
    *program = g_path_get_basename (cmdline);
  for (gsize i = 0; i + 1 < *len; i++)
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  return cmdline;
}

/* The live processes (not this one) whose program's base name starts
 * with @program (NULL: any) and whose command line holds every one of
 * @needles. */
static GArray *
find (const char         *program,
      const char * const *needles)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *cmdline = NULL;
      g_autofree char *base = NULL;
      gboolean all = TRUE;
      gsize len = 0;
      GPid pid;

      if (!g_ascii_isdigit (name[0]))
        continue;
      pid = (GPid) atoi (name);
      if (pid == getpid () || (cmdline = read_cmdline (name, &len, &base)) == NULL)
        continue;
      if (program != NULL && !g_str_has_prefix (base, program))
        continue;
      for (guint i = 0; needles[i] != NULL && all; i++)
        all = strstr (cmdline, needles[i]) != NULL;
      if (all && ql_test_pid_alive (pid))
        g_array_append_val (pids, pid);
    }
  return pids;
}

GArray *
ql_test_find_processes (const char *program,
                        const char *needle)
{
  const char *needles[] = { needle, NULL };

  return find (program, needles);
}

GArray *
ql_test_find_processes_all (const char * const *needles)
{
  return find (NULL, needles);
}

GArray *
ql_test_children_among (GArray *pids,
                        GPid    parent)
{
  GArray *children = g_array_new (FALSE, FALSE, sizeof (GPid));

  for (guint i = 0; i < pids->len; i++)
    if (ql_test_parent_of (g_array_index (pids, GPid, i)) == parent)
      g_array_append_val (children, g_array_index (pids, GPid, i));
  return children;
}

GArray *
ql_test_qemu_pids (const char *needle)
{
  return ql_test_find_processes ("qemu-system-", needle);
}

gboolean
ql_test_qemu_seen_poll (gpointer data)
{
  QlTestQemuSeen *w = data;
  g_autoptr(GArray) pids = ql_test_qemu_pids (w->needle);

  w->seen = pids->len > 0;
  return !w->seen;
}

gboolean
ql_test_wait_processes_gone (const char *program,
                             const char *needle,
                             guint       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      g_autoptr(GArray) pids = ql_test_find_processes (program, needle);

      if (pids->len == 0)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (20 * 1000);
    }
}

void
ql_test_assert_no_qemu (const char *needle)
{
  if (!ql_test_wait_processes_gone ("qemu-system-", needle, 1000))
    {
      g_autoptr(GArray) pids = ql_test_qemu_pids (needle);

      if (pids->len > 0)
        g_error ("a QEMU (pid %d) mentioning %s is still running", (int) g_array_index (pids, GPid, 0), needle);
    }
}

GPid
ql_test_parent_of (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *paren;
  int ppid = 0;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return 0;
  paren = strrchr (stat, ')');
  if (paren == NULL || sscanf (paren + 2, "%*c %d", &ppid) != 1)
    return 0;
  return (GPid) ppid;
}

GPid
ql_test_only_child_of (GArray     *pids,
                       GPid        parent,
                       const char *what)
{
  GPid found = 0;

  for (guint i = 0; i < pids->len; i++)
    if (ql_test_parent_of (g_array_index (pids, GPid, i)) == parent)
      {
        if (found != 0)
          g_error ("%s: two processes (%d, %d) of parent %d", what, (int) found,
                   (int) g_array_index (pids, GPid, i), (int) parent);
        found = g_array_index (pids, GPid, i);
      }
  if (found == 0)
    g_error ("%s: no process of parent %d among %u", what, (int) parent, pids->len);
  return found;
}

char *
ql_test_process_args (GPid pid)
{
  g_autofree char *name = g_strdup_printf ("%d", (int) pid);
  gsize len = 0;
  char *cmdline = read_cmdline (name, &len, NULL);

  if (cmdline != NULL)
    cmdline[len - 1] = ' ';
  return cmdline;
}

char *
ql_test_proc_status (GPid        pid,
                     const char *key)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *prefix = g_strconcat (key, ":", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      {
        char *value = g_strdup (lines[i] + strlen (prefix));

        g_strdelimit (value, "\t", ' ');
        return g_strstrip (value);
      }
  g_error ("no %s in %s", key, path);
  return NULL;
}
