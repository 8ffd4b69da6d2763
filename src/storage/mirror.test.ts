import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pveTestProfile } from '../host/profiles/pve-test.js';
import { CvmError } from '../errors.js';
import { checkMirrorIoUring, mirrorDrive } from './mirror.js';
import type { StorageConfig } from './types.js';

// qemu-server's BlockJob.pm / Blockdev.pm sequence (facts, not its code): node names are a type
// letter plus the first 30 hex digits of sha256("drive=<id>,volid=<volid>")
const nodeName = (prefix: string, drive: string, volid: string) =>
  prefix + createHash('sha256').update(`drive=${drive},volid=${volid}`).digest('hex').slice(0, 30);

const SOURCE = 'local:100/vm-100-disk-0.qcow2';
const TARGET = 'local:100/vm-100-disk-1.raw';
const SOURCE_NODE = nodeName('f', 'scsi0', SOURCE);

interface Call {
  command: string;
  args?: Record<string, unknown>;
}

type Answer = unknown | ((args?: Record<string, unknown>) => unknown);

/** QEMU refusing a command, as the per-command session of VM 100 reports it (mon_cmd's text). */
const monErr = (command: string, desc: string) => new CvmError('QMP_ERROR', `VM 100 qmp command '${command}' failed - ${desc}`);

/** A QMP peer answering from per-command queues (the last answer repeats). */
function fakeQmp(answers: Record<string, Answer[]>) {
  const calls: Call[] = [];
  return {
    calls,
    async execute<T>(command: string, args?: Record<string, unknown>): Promise<T> {
      calls.push(args === undefined ? { command } : { command, args });
      const queue = answers[command];
      if (!queue) return {} as T;
      const next = queue.length > 1 ? queue.shift() : queue[0];
      const value = typeof next === 'function' ? (next as (a?: Record<string, unknown>) => unknown)(args) : next;
      if (value instanceof Error) throw value;
      return value as T;
    },
  };
}

const throttleTop = [{ 'node-name': 'drive-scsi0', drv: 'throttle', image: { 'virtual-size': 32 << 20 } }];
/** The graph of a VM started with -blockdev: throttle drive-scsi0 → qcow2 → file. */
const graph = (extra: { name: string; children?: Record<string, string> }[] = []) => {
  const nodes = [
    { name: 'drive-scsi0', children: { file: SOURCE_NODE } },
    { name: SOURCE_NODE, children: { file: nodeName('e', 'scsi0', SOURCE) } },
    { name: nodeName('e', 'scsi0', SOURCE) },
    ...extra,
  ];
  const ids = new Map(nodes.map((n, i) => [n.name, i + 1]));
  return {
    nodes: nodes.map((n) => ({ id: ids.get(n.name), type: 'block-driver', name: n.name })),
    edges: nodes.flatMap((n) =>
      Object.entries(n.children ?? {}).map(([name, child]) => ({ parent: ids.get(n.name), child: ids.get(child), name })),
    ),
  };
};
const job = (over: Record<string, unknown>) => ({
  type: 'mirror',
  device: 'mirror-scsi0',
  len: 32 << 20,
  offset: 0,
  busy: true,
  ready: false,
  status: 'running',
  ...over,
});

function run(qmp: ReturnType<typeof fakeQmp>, opts: { bwlimit?: number; flavor?: 'pve' | 'local' } = {}) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const host = { ...pveTestProfile(), ...(opts.flavor ? { flavor: opts.flavor } : {}) };
  const done = mirrorDrive({
    qmp,
    host,
    key: 'scsi0',
    value: `${SOURCE},discard=on,size=32M`,
    volid: TARGET,
    log: (l) => lines.push(l),
    warn: (w) => warnings.push(w),
    pollMs: 0,
    ...(opts.bwlimit ? { bwlimit: opts.bwlimit } : {}),
  });
  return { lines, warnings, done };
}

