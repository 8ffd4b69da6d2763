/**
 * @module attest/verify
 * Offline verification of an SEV-SNP attestation report, as a list of named checks:
 * report format and must-be-zero fields; ARK pinned + self-signed → ASK → VCEK/VLEK
 * (RSASSA-PSS, Node X509Certificate) and validity; the report's ECDSA P-384 signature;
 * VCEK TCB SPLs vs REPORTED_TCB and hwID vs CHIP_ID; optionally MEASUREMENT, POLICY and
 * REPORT_DATA against expected values. Pure apart from crypto; no network.
 */

import { verify as cryptoVerify, type X509Certificate } from 'node:crypto';
import { CvmError } from '../errors.js';
import {
  builtinChain,
  type ChainProduct,
  commonName,
  fingerprintSha256,
  isChainProduct,
  isSelfSigned,
  loadCertificates,
  pinnedArkProduct,
  productFromName,
  sortCertificates,
  vekInfo,
  type VekInfo,
} from './certs.js';
import { parseReport, SIGNED_REGION_END, type SnpReport, withProduct } from './report.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface Check {
  id: string;
  status: CheckStatus;
  detail: string;
}

export interface ExpectedValues {
  measurement?: Uint8Array | string;
  /** Where the expected measurement came from (shown in the detail). */
  measurementSource?: string;
  policy?: bigint | number;
  nonce?: Uint8Array | string;
  /**
   * Accept a report whose POLICY allows debugging. Off by default: such a guest is genuine
   * but not confidential (the hypervisor can read it with SNP_DBG_DECRYPT), and qemu-server's
   * default SNP policy 0xb0000 allows it.
   */
  allowDebug?: boolean;
}

export interface VerifyInput {
  report: Uint8Array;
  vcek?: Uint8Array | null;
  chain?: Uint8Array | null;
  expected?: ExpectedValues;
  now?: Date;
}

export interface VerifyResult {
  ok: boolean;
  checks: Check[];
  report: SnpReport;
  product: ChainProduct | null;
  chainSource: 'chain' | 'built-in' | null;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function toBytes(value: Uint8Array | string, what: string, maxLen: number): Buffer {
  if (typeof value !== 'string') return Buffer.from(value);
  const text = value.replace(/^0x/i, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(text) || text.length / 2 > maxLen) {
    throw new CvmError('PARAM_INVALID', `${what}: '${value}' is not a hex string of at most ${maxLen} bytes`);
  }
  return Buffer.from(text, 'hex');
}

function within(cert: X509Certificate, now: Date): string | null {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) return `${commonName(cert)} is not valid before ${cert.validFrom}`;
  if (now > to) return `${commonName(cert)} expired ${cert.validTo}`;
  return null;
}

