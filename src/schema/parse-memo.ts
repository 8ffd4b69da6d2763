/**
 * @module schema/parse-memo
 * A bounded memo of property-string parse outcomes, per compiled format and value. The same
 * strings are parsed again and again: the config parser validates `scsi0: …`, the drive and NIC
 * views parse it once more, the command-line generator on every run. Parsing is pure (the format
 * and the value decide the outcome), so the outcome is kept and replayed.
 *
 * Nothing mutable is shared: a stored result never leaves this module, callers always get their
 * own shallow copy (values are strings and numbers); a stored failure is only its message and
 * per-key errors, and every replay throws a new CvmError with its own details object. Only the
 * format's own outcome is kept; a named format's validator runs on each call, on the copy.
 * Clearing (also via the config parser's clearCheckCache) is a generation bump, so it costs
 * nothing per format; each format's memo is bounded and starts over when full.
 */
import { CvmError } from '../errors.js';
import type { CompiledFormat } from './compiled-format.js';
import type { PropertyValues } from './types.js';

/** A parse outcome as stored: the typed values, or the FORMAT_ERROR it died with. */
export type ParseOutcome =
  | { readonly values: Readonly<PropertyValues> }
  | { readonly failure: string; readonly errors: Readonly<Record<string, string>> | undefined };

/** Values kept per format (a host's configs use a few hundred distinct drive/NIC strings). */
const MEMO_LIMIT_PER_FORMAT = 512;

interface FormatMemo {
  generation: number;
  entries: Map<string, ParseOutcome>;
}

const memos = new WeakMap<CompiledFormat, FormatMemo>();
let generation = 0;

/** Forget every memoised outcome (a format's entries are dropped when it is next used). */
export function clearParseMemo(): void {
  generation++;
}

/** The outcomes memoised for one format. */
export function memoFor(format: CompiledFormat): Map<string, ParseOutcome> {
  const memo = memos.get(format);
  if (memo === undefined) {
    const entries = new Map<string, ParseOutcome>();
    memos.set(format, { generation, entries });
    return entries;
  }
  if (memo.generation !== generation) {
    memo.generation = generation;
    memo.entries.clear();
  }
  return memo.entries;
}

/** Store an outcome; a full memo starts over. */
export function memoise(entries: Map<string, ParseOutcome>, key: string, outcome: ParseOutcome): void {
  if (entries.size >= MEMO_LIMIT_PER_FORMAT) entries.clear();
  entries.set(key, outcome);
}

/**
 * The memo key of a value parsed with `skip` keys: the skip list's JSON (self-delimiting, so no
 * two lists and values run together) in front of the value.
 */
export function memoKey(value: string, skip: readonly string[] | undefined): string {
  return skip === undefined || skip.length === 0 ? value : JSON.stringify(skip) + value;
}

/**
 * The outcome to store for an error thrown while parsing, if it is one of the parser's own
 * FORMAT_ERRORs (anything else, such as an INTERNAL schema error, is not memoised).
 */
export function failureOutcome(err: unknown): ParseOutcome | undefined {
  if (!(err instanceof CvmError) || err.code !== 'FORMAT_ERROR' || err.cause !== undefined) return undefined;
  const details = err.details;
  if (details === undefined) return { failure: err.message, errors: undefined };
  const keys = Object.keys(details);
  if (keys.length !== 1 || keys[0] !== 'errors') return undefined;
  return { failure: err.message, errors: { ...(details.errors as Record<string, string>) } };
}

/** The caller's own copy of a memoised outcome, or the error it stands for (thrown fresh). */
export function replay(outcome: ParseOutcome): PropertyValues {
  if ('values' in outcome) return { ...outcome.values };
  const details = outcome.errors === undefined ? undefined : { errors: { ...outcome.errors } };
  throw new CvmError('FORMAT_ERROR', outcome.failure, details === undefined ? {} : { details });
}
