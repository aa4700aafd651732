/* qlaunch — QlVmFactory: a pool of running clones of a template, handed out
 * on request and replaced in the background.
 *
 * Everything runs in the factory's main context (the thread-default context
 * of ql_vm_factory_start()). The pool's QEMUs are in three places: the
 * clones being started (Start), the ready clones (the queue `ready`,
 * running and connected to QMP), and the QEMUs being ended (Retire: a
 * clone that broke, the pool at shutdown). Handing a clone out is taking
 * it from the queue: nothing is asked of its QEMU then.
 *
 * Pending requests and shutdowns hold a reference on the factory (their
 * GTask); clones being started or ended do not: they point back at the
 * factory through a pointer that dispose clears, so dropping the last
 * reference to a started factory still disposes it and stops its QEMUs.
 */
#include "ql-private.h"

#include <string.h>

/* After a clone failed, how long until the pool is filled again. */
#define RETRY_DELAY_MS 200

typedef struct
{
  QlVmFactory *factory;         /* NULL once the factory is disposed */
  QlVm *vm;
} Start;

typedef struct
{
  QlVmFactory *factory;         /* NULL once the factory is disposed */
  QlVm *vm;
} Retire;

/* The task data of a get request. */
typedef struct
{
  GSource *cancel_source;       /* while the request waits in the queue */
} Request;

/* The task data of a shutdown. */
typedef struct
{
  GSource *cancel_source;
  gboolean cancelled;
} Shutdown;

/**
 * QlVmFactory:
 *
 * A pool of clones of a #QlTemplate, started ahead of time and handed out
 * on request: the "VM factory" of Kata Containers' VM templating.
 *
 * Once started (ql_vm_factory_start()), the factory keeps
 * #QlVmFactory:pool-size clones ready: each one created with
 * ql_template_new_clone() and started with ql_template_start_clone_async(),
 * so its QEMU runs, its state is loaded, its QMP connection is open and
 * its guest runs (resumed ahead of the request: the guest has handled the
 * new VM generation ID, and whatever it does on it, before anyone gets
 * it). A request (ql_vm_factory_get_async()) gets the oldest ready clone
 * as it is, without a round trip to its QEMU, and a replacement starts in
 * the background right after. When no clone is ready, requests wait,
 * first come first served, for the next one.
 *
 * A clone that fails to start (or a ready one whose QEMU dies) is reported
 * through #QlVmFactory::clone-failed and replaced. After
 * #QlVmFactory:max-failures failures in a row, the pending requests fail
 * with the last error and the factory stops retrying until the next
 * request arrives.
 *
 * To reach the guests' consoles, connect to #QlVmFactory::prepare-clone:
 * it is emitted for every clone before its QEMU is started, when
 * ql_vm_set_stdin_fd() and ql_vm_set_stdout_fd() may still be called.
 *
 * The owner ends the factory with ql_vm_factory_shutdown_async(): it ends
 * every QEMU of the pool and completes once they are gone. VMs handed out
 * belong to the caller and are never touched by the factory. Dropping the
 * last reference to a factory that was not shut down stops the pool's
 * QEMUs with signals (ql_vm_stop()) as a safety net; they are reaped only
 * while the factory's main context keeps running.
 *
 * The factory runs in the thread-default main context of
 * ql_vm_factory_start() (or of the first request), which must keep running
 * (a main loop, or the blocking calls, which iterate it); it is not
 * thread-safe: use it from the thread of that context.
 */
struct _QlVmFactory
{
  GObject parent_instance;

  QlTemplate *template_;
  guint pool_size;
  guint clone_timeout;
  guint max_failures;

  GMainContext *context;        /* set by ql_vm_factory_start() */
  gboolean started;
  gboolean shutting_down;
  gboolean hurry;               /* a shutdown was cancelled: signals now */
  GCancellable *cancel;         /* cancels the clones being started */

  GQueue ready;                 /* QlVm (owned), oldest first */
  GList *starting;              /* Start */
  GList *retiring;              /* Retire */
  GQueue requests;              /* GTask (owned) of waiting gets, oldest first */
  GList *shutdowns;             /* GTask (owned) of pending shutdowns */

  guint failures;               /* consecutive */
  GSource *fill_source;         /* a delayed refill */

  guint last_n_ready;
  guint last_n_starting;
};

