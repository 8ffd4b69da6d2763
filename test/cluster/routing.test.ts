/**
 * Requests routed like pveproxy, with a real 3-member etcd and two real `serve` servers (a third
 * member never serves): node A's API answers `/nodes/node-b/…` by forwarding to B over TLS,
 * pinning B's registered certificate fingerprint. A VM is created on B through A, its UPID
 * (naming node-b) polled through A, its config read and changed through A (form, JSON and query
 * forwarded), started under TCG, its status read, its serial console used over a WebSocket, and
 * stopped, all through A; errors come back with B's status and reason phrase; a token and a
 * ticket work through A; an offline member gives 595, a forged registration (wrong fingerprint)
 * gives 596 before any credential is sent, and a forwarded request that would be forwarded again
 * is a proxy loop.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterKeys } from '../../src/cluster/etcd-store.js';
import { clusterInit, clusterJoin } from '../../src/cluster/setup.js';
import { openConfigStore } from '../../src/store/open.js';
import { alive, QEMU_BINARY, SKIP_REASON } from '../integration/helpers.js';
import { dataOf, type Reply, startTestServer, type TestServer } from '../api/helpers.js';
import { EtcdCluster } from './etcd-harness.js';

if (!QEMU_BINARY) console.warn(`test/cluster/routing: the VM part needs QEMU - ${SKIP_REASON}`);

describe('routing /nodes/<other>/… to the node, like pveproxy', () => {
  let etcd: EtcdCluster;
  let base: string;
  let sa: TestServer;
  let sb: TestServer;
  let pid: number | undefined;
  const roots: Record<string, string> = {};

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    base = mkdtempSync(join(tmpdir(), 'cvmctl-routing-'));
    for (const n of ['a', 'b', 'c']) {
      roots[n] = join(base, n);
      mkdirSync(roots[n] as string, { recursive: true });
    }
    await clusterInit({ root: roots.a as string, etcd: etcd.endpoints, node: 'node-a', name: 'lab' });
    await clusterJoin({ root: roots.b as string, etcd: etcd.endpoints, node: 'node-b' });
    await clusterJoin({ root: roots.c as string, etcd: etcd.endpoints, node: 'node-c' });
    sa = await startTestServer({ root: roots.a as string, node: 'node-a' });
    sb = await startTestServer({ root: roots.b as string, node: 'node-b', seedAccess: false }); // the cluster's users, made by sa
  }, 120_000);
  afterAll(async () => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await sa?.close();
    await sb?.close();
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  /** Lines B logged for a path (each forwarded request is one). */
  const loggedAtB = (path: string) => sb.logs.filter((l) => l.includes(` ${path} `));

  const waitTaskViaA = async (upid: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await sa.call('GET', `/nodes/node-b/tasks/${encodeURIComponent(upid)}/status`);
      expect(r.status, r.reason).toBe(200);
      const data = dataOf(r);
      if (data.status === 'stopped') return data;
      if (Date.now() > deadline) throw new Error(`task ${upid} still running after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  it('a GET for node B through A is answered by B, with B-only data, and logged at both', async () => {
    const path = '/api2/json/nodes/node-b/status';
    const before = loggedAtB(path).length;
    const viaA = await sa.call('GET', '/nodes/node-b/status');
    expect(viaA.status).toBe(200);
    expect(loggedAtB(path).length).toBe(before + 1);
    expect(loggedAtB(path).at(-1)).toContain(' root@pam GET ');
    const direct = await sb.call('GET', '/nodes/node-b/status');
    expect(Object.keys(dataOf(viaA)).sort()).toEqual(Object.keys(dataOf(direct)).sort());
    expect(sa.logs.some((l) => l.includes(` GET ${path} 200 `))).toBe(true);
  });

  it('errors come back with B status, reason phrase and body', async () => {
    const viaA = await sa.call('GET', '/nodes/node-b/qemu/999/config');
    const direct = await sb.call('GET', '/nodes/node-b/qemu/999/config');
    expect(viaA.status).toBe(500);
    expect(viaA.reason).toBe("Configuration file 'nodes/node-b/qemu-server/999.conf' does not exist");
    expect(viaA.text).toBe(direct.text);
    // a parameter error is B's too (400 with the per-parameter errors)
    const bad = await sa.call('POST', '/nodes/node-b/qemu', { form: { vmid: '751', memory: 'lots' } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body?.errors ?? {})).toEqual(['memory']);
  });

  describe.skipIf(!QEMU_BINARY)('a VM on B, driven entirely through A', () => {
    it('create on B through A: the UPID names node-b and is polled through A', async () => {
      const r = await sa.call('POST', '/nodes/node-b/qemu', {
        form: { vmid: '750', name: 'routed', memory: '64', cores: '1', kvm: '0', vga: 'none', serial0: 'socket' },
      });
      expect(r.status, r.reason).toBe(200);
      const upid = r.body?.data as string;
      expect(upid.split(':').slice(0, 2)).toEqual(['UPID', 'node-b']);
      expect((await waitTaskViaA(upid)).exitstatus).toBe('OK');
      expect((await openConfigStore(roots.b as string).read(750)).config.conf.name).toBe('routed');
      expect(await openConfigStore(roots.a as string).exists(750)).toBe(false);
      // the task log through A is B's
      const log = await sa.call('GET', `/nodes/node-b/tasks/${encodeURIComponent(upid)}/log`);
      expect(log.text).toBe((await sb.call('GET', `/nodes/node-b/tasks/${encodeURIComponent(upid)}/log`)).text);
      expect(dataOf<{ t: string }[]>(log).at(-1)?.t).toBe('TASK OK');
    }, 180_000);

    it('config read and changed through A: form body, JSON body, digest and a token credential', async () => {
      const cfg = dataOf(await sa.call('GET', '/nodes/node-b/qemu/750/config'));
      expect(cfg).toMatchObject({ name: 'routed', memory: '64', kvm: 0 });
      const set = await sa.call('PUT', '/nodes/node-b/qemu/750/config', { form: { description: 'via A, form', digest: cfg.digest as string } });
      expect(set.status, set.reason).toBe(200);
      const stale = await sa.call('PUT', '/nodes/node-b/qemu/750/config', { form: { description: 'stale', digest: cfg.digest as string } });
      expect(stale.status).toBe(500);
      expect(stale.reason).toContain('checksum mismatch');
      const json = await sa.call('PUT', '/nodes/node-b/qemu/750/config', { json: { cores: 1, tags: 'routed' }, as: { token: sa.rootToken } });
      expect(json.status, json.reason).toBe(200);
      const after = dataOf(await sb.call('GET', '/nodes/node-b/qemu/750/config'));
      expect(after).toMatchObject({ description: 'via A, form', tags: 'routed' });
    });

    it('a write without the CSRF token is refused at A and never reaches B', async () => {
      const before = loggedAtB('/api2/json/nodes/node-b/qemu/750/config').length;
      const r = await sa.call('PUT', '/nodes/node-b/qemu/750/config', { form: { description: 'x' }, as: { ticket: sa.root_.ticket as string } });
      expect(r.status).toBe(401);
      expect(loggedAtB('/api2/json/nodes/node-b/qemu/750/config').length).toBe(before);
    });

    it('start through A (TCG), status through A, serial console WebSocket through A, stop through A', async () => {
      const start = await sa.call('POST', '/nodes/node-b/qemu/750/status/start');
      expect(start.status, start.reason).toBe(200);
      const upid = start.body?.data as string;
      expect(upid.split(':')[1]).toBe('node-b');
      const st = await waitTaskViaA(upid);
      expect(st.exitstatus).toBe('OK');
      const cur = dataOf(await sa.call('GET', '/nodes/node-b/qemu/750/status/current'));
      expect(cur).toMatchObject({ status: 'running', qmpstatus: 'running' });
      pid = cur.pid as number;
      expect(alive(pid)).toBe(true);

      // the console of B's VM, opened at A (a browser on A's page: origin = A's host)
      const received: Buffer[] = [];
      const ws = new WebSocket(`wss://127.0.0.1:${sa.port}/api2/json/nodes/node-b/qemu/750/serial/ws?serial=0`, {
        rejectUnauthorized: false,
        headers: { Cookie: `PVEAuthCookie=${sa.root_.ticket}`, Origin: `https://127.0.0.1:${sa.port}` },
      });
      ws.on('message', (data) => received.push(Buffer.from(data as Buffer)));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode} ${res.statusMessage}`)));
      });
      // the boot may have printed before the console connected: reset (through A) to see it from the start
      expect((await sa.call('POST', '/nodes/node-b/qemu/750/status/reset')).status).toBe(200);
      const deadline = Date.now() + 90_000;
      while (!/SeaBIOS \(version [^)]+\)/.test(Buffer.concat(received).toString('latin1'))) {
        if (Date.now() > deadline) throw new Error(`no SeaBIOS banner on the console: ${JSON.stringify(Buffer.concat(received).toString('latin1').slice(0, 300))}`);
        await new Promise((res) => setTimeout(res, 200));
      }
      ws.close();

      const stop = await sa.call('POST', '/nodes/node-b/qemu/750/status/stop');
      expect((await waitTaskViaA(stop.body?.data as string)).exitstatus).toBe('OK');
      expect(dataOf(await sa.call('GET', '/nodes/node-b/qemu/750/status/current'))).toMatchObject({ status: 'stopped' });
      expect(alive(pid)).toBe(false);
      // the query goes along: B's task list (create, start, reset, stop) filtered and paged by B
      const tasks = await sa.call('GET', '/nodes/node-b/tasks', { query: { vmid: '750', typefilter: 'qmst', limit: '1' } });
      expect(dataOf<{ type: string }[]>(tasks).map((t) => t.type)).toHaveLength(1);
      expect(tasks.body?.total).toBe(2); // qmstart and qmstop
      expect(dataOf<{ node: string }[]>(tasks)[0]?.node).toBe('node-b');
    }, 240_000);
  });

  it('a console WebSocket of an offline node is refused with 595', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${sa.port}/api2/json/nodes/node-c/qemu/300/serial/ws?serial=0`, {
        rejectUnauthorized: false,
        headers: { Cookie: `PVEAuthCookie=${sa.root_.ticket}` },
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', reject);
    });
    expect(status).toBe(595);
  });

  it('a member that is offline gives 595; a name that is no member stays a local error', async () => {
    const off = await sa.call('GET', '/nodes/node-c/status');
    expect(off.status).toBe(595);
    expect(off.reason).toBe("node 'node-c' seems to be offline");
    const unknown = await sa.call('GET', '/nodes/node-x/status');
    expect(unknown.status).toBe(500);
    expect(unknown.reason).toBe("no such cluster node 'node-x'");
  });

  it('a registration whose certificate fingerprint does not match is refused with 596 before any credential is sent', async () => {
    const client = new EtcdClient(etcd.endpoints);
    const keys = clusterKeys('lab');
    const real = JSON.parse((await client.get(keys.onlineNode('node-b')))?.value ?? '{}') as { url: string; fingerprint: string };
    // node-d claims B's address with another certificate's fingerprint (a stolen or changed address)
    const forged = real.fingerprint.replace(/^../, real.fingerprint.startsWith('00') ? '11' : '00');
    await client.put(keys.member('node-d'), JSON.stringify({ node: 'node-d', joined: new Date().toISOString() }));
    await client.put(keys.onlineNode('node-d'), JSON.stringify({ url: real.url, fingerprint: forged, running: [], updated: new Date().toISOString() }));
    const before = sb.logs.length;
    const r: Reply = await sa.call('GET', '/nodes/node-d/status');
    expect(r.status).toBe(596);
    expect(r.reason).toBe(`certificate fingerprint mismatch for node 'node-d' (registered ${forged}, presented ${real.fingerprint})`);
    expect(sb.logs.length).toBe(before); // B never saw a request
    await client.delete(keys.onlineNode('node-d'));
    await client.delete(keys.member('node-d'));
  });

  it('a registered address that refuses gives 595; when the node registers anew, the next request goes there', async () => {
    const client = new EtcdClient(etcd.endpoints);
    const keys = clusterKeys('lab');
    const real = JSON.parse((await client.get(keys.onlineNode('node-b')))?.value ?? '{}') as { url: string; fingerprint: string };
    const dead = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const register = (url: string) =>
      client.put(keys.onlineNode('node-e'), JSON.stringify({ url, fingerprint: real.fingerprint, running: [], updated: new Date().toISOString() }));
    await client.put(keys.member('node-e'), JSON.stringify({ node: 'node-e', joined: new Date().toISOString() }));
    await register(`https://127.0.0.1:${dead}`);
    const refused = await sa.call('GET', '/nodes/node-e/status');
    expect(refused.status).toBe(595);
    expect(refused.reason).toBe('Connection refused');
    // "node-e restarts" at B's address: A's remembered registration fails to connect, A looks again and goes there
    await register(real.url);
    const before = sb.logs.length;
    const moved = await sa.call('GET', '/nodes/node-e/status');
    // B got it, and (node-e not being B) refuses to forward it once more
    expect(moved.status).toBe(500);
    expect(moved.reason).toBe('proxy loop detected');
    expect(sb.logs.slice(before).some((l) => l.includes(' GET /api2/json/nodes/node-e/status 500 '))).toBe(true);
    await client.delete(keys.onlineNode('node-e'));
    await client.delete(keys.member('node-e'));
  });

  it('a forwarded request that would be forwarded again is a proxy loop; for the node itself it is served', async () => {
    const loop = await sa.call('GET', '/nodes/node-b/status', { headers: { PVEDisableProxy: 'true' } });
    expect(loop.status).toBe(500);
    expect(loop.reason).toBe('proxy loop detected');
    const local = await sa.call('GET', '/nodes/node-a/status', { headers: { PVEDisableProxy: 'true' } });
    expect(local.status).toBe(200);
  });

  it('requests without credentials are answered by A (401) and never forwarded', async () => {
    const before = sb.logs.length;
    expect((await sa.call('GET', '/nodes/node-b/status', { anonymous: true })).status).toBe(401);
    expect(sb.logs.length).toBe(before);
  });
});
