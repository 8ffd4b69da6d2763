/**
 * @module util/canonical-json
 * Perl's `to_json($x, {canonical => 1})` as qemu-server uses it for `-object`/`-blockdev`
 * arguments (blockdev chains, throttle groups, the TDX guest object): compact, object keys
 * sorted by their UTF-8 bytes, `undefined` members left out. One implementation for every
 * argument that must match qemu-server byte for byte.
 */

/** Printable ASCII without `"` and `\`: JSON needs no escapes, so quoting is all there is to do. */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON.stringify for strings, without its call cost for the plain names and paths QEMU gets. */
function jsonString(text: string): string {
  return PLAIN_JSON_TEXT.test(text) ? `"${text}"` : JSON.stringify(text);
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Object keys in UTF-8 byte order, as JSON::XS canonical sorts them. For ASCII keys (all keys
 * QEMU knows) UTF-16 code unit order — the default sort — is the same as byte order, so
 * nothing needs encoding; other keys (surrogate pairs and lone surrogates would order
 * differently) are compared as bytes.
 */
function sortedKeys(obj: Record<string, unknown>): { keys: string[]; plain: boolean } {
  const keys = Object.keys(obj);
  const plain = keys.every((k) => PLAIN_JSON_TEXT.test(k));
  return { keys: plain ? keys.sort() : keys.sort(compareUtf8), plain };
}

/** Compact JSON with object keys sorted bytewise, as JSON::XS canonical prints it. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const { keys, plain } = sortedKeys(obj);
    let out = '';
    let separator = '';
    for (const key of keys) {
      const v = obj[key];
      if (v === undefined) continue;
      out += `${separator}${plain ? `"${key}"` : JSON.stringify(key)}:${canonicalJson(v)}`;
      separator = ',';
    }
    return `{${out}}`;
  }
  return JSON.stringify(value);
}

/**
 * `to_json($x, {pretty => 1, canonical => 1})` as `qm` prints results: JSON::XS's pretty
 * style indents by three spaces and puts a space on both sides of the colon.
 */
export function canonicalPrettyJson(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return canonicalJson(value);
  const inner = `${indent}   `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + canonicalPrettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  const obj = value as Record<string, unknown>;
  const { keys, plain } = sortedKeys(obj);
  const members = keys
    .filter((k) => obj[k] !== undefined)
    .map((k) => `${inner}${plain ? `"${k}"` : JSON.stringify(k)} : ${canonicalPrettyJson(obj[k], inner)}`);
  return members.length === 0 ? '{}' : `{\n${members.join(',\n')}\n${indent}}`;
}
