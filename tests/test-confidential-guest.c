/* qlaunch tests — the `confidential-guest` device (confidential plugin):
 * every output form, every rule, the QEMU version gate, the host checks
 * against fake hosts with and without SEV, and the template refusal. */
#include "ql-device-test.h"

/* A q35 KVM VM with 512M of RAM and @probe as its host. */
static QlVmConfig *
cvm_vm_new (QlHostProbe *probe)
{
  QlVmConfig *vm = test_vm_new (probe);

  g_object_set (vm,
                "machine-type", "q35",
                "machine-acceleration", "kvm",
                "memory-size", (guint64) 512 << 20,
                NULL);
  return vm;
}

/* A sev-guest with the two properties it needs (cbitpos 51,
 * reduced-phys-bits 1) and the NULL-terminated key/value pairs after. */
static G_GNUC_NULL_TERMINATED QlDevice *
add_sev (QlVmConfig *vm,
         const char *id,
         ...)
{
  QlDevice *device = test_add_device (vm, "confidential-guest", id,
                                      "cbitpos", "51", "reduced-phys-bits", "1", NULL);
  const char *key;
  va_list ap;

  va_start (ap, id);
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);
      g_autoptr(GError) error = NULL;

      ql_device_set_property_from_string (device, key, value, &error);
      g_assert_no_error (error);
    }
  va_end (ap);
  return device;
}

#define assert_argv(vm, expected) \
  G_STMT_START {                                                   \
    g_autoptr(GError) _error = NULL;                               \
    g_autofree char *_text = ql_test_argv_string ((vm), &_error);  \
    g_assert_no_error (_error);                                    \
    g_assert_cmpstr (_text, ==, (expected));                       \
  } G_STMT_END

#define MACHINE_SEV0 "-machine\nq35,accel=kvm,confidential-guest-support=sev0\n-m\n512M\n"

/* 48 zero bytes, 32, 16, 96, 4096 in base64. */
#define B64_48 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define B64_32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define B64_16 "AAAAAAAAAAAAAAAAAAAAAA=="

static char *
zero_base64 (gsize bytes)
{
  g_autofree guchar *zeros = g_malloc0 (bytes);

  return g_base64_encode (zeros, bytes);
}

/* ---- output ---- */

static void
test_sev_minimal (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
  QlDevice *dev = add_sev (vm, "sev0", NULL);
  int object_type = -1;

  g_object_get (dev, "object-type", &object_type, NULL);
  g_assert_cmpint (object_type, ==, 0);
  assert_argv (vm,
               MACHINE_SEV0
               "-object\nsev-guest,id=sev0,cbitpos=51,reduced-phys-bits=1\n");
}

/* Every sev-guest property, in QEMU's order; policy in hex becomes a
 * number (QEMU's JSON form of -object takes numbers only). */
static void
test_sev_all_options (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);

  add_sev (vm, "sev0",
           "object-type", "sev-guest",
           "kernel-hashes", "true",
           "handle", "7",
           "policy", "0x5",
           "session-file", "/srv/sev/session.b64",
           "dh-cert-file", "/srv/sev/godh.b64",
           "sev-device", "/dev/sev",
           NULL);
  assert_argv (vm,
               MACHINE_SEV0
               "-object\nsev-guest,id=sev0,sev-device=/dev/sev,dh-cert-file=/srv/sev/godh.b64,"
               "session-file=/srv/sev/session.b64,policy=5,handle=7,cbitpos=51,reduced-phys-bits=1,"
               "kernel-hashes=on\n");
}

/* A ',' in a file name cannot add options to the object. */
static void
test_sev_comma_escaping (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);

  add_sev (vm, "sev0", "dh-cert-file", "/c,policy=0", NULL);
  assert_argv (vm,
               MACHINE_SEV0
               "-object\nsev-guest,id=sev0,dh-cert-file=/c,,policy=0,cbitpos=51,reduced-phys-bits=1\n");
}

/* The machine's own options stay, the device's joins them. */
static void
test_machine_options_kept (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);

  g_object_set (vm, "machine-options", "hpet=off", NULL);
  add_sev (vm, "sev0", "policy", "1", NULL);
  assert_argv (vm,
               "-machine\nq35,accel=kvm,hpet=off,confidential-guest-support=sev0\n-m\n512M\n"
               "-object\nsev-guest,id=sev0,policy=1,cbitpos=51,reduced-phys-bits=1\n");
}

