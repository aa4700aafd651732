/* qlaunch tests — the command line: the real qlaunch
 * binary ($QLAUNCH_BIN) run on VM files written to a temporary directory;
 * exit statuses, output formats, messages, plugin discovery. */
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <qlaunch/qlaunch.h>

#include "ql-test-util.h"

static QlRegistry *registry;   /* the build's plugins, in this process */

/* ---- running qlaunch ---- */

/* A qlaunch that runs longer than this hangs. */
#define RUN_LIMIT_S 60

/* Fails the test and goes on, so that one test reports every failing
 * check (TAP keeps only the last g_test_fail_printf() message). */
static void G_GNUC_PRINTF (1, 2)
fail_case (const char *format,
           ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_test_message ("FAILED: %s", message);
  /* A TAP "not ok" line is one line. */
  g_strdelimit (message, "\n", ' ');
  g_test_fail_printf ("%s", message);
}

static const char *
env_dir (const char *name)
{
  const char *dir = g_getenv (name);

  g_assert_nonnull (dir);
  return dir;
}

/* Runs qlaunch with @args in an environment changed by @env: entries
 * "NAME=VALUE" set a variable, "NAME" unsets it. LC_ALL=C always. */
static void
run_env (QlTestRun          *r,
         const char * const *env,
         const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      const char *eq = strchr (env[i], '=');

      if (eq != NULL)
        {
          g_autofree char *name = g_strndup (env[i], eq - env[i]);

          g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
        }
      else
        g_subprocess_launcher_unsetenv (launcher, env[i]);
    }
  ql_test_run_bounded_bare (r, launcher, RUN_LIMIT_S, args);
  ql_test_run_assert_exited (r);
}

/* Runs `qlaunch ARGS...` with only the build's plugins. */
static G_GNUC_NULL_TERMINATED void
run_args (QlTestRun *r,
          ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  g_ptr_array_add (args, (gpointer) "--plugin-dir");
  g_ptr_array_add (args, (gpointer) env_dir ("QLAUNCH_BUILD_PLUGIN_DIR"));
  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  run_env (r, NULL, (const char * const *) args->pdata);
}

/* Runs `qlaunch ARGS...` exactly as given (no plugin dir added). */
static G_GNUC_NULL_TERMINATED void
run_bare (QlTestRun *r,
          ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  run_env (r, NULL, (const char * const *) args->pdata);
}

static void
assert_has (const char *text,
            const char *fragment)
{
  if (strstr (text, fragment) == NULL)
    fail_case ("\"%s\" not found in: %s", fragment, text);
}

static void
assert_lacks (const char *text,
              const char *fragment)
{
  if (strstr (text, fragment) != NULL)
    fail_case ("\"%s\" unexpectedly found in: %s", fragment, text);
}

/* Asserts a usage error: exit 2, a message and the usage on stderr,
 * nothing on stdout. */
static void
assert_usage (QlTestRun  *r,
              const char *fragment)
{
  g_assert_cmpint (r->status, ==, 2);
  g_assert_cmpstr (r->out, ==, "");
  assert_has (r->err, "Usage");
  if (fragment != NULL)
    assert_has (r->err, fragment);
}

/* Asserts an invalid VM: exit 1, nothing on stdout, each fragment on stderr. */
static G_GNUC_NULL_TERMINATED void
assert_failure (QlTestRun *r,
                ...)
{
  const char *fragment;
  va_list ap;

  g_assert_cmpint (r->status, ==, 1);
  g_assert_cmpstr (r->out, ==, "");
  g_assert_cmpstr (r->err, !=, "");
  va_start (ap, r);
  while ((fragment = va_arg (ap, const char *)) != NULL)
    assert_has (r->err, fragment);
  va_end (ap);
}

/* The non-empty lines of @text. */
static GStrv
text_lines (const char *text)
{
  g_auto(GStrv) all = g_strsplit (text, "\n", -1);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; all[i] != NULL; i++)
    if (*all[i] != '\0')
      g_strv_builder_add (builder, all[i]);
  return g_strv_builder_end (builder);
}

/* ---- files ---- */

/* ---- usage ---- */

static void
test_version (void)
{
  g_auto(QlTestRun) r = { 0 };
  g_autofree char *expected = g_strdup_printf ("qlaunch %s", QL_VERSION);

  run_bare (&r, "--version", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, expected));
  g_assert_cmpstr (r.err, ==, "");
}

static void
test_help (void)
{
  g_auto(QlTestRun) r = { 0 };

  run_bare (&r, "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_has (r.out, "Usage");
  assert_has (r.out, "args");
  assert_has (r.out, "check");
  assert_has (r.out, "inspect");
}

static void
test_usage_errors (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "ok.vm", "[vm]\nname = ok\n");
  g_auto(QlTestRun) r = { 0 };

  run_bare (&r, NULL);
  assert_usage (&r, "no command");
  run_args (&r, NULL);
  assert_usage (&r, "no command");
  run_args (&r, "frobnicate", vm, NULL);
  assert_usage (&r, "'frobnicate'");
  run_args (&r, "--frobnicate", "args", vm, NULL);
  assert_usage (&r, "--frobnicate");
  run_args (&r, "args", "--frobnicate", vm, NULL);
  assert_usage (&r, "--frobnicate");
  run_args (&r, "args", NULL);
  assert_usage (&r, "VMFILE");
  run_args (&r, "args", "--format", "json", NULL);
  assert_usage (&r, "VMFILE");
  run_args (&r, "args", vm, vm, NULL);
  assert_usage (&r, "VMFILE");
  run_args (&r, "args", "--format", "xml", vm, NULL);
  assert_usage (&r, "--format");
  run_args (&r, "args", "--format", "", vm, NULL);
  assert_usage (&r, "--format");
  run_args (&r, "check", NULL);
  assert_usage (&r, "VMFILE");
  run_args (&r, "check", "--format", "json", vm, NULL);
  assert_usage (&r, "--format");
  run_args (&r, "inspect", "net", "block", NULL);
  assert_usage (&r, NULL);
  run_bare (&r, "--plugin-dir", NULL);
  assert_usage (&r, "--plugin-dir");
  ql_test_rm_rf (tmp);
}

