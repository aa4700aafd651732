/* qlaunch — forward declarations of the public object types. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <qlaunch/ql-macros.h>

G_BEGIN_DECLS

typedef struct _QlDevice      QlDevice;
typedef struct _QlPlugin      QlPlugin;
typedef struct _QlRegistry    QlRegistry;
typedef struct _QlVmConfig    QlVmConfig;

G_END_DECLS