/* For a QEMU that has it (9.1), sev-snp-guest with every property; QEMU
 * 9.1 takes -object in JSON, so numbers and booleans are typed. */
static void
test_snp_all_options (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
  g_autofree char *id_block = zero_base64 (96);
  g_autofree char *id_auth = zero_base64 (4096);
  g_autofree char *expected = NULL;

  ql_vm_config_set_qemu_version (vm, 9, 1);
  add_sev (vm, "snp0",
           "object-type", "sev-snp-guest",
           "policy", "0x30000",
           "guest-visible-workarounds", B64_16,
           "id-block", id_block,
           "id-auth", id_auth,
           "author-key-enabled", "true",
           "host-data", B64_32,
           "vcek-disabled", "false",
           "kernel-hashes", "false",
           NULL);
  expected = g_strdup_printf ("-machine\nq35,accel=kvm,confidential-guest-support=snp0\n-m\n512M\n"
                              "-object\n{\"qom-type\":\"sev-snp-guest\",\"id\":\"snp0\",\"cbitpos\":51,"
                              "\"reduced-phys-bits\":1,\"kernel-hashes\":false,\"policy\":196608,"
                              "\"guest-visible-workarounds\":\"%s\",\"id-block\":\"%s\",\"id-auth\":\"%s\","
                              "\"author-key-enabled\":true,\"host-data\":\"%s\",\"vcek-disabled\":false}\n",
                              B64_16, id_block, id_auth, B64_32);
  assert_argv (vm, expected);
}

/* tdx-guest (QEMU 10.1): the quote generation socket is a SocketAddress,
 * a nested object in JSON. cbitpos and reduced-phys-bits are SEV's. */
static void
test_tdx_all_options (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);

  ql_vm_config_set_qemu_version (vm, 10, 1);
  test_add_device (vm, "confidential-guest", "tdx0",
                   "object-type", "tdx-guest",
                   "attributes", "0x10000000",
                   "sept-ve-disable", "true",
                   "mrconfigid", B64_48,
                   "mrowner", B64_48,
                   "mrownerconfig", B64_48,
                   "quote-generation-socket", "/run/qgs.sock",
                   NULL);
  assert_argv (vm,
               "-machine\nq35,accel=kvm,confidential-guest-support=tdx0\n-m\n512M\n"
               "-object\n{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"attributes\":268435456,"
               "\"sept-ve-disable\":true,\"mrconfigid\":\"" B64_48 "\",\"mrowner\":\"" B64_48 "\","
               "\"mrownerconfig\":\"" B64_48 "\","
               "\"quote-generation-socket\":{\"type\":\"unix\",\"path\":\"/run/qgs.sock\"}}\n");
}

/* In a VM file, relative file names are relative to the VM file. */
static void
test_relative_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_data (
    "[machine]\ntype = q35\nacceleration = kvm\n"
    "[device sev0]\ntype = confidential-guest\ncbitpos = 47\nreduced-phys-bits = 1\n"
    "dh-cert-file = certs/godh.b64\nsession-file = session.b64\n",
    -1, "cvm.vm", "/srv/vms", test_registry, &error);
  g_assert_no_error (error);
  ql_vm_config_set_host_probe (vm, NULL);
  assert_argv (vm,
               "-machine\nq35,accel=kvm,confidential-guest-support=sev0\n"
               "-object\nsev-guest,id=sev0,dh-cert-file=/srv/vms/certs/godh.b64,"
               "session-file=/srv/vms/session.b64,cbitpos=47,reduced-phys-bits=1\n");
}

/* ---- rules ---- */

static void
test_rule_property_of_another_type (void)
{
  struct
  {
    const char *object_type;
    const char *key;
    const char *value;
    const char *message;
  } cases[] = {
    { "sev-snp-guest", "handle", "1",
      "QEMU's sev-snp-guest has no property 'handle', a property of sev-guest: remove it or change object-type" },
    { "sev-snp-guest", "dh-cert-file", "/c", "a property of sev-guest:" },
    { "sev-guest", "id-block", "x", "QEMU's sev-guest has no property 'id-block', a property of sev-snp-guest:" },
    { "sev-guest", "attributes", "1", "a property of tdx-guest:" },
    { "tdx-guest", "cbitpos", "51",
      "QEMU's tdx-guest has no property 'cbitpos', a property of sev-guest and sev-snp-guest:" },
    { "tdx-guest", "policy", "1", "a property of sev-guest and sev-snp-guest:" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "confidential-guest", "cvm0",
                                       "object-type", cases[i].object_type,
                                       cases[i].key, cases[i].value, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, cases[i].key, cases[i].message);
    }
}

