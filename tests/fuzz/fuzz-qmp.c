/* qlaunch fuzzing — the QMP reader.
 *
 * A fake QEMU (this process, the server end of a unix socket in a private
 * temporary directory) greets a QlQmp client and accepts its
 * qmp_capabilities; once the client is ready, it has two commands and an
 * event wait pending, and the server writes the input as its stream and
 * then ends it. Whatever the bytes, every pending operation must finish,
 * with a reply, an event or an error, within the time bound, and nothing
 * may crash. The client's ids are predictable (ql-1 is qmp_capabilities,
 * then ql-2 and ql-3), so inputs can carry matching replies. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "fuzz-common.h"

/* Wall-clock bound for one input (seconds): a hang is a bug. Generous,
 * so that a loaded machine (CI runs two harnesses on two cores, under
 * ASan) is not taken for a hang: an input normally takes microseconds.
 * libFuzzer's own -timeout (25 s in run-one.sh) is above it. */
#define INPUT_TIME_LIMIT_S 20
/* The client's bound for the greeting and qmp_capabilities. */
#define CONNECT_TIMEOUT_MS 15000

static const char greeting[] =
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
  "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\n"
  "{\"return\": {}, \"id\": \"ql-1\"}\n";

static char *tmpdir;
static char *socket_path;
static int listen_fd = -1;

static void
cleanup (void)
{
  if (listen_fd >= 0)
    close (listen_fd);
  if (socket_path != NULL)
    g_unlink (socket_path);
  if (tmpdir != NULL)
    g_rmdir (tmpdir);
}

int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_autoptr(GError) error = NULL;

  ql_fuzz_init ();
  tmpdir = g_dir_make_tmp ("ql-fuzz-qmp-XXXXXX", &error);
  g_assert_no_error (error);
  socket_path = g_build_filename (tmpdir, "qmp.sock", NULL);
  g_assert (strlen (socket_path) < sizeof addr.sun_path);
  strcpy (addr.sun_path, socket_path);
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  g_assert (listen_fd >= 0);
  if (bind (listen_fd, (struct sockaddr *) &addr, sizeof addr) != 0
      || listen (listen_fd, 16) != 0)
    g_error ("cannot listen on %s: %s", socket_path, g_strerror (errno));
  atexit (cleanup);
  return 0;
}

typedef struct
{
  gboolean connected;
  gboolean connect_done;
  guint pending;
} Run;

static void
connect_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Run *run = data;
  g_autoptr(GError) error = NULL;

  run->connected = ql_qmp_connect_finish (QL_QMP (source), result, &error);
  g_assert (run->connected == (error == NULL));
  if (error != NULL)
    g_error ("the fake QEMU's greeting was refused: %s", error->message);
  run->connect_done = TRUE;
}

static void
execute_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Run *run = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ql_qmp_execute_finish (QL_QMP (source), result, &error);

  g_assert ((reply == NULL) == (error != NULL));
  run->pending--;
}

static void
event_done (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Run *run = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) event = ql_qmp_wait_event_finish (QL_QMP (source), result, &error);

  g_assert ((event == NULL) == (error != NULL));
  run->pending--;
}

static void
on_event (QlQmp      *qmp,
          const char *name,
          JsonObject *data,
          gpointer    user_data)
{
  /* Touch what a handler would. */
  (void) ql_qmp_get_event_timestamp (qmp);
  if (data != NULL)
    (void) json_object_get_size (data);
}

/* Reads and drops whatever the client sent. */
static void
drain (int fd)
{
  char buf[4096];

  while (read (fd, buf, sizeof buf) > 0)
    ;
}

/* Writes what it can of @data from *@offset without blocking. */
static void
push (int            fd,
      const uint8_t *data,
      size_t         size,
      size_t        *offset)
{
  while (*offset < size)
    {
      ssize_t n = send (fd, data + *offset, size - *offset, MSG_NOSIGNAL);

      if (n <= 0)
        {
          if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            *offset = size;  /* the client hung up: nothing more to send */
          return;
        }
      *offset += n;
    }
}

static void
check_deadline (gint64 deadline)
{
  if (g_get_monotonic_time () > deadline)
    {
      fprintf (stderr, "qlaunch fuzz: the QMP client did not finish within %d s\n",
               INPUT_TIME_LIMIT_S);
      abort ();
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(QlQmp) qmp = NULL;
  gint64 deadline = g_get_monotonic_time () + INPUT_TIME_LIMIT_S * G_USEC_PER_SEC;
  Run run = { 0 };
  int fd = -1;
  size_t offset = 0;
  gboolean shut = FALSE;

  g_main_context_push_thread_default (context);
  qmp = ql_qmp_new ();
  g_signal_connect (qmp, "event", G_CALLBACK (on_event), NULL);
  ql_qmp_connect_async (qmp, socket_path, CONNECT_TIMEOUT_MS, NULL, connect_done, &run);

  /* Accept the client and greet it. */
  while (fd < 0)
    {
      fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        {
          g_assert (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
          g_main_context_iteration (context, FALSE);
          check_deadline (deadline);
        }
    }
  {
    size_t greeted = 0;

    while (greeted < sizeof greeting - 1)
      push (fd, (const uint8_t *) greeting, sizeof greeting - 1, &greeted);
  }
  while (!run.connect_done)
    {
      drain (fd);
      g_main_context_iteration (context, FALSE);
      check_deadline (deadline);
    }
  g_assert (run.connected);

  /* Two commands and an event wait, then the input as QEMU's stream. */
  run.pending = 3;
  ql_qmp_execute_async (qmp, "query-status", NULL, NULL, execute_done, &run);
  ql_qmp_execute_async (qmp, "query-version", NULL, NULL, execute_done, &run);
  ql_qmp_wait_event_async (qmp, "STOP", NULL, NULL, 1000, NULL, event_done, &run);

  while (run.pending > 0)
    {
      drain (fd);
      if (!shut)
        {
          push (fd, data, size, &offset);
          if (offset == size)
            {
              /* The end of the stream: everything pending must fail. */
              shutdown (fd, SHUT_WR);
              shut = TRUE;
            }
        }
      g_main_context_iteration (context, FALSE);
      check_deadline (deadline);
    }

  ql_qmp_close (qmp);
  close (fd);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_clear_object (&qmp);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  return 0;
}
