/* Suite qemu: real QEMU 7.2 (TCG) accepts the argv `qlaunch args` prints,
 * every device exists with the configured properties (checked over QMP),
 * a file name with commas reaches QEMU as one value, and QEMU prints no
 * warning at all. */
#include "ql-test-util.h"
#include "ql-test-qmp.h"

#include <string.h>
#include <unistd.h>

typedef struct
{
  char *dir;
  GSubprocess *qemu;
  QlTestQmp *qmp;
  GInputStream *stderr_stream;
} Vm;

static void
run_or_die (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, &error);

  g_assert_no_error (error);
  g_subprocess_wait_check (p, NULL, &error);
  g_assert_no_error (error);
}

static void
make_qcow2 (const char *path)
{
  const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", path, "16M", NULL };

  run_or_die (argv);
}

/* Runs `qlaunch args --format json` on @vm_text and starts QEMU with it. */
static void
vm_start (Vm         *vm,
          const char *vm_text)
{
  g_autofree char *vm_file = g_build_filename (vm->dir, "test.vm", NULL);
  g_autofree char *qmp_path = g_build_filename (vm->dir, "qmp.sock", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"),
                         "args", "--format", "json", vm_file, NULL };
  JsonArray *array;
  int status;

  g_assert_true (g_file_set_contents (vm_file, vm_text, -1, NULL));
  status = ql_test_run_cli (args, &out, &err);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (status, ==, 0);

  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (argv, g_strdup (json_array_get_string_element (array, i)));
  g_ptr_array_add (argv, g_strdup ("-display"));
  g_ptr_array_add (argv, g_strdup ("none"));
  g_ptr_array_add (argv, NULL);

  vm->qemu = g_subprocess_newv ((const char * const *) argv->pdata,
                                G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  vm->qmp = ql_test_qmp_connect (qmp_path, 20000, &error);
  if (vm->qmp == NULL)
    {
      g_autofree char *stderr_text = NULL;

      g_subprocess_communicate_utf8 (vm->qemu, NULL, NULL, NULL, &stderr_text, NULL);
      g_printerr ("QEMU stderr: %s\n", stderr_text);
    }
  g_assert_no_error (error);
}

/* Quits QEMU over QMP; asserts a clean exit and an empty stderr. */
static void
vm_quit (Vm *vm)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ql_test_qmp_execute (vm->qmp, "quit", NULL, &error);
  g_autofree char *stderr_text = NULL;

  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (vm->qemu, NULL, NULL, NULL, &stderr_text, &error);
  g_assert_no_error (error);
  g_subprocess_wait (vm->qemu, NULL, NULL);
  /* No deprecation warning, no warning of any kind. */
  g_assert_cmpstr (stderr_text, ==, "");
  g_assert_true (g_subprocess_get_if_exited (vm->qemu));
  g_assert_cmpint (g_subprocess_get_exit_status (vm->qemu), ==, 0);
}

static void
vm_clear (Vm *vm)
{
  g_clear_pointer (&vm->qmp, ql_test_qmp_free);
  if (vm->qemu != NULL)
    {
      g_subprocess_force_exit (vm->qemu);
      g_subprocess_wait (vm->qemu, NULL, NULL);
      g_clear_object (&vm->qemu);
    }
  if (vm->dir != NULL)
    ql_test_rm_rf (vm->dir);
  g_clear_pointer (&vm->dir, g_free);
}

static JsonNode *
qmp (Vm         *vm,
     const char *command,
     const char *arg_name,
     const char *arg_value)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  JsonNode *reply;

  if (arg_name != NULL)
    json_object_set_string_member (args, arg_name, arg_value);
  reply = ql_test_qmp_execute (vm->qmp, command, arg_name != NULL ? args : NULL, &error);
  g_assert_no_error (error);
  return reply;
}

static char *
hmp (Vm         *vm,
     const char *command)
{
  g_autoptr(JsonNode) reply = qmp (vm, "human-monitor-command", "command-line", command);

  return g_strdup (json_node_get_string (reply));
}

