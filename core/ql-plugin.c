/* qlaunch — QlPlugin: one loaded device plugin and the types it registers. */
#include "ql-private.h"

/**
 * QlPlugin:
 *
 * A device plugin loaded by a #QlRegistry: the shared module
 * `libqlaunch-<family>.so`, its descriptor and the device types its init
 * function registered with ql_plugin_register_device().
 *
 * Plugins are created by the registry only; applications get them from
 * ql_registry_get_plugins(), ql_registry_lookup_plugin() or
 * ql_registry_get_device_plugin().
 */
struct _QlPlugin
{
  GObject    parent_instance;

  char      *filename;
  GModule   *module;          /* owned; closed on finalize (no-op if resident) */
  char      *name;
  char      *description;
  char      *version;
  char      *license;
  guint      abi_minor;

  GPtrArray *registrations;   /* element-type QlPluginRegistration, owned */
  GError    *register_error;  /* the first refused registration, or NULL */
  gboolean   vouched;         /* this very file passed the property checks
                               * before (the registry cache says so) */
};

G_DEFINE_FINAL_TYPE (QlPlugin, ql_plugin, G_TYPE_OBJECT)

static void
ql_plugin_registration_free (gpointer data)
{
  QlPluginRegistration *reg = data;

  g_free (reg->name);
  g_free (reg);
}

static void
ql_plugin_finalize (GObject *object)
{
  QlPlugin *self = QL_PLUGIN (object);

  g_clear_pointer (&self->registrations, g_ptr_array_unref);
  g_clear_error (&self->register_error);
  g_clear_pointer (&self->module, g_module_close);
  g_clear_pointer (&self->filename, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->description, g_free);
  g_clear_pointer (&self->version, g_free);
  g_clear_pointer (&self->license, g_free);

  G_OBJECT_CLASS (ql_plugin_parent_class)->finalize (object);
}

static void
ql_plugin_class_init (QlPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ql_plugin_finalize;
}

static void
ql_plugin_init (QlPlugin *self)
{
  self->registrations = g_ptr_array_new_with_free_func (ql_plugin_registration_free);
}

/*
 * ql_plugin_new_for_file:
 * @filename: the plugin's file, as found by the registry
 * @module: (transfer full) (nullable): the opened module; the plugin closes
 *   it when finalized (a no-op once the module is resident)
 * @desc: the plugin's descriptor, already checked by the registry
 *
 * Creates the plugin object the registry hands to the plugin's init
 * function. The descriptor's strings are copied.
 *
 * Returns: (transfer full): a new #QlPlugin
 */
QlPlugin *
ql_plugin_new_for_file (const char         *filename,
                        GModule            *module,
                        const QlPluginDesc *desc)
{
  QlPlugin *self;

  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (desc != NULL, NULL);

  self = g_object_new (QL_TYPE_PLUGIN, NULL);
  self->filename = g_strdup (filename);
  self->module = module;
  self->name = g_strdup (desc->name);
  self->description = g_strdup (desc->description);
  self->version = g_strdup (desc->version);
  self->license = g_strdup (desc->license);
  self->abi_minor = desc->abi_minor;

  return self;
}

/*
 * ql_plugin_get_registrations:
 * @plugin: a #QlPlugin
 *
 * Returns: (transfer none) (element-type QlPluginRegistration): the device
 *   types registered so far, in registration order
 */
GPtrArray *
ql_plugin_get_registrations (QlPlugin *plugin)
{
  g_return_val_if_fail (QL_IS_PLUGIN (plugin), NULL);

  return plugin->registrations;
}

/*
 * ql_plugin_get_register_error:
 * @plugin: a #QlPlugin
 *
 * Returns: (transfer none) (nullable): the error of the first
 *   ql_plugin_register_device() call that failed, or %NULL
 */
const GError *
ql_plugin_get_register_error (QlPlugin *plugin)
{
  return plugin->register_error;
}

/*
 * ql_device_type_check:
 * @name: a device type name
 * @type: the GType to register under @name
 * @error: return location for a #QL_PLUGIN_ERROR_BAD_DEVICE_TYPE error
 *
 * Checks that @name matches `[a-z][a-z0-9-]*` and that @type is a concrete
 * (non-abstract) subclass of #QlDevice.
 *
 * Returns: %TRUE if @name and @type can be registered
 */
gboolean
ql_device_type_check (const char  *name,
                      GType        type,
                      GError     **error)
{
  if (!ql_name_is_valid (name))
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "device type name '%s' is not valid: expected a lowercase "
                   "letter followed by lowercase letters, digits and '-'",
                   name != NULL ? name : "(null)");
      return FALSE;
    }

  if (type == G_TYPE_INVALID)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "device type '%s' has no valid GType", name);
      return FALSE;
    }

  if (!g_type_is_a (type, QL_TYPE_DEVICE) || type == QL_TYPE_DEVICE)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "device type '%s': GType '%s' is not a subclass of QlDevice",
                   name, g_type_name (type));
      return FALSE;
    }

  if (G_TYPE_IS_ABSTRACT (type))
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                   "device type '%s': GType '%s' is abstract",
                   name, g_type_name (type));
      return FALSE;
    }

  return TRUE;
}

