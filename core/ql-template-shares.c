/* qlaunch — a template's virtio-fs shares.
 *
 * QEMU 7.2 cannot save a vhost-user-fs device ("State blocked by
 * non-migratable device"), so a template VM runs without its shares: their
 * [device] groups are taken out of the VM text the template keeps, and the
 * manifest's "shares" records each one's id and properties. Every clone
 * gets them hot-plugged once its state is loaded, each with a virtiofsd of
 * its own that the clone's QlVm follows as it follows the helpers of a
 * launch: one that dies stops the clone, and they are stopped (and their
 * sockets removed) when the clone's QEMU ends.
 *
 * virtiofsd maps guest RAM, which must then be a shared mapping: a clone
 * with shares runs on its own copy of the template's memory file, mapped
 * shared, instead of a private mapping of the template's (virtiofsd would
 * see, and write, the template's pages).
 *
 * On a PCI Express machine (q35) the template reserves one more empty root
 * port for hot-plug per share that names no bus or addr; on pc the root
 * bus takes hot-plugged devices (ACPI), and the slot a share had is free
 * in the template.
 */
#include "ql-template-shares-private.h"
#include "ql-hotplug-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <glib/gstdio.h>

#define SHARE_SOCKET_DIR "fs"
#define COPY_CHUNK (8 * 1024 * 1024)

/* ---- making a template --------------------------------------------------- */

/* The share's properties that differ from their defaults, as text (paths
 * resolved already: the VM file's loader made them absolute). */
static JsonObject *
share_properties (QlDevice *device)
{
  g_autofree GParamSpec **pspecs = NULL;
  JsonObject *properties = json_object_new ();
  guint n = 0;

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n);
  for (guint i = 0; i < n; i++)
    {
      GParamSpec *pspec = pspecs[i];
      g_auto(GValue) value = G_VALUE_INIT;
      g_autofree char *text = NULL;

      if (g_str_equal (pspec->name, "id")
          || (pspec->flags & (G_PARAM_READABLE | G_PARAM_WRITABLE)) != (G_PARAM_READABLE | G_PARAM_WRITABLE)
          || (pspec->flags & G_PARAM_CONSTRUCT_ONLY) != 0)
        continue;
      g_value_init (&value, pspec->value_type);
      g_object_get_property (G_OBJECT (device), pspec->name, &value);
      if (g_param_value_defaults (pspec, &value))
        continue;
      text = ql_param_value_to_string (pspec, &value);
      if (text != NULL)
        json_object_set_string_member (properties, pspec->name, text);
    }
  return properties;
}

static gboolean
share_needs_port (QlDevice *device)
{
  g_autofree char *bus = NULL;
  g_autofree char *addr = NULL;

  g_object_get (device, "bus", &bus, "addr", &addr, NULL);
  return bus == NULL && addr == NULL;
}

