/* Unit tests: QlCmdline, the one place that formats QEMU options. */
#include <qlaunch/qlaunch.h>

#include <string.h>

static char *
joined (QlCmdline *cl)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = ql_cmdline_to_argv (cl, &error);

  g_assert_no_error (error);
  return g_strjoinv ("|", argv);
}

static void
test_syntax_table (void)
{
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-device"), ==, QL_OPTION_SYNTAX_KEYVAL);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-drive"), ==, QL_OPTION_SYNTAX_KEYVAL);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-name"), ==, QL_OPTION_SYNTAX_KEYVAL);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-kernel"), ==, QL_OPTION_SYNTAX_VERBATIM);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-append"), ==, QL_OPTION_SYNTAX_VERBATIM);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-global"), ==, QL_OPTION_SYNTAX_VERBATIM);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-incoming"), ==, QL_OPTION_SYNTAX_VERBATIM);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-nodefaults"), ==, QL_OPTION_SYNTAX_FLAG);
  g_assert_cmpint (ql_cmdline_syntax_for_flag ("-S"), ==, QL_OPTION_SYNTAX_FLAG);
}

static void
test_keyval_escaping (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autofree char *s = NULL;
  QlOption *drive;

  drive = ql_cmdline_add_option (cl, "-drive", NULL, "id", "hd0",
                                 "file", "/d/x,readonly=on.qcow2", "if", "none", NULL);
  ql_cmdline_add_option (cl, "-name", "a,b", NULL);
  ql_cmdline_add_option (cl, "-device", "virtio-blk-pci", "drive", "hd0", "skipped", NULL, NULL);
  s = joined (cl);
  g_assert_cmpstr (s, ==,
                   "qemu|-drive|id=hd0,file=/d/x,,readonly=on.qcow2,if=none|-name|a,,b"
                   "|-device|virtio-blk-pci,drive=hd0");
  /* The structure keeps the unescaped value for later QMP use. */
  g_assert_cmpstr (ql_option_lookup (drive, "file"), ==, "/d/x,readonly=on.qcow2");
  g_assert_cmpuint (ql_option_get_n_values (drive), ==, 3);
}

static void
test_verbatim_not_escaped (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autofree char *s = NULL;

  ql_cmdline_add_verbatim (cl, "-append", "console=ttyS0,115200 quiet");
  ql_cmdline_add_verbatim (cl, "-global", "kvm-pit.lost_tick_policy=discard");
  ql_cmdline_add_verbatim (cl, "-incoming", "exec:cat a,b");
  ql_cmdline_add_flag (cl, "-nodefaults");
  s = joined (cl);
  g_assert_cmpstr (s, ==, "qemu|-append|console=ttyS0,115200 quiet|-global|kvm-pit.lost_tick_policy=discard"
                   "|-incoming|exec:cat a,b|-nodefaults");
}

static void
test_typed_values (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autofree char *s = NULL;
  QlOption *dev = ql_cmdline_add_option (cl, "-device", "virtio-net-pci", NULL);

  ql_option_set_bool (dev, "mq", TRUE);
  ql_option_set_bool (dev, "disable-modern", FALSE);
  ql_option_set_uint (dev, "vectors", 6);
  ql_option_set_int (dev, "bootindex", -1);
  ql_option_set (dev, "vectors", "8");      /* replaced in place */
  s = joined (cl);
  g_assert_cmpstr (s, ==, "qemu|-device|virtio-net-pci,mq=on,disable-modern=off,vectors=8,bootindex=-1");
  g_assert_cmpint (ql_option_get_value_type (dev, 0), ==, QL_VALUE_BOOL);
  g_assert_cmpint (ql_option_get_value_type (dev, 2), ==, QL_VALUE_STRING);
  g_assert_cmpint (ql_option_get_value_type (dev, 3), ==, QL_VALUE_INT);
}

static void
test_empty_keyval_left_out (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autofree char *s = NULL;

  ql_cmdline_add_option (cl, "-machine", NULL, "accel", NULL, NULL);
  ql_cmdline_add_flag (cl, "-S");
  s = joined (cl);
  g_assert_cmpstr (s, ==, "qemu|-S");
}

