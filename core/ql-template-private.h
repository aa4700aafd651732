/* qlaunch — what the template files share (manifest, files, configs). */
#pragma once

#include "ql-vm-config-private.h"
#include "ql-qmp-private.h"
#include "ql-qemu-overrides-private.h"

G_BEGIN_DECLS

#define QL_TEMPLATE_FORMAT 1
/* A template with writable disks or virtio-fs shares (its manifest has
 * "disks" or "shares"): a qlaunch that reads only format 1 must refuse
 * it, not open the user's image or start clones without their shares. */
#define QL_TEMPLATE_FORMAT_DISKS 2
#define QL_TEMPLATE_MANIFEST "manifest.json"
#define QL_TEMPLATE_MEMORY "memory"
#define QL_TEMPLATE_STATE "state"
#define QL_TEMPLATE_CONSOLE "console.log"
#define QL_TEMPLATE_QMP_NAME "qlaunch-template"
/* The name QEMU files the state file's descriptor under (QMP getfd): the
 * migration is `fd:NAME`, so QEMU starts no process. */
#define QL_TEMPLATE_STATE_FD_NAME "qlaunch-state"
/* The id of the vmgenid device identity fix-up adds to a VM without one. */
#define QL_TEMPLATE_VMGENID_ID "qlaunch-vmgenid"
/* A phase without its own deadline gets this much. */
#define QL_TEMPLATE_DEFAULT_TIMEOUT_MS 120000

/* The VM file text the template keeps, with what one run adds: the memory
 * file (shared for the template, private for a clone), a QMP socket, and
 * for a clone `-incoming defer`. @qmp_path NULL adds no socket.
 * @overrides (nullable): the manifest's "qemu-overrides", applied after.
 * @disks (nullable) maps a writable disk's id to its overlay; NULL:
 * stand-in paths (ql-template-disks.c). */
QlVmConfig *ql_template_run_config     (const char   *text,
                                        const char   *source_name,
                                        const char   *base_dir,
                                        QlRegistry   *registry,
                                        JsonObject   *overrides,
                                        const char   *memory_path,
                                        gboolean      shared,
                                        const char   *qmp_path,
                                        gboolean      incoming,
                                        GHashTable   *disks,
                                        GError      **error);

/* The configuration's argv with the run-specific parts fixed (memory path,
 * no QMP socket, no incoming): equal for the template and its clones. */
JsonArray  *ql_template_device_argv    (const char   *text,
                                        const char   *source_name,
                                        const char   *base_dir,
                                        QlRegistry   *registry,
                                        JsonObject   *overrides,
                                        GError      **error);

/* {"path", "size", "mtime"[, "sha256"]} of a file. */
JsonObject *ql_template_file_record    (const char   *path,
                                        gboolean      with_hash,
                                        GError      **error);
char       *ql_template_file_sha256    (const char   *path,
                                        GError      **error);

/* The QEMU binary a configuration runs, resolved through PATH. */
char       *ql_template_resolve_qemu   (QlVmConfig   *config,
                                        GError      **error);

/* Whether @path (lstat: a symbolic link is refused; @is_dir: it must be a
 * directory, else a regular file) is owned by root or us and not writable
 * by group or others (@sticky_ok: unless it is a sticky directory of
 * root's, as /tmp). FALSE with QL_TEMPLATE_ERROR_UNSAFE naming @what. */
gboolean    ql_template_check_owner    (const char   *path,
                                        const char   *what,
                                        gboolean      is_dir,
                                        gboolean      sticky_ok,
                                        GError      **error);

/* Removes @dir and everything in it (best effort). */
void        ql_template_remove_tree    (const char   *dir);

/* Wraps an error from a run (launch, QMP, migration) of @what. */
GError     *ql_template_run_error      (GError       *error,
                                        QlVm         *vm,
                                        const char   *what);

/* ql-template-identity.c: the VM text a template keeps (@source's, plus a
 * vmgenid device with guid auto when identity fix-up is on and @source has
 * none) and the manifest's "identity" object (fix-up, the vmgenid device's
 * id, whether qlaunch added it, the NICs and their MACs). Fails when the
 * fix-up cannot be done (a vmgenid with a fixed GUID, acpi=off...). */
gboolean    ql_template_identity_prepare (QlVmConfig  *source,
                                          gboolean     same_identity,
                                          char       **text,
                                          JsonObject **identity,
                                          GError     **error);

QlTemplate *ql_template_new_from_manifest (const char  *dir,
                                           JsonObject  *manifest,
                                           QlRegistry  *registry,
                                           GError     **error);

/* Sets QL_TEMPLATE_ERROR_UNSUPPORTED: @prefix, the formatted reason, then
 * @suffix (nullable); returns FALSE. */
gboolean ql_template_set_unsupported (GError    **error,
                                      const char *prefix,
                                      const char *suffix,
                                      const char *format,
                                      ...) G_GNUC_PRINTF (4, 5);

G_END_DECLS
