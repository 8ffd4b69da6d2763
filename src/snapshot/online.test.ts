import { describe, expect, it } from 'vitest';
import { QmpError } from '../qemu/qmp/index.js';
import { pveTestProfile } from '../host/profiles/pve-test.js';
import { runningVolumeSnapshots, snapshotRunningVm, splitByPeer } from './online.js';
import { servedByQsd } from './qsd.js';

// the QMP sequence of a snapshot of a running VM whose qcow2 tpmstate0 is served by qemu-storage-daemon
const { storage } = pveTestProfile();
const scsi0 = { key: 'scsi0', volid: 'local:100/vm-100-disk-0.qcow2' };
const efidisk0 = { key: 'efidisk0', volid: 'local:100/vm-100-disk-1.qcow2' };
const tpm = { key: 'tpmstate0', volid: 'local:100/vm-100-disk-2.qcow2' };
const scsiPath = '/var/lib/vz/images/100/vm-100-disk-0.qcow2';
const efiPath = '/var/lib/vz/images/100/vm-100-disk-1.qcow2';

interface Call {
  peer: string;
  command: string;
  args?: Record<string, unknown>;
}

/** Both peers on one call log; each answers what QEMU / the daemon answer, `failOn` fails with QEMU's error shape. */
function peers(opts: { status?: string; failOn?: string } = {}) {
  const calls: Call[] = [];
  let jobId = '';
  const peer =
    (name: string) =>
    async <T>(command: string, args?: Record<string, unknown>): Promise<T> => {
      calls.push({ peer: name, command, ...(args ? { args } : {}) });
      if (`${name}:${command}` === opts.failOn) throw new QmpError(command, 'GenericError', `${command} refused`);
      const answers: Record<string, unknown> = {
        'query-status': { status: opts.status ?? 'running' },
        'query-named-block-nodes': [
          { 'node-name': 'drive-scsi0', drv: 'throttle', file: scsiPath },
          { 'node-name': 'f-scsi0', drv: 'qcow2', file: scsiPath },
          { 'node-name': 'f-efidisk0', drv: 'qcow2', file: efiPath },
        ],
        'query-jobs': [{ id: jobId, status: 'concluded' }],
        'query-migrate': { status: 'completed', 'total-time': 1500, ram: { transferred: 2 * 1024 * 1024 } },
      };
      if (command === 'snapshot-save' || command === 'snapshot-delete') jobId = String(args?.['job-id']);
      return (answers[command] ?? {}) as T;
    };
  return { calls, vm: { execute: peer('vm') }, qsd: { execute: peer('qsd') } };
}
const sequence = (calls: Call[]) => calls.map((c) => `${c.peer}:${c.command}`);

