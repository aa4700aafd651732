/* qlaunch — QEMU's pid file, and knowing the QEMU it names.
 *
 * QEMU 7.2's -pidfile (qemu_write_pidfile(), util/oslib-posix.c) opens the
 * path with O_CREAT and without O_EXCL or O_NOFOLLOW, then truncates and
 * writes it: a symbolic link planted there would make QEMU (often root)
 * overwrite its target, and a file planted there names whatever process
 * its author chose until QEMU rewrites it. So qlaunch makes the file
 * itself, new, before QEMU starts (QEMU then writes into it), reads it
 * back only if it is still that file, and signals the pid in it only if
 * that process runs QEMU's executable and started after our launch. */
#include "ql-pid-file.h"

#include <time.h>
#include <unistd.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

gboolean
ql_pid_file_create (QlPidFile   *self,
                    const char  *path,
                    GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;
  int fd;

  memset (self, 0, sizeof *self);
  /* A sticky directory (/tmp) is fine: others cannot rename or remove
   * our file there. */
  if (stat (dir, &st) == 0 && (st.st_mode & S_ISVTX) == 0 && ql_file_writable_by_others (&st))
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "refusing the pid file '%s': its directory '%s' can be changed by another user "
                   "(owner %u, mode %04o, not sticky), who could replace the file",
                   path, dir, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
      return FALSE;
    }
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == EEXIST)
        g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                     "refusing the pid file '%s': something is there already (%s); each launch "
                     "makes its pid file new, and never follows, writes or trusts one it did not "
                     "make: remove it if it is a stale one",
                     path, g_file_test (path, G_FILE_TEST_IS_SYMLINK) ? "a symbolic link" : "a file");
      else
        g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                     "cannot create the pid file '%s': %s", path, g_strerror (saved));
      return FALSE;
    }
  if (fstat (fd, &st) != 0)
    {
      int saved = errno;

      close (fd);
      g_unlink (path);
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN,
                   "cannot check the pid file '%s': %s", path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  self->path = g_strdup (path);
  self->dev = st.st_dev;
  self->ino = st.st_ino;
  self->made = TRUE;
  return TRUE;
}

GPid
ql_pid_file_read (QlPidFile   *self,
                  GError     **error)
{
  char buf[64];
  struct stat st;
  char *end = NULL;
  gint64 pid;
  gssize n;
  int fd;

  if (!self->made)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "the daemonized QEMU cannot be found: no pid file was made");
      return 0;
    }
  fd = open (self->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) != 0 || st.st_dev != self->dev || st.st_ino != self->ino)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "the daemonized QEMU cannot be found: the pid file '%s' %s", self->path,
                   fd < 0 ? g_strerror (saved) : "was replaced since qlaunch made it");
      return 0;
    }
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  buf[MAX (n, 0)] = '\0';
  g_strstrip (buf);
  errno = 0;
  pid = g_ascii_strtoll (buf, &end, 10);
  if (n <= 0 || errno != 0 || end == buf || *end != '\0' || pid <= 1 || pid > G_MAXINT)
    {
      g_autofree char *shown = g_strescape (buf, NULL);

      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "the daemonized QEMU cannot be found: pid file '%s' holds '%s', not a pid",
                   self->path, shown);
      return 0;
    }
  return (GPid) pid;
}

void
ql_pid_file_clear (QlPidFile *self)
{
  struct stat st;

  if (self->made && lstat (self->path, &st) == 0 && st.st_dev == self->dev && st.st_ino == self->ino)
    g_unlink (self->path);
  g_clear_pointer (&self->path, g_free);
  self->made = FALSE;
}

guint64
ql_process_now_ticks (void)
{
  struct timespec ts;

  /* /proc/PID/stat's start time: clock ticks since boot (CLOCK_BOOTTIME). */
  clock_gettime (CLOCK_BOOTTIME, &ts);
  return ((guint64) ts.tv_sec * (guint64) sysconf (_SC_CLK_TCK))
         + ((guint64) ts.tv_nsec * (guint64) sysconf (_SC_CLK_TCK)) / 1000000000u;
}

gboolean
ql_process_mark (GPid           pid,
                 QlProcessMark *mark)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *exe_path = g_strdup_printf ("/proc/%d/exe", (int) pid);
  g_autofree char *text = NULL;
  struct stat st;
  const char *p;

  memset (mark, 0, sizeof *mark);
  if (pid <= 0 || !g_file_get_contents (stat_path, &text, NULL, NULL)
      || (p = strrchr (text, ')')) == NULL)
    return FALSE;
  /* After "comm)": field 3 (state) on; the start time is field 22. */
  for (guint field = 2; field < 22 && p != NULL; field++)
    p = strchr (p + 1, ' ');
  if (p == NULL || stat (exe_path, &st) != 0)
    return FALSE;
  mark->start = g_ascii_strtoull (p + 1, NULL, 10);
  mark->exe_dev = st.st_dev;
  mark->exe_ino = st.st_ino;
  mark->known = TRUE;
  return TRUE;
}

gboolean
ql_process_mark_spawned (GPid           pid,
                         const char    *program,
                         guint64        spawn_ticks,
                         QlProcessMark *mark)
{
  g_autofree char *path = NULL;
  struct stat st;

  /* Alive: its own executable. Exited already (a daemonizing QEMU's
   * parent, reaped at once by GLib's worker): the program it was started
   * from. Either way no earlier than the spawn. */
  if (ql_process_mark (pid, mark))
    {
      mark->start = MIN (mark->start, spawn_ticks);
      return TRUE;
    }
  path = program == NULL ? NULL
         : g_path_is_absolute (program) ? g_strdup (program) : g_find_program_in_path (program);
  if (path == NULL || stat (path, &st) != 0)
    return FALSE;
  mark->start = spawn_ticks;
  mark->exe_dev = st.st_dev;
  mark->exe_ino = st.st_ino;
  mark->known = TRUE;
  return TRUE;
}

gboolean
ql_process_is_ours (GPid                 pid,
                    const QlProcessMark *launched,
                    const char          *pid_file,
                    GError             **error)
{
  QlProcessMark now;

  if (!launched->known)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "pid %d (from pid file '%s') cannot be told to be the QEMU this launch started "
                   "(the launched process could not be identified): not following it",
                   (int) pid, pid_file);
      return FALSE;
    }
  if (!ql_process_mark (pid, &now))
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "the daemonized QEMU (pid %d, from pid file '%s') is not running", (int) pid, pid_file);
      return FALSE;
    }
  if (now.exe_dev != launched->exe_dev || now.exe_ino != launched->exe_ino || now.start < launched->start)
    {
      g_set_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON,
                   "pid %d (from pid file '%s') is not the QEMU this launch started (%s): "
                   "not following or signalling it", (int) pid, pid_file,
                   now.start < launched->start ? "it started before it" : "it runs another program");
      return FALSE;
    }
  return TRUE;
}