static void
test_rule_cbitpos_reduced_phys_bits (void)
{
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "confidential-guest", "sev0", "reduced-phys-bits", "1", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "cbitpos",
                         "not set: set cbitpos to the host's C-bit position");
  }
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "confidential-guest", "sev0",
                                     "cbitpos", "0", "reduced-phys-bits", "1", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "cbitpos",
                         "0 is no C-bit position: set cbitpos to the host's");
  }
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "confidential-guest", "sev0",
                                     "object-type", "sev-snp-guest", "cbitpos", "51", NULL);

    ql_vm_config_set_qemu_version (vm, 9, 1);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "reduced-phys-bits",
                         "not set: set reduced-phys-bits to the physical address bits the host loses with sev-snp-guest");
  }
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "confidential-guest", "sev0",
                                     "cbitpos", "51", "reduced-phys-bits", "0", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "reduced-phys-bits",
                         "0 is too few: sev-guest takes at least 1 physical address bit (1 on AMD EPYC)");
  }
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
  QlDevice *dev = add_sev (vm, "sev0", NULL);

  test_assert_bad_text (dev, "object-type", "sev");
  test_assert_bad_text (dev, "object-type", "pef-guest");
  test_assert_bad_text (dev, "cbitpos", "64");
  test_assert_bad_text (dev, "cbitpos", "-1");
  test_assert_bad_text (dev, "reduced-phys-bits", "64");
  test_assert_bad_text (dev, "handle", "4294967296");
  test_assert_bad_text (dev, "kernel-hashes", "maybe");
  test_assert_bad_text (dev, "policy", "1\n2");
}

static void
test_rule_policy (void)
{
  struct
  {
    const char *object_type;
    const char *policy;
    const char *message;
  } cases[] = {
    { "sev-guest", "0x", "'0x' is not a sev-guest policy: expected a 32-bit unsigned integer" },
    { "sev-guest", "one", "'one' is not a sev-guest policy" },
    { "sev-guest", "-1", "'-1' is not a sev-guest policy" },
    { "sev-guest", "0x100000000", "'0x100000000' is not a sev-guest policy: expected a 32-bit" },
    { "sev-snp-guest", "0x10000000000000000", "is not a sev-snp-guest policy: expected a 64-bit" },
    { "sev-snp-guest", "0x10000",
      "'0x10000' leaves bit 17 clear, which the SEV-SNP firmware requires set (QEMU's default policy is 0x30000)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      QlDevice *dev = add_sev (vm, "sev0", "object-type", cases[i].object_type,
                               "policy", cases[i].policy, NULL);

      ql_vm_config_set_qemu_version (vm, 9, 1);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "policy", cases[i].message);
    }
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = add_sev (vm, "sev0", "policy", "0xFFFFFFFF", NULL);

    test_assert_valid (vm, dev);
  }
}

static void
test_rule_tdx_values (void)
{
  struct
  {
    const char *key;
    const char *value;
    const char *message;
  } cases[] = {
    { "attributes", "0x1g", "'0x1g' is not TD attributes: expected a 64-bit unsigned integer" },
    { "mrowner", "AAAA", "'AAAA' is not a 48-byte SHA-384 digest in base64 (48 bytes encode to 64 characters)" },
    { "mrconfigid", B64_48 "!", "is not a 48-byte SHA-384 digest in base64" },
    { "mrownerconfig", "A=AA", "'A=AA' is not a 48-byte SHA-384 digest in base64" },
    { "quote-generation-socket", "qgs.sock",
      "'qgs.sock' is not an absolute path to the Quote Generation Service's Unix socket" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "confidential-guest", "tdx0", "object-type", "tdx-guest",
                                       cases[i].key, cases[i].value, NULL);

      ql_vm_config_set_qemu_version (vm, 10, 1);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, cases[i].key, cases[i].message);
    }
}

