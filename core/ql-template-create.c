/* qlaunch — making a template: boot, wait until ready, pause, save the
 * device state with x-ignore-shared, stop; built atomically.
 *
 * Everything is written into a temporary sibling of the template directory
 * (.DIR.partial-XXXXXX); the manifest is written last (to a temporary name,
 * synced, renamed), the files are made read-only, and the directory is
 * renamed to DIR. A failure anywhere stops QEMU and removes the temporary
 * directory: DIR is either a whole template or not there.
 */
#include "ql-template-private.h"
#include "ql-template-disks-private.h"
#include "ql-template-shares-private.h"
#include "ql-runtime-dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <gio/gunixinputstream.h>

#define CONSOLE_CHUNK 4096
/* A template being built is .NAME.partial-XXXXXX beside NAME. */
#define PARTIAL_INFIX ".partial-"
#define CONSOLE_LINE_MAX (64 * 1024)

typedef enum
{
  CREATE_LAUNCH,
  CREATE_QMP,
  CREATE_READY,
  CREATE_STOP,
  CREATE_CAPABILITIES,
  CREATE_GETFD,
  CREATE_MIGRATE,
  CREATE_WAIT_MIGRATION,
  CREATE_QUIT,
  CREATE_DONE,
} CreatePhase;

typedef struct
{
  QlVmConfig *source;
  char *dir;                    /* the template directory to make */
  char *tmp;                    /* where it is built */
  int tmp_lock;                 /* held while it is: a SIGKILLed create's is swept */
  GRegex *ready;                /* NULL: ready on VSERPORT_CHANGE open */
  gboolean same_identity;       /* QL_TEMPLATE_CREATE_SAME_IDENTITY */
  char *text;                   /* the VM text kept (ql-template-identity.c) */
  JsonObject *identity;         /* the manifest's "identity" */
  JsonArray *disks;             /* the manifest's "disks" (ql-template-disks.c) */
  GHashTable *disk_paths;       /* writable disk id -> its overlay in tmp */
  JsonArray *shares;            /* the manifest's "shares" (ql-template-shares.c) */
  gint64 deadline;
  guint timeout_ms;
  CreatePhase phase;

  QlVm *vm;
  GInputStream *console;
  GCancellable *console_cancel;
  int log_fd;
  GString *line;
  gboolean is_ready;
  gboolean console_eof;
  gulong event_id;
  gulong state_id;
  GSource *timer;
  char *qemu_version;
  GCancellable *cancellable;
  gulong cancel_id;
  GError *error;                /* being reported once QEMU is gone */
} CreateRun;

static void create_step (GTask *task);
static void create_fail (GTask *task, GError *error);

static void
create_run_free (CreateRun *run)
{
  if (run->cancel_id != 0)
    g_cancellable_disconnect (run->cancellable, run->cancel_id);
  g_clear_object (&run->cancellable);
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_source_unref (run->timer);
    }
  if (run->vm != NULL && run->state_id != 0)
    g_signal_handler_disconnect (run->vm, run->state_id);
  if (run->vm != NULL && run->event_id != 0 && ql_vm_get_qmp (run->vm) != NULL
      && g_signal_handler_is_connected (ql_vm_get_qmp (run->vm), run->event_id))
    g_signal_handler_disconnect (ql_vm_get_qmp (run->vm), run->event_id);
  g_clear_object (&run->vm);
  if (run->console_cancel != NULL)
    g_cancellable_cancel (run->console_cancel);
  g_clear_object (&run->console_cancel);
  g_clear_object (&run->console);
  if (run->log_fd >= 0)
    close (run->log_fd);
  if (run->line != NULL)
    g_string_free (run->line, TRUE);
  if (run->tmp != NULL)
    ql_template_remove_tree (run->tmp);  /* only when the build failed */
  if (run->tmp_lock >= 0)
    close (run->tmp_lock);
  g_free (run->tmp);
  g_free (run->dir);
  g_clear_pointer (&run->ready, g_regex_unref);
  g_clear_object (&run->source);
  g_free (run->text);
  g_clear_pointer (&run->identity, json_object_unref);
  g_clear_pointer (&run->disks, json_array_unref);
  g_clear_pointer (&run->disk_paths, g_hash_table_unref);
  g_clear_pointer (&run->shares, json_array_unref);
  g_free (run->qemu_version);
  g_clear_error (&run->error);
  g_free (run);
}

static guint
remaining_ms (CreateRun *run)
{
  gint64 left = (run->deadline - g_get_monotonic_time ()) / 1000;

  return (guint) CLAMP (left, 1, G_MAXUINT);
}

/* ---- what a template VM may not be ------------------------------------- */

gboolean
ql_template_set_unsupported (GError    **error,
                             const char *prefix,
                             const char *suffix,
                             const char *format,
                             ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED,
               "%s%s%s", prefix, what, suffix != NULL ? suffix : "");
  return FALSE;
}

#define unsupported(error, ...) \
  ql_template_set_unsupported ((error), "this VM cannot be a template: ", NULL, __VA_ARGS__)

