import { describe, expect, it } from 'vitest';
import type { HwCapabilities } from '../host/facts.js';
import { canonicalJson } from '../util/canonical-json.js';
import { amdSevObject, computeSevPolicy, cvmMachineFlags, getCvmType, intelTdxObject } from './object.js';
import { thrownCvmError } from '../../test/helpers/cvm-error.js';

// qemu-server's cfg2cmd fixture amd-turin-9005 (spec qemu-server §3.4)
const TURIN: HwCapabilities = {
  'amd-sev': { cbitpos: 51, 'reduced-phys-bits': 6, 'sev-support': true, 'sev-support-es': true, 'sev-support-snp': true },
};
// the harness default when no HW_CAPABILITIES header is given
const NO_SEV: HwCapabilities = {
  'amd-sev': { cbitpos: 0, 'reduced-phys-bits': 0, 'sev-support': false, 'sev-support-es': false, 'sev-support-snp': false },
};
const SEV_ONLY: HwCapabilities = {
  'amd-sev': { cbitpos: 47, 'reduced-phys-bits': 1, 'sev-support': true, 'sev-support-es': false, 'sev-support-snp': false },
};
const TDX: HwCapabilities = { 'intel-tdx': { 'tdx-support': true } };

const error = thrownCvmError;

describe('computeSevPolicy: the complete table of spec §2', () => {
  const rows: [string, Record<string, number>, number][] = [
    ['std', {}, 0x8],
    ['std', { 'no-debug': 0, 'no-key-sharing': 1 }, 0xa],
    ['std', { 'no-debug': 1, 'no-key-sharing': 0 }, 0x9],
    ['std', { 'no-debug': 1, 'no-key-sharing': 1 }, 0xb],
    ['es', { 'no-debug': 0, 'no-key-sharing': 0 }, 0xc],
    ['es', { 'no-debug': 0, 'no-key-sharing': 1 }, 0xe],
    ['es', { 'no-debug': 1, 'no-key-sharing': 0 }, 0xd],
    ['es', { 'no-debug': 1, 'no-key-sharing': 1 }, 0xf],
    ['snp', {}, 0xb0000],
    ['snp', { 'allow-smt': 0 }, 0xa0000],
    ['snp', { 'no-debug': 1, 'allow-smt': 1 }, 0x30000],
    ['snp', { 'no-debug': 1, 'allow-smt': 0 }, 0x20000],
  ];
  it.each(rows)('%s %j -> %d', (type, flags, policy) => {
    expect(computeSevPolicy({ type, ...flags })).toBe(policy);
  });

  it('ignores allow-smt for std/es and no-key-sharing for snp', () => {
    expect(computeSevPolicy({ type: 'std', 'allow-smt': 0 })).toBe(0x8);
    expect(computeSevPolicy({ type: 'es', 'allow-smt': 1 })).toBe(0xc);
    expect(computeSevPolicy({ type: 'snp', 'no-key-sharing': 1 })).toBe(0xb0000);
  });

  it('produces the same numbers from config strings', () => {
    const object = (v: string) => amdSevObject({ 'amd-sev': v, bios: 'ovmf' }, TURIN);
    expect(object('type=std,no-debug=1,no-key-sharing=1')).toMatch(/policy=0xb$/);
    expect(object('es,no-debug=yes')).toMatch(/policy=0xd$/);
    expect(object('snp,no-debug=yes,allow-smt=off')).toMatch(/policy=0x20000$/);
  });
});

