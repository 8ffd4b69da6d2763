/**
 * @module qemu/cfg2cmd/opt-value
 * QEMU parses most option arguments (`-chardev`, `-drive`, `-netdev`, `-vnc`, `-boot`…) as
 * `key=value,key=value` strings in which a literal comma is written `,,`. A path spliced into
 * such a string unescaped lets a comma in a state root or storage path (`/srv/r,wait=on`) add
 * options of its own. `optValue` doubles the commas; for the paths qemu-server uses (no
 * commas) it returns the string unchanged, so the command line stays byte-identical.
 * Arguments QEMU takes as a plain file name (`-pidfile`, `-readconfig`, `-bios`) must NOT be
 * escaped.
 */

/** A value for a QEMU key=value option string: commas doubled. */
export function optValue(value: string): string {
  return value.includes(',') ? value.replaceAll(',', ',,') : value;
}
