/**
 * @module api/tls
 * The server's TLS certificate. Given `--cert/--key`, those files are used. Otherwise, like
 * PVE's pve-ssl.pem, a self-signed certificate (EC P-256, 10 years, CN and SAN = node name,
 * localhost, 127.0.0.1, ::1) is created once under `<root>/ssl/` with the `openssl` CLI (run
 * without a shell; Node has no X.509 generator) and reused on every start. The key file is
 * mode 0600; both files are written to temporary names and renamed, so two servers starting at
 * once never see half a key. The SHA-256 fingerprint is what `serve` prints and `GET /nodes`
 * reports as `ssl_fingerprint`.
 */

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CvmError } from '../errors.js';
import { makeDirs } from '../util/mkdirs.js';

const run = promisify(execFile);

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** `AA:BB:…` SHA-256 of the certificate. */
  fingerprint: string;
  certPath: string;
  keyPath: string;
  /** True when this call created the certificate. */
  created: boolean;
}

export function sslPaths(root: string): { dir: string; cert: string; key: string } {
  const dir = join(root, 'ssl');
  return { dir, cert: join(dir, 'pve-ssl.pem'), key: join(dir, 'pve-ssl.key') };
}

async function readPair(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  try {
    return { cert: await readFile(certPath), key: await readFile(keyPath) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CvmError('IO', `unable to read TLS certificate/key - ${(err as Error).message}`);
  }
}

function fingerprintOf(cert: Buffer, what: string): string {
  try {
    return new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new CvmError('PARAM_INVALID', `${what}: not a PEM certificate - ${(err as Error).message}`);
  }
}

async function createSelfSigned(dir: string, certPath: string, keyPath: string, node: string): Promise<void> {
  await makeDirs(dir);
  const tmp = await mkdtemp(join(dir, '.new-'));
  try {
    const tmpKey = join(tmp, 'key.pem');
    const tmpCert = join(tmp, 'cert.pem');
    const san = [`DNS:${node}`, 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1'].join(',');
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        `/OU=cvmctl/CN=${node}`,
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
      ],
      { timeout: 30_000 },
    );
    await chmod(tmpKey, 0o600);
    // key first: a certificate without its key never appears
    await rename(tmpKey, keyPath);
    await rename(tmpCert, certPath);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new CvmError('IO', `unable to create a self-signed certificate with openssl - ${stderr || (err as Error).message}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The certificate to serve: the given files, else the state root's (created if missing). */
export async function loadTls(opts: { root: string; node: string; cert?: string; key?: string }): Promise<TlsMaterial> {
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new CvmError('USAGE', 'cert: --cert and --key must be given together');
  }
  if (opts.cert !== undefined && opts.key !== undefined) {
    const pair = await readPair(opts.cert, opts.key);
    if (!pair) throw new CvmError('IO', `unable to read TLS certificate '${opts.cert}' or key '${opts.key}' - no such file`);
    return { ...pair, fingerprint: fingerprintOf(pair.cert, 'cert'), certPath: opts.cert, keyPath: opts.key, created: false };
  }
  const paths = sslPaths(opts.root);
  let created = false;
  let pair = await readPair(paths.cert, paths.key);
  if (!pair) {
    await createSelfSigned(paths.dir, paths.cert, paths.key, opts.node);
    created = true;
    pair = await readPair(paths.cert, paths.key);
    if (!pair) throw new CvmError('IO', `certificate ${paths.cert} vanished after it was created`);
  }
  return { ...pair, fingerprint: fingerprintOf(pair.cert, 'cert'), certPath: paths.cert, keyPath: paths.key, created };
}
