/* qlaunch — opening a plugin file only through a path no other user can
 * change.
 *
 * A plugin is code that runs as us, so its file is trusted only when no one
 * but root and us could have put it there or could replace it: the file,
 * every directory from `/` down to it, and every symbolic link on the way
 * (and each link's target, resolved the same way) must be owned by root or
 * by our effective user, and no file or directory may be writable by group
 * or others (a sticky world-writable directory such as /tmp included: anyone
 * may create an entry there).
 *
 * The path is resolved here one component at a time with
 * openat(O_PATH | O_NOFOLLOW), each step relative to the descriptor of the
 * directory just checked, and the file is opened from the last of them: what
 * is checked is what is opened, whatever renames happen meanwhile. The
 * caller loads the returned descriptor (/proc/self/fd/N), never the path.
 *
 * A QlCheckedDirs keeps the descriptors of the directories a walk went
 * through, by their real path (the walk's path is always one: it follows
 * links itself), so that the next walk under one of them starts there
 * instead of at `/`: a registry walks each plugin directory and then
 * the path of each plugin file it opens. A directory taken from it is
 * checked again (one fstat()); its ancestors need not be: what the
 * descriptor names cannot change whatever is renamed above it. */
#include "ql-plugin-file.h"
#include "ql-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* As the kernel's limit on symbolic links followed in one lookup. */
#define MAX_LINKS 40
/* The directories a QlCheckedDirs keeps at most. */
#define MAX_CHECKED_DIRS 32

static gboolean check_entry (const char        *filename,
                             const char        *where,
                             const struct stat *st,
                             GError           **error);

typedef struct
{
  char *path;   /* real, absolute, no trailing '/' but for "/" */
  int   fd;     /* O_PATH */
} CheckedDir;

struct _QlCheckedDirs
{
  GArray *dirs; /* CheckedDir */
};

static void
checked_dir_clear (gpointer data)
{
  CheckedDir *dir = data;

  g_free (dir->path);
  close (dir->fd);
}

/**
 * ql_checked_dirs_new:
 *
 * Returns: (transfer full): an empty set of checked directories
 */
QlCheckedDirs *
ql_checked_dirs_new (void)
{
  QlCheckedDirs *checked = g_new0 (QlCheckedDirs, 1);

  checked->dirs = g_array_new (FALSE, FALSE, sizeof (CheckedDir));
  g_array_set_clear_func (checked->dirs, checked_dir_clear);
  return checked;
}

void
ql_checked_dirs_free (QlCheckedDirs *checked)
{
  if (checked == NULL)
    return;
  g_array_unref (checked->dirs);
  g_free (checked);
}

/* Keeps @fd (taken), directory @path, in @checked; else closes it. */
static void
checked_dirs_keep (QlCheckedDirs *checked,
                   const char    *path,
                   int            fd)
{
  CheckedDir dir;

  if (fd < 0)
    return;
  if (checked == NULL || checked->dirs->len >= MAX_CHECKED_DIRS)
    {
      close (fd);
      return;
    }
  for (guint i = 0; i < checked->dirs->len; i++)
    if (strcmp (g_array_index (checked->dirs, CheckedDir, i).path, path) == 0)
      {
        close (fd);
        return;
      }
  dir.path = g_strdup (path);
  dir.fd = fd;
  g_array_append_val (checked->dirs, dir);
}

/* The deepest directory of @checked that @path (absolute, with no "."
 * or ".." components, no empty ones) is in or is, checked again: a new
 * descriptor of it, its path into @where, and in *@rest what of @path
 * is below it. -1: none (then start at "/"). */
static int
checked_dirs_start (QlCheckedDirs *checked,
                    const char    *path,
                    GString       *where,
                    const char   **rest,
                    const char    *filename)
{
  const CheckedDir *best = NULL;
  gsize best_len = 0;
  struct stat st;
  int fd;

  if (checked == NULL)
    return -1;
  for (guint i = 0; i < checked->dirs->len; i++)
    {
      const CheckedDir *dir = &g_array_index (checked->dirs, CheckedDir, i);
      gsize len = strlen (dir->path);

      if (len <= best_len && best != NULL)
        continue;
      if (len == 1 || (strncmp (path, dir->path, len) == 0 && (path[len] == '/' || path[len] == '\0')))
        {
          best = dir;
          best_len = len;
        }
    }
  if (best == NULL)
    return -1;
  /* Its owner and mode now. */
  fd = fcntl (best->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (fstat (fd, &st) != 0 || !S_ISDIR (st.st_mode) || !check_entry (filename, best->path, &st, NULL))
    {
      close (fd);
      return -1;
    }
  g_string_assign (where, best->path);
  *rest = path + (best_len == 1 ? 0 : best_len);
  return fd;
}

/* Whether @path is absolute and has no ".", ".." or empty components
 * (a trailing '/' aside). */
static gboolean
path_is_plain (const char *path)
{
  if (path[0] != '/')
    return FALSE;
  for (const char *p = path; *p != '\0'; p++)
    if (p[0] == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0'
                                                          || (p[2] == '.' && (p[3] == '/' || p[3] == '\0'))))))
      return FALSE;
  return TRUE;
}

