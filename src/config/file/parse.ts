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

import { createHash } from 'node:crypto';
import { CvmError } from '../../errors.js';
import type { ConfigSection, VmConfig } from '../types.js';
import { checkType, errorText, fleecingSectionSchema, type SchemaLookup, vmSectionSchema } from './check.js';
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
const DESCRIPTION_RE = /^(description):[ \t\n\v\f\r]*(.*[^ \t\n\v\f\r])[ \t\n\v\f\r]*$/s;
const SNAPSTATE_RE = /snapstate:[ \t\n\v\f\r]*(prepare|delete)[ \t\n\v\f\r]*$/;
const ARGS_RE = /^(args):[ \t\n\v\f\r]*(.*[^ \t\n\v\f\r])[ \t\n\v\f\r]*$/s;
const DELETE_RE = /^delete:[ \t\n\v\f\r]*(.*[^ \t\n\v\f\r])[ \t\n\v\f\r]*$/s;
const KEY_VALUE_RE = /^([a-z][a-z_-]*\d*):[ \t\n\v\f\r]*(.+?)[ \t\n\v\f\r]*$/s;
const TRAILING_WS_RE = /[ \t\n\v\f\r]+$/;

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
  return createHash('sha1').update(raw).digest('hex');
}

function checkValue(key: string, value: string, lookup: SchemaLookup | undefined): string {
  if (!lookup) throw new CvmError('PARAM_INVALID', 'check_type: no schema defined');
  return checkType(key, value, lookup);
}

export function parseVmConfig(filename: string, raw: string | Uint8Array, opts: ParseOptions): VmConfig {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  const digest = configDigest(raw);
  const vmid = vmidFromFilename(filename);
  const handleError = (msg: string): void => {
    if (opts.strict) throw new CvmError('CONFIG_PARSE', msg);
    opts.warn?.(msg);
  };

  const main: ConfigSection = {};
  let pending: ConfigSection | undefined;
  const special: Record<string, ConfigSection> = {};
  const snapshots: Record<string, ConfigSection> = {};

  let conf: ConfigSection = main;
  let descr: string | undefined;
  const finishDescription = (): void => {
    if (descr !== undefined) conf.description = descr.replace(TRAILING_WS_RE, '');
    descr = undefined;
  };

  let section: Section | undefined = { name: '', type: 'main', schema: vmSectionSchema };

  for (const line of text.split('\n')) {
    if (BLANK_RE.test(line)) continue;

    if (line.charCodeAt(0) === 0x5b /* [ */) {
      let m: RegExpExecArray | null;
      if (PENDING_RE.test(line)) {
        section = { name: 'pending', type: 'pending', schema: vmSectionSchema };
        finishDescription();
        if (pending !== undefined) handleError(`vm ${vmid} - duplicate section: pending`);
        conf = pending = {};
        continue;
      } else if ((m = SPECIAL_RE.exec(line))) {
        const name = m[1] as string;
        section = { name, type: 'special', schema: SPECIAL_SCHEMAS[name] };
        finishDescription();
        if (Object.hasOwn(special, name)) handleError(`vm ${vmid} - duplicate special section: ${name}`);
        conf = special[name] = {};
        continue;
      } else if ((m = SNAPSHOT_RE.exec(line))) {
        const name = m[1] as string;
        section = { name, type: 'snapshot', schema: vmSectionSchema };
        finishDescription();
        if (Object.hasOwn(snapshots, name)) handleError(`vm ${vmid} - duplicate snapshot section: ${name}`);
        conf = snapshots[name] = {};
        continue;
      } else if ((m = UNKNOWN_SECTION_RE.exec(line))) {
        section = undefined;
        finishDescription();
        handleError(`vm ${vmid} - skipping unknown section: '${m[1]}'`);
        continue;
      }
    }

    if (section === undefined) continue;

    let m: RegExpExecArray | null;
    if (line.charCodeAt(0) === 0x23 /* # */ && (m = COMMENT_RE.exec(line))) {
      descr = (descr ?? '') + decodeText(m[1] as string) + '\n';
      continue;
    }

    // The cheap prefix tests only skip regexes that could not match; the order stays qemu-server's.
    if (line.startsWith('description:') && (m = DESCRIPTION_RE.exec(line))) {
      descr = (descr ?? '') + decodeText(m[2] as string);
    } else if (line.includes('snapstate:') && (m = SNAPSTATE_RE.exec(line))) {
      conf.snapstate = m[1] as string;
    } else if (line.startsWith('args:') && (m = ARGS_RE.exec(line))) {
      conf.args = m[2] as string;
    } else if (line.startsWith('delete:') && (m = DELETE_RE.exec(line))) {
      if (section.type === 'pending') conf.delete = m[1] as string;
      else handleError(`vm ${vmid} - property 'delete' is only allowed in [PENDING]`);
    } else if ((m = KEY_VALUE_RE.exec(line))) {
      let key = m[1] as string;
      let value = m[2] as string;
      if (section.type === 'special' && section.name === 'cloudinit') {
        conf[key] = value; // informative only, never validated
        continue;
      }
      try {
        value = checkValue(key, value, section.schema);
      } catch (err) {
        handleError(`vm ${vmid} - unable to parse value of '${key}' - ${errorText(err)}`);
        continue;
      }
      if (key === 'cdrom') key = 'ide2';
      conf[key] = value;
    } else {
      handleError(`vm ${vmid} - unable to parse config: ${line}`);
    }
  }

  finishDescription();
  delete main.snapstate;

  return { vmid, digest, conf: main, pending: pending ?? {}, special, snapshots };
}
