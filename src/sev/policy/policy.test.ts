import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  SNP_POLICY_BITS,
  decodePlatformInfo,
  decodeSevPolicy,
  decodeSnpPolicy,
  encodeSevPolicy,
  encodeSnpPolicy,
  explainPolicy,
  explainSevPolicy,
  explainSnpPolicy,
  formatPolicyHex,
  parsePolicyValue,
} from './index.js';
import { CvmError } from '../../errors.js';
import { thrownCvmError } from '../../../test/helpers/cvm-error.js';

const RESERVED_SEV_MASK = 0xffc0; // bits 15:6

const thrown = thrownCvmError;

describe('SEV policy codec', () => {
  it('decodes the Proxmox defaults (std 0x8, es 0xc)', () => {
    expect(decodeSevPolicy(0x8)).toEqual({
      noDebug: false,
      noKeySharing: false,
      es: false,
      noSend: true,
      domain: false,
      sev: false,
      apiMajor: 0,
      apiMinor: 0,
    });
    expect(decodeSevPolicy(0xc).es).toBe(true);
    expect(decodeSevPolicy(0x5)).toMatchObject({ noDebug: true, es: true, noSend: false });
  });

  it('puts API_MINOR in the high byte and API_MAJOR in bits 23:16', () => {
    const f = decodeSevPolicy(0x17_01_00_00);
    expect(f.apiMinor).toBe(0x17);
    expect(f.apiMajor).toBe(0x01);
    expect(encodeSevPolicy({ apiMajor: 1, apiMinor: 0x37, noDebug: true })).toBe(0x37010001);
    expect(encodeSevPolicy({ apiMinor: 0xff, apiMajor: 0xff })).toBe(0xffff0000);
  });

  test.prop([fc.nat({ max: 0xffffffff })], { numRuns: 2000 })('round-trips sampled u32 patterns', (raw) => {
    const value = (raw & ~RESERVED_SEV_MASK) >>> 0;
    expect(encodeSevPolicy(decodeSevPolicy(value))).toBe(value);
    if ((raw & RESERVED_SEV_MASK) !== 0) {
      expect(() => decodeSevPolicy(raw)).toThrow(CvmError);
    }
  });

  it('rejects reserved bits 15:6 naming them', () => {
    const e = thrown(() => decodeSevPolicy(0x48));
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.message).toBe('SEV policy 0x48: reserved bits 15:6 must be zero (set: bit 6)');
    const e2 = thrown(() => decodeSevPolicy(0x8000 | 0x400));
    expect(e2.message).toContain('bit 10, 15');
    expect(e2.details).toMatchObject({ reservedBits: [10, 15] });
  });

  it('rejects values wider than 32 bits and negatives', () => {
    expect(thrown(() => decodeSevPolicy(0x1_0000_0000)).code).toBe('POLICY_INVALID');
    expect(thrown(() => decodeSevPolicy(-1)).code).toBe('POLICY_INVALID');
  });
});