describe('snapshot of a running VM with a qemu-storage-daemon tpmstate0', () => {
  it('sends the qcow2 tpmstate0 to the daemon, every other volume (and a raw TPM state path) to QEMU', () => {
    expect(servedByQsd(storage, tpm)).toBe(true);
    expect(servedByQsd(storage, { key: 'tpmstate0', volid: 'local:100/vm-100-disk-2.raw' })).toBe(false);
    expect(servedByQsd(storage, { key: 'tpmstate0', volid: '/srv/tpm.qcow2' })).toBe(false);
    expect(servedByQsd(storage, efidisk0)).toBe(false);
    expect(splitByPeer(storage, [scsi0, efidisk0, tpm])).toEqual({ vm: [scsi0, efidisk0], qsd: [tpm] });
  });

  it('pauses, snapshots the disks in one job, saves the RAM, then the TPM state in the daemon, resumes', async () => {
    const p = peers();
    const done: string[] = [];
    const log: string[] = [];
    await snapshotRunningVm(p, {
      storage,
      vmid: 100,
      vols: [scsi0, efidisk0, tpm],
      snapname: 'snap1',
      log: (l) => log.push(l),
      done: (keys) => done.push(...keys),
      statePath: '/var/lib/vz/images/100/vm-100-state-snap1.raw',
      stateStoreid: 'local',
    });
    expect(sequence(p.calls)).toEqual([
      'vm:query-status',
      'vm:stop',
      'vm:query-named-block-nodes',
      'vm:query-named-block-nodes',
      'vm:snapshot-save',
      'vm:query-jobs',
      'vm:job-dismiss',
      'vm:migrate',
      'vm:query-migrate',
      'qsd:blockdev-snapshot-internal-sync',
      'vm:cont',
    ]);
    expect(p.calls.find((c) => c.command === 'snapshot-save')?.args).toMatchObject({
      tag: 'snap1',
      vmstate: 'f-scsi0',
      devices: ['f-scsi0', 'f-efidisk0'],
    });
    expect(p.calls.find((c) => c.peer === 'qsd')?.args).toEqual({ device: 'drive-tpmstate0', name: 'snap1' });
    expect(p.calls.find((c) => c.command === 'migrate')?.args).toEqual({ uri: 'file:/var/lib/vz/images/100/vm-100-state-snap1.raw' });
    expect(done).toEqual(['scsi0', 'efidisk0', 'tpmstate0']);
    expect(log).toEqual([
      "snapshotting 'drive-scsi0' (local:100/vm-100-disk-0.qcow2)",
      "snapshotting 'drive-efidisk0' (local:100/vm-100-disk-1.qcow2)",
      "saving VM state and RAM using storage 'local'",
      'completed saving the VM state in 1.5s, saved 2.00 MiB',
      "snapshotting 'drive-tpmstate0' (local:100/vm-100-disk-2.qcow2)",
    ]);
  });

  it('leaves a paused VM paused and takes a TPM-only snapshot without a QEMU job', async () => {
    const p = peers({ status: 'paused' });
    await snapshotRunningVm(p, { storage, vmid: 100, vols: [tpm], snapname: 's', log: () => {} });
    expect(sequence(p.calls)).toEqual(['vm:query-status', 'vm:stop', 'qsd:blockdev-snapshot-internal-sync']);
  });

  it('resumes the VM and reports only the disks as done when the daemon refuses the TPM snapshot', async () => {
    const p = peers({ failOn: 'qsd:blockdev-snapshot-internal-sync' });
    const done: string[] = [];
    const err = await snapshotRunningVm(p, {
      storage,
      vmid: 100,
      vols: [scsi0, tpm],
      snapname: 'snap1',
      log: () => {},
      done: (keys) => done.push(...keys),
      statePath: '/x.raw',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'QMP_ERROR',
      message: "QEMU storage daemon 100 qsd command 'blockdev-snapshot-internal-sync' failed - blockdev-snapshot-internal-sync refused",
    });
    // the VM runs again, the caller removes the scsi0 snapshot (and the vmstate volume)
    expect(sequence(p.calls).slice(-4)).toEqual(['vm:migrate', 'vm:query-migrate', 'qsd:blockdev-snapshot-internal-sync', 'vm:cont']);
    expect(done).toEqual(['scsi0']);
  });

  it('deletes on both peers and, with --force, goes on to the TPM state past a failed disk job', async () => {
    const p = peers();
    await runningVolumeSnapshots('delete', p, { storage, vmid: 100, vols: [scsi0, tpm], snapname: 'old', log: () => {} });
    expect(sequence(p.calls)).toEqual([
      'vm:query-named-block-nodes',
      'vm:snapshot-delete',
      'vm:query-jobs',
      'vm:job-dismiss',
      'qsd:blockdev-snapshot-delete-internal-sync',
    ]);
    expect(p.calls.at(-1)?.args).toEqual({ device: 'drive-tpmstate0', name: 'old' });

    const forced = peers({ failOn: 'vm:snapshot-delete' });
    const errors: string[] = [];
    const gone: string[] = [];
    await runningVolumeSnapshots('delete', forced, {
      storage,
      vmid: 100,
      vols: [scsi0, tpm],
      snapname: 'old',
      log: () => {},
      done: (keys) => gone.push(...keys),
      onError: (e) => errors.push((e as Error).message),
    });
    expect(errors).toEqual(["QMP command 'snapshot-delete' failed - snapshot-delete refused"]);
    expect(gone).toEqual(['tpmstate0']);
    expect(sequence(forced.calls).at(-1)).toBe('qsd:blockdev-snapshot-delete-internal-sync');
  });
});