static gboolean
check_template_vm (QlVmConfig  *config,
                   GError     **error)
{
  GPtrArray *devices = ql_vm_config_get_devices (config);

  if (ql_vm_config_get_source_text (config) == NULL)
    return unsupported (error, "it was not loaded from a VM file (the template keeps the file's text)");
  if (ql_vm_config_get_n_qmp_sockets (config) > 0)
    return unsupported (error, "it has a [qmp] socket: the template and every clone get their own");
  if (ql_vm_config_get_enum (config, QL_VM_PROP_INCOMING_TYPE) != QL_INCOMING_NONE)
    return unsupported (error, "it has an [incoming] migration");
  if (ql_vm_config_get_bool (config, QL_VM_PROP_KNOBS_DAEMONIZE)
      || ql_vm_config_get_str (config, QL_VM_PROP_PID_FILE) != NULL)
    return unsupported (error, "it daemonizes or writes a pid file");
  if (ql_vm_config_get_bool (config, QL_VM_PROP_KNOBS_STOPPED))
    return unsupported (error, "[knobs] stopped: it would never get ready");
  /* The saved state holds the firmware's copy of its variables in RAM but
   * not the flash store itself: every clone would run on one store, or on
   * a copy that no longer matches what the saved firmware believes it
   * wrote. */
  if (ql_vm_config_get_enum (config, QL_VM_PROP_FIRMWARE_TYPE) == QL_FIRMWARE_UEFI)
    return unsupported (error, "[firmware] type: uefi: the UEFI variable store is a flash device outside "
                        "the saved state, and the clones would share or diverge from it; use type = bios");
  if (ql_vm_config_get_bool (config, QL_VM_PROP_KNOBS_HUGEPAGES)
      || ql_vm_config_get_bool (config, QL_VM_PROP_KNOBS_MEM_PREALLOC)
      || ql_vm_config_get_bool (config, QL_VM_PROP_KNOBS_FILE_BACKED_MEM)
      || ql_vm_config_get_str (config, QL_VM_PROP_MEMORY_PATH) != NULL)
    return unsupported (error, "it sets a memory knob or [memory] path: the template's memory "
                        "is a file in the template directory");
  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      GParamSpec *ro = g_object_class_find_property (G_OBJECT_GET_CLASS (device), "read-only");
      gboolean read_only = TRUE;

      if (g_strcmp0 (ql_device_get_type_name (device), "confidential-guest") == 0)
        return unsupported (error, "device '%s' is a confidential guest: its memory is encrypted "
                            "with a key of this launch only, and a template is saved guest memory "
                            "that every clone maps", ql_device_get_id (device));
      if (g_strcmp0 (ql_device_get_type_name (device), "tpm") == 0)
        return unsupported (error, "device '%s' is a TPM: its state (the keys and secrets the guest "
                            "sealed) belongs to one VM, and every clone would resume with the "
                            "template's", ql_device_get_id (device));
      if (g_strcmp0 (ql_device_get_type_name (device), "block") != 0 || ro == NULL)
        continue;
      g_object_get (device, "read-only", &read_only, NULL);
      /* It runs on an overlay in the template (ql-template-disks.c). */
      if (!read_only && !ql_template_disk_check_source (device, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- the console: saved, and matched against the ready pattern ---------- */

static void console_read_next (GTask *task);

static void
console_line (GTask      *task,
              const char *line)
{
  CreateRun *run = g_task_get_task_data (task);

  if (run->is_ready || run->ready == NULL || !g_regex_match (run->ready, line, 0, NULL))
    return;
  run->is_ready = TRUE;
  if (run->phase == CREATE_READY)
    {
      run->phase++;
      create_step (task);
    }
}

static void
console_read_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  GTask *task = data;
  CreateRun *run = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  const char *p;
  gsize n = 0;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  if (bytes == NULL || g_bytes_get_size (bytes) == 0 || run->console_cancel == NULL
      || g_cancellable_is_cancelled (run->console_cancel))
    {
      run->console_eof = TRUE;
      g_object_unref (task);
      return;
    }
  p = g_bytes_get_data (bytes, &n);
  if (run->log_fd >= 0 && write (run->log_fd, p, n) != (gssize) n)
    {
      close (run->log_fd);
      run->log_fd = -1;
    }
  for (gsize i = 0; i < n; i++)
    {
      if (p[i] == '\n')
        {
          g_autofree char *line = g_strndup (run->line->str, run->line->len);

          g_string_truncate (run->line, 0);
          g_strdelimit (line, "\r", ' ');
          console_line (task, g_strchomp (line));
        }
      else if (run->line->len < CONSOLE_LINE_MAX)
        g_string_append_c (run->line, p[i] == '\0' ? ' ' : p[i]);
    }
  console_read_next (task);
}

static void
console_read_next (GTask *task)
{
  CreateRun *run = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (run->console, CONSOLE_CHUNK, G_PRIORITY_DEFAULT,
                                   run->console_cancel, console_read_done, task);
}

/* ---- readiness by QMP event --------------------------------------------- */

static void
on_event (QlQmp      *qmp,
          const char *name,
          JsonObject *data,
          GTask      *task)
{
  CreateRun *run = g_task_get_task_data (task);

  (void) qmp;
  if (run->ready != NULL || run->is_ready || g_strcmp0 (name, "VSERPORT_CHANGE") != 0
      || !ql_json_bool (data, "open", FALSE))
    return;
  run->is_ready = TRUE;
  if (run->phase == CREATE_READY)
    {
      run->phase++;
      create_step (task);
    }
}

static gboolean
create_timed_out (gpointer data)
{
  GTask *task = data;
  CreateRun *run = g_task_get_task_data (task);

  g_clear_pointer (&run->timer, g_source_unref);
  if (run->phase == CREATE_READY)
    create_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_TIMEOUT,
                                    "the template VM was not ready within %u ms (%s)",
                                    run->timeout_ms,
                                    run->ready != NULL ? "no console line matched the ready pattern"
                                                       : "no VSERPORT_CHANGE event with open=true"));
  else
    create_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_TIMEOUT,
                                    "the template was not saved within %u ms: QEMU stopped "
                                    "answering while %s", run->timeout_ms,
                                    run->phase == CREATE_STOP ? "pausing the VM"
                                    : run->phase == CREATE_CAPABILITIES ? "setting migration capabilities"
                                    : run->phase == CREATE_GETFD ? "passing it the state file"
                                    : "saving its state"));
  return G_SOURCE_REMOVE;
}

