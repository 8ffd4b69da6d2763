/**
 * The guest file system freeze around a disk-only snapshot of a running VM (QEMU under TCG),
 * as qemu-server's snapshot_create does it. The guest agent is a stand-in on the VM's agent
 * socket (the SeaBIOS guest has no qemu-ga) that answers the agent protocol and records what it
 * was asked and what the disk and the VM looked like then: ping, status, freeze while the disk
 * has no snapshot yet and the VM runs, thaw after the snapshot exists and the VM runs again.
 * `freeze-fs=0` and a RAM snapshot skip the freeze; a freeze the agent refuses is a warning.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qemu/qmp/index.js';
import { startVm, stopVm } from '../../src/run/index.js';
import { snapshotCreate } from '../../src/snapshot/index.js';
import { createVm, updateVm } from '../../src/store/vm-ops.js';
import { makeTestRoot, QEMU_BINARY, SKIP_REASON } from './helpers.js';

const r = makeTestRoot('cvmctl-snapfreeze-');
const VMID = 9631;
let agent: Server | undefined;
afterAll(async () => {
  agent?.close();
  await stopVm(await r.context(), VMID, { timeoutSec: 10 }).catch(() => undefined);
  r.cleanup();
});
const runDir = join(r.root, 'run');
const disk = join(r.root, 'images', String(VMID), `vm-${VMID}-disk-0.qcow2`);
const snapNames = () =>
  execFileSync('qemu-img', ['snapshot', '-l', '-U', disk], { encoding: 'utf8' })
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[1])
    .filter((n): n is string => Boolean(n));

async function vmStatus(): Promise<string> {
  const qmp = await QmpClient.connect(join(runDir, `${VMID}.qmp`));
  try {
    return (await qmp.execute<{ status: string }>('query-status')).status;
  } finally {
    qmp.destroy();
  }
}

interface Seen {
  command: string;
  snapshots?: string[];
  vm?: string;
}

/** A guest agent stand-in on the VM's agent socket: guest-sync-delimited framing, answers per command. */
function fakeAgent(path: string, seen: Seen[], answers: { freezeError?: string }): Promise<Server> {
  rmSync(path, { force: true }); // QEMU's chardev keeps its (now unnamed) socket
  const server = createServer((socket) => {
    let pending = '';
    socket.on('data', async (chunk) => {
      pending += chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
        const { execute, arguments: args } = JSON.parse(line) as { execute: string; arguments?: { id?: number } };
        if (execute === 'guest-sync-delimited') {
          socket.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`${JSON.stringify({ return: args?.id })}\n`)]));
          continue;
        }
        const entry: Seen = { command: execute };
        if (execute === 'guest-fsfreeze-freeze' || execute === 'guest-fsfreeze-thaw') {
          entry.snapshots = snapNames();
          entry.vm = await vmStatus();
        }
        seen.push(entry);
        if (execute === 'guest-fsfreeze-freeze' && answers.freezeError) {
          socket.write(`${JSON.stringify({ error: { class: 'GenericError', desc: answers.freezeError } })}\n`);
        } else {
          const value = execute === 'guest-fsfreeze-status' ? 'thawed' : execute === 'guest-fsfreeze-freeze' ? 1 : {};
          socket.write(`${JSON.stringify({ return: value })}\n`);
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe.skipIf(!QEMU_BINARY)(`guest fs freeze around a snapshot${QEMU_BINARY ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('freezes before and thaws after a disk-only snapshot, skips it when told or with RAM', { timeout: 180_000 }, async () => {
    await createVm({
      root: r.root,
      vmid: VMID,
      params: { kvm: '0', memory: '64', vga: 'none', scsi0: 'local:1,format=qcow2', agent: '1' },
    });
    const ctx = await r.context();
    const started = await startVm(ctx, VMID, { timeoutSec: 60 });
    r.track(started.pid);
    const seen: Seen[] = [];
    const answers: { freezeError?: string } = {};
    agent = await fakeAgent(join(runDir, `${VMID}.qga`), seen, answers);

    const lines: string[] = [];
    const warnings: string[] = [];
    const wctx = { ...ctx, warn: (m: string) => warnings.push(m) };
    await snapshotCreate(wctx, VMID, 'frozen', { log: (l) => lines.push(l) });
    expect(seen).toEqual([
      { command: 'guest-ping' },
      { command: 'guest-fsfreeze-status' },
      { command: 'guest-fsfreeze-freeze', snapshots: [], vm: 'running' },
      { command: 'guest-fsfreeze-thaw', snapshots: ['frozen'], vm: 'running' },
    ]);
    expect(lines).toEqual([`snapshotting 'drive-scsi0' (local:${VMID}/vm-${VMID}-disk-0.qcow2)`]);
    expect(warnings).toEqual([]);

    // the agent refuses the freeze: a warning, the snapshot is taken, the thaw still sent
    seen.length = 0;
    answers.freezeError = 'fsfreeze is not supported';
    await snapshotCreate(wctx, VMID, 'unfrozen');
    expect(warnings).toEqual(['unable to freeze guest fs - fsfreeze is not supported']);
    expect(seen.map((s) => s.command)).toEqual(['guest-ping', 'guest-fsfreeze-status', 'guest-fsfreeze-freeze', 'guest-fsfreeze-thaw']);
    expect(snapNames()).toEqual(['frozen', 'unfrozen']);

    // with RAM: no freeze at all (the VM is paused while its state is saved)
    seen.length = 0;
    await snapshotCreate(wctx, VMID, 'ram', { vmstate: true });
    expect(seen).toEqual([]);

    // freeze-fs=0 (a change of the running VM stays pending: applied by a restart): skipped with qemu-server's line
    await stopVm(ctx, VMID, { timeoutSec: 20 });
    await updateVm({ root: r.root, vmid: VMID, params: { agent: '1,freeze-fs=0' } });
    r.track((await startVm(ctx, VMID, { timeoutSec: 60 })).pid);
    agent.close();
    agent = await fakeAgent(join(runDir, `${VMID}.qga`), seen, answers);
    lines.length = 0;
    await snapshotCreate(wctx, VMID, 'told', { log: (l) => lines.push(l) });
    expect(seen).toEqual([]);
    expect(lines[0]).toBe('skipping guest filesystem freeze - disabled in VM options');
    expect(snapNames()).toEqual(['frozen', 'unfrozen', 'ram', 'told']);
    await stopVm(ctx, VMID, { timeoutSec: 20 });
  });
});