/* ---- args: the three formats ---- */

/* A VM whose argv has arguments with spaces and quotes; the files it
 * names exist, so host checks pass. */
static char *
make_quoting_vm (const char *tmp)
{
  g_autofree char *kernel = ql_test_write_file (tmp, "vmlinuz", "");
  g_autofree char *disk = ql_test_write_file (tmp, "disk.img", "");

  return ql_test_write_file (tmp, "guest.vm",
                             "[vm]\n"
                             "name = my \"vm\" it's\n"
                             "qemu = qemu-system-x86_64\n"
                             "[machine]\n"
                             "type = q35\n"
                             "acceleration = tcg\n"
                             "[memory]\n"
                             "size = 512M\n"
                             "[smp]\n"
                             "cpus = 2\n"
                             "[kernel]\n"
                             "path = vmlinuz\n"
                             "params = console=ttyS0 init=\"/bin/sh -c 'echo $HOME; exit'\" quiet\n"
                             "[device disk0]\n"
                             "type = block\n"
                             "file = disk.img\n");
}

/* The argument after @option in @argv, or NULL. */
static const char *
arg_after (char      **argv,
           const char *option)
{
  for (guint i = 0; argv[i] != NULL; i++)
    if (g_str_equal (argv[i], option))
      return argv[i + 1];
  return NULL;
}

static GStrv
argv_of_lines (const char *out)
{
  g_assert_true (g_str_has_suffix (out, "\n"));
  {
    g_autofree char *trimmed = g_strndup (out, strlen (out) - 1);

    return g_strsplit (trimmed, "\n", -1);
  }
}

