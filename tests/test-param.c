/* Unit tests: values read from text (sizes, booleans, enums, fd lists),
 * ids and PCI addresses. */
#include <qlaunch/qlaunch.h>

#include <string.h>

static void
test_parse_size (void)
{
  g_autoptr(GError) error = NULL;
  guint64 v = 0;

  g_assert_true (ql_parse_size ("512M", 1, &v, NULL));
  g_assert_cmpuint (v, ==, G_GUINT64_CONSTANT (512) << 20);
  g_assert_true (ql_parse_size ("2g", 1, &v, NULL));
  g_assert_cmpuint (v, ==, G_GUINT64_CONSTANT (2) << 30);
  g_assert_true (ql_parse_size ("1T", 1, &v, NULL));
  g_assert_cmpuint (v, ==, G_GUINT64_CONSTANT (1) << 40);
  g_assert_true (ql_parse_size ("4096", 1, &v, NULL));
  g_assert_cmpuint (v, ==, 4096);
  g_assert_true (ql_parse_size ("256", 1 << 20, &v, NULL));
  g_assert_cmpuint (v, ==, G_GUINT64_CONSTANT (256) << 20);
  g_assert_true (ql_parse_size ("4096B", 1 << 20, &v, NULL));
  g_assert_cmpuint (v, ==, 4096);

  g_assert_false (ql_parse_size ("12Q", 1, &v, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "'12Q'"));
  g_clear_error (&error);
  g_assert_false (ql_parse_size ("", 1, &v, &error));
  g_clear_error (&error);
  g_assert_false (ql_parse_size ("-1M", 1, &v, &error));
  g_clear_error (&error);
  g_assert_false (ql_parse_size ("1MB", 1, &v, &error));
  g_clear_error (&error);
  g_assert_false (ql_parse_size ("99999999999999999999", 1, &v, &error));
  g_clear_error (&error);
  g_assert_false (ql_parse_size ("17179869184T", 1, &v, &error));   /* overflows */
  g_clear_error (&error);
}

static void
test_format_size (void)
{
  struct { guint64 bytes; const char *text; } cases[] = {
    { 0, "0" }, { 512, "512B" }, { 1024, "1K" }, { 1536, "1536B" },
    { G_GUINT64_CONSTANT (256) << 20, "256M" }, { G_GUINT64_CONSTANT (3) << 30, "3G" },
    { G_GUINT64_CONSTANT (2048) << 40, "2048T" }, { (G_GUINT64_CONSTANT (1) << 30) + (1 << 20), "1025M" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = ql_format_size (cases[i].bytes);
      guint64 back = 0;

      g_assert_cmpstr (s, ==, cases[i].text);
      g_assert_true (ql_parse_size (s, 1, &back, NULL));
      g_assert_cmpuint (back, ==, cases[i].bytes);
    }
}

static void
check_value (GParamSpec *pspec, const char *text, gboolean ok)
{
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  gboolean result = ql_param_value_from_string (pspec, text, &value, &error);

  if (ok)
    g_assert_no_error (error);
  else
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_cmpint (result, ==, ok);
}

static void
test_values_from_text (void)
{
  g_autoptr(GParamSpec) b = g_param_spec_ref_sink (g_param_spec_boolean ("b", NULL, "b", FALSE, G_PARAM_READWRITE));
  g_autoptr(GParamSpec) u = g_param_spec_ref_sink (g_param_spec_uint ("u", NULL, "u", 1, 255, 1, G_PARAM_READWRITE));
  g_autoptr(GParamSpec) i = g_param_spec_ref_sink (g_param_spec_int ("i", NULL, "i", -1, 10, -1, G_PARAM_READWRITE));
  g_autoptr(GParamSpec) e = g_param_spec_ref_sink (g_param_spec_enum ("e", NULL, "e", QL_TYPE_RTC_CLOCK,
                                                                     QL_RTC_CLOCK_DEFAULT, G_PARAM_READWRITE));
  g_autoptr(GParamSpec) sz = g_param_spec_ref_sink (ql_param_spec_size ("sz", NULL, "sz", 1, 1 << 20, 1, G_PARAM_READWRITE));
  g_autoptr(GParamSpec) s = g_param_spec_ref_sink (g_param_spec_string ("s", NULL, "s", NULL, G_PARAM_READWRITE));

  check_value (b, "true", TRUE);
  check_value (b, "off", TRUE);
  check_value (b, "yes", TRUE);
  check_value (b, "0", TRUE);
  check_value (b, "maybe", FALSE);
  check_value (u, "255", TRUE);
  check_value (u, "256", FALSE);       /* out of range: an error, not a GObject warning */
  check_value (u, "0", FALSE);
  check_value (u, "-1", FALSE);
  check_value (u, "1x", FALSE);
  check_value (i, "-1", TRUE);
  check_value (i, "11", FALSE);
  check_value (e, "host", TRUE);
  check_value (e, "nope", FALSE);
  check_value (sz, "1M", TRUE);
  check_value (sz, "2M", FALSE);
  check_value (sz, "12Q", FALSE);
  check_value (s, "line\nbreak", FALSE);
  check_value (s, "a,b", TRUE);
}

static void
test_fd_list (void)
{
  g_autoptr(GParamSpec) p = g_param_spec_ref_sink (g_param_spec_boxed ("fds", NULL, "fds", QL_TYPE_FD_LIST,
                                                                      G_PARAM_READWRITE));
  g_auto(GValue) value = G_VALUE_INIT;
  g_autofree char *text = NULL;
  QlFdList *list;

  g_assert_true (ql_param_value_from_string (p, "5;6:7", &value, NULL));
  list = g_value_get_boxed (&value);
  g_assert_cmpuint (ql_fd_list_get_length (list), ==, 3);
  g_assert_cmpint (ql_fd_list_get (list, 2), ==, 7);
  text = ql_param_value_to_string (p, &value);
  g_assert_cmpstr (text, ==, "5;6;7");
  check_value (p, "5;x", FALSE);
  check_value (p, "-3", FALSE);
}

static void
test_ids_and_pci_addrs (void)
{
  g_assert_true (ql_is_valid_id ("s_0.a-b"));
  g_assert_true (ql_is_valid_id ("n"));
  g_assert_false (ql_is_valid_id ("0s"));
  g_assert_false (ql_is_valid_id ("s,0"));
  g_assert_false (ql_is_valid_id (""));
  g_assert_false (ql_is_valid_id (NULL));

  g_assert_true (ql_is_valid_pci_addr ("5"));
  g_assert_true (ql_is_valid_pci_addr ("1e"));
  g_assert_true (ql_is_valid_pci_addr ("1f.7"));
  g_assert_true (ql_is_valid_pci_addr ("02.1"));
  g_assert_false (ql_is_valid_pci_addr ("20"));
  g_assert_false (ql_is_valid_pci_addr ("1.8"));
  g_assert_false (ql_is_valid_pci_addr ("0x5"));
  g_assert_false (ql_is_valid_pci_addr ("1.2.3"));
  g_assert_false (ql_is_valid_pci_addr ("."));
  g_assert_false (ql_is_valid_pci_addr (""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/param/parse-size", test_parse_size);
  g_test_add_func ("/param/format-size", test_format_size);
  g_test_add_func ("/param/values-from-text", test_values_from_text);
  g_test_add_func ("/param/fd-list", test_fd_list);
  g_test_add_func ("/param/ids-and-pci-addrs", test_ids_and_pci_addrs);
  return g_test_run ();
}
