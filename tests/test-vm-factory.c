/* Suite guest: QlVmFactory on a template of the test guest (tests/guest/).
 *
 * One template is made for the whole program: the test guest with the
 * `shell` check, ready when its console prints `QLTEST-SHELL` (the guest
 * then waits for a line). Every clone resumes right there: a line written
 * to its console runs, and `QLTEST-DONE <status>` follows the output. The
 * factory's prepare-clone hook gives each clone a pipe for its console's
 * input and one for its output (the guest console is QEMU's stdio with the
 * no-graphic knob).
 *
 * The acceptance case: a pool of 4 hands out 20 VMs in a row, each one
 * with a VM generation ID and a /dev/urandom stream of its own (the
 * template has identity fix-up), runs under QEMU's seccomp filter (Seccomp: 2 in /proc/PID/status, as
 * did the template's QEMU) and answers on its console, and after the factory's shutdown no QEMU of the
 * template is left and the test holds no more descriptors than before.
 */
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"
#include "ql-test-guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#define N_HANDOUTS 20
#define POOL_SIZE 4

static struct
{
  char *runtime;                /* $XDG_RUNTIME_DIR: the clones' QMP sockets */
  char *tmp;
  QlRegistry *registry;
  QlTemplate *template_;
  gboolean tried;
  int template_seccomp;         /* the template's QEMU while it was made: highest Seccomp mode seen */
} fixture;

/* ---- helpers ------------------------------------------------------------ */

static guint qemu_pids (const char *dir, GArray *pids);
static void template_created (GObject *source, GAsyncResult *result, gpointer data);

/* The template, made on first use (NULL after a failure, reported). */
static QlTemplate *
get_template (void)
{
  const char *guest_dir = ql_test_guest_dir ();
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;
  gint64 start;

  if (fixture.tried)
    {
      if (fixture.template_ == NULL)
        g_test_fail_printf ("the template could not be made (see the first test)");
      return fixture.template_;
    }
  fixture.tried = TRUE;
  fixture.tmp = ql_test_make_tmpdir ();
  fixture.registry = ql_test_registry_new ();
  text = g_strdup_printf ("[vm]\nname = qlfactory\n"
                          "[machine]\ntype = q35\nacceleration = tcg\n"
                          "[memory]\nsize = 256M\n"
                          "[knobs]\nno-user-config = true\nno-graphic = true\n"
                          "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                          "params = " QL_TEST_GUEST_PARAMS " qltest=shell qltest.seed=1\n",
                          guest_dir, guest_dir);
  config = ql_vm_config_new_from_data (text, -1, "factory.vm", fixture.tmp, fixture.registry, &error);
  g_assert_no_error (error);
  dir = g_build_filename (fixture.tmp, "template", NULL);
  start = g_get_monotonic_time ();
  {
    g_autoptr(GAsyncResult) result = NULL;

    /* Made asynchronously, its QEMU watched through /proc meanwhile: the
     * highest seccomp mode it showed (a filter, once installed, stays). */
    fixture.template_seccomp = -1;
    ql_template_create_async (config, dir, "QLTEST-SHELL", 180000, NULL, template_created, &result);
    while (result == NULL)
      {
        g_autoptr(GArray) pids = g_array_new (FALSE, FALSE, sizeof (int));

        qemu_pids (fixture.tmp, pids);
        for (guint i = 0; i < pids->len; i++)
          fixture.template_seccomp = MAX (fixture.template_seccomp,
                                          ql_test_seccomp_mode (g_array_index (pids, int, i)));
        g_main_context_iteration (NULL, FALSE);
        g_usleep (5000);
      }
    fixture.template_ = ql_template_create_finish (result, &error);
  }
  if (fixture.template_ == NULL)
    {
      g_test_fail_printf ("ql_template_create: %s", error->message);
      return NULL;
    }
  g_test_message ("template made in %.2f s in %s", (g_get_monotonic_time () - start) / 1e6,
                  ql_template_get_dir (fixture.template_));
  return fixture.template_;
}