static void
test_args_formats (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = make_quoting_vm (tmp);
  g_autofree char *disk = g_build_filename (tmp, "disk.img", NULL);
  g_autofree char *kernel = g_build_filename (tmp, "vmlinuz", NULL);
  g_autofree char *file_arg = g_strdup_printf ("file=%s,", disk);
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) from_shell = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *shell = NULL;
  JsonArray *array;

  /* lines */
  run_args (&r, "args", "--format", "lines", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  lines = argv_of_lines (r.out);
  g_assert_cmpstr (lines[0], ==, "qemu-system-x86_64");
  g_assert_cmpstr (arg_after (lines, "-name"), ==, "guest=my \"vm\" it's");
  g_assert_cmpstr (arg_after (lines, "-append"), ==, "console=ttyS0 init=\"/bin/sh -c 'echo $HOME; exit'\" quiet");
  g_assert_cmpstr (arg_after (lines, "-kernel"), ==, kernel);
  g_assert_nonnull (arg_after (lines, "-drive"));
  assert_has (arg_after (lines, "-drive"), file_arg);

  /* json: an array of strings, the same argv */
  run_args (&r, "args", "--format", "json", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  json_parser_load_from_data (parser, r.out, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, g_strv_length (lines));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      g_assert_true (JSON_NODE_HOLDS_VALUE (node));
      g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
      g_assert_cmpstr (json_node_get_string (node), ==, lines[i]);
    }
  g_assert_cmpstr (json_array_get_string_element (array, 0), ==, "qemu-system-x86_64");

  /* shell: one line that a shell parses back into the same argv */
  run_args (&r, "args", "--format", "shell", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  g_assert_true (g_str_has_suffix (r.out, "\n"));
  g_assert_true (strchr (r.out, '\n') == r.out + strlen (r.out) - 1);
  shell = g_strdup (r.out);
  g_shell_parse_argv (shell, NULL, &from_shell, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (from_shell, lines);

  /* shell is the default */
  run_args (&r, "args", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, shell);

  ql_test_rm_rf (tmp);
}

/* Runs `qlaunch --plugin-dir BUILD ARGS...` with LC_ALL=@locale. */
static void
run_in_locale (QlTestRun          *r,
               const char         *locale,
               const char * const *args)
{
  g_autofree char *lc_all = g_strconcat ("LC_ALL=", locale, NULL);
  const char *env[] = { lc_all, NULL };
  g_autoptr(GPtrArray) all = g_ptr_array_new ();

  g_ptr_array_add (all, (gpointer) "--plugin-dir");
  g_ptr_array_add (all, (gpointer) env_dir ("QLAUNCH_BUILD_PLUGIN_DIR"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (all, (gpointer) args[i]);
  g_ptr_array_add (all, NULL);
  run_env (r, env, (const char * const *) all->pdata);
}

/* A command line is data: its bytes are printed as they are in every
 * locale (converted to ASCII, "caf\xc3\xa9" would become "caf?", another
 * name and another file). Messages are converted to the locale's
 * character set, and a non-ASCII -d spec is taken in a UTF-8 locale. */
static void
test_args_non_ascii (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "caf\xc3\xa9.vm",
                                            "[vm]\nname = caf\xc3\xa9\n"
                                            "[device rng0]\ntype = rng\nfile = /srv/entropi\xc3\xa9\n");
  g_autofree char *bad = ql_test_write_file (tmp, "bad.vm",
                                             "[vm]\nname = bad\n"
                                             "[device rng0]\ntype = rng\nfil\xc3\xa9 = /dev/urandom\n");
  static const char * const locales[] = { "C", "C.UTF-8" };
  g_auto(QlTestRun) r = { 0 };

  for (guint l = 0; l < G_N_ELEMENTS (locales); l++)
    {
      const char *lines_args[] = { "args", "--no-host-checks", "--format", "lines", vm, NULL };
      const char *json_args[] = { "args", "--no-host-checks", "--format", "json", vm, NULL };
      const char *shell_args[] = { "args", "--no-host-checks", vm, NULL };
      const char *bad_args[] = { "args", "--no-host-checks", bad, NULL };
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) lines = NULL;
      g_auto(GStrv) from_shell = NULL;
      JsonArray *array;

      g_test_message ("LC_ALL=%s", locales[l]);
      run_in_locale (&r, locales[l], lines_args);
      g_assert_cmpint (r.status, ==, 0);
      lines = argv_of_lines (r.out);
      g_assert_cmpstr (arg_after (lines, "-name"), ==, "guest=caf\xc3\xa9");
      assert_has (r.out, "filename=/srv/entropi\xc3\xa9");

      run_in_locale (&r, locales[l], json_args);
      g_assert_cmpint (r.status, ==, 0);
      json_parser_load_from_data (parser, r.out, -1, &error);
      g_assert_no_error (error);
      array = json_node_get_array (json_parser_get_root (parser));
      g_assert_cmpuint (json_array_get_length (array), ==, g_strv_length (lines));
      for (guint i = 0; lines[i] != NULL; i++)
        g_assert_cmpstr (json_array_get_string_element (array, i), ==, lines[i]);

      run_in_locale (&r, locales[l], shell_args);
      g_assert_cmpint (r.status, ==, 0);
      g_shell_parse_argv (r.out, NULL, &from_shell, &error);
      g_assert_no_error (error);
      g_assert_cmpstrv (from_shell, lines);

      /* A message: in the locale's character set. */
      run_in_locale (&r, locales[l], bad_args);
      g_assert_cmpint (r.status, ==, 1);
      if (g_str_equal (locales[l], "C"))
        {
          assert_has (r.err, "property 'fil?'");
          assert_lacks (r.err, "fil\xc3\xa9");
        }
      else
        assert_has (r.err, "property 'fil\xc3\xa9'");
    }

  /* A -d spec that is not ASCII, in a UTF-8 locale. */
  {
    const char *spec_args[] = { "args", "--no-host-checks", "--format", "lines",
                                "-d", "rng,id=rng1,file=/srv/\xc3\xb1", vm, NULL };

    run_in_locale (&r, "C.UTF-8", spec_args);
    g_assert_cmpint (r.status, ==, 0);
    assert_has (r.out, "filename=/srv/\xc3\xb1");
  }
  ql_test_rm_rf (tmp);
}

/* The default QEMU binary is qemu-system-<host arch>. */
static void
test_args_default_binary (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "min.vm", "[vm]\nname = min\n");
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) lines = NULL;

  run_args (&r, "args", "--format", "lines", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  lines = argv_of_lines (r.out);
  g_assert_true (g_str_has_prefix (lines[0], "qemu-system-"));
  ql_test_rm_rf (tmp);
}

/* ---- -d TYPE,key=value ---- */

static void
test_args_device_option (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "d.vm", "[vm]\nqemu = qemu-system-x86_64\n"
                                                         "[device disk0]\ntype = block\nfile = /images/disk0.img\n");
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) lines = NULL;
  g_autofree char *all = NULL;

  run_args (&r, "args", "--format", "lines", "--no-host-checks",
            "-d", "block,file=/images/extra.img,id=extra,aio=native,cache-direct=on",
            "-d", "net,if-name=tap0",
            "-d", "net,if-name=tap1",
            "-d", "block,file=/images/a,,b.img",
            vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  lines = argv_of_lines (r.out);
  all = g_strjoinv ("\n", lines);
  /* The file's device first, then the -d ones in order. */
  g_assert_true (strstr (all, "file=/images/disk0.img") < strstr (all, "file=/images/extra.img"));
  assert_has (all, "id=extra,file=/images/extra.img,aio=native");
  assert_has (all, "id=extra,drive=extra");
  assert_has (all, "ifname=tap0");
  assert_has (all, "id=net0");
  assert_has (all, "id=net1");
  assert_has (all, "file=/images/a,,b.img");
  assert_has (all, "id=block0");

  /* check takes -d too */
  run_args (&r, "check", "--no-host-checks", "-d", "net,if-name=tap0", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_has (r.out, "2 devices");
  ql_test_rm_rf (tmp);
}

static void
test_args_device_option_errors (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "d.vm", "[device disk0]\ntype = block\nfile = /images/disk0.img\n");
  g_auto(QlTestRun) r = { 0 };

  run_args (&r, "args", "--no-host-checks", "-d", "floppy,file=/x", vm, NULL);
  assert_failure (&r, "floppy,file=/x", "unknown device type 'floppy'", NULL);
  run_args (&r, "args", "--no-host-checks", "-d", "blok,file=/x", vm, NULL);
  assert_failure (&r, "blok,file=/x", "'blok'", "did you mean 'block'", NULL);
  run_args (&r, "args", "--no-host-checks", "-d", "block,fiel=/x", vm, NULL);
  assert_failure (&r, "block,fiel=/x", "'fiel'", "did you mean 'file'", NULL);
  run_args (&r, "args", "--no-host-checks", "-d", "block,file=/x,aio=fast", vm, NULL);
  assert_failure (&r, "block,file=/x,aio=fast", "'aio'", "'fast'", NULL);
  run_args (&r, "args", "--no-host-checks", "-d", "net,if-name=tap0,queues=many", vm, NULL);
  assert_failure (&r, "net,if-name=tap0,queues=many", "'queues'", "'many'", NULL);
  run_args (&r, "args", "--no-host-checks", "-d", "block,file", vm, NULL);
  assert_failure (&r, "block,file", "'file'", NULL);
  run_args (&r, "args", "--no-host-checks", "-d", "block,file=/a,file=/b", vm, NULL);
  assert_failure (&r, "block,file=/a,file=/b", "'file'", NULL);
  /* A valid spec whose device breaks a rule, or clashes with the file. */
  run_args (&r, "args", "--no-host-checks", "-d", "block,aio=native", vm, NULL);
  assert_failure (&r, "device 'block0'", "'file'", NULL);
  run_args (&r, "args", "--no-host-checks", "-d", "block,id=disk0,file=/y", vm, NULL);
  assert_failure (&r, "device 'disk0'", "'id'", NULL);

  /* Every bad spec is listed, one line each. */
  run_args (&r, "check", "--no-host-checks", "-d", "floppy", "-d", "block,fiel=/x", vm, NULL);
  assert_failure (&r, "floppy", "fiel", NULL);
  {
    g_auto(GStrv) lines = text_lines (r.err);

    g_assert_cmpuint (g_strv_length (lines), ==, 2);
  }
  ql_test_rm_rf (tmp);
}