static void
test_machine_option (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(GError) error = NULL;
  g_autofree char *s = NULL;

  ql_cmdline_add_option (cl, "-machine", "q35", "accel", "tcg", NULL);
  ql_cmdline_add_option (cl, "-device", "nvdimm", "id", "nv0", NULL);
  ql_cmdline_set_machine_option (cl, "nvdimm", "on");
  ql_cmdline_set_machine_option (cl, "nvdimm", "on");   /* same value: fine */
  s = joined (cl);
  g_assert_cmpstr (s, ==, "qemu|-machine|q35,accel=tcg,nvdimm=on|-device|nvdimm,id=nv0");

  ql_cmdline_set_machine_option (cl, "nvdimm", "off");
  g_assert_false (ql_cmdline_check (cl, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "nvdimm"));
}

static void
test_machine_option_creates_machine (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autofree char *s = NULL;

  ql_cmdline_set_machine_option (cl, "memory-backend", "m0");
  s = joined (cl);
  g_assert_cmpstr (s, ==, "qemu|-machine|memory-backend=m0");
}

static void
test_rejects_line_breaks (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(GError) error = NULL;
  char **argv;

  ql_cmdline_add_option (cl, "-device", "virtio-rng-pci", "id", "a\nb", NULL);
  argv = ql_cmdline_to_argv (cl, &error);
  g_assert_null (argv);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "line break"));
}