static void
vm_state_changed (QlVm       *vm,
                  GParamSpec *pspec,
                  GTask      *task)
{
  CreateRun *run = g_task_get_task_data (task);
  QlVmState state = ql_vm_get_state (vm);

  (void) pspec;
  if (state != QL_VM_STATE_EXITED && state != QL_VM_STATE_FAILED)
    return;
  /* Expected only after `quit`. */
  if (run->phase >= CREATE_QUIT || run->error != NULL)
    return;
  create_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                                  "QEMU exited while the template was being made (exit status %d)",
                                  ql_vm_get_exit_status (vm)));
}

/* ---- the manifest, and the atomic end ---------------------------------- */

static gboolean
write_synced (const char  *path,
              const char  *data,
              gsize        length,
              GError     **error)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  gsize done = 0;

  if (fd < 0)
    goto fail;
  while (done < length)
    {
      gssize n = write (fd, data + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          close (fd);
          goto fail;
        }
      done += n;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    goto fail;
  return TRUE;

fail:
  {
    int saved = errno;

    g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                 "cannot write %s: %s", path, g_strerror (saved));
    return FALSE;
  }
}

static void
sync_path (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

static JsonObject *
build_manifest (CreateRun  *run,
                GError    **error)
{
  QlVmConfig *source = run->source;
  g_autoptr(JsonObject) m = json_object_new ();
  JsonObject *vm = json_object_new ();
  JsonObject *qemu = NULL;
  JsonObject *state = NULL;
  JsonObject *memory = NULL;
  JsonObject *ready = json_object_new ();
  JsonArray *argv;
  g_autofree char *binary = NULL;
  g_autofree char *state_path = g_build_filename (run->tmp, QL_TEMPLATE_STATE, NULL);
  g_autofree char *memory_path = g_build_filename (run->tmp, QL_TEMPLATE_MEMORY, NULL);
  const char *base_dir = ql_vm_config_get_base_dir (source);
  g_autofree char *cwd = base_dir == NULL ? g_get_current_dir () : NULL;

  json_object_set_int_member (m, "format", QL_TEMPLATE_FORMAT);
  json_object_set_object_member (m, "vm", vm);
  json_object_set_string_member (vm, "name", ql_vm_config_get_source_name (source));
  json_object_set_string_member (vm, "base-dir", base_dir != NULL ? base_dir : cwd);
  json_object_set_string_member (vm, "text", run->text);
  if (ql_vm_config_get_qemu_overrides (source) != NULL)
    json_object_set_object_member (m, "qemu-overrides",
                                   json_object_ref (ql_vm_config_get_qemu_overrides (source)));
  json_object_set_object_member (m, "identity", json_object_ref (run->identity));
  if (run->disks != NULL && json_array_get_length (run->disks) > 0)
    {
      /* The overlays are complete: QEMU is gone. */
      if (!ql_template_disks_seal (run->disks, run->tmp, error))
        return NULL;
      json_object_set_int_member (m, "format", QL_TEMPLATE_FORMAT_DISKS);
      json_object_set_array_member (m, "disks", json_array_ref (run->disks));
    }
  json_object_set_array_member (m, "shares", json_array_ref (run->shares));
  if (json_array_get_length (run->shares) > 0)
    json_object_set_int_member (m, "format", QL_TEMPLATE_FORMAT_DISKS);

  binary = ql_template_resolve_qemu (source, error);
  if (binary == NULL)
    return NULL;
  qemu = ql_template_file_record (binary, FALSE, error);
  if (qemu == NULL)
    return NULL;
  json_object_set_string_member (qemu, "version", run->qemu_version);
  json_object_set_object_member (m, "qemu", qemu);
  json_object_set_string_member (m, "machine-type",
                                 ql_vm_config_get_str (source, QL_VM_PROP_MACHINE_TYPE) != NULL
                                 ? ql_vm_config_get_str (source, QL_VM_PROP_MACHINE_TYPE) : "");
  json_object_set_int_member (m, "memory-size", ql_vm_config_get_uint (source, QL_VM_PROP_MEMORY_SIZE));
  json_object_set_string_member (m, "memory-backend-id", QL_RAM_BACKEND_ID);

  argv = ql_template_device_argv (run->text,
                                  ql_vm_config_get_source_name (source),
                                  base_dir != NULL ? base_dir : cwd,
                                  ql_vm_config_get_registry (source),
                                  ql_vm_config_get_qemu_overrides (source), error);
  if (argv == NULL)
    return NULL;
  json_object_set_array_member (m, "argv", argv);

  for (guint i = 0; i < 2; i++)
    {
      const char *path = ql_vm_config_get_str (source, i == 0 ? QL_VM_PROP_KERNEL_PATH
                                                                : QL_VM_PROP_KERNEL_INITRD);
      JsonObject *record;

      if (path == NULL)
        continue;
      record = ql_template_file_record (path, TRUE, error);
      if (record == NULL)
        return NULL;
      json_object_set_object_member (m, i == 0 ? "kernel" : "initrd", record);
    }
  state = ql_template_file_record (state_path, TRUE, error);
  if (state == NULL)
    return NULL;
  json_object_remove_member (state, "path");
  json_object_remove_member (state, "mtime");
  json_object_set_object_member (m, "state", state);
  memory = ql_template_file_record (memory_path, FALSE, error);
  if (memory == NULL)
    return NULL;
  json_object_remove_member (memory, "path");
  json_object_remove_member (memory, "mtime");
  json_object_set_object_member (m, "memory", memory);
  if (run->ready != NULL)
    json_object_set_string_member (ready, "pattern", g_regex_get_pattern (run->ready));
  else
    json_object_set_string_member (ready, "event", "VSERPORT_CHANGE");
  json_object_set_object_member (m, "ready", ready);
  return g_steal_pointer (&m);
}

static QlTemplate *
finish_template (CreateRun  *run,
                 GError    **error)
{
  g_autoptr(JsonObject) manifest = NULL;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  g_autofree char *tmp_manifest = g_build_filename (run->tmp, QL_TEMPLATE_MANIFEST ".tmp", NULL);
  g_autofree char *final_manifest = g_build_filename (run->tmp, QL_TEMPLATE_MANIFEST, NULL);
  g_autofree char *parent = g_path_get_dirname (run->dir);
  static const char *const read_only[] = { QL_TEMPLATE_STATE, QL_TEMPLATE_CONSOLE, NULL };
  QlTemplate *template_;

  if (run->log_fd >= 0)
    {
      fsync (run->log_fd);
      close (run->log_fd);
      run->log_fd = -1;
    }
  manifest = build_manifest (run, error);
  if (manifest == NULL)
    return NULL;
  json_node_set_object (node, manifest);
  text = json_to_string (node, TRUE);
  for (guint i = 0; read_only[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (run->tmp, read_only[i], NULL);

      sync_path (path);
      g_chmod (path, 0444);
    }
  {
    /* The memory stays writable by its owner: QEMU 7.2 opens a
     * memory-backend-file read-write even for a private mapping. Clones
     * never write it (share=off); its size is checked. */
    g_autofree char *memory = g_build_filename (run->tmp, QL_TEMPLATE_MEMORY, NULL);

    sync_path (memory);
    g_chmod (memory, 0600);
  }
  if (!write_synced (tmp_manifest, text, strlen (text), error))
    return NULL;
  g_chmod (tmp_manifest, 0444);
  if (g_rename (tmp_manifest, final_manifest) != 0)
    {
      int saved = errno;

      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                   "cannot rename %s: %s", tmp_manifest, g_strerror (saved));
      return NULL;
    }
  sync_path (run->tmp);
  g_chmod (run->tmp, 0755);
  if (g_rename (run->tmp, run->dir) != 0)
    {
      int saved = errno;

      g_set_error (error, QL_TEMPLATE_ERROR,
                   saved == ENOTEMPTY || saved == EEXIST ? QL_TEMPLATE_ERROR_EXISTS
                                                         : QL_TEMPLATE_ERROR_FAILED,
                   "cannot put the template in place at %s: %s", run->dir, g_strerror (saved));
      return NULL;
    }
  g_clear_pointer (&run->tmp, g_free);   /* it is the template now */
  {
    /* Its lock goes only now: a partial directory always has one. */
    g_autofree char *lock = g_build_filename (run->dir, QL_RUNTIME_DIR_LOCK_NAME, NULL);

    g_unlink (lock);
    close (run->tmp_lock);
    run->tmp_lock = -1;
  }
  sync_path (parent);
  template_ = ql_template_new_from_manifest (run->dir, manifest, ql_vm_config_get_registry (run->source),
                                             error);
  return template_;
}

/* ---- the steps ---------------------------------------------------------- */

/* Ends a failed creation once QEMU is gone: nothing of it stays. */
static void
create_return_error (GTask  *task,
                     GError *error)
{
  CreateRun *run = g_task_get_task_data (task);

  if (run->console_cancel != NULL)
    g_cancellable_cancel (run->console_cancel);
  if (run->tmp != NULL)
    ql_template_remove_tree (run->tmp);
  g_clear_pointer (&run->tmp, g_free);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
create_stopped (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  GTask *task = data;
  CreateRun *run = g_task_get_task_data (task);

  ql_vm_wait_finish (QL_VM (source), result, NULL);
  create_return_error (task, g_steal_pointer (&run->error));
}

static void
create_fail (GTask  *task,
             GError *error)
{
  CreateRun *run = g_task_get_task_data (task);
  QlVmState state;

  if (run->error != NULL || run->phase == CREATE_DONE)
    {
      g_error_free (error);
      return;
    }
  run->phase = CREATE_DONE;
  run->error = ql_template_run_error (error, run->vm, "template create");
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  state = run->vm != NULL ? ql_vm_get_state (run->vm) : QL_VM_STATE_NEW;
  if (state == QL_VM_STATE_RUNNING || state == QL_VM_STATE_STARTING)
    {
      ql_vm_set_grace_period (run->vm, 0);
      ql_vm_stop (run->vm);
      ql_vm_wait_async (run->vm, NULL, create_stopped, task);
      return;
    }
  create_return_error (task, g_steal_pointer (&run->error));
}

static void
create_step_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  GTask *task = data;
  CreateRun *run = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;

  if (run->phase == CREATE_DONE)
    {
      g_object_unref (task);    /* failed meanwhile; that path reports */
      return;
    }
  switch (run->phase)
    {
    case CREATE_LAUNCH:
      ok = ql_vm_launch_finish (QL_VM (source), result, &error);
      break;
    case CREATE_QMP:
      ok = ql_vm_connect_qmp_finish (QL_VM (source), result, &error);
      break;
    case CREATE_STOP:
    case CREATE_CAPABILITIES:
    case CREATE_GETFD:
    case CREATE_MIGRATE:
      {
        g_autoptr(JsonNode) ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);

        ok = ret != NULL;
      }
      break;
    case CREATE_WAIT_MIGRATION:
      ok = ql_qmp_wait_migration_finish (QL_QMP (source), result, &error);
      break;
    case CREATE_QUIT:
      ok = ql_vm_shutdown_finish (QL_VM (source), result, NULL, &error);
      break;
    case CREATE_READY:
    case CREATE_DONE:
    default:
      g_assert_not_reached ();
    }
  g_object_unref (task);        /* the step's reference */
  if (!ok)
    {
      create_fail (task, g_steal_pointer (&error));
      return;
    }
  run->phase++;
  create_step (task);
}

