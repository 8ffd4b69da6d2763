/**
 * @module test/clients/proxmoxer
 * Debian's python3-proxmoxer 1.2.0 (under /usr/bin/python3) drives the real `cvmctl serve`
 * unchanged, once with ticket auth (password login, cookie + CSRF) and once with an API token:
 * create, config get/set with digest (a stale digest fails with PVE's text), errors as
 * proxmoxer shows them (the HTTP reason phrase), start/suspend/resume/reset/stop of a `kvm: 0` VM under TCG, task
 * wait by polling tasks/{upid}/status, destroy. The Python script only records what proxmoxer
 * returned or raised; the expectations here come from the PVE wire contract
 * (docs/api.md, shared spec pve-api.md) and from the server's state root.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../integration/helpers.js';
import { CLIENTS_DIR, clientEnv, PYTHON, type RunningServer, rawRequest, removeClientEnv, runAsync, startServer } from './harness.js';

/** PVE's UPID decode regex (pve-common UPID.pm), trailing colon included. */
const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

interface ClientError {
  type: string;
  status_code?: number;
  status_message?: string;
  content?: string;
  errors?: unknown;
  str: string;
}
type Step = { ok: unknown } | { error: ClientError };
interface FlowResult {
  steps: Record<string, Step>;
  order: string[];
}
interface TaskWait {
  status: Record<string, unknown>;
  log: { n: number; t: string }[];
  polls: number;
}

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ prefix: 'cvmctl-proxmoxer-' });
}, 120_000);

afterAll(async () => {
  await server?.stop();
}, 60_000);

async function runFlow(auth: 'ticket' | 'token', vmid: number): Promise<FlowResult> {
  const cfg = {
    host: server.host,
    port: server.port,
    node: server.node,
    user: server.user,
    password: server.password,
    token_name: server.token.name,
    token_value: server.token.secret,
    vmid,
    auth,
  };
  const env = clientEnv();
  try {
    const r = await runAsync(PYTHON, [join(CLIENTS_DIR, 'proxmoxer_flow.py'), JSON.stringify(cfg)], env, 400_000);
    if (r.code !== 0) throw new Error(`proxmoxer_flow.py exited ${r.code}:\n${r.stderr}\n--- server ---\n${server.output()}`);
    return JSON.parse(r.stdout) as FlowResult;
  } finally {
    removeClientEnv(env);
  }
}

function ok<T = unknown>(flow: FlowResult, name: string): T {
  const s = flow.steps[name];
  if (!s) throw new Error(`step ${name} did not run (ran: ${flow.order.join(', ')})`);
  if ('error' in s) throw new Error(`step ${name} failed: ${s.error.str}`);
  return s.ok as T;
}

function failed(flow: FlowResult, name: string): ClientError {
  const s = flow.steps[name];
  if (!s) throw new Error(`step ${name} did not run`);
  if (!('error' in s)) throw new Error(`step ${name} succeeded with ${JSON.stringify(s.ok)}, expected an error`);
  return s.error;
}

/** What proxmoxer raises: ResourceException with the status and the reason phrase as content. */
function expectResourceError(e: ClientError, status: number, reason: string): void {
  expect(e.type).toBe('ResourceException');
  expect(e.status_code).toBe(status);
  expect(e.content).toBe(reason);
}

function expectTaskOk(wait: TaskWait, upid: string, type: string, vmid: number, authid: string): void {
  expect(wait.status.upid).toBe(upid);
  expect(wait.status.status).toBe('stopped');
  expect(wait.status.exitstatus).toBe('OK');
  expect(wait.status.type).toBe(type);
  expect(wait.status.id).toBe(String(vmid));
  const [user, tokenid] = authid.split('!');
  expect(wait.status.user).toBe(user);
  if (tokenid) expect(wait.status.tokenid).toBe(tokenid);
  expect(wait.log.at(-1)?.t).toBe('TASK OK');
  expect(wait.log.map((l) => l.n)).toEqual(wait.log.map((_, i) => i + 1));
}

function expectUpid(upid: unknown, node: string, type: string, vmid: number, authid: string): string {
  expect(typeof upid).toBe('string');
  const m = UPID_RE.exec(upid as string);
  expect(m, `UPID ${String(upid)}`).not.toBeNull();
  expect(m?.[1]).toBe(node);
  expect(m?.[6]).toBe(type);
  expect(m?.[7]).toBe(String(vmid));
  expect(m?.[8]).toBe(authid);
  return upid as string;
}

