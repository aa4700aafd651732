/* qlaunch — typed helpers for the QMP commands a launcher needs. */
#include "ql-private.h"
#include "ql-qmp-private.h"

#define MIGRATION_POLL_MS 20

/* A copy of @properties (or an empty object) to add members to. */
static JsonObject *
properties_copy (JsonObject *properties)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  if (properties == NULL)
    return copy;
  json_object_iter_init (&iter, properties);
  while (json_object_iter_next (&iter, &name, &node))
    json_object_set_member (copy, name, json_node_copy (node));
  return copy;
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

static gboolean
execute_discard (QlQmp         *self,
                 const char    *command,
                 JsonObject    *arguments,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(JsonNode) ret = ql_qmp_execute (self, command, arguments, cancellable, error);

  return ret != NULL;
}

/* ---- query-status ------------------------------------------------------- */

static gboolean
parse_status (JsonNode    *ret,
              char       **status,
              gboolean    *running,
              GError     **error)
{
  JsonObject *o = ret != NULL && JSON_NODE_HOLDS_OBJECT (ret) ? json_node_get_object (ret) : NULL;
  JsonNode *s = o != NULL ? json_object_get_member (o, "status") : NULL;
  JsonNode *r = o != NULL ? json_object_get_member (o, "running") : NULL;

  if (s == NULL || json_node_get_value_type (s) != G_TYPE_STRING
      || r == NULL || json_node_get_value_type (r) != G_TYPE_BOOLEAN)
    {
      g_set_error_literal (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                           "query-status: the reply lacks \"status\" or \"running\"");
      return FALSE;
    }
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
void
ql_qmp_query_status_async (QlQmp               *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "query-status", NULL, cancellable, callback, user_data);
}

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

  return ret != NULL && parse_status (ret, status, running, error);
}

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
gboolean
ql_qmp_query_status (QlQmp         *self,
                     char         **status,
                     gboolean      *running,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(JsonNode) ret = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  ret = ql_qmp_execute (self, "query-status", NULL, cancellable, error);
  return ret != NULL && parse_status (ret, status, running, error);
}

/* ---- query-sev-capabilities --------------------------------------------- */

static gboolean
parse_sev_capabilities (JsonNode    *ret,
                        char       **pdh,
                        char       **cert_chain,
                        guint       *cbitpos,
                        guint       *reduced_phys_bits,
                        GError     **error)
{
  JsonObject *o = ret != NULL && JSON_NODE_HOLDS_OBJECT (ret) ? json_node_get_object (ret) : NULL;
  JsonNode *p = o != NULL ? json_object_get_member (o, "pdh") : NULL;
  JsonNode *c = o != NULL ? json_object_get_member (o, "cert-chain") : NULL;
  JsonNode *b = o != NULL ? json_object_get_member (o, "cbitpos") : NULL;
  JsonNode *r = o != NULL ? json_object_get_member (o, "reduced-phys-bits") : NULL;

  if (p == NULL || json_node_get_value_type (p) != G_TYPE_STRING
      || c == NULL || json_node_get_value_type (c) != G_TYPE_STRING
      || b == NULL || json_node_get_value_type (b) != G_TYPE_INT64
      || r == NULL || json_node_get_value_type (r) != G_TYPE_INT64
      || json_node_get_int (b) < 0 || json_node_get_int (b) > G_MAXUINT32
      || json_node_get_int (r) < 0 || json_node_get_int (r) > G_MAXUINT32)
    {
      g_set_error_literal (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                           "query-sev-capabilities: the reply lacks \"pdh\", \"cert-chain\", "
                           "\"cbitpos\" or \"reduced-phys-bits\"");
      return FALSE;
    }
  if (pdh != NULL)
    *pdh = g_strdup (json_node_get_string (p));
  if (cert_chain != NULL)
    *cert_chain = g_strdup (json_node_get_string (c));
  if (cbitpos != NULL)
    *cbitpos = (guint) json_node_get_int (b);
  if (reduced_phys_bits != NULL)
    *reduced_phys_bits = (guint) json_node_get_int (r);
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
void
ql_qmp_query_sev_capabilities_async (QlQmp               *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "query-sev-capabilities", NULL, cancellable, callback, user_data);
}

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

  return ret != NULL && parse_sev_capabilities (ret, pdh, cert_chain, cbitpos, reduced_phys_bits, error);
}

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
gboolean
ql_qmp_query_sev_capabilities (QlQmp         *self,
                               char         **pdh,
                               char         **cert_chain,
                               guint         *cbitpos,
                               guint         *reduced_phys_bits,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(JsonNode) ret = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  ret = ql_qmp_execute (self, "query-sev-capabilities", NULL, cancellable, error);
  return ret != NULL && parse_sev_capabilities (ret, pdh, cert_chain, cbitpos, reduced_phys_bits, error);
}