/* Whether a fresh instance's @value is @pspec's declared default. A NULL
 * string array and an empty one say the same. */
static gboolean
ql_value_is_default (GParamSpec   *pspec,
                     const GValue *value)
{
  const GValue *def = g_param_spec_get_default_value (pspec);

  if (G_VALUE_HOLDS (value, G_TYPE_STRV))
    {
      const char * const *a = g_value_get_boxed (value);
      const char * const *b = g_value_get_boxed (def);
      const char * const empty[] = { NULL };

      return g_strv_equal (a != NULL ? a : empty, b != NULL ? b : empty);
    }
  return g_param_values_cmp (pspec, value, def) == 0;
}

/*
 * ql_device_type_check_properties:
 * @name: the device type name
 * @type: a concrete #QlDevice subclass (ql_device_type_check() passed)
 * @plugin: (nullable): the plugin registering it, for messages
 * @error: return location for a #QL_PLUGIN_ERROR_BAD_DEVICE_TYPE error
 *
 * Checks the options of @type, each property but those #QlDevice itself
 * declares: its name is kebab-case (`[a-z][a-z0-9-]*`, as VM files and
 * `-d` specs spell it), it has a non-empty blurb (what `qlaunch inspect`
 * shows), and a fresh instance holds its declared default (GObject applies
 * defaults to construct properties only: any other default must be set by
 * the instance init, or inspect would show a default the device does not
 * have).
 *
 * Returns: %TRUE if every property passes
 */
gboolean
ql_device_type_check_properties (const char  *name,
                                 GType        type,
                                 const char  *plugin,
                                 GError     **error)
{
  g_autoptr(GTypeClass) klass = g_type_class_ref (type);
  g_autofree GParamSpec **pspecs = NULL;
  g_autoptr(GObject) instance = NULL;
  g_autofree char *where = plugin != NULL
    ? g_strdup_printf ("device type '%s' of plugin '%s'", name, plugin)
    : g_strdup_printf ("device type '%s'", name);
  guint n = 0;

  pspecs = g_object_class_list_properties (G_OBJECT_CLASS (klass), &n);
  for (guint i = 0; i < n; i++)
    {
      GParamSpec *pspec = pspecs[i];
      const char *blurb = g_param_spec_get_blurb (pspec);

      if (g_type_is_a (QL_TYPE_DEVICE, pspec->owner_type))
        continue;
      if (!ql_name_is_valid (pspec->name))
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                       "%s: property '%s': not a valid option name: expected a "
                       "lowercase letter followed by lowercase letters, digits and '-'",
                       where, pspec->name);
          return FALSE;
        }
      if (blurb == NULL || *blurb == '\0')
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                       "%s: property '%s': no blurb: every option needs a "
                       "description (qlaunch inspect shows it)",
                       where, pspec->name);
          return FALSE;
        }
    }

  instance = g_object_new (type, NULL);
  for (guint i = 0; i < n; i++)
    {
      GParamSpec *pspec = pspecs[i];
      g_auto(GValue) value = G_VALUE_INIT;

      if (g_type_is_a (QL_TYPE_DEVICE, pspec->owner_type)
          || (pspec->flags & G_PARAM_READABLE) == 0)
        continue;
      g_value_init (&value, pspec->value_type);
      g_object_get_property (instance, pspec->name, &value);
      if (!ql_value_is_default (pspec, &value))
        {
          g_autofree char *have = g_strdup_value_contents (&value);
          g_autofree char *want = g_strdup_value_contents (g_param_spec_get_default_value (pspec));

          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
                       "%s: property '%s': a new device holds %s, not the declared "
                       "default %s (GObject applies defaults to construct "
                       "properties only: set it in the instance init)",
                       where, pspec->name, have, want);
          return FALSE;
        }
    }

  return TRUE;
}

void
ql_plugin_set_vouched (QlPlugin *self,
                       gboolean  vouched)
{
  self->vouched = vouched;
}

/**
 * ql_plugin_get_name:
 * @self: a #QlPlugin
 *
 * Gets the plugin's family name, which is also the family part of its file
 * name (`vhost-user` for `libqlaunch-vhost-user.so`).
 *
 * Returns: (transfer none): the family name
 */
const char *
ql_plugin_get_name (QlPlugin *self)
{
  g_return_val_if_fail (QL_IS_PLUGIN (self), NULL);

  return self->name;
}

/**
 * ql_plugin_get_description:
 * @self: a #QlPlugin
 *
 * Gets the one-line description from the plugin's descriptor.
 *
 * Returns: (transfer none): the description
 */
const char *
ql_plugin_get_description (QlPlugin *self)
{
  g_return_val_if_fail (QL_IS_PLUGIN (self), NULL);

  return self->description;
}

