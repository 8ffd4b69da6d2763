/**
 * @module storage/block-job
 * Watching QEMU block jobs the way qemu-server's BlockJob.pm does: `monitorBlockJobs` polls
 * query-block-jobs every second, prints `mirror-scsi0: transferred 1.0 GiB of 4.0 GiB
 * (25.00%) in 3s` until a job is ready, then `all 'mirror' jobs are ready` and completes
 * (job-complete: QEMU switches the drive to the target) or cancels them; `cancelBlockJobs`
 * stops jobs and waits until they are gone. Jobs run with auto-dismiss off, so a concluded job
 * is dismissed here, its error reported and the block node it leaves behind (the replaced
 * source after a switch, the target after a failure or cancel) deleted.
 */

import { CvmError } from '../errors.js';
import type { QmpExecutor } from '../qemu/qmp/index.js';
import { detachBlockNode } from '../run/hotplug/qmp-devices.js';
import { sleep } from '../run/wait.js';
import { renderBytes, renderDuration } from './convert.js';

/** What cvmctl knows of one job (qemu-server's `$jobs->{$id}`). */
export interface BlockJobState {
  /** The node the job replaces (blockdev-mirror); deleted after a completed switch. */
  sourceNodeName?: string;
  /** The node the job writes to; deleted after a failure or cancel. */
  targetNodeName?: string;
  detachNodeName?: string;
  cancel?: boolean;
  complete?: boolean;
  ready?: boolean;
}

export type BlockJobs = Map<string, BlockJobState>;

/**
 * complete: wait until all jobs are ready and job-complete them (switch to the target);
 * cancel: wait until ready and block-job-cancel them (keep the source); skip: return with
 * the jobs ready; auto: wait until the jobs disappear by themselves.
 */
export type Completion = 'complete' | 'cancel' | 'skip' | 'auto';

export interface BlockJobEnv {
  qmp: QmpExecutor;
  log: (line: string) => void;
  warn: (message: string) => void;
  /** Poll interval (qemu-server: 1 s). */
  pollMs?: number;
  /** Aborted: stop waiting and cancel the jobs (qemu-server dies `interrupted by signal` on INT/TERM/QUIT/HUP). */
  signal?: AbortSignal;
}

/** BlockJobInfo of query-block-jobs (the fields used here). */
export interface BlockJobInfo {
  type: string;
  device: string;
  len: number;
  offset: number;
  busy: boolean;
  ready: boolean;
  status: string;
  error?: string;
  'io-status'?: string;
}

const messageOf = (err: unknown) => (err as Error).message;

/** qemu_handle_concluded_blockjob: dismiss, delete what the job leaves behind, report its error. */
async function handleConcluded(env: BlockJobEnv, jobId: string, info: BlockJobInfo, job: BlockJobState): Promise<void> {
  await env.qmp.execute('job-dismiss', { id: jobId }).catch((err) => env.warn(`${jobId}: failed to dismiss job - ${messageOf(err)}`));
  // after an error or a cancel the drive still uses the source: the target goes
  if (info.error || job.cancel) job.detachNodeName = job.targetNodeName;
  if (job.detachNodeName) {
    await detachBlockNode(env.qmp, job.detachNodeName, { followBacking: true }).catch((err) => env.warn(messageOf(err)));
  }
  if (info.error) throw new CvmError('QMP_ERROR', `${jobId}: ${info.error} (io-status: ${info['io-status']})`);
}

/** qemu_blockjobs_cancel: cancel every job and wait until QEMU has none of them left. */
export async function cancelBlockJobs(env: BlockJobEnv, jobs: BlockJobs): Promise<void> {
  for (const [id, job] of jobs) {
    env.log(`${id}: Cancelling block job`);
    await env.qmp.execute('block-job-cancel', { device: id }).catch(() => undefined);
    job.cancel = true;
  }
  while (jobs.size > 0) {
    const running = new Map((await env.qmp.execute<BlockJobInfo[]>('query-block-jobs')).map((j) => [j.device, j]));
    for (const [id, job] of jobs) {
      const info = running.get(id);
      if (info?.status === 'concluded') {
        // only warn: the other jobs still have to be cancelled
        await handleConcluded(env, id, info, job).catch((err) => env.warn(messageOf(err)));
      }
      if (job.cancel && !info) {
        env.log(`${id}: Done.`);
        jobs.delete(id);
      }
    }
    if (jobs.size > 0) await sleep(env.pollMs ?? 1000);
  }
}

