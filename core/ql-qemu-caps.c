/* qlaunch — QlQemuCaps: what one QEMU binary offers. */
#include "ql-qemu-caps-private.h"
#include "ql-cache-file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/**
 * QlQemuCaps:
 *
 * The capabilities of one QEMU binary, as libvirt's `qemuCaps` keeps them:
 * its version, KVM, machine types (with the default and aliases), device
 * types and their properties with types, user-creatable object types (and
 * the properties of the memory backends, `iothread`, `rng-*` and
 * `secret`), CPU models, accelerators, chardev backends, netdev types,
 * command-line options (`-sandbox` when QEMU has seccomp) and which
 * options take JSON.
 *
 * ql_qemu_caps_lookup() probes the binary once through QMP (`-machine none
 * -nodefaults -S` on a private socket: about 150 ms here) and caches the
 * result under `$XDG_CACHE_HOME/qlaunch/caps/`, keyed by the binary's
 * canonical path, size, mtime and inode; a later lookup maps that file and
 * reads it in place (well under a millisecond). A binary that changes, a
 * cache of another format or qlaunch version, or a damaged cache file is
 * probed again and the file rewritten.
 *
 * Device properties are probed for the device types asked for (a VM's
 * `-device` drivers: ql_qemu_caps_lookup_for_cmdline()), since QEMU 7.2
 * takes about 2 ms per type and has 446; the cache grows as new types are
 * needed, and %QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES probes them all.
 *
 * ql_qemu_caps_check_cmdline() checks a built command line against the
 * capabilities before QEMU starts; ql_qemu_caps_apply_syntax() makes a
 * command line use the forms of this QEMU version.
 * ql_qemu_caps_new_for_version() gives the forms of a version without a
 * binary (`qlaunch args --qemu-version`), with no type information.
 */
struct _QlQemuCaps
{
  GObject parent_instance;

  GVariant *data;          /* QL_CAPS_TYPE, NULL when not probed */
  /* Its fields, each made once: GLib checks an array's offsets as far as
   * a lookup reaches and remembers that in the array's GVariant, so a
   * binary search in a field kept here costs a few steps, not a check of
   * the array up to the middle each time. */
  GVariant *fields[QL_CAPS_N_FIELDS];
  gboolean from_cache;
  guint major, minor, micro;
  char *version_string;

  /* ql_qemu_caps_resolve_machine()'s answers: name → the machine type
   * (in data) or RESOLVED_NONE. A VM's build asks several times for the
   * same name, and an alias is found by a scan of every machine type. */
  GMutex      resolved_lock;
  GHashTable *resolved;
};

/* What `resolved` records for a name QEMU has no machine type for. */
static const char RESOLVED_NONE[] = "";

G_DEFINE_FINAL_TYPE (QlQemuCaps, ql_qemu_caps, G_TYPE_OBJECT)

/**
 * ql_qemu_caps_error_quark:
 *
 * Gets the #GQuark of the #QL_QEMU_CAPS_ERROR error domain.
 *
 * Returns: the error domain's quark
 */
G_DEFINE_QUARK (ql-qemu-caps-error-quark, ql_qemu_caps_error)

static void
ql_qemu_caps_finalize (GObject *object)
{
  QlQemuCaps *self = QL_QEMU_CAPS (object);

  for (guint i = 0; i < QL_CAPS_N_FIELDS; i++)
    g_clear_pointer (&self->fields[i], g_variant_unref);
  g_clear_pointer (&self->data, g_variant_unref);
  g_free (self->version_string);
  g_clear_pointer (&self->resolved, g_hash_table_unref);
  g_mutex_clear (&self->resolved_lock);
  G_OBJECT_CLASS (ql_qemu_caps_parent_class)->finalize (object);
}

static void
ql_qemu_caps_class_init (QlQemuCapsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ql_qemu_caps_finalize;
}

static void
ql_qemu_caps_init (QlQemuCaps *self)
{
  g_mutex_init (&self->resolved_lock);
}

static GVariant *
field (QlQemuCaps *self,
       guint       index)
{
  GVariant *child;

  if (self->data == NULL)
    return NULL;
  child = g_atomic_pointer_get (&self->fields[index]);
  if (child == NULL)
    {
      child = g_variant_get_child_value (self->data, index);
      if (!g_atomic_pointer_compare_and_exchange (&self->fields[index], NULL, child))
        {
          /* Another thread was first. */
          g_variant_unref (child);
          child = g_atomic_pointer_get (&self->fields[index]);
        }
    }
  return g_variant_ref (child);
}

static const char *
field_string (QlQemuCaps *self,
              guint       index)
{
  g_autoptr(GVariant) v = field (self, index);

  /* Strings point into self->data, which outlives the child. */
  return v != NULL ? ql_cache_file_string (v) : NULL;
}

QlQemuCaps *
ql_qemu_caps_new_from_data (GVariant *data,
                            gboolean  from_cache)
{
  QlQemuCaps *self = g_object_new (QL_TYPE_QEMU_CAPS, NULL);
  g_autoptr(GVariant) version = NULL;

  self->data = g_variant_ref_sink (data);
  self->from_cache = from_cache;
  version = g_variant_get_child_value (data, QL_CAPS_FIELD_VERSION);
  g_variant_get (version, "(uuu)", &self->major, &self->minor, &self->micro);
  self->version_string = g_strdup (field_string (self, QL_CAPS_FIELD_VERSION_STRING));
  return self;
}

GVariant *
ql_qemu_caps_get_data (QlQemuCaps *self)
{
  return self->data;
}