/**
 * ql_plugin_get_version:
 * @self: a #QlPlugin
 *
 * Gets the version string from the plugin's descriptor.
 *
 * Returns: (transfer none): the plugin's version
 */
const char *
ql_plugin_get_version (QlPlugin *self)
{
  g_return_val_if_fail (QL_IS_PLUGIN (self), NULL);

  return self->version;
}

/**
 * ql_plugin_get_license:
 * @self: a #QlPlugin
 *
 * Gets the license (an SPDX identifier) from the plugin's descriptor.
 *
 * Returns: (transfer none): the plugin's license
 */
const char *
ql_plugin_get_license (QlPlugin *self)
{
  g_return_val_if_fail (QL_IS_PLUGIN (self), NULL);

  return self->license;
}

/**
 * ql_plugin_get_filename:
 * @self: a #QlPlugin
 *
 * Gets the file the plugin was loaded from, as the registry found it
 * (search directory joined with the file name, or the path given to
 * ql_registry_load_plugin()).
 *
 * Returns: (transfer none) (type filename): the plugin's file name
 */
const char *
ql_plugin_get_filename (QlPlugin *self)
{
  g_return_val_if_fail (QL_IS_PLUGIN (self), NULL);

  return self->filename;
}

/**
 * ql_plugin_get_abi_minor:
 * @self: a #QlPlugin
 *
 * Gets the ABI minor version the plugin was built against; at most
 * %QL_PLUGIN_ABI_MINOR.
 *
 * Returns: the plugin's ABI minor version
 */
guint
ql_plugin_get_abi_minor (QlPlugin *self)
{
  g_return_val_if_fail (QL_IS_PLUGIN (self), 0);

  return self->abi_minor;
}

/**
 * ql_plugin_get_device_types:
 * @self: a #QlPlugin
 *
 * Lists the device types the plugin registered, in registration order.
 *
 * Returns: (transfer full) (array zero-terminated=1): the device type names;
 *   free with g_strfreev()
 */
char **
ql_plugin_get_device_types (QlPlugin *self)
{
  GStrvBuilder *builder;
  char **names;
  guint i;

  g_return_val_if_fail (QL_IS_PLUGIN (self), NULL);

  builder = g_strv_builder_new ();
  for (i = 0; i < self->registrations->len; i++)
    {
      QlPluginRegistration *reg = g_ptr_array_index (self->registrations, i);

      g_strv_builder_add (builder, reg->name);
    }
  names = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  return names;
}

/**
 * ql_plugin_register_device:
 * @self: the plugin being loaded, as passed to its init function
 * @name: the device type name: a lowercase letter followed by lowercase
 *   letters, digits and `-` (`net`, `scsi-controller`)
 * @type: a concrete (non-abstract) subclass of #QlDevice
 * @error: return location for an error
 *
 * Registers a device type provided by the plugin. Call it from the plugin's
 * #QlPluginInitFunc only. The registration is kept only if the whole plugin
 * loads: if init fails, or if any name it registers already exists in the
 * registry, none of the plugin's device types are registered.
 *
 * Fails with %QL_PLUGIN_ERROR_BAD_DEVICE_TYPE if @name is malformed, @type
 * is not a concrete #QlDevice subclass, or one of its own properties (all
 * but #QlDevice:id) has a name that is not kebab-case
 * (`[a-z][a-z0-9-]*`), an empty blurb, or a value in a fresh instance that
 * is not its declared default; the message names the plugin, the device
 * type and the property. A refused registration fails the plugin's load
 * even if init goes on and returns %TRUE. Fails with
 * %QL_PLUGIN_ERROR_DUPLICATE_DEVICE if the plugin registered @name already.
 * An init function should return %FALSE with that error.
 *
 * Returns: %TRUE if the device type was recorded
 */
gboolean
ql_plugin_register_device (QlPlugin    *self,
                           const char  *name,
                           GType        type,
                           GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  QlPluginRegistration *reg;
  guint i;

  g_return_val_if_fail (QL_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The property checks make a device and read every property: done once
   * per plugin file, when it was scanned. */
  if (!ql_device_type_check (name, type, &local_error)
      || (!self->vouched && !ql_device_type_check_properties (name, type, self->name, &local_error)))
    {
      /* Kept, so that an init that goes on regardless still fails. */
      if (self->register_error == NULL)
        self->register_error = g_error_copy (local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  for (i = 0; i < self->registrations->len; i++)
    {
      QlPluginRegistration *other = g_ptr_array_index (self->registrations, i);

      if (g_str_equal (other->name, name))
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE,
                       "device type '%s' is registered twice by plugin '%s'",
                       name, self->name);
          return FALSE;
        }
    }

  reg = g_new0 (QlPluginRegistration, 1);
  reg->name = g_strdup (name);
  reg->type = type;
  g_ptr_array_add (self->registrations, reg);

  return TRUE;
}
