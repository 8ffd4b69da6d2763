/**
 * @module cli/commands/serve
 * `cvmctl serve`: the Proxmox VE compatible REST API over HTTPS (default 0.0.0.0:8006, node
 * name `hostname -s`), backed by the same state root, store and locks as the CLI. Without
 * `--cert/--key` it creates a self-signed certificate once under the root and reuses it; the
 * start-up lines name the URL, the certificate and its SHA-256 fingerprint. Requests are
 * logged one per line on stderr. SIGTERM/SIGINT stop accepting, give running tasks a grace
 * period and mark the rest failed before exiting.
 */

import { hostname } from 'node:os';
import type { Command } from 'commander';
import { CvmError } from '../../errors.js';
import { resolveRoot } from '../../store/root.js';
import { quotedValue } from '../../store/quote.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[IPV6]:PORT`, `:PORT` or `HOST` (port 8006). */
export function parseListen(text: string): ListenAddress {
  const allowed = 'allowed: HOST:PORT, [IPV6]:PORT or :PORT with a port from 0 to 65535';
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*))(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[3] === undefined ? 8006 : Number(m[3]);
  if (!m || port > 65535 || (m[1] === undefined && m[2] === '' && m[3] === undefined)) {
    throw new CvmError('PARAM_INVALID', `listen: invalid value ${quotedValue(text)} (${allowed})`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** `hostname -s`: the host name up to the first dot. */
export function shortHostname(): string {
  return hostname().split('.')[0] || 'localhost';
}

function parseDelay(text: string): number {
  if (!/^\d{1,6}$/.test(text))
    throw new CvmError('PARAM_INVALID', `auth-failure-delay: invalid value ${quotedValue(text)} (allowed: 0 - 999999 ms)`);
  return Number(text);
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the Proxmox VE compatible REST API over HTTPS (/api2/json), for proxmoxer, Ansible, Terraform and the web UI')
    .option('--listen <host:port>', 'address to listen on (default: 0.0.0.0:8006; port 0 picks a free port)')
    .option('--node <name>', 'node name in paths and UPIDs (default: hostname -s)')
    .option('--cert <file>', 'PEM certificate (with --key); default: a self-signed one under <root>/ssl/, created once')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--auth-failure-delay <ms>', 'delay of 401 answers in milliseconds (default: 3000, like PVE)', parseDelay)
    .action(async (opts: { listen?: string; node?: string; cert?: string; key?: string; authFailureDelay?: number }, cmd: Command) => {
      const root = resolveRoot(cmd.optsWithGlobals().root as string | undefined);
      const listen = parseListen(opts.listen ?? '0.0.0.0:8006');
      // a cluster member serves under its cluster node name (paths, UPIDs and the etcd keys must agree)
      const { isClusterRoot, readClusterFile } = await import('../../cluster/cluster-file.js');
      const clusterNode = isClusterRoot(root) ? readClusterFile(root).node : undefined;
      if (clusterNode !== undefined && opts.node !== undefined && opts.node !== clusterNode) {
        throw new CvmError('PARAM_INVALID', `node: invalid value ${quotedValue(opts.node)} - this root is cluster node '${clusterNode}' (allowed: ${clusterNode})`);
      }
      const node = opts.node ?? clusterNode ?? shortHostname();
      const [{ checkFormat }, { createApiServer, loadTls }, { openAccessControl }] = await Promise.all([
        import('../../schema/index.js'),
        import('../../api/index.js'),
        import('../../access/index.js'),
      ]);
      try {
        checkFormat('pve-node', node);
      } catch (err) {
        throw new CvmError('PARAM_INVALID', `node: invalid value ${quotedValue(node)} - ${(err as Error).message} (allowed: a host name)`);
      }
      const tls = await loadTls({
        root,
        node,
        ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
        ...(opts.key !== undefined ? { key: opts.key } : {}),
      });
      const server = createApiServer({
        root,
        node,
        access: openAccessControl(root),
        tls,
        ...(opts.authFailureDelay !== undefined ? { authFailureDelayMs: opts.authFailureDelay } : {}),
      });
      const port = await server.listen(listen.host, listen.port);
      const shownHost = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      process.stdout.write(`cvmctl API for node '${node}' listening on https://${shownHost}:${port}/api2/json (state root ${root})\n`);
      process.stdout.write(`TLS certificate ${tls.certPath}${tls.created ? ' (created)' : ''}\n`);
      process.stdout.write(`SHA-256 fingerprint ${tls.fingerprint}\n`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${signal}: shutting down (waiting up to 30 s for running tasks)\n`);
        server.close(30_000).then(
          () => process.exit(0),
          (err: Error) => {
            process.stderr.write(`shutdown failed: ${err.message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
