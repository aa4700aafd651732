/* qlaunch tests — a stand-in for qemu-system-* in the launcher's unit tests.
 *
 * Plain C and POSIX, no GLib: what it records is what the kernel gave it.
 *
 *   FAKE_QEMU_RECORD=FILE     write FILE (atomically: FILE.tmp, then rename)
 *                             with one item a line:
 *                               pid N
 *                               argv ARG          (each argument, in order)
 *                               fd N TARGET       (each open descriptor and
 *                                                  its /proc/self/fd link)
 *                               env NAME=VALUE    (each environment entry)
 *   FAKE_QEMU_STDERR=TEXT     written to stderr (after the record)
 *   FAKE_QEMU_IGNORE_TERM=1   SIGTERM is ignored
 *   FAKE_QEMU_SLEEP_MS=N      sleep N ms (restarted when interrupted)
 *   FAKE_QEMU_EXIT=N          exit status (default 0)
 *   FAKE_QEMU_DAEMONIZE=1     imitate -daemonize: fork; the child starts a
 *                             new session, writes its pid to the file after
 *                             -pidfile in argv, points its stdio at
 *                             /dev/null, tells the parent, then sleeps and
 *                             exits; the parent exits 0 once told. With
 *                             FAKE_QEMU_EXIT != 0 the child writes
 *                             FAKE_QEMU_STDERR and dies before telling,
 *                             and the parent exits 1 (as QEMU does).
 *   FAKE_QEMU_PIDFILE=bad     the daemon writes garbage into the pid file;
 *                    =none    it writes no pid file
 *   FAKE_QEMU_DAEMON_DELAY_MS=N  the daemon waits N ms between writing the
 *                             pid file and telling the parent (QEMU's
 *                             initialization)
 *   FAKE_QEMU_STDERR_REPEAT=N write FAKE_QEMU_STDERR N times (default 1)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int
env_int (const char *name,
         int         fallback)
{
  const char *v = getenv (name);

  return v != NULL && *v != '\0' ? atoi (v) : fallback;
}

static int
env_true (const char *name)
{
  const char *v = getenv (name);

  return v != NULL && strcmp (v, "1") == 0;
}

static void
record (int    argc,
        char **argv)
{
  const char *path = getenv ("FAKE_QEMU_RECORD");
  char tmp[PATH_MAX];
  DIR *dir;
  struct dirent *e;
  FILE *f;
  /* Listed before the record file is opened: only what we were given. */
  static char lines[256][PATH_MAX + 32];
  int n_lines = 0;

  if (path == NULL || *path == '\0')
    return;

  dir = opendir ("/proc/self/fd");
  if (dir == NULL)
    {
      perror ("fake-qemu: /proc/self/fd");
      exit (100);
    }
  while ((e = readdir (dir)) != NULL && n_lines < 256)
    {
      char link[64], target[PATH_MAX];
      ssize_t n;
      int fd;

      if (e->d_name[0] == '.')
        continue;
      fd = atoi (e->d_name);
      if (fd == dirfd (dir))
        continue;
      snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
      n = readlink (link, target, sizeof target - 1);
      if (n < 0)
        continue;
      target[n] = '\0';
      snprintf (lines[n_lines++], sizeof lines[0], "fd %d %s", fd, target);
    }
  closedir (dir);

  snprintf (tmp, sizeof tmp, "%s.tmp", path);
  f = fopen (tmp, "we");
  if (f == NULL)
    {
      perror ("fake-qemu: record");
      exit (100);
    }
  fprintf (f, "pid %d\n", (int) getpid ());
  for (int i = 0; i < argc; i++)
    fprintf (f, "argv %s\n", argv[i]);
  for (int i = 0; i < n_lines; i++)
    fprintf (f, "%s\n", lines[i]);
  for (char **env = environ; *env != NULL; env++)
    fprintf (f, "env %s\n", *env);
  if (fclose (f) != 0 || rename (tmp, path) != 0)
    {
      perror ("fake-qemu: record");
      exit (100);
    }
}

static void
sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

  while (ms > 0 && nanosleep (&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void
write_stderr (void)
{
  const char *text = getenv ("FAKE_QEMU_STDERR");

  int repeat = env_int ("FAKE_QEMU_STDERR_REPEAT", 1);

  for (int i = 0; text != NULL && i < repeat; i++)
    {
      size_t left = strlen (text);
      const char *p = text;

      while (left > 0)
        {
          ssize_t n = write (STDERR_FILENO, p, left);

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            return;
          p += n;
          left -= (size_t) n;
        }
    }
}

static int
daemonize (int    argc,
           char **argv)
{
  const char *pid_file = NULL;
  int pipe_fds[2];
  pid_t pid;

  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], "-pidfile") == 0)
      pid_file = argv[i + 1];
  if (pid_file == NULL)
    {
      fprintf (stderr, "fake-qemu: -daemonize needs -pidfile here\n");
      return 1;
    }
  if (pipe2 (pipe_fds, O_CLOEXEC) != 0)
    return 1;

  pid = fork ();
  if (pid < 0)
    return 1;
  if (pid > 0)
    {
      char status;
      ssize_t n;

      close (pipe_fds[1]);
      do
        n = read (pipe_fds[0], &status, 1);
      while (n < 0 && errno == EINTR);
      return n == 1 && status == 0 ? 0 : 1;
    }

  /* The daemon. */
  close (pipe_fds[0]);
  setsid ();
  if (env_int ("FAKE_QEMU_EXIT", 0) != 0)
    {
      write_stderr ();
      _exit (env_int ("FAKE_QEMU_EXIT", 0));
    }
  {
    const char *mode = getenv ("FAKE_QEMU_PIDFILE");
    int null_fd;
    char ok = 0;

    if (mode == NULL || strcmp (mode, "none") != 0)
      {
        FILE *f = fopen (pid_file, "we");

        if (f == NULL)
          _exit (1);
        if (mode != NULL && strcmp (mode, "bad") == 0)
          fprintf (f, "not-a-pid\n");
        else
          fprintf (f, "%d\n", (int) getpid ());
        fclose (f);
      }
    write_stderr ();
    sleep_ms (env_int ("FAKE_QEMU_DAEMON_DELAY_MS", 0));
    null_fd = open ("/dev/null", O_RDWR);
    dup2 (null_fd, 0);
    dup2 (null_fd, 1);
    dup2 (null_fd, 2);
    close (null_fd);
    if (write (pipe_fds[1], &ok, 1) != 1)
      _exit (1);
    close (pipe_fds[1]);
  }
  sleep_ms (env_int ("FAKE_QEMU_SLEEP_MS", 0));
  _exit (0);
}

int
main (int    argc,
      char **argv)
{
  if (env_true ("FAKE_QEMU_IGNORE_TERM"))
    signal (SIGTERM, SIG_IGN);

  record (argc, argv);

  if (env_true ("FAKE_QEMU_DAEMONIZE"))
    return daemonize (argc, argv);

  write_stderr ();
  sleep_ms (env_int ("FAKE_QEMU_SLEEP_MS", 0));
  return env_int ("FAKE_QEMU_EXIT", 0);
}
