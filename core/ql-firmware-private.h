/* qlaunch — UEFI firmware, shared by ql-firmware.c (the VM's firmware and
 * its flash options), ql-firmware-descriptor.c (QEMU's firmware
 * descriptors) and ql-firmware-check.c (the [firmware] rules). Private. */
#pragma once

#include "ql-vm-config-private.h"

G_BEGIN_DECLS

/* QEMU's x86 flash devices: sectors of 4 KiB, and at most 8 MiB of code
 * and variables together below 4 GiB (the pc and q35 machines'
 * max-fw-size). */
#define QL_FIRMWARE_FLASH_SECTOR_SIZE 4096
#define QL_FIRMWARE_FLASH_MAX_SIZE (8 * 1024 * 1024)

/* A UEFI firmware volume header has its signature at byte 40. */
#define QL_FIRMWARE_FV_SIGNATURE "_FVH"
#define QL_FIRMWARE_FV_SIGNATURE_OFFSET 40

/* What a fitting descriptor says. */
typedef struct
{
  char *code;
  char *vars_template;
  gboolean requires_smm;
  gboolean secure_boot;
} QlFirmwareCandidate;

/* Whether to match the secure-boot feature: no, yes, or either. */
#define QL_FIRMWARE_SECURE_BOOT_ANY (-1)

/* ql_firmware_find_uefi(), the secure-boot feature also matched either way
 * (QL_FIRMWARE_SECURE_BOOT_ANY), @code (if not NULL) the image the
 * descriptor must name; the fitting descriptor's facts in *@out and its
 * path in *@out_descriptor. */
gboolean     ql_firmware_find_descriptor     (const char           *architecture,
                                              const char           *machine_type,
                                              int                   secure_boot,
                                              const char           *code,
                                              QlFirmwareCandidate  *out,
                                              char                **out_descriptor,
                                              GError              **error);

/* QEMU's target of the VM's binary: qemu-system-ARCH, else the host's. */
char        *ql_firmware_target_architecture (QlVmConfig *self);
/* The machine type as QEMU will run it; QEMU's default on x86 is pc. */
const char  *ql_firmware_machine_type        (QlVmConfig *self);
gboolean     ql_firmware_is_x86              (const char *architecture);
gboolean     ql_firmware_is_pc_machine       (const char *type);
gboolean     ql_firmware_is_q35_machine      (const char *type);

G_END_DECLS