gboolean
ql_template_shares_prepare (QlVmConfig  *source,
                            char       **text,
                            JsonArray  **shares_out,
                            GError     **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(JsonArray) shares = json_array_new ();
  g_autoptr(JsonObject) manifest = json_object_new ();
  g_autoptr(QlVmConfig) scratch = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  g_auto(GStrv) groups = NULL;
  g_autofree char *stripped = NULL;
  const char *base_dir = ql_vm_config_get_base_dir (source);
  g_autofree char *cwd = base_dir == NULL ? g_get_current_dir () : NULL;
  guint ports = 0;

  if (!g_key_file_load_from_data (kf, *text, -1, G_KEY_FILE_KEEP_COMMENTS, error))
    return FALSE;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *type = NULL;
      g_autofree char *id = NULL;
      QlDevice *device;
      JsonObject *share;

      if (!g_str_has_prefix (groups[i], "device "))
        continue;
      type = g_key_file_get_string (kf, groups[i], "type", NULL);
      if (g_strcmp0 (type, QL_TEMPLATE_SHARE_TYPE) != 0)
        continue;
      id = g_key_file_has_key (kf, groups[i], "id", NULL)
           ? g_key_file_get_string (kf, groups[i], "id", NULL)
           : g_strdup (groups[i] + strlen ("device "));
      device = id != NULL ? ql_vm_config_lookup_device (source, id) : NULL;
      if (device == NULL)
        return ql_template_set_unsupported (error, "this VM cannot be a template: ", NULL,
                                            "[%s]: the virtio-fs share is not among the VM's devices",
                                            groups[i]);
      share = json_object_new ();
      json_object_set_string_member (share, "id", id);
      json_object_set_string_member (share, "type", QL_TEMPLATE_SHARE_TYPE);
      json_object_set_object_member (share, "properties", share_properties (device));
      json_array_add_object_element (shares, share);
      if (share_needs_port (device))
        ports++;
      g_key_file_remove_group (kf, groups[i], NULL);
    }
  if (json_array_get_length (shares) == 0)
    {
      *shares_out = g_steal_pointer (&shares);
      return TRUE;
    }
  /* q35's root bus takes no hot-plug: an empty root port for each share
   * that does not name where it goes, beyond those the VM reserves. */
  if (ports > 0 && ql_vm_config_is_pcie_machine (source))
    {
      g_autofree char *slots = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                ql_vm_config_get_uint (source, QL_VM_PROP_MACHINE_HOTPLUG_SLOTS)
                                                + ports);

      g_key_file_set_value (kf, "machine", "hotplug-slots", slots);
    }
  stripped = g_key_file_to_data (kf, NULL, error);
  if (stripped == NULL)
    return FALSE;

  /* The shares, read back as a clone reads them, go into the VM the
   * template runs. */
  json_object_set_array_member (manifest, "shares", json_array_ref (shares));
  scratch = ql_vm_config_new_from_data (stripped, -1, ql_vm_config_get_source_name (source),
                                        base_dir != NULL ? base_dir : cwd,
                                        ql_vm_config_get_registry (source), error);
  if (scratch == NULL)
    return FALSE;
  devices = ql_template_shares_new_devices (manifest, NULL, ql_vm_config_get_registry (source), error);
  if (devices == NULL || !ql_template_shares_check (devices, scratch, NULL, error))
    return FALSE;
  g_free (*text);
  *text = g_steal_pointer (&stripped);
  *shares_out = g_steal_pointer (&shares);
  return TRUE;
}

/* ---- reading them back --------------------------------------------------- */

static gboolean
corrupt (GError    **error,
         const char *dir,
         guint       index,
         const char *format,
         ...) G_GNUC_PRINTF (4, 5);

static gboolean
corrupt (GError    **error,
         const char *dir,
         guint       index,
         const char *format,
         ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
               "template %s is corrupt: the manifest's share %u: %s",
               dir != NULL ? dir : "(being made)", index, what);
  return FALSE;
}

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static QlDevice *
share_device (JsonNode    *node,
              guint        index,
              const char  *dir,
              QlRegistry  *registry,
              GHashTable  *ids,
              GError     **error)
{
  g_autoptr(QlDevice) device = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GList) names = NULL;
  JsonObject *share;
  JsonNode *properties;
  const char *id;
  const char *type;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return corrupt (error, dir, index, "not a JSON object"), NULL;
  share = json_node_get_object (node);
  id = string_member (share, "id");
  type = string_member (share, "type");
  properties = json_object_get_member (share, "properties");
  if (id == NULL || !ql_is_valid_id (id))
    return corrupt (error, dir, index, "no id, or not a valid device id ([A-Za-z][A-Za-z0-9_.-]*)"), NULL;
  if (g_hash_table_contains (ids, id))
    return corrupt (error, dir, index, "id '%s' is another share's", id), NULL;
  if (g_strcmp0 (type, QL_TEMPLATE_SHARE_TYPE) != 0)
    return corrupt (error, dir, index, "type '%s': only " QL_TEMPLATE_SHARE_TYPE " shares are "
                    "hot-plugged into clones", type != NULL ? type : "(none)"), NULL;
  if (properties == NULL || !JSON_NODE_HOLDS_OBJECT (properties))
    return corrupt (error, dir, index, "'%s': no properties object", id), NULL;
  device = ql_registry_create_device (registry, type, id, &local);
  if (device == NULL)
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                   "template %s: share '%s': %s", dir != NULL ? dir : "(being made)", id, local->message);
      return NULL;
    }
  names = json_object_get_members (json_node_get_object (properties));
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      const char *value = string_member (json_node_get_object (properties), name);
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (device), name);

      if (value == NULL)
        return corrupt (error, dir, index, "'%s' property '%s' is not a string", id, name), NULL;
      if (g_str_equal (name, "id") || g_str_equal (name, "type"))
        return corrupt (error, dir, index, "'%s' sets '%s' among its properties", id, name), NULL;
      /* A relative path would resolve against whatever directory the
       * clone runs in. */
      if (pspec != NULL && ql_param_spec_is_path (pspec) && !g_path_is_absolute (value))
        return corrupt (error, dir, index, "'%s' property '%s': '%s' is not an absolute path",
                        id, name, value), NULL;
      if (!ql_device_set_property_from_string (device, name, value, &local))
        return corrupt (error, dir, index, "'%s': %s", id, local->message), NULL;
    }
  g_hash_table_add (ids, g_strdup (id));
  return g_steal_pointer (&device);
}

