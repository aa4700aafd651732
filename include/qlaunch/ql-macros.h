/* qlaunch — visibility and version macros shared by every public header. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib.h>

#if defined(QLAUNCH_COMPILATION) && defined(__GNUC__)
#define QL_API __attribute__ ((visibility ("default"))) extern
#else
#define QL_API extern
#endif