/**
 * ql_qemu_caps_new_for_version:
 * @version: a QEMU version, `X.Y` or `X.Y.Z`
 * @error: return location for an error
 *
 * Capabilities of a QEMU version without its binary: enough to choose the
 * command-line forms (ql_qemu_caps_apply_syntax(), ql_qemu_caps_accepts_json()),
 * with no type lists, so ql_qemu_caps_check_cmdline() checks only options
 * the version removed.
 *
 * Returns: (transfer full): the capabilities, or %NULL when @version is not
 *   a version or older than 7.2 (%QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION)
 */
QlQemuCaps *
ql_qemu_caps_new_for_version (const char  *version,
                              GError     **error)
{
  QlQemuCaps *self;
  guint major, minor, micro;

  g_return_val_if_fail (version != NULL, NULL);
  if (!ql_qemu_syntax_parse_version (version, &major, &minor, &micro))
    {
      g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION,
                   "'%s' is not a QEMU version: expected MAJOR.MINOR or MAJOR.MINOR.MICRO, such as 7.2",
                   version);
      return NULL;
    }
  if (major < QL_QEMU_OLDEST_MAJOR || (major == QL_QEMU_OLDEST_MAJOR && minor < QL_QEMU_OLDEST_MINOR))
    {
      g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION,
                   "QEMU %s is older than %d.%d, the oldest qlaunch writes command lines for",
                   version, QL_QEMU_OLDEST_MAJOR, QL_QEMU_OLDEST_MINOR);
      return NULL;
    }
  self = g_object_new (QL_TYPE_QEMU_CAPS, NULL);
  self->major = major;
  self->minor = minor;
  self->micro = micro;
  self->version_string = g_strdup_printf ("%u.%u.%u", major, minor, micro);
  return self;
}

/**
 * ql_qemu_caps_get_cache_dir:
 *
 * Where ql_qemu_caps_lookup() keeps its cache: `$XDG_CACHE_HOME/qlaunch/caps`
 * (GLib's g_get_user_cache_dir()), or `$QLAUNCH_CACHE_DIR/caps` when that is set.
 *
 * Returns: (transfer full): the directory
 */
char *
ql_qemu_caps_get_cache_dir (void)
{
  return ql_cache_file_get_dir ("caps");
}

void
ql_caps_stamp_clear (QlCapsStamp *stamp)
{
  g_clear_pointer (&stamp->path, g_free);
}

gboolean
ql_caps_stamp_read (const char   *binary,
                    QlCapsStamp  *stamp,
                    GError      **error)
{
  g_autofree char *found = NULL;
  g_autofree char *real = NULL;
  struct stat st;

  memset (stamp, 0, sizeof *stamp);
  if (strchr (binary, '/') == NULL)
    found = g_find_program_in_path (binary);
  else
    found = g_strdup (binary);
  if (found == NULL)
    {
      g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_NOT_FOUND,
                   "QEMU binary '%s' is not in PATH", binary);
      return FALSE;
    }
  real = realpath (found, NULL);
  if (real == NULL || stat (real, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_NOT_FOUND,
                   "QEMU binary '%s': %s", found, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode) || access (real, X_OK) != 0)
    {
      g_set_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_NOT_FOUND,
                   "QEMU binary '%s' is not an executable file", real);
      return FALSE;
    }
  /* Probed, then run (often as root): nobody else may be able to swap it. */
  {
    g_autofree char *absolute = g_canonicalize_filename (found, NULL);

    if (!ql_path_check_trusted ("QEMU binary", absolute, error))
      return FALSE;
  }
  stamp->path = g_steal_pointer (&real);
  stamp->size = (gint64) st.st_size;
  stamp->mtime = (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec;
  stamp->inode = (gint64) st.st_ino;
  return TRUE;
}

static gboolean
variant_has_type (gpointer    data,
                  const char *type)
{
  g_autoptr(GVariant) found = ql_caps_array_lookup (data, type);

  return found != NULL;
}

/* Whether a type in @wanted (or the type an alias in it stands for) is
 * one @data knows and has no properties for. */
static gboolean
missing_properties_in (GVariant           *types,
                       GVariant           *props,
                       const char * const *wanted)
{
  for (guint i = 0; wanted != NULL && wanted[i] != NULL; i++)
    {
      g_autoptr(GVariant) type = ql_caps_array_lookup (types, wanted[i]);
      g_autoptr(GVariant) has = NULL;
      g_autofree char *storage = NULL;
      const char *name = wanted[i];

      if (type == NULL)
        {
          name = ql_qemu_caps_device_alias_target (wanted[i], variant_has_type, types, &storage);
          if (name == NULL)
            continue;
        }
      has = ql_caps_array_lookup (props, name);
      if (has == NULL)
        return TRUE;
    }
  return FALSE;
}

static gboolean
missing_properties (GVariant           *data,
                    const char * const *wanted)
{
  g_autoptr(GVariant) types = g_variant_get_child_value (data, QL_CAPS_FIELD_DEVICE_TYPES);
  g_autoptr(GVariant) props = g_variant_get_child_value (data, QL_CAPS_FIELD_DEVICE_PROPS);

  return missing_properties_in (types, props, wanted);
}

/* @wanted plus the types @data already has properties for. */
static GStrv
merge_types (GVariant           *data,
             const char * const *wanted)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  if (data != NULL)
    {
      g_autoptr(GVariant) props = g_variant_get_child_value (data, QL_CAPS_FIELD_DEVICE_PROPS);
      g_auto(GStrv) keys = ql_caps_array_keys (props);

      g_strv_builder_addv (b, (const char **) keys);
    }
  for (guint i = 0; wanted != NULL && wanted[i] != NULL; i++)
    g_strv_builder_add (b, wanted[i]);
  return g_strv_builder_end (b);
}

