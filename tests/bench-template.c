/* Benchmark (meson test --benchmark): VM templates against cold boots.
 *
 * The VM is the test guest (tests/guest: TCG, machine pc, 256 MiB, serial
 * console on QEMU's stdio, the interactive shell of qltest=shell). A
 * template of it is made once (`qlaunch template create --ready-pattern
 * QLTEST-SHELL`). Then, in interleaved rounds (default 5,
 * QLAUNCH_BENCH_ROUNDS), request to answering, i.e. from spawning the
 * process to the guest's answer to its first shell command
 * (`cat /tmp/boot-id`, read back as `QLTEST-DONE 0` on the console):
 *
 *   cold:  `qlaunch run VMFILE` (the template's VM file): the guest boots,
 *          prints its prompt, the command is written
 *   clone: `qlaunch template clone DIR`: the command is written at once
 *          (the guest reads it when it runs)
 *   floor: the raw QEMU sequence, driven minimally from this process: QEMU
 *          exec'd with the clone's argv (the manifest's, with the memory
 *          file, a QMP socket and `-S -incoming defer`), QMP connect,
 *          qmp_capabilities, migrate-set-capabilities x-ignore-shared (and
 *          events), getfd of STATE, migrate-incoming fd:state, the MIGRATION
 *          completed event, cont, the command written
 *
 * and prints the medians and the ratios clone/cold (target <= 0.05) and
 * clone/floor (target <= 1.5), with the floor's phases.
 *
 * Memory: N clones (default 10, QLAUNCH_BENCH_VMS) run at once, each
 * answered a command; the sum of their QEMUs' PSS (/proc/PID/smaps_rollup)
 * plus the template's memory file size once, against N cold-booted VMs
 * (QLAUNCH_BENCH_COLD_VMS, default N, booted at once; 0: one cold VM's PSS
 * times N), and the ratio (target <= 0.5).
 *
 * Prints figures only; asserts nothing about time or memory. Needs the
 * test guest (else it says so and exits 77, skipped).
 */
#include "ql-test-guest.h"
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdmessage.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define SHELL_PROMPT "QLTEST-SHELL"
#define SHELL_DONE   "QLTEST-DONE "
#define COMMAND      "cat /tmp/boot-id"

/* ---- a process with its console on pipes -------------------------------- */

typedef struct
{
  GInputStream *stream;
  GString *buf;
  gboolean pending;
  gboolean eof;
} Reader;

typedef struct
{
  GSubprocess *proc;
  GOutputStream *in;
  Reader out;
  Reader err;
  gboolean exited;
  int status;
  gsize pos;
  gint64 start;
  char *what;
} Proc;

static void reader_read (Reader *r);

static void
reader_done (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  Reader *r = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, NULL);

  r->pending = FALSE;
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      r->eof = TRUE;
      return;
    }
  g_string_append_len (r->buf, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  reader_read (r);
}

static void
reader_read (Reader *r)
{
  r->pending = TRUE;
  g_input_stream_read_bytes_async (r->stream, 65536, G_PRIORITY_DEFAULT, NULL, reader_done, r);
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
iterate (void)
{
  static guint tick;

  if (tick == 0)
    tick = g_timeout_add (20, wake_up, NULL);
  g_main_context_iteration (NULL, TRUE);
}

static void
proc_exited (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  Proc *p = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  p->status = g_subprocess_get_if_exited (G_SUBPROCESS (source))
              ? g_subprocess_get_exit_status (G_SUBPROCESS (source)) : -1;
  p->exited = TRUE;
}

static Proc *
proc_spawn (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  Proc *p = g_new0 (Proc, 1);

  p->what = g_strdup (argv[0]);
  p->start = g_get_monotonic_time ();
  p->proc = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  p->in = g_subprocess_get_stdin_pipe (p->proc);
  p->out.stream = g_subprocess_get_stdout_pipe (p->proc);
  p->out.buf = g_string_new (NULL);
  p->err.stream = g_subprocess_get_stderr_pipe (p->proc);
  p->err.buf = g_string_new (NULL);
  reader_read (&p->out);
  reader_read (&p->err);
  g_subprocess_wait_async (p->proc, NULL, proc_exited, p);
  return p;
}

/* `qlaunch --plugin-dir DIR ARGS...` */
static Proc *
qlaunch_spawn (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) g_getenv ("QLAUNCH_BIN"));
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (char *) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (char *) *args);
  g_ptr_array_add (argv, NULL);
  return proc_spawn ((const char * const *) argv->pdata);
}