/* ---- device_del, waiting for DEVICE_DELETED ----------------------------- */

typedef struct
{
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
  g_free (d);
}

static void
device_del_finish_if_done (GTask *task)
{
  DeviceDel *d = g_task_get_task_data (task);

  if (!d->done && d->deleted && d->replied)
    {
      d->done = TRUE;
      g_task_return_boolean (task, TRUE);
    }
}

static void
device_del_fail (GTask  *task,
                 GError *error)
{
  DeviceDel *d = g_task_get_task_data (task);

  if (d->done)
    {
      g_error_free (error);
      return;
    }
  d->done = TRUE;
  g_cancellable_cancel (d->wait_cancel);
  g_task_return_error (task, error);
}

static void
device_del_event (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(GError) error = NULL;

  event = ql_qmp_wait_event_finish (QL_QMP (source), result, &error);
  if (event == NULL)
    {
      device_del_fail (task, g_steal_pointer (&error));
      return;
    }
  ((DeviceDel *) g_task_get_task_data (task))->deleted = TRUE;
  device_del_finish_if_done (task);
}

static void
device_del_reply (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (ret == NULL)
    {
      device_del_fail (task, g_steal_pointer (&error));
      return;
    }
  ((DeviceDel *) g_task_get_task_data (task))->replied = TRUE;
  device_del_finish_if_done (task);
}

static void
chain_cancel (GCancellable *caller,
              GCancellable *ours)
{
  (void) caller;
  g_cancellable_cancel (ours);
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
void
ql_qmp_device_del_async (QlQmp               *self,
                         const char          *id,
                         guint                timeout_ms,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(JsonObject) args = json_object_new ();
  GTask *task;
  DeviceDel *d;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_qmp_device_del_async);
  d = g_new0 (DeviceDel, 1);
  d->wait_cancel = g_cancellable_new ();
  if (cancellable != NULL)
    {
      d->caller = g_object_ref (cancellable);
      d->chain_id = g_cancellable_connect (cancellable, G_CALLBACK (chain_cancel),
                                           d->wait_cancel, NULL);
    }
  g_task_set_task_data (task, d, (GDestroyNotify) device_del_free);

  json_object_set_string_member (args, "id", id);
  /* Wait first: the event may come before the reply. */
  ql_qmp_wait_event_async (self, "DEVICE_DELETED", "device", id, timeout_ms, d->wait_cancel,
                           device_del_event, g_object_ref (task));
  ql_qmp_execute_async (self, "device_del", args, cancellable, device_del_reply, task);
}

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
gboolean
ql_qmp_device_del_finish (QlQmp         *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  const char *id;
  guint timeout_ms;
  GCancellable *cancellable;
} DeviceDelArgs;

static void
start_device_del (QlQmp               *self,
                  gpointer             data,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  DeviceDelArgs *a = data;

  ql_qmp_device_del_async (self, a->id, a->timeout_ms, a->cancellable, callback, user_data);
}

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
gboolean
ql_qmp_device_del (QlQmp         *self,
                   const char    *id,
                   guint          timeout_ms,
                   GCancellable  *cancellable,
                   GError       **error)
{
  DeviceDelArgs a = { id, timeout_ms, cancellable };
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  result = ql_qmp_run_sync (self, start_device_del, &a);
  return ql_qmp_device_del_finish (self, result, error);
}

