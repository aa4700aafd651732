/* qlaunch — typed helpers for the QMP commands a launcher needs.
 *
 * What differs from one command to the next: its arguments, the reading of
 * a typed reply, the operations of several steps. ql-qmp-command-private.h
 * makes the public functions from them. */
#include "ql-private.h"
#include "ql-qmp-command-private.h"

#define MIGRATION_POLL_MS 20

/* ---- arguments ---------------------------------------------------------- */

/* A copy of @base (NULL: a new object) with string members, given as name
 * and value pairs up to NULL. */
static G_GNUC_NULL_TERMINATED JsonObject *
args_with_strings (JsonObject *base,
                   const char *member,
                   ...)
{
  JsonObject *args = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  va_list ap;

  if (base != NULL)
    {
      json_object_iter_init (&iter, base);
      while (json_object_iter_next (&iter, &name, &node))
        json_object_set_member (args, name, json_node_copy (node));
    }
  va_start (ap, member);
  for (; member != NULL; member = va_arg (ap, const char *))
    json_object_set_string_member (args, member, va_arg (ap, const char *));
  va_end (ap);
  return args;
}

/* Command @name with one string argument. */
static QlQmpCommand
string_command (const char *name,
                const char *member,
                const char *value)
{
  return ql_qmp_command (name, args_with_strings (NULL, member, value, NULL));
}

static void
add_capabilities (JsonArray          *array,
                  const char * const *names,
                  gboolean            state)
{
  for (gsize i = 0; names != NULL && names[i] != NULL; i++)
    {
      JsonObject *c = json_object_new ();

      json_object_set_string_member (c, "capability", names[i]);
      json_object_set_boolean_member (c, "state", state);
      json_array_add_object_element (array, c);
    }
}

static JsonObject *
capabilities_args (const char * const *enable,
                   const char * const *disable)
{
  JsonObject *args = json_object_new ();
  JsonArray *array = json_array_new ();

  add_capabilities (array, enable, TRUE);
  add_capabilities (array, disable, FALSE);
  json_object_set_array_member (args, "capabilities", array);
  return args;
}

static JsonObject *
chardev_add_args (const char *id,
                  JsonObject *backend)
{
  JsonObject *args = args_with_strings (NULL, "id", id, NULL);

  json_object_set_object_member (args, "backend", json_object_ref (backend));
  return args;
}

static JsonObject *
hotplug_cpu_args (const char *driver,
                  const char *id,
                  gint        socket_id,
                  gint        die_id,
                  gint        core_id,
                  gint        thread_id)
{
  JsonObject *args = args_with_strings (NULL, "driver", driver, "id", id, NULL);
  const char *names[] = { "socket-id", "die-id", "core-id", "thread-id" };
  gint values[] = { socket_id, die_id, core_id, thread_id };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (values[i] >= 0)
      json_object_set_int_member (args, names[i], values[i]);
  return args;
}

static QlQmpCommand
getfd_command (int         fd,
               const char *name)
{
  QlQmpCommand c = string_command ("getfd", "fdname", name);

  c.fd = fd;
  return c;
}

/* QMP's `value` is a JSON integer QEMU reads as a signed 64-bit number, and
 * QEMU refuses 0 with a message about a parameter 'target' the command
 * does not have: both are caught here, naming the command. */
static QlQmpCommand
balloon_command (guint64 target)
{
  JsonObject *args;

  if (target == 0 || target > G_MAXINT64)
    return ql_qmp_command_refused (g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                                                "balloon: the target size '%" G_GUINT64_FORMAT "' is not valid: expected 1 to %" G_GINT64_FORMAT " bytes",
                                                target, G_MAXINT64));
  args = json_object_new ();
  json_object_set_int_member (args, "value", (gint64) target);
  return ql_qmp_command ("balloon", args);
}

/* ---- typed replies ------------------------------------------------------ */

/* The member of the reply @ret (untrusted) holding a value of @type, or
 * NULL. */
static JsonNode *
reply_member (JsonNode   *ret,
              const char *member,
              GType       type)
{
  JsonObject *o = ret != NULL && JSON_NODE_HOLDS_OBJECT (ret) ? json_node_get_object (ret) : NULL;
  JsonNode *node = o != NULL ? json_object_get_member (o, member) : NULL;

  return node != NULL && json_node_get_value_type (node) == type ? node : NULL;
}

/* reply_member()'s integer if it is from 0 to @max; -1 otherwise. */
static gint64
reply_count (JsonNode   *ret,
             const char *member,
             gint64      max)
{
  JsonNode *node = reply_member (ret, member, G_TYPE_INT64);
  gint64 value = node != NULL ? json_node_get_int (node) : -1;

  return value >= 0 && value <= max ? value : -1;
}

static gboolean
reply_lacks (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL, message);
  return FALSE;
}

/* ---- query-status ------------------------------------------------------- */