G_GNUC_NORETURN static void
proc_fail (Proc       *p,
           const char *why)
{
  const char *tail = p->out.buf->str;

  if (p->out.buf->len > 2000)
    tail += p->out.buf->len - 2000;
  g_error ("%s: %s\nstderr:\n%s\nconsole (end):\n%s", p->what, why, p->err.buf->str, tail);
}

static void
proc_write (Proc       *p,
            const char *line)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = g_strconcat (line, "\n", NULL);

  if (!g_output_stream_write_all (p->in, data, strlen (data), NULL, NULL, &error)
      || !g_output_stream_flush (p->in, NULL, &error))
    proc_fail (p, error->message);
}

/* Waits for a line holding @needle, from p->pos on; moves p->pos past it. */
static void
proc_wait_line (Proc       *p,
                const char *needle,
                guint       timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  for (;;)
    {
      const char *buf = p->out.buf->str;
      const char *at = p->pos < p->out.buf->len
                       ? memmem (buf + p->pos, p->out.buf->len - p->pos, needle, strlen (needle)) : NULL;
      const char *nl = at != NULL ? memchr (at, '\n', buf + p->out.buf->len - at) : NULL;

      if (nl != NULL)
        {
          p->pos = nl + 1 - buf;
          return;
        }
      if (p->exited && p->out.eof)
        proc_fail (p, "exited");
      if (g_get_monotonic_time () >= deadline)
        {
          g_autofree char *why = g_strdup_printf ("no '%s' within %u s", needle, timeout_s);

          proc_fail (p, why);
        }
      iterate ();
    }
}

/* Writes @command, waits for QLTEST-DONE 0. */
static void
proc_shell (Proc       *p,
            const char *command,
            guint       timeout_s)
{
  proc_write (p, command);
  proc_wait_line (p, SHELL_DONE, timeout_s);
  {
    const char *line = g_strrstr_len (p->out.buf->str, p->pos, SHELL_DONE);

    if (line == NULL || line[strlen (SHELL_DONE)] != '0')
      proc_fail (p, "the command failed");
  }
}

static int
proc_wait (Proc  *p,
           guint  timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!(p->exited && p->out.eof && p->err.eof))
    {
      if (g_get_monotonic_time () >= deadline)
        proc_fail (p, "did not exit in time");
      iterate ();
    }
  return p->status;
}

/* Powers the guest off (it is at its prompt), waits for the exit. */
static void
proc_poweroff (Proc *p)
{
  proc_write (p, "poweroff");
  if (proc_wait (p, 60) != 0)
    proc_fail (p, "did not exit with status 0");
}