/* ---- memory hotplug: a backend object and a pc-dimm --------------------- */

typedef struct
{
  char *backend_id;
  char *dimm_id;
  GError *error;
} MemoryHotplug;

static void
memory_hotplug_free (MemoryHotplug *m)
{
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
  args = json_object_new ();
  json_object_set_string_member (args, "id", m->backend_id);
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
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonObject) args = NULL;
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (ret == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  args = json_object_new ();
  json_object_set_string_member (args, "driver", "pc-dimm");
  json_object_set_string_member (args, "id", m->dimm_id);
  json_object_set_string_member (args, "memdev", m->backend_id);
  cancellable = g_task_get_cancellable (task);
  ql_qmp_execute_async (QL_QMP (source), "device_add", args, cancellable,
                        memory_dimm_added, g_steal_pointer (&task));
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
void
ql_qmp_hotplug_memory_async (QlQmp               *self,
                             const char          *qom_type,
                             const char          *id,
                             const char          *mem_path,
                             guint64              size,
                             gboolean             share,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(JsonObject) args = json_object_new ();
  GTask *task;
  MemoryHotplug *m;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (qom_type != NULL);
  g_return_if_fail (id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_qmp_hotplug_memory_async);
  m = g_new0 (MemoryHotplug, 1);
  m->backend_id = g_strconcat ("mem", id, NULL);
  m->dimm_id = g_strconcat ("dimm", id, NULL);
  g_task_set_task_data (task, m, (GDestroyNotify) memory_hotplug_free);
  if (size == 0)
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                               "memory hotplug '%s': the size is 0", id);
      g_object_unref (task);
      return;
    }

  json_object_set_string_member (args, "qom-type", qom_type);
  json_object_set_string_member (args, "id", m->backend_id);
  json_object_set_int_member (args, "size", (gint64) size);
  if (mem_path != NULL)
    json_object_set_string_member (args, "mem-path", mem_path);
  if (share)
    json_object_set_boolean_member (args, "share", TRUE);
  ql_qmp_execute_async (self, "object-add", args, cancellable, memory_backend_added, task);
}

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
gboolean
ql_qmp_hotplug_memory_finish (QlQmp         *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  const char *qom_type;
  const char *id;
  const char *mem_path;
  guint64 size;
  gboolean share;
  GCancellable *cancellable;
} MemoryArgs;

static void
start_hotplug_memory (QlQmp               *self,
                      gpointer             data,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  MemoryArgs *a = data;

  ql_qmp_hotplug_memory_async (self, a->qom_type, a->id, a->mem_path, a->size, a->share,
                               a->cancellable, callback, user_data);
}

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
gboolean
ql_qmp_hotplug_memory (QlQmp         *self,
                       const char    *qom_type,
                       const char    *id,
                       const char    *mem_path,
                       guint64        size,
                       gboolean       share,
                       GCancellable  *cancellable,
                       GError       **error)
{
  MemoryArgs a = { qom_type, id, mem_path, size, share, cancellable };
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  result = ql_qmp_run_sync (self, start_hotplug_memory, &a);
  return ql_qmp_hotplug_memory_finish (self, result, error);
}

/* ---- waiting for a migration's end -------------------------------------- */

typedef struct
{
  gint64 deadline;      /* 0: none */
  guint timeout_ms;
  GSource *timer;
} MigrationWait;

static void
migration_wait_free (MigrationWait *w)
{
  if (w->timer != NULL)
    {
      g_source_destroy (w->timer);
      g_source_unref (w->timer);
    }
  g_free (w);
}

static void migration_poll (GTask *task);

static gboolean
migration_poll_again (gpointer data)
{
  GTask *task = data;
  MigrationWait *w = g_task_get_task_data (task);

  g_clear_pointer (&w->timer, g_source_unref);
  migration_poll (task);
  return G_SOURCE_REMOVE;
}

static void migration_poll_later (GTask *task);