gboolean
ql_qemu_caps_has_properties_of (QlQemuCaps          *self,
                                const char * const  *types)
{
  g_autoptr(GVariant) device_types = field (self, QL_CAPS_FIELD_DEVICE_TYPES);
  g_autoptr(GVariant) props = field (self, QL_CAPS_FIELD_DEVICE_PROPS);

  return self->data != NULL && !missing_properties_in (device_types, props, types);
}

static char **list_field (QlQemuCaps *self, guint index);

gboolean
ql_qemu_caps_field_has (QlQemuCaps *self,
                        guint       index,
                        const char *name)
{
  g_autoptr(GVariant) list = field (self, index);
  g_autoptr(GVariant) found = NULL;

  if (list == NULL)
    return FALSE;
  found = ql_caps_array_lookup (list, name);
  return found != NULL;
}

char **
ql_qemu_caps_field_list (QlQemuCaps *self,
                         guint       index)
{
  return list_field (self, index);
}

/* Whether every type was asked about: probed, or known not to be
 * probeable. */
static gboolean
has_all_properties (GVariant *data)
{
  g_autoptr(GVariant) types = g_variant_get_child_value (data, QL_CAPS_FIELD_DEVICE_TYPES);
  g_autoptr(GVariant) props = g_variant_get_child_value (data, QL_CAPS_FIELD_DEVICE_PROPS);
  g_autoptr(GVariant) unprobed = g_variant_get_child_value (data, QL_CAPS_FIELD_UNPROBED_DEVICES);

  return g_variant_n_children (types) == g_variant_n_children (props) + g_variant_n_children (unprobed);
}

/**
 * ql_qemu_caps_lookup:
 * @binary: the QEMU binary: a path, or a name looked up in `PATH`
 * @device_types: (nullable) (array zero-terminated=1): device types whose
 *   properties are needed (types QEMU lacks are ignored)
 * @flags: #QlQemuCapsLookupFlags
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Gets the capabilities of @binary: from the cache when it holds this
 * binary (same canonical path, size, mtime and inode, same cache format and
 * qlaunch version) and every property asked for, else by probing QEMU
 * (blocking, about 150 ms plus 2 ms per device type), then rewriting the
 * cache. A cache that cannot be written is not an error (the probe's result
 * is returned; a debug message says why).
 *
 * Returns: (transfer full): the capabilities, or %NULL with @error set
 */
QlQemuCaps *
ql_qemu_caps_lookup (const char             *binary,
                     const char * const     *device_types,
                     QlQemuCapsLookupFlags   flags,
                     GCancellable           *cancellable,
                     GError                **error)
{
  g_auto(QlCapsStamp) stamp = { NULL, 0, 0, 0 };
  g_autofree char *cache_dir = NULL;
  g_autoptr(GVariant) cached = NULL;
  g_autoptr(GVariant) probed = NULL;
  g_autoptr(GError) save_error = NULL;
  g_auto(GStrv) types = NULL;
  gboolean all = (flags & QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES) != 0;

  g_return_val_if_fail (binary != NULL, NULL);

  if (!ql_caps_stamp_read (binary, &stamp, error))
    return NULL;
  cache_dir = ql_qemu_caps_get_cache_dir ();
  if ((flags & (QL_QEMU_CAPS_LOOKUP_NO_CACHE | QL_QEMU_CAPS_LOOKUP_REFRESH)) == 0)
    {
      cached = ql_qemu_caps_cache_load (cache_dir, &stamp);
      if (cached != NULL && !missing_properties (cached, device_types)
          && (!all || has_all_properties (cached)))
        return ql_qemu_caps_new_from_data (cached, TRUE);
    }

  types = merge_types (cached, device_types);
  probed = ql_qemu_caps_probe_data (&stamp, (const char * const *) types, all,
                                    cancellable, error);
  if (probed == NULL)
    return NULL;
  if ((flags & QL_QEMU_CAPS_LOOKUP_NO_CACHE) == 0
      && !ql_qemu_caps_cache_save (cache_dir, probed, &save_error))
    g_debug ("qlaunch: QEMU capabilities not cached: %s", save_error->message);
  return ql_qemu_caps_new_from_data (probed, FALSE);
}

/**
 * ql_qemu_caps_is_probed:
 * @self: a #QlQemuCaps
 *
 * Whether the capabilities come from a binary (probed or cached), rather
 * than from ql_qemu_caps_new_for_version().
 *
 * Returns: %TRUE for a probed binary
 */
gboolean
ql_qemu_caps_is_probed (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  return self->data != NULL;
}

/**
 * ql_qemu_caps_is_from_cache:
 * @self: a #QlQemuCaps
 *
 * Whether ql_qemu_caps_lookup() read these capabilities from its cache.
 *
 * Returns: %TRUE when no QEMU was run to get them
 */
gboolean
ql_qemu_caps_is_from_cache (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  return self->from_cache;
}

/**
 * ql_qemu_caps_get_binary:
 * @self: a #QlQemuCaps
 *
 * Gets the canonical path of the probed binary.
 *
 * Returns: (nullable): the path, %NULL when not probed
 */
const char *
ql_qemu_caps_get_binary (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return field_string (self, QL_CAPS_FIELD_BINARY);
}

/**
 * ql_qemu_caps_get_version:
 * @self: a #QlQemuCaps
 * @major: (out) (optional): the major version
 * @minor: (out) (optional): the minor version
 * @micro: (out) (optional): the micro version
 *
 * Gets QEMU's version (from its QMP greeting when probed).
 */
void
ql_qemu_caps_get_version (QlQemuCaps *self,
                          guint      *major,
                          guint      *minor,
                          guint      *micro)
{
  g_return_if_fail (QL_IS_QEMU_CAPS (self));
  if (major != NULL)
    *major = self->major;
  if (minor != NULL)
    *minor = self->minor;
  if (micro != NULL)
    *micro = self->micro;
}