static void
proc_free (Proc *p)
{
  if (p == NULL)
    return;
  if (!p->exited)
    g_subprocess_force_exit (p->proc);
  while (!p->exited || p->out.pending || p->err.pending)
    iterate ();
  g_string_free (p->out.buf, TRUE);
  g_string_free (p->err.buf, TRUE);
  g_object_unref (p->proc);
  g_free (p->what);
  g_free (p);
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

/* The pid qlaunch printed: "qlaunch: QEMU started (pid N)". */
static int
qemu_pid_of (Proc    *p,
             guint    timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  const char *at;

  while ((at = strstr (p->err.buf->str, "QEMU started (pid ")) == NULL)
    {
      if (g_get_monotonic_time () >= deadline || p->exited)
        proc_fail (p, "no 'QEMU started (pid N)' on stderr");
      iterate ();
    }
  return atoi (at + strlen ("QEMU started (pid "));
}

/* The field @key ("Pss") of /proc/PID/smaps_rollup, in kB (0 if absent). */
static guint64
smaps_kb (const char *text,
          const char *key)
{
  g_autofree char *needle = g_strdup_printf ("\n%s:", key);
  const char *at = strstr (text, needle);

  return at != NULL ? g_ascii_strtoull (at + strlen (needle), NULL, 10) : 0;
}

/* Pss of /proc/PID/smaps_rollup, in kB; @detail: its parts. */
static guint64
pss_kb (int    pid,
        char **detail)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/smaps_rollup", pid);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("cannot read %s", path);
  g_assert_nonnull (strstr (text, "\nPss:"));
  *detail = g_strdup_printf ("Rss %" G_GUINT64_FORMAT ", Pss_Anon %" G_GUINT64_FORMAT
                             ", Pss_File %" G_GUINT64_FORMAT ", Pss_Shmem %" G_GUINT64_FORMAT,
                             smaps_kb (text, "Rss"), smaps_kb (text, "Pss_Anon"),
                             smaps_kb (text, "Pss_File"), smaps_kb (text, "Pss_Shmem"));
  return smaps_kb (text, "Pss");
}

/* ---- statistics ---------------------------------------------------------- */

static char *
list_ms (GArray *values)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < values->len; i++)
    g_string_append_printf (s, "%s%.0f", i ? " " : "", g_array_index (values, double, i) * 1e3);
  return g_string_free (s, FALSE);
}

/* ---- the three ways to a guest that answers ------------------------------ */

static double
cold_once (const char *vm_file)
{
  const char *args[] = { "run", vm_file, NULL };
  Proc *p = qlaunch_spawn (args);
  double t;

  proc_wait_line (p, SHELL_PROMPT, 120);
  proc_shell (p, COMMAND, 60);
  t = seconds_since (p->start);
  proc_poweroff (p);
  proc_free (p);
  return t;
}

/* The first line gets a leading blank: a byte written before the clone
 * resumed is dropped by QEMU (tests/test-template-guest.c, type-ahead). */
static double
clone_once (const char *dir)
{
  const char *args[] = { "template", "clone", dir, NULL };
  Proc *p = qlaunch_spawn (args);
  double t;

  proc_shell (p, " " COMMAND, 60);
  t = seconds_since (p->start);
  proc_poweroff (p);
  proc_free (p);
  return t;
}

/* Minimal QMP: one JSON object per line. */
typedef struct
{
  GSocket *socket;
  GString *buf;
} Qmp;

static JsonObject *
qmp_read (Qmp *q)
{
  for (;;)
    {
      char *nl = memchr (q->buf->str, '\n', q->buf->len);
      char chunk[4096];
      gssize n;

      if (nl != NULL)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();
          g_autoptr(GError) error = NULL;
          gsize len = nl - q->buf->str;
          JsonObject *obj;

          json_parser_load_from_data (parser, q->buf->str, len, &error);
          g_assert_no_error (error);
          obj = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
          g_string_erase (q->buf, 0, len + 1);
          return obj;
        }
      n = g_socket_receive (q->socket, chunk, sizeof chunk, NULL, NULL);
      if (n <= 0)
        g_error ("QMP: connection closed");
      g_string_append_len (q->buf, chunk, n);
    }
}

/* Sends @json (with @fd, when >= 0, as SCM_RIGHTS), returns once its
 * "return" came (events before it are skipped, an error aborts). */
