/**
 * @module test/api/ui-routes
 * What `cvmctl serve` does for the web UI: the built files at `/` (content types, index.html
 * uncached with its CSP, hashed assets cached for a year, the precompressed brotli/gzip twin
 * chosen by Accept-Encoding, paths outside the UI folder refused, the API untouched) and the
 * node-wide CVM routes the UI reads (`cvm/host`, `cvm/vms`, `cvm/policy`, the latter with the
 * server's codec and the option table's check of the value).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { loadTls } from '../../src/api/tls.js';
import { openAccessControl } from '../../src/access/index.js';
import { probeKvm } from '../../src/host/local/kvm-probe.js';
import { loadHostProfile } from '../../src/host/profiles/index.js';
import { AMD_TURIN_9005 } from '../../src/host/profiles/pve-test.js';
import { dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

describe('the web UI files at /', () => {
  let root: string;
  let port: number;
  let close: () => Promise<void>;
  const JS = 'export const answer = 42;\n'.repeat(50);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cvmctl-uistatic-'));
    const ui = join(root, 'ui');
    mkdirSync(join(ui, 'assets'), { recursive: true });
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(ui, 'assets', 'app-abc123.js'), JS);
    writeFileSync(join(ui, 'assets', 'app-abc123.js.br'), brotliCompressSync(JS));
    writeFileSync(join(ui, 'assets', 'app-abc123.js.gz'), gzipSync(JS));
    writeFileSync(join(ui, 'assets', 'plain.css'), 'body{}');
    writeFileSync(join(root, 'secret.txt'), 'not for the web');
    const server = createApiServer({
      root,
      node: NODE,
      access: openAccessControl(root),
      tls: await loadTls({ root, node: NODE }),
      uiRoot: ui,
      authFailureDelayMs: 10,
      log: () => {},
    });
    port = await server.listen('127.0.0.1', 0);
    close = () => server.close(5000);
  });
  afterAll(async () => {
    await close?.();
    rmSync(root, { recursive: true, force: true });
  });

  const fetchRaw = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers, rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves index.html at / and at app paths, never cached, with a CSP', async () => {
    for (const path of ['/', '/vm/100']) {
      const r = await fetchRaw(path);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(String(r.headers['content-security-policy'])).toContain("default-src 'self'");
      expect(r.body.toString()).toContain('<title>ui</title>');
    }
    const head = await fetchRaw('/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('sends the brotli twin, else gzip, else the file; hashed assets cached for a year', async () => {
    const br = await fetchRaw('/assets/app-abc123.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.headers.vary).toBe('Accept-Encoding');
    expect(brotliDecompressSync(br.body).toString()).toBe(JS);
    const gz = await fetchRaw('/assets/app-abc123.js', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    // br refused with q=0: gzip
    const q0 = await fetchRaw('/assets/app-abc123.js', { 'Accept-Encoding': 'br;q=0, gzip' });
    expect(q0.headers['content-encoding']).toBe('gzip');
    const plain = await fetchRaw('/assets/app-abc123.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(JS);
    const css = await fetchRaw('/assets/plain.css', { 'Accept-Encoding': 'br' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['content-encoding']).toBeUndefined();
    expect(css.body.toString()).toBe('body{}');
  });

  it('refuses a serial-console WebSocket without a ticket, from another origin, or for another node', async () => {
    const upgrade = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = request({
          host: '127.0.0.1',
          port,
          path,
          rejectUnauthorized: false,
          headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const ws = `/api2/json/nodes/${NODE}/qemu/100/serial/ws?serial=0`;
    expect(await upgrade(ws)).toBe(401);
    expect(await upgrade(ws, { Cookie: 'PVEAuthCookie=PVE:root@pam:00000000::forged' })).toBe(401);
    expect(await upgrade(ws, { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade(`/api2/json/nodes/othernode/qemu/100/serial/ws`)).toBe(404);
  });

  it('refuses paths outside the UI folder and leaves the API alone', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/missing.js']) {
      const r = await fetchRaw(path);
      expect(r.status, path).not.toBe(200);
      expect(r.body.toString(), path).not.toContain('not for the web');
    }
    expect((await fetchRaw('/index.html', {}, 'POST')).status).toBe(501);
    const api = await fetchRaw('/api2/json/version');
    expect(api.status).toBe(401); // the API still asks for credentials
  });
});

describe('node-wide CVM routes for the UI', () => {
  let t: TestServer;
  beforeAll(async () => {
    const facts = await loadHostProfile('pve-test', {});
    t = await startTestServer({ facts: { ...facts, hwCapabilities: structuredClone(AMD_TURIN_9005) } });
    mkdirSync(join(t.root, 'qemu-server'), { recursive: true });
    writeFileSync(join(t.root, 'qemu-server', '201.conf'), 'amd-sev: type=snp,no-debug=1\nbios: ovmf\nmemory: 1024\n');
    writeFileSync(join(t.root, 'qemu-server', '202.conf'), 'intel-tdx: type=tdx,attestation=1\nbios: ovmf\n');
    writeFileSync(join(t.root, 'qemu-server', '203.conf'), 'memory: 512\n');
    writeFileSync(join(t.root, 'qemu-server', '204.conf'), 'amd-sev: type=es\n');
  }, 60_000);
  afterAll(async () => t?.close());

  it('cvm/vms names each VM type in one call; an auditor-less user sees none', async () => {
    const list = dataOf<{ vmid: number; type: string | null }[]>(await t.call('GET', `/nodes/${NODE}/cvm/vms`));
    expect(list.sort((a, b) => a.vmid - b.vmid)).toEqual([
      { vmid: 201, type: 'snp' },
      { vmid: 202, type: 'tdx' },
      { vmid: 203, type: null },
      { vmid: 204, type: 'es' },
    ]);
    await t.addUser('nobody@pve', 'nobody-pw');
    const nobody = await t.login('nobody@pve', 'nobody-pw');
    expect(dataOf<unknown[]>(await t.call('GET', `/nodes/${NODE}/cvm/vms`, { as: nobody }))).toEqual([]);
  });

  it('cvm/host reports the facts the server runs VMs with', async () => {
    const host = dataOf<{ cpuVendor: string; qemuVersion: string; kvm: number; kvmProbe?: { cpu: string }; firmware: { name: string }[] }>(
      await t.call('GET', `/nodes/${NODE}/cvm/host`),
    );
    const facts = await loadHostProfile('pve-test', {});
    expect(host.cpuVendor).toBe(facts.cpuVendor);
    expect(host.qemuVersion).toBe(facts.qemuInstalledVersion || facts.qemuVersion);
    expect(host.kvm).toBe(facts.kvmAvailable ? 1 : 0);
    // with the device there, whether a default VM's vCPU can be made under KVM (and why not)
    const probe = await probeKvm(facts);
    expect(host.kvmProbe).toEqual({ usable: probe.usable ? 1 : 0, cpu: probe.cpu, ...(probe.reason ? { reason: probe.reason } : {}) });
    expect(host.kvmProbe?.cpu).toMatch(/^kvm64,enforce/);
    expect(Array.isArray(host.firmware)).toBe(true);
  });

  it('cvm/policy explains an unsaved amd-sev value with the same bits as a saved VM', async () => {
    const saved = dataOf<{ policy: string; bits: unknown[] }>(await t.call('GET', `/nodes/${NODE}/qemu/201/cvm`));
    const preview = dataOf<{ policy: string; bits: unknown[] }>(
      await t.call('POST', `/nodes/${NODE}/cvm/policy`, { form: { 'amd-sev': 'type=snp,no-debug=1' } }),
    );
    expect(preview.policy).toBe(saved.policy);
    expect(preview.bits).toEqual(saved.bits);
    // debugging allowed: bit 19 set, critical
    const debug = dataOf<{ policy: string; bits: { bit: string; value: number; severity: string }[] }>(
      await t.call('POST', `/nodes/${NODE}/cvm/policy`, { form: { 'amd-sev': 'type=snp' } }),
    );
    expect(BigInt(debug.policy) & (1n << 19n)).toBe(1n << 19n);
    expect(debug.bits.find((b) => b.bit === '19')).toMatchObject({ value: 1, severity: 'critical' });
  });

  it('cvm/policy refuses a value the option table refuses, naming the key', async () => {
    const bad = await t.call('POST', `/nodes/${NODE}/cvm/policy`, { form: { 'amd-sev': 'type=bogus' } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body?.errors ?? {})).toEqual(['amd-sev']);
    const none = await t.call('POST', `/nodes/${NODE}/cvm/policy`, { form: {} });
    expect(none.status).toBe(400);
    expect(none.body?.errors?.['amd-sev']).toMatch(/missing/);
  });
});

