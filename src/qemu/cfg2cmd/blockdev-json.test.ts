import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { canonicalJson, nodeName, throttleGroupId, topNodeName } from './blockdev-json.js';

describe('nodeName (get_node_name)', () => {
  // the three hashes verified in spec §7.5
  it('matches the verified efidisk/scsi hashes', () => {
    expect(nodeName('fmt', 'efidisk0', 'local:100/vm-100-disk-0.raw')).toBe('f1175f2a490414e7c53337589fde17a');
    expect(nodeName('file', 'efidisk0', '/run/qemu-server/efidisk/8006-ovmf.fd')).toBe('e5ecb54a3863bf2f22d662c53f49ac4');
    expect(nodeName('file', 'scsi0', 'local:8006/vm-8006-disk-0.qcow2')).toBe('ecd04be4259153b8293415fefa2a84c');
  });

  it('uses the a/e/f/z prefixes and 31-character names', () => {
    const names = (['alloc-track', 'file', 'fmt', 'zeroinit'] as const).map((t) => nodeName(t, 'scsi0', 'x:1/vm-1-disk-0.raw'));
    expect(names.map((n) => n[0])).toEqual(['a', 'e', 'f', 'z']);
    expect(new Set(names.map((n) => n.slice(1))).size).toBe(1);
    for (const n of names) expect(n).toMatch(/^[aefz][0-9a-f]{30}$/);
  });

  it('adds snap= for snapshots except current (backing chain facts)', () => {
    // simple-backingchain: lvm-store snap2 / snap1 file nodes
    expect(nodeName('file', 'scsi1', 'lvm-store:vm-8006-disk-0.qcow2', 'snap2')).toBe('e9415bb5e484c1e25d25063b01686fe');
    expect(nodeName('file', 'scsi1', 'lvm-store:vm-8006-disk-0.qcow2', 'snap1')).toBe('e25f58d3e6e11f2065ad41253988915');
    expect(nodeName('file', 'scsi1', 'lvm-store:vm-8006-disk-0.qcow2', 'current')).toBe('e87358a470ca311f94d5cc61d1eb428');
  });

  it('names top nodes and throttle groups', () => {
    expect(topNodeName('ide2')).toBe('drive-ide2');
    expect(throttleGroupId('scsi0')).toBe('throttle-drive-scsi0');
  });
});

describe('canonicalJson (to_json canonical)', () => {
  it('sorts keys bytewise and prints compactly', () => {
    expect(
      canonicalJson({
        limits: {},
        'qom-type': 'throttle-group',
        id: 'throttle-drive-scsi0',
      }),
    ).toBe('{"id":"throttle-drive-scsi0","limits":{},"qom-type":"throttle-group"}');
    expect(
      canonicalJson({
        b: [1, 'x', true],
        a: { 'no-flush': false, direct: true },
        'A-': null,
      }),
    ).toBe('{"A-":null,"a":{"direct":true,"no-flush":false},"b":[1,"x",true]}');
    expect(canonicalJson({ 'read-only': true, 'node-name': 'n', 'no-flush': false })).toBe(
      '{"no-flush":false,"node-name":"n","read-only":true}',
    );
  });

  test.prop([fc.jsonValue()])('parses back to the same value', (value) => {
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  // the ASCII fast paths (default sort, quoting without JSON.stringify) must agree with the
  // definition: keys in UTF-8 byte order, strings escaped exactly as JSON.stringify does
  const byteOrder = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

  it('orders non-ASCII keys by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF61 sorts before U+1F600 in UTF-16 (0xFF61 > 0xD83D is false), after it in UTF-8
    const value = { '\u{1F600}': 1, '\uFF61': 2, a: 3 };
    expect(canonicalJson(value)).toBe('{"a":3,"\uFF61":2,"\u{1F600}":1}');
  });

  test.prop([fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 8 }))])(
    'sorts any keys bytewise and escapes any text like JSON.stringify',
    (dict) => {
      const expected = `{${byteOrder(Object.keys(dict))
        .map((k) => `${JSON.stringify(k)}:${JSON.stringify(dict[k])}`)
        .join(',')}}`;
      expect(canonicalJson(dict)).toBe(expected);
    },
  );

  it('tells apart key lists that join alike (remembered key orders)', () => {
    expect(canonicalJson({ '': {} })).toBe('{"":{}}');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson({ 'a\0b': 1, c: 2 })).toBe('{"a\\u0000b":1,"c":2}');
    expect(canonicalJson({ a: 1, 'b\0c': 2 })).toBe('{"a":1,"b\\u0000c":2}');
    expect(canonicalJson({ 'a\0b': 1, c: 2 })).toBe('{"a\\u0000b":1,"c":2}');
  });

  it('escapes quotes, backslashes and control characters in keys and values', () => {
    expect(canonicalJson({ 'a"b': 'c\\d', 'e\nf': '\u0001' })).toBe('{"a\\"b":"c\\\\d","e\\nf":"\\u0001"}');
  });
});

describe('nodeName memo', () => {
  it('keeps answering correctly past its bound', () => {
    const first = nodeName('file', 'scsi0', 'local:8006/vm-8006-disk-0.qcow2');
    for (let i = 0; i < 3000; i++) nodeName('fmt', `scsi${i % 31}`, `local:${i}/vm-${i}-disk-0.raw`);
    expect(nodeName('file', 'scsi0', 'local:8006/vm-8006-disk-0.qcow2')).toBe(first);
    expect(first).toBe('ecd04be4259153b8293415fefa2a84c');
  });
});
