/**
 * Migration of stopped VMs between real `cvmctl serve` nodes (three cluster roots over a real
 * 3-member etcd, loopback, port 0): local qcow2/raw volumes (real qemu-img/qemu-io data) arrive
 * byte for byte on the target and leave the source only after the ownership moved; a volume on
 * a `shared` storage stays; refusals (local disks without with-local-disks, a running VM with
 * and without online, unknown/local/offline targets) change nothing; a copy failing on the
 * target and a target killed mid-copy leave the source intact and no copies behind (the killed
 * target removes its temporary file when it starts again); the CLI
 * migrates with progress lines and --json; GET …/migrate answers the preconditions.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { clusterKeys } from '../../src/cluster/etcd-store.js';
import { migrateVm } from '../../src/cluster/migrate.js';
import { cvmctl } from '../clients/harness.js';
import { waitFor } from '../integration/helpers.js';
import { EtcdCluster } from './etcd-harness.js';
import { type ClusterRoot, makeClusterRoot, type ServeNode, startServe } from './serve-harness.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });
const qemuIo = (...args: string[]) => execFileSync('qemu-io', args, { encoding: 'utf8' });
/** Poll every 100 ms until `fn` gives a value (undefined after `timeoutMs`). */
const until = <T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number) => waitFor(fn, timeoutMs, 100);