static void
create_step (GTask *task)
{
  CreateRun *run = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  QlQmp *qmp = run->vm != NULL ? ql_vm_get_qmp (run->vm) : NULL;

  if (g_cancellable_is_cancelled (cancellable) && run->phase < CREATE_QUIT)
    {
      create_fail (task, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
      return;
    }
  switch (run->phase)
    {
    case CREATE_LAUNCH:
      ql_vm_launch_async (run->vm, cancellable, create_step_done, g_object_ref (task));
      return;
    case CREATE_QMP:
      ql_vm_connect_qmp_async (run->vm, MIN (remaining_ms (run), 30000), cancellable,
                               create_step_done, g_object_ref (task));
      return;
    case CREATE_READY:
      {
        guint major = 0, minor = 0, micro = 0;

        ql_qmp_get_qemu_version (qmp, &major, &minor, &micro);
        run->qemu_version = g_strdup_printf ("%u.%u.%u", major, minor, micro);
        if (run->ready == NULL)
          run->event_id = g_signal_connect (qmp, "event::VSERPORT_CHANGE", G_CALLBACK (on_event), task);
        if (run->is_ready)
          {
            run->phase++;
            create_step (task);
            return;
          }
        run->timer = g_timeout_source_new (remaining_ms (run));
        g_source_set_callback (run->timer, create_timed_out, task, NULL);
        g_source_attach (run->timer, g_task_get_context (task));
      }
      return;
    case CREATE_STOP:
      /* The timer armed at READY keeps bounding stop, capabilities, migrate
       * and its wait: a QEMU that stops answering cannot hold the create. */
      ql_qmp_stop_async (qmp, cancellable, create_step_done, g_object_ref (task));
      return;
    case CREATE_CAPABILITIES:
      {
        static const char *const enable[] = { "x-ignore-shared", "events", NULL };

        ql_qmp_migrate_set_capabilities_async (qmp, enable, NULL, cancellable, create_step_done,
                                               g_object_ref (task));
      }
      return;
    case CREATE_GETFD:
      {
        /* QEMU writes the state to a descriptor it is given: it starts no
         * process (its seccomp filter denies spawning). */
        g_autofree char *state = g_build_filename (run->tmp, QL_TEMPLATE_STATE, NULL);
        int fd = open (state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        if (fd < 0)
          {
            int saved = errno;

            create_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                                            "cannot create %s: %s", state, g_strerror (saved)));
            return;
          }
        /* A duplicate travels with the command: ours is closed now. */
        ql_qmp_getfd_async (qmp, fd, QL_TEMPLATE_STATE_FD_NAME, cancellable, create_step_done,
                            g_object_ref (task));
        close (fd);
      }
      return;
    case CREATE_MIGRATE:
      ql_qmp_migrate_async (qmp, "fd:" QL_TEMPLATE_STATE_FD_NAME, cancellable, create_step_done,
                            g_object_ref (task));
      return;
    case CREATE_WAIT_MIGRATION:
      ql_qmp_wait_migration_async (qmp, remaining_ms (run), cancellable, create_step_done,
                                   g_object_ref (task));
      return;
    case CREATE_QUIT:
      /* The state is saved; quit escalates to SIGKILL by itself. */
      if (run->timer != NULL)
        {
          g_source_destroy (run->timer);
          g_clear_pointer (&run->timer, g_source_unref);
        }
      ql_vm_shutdown_async (run->vm, 0, NULL, create_step_done, g_object_ref (task));
      return;
    case CREATE_DONE:
    default:
      {
        GError *error = NULL;
        QlTemplate *template_;

        if (run->console_cancel != NULL)
          g_cancellable_cancel (run->console_cancel);
        template_ = finish_template (run, &error);
        if (template_ == NULL)
          {
            /* QEMU is gone; report as is. */
            create_return_error (task, error);
            return;
          }
        g_task_return_pointer (task, template_, g_object_unref);
        g_object_unref (task);
      }
      return;
    }
}

