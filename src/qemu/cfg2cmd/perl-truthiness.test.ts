/**
 * @module qemu/cfg2cmd/perl-truthiness.test
 * Where config_to_command tests a value rather than its presence (`if ($conf->{args})`), `0`
 * counts as false; capability JSON flags are Perl-true or -false whatever their JSON type; a
 * custom `args` line that shellwords cannot split, or that holds a NUL, is not dropped silently
 * (issue 12, points 13 and 15).
 */
import { describe, expect, it } from 'vitest';
import { thrownCvmError } from '../../../test/helpers/cvm-error.js';
import { parseVmConfig } from '../../config/file/index.js';
import type { HwCapabilities } from '../../host/facts.js';
import { AMD_TURIN_9005, pveTestProfile } from '../../host/profiles/pve-test.js';
import { configToCommand } from './generate.js';

const generate = (text: string, host = pveTestProfile()) =>
  configToCommand(parseVmConfig('/x/qemu-server/8006.conf', text, { strict: true }), host);

describe('values qemu-server tests for truth, not presence', () => {
  it('args: 0 adds nothing', () => {
    const plain = generate('memory: 512\n').argv;
    expect(generate('memory: 512\nargs: 0\n').argv).toEqual(plain);
    expect(generate('memory: 512\nargs: -no-hpet\n').argv).toEqual([...plain, '-no-hpet']);
  });

  it('affinity: 0 runs without taskset, like an unset affinity', () => {
    expect(generate('affinity: 0\n').argv[0]).toBe('/usr/bin/kvm');
    expect(generate('affinity: 1\n').argv.slice(0, 5)).toEqual(['/usr/bin/taskset', '--cpu-list', '--all-tasks', '1', '/usr/bin/kvm']);
  });

  it('name: 0 names the process and a user-networking NIC vm<vmid>', () => {
    const argv = generate('name: 0\nnet0: virtio=BC:24:11:00:00:01\n').argv;
    expect(argv[argv.indexOf('-name') + 1]).toBe('vm8006');
    expect(argv.join(' ')).toContain('type=user,id=net0,hostname=vm8006');
  });

  it('vmgenid: 0 adds no vmgenid device', () => {
    expect(generate('vmgenid: 0\n').argv.join(' ')).not.toContain('vmgenid');
    expect(generate('vmgenid: 11111111-2222-3333-4444-555555555555\n').argv).toContain('vmgenid,guid=11111111-2222-3333-4444-555555555555');
  });

  it('splits hotplug on any ASCII whitespace, as split_list does', () => {
    const argv = generate('hotplug: disk\tusb\nmemory: 512\n').argv;
    expect(argv).toContain('-m');
  });
});

describe('capability flags from a JSON file', () => {
  const snpHost = (patch: Record<string, unknown>) => {
    const host = pveTestProfile();
    const caps = structuredClone(AMD_TURIN_9005) as HwCapabilities;
    Object.assign(caps['amd-sev'] as object, patch);
    host.hwCapabilities = caps;
    return host;
  };
  const snp = 'bios: ovmf\namd-sev: type=snp\n';

  it.each([['0'], [0], [''], [false], [null]])('"sev-support-snp": %j is false', (flag) => {
    expect(thrownCvmError(() => generate(snp, snpHost({ 'sev-support-snp': flag }))).message).toBe(
      'Your CPU does not support AMD SEV-SNP.',
    );
  });

  it('"sev-support": "0" is no SEV at all, and "false" (a non-empty string) is true in Perl', () => {
    expect(thrownCvmError(() => generate(snp, snpHost({ 'sev-support': '0' }))).message).toBe('Your CPU does not support AMD SEV.');
    expect(generate(snp, snpHost({ 'sev-support-snp': 'false' })).argv.join(' ')).toContain('sev-snp-guest,id=sev0');
    expect(generate(snp, snpHost({ 'sev-support-snp': '1' })).argv.join(' ')).toContain('sev-snp-guest,id=sev0');
  });

  it('"tdx-support": "0" is no TDX', () => {
    const host = pveTestProfile();
    host.hwCapabilities = { 'intel-tdx': { 'tdx-support': '0' } };
    expect(thrownCvmError(() => generate('bios: ovmf\nintel-tdx: type=tdx,attestation=0\n', host)).message).toBe(
      'Your CPU does not support Intel TDX.',
    );
  });
});

describe('custom args that QEMU would not get as written', () => {
  it('warns when shellwords cannot split the line (qemu-server drops it)', () => {
    const { argv, warnings } = generate(`memory: 512\nargs: -device 'a b\n`);
    expect(argv).toEqual(generate('memory: 512\n').argv);
    expect(warnings).toEqual(['args: unbalanced quote or trailing backslash - QEMU gets none of these arguments']);
  });

  it('refuses a NUL byte, at which exec would cut the argument', () => {
    const err = thrownCvmError(() => generate('memory: 512\nargs: -name a\0b\n'));
    expect(err.code).toBe('GENERATE');
    expect(err.message).toBe('args: contains a NUL byte, which no QEMU argument can carry');
  });
});
