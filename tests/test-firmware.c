/* qlaunch tests — UEFI firmware: descriptor matching (fixture descriptors
 * in tests/fixtures/firmware), the image and variable store checks on real
 * files, the VM's own variable store, and what a template refuses. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <qlaunch/qlaunch.h>

#include "ql-test-util.h"

#define CODE_SIZE 3653632   /* OVMF_CODE_4M.fd */
#define VARS_SIZE 540672    /* OVMF_VARS_4M.fd */

static QlRegistry *registry;
static char *fixture_dir;

/* ---- descriptor matching ------------------------------------------------ */

static void
use_dirs (const char *first,
          ...)
{
  g_autoptr(GString) dirs = g_string_new (NULL);
  va_list ap;

  va_start (ap, first);
  for (const char *d = first; d != NULL; d = va_arg (ap, const char *))
    g_string_append_printf (dirs, "%s%s/%s", dirs->len > 0 ? ":" : "", fixture_dir, d);
  va_end (ap);
  g_setenv ("QLAUNCH_FIRMWARE_DIRS", dirs->str, TRUE);
}

typedef struct
{
  const char *dirs[3];
  const char *architecture;
  const char *machine;
  gboolean secure_boot;
  const char *code;           /* the code asked for, or NULL */
  const char *want_code;      /* NULL: no match */
  const char *want_vars;
  const char *want_descriptor;
  gboolean want_smm;
  const char *want_in_error;  /* with no match: a part of the message */
} MatchCase;

static const MatchCase match_cases[] = {
  /* The first by name that fits: 20 (stateless), 30 (memory), 55 (qcow2)
   * never do; 40 and 50 have secure boot. */
  { { "system" }, "x86_64", "pc-q35-7.2", FALSE, NULL,
    "/fw/CODE.fd", "/fw/VARS.fd", "system/60-plain.json", FALSE, NULL },
  { { "system" }, "x86_64", "q35", FALSE, NULL,
    "/fw/CODE.fd", "/fw/VARS.fd", "system/60-plain.json", FALSE, NULL },
  { { "system" }, "x86_64", "pc", FALSE, NULL,
    "/fw/CODE.fd", "/fw/VARS.fd", "system/60-plain.json", FALSE, NULL },
  { { "system" }, "x86_64", "pc-q35-7.2", TRUE, NULL,
    "/fw/SB_CODE.fd", "/fw/SB_VARS_ENROLLED.fd", "system/40-secure-enrolled.json", TRUE, NULL },
  /* etc/ hides 40 with an empty file. */
  { { "system", "etc" }, "x86_64", "pc-q35-7.2", TRUE, NULL,
    "/fw/SB_CODE_EMPTY.fd", "/fw/SB_VARS.fd", "system/50-secure.json", TRUE, NULL },
  /* user/ overrides 60 of the same name. */
  { { "system", "etc", "user" }, "x86_64", "pc-i440fx-7.2", FALSE, NULL,
    "/fw/USER_CODE.fd", "/fw/USER_VARS.fd", "user/60-plain.json", FALSE, NULL },
  /* An explicit code: the descriptor that names it. */
  { { "system" }, "x86_64", "pc-q35-7.2", TRUE, "/fw/SB_CODE_EMPTY.fd",
    "/fw/SB_CODE_EMPTY.fd", "/fw/SB_VARS.fd", "system/50-secure.json", TRUE, NULL },
  { { "system" }, "aarch64", "virt-7.2", FALSE, NULL,
    "/fw/AAVMF_CODE.fd", "/fw/AAVMF_VARS.fd", "system/10-aarch64.json", FALSE, NULL },
  /* No match, and the message says why for each descriptor. */
  { { "system" }, "x86_64", "pc-i440fx-7.2", TRUE, NULL,
    NULL, NULL, NULL, FALSE, "40-secure-enrolled.json: x86_64 machines are pc-q35-*" },
  { { "system" }, "x86_64", "pc-i440fx-7.2", TRUE, NULL,
    NULL, NULL, NULL, FALSE, "60-plain.json: no secure-boot feature" },
  { { "system" }, "x86_64", "microvm", FALSE, NULL,
    NULL, NULL, NULL, FALSE, "20-stateless.json: mode 'stateless', not split" },
  { { "system" }, "x86_64", "microvm", FALSE, NULL,
    NULL, NULL, NULL, FALSE, "30-memory.json: device 'memory', not flash" },
  { { "system" }, "x86_64", "microvm", FALSE, NULL,
    NULL, NULL, NULL, FALSE, "55-qcow2.json: format is not raw" },
  { { "system" }, "x86_64", "microvm", FALSE, NULL,
    NULL, NULL, NULL, FALSE, "10-aarch64.json: not for x86_64" },
  { { "system" }, "x86_64", "pc-q35-7.2", FALSE, "/fw/OTHER.fd",
    NULL, NULL, NULL, FALSE, "names code '/fw/OTHER.fd'" },
  { { "etc" }, "x86_64", "pc-q35-7.2", FALSE, NULL,
    NULL, NULL, NULL, FALSE, "(there are none)" },
};

