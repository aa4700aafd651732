/* qlaunch — the [firmware] rules: what QEMU's pc and q35 flash can map,
 * conflicting keys, and the images themselves (through the host probe). */
#include "ql-firmware-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define STR(p) ql_vm_config_get_str (self, QL_VM_PROP_##p)
#define BOOL(p) ql_vm_config_get_bool (self, QL_VM_PROP_##p)

/* ---- checks ---------------------------------------------------------------- */

/* The rules' errors: a config error each (ql_error_list_add_config()). */
#define add ql_error_list_add_config

/* " (from DESCRIPTOR)" when the path came from a descriptor. */
static char *
origin_of (const QlFirmware *firmware,
           const char       *explicit_value)
{
  if (explicit_value != NULL || firmware->descriptor == NULL)
    return g_strdup ("");
  return g_strdup_printf (" (from %s)", firmware->descriptor);
}

/* Whether @path is a UEFI firmware image QEMU's flash can map: a regular
 * file, a non-zero multiple of the sector size, starting with a firmware
 * volume. *@size gets its size. */
static gboolean
check_image (QlVmConfig  *self,
             QlErrorList *errors,
             const char  *key,
             const char  *path,
             const char  *origin,
             guint64     *size)
{
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);
  g_autoptr(GError) error = NULL;
  GFileType type = G_FILE_TYPE_UNKNOWN;
  char head[QL_FIRMWARE_FV_SIGNATURE_OFFSET + 4];
  int fd;
  gssize got;

  if (!ql_host_probe_query_file (probe, path, &type, size, &error))
    {
      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] %s: cannot read '%s'%s: %s", key, path, origin, error->message);
      return FALSE;
    }
  if (type != G_FILE_TYPE_REGULAR)
    {
      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] %s: '%s'%s is not a regular file", key, path, origin);
      return FALSE;
    }
  if (*size == 0 || *size % QL_FIRMWARE_FLASH_SECTOR_SIZE != 0)
    {
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] %s: '%s'%s is not a UEFI firmware image: its size, %" G_GUINT64_FORMAT
           " bytes, is not a non-zero multiple of 4 KiB (QEMU's flash sector); OVMF's code and variables "
           "together are 2 or 4 MiB",
           key, path, origin, *size);
      return FALSE;
    }
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] %s: cannot read '%s'%s: %s", key, path, origin,
           g_strerror (saved));
      return FALSE;
    }
  got = read (fd, head, sizeof head);
  close (fd);
  if (got != (gssize) sizeof head || memcmp (head + QL_FIRMWARE_FV_SIGNATURE_OFFSET, QL_FIRMWARE_FV_SIGNATURE, 4) != 0)
    {
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] %s: '%s'%s is not a UEFI firmware image: it does not start with a firmware "
           "volume (no '_FVH' signature at byte 40)",
           key, path, origin);
      return FALSE;
    }
  return TRUE;
}

