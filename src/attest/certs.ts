/**
 * @module attest/certs
 * The AMD certificate side of SNP attestation: loading PEM/DER certificates, sorting a
 * bundle into ARK / ASK(ASVK) / VCEK(VLEK), the pinned ARK fingerprints (SHA-256 of the DER,
 * taken from virtee/sev's built-in roots), the built-in chains, and the VCEK extensions
 * (OID arc 1.3.6.1.4.1.3704.1: product name, TCB SPLs, hwID). Signature checks use Node's
 * X509Certificate (RSASSA-PSS chain) and crypto.verify (ECDSA P-384 report signature).
 */

import { createHash, X509Certificate } from 'node:crypto';
import { CvmError } from '../errors.js';
import { certificateExtensions, decodeExtensionValue } from './asn1.js';
import { BUILTIN_CHAINS } from './builtin-certs.js';
import type { Product } from './report.js';

export type ChainProduct = 'Milan' | 'Genoa' | 'Turin';

/** SHA-256 of the DER of each AMD Root Key (ARK). */
export const PINNED_ARK_SHA256: Record<ChainProduct, string> = {
  Milan: '69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd',
  Genoa: '4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1',
  Turin: '1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a',
};

export const AMD_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSpl: '1.3.6.1.4.1.3704.1.3.1',
  teeSpl: '1.3.6.1.4.1.3704.1.3.2',
  snpSpl: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSpl: '1.3.6.1.4.1.3704.1.3.8',
  fmcSpl: '1.3.6.1.4.1.3704.1.3.9',
  hwId: '1.3.6.1.4.1.3704.1.4',
} as const;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function fingerprintSha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** Certificates from PEM text (any number) or a single DER certificate. */
export function loadCertificates(data: Uint8Array, label = 'certificate'): X509Certificate[] {
  const buf = Buffer.from(data);
  const text = buf.toString('latin1');
  try {
    if (text.includes('-----BEGIN CERTIFICATE-----')) {
      return (text.match(PEM_BLOCK) ?? []).map((pem) => new X509Certificate(pem));
    }
    return [new X509Certificate(buf)];
  } catch (err) {
    throw new CvmError('REPORT_INVALID', `${label}: not a valid PEM or DER X.509 certificate (${(err as Error).message})`, { cause: err });
  }
}

export function commonName(cert: X509Certificate): string {
  const line = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  return line ? line.slice(3) : cert.subject;
}

export function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.subject === cert.issuer && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** Which product's pinned ARK this certificate is, or null. */
export function pinnedArkProduct(cert: X509Certificate): ChainProduct | null {
  const fp = fingerprintSha256(cert);
  for (const [product, pinned] of Object.entries(PINNED_ARK_SHA256)) if (pinned === fp) return product as ChainProduct;
  return null;
}

export interface SortedCerts {
  ark?: X509Certificate;
  ask?: X509Certificate;
  vek?: X509Certificate;
  extra: X509Certificate[];
}

/** Sort a bundle: the EC key is the VCEK/VLEK, the self-signed RSA key the ARK, the other RSA key the ASK. */
export function sortCertificates(certs: X509Certificate[]): SortedCerts {
  const out: SortedCerts = { extra: [] };
  for (const cert of certs) {
    const type = cert.publicKey.asymmetricKeyType;
    if (type === 'ec' && !out.vek) out.vek = cert;
    else if (type !== 'ec' && isSelfSigned(cert) && !out.ark) out.ark = cert;
    else if (type !== 'ec' && !out.ask) out.ask = cert;
    else out.extra.push(cert);
  }
  return out;
}

export function builtinChain(product: ChainProduct): { ark: X509Certificate; ask: X509Certificate } {
  const pems = BUILTIN_CHAINS[product];
  return { ark: new X509Certificate(pems.ark), ask: new X509Certificate(pems.ask) };
}

/** Product from a VCEK/ASK/ARK common name ("ARK-Milan", "SEV-Genoa") or productName ("Milan-B0"). */
export function productFromName(name: string | undefined): ChainProduct | null {
  if (!name) return null;
  for (const p of ['Milan', 'Genoa', 'Turin'] as const) if (name.includes(p)) return p;
  return null;
}

export interface VekInfo {
  kind: 'VCEK' | 'VLEK' | 'unknown';
  structVersion: number | null;
  productName: string | null;
  blSpl: number | null;
  teeSpl: number | null;
  snpSpl: number | null;
  ucodeSpl: number | null;
  fmcSpl: number | null;
  hwId: Buffer | null;
}

function asNumber(v: ReturnType<typeof decodeExtensionValue> | undefined): number | null {
  if (!v) return null;
  if (v.kind === 'integer') return Number(v.value);
  if (v.kind === 'bytes' && v.value.length === 1) return v.value[0]!;
  return null;
}

/**
 * The hwID extension: AMD puts the CHIP_ID bytes (64, or 8 on Turin) into extnValue *raw*,
 * with no inner DER tag, so they must not go through the DER decoder (a chip id starting
 * 04 3e would read as a 62-byte OCTET STRING). Other lengths are taken as DER-wrapped.
 */
function hwIdBytes(raw: Buffer | undefined): Buffer | null {
  if (!raw) return null;
  if (raw.length === 64 || raw.length === 8) return Buffer.from(raw);
  const v = decodeExtensionValue(raw);
  return v.kind === 'bytes' ? v.value : Buffer.from(String(v.value));
}

/** Read the AMD extensions of a VCEK/VLEK. */
export function vekInfo(cert: X509Certificate): VekInfo {
  const list = certificateExtensions(cert.raw);
  const ext = new Map(list.map((e) => [e.oid, decodeExtensionValue(e.value)]));
  const rawExt = new Map(list.map((e) => [e.oid, e.value]));
  const name = ext.get(AMD_OID.productName);
  const cn = commonName(cert);
  return {
    kind: cn.includes('VCEK') ? 'VCEK' : cn.includes('VLEK') ? 'VLEK' : 'unknown',
    structVersion: asNumber(ext.get(AMD_OID.structVersion)),
    productName: name ? (name.kind === 'string' ? name.value : name.value.toString()) : null,
    blSpl: asNumber(ext.get(AMD_OID.blSpl)),
    teeSpl: asNumber(ext.get(AMD_OID.teeSpl)),
    snpSpl: asNumber(ext.get(AMD_OID.snpSpl)),
    ucodeSpl: asNumber(ext.get(AMD_OID.ucodeSpl)),
    fmcSpl: asNumber(ext.get(AMD_OID.fmcSpl)),
    hwId: hwIdBytes(rawExt.get(AMD_OID.hwId)),
  };
}

export function isChainProduct(p: Product | null): p is ChainProduct {
  return p === 'Milan' || p === 'Genoa' || p === 'Turin';
}
