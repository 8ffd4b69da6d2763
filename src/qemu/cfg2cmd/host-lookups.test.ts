/**
 * @module qemu/cfg2cmd/host-lookups.test
 * The host lookups config_to_command makes (issue 12, point 17), answered from HostFacts: a
 * serial/parallel device path must be a character device of the host (`-c $path`), and
 * `nested-virt` resolves from the host's CPU flags. The pve-test profile keeps the harness's
 * answers (every path present, the flag by vendor).
 */
import { describe, expect, it } from 'vitest';
import { thrownCvmError } from '../../../test/helpers/cvm-error.js';
import { parseVmConfig } from '../../config/file/index.js';
import type { HostFacts } from '../../host/facts.js';
import { pveTestProfile } from '../../host/profiles/pve-test.js';
import { configToCommand } from './generate.js';

const generate = (text: string, host: HostFacts) =>
  configToCommand(parseVmConfig('/x/qemu-server/8006.conf', text, { strict: true }), host);

function host(patch: Partial<HostFacts>): HostFacts {
  return { ...pveTestProfile(), ...patch };
}

describe('serial and parallel device paths', () => {
  const withDevices = host({ charDevices: ['/dev/null', '/dev/parport0', '/dev/ttyS0', '/dev/usb/lp0'] });

  it('dies like qemu-server when the path is no character device of the host', () => {
    expect(thrownCvmError(() => generate('serial1: /dev/ttyS1\n', withDevices)).message).toBe('no such serial device');
    expect(thrownCvmError(() => generate('parallel0: /dev/parport1\n', withDevices)).message).toBe('no such parallel device');
  });

  it('accepts the host devices, also written with // or ..', () => {
    // (a parallel path must match the option table's pattern since issue 12 point 8, so `..` is tried on a serial port)
    const argv = generate(
      'serial0: /dev/ttyS0\nserial1: /dev//ttyS0\nserial2: /dev/usb/../ttyS0\nparallel0: /dev/parport0\nparallel1: /dev/usb/lp0\n',
      withDevices,
    ).argv;
    expect(argv).toContain('serial,id=serial0,path=/dev/ttyS0');
    expect(argv).toContain('serial,id=parallel1,path=/dev/usb/lp0');
  });

  it('socket serial ports need no device', () => {
    expect(generate('serial0: socket\n', host({ charDevices: [] })).argv).toContain('isa-serial,chardev=serial0');
  });

  it('pve-test keeps the harness answer: no device check', () => {
    expect(generate('serial0: /dev/ttyS7\n', pveTestProfile()).argv).toContain('serial,id=serial0,path=/dev/ttyS7');
  });
});

describe('nested-virt', () => {
  const cpuArg = (h: HostFacts) => {
    const { argv, warnings } = generate('cpu: host,flags=+nested-virt\n', h);
    return { cpu: argv[argv.indexOf('-cpu') + 1], warnings };
  };

  it('resolves to the svm or vmx the host CPU flags list (read_cpuinfo), not to the vendor', () => {
    expect(cpuArg(host({ cpuVendor: 'GenuineIntel', cpuFlags: 'fpu vme svm sse2 lm' })).cpu).toBe('host,+kvm_pv_eoi,+kvm_pv_unhalt,+svm');
    expect(cpuArg(host({ cpuVendor: 'AuthenticAMD', cpuFlags: 'fpu vmx ept' })).cpu).toBe('host,+kvm_pv_eoi,+kvm_pv_unhalt,+vmx');
  });

  it('warns and drops the flag on a host without svm/vmx (a VM without nested virtualisation)', () => {
    const expected = {
      cpu: 'host,+kvm_pv_eoi,+kvm_pv_unhalt',
      warnings: ["ignoring 'nested-virt' CPU flag - unable to resolve from host CPU flags"],
    };
    expect(cpuArg(host({ cpuVendor: 'GenuineIntel', cpuFlags: 'fpu vme sse2 hypervisor' }))).toEqual(expected);
    expect(cpuArg(host({ cpuVendor: 'GenuineIntel', cpuFlags: '' }))).toEqual(expected);
    // Perl's m/\s(svm|vmx)\s/ needs a space on both sides
    expect(cpuArg(host({ cpuVendor: 'GenuineIntel', cpuFlags: 'fpu vmx' }))).toEqual(expected);
  });

  it('pve-test keeps the harness answer: the vendor decides', () => {
    expect(cpuArg(host({ cpuVendor: 'GenuineIntel' })).cpu).toBe('host,+kvm_pv_eoi,+kvm_pv_unhalt,+vmx');
  });
});
