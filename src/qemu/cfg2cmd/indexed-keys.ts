/**
 * @module qemu/cfg2cmd/indexed-keys
 * The numbered config keys the generator scans on every call (`net0`…`net31`, `hostpci0`…,
 * `usb0`…, `serial0`…), built once per family. Looking up a freshly built `net${i}` string
 * costs several times a lookup with a string V8 has seen before, and a generation probes a
 * few hundred such keys that are mostly absent.
 */

/**
 * `[prefix0, prefix1, …, prefix<count-1>]`; index i is key i. Build at module level, not per
 * call. Typed read-only rather than frozen: V8 iterates frozen arrays measurably slower.
 */
export function indexedKeys(prefix: string, count: number): readonly string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}