static void
test_rule_snp_base64 (void)
{
  struct
  {
    const char *key;
    const char *value;
    const char *message;
  } cases[] = {
    { "host-data", B64_16, "is not 32 bytes of host data in base64 (32 bytes encode to 44 characters)" },
    { "guest-visible-workarounds", B64_32, "is not the 16-byte guest-visible workarounds in base64" },
    { "id-block", "", "'' is not the 96-byte SNP ID block in base64 (96 bytes encode to 128 characters)" },
    { "id-auth", B64_16, "is not the 4096-byte SNP ID authentication information structure in base64 (4096 bytes encode to 5464 characters)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      QlDevice *dev = add_sev (vm, "snp0", "object-type", "sev-snp-guest", cases[i].key, cases[i].value, NULL);

      ql_vm_config_set_qemu_version (vm, 9, 1);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, cases[i].key, cases[i].message);
    }
}

/* One confidential guest a VM: the second one is refused. */
static void
test_rule_one_per_vm (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
  QlDevice *first = add_sev (vm, "sev0", NULL);
  QlDevice *second = add_sev (vm, "sev1", NULL);

  test_assert_valid (vm, first);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_DUPLICATE, "object-type",
                       "device 'sev0' is a confidential guest already: a VM has at most one (the machine's confidential-guest-support)");
}

static void
test_rule_machine_options (void)
{
  const char *options[] = { "confidential-guest-support=other", "memory-encryption=sev9" };
  const char *messages[] = {
    "[machine] options sets confidential-guest-support='other', but qlaunch adds confidential-guest-support for this device: remove it from options",
    "[machine] options sets memory-encryption='sev9'",
  };

  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      QlDevice *dev = add_sev (vm, "sev0", NULL);

      g_object_set (vm, "machine-options", options[i], NULL);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "object-type", messages[i]);
    }
}

/* SEV needs KVM; QEMU 7.2 aborts under TCG (an assertion), so TCG,
 * a TCG fallback and the default (TCG) are refused. */
static void
test_rule_needs_kvm (void)
{
  const char *accels[] = { NULL, "tcg", "kvm:tcg" };
  const char *messages[] = {
    "sev-guest needs KVM (the CPU encrypts guest memory), and [machine] acceleration is not set, so QEMU uses TCG: set acceleration = kvm",
    "sev-guest needs KVM (the CPU encrypts guest memory), but [machine] acceleration is 'tcg': set acceleration = kvm (alone: no fallback to TCG)",
    "but [machine] acceleration is 'kvm:tcg'",
  };

  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      QlDevice *dev = add_sev (vm, "sev0", NULL);

      g_object_set (vm, "machine-acceleration", accels[i], NULL);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "object-type", messages[i]);
    }
}

static void
test_rule_memory_hotplug (void)
{
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = add_sev (vm, "sev0", NULL);

    g_object_set (vm, "memory-slots", 2, "memory-max-mem", (guint64) 1 << 30, NULL);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "object-type",
                         "memory hot-plug cannot work with encrypted guest memory (memory added later is not encrypted and measured at launch), and [memory] sets slots: remove slots and max-mem");
  }
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = add_sev (vm, "sev0", NULL);

    g_object_set (vm, "memory-max-mem", (guint64) 1 << 30, NULL);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "object-type", "and [memory] sets max-mem");
  }
  {
    /* An nvdimm needs slots too: the nvdimm is named either way. */
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = add_sev (vm, "sev0", NULL);
    g_autoptr(GError) error = NULL;

    test_add_device (vm, "memory-object", "mem0", "device-id", "nv0", "mem-path", "/nv.img", "size", "4K", NULL);
    g_assert_false (ql_device_valid (dev, vm, &error));
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
    g_assert_cmpstr (error->message, ==,
                     "device 'sev0': property 'object-type': memory hot-plug cannot work with encrypted guest memory, and device 'mem0' is an nvdimm (a memory device in a hot-plug slot): remove it");
  }
}

