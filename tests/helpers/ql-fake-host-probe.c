/* Tests: a QlHostProbe whose answers the test sets. */
#include "ql-fake-host-probe.h"

#include <gio/gio.h>

struct _QlFakeHostProbe
{
  QlHostProbe parent_instance;
  GHashTable *facts;   /* "kind:subject" -> GINT_TO_POINTER (answer + 1) */
  GHashTable *files;   /* path -> FakeFile */
  GHashTable *ports;   /* "tcp|udp:address:port" -> GINT_TO_POINTER (available + 1) */
  GHashTable *module_parameters;   /* "module/parameter" -> value */
  guint n_port_queries;
};

G_DEFINE_FINAL_TYPE (QlFakeHostProbe, ql_fake_host_probe, QL_TYPE_HOST_PROBE)

static gboolean
answer (QlHostProbe *probe,
        const char  *kind,
        const char  *subject,
        GError     **error)
{
  QlFakeHostProbe *self = QL_FAKE_HOST_PROBE (probe);
  g_autofree char *k = g_strconcat (kind, ":", subject, NULL);
  gpointer v = g_hash_table_lookup (self->facts, k);

  if (GPOINTER_TO_INT (v) == 2)
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such file or directory");
  return FALSE;
}

static gboolean
fake_device_usable (QlHostProbe *probe, const char *path, GError **error)
{
  return answer (probe, "device", path, error);
}

static gboolean
fake_is_hugetlbfs (QlHostProbe *probe, const char *path, GError **error)
{
  return answer (probe, "hugetlbfs", path, error);
}

static gboolean
fake_file_readable (QlHostProbe *probe, const char *path, GError **error)
{
  return answer (probe, "file", path, error);
}

static gboolean
fake_fd_is_open (QlHostProbe *probe, int fd, GError **error)
{
  g_autofree char *subject = g_strdup_printf ("descriptor %d", fd);

  return answer (probe, "fd", subject, error);
}

static gboolean
fake_kvm_usable (QlHostProbe *probe, GError **error)
{
  return answer (probe, "device", "/dev/kvm", error);
}

typedef struct
{
  GFileType type;
  guint64 size;
} FakeFile;

static gboolean
fake_query_file (QlHostProbe *probe, const char *path, GFileType *out_type, guint64 *out_size, GError **error)
{
  FakeFile *file = g_hash_table_lookup (QL_FAKE_HOST_PROBE (probe)->files, path);

  if (file == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such file or directory");
      return FALSE;
    }
  if (out_type != NULL)
    *out_type = file->type;
  if (out_size != NULL)
    *out_size = file->size;
  return TRUE;
}

static char *
port_key (gboolean udp, const char *address, guint port)
{
  return g_strdup_printf ("%s:%s:%u", udp ? "udp" : "tcp", address != NULL ? address : "", port);
}

static gboolean
fake_port_available (QlHostProbe *probe, gboolean udp, const char *address, guint port, GError **error)
{
  QlFakeHostProbe *self = QL_FAKE_HOST_PROBE (probe);
  g_autofree char *key = port_key (udp, address, port);

  self->n_port_queries++;
  if (GPOINTER_TO_INT (g_hash_table_lookup (self->ports, key)) == 1)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE, "Address already in use");
      return FALSE;
    }
  return TRUE;
}

static char *
fake_module_parameter (QlHostProbe *probe, const char *module, const char *parameter, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", module, parameter);
  const char *value = g_hash_table_lookup (QL_FAKE_HOST_PROBE (probe)->module_parameters, key);

  if (value == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "Failed to open file “/sys/module/%s/parameters/%s”: No such file or directory",
                   module, parameter);
      return NULL;
    }
  return g_strdup (value);
}

