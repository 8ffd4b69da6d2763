/**
 * @module api/request
 * Reading a request's parameters the way pve-http-server does: GET and DELETE take only the
 * query string (a body is `501 Unexpected content for method 'GET'`); POST and PUT take a
 * form-urlencoded (also without Content-Type) or JSON body of at most 512 KiB, and query
 * parameters override body parameters. Repeated form keys become lists, `_dc` (ExtJS cache
 * buster) is dropped, JSON booleans become `1`/`0` and numbers their text. Path parameters are
 * merged last; a different value for the same name is a 400.
 */

import type { IncomingMessage } from 'node:http';
import { CvmError } from '../errors.js';
import { paramError, type RawParams } from './params.js';

export const MAX_BODY_BYTES = 512 * 1024;

function addValue(out: RawParams, key: string, value: string): void {
  const prev = out[key];
  if (prev === undefined) out[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[key] = [prev, value];
}

/** A params object without prototype: a `__proto__` key is just an unknown parameter. */
const emptyParams = (): RawParams => Object.create(null) as RawParams;

export function decodeForm(text: string): RawParams {
  const out = emptyParams();
  if (text === '') return out;
  for (const [k, v] of new URLSearchParams(text)) addValue(out, k, v);
  return out;
}

function jsonScalar(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  throw paramError({ [key]: `type check ('string') failed - got ${Array.isArray(value) ? 'ARRAY' : 'HASH'}` });
}

export function decodeJson(text: string): RawParams {
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw new CvmError('PARAM_INVALID', `malformed JSON body - ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CvmError('PARAM_INVALID', 'malformed JSON body - not an object');
  }
  const out = emptyParams();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) out[k] = v.map((item) => jsonScalar(k, item));
    else out[k] = jsonScalar(k, v);
  }
  return out;
}

/** The raw body, refusing more than `limit` bytes (PVE: 501 `for data too large`). */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new CvmError('NOT_IMPLEMENTED', 'for data too large');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Whether a GET/DELETE request carries a body. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Decode a POST/PUT body by its content type. */
export function decodeBody(contentType: string | undefined, body: Buffer): RawParams {
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (type === '' || type === 'application/x-www-form-urlencoded') return decodeForm(body.toString('utf8'));
  if (type === 'application/json') return decodeJson(body.toString('utf8'));
  throw new CvmError('UNSUPPORTED_CONTENT', `unsupported content type '${type}'`);
}

/** Body params, then query params over them, then path params (which must not conflict). */
export function mergeParams(body: RawParams, query: RawParams, path: Readonly<Record<string, string>>): RawParams {
  const merged = Object.assign(emptyParams(), body, query);
  delete merged._dc;
  for (const [key, value] of Object.entries(path)) {
    const given = merged[key];
    if (given !== undefined && given !== value) {
      throw paramError({ [key]: 'duplicate parameter (already defined in URI) with conflicting values!' });
    }
    merged[key] = value;
  }
  return merged;
}
