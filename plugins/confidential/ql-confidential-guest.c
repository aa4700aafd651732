/* qlaunch confidential plugin — QlConfidentialGuest: a guest whose memory
 * is encrypted with a key the host does not hold.
 *
 * What it produces:
 *
 *   -object sev-guest,id=ID,cbitpos=N,reduced-phys-bits=N[,policy=0xN,...]
 *   (or sev-snp-guest, tdx-guest) and confidential-guest-support=ID added
 *   to -machine.
 *
 * The object's properties are QEMU's (qapi/qom.json), each accepted only
 * for the object types that have it. What QEMU would get wrong or refuse
 * late is refused here first:
 * - an object type the probed QEMU lacks (QEMU 7.2 has sev-guest only);
 * - acceleration other than kvm: under TCG QEMU 7.2 aborts on an
 *   assertion (`qemu_machine_creation_done: Assertion
 *   'machine->cgs->ready' failed`) instead of refusing;
 * - what cannot work with encrypted guest memory: memory hot-plug
 *   ([memory] slots/max-mem, nvdimms), guest RAM shared with another
 *   process (hugepages and file-backed-mem-shared map it share=on,
 *   vhost-user and virtio-fs backends map it), and templates (refused by
 *   the template code: a template is saved memory every clone maps);
 * - cbitpos and reduced-phys-bits missing (QEMU: "Parameter
 *   'reduced-phys-bits' is missing"; a cbitpos other than the host's fails
 *   at KVM init);
 * - with host checks, a host without the feature: the kvm_amd (or
 *   kvm_intel) module parameter that enables it, the SEV device node, the
 *   certificate and session files.
 */
#include "ql-confidential-guest.h"

#include <string.h>

enum
{
  APPLIES_SEV = 1 << QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST,
  APPLIES_SNP = 1 << QL_CONFIDENTIAL_OBJECT_TYPE_SEV_SNP_GUEST,
  APPLIES_TDX = 1 << QL_CONFIDENTIAL_OBJECT_TYPE_TDX_GUEST,
  APPLIES_SEV_COMMON = APPLIES_SEV | APPLIES_SNP,
};

enum
{
  PROP_0,
  PROP_OBJECT_TYPE,
  /* sev-guest and sev-snp-guest */
  PROP_SEV_DEVICE,
  PROP_CBITPOS,
  PROP_REDUCED_PHYS_BITS,
  PROP_KERNEL_HASHES,
  /* sev-guest, sev-snp-guest (each its width) */
  PROP_POLICY,
  /* sev-guest */
  PROP_HANDLE,
  PROP_DH_CERT_FILE,
  PROP_SESSION_FILE,
  /* sev-snp-guest */
  PROP_GUEST_VISIBLE_WORKAROUNDS,
  PROP_ID_BLOCK,
  PROP_ID_AUTH,
  PROP_AUTHOR_KEY_ENABLED,
  PROP_HOST_DATA,
  PROP_VCEK_DISABLED,
  /* tdx-guest */
  PROP_ATTRIBUTES,
  PROP_SEPT_VE_DISABLE,
  PROP_MRCONFIGID,
  PROP_MROWNER,
  PROP_MROWNERCONFIG,
  PROP_QUOTE_GENERATION_SOCKET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Which object types have each property. */
static const guint prop_applies[N_PROPS] = {
  [PROP_SEV_DEVICE] = APPLIES_SEV_COMMON,
  [PROP_CBITPOS] = APPLIES_SEV_COMMON,
  [PROP_REDUCED_PHYS_BITS] = APPLIES_SEV_COMMON,
  [PROP_KERNEL_HASHES] = APPLIES_SEV_COMMON,
  [PROP_POLICY] = APPLIES_SEV_COMMON,
  [PROP_HANDLE] = APPLIES_SEV,
  [PROP_DH_CERT_FILE] = APPLIES_SEV,
  [PROP_SESSION_FILE] = APPLIES_SEV,
  [PROP_GUEST_VISIBLE_WORKAROUNDS] = APPLIES_SNP,
  [PROP_ID_BLOCK] = APPLIES_SNP,
  [PROP_ID_AUTH] = APPLIES_SNP,
  [PROP_AUTHOR_KEY_ENABLED] = APPLIES_SNP,
  [PROP_HOST_DATA] = APPLIES_SNP,
  [PROP_VCEK_DISABLED] = APPLIES_SNP,
  [PROP_ATTRIBUTES] = APPLIES_TDX,
  [PROP_SEPT_VE_DISABLE] = APPLIES_TDX,
  [PROP_MRCONFIGID] = APPLIES_TDX,
  [PROP_MROWNER] = APPLIES_TDX,
  [PROP_MROWNERCONFIG] = APPLIES_TDX,
  [PROP_QUOTE_GENERATION_SOCKET] = APPLIES_TDX,
};

/* The base64 properties and the size of what they decode to. */
static const struct
{
  guint prop;
  gsize bytes;
  const char *what;
} base64_props[] = {
  { PROP_GUEST_VISIBLE_WORKAROUNDS, 16, "the 16-byte guest-visible workarounds" },
  { PROP_ID_BLOCK, 96, "the 96-byte SNP ID block" },
  { PROP_ID_AUTH, 4096, "the 4096-byte SNP ID authentication information structure" },
  { PROP_HOST_DATA, 32, "32 bytes of host data" },
  { PROP_MRCONFIGID, 48, "a 48-byte SHA-384 digest" },
  { PROP_MROWNER, 48, "a 48-byte SHA-384 digest" },
  { PROP_MROWNERCONFIG, 48, "a 48-byte SHA-384 digest" },
};

/* The SEV-SNP guest policy's bit 17 is reserved and must be one (AMD's
 * SEV-SNP firmware ABI); QEMU's default policy is 0x30000. */
#define SNP_POLICY_RESERVED_ONE (G_GUINT64_CONSTANT (1) << 17)

struct _QlConfidentialGuest
{
  QlDevice                  parent_instance;