static gboolean
same_file (const char *a,
           const char *b)
{
  GStatBuf sa, sb;

  if (g_str_equal (a, b))
    return TRUE;
  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void
ql_vm_config_check_firmware (QlVmConfig  *self,
                             QlErrorList *errors,
                             GHashTable  *ids)
{
  static const struct { QlVmProp prop; const char *key; } uefi_keys[] = {
    { QL_VM_PROP_FIRMWARE_CODE, "code" },
    { QL_VM_PROP_FIRMWARE_VARS_TEMPLATE, "vars-template" },
    { QL_VM_PROP_FIRMWARE_VARS, "vars" },
    { QL_VM_PROP_FIRMWARE_SECURE_BOOT, "secure-boot" },
  };
  static const char *const nodes[] = {
    QL_PFLASH_CODE_NODE "-file", QL_PFLASH_CODE_NODE, QL_PFLASH_VARS_NODE "-file", QL_PFLASH_VARS_NODE,
  };
  static const char *const flash_options[] = { "pflash0", "pflash1" };
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);
  g_autoptr(QlFirmware) firmware = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *architecture = NULL;
  g_autofree char *smm = NULL;
  const char *type;
  guint errors_before = errors->len;
  guint64 code_size = 0, template_size = 0, vars_size = 0;

  if (ql_vm_config_get_enum (self, QL_VM_PROP_FIRMWARE_TYPE) != QL_FIRMWARE_UEFI)
    {
      gboolean explicit_bios = ql_vm_config_is_set (self, QL_VM_PROP_FIRMWARE_TYPE);

      for (guint i = 0; i < G_N_ELEMENTS (uefi_keys); i++)
        if (ql_vm_config_is_set (self, uefi_keys[i].prop))
          add (errors, QL_CONFIG_ERROR_CONFLICT,
               "[firmware] %s: a UEFI key, but %s: set type = uefi, or remove %s",
               uefi_keys[i].key, explicit_bios ? "type is bios" : "type is not set (bios)", uefi_keys[i].key);
      return;
    }

  if (STR (BIOS) != NULL)
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[vm] bios: set, but [firmware] type is uefi; QEMU's -bios would replace the UEFI flash devices: remove bios");
  for (guint i = 0; i < G_N_ELEMENTS (flash_options); i++)
    {
      g_autofree char *value = ql_vm_config_lookup_machine_option (self, flash_options[i]);

      if (value != NULL)
        add (errors, QL_CONFIG_ERROR_CONFLICT,
             "[machine] options: %s is set by [firmware] type = uefi; remove it from options", flash_options[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
    if (!g_hash_table_add (ids, g_strdup (nodes[i])))
      add (errors, QL_CONFIG_ERROR_DUPLICATE,
           "[firmware] type: the flash devices' block node '%s' has the id of another device or iothread; rename it",
           nodes[i]);

  architecture = ql_firmware_target_architecture (self);
  type = ql_firmware_machine_type (self);
  if (ql_firmware_is_x86 (architecture) && !ql_firmware_is_pc_machine (type))
    add (errors, QL_CONFIG_ERROR_UNSUPPORTED,
         "[firmware] type: uefi needs the flash devices of a pc or q35 machine, and machine type '%s' has none: "
         "set [machine] type = q35", type);
  else if (BOOL (FIRMWARE_SECURE_BOOT) && ql_firmware_is_x86 (architecture) && !ql_firmware_is_q35_machine (type))
    add (errors, QL_CONFIG_ERROR_UNSUPPORTED,
         "[firmware] secure-boot: needs a q35 machine (Secure Boot needs SMM, which OVMF supports on q35 only), "
         "and machine type is '%s': set [machine] type = q35", type);
  smm = ql_vm_config_lookup_machine_option (self, "smm");
  if (BOOL (FIRMWARE_SECURE_BOOT) && smm != NULL && !g_str_equal (smm, "on"))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[machine] options: smm=%s, but [firmware] secure-boot needs smm=on (set by itself): remove smm", smm);
  for (guint i = 0; i < G_N_ELEMENTS (uefi_keys); i++)
    if (uefi_keys[i].prop != QL_VM_PROP_FIRMWARE_SECURE_BOOT && ql_vm_config_get_str (self, uefi_keys[i].prop) != NULL
        && *ql_vm_config_get_str (self, uefi_keys[i].prop) == '\0')
      return;   /* reported as an empty value */
  if (errors->len > errors_before)
    return;

  firmware = ql_vm_config_resolve_firmware (self, &error);
  if (firmware == NULL)
    {
      ql_error_list_add (errors, g_steal_pointer (&error));
      return;
    }
  if (smm == NULL && firmware->smm)
    ;   /* turned on by the argv builder */
  else if (firmware->smm && !g_str_equal (smm, "on"))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[machine] options: smm=%s, but the firmware '%s' requires SMM: remove smm", smm, firmware->code);

  if (same_file (firmware->vars, firmware->vars_template))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[firmware] vars: '%s' is the template itself; each VM needs its own copy of it: choose another file",
         firmware->vars);
  else if (same_file (firmware->vars, firmware->code))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[firmware] vars: '%s' is the code image; choose another file", firmware->vars);

  if (probe == NULL || errors->len > errors_before)
    return;

  {
    g_autofree char *code_origin = origin_of (firmware, STR (FIRMWARE_CODE));
    g_autofree char *template_origin = origin_of (firmware, STR (FIRMWARE_VARS_TEMPLATE));
    gboolean code_ok = check_image (self, errors, "code", firmware->code, code_origin, &code_size);
    gboolean template_ok = check_image (self, errors, "vars-template", firmware->vars_template, template_origin,
                                        &template_size);
    GFileType vars_type = G_FILE_TYPE_UNKNOWN;
    g_autoptr(GError) vars_error = NULL;

    if (code_ok && template_ok && code_size + template_size > QL_FIRMWARE_FLASH_MAX_SIZE)
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] code: '%s' and its variables are %" G_GUINT64_FORMAT " bytes together, more than the 8 MiB "
           "of flash QEMU maps below 4 GiB",
           firmware->code, code_size + template_size);

    /* The VM's own store: made from the template at the first launch. */
    if (!ql_host_probe_query_file (probe, firmware->vars, &vars_type, &vars_size, &vars_error))
      {
        if (!g_error_matches (vars_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
          add (errors, QL_CONFIG_ERROR_HOST, "[firmware] vars: cannot read '%s': %s", firmware->vars,
               vars_error->message);
        return;
      }
    if (!template_ok)
      return;
    if (vars_type != G_FILE_TYPE_REGULAR)
      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] vars: '%s' is not a regular file", firmware->vars);
    else if (vars_size > template_size)
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] vars: '%s' (%" G_GUINT64_FORMAT " bytes) is larger than its template '%s' (%" G_GUINT64_FORMAT
           " bytes): it belongs to other firmware; remove it to start again from the template",
           firmware->vars, vars_size, firmware->vars_template, template_size);
    else if (vars_size != template_size)
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] vars: '%s' (%" G_GUINT64_FORMAT " bytes) is smaller than its template '%s' (%" G_GUINT64_FORMAT
           " bytes): it belongs to other firmware; remove it to start again from the template",
           firmware->vars, vars_size, firmware->vars_template, template_size);
  }
}
