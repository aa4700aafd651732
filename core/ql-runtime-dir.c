/* qlaunch — the runtime directory of a running VM: the sockets between
 * QEMU and its helpers live there.
 *
 * Under a base directory that only we can write to:
 *   $XDG_RUNTIME_DIR/qlaunch    when XDG_RUNTIME_DIR is ours, mode 0700
 *   /run/qlaunch                for root otherwise
 *   $TMPDIR/qlaunch-UID         for anyone else
 * each launch makes NAME.XXXXXX (0700), each template clone
 * clone-XXXXXX, and holds an flock on its .lock file while it runs. A directory whose lock nobody holds was left by a
 * launcher that was killed (SIGKILL cannot be caught): the next launch
 * under the same base removes it. */
#include "ql-runtime-dir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define LOCK_NAME QL_RUNTIME_DIR_LOCK_NAME

static gboolean
dir_private (const GStatBuf *st,
             gboolean        exact_0700)
{
  if (!S_ISDIR (st->st_mode) || st->st_uid != getuid ())
    return FALSE;
  if (exact_0700)
    return (st->st_mode & 07777) == 0700;
  return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

char *
ql_runtime_dir_default_base (void)
{
  const char *xdg = g_getenv ("XDG_RUNTIME_DIR");
  GStatBuf st;

  if (xdg != NULL && g_path_is_absolute (xdg) && g_lstat (xdg, &st) == 0 && dir_private (&st, TRUE))
    return g_build_filename (xdg, "qlaunch", NULL);
  if (getuid () == 0)
    return g_strdup ("/run/qlaunch");
  {
    g_autofree char *name = g_strdup_printf ("qlaunch-%u", (unsigned) getuid ());

    return g_build_filename (g_get_tmp_dir (), name, NULL);
  }
}

char *
ql_runtime_dir_name_for (const char *vm_name)
{
  GString *s = g_string_new (NULL);

  for (const char *p = vm_name != NULL ? vm_name : ""; *p != '\0' && s->len < 16; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '-' || *p == '_' ? *p : '_');
  if (s->len == 0 || s->str[0] == '.')
    g_string_prepend (s, "vm");
  return g_string_free (s, FALSE);
}

/* Creates @dir (0700) if it is missing and checks that it is a directory
 * (not a symbolic link) of ours that nobody else can write to. */
static gboolean
ensure_private_dir (const char  *dir,
                    GError     **error)
{
  GStatBuf st;

  if (g_mkdir (dir, 0700) != 0 && errno != EEXIST)
    {
      int saved = errno;

      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "cannot create the runtime directory '%s': %s", dir, g_strerror (saved));
      return FALSE;
    }
  if (g_lstat (dir, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "cannot check the runtime directory '%s': %s", dir, g_strerror (saved));
      return FALSE;
    }
  if (!dir_private (&st, FALSE))
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "refusing the runtime directory '%s': it must be a directory (not a symbolic link) "
                   "owned by user %u and not writable by group or others "
                   "(it is %s, owned by %u, mode %04o); remove it or fix it",
                   dir, (unsigned) getuid (),
                   S_ISDIR (st.st_mode) ? "a directory" : S_ISLNK (st.st_mode) ? "a symbolic link" : "not a directory",
                   (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

/* Removes @dir and what is in it, never following a symbolic link. */
static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;

      if (g_lstat (path, &st) == 0 && S_ISDIR (st.st_mode))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

/* An flock on @dir's lock file, or -1 (EWOULDBLOCK: someone holds it).
 * A new lock file is made under another name, locked, then renamed into
 * place, so that a sweep never finds one that nobody holds yet. */
static int
lock_dir (const char *dir,
          gboolean    create)
{
  g_autofree char *path = g_build_filename (dir, LOCK_NAME, NULL);
  int fd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0 && errno == ENOENT && create)
    {
      g_autofree char *fresh = g_build_filename (dir, LOCK_NAME ".new", NULL);

      g_unlink (fresh);
      fd = open (fresh, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_CREAT | O_EXCL, 0600);
      if (fd < 0)
        return -1;
      if (flock (fd, LOCK_EX | LOCK_NB) != 0 || rename (fresh, path) != 0)
        {
          int saved = errno;

          close (fd);
          g_unlink (fresh);
          errno = saved;
          return -1;
        }
      return fd;
    }
  if (fd < 0)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;

      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

void
ql_runtime_dir_sweep_matching (const char *base,
                               const char *prefix,
                               const char *infix)
{
  g_autoptr(GDir) d = g_dir_open (base, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (base, name, NULL);
      g_autofree char *lock = g_build_filename (path, LOCK_NAME, NULL);
      GStatBuf st;
      GStatBuf lock_st;
      int fd;

      if ((prefix != NULL && !g_str_has_prefix (name, prefix))
          || (infix != NULL && strstr (name, infix) == NULL))
        continue;
      if (g_lstat (path, &st) != 0 || !dir_private (&st, TRUE))
        continue;
      /* No lock file: not ours to judge (a launcher between its mkdir
       * and its lock). */
      if (g_lstat (lock, &lock_st) != 0)
        continue;
      fd = lock_dir (path, FALSE);
      if (fd < 0)
        continue;   /* a launcher holds it: in use */
      remove_tree (path);
      close (fd);
    }
}

void
ql_runtime_dir_sweep (const char *base)
{
  ql_runtime_dir_sweep_matching (base, NULL, NULL);
}

char *
ql_runtime_dir_propose (const char *vm_name)
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  g_autofree char *base = ql_runtime_dir_default_base ();
  g_autofree char *name = ql_runtime_dir_name_for (vm_name);
  char suffix[7];

  for (guint i = 0; i < 6; i++)
    suffix[i] = chars[g_random_int_range (0, (gint32) sizeof chars - 1)];
  suffix[6] = '\0';
  return g_strdup_printf ("%s/%s.%s", base, name, suffix);
}

gboolean
ql_runtime_dir_claim (const char  *dir,
                      gboolean     made_here,
                      int         *lock_fd,
                      GError     **error)
{
  *lock_fd = -1;
  if (!g_path_is_absolute (dir))
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "the runtime directory '%s' is not an absolute path", dir);
      return FALSE;
    }
  if (made_here)
    {
      g_autofree char *base = g_path_get_dirname (dir);

      if (!ensure_private_dir (base, error))
        return FALSE;
      ql_runtime_dir_sweep (base);
      if (g_mkdir (dir, 0700) != 0)
        {
          int saved = errno;

          g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                       "cannot create the runtime directory '%s': %s", dir, g_strerror (saved));
          return FALSE;
        }
    }
  else if (!ensure_private_dir (dir, error))
    return FALSE;

  *lock_fd = lock_dir (dir, TRUE);
  if (*lock_fd < 0)
    {
      int saved = errno;

      if (saved == EWOULDBLOCK)
        g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                     "the runtime directory '%s' is in use by another launcher", dir);
      else
        g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                     "cannot lock the runtime directory '%s': %s", dir, g_strerror (saved));
      if (made_here)
        remove_tree (dir);
      return FALSE;
    }
  return TRUE;
}