for (const [auth, vmid] of [
  ['ticket', 8101],
  ['token', 8102],
] as const) {
  describe(`proxmoxer 1.2.0 with ${auth} auth`, () => {
    let flow: FlowResult;
    const authid = () => (auth === 'token' ? server.token.fullTokenId : 'root@pam');

    beforeAll(async () => {
      flow = await runFlow(auth, vmid);
    }, 420_000);

    it('connects and reads version, nodes and the next free VMID', () => {
      expect(ok(flow, 'connect')).toBe(true);
      const version = ok<{ version: string; release: string }>(flow, 'version');
      expect(Number(version.version.split('.')[0])).toBeGreaterThanOrEqual(8);
      const nodes = ok<{ node: string; status: string }[]>(flow, 'nodes');
      expect(nodes.map((n) => n.node)).toEqual([server.node]);
      expect(nodes[0]?.status).toBe('online');
      const next = ok<string | number>(flow, 'nextid');
      expect(String(next)).toMatch(/^\d+$/);
      expect(Number(next)).toBeGreaterThanOrEqual(100);
    });

    it('creates the VM through a qmcreate task and waits for it', () => {
      const upid = expectUpid(ok(flow, 'create'), server.node, 'qmcreate', vmid, authid());
      expectTaskOk(ok<TaskWait>(flow, 'create_wait'), upid, 'qmcreate', vmid, authid());
      expectResourceError(
        failed(flow, 'create_duplicate'),
        500,
        `unable to create VM ${vmid} - VM ${vmid} already exists on node '${server.node}'`,
      );
      expectResourceError(failed(flow, 'nextid_taken'), 400, 'Parameter verification failed.');
    });

    it('returns the config with PVE types and a digest, and updates it only with the current digest', () => {
      const conf = ok<Record<string, unknown>>(flow, 'config_get');
      expect(conf.name).toBe(`px-${auth}`);
      expect(conf.memory).toBe('128'); // a property string in qemu-server 9: a JSON string
      expect(conf.cores).toBe(1); // integer: a JSON number
      expect(conf.kvm).toBe(0); // boolean: a JSON number
      expect(conf.vga).toBe('none');
      expect(conf.ostype).toBe('other');
      expect(conf.digest).toMatch(/^[0-9a-f]{40}$/);
      expect(conf.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);

      expect(ok(flow, 'config_set_digest')).toBeNull();
      const after = ok<Record<string, unknown>>(flow, 'config_after_set');
      expect(after.cores).toBe(2);
      expect(after.description).toBe('set by proxmoxer');
      expect(after.digest).toMatch(/^[0-9a-f]{40}$/);
      expect(after.digest).not.toBe(conf.digest);

      expectResourceError(failed(flow, 'config_set_stale_digest'), 500, 'checksum mismatch (file change by other user?)');

      expect(ok(flow, 'config_delete')).toBeNull();
      const pending = ok<{ key: string; value?: unknown; pending?: unknown; delete?: number }[]>(flow, 'pending');
      const keys = pending.map((p) => p.key);
      expect(keys).not.toContain('description');
      expect(pending.find((p) => p.key === 'cores')).toEqual({ key: 'cores', value: 2 });
      expect(pending.filter((p) => p.pending !== undefined || p.delete !== undefined)).toEqual([]);
    });

    it('shows errors the way proxmoxer users see them: the reason phrase', () => {
      expectResourceError(failed(flow, 'error_bad_value'), 400, 'Parameter verification failed.');
      expectResourceError(failed(flow, 'error_unknown_param'), 400, 'Parameter verification failed.');
      // requests form-encodes True as "True": PVE's boolean type rejects it
      expectResourceError(failed(flow, 'error_python_bool'), 400, 'Parameter verification failed.');
      expectResourceError(
        failed(flow, 'error_missing_vm'),
        500,
        `Configuration file 'nodes/${server.node}/qemu-server/${vmid + 424242}.conf' does not exist`,
      );
      expectResourceError(failed(flow, 'error_unknown_path'), 501, `Method 'GET /nodes/${server.node}/nosuchthing' not implemented`);
      const unknownNode = failed(flow, 'error_unknown_node');
      expect(unknownNode.type).toBe('ResourceException');
      expect(unknownNode.status_code).toBeGreaterThanOrEqual(400);
      expect(unknownNode.content).toContain('nosuchnode');
    });

    it('lists the VM in cluster/resources and the node list with a numeric vmid', () => {
      const resources = ok<Record<string, unknown>[]>(flow, 'resources');
      const mine = resources.find((r) => r.vmid === vmid);
      expect(mine).toMatchObject({ vmid, node: server.node, name: `px-${auth}`, type: 'qemu', id: `qemu/${vmid}` });
      const list = ok<Record<string, unknown>[]>(flow, 'list');
      expect(list.find((r) => r.vmid === vmid)).toMatchObject({ vmid, name: `px-${auth}`, status: 'stopped' });
    });

    it('reads cluster/tasks: the create task with its end time and exit status, a token split off the user', () => {
      const upid = ok<string>(flow, 'create');
      const [user, tokenid] = authid().split('!');
      const rows = ok<Record<string, unknown>[]>(flow, 'cluster_tasks');
      expect(rows.find((r) => r.upid === upid)).toEqual({
        upid,
        node: server.node,
        starttime: Number.parseInt(upid.split(':')[4] as string, 16),
        type: 'qmcreate',
        id: String(vmid),
        user,
        ...(tokenid ? { tokenid } : {}),
        endtime: expect.any(Number),
        status: 'OK',
      });
    });

    it('starts the VM under TCG, refuses a second start in the task, suspends, resumes, resets and stops it', () => {
      const upid = expectUpid(ok(flow, 'start'), server.node, 'qmstart', vmid, authid());
      expectTaskOk(ok<TaskWait>(flow, 'start_wait'), upid, 'qmstart', vmid, authid());
      const running = ok<Record<string, unknown>>(flow, 'status_running');
      expect(running).toMatchObject({ vmid, status: 'running', qmpstatus: 'running', name: `px-${auth}` });
      expect(typeof running.pid).toBe('number');
      expect(running.maxmem).toBe(128 * 1024 * 1024);

      const again = expectUpid(ok(flow, 'start_again'), server.node, 'qmstart', vmid, authid());
      const againWait = ok<TaskWait>(flow, 'start_again_wait');
      expect(againWait.status.upid).toBe(again);
      expect(againWait.status.status).toBe('stopped');
      expect(againWait.status.exitstatus).toBe(`VM ${vmid} already running`);
      expect(againWait.log.at(-1)?.t).toBe(`TASK ERROR: VM ${vmid} already running`);

      for (const [action, type] of [
        ['suspend', 'qmpause'],
        ['resume', 'qmresume'],
        ['reset', 'qmreset'],
      ] as const) {
        const u = expectUpid(ok(flow, action), server.node, type, vmid, authid());
        expectTaskOk(ok<TaskWait>(flow, `${action}_wait`), u, type, vmid, authid());
      }
      expect(ok<Record<string, unknown>>(flow, 'status_paused')).toMatchObject({
        vmid,
        status: 'running',
        qmpstatus: 'paused',
        pid: running.pid,
      });
      expect(ok<Record<string, unknown>>(flow, 'status_resumed')).toMatchObject({
        vmid,
        status: 'running',
        qmpstatus: 'running',
        pid: running.pid,
      });
      expect(ok<Record<string, unknown>>(flow, 'status_reset')).toMatchObject({
        vmid,
        status: 'running',
        qmpstatus: 'running',
        pid: running.pid,
      });

      expectResourceError(failed(flow, 'destroy_running'), 500, `VM ${vmid} is running - destroy failed`);

      const stopUpid = expectUpid(ok(flow, 'stop'), server.node, 'qmstop', vmid, authid());
      expectTaskOk(ok<TaskWait>(flow, 'stop_wait'), stopUpid, 'qmstop', vmid, authid());
      expect(ok<Record<string, unknown>>(flow, 'status_stopped')).toMatchObject({ vmid, status: 'stopped' });
      expect(alive(running.pid as number)).toBe(false);
    });

    it('destroys the VM: its config is gone from the API and from the state root', () => {
      const upid = expectUpid(ok(flow, 'destroy'), server.node, 'qmdestroy', vmid, authid());
      expectTaskOk(ok<TaskWait>(flow, 'destroy_wait'), upid, 'qmdestroy', vmid, authid());
      expectResourceError(
        failed(flow, 'config_after_destroy'),
        500,
        `Configuration file 'nodes/${server.node}/qemu-server/${vmid}.conf' does not exist`,
      );
      expect(existsSync(join(server.root, 'qemu-server', `${vmid}.conf`))).toBe(false);
    });

    if (auth === 'ticket') {
      it('renews a ticket by logging in with it, rejects a wrong password, and requires CSRF on writes', () => {
        expect(ok<{ version: string }>(flow, 'renew_with_ticket').version).toMatch(/^\d+\./);
        const wrong = failed(flow, 'wrong_password');
        expect(wrong.type).toBe('AuthenticationError');
        expect(ok(flow, 'no_csrf')).toEqual({ status_code: 401, reason: 'Permission denied - invalid csrf token', body: '' });
      });
    } else {
      it('rejects a wrong token secret with 401 Authentication failed!', () => {
        expectResourceError(failed(flow, 'wrong_token'), 401, 'Authentication failed!');
      });
    }
  });
}