/* The components of @path, in order, onto the head of @queue (so that a
 * link's target is resolved before what followed the link). */
static void
push_components (GQueue     *queue,
                 const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);

  for (gssize i = (gssize) g_strv_length (parts) - 1; i >= 0; i--)
    {
      if (parts[i][0] == '\0' || g_str_equal (parts[i], "."))
        continue;
      g_queue_push_head (queue, g_strdup (parts[i]));
    }
}

static gboolean
owner_trusted (const struct stat *st)
{
  return st->st_uid == 0 || st->st_uid == geteuid ();
}

/* Refuses @where (a directory, the file or a link, @kind) by its owner and,
 * except for a link, its mode. */
static gboolean
check_entry (const char        *filename,
             const char        *where,
             const struct stat *st,
             GError           **error)
{
  const char *what;

  if (S_ISDIR (st->st_mode))
    what = "a plugin from directory";
  else if (S_ISLNK (st->st_mode))
    what = "a plugin through symbolic link";
  else
    what = "plugin file";

  if (!owner_trusted (st))
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH,
                   "'%s': refusing to load %s '%s', which is owned by another user (uid %u)",
                   filename, what, where, (guint) st->st_uid);
      return FALSE;
    }
  /* A link's own mode means nothing (it is always 0777). */
  if (!S_ISLNK (st->st_mode) && (st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH,
                   "'%s': refusing to load %s '%s', which is writable by group or others "
                   "(mode %04o)",
                   filename, what, where, (guint) (st->st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_errno_error (const char  *filename,
                 const char  *where,
                 int          saved_errno,
                 GError     **error)
{
  /* Not asked why (a search directory that does not exist): the system's
   * error text costs a character set conversion on first use. */
  if (error == NULL)
    {
      errno = saved_errno;
      return FALSE;
    }
  if (g_str_equal (where, filename))
    g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED,
                 "'%s': cannot open plugin: %s", filename, g_strerror (saved_errno));
  else
    g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED,
                 "'%s': cannot open plugin: '%s': %s", filename, where, g_strerror (saved_errno));
  return FALSE;
}

/* @path with its last component dropped ("/" stays "/"). */
static void
path_up (GString *path)
{
  char *slash = strrchr (path->str, '/');

  g_string_truncate (path, slash != NULL && slash != path->str ? (gsize) (slash - path->str) : 1);
}

static void
path_down (GString    *path,
           const char *name)
{
  if (path->len > 1)
    g_string_append_c (path, '/');
  g_string_append (path, name);
}

/* Replaces *@dir_fd with a descriptor of "/" (or "..") after checking it. */
static gboolean
enter_dir (int         *dir_fd,
           const char  *name,
           const char  *filename,
           const char  *where,
           GError     **error)
{
  struct stat st;
  int fd = openat (*dir_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return set_errno_error (filename, where, errno, error);
  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      return set_errno_error (filename, where, saved_errno, error);
    }
  if (!check_entry (filename, where, &st, error))
    {
      close (fd);
      return FALSE;
    }
  if (*dir_fd != AT_FDCWD)
    close (*dir_fd);
  *dir_fd = fd;
  return TRUE;
}

/* Reads the target of the link @fd (an O_PATH descriptor). */
static char *
read_link (int fd)
{
  gsize size = 256;

  for (;;)
    {
      g_autofree char *buf = g_malloc (size);
      ssize_t len = readlinkat (fd, "", buf, size);

      if (len < 0)
        return NULL;
      if ((gsize) len < size)
        {
          buf[len] = '\0';
          return g_steal_pointer (&buf);
        }
      size *= 2;
    }
}

/* Resolves @filename as ql_plugin_file_open() says; @want_dir: the last
 * component must be a directory, returned as an O_PATH descriptor, else a
 * regular file, opened read-only. */
static int
resolve_checked (QlCheckedDirs *checked,
                 const char    *filename,
                 gboolean       want_dir,
                 struct stat   *st,
                 GError       **error)
{
  g_autoptr(GQueue) queue = g_queue_new ();
  g_autoptr(GString) where = g_string_new ("/");
  g_autofree char *start = NULL;
  int dir_fd = AT_FDCWD;
  int fd = -1;
  guint links = 0;

  if (g_path_is_absolute (filename))
    start = g_strdup (filename);
  else
    {
      g_autofree char *cwd = g_get_current_dir ();

      start = g_build_filename (cwd, filename, NULL);
    }
  if (path_is_plain (start))
    {
      const char *rest = NULL;

      dir_fd = checked_dirs_start (checked, start, where, &rest, filename);
      if (dir_fd >= 0)
        push_components (queue, rest);
    }
  if (dir_fd < 0)
    {
      dir_fd = AT_FDCWD;
      push_components (queue, start);
      if (!enter_dir (&dir_fd, "/", filename, "/", error))
        goto fail;
    }

  while (!g_queue_is_empty (queue))
    {
      g_autofree char *name = g_queue_pop_head (queue);
      gboolean last = g_queue_is_empty (queue);
      struct stat entry_st;
      int entry_fd;

      if (g_str_equal (name, ".."))
        {
          path_up (where);
          if (!enter_dir (&dir_fd, "..", filename, where->str, error))
            goto fail;
          continue;
        }
      path_down (where, name);
      entry_fd = openat (dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (entry_fd < 0 || fstat (entry_fd, &entry_st) != 0)
        {
          int saved_errno = errno;

          if (entry_fd >= 0)
            close (entry_fd);
          set_errno_error (filename, where->str, saved_errno, error);
          goto fail;
        }
      if (!check_entry (filename, where->str, &entry_st, error))
        {
          close (entry_fd);
          goto fail;
        }
      if (S_ISLNK (entry_st.st_mode))
        {
          g_autofree char *target = read_link (entry_fd);
          int saved_errno = errno;

          close (entry_fd);
          if (target == NULL)
            {
              set_errno_error (filename, where->str, saved_errno, error);
              goto fail;
            }
          if (++links > MAX_LINKS)
            {
              set_errno_error (filename, filename, ELOOP, error);
              goto fail;
            }
          /* Resolved from the link's directory, or from / again. */
          path_up (where);
          push_components (queue, target);
          if (target[0] == '/')
            {
              g_string_assign (where, "/");
              if (!enter_dir (&dir_fd, "/", filename, "/", error))
                goto fail;
            }
          continue;
        }
      if (last && want_dir && S_ISDIR (entry_st.st_mode))
        {
          *st = entry_st;
          /* Kept too, for the files to be opened in it. */
          if (checked != NULL)
            checked_dirs_keep (checked, where->str, fcntl (entry_fd, F_DUPFD_CLOEXEC, 0));
          path_up (where);
          checked_dirs_keep (checked, where->str, dir_fd);
          return entry_fd;
        }
      if (!last || want_dir)
        {
          if (!S_ISDIR (entry_st.st_mode))
            {
              close (entry_fd);
              set_errno_error (filename, where->str, ENOTDIR, error);
              goto fail;
            }
          /* Its parent is the path without it: where a link's target
           * is resolved from, the walk went on from its directory. */
          path_up (where);
          checked_dirs_keep (checked, where->str, dir_fd);
          path_down (where, name);
          dir_fd = entry_fd;
          continue;
        }
      close (entry_fd);
      if (!S_ISREG (entry_st.st_mode))
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED,
                       "'%s': cannot open plugin: not a regular file", filename);
          goto fail;
        }
      /* O_NONBLOCK: should it have become a FIFO, the open does not wait. */
      fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0 || fstat (fd, st) != 0)
        {
          set_errno_error (filename, where->str, errno, error);
          goto fail;
        }
      /* What was opened is what was checked: the same file, still a
       * regular file with a trusted owner and mode. */
      if (st->st_dev != entry_st.st_dev || st->st_ino != entry_st.st_ino || !S_ISREG (st->st_mode))
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH,
                       "'%s': refusing to load plugin file '%s', which was replaced while "
                       "it was checked", filename, where->str);
          goto fail;
        }
      if (!check_entry (filename, where->str, st, error))
        goto fail;
      path_up (where);
      checked_dirs_keep (checked, where->str, dir_fd);
      return fd;
    }
  /* The path named a directory ("/", or ending in ".."). */
  if (want_dir)
    {
      if (fstat (dir_fd, st) == 0)
        return dir_fd;
      set_errno_error (filename, where->str, errno, error);
      goto fail;
    }
  g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED,
               "'%s': cannot open plugin: not a regular file", filename);