G_DEFINE_FINAL_TYPE (QlVmFactory, ql_vm_factory, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_TEMPLATE,
  PROP_POOL_SIZE,
  PROP_CLONE_TIMEOUT,
  PROP_MAX_FAILURES,
  PROP_N_READY,
  PROP_N_STARTING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_PREPARE_CLONE,
  SIGNAL_CLONE_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void fill (QlVmFactory *self);
static guint dispatch (QlVmFactory *self);

/* ---- helpers ------------------------------------------------------------ */

static gboolean
vm_is_alive (QlVm *vm)
{
  QlVmState state = ql_vm_get_state (vm);

  return state == QL_VM_STATE_STARTING || state == QL_VM_STATE_RUNNING;
}

/* Notifies n-ready and n-starting when they changed (within a freeze, the
 * handlers run once the factory is consistent). */
static void
update_counts (QlVmFactory *self)
{
  guint n_ready = self->ready.length;
  guint n_starting = g_list_length (self->starting);

  if (n_ready != self->last_n_ready)
    {
      self->last_n_ready = n_ready;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_READY]);
    }
  if (n_starting != self->last_n_starting)
    {
      self->last_n_starting = n_starting;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_STARTING]);
    }
}

/* Makes the factory's context the thread-default one around a call that
 * attaches to the thread-default context; FALSE when it is already. */
static gboolean
push_context (QlVmFactory *self)
{
  GMainContext *current = g_main_context_get_thread_default ();

  if ((current != NULL ? current : g_main_context_default ()) == self->context)
    return FALSE;
  g_main_context_push_thread_default (self->context);
  return TRUE;
}

static void
pop_context (QlVmFactory *self,
             gboolean     pushed)
{
  if (pushed)
    g_main_context_pop_thread_default (self->context);
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
request_free (Request *req)
{
  destroy_source (&req->cancel_source);
  g_free (req);
}

static void
shutdown_data_free (Shutdown *s)
{
  destroy_source (&s->cancel_source);
  g_free (s);
}

/* Fails every waiting request with @error (taken). The queue is emptied
 * first: a callback may queue a new request. */
static void
fail_requests (QlVmFactory *self,
               GError      *error)
{
  GQueue tasks = self->requests;

  g_queue_init (&self->requests);
  for (GList *l = tasks.head; l != NULL; l = l->next)
    {
      Request *req = g_task_get_task_data (l->data);

      destroy_source (&req->cancel_source);
    }
  for (GList *l = tasks.head; l != NULL; l = l->next)
    g_task_return_error (l->data, g_error_copy (error));
  g_queue_clear_full (&tasks, g_object_unref);
  g_error_free (error);
}

/* ---- ending the pool's QEMUs -------------------------------------------- */

static void
maybe_finish_shutdown (QlVmFactory *self)
{
  GList *tasks;

  if (!self->shutting_down || self->shutdowns == NULL)
    return;
  if (self->starting != NULL || self->ready.length > 0 || self->retiring != NULL)
    return;
  tasks = g_steal_pointer (&self->shutdowns);
  for (GList *l = tasks; l != NULL; l = l->next)
    {
      Shutdown *s = g_task_get_task_data (l->data);

      destroy_source (&s->cancel_source);
    }
  for (GList *l = tasks; l != NULL; l = l->next)
    {
      Shutdown *s = g_task_get_task_data (l->data);

      if (s->cancelled)
        g_task_return_new_error (l->data, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 "The shutdown was cancelled: the pool's QEMUs were stopped with signals");
      else
        g_task_return_boolean (l->data, TRUE);
    }
  g_list_free_full (tasks, g_object_unref);
}

static void
retire_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  Retire *r = data;
  QlVmFactory *self = r->factory;

  ql_vm_shutdown_finish (QL_VM (source), result, NULL, NULL);
  if (self != NULL)
    {
      g_object_ref (self);
      self->retiring = g_list_remove (self->retiring, r);
      maybe_finish_shutdown (self);
      g_object_unref (self);
    }
  g_object_unref (r->vm);
  g_free (r);
}

/* Ends a QEMU of the pool (`quit`, then signals); takes @vm. */
static void
retire (QlVmFactory *self,
        QlVm        *vm)
{
  Retire *r;
  gboolean pushed;

  if (!vm_is_alive (vm))
    {
      g_object_unref (vm);
      return;
    }
  r = g_new0 (Retire, 1);
  r->factory = self;
  r->vm = vm;
  self->retiring = g_list_prepend (self->retiring, r);
  pushed = push_context (self);
  ql_vm_shutdown_async (vm, 0, NULL, retire_done, r);
  pop_context (self, pushed);
  if (self->hurry)
    ql_vm_stop (vm);
}

/* ---- failures ----------------------------------------------------------- */