static JsonNode *
qom_get (Vm         *vm,
         const char *path,
         const char *property)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  JsonNode *reply;

  json_object_set_string_member (args, "path", path);
  json_object_set_string_member (args, "property", property);
  reply = ql_test_qmp_execute (vm->qmp, "qom-get", args, &error);
  g_assert_no_error (error);
  return reply;
}

static JsonObject *
find_block (JsonArray  *blocks,
            const char *device)
{
  for (guint i = 0; i < json_array_get_length (blocks); i++)
    {
      JsonObject *b = json_array_get_object_element (blocks, i);

      if (g_strcmp0 (json_object_get_string_member (b, "device"), device) == 0)
        return b;
    }
  return NULL;
}

static gboolean
can_make_taps (void)
{
  return getuid () == 0 && g_file_test ("/dev/net/tun", G_FILE_TEST_EXISTS);
}

static void
test_tap_multiqueue_scsi_iothread_disks (void)
{
  Vm vm = { 0 };
  g_autofree char *tap = g_strdup_printf ("qlt%u", (guint) getpid () % 100000);
  g_autofree char *injected = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *comma = NULL;
  g_autofree char *text = NULL;
  g_autofree char *network = NULL;
  g_autoptr(JsonNode) mac = NULL;
  g_autoptr(JsonNode) vectors = NULL;
  g_autoptr(JsonNode) mq = NULL;
  g_autoptr(JsonNode) iothread = NULL;
  g_autoptr(JsonNode) blocks = NULL;
  g_autoptr(JsonNode) iothreads = NULL;
  JsonObject *b;

  if (!can_make_taps ())
    {
      g_test_skip ("needs root and /dev/net/tun to create a tap");
      return;
    }

  vm.dir = ql_test_make_tmpdir ();
  injected = g_build_filename (vm.dir, "x,readonly=on.qcow2", NULL);
  plain = g_build_filename (vm.dir, "x", NULL);
  comma = g_build_filename (vm.dir, "a,b.qcow2", NULL);
  make_qcow2 (injected);
  make_qcow2 (plain);       /* what an unescaped ",readonly=on" would open */
  make_qcow2 (comma);

  text = g_strdup_printf ("[vm]\nname = accept,test\ncpu-model = max\n"
                          "[machine]\ntype = q35\nacceleration = tcg\n"
                          "[memory]\nsize = 128M\n"
                          "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                          "[qmp control]\npath = qmp.sock\n"
                          "[iothread io0]\n"
                          "[device net0]\ntype = net\nif-name = %s\nqueues = 2\nmac-address = 02:00:ca:fe:00:07\n"
                          "[device scsi0]\ntype = scsi-controller\nio-thread = io0\n"
                          "[device disk0]\ntype = block\ninterface = scsi\nbus = scsi0.0\nfile = x,readonly=on.qcow2\n"
                          "[device disk1]\ntype = block\nfile = a,b.qcow2\nformat = qcow2\n",
                          tap);
  vm_start (&vm, text);

  mac = qom_get (&vm, "/machine/peripheral/net0", "mac");
  g_assert_cmpstr (json_node_get_string (mac), ==, "02:00:ca:fe:00:07");
  vectors = qom_get (&vm, "/machine/peripheral/net0", "vectors");
  g_assert_cmpint (json_node_get_int (vectors), ==, 6);
  mq = qom_get (&vm, "/machine/peripheral/net0/virtio-backend", "mq");
  g_assert_true (json_node_get_boolean (mq));
  network = hmp (&vm, "info network");
  /* One tap queue per line: net0.0 and net0.1 (or index=0/1 on net0). */
  g_assert_nonnull (strstr (network, tap));
  g_assert_nonnull (strstr (network, "index=1"));

  iothread = qom_get (&vm, "/machine/peripheral/scsi0/virtio-backend", "iothread");
  g_assert_true (g_str_has_suffix (json_node_get_string (iothread), "io0"));
  iothreads = qmp (&vm, "query-iothreads", NULL, NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (iothreads)), ==, 1);

  blocks = qmp (&vm, "query-block", NULL, NULL);
  b = find_block (json_node_get_array (blocks), "disk0");
  g_assert_nonnull (b);
  b = json_object_get_object_member (b, "inserted");
  /* The exact file, read-write: ",readonly=on" was not injected. */
  g_assert_cmpstr (json_object_get_string_member (b, "file"), ==, injected);
  g_assert_false (json_object_get_boolean_member (b, "ro"));
  g_assert_cmpstr (json_object_get_string_member (b, "drv"), ==, "qcow2");
  b = json_object_get_object_member (find_block (json_node_get_array (blocks), "disk1"), "inserted");
  g_assert_cmpstr (json_object_get_string_member (b, "file"), ==, comma);

  {
    g_autofree char *qtree = hmp (&vm, "info qtree");

    g_assert_nonnull (strstr (qtree, "dev: scsi-hd, id \"disk0\""));
    g_assert_nonnull (strstr (qtree, "dev: virtio-blk-pci, id \"disk1\""));
  }

  vm_quit (&vm);
  vm_clear (&vm);
}

