/* qlaunch — UEFI firmware: finding it the way QEMU's interop specification
 * says (docs/interop/firmware.json in QEMU's tree: JSON descriptors in
 * /usr/share/qemu/firmware, /etc/qemu/firmware and, for an unprivileged
 * user, $XDG_CONFIG_HOME/qemu/firmware), checking the images, giving each
 * VM its own variable store, and the flash devices' options. */
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

void
ql_firmware_free (QlFirmware *firmware)
{
  if (firmware == NULL)
    return;
  g_free (firmware->code);
  g_free (firmware->vars_template);
  g_free (firmware->vars);
  g_free (firmware->descriptor);
  g_free (firmware);
}

/* ---- the VM's firmware ----------------------------------------------------- */

/* QEMU's target of the VM's binary: qemu-system-ARCH, else the host's. */
char *
ql_firmware_target_architecture (QlVmConfig *self)
{
  g_autofree char *binary = ql_vm_config_dup_qemu_binary (self);
  g_autofree char *base = g_path_get_basename (binary);

  if (g_str_has_prefix (base, "qemu-system-") && base[strlen ("qemu-system-")] != '\0')
    return g_strdup (base + strlen ("qemu-system-"));
  return g_strdup (QL_HOST_ARCH);
}

/* The machine type as QEMU will run it; QEMU's default on x86 is pc. */
const char *
ql_firmware_machine_type (QlVmConfig *self)
{
  const char *type = ql_vm_config_resolve_machine_type (self);

  return type != NULL ? type : "pc";
}

gboolean
ql_firmware_is_x86 (const char *architecture)
{
  return g_str_equal (architecture, "x86_64") || g_str_equal (architecture, "i386");
}

gboolean
ql_firmware_is_pc_machine (const char *type)
{
  return g_str_equal (type, "pc") || g_str_has_prefix (type, "pc-i440fx-") || g_str_equal (type, "q35")
         || g_str_has_prefix (type, "pc-q35-");
}

gboolean
ql_firmware_is_q35_machine (const char *type)
{
  return g_str_equal (type, "q35") || g_str_has_prefix (type, "pc-q35-");
}

/**
 * ql_vm_config_dup_firmware_vars_path:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Gets the VM's own UEFI variable store: #QlVmConfig:firmware-vars, or by
 * default the file beside the VM file named after it, `NAME.vars.fd` for
 * `NAME.vm` (`FILE.vars.fd` for a file not ending in `.vm`), so that a
 * VM file, its disks and its variables move together. A configuration not
 * loaded from a file has no default: set #QlVmConfig:firmware-vars.
 *
 * Returns: (transfer full) (type filename): the path, or %NULL with @error
 *   set (%QL_CONFIG_ERROR_MISSING)
 */
char *
ql_vm_config_dup_firmware_vars_path (QlVmConfig  *self,
                                     GError     **error)
{
  const char *base_dir;
  const char *source;
  g_autofree char *base = NULL;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);

  if (STR (FIRMWARE_VARS) != NULL)
    return g_strdup (STR (FIRMWARE_VARS));
  base_dir = ql_vm_config_get_base_dir (self);
  source = ql_vm_config_get_source_name (self);
  if (base_dir == NULL || source == NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING,
                   "[firmware] vars: missing; the variable store goes beside the VM file by default, "
                   "and this configuration was not loaded from a file: set vars");
      return NULL;
    }
  base = g_path_get_basename (source);
  if (g_str_has_suffix (base, ".vm") && strlen (base) > strlen (".vm"))
    base[strlen (base) - strlen (".vm")] = '\0';
  {
    g_autofree char *name = g_strconcat (base, ".vars.fd", NULL);

    return g_build_filename (base_dir, name, NULL);
  }
}

QlFirmware *
ql_vm_config_resolve_firmware (QlVmConfig  *self,
                               GError     **error)
{
  g_autoptr(QlFirmware) firmware = NULL;
  g_autofree char *architecture = NULL;
  gboolean secure_boot = BOOL (FIRMWARE_SECURE_BOOT);
  gboolean requires_smm = FALSE;

  if (ql_vm_config_get_enum (self, QL_VM_PROP_FIRMWARE_TYPE) != QL_FIRMWARE_UEFI)
    return NULL;

  firmware = g_new0 (QlFirmware, 1);
  architecture = ql_firmware_target_architecture (self);
  firmware->code = g_strdup (STR (FIRMWARE_CODE));
  firmware->vars_template = g_strdup (STR (FIRMWARE_VARS_TEMPLATE));

  /* Explicit paths win; a descriptor gives the rest: for an explicit
   * code, the descriptor that names it (with or without the secure-boot
   * feature) tells its template, whether it needs SMM and whether it is
   * Secure Boot firmware at all. */
  if (firmware->code != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      QlFirmwareCandidate found = { 0 };

      if (ql_firmware_find_descriptor (architecture, ql_firmware_machine_type (self), QL_FIRMWARE_SECURE_BOOT_ANY, firmware->code, &found,
                           &firmware->descriptor, &local_error))
        {
          requires_smm = found.requires_smm;
          if (secure_boot && !found.secure_boot)
            {
              g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                           "[firmware] secure-boot: code '%s' is not Secure Boot firmware (its descriptor %s "
                           "has no secure-boot feature): choose a Secure Boot code image or remove code",
                           firmware->code, firmware->descriptor);
              g_free (found.code);
              g_free (found.vars_template);
              return NULL;
            }
          if (firmware->vars_template == NULL)
            firmware->vars_template = g_steal_pointer (&found.vars_template);
          g_free (found.code);
          g_free (found.vars_template);
        }
      else if (firmware->vars_template == NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING,
                       "[firmware] vars-template: missing, and %s: set vars-template", local_error->message);
          return NULL;
        }
    }
  else
    {
      g_autoptr(GError) local_error = NULL;
      QlFirmwareCandidate found = { 0 };

      if (!ql_firmware_find_descriptor (architecture, ql_firmware_machine_type (self), secure_boot, NULL, &found, &firmware->descriptor,
                            &local_error))
        {
          g_set_error (error, QL_CONFIG_ERROR, local_error->code,
                       "[firmware] code: %s; set code and vars-template, or install firmware (Debian: ovmf)",
                       local_error->message);
          return NULL;
        }
      requires_smm = found.requires_smm;
      firmware->code = g_steal_pointer (&found.code);
      if (firmware->vars_template == NULL)
        firmware->vars_template = g_steal_pointer (&found.vars_template);
      g_free (found.vars_template);
    }
  firmware->vars = ql_vm_config_dup_firmware_vars_path (self, error);
  if (firmware->vars == NULL)
    return NULL;
  firmware->smm = secure_boot || requires_smm;
  return g_steal_pointer (&firmware);
}

