/* qlaunch memory plugin — QlMemoryObject: an NVDIMM whose contents live in
 * a host file.
 *
 * What it produces (govmm's Object, with the machine option QEMU needs):
 *
 *   -device nvdimm,id=DEVICE-ID,memdev=ID
 *   -object memory-backend-file,id=ID,mem-path=PATH,size=BYTES[,share=on]
 *   and nvdimm=on added to -machine
 *
 * Differences from govmm, on purpose:
 * - `nvdimm=on` is added to the machine: without it QEMU 7.2 refuses the
 *   device ("nvdimm is not enabled: missing 'nvdimm' in '-M'");
 * - the VM's memory must have room for it, checked here because QEMU refuses
 *   it otherwise: [memory] slots and max-mem set ("no slots where
 *   allocated"), one slot per nvdimm ("no free slots available"), and the
 *   nvdimms' sizes together within max-mem minus size ("not enough space");
 * - govmm's Valid() checked only ID, MemPath and Size; device-id is required
 *   too (govmm wrote `id=` empty, which QEMU refuses) and must be an id no
 *   other device uses; `size` must be a multiple of 4 KiB (QEMU rounds it up
 *   to the page size, silently giving the guest a different size);
 * - an existing backing file must open read-write, as QEMU maps it.
 * New: `share` maps the file shared, so the guest's writes reach the file
 * (QEMU's default, and govmm's, is a private copy-on-write mapping).
 */
#include "ql-memory-object.h"

#include <string.h>

/* QEMU rounds a memory backend's size up to the host page size; 4 KiB
 * divides every Linux page size. */
#define QL_MEMORY_SIZE_ALIGN G_GUINT64_CONSTANT (4096)

#define QL_MEMORY_DEFAULT_DRIVER "nvdimm"

struct _QlMemoryObject
{
  QlDevice            parent_instance;

  char               *driver;
  QlMemoryObjectType  object_type;
  char               *device_id;
  char               *mem_path;
  guint64             size;
  gboolean            share;
};

G_DEFINE_FINAL_TYPE (QlMemoryObject, ql_memory_object, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_DRIVER,
  PROP_OBJECT_TYPE,
  PROP_DEVICE_ID,
  PROP_MEM_PATH,
  PROP_SIZE,
  PROP_SHARE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The machine must support nvdimm, and [machine] options must not turn
 * it off. */
static gboolean
check_machine (QlMemoryObject  *self,
               QlVmConfig      *vm,
               GError         **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autofree char *type = NULL;
  g_autofree char *nvdimm = ql_vm_config_lookup_machine_option (vm, "nvdimm");

  g_object_get (vm, "machine-type", &type, NULL);
  if (g_strcmp0 (type, "microvm") == 0)
    {
      /* QEMU: "Property 'microvm-machine.nvdimm' not found". */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED, "driver",
                           "machine type 'microvm' has no nvdimm support: use machine type q35 or pc");
      return FALSE;
    }
  if (g_strcmp0 (type, "isapc") == 0)
    {
      /* QEMU: "-memory 'slots|maxmem'" is not supported by: isapc". */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED, "driver",
                           "machine type 'isapc' has no memory slots for an nvdimm: use machine type q35 or pc");
      return FALSE;
    }
  if (nvdimm != NULL && !g_str_equal (nvdimm, "on"))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "driver",
                           "an nvdimm needs the machine's nvdimm=on, which qlaunch adds, but [machine] options sets nvdimm='%s': remove it from options",
                           nvdimm);
      return FALSE;
    }

  return TRUE;
}

/* device-id is the id of a -device: no other device of the VM may have it
 * (QEMU: "Duplicate ID"), nor, by qlaunch's rule, an iothread. */