static void
qmp_command_fd (Qmp        *q,
                const char *json,
                int         fd)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_strconcat (json, "\n", NULL);
  gsize done = 0;

  if (fd >= 0)
    {
      g_autoptr(GSocketControlMessage) message = g_unix_fd_message_new ();
      GOutputVector vector = { line, strlen (line) };
      gssize n;

      if (!g_unix_fd_message_append_fd (G_UNIX_FD_MESSAGE (message), fd, &error))
        g_error ("QMP: %s", error->message);
      n = g_socket_send_message (q->socket, NULL, &vector, 1, &message, 1, 0, NULL, &error);
      if (n <= 0)
        g_error ("QMP send: %s", error != NULL ? error->message : "closed");
      done = n;
    }

  while (done < strlen (line))
    {
      gssize n = g_socket_send (q->socket, line + done, strlen (line) - done, NULL, &error);

      if (n <= 0)
        g_error ("QMP send: %s", error != NULL ? error->message : "closed");
      done += n;
    }
  for (;;)
    {
      g_autoptr(JsonObject) obj = qmp_read (q);

      if (json_object_has_member (obj, "return"))
        return;
      if (json_object_has_member (obj, "error"))
        g_error ("QMP %s: %s", json,
                 json_object_get_string_member (json_object_get_object_member (obj, "error"), "desc"));
    }
}

static void
qmp_command (Qmp        *q,
             const char *json)
{
  qmp_command_fd (q, json, -1);
}

typedef struct
{
  double qmp;        /* QMP greeting read */
  double migrated;   /* MIGRATION completed */
  double resumed;    /* cont returned */
  double answered;   /* QLTEST-DONE */
} FloorTimes;

