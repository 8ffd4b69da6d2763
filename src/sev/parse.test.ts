import { describe, expect, it } from 'vitest';
import { parseAmdSev, parseIntelTdx } from './parse.js';

describe('parseAmdSev / parseIntelTdx (remembered per value)', () => {
  it('returns the parsed values, a fresh object each time', () => {
    const a = parseAmdSev('type=snp,allow-smt=0');
    expect(a).toEqual({ type: 'snp', 'allow-smt': 0 });
    a['no-debug'] = 1;
    expect(parseAmdSev('type=snp,allow-smt=0')).toEqual({ type: 'snp', 'allow-smt': 0 });
    expect(parseIntelTdx('type=tdx,attestation=0')).toEqual({ type: 'tdx', attestation: 0 });
  });

  it('rejects an invalid value every time, not only the first', () => {
    expect(() => parseAmdSev('type=bogus')).toThrow();
    expect(() => parseAmdSev('type=bogus')).toThrow();
  });

  it('stays correct past its bound', () => {
    for (let i = 0; i < 200; i++) parseAmdSev(`type=std,no-debug=${i % 2}`);
    for (let i = 0; i < 200; i++) parseIntelTdx(`type=tdx,attestation=1,vsock-port=${i + 1}`);
    expect(parseIntelTdx('type=tdx,attestation=1,vsock-port=7')).toMatchObject({ type: 'tdx', 'vsock-port': 7 });
    expect(parseAmdSev('type=es')).toEqual({ type: 'es' });
  });
});