static void
template_created (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;   /* the GDir's own */
}

/* QEMU processes whose command line mentions @dir. */
static guint
count_qemus (const char *dir)
{
  return qemu_pids (dir, NULL);
}

/* The same, their pids appended to @pids (nullable). */
static guint
qemu_pids (const char *dir,
           GArray     *pids)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *cmdline = NULL;
      gsize length = 0;
      gboolean qemu = FALSE, mentions = FALSE;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_build_filename ("/proc", name, "cmdline", NULL);
      if (!g_file_get_contents (path, &cmdline, &length, NULL) || length == 0)
        continue;
      for (const char *arg = cmdline; arg < cmdline + length; arg += strlen (arg) + 1)
        {
          if (arg == cmdline && strstr (arg, "qemu-system-x86_64") != NULL)
            qemu = TRUE;
          if (strstr (arg, dir) != NULL)
            mentions = TRUE;
        }
      if (qemu && mentions)
        {
          int pid = atoi (name);

          n++;
          if (pids != NULL)
            g_array_append_val (pids, pid);
        }
    }
  return n;
}

/* The clones' private directories ($XDG_RUNTIME_DIR/qlaunch/clone-*) left. */
static guint
count_clone_dirs (void)
{
  g_autofree char *path = g_build_filename (fixture.runtime, "qlaunch", NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Each clone's directory goes with its VM: once they are all gone, every
 * VM of the pool was finalized (no reference leaked). Iterates the default
 * context for at most 5 s meanwhile. */
static void
assert_clones_finalized (void)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (count_clone_dirs () > 0 && g_get_monotonic_time () < end)
    ql_test_spin (20);
  g_assert_cmpuint (count_clone_dirs (), ==, 0);
}

/* Iterates the default context until no QEMU of @dir is left, for at most
 * @timeout_ms; returns how many are left. */
static guint
wait_no_qemu (const char *dir,
              guint       timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint n;

  while ((n = count_qemus (dir)) > 0 && g_get_monotonic_time () < end)
    ql_test_spin (20);
  return n;
}

/* ---- the clones' consoles ----------------------------------------------- */

typedef struct
{
  int in_fd;                    /* what the guest reads: we write here */
  int out_fd;                   /* what the guest prints: we read here */
  GString *text;
  gboolean eof;
} Console;

static void
console_free (Console *c)
{
  if (c->in_fd >= 0)
    close (c->in_fd);
  if (c->out_fd >= 0)
    close (c->out_fd);
  g_string_free (c->text, TRUE);
  g_free (c);
}

typedef struct
{
  guint prepared;
  guint failed;
  GError *first_error;
  GError *last_error;
  gboolean with_console;
} Hooks;

static void
on_prepare_clone (QlVmFactory *factory,
                  QlVm        *vm,
                  Hooks       *hooks)
{
  Console *c = g_new0 (Console, 1);
  int in[2], out[2];

  (void) factory;
  hooks->prepared++;
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
  ql_test_vm_guard (vm);
  if (!hooks->with_console)
    {
      g_free (c);
      return;
    }
  g_assert_true (g_unix_open_pipe (in, FD_CLOEXEC, NULL));
  g_assert_true (g_unix_open_pipe (out, FD_CLOEXEC, NULL));
  g_assert_true (g_unix_set_fd_nonblocking (out[0], TRUE, NULL));
  ql_vm_set_stdin_fd (vm, in[0]);
  close (in[0]);
  ql_vm_set_stdout_fd (vm, out[1]);
  close (out[1]);
  c->in_fd = in[1];
  c->out_fd = out[0];
  c->text = g_string_new (NULL);
  g_object_set_data_full (G_OBJECT (vm), "test-console", c, (GDestroyNotify) console_free);
}

static void
on_clone_failed (QlVmFactory *factory,
                 GError      *error,
                 Hooks       *hooks)
{
  (void) factory;
  hooks->failed++;
  if (hooks->first_error == NULL)
    hooks->first_error = g_error_copy (error);
  g_clear_error (&hooks->last_error);
  hooks->last_error = g_error_copy (error);
}

static void
hooks_clear (Hooks *hooks)
{
  g_clear_error (&hooks->first_error);
  g_clear_error (&hooks->last_error);
}

static QlVmFactory *
new_factory (QlTemplate *template_,
             guint       pool_size,
             Hooks      *hooks)
{
  QlVmFactory *factory = ql_vm_factory_new (template_, pool_size);

  g_signal_connect (factory, "prepare-clone", G_CALLBACK (on_prepare_clone), hooks);
  g_signal_connect (factory, "clone-failed", G_CALLBACK (on_clone_failed), hooks);
  return factory;
}

static gboolean
console_readable (int          fd,
                  GIOCondition condition,
                  gpointer     data)
{
  Console *c = data;
  char buf[4096];

  (void) condition;
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);

      if (n > 0)
        {
          for (ssize_t i = 0; i < n; i++)
            if (buf[i] != '\r')
              g_string_append_c (c->text, buf[i]);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return G_SOURCE_CONTINUE;
      c->eof = TRUE;
      return G_SOURCE_REMOVE;
    }
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Writes @line and '\n' to the clone's console and reads until its
 * `QLTEST-DONE`, iterating the default context (the factory's) meanwhile.
 * Returns the output, or NULL (with the console so far in a message). */
static char *
console_run (QlVm       *vm,
             const char *line,
             guint       timeout_s,
             int        *status)
{
  Console *c = g_object_get_data (G_OBJECT (vm), "test-console");
  g_autofree char *command = g_strdup_printf ("%s\n", line);
  gboolean timed_out = FALSE;
  GSource *source;
  guint timer;
  const char *done = NULL;
  gsize start;

  g_assert_nonnull (c);
  start = c->text->len;
  g_assert_cmpint (write (c->in_fd, command, strlen (command)), ==, (ssize_t) strlen (command));
  source = g_unix_fd_source_new (c->out_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (source, G_SOURCE_FUNC (console_readable), c, NULL);
  g_source_attach (source, NULL);
  timer = g_timeout_add_seconds (timeout_s, flag_cb, &timed_out);
  while (!timed_out && !c->eof
         && ((done = strstr (c->text->str + start, "QLTEST-DONE ")) == NULL
             || strchr (done, '\n') == NULL))
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timer);
  g_source_destroy (source);
  g_source_unref (source);
  if (done == NULL || strchr (done, '\n') == NULL)
    {
      g_test_message ("no QLTEST-DONE for '%s' (%s); console:\n%s\nQEMU stderr:\n%s", line,
                      timed_out ? "timed out" : "end of the console", c->text->str + start,
                      ql_vm_get_stderr (vm));
      return NULL;
    }
  if (status != NULL)
    *status = atoi (done + strlen ("QLTEST-DONE "));
  return g_strndup (c->text->str + start, (gsize) (done - (c->text->str + start)));
}

/* Iterates the default context until @factory has @n ready clones, for at
 * most @timeout_ms. */
static gboolean
wait_n_ready (QlVmFactory *factory,
              guint        n,
              guint        timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (ql_vm_factory_get_n_ready (factory) < n && g_get_monotonic_time () < end)
    ql_test_spin (5);
  return ql_vm_factory_get_n_ready (factory) >= n;
}

static void
shutdown_vm (QlVm *vm)
{
  g_autoptr(GError) error = NULL;
  QlVmShutdownMethod method = QL_VM_SHUTDOWN_ALREADY_EXITED;

  g_assert_true (ql_vm_shutdown (vm, 0, &method, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (method, ==, QL_VM_SHUTDOWN_QUIT);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
}

typedef struct
{
  guint notified;
  guint max_ready;
  guint max_starting;
} Counts;

static void
on_counts (QlVmFactory *factory,
           GParamSpec  *pspec,
           Counts      *counts)
{
  (void) pspec;
  counts->notified++;
  counts->max_ready = MAX (counts->max_ready, ql_vm_factory_get_n_ready (factory));
  counts->max_starting = MAX (counts->max_starting, ql_vm_factory_get_n_starting (factory));
}

/* ---- the cases ---------------------------------------------------------- */

/* Pool of 4, 20 VMs in a row: each one answers on its console. */
static void
test_handout_20 (void)
{
  QlTemplate *template_;
  g_autoptr(QlVmFactory) factory = NULL;
  g_autoptr(GError) error = NULL;
  Hooks hooks = { 0 };
  Counts counts = { 0 };
  double latency[N_HANDOUTS];
  double sum = 0, max = 0, fill_s;
  guint waited = 0;
  guint fds_before, fds_after;
  gint64 start, t0;
  const char *dir;
  gpointer weak;
  g_autoptr(GHashTable) guids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) randoms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (ql_test_skip_without_guest () || (template_ = get_template ()) == NULL)
    return;
  /* The template's QEMU (ql_template_create_async()) ran under its seccomp
   * filter too. */
  g_test_message ("the template's QEMU showed Seccomp %d", fixture.template_seccomp);
  g_assert_cmpint (fixture.template_seccomp, ==, 2);
  dir = ql_template_get_dir (template_);
  g_assert_cmpuint (count_qemus (dir), ==, 0);
  fds_before = count_fds ();

  hooks.with_console = TRUE;
  factory = new_factory (template_, POOL_SIZE, &hooks);
  g_signal_connect (factory, "notify::n-ready", G_CALLBACK (on_counts), &counts);
  g_signal_connect (factory, "notify::n-starting", G_CALLBACK (on_counts), &counts);
  g_assert_cmpuint (ql_vm_factory_get_pool_size (factory), ==, POOL_SIZE);
  g_assert_cmpuint (ql_vm_factory_get_n_ready (factory), ==, 0);
  weak = factory;
  g_object_add_weak_pointer (G_OBJECT (factory), &weak);

  start = g_get_monotonic_time ();
  ql_vm_factory_start (factory);
  g_assert_cmpuint (ql_vm_factory_get_n_starting (factory), ==, POOL_SIZE);
  g_assert_true (wait_n_ready (factory, POOL_SIZE, 60000));
  fill_s = (g_get_monotonic_time () - start) / 1e6;
  g_assert_cmpuint (ql_vm_factory_get_n_starting (factory), ==, 0);
  g_assert_cmpuint (count_qemus (dir), ==, POOL_SIZE);
  g_assert_cmpuint (count_clone_dirs (), ==, POOL_SIZE);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < N_HANDOUTS; i++)
    {
      g_autoptr(QlVm) vm = NULL;
      g_autofree char *line = g_strdup_printf ("echo hi-%u", i);
      g_autofree char *expect = g_strdup_printf ("hi-%u\n", i);
      g_autofree char *out = NULL;
      int status = -1;

      if (ql_vm_factory_get_n_ready (factory) == 0)
        waited++;
      t0 = g_get_monotonic_time ();
      vm = ql_vm_factory_get (factory, NULL, &error);
      latency[i] = (g_get_monotonic_time () - t0) / 1e3;
      g_assert_no_error (error);
      g_assert_nonnull (vm);
      sum += latency[i];
      max = MAX (max, latency[i]);
      g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);
      g_assert_cmpstr (ql_vm_get_run_state (vm), ==, "running");
      /* Under QEMU's seccomp filter, as every VM qlaunch starts. */
      g_assert_cmpint (ql_test_seccomp_mode (ql_vm_get_pid (vm)), ==, 2);
      /* The replacement starts in the next iteration of the context, right
       * after the hand-out. */
      g_assert_cmpuint (ql_vm_factory_get_n_ready (factory) + ql_vm_factory_get_n_starting (factory),
                        ==, POOL_SIZE - 1);
      g_main_context_iteration (NULL, FALSE);
      g_assert_cmpuint (ql_vm_factory_get_n_ready (factory) + ql_vm_factory_get_n_starting (factory),
                        ==, POOL_SIZE);

      out = console_run (vm, line, 30, &status);
      g_assert_nonnull (out);
      g_assert_cmpint (status, ==, 0);
      g_assert_nonnull (strstr (out, expect));
      /* A new identity (the template has identity fix-up): a VM
       * generation ID and an RNG stream of its own. */
      {
        g_autoptr(JsonNode) ret = ql_qmp_execute (ql_vm_get_qmp (vm), "query-vm-generation-id", NULL,
                                                  NULL, &error);
        g_autofree char *random = NULL;

        g_assert_no_error (error);
        g_assert_true (g_hash_table_add (guids, g_strdup (json_object_get_string_member (json_node_get_object (ret),
                                                                          "guid"))));
        random = console_run (vm, "head -c 16 /dev/urandom | od -An -tx1 -v | tr -d ' \\n'; echo", 30,
                              &status);
        g_assert_cmpint (status, ==, 0);
        g_assert_true (g_hash_table_add (randoms, g_strdup (random)));
      }
      shutdown_vm (vm);
    }
  g_test_message ("pool of %u filled in %.2f s; %u VMs handed out and answering in %.2f s "
                  "(%u had to wait for a clone)",
                  POOL_SIZE, fill_s, N_HANDOUTS, (g_get_monotonic_time () - start) / 1e6, waited);
  {
    g_autoptr(GString) each = g_string_new (NULL);

    for (guint i = 0; i < N_HANDOUTS; i++)
      g_string_append_printf (each, " %.1f", latency[i]);
    g_test_message ("hand-out latency (get to a running VM in hand): mean %.2f ms, max %.2f ms; each (ms):%s",
                    sum / N_HANDOUTS, max, each->str);
  }
  g_test_message ("%u VM generation IDs and %u 16-byte reads of /dev/urandom, all different",
                  g_hash_table_size (guids), g_hash_table_size (randoms));
  g_assert_cmpuint (g_hash_table_size (guids), ==, N_HANDOUTS);
  g_assert_cmpuint (g_hash_table_size (randoms), ==, N_HANDOUTS);
  g_assert_cmpuint (hooks.failed, ==, 0);
  g_assert_cmpuint (hooks.prepared, ==, N_HANDOUTS + POOL_SIZE);
  g_assert_cmpuint (counts.notified, >, 0);
  g_assert_cmpuint (counts.max_ready, ==, POOL_SIZE);
  g_assert_cmpuint (counts.max_starting, <=, POOL_SIZE);

  g_assert_true (ql_vm_factory_shutdown (factory, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ql_vm_factory_get_n_ready (factory), ==, 0);
  g_assert_cmpuint (ql_vm_factory_get_n_starting (factory), ==, 0);
  /* The pool's QEMUs were reaped before the shutdown completed. */
  g_assert_cmpuint (count_qemus (dir), ==, 0);
  /* A shut-down factory hands out nothing. */
  g_assert_null (ql_vm_factory_get (factory, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_clear_object (&factory);
  g_assert_null (weak);

  /* Every descriptor (console pipes, QMP sockets, QEMU's stderr) goes with
   * its VM; the VMs go once their last callbacks ran. */
  start = g_get_monotonic_time ();
  while ((fds_after = count_fds ()) != fds_before && g_get_monotonic_time () - start < 5 * G_USEC_PER_SEC)
    ql_test_spin (20);
  g_assert_cmpuint (fds_after, ==, fds_before);
  assert_clones_finalized ();
  hooks_clear (&hooks);
}

/* A request on an empty pool waits for the first clone. */
static void
test_get_waits (void)
{
  QlTemplate *template_;
  g_autoptr(QlVmFactory) factory = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  Hooks hooks = { 0 };
  int status = -1;
  gint64 start;

  if (ql_test_skip_without_guest () || (template_ = get_template ()) == NULL)
    return;
  hooks.with_console = TRUE;
  factory = new_factory (template_, 1, &hooks);
  /* Not started: the request starts it. */
  g_assert_cmpuint (ql_vm_factory_get_n_ready (factory), ==, 0);
  start = g_get_monotonic_time ();
  vm = ql_vm_factory_get (factory, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (vm);
  g_test_message ("a request on an empty pool got its VM after %.1f ms",
                  (g_get_monotonic_time () - start) / 1e3);
  g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (ql_vm_factory_get_n_ready (factory) + ql_vm_factory_get_n_starting (factory), ==, 1);
  out = console_run (vm, "echo waited", 30, &status);
  g_assert_nonnull (out);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "waited\n"));

  g_assert_true (ql_vm_factory_shutdown (factory, NULL, &error));
  g_assert_no_error (error);
  /* The VM handed out is the caller's: the shutdown did not touch it. */
  g_clear_pointer (&out, g_free);
  out = console_run (vm, "echo still-here", 30, &status);
  g_assert_nonnull (out);
  g_assert_nonnull (strstr (out, "still-here\n"));
  shutdown_vm (vm);
  g_clear_object (&vm);
  g_clear_object (&factory);
  g_assert_cmpuint (count_qemus (ql_template_get_dir (template_)), ==, 0);
  assert_clones_finalized ();
  g_assert_cmpuint (hooks.failed, ==, 0);
  hooks_clear (&hooks);
}

typedef struct
{
  gboolean done;
  QlVm *vm;
  GError *error;
  guint order;
} GetResult;

static guint get_order;

static void
got_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      data)
{
  GetResult *r = data;

  r->vm = ql_vm_factory_get_finish (QL_VM_FACTORY (source), result, &r->error);
  r->done = TRUE;
  r->order = ++get_order;
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
  guint order;
} ShutdownResult;

static void
shut_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  ShutdownResult *r = data;

  r->ok = ql_vm_factory_shutdown_finish (QL_VM_FACTORY (source), result, &r->error);
  r->done = TRUE;
  r->order = ++get_order;
}

/* The shutdown fails the waiting requests with CANCELLED, and a cancelled
 * request leaves the queue at once. */
static void
test_shutdown_pending (void)
{
  QlTemplate *template_;
  g_autoptr(QlVmFactory) factory = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GetResult gets[3] = { { 0 } };
  GetResult cancelled = { 0 };
  ShutdownResult shut = { 0 };
  Hooks hooks = { 0 };

  if (ql_test_skip_without_guest () || (template_ = get_template ()) == NULL)
    return;
  factory = new_factory (template_, 1, &hooks);
  ql_vm_factory_start (factory);
  g_assert_cmpuint (ql_vm_factory_get_n_starting (factory), ==, 1);
  ql_vm_factory_get_async (factory, cancellable, got_cb, &cancelled);
  for (guint i = 0; i < G_N_ELEMENTS (gets); i++)
    ql_vm_factory_get_async (factory, NULL, got_cb, &gets[i]);
  g_cancellable_cancel (cancellable);
  ql_test_run_until (&cancelled.done, 10000);
  g_assert_error (cancelled.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (cancelled.vm);
  for (guint i = 0; i < G_N_ELEMENTS (gets); i++)
    g_assert_false (gets[i].done);

  ql_vm_factory_shutdown_async (factory, NULL, shut_cb, &shut);
  ql_test_run_until (&shut.done, 30000);
  g_assert_no_error (shut.error);
  g_assert_true (shut.ok);
  for (guint i = 0; i < G_N_ELEMENTS (gets); i++)
    {
      g_assert_true (gets[i].done);
      g_assert_error (gets[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_null (gets[i].vm);
      g_assert_cmpuint (gets[i].order, <, shut.order);
      g_clear_error (&gets[i].error);
    }
  g_assert_cmpuint (ql_vm_factory_get_n_starting (factory), ==, 0);
  g_assert_cmpuint (count_qemus (ql_template_get_dir (template_)), ==, 0);
  g_clear_object (&factory);
  assert_clones_finalized ();
  g_assert_cmpuint (hooks.failed, ==, 0);
  g_clear_error (&cancelled.error);
  hooks_clear (&hooks);
}

static gboolean
cancel_cb (gpointer cancellable)
{
  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

/* A template whose state file is truncated: every clone fails (before any
 * QEMU starts), each failure is reported, and the request fails with the
 * template's error after max-failures in a row. */
static void
test_broken_state (void)
{
  QlTemplate *template_;
  g_autoptr(QlTemplate) broken = NULL;
  g_autoptr(QlVmFactory) factory = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) timeout = g_cancellable_new ();
  g_autoptr(QlVm) vm = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *state = NULL;
  Hooks hooks = { 0 };
  gint64 start;
  guint timer;

  if (ql_test_skip_without_guest () || (template_ = get_template ()) == NULL)
    return;
  copy = g_build_filename (fixture.tmp, "broken", NULL);
  {
    const char *cp[] = { "cp", "-a", "--sparse=always", ql_template_get_dir (template_), copy, NULL };
    const char *chmod[] = { "chmod", "-R", "u+w", copy, NULL };

    g_assert_true (ql_test_run (cp, &error));
    g_assert_no_error (error);
    g_assert_true (ql_test_run (chmod, &error));
    g_assert_no_error (error);
  }
  state = g_build_filename (copy, "state", NULL);
  g_assert_cmpint (truncate (state, 4096), ==, 0);
  broken = ql_template_load (copy, fixture.registry, &error);
  g_assert_no_error (error);
  g_assert_nonnull (broken);

  factory = new_factory (broken, 2, &hooks);
  g_assert_cmpuint (ql_vm_factory_get_max_failures (factory), ==, QL_VM_FACTORY_DEFAULT_MAX_FAILURES);
  start = g_get_monotonic_time ();
  /* A hang would be cut after 60 s (and the error then be CANCELLED). */
  timer = g_timeout_add_seconds (60, cancel_cb, timeout);
  vm = ql_vm_factory_get (factory, timeout, &error);
  if (!g_cancellable_is_cancelled (timeout))
    g_source_remove (timer);
  g_assert_null (vm);
  g_assert_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT);
  g_test_message ("the request failed after %.1f ms and %u clone-failed: %s",
                  (g_get_monotonic_time () - start) / 1e3, hooks.failed, error->message);
  g_assert_nonnull (strstr (error->message, "in a row failed"));
  g_assert_cmpuint (hooks.failed, >=, QL_VM_FACTORY_DEFAULT_MAX_FAILURES);
  g_assert_error (hooks.first_error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT);
  g_clear_error (&error);
  /* It gave up: no retries until the next request. */
  ql_test_spin (500);
  g_assert_cmpuint (ql_vm_factory_get_n_starting (factory), ==, 0);
  g_assert_cmpuint (ql_vm_factory_get_n_ready (factory), ==, 0);
  {
    guint failed = hooks.failed;

    ql_test_spin (500);
    g_assert_cmpuint (hooks.failed, ==, failed);
  }
  /* The next request tries again, and fails the same way. */
  vm = ql_vm_factory_get (factory, NULL, &error);
  g_assert_null (vm);
  g_assert_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT);
  g_clear_error (&error);

  g_assert_true (ql_vm_factory_shutdown (factory, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_qemus (copy), ==, 0);
  g_clear_object (&factory);
  assert_clones_finalized ();
  hooks_clear (&hooks);
}

/* Clones that fail after QEMU started (a deadline too short to load the
 * state): reported, QEMU ended, the request fails with the timeout. */
static void
test_clone_timeout (void)
{
  QlTemplate *template_;
  g_autoptr(QlVmFactory) factory = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVm) vm = NULL;
  Hooks hooks = { 0 };

  if (ql_test_skip_without_guest () || (template_ = get_template ()) == NULL)
    return;
  factory = new_factory (template_, 2, &hooks);
  ql_vm_factory_set_clone_timeout (factory, 1);
  ql_vm_factory_set_max_failures (factory, 2);
  g_assert_cmpuint (ql_vm_factory_get_clone_timeout (factory), ==, 1);
  vm = ql_vm_factory_get (factory, NULL, &error);
  g_assert_null (vm);
  g_assert_nonnull (error);
  g_test_message ("with a 1 ms deadline: %u clone-failed, the request failed with: %s",
                  hooks.failed, error->message);
  g_assert_cmpuint (hooks.failed, >=, 2);
  g_assert_true (error->domain == QL_TEMPLATE_ERROR || error->domain == QL_QMP_ERROR);
  g_clear_error (&error);
  g_assert_true (ql_vm_factory_shutdown (factory, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_qemus (ql_template_get_dir (template_)), ==, 0);
  g_clear_object (&factory);
  assert_clones_finalized ();
  hooks_clear (&hooks);
}

/* Dropping a started factory without shutting it down stops its pool. */
static void
test_dispose_stops_pool (void)
{
  QlTemplate *template_;
  QlVmFactory *factory;
  Hooks hooks = { 0 };
  const char *dir;
  gpointer weak;

  if (ql_test_skip_without_guest () || (template_ = get_template ()) == NULL)
    return;
  dir = ql_template_get_dir (template_);
  factory = new_factory (template_, 2, &hooks);
  ql_vm_factory_start (factory);
  g_assert_true (wait_n_ready (factory, 1, 60000));
  /* One ready, one maybe still starting. */
  g_assert_cmpuint (count_qemus (dir), >=, 1);
  weak = factory;
  g_object_add_weak_pointer (G_OBJECT (factory), &weak);
  g_object_unref (factory);
  /* Gone at once: the clones being started do not hold it. */
  g_assert_null (weak);
  g_assert_cmpuint (wait_no_qemu (dir, 15000), ==, 0);
  assert_clones_finalized ();
  hooks_clear (&hooks);
}

int
main (int    argc,
      char **argv)
{
  int status;

  /* The clones' private directories land in a directory of this test's
   * own (set before GLib reads it). */
  fixture.runtime = g_dir_make_tmp ("qlaunch-factory-run-XXXXXX", NULL);
  g_assert_nonnull (fixture.runtime);
  g_setenv ("XDG_RUNTIME_DIR", fixture.runtime, TRUE);
  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();
  g_test_add_func ("/vm-factory/handout-20", test_handout_20);
  g_test_add_func ("/vm-factory/get-waits", test_get_waits);
  g_test_add_func ("/vm-factory/shutdown-pending", test_shutdown_pending);
  g_test_add_func ("/vm-factory/broken-state", test_broken_state);
  g_test_add_func ("/vm-factory/clone-timeout", test_clone_timeout);
  g_test_add_func ("/vm-factory/dispose-stops-pool", test_dispose_stops_pool);
  status = g_test_run ();
  g_clear_object (&fixture.template_);
  g_clear_object (&fixture.registry);
  if (fixture.tmp != NULL)
    {
      ql_test_rm_rf (fixture.tmp);
      g_free (fixture.tmp);
    }
  ql_test_rm_rf (fixture.runtime);
  g_free (fixture.runtime);
  return status;
}