static gboolean
fill_source_cb (gpointer data)
{
  QlVmFactory *self = data;

  g_clear_pointer (&self->fill_source, g_source_unref);
  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  fill (self);
  update_counts (self);
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_fill (QlVmFactory *self,
               guint        delay_ms)
{
  if (self->fill_source != NULL || self->context == NULL)
    return;
  self->fill_source = g_timeout_source_new (delay_ms);
  /* No reference: dispose destroys the source. */
  g_source_set_callback (self->fill_source, fill_source_cb, self, NULL);
  g_source_set_name (self->fill_source, "[qlaunch] VM factory refill");
  g_source_attach (self->fill_source, self->context);
}

/* A clone failed (takes @error): reported, counted, and after too many in
 * a row the waiting requests fail with it. The pool is filled again a
 * little later. */
static void
clone_failed (QlVmFactory *self,
              GError      *error)
{
  self->failures++;
  g_signal_emit (self, signals[SIGNAL_CLONE_FAILED], 0, error);
  if (self->failures >= self->max_failures && self->requests.length > 0)
    {
      GError *copy = g_error_copy (error);

      g_prefix_error (&copy, "%u clone%s in a row failed; the last: ",
                      self->failures, self->failures == 1 ? "" : "s");
      fail_requests (self, copy);
    }
  g_error_free (error);
  schedule_fill (self, RETRY_DELAY_MS);
}

/* ---- the ready clones --------------------------------------------------- */

static void
pooled_vm_state_changed (QlVm        *vm,
                         GParamSpec  *pspec,
                         QlVmFactory *self)
{
  const char *err;
  GError *error;

  (void) pspec;
  if (vm_is_alive (vm) || !g_queue_remove (&self->ready, vm))
    return;
  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  g_signal_handlers_disconnect_by_func (vm, pooled_vm_state_changed, self);
  err = ql_vm_get_stderr (vm);
  error = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED,
                       "a ready clone's QEMU (pid %d) exited with status %d%s%s",
                       (int) ql_vm_get_pid (vm), ql_vm_get_exit_status (vm),
                       err != NULL && *err != '\0' ? ": " : "", err != NULL ? err : "");
  g_object_unref (vm);
  clone_failed (self, error);
  update_counts (self);
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
}

/* Takes @vm. */
static void
add_ready (QlVmFactory *self,
           QlVm        *vm)
{
  g_signal_connect (vm, "notify::state", G_CALLBACK (pooled_vm_state_changed), self);
  g_queue_push_tail (&self->ready, vm);
}

/* The oldest ready clone (owned by the caller), or NULL. */
static QlVm *
take_ready (QlVmFactory *self)
{
  QlVm *vm = g_queue_pop_head (&self->ready);

  if (vm != NULL)
    g_signal_handlers_disconnect_by_func (vm, pooled_vm_state_changed, self);
  return vm;
}

/* ---- starting clones ---------------------------------------------------- */

static void
start_done (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Start *s = data;
  QlVmFactory *self = s->factory;
  g_autoptr(GError) error = NULL;
  QlVm *vm = g_steal_pointer (&s->vm);
  gboolean ok;

  ok = ql_template_start_clone_finish (QL_TEMPLATE (source), result, &error);
  if (self == NULL)
    {
      /* The factory is gone: nobody will use this clone. */
      if (vm_is_alive (vm))
        ql_vm_stop (vm);
      g_object_unref (vm);
      g_free (s);
      return;
    }
  self->starting = g_list_remove (self->starting, s);
  g_free (s);

  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  if (ok && !vm_is_alive (vm))
    {
      ok = FALSE;
      error = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED,
                           "the clone's QEMU exited as it started: %s", ql_vm_get_stderr (vm));
    }
  if (ok && !self->shutting_down)
    {
      /* The count is the same: no refill (a clone handed out now is
       * replaced once the request completed: handed_out()). */
      self->failures = 0;
      add_ready (self, vm);
      dispatch (self);
    }
  else
    {
      /* Whatever the clone operation left running ends too. */
      retire (self, vm);
      if (!self->shutting_down)
        clone_failed (self, g_steal_pointer (&error));
      maybe_finish_shutdown (self);
    }
  update_counts (self);
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
}

