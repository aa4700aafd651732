#!/usr/bin/env python3
"""Regenerates the seed corpora in tests/fuzz/corpus/ from the sources.

fuzz-vm-file:     every tests/golden/*.vm as is.
fuzz-device-spec: every [device ID] group of the golden files written as a
                  -d spec (TYPE,id=ID,key=value with ",," for a comma), and
                  every "-d", "SPEC" argument in tests/*.c.
fuzz-qmp:         replies and events from docs/qemu-7.2-qmp.md, each given
                  the ids the harness's pending commands have (ql-2, ql-3),
                  plus a few stream shapes (several lines, a STOP event).
fuzz-argv:        choice streams (the harness builds the configuration from
                  the bytes): empty, all zeros, all 0xff, and pseudo-random
                  bytes of a few lengths in strict mode (first byte not
                  7 mod 8) and wild mode (7 mod 8), from a fixed seed.

Run from anywhere: python3 tests/fuzz/make-corpus.py
"""
import configparser
import glob
import hashlib
import json
import os
import random
import re

src = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
out = os.path.join(src, 'tests', 'fuzz', 'corpus')


def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    if name is None:
        name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def escape(value):
    return value.replace(',', ',,')


# Regenerated seeds are replaced; regression inputs (the reproducers of
# fixed bugs: *-crash-*, *-regress-*, leak-*) are kept, since they cannot be
# regenerated.
KEEP = ('-crash-', '-regress-', 'leak-')
for target in glob.glob(os.path.join(out, '*')):
    for path in glob.glob(os.path.join(target, '*')):
        if not any(k in os.path.basename(path) for k in KEEP):
            os.unlink(path)

# fuzz-vm-file and the device groups for fuzz-device-spec
specs = set()
for path in sorted(glob.glob(os.path.join(src, 'tests', 'golden', '*.vm'))):
    text = open(path, encoding='utf-8').read()
    write('fuzz-vm-file', os.path.basename(path), text)
    kf = configparser.RawConfigParser(strict=False, delimiters=('=',),
                                      comment_prefixes=('#',), interpolation=None)
    kf.optionxform = str
    try:
        kf.read_string(text)
    except configparser.Error:
        continue
    for group in kf.sections():
        if not group.startswith('device '):
            continue
        items = dict(kf.items(group))
        dtype = items.pop('type', None)
        if not dtype:
            continue
        parts = [dtype, 'id=' + escape(group[len('device '):].strip())]
        parts += ['%s=%s' % (k, escape(v.strip())) for k, v in items.items()]
        specs.add(','.join(parts))

for path in sorted(glob.glob(os.path.join(src, 'tests', '*.c'))):
    for m in re.finditer(r'"-d",\s*"((?:[^"\\]|\\.)*)"', open(path, encoding='utf-8').read()):
        specs.add(m.group(1).encode().decode('unicode_escape'))
for spec in sorted(specs):
    write('fuzz-device-spec', None, spec)

# fuzz-qmp
lines = set()
for line in open(os.path.join(src, 'docs', 'qemu-7.2-qmp.md'), encoding='utf-8'):
    m = re.search(r'(\{.*\})', line)
    if not m:
        continue
    candidate = m.group(1)
    # Trailing remarks after the JSON: cut at the last balanced brace.
    for end in range(len(candidate), 0, -1):
        try:
            obj = json.loads(candidate[:end])
            break
        except ValueError:
            continue
    else:
        continue
    if isinstance(obj, dict) and ('return' in obj or 'error' in obj or 'event' in obj):
        lines.add(json.dumps(obj, sort_keys=True))
stop = '{"event": "STOP", "timestamp": {"seconds": 1700000000, "microseconds": 1}}'
for line in sorted(lines):
    obj = json.loads(line)
    if 'event' in obj:
        obj.setdefault('timestamp', {'seconds': 1700000000, 'microseconds': 5})
        write('fuzz-qmp', None, json.dumps(obj) + '\n')
        continue
    for i in (2, 3):
        obj['id'] = 'ql-%d' % i
        write('fuzz-qmp', None, json.dumps(obj) + '\n')
    write('fuzz-qmp', None, json.dumps(dict(obj, id='ql-2')) + '\n'
          + json.dumps(dict(obj, id='ql-3')) + '\n' + stop + '\n')
write('fuzz-qmp', 'all-answered',
      '{"return": {"running": true, "singlestep": false, "status": "running"}, "id": "ql-2"}\n'
      '{"return": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "id": "ql-3"}\n'
      + stop + '\n')
write('fuzz-qmp', 'error-reply',
      '{"error": {"class": "CommandNotFound", "desc": "The command x has not been found"}, "id": "ql-2"}\n')
write('fuzz-qmp', 'half-message', '{"return": {}, "id": "ql-2"')
write('fuzz-qmp', 'second-greeting',
      '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\n')
write('fuzz-qmp', 'empty', '')

# fuzz-argv
write('fuzz-argv', 'empty', b'')
write('fuzz-argv', 'zeros', bytes(256))
write('fuzz-argv', 'ones', b'\xff' * 256)
rng = random.Random(20261126)
for mode, first in (('strict', 0), ('wild', 7)):
    for length in (16, 64, 256, 1024, 4096):
        for n in range(2):
            data = bytes([first]) + bytes(rng.randrange(256) for _ in range(length - 1))
            write('fuzz-argv', '%s-%d-%d' % (mode, length, n), data)
