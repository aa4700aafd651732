/* A stand-in for a device's helper process (virtiofsd, passt), for the
 * launcher's tests:
 *
 *   fake-helper --socket=PATH --mode=MODE [--say=TEXT]
 *
 * --say writes TEXT and a newline on stderr first. Modes:
 *   listen              listen on PATH, accept and hold connections, until
 *                       a signal ends it
 *   exit:N              exit with status N at once (never listens)
 *   never               never listen; sleep until a signal ends it
 *   listen-exit:MS:N    listen, then exit with status N after MS ms
 *   ignore-term         listen, and ignore SIGTERM (only SIGKILL ends it)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
listen_on (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0 || strlen (path) >= sizeof addr.sun_path)
    {
      fprintf (stderr, "fake-helper: bad socket path\n");
      exit (90);
    }
  strcpy (addr.sun_path, path);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0 || listen (fd, 4) != 0)
    {
      fprintf (stderr, "fake-helper: cannot listen on %s: %s\n", path, strerror (errno));
      exit (91);
    }
  return fd;
}

/* Accepts and holds connections for @ms milliseconds (-1: for ever). */
static void
serve (int listen_fd,
       long ms)
{
  struct timespec start;

  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      struct pollfd p = { .fd = listen_fd, .events = POLLIN };
      struct timespec now;
      long left = -1;

      if (ms >= 0)
        {
          clock_gettime (CLOCK_MONOTONIC, &now);
          left = ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
          if (left <= 0)
            return;
        }
      if (poll (&p, 1, (int) left) > 0)
        {
          int c = accept (listen_fd, NULL, NULL);

          (void) c;   /* held open until exit */
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  const char *socket_path = NULL;
  const char *mode = "listen";

  for (int i = 1; i < argc; i++)
    {
      if (strncmp (argv[i], "--socket=", 9) == 0)
        socket_path = argv[i] + 9;
      else if (strncmp (argv[i], "--mode=", 7) == 0)
        mode = argv[i] + 7;
      else if (strncmp (argv[i], "--say=", 6) == 0)
        fprintf (stderr, "%s\n", argv[i] + 6);
    }

  if (strncmp (mode, "exit:", 5) == 0)
    return atoi (mode + 5);
  if (strcmp (mode, "never") == 0)
    {
      for (;;)
        pause ();
    }
  if (socket_path == NULL)
    {
      fprintf (stderr, "fake-helper: no --socket\n");
      return 92;
    }
  if (strcmp (mode, "ignore-term") == 0)
    signal (SIGTERM, SIG_IGN);
  if (strncmp (mode, "listen-exit:", 12) == 0)
    {
      long ms = strtol (mode + 12, NULL, 10);
      const char *colon = strchr (mode + 12, ':');
      int fd = listen_on (socket_path);

      serve (fd, ms);
      fprintf (stderr, "fake-helper: giving up after %ld ms\n", ms);
      return colon != NULL ? atoi (colon + 1) : 1;
    }
  serve (listen_on (socket_path), -1);
  return 0;
}