describe('error bodies proxmoxer 1.2.0 does not show (read raw, token auth)', () => {
  const auth = () => ({ authorization: `PVEAPIToken=${server.token.fullTokenId}=${server.token.secret}` });

  it('a parameter error carries the per-key message in `errors` and the first line in the reason phrase', async () => {
    const r = await rawRequest(server, 'PUT', `/api2/json/nodes/${server.node}/qemu/8199/config`, {
      headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'memory=abc',
    });
    expect(r.status).toBe(400);
    expect(r.reason).toBe('Parameter verification failed.');
    const body = JSON.parse(r.body) as { data: unknown; message: string; errors: Record<string, string> };
    expect(body.data).toBeNull();
    expect(body.message).toBe('Parameter verification failed.\n');
    expect(Object.keys(body.errors)).toEqual(['memory']);
  });

  it('a missing VM is a 500 with the config path in message and reason phrase', async () => {
    const r = await rawRequest(server, 'GET', `/api2/json/nodes/${server.node}/qemu/8198/config`, { headers: auth() });
    const text = `Configuration file 'nodes/${server.node}/qemu-server/8198.conf' does not exist`;
    expect(r.status).toBe(500);
    expect(r.reason).toBe(text);
    expect(JSON.parse(r.body)).toEqual({ data: null, message: `${text}\n` });
  });
});