function safeVerify(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** ECDSA P-384 over bytes 0x000–0x29F with the VEK; R/S stored as 72-byte little-endian. */
export function verifyReportSignature(report: SnpReport, vek: X509Certificate): boolean {
  try {
    return cryptoVerify(
      'sha384',
      report.raw.subarray(0, SIGNED_REGION_END),
      { key: vek.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.concat([report.signatureR, report.signatureS]),
    );
  } catch {
    return false;
  }
}

function tcbCheck(report: SnpReport, info: VekInfo): Check {
  const t = report.reportedTcb;
  const pairs: Array<[string, number | null, number | null]> = [
    ['bootloader', info.blSpl, t.bootloader],
    ['tee', info.teeSpl, t.tee],
    ['snp', info.snpSpl, t.snp],
    ['microcode', info.ucodeSpl, t.microcode],
  ];
  if (report.product === 'Turin') pairs.unshift(['fmc', info.fmcSpl, t.fmc]);
  const missing = pairs.filter(([, cert]) => cert === null).map(([n]) => n);
  if (missing.length) return { id: 'vcek.tcb', status: 'fail', detail: `certificate lacks SPL extension(s): ${missing.join(', ')}` };
  const diff = pairs.filter(([, cert, rep]) => cert !== rep).map(([n, cert, rep]) => `${n} cert=${cert} report=${rep}`);
  const text = pairs.map(([n, c]) => `${n}=${c}`).join(' ');
  return diff.length
    ? { id: 'vcek.tcb', status: 'fail', detail: `REPORTED_TCB differs from the certificate: ${diff.join(', ')}` }
    : { id: 'vcek.tcb', status: 'pass', detail: `REPORTED_TCB matches the certificate (${text})` };
}

function hwIdCheck(report: SnpReport, info: VekInfo): Check {
  if (info.kind === 'VLEK') return { id: 'vcek.hwid', status: 'skip', detail: 'VLEK certificates carry no hwID' };
  if (report.chipId.every((b) => b === 0)) {
    return { id: 'vcek.hwid', status: 'skip', detail: 'CHIP_ID is zero (MASK_CHIP_ID): nothing to compare' };
  }
  if (!info.hwId) return { id: 'vcek.hwid', status: 'fail', detail: 'certificate has no hwID extension' };
  const n = info.hwId.length;
  const matches = n <= 64 && info.hwId.equals(report.chipId.subarray(0, n)) && report.chipId.subarray(n).every((b) => b === 0);
  return matches
    ? { id: 'vcek.hwid', status: 'pass', detail: `hwID matches CHIP_ID (${n} bytes)` }
    : {
        id: 'vcek.hwid',
        status: 'fail',
        detail: `hwID ${hex(info.hwId).slice(0, 16)}… differs from CHIP_ID ${hex(report.chipId).slice(0, 16)}…`,
      };
}

export function verifyReport(input: VerifyInput): VerifyResult {
  const now = input.now ?? new Date();
  let report = parseReport(input.report);
  const checks: Check[] = [];
  const add = (id: string, ok: boolean, detail: string) => checks.push({ id, status: ok ? 'pass' : 'fail', detail });
  const skip = (id: string, detail: string) => checks.push({ id, status: 'skip', detail });

  add(
    'report.format',
    report.signatureAlgo === 1 && report.version <= 5,
    `version ${report.version}, signature algorithm ${report.signatureAlgo}${report.signatureAlgo === 1 ? ' (ECDSA P-384 SHA-384)' : ' (expected 1: ECDSA P-384 SHA-384)'}${report.version > 5 ? ', newer than v5: parsed with the v5 layout' : ''}`,
  );
  add(
    'report.mbz',
    report.mbzViolations.length === 0,
    report.mbzViolations.length ? report.mbzViolations.join('; ') : 'all must-be-zero fields are zero',
  );
  const debugAllowed = ((report.policy >> 19n) & 1n) === 1n;
  if (!debugAllowed)
    add('policy.debug', true, 'POLICY bit 19 (DEBUG) is clear: the firmware refuses SNP_DBG_DECRYPT/ENCRYPT for this guest');
  else
    add(
      'policy.debug',
      input.expected?.allowDebug === true,
      `POLICY 0x${report.policy.toString(16)} allows debugging (bit 19): the hypervisor can decrypt guest memory with SNP_DBG_DECRYPT${input.expected?.allowDebug ? ' (accepted: allowDebug)' : '; set amd-sev no-debug=1 (or accept with --allow-debug)'}`,
    );

  const bundle = input.chain ? sortCertificates(loadCertificates(input.chain, '--chain')) : { extra: [] as X509Certificate[] };
  const vek = input.vcek ? loadCertificates(input.vcek, '--vcek')[0] : bundle.vek;
  const info = vek ? vekInfo(vek) : null;

  let product: ChainProduct | null = isChainProduct(report.product) ? report.product : null;
  product ??=
    productFromName(info?.productName ?? undefined) ??
    productFromName(bundle.ark ? commonName(bundle.ark) : undefined) ??
    productFromName(bundle.ask ? commonName(bundle.ask) : undefined);
  if (product && report.product !== product && report.product === null) report = withProduct(report, product);

  let ark = bundle.ark;
  let ask = bundle.ask;
  let chainSource: VerifyResult['chainSource'] = ark || ask ? 'chain' : null;
  if (!ark && !ask && product) {
    ({ ark, ask } = builtinChain(product));
    chainSource = 'built-in';
  }

  if (!ark) {
    add('chain.ark', false, product ? 'no ARK in --chain' : 'no ARK: give --chain (the product could not be told from the report)');
  } else {
    const pinned = pinnedArkProduct(ark);
    const self = isSelfSigned(ark);
    const ok = pinned !== null && self && (product === null || pinned === product);
    add(
      'chain.ark',
      ok,
      pinned
        ? `${commonName(ark)} is the pinned AMD root for ${pinned}${self ? ', self-signature valid' : ', SELF-SIGNATURE INVALID'}${product && pinned !== product ? `, but the report is from ${product}` : ''} (${chainSource})`
        : `ARK '${commonName(ark)}' (sha256 ${fingerprintSha256(ark)}) is not a pinned AMD root`,
    );
  }
  if (!ask) add('chain.ask', false, 'no ASK/ASVK in --chain');
  else if (!ark) skip('chain.ask', 'no ARK to check the ASK against');
  else
    add(
      'chain.ask',
      safeVerify(ask, ark),
      `${commonName(ask)} signed by ${commonName(ark)}: ${safeVerify(ask, ark) ? 'valid' : 'INVALID signature'}`,
    );

  if (!vek) add('chain.vek', false, 'no VCEK/VLEK given (--vcek, or include it in --chain)');
  else if (!ask) skip('chain.vek', 'no ASK to check the VCEK against');
  else {
    const ok = safeVerify(vek, ask);
    add('chain.vek', ok, `${commonName(vek)} signed by ${commonName(ask)}: ${ok ? 'valid' : 'INVALID signature'}`);
  }
  const expired = [ark, ask, vek]
    .filter((c): c is X509Certificate => Boolean(c))
    .map((c) => within(c, now))
    .filter(Boolean);
  if (ark || ask || vek)
    add('chain.validity', expired.length === 0, expired.length ? expired.join('; ') : `all certificates valid at ${now.toISOString()}`);

  if (!vek || !info) {
    add('report.signature', false, 'no VCEK/VLEK to check the signature with');
  } else {
    const keyName = report.keyInfo.signingKeyName;
    if (report.keyInfo.signingKey !== 0 && report.keyInfo.signingKey !== 1) {
      add('report.signature', false, `report is not signed (KEY_INFO.SIGNING_KEY = ${keyName})`);
    } else if (info.kind !== 'unknown' && info.kind !== keyName) {
      add('report.signature', false, `report was signed with the ${keyName} but a ${info.kind} certificate was given`);
    } else {
      const ok = verifyReportSignature(report, vek);
      add(
        'report.signature',
        ok,
        ok ? `ECDSA P-384 signature valid (${keyName})` : `ECDSA P-384 signature does NOT verify with this ${info.kind}`,
      );
    }
    checks.push(tcbCheck(report, info));
    checks.push(hwIdCheck(report, info));
  }

  const expected = input.expected ?? {};
  if (expected.measurement !== undefined) {
    const want = toBytes(expected.measurement, 'measurement', 48);
    const ok = want.equals(report.measurement);
    add(
      'measurement',
      ok,
      `${ok ? 'matches' : 'differs from'} ${expected.measurementSource ?? 'the expected value'}: report ${hex(report.measurement)}${ok ? '' : `, expected ${hex(want)}`}`,
    );
  }
  if (expected.policy !== undefined) {
    const want = BigInt(expected.policy);
    add('policy', want === report.policy, `report 0x${report.policy.toString(16)}, expected 0x${want.toString(16)}`);
  }
  if (expected.nonce !== undefined) {
    const nonce = toBytes(expected.nonce, '--nonce', 64);
    const ok = report.reportData.subarray(0, nonce.length).equals(nonce) && report.reportData.subarray(nonce.length).every((b) => b === 0);
    add(
      'report_data',
      ok,
      ok
        ? `REPORT_DATA carries the nonce (${nonce.length} bytes, rest zero)`
        : `REPORT_DATA ${hex(report.reportData)} does not carry nonce ${hex(nonce)}`,
    );
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks, report, product, chainSource };
}
