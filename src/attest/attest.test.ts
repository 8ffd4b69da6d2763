/**
 * SNP report parsing and offline verification against the Milan report, VCEK and chain from
 * virtee/sev's test data (test/fixtures/attest), plus tampered copies and synthetic v3/v5
 * layouts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { certificateExtensions, decodeOid } from './asn1.js';
import {
  builtinChain,
  fingerprintSha256,
  loadCertificates,
  PINNED_ARK_SHA256,
  pinnedArkProduct,
  sortCertificates,
  vekInfo,
} from './certs.js';
import { parseReport, REPORT_SIZE } from './report.js';
import { reportToJson, reportToText } from './show.js';
import { verifyReport } from './verify.js';

const DIR = join(import.meta.dirname, '../../test/fixtures/attest');
const reportHex = readFileSync(join(DIR, 'report_milan.hex'), 'utf8');
const REPORT = Buffer.from(reportHex.trim(), 'hex');
const VCEK = readFileSync(join(DIR, 'vcek_milan.der'));
const CHAIN = readFileSync(join(DIR, 'cert_chain_milan'));
const TURIN_CHAIN = readFileSync(join(DIR, 'cert_chain_turin'));
const TURIN_VCEK = readFileSync(join(DIR, 'vcek_turin.der'));
const MEASUREMENT = '7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f';
const NOW = new Date('2026-06-01T00:00:00Z');

const statusOf = (r: ReturnType<typeof verifyReport>) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
const flip = (buf: Buffer, at: number, mask = 0x01) => {
  const copy = Buffer.from(buf);
  copy[at]! ^= mask;
  return copy;
};

describe('parseReport (Milan v2)', () => {
  const r = parseReport(Buffer.from(reportHex));
  it('reads the fields', () => {
    expect(r.version).toBe(2);
    expect(r.layout).toBe(2);
    expect(r.policy).toBe(0x30000n);
    expect(r.measurement.toString('hex')).toBe(MEASUREMENT);
    expect(r.signatureAlgo).toBe(1);
    expect(r.keyInfo.signingKeyName).toBe('VCEK');
    expect(r.reportedTcb).toMatchObject({ bootloader: 3, tee: 0, snp: 8, microcode: 0x73, fmc: null });
    expect(r.reportedTcb.raw.toString('hex')).toBe('0300000000000873');
    expect(r.platformInfo).toBe(1n);
    expect(r.currentVersion).toEqual({ major: 1, minor: 52, build: 4 });
    expect(r.chipId.toString('hex').startsWith('d49554ec717f4e5b')).toBe(true);
    expect(r.cpuidFamId).toBeNull();
    expect(r.launchMitVector).toBeNull();
    expect(r.mbzViolations).toEqual([]);
  });
  it('rejects wrong sizes and versions', () => {
    expect(() => parseReport(REPORT.subarray(0, 100))).toThrow(CvmError);
    const v1 = Buffer.from(REPORT);
    v1.writeUInt32LE(1, 0);
    expect(() => parseReport(v1)).toThrow(/unsupported attestation report version 1/);
  });
  it('flags non-zero reserved fields', () => {
    expect(parseReport(flip(REPORT, 0x1f8)).mbzViolations.join()).toMatch(/0x1F8-0x29F/);
    expect(parseReport(flip(REPORT, 0x4c)).mbzViolations.join()).toMatch(/KEY_INFO/);
  });
});

describe('parseReport (synthetic v3 and v5 layouts)', () => {
  function synthetic(version: number, family: number, model: number): Buffer {
    const b = Buffer.alloc(REPORT_SIZE);
    b.writeUInt32LE(version, 0);
    b.writeBigUInt64LE(0x30000n, 8);
    b.writeUInt32LE(1, 0x34);
    b[0x188] = family;
    b[0x189] = model;
    b[0x18a] = 1;
    Buffer.from([0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0x05]).copy(b, 0x180);
    b.writeBigUInt64LE(0x1122n, 0x1f8);
    b.writeBigUInt64LE(0x3344n, 0x200);
    return b;
  }
  it('v3 Genoa: CPUID bytes, legacy TCB layout, no mitigation vectors', () => {
    const r = parseReport(synthetic(3, 0x19, 0x11));
    expect(r.product).toBe('Genoa');
    expect([r.cpuidFamId, r.cpuidModId, r.cpuidStep]).toEqual([0x19, 0x11, 1]);
    expect(r.reportedTcb).toMatchObject({ fmc: null, bootloader: 1, tee: 2, snp: 0, microcode: 5 });
    expect(r.launchMitVector).toBeNull();
    expect(r.mbzViolations.join()).toMatch(/0x1F8-0x29F/); // the v5 fields are reserved in v3
  });
  it('v5 Turin: FMC TCB layout and mitigation vectors', () => {
    const r = parseReport(synthetic(5, 0x1a, 0x02));
    expect(r.product).toBe('Turin');
    expect(r.reportedTcb).toMatchObject({ fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 });
    expect(r.launchMitVector).toBe(0x1122n);
    expect(r.currentMitVector).toBe(0x3344n);
    expect(r.mbzViolations).toEqual([]);
  });
});

describe('certificates', () => {
  it('pins the three ARKs by SHA-256 of the DER', () => {
    for (const product of ['Milan', 'Genoa', 'Turin'] as const) {
      const { ark } = builtinChain(product);
      expect(fingerprintSha256(ark)).toBe(PINNED_ARK_SHA256[product]);
      expect(pinnedArkProduct(ark)).toBe(product);
    }
    expect(PINNED_ARK_SHA256.Milan.startsWith('69d063b45344d26a')).toBe(true);
  });
  it('sorts a KDS cert_chain and reads VCEK extensions', () => {
    const sorted = sortCertificates(loadCertificates(CHAIN));
    expect(sorted.ark?.subject).toContain('CN=ARK-Milan');
    expect(sorted.ask?.subject).toContain('CN=SEV-Milan');
    const info = vekInfo(new X509Certificate(VCEK));
    expect(info).toMatchObject({ kind: 'VCEK', productName: 'Milan-B0', blSpl: 3, teeSpl: 0, snpSpl: 8, ucodeSpl: 115, fmcSpl: null });
    expect(info.hwId?.toString('hex')).toBe(parseReport(REPORT).chipId.toString('hex'));
  });
  it('verifies the Turin chain and reads its 8-byte hwID and FMC SPL', () => {
    const sorted = sortCertificates(loadCertificates(TURIN_CHAIN));
    const vcek = new X509Certificate(TURIN_VCEK);
    expect(sorted.ask!.verify(sorted.ark!.publicKey)).toBe(true);
    expect(vcek.verify(sorted.ask!.publicKey)).toBe(true);
    expect(pinnedArkProduct(sorted.ark!)).toBe('Turin');
    const info = vekInfo(vcek);
    expect(info.hwId).toHaveLength(8);
    expect(info.fmcSpl).not.toBeNull();
  });
  it('reads the hwID raw even when the chip id looks like a DER header (04 3e …)', () => {
    // our own self-signed test certificate (not AMD's) with AMD's extension OIDs
    const cert = loadCertificates(readFileSync(join(DIR, 'vcek_hwid_043e.pem')))[0]!;
    const info = vekInfo(cert);
    expect(info.hwId!.length).toBe(64);
    expect(info.hwId!.subarray(0, 4).toString('hex')).toBe('043e0b30');
    expect(info).toMatchObject({ productName: 'Milan-B0', blSpl: 3, snpSpl: 8, ucodeSpl: 0x73 });
  });

  it('decodes OIDs and lists extensions', () => {
    expect(decodeOid(Buffer.from('2b060104019c780102', 'hex'))).toBe('1.3.6.1.4.1.3704.1.2');
    expect(certificateExtensions(VCEK).map((e) => e.oid)).toContain('1.3.6.1.4.1.3704.1.4');
  });
});

describe('verifyReport', () => {
  it('passes with the VCEK and the built-in chain', () => {
    const r = verifyReport({ report: REPORT, vcek: VCEK, now: NOW });
    expect(r.ok).toBe(true);
    expect(r.product).toBe('Milan');
    expect(r.chainSource).toBe('built-in');
    expect(Object.values(statusOf(r)).every((s) => s === 'pass')).toBe(true);
  });

  it('accepts the VCEK as PEM and the VCEK inside the --chain bundle', () => {
    const pem = new X509Certificate(VCEK).toString();
    expect(verifyReport({ report: REPORT, vcek: Buffer.from(pem), now: NOW }).ok).toBe(true);
    const bundle = Buffer.concat([Buffer.from(pem), CHAIN]);
    expect(verifyReport({ report: REPORT, chain: bundle, now: NOW }).ok).toBe(true);
  });

  it('passes with an explicit chain and matching expectations', () => {
    const nonce = REPORT.subarray(0x50, 0x90).toString('hex');
    const r = verifyReport({
      report: REPORT,
      vcek: VCEK,
      chain: CHAIN,
      now: NOW,
      expected: { measurement: MEASUREMENT, policy: 0x30000n, nonce },
    });
    expect(r.ok).toBe(true);
    expect(r.chainSource).toBe('chain');
    expect(statusOf(r)).toMatchObject({ measurement: 'pass', policy: 'pass', report_data: 'pass' });
  });

  it('fails expectations that do not hold', () => {
    const r = verifyReport({
      report: REPORT,
      vcek: VCEK,
      now: NOW,
      expected: { measurement: '00'.repeat(48), policy: 0xb0000n, nonce: 'ff' },
    });
    expect(r.ok).toBe(false);
    expect(statusOf(r)).toMatchObject({ measurement: 'fail', policy: 'fail', report_data: 'fail', 'report.signature': 'pass' });
  });

  it('detects a flipped byte in the measurement', () => {
    const r = verifyReport({ report: flip(REPORT, 0x90 + 5), vcek: VCEK, now: NOW });
    expect(statusOf(r)).toMatchObject({ 'report.signature': 'fail', 'chain.vek': 'pass', 'vcek.tcb': 'pass' });
    expect(r.checks.find((c) => c.id === 'report.signature')?.detail).toMatch(/does NOT verify/);
  });

  it('detects a flipped byte in the signature', () => {
    const r = verifyReport({ report: flip(REPORT, 0x2a0 + 3), vcek: VCEK, now: NOW });
    expect(statusOf(r)['report.signature']).toBe('fail');
    expect(r.ok).toBe(false);
  });

  it('detects a tampered VCEK (byte 40 flipped, as in virtee/sev milan_chain_invalid)', () => {
    const r = verifyReport({ report: REPORT, vcek: flip(VCEK, 40, 0xff), now: NOW });
    expect(statusOf(r)['chain.vek']).toBe('fail');
  });

  it('detects a tampered ASK in the chain', () => {
    const pem = CHAIN.toString('latin1');
    const ask = loadCertificates(CHAIN)[0]!;
    const der = flip(Buffer.from(ask.raw), ask.raw.length - 10);
    const badAskPem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    const arkPem = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)![1]!;
    const r = verifyReport({ report: REPORT, vcek: VCEK, chain: Buffer.from(badAskPem + arkPem), now: NOW });
    expect(statusOf(r)).toMatchObject({ 'chain.ark': 'pass', 'chain.ask': 'fail' });
  });

  it('rejects a chain from another product', () => {
    const r = verifyReport({ report: REPORT, vcek: VCEK, chain: TURIN_CHAIN, now: NOW });
    expect(statusOf(r)).toMatchObject({ 'chain.ark': 'fail', 'chain.vek': 'fail' });
  });

  it('fails a report whose POLICY allows debugging unless allowDebug is given', () => {
    expect(statusOf(verifyReport({ report: REPORT, vcek: VCEK, now: NOW }))['policy.debug']).toBe('pass');
    const debug = Buffer.from(REPORT);
    debug.writeBigUInt64LE(0xb0000n, 0x08); // qemu-server's default SNP policy (breaks the signature too)
    const r = verifyReport({ report: debug, vcek: VCEK, now: NOW });
    const check = r.checks.find((c) => c.id === 'policy.debug')!;
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('SNP_DBG_DECRYPT');
    const allowed = verifyReport({ report: debug, vcek: VCEK, now: NOW, expected: { allowDebug: true } });
    expect(statusOf(allowed)['policy.debug']).toBe('pass');
    expect(allowed.checks.find((c) => c.id === 'policy.debug')!.detail).toContain('accepted');
  });

  it('never passes a report with any single byte changed (all 0x4A0 offsets)', () => {
    const passed: number[] = [];
    for (let at = 0; at < REPORT_SIZE; at++) {
      if (verifyReport({ report: flip(REPORT, at, 0x80), vcek: VCEK, now: NOW }).ok) passed.push(at);
    }
    expect(passed).toEqual([]);
  });

  it('fails without a VCEK and after expiry', () => {
    expect(statusOf(verifyReport({ report: REPORT, now: NOW }))['report.signature']).toBe('fail');
    expect(statusOf(verifyReport({ report: REPORT, vcek: VCEK, now: new Date('2031-01-01') }))['chain.validity']).toBe('fail');
  });
});

describe('show', () => {
  it('renders every field and explains bits', () => {
    const r = parseReport(REPORT);
    const text = reportToText(r);
    for (const name of ['VERSION', 'POLICY', 'MEASUREMENT', 'REPORTED_TCB', 'CHIP_ID', 'PLATFORM_INFO', 'SMT_EN', 'SIGNATURE.S'])
      expect(text).toContain(name);
    const json = reportToJson(r) as { measurement: string; platformInfo: { bits: Array<{ name: string; set: boolean }> } };
    expect(json.measurement).toBe(MEASUREMENT);
    expect(json.platformInfo.bits.find((b) => b.name === 'SMT_EN')?.set).toBe(true);
  });
});

describe('parseReport on arbitrary bytes', () => {
  it('parses any 0x4A0 bytes with version >= 2 or throws REPORT_INVALID', async () => {
    const { fc } = await import('@fast-check/vitest');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: REPORT_SIZE, maxLength: REPORT_SIZE }), (bytes) => {
        try {
          const r = parseReport(bytes);
          expect(r.version).toBeGreaterThanOrEqual(2);
        } catch (err) {
          expect((err as CvmError).code).toBe('REPORT_INVALID');
        }
      }),
      { numRuns: 200 },
    );
  });
});