/* Starts one clone; FALSE when it failed already (reported). */
static gboolean
start_one (QlVmFactory *self)
{
  g_autoptr(GError) error = NULL;
  QlVm *vm;
  Start *s;
  gboolean pushed;

  vm = ql_template_new_clone (self->template_, &error);
  if (vm == NULL)
    {
      clone_failed (self, g_steal_pointer (&error));
      return FALSE;
    }
  g_signal_emit (self, signals[SIGNAL_PREPARE_CLONE], 0, vm);
  if (self->shutting_down)
    {
      /* A handler shut the factory down. */
      g_object_unref (vm);
      return FALSE;
    }
  s = g_new0 (Start, 1);
  s->factory = self;
  s->vm = vm;
  self->starting = g_list_append (self->starting, s);
  pushed = push_context (self);
  ql_template_start_clone_async (self->template_, vm, QL_TEMPLATE_CLONE_NONE, NULL,
                                 self->clone_timeout, self->cancel, start_done, s);
  pop_context (self, pushed);
  return TRUE;
}

/* Starts clones until the pool is full, unless shut down or, after too many
 * failures in a row, until a request asks again. */
static void
fill (QlVmFactory *self)
{
  if (!self->started || self->shutting_down)
    return;
  while (self->failures < self->max_failures
         && self->fill_source == NULL
         && self->ready.length + g_list_length (self->starting) < self->pool_size)
    {
      if (!start_one (self))
        break;
    }
}

/* ---- handing out -------------------------------------------------------- */

static gboolean
request_cancelled_cb (GCancellable *cancellable,
                      gpointer      data)
{
  GTask *task = data;
  QlVmFactory *self = g_task_get_source_object (task);
  Request *req = g_task_get_task_data (task);

  (void) cancellable;
  g_clear_pointer (&req->cancel_source, g_source_unref);
  if (!g_queue_remove (&self->requests, task))
    return G_SOURCE_REMOVE;
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The request was cancelled");
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
arm_request_cancel (QlVmFactory *self,
                    GTask       *task)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  Request *req = g_task_get_task_data (task);

  if (cancellable == NULL || req->cancel_source != NULL)
    return;
  req->cancel_source = g_cancellable_source_new (cancellable);
  /* The queue holds the task; the source goes when it leaves the queue. */
  g_source_set_callback (req->cancel_source, G_SOURCE_FUNC (request_cancelled_cb), task, NULL);
  g_source_set_name (req->cancel_source, "[qlaunch] VM factory request cancelled");
  g_source_attach (req->cancel_source, self->context);
}

/* A request was handed its clone and its callback has run: the
 * replacement starts in the next turn of the main loop. Not earlier: what
 * the refill does synchronously (checking the template, spawning QEMU)
 * takes tens of milliseconds, which would delay the hand-out when both
 * were due in the same turn. */
static void
handed_out (GTask       *task,
            GParamSpec  *pspec,
            QlVmFactory *self)
{
  (void) task;
  (void) pspec;
  schedule_fill (self, 0);
}

/* Gives ready clones to waiting requests, oldest to oldest; returns how
 * many. The clones run already: a request gets its clone without waiting
 * for QEMU. The requests complete once the factory is consistent (a
 * callback may ask again or shut it down). */
static guint
dispatch (QlVmFactory *self)
{
  g_autoptr(GPtrArray) tasks = g_ptr_array_new ();
  g_autoptr(GPtrArray) vms = g_ptr_array_new ();

  while (!self->shutting_down && self->requests.length > 0 && self->ready.length > 0)
    {
      GTask *task = g_queue_pop_head (&self->requests);
      Request *req = g_task_get_task_data (task);

      destroy_source (&req->cancel_source);
      g_ptr_array_add (tasks, task);
      g_ptr_array_add (vms, take_ready (self));
    }
  for (GList *l = self->requests.head; l != NULL; l = l->next)
    arm_request_cancel (self, l->data);
  for (guint i = 0; i < tasks->len; i++)
    {
      g_signal_connect_object (tasks->pdata[i], "notify::completed", G_CALLBACK (handed_out), self, 0);
      g_task_return_pointer (tasks->pdata[i], vms->pdata[i], g_object_unref);
      g_object_unref (tasks->pdata[i]);
    }
  return tasks->len;
}

/* ---- GObject ------------------------------------------------------------ */

static void
ql_vm_factory_dispose (GObject *object)
{
  QlVmFactory *self = QL_VM_FACTORY (object);
  QlVm *vm;

  /* Pending requests and shutdowns hold a reference: none is left. The
   * clones being started and ended are told the factory is gone. */
  for (GList *l = self->starting; l != NULL; l = l->next)
    ((Start *) l->data)->factory = NULL;
  g_clear_pointer (&self->starting, g_list_free);
  for (GList *l = self->retiring; l != NULL; l = l->next)
    ((Retire *) l->data)->factory = NULL;
  g_clear_pointer (&self->retiring, g_list_free);
  if (self->cancel != NULL)
    g_cancellable_cancel (self->cancel);
  destroy_source (&self->fill_source);
  /* The safety net: the owner did not shut the pool down. Each VM keeps
   * itself alive until its QEMU is reaped. */
  while ((vm = take_ready (self)) != NULL)
    {
      ql_vm_stop (vm);
      g_object_unref (vm);
    }
  g_clear_object (&self->template_);

  G_OBJECT_CLASS (ql_vm_factory_parent_class)->dispose (object);
}