/* ---- the command line ------------------------------------------------------ */

static void
add_flash (QlCmdline  *cl,
           const char *node,
           const char *path,
           gboolean    read_only)
{
  g_autofree char *file_node = g_strconcat (node, "-file", NULL);
  QlOption *file = ql_cmdline_add_option (cl, "-blockdev", NULL, "driver", "file", "node-name", file_node,
                                          "filename", path, NULL);
  QlOption *format;

  if (read_only)
    ql_option_set_bool (file, "read-only", TRUE);
  ql_option_set_origin (file, "[firmware]");
  format = ql_cmdline_add_option (cl, "-blockdev", NULL, "driver", "raw", "node-name", node,
                                  "file", file_node, NULL);
  if (read_only)
    ql_option_set_bool (format, "read-only", TRUE);
  ql_option_set_origin (format, "[firmware]");
}

void
ql_vm_config_emit_firmware (QlVmConfig *self,
                            QlCmdline  *cl)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlFirmware) firmware = ql_vm_config_resolve_firmware (self, &error);

  if (firmware == NULL)
    {
      if (error != NULL)
        ql_cmdline_fail (cl, g_steal_pointer (&error));
      return;
    }
  add_flash (cl, QL_PFLASH_CODE_NODE, firmware->code, TRUE);
  add_flash (cl, QL_PFLASH_VARS_NODE, firmware->vars, FALSE);
  ql_cmdline_set_machine_option (cl, "pflash0", QL_PFLASH_CODE_NODE);
  ql_cmdline_set_machine_option (cl, "pflash1", QL_PFLASH_VARS_NODE);
  if (firmware->smm)
    {
      /* Only code running in SMM may write the variables: what makes
       * Secure Boot's keys safe from the guest's OS. */
      ql_cmdline_set_machine_option (cl, "smm", "on");
      /* Not cfi.pflash01.secure=on: QEMU splits that at the first dot. */
      ql_cmdline_add_verbatim (cl, "-global", "driver=cfi.pflash01,property=secure,value=on");
    }
}

/* ---- the VM's own variable store ------------------------------------------- */

/**
 * ql_vm_config_prepare_firmware:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Gives a UEFI VM its own variable store before QEMU starts: when the file
 * of ql_vm_config_dup_firmware_vars_path() does not exist, it is created
 * as a copy of the template (#QlVmConfig:firmware-vars-template or the
 * descriptor's), mode 0600, atomically: written to a temporary file in the
 * same directory, then linked into place, so that neither a crash nor a
 * second launch at the same time leaves a partial or replaced store. An
 * existing store is kept as it is: it holds what the guest wrote in its
 * earlier runs. The template is only read. #QlVm calls this at launch;
 * callers that run QEMU on ql_vm_config_to_argv() themselves call it
 * first. A VM whose firmware is not UEFI needs nothing.
 *
 * Returns: %TRUE when the store exists (or none is needed); %FALSE with
 *   @error set
 */
gboolean
ql_vm_config_prepare_firmware (QlVmConfig  *self,
                               GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(QlFirmware) firmware = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  gsize length = 0;
  gsize written = 0;
  GStatBuf st;
  int fd;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);

  firmware = ql_vm_config_resolve_firmware (self, &local_error);
  if (firmware == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (g_lstat (firmware->vars, &st) == 0)
    return TRUE;
  if (errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST, "[firmware] vars: cannot use '%s': %s",
                   firmware->vars, g_strerror (saved));
      return FALSE;
    }
  if (!g_file_get_contents (firmware->vars_template, &contents, &length, &local_error))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars-template: cannot read '%s': %s", firmware->vars_template, local_error->message);
      return FALSE;
    }

  dir = g_path_get_dirname (firmware->vars);
  base = g_path_get_basename (firmware->vars);
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars: cannot create '%s' from '%s': %s", firmware->vars, firmware->vars_template,
                   g_strerror (saved));
      return FALSE;
    }
  while (written < length)
    {
      gssize n = write (fd, contents + written, length - written);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      written += n;
    }
  if (written != length || fsync (fd) != 0)
    {
      int saved = errno;

      close (fd);
      g_unlink (tmp);
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars: cannot write '%s': %s", tmp, g_strerror (saved != 0 ? saved : EIO));
      return FALSE;
    }
  close (fd);
  /* link(), not rename(): a store another launch made meanwhile is kept. */
  if (link (tmp, firmware->vars) != 0 && errno != EEXIST)
    {
      int saved = errno;

      g_unlink (tmp);
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars: cannot create '%s': %s", firmware->vars, g_strerror (saved));
      return FALSE;
    }
  g_unlink (tmp);
  return TRUE;
}
