/**
 * @module api/errors
 * How a failure becomes a PVE-shaped answer: the status from `httpStatusFor` (errors.ts), the
 * message whose first line is also the HTTP reason phrase, and the per-parameter `errors` map
 * of `400 Parameter verification failed.`. A `PARAM_INVALID` error that names one parameter
 * (`delete: you can't use …`, a vmid out of range, `no such task`) is reported the PVE way,
 * under that parameter. The store's "does not exist" text names the file as pmxcfs shows it
 * (`nodes/<node>/qemu-server/<vmid>.conf`) rather than the state root's real path.
 */

import { CvmError, httpStatusFor, isCvmError } from '../errors.js';
import { PARAM_VERIFICATION_FAILED } from './params.js';

export interface ErrorAnswer {
  status: number;
  message: string;
  errors?: Record<string, string>;
}

const KEYED_MESSAGE = /^([a-z][a-z0-9_-]*): ([\s\S]+)$/;
const MISSING_CONFIG = /^Configuration file '.*\/qemu-server\/(\d+)\.conf' does not exist$/;

/** The answer to send for an error raised while handling a request with these parameter names. */
export function errorAnswer(err: unknown, node: string, paramNames: ReadonlySet<string>): ErrorAnswer {
  if (!isCvmError(err)) {
    return { status: 500, message: err instanceof Error ? err.message : String(err) };
  }
  const status = httpStatusFor(err);
  if (err.code === 'PARAM_INVALID' || err.code === 'FORMAT_ERROR') {
    const errors = err.details?.errors;
    if (errors && typeof errors === 'object' && err.message === PARAM_VERIFICATION_FAILED) {
      return { status: 400, message: PARAM_VERIFICATION_FAILED, errors: errors as Record<string, string> };
    }
    const keyed = KEYED_MESSAGE.exec(err.message);
    if (keyed && paramNames.has(keyed[1] as string)) {
      return { status: 400, message: PARAM_VERIFICATION_FAILED, errors: { [keyed[1] as string]: keyed[2] as string } };
    }
    const key = err.details?.key;
    if (typeof key === 'string' && !keyed) {
      return { status: 400, message: PARAM_VERIFICATION_FAILED, errors: { [key]: err.message } };
    }
  }
  if (err.code === 'VM_NOT_FOUND') {
    const m = MISSING_CONFIG.exec(err.message);
    if (m) return { status, message: `Configuration file 'nodes/${node}/qemu-server/${m[1]}.conf' does not exist` };
  }
  return { status, message: err.message };
}

/**
 * The HTTP reason phrase for a message: its first line, printable ASCII only (Node refuses
 * other characters in a status line), at most 512 characters.
 */
export function reasonPhrase(message: string): string {
  const first = message.split('\n', 1)[0] ?? '';
  return first.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

export const notImplemented = (method: string, path: string) =>
  new CvmError('NOT_IMPLEMENTED', `Method '${method} ${path}' not implemented`);