static void
ql_vm_factory_finalize (GObject *object)
{
  QlVmFactory *self = QL_VM_FACTORY (object);

  g_clear_object (&self->cancel);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (ql_vm_factory_parent_class)->finalize (object);
}

static void
ql_vm_factory_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  QlVmFactory *self = QL_VM_FACTORY (object);

  switch (prop_id)
    {
    case PROP_TEMPLATE:
      g_value_set_object (value, self->template_);
      break;
    case PROP_POOL_SIZE:
      g_value_set_uint (value, self->pool_size);
      break;
    case PROP_CLONE_TIMEOUT:
      g_value_set_uint (value, self->clone_timeout);
      break;
    case PROP_MAX_FAILURES:
      g_value_set_uint (value, self->max_failures);
      break;
    case PROP_N_READY:
      g_value_set_uint (value, ql_vm_factory_get_n_ready (self));
      break;
    case PROP_N_STARTING:
      g_value_set_uint (value, ql_vm_factory_get_n_starting (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ql_vm_factory_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  QlVmFactory *self = QL_VM_FACTORY (object);

  switch (prop_id)
    {
    case PROP_TEMPLATE:
      self->template_ = g_value_dup_object (value);
      break;
    case PROP_POOL_SIZE:
      self->pool_size = g_value_get_uint (value);
      break;
    case PROP_CLONE_TIMEOUT:
      ql_vm_factory_set_clone_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_FAILURES:
      ql_vm_factory_set_max_failures (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ql_vm_factory_class_init (QlVmFactoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ql_vm_factory_dispose;
  object_class->finalize = ql_vm_factory_finalize;
  object_class->get_property = ql_vm_factory_get_property;
  object_class->set_property = ql_vm_factory_set_property;

  /**
   * QlVmFactory:template:
   *
   * The template the clones are made from.
   */
  properties[PROP_TEMPLATE] =
    g_param_spec_object ("template", "Template", "The template the clones are made from",
                         QL_TYPE_TEMPLATE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVmFactory:pool-size:
   *
   * How many clones the factory keeps started (ready or being started).
   */
  properties[PROP_POOL_SIZE] =
    g_param_spec_uint ("pool-size", "Pool size", "How many clones the factory keeps started",
                       1, G_MAXUINT, 1,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVmFactory:clone-timeout:
   *
   * Milliseconds one clone gets to start (QEMU spawned, state loaded, QMP
   * answering), given to ql_template_start_clone_async(); a clone that
   * takes longer counts as failed. Applies to the clones started after a
   * change.
   */
  properties[PROP_CLONE_TIMEOUT] =
    g_param_spec_uint ("clone-timeout", "Clone timeout", "Milliseconds one clone gets to start",
                       1, G_MAXUINT, QL_VM_FACTORY_DEFAULT_CLONE_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVmFactory:max-failures:
   *
   * How many clones may fail in a row before the pending requests fail
   * with the last error and the factory stops retrying (until the next
   * request).
   */
  properties[PROP_MAX_FAILURES] =
    g_param_spec_uint ("max-failures", "Max failures",
                       "How many clones may fail in a row before the pending requests fail",
                       1, G_MAXUINT, QL_VM_FACTORY_DEFAULT_MAX_FAILURES,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVmFactory:n-ready:
   *
   * How many clones are ready (started, running, connected to QMP) and
   * wait for a request; notified on every change.
   */
  properties[PROP_N_READY] =
    g_param_spec_uint ("n-ready", "Ready clones", "How many clones are ready to be handed out",
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlVmFactory:n-starting:
   *
   * How many clones are being started; notified on every change.
   */
  properties[PROP_N_STARTING] =
    g_param_spec_uint ("n-starting", "Starting clones", "How many clones are being started",
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * QlVmFactory::prepare-clone:
   * @self: the factory
   * @vm: the new clone, in state %QL_VM_STATE_NEW
   *
   * Emitted for every clone the factory makes, after
   * ql_template_new_clone() and before ql_template_start_clone_async()
   * starts its QEMU: the place to give the clone what must be set before
   * the launch, such as the descriptors of its console with
   * ql_vm_set_stdin_fd() and ql_vm_set_stdout_fd() (the guest console is
   * QEMU's stdio with the no-graphic knob), or ql_vm_set_grace_period().
   * Things the application keeps per clone can be attached to @vm with
   * g_object_set_data_full(): they go with it.
   *
   * The clone is the factory's until it is handed out: it may fail, or be
   * ended with the pool, without ever reaching the application. Do not
   * launch it, and do not keep a reference that outlives it needlessly.
   */
  signals[SIGNAL_PREPARE_CLONE] =
    g_signal_new ("prepare-clone", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, QL_TYPE_VM);
  /**
   * QlVmFactory::clone-failed:
   * @self: the factory
   * @error: why: the clone could not be made or started (the error of
   *   ql_template_start_clone_finish(), e.g. %QL_TEMPLATE_ERROR_CORRUPT),
   *   or a ready clone's QEMU exited
   *
   * A clone failed; the factory replaces it (after a short delay). Not
   * emitted for clones ended by the shutdown.
   */
  signals[SIGNAL_CLONE_FAILED] =
    g_signal_new ("clone-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
ql_vm_factory_init (QlVmFactory *self)
{
  self->pool_size = 1;
  self->clone_timeout = QL_VM_FACTORY_DEFAULT_CLONE_TIMEOUT_MS;
  self->max_failures = QL_VM_FACTORY_DEFAULT_MAX_FAILURES;
  self->cancel = g_cancellable_new ();
  g_queue_init (&self->ready);
  g_queue_init (&self->requests);
}

/* ---- public API --------------------------------------------------------- */

/**
 * ql_vm_factory_new:
 * @template_: the template the clones are made from
 * @pool_size: how many clones to keep started (at least 1)
 *
 * Creates a factory for clones of @template_. Nothing runs until
 * ql_vm_factory_start() (or the first request).
 *
 * Returns: (transfer full): a new #QlVmFactory
 */
QlVmFactory *
ql_vm_factory_new (QlTemplate *template_,
                   guint       pool_size)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (template_), NULL);
  g_return_val_if_fail (pool_size >= 1, NULL);

  return g_object_new (QL_TYPE_VM_FACTORY, "template", template_, "pool-size", pool_size, NULL);
}

/**
 * ql_vm_factory_get_template:
 * @self: a #QlVmFactory
 *
 * Gets the template the factory clones.
 *
 * Returns: (transfer none): the template the clones are made from
 */
QlTemplate *
ql_vm_factory_get_template (QlVmFactory *self)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), NULL);
  return self->template_;
}

/**
 * ql_vm_factory_get_pool_size:
 * @self: a #QlVmFactory
 *
 * Gets the number of clones the factory keeps ready.
 *
 * Returns: how many clones the factory keeps started (#QlVmFactory:pool-size)
 */
guint
ql_vm_factory_get_pool_size (QlVmFactory *self)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), 0);
  return self->pool_size;
}

/**
 * ql_vm_factory_get_clone_timeout:
 * @self: a #QlVmFactory
 *
 * Gets the time one clone gets to start.
 *
 * Returns: the milliseconds one clone gets to start
 *   (#QlVmFactory:clone-timeout)
 */
guint
ql_vm_factory_get_clone_timeout (QlVmFactory *self)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), 0);
  return self->clone_timeout;
}

/**
 * ql_vm_factory_set_clone_timeout:
 * @self: a #QlVmFactory
 * @timeout_ms: the milliseconds one clone gets to start (at least 1)
 *
 * Sets #QlVmFactory:clone-timeout (default
 * %QL_VM_FACTORY_DEFAULT_CLONE_TIMEOUT_MS). Clones being started keep
 * theirs.
 */
void
ql_vm_factory_set_clone_timeout (QlVmFactory *self,
                                 guint        timeout_ms)
{
  g_return_if_fail (QL_IS_VM_FACTORY (self));
  g_return_if_fail (timeout_ms >= 1);

  if (self->clone_timeout == timeout_ms)
    return;
  self->clone_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLONE_TIMEOUT]);
}

/**
 * ql_vm_factory_get_max_failures:
 * @self: a #QlVmFactory
 *
 * Gets the number of clones that may fail in a row before the pending
 * requests fail.
 *
 * Returns: how many clones may fail in a row before the pending requests
 *   fail (#QlVmFactory:max-failures)
 */
guint
ql_vm_factory_get_max_failures (QlVmFactory *self)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), 0);
  return self->max_failures;
}