static void
test_match (gconstpointer data)
{
  const MatchCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;
  g_autofree char *vars = NULL;
  g_autofree char *descriptor = NULL;
  gboolean smm = !c->want_smm;
  gboolean found;

  use_dirs (c->dirs[0], c->dirs[1], c->dirs[2], NULL);
  found = ql_firmware_find_uefi (c->architecture, c->machine, c->secure_boot, c->code,
                                 &code, &vars, &descriptor, &smm, &error);
  if (c->want_code == NULL)
    {
      g_assert_false (found);
      g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, c->want_in_error));
      g_assert_null (code);
      return;
    }
  g_assert_no_error (error);
  g_assert_true (found);
  g_assert_cmpstr (code, ==, c->want_code);
  g_assert_cmpstr (vars, ==, c->want_vars);
  g_assert_true (g_str_has_suffix (descriptor, c->want_descriptor));
  g_assert_cmpint (smm, ==, c->want_smm);
}

static void
test_broken_descriptor (void)
{
  g_autoptr(GError) error = NULL;

  use_dirs ("broken", "system", NULL);
  g_assert_false (ql_firmware_find_uefi ("x86_64", "q35", FALSE, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "10-truncated.json"));
}

/* A descriptor another user could change is refused, as a plugin would be. */
static void
test_group_writable_descriptor (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *src = g_build_filename (fixture_dir, "system", "60-plain.json", NULL);
  g_autofree char *dst = g_build_filename (dir, "60-plain.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (src, &text, NULL, &error);
  g_assert_no_error (error);
  g_file_set_contents (dst, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dst, 0664), ==, 0);
  g_setenv ("QLAUNCH_FIRMWARE_DIRS", dir, TRUE);
  g_assert_false (ql_firmware_find_uefi ("x86_64", "q35", FALSE, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "refusing firmware descriptor"));
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (dst, 0644), ==, 0);
  g_assert_true (ql_firmware_find_uefi ("x86_64", "q35", FALSE, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  ql_test_rm_rf (dir);
}

/* ---- real files ------------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *code;
  char *vars_template;
  char *descriptors;
} Host;

/* A file of @size bytes: a firmware volume header when @fv, then @fill. */
static void
write_image (const char *path,
             gsize       size,
             gboolean    fv,
             char        fill)
{
  /* g_malloc (0) is NULL, which memset() must not get even for 0 bytes. */
  g_autofree char *bytes = g_malloc (MAX (size, 1));
  g_autoptr(GError) error = NULL;

  memset (bytes, fill, size);
  if (fv && size >= 44)
    memcpy (bytes + 40, "_FVH", 4);
  g_file_set_contents (path, bytes, size, &error);
  g_assert_no_error (error);
}

static void
host_setup (Host          *host,
            gconstpointer  data)
{
  g_autofree char *descriptor = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  host->dir = ql_test_make_tmpdir ();
  host->code = g_build_filename (host->dir, "CODE.fd", NULL);
  host->vars_template = g_build_filename (host->dir, "VARS.fd", NULL);
  host->descriptors = g_build_filename (host->dir, "descriptors", NULL);
  write_image (host->code, CODE_SIZE, TRUE, 'c');
  write_image (host->vars_template, VARS_SIZE, TRUE, 'v');
  g_assert_cmpint (g_mkdir (host->descriptors, 0700), ==, 0);
  descriptor = g_build_filename (host->descriptors, "60-test.json", NULL);
  text = g_strdup_printf ("{ \"interface-types\": [\"uefi\"], \"mapping\": { \"device\": \"flash\", "
                          "\"executable\": { \"filename\": \"%s\", \"format\": \"raw\" }, "
                          "\"nvram-template\": { \"filename\": \"%s\", \"format\": \"raw\" } }, "
                          "\"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"] } ], "
                          "\"features\": [] }",
                          host->code, host->vars_template);
  g_file_set_contents (descriptor, text, -1, &error);
  g_assert_no_error (error);
  g_setenv ("QLAUNCH_FIRMWARE_DIRS", host->descriptors, TRUE);
}