fail:
  /* The components not reached (the queue's own cleanup frees no data). */
  g_queue_clear_full (queue, g_free);
  if (fd >= 0)
    close (fd);
  if (dir_fd >= 0)
    close (dir_fd);
  return -1;
}

/**
 * ql_plugin_file_open:
 * @checked: (nullable): directories checked already, to start from; the
 *   directories this walk goes through are added
 * @filename: the plugin file (relative: to the current directory)
 * @st: (out): its status, read from the returned descriptor
 * @error: return location for a #QL_PLUGIN_ERROR error
 *
 * Resolves @filename component by component, checking every directory, link
 * and the file as the top of this file says, and opens the file read-only
 * (close-on-exec) from the descriptor of its directory. A failed check is
 * %QL_PLUGIN_ERROR_INSECURE_PATH naming @filename and the directory, link
 * or file at fault; a missing component, a loop or a file that is not a
 * regular file is %QL_PLUGIN_ERROR_OPEN_FAILED.
 *
 * Returns: the descriptor, or -1 with @error set
 */
int
ql_plugin_file_open (QlCheckedDirs *checked,
                     const char    *filename,
                     struct stat   *st,
                     GError       **error)
{
  return resolve_checked (checked, filename, FALSE, st, error);
}

/**
 * ql_plugin_file_open_dir:
 * @checked: (nullable): as for ql_plugin_file_open()
 * @dirname: a plugin directory
 * @st: (out): its status
 * @error: return location for a #QL_PLUGIN_ERROR error
 *
 * Resolves @dirname as ql_plugin_file_open() resolves a plugin file, every
 * directory and link on the way checked, and returns an `O_PATH`
 * descriptor of it (close-on-exec). A plugin file found from it with
 * ql_plugin_file_check_at() is trusted as ql_plugin_file_open() would
 * trust it, without walking the path again.
 *
 * Returns: the descriptor, or -1 with @error set
 */