static void
test_rejects_bad_key_and_empty_verbatim (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(QlCmdline) cl2 = ql_cmdline_new ("qemu");
  g_autoptr(GError) error = NULL;

  ql_cmdline_add_option (cl, "-device", "x", "a,b", "1", NULL);
  g_assert_false (ql_cmdline_check (cl, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_clear_error (&error);

  ql_cmdline_add_verbatim (cl2, "-append", "");
  g_assert_false (ql_cmdline_check (cl2, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
}

static void
test_fds_numbered_from_three (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  GArray *fds;

  g_assert_cmpint (ql_cmdline_add_fd (cl, 17), ==, 3);
  g_assert_cmpint (ql_cmdline_add_fd (cl, 9), ==, 4);
  g_assert_cmpint (ql_cmdline_add_fd (cl, 30), ==, 5);
  fds = ql_cmdline_get_fds (cl);
  g_assert_cmpuint (fds->len, ==, 3);
  g_assert_cmpint (g_array_index (fds, int, 0), ==, 17);
  g_assert_cmpint (g_array_index (fds, int, 1), ==, 9);
}

static void
test_find_option (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  QlOption *a = ql_cmdline_add_option (cl, "-device", "virtio-rng-pci", "id", "a", NULL);
  QlOption *b = ql_cmdline_add_option (cl, "-device", "virtio-rng-pci", "id", "b", NULL);

  g_assert_true (ql_cmdline_find_option (cl, "-device", "b") == b);
  g_assert_true (ql_cmdline_find_option (cl, "-device", NULL) == a);
  g_assert_null (ql_cmdline_find_option (cl, "-netdev", NULL));
  g_assert_cmpuint (ql_cmdline_get_n_options (cl), ==, 2);
  g_assert_cmpstr (ql_option_get_head (ql_cmdline_get_option (cl, 1)), ==, "virtio-rng-pci");
  g_assert_cmpstr (ql_option_get_flag (a), ==, "-device");
}

static void
test_escape_value (void)
{
  g_autofree char *a = ql_cmdline_escape_value ("a,b,,c");
  g_autofree char *b = ql_cmdline_escape_value ("plain");

  g_assert_cmpstr (a, ==, "a,,b,,,,c");
  g_assert_cmpstr (b, ==, "plain");
}

/* QEMU 9.0 and newer get -device/-object/-netdev as JSON: typed values,
 * escaped strings, dotted keys nested, in the order added. */
static void
test_json_forms (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  QlOption *dev, *obj, *net, *drive;

  dev = ql_cmdline_add_option (cl, "-device", "virtio-net-pci", "id", "n0", NULL);
  ql_option_set_bool (dev, "mq", TRUE);
  ql_option_set_uint (dev, "vectors", 6);
  ql_option_set_int (dev, "bootindex", -1);
  ql_option_set (dev, "romfile", "a\"b\\c,d\te\x01");
  obj = ql_cmdline_add_option (cl, "-object", "memory-backend-file", "id", "m0", NULL);
  ql_option_set_uint (obj, "size", G_MAXUINT64);
  net = ql_cmdline_add_option (cl, "-netdev", "tap", "id", "t0", NULL);
  ql_option_set (net, "x.y", "1");
  ql_option_set (net, "x.z", "2");
  ql_option_set (net, "w", "3");
  drive = ql_cmdline_add_option (cl, "-drive", NULL, "file", "a,b", NULL);
  (void) drive;

  /* 7.2 by default: key=value. */
  g_assert_false (ql_cmdline_writes_json (cl, "-device"));
  ql_cmdline_set_qemu_version (cl, 9, 2);
  g_assert_true (ql_cmdline_writes_json (cl, "-device"));
  g_assert_false (ql_cmdline_writes_json (cl, "-drive"));
  argv = ql_cmdline_to_argv (cl, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (argv[2], ==,
                   "{\"driver\":\"virtio-net-pci\",\"id\":\"n0\",\"mq\":true,\"vectors\":6,"
                   "\"bootindex\":-1,\"romfile\":\"a\\\"b\\\\c,d\\u0009e\\u0001\"}");
  g_assert_cmpstr (argv[4], ==,
                   "{\"qom-type\":\"memory-backend-file\",\"id\":\"m0\",\"size\":18446744073709551615}");
  g_assert_cmpstr (argv[6], ==, "{\"type\":\"tap\",\"id\":\"t0\",\"x\":{\"y\":\"1\",\"z\":\"2\"},\"w\":\"3\"}");
  g_assert_cmpstr (argv[8], ==, "file=a,,b");

  /* Older versions are raised to 7.2. */
  ql_cmdline_set_qemu_version (cl, 5, 0);
  {
    guint major, minor;

    ql_cmdline_get_qemu_version (cl, &major, &minor);
    g_assert_cmpuint (major, ==, 7);
    g_assert_cmpuint (minor, ==, 2);
  }
}

/* A dotted key cannot sit under a plain value of the same name in JSON. */
static void
test_json_clash (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  QlOption *net = ql_cmdline_add_option (cl, "-netdev", "tap", "id", "t0", NULL);

  ql_option_set (net, "x", "1");
  ql_option_set (net, "x.y", "2");
  ql_cmdline_set_qemu_version (cl, 9, 0);
  argv = ql_cmdline_to_argv (cl, &error);
  g_assert_null (argv);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_cmpstr (error->message, ==, "-netdev tap: key 'x.y' clashes with another key in JSON form");
}

/* List-valued keys: the key repeated in key=value form (QEMU 7.2 reads
 * `hostfwd=A,hostfwd=B`; `hostfwd.0.str=A` is refused), each value with
 * its ',' doubled; the elements stay together where the first was added. */
static void
test_list_keyval (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autofree char *s = NULL;
  QlOption *net = ql_cmdline_add_option (cl, "-netdev", "user", "id", "n0", NULL);

  ql_option_add_list_value (net, "hostfwd", "str", "tcp:127.0.0.1:2222-:22");
  ql_option_set_bool (net, "ipv6", FALSE);
  ql_option_add_list_value (net, "hostfwd", "str", "udp::5353-:53,x=1");
  ql_option_add_list_value (net, "hostfwd", "str", NULL);     /* nothing */
  ql_option_add_list_value (net, "dnssearch", NULL, "a.example");
  s = joined (cl);
  g_assert_cmpstr (s, ==, "qemu|-netdev|user,id=n0,hostfwd=tcp:127.0.0.1:2222-:22,"
                   "hostfwd=udp::5353-:53,,x=1,ipv6=off,dnssearch=a.example");

  /* Each element is a pair of its own, typed and with its member. */
  g_assert_cmpuint (ql_option_get_n_values (net), ==, 5);
  g_assert_cmpstr (ql_option_get_key (net, 2), ==, "hostfwd");
  g_assert_cmpstr (ql_option_get_value (net, 2), ==, "udp::5353-:53,x=1");
  g_assert_cmpint (ql_option_get_value_type (net, 1), ==, QL_VALUE_LIST);
  g_assert_cmpint (ql_option_get_value_type (net, 2), ==, QL_VALUE_LIST);
  g_assert_cmpint (ql_option_get_value_type (net, 3), ==, QL_VALUE_BOOL);
  g_assert_cmpstr (ql_option_get_list_member (net, 1), ==, "str");
  g_assert_null (ql_option_get_list_member (net, 3));
  g_assert_null (ql_option_get_list_member (net, 4));
  g_assert_cmpint (ql_option_get_value_type (net, 4), ==, QL_VALUE_LIST);
  g_assert_cmpstr (ql_option_lookup (net, "hostfwd"), ==, "tcp:127.0.0.1:2222-:22");
}

/* From QEMU 9.0, one array: of {member: value} objects (QAPI's
 * ['String'], "hostfwd":[{"str":...}]), or of strings without a member;
 * the values as they were given (no ',' doubling in JSON). */
static void
test_list_json (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  QlOption *net = ql_cmdline_add_option (cl, "-netdev", "user", "id", "n0", NULL);
  QlOption *obj = ql_cmdline_add_option (cl, "-object", "x-list", "id", "o0", NULL);

  ql_option_add_list_value (net, "hostfwd", "str", "tcp::2222-:22");
  ql_option_set_bool (net, "restrict", TRUE);
  ql_option_add_list_value (net, "hostfwd", "str", "udp:127.0.0.1:5353-:53,x\"y");
  ql_option_add_list_value (obj, "a.names", NULL, "one");
  ql_option_add_list_value (obj, "a.names", NULL, "two,three");
  ql_option_set (obj, "a.other", "z");
  ql_cmdline_set_qemu_version (cl, 9, 2);
  argv = ql_cmdline_to_argv (cl, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (argv[2], ==,
                   "{\"type\":\"user\",\"id\":\"n0\",\"hostfwd\":[{\"str\":\"tcp::2222-:22\"},"
                   "{\"str\":\"udp:127.0.0.1:5353-:53,x\\\"y\"}],\"restrict\":true}");
  g_assert_cmpstr (argv[4], ==,
                   "{\"qom-type\":\"x-list\",\"id\":\"o0\",\"a\":{\"names\":[\"one\",\"two,three\"],\"other\":\"z\"}}");

  /* The same options for 8.2: repeated keys. */
  g_clear_pointer (&argv, g_strfreev);
  ql_cmdline_set_qemu_version (cl, 8, 2);
  argv = ql_cmdline_to_argv (cl, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (argv[2], ==, "user,id=n0,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-:53,,x\"y,restrict=on");
  g_assert_cmpstr (argv[4], ==, "x-list,id=o0,a.names=one,a.names=two,,three,a.other=z");
}

/* A key holds one value or a list, and one list one member; a bad member
 * or element is refused like a bad value. */
static void
test_list_misuse (void)
{
  static const struct
  {
    const char *message;
  } cases[] = {
    { "option -netdev: key 'hostfwd' holds one value, and cannot also be a list" },
    { "option -netdev: key 'hostfwd' holds a list (ql_option_add_list_value()), and cannot be set to one value" },
    { "option -netdev: key 'hostfwd' is a list whose elements need the same member" },
    { "option -netdev: key 'hostfwd' has list member 'a.b', which is not a member name (empty, or with ',', '=', '.' or a space)" },
    { "option -netdev: key 'hostfwd' has list member '', which is not a member name (empty, or with ',', '=', '.' or a space)" },
    { "option -netdev: value 'a\nb' for 'hostfwd' holds a line break" },
    { "option -netdev: 'host fwd' is not a valid key" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) argv = NULL;
      QlOption *net = ql_cmdline_add_option (cl, "-netdev", "user", "id", "n0", NULL);

      switch (i)
        {
        case 0:
          ql_option_set (net, "hostfwd", "a");
          ql_option_add_list_value (net, "hostfwd", "str", "b");
          break;
        case 1:
          ql_option_add_list_value (net, "hostfwd", "str", "a");
          ql_option_set (net, "hostfwd", "b");
          break;
        case 2:
          ql_option_add_list_value (net, "hostfwd", "str", "a");
          ql_option_add_list_value (net, "hostfwd", NULL, "b");
          break;
        case 3:
          ql_option_add_list_value (net, "hostfwd", "a.b", "a");
          break;
        case 4:
          ql_option_add_list_value (net, "hostfwd", "", "a");
          break;
        case 5:
          ql_option_add_list_value (net, "hostfwd", "str", "a\nb");
          break;
        default:
          ql_option_add_list_value (net, "host fwd", "str", "a");
          break;
        }
      argv = ql_cmdline_to_argv (cl, &error);
      g_assert_null (argv);
      g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

/* A device whose -netdev has list keys, for the QMP form. */
#define TEST_TYPE_LIST_DEVICE (test_list_device_get_type ())
G_DECLARE_FINAL_TYPE (TestListDevice, test_list_device, TEST, LIST_DEVICE, QlDevice)

struct _TestListDevice
{
  QlDevice parent_instance;
};

G_DEFINE_FINAL_TYPE (TestListDevice, test_list_device, QL_TYPE_DEVICE)

static gboolean
test_list_device_valid (QlDevice    *device,
                        QlVmConfig  *vm,
                        GError     **error)
{
  return TRUE;
}

static gboolean
test_list_device_qemu_params (QlDevice    *device,
                              QlVmConfig  *vm,
                              QlCmdline   *cmdline,
                              GError     **error)
{
  const char *id = ql_device_get_id (device);
  QlOption *net = ql_cmdline_add_option (cmdline, "-netdev", "user", "id", id, NULL);

  ql_option_add_list_value (net, "hostfwd", "str", "tcp:127.0.0.1:2222-:22");
  ql_option_add_list_value (net, "hostfwd", "str", "udp::5353-:53,x");
  ql_option_set_bool (net, "ipv6", FALSE);
  ql_option_add_list_value (net, "dnssearch.names", NULL, "example.org");
  ql_cmdline_add_option (cmdline, "-device", "virtio-net-pci", "id", id, "netdev", id, NULL);
  return TRUE;
}

static void
test_list_device_class_init (TestListDeviceClass *klass)
{
  QL_DEVICE_CLASS (klass)->valid = test_list_device_valid;
  QL_DEVICE_CLASS (klass)->qemu_params = test_list_device_qemu_params;
}

static void
test_list_device_init (TestListDevice *self)
{
}

/* QMP (netdev_add): the same array as JSON; a plain string is what QEMU
 * 7.2 refuses ("Invalid parameter type for 'hostfwd', expected: array"). */
static void
test_list_qmp (void)
{
  g_autoptr(QlDevice) device = g_object_new (TEST_TYPE_LIST_DEVICE, "id", "n1", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = ql_hotplug_plan (device, NULL, NULL, &error);
  g_autoptr(JsonNode) got = NULL;
  g_autoptr(JsonNode) want = NULL;
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (plan);
  got = json_node_init_array (json_node_alloc (), plan);
  want = json_from_string ("[{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"user\", \"id\": \"n1\","
                           " \"hostfwd\": [{\"str\": \"tcp:127.0.0.1:2222-:22\"}, {\"str\": \"udp::5353-:53,x\"}],"
                           " \"ipv6\": false, \"dnssearch\": {\"names\": [\"example.org\"]}}},"
                           " {\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-net-pci\","
                           " \"id\": \"n1\", \"netdev\": \"n1\"}}]", &error);
  g_assert_no_error (error);
  text = json_to_string (got, FALSE);
  g_test_message ("plan: %s", text);
  g_assert_true (json_node_equal (got, want));
}

/* Versions: X.Y or X.Y.Z, 7.2 at least. */
static void
test_qemu_versions (void)
{
  const char *bad[] = { "7", "7.", "7.2.", "x.2", "7.2.1.4", "-7.2", " 7.2", "7.2a", "", "99999.0" };
  const char *old[] = { "6.2", "7.1", "2.12.0" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QlQemuCaps) caps = ql_qemu_caps_new_for_version (bad[i], &error);

      g_assert_null (caps);
      g_assert_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION);
      g_assert_nonnull (strstr (error->message, "is not a QEMU version"));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (old); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QlQemuCaps) caps = ql_qemu_caps_new_for_version (old[i], &error);

      g_assert_null (caps);
      g_assert_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_UNSUPPORTED_VERSION);
      g_assert_nonnull (strstr (error->message, "older than 7.2"));
    }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QlQemuCaps) caps = ql_qemu_caps_new_for_version ("9.2", &error);
    g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
    g_auto(GStrv) machines = NULL;
    guint major, minor;

    g_assert_no_error (error);
    g_assert_false (ql_qemu_caps_is_probed (caps));
    g_assert_cmpstr (ql_qemu_caps_get_version_string (caps), ==, "9.2.0");
    g_assert_true (ql_qemu_caps_accepts_json (caps, "-netdev"));
    machines = ql_qemu_caps_list_machines (caps);
    g_assert_cmpuint (g_strv_length (machines), ==, 0);
    ql_qemu_caps_apply_syntax (caps, cl);
    ql_cmdline_get_qemu_version (cl, &major, &minor);
    g_assert_cmpuint (major, ==, 9);
    g_assert_cmpuint (minor, ==, 2);
    /* Without a binary, only removed options are checked. */
    ql_cmdline_add_option (cl, "-fsdev", "proxy", "id", "f0", NULL);
    g_assert_false (ql_qemu_caps_check_cmdline (caps, cl, &error));
    g_assert_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_INCOMPATIBLE);
    g_assert_true (g_str_has_prefix (error->message, "-fsdev proxy: QEMU 9.2 has no -fsdev proxy (removed in 9.2)"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cmdline/syntax-table", test_syntax_table);
  g_test_add_func ("/cmdline/keyval-escaping", test_keyval_escaping);
  g_test_add_func ("/cmdline/verbatim-not-escaped", test_verbatim_not_escaped);
  g_test_add_func ("/cmdline/typed-values", test_typed_values);
  g_test_add_func ("/cmdline/empty-keyval-left-out", test_empty_keyval_left_out);
  g_test_add_func ("/cmdline/machine-option", test_machine_option);
  g_test_add_func ("/cmdline/machine-option-creates-machine", test_machine_option_creates_machine);
  g_test_add_func ("/cmdline/rejects-line-breaks", test_rejects_line_breaks);
  g_test_add_func ("/cmdline/rejects-bad-key-and-empty-verbatim", test_rejects_bad_key_and_empty_verbatim);
  g_test_add_func ("/cmdline/fds-numbered-from-three", test_fds_numbered_from_three);
  g_test_add_func ("/cmdline/find-option", test_find_option);
  g_test_add_func ("/cmdline/escape-value", test_escape_value);
  g_test_add_func ("/cmdline/json-forms", test_json_forms);
  g_test_add_func ("/cmdline/json-clash", test_json_clash);
  g_test_add_func ("/cmdline/list/keyval", test_list_keyval);
  g_test_add_func ("/cmdline/list/json", test_list_json);
  g_test_add_func ("/cmdline/list/misuse", test_list_misuse);
  g_test_add_func ("/cmdline/list/qmp", test_list_qmp);
  g_test_add_func ("/cmdline/qemu-versions", test_qemu_versions);
  return g_test_run ();
}