  QlConfidentialObjectType  object_type;
  guint64                   set;   /* 1 << PROP_x for each property set */
  guint                     cbitpos;
  guint                     reduced_phys_bits;
  guint                     handle;
  gboolean                  kernel_hashes;
  gboolean                  author_key_enabled;
  gboolean                  vcek_disabled;
  gboolean                  sept_ve_disable;
  char                     *strings[N_PROPS];   /* the string-valued ones */
};

G_DEFINE_FINAL_TYPE (QlConfidentialGuest, ql_confidential_guest, QL_TYPE_DEVICE)

#define IS_SET(self, prop) (((self)->set & (G_GUINT64_CONSTANT (1) << (prop))) != 0)

static const char *
object_type_name (QlConfidentialObjectType type)
{
  switch (type)
    {
    case QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST:
      return "sev-guest";
    case QL_CONFIDENTIAL_OBJECT_TYPE_SEV_SNP_GUEST:
      return "sev-snp-guest";
    case QL_CONFIDENTIAL_OBJECT_TYPE_TDX_GUEST:
      return "tdx-guest";
    default:
      g_assert_not_reached ();
    }
}

static const char *const all_object_types[] = { "sev-guest", "sev-snp-guest", "tdx-guest", NULL };

/* The first QEMU version with each object type, for a QEMU known by its
 * version only (--qemu-version). */
static void
object_type_since (QlConfidentialObjectType  type,
                   guint                    *major,
                   guint                    *minor)
{
  static const guint since[][2] = { { 2, 12 }, { 9, 1 }, { 10, 1 } };

  *major = since[type][0];
  *minor = since[type][1];
}

/* Which object types have a property, for a message: "sev-guest",
 * "sev-guest and sev-snp-guest". */
static char *
applies_text (guint applies)
{
  g_autoptr(GString) text = g_string_new (NULL);
  guint n = 0, total = 0;

  for (guint i = 0; all_object_types[i] != NULL; i++)
    if (applies & (1u << i))
      total++;
  for (guint i = 0; all_object_types[i] != NULL; i++)
    if (applies & (1u << i))
      {
        if (n > 0)
          g_string_append (text, n + 1 == total ? " and " : ", ");
        g_string_append (text, all_object_types[i]);
        n++;
      }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Reads a policy or attributes integer: decimal or 0x hex, at most
 * @maximum. */
static gboolean
parse_integer (const char *text,
               guint64     maximum,
               guint64    *out)
{
  if (g_ascii_strncasecmp (text, "0x", 2) == 0)
    return text[2] != '\0' && g_ascii_string_to_unsigned (text + 2, 16, 0, maximum, out, NULL);
  return g_ascii_string_to_unsigned (text, 10, 0, maximum, out, NULL);
}

/* ---- the QEMU binary: does it have the object type? ---------------------- */

static gboolean
check_qemu_has_object_type (QlConfidentialGuest  *self,
                            QlVmConfig           *vm,
                            GError              **error)
{
  QlDevice *device = QL_DEVICE (self);
  QlQemuCaps *caps = ql_vm_config_get_qemu_caps (vm);
  const char *wanted = object_type_name (self->object_type);
  g_autoptr(GStrvBuilder) offered = g_strv_builder_new ();
  g_auto(GStrv) offered_names = NULL;
  g_autofree char *offered_text = NULL;
  g_autofree char *qemu = NULL;
  gboolean has = FALSE;

  if (caps != NULL && ql_qemu_caps_is_probed (caps))
    {
      g_auto(GStrv) objects = ql_qemu_caps_list_object_types (caps);

      for (guint i = 0; all_object_types[i] != NULL; i++)
        if (g_strv_contains ((const char * const *) objects, all_object_types[i]))
          {
            g_strv_builder_add (offered, all_object_types[i]);
            has = has || g_str_equal (all_object_types[i], wanted);
          }
      qemu = g_strdup_printf ("%s %s", ql_qemu_caps_get_binary (caps),
                              ql_qemu_caps_get_version_string (caps));
    }
  else
    {
      guint major = 0, minor = 0;

      ql_vm_config_get_qemu_version (vm, &major, &minor);
      if (major == 0)
        return TRUE;   /* QEMU not known: nothing to check against */
      for (guint i = 0; all_object_types[i] != NULL; i++)
        {
          guint since_major, since_minor;

          object_type_since (i, &since_major, &since_minor);
          if (major > since_major || (major == since_major && minor >= since_minor))
            {
              g_strv_builder_add (offered, all_object_types[i]);
              has = has || g_str_equal (all_object_types[i], wanted);
            }
        }
      qemu = g_strdup_printf ("QEMU %u.%u", major, minor);
    }
  if (has)
    return TRUE;

  offered_names = g_strv_builder_end (offered);
  offered_text = offered_names[0] != NULL ? g_strjoinv (", ", offered_names) : g_strdup ("none");
  {
    guint since_major, since_minor;

    object_type_since (self->object_type, &since_major, &since_minor);
    ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED, "object-type",
                         "%s has no object type '%s' (QEMU has it since %u.%u); the confidential-guest object types it offers: %s",
                         qemu, wanted, since_major, since_minor, offered_text);
  }
  return FALSE;
}

/* ---- what encrypted guest memory rules out ------------------------------ */

static gboolean
check_vm (QlConfidentialGuest  *self,
          QlVmConfig           *vm,
          GError              **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  const char *type = object_type_name (self->object_type);
  g_autofree char *accel = NULL;
  g_autofree char *cgs = ql_vm_config_lookup_machine_option (vm, "confidential-guest-support");
  g_autofree char *memory_encryption = ql_vm_config_lookup_machine_option (vm, "memory-encryption");
  guint slots = 0;
  guint64 max_mem = 0;
  gboolean hugepages = FALSE, file_backed_shared = FALSE;

  g_object_get (vm,
                "machine-acceleration", &accel,
                "memory-slots", &slots,
                "memory-max-mem", &max_mem,
                "knobs-hugepages", &hugepages,
                "knobs-file-backed-mem-shared", &file_backed_shared,
                NULL);

  /* One per VM: QEMU's machine has one confidential-guest-support. */
  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        break;
      if (QL_IS_CONFIDENTIAL_GUEST (other))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "object-type",
                               "device '%s' is a confidential guest already: a VM has at most one (the machine's confidential-guest-support)",
                               ql_device_get_id (other));
          return FALSE;
        }
    }

  if (cgs != NULL || memory_encryption != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "object-type",
                           "[machine] options sets %s='%s', but qlaunch adds confidential-guest-support for this device: remove it from options",
                           cgs != NULL ? "confidential-guest-support" : "memory-encryption",
                           cgs != NULL ? cgs : memory_encryption);
      return FALSE;
    }

  if (g_strcmp0 (accel, "kvm") != 0)
    {
      /* QEMU 7.2 under TCG aborts: "Assertion 'machine->cgs->ready'
       * failed"; "kvm:tcg" would fall back to it. */
      if (accel == NULL)
        ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "object-type",
                             "%s needs KVM (the CPU encrypts guest memory), and [machine] acceleration is not set, so QEMU uses TCG: set acceleration = kvm",
                             type);
      else
        ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "object-type",
                             "%s needs KVM (the CPU encrypts guest memory), but [machine] acceleration is '%s': set acceleration = kvm (alone: no fallback to TCG)",
                             type, accel);
      return FALSE;
    }

  if (slots > 0 || max_mem > 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "object-type",
                           "memory hot-plug cannot work with encrypted guest memory (memory added later is not encrypted and measured at launch), and [memory] sets %s: remove slots and max-mem",
                           slots > 0 ? "slots" : "max-mem");
      return FALSE;
    }

  if (hugepages || file_backed_shared)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "object-type",
                           "guest RAM shared with another process cannot be encrypted, and [knobs] %s maps it shared (share=on): turn it off",
                           hugepages ? "hugepages" : "file-backed-mem-shared");
      return FALSE;
    }

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);
      const char *other_type = ql_device_get_type_name (other);

      if (g_strcmp0 (other_type, "memory-object") == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "object-type",
                               "memory hot-plug cannot work with encrypted guest memory, and device '%s' is an nvdimm (a memory device in a hot-plug slot): remove it",
                               ql_device_get_id (other));
          return FALSE;
        }
      if (g_strcmp0 (other_type, "vhost-user") == 0 || g_strcmp0 (other_type, "virtio-fs") == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "object-type",
                               "device '%s' is a %s device, whose backend process maps guest RAM shared: encrypted guest memory cannot be shared with another process",
                               ql_device_get_id (other), other_type);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- the object's own properties ----------------------------------------- */

