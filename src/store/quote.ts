/**
 * @module store/quote
 * How an input error line quotes the value it rejects: line breaks visible as `\n`, a very
 * long value cut with its length given (`'aaaa…' (9000 characters)`), so the message stays
 * one readable line whatever the user typed.
 */

/** Longest value echoed in an error line; longer ones are cut and their length given. */
export const MAX_SHOWN_VALUE = 120;

export function quotedValue(value: string): string {
  const visible = value.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  if (visible.length <= MAX_SHOWN_VALUE) return `'${visible}'`;
  return `'${visible.slice(0, MAX_SHOWN_VALUE)}…' (${value.length} characters)`;
}