/* --qemu-add, --qemu-remove and --qemu-set extend the VM file's [qemu]
 * group and a device's qemu-set, for args, check and run; their mistakes
 * are refused before anything starts. */
static void
test_args_qemu_options (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "q.vm",
                                            "[vm]\nqemu = qemu-system-x86_64\n[knobs]\nno-defaults = true\n"
                                            "[device net0]\ntype = net\nnet-type = user\n"
                                            "[qemu]\nadd = -no-hpet\n");
  g_auto(QlTestRun) r = { 0 };
  g_autofree char *all = NULL;
  g_auto(GStrv) lines = NULL;

  run_args (&r, "args", "--format", "lines", "--no-host-checks",
            "--qemu-add", "-device virtio-rng-pci,id=rng9,period=1000",
            "--qemu-remove", "-nodefaults",
            "--qemu-set", "net0:mq=on,host_mtu=1400",
            "--qemu-set", "net0:netdev.domainname=a,,b",
            vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  lines = argv_of_lines (r.out);
  all = g_strjoinv ("\n", lines);
  assert_has (all, "virtio-net-pci,id=net0,netdev=net0,mq=on,host_mtu=1400");
  assert_has (all, "user,id=net0,domainname=a,,b");
  /* The file's add first, then the command line's. */
  g_assert_true (strstr (all, "-no-hpet") < strstr (all, "virtio-rng-pci,id=rng9,period=1000"));
  g_assert_null (strstr (all, "-nodefaults"));

  run_args (&r, "check", "--no-host-checks", "--qemu-set", "nett0:mq=on", vm, NULL);
  assert_failure (&r, "--qemu-set 'nett0:mq=on'", "its devices: net0", NULL);
  run_args (&r, "check", "--no-host-checks", "--qemu-set", "net0", vm, NULL);
  assert_failure (&r, "--qemu-set 'net0'", "LABEL:key=value", NULL);
  run_args (&r, "args", "--no-host-checks", "--qemu-remove", "-device id=net1", vm, NULL);
  assert_failure (&r, "[qemu] remove: '-device id=net1' matches no option", "did you mean 'net0'", NULL);
  run_args (&r, "args", "--no-host-checks", "--qemu-add", "-device virtio-net-pci,id=net0", vm, NULL);
  assert_failure (&r, "[qemu] add", "id 'net0' is taken", NULL);
  run_args (&r, "args", "--no-host-checks", "--qemu-set", "net0:netdev.ipv6=off", vm, NULL);
  assert_failure (&r, "device 'net0': property 'qemu-set'", "use ipv6", NULL);
  ql_test_rm_rf (tmp);
}

/* check lists the errors of the file and of the -d specs together. */
static void
test_check_file_and_device_errors (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "bad.vm", "[vm]\ncpu-modle = max\n");
  g_auto(QlTestRun) r = { 0 };

  run_args (&r, "check", "--no-host-checks", "-d", "floppy", vm, NULL);
  assert_failure (&r, "[vm] cpu-modle", "'floppy'", NULL);
  ql_test_rm_rf (tmp);
}

/* ---- host checks ---- */