/**
 * ql_qemu_caps_get_version_string:
 * @self: a #QlQemuCaps
 *
 * Gets QEMU's version as `MAJOR.MINOR.MICRO`.
 *
 * Returns: the version
 */
const char *
ql_qemu_caps_get_version_string (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return self->version_string;
}

/**
 * ql_qemu_caps_get_package:
 * @self: a #QlQemuCaps
 *
 * Gets the package string of QEMU's QMP greeting, such as
 * `Debian 1:7.2+dfsg-7+deb12u18+b3`.
 *
 * Returns: (nullable): the package, %NULL when not probed
 */
const char *
ql_qemu_caps_get_package (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return field_string (self, QL_CAPS_FIELD_PACKAGE);
}

/**
 * ql_qemu_caps_get_kvm_present:
 * @self: a #QlQemuCaps
 *
 * Whether QEMU was built with KVM and found `/dev/kvm` when probed
 * (`query-kvm`'s `present`). KVM may still be unusable (nested guests).
 *
 * Returns: %TRUE when KVM is present
 */
gboolean
ql_qemu_caps_get_kvm_present (QlQemuCaps *self)
{
  g_autoptr(GVariant) v = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  v = field (self, QL_CAPS_FIELD_KVM_PRESENT);
  return v != NULL && g_variant_get_boolean (v);
}

static char **
list_field (QlQemuCaps *self,
            guint       index)
{
  g_autoptr(GVariant) v = field (self, index);

  if (v == NULL)
    return g_new0 (char *, 1);
  return ql_caps_array_keys (v);
}

/**
 * ql_qemu_caps_list_machines:
 * @self: a #QlQemuCaps
 *
 * Lists the machine types, sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names (empty when not probed)
 */
char **
ql_qemu_caps_list_machines (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_MACHINES);
}

static const char *
resolve_machine (QlQemuCaps *self,
                 const char *name)
{
  g_autoptr(GVariant) machines = NULL;
  g_autoptr(GVariant) m = NULL;
  gsize n;

  machines = field (self, QL_CAPS_FIELD_MACHINES);
  if (machines == NULL)
    return NULL;
  m = ql_caps_array_lookup (machines, name);
  if (m != NULL)
    {
      g_autoptr(GVariant) s = g_variant_get_child_value (m, 0);

      return ql_cache_file_string (s);
    }
  n = g_variant_n_children (machines);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) c = g_variant_get_child_value (machines, i);
      g_autoptr(GVariant) alias = g_variant_get_child_value (c, 1);

      if (strcmp (ql_cache_file_string (alias), name) == 0)
        {
          g_autoptr(GVariant) s = g_variant_get_child_value (c, 0);

          return ql_cache_file_string (s);
        }
    }
  return NULL;
}

/**
 * ql_qemu_caps_resolve_machine:
 * @self: a #QlQemuCaps
 * @name: a machine type or alias, such as `q35`
 *
 * Resolves a machine type name.
 *
 * Returns: (nullable): the machine type @name is or aliases (`pc-q35-7.2`
 *   for `q35`), %NULL when QEMU has none of that name
 */
const char *
ql_qemu_caps_resolve_machine (QlQemuCaps *self,
                              const char *name)
{
  const char *resolved;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  if (self->data == NULL)
    return NULL;

  g_mutex_lock (&self->resolved_lock);
  if (self->resolved == NULL)
    self->resolved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  resolved = g_hash_table_lookup (self->resolved, name);
  if (resolved == NULL)
    {
      /* Strings in data, which lives as long as self. */
      resolved = resolve_machine (self, name);
      g_hash_table_insert (self->resolved, g_strdup (name),
                           (gpointer) (resolved != NULL ? resolved : RESOLVED_NONE));
    }
  g_mutex_unlock (&self->resolved_lock);
  return resolved != RESOLVED_NONE ? resolved : NULL;
}

/**
 * ql_qemu_caps_get_machine_alias:
 * @self: a #QlQemuCaps
 * @name: a machine type
 *
 * Gets the alias of a machine type (`q35` for `pc-q35-7.2`).
 *
 * Returns: (nullable): the alias, %NULL when it has none
 */
const char *
ql_qemu_caps_get_machine_alias (QlQemuCaps *self,
                                const char *name)
{
  g_autoptr(GVariant) machines = NULL;
  g_autoptr(GVariant) m = NULL;
  g_autoptr(GVariant) alias = NULL;
  const char *s;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  machines = field (self, QL_CAPS_FIELD_MACHINES);
  if (machines == NULL || (m = ql_caps_array_lookup (machines, name)) == NULL)
    return NULL;
  alias = g_variant_get_child_value (m, 1);
  s = ql_cache_file_string (alias);
  return s[0] != '\0' ? s : NULL;
}

/**
 * ql_qemu_caps_get_default_machine:
 * @self: a #QlQemuCaps
 *
 * Gets the machine type QEMU uses when none is given.
 *
 * Returns: (nullable): the machine type, %NULL when there is none or not probed
 */
const char *
ql_qemu_caps_get_default_machine (QlQemuCaps *self)
{
  const char *s;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  s = field_string (self, QL_CAPS_FIELD_DEFAULT_MACHINE);
  return s != NULL && s[0] != '\0' ? s : NULL;
}

/**
 * ql_qemu_caps_list_device_types:
 * @self: a #QlQemuCaps
 *
 * Lists the device types `-device` can create, sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the types
 */
char **
ql_qemu_caps_list_device_types (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_DEVICE_TYPES);
}