static void
host_teardown (Host          *host,
               gconstpointer  data)
{
  (void) data;
  ql_test_rm_rf (host->dir);
  g_free (host->dir);
  g_free (host->code);
  g_free (host->vars_template);
  g_free (host->descriptors);
}

/* Loads VM file @name in the host's directory with @text (host checks on). */
static QlVmConfig *
load (Host       *host,
      const char *name,
      const char *text)
{
  g_autofree char *path = g_build_filename (host->dir, name, NULL);
  g_autoptr(GError) error = NULL;
  QlVmConfig *vm;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  vm = ql_vm_config_new_from_file (path, registry, &error);
  g_assert_no_error (error);
  g_assert_nonnull (vm);
  /* The binary of the VM file is not run: no capabilities. */
  return vm;
}

static char *
file_checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
}

static const char uefi_vm[] =
  "[machine]\ntype = q35\n[firmware]\ntype = uefi\n";

/* The store is made beside the VM file on first use, 0600, a copy of the
 * template; later it is kept as the guest left it; the template never
 * changes. */
static void
test_prepare_vars (Host          *host,
                   gconstpointer  data)
{
  g_autoptr(QlVmConfig) vm = load (host, "web.vm", uefi_vm);
  g_autofree char *vars = g_build_filename (host->dir, "web.vars.fd", NULL);
  g_autofree char *path = NULL;
  g_autofree char *template_sum = file_checksum (host->vars_template);
  g_autofree char *sum = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *joined = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *entry;
  GStatBuf st;

  (void) data;
  path = ql_vm_config_dup_firmware_vars_path (vm, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, vars);

  /* Validation and the argv do not create it. */
  argv = ql_vm_config_to_argv (vm, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (vars, G_FILE_TEST_EXISTS));
  joined = g_strjoinv (" ", argv);
  g_assert_nonnull (strstr (joined, "filename="));
  g_assert_nonnull (strstr (joined, "CODE.fd,read-only=on"));
  g_assert_nonnull (strstr (joined, "pflash0=ql-pflash0,pflash1=ql-pflash1"));
  g_assert_null (strstr (joined, "smm=on"));

  g_assert_true (ql_vm_config_prepare_firmware (vm, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (vars, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (st.st_size, ==, VARS_SIZE);
  sum = file_checksum (vars);
  g_assert_cmpstr (sum, ==, template_sum);

  /* No temporary file is left beside it. */
  dir = g_dir_open (host->dir, 0, &error);
  g_assert_no_error (error);
  while ((entry = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (entry, ".web.vars.fd."));

  /* What the guest wrote stays. */
  write_image (vars, VARS_SIZE, TRUE, 'g');
  g_clear_pointer (&sum, g_free);
  sum = file_checksum (vars);
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_config_prepare_firmware (vm, &error));
  g_assert_no_error (error);
  {
    g_autofree char *again = file_checksum (vars);

    g_assert_cmpstr (again, ==, sum);
  }
  {
    g_autofree char *template_again = file_checksum (host->vars_template);

    g_assert_cmpstr (template_again, ==, template_sum);
  }
}

/* A VM that is not UEFI needs nothing; one without a file needs vars. */
static void
test_prepare_other (Host          *host,
                    gconstpointer  data)
{
  g_autoptr(QlVmConfig) bios = load (host, "bios.vm", "[machine]\ntype = q35\n");
  g_autoptr(QlVmConfig) nofile = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *explicit_vars = g_build_filename (host->dir, "sub", "my.fd", NULL);
  g_autofree char *sub = g_build_filename (host->dir, "sub", NULL);

  (void) data;
  g_assert_true (ql_vm_config_prepare_firmware (bios, &error));
  g_assert_no_error (error);
  {
    g_autofree char *bios_vars = g_build_filename (host->dir, "bios.vars.fd", NULL);

    g_assert_false (g_file_test (bios_vars, G_FILE_TEST_EXISTS));
  }

  nofile = ql_vm_config_new_from_data (uefi_vm, -1, NULL, NULL, registry, &error);
  g_assert_no_error (error);
  g_assert_false (ql_vm_config_validate (nofile, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "[firmware] vars: missing"));
  g_clear_error (&error);
  g_assert_false (ql_vm_config_prepare_firmware (nofile, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING);
  g_clear_error (&error);

  /* An explicit store in a directory that does not exist: a clear error. */
  g_object_set (nofile, "firmware-vars", explicit_vars, NULL);
  g_assert_true (ql_vm_config_validate (nofile, &error));
  g_assert_no_error (error);
  g_assert_false (ql_vm_config_prepare_firmware (nofile, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "[firmware] vars: cannot create"));
  g_clear_error (&error);
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_assert_true (ql_vm_config_prepare_firmware (nofile, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (explicit_vars, G_FILE_TEST_IS_REGULAR));
}

typedef struct
{
  const char *what;
  const char *image;          /* "code", "template" or "vars" */
  gsize size;
  gboolean fv;
  const char *want;           /* in the message */
} BadImage;

static const BadImage bad_images[] = {
  { "code-unaligned", "code", CODE_SIZE + 512, TRUE,
    "[firmware] code: '@CODE@' (from @DESC@) is not a UEFI firmware image: its size, 3654144 bytes, is not a non-zero multiple of 4 KiB" },
  { "code-empty", "code", 0, FALSE, "[firmware] code: '@CODE@' (from @DESC@) is not a UEFI firmware image: its size, 0 bytes" },
  { "code-no-fv", "code", CODE_SIZE, FALSE,
    "[firmware] code: '@CODE@' (from @DESC@) is not a UEFI firmware image: it does not start with a firmware volume" },
  { "code-too-big", "code", 8 * 1024 * 1024, TRUE,
    "[firmware] code: '@CODE@' and its variables are 8929280 bytes together, more than the 8 MiB" },
  { "template-no-fv", "template", VARS_SIZE, FALSE,
    "[firmware] vars-template: '@TEMPLATE@' (from @DESC@) is not a UEFI firmware image" },
  { "vars-larger", "vars", VARS_SIZE + 4096, TRUE,
    "[firmware] vars: '@VARS@' (544768 bytes) is larger than its template '@TEMPLATE@' (540672 bytes)" },
  { "vars-smaller", "vars", 131072, TRUE,
    "[firmware] vars: '@VARS@' (131072 bytes) is smaller than its template '@TEMPLATE@' (540672 bytes)" },
};

static void
test_bad_image (Host          *host,
                gconstpointer  data)
{
  const BadImage *c = data;
  g_autoptr(QlVmConfig) vm = load (host, "bad.vm", uefi_vm);
  g_autofree char *vars = g_build_filename (host->dir, "bad.vars.fd", NULL);
  g_autofree char *desc = g_build_filename (host->descriptors, "60-test.json", NULL);
  g_autoptr(GString) want = g_string_new (c->want);
  g_autoptr(GError) error = NULL;
  const char *target = g_str_equal (c->image, "code") ? host->code
                       : g_str_equal (c->image, "template") ? host->vars_template : vars;

  write_image (target, c->size, c->fv, 'x');
  g_string_replace (want, "@CODE@", host->code, 0);
  g_string_replace (want, "@TEMPLATE@", host->vars_template, 0);
  g_string_replace (want, "@VARS@", vars, 0);
  g_string_replace (want, "@DESC@", desc, 0);

  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, want->str));

  /* Without host checks the same VM builds its argv. */
  g_clear_error (&error);
  ql_vm_config_set_host_probe (vm, NULL);
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
}

static void
test_missing_code (Host          *host,
                   gconstpointer  data)
{
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("[machine]\ntype = q35\n[firmware]\ntype = uefi\n"
                                           "code = %s/NOPE.fd\nvars-template = %s\n",
                                           host->dir, host->vars_template);

  (void) data;
  vm = load (host, "missing.vm", text);
  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "[firmware] code: cannot read '"));
  g_assert_nonnull (strstr (error->message, "NOPE.fd'"));
}

/* The store is the template under another name (a hard link). */
static void
test_vars_is_template (Host          *host,
                       gconstpointer  data)
{
  g_autofree char *link_path = g_build_filename (host->dir, "linked.fd", NULL);
  g_autofree char *text = g_strdup_printf ("[machine]\ntype = q35\n[firmware]\ntype = uefi\nvars = %s\n", link_path);
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  g_assert_cmpint (link (host->vars_template, link_path), ==, 0);
  vm = load (host, "linked.vm", text);
  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "is the template itself"));
}