/**
 * ql_qmp_query_status_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @status: (out) (optional) (transfer full): QEMU's run state: `running`,
 *   `paused`, `prelaunch`, `inmigrate`, `postmigrate`, `shutdown`, ...
 * @running: (out) (optional): whether the guest's CPUs run
 * @error: return location for an error
 *
 * Finishes ql_qmp_query_status_async().
 *
 * Returns: %TRUE on success
 */
gboolean
ql_qmp_query_status_finish (QlQmp         *self,
                            GAsyncResult  *result,
                            char         **status,
                            gboolean      *running,
                            GError       **error)
{
  g_autoptr(JsonNode) ret = ql_qmp_execute_finish (self, result, error);
  JsonNode *s = reply_member (ret, "status", G_TYPE_STRING);
  JsonNode *r = reply_member (ret, "running", G_TYPE_BOOLEAN);

  if (ret == NULL)
    return FALSE;
  if (s == NULL || r == NULL)
    return reply_lacks (error, "query-status: the reply lacks \"status\" or \"running\"");
  if (status != NULL)
    *status = g_strdup (json_node_get_string (s));
  if (running != NULL)
    *running = json_node_get_boolean (r);
  return TRUE;
}

/**
 * ql_qmp_query_status_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Asks for the VM's run state (`query-status`). Finish with
 * ql_qmp_query_status_finish().
 */
/**
 * ql_qmp_query_status:
 * @self: a connected #QlQmp
 * @status: (out) (optional) (transfer full): QEMU's run state
 * @running: (out) (optional): whether the guest's CPUs run
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_query_status_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_TYPED_QUERY (query_status, "query-status",
                           (char **status, gboolean *running), (status, running))

/* ---- query-sev-capabilities --------------------------------------------- */

/**
 * ql_qmp_query_sev_capabilities_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @pdh: (out) (optional) (transfer full): the platform Diffie-Hellman key,
 *   base64
 * @cert_chain: (out) (optional) (transfer full): the PDH certificate chain,
 *   base64
 * @cbitpos: (out) (optional): the host's C-bit position in a page table
 *   entry (what a `sev-guest`'s cbitpos must be)
 * @reduced_phys_bits: (out) (optional): the physical address bits lost
 *   with SEV
 * @error: return location for an error
 *
 * Finishes ql_qmp_query_sev_capabilities_async().
 *
 * Returns: %TRUE on success
 */
gboolean
ql_qmp_query_sev_capabilities_finish (QlQmp         *self,
                                      GAsyncResult  *result,
                                      char         **pdh,
                                      char         **cert_chain,
                                      guint         *cbitpos,
                                      guint         *reduced_phys_bits,
                                      GError       **error)
{
  g_autoptr(JsonNode) ret = ql_qmp_execute_finish (self, result, error);
  JsonNode *p = reply_member (ret, "pdh", G_TYPE_STRING);
  JsonNode *c = reply_member (ret, "cert-chain", G_TYPE_STRING);
  gint64 b = reply_count (ret, "cbitpos", G_MAXUINT32);
  gint64 r = reply_count (ret, "reduced-phys-bits", G_MAXUINT32);

  if (ret == NULL)
    return FALSE;
  if (p == NULL || c == NULL || b < 0 || r < 0)
    return reply_lacks (error, "query-sev-capabilities: the reply lacks \"pdh\", \"cert-chain\", "
                               "\"cbitpos\" or \"reduced-phys-bits\"");
  if (pdh != NULL)
    *pdh = g_strdup (json_node_get_string (p));
  if (cert_chain != NULL)
    *cert_chain = g_strdup (json_node_get_string (c));
  if (cbitpos != NULL)
    *cbitpos = (guint) b;
  if (reduced_phys_bits != NULL)
    *reduced_phys_bits = (guint) r;
  return TRUE;
}

/**
 * ql_qmp_query_sev_capabilities_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Asks QEMU for the host platform's AMD SEV capabilities
 * (`query-sev-capabilities`). QEMU answers only under KVM on a host with
 * SEV; otherwise the error is QEMU's (%QL_QMP_ERROR_GENERIC: QEMU 7.2 says
 * "KVM not enabled" under TCG and "SEV is not enabled in KVM" under KVM
 * without SEV). Finish with ql_qmp_query_sev_capabilities_finish().
 */
/**
 * ql_qmp_query_sev_capabilities:
 * @self: a connected #QlQmp
 * @pdh: (out) (optional) (transfer full): the platform Diffie-Hellman key
 * @cert_chain: (out) (optional) (transfer full): its certificate chain
 * @cbitpos: (out) (optional): the host's C-bit position
 * @reduced_phys_bits: (out) (optional): the physical address bits lost
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_query_sev_capabilities_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_TYPED_QUERY (query_sev_capabilities, "query-sev-capabilities",
                           (char **pdh, char **cert_chain, guint *cbitpos,
                            guint *reduced_phys_bits),
                           (pdh, cert_chain, cbitpos, reduced_phys_bits))

/* ---- device_del, waiting for DEVICE_DELETED ----------------------------- */

