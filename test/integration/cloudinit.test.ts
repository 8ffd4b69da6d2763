/**
 * Cloud-init end to end with real tools: `create … --ide2 local:cloudinit` allocates the volume,
 * `start` (QEMU under TCG) writes the nocloud ISO into it, and the files are read back out of the
 * volume with qemu-img + isoinfo. On the running VM: with `cloudinit` in `hotplug` a change is
 * regenerated and the medium swapped in at once; without it the change is recorded in
 * [special:cloudinit] until `cloudinit update` (CLI) or `PUT …/cloudinit` (API) regenerates it.
 * QEMU's query-block shows the medium inserted again after each swap. The API endpoints are
 * checked with their permissions (an auditor gets the password masked and may not regenerate).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Crypt } from '../../src/util/sha-crypt.js';
import { AUDIT_PASSWORD, dataOf, NODE, startTestServer, type TestServer } from '../api/helpers.js';
import { cliSync, makeTestRoot, QEMU_BINARY, QEMU_IMG, qmpOnce, type TestRoot } from './helpers.js';

const ISOINFO = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v isoinfo'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();
// genisoimage is part of cvmctl's dependencies (scripts/setup.sh): its absence fails the start, it does not skip
const ready = Boolean(QEMU_BINARY && QEMU_IMG);
const VMID = 9533;
const IMAGE = `local:${VMID}/vm-${VMID}-cloudinit.qcow2`;

describe.skipIf(!ready)(`cloud-init drive${ready ? '' : ' (skipped: needs qemu-system-x86_64 and qemu-img)'}`, () => {
  let r: TestRoot;
  let api: TestServer;
  const cli = (...args: string[]) => cliSync(r.root, ...args);
  const ok = (...args: string[]) => {
    const res = cli(...args);
    expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
    return res.stdout;
  };
  const imagePath = () => join(r.root, 'images', String(VMID), `vm-${VMID}-cloudinit.qcow2`);
  const configText = () => readFileSync(join(r.root, 'qemu-server', `${VMID}.conf`), 'utf8');

  /** The ISO in the cloud-init volume: its label and the files, read with qemu-img and isoinfo. */
  const readIso = (files: string[]) => {
    const raw = join(r.root, 'ci-readback.raw');
    execFileSync(QEMU_IMG as string, ['convert', '-U', '-f', 'qcow2', '-O', 'raw', imagePath(), raw]);
    const label = /Volume id: (\S+)/.exec(execFileSync(ISOINFO as string, ['-d', '-i', raw], { encoding: 'utf8' }))?.[1];
    const out: Record<string, string> = {};
    for (const f of files) out[f] = execFileSync(ISOINFO as string, ['-R', '-x', f, '-i', raw], { encoding: 'utf8' });
    return { label, files: out };
  };

  const qmp = <T>(command: string, args?: Record<string, unknown>): Promise<T> => qmpOnce<T>(r.root, VMID, command, args);
  /** The medium QEMU has in ide2 (undefined when the tray is empty). */
  const ide2Medium = async () => {
    const block = await qmp<{ qdev?: string; inserted?: { image: { filename: string } }; tray_open?: boolean }[]>('query-block');
    const dev = block.find((b) => b.qdev === 'ide2');
    // the image sits below the drive's throttle node: its filename is a json: description naming the file
    return { inserted: dev?.inserted?.image.filename.includes(imagePath()) === true, trayOpen: dev?.tray_open };
  };

  beforeAll(async () => {
    expect(ISOINFO, 'isoinfo (Debian package genisoimage) is needed to read the image back').toBeDefined();
    r = makeTestRoot('cvmctl-cloudinit-');
    mkdirSync(join(r.root, 'snip', 'snippets'), { recursive: true });
    writeFileSync(
      join(r.root, 'storage.cfg'),
      `dir: local\n\tpath ${r.root}\n\tcontent images,iso\n\ndir: snip\n\tpath ${join(r.root, 'snip')}\n\tcontent snippets\n`,
    );
    api = await startTestServer({ root: r.root });
  }, 60_000);

  afterAll(async () => {
    if (r) {
      cli('stop', String(VMID));
      await api?.close();
      r.cleanup();
    }
  }, 60_000);

  it('create allocates a 4 MiB qcow2 vm-<vmid>-cloudinit with media=cdrom and refuses a second cloud-init drive', () => {
    ok(
      'create',
      String(VMID),
      '--name',
      'ci-test',
      '--memory',
      '128',
      '--kvm',
      '0',
      '--vga',
      'none',
      '--net0',
      'virtio=BC:24:11:00:95:33',
      '--ide2',
      'local:cloudinit',
      '--ciuser',
      'bob',
      '--cipassword',
      'hunter2',
      '--ipconfig0',
      'ip=192.0.2.10/24,gw=192.0.2.1',
      '--nameserver',
      '192.0.2.53',
      '--searchdomain',
      'example.com',
      '--sshkeys',
      encodeURIComponent('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample bob@laptop\n'),
    );
    expect(configText()).toContain(`\nide2: ${IMAGE},media=cdrom\n`);
    const info = JSON.parse(execFileSync(QEMU_IMG as string, ['info', '--output=json', imagePath()], { encoding: 'utf8' }));
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(4 * 1024 * 1024);

    const second = cli('set', String(VMID), '--sata1', 'local:cloudinit');
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain("sata1 - cloud-init drive is already attached at 'ide2'");
    expect(existsSync(join(r.root, 'images', String(VMID)))).toBe(true);
  });

  it('start writes the nocloud ISO (label cidata) that `cloudinit dump` describes', async () => {
    const start = cli('start', String(VMID), '--json');
    expect(start.code, start.stderr).toBe(0);
    r.track((JSON.parse(start.stdout) as { pid: number }).pid);
    const iso = readIso(['/user-data', '/network-config', '/meta-data', '/vendor-data']);
    expect(iso.label).toBe('cidata');
    const user = iso.files['/user-data'] as string;
    const network = iso.files['/network-config'] as string;
    expect(user).toMatch(
      /^#cloud-config\nhostname: ci-test\nmanage_etc_hosts: true\nfqdn: ci-test\.example\.com\nuser: bob\npassword: (\S+)\n/,
    );
    const hash = /password: (\S+)/.exec(user)?.[1] as string;
    expect(sha256Crypt('hunter2', hash)).toBe(hash);
    expect(user).toContain('ssh_authorized_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample bob@laptop\n');
    expect(network).toContain(
      "      mac_address: 'bc:24:11:00:95:33'\n      subnets:\n      - type: static\n        address: '192.0.2.10'\n        netmask: '255.255.255.0'\n        gateway: '192.0.2.1'\n",
    );
    expect(network).toContain("    - type: nameserver\n      address:\n      - '192.0.2.53'\n      search:\n      - 'example.com'\n");
    expect(iso.files['/meta-data']).toBe(
      `instance-id: ${createHash('sha1')
        .update(user + network)
        .digest('hex')}\n`,
    );
    expect(iso.files['/vendor-data']).toBe('');
    expect(ok('cloudinit', 'dump', String(VMID), 'user')).toBe(`${user}\n`);
    expect(ok('cloudinit', 'dump', String(VMID), 'network')).toBe(`${network}\n`);
    expect(ok('cloudinit', 'dump', String(VMID), 'meta')).toBe(`${iso.files['/meta-data']}\n`);
    expect((await ide2Medium()).inserted).toBe(true);
  }, 120_000);

  it('with cloudinit in hotplug, a change regenerates the image and the medium is back in the drive', async () => {
    ok('set', String(VMID), '--hotplug', 'network,disk,cloudinit');
    ok('set', String(VMID), '--ciuser', 'alice');
    expect(readIso(['/user-data']).files['/user-data']).toContain('\nuser: alice\n');
    expect(configText()).not.toContain('[special:cloudinit]');
    expect(await ide2Medium()).toEqual({ inserted: true, trayOpen: false });
  }, 120_000);

  it('without it, changes are recorded in [special:cloudinit] and shown as pending until `cloudinit update`', async () => {
    ok('set', String(VMID), '--hotplug', 'network,disk');
    ok('set', String(VMID), '--searchdomain', 'other.example', '--delete', 'nameserver');
    expect(configText()).toMatch(/\[special:cloudinit\]\nnameserver: 192\.0\.2\.53\nsearchdomain: example\.com\n/);
    const rows = JSON.parse(ok('cloudinit', 'pending', String(VMID), '--json'));
    expect(rows).toContainEqual({ key: 'searchdomain', value: 'example.com', pending: 'other.example' });
    expect(rows).toContainEqual({ key: 'nameserver', delete: 1 });
    expect(ok('cloudinit', 'pending', String(VMID))).toContain('cur searchdomain: example.com\nnew searchdomain: other.example\n');
    expect(readIso(['/user-data']).files['/user-data']).toContain('fqdn: ci-test.example.com\n');

    ok('cloudinit', 'update', String(VMID));
    expect(readIso(['/user-data']).files['/user-data']).toContain('fqdn: ci-test.other.example\n');
    expect(configText()).not.toContain('[special:cloudinit]');
    expect(await ide2Medium()).toEqual({ inserted: true, trayOpen: false });
  }, 120_000);

  it('API: GET …/cloudinit lists pending rows, PUT regenerates (VM.Config.Cloudinit), dump masks the password for an auditor', async () => {
    const base = `/nodes/${NODE}/qemu/${VMID}/cloudinit`;
    writeFileSync(join(r.root, 'snip', 'snippets', 'user.yaml'), '#cloud-config\nruncmd: [echo snippet]\n');
    ok('set', String(VMID), '--cicustom', 'user=snip:snippets/user.yaml', '--ciuser', 'carol');
    const pending = dataOf<Record<string, unknown>[]>(await api.call('GET', base));
    expect(pending).toContainEqual({ key: 'ciuser', value: 'alice', pending: 'carol' });
    expect(pending).toContainEqual({ key: 'cicustom', pending: 'user=snip:snippets/user.yaml' });
    expect(pending).toContainEqual({ key: 'cipassword', value: '**********' });

    const auditor = await api.login('audit@pve', AUDIT_PASSWORD);
    const masked = dataOf<string>(await api.call('GET', `${base}/dump`, { query: { type: 'user' }, as: auditor }));
    expect(masked).toContain('\nuser: carol\npassword: **********\n');
    const full = dataOf<string>(await api.call('GET', `${base}/dump`, { query: { type: 'user' } }));
    expect(full).toMatch(/\npassword: \$5\$/);
    const badType = await api.call('GET', `${base}/dump`, { query: { type: 'vendor' } });
    expect(badType.status).toBe(400);
    expect((await api.call('PUT', base, { as: auditor })).status).toBe(403);

    const put = await api.call('PUT', base);
    expect(put.status, put.text).toBe(200);
    expect(put.body?.data).toBeNull();
    // the snippet replaces the generated user data; the meta data follows it
    const iso = readIso(['/user-data', '/network-config', '/meta-data']);
    expect(iso.files['/user-data']).toBe('#cloud-config\nruncmd: [echo snippet]\n');
    const network = iso.files['/network-config'] as string;
    expect(iso.files['/meta-data']).toBe(
      `instance-id: ${createHash('sha1')
        .update(iso.files['/user-data'] + network)
        .digest('hex')}\n`,
    );
    expect(
      dataOf<unknown[]>(await api.call('GET', base)).filter((row) => 'pending' in (row as object) || 'delete' in (row as object)),
    ).toEqual([]);
    expect(await ide2Medium()).toEqual({ inserted: true, trayOpen: false });
  }, 120_000);

  it('on the running VM, ejecting the cloud-init drive frees its image and a new one is generated and inserted (API, PVEVMUser)', async () => {
    // PVEVMUser has VM.Config.CDROM and VM.Config.Cloudinit but not VM.Config.Disk: enough for a cloud-init drive
    await api.addUser('vmuser@pve', 'vmuser-secret', { [`/vms/${VMID}`]: ['PVEVMUser'] });
    const vmuser = await api.login('vmuser@pve', 'vmuser-secret');
    const config = `/nodes/${NODE}/qemu/${VMID}/config`;
    const eject = await api.call('PUT', config, { form: { ide2: 'none,media=cdrom' }, as: vmuser });
    expect(eject.status, eject.text).toBe(200);
    expect(configText()).toContain('\nide2: none,media=cdrom\n');
    expect(existsSync(imagePath())).toBe(false);
    expect((await ide2Medium()).inserted).toBe(false);

    expect((await api.call('PUT', config, { form: { scsi1: 'local:1' }, as: vmuser })).status).toBe(403);
    const add = await api.call('PUT', config, { form: { ide2: 'local:cloudinit' }, as: vmuser });
    expect(add.status, add.text).toBe(200);
    expect(configText()).toContain(`\nide2: ${IMAGE},media=cdrom\n`);
    expect(configText()).not.toContain('[PENDING]');
    expect(readIso(['/user-data']).files['/user-data']).toBe('#cloud-config\nruncmd: [echo snippet]\n');
    expect(await ide2Medium()).toEqual({ inserted: true, trayOpen: false });
  }, 120_000);

  it('on the stopped VM, a new cloud-init drive is generated at once (configdrive2 here); delete and destroy free it', () => {
    ok('stop', String(VMID));
    ok('set', String(VMID), '--delete', 'ide2,cicustom');
    expect(existsSync(imagePath())).toBe(false);
    expect(configText()).not.toContain('cloudinit');

    ok('set', String(VMID), '--sata0', 'local:cloudinit', '--citype', 'configdrive2');
    const sataImage = imagePath();
    const iso = readIso(['/openstack/latest/user_data', '/openstack/content/0000']);
    expect(iso.label).toBe('config-2');
    expect(iso.files['/openstack/latest/user_data']).toContain('\nuser: carol\n');
    expect(iso.files['/openstack/content/0000']).toContain('auto eth0\niface eth0 inet static\n        address 192.0.2.10\n');
    ok('destroy', String(VMID));
    expect(existsSync(sataImage)).toBe(false);
  }, 120_000);
});