static void
test_host_checks (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "h.vm", "[device disk0]\ntype = block\nfile = missing.img\n");
  g_autofree char *missing = g_build_filename (tmp, "missing.img", NULL);
  g_auto(QlTestRun) r = { 0 };

  run_args (&r, "check", vm, NULL);
  assert_failure (&r, "device 'disk0'", "'file'", missing, NULL);
  run_args (&r, "args", vm, NULL);
  assert_failure (&r, "device 'disk0'", "'file'", missing, NULL);

  run_args (&r, "check", "--no-host-checks", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  assert_has (r.out, "valid");
  run_args (&r, "args", "--no-host-checks", "--format", "lines", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  assert_has (r.out, missing);

  /* Once the file exists, host checks pass too. */
  g_free (ql_test_write_file (tmp, "missing.img", ""));
  run_args (&r, "check", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  ql_test_rm_rf (tmp);
}

/* ---- check: every error ---- */

static void
test_check_valid (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "v.vm", "[vm]\nname = v\n[smp]\ncpus = 2\n"
                                                         "[device disk0]\ntype = block\nfile = /images/v.img\n");
  g_auto(QlTestRun) r = { 0 };

  run_args (&r, "check", "--no-host-checks", vm, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  assert_has (r.out, vm);
  assert_has (r.out, "valid");
  assert_has (r.out, "(1 device, ");
  ql_test_rm_rf (tmp);
}

static void
test_check_several_errors (void)
{
  static const char *const expected[] = {
    ":2: [vm] cpu-modle",
    ":4: [vm] name",
    ":6: [memory] size",
    ":8: [knobs] mlock",
    ":9: [machin]",
  };
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "bad.vm",
                                            "[vm]\n"             /* 1 */
                                            "cpu-modle = max\n"  /* 2 */
                                            "name = a\n"         /* 3 */
                                            "name = b\n"         /* 4 */
                                            "[memory]\n"         /* 5 */
                                            "size = 12Q\n"       /* 6 */
                                            "[knobs]\n"          /* 7 */
                                            "mlock = maybe\n"    /* 8 */
                                            "[machin]\n"         /* 9 */
                                            "type = q35\n");
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) lines = NULL;

  run_args (&r, "check", vm, NULL);
  assert_failure (&r, NULL);
  lines = text_lines (r.err);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *line_start = g_strdup_printf ("qlaunch: %s%s", vm, expected[i]);
      gboolean found = FALSE;

      for (guint l = 0; lines[l] != NULL && !found; l++)
        found = g_str_has_prefix (lines[l], line_start);
      if (!found)
        fail_case ("no line starts with \"%s\": %s", line_start, r.err);
    }

  /* args: the same errors, nothing on stdout */
  run_args (&r, "args", "--no-host-checks", vm, NULL);
  assert_failure (&r, NULL);
  g_strfreev (lines);
  lines = text_lines (r.err);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (expected));
  ql_test_rm_rf (tmp);
}

/* Validation errors, every one listed too. */
static void
test_check_several_rule_errors (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "bad.vm",
                                            "[vm]\nuuid = nope\nvga = rainbow\n"
                                            "[smp]\ncpus = 4\nmax-cpus = 2\n"
                                            "[device disk0]\ntype = block\n");
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) lines = NULL;

  run_args (&r, "check", vm, NULL);
  assert_failure (&r, "[vm] uuid", "[vm] vga", "[smp] max-cpus", "device 'disk0': property 'file'", NULL);
  lines = text_lines (r.err);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  for (guint i = 0; lines[i] != NULL; i++)
    g_assert_true (g_str_has_prefix (lines[i], "qlaunch: "));
  ql_test_rm_rf (tmp);
}

typedef struct
{
  const char *name;
  const char *text;
  const char *fragments[4];
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "unknown-group", "[vm]\nname = a\n[machin]\ntype = q35\n", { ":3:", "[machin]", "did you mean [machine]" } },
  { "unknown-key", "[vm]\ncpu-modle = max\n", { ":2:", "[vm] cpu-modle", "did you mean 'cpu-model'" } },
  { "bad-size", "[memory]\nsize = 12Q\n", { ":2:", "[memory] size", "'12Q'" } },
  { "max-cpus-below-cpus", "[smp]\ncpus = 4\nmax-cpus = 2\n", { "[smp] max-cpus" } },
  { "missing-required-property", "[device disk0]\ntype = block\n", { "device 'disk0'", "property 'file'" } },
  { "duplicate-id", "[device a]\ntype = block\nid = disk\nfile = /a.img\n"
                    "[device b]\ntype = block\nid = disk\nfile = /b.img\n",
    { "device 'disk'", "'id'" } },
  { "unknown-device-type", "[device disk0]\ntype = floppy\n", { "[device disk0] type", "'floppy'" } },
  { "unknown-device-property", "[device disk0]\ntype = block\nfile = /a\nfiel = /b\n", { ":4:", "device 'disk0'", "'fiel'", "did you mean 'file'" } },
  { "duplicate-group", "[vm]\nname = a\n[vm]\nuuid = 4a5c6e1b-8a2b-4d4e-9f00-123456789abc\n", { ":3:", "[vm]", "line 1" } },
};

static void
test_error_case (gconstpointer data)
{
  const ErrorCase *c = data;
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = ql_test_write_file (tmp, "e.vm", c->text);
  const char *commands[] = { "check", "args" };

  for (guint k = 0; k < G_N_ELEMENTS (commands); k++)
    {
      g_auto(QlTestRun) r = { 0 };

      run_args (&r, commands[k], "--no-host-checks", vm, NULL);
      assert_failure (&r, vm, NULL);
      for (guint i = 0; i < G_N_ELEMENTS (c->fragments) && c->fragments[i] != NULL; i++)
        assert_has (r.err, c->fragments[i]);
    }
  ql_test_rm_rf (tmp);
}

static void
test_missing_vm_file (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *vm = g_build_filename (tmp, "nosuch.vm", NULL);
  g_auto(QlTestRun) r = { 0 };

  run_args (&r, "check", vm, NULL);
  assert_failure (&r, "nosuch.vm", NULL);
  run_args (&r, "args", vm, NULL);
  assert_failure (&r, "nosuch.vm", NULL);
  ql_test_rm_rf (tmp);
}

/* ---- inspect ---- */

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The names listed in a section of `inspect` (lines with exactly two
 * spaces of indent), from the line @title to the next empty line; sorted. */