typedef struct
{
  char *id;
  guint timeout_ms;
  GCancellable *wait_cancel;    /* stops the event wait when device_del fails */
  gulong chain_id;              /* the caller's cancellable -> wait_cancel */
  GCancellable *caller;
  gboolean deleted;             /* the event arrived */
  gboolean replied;             /* device_del succeeded */
  gboolean done;
} DeviceDel;

static void
device_del_free (DeviceDel *d)
{
  if (d->chain_id != 0)
    g_cancellable_disconnect (d->caller, d->chain_id);
  g_clear_object (&d->caller);
  g_clear_object (&d->wait_cancel);
  g_free (d->id);
  g_free (d);
}

/* Both steps of device_del end here: the wait for DEVICE_DELETED (its
 * result is tagged ql_qmp_wait_event_async) and the command. The first
 * failure ends the operation and stops the wait; it succeeds once both
 * steps have. */
static void
device_del_step_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  g_autoptr(GTask) task = data;
  DeviceDel *d = g_task_get_task_data (task);
  gboolean is_event = g_async_result_is_tagged (result, ql_qmp_wait_event_async);
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  if (is_event)
    event = ql_qmp_wait_event_finish (QL_QMP (source), result, &error);
  else
    ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (d->done)
    return;
  if (error != NULL)
    {
      d->done = TRUE;
      g_cancellable_cancel (d->wait_cancel);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (is_event)
    d->deleted = TRUE;
  else
    d->replied = TRUE;
  if (d->deleted && d->replied)
    {
      d->done = TRUE;
      g_task_return_boolean (task, TRUE);
    }
}

static void
chain_cancel (GCancellable *caller,
              GCancellable *ours)
{
  (void) caller;
  g_cancellable_cancel (ours);
}

static void
device_del_run (GTask *task)
{
  QlQmp *self = g_task_get_source_object (task);
  DeviceDel *d = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(JsonObject) args = args_with_strings (NULL, "id", d->id, NULL);

  d->wait_cancel = g_cancellable_new ();
  if (cancellable != NULL)
    {
      d->caller = g_object_ref (cancellable);
      d->chain_id = g_cancellable_connect (cancellable, G_CALLBACK (chain_cancel),
                                           d->wait_cancel, NULL);
    }
  /* Wait first: the event may come before the reply. */
  ql_qmp_wait_event_async (self, "DEVICE_DELETED", "device", d->id, d->timeout_ms, d->wait_cancel,
                           device_del_step_done, g_object_ref (task));
  ql_qmp_execute_async (self, "device_del", args, cancellable, device_del_step_done,
                        g_object_ref (task));
}

static QlQmpCommand
device_del (const char *id,
            guint       timeout_ms)
{
  DeviceDel *d = g_new0 (DeviceDel, 1);

  d->id = g_strdup (id);
  d->timeout_ms = timeout_ms;
  return ql_qmp_operation (device_del_run, d, (GDestroyNotify) device_del_free);
}

/**
 * ql_qmp_device_del_async:
 * @self: a connected #QlQmp
 * @id: the device's id
 * @timeout_ms: how long to wait for the guest to release the device; 0
 *   waits for ever
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the device is gone, or on failure
 * @user_data: data for @callback
 *
 * Removes a device (`device_del`) and waits for QEMU's `DEVICE_DELETED`
 * event for it: only then is the device gone (a PCI device needs the
 * guest's consent). Finish with ql_qmp_device_del_finish().
 */
/**
 * ql_qmp_device_del_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_device_del_async().
 *
 * Returns: %TRUE once QEMU reported the device deleted
 */
/**
 * ql_qmp_device_del:
 * @self: a connected #QlQmp
 * @id: the device's id
 * @timeout_ms: how long to wait for `DEVICE_DELETED`; 0 waits for ever
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_device_del_async().
 *
 * Returns: %TRUE once QEMU reported the device deleted
 */
QL_QMP_DEFINE_OPERATION (device_del, (QlQmp *self, const char *id, guint timeout_ms), id != NULL,
                         device_del (id, timeout_ms))

/* ---- memory hotplug: a backend object and a pc-dimm --------------------- */

typedef struct
{
  JsonObject *backend;          /* object-add's arguments */
  char *backend_id;
  char *dimm_id;
  GError *error;
} MemoryHotplug;

static void
memory_hotplug_free (MemoryHotplug *m)
{
  json_object_unref (m->backend);
  g_free (m->backend_id);
  g_free (m->dimm_id);
  g_clear_error (&m->error);
  g_free (m);
}

static void
memory_rolled_back (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(GTask) task = data;
  MemoryHotplug *m = g_task_get_task_data (task);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (ret == NULL)
    g_prefix_error (&m->error, "(and removing backend '%s' again failed: %s) ",
                    m->backend_id, error->message);
  g_task_return_error (task, g_steal_pointer (&m->error));
}

