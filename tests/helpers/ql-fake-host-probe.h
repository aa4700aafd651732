/* Tests: a QlHostProbe whose answers the test sets. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_FAKE_HOST_PROBE (ql_fake_host_probe_get_type ())
G_DECLARE_FINAL_TYPE (QlFakeHostProbe, ql_fake_host_probe, QL, FAKE_HOST_PROBE, QlHostProbe)

/* Everything not set answers FALSE with "No such file or directory",
 * except ports: a port not set is free (a host where nothing listens). */
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
/* What port_available answers for @port on @address (NULL or "" for every
 * address; matched as given, not as overlapping addresses): a port set
 * not available answers "Address already in use". */
void         ql_fake_host_probe_set_port_available (QlHostProbe *probe,
                                                    gboolean     udp,
                                                    const char  *address,
                                                    guint        port,
                                                    gboolean     available);
/* What module_parameter answers for @module's @parameter: @value, or
 * with @value NULL (and for everything not set) not found, with the
 * message the real host gives for a missing /sys/module file. */
void         ql_fake_host_probe_set_module_parameter (QlHostProbe *probe,
                                                      const char  *module,
                                                      const char  *parameter,
                                                      const char  *value);
/* How many times port_available was asked, for any port. */
guint        ql_fake_host_probe_get_n_port_queries (QlHostProbe *probe);

G_END_DECLS
