/* The minimal launcher the virtio-fs benchmark compares `qlaunch run` with:
 *
 *   min-driver SOCKET HELPER-ARGV... -- QEMU-ARGV...
 *
 * makes a unix socket listening at SOCKET and starts the helper (fork +
 * exec) with it as descriptor 3 (socket activation: the argv `qlaunch
 * args` prints for virtiofsd says --fd=3), starts QEMU at once, waits for
 * QEMU, then for the helper (which ends when QEMU's connection goes), and
 * exits with QEMU's status. libc only: what a few lines of C would do. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t
start (char **argv,
       int    fd3)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      if (fd3 >= 0 && dup2 (fd3, 3) != 3)
        _exit (126);
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
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int sep = 0;
  int status = 0;
  int listener;
  pid_t helper, qemu;

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
  strncpy (addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  listener = socket (AF_UNIX, SOCK_STREAM, 0);
  if (listener < 0 || bind (listener, (struct sockaddr *) &addr, sizeof addr) != 0
      || listen (listener, 16) != 0)
    {
      fprintf (stderr, "min-driver: cannot listen on %s: %s\n", argv[1], strerror (errno));
      return 1;
    }
  helper = start (argv + 2, listener);
  close (listener);
  qemu = start (argv + sep + 1, -1);
  waitpid (qemu, &status, 0);
  waitpid (helper, NULL, 0);
  unlink (argv[1]);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 1;
}