/**
 * ql_qemu_caps_has_device_type:
 * @self: a #QlQemuCaps
 * @type: a device type, such as `virtio-blk-pci`
 *
 * Whether `-device` can create @type.
 *
 * Returns: %TRUE when it can
 */
gboolean
ql_qemu_caps_has_device_type (QlQemuCaps *self,
                              const char *type)
{
  g_autoptr(GVariant) types = NULL;
  g_autoptr(GVariant) found = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  types = field (self, QL_CAPS_FIELD_DEVICE_TYPES);
  if (types == NULL)
    return FALSE;
  found = ql_caps_array_lookup (types, type);
  return found != NULL;
}

/* QEMU's qdev aliases (qdev-monitor.c, qdev_alias_table): -device NAME
 * creates the first of NAME-pci, NAME-ccw, NAME-device the binary has. */
static const char *const alias_names[] = {
  "virtio-9p", "virtio-balloon", "virtio-blk", "virtio-gpu", "virtio-input-host",
  "virtio-iommu", "virtio-keyboard", "virtio-mouse", "virtio-net", "virtio-rng",
  "virtio-scsi", "virtio-serial", "virtio-tablet",
};
static const char *const alias_suffixes[] = { "-pci", "-ccw", "-device" };
static const struct { const char *alias, *type; } fixed_aliases[] = {
  { "e1000", "e1000-82540em" }, { "ahci", "ich9-ahci" }, { "lsi", "lsi53c895a" },
};

GStrv
ql_qemu_caps_device_alias_candidates (const char *name)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (fixed_aliases); i++)
    if (strcmp (name, fixed_aliases[i].alias) == 0)
      g_strv_builder_add (b, fixed_aliases[i].type);
  for (gsize i = 0; i < G_N_ELEMENTS (alias_names); i++)
    if (strcmp (name, alias_names[i]) == 0)
      for (gsize k = 0; k < G_N_ELEMENTS (alias_suffixes); k++)
        {
          g_autofree char *type = g_strconcat (name, alias_suffixes[k], NULL);

          g_strv_builder_add (b, type);
        }
  return g_strv_builder_end (b);
}

const char *
ql_qemu_caps_device_alias_target (const char *name,
                                  gboolean  (*has) (gpointer data, const char *type),
                                  gpointer    data,
                                  char      **storage)
{
  g_auto(GStrv) candidates = ql_qemu_caps_device_alias_candidates (name);

  for (guint i = 0; candidates[i] != NULL; i++)
    if (has (data, candidates[i]))
      {
        g_free (*storage);
        *storage = g_strdup (candidates[i]);
        return *storage;
      }
  return NULL;
}

static gboolean
caps_has_type (gpointer    data,
               const char *type)
{
  return ql_qemu_caps_has_device_type (data, type);
}

/**
 * ql_qemu_caps_resolve_device_type:
 * @self: a #QlQemuCaps
 * @name: a `-device` driver name, such as `virtio-blk`
 *
 * Resolves a `-device` driver as QEMU does: a device type, or one of
 * QEMU's aliases (`virtio-blk` is `virtio-blk-pci` on a PCI machine,
 * `e1000` is `e1000-82540em`).
 *
 * Returns: (nullable): the device type, %NULL when QEMU has none of that name
 */
const char *
ql_qemu_caps_resolve_device_type (QlQemuCaps *self,
                                  const char *name)
{
  g_autoptr(GVariant) types = NULL;
  g_autoptr(GVariant) found = NULL;
  g_autofree char *storage = NULL;
  const char *target;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  types = field (self, QL_CAPS_FIELD_DEVICE_TYPES);
  if (types == NULL)
    return NULL;
  found = ql_caps_array_lookup (types, name);
  if (found != NULL)
    return ql_cache_file_string (found);
  target = ql_qemu_caps_device_alias_target (name, caps_has_type, self, &storage);
  if (target == NULL)
    return NULL;
  g_clear_pointer (&found, g_variant_unref);
  found = ql_caps_array_lookup (types, target);
  /* Points into self->data, which outlives the child. */
  return found != NULL ? ql_cache_file_string (found) : NULL;
}

static GVariant *
device_props (QlQemuCaps *self,
              guint       index,
              const char *type)
{
  g_autoptr(GVariant) all = field (self, index);
  g_autoptr(GVariant) entry = NULL;

  if (all == NULL || (entry = ql_caps_array_lookup (all, type)) == NULL)
    return NULL;
  return g_variant_get_child_value (entry, 1);
}

/**
 * ql_qemu_caps_has_device_properties:
 * @self: a #QlQemuCaps
 * @type: a device type
 *
 * Whether the properties of @type were probed.
 *
 * Returns: %TRUE when they were
 */
gboolean
ql_qemu_caps_has_device_properties (QlQemuCaps *self,
                                    const char *type)
{
  g_autoptr(GVariant) props = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  props = device_props (self, QL_CAPS_FIELD_DEVICE_PROPS, type);
  return props != NULL;
}

/**
 * ql_qemu_caps_list_unprobed_device_types:
 * @self: a #QlQemuCaps
 *
 * The device types QEMU lists whose properties could not be probed with
 * %QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES: QEMU answered an error, or died on
 * the question (QEMU 7.2 aborts on `virtio-gpu-gl-pci` when the module of
 * `virtio-gpu-gl-device` is not installed) and was started again for the
 * other types. ql_qemu_caps_get_device_probe_failure() says why. The
 * types stay in ql_qemu_caps_list_device_types(); a VM may still use them,
 * without property checks.
 *
 * Returns: (transfer full) (array zero-terminated=1): the types, sorted;
 *   empty when every type was probed or only some types were asked for
 */