static GStrv
inspect_section (const char *out,
                 const char *title)
{
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  gboolean inside = FALSE;
  GStrv names;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (g_str_equal (line, title))
        inside = TRUE;
      else if (inside && *line == '\0')
        break;
      else if (inside && g_str_has_prefix (line, "  ") && line[2] != ' ')
        {
          const char *end = strchr (line + 2, ' ');
          g_autofree char *name = end != NULL ? g_strndup (line + 2, end - line - 2) : g_strdup (line + 2);

          g_strv_builder_add (builder, name);
        }
    }
  names = g_strv_builder_end (builder);
  qsort (names, g_strv_length (names), sizeof (char *), compare_strings);
  return names;
}

static void
test_inspect (void)
{
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) plugins = NULL;
  g_auto(GStrv) types = NULL;
  /* Every stock family. */
  const char *const expected_plugins[] = { "balloon", "block", "bridge", "char", "confidential", "fs", "iommu", "memory", "net", "rng", "tpm", "vfio", "vhost-user", "virtio-fs", "vmgenid", "vsock", "watchdog",
                                           NULL };
  const char *const expected_types[] = { "balloon", "block", "bridge", "char", "confidential-guest", "fs", "iommu", "memory-object", "net", "pcie-root-port", "rng", "scsi-controller", "serial", "tpm", "vfio", "vhost-user", "virtio-fs", "vmgenid", "vsock", "watchdog",
                                         NULL };

  run_args (&r, "inspect", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  plugins = inspect_section (r.out, "Plugins:");
  types = inspect_section (r.out, "Device types:");
  g_assert_cmpstrv (plugins, expected_plugins);
  g_assert_cmpstrv (types, expected_types);
  assert_has (r.out, "device types: block, scsi-controller");
  assert_has (r.out, "device types: net");
  assert_has (r.out, "libqlaunch-net.so");
  assert_has (r.out, "libqlaunch-block.so");
}

/* `inspect TYPE`: every writable property of the type, with its blurb,
 * type and default, as the GObject class in this process has them. */
static void
check_inspect_type (const char *type_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) device = ql_registry_create_device (registry, type_name, NULL, &error);
  g_autofree GParamSpec **pspecs = NULL;
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) lines = NULL;
  guint n = 0, n_listed = 0;

  g_assert_no_error (error);
  run_args (&r, "inspect", type_name, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  assert_has (r.out, type_name);
  lines = g_strsplit (r.out, "\n", -1);

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name_line = g_strdup_printf ("  %s", pspecs[i]->name);
      g_autofree char *blurb_line = g_strdup_printf ("      %s", g_param_spec_get_blurb (pspecs[i]));
      guint at = 0;

      if (!(pspecs[i]->flags & G_PARAM_WRITABLE))
        continue;
      n_listed++;
      while (lines[at] != NULL && !g_str_equal (lines[at], name_line))
        at++;
      if (lines[at] == NULL || lines[at + 1] == NULL || lines[at + 2] == NULL || lines[at + 3] == NULL)
        {
          fail_case ("inspect %s does not list property '%s'", type_name, pspecs[i]->name);
          continue;
        }
      g_assert_cmpstr (lines[at + 1], ==, blurb_line);
      g_assert_cmpuint (strlen (g_param_spec_get_blurb (pspecs[i])), >, 0);
      g_assert_true (g_str_has_prefix (lines[at + 2], "      type: "));
      g_assert_cmpuint (strlen (lines[at + 2]), >, strlen ("      type: "));
      g_assert_true (g_str_has_prefix (lines[at + 3], "      default: "));
      g_assert_cmpuint (strlen (lines[at + 3]), >, strlen ("      default: "));
    }
  g_assert_cmpuint (n_listed, >, 1);
}

static void
test_inspect_net (void)
{
  g_auto(QlTestRun) r = { 0 };

  check_inspect_type ("net");
  run_args (&r, "inspect", "net", NULL);
  assert_has (r.out, "  mac-address\n");
  assert_has (r.out, "  mac-address\n      Guest MAC address");
  assert_has (r.out, "  net-type\n");
  assert_has (r.out, "type: one of: tap, macvtap, ipvtap, vethtap");
  assert_has (r.out, "      default: tap\n");
  assert_has (r.out, "  id\n");
  assert_has (r.out, "  if-name\n");
  assert_has (r.out, "  vhost\n");
  assert_has (r.out, "  disable-modern\n");
  assert_has (r.out, "  fds\n");
}

static void
test_inspect_block (void)
{
  check_inspect_type ("block");
  check_inspect_type ("scsi-controller");
}

static void
test_inspect_unknown (void)
{
  g_auto(QlTestRun) r = { 0 };

  run_args (&r, "inspect", "nosuch", NULL);
  assert_failure (&r, "'nosuch'", "balloon, block, bridge, char, confidential-guest, fs, iommu, memory-object, net, pcie-root-port, rng, scsi-controller", NULL);
  run_args (&r, "inspect", "nett", NULL);
  assert_failure (&r, "'nett'", "did you mean 'net'", NULL);
}

/* ---- plugin discovery ---- */

/* A fresh directory (0700) holding a copy of the build's libqlaunch-net.so
 * (0755). */
static char *
make_net_only_dir (void)
{
  char *tmp = ql_test_make_safe_tmpdir ();
  g_autofree char *source = g_build_filename (env_dir ("QLAUNCH_BUILD_PLUGIN_DIR"), "libqlaunch-net.so", NULL);
  g_autofree char *dest = g_build_filename (tmp, "libqlaunch-net.so", NULL);
  g_autoptr(GFile) from = g_file_new_for_path (source);
  g_autoptr(GFile) to = g_file_new_for_path (dest);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_chmod (tmp, 0700), ==, 0);
  g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dest, 0755), ==, 0);
  return tmp;
}

