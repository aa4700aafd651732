/* qlaunch tpm plugin — QlTpmDevice: a TPM 2.0 for the guest, emulated by
 * a swtpm the launcher runs, or the host's own TPM passed through. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlTpmModel:
 * @QL_TPM_MODEL_AUTO: the machine's interface: crb on q35, tis on the
 *   others
 * @QL_TPM_MODEL_CRB: the Command Response Buffer interface (tpm-crb), q35
 *   only
 * @QL_TPM_MODEL_TIS: the TPM Interface Specification interface (tpm-tis)
 *
 * The interface the guest sees.
 */
typedef enum
{
  QL_TPM_MODEL_AUTO,
  QL_TPM_MODEL_CRB,
  QL_TPM_MODEL_TIS,
} QlTpmModel;

/*
 * QlTpmBackend:
 * @QL_TPM_BACKEND_EMULATOR: a swtpm (`swtpm socket --tpm2`) the launcher
 *   runs beside QEMU, its state kept in the VM's state directory
 * @QL_TPM_BACKEND_PASSTHROUGH: the host's TPM device (/dev/tpmN)
 *
 * What the TPM is (QEMU's -tpmdev type).
 */
typedef enum
{
  QL_TPM_BACKEND_EMULATOR,
  QL_TPM_BACKEND_PASSTHROUGH,
} QlTpmBackend;

#include "ql-tpm-enums.h"

#define QL_TYPE_TPM_DEVICE (ql_tpm_device_get_type ())
G_DECLARE_FINAL_TYPE (QlTpmDevice, ql_tpm_device, QL, TPM_DEVICE, QlDevice)

G_END_DECLS
