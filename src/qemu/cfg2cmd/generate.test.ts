/**
 * @module qemu/cfg2cmd/generate.test
 * configToCommand behaviour beyond the golden files: warnings, snapshots, virtio-fs, the local flavour.
 */
import { describe, expect, it } from 'vitest';
import { parseVmConfig } from '../../config/file/index.js';
import type { VmConfig } from '../../config/types.js';
import type { HostFacts } from '../../host/facts.js';
import { AMD_TURIN_9005, pveTestProfile } from '../../host/profiles/pve-test.js';
import { configToCommand } from './generate.js';

function config(text: string, vmid = 8006): VmConfig {
  return parseVmConfig(`/x/qemu-server/${vmid}.conf`, text, { strict: true });
}

function localHost(): HostFacts {
  const host = pveTestProfile();
  host.profile = 'local';
  host.flavor = 'local';
  host.iscsiInitiatorName = '';
  host.paths = {
    ...host.paths,
    kvmBinary: '/usr/bin/qemu-system-x86_64',
    runDir: '/srv/cvm/run',
    qmeventdSocket: null,
    bootSplash: null,
    readconfigDir: null,
    efivarsDir: '/srv/cvm/run/efidisk',
  };
  return host;
}

const arg = (argv: string[], flag: string) => argv.filter((_, i) => argv[i - 1] === flag);

describe('configToCommand on a pve host', () => {
  it('produces qemu-server argv for a minimal config', () => {
    const { argv, warnings, perlWarnings } = configToCommand(config('memory: 1024\n'), pveTestProfile());
    expect(argv.slice(0, 5)).toEqual(['/usr/bin/kvm', '-id', '8006', '-name', 'vm8006']);
    expect(arg(argv, '-m')).toEqual(['1024']);
    expect(argv.at(-1)).toBe('type=pc+pve0');
    expect(warnings).toEqual([]);
    expect(perlWarnings).toEqual([]);
  });
  it('reports the temporary efivars warning as log_warn', () => {
    const { warnings, argv } = configToCommand(config('bios: ovmf\n'), pveTestProfile());
    expect(warnings).toEqual(['no efidisk configured! Using temporary efivars disk.']);
    expect(argv.join(' ')).toContain('/run/qemu-server/efidisk/8006-ovmf.fd');
  });
  it('warns that SNP ignores the efidisk', () => {
    const host = pveTestProfile();
    host.hwCapabilities = structuredClone(AMD_TURIN_9005);
    const { warnings, argv } = configToCommand(
      config('bios: ovmf\namd-sev: type=snp\nefidisk0: local:8006/vm-8006-disk-0.raw,size=528K\n'),
      host,
    );
    expect(warnings).toEqual(['EFI disks are not supported with Confidential Virtual Machines and will be ignored']);
    expect(arg(argv, '-bios')).toEqual(['/usr/share/pve-edk2-firmware//OVMF_SEV_4M.fd']);
  });
  it('prints the aw-bits note as info', () => {
    const { info, argv } = configToCommand(config('machine: q35,viommu=virtio,aw-bits=40\n'), pveTestProfile());
    expect(info[0]).toMatch(/^vIOMMU 'aw-bits' set to 40\./);
    expect(argv).toContain('virtio-iommu-pci,aw-bits=40');
  });
  it('raises the capability-file error only when SEV needs it', () => {
    const host = pveTestProfile();
    host.hwCapabilities = {
      error: '/run/qemu-server/host-hw-capabilities.json does not exist.',
    };
    expect(() => configToCommand(config('memory: 512\n'), host)).not.toThrow();
    expect(() => configToCommand(config('bios: ovmf\namd-sev: type=std\n'), host)).toThrow(/host-hw-capabilities.json does not exist/);
  });
  it('uses a snapshot section with its running machine and CPU', () => {
    const text = 'memory: 2048\nparent: s1\n\n[s1]\nmemory: 1024\nrunningcpu: kvm64,+sep\nrunningmachine: pc-i440fx-9.0+pve0\n';
    const { argv } = configToCommand(config(text), pveTestProfile(), {
      snapshot: 's1',
    });
    expect(arg(argv, '-m')).toEqual(['1024']);
    expect(arg(argv, '-cpu')).toEqual(['kvm64,+sep']);
    expect(argv.at(-1)).toBe('type=pc-i440fx-9.0+pve0');
    expect(() => configToCommand(config(text), pveTestProfile(), { snapshot: 'nope' })).toThrow("snapshot 'nope' does not exist");
  });
  it('loads the snapshot RAM state from its storage path', () => {
    const text = 'memory: 2048\nparent: s1\n\n[s1]\nmemory: 1024\nvmstate: local:8006/vm-8006-state-s1.raw\n';
    const { argv, info } = configToCommand(config(text), pveTestProfile(), { snapshot: 's1' });
    expect(arg(argv, '-loadstate')).toEqual(['/var/lib/vz/images/8006/vm-8006-state-s1.raw']);
    expect(info).toEqual(["activating and using 'local:8006/vm-8006-state-s1.raw' as vmstate"]);
  });
  it('shares a mapped directory with virtio-fs through a memfd backend', () => {
    const host = pveTestProfile();
    host.dirMappings = { share1: { map: ['node=localhost,path=/srv/share'] } };
    const { argv } = configToCommand(config('memory: 2048\nostype: l26\nvirtiofs0: dirid=share1,cache=always\n'), host);
    expect(argv.slice(argv.indexOf('-m'), argv.indexOf('-m') + 4)).toEqual([
      '-m',
      '2048',
      '-object',
      'memory-backend-memfd,id=virtiofs-mem,size=2048M,share=on',
    ]);
    expect(argv.slice(-6, -2)).toEqual([
      '-chardev',
      'socket,id=virtiofs0,path=/run/qemu-server/virtiofsd/vm8006-fs0',
      '-device',
      'vhost-user-fs-pci,queue-size=1024,chardev=virtiofs0,tag=share1',
    ]);
    expect(argv.at(-1)).toBe('hpet=off,memory-backend=virtiofs-mem,type=pc+pve0');
    expect(() => configToCommand(config('virtiofs0: dirid=other\n'), host)).toThrow('Directory ID other does not exist.');
    expect(() => configToCommand(config('hotplug: memory\nnuma: 1\nmemory: 2048\nvirtiofs0: dirid=share1\n'), host)).toThrow(
      'Memory hotplug does not work in combination with virtio-fs.',
    );
  });
  it('skips a value the parser could not read (non-strict) and generates the rest', () => {
    const warned: string[] = [];
    const cfg = parseVmConfig('/x/qemu-server/8006.conf', 'cores: many\nmemory: 768\n', {
      strict: false,
      warn: (m) => warned.push(m),
    });
    expect(warned[0]).toContain("unable to parse value of 'cores'");
    const { argv } = configToCommand(cfg, pveTestProfile());
    expect(arg(argv, '-smp')).toEqual(['1,sockets=1,cores=1,maxcpus=1']);
    expect(arg(argv, '-m')).toEqual(['768']);
  });
});