static void
test_rule_shared_memory (void)
{
  const char *knobs[] = { "knobs-hugepages", "knobs-file-backed-mem-shared" };
  const char *messages[] = {
    "guest RAM shared with another process cannot be encrypted, and [knobs] hugepages maps it shared (share=on): turn it off",
    "and [knobs] file-backed-mem-shared maps it shared (share=on)",
  };

  for (guint i = 0; i < G_N_ELEMENTS (knobs); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      QlDevice *dev = add_sev (vm, "sev0", NULL);

      g_object_set (vm, knobs[i], TRUE, NULL);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "object-type", messages[i]);
    }
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = add_sev (vm, "sev0", NULL);

    test_add_device (vm, "vhost-user", "vu0", "vhost-user-type", "blk", "socket-path", "/run/vu.sock", NULL);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "object-type",
                         "device 'vu0' is a vhost-user device, whose backend process maps guest RAM shared: encrypted guest memory cannot be shared with another process");
  }
  {
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = add_sev (vm, "sev0", NULL);

    test_add_device (vm, "virtio-fs", "fs0", "path", "/srv/share", "tag", "share", NULL);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "object-type",
                         "device 'fs0' is a virtio-fs device, whose backend process maps guest RAM shared");
  }
  {
    /* Private file-backed RAM is fine. */
    g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
    QlDevice *dev = add_sev (vm, "sev0", NULL);

    g_object_set (vm, "knobs-file-backed-mem", TRUE, "memory-path", "/dev/shm", NULL);
    test_assert_valid (vm, dev);
  }
}

/* ---- the QEMU version gate ---- */

static void
test_version_gate (void)
{
  struct
  {
    guint major, minor;
    const char *object_type;
    const char *message;   /* NULL: accepted */
  } cases[] = {
    { 7, 2, "sev-guest", NULL },
    { 7, 2, "sev-snp-guest",
      "device 'cvm0': property 'object-type': QEMU 7.2 has no object type 'sev-snp-guest' (QEMU has it since 9.1); the confidential-guest object types it offers: sev-guest" },
    { 7, 2, "tdx-guest",
      "device 'cvm0': property 'object-type': QEMU 7.2 has no object type 'tdx-guest' (QEMU has it since 10.1); the confidential-guest object types it offers: sev-guest" },
    { 9, 1, "sev-snp-guest", NULL },
    { 10, 0, "tdx-guest",
      "device 'cvm0': property 'object-type': QEMU 10.0 has no object type 'tdx-guest' (QEMU has it since 10.1); the confidential-guest object types it offers: sev-guest, sev-snp-guest" },
    { 10, 1, "tdx-guest", NULL },
    { 11, 0, "sev-snp-guest", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
      gboolean tdx = g_str_equal (cases[i].object_type, "tdx-guest");
      QlDevice *dev = tdx ? test_add_device (vm, "confidential-guest", "cvm0", "object-type", "tdx-guest", NULL)
                          : add_sev (vm, "cvm0", "object-type", cases[i].object_type, NULL);
      g_autoptr(GError) error = NULL;

      ql_vm_config_set_qemu_version (vm, cases[i].major, cases[i].minor);
      if (cases[i].message == NULL)
        {
          test_assert_valid (vm, dev);
          continue;
        }
      g_assert_false (ql_device_valid (dev, vm, &error));
      g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNSUPPORTED);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

/* ---- the host (fake) ---- */

/* A host with KVM, SEV on in kvm_amd, /dev/sev usable. */
static QlHostProbe *
sev_host_new (void)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();

  ql_fake_host_probe_set_kvm (probe, TRUE);
  ql_fake_host_probe_set_module_parameter (probe, "kvm_amd", "sev", "Y");
  ql_fake_host_probe_set_device_usable (probe, "/dev/sev", TRUE);
  return probe;
}

static void
test_host_sev_present (void)
{
  g_autoptr(QlHostProbe) probe = sev_host_new ();
  g_autoptr(QlVmConfig) vm = cvm_vm_new (probe);
  QlDevice *dev = add_sev (vm, "sev0", NULL);

  test_assert_valid (vm, dev);
  /* "1" is on too (kvm_amd shows its sev parameter as Y or 1 by kernel). */
  ql_fake_host_probe_set_module_parameter (probe, "kvm_amd", "sev", "1");
  test_assert_valid (vm, dev);
}

/* An Intel host, or AMD without kvm_amd: no /sys/module/kvm_amd. */
static void
test_host_sev_absent (void)
{
  g_autoptr(QlHostProbe) probe = sev_host_new ();
  g_autoptr(QlVmConfig) vm = cvm_vm_new (probe);
  QlDevice *dev = add_sev (vm, "sev0", NULL);

  ql_fake_host_probe_set_module_parameter (probe, "kvm_amd", "sev", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "object-type",
                       "this host has no AMD SEV for sev-guest: /sys/module/kvm_amd/parameters/sev cannot be read "
                       "(Failed to open file “/sys/module/kvm_amd/parameters/sev”: No such file or directory)");
}

static void
test_host_sev_off (void)
{
  g_autoptr(QlHostProbe) probe = sev_host_new ();
  g_autoptr(QlVmConfig) vm = cvm_vm_new (probe);
  QlDevice *dev = add_sev (vm, "sev0", NULL);

  ql_fake_host_probe_set_module_parameter (probe, "kvm_amd", "sev", "N");
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "object-type",
                       "this host has AMD SEV turned off for sev-guest: /sys/module/kvm_amd/parameters/sev is 'N' "
                       "(load kvm_amd with sev=1, on a CPU and firmware that support it)");
}

