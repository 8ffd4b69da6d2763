import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArchToQemu, parseCpuInfo, parseMachineHelp, parseQemuVersion } from './parse.js';
import { defaultLocalStorage, loadLocalStorage, probeBridges, kvmUsable, localHostNotices } from './probe.js';
import type { HostFacts } from '../facts.js';

const CPUINFO = `processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
flags\t\t: fpu vme sev sev_es
address sizes\t: 48 bits physical, 48 bits virtual

processor\t: 1
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme sev sev_es
address sizes\t: 48 bits physical, 48 bits virtual
`;

describe('local profile parsers', () => {
  it('reads vendor, count, physical address bits and flags from /proc/cpuinfo', () => {
    expect(parseCpuInfo(CPUINFO)).toEqual({ vendor: 'AuthenticAMD', count: 2, physAddrBits: 48, flags: ['fpu', 'vme', 'sev', 'sev_es'] });
    expect(parseCpuInfo('')).toEqual({ vendor: '', count: 0, physAddrBits: 0, flags: [] });
  });

  it('parses QEMU version banners', () => {
    expect(parseQemuVersion('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright')).toBe('10.0.2');
    expect(parseQemuVersion('QEMU emulator version 9.2 (x)')).toBe('9.2.0');
    expect(parseQemuVersion('nonsense')).toBeUndefined();
  });

  it('lists machine types from -machine help', () => {
    const text =
      'Supported machines are:\nmicrovm              microvm (i386)\npc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-10.0)\npc-q35-10.0          Standard PC (Q35 + ICH9, 2009) (default)\nnone                 empty machine\n';
    expect(parseMachineHelp(text)).toEqual(['microvm', 'pc', 'pc-q35-10.0', 'none']);
  });

  it('maps node arch names', () => {
    expect(nodeArchToQemu('x64')).toBe('x86_64');
    expect(nodeArchToQemu('arm64')).toBe('aarch64');
  });
});

describe('local profile host pieces', () => {
  it('finds bridges and their MTU in a sysfs-like tree', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sysnet-'));
    try {
      mkdirSync(join(dir, 'vmbr0', 'bridge'), { recursive: true });
      writeFileSync(join(dir, 'vmbr0', 'mtu'), '9000\n');
      mkdirSync(join(dir, 'eth0'), { recursive: true });
      writeFileSync(join(dir, 'eth0', 'mtu'), '1500\n');
      expect(await probeBridges(dir)).toEqual({ vmbr0: 9000 });
      expect(await probeBridges(join(dir, 'missing'))).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('treats an unopenable KVM device as no KVM and says so', async () => {
    expect(await kvmUsable('/nonexistent/kvm')).toBe(false);
    expect(localHostNotices({ kvmAvailable: false } as HostFacts)[0]).toMatch(/TCG/);
    expect(localHostNotices({ kvmAvailable: true } as HostFacts)).toEqual([]);
  });

  it('defaults to a local dir storage at the root (images in <root>/images/<vmid>) and keeps the root local storage from storage.cfg', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lroot-'));
    try {
      expect(await loadLocalStorage(root)).toEqual(defaultLocalStorage(root));
      expect(defaultLocalStorage(root)).toEqual({ local: { type: 'dir', path: root, content: ['images', 'iso'] } });
      writeFileSync(
        join(root, 'storage.cfg'),
        `dir: local\n\tpath ${root}/img\n\tcontent images\n\ndir: extra\n\tpath /srv/extra\n\tcontent images,iso\n`,
      );
      const cfg = await loadLocalStorage(root);
      expect(cfg.local).toMatchObject({ type: 'dir', path: `${root}/img`, content: ['images'] });
      expect(cfg.extra).toMatchObject({ type: 'dir', path: '/srv/extra', content: ['images', 'iso'] });
      expect(readdirSync(root)).toEqual(['storage.cfg']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
