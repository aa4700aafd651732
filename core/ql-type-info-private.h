/* qlaunch — private: what QlPropertyInfo and QlDeviceTypeInfo hold,
 * shared by ql-type-info.c and ql-type-info-compact.c. */
#pragma once

#include "ql-private.h"

G_BEGIN_DECLS

struct _QlPropertyInfo
{
  gatomicrefcount ref_count;
  char           *name;
  char           *nick;
  char           *blurb;
  char           *value_type_name;
  char           *description;
  char           *default_text;   /* (nullable) */
  QlPropertyKind  kind;
  GParamFlags     flags;
  guint64         minimum;        /* two's complement for QL_PROPERTY_KIND_INT */
  guint64         maximum;
  char          **nicks;          /* enumerations and flags; else empty */
  gint64         *values;
  guint           n_values;
  /* (nullable) Read back: the strings point into it (nicks is an array
   * of its own). */
  GBytes         *block;
};

struct _QlDeviceTypeInfo
{
  gatomicrefcount ref_count;
  char           *name;
  char           *gtype_name;
  char           *plugin;         /* (nullable): the application's */
  GPtrArray      *properties;     /* element-type QlPropertyInfo */
  GBytes         *block;          /* as in QlPropertyInfo */
};

#define QL_PROPERTY_INFO_KNOWN_FLAGS (G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_CONSTRUCT_ONLY \
                                      | G_PARAM_LAX_VALIDATION | G_PARAM_STATIC_STRINGS \
                                      | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_DEPRECATED)

QlPropertyInfo   *ql_property_info_alloc    (void);
QlDeviceTypeInfo *ql_device_type_info_alloc (void);

G_END_DECLS
