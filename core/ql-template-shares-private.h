/* qlaunch — private: a template's virtio-fs shares, left out of its saved
 * state and hot-plugged into every clone (ql-template-shares.c). */
#pragma once

#include "ql-template-private.h"

G_BEGIN_DECLS

/* The device type of a share. */
#define QL_TEMPLATE_SHARE_TYPE "virtio-fs"

/* Takes the shares out of *@text (the VM text the template keeps, made
 * from @source): their [device] groups go, and on a PCI Express machine
 * [machine] hotplug-slots grows by one root port per share that names no
 * bus or addr. *@shares: the manifest's "shares" ([{"id", "type",
 * "properties": {NAME: VALUE}}], the properties that differ from their
 * defaults, as text). Fails when a share could not be hot-plugged into the
 * VM the template runs. *@text is left alone without shares. */
gboolean    ql_template_shares_prepare     (QlVmConfig   *source,
                                            char        **text,
                                            JsonArray   **shares,
                                            GError      **error);

/* The manifest's "shares" of template @dir, checked as the share's plugin
 * reads a VM file (an unknown type or property, a bad value, a relative
 * path, a duplicate id: %QL_TEMPLATE_ERROR_CORRUPT). NULL member: none
 * (an empty array). Returns the devices, new ones at each call. */
GPtrArray  *ql_template_shares_new_devices (JsonObject   *manifest,
                                            const char   *dir,
                                            QlRegistry   *registry,
                                            GError      **error);

/* Checks that @shares (from ql_template_shares_new_devices()) can be
 * hot-plugged into a VM configured as @scratch (a clone's configuration,
 * its memory shared; the shares are added to it): the plugin's checks,
 * host checks included, before any QEMU starts. */
gboolean    ql_template_shares_check       (GPtrArray    *shares,
                                            QlVmConfig   *scratch,
                                            const char   *dir,
                                            GError      **error);

/* A copy of the template's memory file @from as RUNTIME_DIR/memory (holes
 * kept; a reflink where the file system has them), which a clone with
 * shares maps shared: virtiofsd maps guest RAM, and a private mapping of
 * the template's file would let it read and write the template's pages.
 * Returns its path. */
char       *ql_template_shares_copy_memory (const char   *from,
                                            const char   *runtime_dir,
                                            GError      **error);

/* Hot-plugs @shares into @clone (running, its state loaded: paused or
 * resumed), one after the other; each share's virtiofsd starts in the
 * clone's helper group (RUNTIME_DIR/fs for its sockets), followed and
 * stopped with the clone. On failure the error names the share. */
void        ql_template_shares_plug_async  (GPtrArray           *shares,
                                            QlVm                *clone,
                                            const char          *runtime_dir,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
gboolean    ql_template_shares_plug_finish (GAsyncResult        *result,
                                            GError             **error);

G_END_DECLS
