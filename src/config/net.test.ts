import { describe, expect, it } from 'vitest';
import { thrownCvmError } from '../../test/helpers/cvm-error.js';
import { parseIpconfig, parseNet, printNet, randomEtherAddr } from './net.js';

const messageOf = (fn: () => unknown): string => thrownCvmError(fn).message;

describe('parseNet / printNet', () => {
  it('reads the model=MAC shortcut into model and macaddr', () => {
    expect(parseNet('virtio=BC:24:11:2E:58:01,bridge=vmbr0,firewall=1')).toEqual({
      model: 'virtio',
      macaddr: 'BC:24:11:2E:58:01',
      bridge: 'vmbr0',
      firewall: 1,
    });
  });

  it('prints model=MAC first, then the rest sorted', () => {
    const net = parseNet('tag=10,bridge=vmbr1,e1000=02:00:00:00:00:01,queues=4,link_down=on');
    expect(printNet(net)).toBe('e1000=02:00:00:00:00:01,bridge=vmbr1,link_down=1,queues=4,tag=10');
  });

  it('normalises explicit model= and macaddr= to the shortcut', () => {
    expect(printNet(parseNet('macaddr=02:11:22:33:44:55,model=vmxnet3,bridge=vmbr0'))).toBe('vmxnet3=02:11:22:33:44:55,bridge=vmbr0');
  });

  it('prints a bare model when there is no MAC', () => {
    const net = parseNet('virtio,bridge=vmbr0,mtu=1');
    expect(net).toEqual({ model: 'virtio', bridge: 'vmbr0', mtu: 1 });
    expect(printNet(net)).toBe('virtio,bridge=vmbr0,mtu=1');
  });

  it('keeps rate as a number and trunks as text', () => {
    const net = parseNet('virtio,rate=12.5,trunks=10;20-30');
    expect(net.rate).toBe(12.5);
    expect(net.trunks).toBe('10;20-30');
  });

  it.each([
    ['bridge=vmbr0', 'format error\nmodel: property is missing and it is not optional\n'],
    ['virtio=01:00:00:00:00:01', 'format error\nmacaddr: invalid format - value does not look like a valid unicast MAC address\n\n'],
    [
      'foo=02:00:00:00:00:01',
      'format error\nfoo: property is not defined in schema and the schema does not allow additional properties\nmodel: property is missing and it is not optional\n',
    ],
    ['virtio=02:00:00:00:00:01,e1000=02:00:00:00:00:02', "key alias 'model' is already defined"],
    ['virtio=02:00:00:00:00:01,macaddr=02:00:00:00:00:02', 'duplicate key in comma-separated list property: macaddr'],
    ['virtio,tag=4095', 'format error\ntag: value must have a maximum value of 4094\n'],
    ['virtio,queues=65', 'format error\nqueues: value must have a maximum value of 64\n'],
    ['virtio,bridge=vmbr 0', "format error\nbridge: invalid format - invalid bridge ID 'vmbr 0'\n\n"],
  ])('rejects %s', (value, message) => {
    expect(messageOf(() => parseNet(value))).toBe(message);
  });
});

describe('randomEtherAddr', () => {
  it('clears the multicast bit and sets the local bit', () => {
    expect(randomEtherAddr(Uint8Array.from([0xff, 1, 2, 3, 4, 5]))).toBe('FE:01:02:03:04:05');
    expect(randomEtherAddr(Uint8Array.from([0x00, 0xab, 0xcd, 0xef, 0x10, 0x20]))).toBe('02:AB:CD:EF:10:20');
  });

  it('applies the datacenter mac_prefix', () => {
    expect(randomEtherAddr(Uint8Array.from([0, 1, 2, 3, 4, 5]), 'bc:24:11')).toBe('BC:24:11:03:04:05');
  });
});

describe('parseIpconfig', () => {
  it('parses addresses and gateways', () => {
    expect(parseIpconfig('ip=192.0.2.10/24,gw=192.0.2.1,ip6=auto')).toEqual({ ip: '192.0.2.10/24', gw: '192.0.2.1', ip6: 'auto' });
    expect(parseIpconfig('ip6=2001:db8::10/64,gw6=2001:db8::1')).toEqual({ ip6: '2001:db8::10/64', gw6: '2001:db8::1' });
  });

  it('defaults to dhcp for both families when empty', () => {
    expect(parseIpconfig('')).toEqual({ ip: 'dhcp', ip6: 'dhcp' });
  });

  it.each([
    ['gw=192.0.2.1', /ip: missing property required by 'gw'/],
    ['ip=dhcp,gw=192.0.2.1', /^gateway specified together with DHCP$/],
    ['ip6=auto,gw6=2001:db8::1', /^IPv6 gateway specified together with auto address$/],
    ['ip=192.0.2.10/4', /ip: invalid format/],
  ])('rejects %s', (value, pattern) => {
    expect(messageOf(() => parseIpconfig(value))).toMatch(pattern);
  });
});