describe('SNP policy codec', () => {
  it('decodes the Proxmox/QEMU defaults', () => {
    expect(decodeSnpPolicy(0xb0000n)).toMatchObject({ smt: true, debug: true, migrateMa: false });
    expect(decodeSnpPolicy(0x30000)).toMatchObject({ smt: true, debug: false });
    expect(decodeSnpPolicy(0x20000)).toMatchObject({ smt: false, debug: false });
  });

  it('encodes bit 17 always and every defined flag at its position', () => {
    expect(encodeSnpPolicy({})).toBe(0x20000n);
    const flags: [keyof Parameters<typeof encodeSnpPolicy>[0], number][] = [
      ['smt', 16],
      ['migrateMa', 18],
      ['debug', 19],
      ['singleSocket', 20],
      ['cxlAllow', 21],
      ['memAes256Xts', 22],
      ['raplDis', 23],
      ['ciphertextHiding', 24],
      ['pageSwapDisable', 25],
    ];
    for (const [key, bit] of flags) {
      const v = encodeSnpPolicy({ [key]: true });
      expect(v).toBe(0x20000n | (1n << BigInt(bit)));
      expect(decodeSnpPolicy(v)[key]).toBe(true);
    }
    expect(encodeSnpPolicy({ abiMajor: 1, abiMinor: 58 })).toBe(0x2013an);
  });

  it('round-trips every combination of defined bits with sampled ABI versions', () => {
    const definedFlags = [16, 18, 19, 20, 21, 22, 23, 24, 25];
    for (let mask = 0; mask < 1 << definedFlags.length; mask++) {
      let v = 1n << 17n;
      definedFlags.forEach((bit, i) => {
        if (mask & (1 << i)) v |= 1n << BigInt(bit);
      });
      v |= BigInt((mask * 37) & 0xffff);
      expect(encodeSnpPolicy(decodeSnpPolicy(v))).toBe(v);
    }
  });

  test.prop([fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })], { numRuns: 500 })(
    'accepts exactly the words with bit 17 set and bits 63:26 clear',
    (v) => {
      const valid = ((v >> 17n) & 1n) === 1n && v >> 26n === 0n;
      if (valid) expect(encodeSnpPolicy(decodeSnpPolicy(v))).toBe(v);
      else expect(() => decodeSnpPolicy(v)).toThrow(/SNP policy/);
    },
  );

  it('rejects MBZ bits and a missing bit 17 naming the bits', () => {
    const e = thrown(() => decodeSnpPolicy((1n << 63n) | (1n << 26n) | 0x30000n));
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.message).toBe('SNP policy 0x8000000004030000: bits 63:26 must be zero (set: bit 26, 63)');
    const e2 = thrown(() => decodeSnpPolicy(0x10000));
    expect(e2.message).toBe('SNP policy 0x10000: bit 17 (reserved) must be one');
    expect(thrown(() => decodeSnpPolicy(1n << 64n)).code).toBe('POLICY_INVALID');
  });

  it('refuses an unsafe JavaScript number instead of decoding lost bits', () => {
    const e = thrown(() => decodeSnpPolicy(2 ** 60 + 0x30000));
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.message).toContain('beyond 2^53');
    expect(thrown(() => decodeSnpPolicy(1.5)).message).toBe('SNP policy 1.5 is not a non-negative integer');
  });

  it('keeps bits above 2^53 exact', () => {
    expect(() => decodeSnpPolicy(0x20000n | (1n << 60n))).toThrow(/bit 60\)/);
  });
});

