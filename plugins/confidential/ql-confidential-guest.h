/* qlaunch confidential plugin — QlConfidentialGuest: a guest whose memory
 * the host cannot read (AMD SEV, SEV-SNP, Intel TDX). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlConfidentialObjectType:
 * @QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST: AMD SEV (QEMU `-object sev-guest`)
 * @QL_CONFIDENTIAL_OBJECT_TYPE_SEV_SNP_GUEST: AMD SEV-SNP
 *   (`-object sev-snp-guest`, QEMU 9.1 and later)
 * @QL_CONFIDENTIAL_OBJECT_TYPE_TDX_GUEST: Intel TDX (`-object tdx-guest`,
 *   QEMU 10.1 and later)
 *
 * The QEMU object that makes the guest confidential.
 */
typedef enum /*< prefix=QL_CONFIDENTIAL_OBJECT_TYPE >*/
{
  QL_CONFIDENTIAL_OBJECT_TYPE_SEV_GUEST,       /*< nick=sev-guest >*/
  QL_CONFIDENTIAL_OBJECT_TYPE_SEV_SNP_GUEST,   /*< nick=sev-snp-guest >*/
  QL_CONFIDENTIAL_OBJECT_TYPE_TDX_GUEST,       /*< nick=tdx-guest >*/
} QlConfidentialObjectType;

#include "ql-confidential-enums.h"

#define QL_TYPE_CONFIDENTIAL_GUEST (ql_confidential_guest_get_type ())
G_DECLARE_FINAL_TYPE (QlConfidentialGuest, ql_confidential_guest, QL, CONFIDENTIAL_GUEST, QlDevice)

G_END_DECLS
