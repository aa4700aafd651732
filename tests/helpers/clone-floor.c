/* The raw-QEMU floor of the template benchmarks: what a few lines of C do
 * to start a clone, with nothing qlaunch does around it.
 *
 *   clone-floor STATE QMP-PATH -- QEMU-ARGV...
 *
 * QEMU-ARGV is a clone's (the template manifest's argv with the memory
 * file, `-qmp unix:QMP-PATH,server=on,wait=off -S -incoming defer`); QEMU
 * inherits this program's stdin, stdout and stderr (the guest console).
 * Starts QEMU (fork + execvp: the manifest may name it without a path),
 * connects to QMP as soon as the socket is
 * there, then: qmp_capabilities, migrate-set-capabilities x-ignore-shared
 * and events, getfd of STATE (as SCM_RIGHTS: the clone's argv denies QEMU
 * exec, so no exec: migration), migrate-incoming fd:, the MIGRATION
 * completed event, cont. Then prints on stderr
 *
 *   clone-floor: resumed: qmp M ms, migrated M ms, cont M ms
 *
 * (milliseconds since its start at each phase), waits for QEMU and exits
 * with its status. libc only; any failure: a message and exit status 1. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t qemu;
static struct timespec start;
static char buf[1 << 16];
static size_t len;

static void
die (const char *fmt,
     ...)
{
  va_list ap;

  fprintf (stderr, "clone-floor: ");
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "\n");
  if (qemu > 0)
    kill (qemu, SIGKILL);
  exit (1);
}

static double
ms (void)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start.tv_sec) * 1e3 + (now.tv_nsec - start.tv_nsec) / 1e6;
}

/* The next line from QMP (NUL-terminated, in a static buffer). */
static const char *
read_line (int fd)
{
  static char line[sizeof buf];

  for (;;)
    {
      char *nl = memchr (buf, '\n', len);
      ssize_t n;

      if (nl != NULL)
        {
          size_t l = nl - buf;

          memcpy (line, buf, l);
          line[l] = '\0';
          memmove (buf, nl + 1, len - l - 1);
          len -= l + 1;
          return line;
        }
      if (len == sizeof buf)
        die ("QMP line too long");
      n = read (fd, buf + len, sizeof buf - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        die ("QMP closed");
      len += n;
    }
}

/* Sends @json (and @pass as SCM_RIGHTS if >= 0); waits for its return. */
static void
command (int         fd,
         const char *json,
         int         pass)
{
  char cbuf[CMSG_SPACE (sizeof (int))] = { 0 };
  struct iovec iov = { (void *) json, strlen (json) };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

  if (pass >= 0)
    {
      struct cmsghdr *c;

      msg.msg_control = cbuf;
      msg.msg_controllen = sizeof cbuf;
      c = CMSG_FIRSTHDR (&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &pass, sizeof (int));
    }
  if (sendmsg (fd, &msg, MSG_NOSIGNAL) != (ssize_t) strlen (json))
    die ("QMP send: %s", strerror (errno));
  for (;;)
    {
      const char *line = read_line (fd);

      if (strstr (line, "\"return\"") != NULL)
        return;
      if (strstr (line, "\"error\"") != NULL)
        die ("%s: %s", json, line);
    }
}

int
main (int   argc,
      char *argv[])
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  double t_qmp, t_migrated, t_cont;
  int fd, state, status;

  clock_gettime (CLOCK_MONOTONIC, &start);
  if (argc < 5 || strcmp (argv[3], "--") != 0)
    {
      fprintf (stderr, "usage: clone-floor STATE QMP-PATH -- QEMU-ARGV...\n");
      return 2;
    }
  if (strlen (argv[2]) >= sizeof addr.sun_path)
    die ("%s: path too long", argv[2]);
  strcpy (addr.sun_path, argv[2]);
  unlink (argv[2]);
  qemu = fork ();
  if (qemu == 0)
    {
      execvp (argv[4], argv + 4);
      fprintf (stderr, "clone-floor: cannot run %s: %s\n", argv[4], strerror (errno));
      _exit (127);
    }
  if (qemu < 0)
    die ("fork: %s", strerror (errno));

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  for (int tries = 0; connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0; tries++)
    {
      struct timespec ms1 = { 0, 1000000 };

      if (waitpid (qemu, &status, WNOHANG) == qemu)
        {
          qemu = 0;
          die ("QEMU exited before QMP was there");
        }
      if (tries > 60000)
        die ("no QMP socket at %s", argv[2]);
      nanosleep (&ms1, NULL);
    }
  read_line (fd);               /* the greeting */
  t_qmp = ms ();
  command (fd, "{\"execute\":\"qmp_capabilities\"}\n", -1);
  command (fd, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
               "{\"capability\":\"x-ignore-shared\",\"state\":true},"
               "{\"capability\":\"events\",\"state\":true}]}}\n", -1);
  state = open (argv[1], O_RDONLY | O_CLOEXEC);
  if (state < 0)
    die ("%s: %s", argv[1], strerror (errno));
  command (fd, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"state\"}}\n", state);
  close (state);
  command (fd, "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:state\"}}\n", -1);
  for (;;)
    {
      const char *line = read_line (fd);

      if (strstr (line, "\"MIGRATION\"") == NULL)
        continue;
      if (strstr (line, "\"completed\"") != NULL)
        break;
      if (strstr (line, "\"failed\"") != NULL)
        die ("incoming migration failed: %s", line);
    }
  t_migrated = ms ();
  command (fd, "{\"execute\":\"cont\"}\n", -1);
  t_cont = ms ();
  fprintf (stderr, "clone-floor: resumed: qmp %.1f ms, migrated %.1f ms, cont %.1f ms\n",
           t_qmp, t_migrated, t_cont);
  while (waitpid (qemu, &status, 0) < 0)
    if (errno != EINTR)
      die ("waitpid: %s", strerror (errno));
  close (fd);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 1;
}