char **
ql_qemu_caps_list_unprobed_device_types (QlQemuCaps *self)
{
  g_autoptr(GVariant) all = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  all = field (self, QL_CAPS_FIELD_UNPROBED_DEVICES);
  if (all == NULL)
    return g_new0 (char *, 1);
  return ql_caps_array_keys (all);
}

/**
 * ql_qemu_caps_get_device_probe_failure:
 * @self: a #QlQemuCaps
 * @type: a device type
 *
 * Why the properties of @type could not be probed (see
 * ql_qemu_caps_list_unprobed_device_types()): QEMU's error, or what it
 * wrote when it died on the question.
 *
 * Returns: (nullable): the reason, %NULL when @type is not such a type
 */
const char *
ql_qemu_caps_get_device_probe_failure (QlQemuCaps *self,
                                       const char *type)
{
  g_autoptr(GVariant) all = NULL;
  g_autoptr(GVariant) entry = NULL;
  g_autoptr(GVariant) why = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  g_return_val_if_fail (type != NULL, NULL);
  all = field (self, QL_CAPS_FIELD_UNPROBED_DEVICES);
  if (all == NULL || (entry = ql_caps_array_lookup (all, type)) == NULL)
    return NULL;
  why = g_variant_get_child_value (entry, 1);
  /* The string points into self->data, which outlives the child. */
  return ql_cache_file_string (why);
}

/**
 * ql_qemu_caps_list_device_properties:
 * @self: a #QlQemuCaps
 * @type: a device type
 *
 * Lists the properties of a device type, sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the
 *   properties, %NULL when they were not probed
 */
char **
ql_qemu_caps_list_device_properties (QlQemuCaps *self,
                                     const char *type)
{
  g_autoptr(GVariant) props = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  props = device_props (self, QL_CAPS_FIELD_DEVICE_PROPS, type);
  return props != NULL ? ql_caps_array_keys (props) : NULL;
}

/**
 * ql_qemu_caps_get_device_property_type:
 * @self: a #QlQemuCaps
 * @type: a device type
 * @property: a property name
 *
 * Gets the QOM type of a device property (`str`, `bool`, `uint32`, `link<iothread>`, ...).
 *
 * Returns: (nullable): the type, %NULL when the device has no such
 *   property or its properties were not probed
 */
const char *
ql_qemu_caps_get_device_property_type (QlQemuCaps *self,
                                       const char *type,
                                       const char *property)
{
  g_autoptr(GVariant) props = NULL;
  g_autoptr(GVariant) p = NULL;
  g_autoptr(GVariant) t = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  props = device_props (self, QL_CAPS_FIELD_DEVICE_PROPS, type);
  if (props == NULL || (p = ql_caps_array_lookup (props, property)) == NULL)
    return NULL;
  t = g_variant_get_child_value (p, 1);
  return ql_cache_file_string (t);
}

/**
 * ql_qemu_caps_list_object_types:
 * @self: a #QlQemuCaps
 *
 * Lists the user-creatable object types (`-object`), sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the types
 */
char **
ql_qemu_caps_list_object_types (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_OBJECT_TYPES);
}

/**
 * ql_qemu_caps_list_object_properties:
 * @self: a #QlQemuCaps
 * @type: an object type
 *
 * Lists the properties of an object type. Probed for the memory backends,
 * `iothread`, `rng-*` and `secret` only: `qom-list-properties` makes QEMU
 * 7.2 abort on some types (`x-remote-object`, `colo-compare`).
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the
 *   properties, %NULL when not probed
 */
char **
ql_qemu_caps_list_object_properties (QlQemuCaps *self,
                                     const char *type)
{
  g_autoptr(GVariant) props = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  props = device_props (self, QL_CAPS_FIELD_OBJECT_PROPS, type);
  return props != NULL ? ql_caps_array_keys (props) : NULL;
}

/**
 * ql_qemu_caps_list_cpu_models:
 * @self: a #QlQemuCaps
 *
 * Lists the CPU models (`query-cpu-definitions`), sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the models
 */
char **
ql_qemu_caps_list_cpu_models (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_CPU_MODELS);
}

/**
 * ql_qemu_caps_list_accelerators:
 * @self: a #QlQemuCaps
 *
 * Lists the accelerators built into QEMU (`tcg`, `kvm`, ...), sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the accelerators
 */
char **
ql_qemu_caps_list_accelerators (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_ACCELERATORS);
}

/**
 * ql_qemu_caps_list_chardev_backends:
 * @self: a #QlQemuCaps
 *
 * Lists the chardev backends (`query-chardev-backends`), sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the backends
 */
char **
ql_qemu_caps_list_chardev_backends (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_CHARDEVS);
}

/**
 * ql_qemu_caps_list_netdev_types:
 * @self: a #QlQemuCaps
 *
 * Lists the netdev types (`netdev_add`'s `type` in the QMP schema), sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the types
 */
char **
ql_qemu_caps_list_netdev_types (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_NETDEVS);
}

/**
 * ql_qemu_caps_list_command_line_options:
 * @self: a #QlQemuCaps
 *
 * Lists the command-line options QEMU reports through
 * `query-command-line-options` (those it parses through its option
 * tables, without the dash: `machine`, `sandbox`, ...), sorted. `sandbox`
 * is among them only when QEMU was built with seccomp.
 *
 * Returns: (transfer full) (array zero-terminated=1): the options; empty
 *   when @self was not probed
 *
 * Since: ABI 1.4
 */
char **
ql_qemu_caps_list_command_line_options (QlQemuCaps *self)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  return list_field (self, QL_CAPS_FIELD_COMMAND_LINE_OPTIONS);
}