void
ql_fake_host_probe_set_module_parameter (QlHostProbe *probe, const char *module, const char *parameter,
                                         const char *value)
{
  QlFakeHostProbe *self = QL_FAKE_HOST_PROBE (probe);
  g_autofree char *key = g_strdup_printf ("%s/%s", module, parameter);

  if (value == NULL)
    g_hash_table_remove (self->module_parameters, key);
  else
    g_hash_table_insert (self->module_parameters, g_steal_pointer (&key), g_strdup (value));
}

void
ql_fake_host_probe_set_port_available (QlHostProbe *probe, gboolean udp, const char *address, guint port,
                                       gboolean available)
{
  g_hash_table_insert (QL_FAKE_HOST_PROBE (probe)->ports, port_key (udp, address, port),
                       GINT_TO_POINTER (available ? 2 : 1));
}

guint
ql_fake_host_probe_get_n_port_queries (QlHostProbe *probe)
{
  return QL_FAKE_HOST_PROBE (probe)->n_port_queries;
}

void
ql_fake_host_probe_set_file (QlHostProbe *probe, const char *path, GFileType type, guint64 size)
{
  FakeFile *file = g_new (FakeFile, 1);

  file->type = type;
  file->size = size;
  g_hash_table_insert (QL_FAKE_HOST_PROBE (probe)->files, g_strdup (path), file);
}

static void
ql_fake_host_probe_finalize (GObject *object)
{
  g_hash_table_unref (QL_FAKE_HOST_PROBE (object)->facts);
  g_hash_table_unref (QL_FAKE_HOST_PROBE (object)->files);
  g_hash_table_unref (QL_FAKE_HOST_PROBE (object)->ports);
  g_hash_table_unref (QL_FAKE_HOST_PROBE (object)->module_parameters);
  G_OBJECT_CLASS (ql_fake_host_probe_parent_class)->finalize (object);
}

static void
ql_fake_host_probe_class_init (QlFakeHostProbeClass *klass)
{
  QlHostProbeClass *probe_class = QL_HOST_PROBE_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = ql_fake_host_probe_finalize;
  probe_class->device_usable = fake_device_usable;
  probe_class->is_hugetlbfs = fake_is_hugetlbfs;
  probe_class->file_readable = fake_file_readable;
  probe_class->fd_is_open = fake_fd_is_open;
  probe_class->kvm_usable = fake_kvm_usable;
  probe_class->query_file = fake_query_file;
  probe_class->port_available = fake_port_available;
  probe_class->module_parameter = fake_module_parameter;
}

static void
ql_fake_host_probe_init (QlFakeHostProbe *self)
{
  self->facts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->module_parameters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

QlHostProbe *
ql_fake_host_probe_new (void)
{
  return g_object_new (QL_TYPE_FAKE_HOST_PROBE, NULL);
}

static void
set (QlHostProbe *probe,
     const char  *kind,
     const char  *subject,
     gboolean     value)
{
  QlFakeHostProbe *self = QL_FAKE_HOST_PROBE (probe);

  g_hash_table_insert (self->facts, g_strconcat (kind, ":", subject, NULL),
                       GINT_TO_POINTER (value ? 2 : 1));
}

void
ql_fake_host_probe_set_device_usable (QlHostProbe *probe, const char *path, gboolean usable)
{
  set (probe, "device", path, usable);
}

void
ql_fake_host_probe_set_hugetlbfs (QlHostProbe *probe, const char *path, gboolean is_hugetlbfs)
{
  set (probe, "hugetlbfs", path, is_hugetlbfs);
}

void
ql_fake_host_probe_set_file_readable (QlHostProbe *probe, const char *path, gboolean readable)
{
  set (probe, "file", path, readable);
}

void
ql_fake_host_probe_set_fd_open (QlHostProbe *probe, int fd, gboolean open)
{
  g_autofree char *subject = g_strdup_printf ("descriptor %d", fd);

  set (probe, "fd", subject, open);
}

void
ql_fake_host_probe_set_kvm (QlHostProbe *probe, gboolean usable)
{
  set (probe, "device", "/dev/kvm", usable);
}