static gboolean
check_properties (QlConfidentialGuest  *self,
                  GError              **error)
{
  QlDevice *device = QL_DEVICE (self);
  const char *type = object_type_name (self->object_type);
  guint applies = 1u << self->object_type;

  for (guint prop = PROP_OBJECT_TYPE + 1; prop < N_PROPS; prop++)
    if (IS_SET (self, prop) && (prop_applies[prop] & applies) == 0)
      {
        g_autofree char *owners = applies_text (prop_applies[prop]);

        ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, properties[prop]->name,
                             "QEMU's %s has no property '%s', a property of %s: remove it or change object-type",
                             type, properties[prop]->name, owners);
        return FALSE;
      }

  if (applies & APPLIES_SEV_COMMON)
    {
      /* QEMU: "sev_kvm_init: cbitpos check failed, host '51' requested
       * '0'". */
      if (self->cbitpos == 0 && !IS_SET (self, PROP_CBITPOS))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "cbitpos",
                               "not set: set cbitpos to the host's C-bit position (CPUID 0x8000001F EBX bits 5:0, 47 or 51 on AMD EPYC); QEMU refuses any other");
          return FALSE;
        }
      if (self->cbitpos == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "cbitpos",
                               "0 is no C-bit position: set cbitpos to the host's (CPUID 0x8000001F EBX bits 5:0, 47 or 51 on AMD EPYC); QEMU refuses any other");
          return FALSE;
        }
      /* QEMU: "Parameter 'reduced-phys-bits' is missing", or for 0
       * "reduced_phys_bits check failed, it should be >=1". */
      if (self->reduced_phys_bits == 0 && !IS_SET (self, PROP_REDUCED_PHYS_BITS))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "reduced-phys-bits",
                               "not set: set reduced-phys-bits to the physical address bits the host loses with %s (1 on AMD EPYC); QEMU requires it",
                               type);
          return FALSE;
        }
      if (self->reduced_phys_bits == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "reduced-phys-bits",
                               "0 is too few: %s takes at least 1 physical address bit (1 on AMD EPYC)",
                               type);
          return FALSE;
        }
    }

  if (IS_SET (self, PROP_POLICY))
    {
      guint64 policy = 0;
      guint64 maximum = self->object_type == QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST ? G_MAXUINT32 : G_MAXUINT64;

      if (!parse_integer (self->strings[PROP_POLICY], maximum, &policy))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "policy",
                               "'%s' is not a %s policy: expected a %s-bit unsigned integer, decimal or hexadecimal with 0x (such as 0x1)",
                               self->strings[PROP_POLICY], type,
                               maximum == G_MAXUINT32 ? "32" : "64");
          return FALSE;
        }
      if (self->object_type == QL_CONFIDENTIAL_OBJECT_TYPE_SEV_SNP_GUEST
          && (policy & SNP_POLICY_RESERVED_ONE) == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "policy",
                               "'%s' leaves bit 17 clear, which the SEV-SNP firmware requires set (QEMU's default policy is 0x30000)",
                               self->strings[PROP_POLICY]);
          return FALSE;
        }
    }

  if (IS_SET (self, PROP_ATTRIBUTES))
    {
      guint64 attributes = 0;

      if (!parse_integer (self->strings[PROP_ATTRIBUTES], G_MAXUINT64, &attributes))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "attributes",
                               "'%s' is not TD attributes: expected a 64-bit unsigned integer, decimal or hexadecimal with 0x (such as 0x10000000)",
                               self->strings[PROP_ATTRIBUTES]);
          return FALSE;
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (base64_props); i++)
    {
      const char *text = self->strings[base64_props[i].prop];
      const char *name = properties[base64_props[i].prop]->name;
      gsize length = 0, n = text != NULL ? strlen (text) : 0;
      g_autofree guchar *decoded = NULL;
      gboolean ok = n > 0 && n % 4 == 0;

      if (text == NULL)
        continue;
      for (gsize j = 0; ok && j < n; j++)
        ok = g_ascii_isalnum (text[j]) || text[j] == '+' || text[j] == '/'
             || (text[j] == '=' && j >= n - 2 && (j == n - 1 || text[n - 1] == '='));
      if (ok)
        {
          decoded = g_base64_decode (text, &length);
          ok = length == base64_props[i].bytes;
        }
      if (!ok)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, name,
                               "'%s' is not %s in base64 (%" G_GSIZE_FORMAT " bytes encode to %" G_GSIZE_FORMAT " characters)",
                               text, base64_props[i].what, base64_props[i].bytes,
                               (base64_props[i].bytes + 2) / 3 * 4);
          return FALSE;
        }
    }

  if (IS_SET (self, PROP_QUOTE_GENERATION_SOCKET) && self->strings[PROP_QUOTE_GENERATION_SOCKET][0] != '/')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "quote-generation-socket",
                           "'%s' is not an absolute path to the Quote Generation Service's Unix socket",
                           self->strings[PROP_QUOTE_GENERATION_SOCKET]);
      return FALSE;
    }

  return TRUE;
}

