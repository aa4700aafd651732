/* qlaunch — a template's writable disks: copy-on-write overlays.
 *
 * `template create` never writes the user's image: the template VM runs
 * each writable disk on DIR/disk-ID.qcow2, a qcow2 over the image, frozen
 * read-only with the snapshot. Every clone gets its own empty qcow2 over
 * that overlay, made before its QEMU starts, in its private runtime
 * directory (removed when QEMU exits) or, kept, in a directory the caller
 * names. */
#pragma once

#include "ql-template-private.h"

G_BEGIN_DECLS

/* The template's overlay of disk @id, relative to the template directory:
 * "disk-ID.qcow2". */
char       *ql_template_disk_file_name      (const char   *id);

/* Whether @device, a writable disk of a template VM, can be one: its image
 * is a regular file, raw or qcow2. FALSE: QL_TEMPLATE_ERROR_UNSUPPORTED
 * naming the device. */
gboolean    ql_template_disk_check_source   (QlDevice     *device,
                                             GError      **error);

/* The writable disks (block devices that are not read-only) of @config,
 * in order (QlDevice, borrowed). */
GPtrArray  *ql_template_disks_writable      (QlVmConfig   *config);

/* Points every writable disk of @config at an overlay: @paths' entry for
 * its id (id -> path), or, @paths NULL, a fixed stand-in path
 * (/template/disk-ID.qcow2: the command line the manifest records); the
 * format becomes qcow2. A writable disk without an entry in @paths fails
 * (a clone never opens the user's image). The images the VM text named
 * are kept (ql_template_disks_check() compares them). */
gboolean    ql_template_disks_redirect      (QlVmConfig   *config,
                                             GHashTable   *paths,
                                             GError      **error);

/* template create: makes DIR/disk-ID.qcow2 in @dir over the image of each
 * writable disk of @source. Returns the manifest's "disks" (without the
 * overlays' records yet; an empty array for none) and sets @paths (id ->
 * overlay path). */
JsonArray  *ql_template_disks_create        (QlVmConfig   *source,
                                             const char   *dir,
                                             GHashTable  **paths,
                                             GError      **error);

/* template create, once QEMU is gone: syncs the overlays in @dir, makes
 * them read-only (0444) and adds their records to @disks. */
gboolean    ql_template_disks_seal          (JsonArray    *disks,
                                             const char   *dir,
                                             GError      **error);

/* Before a clone: the manifest's "disks" (may be absent: no writable
 * disk) match @config's writable disks, each template overlay is there,
 * ours and unchanged and is an overlay of the recorded image, and that
 * image did not change (size, modification time, hash of its first MiB).
 * FALSE: QL_TEMPLATE_ERROR_CORRUPT or _MISMATCH naming the disk. */
gboolean    ql_template_disks_check         (const char   *dir,
                                             JsonObject   *manifest,
                                             QlVmConfig   *config,
                                             GError      **error);

/* The template's own overlays: id -> DIR/disk-ID.qcow2 for every disk of
 * the manifest's "disks" (empty for none). */
GHashTable *ql_template_disks_template_paths (const char  *dir,
                                              JsonObject  *manifest);

/* A clone's overlays: one empty qcow2 over DIR/disk-ID.qcow2 per disk of
 * the manifest, made in @runtime_dir (disk-ID.qcow2) or, when @keep_dir
 * is given, in it (NAME-ID-XXXXXXXX.qcow2, XXXXXXXX: eight random hex
 * digits; kept after the clone). Returns id -> path (empty when the
 * template has no writable disk); on failure nothing is left. */
GHashTable *ql_template_disks_make_clone    (const char   *dir,
                                             JsonObject   *manifest,
                                             const char   *runtime_dir,
                                             const char   *keep_dir,
                                             GError      **error);

/* The overlays of @clone kept outside its runtime directory (id -> path)
 * are attached to it; ql_template_disks_drop_kept() removes them (a clone
 * that failed to start). */
void        ql_template_disks_attach        (QlVm         *clone,
                                             GHashTable   *paths,
                                             gboolean      kept);
void        ql_template_disks_drop_kept     (QlVm         *clone);

G_END_DECLS