static void
floor_once (char       **argv,
            const char  *qmp_path,
            const char  *state,
            FloorTimes  *times)
{
  g_autofree char *incoming = NULL;
  g_autoptr(GError) error = NULL;
  Qmp q = { NULL, g_string_new (NULL) };
  Proc *p;

  g_unlink (qmp_path);
  p = proc_spawn ((const char * const *) argv);
  q.socket = ql_test_unix_connect (qmp_path, 10000, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (q.socket, TRUE);
  json_object_unref (qmp_read (&q));        /* the greeting */
  times->qmp = seconds_since (p->start);
  qmp_command (&q, "{\"execute\":\"qmp_capabilities\"}");
  qmp_command (&q, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
                   "{\"capability\":\"x-ignore-shared\",\"state\":true},"
                   "{\"capability\":\"events\",\"state\":true}]}}");
  {
    /* The state as a descriptor, as qlaunch passes it: the clone's argv
     * has QEMU's seccomp filter with spawn=deny, no exec: migration. */
    int fd = open (state, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
      g_error ("%s: %s", state, g_strerror (errno));
    qmp_command_fd (&q, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"state\"}}", fd);
    close (fd);
  }
  incoming = g_strdup ("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:state\"}}");
  qmp_command (&q, incoming);
  for (;;)
    {
      g_autoptr(JsonObject) obj = qmp_read (&q);
      const char *status;

      if (g_strcmp0 (json_object_get_string_member_with_default (obj, "event", ""), "MIGRATION") != 0)
        continue;
      status = json_object_get_string_member (json_object_get_object_member (obj, "data"), "status");
      if (g_str_equal (status, "completed"))
        break;
      if (g_str_equal (status, "failed"))
        proc_fail (p, "incoming migration failed");
    }
  times->migrated = seconds_since (p->start);
  qmp_command (&q, "{\"execute\":\"cont\"}");
  times->resumed = seconds_since (p->start);
  proc_shell (p, COMMAND, 60);
  times->answered = seconds_since (p->start);
  g_object_unref (q.socket);
  g_string_free (q.buf, TRUE);
  proc_poweroff (p);
  proc_free (p);
}

/* The clone's QEMU argv: the manifest's (memory file at a placeholder),
 * with the template's memory file, a QMP socket and -S -incoming defer. */
static char **
floor_argv (const char *dir,
            const char *qmp_path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *manifest = g_build_filename (dir, "manifest.json", NULL);
  g_autofree char *memory = g_build_filename (dir, "memory", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  JsonArray *array;

  json_parser_load_from_file (parser, manifest, &error);
  g_assert_no_error (error);
  array = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "argv");
  g_assert_nonnull (array);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *arg = json_array_get_string_element (array, i);
      g_autoptr(GString) s = g_string_new (arg);

      g_string_replace (s, "mem-path=/template/memory", "", 0);
      if (s->len != strlen (arg))
        {
          g_string_assign (s, arg);
          g_string_replace (s, "/template/memory", memory, 0);
        }
      g_ptr_array_add (argv, g_string_free (g_steal_pointer (&s), FALSE));
    }
  g_ptr_array_add (argv, g_strdup ("-qmp"));
  g_ptr_array_add (argv, g_strdup_printf ("unix:%s,server=on,wait=off", qmp_path));
  g_ptr_array_add (argv, g_strdup ("-S"));
  g_ptr_array_add (argv, g_strdup ("-incoming"));
  g_ptr_array_add (argv, g_strdup ("defer"));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

/* ---- memory -------------------------------------------------------------- */

/* Starts @n VMs at once (`qlaunch ARGS`), each answers a command; returns
 * the sum of their QEMUs' PSS in kB; powers them off. */
static guint64
pss_of_many (const char * const *args,
             guint               n,
             gboolean            cold,
             double             *seconds)
{
  g_autoptr(GPtrArray) procs = g_ptr_array_new ();
  gint64 start = g_get_monotonic_time ();
  guint64 total = 0;

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (procs, qlaunch_spawn (args));
  for (guint i = 0; i < n; i++)
    {
      Proc *p = g_ptr_array_index (procs, i);

      if (cold)
        {
          proc_wait_line (p, SHELL_PROMPT, 600);
          proc_shell (p, COMMAND, 120);
        }
      else
        proc_shell (p, " " COMMAND, 120);
    }
  *seconds = seconds_since (start);
  /* Let the guests settle, then measure. */
  g_usleep (G_USEC_PER_SEC);
  for (guint i = 0; i < n; i++)
    {
      Proc *p = g_ptr_array_index (procs, i);
      int pid = qemu_pid_of (p, 10);
      g_autofree char *detail = NULL;
      guint64 kb = pss_kb (pid, &detail);

      g_print ("  %s %u: QEMU pid %d, PSS %" G_GUINT64_FORMAT " kB (%s)\n",
               cold ? "cold VM" : "clone", i, pid, kb, detail);
      total += kb;
    }
  for (guint i = 0; i < n; i++)
    proc_write (g_ptr_array_index (procs, i), "poweroff");
  for (guint i = 0; i < n; i++)
    {
      Proc *p = g_ptr_array_index (procs, i);

      if (proc_wait (p, 120) != 0)
        proc_fail (p, "did not exit with status 0");
      proc_free (p);
    }
  return total;
}

static char *bench_dir;
static char *vm_name;     /* the cold VMs' QEMUs have it in their argv */

/* A failure (or meson's timeout) ends this process: kill the QEMUs of the
 * benchmark's directory (qlaunch's children and the floor's) with it. */
static void
kill_leftovers (int sig)
{
  g_autoptr(GDir) proc = bench_dir != NULL ? g_dir_open ("/proc", 0, NULL) : NULL;
  const char *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/cmdline", name);
      g_autofree char *cmdline = NULL;
      gsize len = 0;

      if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (path, &cmdline, &len, NULL) || len == 0)
        continue;
      if (strstr (cmdline, "qemu-system-") == NULL)
        continue;
      for (gsize at = 0; at < len; at += strlen (cmdline + at) + 1)
        if (strstr (cmdline + at, bench_dir) != NULL || g_strcmp0 (cmdline + at, vm_name) == 0)
          {
            kill (atoi (name), SIGKILL);
            break;
          }
    }
  if (bench_dir != NULL)
    ql_test_rm_rf (bench_dir);    /* the template: 256 MiB */
  signal (sig, SIG_DFL);
  raise (sig);
}

static guint
env_uint (const char *name,
          guint       fallback)
{
  const char *v = g_getenv (name);

  return v != NULL && *v != '\0' ? (guint) atoi (v) : fallback;
}