GPtrArray *
ql_template_shares_new_devices (JsonObject  *manifest,
                                const char  *dir,
                                QlRegistry  *registry,
                                GError     **error)
{
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonNode *node = json_object_get_member (manifest, "shares");
  JsonArray *shares;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_steal_pointer (&devices);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                   "template %s is corrupt: the manifest's shares is not an array",
                   dir != NULL ? dir : "(being made)");
      return NULL;
    }
  shares = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (shares); i++)
    {
      QlDevice *device = share_device (json_array_get_element (shares, i), i, dir, registry, ids, error);

      if (device == NULL)
        return NULL;
      g_ptr_array_add (devices, device);
    }
  return g_steal_pointer (&devices);
}

gboolean
ql_template_shares_check (GPtrArray   *shares,
                          QlVmConfig  *scratch,
                          const char  *dir,
                          GError     **error)
{
  for (guint i = 0; i < shares->len; i++)
    {
      QlDevice *device = g_ptr_array_index (shares, i);
      const char *id = ql_device_get_id (device);
      g_autoptr(JsonArray) plan = NULL;
      g_autoptr(GError) local = NULL;

      if (ql_vm_config_lookup_device (scratch, id) != NULL)
        g_set_error (&local, QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE,
                     "the template's VM has a device with that id");
      else
        plan = ql_hotplug_plan (device, scratch, NULL, &local);
      if (plan == NULL)
        {
          if (dir == NULL)
            g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED,
                         "this VM cannot be a template: virtio-fs share '%s' is hot-plugged into every "
                         "clone, and it could not be: %s", id, local->message);
          else
            g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                         "template %s: its virtio-fs share '%s' cannot be hot-plugged into a clone: %s",
                         dir, id, local->message);
          return FALSE;
        }
      ql_vm_config_add_device (scratch, device);
    }
  return TRUE;
}

/* ---- a clone's memory ---------------------------------------------------- */

static gboolean
copy_range (int      in,
            int      out,
            off_t    start,
            off_t    end,
            char    *buffer)
{
  off_t at = start;

  while (at < end)
    {
      size_t want = (size_t) MIN ((off_t) COPY_CHUNK, end - at);
      off_t from = at, to = at;
      ssize_t n = copy_file_range (in, &from, out, &to, want, 0);

      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
        {
          /* Between file systems on older kernels: by hand. */
          n = pread (in, buffer, want, at);
          if (n > 0 && pwrite (out, buffer, (size_t) n, at) != n)
            return FALSE;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      at += n;
    }
  return TRUE;
}

char *
ql_template_shares_copy_memory (const char  *from,
                                const char  *runtime_dir,
                                GError     **error)
{
  g_autofree char *to = g_build_filename (runtime_dir, QL_TEMPLATE_MEMORY, NULL);
  g_autofree char *buffer = NULL;
  int in = -1, out = -1;
  struct stat st;
  off_t data = 0;
  int saved = 0;
  const char *what = from;

  in = open (from, O_RDONLY | O_CLOEXEC);
  if (in < 0 || fstat (in, &st) != 0)
    goto fail;
  what = to;
  out = open (to, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0)
    goto fail;
  /* A reflink shares the blocks until the clone writes them. */
  if (ioctl (out, FICLONE, in) == 0)
    goto done;
  if (ftruncate (out, st.st_size) != 0)
    goto fail;
  buffer = g_malloc (COPY_CHUNK);
  /* Only the data: the guest never touched the holes. */
  while (data < st.st_size)
    {
      off_t hole;

      data = lseek (in, data, SEEK_DATA);
      if (data < 0 && errno == ENXIO)
        break;
      if (data < 0)
        {
          what = from;
          goto fail;
        }
      hole = lseek (in, data, SEEK_HOLE);
      if (hole < 0)
        hole = st.st_size;
      if (!copy_range (in, out, data, hole, buffer))
        goto fail;
      data = hole;
    }

done:
  close (in);
  if (close (out) != 0)
    {
      out = -1;
      goto fail;
    }
  return g_steal_pointer (&to);

fail:
  saved = errno;
  if (in >= 0)
    close (in);
  if (out >= 0)
    {
      close (out);
      g_unlink (to);
    }
  g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
               "cannot copy the template's memory %s to %s (a clone with virtio-fs shares runs on a "
               "copy it shares with virtiofsd): %s: %s", from, to, what, g_strerror (saved));
  return NULL;
}