/**
 * ql_qemu_caps_has_command_line_option:
 * @self: a #QlQemuCaps
 * @option: an option without the dash, such as `sandbox`
 * @parameter: (nullable): one of its parameters, such as `spawn`, or %NULL
 *
 * Whether QEMU has the command-line option @option (and, with @parameter,
 * that parameter of it), as `query-command-line-options` reports it. A
 * QEMU built without seccomp has no `sandbox`.
 *
 * Returns: %TRUE when it has; %FALSE also when @self was not probed
 *   (ql_qemu_caps_is_probed())
 *
 * Since: ABI 1.4
 */
GVariant *
ql_qemu_caps_command_line_parameters (QlQemuCaps *self,
                                      const char *option)
{
  g_autoptr(GVariant) options = field (self, QL_CAPS_FIELD_COMMAND_LINE_OPTIONS);
  g_autoptr(GVariant) entry = NULL;

  if (options == NULL || (entry = ql_caps_array_lookup (options, option)) == NULL)
    return NULL;
  return g_variant_get_child_value (entry, 1);
}

gboolean
ql_qemu_caps_has_command_line_option (QlQemuCaps *self,
                                      const char *option,
                                      const char *parameter)
{
  g_autoptr(GVariant) parameters = NULL;
  g_autoptr(GVariant) found = NULL;

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  g_return_val_if_fail (option != NULL, FALSE);
  parameters = ql_qemu_caps_command_line_parameters (self, option);
  if (parameters == NULL)
    return FALSE;
  if (parameter == NULL)
    return TRUE;
  found = ql_caps_array_lookup (parameters, parameter);
  return found != NULL;
}

/**
 * ql_qemu_caps_accepts_json:
 * @self: a #QlQemuCaps
 * @flag: `-device`, `-object`, `-netdev` or `-blockdev`
 *
 * Whether this QEMU version reads @flag's argument as JSON (`-blockdev`
 * since 2.10, `-object` 6.0, `-device` 6.2, `-netdev` 7.1).
 *
 * Returns: %TRUE when it does
 */
gboolean
ql_qemu_caps_accepts_json (QlQemuCaps *self,
                           const char *flag)
{
  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), FALSE);
  g_return_val_if_fail (flag != NULL, FALSE);
  return ql_qemu_syntax_accepts_json (self->major, self->minor, flag);
}

/**
 * ql_qemu_caps_apply_syntax:
 * @self: a #QlQemuCaps
 * @cmdline: a #QlCmdline
 *
 * Makes @cmdline use this QEMU version's forms (ql_cmdline_set_qemu_version()).
 * For a probed binary, the `-device` values the user gave as text
 * (`[qemu]`, `qemu-set`) get the QOM type QEMU declares for their
 * property, so that they are written typed.
 */
void
ql_qemu_caps_apply_syntax (QlQemuCaps *self,
                           QlCmdline  *cmdline)
{
  g_return_if_fail (QL_IS_QEMU_CAPS (self));
  g_return_if_fail (QL_IS_CMDLINE (cmdline));
  ql_cmdline_set_qemu_version (cmdline, self->major, self->minor);
  if (self->data != NULL && ql_qemu_caps_is_probed (self))
    ql_qemu_caps_type_values (self, cmdline);
}

static void
add_string_array (JsonBuilder *b,
                  const char  *name,
                  char       **items)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; items[i] != NULL; i++)
    json_builder_add_string_value (b, items[i]);
  json_builder_end_array (b);
}

