/* qlaunch memory plugin — QlMemoryObject: a file-backed NVDIMM (govmm's Object). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlMemoryObjectType:
 * @QL_MEMORY_OBJECT_TYPE_MEMORY_BACKEND_FILE: guest memory mapped from a
 *   host file (QEMU `-object memory-backend-file`)
 *
 * The QEMU object that backs the device (govmm's ObjectType).
 */
typedef enum /*< prefix=QL_MEMORY_OBJECT_TYPE >*/
{
  QL_MEMORY_OBJECT_TYPE_MEMORY_BACKEND_FILE,
} QlMemoryObjectType;

#include "ql-memory-enums.h"

#define QL_TYPE_MEMORY_OBJECT (ql_memory_object_get_type ())
G_DECLARE_FINAL_TYPE (QlMemoryObject, ql_memory_object, QL, MEMORY_OBJECT, QlDevice)

G_END_DECLS
