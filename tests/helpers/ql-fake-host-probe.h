/* Tests: a QlHostProbe whose answers the test sets. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_FAKE_HOST_PROBE (ql_fake_host_probe_get_type ())
G_DECLARE_FINAL_TYPE (QlFakeHostProbe, ql_fake_host_probe, QL, FAKE_HOST_PROBE, QlHostProbe)

/* Everything not set answers FALSE with "No such file or directory". */
QlHostProbe *ql_fake_host_probe_new                (void);
void         ql_fake_host_probe_set_device_usable  (QlHostProbe *probe,
                                                    const char  *path,
                                                    gboolean     usable);
void         ql_fake_host_probe_set_hugetlbfs      (QlHostProbe *probe,
                                                    const char  *path,
                                                    gboolean     is_hugetlbfs);
void         ql_fake_host_probe_set_file_readable  (QlHostProbe *probe,
                                                    const char  *path,
                                                    gboolean     readable);
void         ql_fake_host_probe_set_fd_open        (QlHostProbe *probe,
                                                    int          fd,
                                                    gboolean     open);
void         ql_fake_host_probe_set_kvm            (QlHostProbe *probe,
                                                    gboolean     usable);
/* What query_file answers for @path (unset paths: not found). */
void         ql_fake_host_probe_set_file           (QlHostProbe *probe,
                                                    const char  *path,
                                                    GFileType    type,
                                                    guint64      size);

G_END_DECLS