describe('explain', () => {
  it('lists every SEV bit with name, state, meaning and severity', () => {
    const x = explainSevPolicy(0x8);
    expect(x.bits.map((b) => b.name)).toEqual(['NODBG', 'NOKS', 'ES', 'NOSEND', 'DOMAIN', 'SEV', 'RESERVED', 'API_MAJOR', 'API_MINOR']);
    expect(x.hex).toBe('0x8');
    const nodbg = x.bits[0]!;
    expect(nodbg).toMatchObject({ bits: '0', set: false, severity: 'critical' });
    expect(nodbg.meaning).toContain('DBG_DECRYPT');
    expect(x.bits.find((b) => b.name === 'NOSEND')).toMatchObject({ set: true, severity: 'ok' });
    expect(x.severity).toBe('critical');
    // every defined bit, set and clear, has a non-empty meaning
    for (const v of [0, 0x3f, 0xff3f003f]) {
      for (const b of explainSevPolicy(v).bits) expect(b.meaning.length).toBeGreaterThan(10);
    }
    const hardened = explainSevPolicy(0x3f);
    expect(hardened.severity).toBe('info');
    expect(hardened.bits.filter((b) => b.bits.length === 1).every((b) => b.set && b.severity === 'ok')).toBe(true);
  });

  it('explains SNP DEBUG as critical and the default 0xb0000', () => {
    const x = explainSnpPolicy(0xb0000);
    const debug = x.bits.find((b) => b.name === 'DEBUG')!;
    expect(debug).toMatchObject({ bits: '19', set: true, severity: 'critical' });
    expect(debug.meaning).toContain('the hypervisor can decrypt guest memory with SNP_DBG_DECRYPT');
    expect(debug.meaning).toContain('never in production');
    expect(x.severity).toBe('critical');
    expect(explainSnpPolicy(0x30000).severity).toBe('info');
  });

  it('explains every defined SNP bit in both states', () => {
    const all = encodeSnpPolicy({
      smt: true,
      migrateMa: true,
      debug: true,
      singleSocket: true,
      cxlAllow: true,
      memAes256Xts: true,
      raplDis: true,
      ciphertextHiding: true,
      pageSwapDisable: true,
      abiMajor: 1,
      abiMinor: 55,
    });
    const on = explainSnpPolicy(all);
    const off = explainSnpPolicy(0x20000n);
    expect(on.bits.map((b) => b.name)).toEqual(['ABI_MINOR', 'ABI_MAJOR', ...Object.keys(SNP_POLICY_BITS), 'MBZ']);
    for (const name of Object.keys(SNP_POLICY_BITS)) {
      const a = on.bits.find((b) => b.name === name)!;
      const b = off.bits.find((bb) => bb.name === name)!;
      expect(a.set).toBe(true);
      expect(b.set).toBe(name === 'RESERVED_MBO');
      if (name !== 'RESERVED_MBO') expect(a.meaning).not.toBe(b.meaning);
    }
    expect(on.bits[0]).toMatchObject({ value: 55, set: true });
    expect(on.bits[1]!.meaning).toContain('>= 1.55');
    // severities: DEBUG is the danger, SMT and MIGRATE_MA are notes (the MA is attested via REPORT_ID_MA)
    expect(on.bits.find((b) => b.name === 'DEBUG')!.severity).toBe('critical');
    expect(on.bits.find((b) => b.name === 'SMT')!.severity).toBe('info');
    expect(on.bits.find((b) => b.name === 'MIGRATE_MA')!.severity).toBe('info');
    expect(on.bits.find((b) => b.name === 'MIGRATE_MA')!.meaning).toContain('REPORT_ID_MA');
    expect(on.bits.find((b) => b.name === 'CXL_ALLOW')!.severity).toBe('warning');
  });

  it('parses hex and decimal input', () => {
    expect(parsePolicyValue('0xB0000')).toBe(0xb0000n);
    expect(parsePolicyValue('196608')).toBe(0x30000n);
    expect(thrown(() => parsePolicyValue('0xZZ')).code).toBe('PARAM_INVALID');
    expect(parsePolicyValue(' 0X00030000 ')).toBe(0x30000n);
    expect(parsePolicyValue('0')).toBe(0n);
    expect(parsePolicyValue('18446744073709551615')).toBe((1n << 64n) - 1n);
  });

  it('gives clear errors for 0x, leading zeros, negatives and empty input', () => {
    expect(thrown(() => parsePolicyValue('0x')).message).toBe(
      "policy value '0x' has no hex digits after '0x' - use hex (0x30000) or decimal (196608)",
    );
    // 00030000 must not silently become decimal 30000 (0x7530)
    const zeros = thrown(() => parsePolicyValue('00030000'));
    expect(zeros.code).toBe('PARAM_INVALID');
    expect(zeros.message).toContain('leading zeros');
    expect(thrown(() => parsePolicyValue('-1')).message).toContain('is negative');
    expect(thrown(() => parsePolicyValue('0x-1')).message).toContain('is not a number');
    expect(thrown(() => parsePolicyValue('  ')).message).toContain('is empty');
    expect(thrown(() => parsePolicyValue('1e5')).message).toContain('is not a number');
    expect(thrown(() => decodeSnpPolicy(-1n)).message).toBe('SNP policy -1 is negative (a policy word is unsigned)');
    expect(thrown(() => explainPolicy('0x10000000000000000', 'snp')).message).toBe(
      'SNP policy 0x10000000000000000 does not fit in 64 bits',
    );
    expect(explainPolicy('0xc', 'sev').bits[2]).toMatchObject({ name: 'ES', set: true });
    expect(thrown(() => explainPolicy('0x40', 'sev')).code).toBe('POLICY_INVALID');
  });

  it('formats like Perl %#x', () => {
    expect(formatPolicyHex(0)).toBe('0');
    expect(formatPolicyHex(0xb0000)).toBe('0xb0000');
    expect(formatPolicyHex(1n << 63n)).toBe('0x8000000000000000');
  });
});

describe('decodePlatformInfo', () => {
  it('names the defined bits and reports reserved ones', () => {
    const p = decodePlatformInfo(0b1010_0101n | (1n << 40n) | (1n << 6n));
    expect(p.flags).toEqual({
      smtEnabled: true,
      tsmeEnabled: false,
      eccEnabled: true,
      raplDisabled: false,
      ciphertextHidingEnabled: false,
      aliasCheckComplete: true,
      tioEnabled: true,
    });
    expect(p.reservedSet).toEqual([6, 40]);
    expect(p.bits.map((b) => b.name)).toEqual([
      'SMT_EN',
      'TSME_EN',
      'ECC_EN',
      'RAPL_DIS',
      'CIPHERTEXT_HIDING_DRAM_EN',
      'ALIAS_CHECK_COMPLETE',
      'TIO_EN',
    ]);
    expect(decodePlatformInfo(3).flags.tsmeEnabled).toBe(true);
  });
});