static gboolean
check_device_id (QlMemoryObject  *self,
                 QlVmConfig      *vm,
                 GError         **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  gboolean before = TRUE;

  if (self->device_id == NULL || *self->device_id == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "device-id",
                           "no id for the nvdimm device: set device-id, such as 'nv0' (the backend object's id is the device's id)");
      return FALSE;
    }
  if (!ql_is_valid_id (self->device_id))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "device-id",
                           "'%s' is not a valid id: expected a letter, then letters, digits, '-', '.', '_'",
                           self->device_id);
      return FALSE;
    }
  if (g_strcmp0 (self->device_id, ql_device_get_id (device)) == 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                           "'%s' is also this device's id (the backend object's): ids are unique across the VM, give the nvdimm its own",
                           self->device_id);
      return FALSE;
    }

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        {
          before = FALSE;
          continue;
        }
      if (g_strcmp0 (ql_device_get_id (other), self->device_id) == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                               "'%s' is the id of a '%s' device already: ids are unique across the VM",
                               self->device_id, ql_device_get_type_name (other));
          return FALSE;
        }
      /* Two nvdimms with one device-id: reported on the second only. */
      if (before && QL_IS_MEMORY_OBJECT (other) &&
          g_strcmp0 (QL_MEMORY_OBJECT (other)->device_id, self->device_id) == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                               "'%s' is the device-id of memory object '%s' already: ids are unique across the VM",
                               self->device_id, ql_device_get_id (other));
          return FALSE;
        }
    }

  if (ql_vm_config_has_iothread (vm, self->device_id))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                           "'%s' is the id of an [iothread] already: ids are unique across the VM",
                           self->device_id);
      return FALSE;
    }

  return TRUE;
}

/* An nvdimm takes a memory slot and room between -m's size and maxmem.
 * QEMU creates devices in order, so it fails on the first one that does
 * not fit: count this one and the memory objects before it. */
static gboolean
check_vm_memory (QlMemoryObject  *self,
                 QlVmConfig      *vm,
                 GError         **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  guint64 ram_size = 0, max_mem = 0, room, used_before = 0;
  guint slots = 0, n_before = 0;
  g_autofree char *size_text = NULL;
  g_autofree char *room_text = NULL;
  g_autofree char *used_text = NULL;

  g_object_get (vm,
                "memory-size", &ram_size,
                "memory-slots", &slots,
                "memory-max-mem", &max_mem,
                NULL);

  if (slots == 0 || max_mem == 0 || ram_size == 0)
    {
      /* QEMU: "no slots where allocated, please specify the 'slots' option". */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "driver",
                           "an nvdimm plugs into a memory slot: set [memory] size, slots and max-mem, with max-mem at least size plus the nvdimms' sizes");
      return FALSE;
    }

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        break;
      if (QL_IS_MEMORY_OBJECT (other))
        {
          guint64 other_size = QL_MEMORY_OBJECT (other)->size;

          n_before++;
          used_before = (G_MAXUINT64 - used_before < other_size) ? G_MAXUINT64 : used_before + other_size;
        }
    }

  if (n_before + 1 > slots)
    {
      /* QEMU: "no free slots available". */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "driver",
                           "no memory slot left for this nvdimm: [memory] slots is %u and the memory objects before this one take them all; raise slots",
                           slots);
      return FALSE;
    }

  /* QEMU: "not enough space, currently 0x... in use of total space for
   * memory devices 0x...". */
  room = max_mem > ram_size ? max_mem - ram_size : 0;
  size_text = ql_format_size (self->size);
  room_text = ql_format_size (room);
  if (used_before == 0 && self->size > room)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "size",
                           "'%s' does not fit: [memory] max-mem minus size leaves %s for memory devices; raise max-mem or lower size",
                           size_text, room_text);
      return FALSE;
    }
  if (used_before > 0 && (used_before > room || self->size > room - used_before))
    {
      used_text = ql_format_size (used_before);
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "size",
                           "'%s' does not fit: [memory] max-mem minus size leaves %s for memory devices and the memory objects before this one take %s; raise max-mem or lower size",
                           size_text, room_text, used_text);
      return FALSE;
    }

  return TRUE;
}