static gboolean
prepare (CreateRun    *run,
         const char   *ready_pattern,
         GError      **error)
{
  g_autofree char *parent = g_path_get_dirname (run->dir);
  g_autofree char *base = g_path_get_basename (run->dir);
  g_autofree char *tmp = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *memory = NULL;
  g_autofree char *qmp = NULL;
  g_autofree char *log = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(GError) local = NULL;
  const char *base_dir;
  g_autofree char *cwd = NULL;
  int pipe_fds[2];

  if (!check_template_vm (run->source, error)
      || !ql_template_identity_prepare (run->source, run->same_identity, &run->text, &run->identity, error)
      || !ql_template_shares_prepare (run->source, &run->text, &run->shares, error))
    return FALSE;
  if (ready_pattern != NULL)
    {
      run->ready = g_regex_new (ready_pattern, G_REGEX_OPTIMIZE, 0, &local);
      if (run->ready == NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED,
                       "ready pattern '%s': %s", ready_pattern, local->message);
          return FALSE;
        }
    }
  {
    /* The directory it is made in: another user who could write there could
     * swap the partial directory or the template under us. */
    g_autofree char *real_parent = realpath (parent, NULL);

    if (real_parent != NULL
        && !ql_template_check_owner (real_parent, "the directory the template is made in", TRUE, TRUE,
                                     error))
      return FALSE;
  }
  if (g_file_test (run->dir, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GDir) d = g_dir_open (run->dir, 0, NULL);

      if (!ql_template_check_owner (run->dir, "the template directory", TRUE, FALSE, error))
        return FALSE;

      if (d == NULL || g_dir_read_name (d) != NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_EXISTS,
                       "%s exists and is not an empty directory: templates are never "
                       "overwritten", run->dir);
          return FALSE;
        }
    }
  if (!g_file_test (parent, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                   "%s: no such directory", parent);
      return FALSE;
    }
  /* The partial directories of creates killed with SIGKILL (they cannot
   * clean up): nobody holds their lock any more. */
  ql_runtime_dir_sweep_matching (parent, ".", PARTIAL_INFIX);
  prefix = g_strdup_printf (".%s" PARTIAL_INFIX, base);
  tmp = ql_runtime_dir_make_temp_in (parent, prefix, &run->tmp_lock, &local);
  if (tmp == NULL)
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED, "%s", local->message);
      return FALSE;
    }
  run->tmp = g_steal_pointer (&tmp);
  run->disks = ql_template_disks_create (run->source, run->tmp, &run->disk_paths, error);
  if (run->disks == NULL)
    return FALSE;

  memory = g_build_filename (run->tmp, QL_TEMPLATE_MEMORY, NULL);
  qmp = g_build_filename (run->tmp, "qmp.sock", NULL);
  base_dir = ql_vm_config_get_base_dir (run->source);
  if (base_dir == NULL)
    cwd = g_get_current_dir ();
  config = ql_template_run_config (run->text,
                                   ql_vm_config_get_source_name (run->source),
                                   base_dir != NULL ? base_dir : cwd,
                                   ql_vm_config_get_registry (run->source),
                                   ql_vm_config_get_qemu_overrides (run->source),
                                   memory, TRUE, qmp, FALSE, run->disk_paths, error);
  if (config == NULL)
    return FALSE;
  /* The binary's capabilities, when the caller probed it: a QEMU without
   * seccomp gets no -sandbox. */
  ql_vm_config_set_qemu_caps (config, ql_vm_config_get_qemu_caps (run->source));
  run->vm = ql_vm_new (config);
  /* A creation killed with SIGKILL takes its QEMU along (its partial
   * directory is swept by the next create in the same place). */
  ql_vm_set_die_with_parent (run->vm, TRUE);

  log = g_build_filename (run->tmp, QL_TEMPLATE_CONSOLE, NULL);
  run->log_fd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (run->log_fd < 0 || !g_unix_open_pipe (pipe_fds, FD_CLOEXEC, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                     "cannot create %s: %s", log, g_strerror (errno));
      return FALSE;
    }
  ql_vm_set_stdout_fd (run->vm, pipe_fds[1]);
  close (pipe_fds[1]);
  run->console = g_unix_input_stream_new (pipe_fds[0], TRUE);
  run->console_cancel = g_cancellable_new ();
  run->line = g_string_new (NULL);
  return TRUE;
}