describe('amdSevObject', () => {
  it('gives the three amd-turin-9005 objects', () => {
    expect(amdSevObject({ 'amd-sev': 'type=std', bios: 'ovmf' }, TURIN)).toBe(
      'sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0x8',
    );
    expect(amdSevObject({ 'amd-sev': 'type=es', bios: 'ovmf' }, TURIN)).toBe('sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0xc');
    expect(amdSevObject({ 'amd-sev': 'type=snp', bios: 'ovmf' }, TURIN)).toBe(
      'sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0xb0000',
    );
  });

  it('appends kernel-hashes=on last, for every type', () => {
    expect(amdSevObject({ 'amd-sev': 'es,no-debug=1,kernel-hashes=1', bios: 'ovmf' }, TURIN)).toBe(
      'sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0xd,kernel-hashes=on',
    );
    expect(amdSevObject({ 'amd-sev': 'snp,kernel-hashes=1', bios: 'ovmf' }, TURIN)).toMatch(/policy=0xb0000,kernel-hashes=on$/);
    expect(amdSevObject({ 'amd-sev': 'std,kernel-hashes=0', bios: 'ovmf' }, TURIN)).toMatch(/policy=0x8$/);
  });

  it('checks capabilities before the BIOS, in qemu-server order', () => {
    const seabios = { 'amd-sev': 'type=snp' };
    const e1 = error(() => amdSevObject(seabios, NO_SEV));
    expect([e1.code, e1.message]).toEqual(['HOST_UNSUPPORTED', 'Your CPU does not support AMD SEV.']);
    const e2 = error(() => amdSevObject({ 'amd-sev': 'es' }, SEV_ONLY));
    expect(e2.message).toBe('Your CPU does not support AMD SEV-ES.');
    const e3 = error(() => amdSevObject({ 'amd-sev': 'snp', bios: 'seabios' }, SEV_ONLY));
    expect(e3.message).toBe('Your CPU does not support AMD SEV-SNP.');
    const e4 = error(() => amdSevObject({ 'amd-sev': 'std', bios: 'seabios' }, SEV_ONLY));
    expect([e4.code, e4.message]).toEqual(['GENERATE', 'To use AMD SEV, you need to change the BIOS to OVMF.']);
    expect(error(() => amdSevObject({ 'amd-sev': 'std' }, SEV_ONLY)).code).toBe('GENERATE');
    // an Intel host has no amd-sev section at all
    expect(error(() => amdSevObject({ 'amd-sev': 'std', bios: 'ovmf' }, TDX)).message).toBe('Your CPU does not support AMD SEV.');
    expect(amdSevObject({ 'amd-sev': 'std', bios: 'ovmf' }, SEV_ONLY)).toBe('sev-guest,id=sev0,cbitpos=47,reduced-phys-bits=1,policy=0x8');
  });

  it('raises the capability-file error first, and only here', () => {
    const missing = {
      error:
        '/run/qemu-server/host-hw-capabilities.json does not exist. Please check the status of query-machine-capabilities: systemctl status query-machine-capabilities',
    };
    const e = error(() => amdSevObject({ 'amd-sev': 'std' }, missing));
    expect(e.code).toBe('HOST_UNSUPPORTED');
    expect(e.message).toBe(missing.error);
  });
});

describe('intelTdxObject', () => {
  it('emits canonical JSON with string cid/port', () => {
    expect(intelTdxObject({ 'intel-tdx': 'tdx,attestation=1,vsock-cid=2,vsock-port=4050', bios: 'ovmf' }, TDX)).toBe(
      '{"id":"tdx0","qom-type":"tdx-guest","quote-generation-socket":{"cid":"2","port":"4050","type":"vsock"}}',
    );
    expect(intelTdxObject({ 'intel-tdx': 'tdx,attestation=0', bios: 'ovmf' }, TDX)).toBe('{"id":"tdx0","qom-type":"tdx-guest"}');
  });

  it('dies on missing vsock cid/port after the capability and BIOS checks', () => {
    expect(error(() => intelTdxObject({ 'intel-tdx': 'tdx,attestation=1', bios: 'ovmf' }, TDX)).message).toBe('Missing cid for vsock.');
    expect(error(() => intelTdxObject({ 'intel-tdx': 'tdx,attestation=1,vsock-cid=3', bios: 'ovmf' }, TDX)).message).toBe(
      'Missing port for vsock.',
    );
    expect(error(() => intelTdxObject({ 'intel-tdx': 'tdx,attestation=1' }, TDX)).message).toBe(
      'To use Intel TDX, you need to change the BIOS to OVMF.',
    );
    const e = error(() => intelTdxObject({ 'intel-tdx': 'tdx,attestation=1' }, TURIN));
    expect([e.code, e.message]).toEqual(['HOST_UNSUPPORTED', 'Your CPU does not support Intel TDX.']);
    expect(error(() => intelTdxObject({ 'intel-tdx': 'tdx,attestation=0' }, { 'intel-tdx': { 'tdx-support': false } })).code).toBe(
      'HOST_UNSUPPORTED',
    );
  });
});

describe('getCvmType and machine flags', () => {
  it('prefers amd-sev over intel-tdx', () => {
    expect(getCvmType({})).toBeUndefined();
    expect(getCvmType({ 'amd-sev': 'snp' })).toBe('snp');
    expect(getCvmType({ 'amd-sev': 'type=es', 'intel-tdx': 'tdx,attestation=0' })).toBe('es');
    expect(getCvmType({ 'intel-tdx': 'tdx,attestation=0' })).toBe('tdx');
  });

  it('returns the qemu-server flags', () => {
    expect(cvmMachineFlags('std')).toEqual(['confidential-guest-support=sev0']);
    expect(cvmMachineFlags('snp')).toEqual(['confidential-guest-support=sev0']);
    expect(cvmMachineFlags('tdx')).toEqual(['confidential-guest-support=tdx0', 'kernel_irqchip=split']);
    expect(cvmMachineFlags(undefined)).toEqual([]);
  });

  it('sorts keys canonically at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: 'x', c: [2, { z: 1, y: 2 }] } })).toBe('{"a":{"c":[2,{"y":2,"z":1}],"d":"x"},"b":1}');
  });
});
