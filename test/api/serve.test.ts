/**
 * @module test/api/serve
 * `cvmctl serve` as users run it (bin/cvmctl, after `npm run build`): the root password set
 * with `cvmctl passwd` from stdin, the start-up lines (URL with the bound port, certificate,
 * SHA-256 fingerprint equal to the certificate the server presents), TLS 1.2 and 1.3, a VM
 * created over the API, one log line per request, SIGTERM ending the process cleanly, and a
 * restart that reuses the certificate and still answers for the tasks of the first run.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'cvmctl');
const PASSWORD = 'serve-test-pw';
let root: string;

interface Running {
  child: ChildProcess;
  port: number;
  fingerprint: string;
  banner: string;
  stderr: () => string;
}

function startServe(): Promise<Running> {
  const child = spawn(
    process.execPath,
    [BIN, '--root', root, 'serve', '--listen', '127.0.0.1:0', '--node', 'servenode', '--auth-failure-delay', '10'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    child.stdout?.on('data', (d) => {
      out += d;
      const port = /listening on https:\/\/127\.0\.0\.1:(\d+)\/api2\/json/.exec(out)?.[1];
      const fingerprint = /SHA-256 fingerprint ([0-9A-F:]+)\n/.exec(out)?.[1];
      if (port && fingerprint) {
        clearTimeout(timer);
        resolve({ child, port: Number(port), fingerprint, banner: out, stderr: () => err });
      }
    });
  });
}

function stop(s: Running): Promise<number | null> {
  return new Promise((resolve) => {
    s.child.removeAllListeners('exit');
    s.child.on('exit', (code) => resolve(code));
    s.child.kill('SIGTERM');
  });
}

function call(port: number, method: string, path: string, opts: { form?: Record<string, string>; ticket?: string; csrf?: string } = {}) {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const headers: Record<string, string> = {};
  if (body) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  if (opts.ticket) headers.Cookie = `PVEAuthCookie=${opts.ticket}`;
  if (opts.csrf) headers.CSRFPreventionToken = opts.csrf;
  return new Promise<{ status: number; reason: string; data: unknown }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: `/api2/json${path}`, headers, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', data: text ? JSON.parse(text).data : undefined }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

function handshake(port: number, version: SecureVersion): Promise<{ protocol: string | null; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: version, maxVersion: version }, () => {
      resolve({ protocol: s.getProtocol(), fingerprint: s.getPeerCertificate().fingerprint256 });
      s.end();
    });
    s.on('error', reject);
  });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cvmctl-serve-'));
  const r = spawnSync(process.execPath, [BIN, '--root', root, 'passwd', 'root@pam'], { input: `${PASSWORD}\n`, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cvmctl serve', () => {
  let first: Running;
  let upid: string;

  it('starts, names its port and a fingerprint that matches the certificate it presents', async () => {
    first = await startServe();
    expect(first.banner).toMatch(/TLS certificate .*\/ssl\/pve-ssl\.pem \(created\)\n/);
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const h = await handshake(first.port, v);
      expect(h.protocol).toBe(v);
      expect(h.fingerprint).toBe(first.fingerprint);
    }
  }, 60_000);

  it('serves the API with the password set by cvmctl passwd', async () => {
    const login = await call(first.port, 'POST', '/access/ticket', { form: { username: 'root@pam', password: PASSWORD } });
    expect(login.status).toBe(200);
    const { ticket, CSRFPreventionToken: csrf } = login.data as { ticket: string; CSRFPreventionToken: string };
    const created = await call(first.port, 'POST', '/nodes/servenode/qemu', { ticket, csrf, form: { vmid: '100', name: 'served' } });
    expect(created.status, created.reason).toBe(200);
    upid = created.data as string;
    for (let i = 0; i < 100; i++) {
      const st = await call(first.port, 'GET', `/nodes/servenode/tasks/${upid}/status`, { ticket });
      if ((st.data as { status: string }).status === 'stopped') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const list = await call(first.port, 'GET', '/nodes/servenode/qemu', { ticket });
    expect(list.data).toEqual([expect.objectContaining({ vmid: 100, name: 'served', status: 'stopped' })]);
    expect(first.stderr()).toMatch(/ root@pam POST \/api2\/json\/nodes\/servenode\/qemu 200 [\d.]+ms\n/);
  }, 60_000);

  it('SIGTERM ends the server with exit code 0', async () => {
    expect(await stop(first)).toBe(0);
    expect(first.stderr()).toMatch(/SIGTERM: shutting down/);
  }, 60_000);

  it('a restart reuses the certificate and still reports the earlier task', async () => {
    const second = await startServe();
    try {
      expect(second.fingerprint).toBe(first.fingerprint);
      expect(second.banner).not.toMatch(/\(created\)/);
      const login = await call(second.port, 'POST', '/access/ticket', { form: { username: 'root@pam', password: PASSWORD } });
      const { ticket } = login.data as { ticket: string };
      const st = await call(second.port, 'GET', `/nodes/servenode/tasks/${upid}/status`, { ticket });
      expect(st.data).toMatchObject({ upid, status: 'stopped', exitstatus: 'OK', type: 'qmcreate' });
    } finally {
      await stop(second);
    }
  }, 60_000);

  it('refuses --cert without --key and a bad --listen, with one line and exit code 2', () => {
    const a = spawnSync(process.execPath, [BIN, '--root', root, 'serve', '--cert', '/nonexistent.pem'], { encoding: 'utf8' });
    expect(a.status).toBe(2);
    expect(a.stderr).toBe('cert: --cert and --key must be given together\n');
    const b = spawnSync(process.execPath, [BIN, '--root', root, 'serve', '--listen', '127.0.0.1:70000'], { encoding: 'utf8' });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/^listen: invalid value '127\.0\.0\.1:70000'/);
  });
});
