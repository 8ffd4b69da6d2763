/**
 * @module test/api/lifecycle
 * Power actions through the API against real QEMU under TCG (`kvm: 0`, `vga: none`, 64 MiB):
 * start as a qmstart task, status/current running with qmpstatus from QMP and the process's
 * memory and CPU load from /proc, a second start
 * whose task fails with `VM <id> already running`, suspend/resume, the synchronous refusals
 * (destroy while running, reset/reboot of a stopped VM), and stop.
 */

import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, QEMU_BINARY, SKIP_REASON } from '../integration/helpers.js';
import { dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

if (!QEMU_BINARY) console.warn(`test/api/lifecycle skipped: ${SKIP_REASON}`);

describe.skipIf(!QEMU_BINARY)('VM power actions under TCG', () => {
  let t: TestServer;
  let pid: number | undefined;

  beforeAll(async () => {
    t = await startTestServer();
    const r = await t.call('POST', `/nodes/${NODE}/qemu`, {
      form: { vmid: '700', name: 'tcg', memory: '64', cores: '1', kvm: '0', vga: 'none' },
    });
    expect((await t.waitTask(r.body?.data as string)).exitstatus).toBe('OK');
  });
  afterAll(async () => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await t?.close();
  });

  const post = (action: string, form: Record<string, string> = {}) => t.call('POST', `/nodes/${NODE}/qemu/700/status/${action}`, { form });
  const logOf = async (upid: string) =>
    dataOf<{ t: string }[]>(await t.call('GET', `/nodes/${NODE}/tasks/${upid}/log`))
      .map((l) => l.t)
      .join('\n');
  const current = async () => (await t.call('GET', `/nodes/${NODE}/qemu/700/status/current`)).body?.data as Record<string, unknown>;

  it('a stopped VM: reset and reboot are refused at once', async () => {
    expect(await current()).toMatchObject({ vmid: 700, status: 'stopped', qmpstatus: 'stopped', ha: { managed: 0 } });
    for (const action of ['reset', 'reboot']) {
      const r = await post(action);
      expect(r.status).toBe(500);
      expect(r.reason).toBe('VM 700 not running');
    }
  });

  it('starts in a qmstart task; status/current shows it running', async () => {
    const r = await post('start');
    const upid = r.body?.data as string;
    expect(upid.split(':')[5]).toBe('qmstart');
    const st = await t.waitTask(upid, 120_000);
    expect(st.exitstatus, await logOf(upid)).toBe('OK');
    const cur = await current();
    expect(cur).toMatchObject({ status: 'running', qmpstatus: 'running' });
    pid = cur.pid as number;
    expect(alive(pid)).toBe(true);
    expect(typeof cur.uptime).toBe('number');
  }, 180_000);

  it('reports the running QEMU process: memory from its resident set, CPU load between two samples', async () => {
    const first = await current();
    expect(first.mem as number).toBeGreaterThan(4 * 1024 * 1024);
    expect(first.memhost).toBe(first.mem);
    // qemu-server recomputes the load only after more than 1000 host-cpu ticks (5 s on 2 cpus)
    await new Promise((r) => setTimeout(r, 1000 / availableParallelism() / 100 * 1000 + 800));
    const later = await current();
    // a TCG guest with no bootable disk keeps SeaBIOS busy: the load is above zero and at most all its cpus
    expect(later.cpu as number).toBeGreaterThan(0);
    expect(later.cpu as number).toBeLessThanOrEqual(1.5);
    const list = dataOf<Record<string, unknown>[]>(await t.call('GET', `/nodes/${NODE}/qemu`));
    expect(list.find((v) => v.vmid === 700)?.mem as number).toBeGreaterThan(4 * 1024 * 1024);
  }, 60_000);

  it('starting it again gives a UPID whose task fails with VM 700 already running', async () => {
    const r = await post('start');
    expect(r.status).toBe(200);
    const st = await t.waitTask(r.body?.data as string);
    expect(st.exitstatus).toBe('VM 700 already running');
    const log = (await t.call('GET', `/nodes/${NODE}/tasks/${r.body?.data}/log`)).body?.data as { t: string }[];
    expect(log[log.length - 1]?.t).toBe('TASK ERROR: VM 700 already running');
  });

  it('destroy of a running VM is refused at once', async () => {
    const r = await t.call('DELETE', `/nodes/${NODE}/qemu/700`);
    expect(r.status).toBe(500);
    expect(r.reason).toBe('VM 700 is running - destroy failed');
  });

  it('suspend pauses and resume continues', async () => {
    expect((await t.waitTask((await post('suspend')).body?.data as string)).exitstatus).toBe('OK');
    expect((await current()).qmpstatus).toBe('paused');
    const shut = await post('shutdown');
    expect(shut.status).toBe(500);
    expect(shut.reason).toBe('VM is paused - cannot shutdown');
    expect((await t.waitTask((await post('resume')).body?.data as string)).exitstatus).toBe('OK');
    expect((await current()).qmpstatus).toBe('running');
  });

  it('stop ends QEMU', async () => {
    const st = await t.waitTask((await post('stop')).body?.data as string, 120_000);
    expect(st.exitstatus).toBe('OK');
    expect((await current()).status).toBe('stopped');
    expect(pid !== undefined && alive(pid)).toBe(false);
  }, 180_000);
});
