/**
 * @module qemu/qmp/commands
 * Typed wrappers for the QMP commands cvmctl's lifecycle uses, with the answer shapes from
 * QEMU's QAPI schema (`qapi/run-state.json`, `qapi/misc-i386.json`). Keeping the shapes here
 * means `status` and the tests read fields by name instead of poking at `unknown`.
 */

import type { QmpClient } from './client.js';

/** `query-status` (RunState is longer; these are the states a managed VM shows). */
export interface QmpStatus {
  running: boolean;
  singlestep?: boolean;
  status:
    | 'debug'
    | 'inmigrate'
    | 'internal-error'
    | 'io-error'
    | 'paused'
    | 'postmigrate'
    | 'prelaunch'
    | 'finish-migrate'
    | 'restore-vm'
    | 'running'
    | 'save-vm'
    | 'shutdown'
    | 'suspended'
    | 'watchdog'
    | 'guest-panicked'
    | 'colo'
    | (string & {});
}

export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

export type SevState = 'uninit' | 'launch-update' | 'launch-secret' | 'running' | 'send-update' | 'receive-update';

/** `query-sev` (SevInfo union; `snp-policy` for sev-snp, `policy`/`handle` for sev). */
export interface QmpSevInfo {
  enabled: boolean;
  'api-major': number;
  'api-minor': number;
  'build-id': number;
  state: SevState;
  'sev-type'?: 'sev' | 'sev-snp';
  policy?: number;
  handle?: number;
  'snp-policy'?: number;
}

export const queryStatus = (c: QmpClient) => c.execute<QmpStatus>('query-status');
export const queryVersion = (c: QmpClient) => c.execute<QmpVersion>('query-version');
export const querySev = (c: QmpClient) => c.execute<QmpSevInfo>('query-sev');
export const systemPowerdown = (c: QmpClient) => c.execute<Record<string, never>>('system_powerdown');
export const systemReset = (c: QmpClient) => c.execute<Record<string, never>>('system_reset');
export const stop = (c: QmpClient) => c.execute<Record<string, never>>('stop');
export const cont = (c: QmpClient) => c.execute<Record<string, never>>('cont');
export const systemWakeup = (c: QmpClient) => c.execute<Record<string, never>>('system_wakeup');
export const quit = (c: QmpClient) => c.execute<Record<string, never>>('quit');

/** `"10.0.2"` from a version answer or greeting. */
export function versionString(v: { qemu: { major: number; minor: number; micro: number } }): string {
  return `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`;
}