static void
memory_dimm_added (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  g_autoptr(GTask) task = data;
  MemoryHotplug *m = g_task_get_task_data (task);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonObject) args = NULL;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &m->error);
  if (ret != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  /* Take the backend away again: no half-added memory is left behind. */
  args = args_with_strings (NULL, "id", m->backend_id, NULL);
  ql_qmp_execute_async (QL_QMP (source), "object-del", args, NULL, memory_rolled_back,
                        g_steal_pointer (&task));
}

static void
memory_backend_added (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  g_autoptr(GTask) task = data;
  MemoryHotplug *m = g_task_get_task_data (task);
  g_autoptr(JsonNode) ret = ql_qmp_operation_reply (task, source, result);
  g_autoptr(JsonObject) args = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (ret == NULL)
    return;
  args = args_with_strings (NULL, "driver", "pc-dimm", "id", m->dimm_id,
                            "memdev", m->backend_id, NULL);
  ql_qmp_execute_async (QL_QMP (source), "device_add", args, cancellable,
                        memory_dimm_added, g_steal_pointer (&task));
}

static void
memory_hotplug_run (GTask *task)
{
  MemoryHotplug *m = g_task_get_task_data (task);

  ql_qmp_execute_async (g_task_get_source_object (task), "object-add", m->backend,
                        g_task_get_cancellable (task), memory_backend_added, g_object_ref (task));
}

static QlQmpCommand
memory_hotplug (const char *qom_type,
                const char *id,
                const char *mem_path,
                guint64     size,
                gboolean    share)
{
  MemoryHotplug *m;

  if (size == 0)
    return ql_qmp_command_refused (g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                                                "memory hotplug '%s': the size is 0", id));
  m = g_new0 (MemoryHotplug, 1);
  m->backend_id = g_strconcat ("mem", id, NULL);
  m->dimm_id = g_strconcat ("dimm", id, NULL);
  m->backend = args_with_strings (NULL, "qom-type", qom_type, "id", m->backend_id, NULL);
  json_object_set_int_member (m->backend, "size", (gint64) size);
  if (mem_path != NULL)
    json_object_set_string_member (m->backend, "mem-path", mem_path);
  if (share)
    json_object_set_boolean_member (m->backend, "share", TRUE);
  return ql_qmp_operation (memory_hotplug_run, m, (GDestroyNotify) memory_hotplug_free);
}

/**
 * ql_qmp_hotplug_memory_async:
 * @self: a connected #QlQmp
 * @qom_type: the backend type: `memory-backend-ram` or `memory-backend-file`
 * @id: names the pair: the backend is `mem@id`, the DIMM `dimm@id` (as govmm)
 * @mem_path: (nullable): the backing file or directory, for
 *   `memory-backend-file`
 * @size: the size in bytes, a multiple of the guest's memory block size
 * @share: whether the backend maps @mem_path shared
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the DIMM is plugged, or on failure
 * @user_data: data for @callback
 *
 * Adds memory to a running guest: a memory backend object (`object-add`) and
 * a `pc-dimm` device using it (`device_add`). The VM needs free memory slots
 * (`[memory] slots` and `max-mem`). When the DIMM cannot be added, the
 * backend is removed again. Finish with ql_qmp_hotplug_memory_finish().
 */
/**
 * ql_qmp_hotplug_memory_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_hotplug_memory_async().
 *
 * Returns: %TRUE when the DIMM is plugged
 */
/**
 * ql_qmp_hotplug_memory:
 * @self: a connected #QlQmp
 * @qom_type: `memory-backend-ram` or `memory-backend-file`
 * @id: names the pair: backend `mem@id`, DIMM `dimm@id`
 * @mem_path: (nullable): the backing file, for `memory-backend-file`
 * @size: the size in bytes
 * @share: whether the backend maps @mem_path shared
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_hotplug_memory_async().
 *
 * Returns: %TRUE when the DIMM is plugged
 */
QL_QMP_DEFINE_OPERATION (hotplug_memory,
                         (QlQmp *self, const char *qom_type, const char *id, const char *mem_path,
                          guint64 size, gboolean share),
                         qom_type != NULL && id != NULL,
                         memory_hotplug (qom_type, id, mem_path, size, share))

/* ---- waiting for a migration's end -------------------------------------- */

typedef struct
{
  gint64 deadline;      /* 0: none */
  guint timeout_ms;
} MigrationWait;

static void migration_poll (GTask *task);

static gboolean
migration_poll_again (gpointer data)
{
  migration_poll (data);
  return G_SOURCE_REMOVE;
}

static void migration_poll_later (GTask *task);