/* ---- hot-plugging them into a clone -------------------------------------- */

typedef struct
{
  GPtrArray *shares;            /* QlDevice */
  QlVm *clone;
  QlHelperGroup *helpers;       /* the clone's */
  guint next;
} Plug;

static void
plug_free (Plug *plug)
{
  g_ptr_array_unref (plug->shares);
  g_object_unref (plug->clone);
  g_clear_object (&plug->helpers);
  g_free (plug);
}

/* A share unplugged from the clone (qlaunch unplug): its virtiofsd ends
 * with QEMU's connection, which is no helper dying. */
static void
share_deleted (QlVm       *clone,
               const char *id,
               const char *path,
               gpointer    data)
{
  QlHelperGroup *helpers = data;

  (void) clone;
  (void) path;
  if (id != NULL)
    ql_helper_group_stop_async (helpers, id, 0, NULL, NULL);
}

static void plug_next (GTask *task);

static void
plug_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  GTask *task = data;
  Plug *plug = g_task_get_task_data (task);
  GError *error = NULL;

  if (!ql_qmp_hotplug_device_finish (QL_QMP (source), result, &error))
    {
      QlDevice *device = g_ptr_array_index (plug->shares, plug->next);
      g_autofree char *tag = NULL;

      g_object_get (device, "tag", &tag, NULL);
      g_prefix_error (&error, "virtio-fs share '%s' (tag '%s'): ", ql_device_get_id (device), tag);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  plug->next++;
  plug_next (task);
}

static void
plug_next (GTask *task)
{
  Plug *plug = g_task_get_task_data (task);
  QlQmp *qmp = ql_vm_get_qmp (plug->clone);

  if (plug->next >= plug->shares->len)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  if (qmp == NULL || ql_vm_get_state (plug->clone) != QL_VM_STATE_RUNNING)
    {
      g_task_return_new_error (task, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                               "the clone's QEMU ended before its virtio-fs shares were hot-plugged");
      g_object_unref (task);
      return;
    }
  ql_hotplug_device_supervised_async (qmp, g_ptr_array_index (plug->shares, plug->next),
                                      ql_vm_get_config (plug->clone), plug->helpers,
                                      g_task_get_cancellable (task), plug_done, task);
}

void
ql_template_shares_plug_async (GPtrArray           *shares,
                               QlVm                *clone,
                               const char          *runtime_dir,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *dir = g_build_filename (runtime_dir, SHARE_SOCKET_DIR, NULL);
  QlHelperGroup *helpers;
  Plug *plug;

  g_task_set_source_tag (task, ql_template_shares_plug_async);
  plug = g_new0 (Plug, 1);
  plug->shares = g_ptr_array_ref (shares);
  plug->clone = g_object_ref (clone);
  g_task_set_task_data (task, plug, (GDestroyNotify) plug_free);
  if (g_mkdir (dir, 0700) != 0 && errno != EEXIST)
    {
      int saved = errno;

      g_task_return_new_error (task, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                               "cannot create %s for the virtiofsd sockets of the clone's shares: %s",
                               dir, g_strerror (saved));
      g_object_unref (task);
      return;
    }
  helpers = ql_vm_get_hotplug_helpers (clone, dir);
  if (helpers == NULL)
    {
      g_task_return_new_error (task, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                               "the clone's QEMU ended before its virtio-fs shares were hot-plugged");
      g_object_unref (task);
      return;
    }
  plug->helpers = g_object_ref (helpers);
  g_signal_connect_object (clone, "device-deleted", G_CALLBACK (share_deleted), helpers, 0);
  plug_next (task);
}

gboolean
ql_template_shares_plug_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