describe('configToCommand on a local (stock QEMU) host', () => {
  it('drops qmeventd, the splash and the +pve suffix and uses the host paths', () => {
    const { argv } = configToCommand(config('memory: 512\n'), localHost());
    expect(argv[0]).toBe('/usr/bin/qemu-system-x86_64');
    expect(argv).not.toContain('-id'); // Proxmox-only option, stock QEMU rejects it
    expect(argv.join(' ')).not.toContain('qmeventd');
    expect(arg(argv, '-boot')).toEqual(['menu=on,strict=on,reboot-timeout=1000']);
    expect(arg(argv, '-pidfile')).toEqual(['/srv/cvm/run/8006.pid']);
    // stock qemu-system-* defaults to TCG, so KVM is asked for explicitly
    expect(arg(argv, '-machine')).toEqual(['accel=kvm,type=pc']);
    expect(argv).not.toContain('-iscsi');
  });
  it('emits the pve-q35 devices inline instead of -readconfig, bridges after them', () => {
    const { argv } = configToCommand(config('machine: q35\n'), localHost());
    expect(argv).not.toContain('-readconfig');
    const devices = arg(argv, '-device');
    expect(devices[0]).toBe('ich9-usb-ehci1,id=ehci,multifunction=on,bus=pcie.0,addr=1d.7');
    expect(devices).toContain(
      'pcie-root-port,id=ich9-pcie-port-1,x-speed=16,x-width=32,multifunction=on,bus=pcie.0,addr=1c.0,port=1,chassis=1',
    );
    expect(devices).toContain('pci-bridge,id=pci.0,bus=pcidmi,addr=1.0,chassis_nr=1');
    expect(arg(argv, '-machine')).toEqual(['accel=kvm,type=q35']);
  });
  it('keeps versioned machine types as they are', () => {
    const { argv } = configToCommand(config('machine: pc-q35-9.2\n'), localHost());
    expect(arg(argv, '-machine')).toEqual(['accel=kvm,type=pc-q35-9.2']);
  });
  it('falls back to TCG with a notice when the host has no KVM', () => {
    const host = localHost();
    host.kvmAvailable = false;
    const fallback = configToCommand(config('memory: 512\n'), host);
    expect(arg(fallback.argv, '-machine')).toEqual(['accel=tcg,type=pc']);
    expect(fallback.warnings).toEqual(['KVM is not available on this host - running under TCG (software emulation)']);
    const explicit = configToCommand(config('kvm: 0\n'), host);
    expect(arg(explicit.argv, '-machine')).toEqual(['accel=tcg,type=pc']);
    expect(explicit.warnings).toEqual([]);
  });
  it('still refuses KVM on a Proxmox host without it, like qemu-server', () => {
    const host = pveTestProfile();
    host.kvmAvailable = false;
    expect(() => configToCommand(config('memory: 512\n'), host)).toThrow(/KVM virtualisation configured, but not available/);
  });
});