static void
migration_state_polled (GObject      *source,
                        GAsyncResult *result,
                        gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(JsonNode) ret = ql_qmp_operation_reply (task, source, result);

  if (ret == NULL)
    return;
  if (g_strcmp0 (ql_json_string (JSON_NODE_HOLDS_OBJECT (ret) ? json_node_get_object (ret) : NULL,
                                 "status"), "finish-migrate") == 0)
    {
      migration_poll_later (task);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
migration_polled (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(GTask) task = data;
  MigrationWait *w = g_task_get_task_data (task);
  g_autoptr(JsonNode) ret = ql_qmp_operation_reply (task, source, result);
  JsonObject *o;
  const char *status;

  if (ret == NULL)
    return;
  o = JSON_NODE_HOLDS_OBJECT (ret) ? json_node_get_object (ret) : NULL;
  status = ql_json_string (o, "status");
  if (g_strcmp0 (status, "completed") == 0)
    {
      /* QEMU marks an outgoing migration completed, then moves the run
       * state from finish-migrate to postmigrate in a bottom half: done
       * when that happened too. */
      ql_qmp_execute_async (QL_QMP (source), "query-status", NULL, g_task_get_cancellable (task),
                            migration_state_polled, g_object_ref (task));
      return;
    }
  if (g_strcmp0 (status, "failed") == 0 || g_strcmp0 (status, "cancelled") == 0)
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_FAILED, "migration %s%s%s",
                               status, ql_json_string (o, "error-desc") != NULL ? ": " : "",
                               ql_json_string (o, "error-desc") != NULL ? ql_json_string (o, "error-desc") : "");
      return;
    }
  if (w->deadline != 0 && g_get_monotonic_time () >= w->deadline)
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT,
                               "migration not completed within %u ms (status: %s)",
                               w->timeout_ms, status != NULL ? status : "none: not started");
      return;
    }
  migration_poll_later (task);
}

static void
migration_poll_later (GTask *task)
{
  MigrationWait *w = g_task_get_task_data (task);
  g_autoptr(GSource) timer = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (w->deadline != 0 && g_get_monotonic_time () >= w->deadline)
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT,
                               "migration not completed within %u ms", w->timeout_ms);
      return;
    }
  /* The context holds the timer, and the timer the task. */
  timer = g_timeout_source_new (MIGRATION_POLL_MS);
  g_source_set_callback (timer, migration_poll_again, g_object_ref (task), g_object_unref);
  g_source_attach (timer, g_task_get_context (task));
}

static void
migration_poll (GTask *task)
{
  ql_qmp_execute_async (g_task_get_source_object (task), "query-migrate", NULL,
                        g_task_get_cancellable (task), migration_polled, g_object_ref (task));
}

static QlQmpCommand
migration_wait (guint timeout_ms)
{
  MigrationWait *w = g_new0 (MigrationWait, 1);

  w->timeout_ms = timeout_ms;
  if (timeout_ms > 0)
    w->deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  return ql_qmp_operation (migration_poll, w, g_free);
}

/**
 * ql_qmp_wait_migration_async:
 * @self: a connected #QlQmp
 * @timeout_ms: how long to wait; 0 waits for ever
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the migration completed, failed or timed out
 * @user_data: data for @callback
 *
 * Waits until `query-migrate` reports the outgoing or incoming migration
 * `completed` (polling; no capability needed). A migration that is
 * `failed` or `cancelled` is an error with QEMU's reason, and so is one
 * that has not completed in time: QEMU 7.2 waits for ever, silently, on an
 * incoming source that never delivers. Finish with
 * ql_qmp_wait_migration_finish().
 */
/**
 * ql_qmp_wait_migration_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_wait_migration_async().
 *
 * Returns: %TRUE when the migration completed
 */
/**
 * ql_qmp_wait_migration:
 * @self: a connected #QlQmp
 * @timeout_ms: how long to wait; 0 waits for ever
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_wait_migration_async().
 *
 * Returns: %TRUE when the migration completed
 */
QL_QMP_DEFINE_OPERATION (wait_migration, (QlQmp *self, guint timeout_ms), TRUE,
                         migration_wait (timeout_ms))

/* ---- getfd: a descriptor over the socket -------------------------------- */

/**
 * ql_qmp_getfd_async:
 * @self: a connected #QlQmp
 * @fd: the descriptor to pass (a duplicate travels; @fd stays the caller's)
 * @name: the name QEMU files it under; commands then refer to it as @name
 *   (e.g. `fd:@name` for ql_qmp_migrate(), `fd=@name` for a tap netdev)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Passes @fd to QEMU over the QMP socket with SCM_RIGHTS (`getfd`). Finish
 * with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_getfd:
 * @self: a connected #QlQmp
 * @fd: the descriptor to pass
 * @name: the name QEMU files it under
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_getfd_async().
 *
 * Returns: %TRUE when QEMU holds the descriptor
 */
QL_QMP_DEFINE_COMMAND (getfd, (QlQmp *self, int fd, const char *name), fd >= 0 && name != NULL,
                       getfd_command (fd, name))

/* ---- one command each --------------------------------------------------- */

