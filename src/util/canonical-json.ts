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
 * The member prefixes (`"key":`) of an object's keys in UTF-8 byte order, as JSON::XS canonical
 * sorts them. For ASCII keys (all keys QEMU knows) UTF-16 code unit order — the default sort —
 * is the same as byte order; other keys (surrogate pairs and lone surrogates would order
 * differently) are compared as bytes.
 *
 * The generator prints objects of a few dozen shapes over and over, so the sorted prefixes are
 * remembered per key list (sorting and quoting every object was a third of the encoder's time),
 * in a trie with one level per key: looking a list up hashes only property-name strings, whose
 * hashes V8 keeps, and allocates nothing.
 */
function sortedMembers(keys: string[]): readonly Member[] {
  let node = orders;
  for (const key of keys) {
    let next = node.next.get(key);
    if (next === undefined) {
      if (trieSize >= TRIE_LIMIT) {
        orders.next.clear();
        trieSize = 0;
      }
      next = { next: new Map(), members: undefined };
      node.next.set(key, next);
      trieSize++;
    }
    node = next;
  }
  if (node.members === undefined) node.members = sortMembers(keys);
  return node.members;
}

function sortMembers(keys: readonly string[]): readonly Member[] {
  if (keys.every((k) => PLAIN_JSON_TEXT.test(k))) return [...keys].sort().map((k): Member => [k, `"${k}":`]);
  return [...keys].sort(compareUtf8).map((k): Member => [k, `${JSON.stringify(k)}:`]);
}

type Member = readonly [key: string, prefix: string];

interface TrieNode {
  readonly next: Map<string, TrieNode>;
  members: readonly Member[] | undefined;
}

/** Bounded: a long-lived process printing objects of ever new shapes starts over. */
const TRIE_LIMIT = 4096;
let trieSize = 0;
const orders: TrieNode = { next: new Map(), members: undefined };

/** Compact JSON with object keys sorted bytewise, as JSON::XS canonical prints it. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    let out = '{';
    for (const [key, prefix] of sortedMembers(Object.keys(obj))) {
      const v = obj[key];
      if (v === undefined) continue;
      out += out.length === 1 ? prefix : `,${prefix}`;
      out += canonicalJson(v);
    }
    return `${out}}`;
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
  const members = sortedMembers(Object.keys(obj))
    .filter(([k]) => obj[k] !== undefined)
    .map(([k, prefix]) => `${inner}${prefix.slice(0, -1)} : ${canonicalPrettyJson(obj[k], inner)}`);
  return members.length === 0 ? '{}' : `{\n${members.join(',\n')}\n${indent}}`;
}