const now = () => Math.floor(Date.now() / 1000);

/** The progress line of a job that has a length (qemu-server's monitor format). */
function progressLine(info: BlockJobInfo, seconds: number): string {
  const transferred = info.offset || 0;
  const percent = ((transferred * 100) / info.len).toFixed(2);
  let status = `transferred ${renderBytes(transferred, 1)} of ${renderBytes(info.len, 1)} (${percent}%) in ${renderDuration(seconds)}`;
  if (info.ready) status += info.busy ? ', still busy' : ', ready';
  return status;
}

/** One completion attempt of every job once all are ready; returns how many said "cannot be completed". */
async function completeJobs(env: BlockJobEnv, jobs: BlockJobs, completion: 'complete' | 'cancel'): Promise<number> {
  let retries = 0;
  for (const id of [...jobs.keys()].sort()) {
    const job = jobs.get(id) as BlockJobState;
    env.log(`${id}: Completing block job...`);
    // QEMU drops the replaced node itself only if it came with the drive, not if a previous
    // mirror added it with blockdev-add: delete it explicitly once the job has concluded
    let detach: string | undefined;
    try {
      if (completion === 'complete') {
        detach = job.sourceNodeName;
        await env.qmp.execute('job-complete', { id });
      } else {
        detach = job.targetNodeName;
        await env.qmp.execute('block-job-cancel', { device: id });
      }
    } catch (err) {
      if (/cannot be completed/.test(messageOf(err))) {
        env.log(`${id}: block job cannot be completed, trying again.`);
        retries++;
        continue;
      }
      throw new CvmError('QMP_ERROR', `${id}: block job cannot be completed - ${messageOf(err)}`, { cause: err });
    }
    if (detach) job.detachNodeName = detach;
    env.log(`${id}: Completed successfully.`);
    job.complete = true;
  }
  return retries;
}

async function monitorLoop(env: BlockJobEnv, jobs: BlockJobs, completion: Completion, op: string): Promise<void> {
  let errComplete = 0;
  const start = now();
  for (;;) {
    if (env.signal?.aborted) throw new CvmError('STORAGE', 'interrupted by signal');
    if (errComplete > 300) throw new CvmError('QMP_ERROR', `block job ('${op}') timed out`);
    const stats = await env.qmp.execute<BlockJobInfo[]>('query-block-jobs');
    const seconds = now() - start;
    const running = new Map(stats.filter((s) => s.type === op).map((s) => [s.device, s]));
    let ready = 0;
    for (const id of [...jobs.keys()].sort()) {
      const job = jobs.get(id) as BlockJobState;
      const info = running.get(id);
      if (!info && (job.complete || completion === 'auto')) {
        env.log(`${id}: ${op}-job finished`);
        jobs.delete(id);
        continue;
      }
      if (!info) throw new CvmError('QMP_ERROR', `${id}: '${op}' has been cancelled`);
      if (info.status === 'concluded') await handleConcluded(env, id, info, job);
      if (info.len) {
        if (!job.ready) env.log(`${id}: ${progressLine(info, seconds)}`);
        job.ready = info.ready;
      }
      if (info.ready) ready++;
    }
    if (jobs.size === 0) return;
    if (ready === jobs.size) {
      env.log(`all '${op}' jobs are ready`);
      if (completion === 'skip' || completion === 'auto') return;
      errComplete += await completeJobs(env, jobs, completion);
    }
    await sleep(env.pollMs ?? 1000);
  }
}

/**
 * BlockJob::monitor for jobs of the VM itself: wait for `jobs` (type `op`) and finish them as
 * `completion` says. On any failure every job is cancelled (its target deleted) and the error
 * comes back as `block job (mirror) error: …`.
 */
export async function monitorBlockJobs(
  env: BlockJobEnv,
  jobs: BlockJobs,
  completion: Completion = 'complete',
  op = 'mirror',
): Promise<void> {
  try {
    await monitorLoop(env, jobs, completion, op);
  } catch (err) {
    await cancelBlockJobs(env, jobs).catch(() => undefined);
    throw new CvmError('QMP_ERROR', `block job (${op}) error: ${messageOf(err)}`, { cause: err });
  }
}