/**
 * ql_vm_factory_set_max_failures:
 * @self: a #QlVmFactory
 * @max_failures: how many clones may fail in a row (at least 1)
 *
 * Sets #QlVmFactory:max-failures (default
 * %QL_VM_FACTORY_DEFAULT_MAX_FAILURES).
 */
void
ql_vm_factory_set_max_failures (QlVmFactory *self,
                                guint        max_failures)
{
  g_return_if_fail (QL_IS_VM_FACTORY (self));
  g_return_if_fail (max_failures >= 1);

  if (self->max_failures == max_failures)
    return;
  self->max_failures = max_failures;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_FAILURES]);
}

/**
 * ql_vm_factory_get_n_ready:
 * @self: a #QlVmFactory
 *
 * Gets the number of clones ready to be handed out.
 *
 * Returns: how many clones are ready to be handed out (#QlVmFactory:n-ready)
 */
guint
ql_vm_factory_get_n_ready (QlVmFactory *self)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), 0);
  return self->ready.length;
}

/**
 * ql_vm_factory_get_n_starting:
 * @self: a #QlVmFactory
 *
 * Gets the number of clones being started.
 *
 * Returns: how many clones are being started (#QlVmFactory:n-starting)
 */
guint
ql_vm_factory_get_n_starting (QlVmFactory *self)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), 0);
  return g_list_length (self->starting);
}

