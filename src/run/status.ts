/**
 * @module run/status
 * `cvmctl status`: whether the VM's QEMU runs (pid file checked against the process), its
 * uptime, QMP run state, and for a confidential VM QEMU's `query-sev` answer. qemu-server's
 * `qm status` reports `running` with a separate `qmpstatus`; cvmctl keeps `qmpstatus` and
 * folds a paused/suspended QMP state into `status: paused` so scripts can test one field.
 */

import { QmpClient, queryStatus, querySev, queryVersion, versionString, type QmpSevInfo } from '../qemu/qmp/index.js';
import { type LifecycleContext, pathsFor } from './context.js';
import { processUptime, runningPid } from './runtime-files.js';

export interface VmStatus {
  vmid: number;
  name?: string;
  status: 'stopped' | 'running' | 'paused';
  pid?: number;
  uptime?: number;
  qmpstatus?: string;
  'running-qemu'?: string;
  /** For a VM with `amd-sev`: QEMU's query-sev answer, or the error QEMU gave. */
  sev?: QmpSevInfo | { error: string };
  /** Set when the process runs but QMP did not answer. */
  'qmp-error'?: string;
}

const PAUSED_STATES = new Set([
  'paused',
  'suspended',
  'prelaunch',
  'inmigrate',
  'postmigrate',
  'finish-migrate',
  'save-vm',
  'restore-vm',
  'shutdown',
]);

export async function vmStatus(ctx: LifecycleContext, vmid: number, opts: { verbose?: boolean } = {}): Promise<VmStatus> {
  const config = await ctx.loadConfig(vmid).catch(() => undefined);
  const conf = config?.conf ?? {};
  const base: VmStatus = { vmid, status: 'stopped', ...(conf.name ? { name: conf.name } : {}) };
  const paths = pathsFor(ctx, vmid);
  const pid = await runningPid(paths);
  if (!pid) return base;
  const out: VmStatus = { ...base, status: 'running', pid };
  const uptime = await processUptime(pid);
  if (uptime !== undefined) out.uptime = uptime;
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(paths.qmp, { connectTimeoutMs: 3000 });
    const st = await queryStatus(qmp);
    out.qmpstatus = st.status;
    if (PAUSED_STATES.has(st.status)) out.status = 'paused';
    if (opts.verbose) out['running-qemu'] = versionString(await queryVersion(qmp));
    if (conf['amd-sev']) {
      out.sev = await querySev(qmp).catch((err: Error) => ({ error: err.message }));
    }
  } catch (err) {
    out['qmp-error'] = (err as Error).message;
  } finally {
    qmp?.destroy();
  }
  return out;
}

/** `qm status` text: `status: running`, with --verbose every field as `key: value`. */
export function formatStatus(s: VmStatus, verbose: boolean): string {
  if (!verbose) return `status: ${s.status}\n`;
  const lines: string[] = [];
  for (const key of Object.keys(s).sort()) {
    const v = (s as unknown as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (v && typeof v === 'object') {
      for (const [k2, v2] of Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${key}.${k2}: ${v2}`);
    } else lines.push(`${key}: ${v}`);
  }
  return `${lines.join('\n')}\n`;
}
