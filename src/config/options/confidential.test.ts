import { describe, expect, it } from 'vitest';
import { checkConfigValue, parsePropertyString, printPropertyString, typetext } from '../../schema/index.js';
import { lookupConfigKey, sevFormat, tdxFormat } from './index.js';
import { thrownCvmError } from '../../../test/helpers/cvm-error.js';

const errorOf = thrownCvmError;

describe('amd-sev (pve-qemu-sev-fmt), spec §1.1', () => {
  it('has the exact descriptions and flags', () => {
    expect(sevFormat.type).toEqual({
      description:
        "Enable standard SEV with type='std' or enable experimental SEV-ES with the 'es' option or enable experimental SEV-SNP with the 'snp' option.",
      type: 'string',
      default_key: true,
      format_description: 'sev-type',
      enum: ['std', 'es', 'snp'],
      maxLength: 3,
    });
    expect(sevFormat['no-debug']).toEqual({
      description: 'Sets policy bit to disallow debugging of guest',
      type: 'boolean',
      default: 0,
      optional: true,
    });
    expect(sevFormat['no-key-sharing']?.description).toBe(
      'Sets policy bit to disallow key sharing with other guests (Ignored for SEV-SNP)',
    );
    expect(sevFormat['allow-smt']).toMatchObject({
      description: 'Sets policy bit to allow Simultaneous Multi Threading (SMT) (Ignored unless for SEV-SNP)',
      default: 1,
      optional: true,
    });
    expect(sevFormat['kernel-hashes']?.description).toBe('Add kernel hashes to guest firmware for measured linux kernel launch');
    expect(Object.keys(sevFormat).sort()).toEqual(['allow-smt', 'kernel-hashes', 'no-debug', 'no-key-sharing', 'type']);
  });

  it('generates the documented typetext', () => {
    expect(typetext(sevFormat)).toBe(
      '[type=]<sev-type> [,allow-smt=<1|0>] [,kernel-hashes=<1|0>] [,no-debug=<1|0>] [,no-key-sharing=<1|0>]',
    );
  });

  it.each([
    ['type=std', { type: 'std' }],
    ['std', { type: 'std' }],
    ['std,,no-debug=1', { type: 'std', 'no-debug': 1 }],
    ['snp,no-debug=yes,allow-smt=off', { type: 'snp', 'no-debug': 1, 'allow-smt': 0 }],
    ['type=std,no-debug=1,no-key-sharing=1', { type: 'std', 'no-debug': 1, 'no-key-sharing': 1 }],
    ['es,no-debug=1,kernel-hashes=1', { type: 'es', 'no-debug': 1, 'kernel-hashes': 1 }],
  ])('parses %s', (input, expected) => {
    expect(parsePropertyString('pve-qemu-sev-fmt', input)).toEqual(expected);
  });

  it.each([
    ['no-debug=1', 'format error\ntype: property is missing and it is not optional\n'],
    ['type=xyz', "format error\ntype: value 'xyz' does not have a value in the enumeration 'std, es, snp'\n"],
    ['std,foo=1', 'format error\nfoo: property is not defined in schema and the schema does not allow additional properties\n'],
    ['std,std', 'duplicate key in comma-separated list property: type'],
    ['type=snp,no-debug=2', "format error\nno-debug: type check ('boolean') failed - got '2'\n"],
    [' std', 'format error\ntype: value may only be 3 characters long\n'],
    ['STD', "format error\ntype: value 'STD' does not have a value in the enumeration 'std, es, snp'\n"],
  ])('rejects %s', (input, message) => {
    expect(errorOf(() => parsePropertyString('pve-qemu-sev-fmt', input)).message).toBe(message);
  });

  it('is validated as a config value but stored verbatim', () => {
    const schema = lookupConfigKey('amd-sev');
    if (!schema) throw new Error('amd-sev missing');
    expect(checkConfigValue('amd-sev', schema, 'snp,allow-smt=off')).toBe('snp,allow-smt=off');
    expect(() => checkConfigValue('amd-sev', schema, 'no-debug=1')).toThrow(/type: property is missing/);
  });

  it('prints the type bare first', () => {
    expect(printPropertyString(sevFormat, { 'no-debug': 1, type: 'snp', 'allow-smt': 0 })).toBe('snp,allow-smt=0,no-debug=1');
  });
});

describe('intel-tdx (pve-qemu-tdx-fmt), spec §1.3', () => {
  it('has the exact table, attestation required', () => {
    expect(tdxFormat).toEqual({
      type: { description: 'Enable TDX', type: 'string', default_key: true, format_description: 'tdx-type', enum: ['tdx'] },
      attestation: { description: 'Enable TDX attestation by including quote-generation-socket', type: 'boolean', default: 1 },
      'vsock-cid': { type: 'integer', minimum: 2, default: 2, optional: true, description: 'CID for vsock of Quote Generation Service' },
      'vsock-port': {
        type: 'integer',
        minimum: 0,
        default: 4050,
        optional: true,
        description: 'Port for vsock of Quote Generation Service',
      },
    });
  });

  it('generates the documented typetext', () => {
    expect(typetext(tdxFormat)).toBe('[type=]<tdx-type> ,attestation=<1|0> [,vsock-cid=<integer>] [,vsock-port=<integer>]');
  });

  it('rejects a bare tdx (attestation is required)', () => {
    expect(errorOf(() => parsePropertyString('pve-qemu-tdx-fmt', 'tdx')).message).toBe(
      'format error\nattestation: property is missing and it is not optional\n',
    );
  });

  it('accepts the working spellings without filling defaults', () => {
    expect(parsePropertyString('pve-qemu-tdx-fmt', 'tdx,attestation=0')).toEqual({ type: 'tdx', attestation: 0 });
    expect(parsePropertyString('pve-qemu-tdx-fmt', 'tdx,attestation=1,vsock-cid=2,vsock-port=4050')).toEqual({
      type: 'tdx',
      attestation: 1,
      'vsock-cid': 2,
      'vsock-port': 4050,
    });
  });

  it('enforces the vsock-cid minimum', () => {
    expect(errorOf(() => parsePropertyString('pve-qemu-tdx-fmt', 'tdx,attestation=1,vsock-cid=1')).message).toBe(
      'format error\nvsock-cid: value must have a minimum value of 2\n',
    );
  });
});