static void
test_knobs_and_memory_backends (void)
{
  const char *knobs[] = {
    "no-defaults = true\nstopped = true\nmem-prealloc = true\nmlock = true\nrealtime = true\n",
    "no-defaults = true\nstopped = true\nfile-backed-mem = true\nfile-backed-mem-shared = true\n",
  };
  const char *memory_path[] = { "", "path = ram.img\n" };

  for (guint k = 0; k < G_N_ELEMENTS (knobs); k++)
    {
      Vm vm = { 0 };
      g_autofree char *text = NULL;
      g_autoptr(JsonNode) memdev = NULL;
      g_autoptr(JsonNode) name = NULL;
      g_autoptr(JsonNode) status = NULL;
      JsonObject *m;

      vm.dir = ql_test_make_tmpdir ();
      text = g_strdup_printf ("[vm]\nname = knobs\nuuid = 4a5c6e1b-8a2b-4d4e-9f00-123456789abc\n"
                              "global = kvm-pit.lost_tick_policy=discard\nvga = none\n"
                              "[machine]\ntype = q35\nacceleration = tcg\noptions = usb=off,dump-guest-core=off\n"
                              "[smp]\ncpus = 2\ncores = 1\nthreads = 1\nmax-cpus = 4\n"
                              "[memory]\nsize = 128M\nslots = 2\nmax-mem = 1G\n%s"
                              "[rtc]\nbase = utc\nclock = host\ndrift-fix = slew\n"
                              "[qmp control]\npath = qmp.sock\n"
                              "[knobs]\n%s", memory_path[k], knobs[k]);
      vm_start (&vm, text);

      memdev = qmp (&vm, "query-memdev", NULL, NULL);
      g_assert_cmpuint (json_array_get_length (json_node_get_array (memdev)), ==, 1);
      m = json_array_get_object_element (json_node_get_array (memdev), 0);
      g_assert_cmpstr (json_object_get_string_member (m, "id"), ==, "dimm1");
      g_assert_cmpint (json_object_get_int_member (m, "size"), ==, 128 << 20);
      if (k == 0)
        g_assert_true (json_object_get_boolean_member (m, "prealloc"));
      else
        g_assert_true (json_object_get_boolean_member (m, "share"));
      name = qmp (&vm, "query-name", NULL, NULL);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (name), "name"), ==, "knobs");
      status = qmp (&vm, "query-status", NULL, NULL);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "prelaunch");

      vm_quit (&vm);
      vm_clear (&vm);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qemu/tap-multiqueue-scsi-iothread-disks", test_tap_multiqueue_scsi_iothread_disks);
  g_test_add_func ("/qemu/knobs-and-memory-backends", test_knobs_and_memory_backends);
  return g_test_run ();
}
