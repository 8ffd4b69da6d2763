/**
 * @module schema/formats/formats.test
 * Every registered common named format: accepted values and PVE's rejection text.
 */
import { describe, expect, it } from 'vitest';
import { getFormat } from '../index.js';
import type { FormatVerifier } from '../types.js';

function verifier(name: string): FormatVerifier {
  const format = getFormat(name);
  expect(typeof format, name).toBe('function');
  return format as FormatVerifier;
}

/** [format, valid values, invalid value, PVE error text for it] */
const cases: [string, string[], string, string][] = [
  [
    'mac-addr',
    ['BC:24:11:00:00:01', 'aa:bb:cc:dd:ee:ff', '02:00:00:00:00:00'],
    '01:00:00:00:00:00',
    'value does not look like a valid unicast MAC address',
  ],
  ['ipv4', ['10.0.0.1', '255.255.255.255', '0.0.0.0'], '256.1.1.1', 'value does not look like a valid IPv4 address'],
  ['ipv4', [], '01.1.1.1', 'value does not look like a valid IPv4 address'],
  [
    'ipv6',
    ['::', '::1', 'fe80::1', '2001:db8::ff00:42:8329', '::ffff:192.0.2.1', '1:2:3:4:5:6:7:8'],
    '1:2:3:4:5:6:7:8:9',
    'value does not look like a valid IPv6 address',
  ],
  ['ip', ['10.1.1.1', 'fe80::1'], 'host', 'value does not look like a valid IP address'],
  ['CIDR', ['10.0.0.0/8', '192.168.1.5/24', '2001:db8::/32', 'fe80::1/128'], '10.0.0.0/7', 'value does not look like a valid CIDR network'],
  ['CIDRv4', ['10.0.0.0/32'], '10.0.0.0/33', 'value does not look like a valid IPv4 CIDR network'],
  ['CIDRv6', ['::/8'], '::/129', 'value does not look like a valid IPv6 CIDR network'],
  [
    'ipv4mask',
    ['255.255.255.0', '0.0.0.0', '255.255.255.255', '255.128.0.0'],
    '255.0.255.0',
    'value does not look like a valid IP netmask',
  ],
  ['pve-ipv4-config', ['dhcp', 'manual', '10.0.0.2/24'], 'auto', 'value does not look like a valid ipv4 network configuration'],
  ['pve-ipv6-config', ['auto', 'dhcp', 'manual', 'fd00::2/64'], 'fd00::2', 'value does not look like a valid ipv6 network configuration'],
  ['dns-name', ['example.com', 'a', 'a-b.c1'], 'a..b', 'value does not look like a valid DNS name'],
  ['dns-name', [], '-foo', 'value does not look like a valid DNS name'],
  ['address', ['example.com', '10.0.0.1', '::1'], 'foo_bar', 'value does not look like a valid address: foo_bar'],
  ['address', [], '0', 'value does not look like a valid address: 0'],
  ['pve-bridge-id', ['vmbr0', 'br-lan.10', 'a_b'], 'vm br0', "invalid bridge ID 'vm br0'"],
  ['pve-iface', ['eth0', 'ens18.100', 'bond0:1'], 'e', "invalid network interface name 'e'"],
  ['pve-vlan-id-or-range', ['2', '4094', '2-4094', '10-0'], '1', "invalid VLAN tag '1'"],
  ['pve-vlan-id-or-range', [], '5-5', "VLAN range must go from lower to higher tag '5-5'"],
  ['pve-vlan-id-or-range', [], 'x', "invalid VLAN configuration 'x'"],
  ['urlencoded', ['', 'abc%20def', "a-_.!~*'()"], 'a b', 'invalid urlencoded string: a b'],
  ['pve-configid', ['net0', 'scsi-1', 'a_'], 'a', "invalid configuration ID 'a'"],
  ['pve-storage-id', ['local', 'local-lvm', 'a.b_c'], 'l', "storage ID 'l' cannot be shorter than 2 characters"],
  ['pve-storage-id', [], 'local-', "storage ID 'local-' contains illegal characters"],
  ['pve-vmid', ['100', '999999999'], '99', 'value does not look like a valid VM ID'],
  ['pve-node', ['pve1', 'node-a'], 'node_a', 'value does not look like a valid node name'],
  ['pve-tag', ['foo', '_x', 'a+b.c-d'], '-foo', 'invalid characters in tag'],
  ['pve-startup-order', ['1', 'order=1,up=30,down=60', 'up=5', ','], '0', 'unable to parse startup options'],
  ['pve-startup-order', [], 'order=x', 'unable to parse startup options'],
  ['disk-size', ['32G', '1.5T', '4096', '12KiB'], '4Gi', 'value does not look like a valid disk size: 4Gi'],
  ['email', ['root@example.com', 'a.b+c@d-e.f'], 'root', 'value does not look like a valid email address'],
  ['email-or-username', ['root', 'a@b'], 'a b', 'value does not look like a valid email address or user name'],
  ['pve-volume-id', ['local:iso/x.iso', 'local-lvm:vm-100-disk-0', 'a1:b'], 'local', "unable to parse volume ID 'local'"],
  ['pve-volume-id', [], '1local:x', "unable to parse volume ID '1local:x'"],
  ['pve-volume-id-or-qm-path', ['none', 'cdrom', '/dev/sdb', 'local:iso/x.iso'], 'nope', "unable to parse volume ID 'nope'"],
  ['pve-volume-id-or-absolute-path', ['/x', 'local:x'], 'none', "unable to parse volume ID 'none'"],
  [
    'storage-pair',
    ['', '1', 'local', 'local:other', 'a1:b1 c1:d1 e1'],
    '1 local',
    'identity mapping cannot be combined with other mappings\n',
  ],
  ['storage-pair', [], 'aa:bb aa:cc', "duplicate mapping for source 'aa'\n"],
  ['storage-pair', [], 'x:local', "entry 'x:local' contains invalid ID - storage ID 'x' cannot be shorter than 2 characters\n\n"],
  ['bridge-pair', ['vmbr0:vmbr1'], 'vmbr0 vmbr1', 'default target ID can only be provided once\n'],
];

describe('common named formats (pve-common / pve-storage texts)', () => {
  it.each(cases)('%s accepts %j and rejects %j', (name, valid, invalid, message) => {
    const verify = verifier(name);
    for (const value of valid) expect(verify(value), `${name}: ${value}`).toBeUndefined();
    expect(verify(invalid)).toBe(message);
  });

  it('string accepts anything', () => {
    expect(verifier('string')('a,b=c\n')).toBeUndefined();
  });

  it('a trailing newline passes like Perl $ (API values can carry one)', () => {
    expect(verifier('mac-addr')('BC:24:11:00:00:01\n')).toBeUndefined();
    expect(verifier('mac-addr')('BC:24:11:00:00:01\n\n')).toBeDefined();
  });
});