int
ql_plugin_file_open_dir (QlCheckedDirs *checked,
                         const char    *dirname,
                         struct stat   *st,
                         GError       **error)
{
  return resolve_checked (checked, dirname, TRUE, st, error);
}

/**
 * ql_plugin_file_check_at:
 * @dir_fd: a descriptor of ql_plugin_file_open_dir()
 * @name: a file name in it
 * @st: (out): its status
 *
 * Whether @name in @dir_fd is a regular file (not a symbolic link) that
 * ql_plugin_file_open() would accept: owned by root or us, not writable by
 * group or others. One fstatat(), nothing opened. A link, or anything
 * refused, gives %FALSE: the caller then goes the long way, which says why.
 *
 * Returns: whether the file is trusted
 */
gboolean
ql_plugin_file_check_at (int          dir_fd,
                         const char  *name,
                         struct stat *st)
{
  if (fstatat (dir_fd, name, st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG (st->st_mode))
    return FALSE;
  return check_entry (name, name, st, NULL);
}

/* The descriptors that name plugin files for the dynamic loader, by file:
 * "DEV:INO" → "/proc/self/fd/N", N open for the life of the process. */
static GMutex module_names_lock;
static GHashTable *module_names;

/**
 * ql_plugin_file_module_name:
 * @fd: (transfer full): a descriptor of ql_plugin_file_open()
 * @st: its status
 *
 * The name to give the dynamic loader (g_module_open()) for the file
 * of @fd: `/proc/self/fd/N`, so that it maps the file that was checked. The
 * loader remembers every name an object was opened by and answers a later
 * open of the same name with that object, so N is never closed: the first
 * descriptor of each file (device and inode) is kept for the life of the
 * process and reused for that file, and @fd is closed if one is kept
 * already. One descriptor per plugin file, close-on-exec.
 *
 * Returns: (transfer none): the name, valid for the life of the process
 */
const char *
ql_plugin_file_module_name (int                fd,
                            const struct stat *st)
{
  g_autofree char *key = g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                          (guint64) st->st_dev, (guint64) st->st_ino);
  const char *name;

  g_mutex_lock (&module_names_lock);
  if (module_names == NULL)
    module_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  name = g_hash_table_lookup (module_names, key);
  if (name != NULL)
    close (fd);
  else
    {
      char *new_name = g_strdup_printf ("/proc/self/fd/%d", fd);

      g_hash_table_insert (module_names, g_steal_pointer (&key), new_name);
      name = new_name;
    }
  g_mutex_unlock (&module_names_lock);
  return name;
}