/* ---- the host ------------------------------------------------------------- */

/* A kvm module parameter that enables the feature: "Y" or "1". */
static gboolean
check_host_feature (QlConfidentialGuest  *self,
                    QlHostProbe          *probe,
                    GError              **error)
{
  QlDevice *device = QL_DEVICE (self);
  const char *type = object_type_name (self->object_type);
  const char *module, *parameter, *feature;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *value = NULL;

  switch (self->object_type)
    {
    case QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST:
      module = "kvm_amd", parameter = "sev", feature = "AMD SEV";
      break;
    case QL_CONFIDENTIAL_OBJECT_TYPE_SEV_SNP_GUEST:
      module = "kvm_amd", parameter = "sev_snp", feature = "AMD SEV-SNP";
      break;
    case QL_CONFIDENTIAL_OBJECT_TYPE_TDX_GUEST:
    default:
      module = "kvm_intel", parameter = "tdx", feature = "Intel TDX";
      break;
    }

  value = ql_host_probe_get_module_parameter (probe, module, parameter, &local_error);
  if (value == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        return TRUE;   /* a probe that cannot tell: QEMU will */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "object-type",
                           "this host has no %s for %s: /sys/module/%s/parameters/%s cannot be read (%s)",
                           feature, type, module, parameter, local_error->message);
      return FALSE;
    }
  if (!g_str_equal (value, "Y") && !g_str_equal (value, "1"))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "object-type",
                           "this host has %s turned off for %s: /sys/module/%s/parameters/%s is '%s' (load %s with %s=1, on a CPU and firmware that support it)",
                           feature, type, module, parameter, value, module, parameter);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_host (QlConfidentialGuest  *self,
            QlHostProbe          *probe,
            GError              **error)
{
  QlDevice *device = QL_DEVICE (self);
  static const guint files[] = { PROP_DH_CERT_FILE, PROP_SESSION_FILE };

  if (!check_host_feature (self, probe, error))
    return FALSE;

  if (self->object_type != QL_CONFIDENTIAL_OBJECT_TYPE_TDX_GUEST)
    {
      const char *node = self->strings[PROP_SEV_DEVICE] != NULL ? self->strings[PROP_SEV_DEVICE] : "/dev/sev";
      g_autoptr(GError) local_error = NULL;

      /* QEMU: "sev_kvm_init: Failed to open /dev/sev 'No such file or
       * directory'". */
      if (!ql_host_probe_device_usable (probe, node, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "sev-device",
                               "cannot open the SEV device '%s' read-write, as QEMU does: %s",
                               node, local_error->message);
          return FALSE;
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      const char *path = self->strings[files[i]];
      g_autoptr(GError) local_error = NULL;

      if (path != NULL && !ql_host_probe_file_readable (probe, path, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, properties[files[i]]->name,
                               "cannot read '%s': %s", path, local_error->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
ql_confidential_guest_valid (QlDevice    *device,
                             QlVmConfig  *vm,
                             GError     **error)
{
  QlConfidentialGuest *self = QL_CONFIDENTIAL_GUEST (device);
  QlHostProbe *probe = ql_vm_config_get_host_probe (vm);

  if (!check_properties (self, error)
      || !check_qemu_has_object_type (self, vm, error)
      || !check_vm (self, vm, error))
    return FALSE;
  if (probe != NULL && !check_host (self, probe, error))
    return FALSE;
  return TRUE;
}

static void
set_string_if (QlOption            *object,
               QlConfidentialGuest *self,
               guint                prop)
{
  if (self->strings[prop] != NULL)
    ql_option_set (object, properties[prop]->name, self->strings[prop]);
}

/* Policy and attributes: a number, also in QEMU's JSON form of -object. */
static void
set_integer_if (QlOption            *object,
                QlConfidentialGuest *self,
                guint                prop)
{
  guint64 value = 0;

  if (self->strings[prop] != NULL && parse_integer (self->strings[prop], G_MAXUINT64, &value))
    ql_option_set_uint (object, properties[prop]->name, value);
}

static void
set_bool_if (QlOption            *object,
             QlConfidentialGuest *self,
             guint                prop,
             gboolean             value)
{
  if (IS_SET (self, prop))
    ql_option_set_bool (object, properties[prop]->name, value);
}

static gboolean
ql_confidential_guest_qemu_params (QlDevice    *device,
                                   QlVmConfig  *vm,
                                   QlCmdline   *cmdline,
                                   GError     **error)
{
  QlConfidentialGuest *self = QL_CONFIDENTIAL_GUEST (device);
  const char *id = ql_device_get_id (device);
  QlOption *object = ql_cmdline_add_option (cmdline, "-object", object_type_name (self->object_type),
                                            "id", id, NULL);

  /* In QEMU's own order (qapi/qom.json). */
  switch (self->object_type)
    {
    case QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST:
      set_string_if (object, self, PROP_SEV_DEVICE);
      set_string_if (object, self, PROP_DH_CERT_FILE);
      set_string_if (object, self, PROP_SESSION_FILE);
      set_integer_if (object, self, PROP_POLICY);
      if (IS_SET (self, PROP_HANDLE))
        ql_option_set_uint (object, "handle", self->handle);
      ql_option_set_uint (object, "cbitpos", self->cbitpos);
      ql_option_set_uint (object, "reduced-phys-bits", self->reduced_phys_bits);
      set_bool_if (object, self, PROP_KERNEL_HASHES, self->kernel_hashes);
      break;
    case QL_CONFIDENTIAL_OBJECT_TYPE_SEV_SNP_GUEST:
      set_string_if (object, self, PROP_SEV_DEVICE);
      ql_option_set_uint (object, "cbitpos", self->cbitpos);
      ql_option_set_uint (object, "reduced-phys-bits", self->reduced_phys_bits);
      set_bool_if (object, self, PROP_KERNEL_HASHES, self->kernel_hashes);
      set_integer_if (object, self, PROP_POLICY);
      set_string_if (object, self, PROP_GUEST_VISIBLE_WORKAROUNDS);
      set_string_if (object, self, PROP_ID_BLOCK);
      set_string_if (object, self, PROP_ID_AUTH);
      set_bool_if (object, self, PROP_AUTHOR_KEY_ENABLED, self->author_key_enabled);
      set_string_if (object, self, PROP_HOST_DATA);
      set_bool_if (object, self, PROP_VCEK_DISABLED, self->vcek_disabled);
      break;
    case QL_CONFIDENTIAL_OBJECT_TYPE_TDX_GUEST:
    default:
      set_integer_if (object, self, PROP_ATTRIBUTES);
      set_bool_if (object, self, PROP_SEPT_VE_DISABLE, self->sept_ve_disable);
      set_string_if (object, self, PROP_MRCONFIGID);
      set_string_if (object, self, PROP_MROWNER);
      set_string_if (object, self, PROP_MROWNERCONFIG);
      if (self->strings[PROP_QUOTE_GENERATION_SOCKET] != NULL)
        {
          /* A SocketAddress, in QEMU's dotted keys. */
          ql_option_set (object, "quote-generation-socket.type", "unix");
          ql_option_set (object, "quote-generation-socket.path", self->strings[PROP_QUOTE_GENERATION_SOCKET]);
        }
      break;
    }

  ql_cmdline_set_machine_option (cmdline, "confidential-guest-support", id);
  return TRUE;
}

static void
ql_confidential_guest_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  QlConfidentialGuest *self = QL_CONFIDENTIAL_GUEST (object);

  if (prop_id == 0 || prop_id >= N_PROPS)
    {
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  self->set |= G_GUINT64_CONSTANT (1) << prop_id;
  switch (prop_id)
    {
    case PROP_OBJECT_TYPE:
      self->object_type = g_value_get_enum (value);
      break;
    case PROP_CBITPOS:
      self->cbitpos = g_value_get_uint (value);
      break;
    case PROP_REDUCED_PHYS_BITS:
      self->reduced_phys_bits = g_value_get_uint (value);
      break;
    case PROP_HANDLE:
      self->handle = g_value_get_uint (value);
      break;
    case PROP_KERNEL_HASHES:
      self->kernel_hashes = g_value_get_boolean (value);
      break;
    case PROP_AUTHOR_KEY_ENABLED:
      self->author_key_enabled = g_value_get_boolean (value);
      break;
    case PROP_VCEK_DISABLED:
      self->vcek_disabled = g_value_get_boolean (value);
      break;
    case PROP_SEPT_VE_DISABLE:
      self->sept_ve_disable = g_value_get_boolean (value);
      break;
    default:
      /* Every other property is a string; NULL unsets it. */
      g_free (self->strings[prop_id]);
      self->strings[prop_id] = g_value_dup_string (value);
      if (self->strings[prop_id] == NULL)
        self->set &= ~(G_GUINT64_CONSTANT (1) << prop_id);
      break;
    }
}

static void
ql_confidential_guest_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  QlConfidentialGuest *self = QL_CONFIDENTIAL_GUEST (object);

  switch (prop_id)
    {
    case PROP_OBJECT_TYPE:
      g_value_set_enum (value, self->object_type);
      break;
    case PROP_CBITPOS:
      g_value_set_uint (value, self->cbitpos);
      break;
    case PROP_REDUCED_PHYS_BITS:
      g_value_set_uint (value, self->reduced_phys_bits);
      break;
    case PROP_HANDLE:
      g_value_set_uint (value, self->handle);
      break;
    case PROP_KERNEL_HASHES:
      g_value_set_boolean (value, self->kernel_hashes);
      break;
    case PROP_AUTHOR_KEY_ENABLED:
      g_value_set_boolean (value, self->author_key_enabled);
      break;
    case PROP_VCEK_DISABLED:
      g_value_set_boolean (value, self->vcek_disabled);
      break;
    case PROP_SEPT_VE_DISABLE:
      g_value_set_boolean (value, self->sept_ve_disable);
      break;
    default:
      if (prop_id == 0 || prop_id >= N_PROPS)
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      else
        g_value_set_string (value, self->strings[prop_id]);
      break;
    }
}

static void
ql_confidential_guest_finalize (GObject *object)
{
  QlConfidentialGuest *self = QL_CONFIDENTIAL_GUEST (object);

  for (guint i = 0; i < N_PROPS; i++)
    g_free (self->strings[i]);
  G_OBJECT_CLASS (ql_confidential_guest_parent_class)->finalize (object);
}

static void
ql_confidential_guest_class_init (QlConfidentialGuestClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_confidential_guest_set_property;
  object_class->get_property = ql_confidential_guest_get_property;
  object_class->finalize = ql_confidential_guest_finalize;

  device_class->valid = ql_confidential_guest_valid;
  device_class->qemu_params = ql_confidential_guest_qemu_params;

  properties[PROP_OBJECT_TYPE] =
    g_param_spec_enum ("object-type", "Object type",
                       "QEMU object that encrypts the guest: sev-guest (AMD SEV), sev-snp-guest (AMD SEV-SNP, QEMU 9.1+) or tdx-guest (Intel TDX, QEMU 10.1+); needs acceleration = kvm and a host with the feature",
                       QL_TYPE_CONFIDENTIAL_OBJECT_TYPE, QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST, flags);
  properties[PROP_SEV_DEVICE] =
    ql_param_spec_path ("sev-device", "SEV device",
                        "sev-guest, sev-snp-guest: the SEV device node QEMU opens (QEMU's default: /dev/sev)",
                        flags);
  properties[PROP_CBITPOS] =
    g_param_spec_uint ("cbitpos", "C-bit position",
                       "sev-guest, sev-snp-guest (required, 1 to 63): the C-bit's position in a page table entry, the host's (CPUID 0x8000001F EBX bits 5:0; 47 or 51 on AMD EPYC)",
                       0, 63, 0, flags);
  properties[PROP_REDUCED_PHYS_BITS] =
    g_param_spec_uint ("reduced-phys-bits", "Reduced physical bits",
                       "sev-guest, sev-snp-guest (required, 1 to 63): physical address bits the guest loses with encryption (1 on AMD EPYC)",
                       0, 63, 0, flags);
  properties[PROP_KERNEL_HASHES] =
    g_param_spec_boolean ("kernel-hashes", "Kernel hashes",
                          "sev-guest, sev-snp-guest: add the hashes of [kernel] path, initrd and params to the launch measurement (needs OVMF built for SEV)",
                          FALSE, flags);
  properties[PROP_POLICY] =
    g_param_spec_string ("policy", "Policy",
                         "sev-guest (32-bit; QEMU's default 0x1) or sev-snp-guest (64-bit, bit 17 set; QEMU's default 0x30000): the guest policy, decimal or hexadecimal with 0x",
                         NULL, flags);
  properties[PROP_HANDLE] =
    g_param_spec_uint ("handle", "Handle",
                       "sev-guest: the SEV firmware handle of a guest to share a key with (QEMU's default 0: a new key)",
                       0, G_MAXUINT32, 0, flags);
  properties[PROP_DH_CERT_FILE] =
    ql_param_spec_path ("dh-cert-file", "DH certificate file",
                        "sev-guest: the guest owner's Diffie-Hellman certificate (base64), which must be readable; a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_SESSION_FILE] =
    ql_param_spec_path ("session-file", "Session file",
                        "sev-guest: the guest owner's session parameters (base64), which must be readable; a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_GUEST_VISIBLE_WORKAROUNDS] =
    g_param_spec_string ("guest-visible-workarounds", "Guest-visible workarounds",
                         "sev-snp-guest: 16 bytes in base64, the hypervisor-defined workarounds field of the SNP launch",
                         NULL, flags);
  properties[PROP_ID_BLOCK] =
    g_param_spec_string ("id-block", "ID block",
                         "sev-snp-guest: the 96-byte SNP ID block in base64",
                         NULL, flags);
  properties[PROP_ID_AUTH] =
    g_param_spec_string ("id-auth", "ID authentication",
                         "sev-snp-guest: the 4096-byte SNP ID authentication information structure in base64",
                         NULL, flags);
  properties[PROP_AUTHOR_KEY_ENABLED] =
    g_param_spec_boolean ("author-key-enabled", "Author key enabled",
                          "sev-snp-guest: id-auth holds an author key",
                          FALSE, flags);
  properties[PROP_HOST_DATA] =
    g_param_spec_string ("host-data", "Host data",
                         "sev-snp-guest: 32 bytes in base64 that the guest's attestation reports carry",
                         NULL, flags);
  properties[PROP_VCEK_DISABLED] =
    g_param_spec_boolean ("vcek-disabled", "VCEK disabled",
                          "sev-snp-guest: guests may not sign attestation reports with the VCEK",
                          FALSE, flags);
  properties[PROP_ATTRIBUTES] =
    g_param_spec_string ("attributes", "TD attributes",
                         "tdx-guest: the TD attributes, a 64-bit integer, decimal or hexadecimal with 0x",
                         NULL, flags);
  properties[PROP_SEPT_VE_DISABLE] =
    g_param_spec_boolean ("sept-ve-disable", "SEPT #VE disable",
                          "tdx-guest: no #VE for EPT violations on pending pages (Linux guests need it on)",
                          FALSE, flags);
  properties[PROP_MRCONFIGID] =
    g_param_spec_string ("mrconfigid", "MRCONFIGID",
                         "tdx-guest: the non-owner-defined configuration id, a SHA-384 digest in base64",
                         NULL, flags);
  properties[PROP_MROWNER] =
    g_param_spec_string ("mrowner", "MROWNER",
                         "tdx-guest: the TD owner's id, a SHA-384 digest in base64",
                         NULL, flags);
  properties[PROP_MROWNERCONFIG] =
    g_param_spec_string ("mrownerconfig", "MROWNERCONFIG",
                         "tdx-guest: the owner-defined configuration id, a SHA-384 digest in base64",
                         NULL, flags);
  properties[PROP_QUOTE_GENERATION_SOCKET] =
    ql_param_spec_path ("quote-generation-socket", "Quote generation socket",
                        "tdx-guest: the Unix socket of the host's Quote Generation Service (an absolute path)",
                        flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_confidential_guest_init (QlConfidentialGuest *self)
{
  self->object_type = QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST;
}
