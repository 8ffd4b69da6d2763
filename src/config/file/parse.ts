/**
 * @module config/file/parse
 * `parseVmConfig`: reads a qemu-server VM config file (`…/qemu-server/<vmid>.conf`) into a
 * `VmConfig`, line for line as qemu-server 9.2.6's `parse_vm_config`: the main section,
 * `[PENDING]`, `[special:cloudinit|fleecing]`, snapshot sections and unknown sections;
 * description comments; `snapstate`, `args` and `delete` lines; `check_type` on every other
 * key. In strict mode the first problem throws `CvmError('CONFIG_PARSE', <qemu-server text>)`;
 * otherwise it is reported through `warn` and the line (or section) is skipped.
 *
 * Regexes use an explicit ASCII whitespace class where Perl writes `\s` (Perl matches bytes,
 * JavaScript's `\s` would also match Unicode spaces) and the `s` flag so `.` matches `\r`
 * like Perl's `.` does. Drive values are stored verbatim: in 9.2.6 the drive schemas carry
 * their format as a hash, so qemu-server's "re-print ide/scsi/virtio/sata drives" branch
 * never runs (see docs/config-files.md).
 */

import { hash } from 'node:crypto';
import { CvmError } from '../../errors.js';
import type { ConfigSection, VmConfig } from '../types.js';
import { checkType, errorText, fleecingSectionSchema, type SchemaLookup, vmSectionSchema } from './check.js';
import { configKeyName } from '../options/index.js';
import { decodeText } from './encode.js';

export interface ParseOptions {
  /** Throw on the first problem (true) or warn and skip (false). */
  strict: boolean;
  /** Receives each non-strict problem, without trailing newline. Default: ignore. */
  warn?: (msg: string) => void;
}

const FILENAME_RE = /\/qemu-server\/(\d+)\.conf$/;
const BLANK_RE = /^[ \t\n\v\f\r]*$/;
const PENDING_RE = /^\[PENDING\][ \t\n\v\f\r]*$/i;
const SPECIAL_RE = /^\[special:(cloudinit|fleecing)\][ \t\n\v\f\r]*$/i;
const SNAPSHOT_RE = /^\[([a-z][a-z0-9_-]+)\][ \t\n\v\f\r]*$/i;
const UNKNOWN_SECTION_RE = /^\[([^\]]*)\][ \t\n\v\f\r]*$/;
const COMMENT_RE = /^#(.*)$/s;
const SNAPSTATE_RE = /snapstate:[ \t\n\v\f\r]*(prepare|delete)[ \t\n\v\f\r]*$/;

/** Schemas of the special sections, by their exact (lower-case) name. */
const SPECIAL_SCHEMAS: Record<string, SchemaLookup> = {
  cloudinit: vmSectionSchema, // never consulted: cloudinit values are stored unvalidated
  fleecing: fleecingSectionSchema,
};

type SectionType = 'main' | 'pending' | 'special' | 'snapshot';

interface Section {
  name: string;
  type: SectionType;
  /** undefined for a special section whose name matched only case-insensitively. */
  schema: SchemaLookup | undefined;
}

/** The vmid a config file name stands for, or a CONFIG_PARSE error `got strange filename`. */
export function vmidFromFilename(filename: string): number {
  const m = FILENAME_RE.exec(filename);
  if (!m) throw new CvmError('CONFIG_PARSE', `got strange filename '${filename}'`);
  return Number(m[1]);
}

/** SHA-1 hex of the file content (the bytes, or the UTF-8 encoding of a string). */
export function configDigest(raw: string | Uint8Array): string {
  return hash('sha1', raw, 'hex');
}

function checkValue(key: string, value: string, lookup: SchemaLookup | undefined): string {
  if (!lookup) throw new CvmError('PARAM_INVALID', 'check_type: no schema defined');
  return checkType(key, value, lookup);
}

type HeaderLine =
  | { kind: 'pending' }
  | { kind: 'special'; name: string }
  | { kind: 'snapshot'; name: string }
  | { kind: 'unknown'; name: string };