describe('mirror of a drive of a VM started with -blockdev', () => {
  it('adds the target below no throttle, mirrors job mirror-<drive> replacing the node below the throttle filter, completes and drops the source', async () => {
    const qmp = fakeQmp({
      'query-named-block-nodes': [throttleTop],
      // after the switch QEMU has dropped the replaced chain it created with the drive
      'x-debug-query-block-graph': [graph(), { nodes: [{ id: 1, type: 'block-driver', name: 'drive-scsi0' }], edges: [] }],
      'query-block-jobs': [
        [job({ offset: 16 << 20 })],
        [job({ offset: 32 << 20, ready: true, busy: false, status: 'ready' })],
        [job({ offset: 32 << 20, ready: false, busy: false, status: 'concluded' })],
        [],
      ],
    });
    const { lines, done } = run(qmp, { bwlimit: 1024 });
    await done;
    const zeroinit = nodeName('z', 'scsi0', TARGET);
    const add = qmp.calls.find((c) => c.command === 'blockdev-add')?.args;
    // pve flavor: a zeroinit filter on the dir storage's fresh volume; no throttle on the target; options copied from the drive
    expect(add).toMatchObject({
      driver: 'zeroinit',
      'node-name': zeroinit,
      file: {
        driver: 'raw',
        'node-name': nodeName('f', 'scsi0', TARGET),
        discard: 'unmap',
        file: { driver: 'file', filename: '/var/lib/vz/images/100/vm-100-disk-1.raw', 'node-name': nodeName('e', 'scsi0', TARGET) },
      },
    });
    expect(qmp.calls.find((c) => c.command === 'blockdev-mirror')?.args).toEqual({
      device: 'drive-scsi0',
      'job-id': 'mirror-scsi0',
      target: zeroinit,
      replaces: SOURCE_NODE,
      sync: 'full',
      'auto-dismiss': false,
      speed: 1024 * 1024,
    });
    expect(qmp.calls.map((c) => c.command)).toEqual([
      'query-named-block-nodes',
      'x-debug-query-block-graph',
      'blockdev-add',
      'blockdev-mirror',
      'query-block-jobs',
      'query-block-jobs',
      'job-complete',
      'query-block-jobs',
      'job-dismiss',
      // the replaced source: gone already (QEMU drops a node the drive brought), nothing to delete
      'x-debug-query-block-graph',
      'query-block-jobs',
    ]);
    expect(qmp.calls.find((c) => c.command === 'job-complete')?.args).toEqual({ id: 'mirror-scsi0' });
    expect(lines).toEqual([
      'drive mirror is starting for drive-scsi0 with bandwidth limit: 1024 KiB/s',
      'mirror-scsi0: transferred 16.0 MiB of 32.0 MiB (50.00%) in 0s',
      'mirror-scsi0: transferred 32.0 MiB of 32.0 MiB (100.00%) in 0s, ready',
      "all 'mirror' jobs are ready",
      'mirror-scsi0: Completing block job...',
      'mirror-scsi0: Completed successfully.',
      'mirror-scsi0: mirror-job finished',
    ]);
  });

  it('deletes a replaced source that an earlier mirror added with blockdev-add (and its file child)', async () => {
    const old = nodeName('z', 'scsi0', SOURCE);
    const g = graph([{ name: old, children: { file: SOURCE_NODE } }]);
    g.edges = g.edges.map((e) => (e.parent === 1 ? { ...e, child: 4 } : e)); // drive-scsi0 → zeroinit → fmt → file
    const qmp = fakeQmp({
      'query-named-block-nodes': [throttleTop],
      'x-debug-query-block-graph': [g],
      'query-block-jobs': [[job({ offset: 32 << 20, ready: true, busy: false, status: 'ready' })], [job({ status: 'concluded' })], []],
    });
    const { done } = run(qmp, { flavor: 'local' });
    await done;
    expect(qmp.calls.find((c) => c.command === 'blockdev-mirror')?.args).toMatchObject({
      replaces: old,
      target: nodeName('f', 'scsi0', TARGET),
    });
    expect(qmp.calls.find((c) => c.command === 'blockdev-mirror')?.args).not.toHaveProperty('speed');
    // stock QEMU has no zeroinit driver: the target is the format node itself
    expect(qmp.calls.find((c) => c.command === 'blockdev-add')?.args).toMatchObject({ driver: 'raw' });
    expect(qmp.calls.filter((c) => c.command === 'blockdev-del').map((c) => c.args)).toEqual([
      { 'node-name': old },
      { 'node-name': SOURCE_NODE },
      { 'node-name': nodeName('e', 'scsi0', SOURCE) },
    ]);
  });

  it('retries job-complete while QEMU says the job cannot be completed yet', async () => {
    const ready = job({ offset: 32 << 20, ready: true, busy: false, status: 'ready' });
    const qmp = fakeQmp({
      'query-named-block-nodes': [throttleTop],
      'x-debug-query-block-graph': [graph()],
      'query-block-jobs': [[ready], [ready], [job({ status: 'concluded' })], []],
      'job-complete': [monErr('job-complete', "The active block job 'mirror-scsi0' cannot be completed"), {}],
    });
    const { lines, done } = run(qmp);
    await done;
    expect(lines.filter((l) => l.includes('Complet') || l.includes('cannot'))).toEqual([
      'mirror-scsi0: Completing block job...',
      'mirror-scsi0: block job cannot be completed, trying again.',
      'mirror-scsi0: Completing block job...',
      'mirror-scsi0: Completed successfully.',
    ]);
    // the ready line is printed once, not again on the second round
    expect(lines.filter((l) => l.endsWith(', ready'))).toHaveLength(1);
  });

  it('a failed blockdev-mirror cancels, deletes the added target and says so in one line', async () => {
    const target = nodeName('f', 'scsi0', TARGET);
    const qmp = fakeQmp({
      'query-named-block-nodes': [throttleTop],
      'x-debug-query-block-graph': [graph(), graph([{ name: target }])],
      'blockdev-mirror': [monErr('blockdev-mirror', "Node 'drive-scsi0' is busy: block device is in use by block job: mirror")],
      'block-job-cancel': [monErr('block-job-cancel', "Block job 'mirror-scsi0' not found")],
      'query-block-jobs': [[]],
    });
    const { lines, done } = run(qmp, { flavor: 'local' });
    await expect(done).rejects.toMatchObject({
      code: 'QMP_ERROR',
      message:
        "error starting blockdev mirrror - VM 100 qmp command 'blockdev-mirror' failed - Node 'drive-scsi0' is busy: block device is in use by block job: mirror",
    });
    expect(qmp.calls.map((c) => c.command).slice(3)).toEqual([
      'blockdev-mirror',
      'block-job-cancel',
      'query-block-jobs',
      'x-debug-query-block-graph',
      'blockdev-del',
    ]);
    expect(qmp.calls.at(-1)?.args).toEqual({ 'node-name': target });
    expect(lines.slice(1)).toEqual(['mirror-scsi0: Cancelling block job', 'mirror-scsi0: Done.']);
  });

  it('a job that fails on the target is dismissed, its target deleted, and the error names job and io-status', async () => {
    const target = nodeName('f', 'scsi0', TARGET);
    const qmp = fakeQmp({
      'query-named-block-nodes': [throttleTop],
      'x-debug-query-block-graph': [graph(), graph([{ name: target }])],
      'query-block-jobs': [
        [job({ offset: 8 << 20 })],
        [job({ offset: 8 << 20, status: 'concluded', error: 'No space left on device', 'io-status': 'nospace' })],
        [],
      ],
    });
    const { lines, done } = run(qmp, { flavor: 'local' });
    await expect(done).rejects.toMatchObject({
      message: 'block job (mirror) error: mirror-scsi0: No space left on device (io-status: nospace)',
    });
    const after = qmp.calls.map((c) => c.command).slice(qmp.calls.findIndex((c) => c.command === 'job-dismiss'));
    expect(after).toEqual(['job-dismiss', 'x-debug-query-block-graph', 'blockdev-del', 'block-job-cancel', 'query-block-jobs']);
    expect(qmp.calls.find((c) => c.command === 'blockdev-del')?.args).toEqual({ 'node-name': target });
    expect(qmp.calls.some((c) => c.command === 'job-complete')).toBe(false);
    expect(lines.slice(-2)).toEqual(['mirror-scsi0: Cancelling block job', 'mirror-scsi0: Done.']);
  });

  it('refuses a drive whose top node is not the throttle filter', async () => {
    const qmp = fakeQmp({ 'query-named-block-nodes': [[{ 'node-name': 'drive-scsi0', drv: 'qcow2' }]] });
    await expect(run(qmp).done).rejects.toMatchObject({ message: 'drive-scsi0: unexpected top node drive-scsi0 (qcow2)' });
    expect(qmp.calls.map((c) => c.command)).toEqual(['query-named-block-nodes']);
  });
});

