/* qlaunch tests — a firmware image that powers the VM off at once. */
#include "ql-test-bios.h"

#include <string.h>

#define BIOS_SIZE    0x10000   /* QEMU wants a multiple of 64 KiB */
#define RESET_VECTOR 0xfff0    /* 0xfffffff0 at reset; the image is mapped at 0xf0000 too */

/* 16-bit real-mode code at offset 0 of the image (0xf000:0000). */
static const guint8 poweroff_code[] = {
  0x66, 0xb8, 0x40, 0xf8, 0x00, 0x80,   /* mov eax, 0x8000f840   PCI 00:1f.0 reg 0x40 (PMBASE) */
  0xba, 0xf8, 0x0c,                     /* mov dx, 0xcf8 */
  0x66, 0xef,                           /* out dx, eax */
  0xba, 0xfc, 0x0c,                     /* mov dx, 0xcfc */
  0x66, 0xb8, 0x00, 0x06, 0x00, 0x00,   /* mov eax, 0x600        ACPI PM I/O base */
  0x66, 0xef,                           /* out dx, eax */
  0x66, 0xb8, 0x44, 0xf8, 0x00, 0x80,   /* mov eax, 0x8000f844   reg 0x44 (ACPI_CNTL) */
  0xba, 0xf8, 0x0c,                     /* mov dx, 0xcf8 */
  0x66, 0xef,                           /* out dx, eax */
  0xba, 0xfc, 0x0c,                     /* mov dx, 0xcfc */
  0xb0, 0x80,                           /* mov al, 0x80          ACPI_EN */
  0xee,                                 /* out dx, al */
  0xba, 0x04, 0x06,                     /* mov dx, 0x604         PM1_CNT */
  0xb8, 0x00, 0x20,                     /* mov ax, 0x2000        SLP_EN, SLP_TYP 0 = soft off */
  0xef,                                 /* out dx, ax */
  0xf4,                                 /* hlt */
  0xeb, 0xfd,                           /* jmp hlt */
};

static const guint8 reset_code[] = {
  0xea, 0x00, 0x00, 0x00, 0xf0,         /* jmp 0xf000:0000 */
};

gboolean
ql_test_write_poweroff_bios (const char  *path,
                             GError     **error)
{
  g_autofree guint8 *image = g_malloc0 (BIOS_SIZE);

  memcpy (image, poweroff_code, sizeof poweroff_code);
  memcpy (image + RESET_VECTOR, reset_code, sizeof reset_code);
  return g_file_set_contents (path, (const char *) image, BIOS_SIZE, error);
}