/* SEV on, but the SEV device node does not open (QEMU: "sev_kvm_init:
 * Failed to open /dev/sev 'No such file or directory'"). */
static void
test_host_sev_device (void)
{
  g_autoptr(QlHostProbe) probe = sev_host_new ();
  g_autoptr(QlVmConfig) vm = cvm_vm_new (probe);
  QlDevice *dev = add_sev (vm, "sev0", NULL);

  ql_fake_host_probe_set_device_usable (probe, "/dev/sev", FALSE);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "sev-device",
                       "cannot open the SEV device '/dev/sev' read-write, as QEMU does: No such file or directory");

  g_object_set (dev, "sev-device", "/dev/sev1", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "sev-device", "the SEV device '/dev/sev1'");
  ql_fake_host_probe_set_device_usable (probe, "/dev/sev1", TRUE);
  test_assert_valid (vm, dev);
}

static void
test_host_files (void)
{
  const char *keys[] = { "dh-cert-file", "session-file" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(QlHostProbe) probe = sev_host_new ();
      g_autoptr(QlVmConfig) vm = cvm_vm_new (probe);
      QlDevice *dev = add_sev (vm, "sev0", keys[i], "/srv/sev/file.b64", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, keys[i],
                           "cannot read '/srv/sev/file.b64': No such file or directory");
      ql_fake_host_probe_set_file_readable (probe, "/srv/sev/file.b64", TRUE);
      test_assert_valid (vm, dev);
    }
}

/* SEV-SNP and TDX are read from their own parameters. */
static void
test_host_snp_tdx (void)
{
  {
    g_autoptr(QlHostProbe) probe = sev_host_new ();
    g_autoptr(QlVmConfig) vm = cvm_vm_new (probe);
    QlDevice *dev = add_sev (vm, "snp0", "object-type", "sev-snp-guest", NULL);

    ql_vm_config_set_qemu_version (vm, 9, 1);
    ql_fake_host_probe_set_module_parameter (probe, "kvm_amd", "sev_snp", "N");
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "object-type",
                         "this host has AMD SEV-SNP turned off for sev-snp-guest: /sys/module/kvm_amd/parameters/sev_snp is 'N'");
    ql_fake_host_probe_set_module_parameter (probe, "kvm_amd", "sev_snp", "Y");
    test_assert_valid (vm, dev);
  }
  {
    g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
    g_autoptr(QlVmConfig) vm = cvm_vm_new (probe);
    QlDevice *dev = test_add_device (vm, "confidential-guest", "tdx0", "object-type", "tdx-guest", NULL);

    ql_fake_host_probe_set_kvm (probe, TRUE);
    ql_vm_config_set_qemu_version (vm, 10, 1);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "object-type",
                         "this host has no Intel TDX for tdx-guest: /sys/module/kvm_intel/parameters/tdx cannot be read");
    /* TDX needs no /dev/sev. */
    ql_fake_host_probe_set_module_parameter (probe, "kvm_intel", "tdx", "Y");
    test_assert_valid (vm, dev);
  }
}

/* With host checks off nothing is asked: the argv is for another host. */
static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);

  test_assert_valid (vm, add_sev (vm, "sev0", "dh-cert-file", "/nowhere/godh.b64", NULL));
}

/* The real probe on this host reads the real /sys/module: what it says
 * agrees with the file. */
