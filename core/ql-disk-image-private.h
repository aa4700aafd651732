/* qlaunch — disk image files: qcow2 overlays written without QEMU, and the
 * record of an image a template depends on (is it still the same?).
 *
 * Only GLib and json-glib: the unit tests build this file on its own. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* How much of an image's start its record hashes. */
#define QL_DISK_IMAGE_HASHED_BYTES (1024 * 1024)

/* The virtual size of the image @path in @format ("raw": the file's size;
 * "qcow2": its header's). Other formats: FALSE, @why says so. @path must
 * be a regular file. */
gboolean    ql_disk_image_virtual_size   (const char  *path,
                                          const char  *format,
                                          guint64     *size,
                                          char       **why);

/* Creates @path (O_CREAT | O_EXCL, mode 0600, a symbolic link is never
 * followed) as an empty qcow2 (version 3, 64 KiB clusters) of @size bytes
 * whose backing file is @backing (an absolute path, written as is) in
 * @backing_format; @durable: synced to disk before it returns (an overlay
 * that is removed with its clone need not be). On failure nothing is left
 * at @path. */
gboolean    ql_disk_image_create_overlay (const char  *path,
                                          const char  *backing,
                                          const char  *backing_format,
                                          guint64      size,
                                          gboolean     durable,
                                          char       **why);

/* Reads the header of the qcow2 image @path: its virtual size, backing
 * file and backing format (NULL when it has none). */
gboolean    ql_disk_image_read_qcow2     (const char  *path,
                                          guint64     *size,
                                          char       **backing,
                                          char       **backing_format,
                                          char       **why);

/* The SHA-256 (hex) of the first QL_DISK_IMAGE_HASHED_BYTES of @path (all
 * of it when shorter). */
char       *ql_disk_image_head_sha256    (const char  *path,
                                          char       **why);

/* {"path", "format", "size", "mtime", "sha256-head"} of the image @path:
 * what ql_disk_image_check() compares later. */
JsonObject *ql_disk_image_record         (const char  *path,
                                          const char  *format,
                                          char       **why);

/* Whether the image a record names is unchanged: same size, mtime and
 * hash of its start. FALSE with @why saying what changed (a missing
 * member of @record is a change too). */
gboolean    ql_disk_image_check          (JsonObject  *record,
                                          char       **why);

G_END_DECLS