static void
migration_state_polled (GObject      *source,
                        GAsyncResult *result,
                        gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (ret == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
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
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *o;
  const char *status;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (ret == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
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

  if (g_task_return_error_if_cancelled (task))
    return;
  if (w->deadline != 0 && g_get_monotonic_time () >= w->deadline)
    {
      g_task_return_new_error (task, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT,
                               "migration not completed within %u ms", w->timeout_ms);
      return;
    }
  w->timer = g_timeout_source_new (MIGRATION_POLL_MS);
  g_source_set_callback (w->timer, migration_poll_again, g_object_ref (task), g_object_unref);
  g_source_attach (w->timer, g_task_get_context (task));
}

static void
migration_poll (GTask *task)
{
  ql_qmp_execute_async (g_task_get_source_object (task), "query-migrate", NULL,
                        g_task_get_cancellable (task), migration_polled, g_object_ref (task));
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
void
ql_qmp_wait_migration_async (QlQmp               *self,
                             guint                timeout_ms,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  MigrationWait *w;

  g_return_if_fail (QL_IS_QMP (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_qmp_wait_migration_async);
  w = g_new0 (MigrationWait, 1);
  w->timeout_ms = timeout_ms;
  if (timeout_ms > 0)
    w->deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_task_set_task_data (task, w, (GDestroyNotify) migration_wait_free);
  migration_poll (task);
}

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
gboolean
ql_qmp_wait_migration_finish (QlQmp         *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  guint timeout_ms;
  GCancellable *cancellable;
} WaitMigrationArgs;

static void
start_wait_migration (QlQmp               *self,
                      gpointer             data,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  WaitMigrationArgs *a = data;

  ql_qmp_wait_migration_async (self, a->timeout_ms, a->cancellable, callback, user_data);
}

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
gboolean
ql_qmp_wait_migration (QlQmp         *self,
                       guint          timeout_ms,
                       GCancellable  *cancellable,
                       GError       **error)
{
  WaitMigrationArgs a = { timeout_ms, cancellable };
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  result = ql_qmp_run_sync (self, start_wait_migration, &a);
  return ql_qmp_wait_migration_finish (self, result, error);
}

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
void
ql_qmp_getfd_async (QlQmp               *self,
                    int                  fd,
                    const char          *name,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(JsonObject) args = json_object_new ();

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (fd >= 0);
  g_return_if_fail (name != NULL);

  json_object_set_string_member (args, "fdname", name);
  ql_qmp_execute_with_fd_async (self, "getfd", args, fd, cancellable, callback, user_data);
}

typedef struct
{
  int fd;
  const char *name;
  GCancellable *cancellable;
} GetfdArgs;

static void
start_getfd (QlQmp               *self,
             gpointer             data,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  GetfdArgs *a = data;

  ql_qmp_getfd_async (self, a->fd, a->name, a->cancellable, callback, user_data);
}

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
gboolean
ql_qmp_getfd (QlQmp         *self,
              int            fd,
              const char    *name,
              GCancellable  *cancellable,
              GError       **error)
{
  GetfdArgs a = { fd, name, cancellable };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonNode) ret = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  result = ql_qmp_run_sync (self, start_getfd, &a);
  ret = ql_qmp_execute_finish (self, result, error);
  return ret != NULL;
}

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
void
ql_qmp_stop_async (QlQmp *self,
                   GCancellable *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "stop", NULL, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_stop (QlQmp *self,
             GCancellable *cancellable,
             GError **error)
{
  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  return execute_discard (self, "stop", NULL, cancellable, error);
}

/**
 * ql_qmp_cont_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Resumes a paused guest (`cont`). Finish with ql_qmp_execute_finish().
 */
void
ql_qmp_cont_async (QlQmp *self,
                   GCancellable *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "cont", NULL, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_cont (QlQmp *self,
             GCancellable *cancellable,
             GError **error)
{
  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  return execute_discard (self, "cont", NULL, cancellable, error);
}

/**
 * ql_qmp_system_powerdown_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Asks the guest to power down (`system_powerdown`, an ACPI power button press); QEMU exits once the guest has shut down. Finish with ql_qmp_execute_finish().
 */
void
ql_qmp_system_powerdown_async (QlQmp *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "system_powerdown", NULL, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_system_powerdown (QlQmp *self,
                         GCancellable *cancellable,
                         GError **error)
{
  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  return execute_discard (self, "system_powerdown", NULL, cancellable, error);
}

/**
 * ql_qmp_quit_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Makes QEMU exit at once (`quit`). Finish with ql_qmp_execute_finish().
 */
void
ql_qmp_quit_async (QlQmp *self,
                   GCancellable *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "quit", NULL, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_quit (QlQmp *self,
             GCancellable *cancellable,
             GError **error)
{
  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  return execute_discard (self, "quit", NULL, cancellable, error);
}

static JsonObject *
device_add_args (const char *driver,
                 const char *id,
                 JsonObject *properties)
{
  JsonObject *args = properties_copy (properties);

  json_object_set_string_member (args, "driver", driver);
  json_object_set_string_member (args, "id", id);

  return args;
}

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
void
ql_qmp_device_add_async (QlQmp *self,
                         const char *driver,
                         const char *id,
                         JsonObject *properties,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (driver != NULL);
  g_return_if_fail (id != NULL);

  args = device_add_args (driver, id, properties);
  ql_qmp_execute_async (self, "device_add", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_device_add (QlQmp *self,
                   const char *driver,
                   const char *id,
                   JsonObject *properties,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (driver != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  args = device_add_args (driver, id, properties);
  return execute_discard (self, "device_add", args, cancellable, error);
}

static JsonObject *
netdev_add_args (const char *type,
                 const char *id,
                 JsonObject *properties)
{
  JsonObject *args = properties_copy (properties);

  json_object_set_string_member (args, "type", type);
  json_object_set_string_member (args, "id", id);

  return args;
}

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
void
ql_qmp_netdev_add_async (QlQmp *self,
                         const char *type,
                         const char *id,
                         JsonObject *properties,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (type != NULL);
  g_return_if_fail (id != NULL);

  args = netdev_add_args (type, id, properties);
  ql_qmp_execute_async (self, "netdev_add", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_netdev_add (QlQmp *self,
                   const char *type,
                   const char *id,
                   JsonObject *properties,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (type != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  args = netdev_add_args (type, id, properties);
  return execute_discard (self, "netdev_add", args, cancellable, error);
}

static JsonObject *
netdev_del_args (const char *id)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "id", id);

  return args;
}

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
void
ql_qmp_netdev_del_async (QlQmp *self,
                         const char *id,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (id != NULL);

  args = netdev_del_args (id);
  ql_qmp_execute_async (self, "netdev_del", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_netdev_del (QlQmp *self,
                   const char *id,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  args = netdev_del_args (id);
  return execute_discard (self, "netdev_del", args, cancellable, error);
}

static JsonObject *
blockdev_add_args (JsonObject *options)
{
  JsonObject *args = json_object_ref (options);

  return args;
}

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
void
ql_qmp_blockdev_add_async (QlQmp *self,
                           JsonObject *options,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (options != NULL);

  args = blockdev_add_args (options);
  ql_qmp_execute_async (self, "blockdev-add", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_blockdev_add (QlQmp *self,
                     JsonObject *options,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (options != NULL, FALSE);

  args = blockdev_add_args (options);
  return execute_discard (self, "blockdev-add", args, cancellable, error);
}

static JsonObject *
blockdev_del_args (const char *node_name)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "node-name", node_name);

  return args;
}

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
void
ql_qmp_blockdev_del_async (QlQmp *self,
                           const char *node_name,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (node_name != NULL);

  args = blockdev_del_args (node_name);
  ql_qmp_execute_async (self, "blockdev-del", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_blockdev_del (QlQmp *self,
                     const char *node_name,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (node_name != NULL, FALSE);

  args = blockdev_del_args (node_name);
  return execute_discard (self, "blockdev-del", args, cancellable, error);
}

static JsonObject *
chardev_add_args (const char *id,
                  JsonObject *backend)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "id", id);
  json_object_set_object_member (args, "backend", json_object_ref (backend));

  return args;
}

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
void
ql_qmp_chardev_add_async (QlQmp *self,
                          const char *id,
                          JsonObject *backend,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail (backend != NULL);

  args = chardev_add_args (id, backend);
  ql_qmp_execute_async (self, "chardev-add", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_chardev_add (QlQmp *self,
                    const char *id,
                    JsonObject *backend,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (backend != NULL, FALSE);

  args = chardev_add_args (id, backend);
  return execute_discard (self, "chardev-add", args, cancellable, error);
}

static JsonObject *
chardev_remove_args (const char *id)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "id", id);

  return args;
}

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
void
ql_qmp_chardev_remove_async (QlQmp *self,
                             const char *id,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (id != NULL);

  args = chardev_remove_args (id);
  ql_qmp_execute_async (self, "chardev-remove", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_chardev_remove (QlQmp *self,
                       const char *id,
                       GCancellable *cancellable,
                       GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  args = chardev_remove_args (id);
  return execute_discard (self, "chardev-remove", args, cancellable, error);
}

static JsonObject *
object_add_args (const char *qom_type,
                 const char *id,
                 JsonObject *properties)
{
  JsonObject *args = properties_copy (properties);

  json_object_set_string_member (args, "qom-type", qom_type);
  json_object_set_string_member (args, "id", id);

  return args;
}

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
void
ql_qmp_object_add_async (QlQmp *self,
                         const char *qom_type,
                         const char *id,
                         JsonObject *properties,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (qom_type != NULL);
  g_return_if_fail (id != NULL);

  args = object_add_args (qom_type, id, properties);
  ql_qmp_execute_async (self, "object-add", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_object_add (QlQmp *self,
                   const char *qom_type,
                   const char *id,
                   JsonObject *properties,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (qom_type != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  args = object_add_args (qom_type, id, properties);
  return execute_discard (self, "object-add", args, cancellable, error);
}

static JsonObject *
object_del_args (const char *id)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "id", id);

  return args;
}

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
void
ql_qmp_object_del_async (QlQmp *self,
                         const char *id,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (id != NULL);

  args = object_del_args (id);
  ql_qmp_execute_async (self, "object-del", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_object_del (QlQmp *self,
                   const char *id,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  args = object_del_args (id);
  return execute_discard (self, "object-del", args, cancellable, error);
}

static JsonObject *
hotplug_cpu_args (const char *driver,
                  const char *id,
                  gint socket_id,
                  gint die_id,
                  gint core_id,
                  gint thread_id)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "driver", driver);
  json_object_set_string_member (args, "id", id);
  if (socket_id >= 0)
    json_object_set_int_member (args, "socket-id", socket_id);
  if (die_id >= 0)
    json_object_set_int_member (args, "die-id", die_id);
  if (core_id >= 0)
    json_object_set_int_member (args, "core-id", core_id);
  if (thread_id >= 0)
    json_object_set_int_member (args, "thread-id", thread_id);

  return args;
}

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
void
ql_qmp_hotplug_cpu_async (QlQmp *self,
                          const char *driver,
                          const char *id,
                          gint socket_id,
                          gint die_id,
                          gint core_id,
                          gint thread_id,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (driver != NULL);
  g_return_if_fail (id != NULL);

  args = hotplug_cpu_args (driver, id, socket_id, die_id, core_id, thread_id);
  ql_qmp_execute_async (self, "device_add", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_hotplug_cpu (QlQmp *self,
                    const char *driver,
                    const char *id,
                    gint socket_id,
                    gint die_id,
                    gint core_id,
                    gint thread_id,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (driver != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  args = hotplug_cpu_args (driver, id, socket_id, die_id, core_id, thread_id);
  return execute_discard (self, "device_add", args, cancellable, error);
}

static JsonObject *
migrate_set_capabilities_args (const char * const *enable,
                               const char * const *disable)
{
  JsonObject *args = capabilities_args (enable, disable);

  return args;
}

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
void
ql_qmp_migrate_set_capabilities_async (QlQmp *self,
                                       const char * const *enable,
                                       const char * const *disable,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));

  args = migrate_set_capabilities_args (enable, disable);
  ql_qmp_execute_async (self, "migrate-set-capabilities", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_migrate_set_capabilities (QlQmp *self,
                                 const char * const *enable,
                                 const char * const *disable,
                                 GCancellable *cancellable,
                                 GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  args = migrate_set_capabilities_args (enable, disable);
  return execute_discard (self, "migrate-set-capabilities", args, cancellable, error);
}

static JsonObject *
migrate_set_parameters_args (JsonObject *parameters)
{
  JsonObject *args = json_object_ref (parameters);

  return args;
}

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
void
ql_qmp_migrate_set_parameters_async (QlQmp *self,
                                     JsonObject *parameters,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (parameters != NULL);

  args = migrate_set_parameters_args (parameters);
  ql_qmp_execute_async (self, "migrate-set-parameters", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_migrate_set_parameters (QlQmp *self,
                               JsonObject *parameters,
                               GCancellable *cancellable,
                               GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (parameters != NULL, FALSE);

  args = migrate_set_parameters_args (parameters);
  return execute_discard (self, "migrate-set-parameters", args, cancellable, error);
}

static JsonObject *
migrate_args (const char *uri)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "uri", uri);

  return args;
}

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
void
ql_qmp_migrate_async (QlQmp *self,
                      const char *uri,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (uri != NULL);

  args = migrate_args (uri);
  ql_qmp_execute_async (self, "migrate", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_migrate (QlQmp *self,
                const char *uri,
                GCancellable *cancellable,
                GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (uri != NULL, FALSE);

  args = migrate_args (uri);
  return execute_discard (self, "migrate", args, cancellable, error);
}

static JsonObject *
migrate_incoming_args (const char *uri)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "uri", uri);

  return args;
}

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
void
ql_qmp_migrate_incoming_async (QlQmp *self,
                               const char *uri,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (uri != NULL);

  args = migrate_incoming_args (uri);
  ql_qmp_execute_async (self, "migrate-incoming", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_migrate_incoming (QlQmp *self,
                         const char *uri,
                         GCancellable *cancellable,
                         GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (uri != NULL, FALSE);

  args = migrate_incoming_args (uri);
  return execute_discard (self, "migrate-incoming", args, cancellable, error);
}

static JsonObject *
closefd_args (const char *name)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "fdname", name);

  return args;
}

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
void
ql_qmp_closefd_async (QlQmp *self,
                      const char *name,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (name != NULL);

  args = closefd_args (name);
  ql_qmp_execute_async (self, "closefd", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_closefd (QlQmp *self,
                const char *name,
                GCancellable *cancellable,
                GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  args = closefd_args (name);
  return execute_discard (self, "closefd", args, cancellable, error);
}

/**
 * ql_qmp_query_hotpluggable_cpus_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Lists CPU slots (`query-hotpluggable-cpus`): each with `type`, `props`, `vcpus-count` and, when filled, `qom-path`. Finish with ql_qmp_execute_finish().
 */
void
ql_qmp_query_hotpluggable_cpus_async (QlQmp *self,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "query-hotpluggable-cpus", NULL, cancellable, callback, user_data);
}

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
JsonNode *
ql_qmp_query_hotpluggable_cpus (QlQmp *self,
                                GCancellable *cancellable,
                                GError **error)
{
  g_return_val_if_fail (QL_IS_QMP (self), NULL);

  return ql_qmp_execute (self, "query-hotpluggable-cpus", NULL, cancellable, error);
}

/**
 * ql_qmp_query_memory_devices_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Lists memory devices (`query-memory-devices`). Finish with ql_qmp_execute_finish().
 */
void
ql_qmp_query_memory_devices_async (QlQmp *self,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "query-memory-devices", NULL, cancellable, callback, user_data);
}

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
JsonNode *
ql_qmp_query_memory_devices (QlQmp *self,
                             GCancellable *cancellable,
                             GError **error)
{
  g_return_val_if_fail (QL_IS_QMP (self), NULL);

  return ql_qmp_execute (self, "query-memory-devices", NULL, cancellable, error);
}

/**
 * ql_qmp_query_migrate_async:
 * @self: a connected #QlQmp
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * The migration's state (`query-migrate`): `status` and progress. Finish with ql_qmp_execute_finish().
 */
void
ql_qmp_query_migrate_async (QlQmp *self,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "query-migrate", NULL, cancellable, callback, user_data);
}

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
JsonNode *
ql_qmp_query_migrate (QlQmp *self,
                      GCancellable *cancellable,
                      GError **error)
{
  g_return_val_if_fail (QL_IS_QMP (self), NULL);

  return ql_qmp_execute (self, "query-migrate", NULL, cancellable, error);
}

static JsonObject *
qom_get_args (const char *path,
              const char *property)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, "path", path);
  json_object_set_string_member (args, "property", property);

  return args;
}

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
void
ql_qmp_qom_get_async (QlQmp *self,
                      const char *path,
                      const char *property,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (property != NULL);

  args = qom_get_args (path, property);
  ql_qmp_execute_async (self, "qom-get", args, cancellable, callback, user_data);
}

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
JsonNode *
ql_qmp_qom_get (QlQmp *self,
                const char *path,
                const char *property,
                GCancellable *cancellable,
                GError **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (property != NULL, NULL);

  args = qom_get_args (path, property);
  return ql_qmp_execute (self, "qom-get", args, cancellable, error);
}


/* ---- the memory balloon ------------------------------------------------- */

/* QMP's `value` is a JSON integer QEMU reads as a signed 64-bit number, and
 * QEMU refuses 0 with a message about a parameter 'target' the command
 * does not have: both are caught here, naming the command. */
static gboolean
check_balloon_target (guint64   target,
                      GError  **error)
{
  if (target == 0 || target > G_MAXINT64)
    {
      g_set_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                   "balloon: the target size '%" G_GUINT64_FORMAT "' is not valid: expected 1 to %" G_GINT64_FORMAT " bytes",
                   target, G_MAXINT64);
      return FALSE;
    }
  return TRUE;
}

static JsonObject *
balloon_args (guint64 target)
{
  JsonObject *args = json_object_new ();

  json_object_set_int_member (args, "value", (gint64) target);

  return args;
}

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
void
ql_qmp_balloon_async (QlQmp               *self,
                      guint64              target,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(JsonObject) args = NULL;
  GError *error = NULL;

  g_return_if_fail (QL_IS_QMP (self));

  if (!check_balloon_target (target, &error))
    {
      GTask *task = g_task_new (self, cancellable, callback, user_data);

      g_task_set_source_tag (task, ql_qmp_balloon_async);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  args = balloon_args (target);
  ql_qmp_execute_async (self, "balloon", args, cancellable, callback, user_data);
}

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
gboolean
ql_qmp_balloon (QlQmp         *self,
                guint64        target,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(JsonObject) args = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  if (!check_balloon_target (target, error))
    return FALSE;
  args = balloon_args (target);
  return execute_discard (self, "balloon", args, cancellable, error);
}

static gboolean
parse_balloon_info (JsonNode  *ret,
                    guint64   *actual,
                    GError   **error)
{
  JsonObject *o = ret != NULL && JSON_NODE_HOLDS_OBJECT (ret) ? json_node_get_object (ret) : NULL;
  JsonNode *a = o != NULL ? json_object_get_member (o, "actual") : NULL;

  if (a == NULL || !JSON_NODE_HOLDS_VALUE (a) || json_node_get_value_type (a) != G_TYPE_INT64
      || json_node_get_int (a) < 0)
    {
      g_set_error_literal (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                           "query-balloon: the reply lacks \"actual\" (a size in bytes)");
      return FALSE;
    }
  if (actual != NULL)
    *actual = (guint64) json_node_get_int (a);
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
void
ql_qmp_query_balloon_async (QlQmp               *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (QL_IS_QMP (self));

  ql_qmp_execute_async (self, "query-balloon", NULL, cancellable, callback, user_data);
}

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

  return ret != NULL && parse_balloon_info (ret, actual, error);
}

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
gboolean
ql_qmp_query_balloon (QlQmp         *self,
                      guint64       *actual,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(JsonNode) ret = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  ret = ql_qmp_execute (self, "query-balloon", NULL, cancellable, error);
  return ret != NULL && parse_balloon_info (ret, actual, error);
}