static void
test_plugin_dir (void)
{
  g_autofree char *tmp = make_net_only_dir ();
  g_autofree char *net_file = g_build_filename (tmp, "libqlaunch-net.so", NULL);
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) plugins = NULL;
  g_auto(GStrv) types = NULL;
  const char *const only_net[] = { "net", NULL };

  run_bare (&r, "--plugin-dir", tmp, "inspect", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  plugins = inspect_section (r.out, "Plugins:");
  types = inspect_section (r.out, "Device types:");
  g_assert_cmpstrv (plugins, only_net);
  g_assert_cmpstrv (types, only_net);
  assert_has (r.out, net_file);

  /* --plugin-dir=DIR works too */
  {
    g_autofree char *opt = g_strdup_printf ("--plugin-dir=%s", tmp);

    run_bare (&r, opt, "inspect", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_has (r.out, net_file);
    assert_lacks (r.out, "scsi-controller");
  }
  ql_test_rm_rf (tmp);
}

/* A plugin writable by group or others, or in such a directory, is
 * refused with a warning; qlaunch goes on. */
static void
test_plugin_insecure (void)
{
  g_autofree char *tmp = make_net_only_dir ();
  g_autofree char *net_file = g_build_filename (tmp, "libqlaunch-net.so", NULL);
  g_auto(QlTestRun) r = { 0 };

  g_assert_cmpint (g_chmod (net_file, 0775), ==, 0);
  run_bare (&r, "--plugin-dir", tmp, "inspect", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_has (r.err, "warning");
  assert_has (r.err, net_file);
  assert_has (r.err, "writable");
  assert_has (r.out, "0 plugins");

  g_assert_cmpint (g_chmod (net_file, 0755), ==, 0);
  g_assert_cmpint (g_chmod (tmp, 0777), ==, 0);
  run_bare (&r, "--plugin-dir", tmp, "inspect", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_has (r.err, net_file);
  assert_has (r.err, "writable");
  assert_has (r.out, "0 plugins");
  g_assert_cmpint (g_chmod (tmp, 0700), ==, 0);
  ql_test_rm_rf (tmp);
}

typedef struct
{
  const char *family;
  const char *reason;
} BrokenFixture;

static const BrokenFixture broken_fixtures[] = {
  { "abimajor", "ABI 2.0" },
  { "abiminor", "needs ABI 1.5" },
  { "abstract", "is abstract" },
  { "dupb", "'fixture-dup'" },
  { "garbage", "cannot open plugin" },
  { "initfail", "cannot find its firmware" },
  { "initsilent", "without saying why" },
  { "mismatch", "'other'" },
  { "noentry", "'ql_plugin_noentry_get_desc'" },
  { "noinit", "'init'" },
  { "noname", "'name'" },
  { "notdevice", "not a subclass of QlDevice" },
  { "nulldesc", "no descriptor" },
};

static void
test_plugin_fixtures (void)
{
  const char *dir = env_dir ("QLAUNCH_FIXTURE_DIR");
  g_auto(QlTestRun) r = { 0 };
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) types = NULL;
  const char *const good_types[] = { "fixture-dup", "fixture-good", "fixture-two-a", "fixture-two-b", NULL };

  run_bare (&r, "--plugin-dir", dir, "inspect", NULL);
  g_assert_cmpint (r.status, ==, 0);
  lines = text_lines (r.err);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (broken_fixtures));
  for (guint i = 0; i < G_N_ELEMENTS (broken_fixtures); i++)
    {
      g_autofree char *file = g_strdup_printf ("/libqlaunch-%s.so", broken_fixtures[i].family);
      gboolean found = FALSE;

      for (guint l = 0; lines[l] != NULL && !found; l++)
        found = strstr (lines[l], file) != NULL;
      if (!found)
        {
          fail_case ("no warning names %s: %s", file, r.err);
          continue;
        }
      for (guint l = 0; lines[l] != NULL; l++)
        if (strstr (lines[l], file) != NULL)
          {
            g_assert_true (g_str_has_prefix (lines[l], "qlaunch: warning: "));
            assert_has (lines[l], broken_fixtures[i].reason);
          }
    }
  types = inspect_section (r.out, "Device types:");
  g_assert_cmpstrv (types, good_types);

  /* The good fixture's type can be inspected. */
  run_bare (&r, "--plugin-dir", dir, "inspect", "fixture-good", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_has (r.out, "fixture-good");
}

static void
test_plugin_env_path (void)
{
  g_autofree char *tmp = make_net_only_dir ();
  g_autofree char *net_copy = g_build_filename (tmp, "libqlaunch-net.so", NULL);
  g_autofree char *build = g_strdup (env_dir ("QLAUNCH_BUILD_PLUGIN_DIR"));
  g_autofree char *env_tmp = g_strdup_printf ("QLAUNCH_PLUGIN_PATH=%s", tmp);
  g_autofree char *env_two = g_strdup_printf ("QLAUNCH_PLUGIN_PATH=/nonexistent/qlaunch:%s", build);
  g_autofree char *env_build = g_strdup_printf ("QLAUNCH_PLUGIN_PATH=%s", build);
  const char *inspect[] = { "inspect", NULL };
  const char *const only_net[] = { "net", NULL };
  const char *const all[] = { "balloon", "block", "bridge", "char", "confidential", "fs", "iommu", "memory", "net", "rng", "tpm", "vfio", "vhost-user", "virtio-fs", "vmgenid", "vsock", "watchdog", NULL };
  g_auto(QlTestRun) r = { 0 };

  {
    const char *env[] = { env_tmp, "QLAUNCH_PLUGIN_SYSTEM_PATH=", NULL };
    g_auto(GStrv) plugins = NULL;

    run_env (&r, env, inspect);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.err, ==, "");
    plugins = inspect_section (r.out, "Plugins:");
    g_assert_cmpstrv (plugins, only_net);
  }
  {
    const char *env[] = { env_two, "QLAUNCH_PLUGIN_SYSTEM_PATH=", NULL };
    g_auto(GStrv) plugins = NULL;

    run_env (&r, env, inspect);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.err, ==, "");
    plugins = inspect_section (r.out, "Plugins:");
    g_assert_cmpstrv (plugins, all);
  }
  /* --plugin-dir comes first: its net wins over the path's. */
  {
    const char *env[] = { env_build, "QLAUNCH_PLUGIN_SYSTEM_PATH=", NULL };
    const char *args[] = { "--plugin-dir", tmp, "inspect", NULL };
    g_autofree char *build_net = g_build_filename (build, "libqlaunch-net.so", NULL);
    g_auto(GStrv) plugins = NULL;

    run_env (&r, env, args);
    g_assert_cmpint (r.status, ==, 0);
    plugins = inspect_section (r.out, "Plugins:");
    g_assert_cmpstrv (plugins, all);
    assert_has (r.out, net_copy);
    assert_lacks (r.out, build_net);
  }
  ql_test_rm_rf (tmp);
}