/* A UEFI VM cannot be a template: refused before anything starts. */
static void
test_template_refused (Host          *host,
                       gconstpointer  data)
{
  g_autoptr(QlVmConfig) vm = load (host, "tpl.vm", uefi_vm);
  g_autofree char *dir = g_build_filename (host->dir, "template", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTemplate) template = NULL;

  (void) data;
  template = ql_template_create (vm, dir, NULL, 1000, NULL, &error);
  g_assert_null (template);
  g_assert_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "[firmware] type: uefi"));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  {
    g_autofree char *tpl_vars = g_build_filename (host->dir, "tpl.vars.fd", NULL);

    g_assert_false (g_file_test (tpl_vars, G_FILE_TEST_EXISTS));
  }
}

/* The properties are the VM file's keys. */
static void
test_properties (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(GError) error = NULL;
  QlFirmwareType type = QL_FIRMWARE_BIOS;
  gboolean secure_boot = FALSE;

  g_assert_true (ql_vm_config_set_from_string (vm, "firmware-type", "uefi", &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_config_set_from_string (vm, "firmware-secure-boot", "true", &error));
  g_assert_no_error (error);
  g_object_get (vm, "firmware-type", &type, "firmware-secure-boot", &secure_boot, NULL);
  g_assert_cmpint (type, ==, QL_FIRMWARE_UEFI);
  g_assert_true (secure_boot);
  g_assert_false (ql_vm_config_set_from_string (vm, "firmware-type", "efi", &error));
  g_assert_nonnull (error);
}

int
main (int    argc,
      char **argv)
{
  const char *srcdir = g_getenv ("QLAUNCH_TEST_SRCDIR");
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (srcdir == NULL)
    g_error ("QLAUNCH_TEST_SRCDIR is not set (run through meson test)");
  fixture_dir = g_build_filename (srcdir, "fixtures", "firmware", NULL);
  registry = ql_test_registry_new ();

  for (guint i = 0; i < G_N_ELEMENTS (match_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/firmware/match/%u", i);
      g_test_add_data_func (path, &match_cases[i], test_match);
    }
  g_test_add_func ("/firmware/match/broken-descriptor", test_broken_descriptor);
  g_test_add_func ("/firmware/match/group-writable-descriptor", test_group_writable_descriptor);
  g_test_add_func ("/firmware/properties", test_properties);
  g_test_add ("/firmware/vars/prepare", Host, NULL, host_setup, test_prepare_vars, host_teardown);
  g_test_add ("/firmware/vars/prepare-other", Host, NULL, host_setup, test_prepare_other, host_teardown);
  g_test_add ("/firmware/vars/is-template", Host, NULL, host_setup, test_vars_is_template, host_teardown);
  g_test_add ("/firmware/code/missing", Host, NULL, host_setup, test_missing_code, host_teardown);
  for (guint i = 0; i < G_N_ELEMENTS (bad_images); i++)
    {
      g_autofree char *path = g_strdup_printf ("/firmware/image/%s", bad_images[i].what);

      g_test_add (path, Host, &bad_images[i], host_setup, test_bad_image, host_teardown);
    }
  g_test_add ("/firmware/template-refused", Host, NULL, host_setup, test_template_refused, host_teardown);

  ret = g_test_run ();
  g_clear_object (&registry);
  g_free (fixture_dir);
  return ret;
}