int
main (int    argc,
      char **argv)
{
  const char *guest = ql_test_guest_dir ();
  guint rounds = MAX (env_uint ("QLAUNCH_BENCH_ROUNDS", 5), 1);
  guint vms = MAX (env_uint ("QLAUNCH_BENCH_VMS", 10), 1);
  guint cold_vms = env_uint ("QLAUNCH_BENCH_COLD_VMS", vms);
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *tpl = NULL;
  g_autofree char *state = NULL;
  g_autofree char *qmp_path = NULL;
  g_autofree char *memory = NULL;
  g_auto(GStrv) qemu_argv = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) cold = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) clone = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_ = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_qmp = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_migrated = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_resumed = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *l1 = NULL, *l2 = NULL, *l3 = NULL;
  double create_s, m_cold, m_clone, m_floor, t_clones = 0, t_cold = 0;
  guint64 clones_kb, cold_kb, file_kb;
  GStatBuf st;

  (void) argc;
  (void) argv;
  signal (SIGPIPE, SIG_IGN);
  if (guest == NULL)
    {
      g_print ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest): skipped\n");
      return 77;
    }
  g_assert_nonnull (g_getenv ("QLAUNCH_BIN"));
  g_assert_nonnull (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));

  dir = ql_test_make_tmpdir ();
  bench_dir = dir;
  signal (SIGABRT, kill_leftovers);
  signal (SIGTRAP, kill_leftovers);
  signal (SIGTERM, kill_leftovers);
  signal (SIGINT, kill_leftovers);
  vm_file = g_build_filename (dir, "bench.vm", NULL);
  vm_name = g_strdup_printf ("qlbench-%d", (int) getpid ());
  vm_text = g_strdup_printf ("[vm]\nname = %s\n"
                             "[machine]\ntype = pc\nacceleration = tcg\n"
                             "[memory]\nsize = 256M\n"
                             "[knobs]\nno-user-config = true\nno-graphic = true\n"
                             "[kernel]\npath = %s/vmlinuz\ninitrd = %s/initramfs.img\n"
                             "params = console=ttyS0 quiet panic=-1 qltest=shell\n", vm_name, guest, guest);
  g_file_set_contents (vm_file, vm_text, -1, &error);
  g_assert_no_error (error);
  tpl = g_build_filename (dir, "tpl", NULL);
  state = g_build_filename (tpl, "state", NULL);
  memory = g_build_filename (tpl, "memory", NULL);
  qmp_path = g_build_filename (dir, "floor.qmp", NULL);

  g_print ("VM: the test guest, machine pc, TCG, 256 MiB, console on stdio (qltest=shell)\n");
  {
    const char *args[] = { "template", "create", "--ready-pattern", SHELL_PROMPT, vm_file, tpl, NULL };
    Proc *p = qlaunch_spawn (args);

    if (proc_wait (p, 300) != 0)
      proc_fail (p, "template create failed");
    create_s = seconds_since (p->start);
    proc_free (p);
  }
  g_assert_cmpint (g_stat (state, &st), ==, 0);
  g_print ("template create: %.2f s (state %" G_GINT64_FORMAT " bytes)\n", create_s, (gint64) st.st_size);
  qemu_argv = floor_argv (tpl, qmp_path);
  {
    g_autofree char *cmd = g_strjoinv (" ", qemu_argv);

    g_print ("floor QEMU argv: %s\n", cmd);
  }

  /* Warm-up (page cache, QEMU's modules): one of each, not counted. */
  {
    FloorTimes ft;

    clone_once (tpl);
    floor_once (qemu_argv, qmp_path, state, &ft);
  }

  for (guint r = 0; r < rounds; r++)
    {
      for (guint k = 0; k < 3; k++)
        {
          /* rotate the order from round to round */
          guint which = (k + r) % 3;
          double t;

          if (which == 0)
            {
              t = cold_once (vm_file);
              g_array_append_val (cold, t);
            }
          else if (which == 1)
            {
              t = clone_once (tpl);
              g_array_append_val (clone, t);
            }
          else
            {
              FloorTimes ft;

              floor_once (qemu_argv, qmp_path, state, &ft);
              g_array_append_val (floor_, ft.answered);
              g_array_append_val (floor_qmp, ft.qmp);
              g_array_append_val (floor_migrated, ft.migrated);
              g_array_append_val (floor_resumed, ft.resumed);
            }
        }
    }
  m_cold = ql_test_median (cold);
  m_clone = ql_test_median (clone);
  m_floor = ql_test_median (floor_);
  l1 = list_ms (cold);
  l2 = list_ms (clone);
  l3 = list_ms (floor_);
  g_print ("request to first command answered, median of %u runs:\n", rounds);
  g_print ("  cold boot (qlaunch run):         %8.1f ms   (runs: %s)\n", m_cold * 1e3, l1);
  g_print ("  clone (qlaunch template clone):  %8.1f ms   (runs: %s)\n", m_clone * 1e3, l2);
  g_print ("  raw QEMU floor (same argv, QMP): %8.1f ms   (runs: %s)\n", m_floor * 1e3, l3);
  g_print ("    floor phases (medians): QMP greeting %.1f ms, migration completed %.1f ms, "
           "cont returned %.1f ms, answered %.1f ms\n",
           ql_test_median (floor_qmp) * 1e3, ql_test_median (floor_migrated) * 1e3, ql_test_median (floor_resumed) * 1e3, m_floor * 1e3);
  g_print ("  clone / cold  = %.4f  (target <= 0.05)\n", m_clone / m_cold);
  g_print ("  clone / floor = %.3f   (target <= 1.5)\n", m_clone / m_floor);

  /* Memory. */
  g_assert_cmpint (g_stat (memory, &st), ==, 0);
  file_kb = st.st_size / 1024;
  g_print ("template memory file: %" G_GUINT64_FORMAT " kB, %" G_GUINT64_FORMAT " kB of it allocated\n",
           file_kb, (guint64) st.st_blocks / 2);
  {
    const char *args[] = { "template", "clone", tpl, NULL };

    g_print ("memory: %u clones at once:\n", vms);
    clones_kb = pss_of_many (args, vms, FALSE, &t_clones);
  }
  {
    const char *args[] = { "run", vm_file, NULL };

    if (cold_vms == 0)
      {
        g_print ("memory: 1 cold-booted VM (times %u):\n", vms);
        cold_kb = pss_of_many (args, 1, TRUE, &t_cold) * vms;
      }
    else
      {
        g_print ("memory: %u cold-booted VMs at once:\n", cold_vms);
        cold_kb = pss_of_many (args, cold_vms, TRUE, &t_cold);
        if (cold_vms != vms)
          cold_kb = cold_kb * vms / cold_vms;
      }
  }
  g_print ("memory, %u VMs answering: clones %" G_GUINT64_FORMAT " kB PSS + template memory file %"
           G_GUINT64_FORMAT " kB = %" G_GUINT64_FORMAT " kB (%.0f MiB; all answering after %.1f s)\n",
           vms, clones_kb, file_kb, clones_kb + file_kb, (clones_kb + file_kb) / 1024.0, t_clones);
  g_print ("memory, %u cold-booted VMs%s: %" G_GUINT64_FORMAT " kB PSS (%.0f MiB; all answering after %.1f s)\n",
           vms, cold_vms == 0 ? " (1 measured, times N)" : cold_vms != vms ? " (scaled)" : "",
           cold_kb, cold_kb / 1024.0, t_cold);
  g_print ("memory ratio (clones + file) / cold = %.3f  (target <= 0.5)\n",
           (double) (clones_kb + file_kb) / cold_kb);

  {
    const char *chmod[] = { "chmod", "-R", "u+w", dir, NULL };

    ql_test_run (chmod, NULL);
  }
  ql_test_rm_rf (dir);
  return 0;
}