static gboolean
cancel_in_idle (gpointer data)
{
  GTask *task = data;
  CreateRun *run = g_task_get_task_data (task);

  if (run->phase < CREATE_QUIT)
    create_fail (task, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
  return G_SOURCE_REMOVE;
}

/* Cancelling stops QEMU and removes the partial directory at once, in any
 * phase before the template is complete. */
static void
create_cancelled (GCancellable *cancellable,
                  GTask        *task)
{
  GSource *idle = g_idle_source_new ();

  (void) cancellable;
  g_source_set_callback (idle, cancel_in_idle, g_object_ref (task), g_object_unref);
  g_source_attach (idle, g_task_get_context (task));
  g_source_unref (idle);
}

/**
 * ql_template_create_full_async:
 * @config: the template VM, loaded from a VM file (its text is kept in the
 *   template); no [qmp], [incoming], daemonize, pid file, memory knobs
 *   or UEFI firmware; writable disks on raw or qcow2 images only
 * @dir: the template directory to make: must not exist, or be empty
 * @ready_pattern: (nullable): a regular expression: the VM is ready when a
 *   line of its console (QEMU's standard output: the serial console with
 *   `no-graphic` and QEMU's default devices) matches it. %NULL: ready when
 *   the guest opens a virtio-serial port (QMP `VSERPORT_CHANGE` with
 *   `open: true`, e.g. a guest agent's channel)
 * @flags: how to make it; %QL_TEMPLATE_CREATE_NONE: with identity fix-up
 * @timeout_ms: a deadline for the whole creation (0: 120 s)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the template is in place, or on failure
 * @user_data: data for @callback
 *
 * Makes a template: boots @config with its RAM in a file (shared), waits
 * until it is ready, pauses it, saves its device state with the
 * `x-ignore-shared` migration capability (guest RAM stays in the memory
 * file) and ends QEMU. The directory is built under a temporary name and
 * renamed when complete, manifest last; its files are read-only (the
 * memory file: owner-writable, for QEMU; clones map it privately). On
 * failure no QEMU and no partial directory remain. Finish with
 * ql_template_create_finish().
 *
 * Identity fix-up (unless @flags has %QL_TEMPLATE_CREATE_SAME_IDENTITY):
 * a VM without a `vmgenid` device gets one, id `qlaunch-vmgenid`, with
 * `guid = auto` (the template keeps the VM file's text with that group
 * appended); a VM with one keeps it, and its `guid` must be `auto`
 * (%QL_TEMPLATE_ERROR_UNSUPPORTED otherwise, naming the device). QEMU draws
 * a new GUID when each clone's QEMU starts, writes it into the clone's
 * memory when the saved state is loaded and notifies the guest, which
 * sees it when the clone runs. The manifest's `identity` records the
 * choice, the vmgenid device's id and the VM's network cards with their
 * MAC addresses (every clone has the template's).
 *
 * Writable disks: @config's image is never written. The template VM runs
 * each writable disk on a qcow2 overlay in @dir, `disk-ID.qcow2`, whose
 * backing file is the image (its absolute path, symbolic links resolved,
 * and its format, raw or qcow2); the overlay is complete when QEMU saved
 * the state, and read-only (0444) after. The manifest's `disks` records
 * for each the image's path, format, size, modification time and the
 * SHA-256 of its first MiB, and the overlay's; a clone is refused when
 * the image changed. Every clone runs on its own overlay over the
 * template's (ql_template_new_clone_keeping_disks()).
 *
 * virtio-fs shares: QEMU cannot save a vhost-user-fs device, so the
 * template VM runs without them. Their groups are taken out of the VM
 * text the template keeps, the manifest's `shares` records each one (id,
 * type, and its properties that differ from their defaults), and every
 * clone gets them hot-plugged (ql_template_start_clone_async()). On a PCI
 * Express machine (q35) the template reserves one more root port for
 * hot-plug (#QlVmConfig:machine-hotplug-slots) per share that names no
 * `bus` or `addr`. A share that could not be hot-plugged into the template
 * VM fails with %QL_TEMPLATE_ERROR_UNSUPPORTED before QEMU starts.
 */
void
ql_template_create_full_async (QlVmConfig           *config,
                               const char           *dir,
                               const char           *ready_pattern,
                               QlTemplateCreateFlags flags,
                               guint                 timeout_ms,
                               GCancellable         *cancellable,
                               GAsyncReadyCallback   callback,
                               gpointer              user_data)
{
  GTask *task;
  CreateRun *run;
  GError *error = NULL;

  g_return_if_fail (QL_IS_VM_CONFIG (config));
  g_return_if_fail (dir != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_template_create_async);
  /* Cancellation is handled (QEMU stopped, directory removed) by the run
   * itself; a late one does not undo a finished template. */
  g_task_set_check_cancellable (task, FALSE);
  run = g_new0 (CreateRun, 1);
  run->log_fd = -1;
  run->tmp_lock = -1;
  run->source = g_object_ref (config);
  run->same_identity = (flags & QL_TEMPLATE_CREATE_SAME_IDENTITY) != 0;
  run->dir = g_canonicalize_filename (dir, NULL);
  run->timeout_ms = timeout_ms > 0 ? timeout_ms : QL_TEMPLATE_DEFAULT_TIMEOUT_MS;
  run->deadline = g_get_monotonic_time () + (gint64) run->timeout_ms * 1000;
  g_task_set_task_data (task, run, (GDestroyNotify) create_run_free);
  if (!prepare (run, ready_pattern, &error))
    {
      create_return_error (task, error);
      return;
    }
  run->state_id = g_signal_connect (run->vm, "notify::state", G_CALLBACK (vm_state_changed), task);
  if (cancellable != NULL)
    {
      run->cancellable = g_object_ref (cancellable);
      run->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (create_cancelled), task, NULL);
    }
  /* The console reader holds its own reference until its end. */
  console_read_next (g_object_ref (task));
  create_step (task);
}