describe('mirror of a drive of a VM started with -drive', () => {
  it('uses drive-mirror onto the existing target path, job drive-<id>', async () => {
    const qmp = fakeQmp({
      'query-named-block-nodes': [[{ 'node-name': '#block123', drv: 'qcow2' }]],
      'query-block-jobs': [
        [job({ device: 'drive-scsi0', offset: 32 << 20, ready: true, busy: false })],
        [job({ device: 'drive-scsi0', status: 'concluded' })],
        [],
      ],
    });
    const { lines, done } = run(qmp, { bwlimit: 10 });
    await done;
    expect(qmp.calls.find((c) => c.command === 'drive-mirror')?.args).toEqual({
      device: 'drive-scsi0',
      target: 'zeroinit:/var/lib/vz/images/100/vm-100-disk-1.raw',
      mode: 'existing',
      format: 'raw',
      sync: 'full',
      'auto-dismiss': false,
      speed: 10 * 1024,
    });
    expect(qmp.calls.find((c) => c.command === 'job-complete')?.args).toEqual({ id: 'drive-scsi0' });
    expect(lines[1]).toBe('drive-scsi0: transferred 32.0 MiB of 32.0 MiB (100.00%) in 0s, ready');
    expect(lines.at(-1)).toBe('drive-scsi0: mirror-job finished');
  });
});

