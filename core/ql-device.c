/* qlaunch — QlDevice: the abstract base class of every device type. */
#include "ql-qemu-raw-private.h"

#include <string.h>

/**
 * QlDevice:
 *
 * The abstract base class of every device type a plugin provides (`net`,
 * `block`, ...).
 *
 * A device type is a #QlDevice subclass registered under a name with
 * ql_plugin_register_device(); its options are GObject properties with
 * kebab-case names, which a VM file's `[device LABEL]` group and a device
 * spec (`TYPE,key=value,...`) set from text
 * (ql_device_set_property_from_string()). Devices are made with
 * ql_registry_create_device() or ql_registry_create_device_from_spec().
 * #QlDeviceClass.valid checks them without touching the host;
 * #QlDeviceClass.qemu_params appends their QEMU options to a #QlCmdline.
 */
typedef struct
{
  char *id;
  char *qemu_set;
  char *qemu_unset;
} QlDevicePrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (QlDevice, ql_device, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_QEMU_SET,
  PROP_QEMU_UNSET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GQuark ql_device_type_name_quark (void);
G_DEFINE_QUARK (ql-device-type-name, ql_device_type_name)
static GQuark ql_device_type_plugin_quark (void);
G_DEFINE_QUARK (ql-device-type-plugin, ql_device_type_plugin)

void
ql_device_type_set_name (GType       type,
                         const char *name,
                         const char *plugin)
{
  g_type_set_qdata (type, ql_device_type_name_quark (),
                    (gpointer) g_intern_string (name));
  g_type_set_qdata (type, ql_device_type_plugin_quark (),
                    (gpointer) g_intern_string (plugin));
}

static GQuark ql_device_source_line_quark (void);
G_DEFINE_QUARK (ql-device-source-line, ql_device_source_line)

void
ql_device_set_source_line (QlDevice *self,
                           guint     line)
{
  g_object_set_qdata (G_OBJECT (self), ql_device_source_line_quark (), GUINT_TO_POINTER (line));
}

guint
ql_device_get_source_line (QlDevice *self)
{
  return GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (self), ql_device_source_line_quark ()));
}

const char *
ql_device_type_get_plugin (GType type)
{
  return g_type_get_qdata (type, ql_device_type_plugin_quark ());
}

/* "device type 'T' of plugin 'P'", for errors that are a plugin's fault. */
static char *
describe_type (QlDevice *self)
{
  const char *name = ql_device_type_get_name (G_OBJECT_TYPE (self));
  const char *plugin = ql_device_type_get_plugin (G_OBJECT_TYPE (self));

  if (name == NULL)
    name = G_OBJECT_TYPE_NAME (self);
  if (plugin != NULL)
    return g_strdup_printf ("device type '%s' of plugin '%s'", name, plugin);
  return g_strdup_printf ("device type '%s'", name);
}

/* Holds a plugin's vfunc to its contract: FALSE with an error, TRUE
 * without one, errors in qlaunch's domains (they name the device); and for
 * the params vfuncs, no misuse of @cmdline. A breach becomes the error,
 * naming the device, its type and plugin, never a silent drop. */
static gboolean
vfunc_contract (QlDevice     *self,
                const char   *vfunc,
                gboolean      ok,
                GError       *local_error,
                QlCmdline    *cmdline,
                const GError *cmdline_error_before,
                GError      **error)
{
  g_autoptr(GError) owned = local_error;
  g_autofree char *type = NULL;
  const char *id;

  /* The common case, written nothing: no message to prepare. */
  if (ok && owned == NULL
      && (cmdline == NULL || cmdline_error_before != NULL || ql_cmdline_peek_error (cmdline) == NULL))
    return TRUE;
  type = describe_type (self);
  id = ql_device_get_id (self) != NULL ? ql_device_get_id (self) : "(no id)";
  if (ok && owned != NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "device '%s': plugin bug in %s: %s() returned TRUE and set an error (%s)",
                   id, type, vfunc, owned->message);
      return FALSE;
    }
  if (!ok && owned == NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "device '%s': plugin bug in %s: %s() returned FALSE without an error",
                   id, type, vfunc);
      return FALSE;
    }
  if (!ok && owned->domain != QL_CONFIG_ERROR && owned->domain != QL_LAUNCH_ERROR)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                   "device '%s' (%s): %s", id, type, owned->message);
      return FALSE;
    }
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&owned));
      return FALSE;
    }
  if (cmdline != NULL && cmdline_error_before == NULL && ql_cmdline_peek_error (cmdline) != NULL)
    {
      const GError *recorded = ql_cmdline_peek_error (cmdline);

      /* A misuse names the plugin; a bad value (a line break in a path,
       * say) is the user's, and names the device only. */
      if (g_str_has_prefix (recorded->message, "plugin bug: "))
        g_set_error (error, recorded->domain, recorded->code, "device '%s': plugin bug in %s: %s",
                     id, type, recorded->message + strlen ("plugin bug: "));
      else
        g_set_error (error, recorded->domain, recorded->code, "device '%s': %s",
                     id, recorded->message);
      return FALSE;
    }
  return TRUE;
}