static void
test_plugin_system_path (void)
{
  const char *inspect[] = { "inspect", NULL };
  g_auto(QlTestRun) r = { 0 };

  /* Empty: no installed plugin, nothing at all here. */
  {
    const char *env[] = { "QLAUNCH_PLUGIN_PATH", "QLAUNCH_PLUGIN_SYSTEM_PATH=", NULL };
    g_auto(GStrv) plugins = NULL;

    run_env (&r, env, inspect);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.err, ==, "");
    plugins = inspect_section (r.out, "Plugins:");
    g_assert_cmpuint (g_strv_length (plugins), ==, 0);
    assert_has (r.out, "0 plugins, 0 device types");
  }
  /* Set: its directories replace the installed one. */
  {
    g_autofree char *env_system = g_strdup_printf ("QLAUNCH_PLUGIN_SYSTEM_PATH=%s",
                                                   env_dir ("QLAUNCH_BUILD_PLUGIN_DIR"));
    const char *env[] = { "QLAUNCH_PLUGIN_PATH", env_system, NULL };
    const char *const all[] = { "balloon", "block", "bridge", "char", "confidential", "fs", "iommu", "memory", "net", "rng", "tpm", "vfio", "vhost-user", "virtio-fs", "vmgenid", "vsock", "watchdog", NULL };
    g_auto(GStrv) plugins = NULL;

    run_env (&r, env, inspect);
    g_assert_cmpint (r.status, ==, 0);
    plugins = inspect_section (r.out, "Plugins:");
    g_assert_cmpstrv (plugins, all);
  }
  /* With no plugin, a VM file with a device names the unknown type. */
  {
    g_autofree char *tmp = ql_test_make_tmpdir ();
    g_autofree char *vm = ql_test_write_file (tmp, "d.vm", "[device disk0]\ntype = block\nfile = /a.img\n");
    const char *env[] = { "QLAUNCH_PLUGIN_PATH", "QLAUNCH_PLUGIN_SYSTEM_PATH=", NULL };
    const char *args[] = { "check", "--no-host-checks", vm, NULL };

    run_env (&r, env, args);
    assert_failure (&r, "[device disk0] type", "'block'", NULL);
    ql_test_rm_rf (tmp);
  }
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  registry = ql_test_registry_new ();

  g_test_add_func ("/cli/version", test_version);
  g_test_add_func ("/cli/help", test_help);
  g_test_add_func ("/cli/usage-errors", test_usage_errors);

  g_test_add_func ("/cli/args/formats", test_args_formats);
  g_test_add_func ("/cli/args/default-binary", test_args_default_binary);
  g_test_add_func ("/cli/args/non-ascii", test_args_non_ascii);
  g_test_add_func ("/cli/args/device-option", test_args_device_option);
  g_test_add_func ("/cli/args/device-option-errors", test_args_device_option_errors);
  g_test_add_func ("/cli/args/qemu-options", test_args_qemu_options);
  g_test_add_func ("/cli/host-checks", test_host_checks);

  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cli/error/%s", error_cases[i].name);

      g_test_add_data_func (path, &error_cases[i], test_error_case);
    }

  g_test_add_func ("/cli/inspect/list", test_inspect);
  g_test_add_func ("/cli/inspect/net", test_inspect_net);
  g_test_add_func ("/cli/inspect/block", test_inspect_block);
  g_test_add_func ("/cli/inspect/unknown", test_inspect_unknown);

  g_test_add_func ("/cli/plugins/plugin-dir", test_plugin_dir);
  g_test_add_func ("/cli/plugins/insecure", test_plugin_insecure);
  g_test_add_func ("/cli/plugins/fixtures", test_plugin_fixtures);
  g_test_add_func ("/cli/plugins/env-path", test_plugin_env_path);
  g_test_add_func ("/cli/plugins/system-path", test_plugin_system_path);

  /* check comes last: a failing test ends a GLib test program (without
   * -k), and these are the tests most likely to. */
  g_test_add_func ("/cli/check/valid", test_check_valid);
  g_test_add_func ("/cli/check/several-errors", test_check_several_errors);
  g_test_add_func ("/cli/check/several-rule-errors", test_check_several_rule_errors);
  g_test_add_func ("/cli/check/missing-file", test_missing_vm_file);
  g_test_add_func ("/cli/check/file-and-device-errors", test_check_file_and_device_errors);

  ret = g_test_run ();
  g_object_unref (registry);
  return ret;
}