/** The section header a line is, in qemu-server's order of tests; undefined for other lines. */
function matchHeader(line: string): HeaderLine | undefined {
  if (line.charCodeAt(0) !== 0x5b /* [ */) return undefined;
  if (PENDING_RE.test(line)) return { kind: 'pending' };
  const special = SPECIAL_RE.exec(line);
  if (special) return { kind: 'special', name: special[1] as string };
  const snapshot = SNAPSHOT_RE.exec(line);
  if (snapshot) return { kind: 'snapshot', name: snapshot[1] as string };
  const unknown = UNKNOWN_SECTION_RE.exec(line);
  if (unknown) return { kind: 'unknown', name: unknown[1] as string };
  return undefined;
}

type BodyLine =
  | { kind: 'comment' | 'description'; text: string }
  | { kind: 'snapstate' | 'args' | 'delete'; value: string }
  | { kind: 'pair'; key: string; value: string }
  | { kind: 'garbage' };

/**
 * What a line inside a section is, tested in qemu-server's order. The cheap prefix tests
 * only skip regexes that could not match anyway.
 */
function matchBody(line: string): BodyLine {
  const comment = line.charCodeAt(0) === 0x23 /* # */ ? COMMENT_RE.exec(line) : null;
  if (comment) return { kind: 'comment', text: comment[1] as string };
  const description = line.startsWith('description:') ? trimmedRest(line, 12) : undefined;
  if (description !== undefined) return { kind: 'description', text: description };
  const snapstate = line.includes('snapstate:') ? SNAPSTATE_RE.exec(line) : null;
  if (snapstate) return { kind: 'snapstate', value: snapstate[1] as string };
  const args = line.startsWith('args:') ? trimmedRest(line, 5) : undefined;
  if (args !== undefined) return { kind: 'args', value: args };
  const del = line.startsWith('delete:') ? trimmedRest(line, 7) : undefined;
  if (del !== undefined) return { kind: 'delete', value: del };
  return matchPair(line) ?? { kind: 'garbage' };
}

/** Perl `\s` on bytes: space, \t, \n, \v, \f, \r. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/**
 * qemu-server's `m/^(args):\s*(.*\S)\s*$/s` (and the same for description and delete) after
 * the prefix of length `from`: the rest without surrounding whitespace, or undefined when it
 * has no non-space. A scan from both ends: the regex form backtracks quadratically over a long
 * run of spaces (100 KB of them took seconds).
 */
function trimmedRest(line: string, from: number): string | undefined {
  let end = line.length;
  while (end > from && isSpace(line.charCodeAt(end - 1))) end--;
  if (end === from) return undefined;
  let start = from;
  while (isSpace(line.charCodeAt(start))) start++;
  return line.slice(start, end);
}

/** The string without trailing Perl whitespace (`s/\s+$//`, which as a regex is quadratic on long runs of spaces). */
export function trimTrailingSpace(text: string): string {
  let end = text.length;
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  return end === text.length ? text : text.slice(0, end);
}

/**
 * qemu-server's `m/^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$/` for a `key: value` line, spelled out
 * because every line of every config goes through it (a lazy `.+?` before `\s*$` makes the regex
 * retry the tail at each character). The key is everything before the first colon; the value is
 * the rest without surrounding whitespace, except that a rest made only of whitespace still
 * yields its last character (the regex backtracks to give `.+?` one).
 */
function matchPair(line: string): { kind: 'pair'; key: string; value: string } | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  if (!isConfigKey(line, colon)) return undefined;
  const key = line.slice(0, colon);
  let start = colon + 1;
  let end = line.length;
  if (start === end) return undefined;
  while (end > start && isSpace(line.charCodeAt(end - 1))) end--;
  if (end === start) return { kind: 'pair', key, value: line.charAt(line.length - 1) };
  while (isSpace(line.charCodeAt(start))) start++;
  return { kind: 'pair', key, value: line.slice(start, end) };
}