/**
 * ql_qmp_stop_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Pauses the guest (`stop`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_stop:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_stop_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (stop, (QlQmp *self), TRUE, ql_qmp_command ("stop", NULL))

/**
 * ql_qmp_cont_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Resumes a paused guest (`cont`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_cont:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_cont_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (cont, (QlQmp *self), TRUE, ql_qmp_command ("cont", NULL))

/**
 * ql_qmp_system_powerdown_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Asks the guest to power down (`system_powerdown`, an ACPI power button press); QEMU exits once the guest has shut down. Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_system_powerdown:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_system_powerdown_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (system_powerdown, (QlQmp *self), TRUE,
                       ql_qmp_command ("system_powerdown", NULL))

/**
 * ql_qmp_quit_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Makes QEMU exit at once (`quit`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_quit:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_quit_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (quit, (QlQmp *self), TRUE, ql_qmp_command ("quit", NULL))

/**
 * ql_qmp_device_add_async:
 * @self: a connected #QlQmp
 * @driver: the device driver, e.g. `virtio-blk-pci`
 * @id: the new device's id
 * @properties: (nullable): more properties, typed as QEMU expects them
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Adds a device (`device_add`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_device_add:
 * @self: a connected #QlQmp
 * @driver: the device driver, e.g. `virtio-blk-pci`
 * @id: the new device's id
 * @properties: (nullable): more properties, typed as QEMU expects them
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_device_add_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (device_add,
                       (QlQmp *self, const char *driver, const char *id, JsonObject *properties),
                       driver != NULL && id != NULL,
                       ql_qmp_command ("device_add", args_with_strings (properties, "driver", driver,
                                                                        "id", id, NULL)))

/**
 * ql_qmp_netdev_add_async:
 * @self: a connected #QlQmp
 * @type: the backend type, e.g. `tap`
 * @id: the netdev's id
 * @properties: (nullable): more members of QEMU's `Netdev`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Adds a network backend (`netdev_add`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_netdev_add:
 * @self: a connected #QlQmp
 * @type: the backend type, e.g. `tap`
 * @id: the netdev's id
 * @properties: (nullable): more members of QEMU's `Netdev`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_netdev_add_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (netdev_add,
                       (QlQmp *self, const char *type, const char *id, JsonObject *properties),
                       type != NULL && id != NULL,
                       ql_qmp_command ("netdev_add", args_with_strings (properties, "type", type,
                                                                        "id", id, NULL)))

/**
 * ql_qmp_netdev_del_async:
 * @self: a connected #QlQmp
 * @id: the netdev's id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Removes a network backend (`netdev_del`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_netdev_del:
 * @self: a connected #QlQmp
 * @id: the netdev's id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_netdev_del_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (netdev_del, (QlQmp *self, const char *id), id != NULL,
                       string_command ("netdev_del", "id", id))

/**
 * ql_qmp_blockdev_add_async:
 * @self: a connected #QlQmp
 * @options: QEMU's `BlockdevOptions` (`driver`, `node-name`, ...)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Adds a block node (`blockdev-add`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_blockdev_add:
 * @self: a connected #QlQmp
 * @options: QEMU's `BlockdevOptions` (`driver`, `node-name`, ...)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_blockdev_add_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (blockdev_add, (QlQmp *self, JsonObject *options), options != NULL,
                       ql_qmp_command ("blockdev-add", json_object_ref (options)))

/**
 * ql_qmp_blockdev_del_async:
 * @self: a connected #QlQmp
 * @node_name: the node's name
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Removes a block node no device uses (`blockdev-del`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_blockdev_del:
 * @self: a connected #QlQmp
 * @node_name: the node's name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_blockdev_del_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (blockdev_del, (QlQmp *self, const char *node_name), node_name != NULL,
                       string_command ("blockdev-del", "node-name", node_name))

/**
 * ql_qmp_chardev_add_async:
 * @self: a connected #QlQmp
 * @id: the character device's id
 * @backend: QEMU's `ChardevBackend` (`type` and `data`)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Adds a character device (`chardev-add`). The return value holds `pty` for a pty backend. Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_chardev_add:
 * @self: a connected #QlQmp
 * @id: the character device's id
 * @backend: QEMU's `ChardevBackend` (`type` and `data`)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_chardev_add_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (chardev_add, (QlQmp *self, const char *id, JsonObject *backend),
                       id != NULL && backend != NULL,
                       ql_qmp_command ("chardev-add", chardev_add_args (id, backend)))

/**
 * ql_qmp_chardev_remove_async:
 * @self: a connected #QlQmp
 * @id: the character device's id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Removes a character device (`chardev-remove`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_chardev_remove:
 * @self: a connected #QlQmp
 * @id: the character device's id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_chardev_remove_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (chardev_remove, (QlQmp *self, const char *id), id != NULL,
                       string_command ("chardev-remove", "id", id))

/**
 * ql_qmp_object_add_async:
 * @self: a connected #QlQmp
 * @qom_type: the object type, e.g. `memory-backend-ram`
 * @id: the object's id
 * @properties: (nullable): the object's properties
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Adds a QOM object (`object-add`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_object_add:
 * @self: a connected #QlQmp
 * @qom_type: the object type, e.g. `memory-backend-ram`
 * @id: the object's id
 * @properties: (nullable): the object's properties
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_object_add_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (object_add,
                       (QlQmp *self, const char *qom_type, const char *id, JsonObject *properties),
                       qom_type != NULL && id != NULL,
                       ql_qmp_command ("object-add", args_with_strings (properties, "qom-type", qom_type,
                                                                        "id", id, NULL)))

/**
 * ql_qmp_object_del_async:
 * @self: a connected #QlQmp
 * @id: the object's id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Removes a QOM object (`object-del`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_object_del:
 * @self: a connected #QlQmp
 * @id: the object's id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_object_del_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (object_del, (QlQmp *self, const char *id), id != NULL,
                       string_command ("object-del", "id", id))

/**
 * ql_qmp_hotplug_cpu_async:
 * @self: a connected #QlQmp
 * @driver: the CPU driver from query-hotpluggable-cpus' `type`
 * @id: the new CPU's id
 * @socket_id: `socket-id`, or -1 to leave it out
 * @die_id: `die-id`, or -1
 * @core_id: `core-id`, or -1
 * @thread_id: `thread-id`, or -1
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Adds a CPU into a slot query-hotpluggable-cpus listed (`device_add` with the slot's properties). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_hotplug_cpu:
 * @self: a connected #QlQmp
 * @driver: the CPU driver from query-hotpluggable-cpus' `type`
 * @id: the new CPU's id
 * @socket_id: `socket-id`, or -1 to leave it out
 * @die_id: `die-id`, or -1
 * @core_id: `core-id`, or -1
 * @thread_id: `thread-id`, or -1
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_hotplug_cpu_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (hotplug_cpu,
                       (QlQmp *self, const char *driver, const char *id,
                        gint socket_id, gint die_id, gint core_id, gint thread_id),
                       driver != NULL && id != NULL,
                       ql_qmp_command ("device_add", hotplug_cpu_args (driver, id, socket_id, die_id,
                                                                       core_id, thread_id)))

/**
 * ql_qmp_migrate_set_capabilities_async:
 * @self: a connected #QlQmp
 * @enable: (array zero-terminated=1) (nullable): capabilities to turn on, e.g. `x-ignore-shared`
 * @disable: (array zero-terminated=1) (nullable): capabilities to turn off
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Sets migration capabilities (`migrate-set-capabilities`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_migrate_set_capabilities:
 * @self: a connected #QlQmp
 * @enable: (array zero-terminated=1) (nullable): capabilities to turn on, e.g. `x-ignore-shared`
 * @disable: (array zero-terminated=1) (nullable): capabilities to turn off
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_migrate_set_capabilities_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (migrate_set_capabilities,
                       (QlQmp *self, const char * const *enable, const char * const *disable),
                       TRUE,
                       ql_qmp_command ("migrate-set-capabilities",
                                       capabilities_args (enable, disable)))

/**
 * ql_qmp_migrate_set_parameters_async:
 * @self: a connected #QlQmp
 * @parameters: QEMU's `MigrateSetParameters`, e.g. `max-bandwidth`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Sets migration parameters (`migrate-set-parameters`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_migrate_set_parameters:
 * @self: a connected #QlQmp
 * @parameters: QEMU's `MigrateSetParameters`, e.g. `max-bandwidth`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_migrate_set_parameters_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (migrate_set_parameters, (QlQmp *self, JsonObject *parameters),
                       parameters != NULL,
                       ql_qmp_command ("migrate-set-parameters", json_object_ref (parameters)))

/**
 * ql_qmp_migrate_async:
 * @self: a connected #QlQmp
 * @uri: where to: `exec:CMD`, `fd:NAME` (see ql_qmp_getfd()), `unix:PATH`, `tcp:HOST:PORT`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts migrating the VM (`migrate`); see ql_qmp_wait_migration() for its end. Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_migrate:
 * @self: a connected #QlQmp
 * @uri: where to: `exec:CMD`, `fd:NAME` (see ql_qmp_getfd()), `unix:PATH`, `tcp:HOST:PORT`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_migrate_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (migrate, (QlQmp *self, const char *uri), uri != NULL,
                       string_command ("migrate", "uri", uri))

/**
 * ql_qmp_migrate_incoming_async:
 * @self: a connected #QlQmp
 * @uri: where from, as for ql_qmp_migrate()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Starts an incoming migration on a QEMU started with `-incoming defer` (`migrate-incoming`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_migrate_incoming:
 * @self: a connected #QlQmp
 * @uri: where from, as for ql_qmp_migrate()
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_migrate_incoming_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (migrate_incoming, (QlQmp *self, const char *uri), uri != NULL,
                       string_command ("migrate-incoming", "uri", uri))

/**
 * ql_qmp_closefd_async:
 * @self: a connected #QlQmp
 * @name: the name given to ql_qmp_getfd()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Closes a file descriptor QEMU received with ql_qmp_getfd() (`closefd`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_closefd:
 * @self: a connected #QlQmp
 * @name: the name given to ql_qmp_getfd()
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_closefd_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (closefd, (QlQmp *self, const char *name), name != NULL,
                       string_command ("closefd", "fdname", name))

/**
 * ql_qmp_query_hotpluggable_cpus_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Lists CPU slots (`query-hotpluggable-cpus`): each with `type`, `props`, `vcpus-count` and, when filled, `qom-path`. Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_query_hotpluggable_cpus:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_query_hotpluggable_cpus_async().
 *
 * Returns: (transfer full) (nullable): the reply's return value, or %NULL with @error set
 */