/**
 * ql_vm_factory_start:
 * @self: a #QlVmFactory
 *
 * Starts filling the pool in the background: #QlVmFactory:pool-size clones
 * are started at once (see #QlVmFactory::prepare-clone), each replaced as
 * soon as it is handed out or fails. The thread-default main context of
 * this call becomes the factory's: everything the factory does runs there,
 * so keep it running. Does nothing when the factory was started already
 * or is shut down.
 */
void
ql_vm_factory_start (QlVmFactory *self)
{
  g_return_if_fail (QL_IS_VM_FACTORY (self));

  if (self->started || self->shutting_down)
    return;
  self->started = TRUE;
  self->context = g_main_context_ref_thread_default ();
  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  fill (self);
  update_counts (self);
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
}

/**
 * ql_vm_factory_get_async:
 * @self: a #QlVmFactory
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with a running clone, or on failure
 * @user_data: data for @callback
 *
 * Asks for a clone: the oldest ready one (already running) is handed out,
 * and a replacement starts right after. When none is ready the request
 * waits for the next one; requests are served in the order they were
 * made. Starts the factory (ql_vm_factory_start()) if needed. A request
 * whose clone was handed out completes with it, even if @cancellable is
 * cancelled before the callback runs: the VM is the caller's.
 *
 * The request fails with the last error after #QlVmFactory:max-failures
 * clones failed in a row, with %G_IO_ERROR_CANCELLED when @cancellable is
 * cancelled or the factory is shut down meanwhile, and with
 * %G_IO_ERROR_CLOSED when it was shut down before. Finish with
 * ql_vm_factory_get_finish().
 */
void
ql_vm_factory_get_async (QlVmFactory         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *req;

  g_return_if_fail (QL_IS_VM_FACTORY (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_vm_factory_get_async);
  /* A clone handed out must reach the caller, not be dropped running:
   * cancellation counts only while the request waits (request_cancelled_cb). */
  g_task_set_check_cancellable (task, FALSE);
  req = g_new0 (Request, 1);
  g_task_set_task_data (task, req, (GDestroyNotify) request_free);

  if (self->shutting_down)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               "the VM factory is shut down");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  ql_vm_factory_start (self);
  g_queue_push_tail (&self->requests, g_steal_pointer (&task));
  if (self->failures >= self->max_failures)
    {
      /* The factory had given up: this request gives it another go. */
      self->failures = 0;
      destroy_source (&self->fill_source);
    }
  /* Without a ready clone the request waits: the pool fills now. With one,
   * the replacement starts once the request has completed (handed_out()). */
  if (dispatch (self) == 0)
    fill (self);
  update_counts (self);
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
}

/**
 * ql_vm_factory_get_finish:
 * @self: a #QlVmFactory
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_vm_factory_get_async().
 *
 * Returns: (transfer full): a running clone, now the caller's: end it with
 *   ql_vm_shutdown() (or ql_vm_stop()) when done, or %NULL with @error set
 */
QlVm *
ql_vm_factory_get_finish (QlVmFactory   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ql_vm_factory_get_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * ql_vm_factory_get:
 * @self: a #QlVmFactory
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_vm_factory_get_async(): iterates the
 * thread-default main context, which must be the factory's, until a clone
 * is handed out.
 *
 * Returns: (transfer full): a running clone, now the caller's, or %NULL
 *   with @error set
 */
QlVm *
ql_vm_factory_get (QlVmFactory   *self,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_VM_FACTORY (self), NULL);

  ql_vm_factory_get_async (self, cancellable, ql_store_result, &result);
  ql_wait_result (&result);
  return ql_vm_factory_get_finish (self, result, error);
}