/** Whether `line.slice(0, end)` matches `^[a-z][a-z_\-]*\d*$` (checked in place, no slice). */
function isConfigKey(line: string, end: number): boolean {
  const first = line.charCodeAt(0);
  if (!(first >= 0x61 && first <= 0x7a)) return false; // a-z
  let i = 1;
  for (; i < end; i++) {
    const code = line.charCodeAt(i);
    if (!((code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x2d)) break; // a-z _ -
  }
  for (; i < end; i++) {
    const code = line.charCodeAt(i);
    if (!(code >= 0x30 && code <= 0x39)) return false; // 0-9
  }
  return true;
}

/** A problem in the file: thrown in strict mode, otherwise warned about and skipped. */
function handleError(opts: ParseOptions, msg: string): void {
  if (opts.strict) throw new CvmError('CONFIG_PARSE', msg);
  opts.warn?.(msg);
}

/** Store a finished description comment block on its section; returns the reset accumulator. */
function finishDescription(conf: ConfigSection, descr: string | undefined): undefined {
  if (descr !== undefined) conf.description = trimTrailingSpace(descr);
  return undefined;
}

/** BLANK_RE, answered without the regex for the usual line that starts with a non-space. */
function isBlankLine(line: string): boolean {
  if (line.length > 0 && !isSpace(line.charCodeAt(0))) return false;
  return BLANK_RE.test(line);
}

export function parseVmConfig(filename: string, raw: string | Uint8Array, opts: ParseOptions): VmConfig {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  const digest = configDigest(raw);
  const vmid = vmidFromFilename(filename);

  const main: ConfigSection = {};
  let pending: ConfigSection | undefined;
  const special: Record<string, ConfigSection> = {};
  const snapshots: Record<string, ConfigSection> = {};

  let conf: ConfigSection = main;
  let descr: string | undefined;

  let section: Section | undefined = { name: '', type: 'main', schema: vmSectionSchema };

  for (const line of text.split('\n')) {
    if (isBlankLine(line)) continue;

    const header = matchHeader(line);
    if (header) {
      // the previous section's description is finished before anything else happens
      if (header.kind === 'pending') {
        section = { name: 'pending', type: 'pending', schema: vmSectionSchema };
        descr = finishDescription(conf, descr);
        if (pending !== undefined) handleError(opts, `vm ${vmid} - duplicate section: pending`);
        pending = {};
        conf = pending;
      } else if (header.kind === 'special') {
        section = { name: header.name, type: 'special', schema: SPECIAL_SCHEMAS[header.name] };
        descr = finishDescription(conf, descr);
        if (Object.hasOwn(special, header.name)) handleError(opts, `vm ${vmid} - duplicate special section: ${header.name}`);
        conf = {};
        special[header.name] = conf;
      } else if (header.kind === 'snapshot') {
        section = { name: header.name, type: 'snapshot', schema: vmSectionSchema };
        descr = finishDescription(conf, descr);
        if (Object.hasOwn(snapshots, header.name)) handleError(opts, `vm ${vmid} - duplicate snapshot section: ${header.name}`);
        conf = {};
        snapshots[header.name] = conf;
      } else {
        section = undefined;
        descr = finishDescription(conf, descr);
        handleError(opts, `vm ${vmid} - skipping unknown section: '${header.name}'`);
      }
      continue;
    }

    if (section === undefined) continue;

    const body = matchBody(line);
    switch (body.kind) {
      case 'comment':
        descr = `${descr ?? ''}${decodeText(body.text)}\n`;
        break;
      case 'description':
        descr = (descr ?? '') + decodeText(body.text);
        break;
      case 'snapstate':
        conf.snapstate = body.value;
        break;
      case 'args':
        conf.args = body.value;
        break;
      case 'delete':
        if (section.type === 'pending') conf.delete = body.value;
        else handleError(opts, `vm ${vmid} - property 'delete' is only allowed in [PENDING]`);
        break;
      case 'pair': {
        // the table's spelling of the key: cheaper to hash and to store under (see configKeyName)
        const key = configKeyName(body.key);
        if (section.type === 'special' && section.name === 'cloudinit') {
          conf[key] = body.value; // informative only, never validated
          break;
        }
        let value: string;
        try {
          value = checkValue(key, body.value, section.schema);
        } catch (err) {
          handleError(opts, `vm ${vmid} - unable to parse value of '${key}' - ${errorText(err)}`);
          break;
        }
        conf[key === 'cdrom' ? 'ide2' : key] = value;
        break;
      }
      case 'garbage':
        handleError(opts, `vm ${vmid} - unable to parse config: ${line}`);
        break;
    }
  }

  finishDescription(conf, descr);
  delete main.snapstate;

  return { vmid, digest, conf: main, pending: pending ?? {}, special, snapshots };
}