const char *
ql_device_type_get_name (GType type)
{
  return g_type_get_qdata (type, ql_device_type_name_quark ());
}

static void
ql_device_finalize (GObject *object)
{
  QlDevicePrivate *priv = ql_device_get_instance_private (QL_DEVICE (object));

  g_free (priv->id);
  g_free (priv->qemu_set);
  g_free (priv->qemu_unset);
  G_OBJECT_CLASS (ql_device_parent_class)->finalize (object);
}

const char *
ql_device_peek_qemu_set (QlDevice *self)
{
  QlDevicePrivate *priv = ql_device_get_instance_private (self);

  return priv->qemu_set;
}

const char *
ql_device_peek_qemu_unset (QlDevice *self)
{
  QlDevicePrivate *priv = ql_device_get_instance_private (self);

  return priv->qemu_unset;
}

static void
ql_device_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  QlDevice *self = QL_DEVICE (object);
  QlDevicePrivate *priv = ql_device_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, ql_device_get_id (self));
      break;
    case PROP_QEMU_SET:
      g_value_set_string (value, priv->qemu_set);
      break;
    case PROP_QEMU_UNSET:
      g_value_set_string (value, priv->qemu_unset);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ql_device_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  QlDevice *self = QL_DEVICE (object);
  QlDevicePrivate *priv = ql_device_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ID:
      ql_device_set_id (self, g_value_get_string (value));
      break;
    case PROP_QEMU_SET:
      if (ql_set_str (&priv->qemu_set, g_value_get_string (value)))
        g_object_notify_by_pspec (object, pspec);
      break;
    case PROP_QEMU_UNSET:
      if (ql_set_str (&priv->qemu_unset, g_value_get_string (value)))
        g_object_notify_by_pspec (object, pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
ql_device_real_valid (QlDevice    *self,
                      QlVmConfig  *vm,
                      GError     **error)
{
  return TRUE;
}

static gboolean
ql_device_real_qemu_params (QlDevice    *self,
                            QlVmConfig  *vm,
                            QlCmdline   *cmdline,
                            GError     **error)
{
  ql_device_set_error (self, error, QL_CONFIG_ERROR_UNSUPPORTED, NULL,
                       "device type %s does not implement qemu_params",
                       G_OBJECT_TYPE_NAME (self));
  return FALSE;
}

static void
ql_device_class_init (QlDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ql_device_finalize;
  object_class->get_property = ql_device_get_property;
  object_class->set_property = ql_device_set_property;
  klass->valid = ql_device_real_valid;
  klass->qemu_params = ql_device_real_qemu_params;

  /**
   * QlDevice:id:
   *
   * The device's id, unique across the VM; in a VM file it defaults to the
   * label of the `[device LABEL]` group.
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL,
                         "Device id, unique in the VM: a letter, then letters, digits, '-', '.', '_' "
                         "(defaults to the VM file group's label)",
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlDevice:qemu-set:
   *
   * Properties to set on the QEMU options the device produces, QEMU's
   * key=value syntax (`,,` for a comma): `key=value` changes its
   * `-device`, `netdev.key=value` (`drive.`, `blockdev.`, `chardev.`,
   * `object.`, `fsdev.`) its backend of that option. Checked against the
   * probed QEMU; a property the device sets from one of its keys is
   * refused, naming that key. Applied after the plugin's options, at
   * start-up and at hot-plug.
   *
   * Since: ABI 1.5
   */
  properties[PROP_QEMU_SET] =
    g_param_spec_string ("qemu-set", NULL,
                         "QEMU properties to set on the device's options, key=value,... "
                         "(netdev.KEY, drive.KEY, ... for its backend); checked against the QEMU binary",
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * QlDevice:qemu-unset:
   *
   * Properties to leave out of the QEMU options the device produces,
   * comma-separated keys (`bus,addr`; `netdev.KEY` for its backend); each
   * must be one the device writes.
   */
  properties[PROP_QEMU_UNSET] =
    g_param_spec_string ("qemu-unset", NULL,
                         "QEMU properties to leave out of the device's options, key,... "
                         "(netdev.KEY, drive.KEY, ... for its backend)",
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_device_init (QlDevice *self)
{
}

/**
 * ql_device_get_id:
 * @self: a #QlDevice
 *
 * Gets the device's QEMU id (in a VM file, the `[device LABEL]` label
 * unless the group sets `id`).
 *
 * Returns: (nullable): the device's id
 */
const char *
ql_device_get_id (QlDevice *self)
{
  QlDevicePrivate *priv;

  g_return_val_if_fail (QL_IS_DEVICE (self), NULL);
  priv = ql_device_get_instance_private (self);
  return priv->id;
}

/**
 * ql_device_set_id:
 * @self: a #QlDevice
 * @id: (nullable): the new id
 *
 * Sets the device's id. Its syntax and uniqueness are checked when the VM
 * is validated.
 */
void
ql_device_set_id (QlDevice   *self,
                  const char *id)
{
  QlDevicePrivate *priv;

  g_return_if_fail (QL_IS_DEVICE (self));
  priv = ql_device_get_instance_private (self);
  if (ql_set_str (&priv->id, id))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

/**
 * ql_device_get_type_name:
 * @self: a #QlDevice
 *
 * Gets the device type name the plugin registered the device's #GType under.
 *
 * Returns: (nullable): the name the device's type was registered under
 *   (`net`, `block`, ...), or %NULL for an unregistered type
 */
const char *
ql_device_get_type_name (QlDevice *self)
{
  g_return_val_if_fail (QL_IS_DEVICE (self), NULL);
  return ql_device_type_get_name (G_OBJECT_TYPE (self));
}

/**
 * ql_device_valid: (virtual valid)
 * @self: a #QlDevice
 * @vm: the VM the device belongs to
 * @error: return location for an error
 *
 * Checks the device's properties against each other and against @vm.
 *
 * The contract of the `valid` vfunc a plugin implements: no side effect on
 * the host; host facts (device nodes, mounts, files) come only from
 * ql_vm_config_get_host_probe(), which is %NULL when host checks are off.
 * On failure it returns %FALSE and sets an error in #QL_CONFIG_ERROR that
 * names the device id and the property at fault (ql_device_set_error()
 * does both). Returning %TRUE with an error set, or %FALSE without one, is
 * a plugin bug: the core reports it as such, naming the device, its type
 * and plugin. An error in another domain is wrapped with the device's id.
 *
 * Returns: %TRUE when the device can be emitted
 */
gboolean
ql_device_valid (QlDevice    *self,
                 QlVmConfig  *vm,
                 GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean ok;

  g_return_val_if_fail (QL_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (QL_IS_VM_CONFIG (vm), FALSE);

  ok = QL_DEVICE_GET_CLASS (self)->valid (self, vm, &local_error);
  if (!vfunc_contract (self, "valid", ok, g_steal_pointer (&local_error), NULL, NULL, error))
    return FALSE;
  return ql_qemu_raw_check_device (self, error);
}

/**
 * ql_device_qemu_params: (virtual qemu_params)
 * @self: a #QlDevice
 * @vm: the VM the device belongs to
 * @cmdline: the command line to append to
 * @error: return location for an error
 *
 * Appends the device's QEMU options to @cmdline. Call only after
 * ql_device_valid().
 *
 * The contract of the `qemu_params` vfunc a plugin implements: it writes
 * through the #QlCmdline API only (ql_cmdline_add_option() for key=value
 * options, ql_cmdline_add_verbatim() for options whose value QEMU reads
 * whole, ql_cmdline_add_flag() for flags), never pre-formatted text; it is
 * called only after `valid` returned %TRUE, so a failure here is rare and
 * is reported like one of `valid`. A misuse of the #QlCmdline API (a
 * key=value option through ql_cmdline_add_verbatim(), a setter with no key)
 * is recorded and fails the build of the argv with an error naming the
 * device, its type and plugin: the device is never dropped silently.
 *
 * Returns: %TRUE on success
 */
gboolean
ql_device_qemu_params (QlDevice    *self,
                       QlVmConfig  *vm,
                       QlCmdline   *cmdline,
                       GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  const GError *before;
  guint first;
  gboolean ok;

  g_return_val_if_fail (QL_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (QL_IS_CMDLINE (cmdline), FALSE);

  before = ql_cmdline_peek_error (cmdline);
  first = ql_cmdline_get_n_options (cmdline);
  ok = QL_DEVICE_GET_CLASS (self)->qemu_params (self, vm, cmdline, &local_error);
  if (!vfunc_contract (self, "qemu_params", ok, g_steal_pointer (&local_error),
                       cmdline, before, error))
    return FALSE;
  return ql_qemu_raw_apply_device (self, cmdline, first, error);
}

/**
 * ql_device_hotplug_params: (virtual hotplug_params)
 * @self: a #QlDevice
 * @vm: the VM the device is added to
 * @cmdline: the command line to append to
 * @error: return location for an error
 *
 * Appends the options that hot-plug the device into a running VM: the
 * device's `hotplug_params` vfunc, or `qemu_params` when the device type
 * has none. Call only after ql_device_valid().
 *
 * The contract of the `hotplug_params` vfunc (plugin ABI 1.1 and later):
 * the same as `qemu_params`, for a device whose start-up form has no QMP
 * equivalent (`-drive` becomes `-blockdev`). The core turns each option
 * into a QMP command: `-device` into `device_add`, `-netdev` into
 * `netdev_add`, `-object` into `object-add`, `-blockdev` into
 * `blockdev-add`, `-chardev` into `chardev-add`; descriptors travel with
 * `getfd`. Any other option makes the device not hot-pluggable. Rules that
 * hold only at hot-plug time (a free PCIe root port, a machine type that
 * can hot-plug) belong here, as errors naming the device and property.
 *
 * Returns: %TRUE on success
 */
gboolean
ql_device_hotplug_params (QlDevice    *self,
                          QlVmConfig  *vm,
                          QlCmdline   *cmdline,
                          GError     **error)
{
  QlDeviceClass *klass;
  g_autoptr(GError) local_error = NULL;
  const GError *before;
  guint first;
  gboolean ok;

  g_return_val_if_fail (QL_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (QL_IS_CMDLINE (cmdline), FALSE);

  klass = QL_DEVICE_GET_CLASS (self);
  if (klass->hotplug_params == NULL)
    return ql_device_qemu_params (self, vm, cmdline, error);
  before = ql_cmdline_peek_error (cmdline);
  first = ql_cmdline_get_n_options (cmdline);
  ok = klass->hotplug_params (self, vm, cmdline, &local_error);
  if (!vfunc_contract (self, "hotplug_params", ok, g_steal_pointer (&local_error),
                       cmdline, before, error))
    return FALSE;
  return ql_qemu_raw_apply_device (self, cmdline, first, error);
}

static char **
settable_property_names (GObject *object)
{
  g_autofree GParamSpec **pspecs = NULL;
  guint n = 0;
  GPtrArray *names = g_ptr_array_new ();

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (object), &n);
  for (guint i = 0; i < n; i++)
    if ((pspecs[i]->flags & G_PARAM_WRITABLE) && !(pspecs[i]->flags & G_PARAM_CONSTRUCT_ONLY))
      g_ptr_array_add (names, g_strdup (pspecs[i]->name));
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/**
 * ql_device_set_property_from_string:
 * @self: a #QlDevice
 * @property: a property name
 * @value: the value as text (as in a VM file)
 * @error: return location for an error
 *
 * Sets a property from text, checked against its #GParamSpec. Errors name
 * the device and the property; an unknown property suggests a close one.
 *
 * Returns: %TRUE on success
 */
gboolean
ql_device_set_property_from_string (QlDevice    *self,
                                    const char  *property,
                                    const char  *value,
                                    GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (QL_IS_DEVICE (self), FALSE);

  if (ql_object_set_property_from_string (G_OBJECT (self), property, value, &local_error))
    return TRUE;

  if (g_error_matches (local_error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_KEY))
    {
      g_auto(GStrv) names = settable_property_names (G_OBJECT (self));
      const char *close = ql_closest_word (property, (const char * const *) names);
      g_autofree char *known = g_strjoinv (", ", names);

      if (close != NULL)
        ql_device_set_error (self, error, QL_CONFIG_ERROR_UNKNOWN_KEY, property,
                             "unknown property of device type '%s'; did you mean '%s'?",
                             ql_device_get_type_name (self), close);
      else
        ql_device_set_error (self, error, QL_CONFIG_ERROR_UNKNOWN_KEY, property,
                             "unknown property of device type '%s'; known: %s",
                             ql_device_get_type_name (self), known);
      return FALSE;
    }

  ql_device_set_error (self, error, local_error->code, property, "%s", local_error->message);
  return FALSE;
}

/**
 * ql_device_set_error:
 * @self: a #QlDevice
 * @error: return location for an error
 * @code: a #QlConfigError code
 * @property: (nullable): the property at fault
 * @format: printf()-style message
 * @...: arguments for @format
 *
 * Sets @error in #QL_CONFIG_ERROR with a message that names the device and
 * the property: `device 'disk0': property 'file': MESSAGE`.
 */
void
ql_device_set_error (QlDevice    *self,
                     GError     **error,
                     gint         code,
                     const char  *property,
                     const char  *format,
                     ...)
{
  g_autofree char *message = NULL;
  const char *id;
  va_list ap;

  if (error == NULL)
    return;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);

  id = ql_device_get_id (self);
  if (id == NULL)
    id = "(no id)";
  if (property != NULL)
    g_set_error (error, QL_CONFIG_ERROR, code, "device '%s': property '%s': %s",
                 id, property, message);
  else
    g_set_error (error, QL_CONFIG_ERROR, code, "device '%s': %s", id, message);
}

/**
 * ql_device_check_not_empty:
 * @self: a #QlDevice
 * @value: (nullable): a string property's value
 * @property: the property's name
 * @error: return location for an error
 *
 * A string property left unset is fine; set to the empty string it would
 * become an empty QEMU value, so it is an error naming the device and
 * @property.
 *
 * Returns: %TRUE when @value is %NULL or not empty
 */
gboolean
ql_device_check_not_empty (QlDevice    *self,
                           const char  *value,
                           const char  *property,
                           GError     **error)
{
  g_return_val_if_fail (QL_IS_DEVICE (self), FALSE);

  if (value != NULL && *value == '\0')
    {
      ql_device_set_error (self, error, QL_CONFIG_ERROR_INVALID_VALUE, property,
                           "the value is empty: leave it unset or give a value");
      return FALSE;
    }
  return TRUE;
}

/**
 * ql_is_valid_id:
 * @id: (nullable): a candidate id
 *
 * Checks that a string can be a QEMU id (of a device, netdev, chardev, ...).
 *
 * Returns: whether @id is a valid QEMU id: a letter, then letters, digits,
 *   `-`, `.` or `_`
 */
gboolean
ql_is_valid_id (const char *id)
{
  if (id == NULL || !g_ascii_isalpha (id[0]))
    return FALSE;
  for (const char *p = id + 1; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
      return FALSE;
  return TRUE;
}

/**
 * ql_is_valid_pci_addr:
 * @addr: (nullable): a candidate PCI address
 *
 * Checks the syntax of a PCI address property (`addr`).
 *
 * Returns: whether @addr is QEMU's PCI address syntax: hexadecimal
 *   `slot[.function]`, slot 0..1f, function 0..7
 */
gboolean
ql_is_valid_pci_addr (const char *addr)
{
  const char *dot;
  g_autofree char *slot = NULL;
  guint64 v;

  if (addr == NULL || *addr == '\0')
    return FALSE;
  dot = strchr (addr, '.');
  slot = dot != NULL ? g_strndup (addr, dot - addr) : g_strdup (addr);
  if (*slot == '\0' || strlen (slot) > 2
      || !g_ascii_string_to_unsigned (slot, 16, 0, 0x1f, &v, NULL))
    return FALSE;
  if (dot != NULL)
    {
      if (strlen (dot + 1) != 1
          || !g_ascii_string_to_unsigned (dot + 1, 16, 0, 7, &v, NULL))
        return FALSE;
    }
  return TRUE;
}