static void
add_props (JsonBuilder *b,
           GVariant    *all)
{
  gsize n = g_variant_n_children (all);

  json_builder_begin_object (b);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (all, i);
      g_autoptr(GVariant) type = g_variant_get_child_value (entry, 0);
      g_autoptr(GVariant) props = g_variant_get_child_value (entry, 1);
      gsize n_props = g_variant_n_children (props);

      json_builder_set_member_name (b, ql_cache_file_string (type));
      json_builder_begin_object (b);
      for (gsize k = 0; k < n_props; k++)
        {
          g_autoptr(GVariant) prop = g_variant_get_child_value (props, k);
          g_autoptr(GVariant) name = g_variant_get_child_value (prop, 0);
          g_autoptr(GVariant) ptype = g_variant_get_child_value (prop, 1);

          json_builder_set_member_name (b, ql_cache_file_string (name));
          json_builder_add_string_value (b, ql_cache_file_string (ptype));
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

/**
 * ql_qemu_caps_to_json:
 * @self: a #QlQemuCaps
 * @pretty: whether to indent
 *
 * Writes the capabilities as one JSON object (what `qlaunch caps --format
 * json` prints): `binary`, `version`, `package`, `kvm-present`,
 * `default-machine`, `machines` (name, alias, default-cpu-type,
 * deprecated), `device-types`, `device-properties` (type → property →
 * QOM type, for the types probed), `object-types`, `object-properties`,
 * `cpu-models`, `accelerators`, `chardev-backends`, `netdev-types`,
 * `command-line-options` (option → its parameters), `json-options`,
 * `unprobed-device-types` (type → why its properties could not be
 * probed, see ql_qemu_caps_list_unprobed_device_types()).
 *
 * Returns: (transfer full): the JSON text
 */
char *
ql_qemu_caps_to_json (QlQemuCaps *self,
                      gboolean    pretty)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  static const char *const json_flags[] = { "-device", "-object", "-netdev", "-blockdev" };
  static const struct { const char *name; guint field; } lists[] = {
    { "device-types", QL_CAPS_FIELD_DEVICE_TYPES },
    { "object-types", QL_CAPS_FIELD_OBJECT_TYPES },
    { "cpu-models", QL_CAPS_FIELD_CPU_MODELS },
    { "accelerators", QL_CAPS_FIELD_ACCELERATORS },
    { "chardev-backends", QL_CAPS_FIELD_CHARDEVS },
    { "netdev-types", QL_CAPS_FIELD_NETDEVS },
  };

  g_return_val_if_fail (QL_IS_QEMU_CAPS (self), NULL);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "binary");
  if (self->data != NULL)
    json_builder_add_string_value (b, ql_qemu_caps_get_binary (self));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, self->version_string);
  json_builder_set_member_name (b, "probed");
  json_builder_add_boolean_value (b, self->data != NULL);
  json_builder_set_member_name (b, "json-options");
  json_builder_begin_array (b);
  for (gsize i = 0; i < G_N_ELEMENTS (json_flags); i++)
    if (ql_qemu_caps_accepts_json (self, json_flags[i]))
      json_builder_add_string_value (b, json_flags[i]);
  json_builder_end_array (b);
  if (self->data != NULL)
    {
      g_autoptr(GVariant) machines = field (self, QL_CAPS_FIELD_MACHINES);
      g_autoptr(GVariant) dprops = field (self, QL_CAPS_FIELD_DEVICE_PROPS);
      g_autoptr(GVariant) oprops = field (self, QL_CAPS_FIELD_OBJECT_PROPS);
      g_autoptr(GVariant) options = field (self, QL_CAPS_FIELD_COMMAND_LINE_OPTIONS);
      json_builder_set_member_name (b, "package");
      json_builder_add_string_value (b, ql_qemu_caps_get_package (self));
      json_builder_set_member_name (b, "kvm-present");
      json_builder_add_boolean_value (b, ql_qemu_caps_get_kvm_present (self));
      json_builder_set_member_name (b, "default-machine");
      if (ql_qemu_caps_get_default_machine (self) != NULL)
        json_builder_add_string_value (b, ql_qemu_caps_get_default_machine (self));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "machines");
      json_builder_begin_array (b);
      for (gsize i = 0; i < g_variant_n_children (machines); i++)
        {
          g_autoptr(GVariant) machine = g_variant_get_child_value (machines, i);
          g_autoptr(GVariant) name_v = g_variant_get_child_value (machine, 0);
          g_autoptr(GVariant) alias_v = g_variant_get_child_value (machine, 1);
          g_autoptr(GVariant) cpu_v = g_variant_get_child_value (machine, 2);
          g_autoptr(GVariant) deprecated_v = g_variant_get_child_value (machine, 3);
          const char *name = ql_cache_file_string (name_v);
          const char *alias = ql_cache_file_string (alias_v);
          const char *cpu = ql_cache_file_string (cpu_v);
          gboolean deprecated = g_variant_get_boolean (deprecated_v);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, name);
          json_builder_set_member_name (b, "alias");
          if (alias[0] != '\0')
            json_builder_add_string_value (b, alias);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "default-cpu-type");
          json_builder_add_string_value (b, cpu);
          json_builder_set_member_name (b, "deprecated");
          json_builder_add_boolean_value (b, deprecated);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      for (gsize i = 0; i < G_N_ELEMENTS (lists); i++)
        {
          g_auto(GStrv) items = list_field (self, lists[i].field);

          add_string_array (b, lists[i].name, items);
        }
      json_builder_set_member_name (b, "device-properties");
      add_props (b, dprops);
      json_builder_set_member_name (b, "object-properties");
      add_props (b, oprops);
      json_builder_set_member_name (b, "command-line-options");
      json_builder_begin_object (b);
      for (gsize i = 0; i < g_variant_n_children (options); i++)
        {
          g_autoptr(GVariant) option = g_variant_get_child_value (options, i);
          g_autoptr(GVariant) option_name = g_variant_get_child_value (option, 0);
          g_autoptr(GVariant) params = g_variant_get_child_value (option, 1);

          json_builder_set_member_name (b, ql_cache_file_string (option_name));
          json_builder_begin_array (b);
          for (gsize k = 0; k < g_variant_n_children (params); k++)
            {
              g_autoptr(GVariant) param = g_variant_get_child_value (params, k);

              json_builder_add_string_value (b, ql_cache_file_string (param));
            }
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
      /* The types whose properties could not be probed, with why. */
      json_builder_set_member_name (b, "unprobed-device-types");
      json_builder_begin_object (b);
      {
        g_auto(GStrv) unprobed = ql_qemu_caps_list_unprobed_device_types (self);

        for (guint i = 0; unprobed[i] != NULL; i++)
          {
            json_builder_set_member_name (b, unprobed[i]);
            json_builder_add_string_value (b, ql_qemu_caps_get_device_probe_failure (self, unprobed[i]));
          }
      }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, NULL);
}

GVariant *
ql_caps_array_lookup (GVariant   *array,
                      const char *key)
{
  gsize lo = 0, hi = g_variant_n_children (array);
  gboolean tuples = !g_variant_is_of_type (array, G_VARIANT_TYPE_STRING_ARRAY);

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      g_autoptr(GVariant) child = g_variant_get_child_value (array, mid);
      g_autoptr(GVariant) name = tuples ? g_variant_get_child_value (child, 0) : g_variant_ref (child);
      int c = strcmp (ql_cache_file_string (name), key);

      if (c == 0)
        return g_steal_pointer (&child);
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

char **
ql_caps_array_keys (GVariant *array)
{
  gsize n = g_variant_n_children (array);
  gboolean tuples = !g_variant_is_of_type (array, G_VARIANT_TYPE_STRING_ARRAY);
  char **keys = g_new0 (char *, n + 1);

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (array, i);
      g_autoptr(GVariant) name = tuples ? g_variant_get_child_value (child, 0) : g_variant_ref (child);

      keys[i] = g_strdup (ql_cache_file_string (name));
    }
  return keys;
}
