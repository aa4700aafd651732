/* The minimal launcher the virtio-fs benchmark compares `qlaunch run` with:
 *
 *   min-driver SOCKET HELPER-ARGV... -- QEMU-ARGV...
 *
 * starts the helper (fork + exec), waits until SOCKET exists as a socket
 * (polled every 1 ms), starts QEMU, waits for QEMU, then for the helper
 * (which ends when QEMU's connection goes), and exits with QEMU's status.
 * libc only: what a shell script or a few lines of C would do. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t
start (char **argv)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      execv (argv[0], argv);
      fprintf (stderr, "min-driver: cannot run %s: %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  return pid;
}

int
main (int   argc,
      char *argv[])
{
  const struct timespec ms = { 0, 1000 * 1000 };
  int sep = 0;
  int status = 0;
  pid_t helper, qemu;
  struct stat st;

  for (int i = 2; i < argc; i++)
    if (strcmp (argv[i], "--") == 0)
      {
        sep = i;
        break;
      }
  if (argc < 4 || sep == 0 || sep == argc - 1)
    {
      fprintf (stderr, "usage: min-driver SOCKET HELPER-ARGV... -- QEMU-ARGV...\n");
      return 2;
    }
  argv[sep] = NULL;
  helper = start (argv + 2);
  while (stat (argv[1], &st) != 0 || !S_ISSOCK (st.st_mode))
    nanosleep (&ms, NULL);
  qemu = start (argv + sep + 1);
  waitpid (qemu, &status, 0);
  waitpid (helper, NULL, 0);
  unlink (argv[1]);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 1;
}