QL_QMP_DEFINE_QUERY (query_hotpluggable_cpus, (QlQmp *self), TRUE,
                     ql_qmp_command ("query-hotpluggable-cpus", NULL))

/**
 * ql_qmp_query_memory_devices_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Lists memory devices (`query-memory-devices`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_query_memory_devices:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_query_memory_devices_async().
 *
 * Returns: (transfer full) (nullable): the reply's return value, or %NULL with @error set
 */
QL_QMP_DEFINE_QUERY (query_memory_devices, (QlQmp *self), TRUE,
                     ql_qmp_command ("query-memory-devices", NULL))

/**
 * ql_qmp_query_migrate_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * The migration's state (`query-migrate`): `status` and progress. Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_query_migrate:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_query_migrate_async().
 *
 * Returns: (transfer full) (nullable): the reply's return value, or %NULL with @error set
 */
QL_QMP_DEFINE_QUERY (query_migrate, (QlQmp *self), TRUE, ql_qmp_command ("query-migrate", NULL))

/**
 * ql_qmp_qom_get_async:
 * @self: a connected #QlQmp
 * @path: a QOM path, e.g. `/machine/peripheral/disk0`
 * @property: the property's name
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Reads a QOM property (`qom-get`). Finish with ql_qmp_execute_finish().
 */