/* QEMU refuses an existing backing file whose size differs from size
 * ("backing store size 0x... does not match 'size' option") and cannot
 * create one in a missing directory. */
static gboolean
check_backing_file (QlMemoryObject  *self,
                    QlHostProbe     *probe,
                    GError         **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;
  GFileType type = G_FILE_TYPE_UNKNOWN;
  guint64 size = 0;

  if (ql_host_probe_query_file (probe, self->mem_path, &type, &size, &local_error))
    {
      if (type == G_FILE_TYPE_REGULAR && size != self->size)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "size",
                               "%" G_GUINT64_FORMAT " bytes, but the backing file '%s' holds %" G_GUINT64_FORMAT
                               " bytes: QEMU needs them equal",
                               self->size, self->mem_path, size);
          return FALSE;
        }
      return TRUE;
    }
  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return TRUE;   /* a probe that cannot tell: QEMU will */

  g_clear_error (&local_error);
  dir = g_path_get_dirname (self->mem_path);
  if (!ql_host_probe_query_file (probe, dir, &type, NULL, &local_error)
      && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "mem-path",
                           "the directory '%s' does not exist, so QEMU cannot create the backing file", dir);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ql_memory_object_valid (QlDevice    *device,
                        QlVmConfig  *vm,
                        GError     **error)
{
  QlMemoryObject *self = QL_MEMORY_OBJECT (device);
  QlHostProbe *probe = ql_vm_config_get_host_probe (vm);

  if (!g_str_equal (self->driver, QL_MEMORY_DEFAULT_DRIVER))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                           "'%s' is not a supported driver: expected nvdimm",
                           self->driver);
      return FALSE;
    }

  if (self->mem_path == NULL || *self->mem_path == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "mem-path",
                           "no backing file given: set mem-path to the file that holds the nvdimm's contents");
      return FALSE;
    }

  if (self->size == 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "size",
                           "no size given: set size to the nvdimm's size (with K, M, G or T; the backing file's size when it exists)");
      return FALSE;
    }
  if (self->size % QL_MEMORY_SIZE_ALIGN != 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "size",
                           "%" G_GUINT64_FORMAT " bytes is not a multiple of 4K: QEMU would round it up to the page size and give the guest a different size",
                           self->size);
      return FALSE;
    }

  if (!check_device_id (self, vm, error) ||
      !check_machine (self, vm, error) ||
      !check_vm_memory (self, vm, error))
    return FALSE;

  if (probe != NULL && !check_backing_file (self, probe, error))
    return FALSE;

  if (probe != NULL && ql_host_probe_file_readable (probe, self->mem_path, NULL))
    {
      g_autoptr(GError) local_error = NULL;

      /* QEMU maps an existing backing file read-write ("can't open backing
       * store ... for guest RAM"). A missing file is created by QEMU. */
      if (!ql_host_probe_device_usable (probe, self->mem_path, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "mem-path",
                               "cannot open '%s' read-write, as QEMU maps it: %s",
                               self->mem_path, local_error->message);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
ql_memory_object_qemu_params (QlDevice    *device,
                              QlVmConfig  *vm,
                              QlCmdline   *cmdline,
                              GError     **error)
{
  QlMemoryObject *self = QL_MEMORY_OBJECT (device);
  const char *id = ql_device_get_id (device);
  QlOption *object;

  /* govmm's order: the device, then its backend. */
  ql_cmdline_add_option (cmdline, "-device", self->driver,
                         "id", self->device_id,
                         "memdev", id,
                         NULL);
  object = ql_cmdline_add_option (cmdline, "-object", "memory-backend-file",
                                  "id", id,
                                  "mem-path", self->mem_path,
                                  NULL);
  ql_option_set_uint (object, "size", self->size);
  if (self->share)
    ql_option_set_bool (object, "share", TRUE);

  /* QEMU: "nvdimm is not enabled: missing 'nvdimm' in '-M'". */
  ql_cmdline_set_machine_option (cmdline, "nvdimm", "on");

  return TRUE;
}

static void
set_string_or_default (char         **field,
                       const GValue  *value,
                       const char    *default_value)
{
  const char *text = g_value_get_string (value);

  g_free (*field);
  *field = g_strdup (text != NULL ? text : default_value);
}

static void
ql_memory_object_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  QlMemoryObject *self = QL_MEMORY_OBJECT (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      /* NULL restores the default. */
      set_string_or_default (&self->driver, value, QL_MEMORY_DEFAULT_DRIVER);
      break;
    case PROP_OBJECT_TYPE:
      self->object_type = g_value_get_enum (value);
      break;
    case PROP_DEVICE_ID:
      set_string_or_default (&self->device_id, value, NULL);
      break;
    case PROP_MEM_PATH:
      set_string_or_default (&self->mem_path, value, NULL);
      break;
    case PROP_SIZE:
      self->size = g_value_get_uint64 (value);
      break;
    case PROP_SHARE:
      self->share = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_memory_object_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  QlMemoryObject *self = QL_MEMORY_OBJECT (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      g_value_set_string (value, self->driver);
      break;
    case PROP_OBJECT_TYPE:
      g_value_set_enum (value, self->object_type);
      break;
    case PROP_DEVICE_ID:
      g_value_set_string (value, self->device_id);
      break;
    case PROP_MEM_PATH:
      g_value_set_string (value, self->mem_path);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_SHARE:
      g_value_set_boolean (value, self->share);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_memory_object_finalize (GObject *object)
{
  QlMemoryObject *self = QL_MEMORY_OBJECT (object);

  g_free (self->driver);
  g_free (self->device_id);
  g_free (self->mem_path);

  G_OBJECT_CLASS (ql_memory_object_parent_class)->finalize (object);
}

static void
ql_memory_object_class_init (QlMemoryObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_memory_object_set_property;
  object_class->get_property = ql_memory_object_get_property;
  object_class->finalize = ql_memory_object_finalize;

  device_class->valid = ql_memory_object_valid;
  device_class->qemu_params = ql_memory_object_qemu_params;

  properties[PROP_DRIVER] =
    g_param_spec_string ("driver", "Driver",
                         "QEMU device model of the memory device: nvdimm (adds nvdimm=on to the machine)",
                         QL_MEMORY_DEFAULT_DRIVER, flags);
  properties[PROP_OBJECT_TYPE] =
    g_param_spec_enum ("object-type", "Object type",
                       "QEMU object that backs the device: memory-backend-file (guest memory mapped from mem-path); the device's id is this object's id",
                       QL_TYPE_MEMORY_OBJECT_TYPE, QL_MEMORY_OBJECT_TYPE_MEMORY_BACKEND_FILE, flags);
  properties[PROP_DEVICE_ID] =
    g_param_spec_string ("device-id", "Device id",
                         "Id of the nvdimm device (required), unique in the VM like every id; the backend object takes the device's id",
                         NULL, flags);
  properties[PROP_MEM_PATH] =
    ql_param_spec_path ("mem-path", "Memory path",
                        "Backing file of the nvdimm (required); QEMU creates it when missing, its directory must exist; a directory gives a fresh unlinked file; a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_SIZE] =
    ql_param_spec_size ("size", "Size",
                        "Size of the nvdimm (required, a multiple of 4K; a bare number is bytes); equal to the backing file's size when it exists, and within [memory] max-mem minus size",
                        0, G_MAXUINT64, 0, flags);
  properties[PROP_SHARE] =
    g_param_spec_boolean ("share", "Shared",
                          "Map the backing file shared (share=on), so that the guest's writes reach the file; false keeps a private copy-on-write mapping, as govmm did",
                          FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_memory_object_init (QlMemoryObject *self)
{
  self->driver = g_strdup (QL_MEMORY_DEFAULT_DRIVER);
  self->object_type = QL_MEMORY_OBJECT_TYPE_MEMORY_BACKEND_FILE;
}