describe('migration of stopped VMs between cluster nodes', () => {
  let etcd: EtcdCluster;
  let client: EtcdClient;
  let base: string;
  const roots: Record<string, ClusterRoot> = {};
  const nodes: Record<string, ServeNode> = {};
  const keys = clusterKeys('lab');
  const img = (node: string, vmid: number, name: string) => join(roots[node]?.root as string, 'images', String(vmid), name);

  const storageCfg = (root: string) =>
    [
      `dir: local\n\tpath ${root}\n\tcontent images,iso\n`,
      `dir: shared\n\tpath ${base}/shared\n\tcontent images\n\tshared 1\n`,
      `dir: xdata\n\tpath ${root}/xdata\n\tcontent images\n`,
    ].join('\n');

  beforeAll(async () => {
    etcd = await EtcdCluster.start(3);
    client = new EtcdClient(etcd.endpoints);
    base = mkdtempSync(join(tmpdir(), 'cvmctl-migrate-'));
    mkdirSync(join(base, 'shared', 'images', '101'), { recursive: true });
    roots.a = await makeClusterRoot(base, 'node-a', etcd.endpoints, {
      init: true,
      storageCfg: storageCfg(join(base, 'node-a')),
      prepare: (root) => {
        const conf = (vmid: number, text: string) => writeFileSync(join(root, 'qemu-server', `${vmid}.conf`), text);
        const dir = (vmid: number) => {
          mkdirSync(join(root, 'images', String(vmid)), { recursive: true });
          return join(root, 'images', String(vmid));
        };
        // 100: an attached qcow2 with data and an unused raw volume
        qemuImg('create', '-q', '-f', 'qcow2', join(dir(100), 'vm-100-disk-0.qcow2'), '64M');
        qemuIo('-f', 'qcow2', '-c', 'write -P 0xab 0 8M', '-c', 'write -P 0x5c 32M 1M', join(dir(100), 'vm-100-disk-0.qcow2'));
        writeFileSync(join(dir(100), 'vm-100-disk-1.raw'), randomBytes(1 << 20));
        // a thin raw volume: 64 MiB long, 1 MiB of data in the middle, the rest holes
        const thin = join(dir(100), 'vm-100-disk-2.raw');
        writeFileSync(thin, '');
        truncateSync(thin, 64 << 20);
        const thinFd = openSync(thin, 'r+');
        writeSync(thinFd, randomBytes(1 << 20), 0, 1 << 20, 16 << 20);
        closeSync(thinFd);
        conf(
          100,
          'name: local-disks\nmemory: 64\nscsi0: local:100/vm-100-disk-0.qcow2,size=64M\nunused0: local:100/vm-100-disk-1.raw\nunused1: local:100/vm-100-disk-2.raw\n',
        );
        // 101: on the shared storage
        writeFileSync(join(base, 'shared', 'images', '101', 'vm-101-disk-0.raw'), randomBytes(4 << 20));
        conf(101, 'name: on-shared\nscsi0: shared:101/vm-101-disk-0.raw,size=4M\n');
        // 102: local disk, for the refusal and the preconditions
        qemuImg('create', '-q', '-f', 'qcow2', join(dir(102), 'vm-102-disk-0.qcow2'), '16M');
        conf(102, 'name: needs-flag\nscsi0: local:102/vm-102-disk-0.qcow2,size=16M\n');
        // 103: runs (TCG, no disks)
        conf(103, 'name: runs\nmemory: 64\nkvm: 0\nvga: none\n');
        // 104: the second volume cannot be written on node-c
        qemuImg('create', '-q', '-f', 'qcow2', join(dir(104), 'vm-104-disk-0.qcow2'), '16M');
        mkdirSync(join(root, 'xdata', 'images', '104'), { recursive: true });
        writeFileSync(join(root, 'xdata', 'images', '104', 'vm-104-disk-1.raw'), randomBytes(1 << 20));
        conf(104, 'name: half\nscsi0: local:104/vm-104-disk-0.qcow2,size=16M\nscsi1: xdata:104/vm-104-disk-1.raw,size=1M\n');
        // 105: a big raw volume, the target is killed while it arrives
        const fd = openSync(join(dir(105), 'vm-105-disk-0.raw'), 'w');
        for (let i = 0; i < 256; i++) writeSync(fd, randomBytes(1 << 20));
        closeSync(fd);
        conf(105, 'name: big\nscsi0: local:105/vm-105-disk-0.raw,size=256M\n');
        // 106: for the CLI
        qemuImg('create', '-q', '-f', 'qcow2', join(dir(106), 'vm-106-disk-0.qcow2'), '16M');
        qemuIo('-f', 'qcow2', '-c', 'write -P 0x42 0 2M', join(dir(106), 'vm-106-disk-0.qcow2'));
        conf(106, 'name: by-cli\nscsi0: local:106/vm-106-disk-0.qcow2,size=16M\n');
        // 107: sent in 1 MiB chunks
        qemuImg('create', '-q', '-f', 'qcow2', join(dir(107), 'vm-107-disk-0.qcow2'), '16M');
        qemuIo('-f', 'qcow2', '-c', 'write -P 0x17 0 3M', join(dir(107), 'vm-107-disk-0.qcow2'));
        conf(107, 'name: chunked\nscsi0: local:107/vm-107-disk-0.qcow2,size=16M\n');
        // 108: 1 GiB sparse volumes with 1 MiB written each: a thin raw one and a qcow2 with preallocated metadata
        const sparseRaw = join(dir(108), 'vm-108-disk-0.raw');
        qemuImg('create', '-q', '-f', 'raw', sparseRaw, '1G');
        qemuIo('-f', 'raw', '-c', 'write -P 0x3c 300M 1M', sparseRaw);
        const sparseQcow2 = join(dir(108), 'vm-108-disk-1.qcow2');
        qemuImg('create', '-q', '-f', 'qcow2', '-o', 'preallocation=metadata', sparseQcow2, '1G');
        qemuIo('-f', 'qcow2', '-c', 'write -P 0xc3 700M 1M', sparseQcow2);
        conf(108, 'name: sparse\nscsi0: local:108/vm-108-disk-0.raw,size=1G\nscsi1: local:108/vm-108-disk-1.qcow2,size=1G\n');
      },
    });
    roots.b = await makeClusterRoot(base, 'node-b', etcd.endpoints, { storageCfg: storageCfg(join(base, 'node-b')), token: roots.a.token });
    roots.c = await makeClusterRoot(base, 'node-c', etcd.endpoints, {
      storageCfg: storageCfg(join(base, 'node-c')),
      token: roots.a.token,
      // node-c's xdata path is a file: any volume written there fails
      prepare: (root) => writeFileSync(join(root, 'xdata'), 'not a directory\n'),
    });
    nodes.a = await startServe(roots.a);
    nodes.b = await startServe(roots.b);
  }, 120_000);

  afterAll(async () => {
    await nodes.a?.call('POST', '/nodes/node-a/qemu/103/status/stop').catch(() => undefined);
    for (const n of Object.values(nodes)) await n.stop();
    await etcd?.stop();
    rmSync(base, { recursive: true, force: true });
  }, 60_000);

  const owner = async (vmid: number) => (await client.get(keys.vmid(vmid)))?.value;
  const configOn = async (node: string, vmid: number) => (await client.get(keys.config(node, vmid)))?.value;

  it('refuses unknown, local and offline targets, changing nothing', async () => {
    const a = nodes.a as ServeNode;
    const before = await configOn('node-a', 102);
    const unknown = await a.call('POST', '/nodes/node-a/qemu/102/migrate', { target: 'node-x', 'with-local-disks': 1 });
    expect([unknown.status, unknown.message]).toEqual([500, "no such cluster node 'node-x'"]);
    const local = await a.call('POST', '/nodes/node-a/qemu/102/migrate', { target: 'node-a', 'with-local-disks': 1 });
    expect([local.status, local.errors]).toEqual([400, { target: 'target is local node.' }]);
    const offline = await a.call('POST', '/nodes/node-a/qemu/102/migrate', { target: 'node-c', 'with-local-disks': 1 });
    expect([offline.status, offline.message]).toEqual([500, "node 'node-c' seems to be offline"]);
    expect(await configOn('node-a', 102)).toBe(before);
    expect(await owner(102)).toBe('node-a');
  });

  it('refuses a VM with local disks without with-local-disks (qemu-server text)', async () => {
    const r = await (nodes.a as ServeNode).call('POST', '/nodes/node-a/qemu/102/migrate', { target: 'node-b' });
    expect(r.status).toBe(500);
    expect(r.message).toBe(
      "can't migrate local disk 'local:102/vm-102-disk-0.qcow2': can't migrate attached local disks without with-local-disks option",
    );
    expect(await owner(102)).toBe('node-a');
    expect(existsSync(img('a', 102, 'vm-102-disk-0.qcow2'))).toBe(true);
  });

  it('GET …/migrate answers the preconditions', async () => {
    const r = await (nodes.a as ServeNode).call('GET', '/nodes/node-a/qemu/102/migrate');
    expect(r.status).toBe(200);
    expect(r.data).toEqual({
      running: 0,
      allowed_nodes: ['node-b'],
      not_allowed_nodes: { 'node-c': { offline: 1 } },
      local_disks: [{ volid: 'local:102/vm-102-disk-0.qcow2', size: 16 * 1024 * 1024, is_unused: 0, drivename: 'scsi0' }],
      local_resources: [],
      'mapped-resources': [],
      'mapped-resource-info': {},
      'has-dbus-vmstate': 0,
    });
  });

  it('copies local volumes byte for byte, moves ownership in one step, then removes the source copies', async () => {
    const srcDisk = img('a', 100, 'vm-100-disk-0.qcow2');
    const srcUnused = img('a', 100, 'vm-100-disk-1.raw');
    const srcThin = img('a', 100, 'vm-100-disk-2.raw');
    const sums = { disk: sha256(srcDisk), unused: sha256(srcUnused), thin: sha256(srcThin) };
    const text = await configOn('node-a', 100);
    const t = await (nodes.a as ServeNode).task('POST', '/nodes/node-a/qemu/100/migrate', { target: 'node-b', 'with-local-disks': 1 });
    expect(t.exitstatus, t.log.join('\n')).toBe('OK');
    expect(t.log[0]).toBe("starting migration of VM 100 to node 'node-b' (127.0.0.1)");
    expect(t.log).toContain("found local disk 'local:100/vm-100-disk-0.qcow2' (attached)");
    expect(t.log).toContain("found local disk 'local:100/vm-100-disk-1.raw' (unused)");
    expect(t.log).toContain('copying local disk images');
    expect(t.log.some((l) => /^transferred .* of .* \(100\.00%\)$/.test(l))).toBe(true);
    expect(t.log).toContain("volume 'local:100/vm-100-disk-0.qcow2' is 'local:100/vm-100-disk-0.qcow2' on the target");
    expect(t.log.some((l) => /^migration finished successfully \(duration \d\d:\d\d:\d\d\)$/.test(l))).toBe(true);
    // ownership: the exact text under the target's key, id owner moved, nothing left on the source
    expect(await configOn('node-b', 100)).toBe(text);
    expect(await configOn('node-a', 100)).toBeUndefined();
    expect(await owner(100)).toBe('node-b');
    expect((await client.range(`${keys.prefix}transfers/`, { prefix: true })).kvs).toEqual([]);
    // bytes arrived, readable as the image they were; the source copies are gone
    expect(sha256(img('b', 100, 'vm-100-disk-0.qcow2'))).toBe(sums.disk);
    expect(sha256(img('b', 100, 'vm-100-disk-1.raw'))).toBe(sums.unused);
    // the thin volume stays thin: its 63 MiB of zeros arrive as holes, not allocated blocks
    expect(sha256(img('b', 100, 'vm-100-disk-2.raw'))).toBe(sums.thin);
    const thin = statSync(img('b', 100, 'vm-100-disk-2.raw'));
    expect(thin.size).toBe(64 << 20);
    expect(thin.blocks * 512).toBeLessThan(4 << 20);
    expect(qemuIo('-f', 'qcow2', '-c', 'read -P 0xab 0 8M', '-c', 'read -P 0x5c 32M 1M', img('b', 100, 'vm-100-disk-0.qcow2'))).not.toMatch(
      /Pattern verification failed/,
    );
    expect(existsSync(srcDisk)).toBe(false);
    expect(existsSync(srcUnused)).toBe(false);
    expect(readdirSync(join(roots.b?.root as string, 'images', '100')).sort()).toEqual(['vm-100-disk-0.qcow2', 'vm-100-disk-1.raw', 'vm-100-disk-2.raw']);
    // node-b's API serves the VM now; node-a's no longer has it
    const cfg = await (nodes.b as ServeNode).call('GET', '/nodes/node-b/qemu/100/config');
    expect((cfg.data as Record<string, string>).scsi0).toBe('local:100/vm-100-disk-0.qcow2,size=64M');
    expect((await (nodes.a as ServeNode).call('GET', '/nodes/node-a/qemu/100/config')).status).toBe(500);
  });

  it('keeps a volume on a shared storage where it is (no with-local-disks needed)', async () => {
    const vol = join(base, 'shared', 'images', '101', 'vm-101-disk-0.raw');
    const before = { sum: sha256(vol), ino: statSync(vol).ino };
    const t = await (nodes.a as ServeNode).task('POST', '/nodes/node-a/qemu/101/migrate', { target: 'node-b' });
    expect(t.exitstatus, t.log.join('\n')).toBe('OK');
    expect(t.log.some((l) => l.startsWith('found local disk'))).toBe(false);
    expect(t.log).not.toContain('copying local disk images');
    expect(await owner(101)).toBe('node-b');
    expect({ sum: sha256(vol), ino: statSync(vol).ino }).toEqual(before);
    expect(existsSync(join(roots.b?.root as string, 'images', '101'))).toBe(false);
  });

  it('refuses a running VM: without online, and with online (no live migration)', async () => {
    const a = nodes.a as ServeNode;
    const start = await a.task('POST', '/nodes/node-a/qemu/103/status/start', {}, 60_000);
    expect(start.exitstatus, start.log.join('\n')).toBe('OK');
    try {
      const plain = await a.call('POST', '/nodes/node-a/qemu/103/migrate', { target: 'node-b' });
      expect([plain.status, plain.message]).toEqual([500, "can't migrate running VM without --online"]);
      const online = await a.call('POST', '/nodes/node-a/qemu/103/migrate', { target: 'node-b', online: 1 });
      expect([online.status, online.message]).toEqual([
        500,
        'online migration of a running VM is not supported by cvmctl - shut VM 103 down and migrate it offline',
      ]);
      const pre = await a.call('GET', '/nodes/node-a/qemu/103/migrate');
      expect((pre.data as { running: number }).running).toBe(1);
      const cli = cvmctl(roots.a?.root as string, ['migrate', '103', 'node-b', '--online']);
      expect([cli.code, cli.stderr.trim()]).toEqual([
        1,
        'online migration of a running VM is not supported by cvmctl - shut VM 103 down and migrate it offline',
      ]);
      expect(await owner(103)).toBe('node-a');
    } finally {
      const stop = await a.task('POST', '/nodes/node-a/qemu/103/status/stop', {}, 60_000);
      expect(stop.exitstatus).toBe('OK');
    }
  });

  it('a copy failing on the target leaves the source intact and removes the copies already made', async () => {
    nodes.c = await startServe(roots.c as ClusterRoot);
    const sums = [
      sha256(img('a', 104, 'vm-104-disk-0.qcow2')),
      sha256(join(roots.a?.root as string, 'xdata', 'images', '104', 'vm-104-disk-1.raw')),
    ];
    const text = await configOn('node-a', 104);
    const t = await (nodes.a as ServeNode).task('POST', '/nodes/node-a/qemu/104/migrate', { target: 'node-c', 'with-local-disks': 1 });
    expect(t.exitstatus).toMatch(/^storage migration for 'xdata:104\/vm-104-disk-1\.raw' to storage 'xdata' failed - /);
    // the first volume had arrived ...
    expect(t.log).toContain("volume 'local:104/vm-104-disk-0.qcow2' is 'local:104/vm-104-disk-0.qcow2' on the target");
    expect(t.log.some((l) => l.startsWith('migration aborted (duration '))).toBe(true);
    // ... and is removed by node-c once the transfer record is gone without the VM being its own
    expect(await until(() => (existsSync(join(roots.c?.root as string, 'images', '104')) ? undefined : true), 10_000)).toBe(true);
    expect(await configOn('node-a', 104)).toBe(text);
    expect(await configOn('node-c', 104)).toBeUndefined();
    expect(await owner(104)).toBe('node-a');
    expect([
      sha256(img('a', 104, 'vm-104-disk-0.qcow2')),
      sha256(join(roots.a?.root as string, 'xdata', 'images', '104', 'vm-104-disk-1.raw')),
    ]).toEqual(sums);
  }, 60_000);

  it('a target killed mid-copy leaves the source intact and its lock free', async () => {
    const src = img('a', 105, 'vm-105-disk-0.raw');
    const sum = sha256(src);
    const a = nodes.a as ServeNode;
    const upid = await a.call('POST', '/nodes/node-a/qemu/105/migrate', { target: 'node-c', 'with-local-disks': 1 });
    expect(upid.status).toBe(200);
    const dir = join(roots.c?.root as string, 'images', '105');
    // kill node-c as soon as its temporary file exists (the copy is under way)
    const seen = await until(() => (existsSync(dir) && readdirSync(dir).some((n) => n.startsWith('.migrate-')) ? true : undefined), 60_000);
    await (nodes.c as ServeNode).kill();
    expect(seen).toBe(true);
    const status = await until(async () => {
      const st = await a.call('GET', `/nodes/node-a/tasks/${encodeURIComponent(upid.data as string)}/status`);
      const d = st.data as { status: string; exitstatus?: string };
      return d.status === 'stopped' ? d.exitstatus : undefined;
    }, 60_000);
    expect(status).toMatch(/^storage migration for 'local:105\/vm-105-disk-0\.raw' to storage 'local' failed - /);
    expect(sha256(src)).toBe(sum);
    expect(await owner(105)).toBe('node-a');
    expect(await configOn('node-c', 105)).toBeUndefined();
    // the VM lock was released: a config change on the source goes through at once
    const set = await a.call('PUT', '/nodes/node-a/qemu/105/config', { description: 'still here' });
    expect(set.status, set.message).toBe(200);
    expect(await configOn('node-a', 105)).toContain('#still here');
    // the killed target left its temporary file; its next start removes it (the transfer is gone)
    expect(readdirSync(dir).filter((n) => n.startsWith('.migrate-'))).toHaveLength(1);
    const c = await startServe(roots.c as ClusterRoot);
    nodes.c = c;
    // the line is printed just after the removal: wait for both
    const swept = /removed '.*\/images\/105\/\.migrate-[0-9a-f]{16}-vm-105-disk-0\.raw' left by an unfinished migration/;
    expect(await until(() => (existsSync(dir) || !swept.test(c.output()) ? undefined : true), 15_000)).toBe(true);
    expect(existsSync(dir)).toBe(false);
    expect(c.output()).toMatch(swept);
  }, 120_000);

  it('cvmctl migrate: --json result, and the task-log lines with progress when migrating back', async () => {
    const sum = sha256(img('a', 106, 'vm-106-disk-0.qcow2'));
    const json = cvmctl(roots.a?.root as string, ['migrate', '106', 'node-b', '--with-local-disks', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const res = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(res).toMatchObject({
      vmid: 106,
      source: 'node-a',
      target: 'node-b',
      volumes: [{ volid: 'local:106/vm-106-disk-0.qcow2', shared: false }],
    });
    expect((res.volumes as { bytes: number }[])[0]?.bytes).toBe(statSync(img('b', 106, 'vm-106-disk-0.qcow2')).size);
    expect(sha256(img('b', 106, 'vm-106-disk-0.qcow2'))).toBe(sum);
    expect(existsSync(img('a', 106, 'vm-106-disk-0.qcow2'))).toBe(false);
    // and back, from node-b's root, as text
    const back = cvmctl(roots.b?.root as string, ['migrate', '106', 'node-a', '--with-local-disks']);
    expect(back.code, back.stderr).toBe(0);
    const lines = back.stdout.trim().split('\n');
    expect(lines[0]).toBe("starting migration of VM 106 to node 'node-a' (127.0.0.1)");
    expect(lines).toContain("found local disk 'local:106/vm-106-disk-0.qcow2' (attached)");
    expect(lines.some((l) => /^transferred [\d.]+ [KMG]iB of [\d.]+ [KMG]iB \(100\.00%\)$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^migration finished successfully \(duration \d\d:\d\d:\d\d\)$/);
    expect(sha256(img('a', 106, 'vm-106-disk-0.qcow2'))).toBe(sum);
    expect(await owner(106)).toBe('node-a');
    const nope = cvmctl(roots.b?.root as string, ['migrate', '106', 'node-a']);
    expect([nope.code, nope.stderr.trim()]).toEqual([1, "Configuration file 'nodes/node-b/qemu-server/106.conf' does not exist"]);
  }, 60_000);

  it('a volume larger than one transfer request goes in ordered chunks, each verified', async () => {
    const src = img('a', 107, 'vm-107-disk-0.qcow2');
    const sum = sha256(src);
    const size = statSync(src).size;
    expect(size).toBeGreaterThan(3 << 20);
    const lines: string[] = [];
    const res = await migrateVm({
      root: roots.a?.root as string,
      vmid: 107,
      target: 'node-b',
      withLocalDisks: true,
      chunkBytes: 1 << 20,
      log: (l) => lines.push(l),
    });
    expect(res.volumes).toEqual([{ volid: 'local:107/vm-107-disk-0.qcow2', shared: false, bytes: size }]);
    expect(sha256(img('b', 107, 'vm-107-disk-0.qcow2'))).toBe(sum);
    expect(readdirSync(join(roots.b?.root as string, 'images', '107'))).toEqual(['vm-107-disk-0.qcow2']);
    expect(existsSync(src)).toBe(false);
    // progress across the chunks: every 10 % once, then the end
    const progress = lines.filter((l) => l.startsWith('transferred '));
    expect(progress.length).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)).toMatch(/\(100\.00%\)$/);
    expect(await owner(107)).toBe('node-b');
  }, 60_000);

  it('sends a sparse volume as its allocated extents: 1 GiB volumes with 1 MiB written cost < 5 MiB on the wire', async () => {
    const names = ['vm-108-disk-0.raw', 'vm-108-disk-1.qcow2'];
    // reference copies (sparse, as the originals) to compare with once the originals are gone
    const ref = join(base, 'ref-108');
    mkdirSync(ref);
    for (const n of names) execFileSync('cp', ['--sparse=always', img('a', 108, n), join(ref, n)]);
    const modes = names.map((n) => statSync(img('a', 108, n)).mode & 0o777);
    // what the target process reads (its sockets included) while it receives, from the kernel's count
    const b = nodes.b as ServeNode;
    const rchar = () => Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${b.child.pid}/io`, 'utf8'))?.[1]);
    const before = rchar();
    const t = await (nodes.a as ServeNode).task('POST', '/nodes/node-a/qemu/108/migrate', { target: 'node-b', 'with-local-disks': 1 });
    const read = rchar() - before;
    expect(t.exitstatus, t.log.join('\n')).toBe('OK');
    expect(read).toBeGreaterThan(2 << 20); // the 2 MiB of data did arrive
    expect(read).toBeLessThan(5 << 20);
    // the task log says what went over the wire per volume
    for (const n of names) {
      const sent = t.log.find((l) => l.startsWith(`'local:108/${n}': sent `));
      expect(sent, t.log.join('\n')).toMatch(
        /^'[^']+': sent \d+\.\d\d [KM]iB over the wire for \d+\.\d\d GiB \(\d+\.\d\d [KMG]iB of holes not sent\)$/,
      );
    }
    for (const [i, n] of names.entries()) {
      const got = img('b', 108, n);
      // byte for byte the same file, the same image, still sparse, and the mode a local qemu-img create gives
      expect(qemuImg('compare', '-q', '-f', 'raw', '-F', 'raw', join(ref, n), got)).toBe('');
      if (n.endsWith('.qcow2')) expect(qemuImg('compare', '-q', '-f', 'qcow2', '-F', 'qcow2', join(ref, n), got)).toBe('');
      const st = statSync(got);
      expect(st.size).toBe(statSync(join(ref, n)).size);
      expect(st.blocks * 512).toBeLessThan(4 << 20);
      expect(st.mode & 0o777).toBe(modes[i]);
    }
    expect(existsSync(img('a', 108, names[0] as string))).toBe(false);
    expect(await owner(108)).toBe('node-b');
  }, 120_000);
});
