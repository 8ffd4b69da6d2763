/**
 * @module measure/guid
 * EFI GUIDs in their on-disk ("mixed-endian", as in `uuid.bytes_le`) encoding: the first
 * three groups are little-endian, the last two are stored as written. Firmware footer
 * tables and the SEV hashes table use this encoding, so every GUID comparison in the
 * measurement code goes through here.
 */

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Encode `aabbccdd-eeff-…` as the 16 bytes EDK2 writes into firmware images. */
export function guidToBytesLe(guid: string): Buffer {
  if (!GUID_TEXT.test(guid)) throw new TypeError(`not a GUID: ${guid}`);
  const hex = guid.replace(/-/g, '');
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out[0] = raw[3]!;
  out[1] = raw[2]!;
  out[2] = raw[1]!;
  out[3] = raw[0]!;
  out[4] = raw[5]!;
  out[5] = raw[4]!;
  out[6] = raw[7]!;
  out[7] = raw[6]!;
  raw.copy(out, 8, 8, 16);
  return out;
}

/** Decode 16 on-disk bytes back to the lower-case text form. */
export function guidFromBytesLe(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new TypeError(`GUID needs 16 bytes, got ${bytes.length}`);
  const b = Buffer.from(bytes);
  const swapped = Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
  const h = swapped.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
