/**
 * @module cloudinit/quote
 * How values from a VM config land in the generated cloud-init files without changing their
 * structure. qemu-server pastes values verbatim (`user: $ciuser`, `- '$searchdomain'`,
 * `USERNAME=$ciuser`); cvmctl writes exactly that when the verbatim text reads back as the same
 * string, and a quoted form otherwise, so a `:`, `#`, quote, `\r` or leading `-` in a free-text
 * option (ciuser, cipassword, searchdomain, an ssh key) can never add a YAML key, list item or
 * shell command to the guest's configuration. Pure.
 */

/** Characters a plain YAML scalar may hold and still read back verbatim (no `:`, `#`, quotes, flow or line breaks). */
const PLAIN_SAFE = /^[A-Za-z0-9_./$+=^][A-Za-z0-9_./$+@=^%~,()!: -]*$/;
/** Plain scalars YAML 1.1 (PyYAML, which cloud-init uses) reads as something other than a string. */
const YAML_NON_STRING = /^(?:y|n|yes|no|true|false|on|off|null|~|=|[-+]?(?:\.inf|\.nan)|[-+]?[0-9][0-9a-fA-FxXoO_:.,+-]*|\.[0-9].*)$/i;
/** Characters PyYAML refuses raw or treats as line breaks: escaped inside double quotes. */
const YAML_ESCAPE = /[\u007f-\u009f\u2028\u2029\ufeff]/g;
const NEEDS_ESCAPE = /['\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

function hex4(c: string): string {
  return `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`;
}

/** A YAML double-quoted scalar (JSON's escapes, which YAML shares, plus the YAML line breaks). */
export function yamlDoubleQuoted(value: string): string {
  return JSON.stringify(value).replace(YAML_ESCAPE, hex4);
}

/** `value` verbatim where YAML reads it back unchanged as a string, else double-quoted. */
export function yamlPlain(value: string): string {
  const plain = PLAIN_SAFE.test(value) && !/[ :]$/.test(value) && !value.includes(': ');
  if (plain && !YAML_NON_STRING.test(value)) return value;
  return yamlDoubleQuoted(value);
}

/** `'value'` as qemu-server writes it, unless a quote or a non-printable character needs escapes. */
export function yamlSingleQuoted(value: string): string {
  if (NEEDS_ESCAPE.test(value)) return yamlDoubleQuoted(value);
  return `'${value}'`;
}

const SHELL_SAFE = /^[A-Za-z0-9_.@%+=:,/-]*$/;

/** A value for `KEY=value` in a sourced shell file: verbatim when it is one plain word, else single-quoted. */
export function shellWord(value: string): string {
  return SHELL_SAFE.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/** `KEY="value"` as qemu-server writes it, or `KEY='value'` when `"`, `$`, backtick or `\` would be expanded. */
export function shellDoubleQuoted(value: string): string {
  return /["$`\\]/.test(value) ? `'${value.replace(/'/g, "'\\''")}'` : `"${value}"`;
}
