/**
 * @module test/clients/ansible
 * Debian bookworm's Ansible with community.general's `proxmox_kvm` (on proxmoxer 1.2.0,
 * /usr/bin/python3, localhost connection, `validate_certs: false`) manages a VM on the real
 * `cvmctl serve`: create (and again: no change), started (and again), stopped with force (and
 * again), the current state through an API token, absent (and again). The playbook runs in two
 * tagged halves so the server's own state is checked in between (config, running QEMU) and at
 * the end (config gone, not listed). The VM boots a tiny guest that powers off on ACPI
 * shutdown (acpi-guest.ts): `state: stopped` is a PVE shutdown, and Ansible accepts only a task
 * that ends `OK`, which a guest ignoring the power button never gives (the forced stop after
 * the timeout ends with `WARNINGS: 1`, on PVE as here).
 */

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../integration/helpers.js';
import { waitUntilArmed, writeAcpiOffDisk } from './acpi-guest.js';
import { CLIENTS_DIR, clientEnv, type RunningServer, rawRequest, removeClientEnv, runAsync, startServer } from './harness.js';

const VMID = 8201;
const NAME = 'ansible-vm';

interface ModuleResult {
  changed?: boolean;
  failed?: boolean;
  msg?: string;
  vmid?: number | string;
  status?: string;
}
type Results = Record<string, ModuleResult | null>;

let server: RunningServer;
let work: string;
let bootDisk: string;