static void
test_host_real_probe (void)
{
  g_autoptr(QlHostProbe) probe = ql_host_probe_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *value = ql_host_probe_get_module_parameter (probe, "kvm_amd", "sev", &error);

  if (g_file_get_contents ("/sys/module/kvm_amd/parameters/sev", &contents, NULL, NULL))
    {
      g_assert_no_error (error);
      g_assert_cmpstr (value, ==, g_strchomp (contents));
    }
  else
    {
      g_assert_null (value);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      g_assert_nonnull (strstr (error->message, "/sys/module/kvm_amd/parameters/sev"));
    }
  g_clear_error (&error);
  g_clear_pointer (&value, g_free);
  value = ql_host_probe_get_module_parameter (probe, "..", "sev", &error);
  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* ---- hot-plug ---- */

/* Memory is encrypted from the launch on: the device cannot come later. */
static void
test_hotplug_refused (void)
{
  g_autoptr(QlVmConfig) vm = cvm_vm_new (NULL);
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "confidential-guest", "sev0", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = NULL;

  g_object_set (dev, "cbitpos", 51, "reduced-phys-bits", 1, NULL);
  plan = ql_hotplug_plan (dev, vm, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "device 'sev0' (type confidential-guest) cannot be hot-plugged: it sets machine options "
                   "(confidential-guest-support), which only apply at start-up");
}

/* ---- templates ---- */

static void
test_template_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *target = g_build_filename (dir, "tpl", NULL);
  g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_data (
    "[machine]\ntype = q35\nacceleration = kvm\n[memory]\nsize = 256M\n"
    "[device sev0]\ntype = confidential-guest\ncbitpos = 51\nreduced-phys-bits = 1\n",
    -1, "cvm.vm", dir, test_registry, &error);
  g_autoptr(QlTemplate) template = NULL;

  g_assert_no_error (error);
  template = ql_template_create (vm, target, NULL, 1000, NULL, &error);
  g_assert_null (template);
  g_assert_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "this VM cannot be a template: device 'sev0' is a confidential guest: its memory is "
                   "encrypted with a key of this launch only, and a template is saved guest memory that "
                   "every clone maps");
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  (void) test_device_lines;

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/confidential-guest/output/sev-minimal", test_sev_minimal);
  g_test_add_func ("/confidential-guest/output/sev-all-options", test_sev_all_options);
  g_test_add_func ("/confidential-guest/output/sev-comma-escaping", test_sev_comma_escaping);
  g_test_add_func ("/confidential-guest/output/machine-options-kept", test_machine_options_kept);
  g_test_add_func ("/confidential-guest/output/snp-all-options", test_snp_all_options);
  g_test_add_func ("/confidential-guest/output/tdx-all-options", test_tdx_all_options);
  g_test_add_func ("/confidential-guest/output/relative-files", test_relative_files);

  g_test_add_func ("/confidential-guest/rule/property-of-another-type", test_rule_property_of_another_type);
  g_test_add_func ("/confidential-guest/rule/cbitpos-reduced-phys-bits", test_rule_cbitpos_reduced_phys_bits);
  g_test_add_func ("/confidential-guest/rule/bad-text", test_rule_bad_text);
  g_test_add_func ("/confidential-guest/rule/policy", test_rule_policy);
  g_test_add_func ("/confidential-guest/rule/tdx-values", test_rule_tdx_values);
  g_test_add_func ("/confidential-guest/rule/snp-base64", test_rule_snp_base64);
  g_test_add_func ("/confidential-guest/rule/one-per-vm", test_rule_one_per_vm);
  g_test_add_func ("/confidential-guest/rule/machine-options", test_rule_machine_options);
  g_test_add_func ("/confidential-guest/rule/needs-kvm", test_rule_needs_kvm);
  g_test_add_func ("/confidential-guest/rule/memory-hotplug", test_rule_memory_hotplug);
  g_test_add_func ("/confidential-guest/rule/shared-memory", test_rule_shared_memory);
  g_test_add_func ("/confidential-guest/rule/version-gate", test_version_gate);

  g_test_add_func ("/confidential-guest/host/sev-present", test_host_sev_present);
  g_test_add_func ("/confidential-guest/host/sev-absent", test_host_sev_absent);
  g_test_add_func ("/confidential-guest/host/sev-off", test_host_sev_off);
  g_test_add_func ("/confidential-guest/host/sev-device", test_host_sev_device);
  g_test_add_func ("/confidential-guest/host/files", test_host_files);
  g_test_add_func ("/confidential-guest/host/snp-tdx", test_host_snp_tdx);
  g_test_add_func ("/confidential-guest/host/checks-off", test_host_checks_off);
  g_test_add_func ("/confidential-guest/host/real-probe", test_host_real_probe);

  g_test_add_func ("/confidential-guest/hotplug/refused", test_hotplug_refused);
  g_test_add_func ("/confidential-guest/template/refused", test_template_refused);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