/**
 * ql_template_create_async:
 * @config: the template VM, loaded from a VM file
 * @dir: the template directory to make: must not exist, or be empty
 * @ready_pattern: (nullable): a console line pattern; %NULL: VSERPORT_CHANGE
 * @timeout_ms: a deadline for the whole creation (0: 120 s)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the template is in place, or on failure
 * @user_data: data for @callback
 *
 * ql_template_create_full_async() with %QL_TEMPLATE_CREATE_NONE: a
 * template with identity fix-up. Finish with ql_template_create_finish().
 */
void
ql_template_create_async (QlVmConfig          *config,
                          const char          *dir,
                          const char          *ready_pattern,
                          guint                timeout_ms,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  ql_template_create_full_async (config, dir, ready_pattern, QL_TEMPLATE_CREATE_NONE, timeout_ms,
                                 cancellable, callback, user_data);
}

/**
 * ql_template_create_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * Finishes ql_template_create_async() or ql_template_create_full_async().
 *
 * Returns: (transfer full): the new template, or %NULL
 */
QlTemplate *
ql_template_create_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * ql_template_create:
 * @config: the template VM, loaded from a VM file
 * @dir: the template directory to make
 * @ready_pattern: (nullable): a console line pattern; %NULL: VSERPORT_CHANGE
 * @timeout_ms: a deadline for the whole creation (0: 120 s)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * The synchronous form of ql_template_create_async(), on the
 * thread-default main context.
 *
 * Returns: (transfer full): the new template, or %NULL
 */