void
ql_runtime_dir_remove (const char *dir,
                       gboolean    made_here,
                       int         lock_fd)
{
  if (dir != NULL && made_here)
    remove_tree (dir);
  else if (dir != NULL)
    {
      /* A directory the caller chose: only our lock goes (the helpers
       * removed their sockets), and the directory if it is empty then. */
      g_autofree char *lock = g_build_filename (dir, LOCK_NAME, NULL);

      g_unlink (lock);
      g_rmdir (dir);
    }
  if (lock_fd >= 0)
    close (lock_fd);
}

char *
ql_runtime_dir_make_temp (const char  *prefix,
                          int         *lock_fd,
                          GError     **error)
{
  g_autofree char *base = ql_runtime_dir_default_base ();

  *lock_fd = -1;
  if (!ensure_private_dir (base, error))
    return NULL;
  ql_runtime_dir_sweep (base);
  return ql_runtime_dir_make_temp_in (base, prefix, lock_fd, error);
}

/* This process's start time (clock ticks after boot, /proc/self/stat's
 * 22nd field), or 0. */
static guint64
own_start_time (void)
{
  g_autofree char *stat = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) || (p = strrchr (stat, ')')) == NULL)
    return 0;
  /* Fields 3 on after ") "; the start time is the 22nd field. */
  for (guint field = 2; field < 22 && p != NULL; field++)
    p = strchr (p + 1, ' ');
  return p != NULL ? g_ascii_strtoull (p + 1, NULL, 10) : 0;
}

char *
ql_runtime_dir_make_temp_in (const char  *base,
                             const char  *prefix,
                             int         *lock_fd,
                             GError     **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *owner = NULL;

  *lock_fd = -1;
  dir = g_strdup_printf ("%s/%sXXXXXX", base, prefix);
  if (g_mkdtemp_full (dir, 0700) == NULL)
    {
      int saved = errno;

      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "cannot create a directory in '%s': %s", base, g_strerror (saved));
      return NULL;
    }
  /* Locked for as long as the caller holds @lock_fd: once its process is
   * gone (even SIGKILLed), the kernel drops the lock and the next sweep
   * removes the directory; a live holder's is never touched. */
  *lock_fd = lock_dir (dir, TRUE);
  if (*lock_fd < 0)
    {
      int saved = errno;

      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "cannot lock the directory '%s': %s", dir, g_strerror (saved));
      remove_tree (dir);
      return NULL;
    }
  /* Who holds it, for whoever looks (the lock is what the sweep trusts;
   * a failed write changes nothing). */
  owner = g_strdup_printf ("pid %d start %" G_GUINT64_FORMAT "\n", (int) getpid (), own_start_time ());
  if (write (*lock_fd, owner, strlen (owner)) != (gssize) strlen (owner))
    g_debug ("cannot record the holder of %s: %s", dir, ql_debug_strerror (errno));
  return g_steal_pointer (&dir);
}
