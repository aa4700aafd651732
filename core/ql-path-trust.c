/* qlaunch — whether a program qlaunch runs is one only root and we can
 * change, and QEMU's own data files found without its working directory.
 *
 * qlaunch is often run as root, from any directory. A program it executes
 * (the QEMU binary it probes and starts) must not be replaceable by
 * another local user: the file and every directory up to `/` must be
 * owned by root or by us and writable by neither group nor others (a
 * sticky directory such as /tmp included: its owner-only deletion does
 * not stop a file planted there in the first place). Both the path as
 * given and the path its symbolic links lead to are checked. */
#include "ql-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

/* @path and every directory above it, lexically. */
static gboolean
check_chain (const char  *what,
             const char  *path,
             GError     **error)
{
  g_autofree char *current = g_canonicalize_filename (path, "/");

  for (;;)
    {
      GStatBuf st;
      g_autofree char *parent = NULL;

      if (g_stat (current, &st) != 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "%s '%s': %s: %s", what, path, current, g_strerror (saved));
          return FALSE;
        }
      if (ql_file_writable_by_others (&st))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                       "%s '%s': refused: %s (owner uid %u, mode %04o) could be changed by another user "
                       "(it must be owned by root or by uid %u, and writable by neither group nor others)",
                       what, path, current, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777),
                       (unsigned) getuid ());
          return FALSE;
        }
      if (g_str_equal (current, "/"))
        return TRUE;
      parent = g_path_get_dirname (current);
      g_free (current);
      current = g_steal_pointer (&parent);
    }
}

/*
 * ql_path_check_trusted:
 * @what: what @path is, for the message (`QEMU binary`)
 * @path: an absolute path
 * @error: return location for a %G_IO_ERROR_PERMISSION_DENIED error naming
 *   @path and the file or directory another user could change
 *
 * Checks that no other user than root and us can change @path, nor what
 * it resolves to.
 *
 * Returns: %TRUE when @path is safe to execute
 */
gboolean
ql_path_check_trusted (const char  *what,
                       const char  *path,
                       GError     **error)
{
  g_autofree char *real = realpath (path, NULL);

  if (!check_chain (what, path, error))
    return FALSE;
  return real == NULL || g_str_equal (real, path) || check_chain (what, real, error);
}

G_LOCK_DEFINE_STATIC (data_dirs);
static GHashTable *data_dirs_by_binary;   /* binary -> GStrv */

/* `BINARY -L help`: QEMU's data directories, in its search order. */
static GStrv
read_data_dirs (const char  *binary,
                GError     **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GStrvBuilder) dirs = g_strv_builder_new ();

  g_subprocess_launcher_set_cwd (launcher, "/");
  proc = g_subprocess_launcher_spawn (launcher, error, binary, "-L", "help", NULL);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, error))
    return NULL;
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "'%s -L help' failed: QEMU's data directories are unknown", binary);
      return NULL;
    }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_path_is_absolute (lines[i]))
      {
        g_autofree char *dir = g_canonicalize_filename (lines[i], "/");

        g_strv_builder_add (dirs, dir);
      }
  return g_strv_builder_end (dirs);
}

/*
 * ql_qemu_find_data_file:
 * @binary: the canonical path of a probed QEMU binary
 * @name: a file name without `/`
 * @error: return location for a %QL_CONFIG_ERROR_HOST error
 *
 * Finds @name in the data directories of @binary (what `-L help` lists),
 * as QEMU does, without looking in the working directory first as QEMU
 * does: the name is one of QEMU's own files.
 *
 * Returns: (transfer full): the file's absolute path, or %NULL
 */
char *
ql_qemu_find_data_file (const char  *binary,
                        const char  *name,
                        GError     **error)
{
  const char * const *dirs;
  g_autofree char *list = NULL;

  G_LOCK (data_dirs);
  if (data_dirs_by_binary == NULL)
    data_dirs_by_binary = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
  dirs = g_hash_table_lookup (data_dirs_by_binary, binary);
  if (dirs == NULL)
    {
      GStrv found = read_data_dirs (binary, error);

      if (found == NULL)
        {
          G_UNLOCK (data_dirs);
          return NULL;
        }
      g_hash_table_insert (data_dirs_by_binary, g_strdup (binary), found);
      dirs = (const char * const *) found;
    }
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          G_UNLOCK (data_dirs);
          return g_steal_pointer (&path);
        }
    }
  list = g_strjoinv (", ", (char **) dirs);
  G_UNLOCK (data_dirs);
  g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
               "'%s' is not in the data directories of %s (%s); give a path to use another file",
               name, binary, list);
  return NULL;
}