/**
 * ql_qmp_qom_get:
 * @self: a connected #QlQmp
 * @path: a QOM path, e.g. `/machine/peripheral/disk0`
 * @property: the property's name
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_qom_get_async().
 *
 * Returns: (transfer full) (nullable): the reply's return value, or %NULL with @error set
 */
QL_QMP_DEFINE_QUERY (qom_get, (QlQmp *self, const char *path, const char *property),
                     path != NULL && property != NULL,
                     ql_qmp_command ("qom-get", args_with_strings (NULL, "path", path,
                                                                   "property", property, NULL)))

/* ---- the memory balloon ------------------------------------------------- */

/**
 * ql_qmp_balloon_async:
 * @self: a connected #QlQmp
 * @target: the guest's memory size to aim at, in bytes: 1 to 2^63-1
 *   (QEMU caps it at the guest's RAM size)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Sets the memory balloon's target (`balloon {"value": TARGET}`): the
 * guest's balloon driver inflates or deflates the balloon until the guest
 * has @target bytes, at its own pace; ql_qmp_query_balloon() reads how far
 * it got. The VM needs a balloon device (QEMU answers `DeviceNotActive`
 * otherwise). A @target of 0 or above 2^63-1 fails with
 * %QL_QMP_ERROR_FAILED without reaching QEMU. Finish with
 * ql_qmp_execute_finish().
 */
/**
 * ql_qmp_balloon:
 * @self: a connected #QlQmp
 * @target: the guest's memory size to aim at, in bytes: 1 to 2^63-1
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_balloon_async(). It returns once QEMU has
 * taken the target, not once the guest has reached it.
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_COMMAND (balloon, (QlQmp *self, guint64 target), TRUE, balloon_command (target))

/**
 * ql_qmp_query_balloon_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @actual: (out) (optional): the guest's memory size in bytes (QMP's
 *   `actual`)
 * @error: return location for an error
 *
 * Finishes ql_qmp_query_balloon_async(). A reply without a non-negative
 * integer `actual` is %QL_QMP_ERROR_PROTOCOL.
 *
 * Returns: %TRUE on success
 */
gboolean
ql_qmp_query_balloon_finish (QlQmp         *self,
                             GAsyncResult  *result,
                             guint64       *actual,
                             GError       **error)
{
  g_autoptr(JsonNode) ret = ql_qmp_execute_finish (self, result, error);
  gint64 a = reply_count (ret, "actual", G_MAXINT64);

  if (ret == NULL)
    return FALSE;
  if (a < 0)
    return reply_lacks (error, "query-balloon: the reply lacks \"actual\" (a size in bytes)");
  if (actual != NULL)
    *actual = (guint64) a;
  return TRUE;
}

/**
 * ql_qmp_query_balloon_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Asks for the guest's memory size as the balloon leaves it
 * (`query-balloon`): the RAM size minus what the guest has put into the
 * balloon. The VM needs a balloon device (QEMU answers `DeviceNotActive`
 * otherwise). Finish with ql_qmp_query_balloon_finish().
 */
/**
 * ql_qmp_query_balloon:
 * @self: a connected #QlQmp
 * @actual: (out) (optional): the guest's memory size in bytes (QMP's
 *   `actual`)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_query_balloon_async().
 *
 * Returns: %TRUE on success
 */
QL_QMP_DEFINE_TYPED_QUERY (query_balloon, "query-balloon", (guint64 *actual), (actual))