static gboolean
shutdown_cancelled_cb (GCancellable *cancellable,
                       gpointer      data)
{
  GTask *task = data;
  QlVmFactory *self = g_task_get_source_object (task);
  Shutdown *s = g_task_get_task_data (task);

  (void) cancellable;
  g_clear_pointer (&s->cancel_source, g_source_unref);
  s->cancelled = TRUE;
  self->hurry = TRUE;
  /* No more waiting for `quit`: signals end the QEMUs now. */
  for (GList *l = self->retiring; l != NULL; l = l->next)
    ql_vm_stop (((Retire *) l->data)->vm);
  return G_SOURCE_REMOVE;
}

/**
 * ql_vm_factory_shutdown_async:
 * @self: a #QlVmFactory
 * @cancellable: (nullable): a #GCancellable that hurries the shutdown
 * @callback: (scope async): called once every QEMU of the pool is gone
 * @user_data: data for @callback
 *
 * Shuts the factory down for good: it hands out no more clones, fails the
 * waiting requests with %G_IO_ERROR_CANCELLED, cancels the clones being
 * started, ends each ready clone with ql_vm_shutdown_async() (no
 * powerdown: QEMU is told to `quit`, then stopped with signals if it does
 * not exit), and completes once all the QEMUs of the pool have exited and
 * been reaped. The VMs handed out before belong to their callers and are
 * not touched.
 *
 * Cancelling @cancellable stops the QEMUs still running with signals
 * (ql_vm_stop()) at once; the shutdown still completes only when they are
 * gone, then with %G_IO_ERROR_CANCELLED. Several shutdowns may be pending;
 * one after the end completes at once. Finish with
 * ql_vm_factory_shutdown_finish().
 */
void
ql_vm_factory_shutdown_async (QlVmFactory         *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;
  Shutdown *s;

  g_return_if_fail (QL_IS_VM_FACTORY (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_vm_factory_shutdown_async);
  g_task_set_check_cancellable (task, FALSE);
  s = g_new0 (Shutdown, 1);
  g_task_set_task_data (task, s, (GDestroyNotify) shutdown_data_free);

  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
  if (!self->shutting_down)
    {
      QlVm *vm;

      self->shutting_down = TRUE;
      destroy_source (&self->fill_source);
      while ((vm = take_ready (self)) != NULL)
        retire (self, vm);
      fail_requests (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                        "The request was cancelled: the factory is shut down"));
    }
  self->shutdowns = g_list_append (self->shutdowns, task);
  if (cancellable != NULL)
    {
      s->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (s->cancel_source, G_SOURCE_FUNC (shutdown_cancelled_cb), task, NULL);
      g_source_set_name (s->cancel_source, "[qlaunch] VM factory shutdown cancelled");
      g_source_attach (s->cancel_source, self->context);
    }
  /* The clones being started end in start_done(), which may run now. */
  g_cancellable_cancel (self->cancel);
  maybe_finish_shutdown (self);
  update_counts (self);
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
}

/**
 * ql_vm_factory_shutdown_finish:
 * @self: a #QlVmFactory
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_vm_factory_shutdown_async().
 *
 * Returns: %TRUE once every QEMU of the pool is gone; %FALSE with
 *   %G_IO_ERROR_CANCELLED when the shutdown was hurried by its
 *   cancellable (the QEMUs are gone then too)
 */
gboolean
ql_vm_factory_shutdown_finish (QlVmFactory   *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (QL_IS_VM_FACTORY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ql_vm_factory_shutdown_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ql_vm_factory_shutdown:
 * @self: a #QlVmFactory
 * @cancellable: (nullable): a #GCancellable that hurries the shutdown
 * @error: return location for an error
 *
 * The synchronous form of ql_vm_factory_shutdown_async(): iterates the
 * thread-default main context, which must be the factory's, until every
 * QEMU of the pool is gone.
 *
 * Returns: %TRUE once every QEMU of the pool is gone
 */
gboolean
ql_vm_factory_shutdown (QlVmFactory   *self,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_VM_FACTORY (self), FALSE);

  ql_vm_factory_shutdown_async (self, cancellable, ql_store_result, &result);
  ql_wait_result (&result);
  return ql_vm_factory_shutdown_finish (self, result, error);
}
