/**
 * @module test/cluster/etcd-tls
 * Issue 11 point 1, "TLS to etcd (client certs) supported", against a real etcd that serves
 * https only and demands a client certificate signed by its CA (`--client-cert-auth`). The
 * certificates are made here with openssl (a CA, a server certificate for 127.0.0.1, a client
 * certificate). The built CLI initialises a cluster over TLS and creates a VM; the config lands in
 * etcd; `cluster status` answers; `cvmctl serve` on that root lists the VM from its watch-fed copy
 * (the watch stream is a second TLS path); a root that offers no client certificate is refused
 * with one line and writes nothing.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/cluster/etcd-client.js';
import { dataOf, startTestServer } from '../api/helpers.js';
import { freePort } from '../clients/harness.js';
import { waitFor } from '../integration/helpers.js';
import { ETCD_BIN } from './etcd-harness.js';
import { cvmctl } from './run-cli.js';


/** CA, server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`. */
function makeCertificates(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=test etcd CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['server', '127.0.0.1'],
    ['client', 'node-t'],
  ]) {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  }
}

describe('cluster over TLS to etcd with client certificates', () => {
  let base: string;
  let pki: string;
  let root: string;
  let url: string;
  let etcd: ChildProcess | undefined;
  const log: string[] = [];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'cvmctl-etcd-tls-'));
    pki = join(base, 'pki');
    mkdirSync(pki);
    makeCertificates(pki);
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    url = `https://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    etcd = spawn(
      ETCD_BIN,
      [
        '--name', 'tls0',
        '--data-dir', join(base, 'etcd'),
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `tls0=${peer}`,
        '--cert-file', join(pki, 'server.pem'),
        '--key-file', join(pki, 'server-key.pem'),
        '--trusted-ca-file', join(pki, 'ca.pem'),
        '--client-cert-auth',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    etcd.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    // ready when a TLS client with the certificate can write
    const client = tlsClient();
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await client.put('/probe', 'x');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd over TLS did not come up: ${(err as Error).message}\n${log.join('')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    root = join(base, 'root');
    mkdirSync(join(root, 'qemu-server'), { recursive: true });
  }, 60_000);

  afterAll(() => {
    etcd?.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  });

  function tlsClient(): EtcdClient {
    return new EtcdClient([url], {
      tls: { ca: readFileSync(join(pki, 'ca.pem')), cert: readFileSync(join(pki, 'client.pem')), key: readFileSync(join(pki, 'client-key.pem')) },
    });
  }

  const tlsArgs = () => ['--etcd-ca', join(pki, 'ca.pem'), '--etcd-cert', join(pki, 'client.pem'), '--etcd-key', join(pki, 'client-key.pem')];

  it('refuses a root without a client certificate, or trusting another CA, in one line naming the option; writes nothing', async () => {
    const other = join(base, 'nocert');
    mkdirSync(join(other, 'qemu-server'), { recursive: true });
    const cases: [string[], string][] = [
      [['--etcd-ca', join(pki, 'ca.pem')], `etcd ${url}: TLS handshake refused by etcd (`],
      // the client certificate is no CA of the server's certificate
      [['--etcd-ca', join(pki, 'client.pem'), '--etcd-cert', join(pki, 'client.pem'), '--etcd-key', join(pki, 'client-key.pem')], "etcd's server certificate is not trusted ("],
    ];
    for (const [args, text] of cases) {
      const r = await cvmctl(other, 'cluster', 'init', '--etcd', url, '--name', 'lab', '--node', 'node-x', ...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(text);
      expect(r.stderr).toContain(text.includes('handshake') ? 'check --etcd-cert/--etcd-key' : 'check --etcd-ca');
      expect(r.stderr).not.toContain('deps/openssl');
      expect(existsSync(join(other, 'cluster.json'))).toBe(false);
    }
  });

  it('initialises a cluster over TLS; the CLI creates a VM whose config lands in etcd', async () => {
    const init = await cvmctl(root, 'cluster', 'init', '--etcd', url, '--name', 'lab', '--node', 'node-t', ...tlsArgs());
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const membership = JSON.parse(readFileSync(join(root, 'cluster.json'), 'utf8'));
    expect(membership).toMatchObject({ name: 'lab', node: 'node-t', etcd: [url], tls: { ca: join(pki, 'ca.pem') } });

    const create = await cvmctl(root, 'create', '120', '--name', 'over-tls', '--memory', '256');
    expect(create.stderr).toBe('');
    expect(create.code).toBe(0);
    const stored = await tlsClient().get('/cvmctl/lab/nodes/node-t/qemu-server/120.conf');
    expect(stored?.value).toMatch(/^memory: 256\nmeta: .*\nname: over-tls\n/);
    const status = await cvmctl(root, 'cluster', 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ quorate: true });
  });

  it('serve on that root lists the VM from its watch-fed copy and sees a later change through the TLS watch', async () => {
    const server = await startTestServer({ root, node: 'node-t' });
    try {
      const names = async () =>
        dataOf<Record<string, unknown>[]>(await server.call('GET', '/cluster/resources', { query: { type: 'vm' } })).map((v) => [v.vmid, v.name]);
      expect(await names()).toEqual([[120, 'over-tls']]);
      // a change by another process reaches the server's copy through the watch stream
      expect((await cvmctl(root, 'set', '120', '--name', 'renamed')).code).toBe(0);
      const seen = await waitFor(async () => {
        const now = await names();
        return now[0]?.[1] === 'renamed' ? now : undefined;
      }, 10_000, 100);
      expect(seen ?? (await names())).toEqual([[120, 'renamed']]);
    } finally {
      await server.close();
    }
  }, 60_000);
});
