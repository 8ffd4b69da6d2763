/**
 * @module cluster/watch-stream
 * Reading etcd's `/v3/watch` answer through the JSON gateway: a stream of newline-delimited JSON
 * messages (`{"result": WatchResponse}` or `{"error": …}`), keys and values base64, int64s as
 * strings. `LineSplitter` cuts the text stream into lines whatever the chunking;
 * `parseWatchLine` turns one line into what the cache acts on (events, created, compacted,
 * canceled, or an error) and never throws: anything malformed is an `error` message, which
 * makes the cache reconnect rather than act on a half-understood answer.
 */

import type { KeyValue } from './etcd-client.js';

/** Complete lines out of arbitrarily cut text chunks (the last, unfinished line is kept back). */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    this.rest += chunk;
    const lines: string[] = [];
    for (let nl = this.rest.indexOf('\n'); nl >= 0; nl = this.rest.indexOf('\n')) {
      const line = this.rest.slice(0, nl);
      this.rest = this.rest.slice(nl + 1);
      if (line.trim() !== '') lines.push(line);
    }
    return lines;
  }
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete only key and modRevision are meaningful (etcd sends nothing else). */
  kv: KeyValue;
}

export type WatchMessage =
  | { kind: 'events'; created: boolean; events: WatchEvent[] }
  | { kind: 'compacted'; compactRevision: number }
  | { kind: 'canceled'; reason: string }
  | { kind: 'error'; message: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const INT = /^\d+$/;

function str64(v: unknown): string | undefined {
  if (v === undefined) return '';
  if (typeof v !== 'string' || !BASE64.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
}

function int(v: unknown): number | undefined {
  if (v === undefined) return 0;
  if (typeof v !== 'string' || !INT.test(v)) return undefined;
  return Number(v);
}

function event(raw: unknown): WatchEvent | undefined {
  if (!isObject(raw) || !isObject(raw.kv)) return undefined;
  const type = raw.type === undefined || raw.type === 'PUT' ? 'put' : raw.type === 'DELETE' ? 'delete' : undefined;
  const key = str64(raw.kv.key);
  const value = str64(raw.kv.value);
  const createRevision = int(raw.kv.create_revision);
  const modRevision = int(raw.kv.mod_revision);
  const lease = raw.kv.lease;
  if (!type || !key || value === undefined || createRevision === undefined || !modRevision) return undefined;
  if (lease !== undefined && (typeof lease !== 'string' || !INT.test(lease))) return undefined;
  return { type, kv: { key, value, createRevision, modRevision, lease: lease && lease !== '0' ? lease : undefined } };
}

/** One line of the watch stream (never throws). */
export function parseWatchLine(line: string): WatchMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { kind: 'error', message: `unreadable watch message: ${line.slice(0, 120)}` };
  }
  if (!isObject(msg) || !isObject(msg.result)) {
    const err = isObject(msg) && isObject(msg.error) && typeof msg.error.message === 'string' ? msg.error.message : line.slice(0, 120);
    return { kind: 'error', message: `watch error - ${err}` };
  }
  const r = msg.result;
  if (r.canceled === true) {
    const compactRevision = int(r.compact_revision) ?? 0;
    if (compactRevision > 0) return { kind: 'compacted', compactRevision };
    return { kind: 'canceled', reason: typeof r.cancel_reason === 'string' && r.cancel_reason ? r.cancel_reason : 'no reason given' };
  }
  const rawEvents = r.events ?? [];
  if (!Array.isArray(rawEvents)) return { kind: 'error', message: 'watch message with malformed events' };
  const events: WatchEvent[] = [];
  for (const raw of rawEvents) {
    const ev = event(raw);
    if (!ev) return { kind: 'error', message: `watch message with a malformed event: ${JSON.stringify(raw).slice(0, 120)}` };
    events.push(ev);
  }
  return { kind: 'events', created: r.created === true, events };
}