QlTemplate *
ql_template_create (QlVmConfig    *config,
                    const char    *dir,
                    const char    *ready_pattern,
                    guint          timeout_ms,
                    GCancellable  *cancellable,
                    GError       **error)
{
  return ql_template_create_full (config, dir, ready_pattern, QL_TEMPLATE_CREATE_NONE, timeout_ms,
                                  cancellable, error);
}

/**
 * ql_template_create_full:
 * @config: the template VM, loaded from a VM file
 * @dir: the template directory to make
 * @ready_pattern: (nullable): a console line pattern; %NULL: VSERPORT_CHANGE
 * @flags: how to make it; %QL_TEMPLATE_CREATE_NONE: with identity fix-up
 * @timeout_ms: a deadline for the whole creation (0: 120 s)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * The synchronous form of ql_template_create_full_async(), on the
 * thread-default main context.
 *
 * Returns: (transfer full): the new template, or %NULL
 */
QlTemplate *
ql_template_create_full (QlVmConfig           *config,
                         const char           *dir,
                         const char           *ready_pattern,
                         QlTemplateCreateFlags flags,
                         guint                 timeout_ms,
                         GCancellable         *cancellable,
                         GError              **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  ql_template_create_full_async (config, dir, ready_pattern, flags, timeout_ms, cancellable,
                                 ql_store_result, &result);
  ql_wait_result (&result);
  return ql_template_create_finish (result, error);
}
