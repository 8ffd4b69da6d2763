/**
 * @module attest/asn1
 * A deliberately tiny DER reader: enough to walk an X.509 certificate to its extensions and
 * to decode the INTEGER / IA5String / OCTET STRING values AMD puts in VCEK/VLEK extensions
 * (OID arc 1.3.6.1.4.1.3704.1). Node's X509Certificate verifies signatures but does not
 * expose custom extensions, hence this reader. Definite lengths only, as DER requires.
 */

import { CvmError } from '../errors.js';

export interface Tlv {
  tag: number;
  /** Offset of the tag byte in the buffer. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the contents. */
  end: number;
  content: Buffer;
}

function bad(message: string): never {
  throw new CvmError('REPORT_INVALID', `certificate DER: ${message}`);
}

export function readTlv(buf: Buffer, offset = 0): Tlv {
  if (offset + 2 > buf.length) bad(`truncated element at offset ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) bad(`multi-byte tags are not supported (offset ${offset})`);
  let len = buf[offset + 1]!;
  let at = offset + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (count === 0 || count > 4) bad(`unsupported length encoding at offset ${offset}`);
    if (at + count > buf.length) bad(`truncated length at offset ${offset}`);
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + buf[at + i]!;
    at += count;
  }
  const end = at + len;
  if (end > buf.length) bad(`element at offset ${offset} runs past the end (${end} > ${buf.length})`);
  return { tag, start: offset, contentStart: at, end, content: buf.subarray(at, end) };
}

/** The elements directly inside a constructed element's contents. */
export function children(tlv: Tlv | Buffer): Tlv[] {
  const content = Buffer.isBuffer(tlv) ? tlv : tlv.content;
  const out: Tlv[] = [];
  let at = 0;
  while (at < content.length) {
    const child = readTlv(content, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

export function decodeOid(content: Buffer): string {
  if (content.length === 0) bad('empty OBJECT IDENTIFIER');
  const first = content[0]!;
  const arcs: number[] = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let value = 0;
  for (let i = 1; i < content.length; i++) {
    const b = content[i]!;
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

/** Unsigned value of a DER INTEGER (AMD SPL values are small, non-negative). */
export function decodeInteger(content: Buffer): bigint {
  let v = 0n;
  for (const b of content) v = (v << 8n) | BigInt(b);
  if (content.length > 0 && content[0]! & 0x80) v -= 1n << BigInt(content.length * 8);
  return v;
}

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OID: 0x06,
  IA5_STRING: 0x16,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  SEQUENCE: 0x30,
  EXTENSIONS: 0xa3,
} as const;

export interface X509Extension {
  oid: string;
  critical: boolean;
  /** Contents of extnValue (itself DER of the extension's own type). */
  value: Buffer;
}

/** Every extension of a DER certificate, in order. */
export function certificateExtensions(der: Buffer): X509Extension[] {
  const cert = readTlv(der);
  if (cert.tag !== TAG.SEQUENCE) bad('certificate is not a SEQUENCE');
  const tbs = children(cert)[0];
  if (!tbs || tbs.tag !== TAG.SEQUENCE) bad('tbsCertificate is not a SEQUENCE');
  const extField = children(tbs).find((c) => c.tag === TAG.EXTENSIONS);
  if (!extField) return [];
  const list = children(extField)[0];
  if (!list || list.tag !== TAG.SEQUENCE) bad('extensions are not a SEQUENCE');
  return children(list).map((ext) => {
    const parts = children(ext);
    const oid = parts[0];
    if (!oid || oid.tag !== TAG.OID) bad('extension without OID');
    const critical = parts.length === 3 && parts[1]!.tag === 0x01 && parts[1]!.content[0] !== 0;
    const value = parts[parts.length - 1];
    if (!value || value.tag !== TAG.OCTET_STRING) bad(`extension ${decodeOid(oid.content)} has no OCTET STRING value`);
    return { oid: decodeOid(oid.content), critical, value: Buffer.from(value.content) };
  });
}

export type ExtensionValue = { kind: 'integer'; value: bigint } | { kind: 'string'; value: string } | { kind: 'bytes'; value: Buffer };

/** Decode an AMD extension value: a single DER INTEGER/string/OCTET STRING, else raw bytes. */
export function decodeExtensionValue(value: Buffer): ExtensionValue {
  try {
    const tlv = readTlv(value);
    if (tlv.end === value.length) {
      if (tlv.tag === TAG.INTEGER) return { kind: 'integer', value: decodeInteger(tlv.content) };
      if (tlv.tag === TAG.IA5_STRING || tlv.tag === TAG.UTF8_STRING || tlv.tag === TAG.PRINTABLE_STRING) {
        return { kind: 'string', value: tlv.content.toString('latin1') };
      }
      if (tlv.tag === TAG.OCTET_STRING) return { kind: 'bytes', value: Buffer.from(tlv.content) };
    }
  } catch {
    // not DER: fall through to raw bytes
  }
  return { kind: 'bytes', value: Buffer.from(value) };
}
