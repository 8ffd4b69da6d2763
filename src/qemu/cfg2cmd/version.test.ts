/**
 * @module qemu/cfg2cmd/version.test
 * Machine-type and version arithmetic against qemu-server's Machine.pm/Helpers.pm behaviour.
 */
import { describe, expect, it } from 'vitest';
import { canRunPveMachineVersion, extractVersion, getVmMachine, minVersion, windowsVersion } from './version.js';

const vm = (machine?: string, ostype?: string, meta?: string) => ({
  machine,
  ostype,
  meta,
  arch: 'x86_64',
});
const noWarn = () => {
  throw new Error('unexpected warning');
};

describe('min_version', () => {
  it('compares major, minor and +pve, ignoring the micro part', () => {
    expect(minVersion('9.2+pve1', 9, 2, 1)).toBe(true);
    expect(minVersion('9.2', 9, 2, 1)).toBe(false);
    expect(minVersion('11.0.2', 11, 0)).toBe(true);
    expect(minVersion('10.1', 11, 0)).toBe(false);
    expect(() => minVersion('garbage', 1, 0)).toThrow(/cannot check version of invalid string/);
  });
});

describe('get_vm_machine', () => {
  it('appends the highest +pve of the installed QEMU to unversioned types', () => {
    expect(getVmMachine(vm(), undefined, '11.0.2', noWarn)).toBe('pc+pve2');
    expect(getVmMachine(vm('q35'), undefined, '9.2.0', noWarn)).toBe('q35+pve1');
    expect(getVmMachine(vm('q35'), undefined, '10.1.0', noWarn)).toBe('q35+pve0');
  });
  it('inserts +pve0 before .pxe for pinned versions', () => {
    expect(getVmMachine(vm('pc-q35-4.1.pxe'), undefined, '11.0.2', noWarn)).toBe('pc-q35-4.1+pve0.pxe');
    expect(getVmMachine(vm('pc-q35-4.1+pve2.pxe'), undefined, '11.0.2', noWarn)).toBe('pc-q35-4.1+pve2.pxe');
  });
  it('pins Windows to 5.1, or to the creation version from 9.1 on', () => {
    expect(getVmMachine(vm(undefined, 'win10'), undefined, '11.0.2', noWarn)).toBe('pc-i440fx-5.1+pve0');
    expect(getVmMachine(vm('q35', 'win11', 'creation-qemu=9.2.0,ctime=1'), undefined, '11.0.2', noWarn)).toBe('pc-q35-9.2+pve0');
    expect(getVmMachine(vm('q35', 'win11', 'creation-qemu=9.0.2'), undefined, '11.0.2', noWarn)).toBe('pc-q35-5.1+pve0');
  });
  it('falls back to the installed version when the pin cannot run', () => {
    expect(getVmMachine(vm('q35', 'win11', 'creation-qemu=12.0.0'), undefined, '11.0.2', noWarn)).toBe('pc-q35-11.0+pve2');
  });
  it('a forced machine wins over the config', () => {
    expect(getVmMachine(vm('q35'), 'pc-i440fx-8.1+pve0', '11.0.2', noWarn)).toBe('pc-i440fx-8.1+pve0');
  });
});

describe('extract_version / can_run_pve_machine_version / windows_version', () => {
  it('extracts versions like Machine.pm', () => {
    expect(extractVersion('pc-q35-4.1+pve2.pxe')).toBe('4.1+pve2');
    expect(extractVersion('pc-i440fx-5.1+pve0')).toBe('5.1');
    expect(extractVersion('pc+pve2', '9.2.0')).toBe('9.2+pve1');
    expect(extractVersion('virt+pve0', '11.0.2')).toBe('11.0+pve2');
  });
  it('knows the highest revisions', () => {
    expect(canRunPveMachineVersion('11.0+pve2', '11.0.2')).toBe(true);
    expect(canRunPveMachineVersion('11.0+pve3', '11.0.2')).toBe(false);
    expect(canRunPveMachineVersion('9.0+pve77', '11.0.2')).toBe(false);
    expect(canRunPveMachineVersion('12.0', '11.0.2')).toBe(false);
  });
  it('maps ostypes', () => {
    expect([
      windowsVersion('w2k'),
      windowsVersion('wvista'),
      windowsVersion('win11'),
      windowsVersion('l26'),
      windowsVersion(undefined),
    ]).toEqual([5, 6, 11, 0, 0]);
  });
});