describe('clone_disk_check_io_uring before a mirror to another storage', () => {
  const storage: StorageConfig = {
    local: { type: 'dir', content: ['images'], path: '/var/lib/vz' },
    other: { type: 'dir', content: ['images'], path: '/srv/other' },
    smb: { type: 'cifs', content: ['images'], path: '/mnt/pve/smb' },
  };
  const refused = 'target storage is known to cause issues with aio=io_uring (used by current drive)';
  const check = (value: string, target: string, blockdev: boolean) => () => checkMirrorIoUring(storage, value, 'scsi0', target, blockdev);

  it('refuses a CIFS target for a drive using io_uring: set explicitly, or by default on a -drive VM', () => {
    expect(check(`${SOURCE},aio=io_uring`, 'smb', true)).toThrow(refused);
    expect(check(SOURCE, 'smb', false)).toThrow(refused);
  });

  it('lets other aio modes, the -blockdev default, same-storage moves and io_uring-safe targets through', () => {
    expect(check(SOURCE, 'smb', true)).not.toThrow();
    expect(check(`${SOURCE},aio=native,cache=none`, 'smb', false)).not.toThrow();
    expect(check(`${SOURCE},aio=io_uring`, 'other', true)).not.toThrow();
    expect(check(`${SOURCE},aio=io_uring`, 'local', false)).not.toThrow();
  });
});