beforeAll(async () => {
  server = await startServer({ prefix: 'cvmctl-ansible-' });
  work = mkdtempSync(join(tmpdir(), 'cvmctl-ansible-run-'));
  bootDisk = writeAcpiOffDisk(server.root, VMID);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

async function playbook(tag: 'up' | 'down'): Promise<Results> {
  const resultFile = join(work, `${tag}.json`);
  const vars = {
    pve_host: `${server.host}:${server.port}`,
    pve_user: server.user,
    pve_password: server.password,
    pve_token_id: server.token.name,
    pve_token_secret: server.token.secret,
    pve_node: server.node,
    vmid: VMID,
    vm_name: NAME,
    boot_disk: bootDisk,
    result_file: resultFile,
  };
  const varsFile = join(work, `${tag}-vars.json`);
  writeFileSync(varsFile, JSON.stringify(vars), { mode: 0o600 });
  const env = clientEnv();
  try {
    Object.assign(env, {
      ANSIBLE_LOCAL_TEMP: join(env.HOME as string, 'ansible-local'),
      ANSIBLE_REMOTE_TEMP: join(env.HOME as string, 'ansible-remote'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    });
    const r = await runAsync(
      '/usr/bin/ansible-playbook',
      [
        '-i',
        join(CLIENTS_DIR, 'ansible', 'inventory.ini'),
        join(CLIENTS_DIR, 'ansible', 'vm.yml'),
        '--tags',
        tag,
        '--extra-vars',
        `@${varsFile}`,
      ],
      env,
      600_000,
    );
    if (r.code !== 0 || !existsSync(resultFile)) {
      throw new Error(`ansible-playbook --tags ${tag} exited ${r.code}:\n${r.stdout}\n${r.stderr}\n--- server ---\n${server.output()}`);
    }
    return JSON.parse(readFileSync(resultFile, 'utf8')) as Results;
  } finally {
    removeClientEnv(env);
  }
}

function result(results: Results, name: string): ModuleResult {
  const r = results[name];
  if (!r) throw new Error(`task ${name} did not run`);
  expect(r.failed ?? false, `${name}: ${r.msg}`).toBe(false);
  return r;
}

const tokenAuth = () => ({ authorization: `PVEAPIToken=${server.token.fullTokenId}=${server.token.secret}` });

async function apiGet(path: string): Promise<{ status: number; reason: string; data: unknown }> {
  const r = await rawRequest(server, 'GET', `/api2/json${path}`, { headers: tokenAuth() });
  return { status: r.status, reason: r.reason, data: r.body ? (JSON.parse(r.body) as { data: unknown }).data : undefined };
}

describe('Ansible community.general.proxmox_kvm against cvmctl serve', () => {
  let up: Results;
  let down: Results;
  let runningPid: number;

  it('creates the VM once and starts it once', async () => {
    up = await playbook('up');
    const create = result(up, 'create');
    expect(create.changed).toBe(true);
    expect(create.msg).toBe(`VM ${NAME} with vmid ${VMID} deployed`);
    const again = result(up, 'create_again');
    expect(again.changed).toBe(false);
    expect(again.msg).toBe(`VM with vmid <${VMID}> already exists`);
    const started = result(up, 'started');
    expect(started.changed).toBe(true);
    expect(started.msg).toBe(`VM ${VMID} started`);
    expect(started.status).toBe('stopped');
    const startedAgain = result(up, 'started_again');
    expect(startedAgain.changed).toBe(false);
    expect(startedAgain.msg).toBe(`VM ${VMID} is already running`);
  }, 600_000);

  it('left a running VM with the requested config on the server', async () => {
    expect(up).toBeDefined();
    const conf = await apiGet(`/nodes/${server.node}/qemu/${VMID}/config`);
    expect(conf.status).toBe(200);
    expect(conf.data).toMatchObject({ name: NAME, memory: '128', cores: 1, kvm: 0, ostype: 'other', ide0: `${bootDisk},format=raw` });
    const onDisk = readFileSync(join(server.root, 'qemu-server', `${VMID}.conf`), 'utf8');
    expect(onDisk).toMatch(/^name: ansible-vm$/m);
    expect(onDisk).toMatch(/^kvm: 0$/m);
    const status = await apiGet(`/nodes/${server.node}/qemu/${VMID}/status/current`);
    expect(status.data).toMatchObject({ vmid: VMID, status: 'running' });
    runningPid = (status.data as { pid: number }).pid;
    expect(alive(runningPid)).toBe(true);
  });

  it('stops it with force, reads the state with a token, and removes it once', async () => {
    expect(runningPid).toBeGreaterThan(0);
    // the power button is lost while SeaBIOS still boots, as it would be for any OS
    expect(await waitUntilArmed(server.root, VMID)).toBe(true);
    down = await playbook('down');
    const stopped = result(down, 'stopped');
    expect(stopped.changed).toBe(true);
    expect(stopped.status).toBe('running');
    expect(stopped.msg).toBe(`VM ${VMID} is shutting down`);
    const stoppedAgain = result(down, 'stopped_again');
    expect(stoppedAgain.changed).toBe(false);
    expect(stoppedAgain.msg).toBe(`VM ${VMID} is already stopped`);
    const current = result(down, 'current');
    expect(current.changed).toBe(false);
    expect(current.status).toBe('stopped');
    expect(current.msg).toBe(`VM ${NAME} with vmid = ${VMID} is stopped`);
    const absent = result(down, 'absent');
    expect(absent.changed).toBe(true);
    expect(absent.msg).toBe(`VM ${VMID} removed`);
    const absentAgain = result(down, 'absent_again');
    expect(absentAgain.changed).toBe(false);
  }, 600_000);

  it('recorded the shutdown as a task that ended OK (the guest powered off, no forced stop)', async () => {
    expect(down).toBeDefined();
    const tasks = await apiGet(`/nodes/${server.node}/tasks?vmid=${VMID}&limit=100`);
    expect(tasks.status).toBe(200);
    const list = tasks.data as { type: string; id: string; status?: string; user: string }[];
    const types = list.map((t) => t.type);
    for (const type of ['qmcreate', 'qmstart', 'qmshutdown', 'qmdestroy']) expect(types).toContain(type);
    const shutdowns = list.filter((t) => t.type === 'qmshutdown');
    expect(shutdowns.map((t) => [t.id, t.status, t.user])).toEqual([[String(VMID), 'OK', 'root@pam']]);
  });

  it('left no VM behind: no QEMU, no config, not listed', async () => {
    expect(down).toBeDefined();
    expect(alive(runningPid)).toBe(false);
    expect(existsSync(join(server.root, 'qemu-server', `${VMID}.conf`))).toBe(false);
    const resources = await apiGet('/cluster/resources?type=vm');
    expect(resources.status).toBe(200);
    expect((resources.data as { vmid: number }[]).map((r) => r.vmid)).not.toContain(VMID);
    const conf = await apiGet(`/nodes/${server.node}/qemu/${VMID}/config`);
    expect(conf.status).toBe(500);
    expect(conf.reason).toBe(`Configuration file 'nodes/${server.node}/qemu-server/${VMID}.conf' does not exist`);
  });
});
