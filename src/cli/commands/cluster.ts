/**
 * @module cli/commands/cluster
 * `cvmctl cluster init|join|status|fence|leave` (pvecm create/add/status/delnode for one state root):
 * init and join make the root a member of a cluster on etcd and import its VM configs; from then
 * on every command on the root uses the cluster store. The work lives in src/cluster.
 */
import type { Command } from 'commander';
import { printJson } from '../output.js';

interface SetupOpts {
  etcd: string;
  name?: string;
  node?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

async function setupArgs(opts: SetupOpts, cmd: Command) {
  const [{ resolveRoot }, { parseEtcdUrls }, { shortHostname }, { resolve }] = await Promise.all([
    import('../../store/root.js'),
    import('../../cluster/cluster-file.js'),
    import('./serve.js'),
    import('node:path'),
  ]);
  const root = resolve(resolveRoot(cmd.optsWithGlobals().root as string | undefined));
  const tls = {
    ...(opts.etcdCa ? { ca: resolve(opts.etcdCa) } : {}),
    ...(opts.etcdCert ? { cert: resolve(opts.etcdCert) } : {}),
    ...(opts.etcdKey ? { key: resolve(opts.etcdKey) } : {}),
  };
  const { readFileSync } = await import('node:fs');
  const clientTls = Object.fromEntries(Object.entries(tls).map(([k, v]) => [k, readFileSync(v)]));
  return {
    root,
    etcd: parseEtcdUrls(opts.etcd),
    node: opts.node ?? shortHostname(),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(Object.keys(tls).length > 0 ? { tls, clientOptions: { tls: clientTls } } : {}),
    log: (line: string) => process.stdout.write(`${line}\n`),
  };
}

function setupOptions(c: Command): Command {
  return c
    .requiredOption('--etcd <urls>', 'etcd client URLs, comma-separated (http:// only for loopback tests; https:// with --etcd-ca/--etcd-cert/--etcd-key)')
    .option('--node <name>', 'this node\'s name in the cluster (default: hostname -s)')
    .option('--etcd-ca <file>', 'PEM CA certificate of the etcd server certificates')
    .option('--etcd-cert <file>', 'PEM client certificate for etcd')
    .option('--etcd-key <file>', 'PEM private key of --etcd-cert');
}

export function register(program: Command): void {
  const cluster = program.command('cluster').description('cluster membership on etcd (pvecm)');

  setupOptions(cluster.command('init').description('create a cluster with this node as first member; imports its VM configs'))
    .option('--name <name>', 'cluster name (default: cvmctl)')
    .action(async (opts: SetupOpts, cmd: Command) => {
      const { clusterInit } = await import('../../cluster/setup.js');
      await clusterInit(await setupArgs(opts, cmd));
    });

  setupOptions(cluster.command('join').description('add this node to an existing cluster; imports its VM configs (refused on id clashes)'))
    .option('--name <name>', 'cluster name (needed only when etcd holds several)')
    .action(async (opts: SetupOpts, cmd: Command) => {
      const { clusterJoin } = await import('../../cluster/setup.js');
      await clusterJoin(await setupArgs(opts, cmd));
    });

  cluster
    .command('status')
    .description('members online/offline, etcd health, quorum and leader')
    .option('--json', 'print a JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const [{ resolveRoot }, { clusterClient }, { clusterStatus, formatClusterStatus }] = await Promise.all([
        import('../../store/root.js'),
        import('../../store/open.js'),
        import('../../cluster/status.js'),
      ]);
      const { client, cluster: name, node } = clusterClient(resolveRoot(cmd.optsWithGlobals().root as string | undefined));
      const st = await clusterStatus(client, name, node);
      if (opts.json) printJson(st);
      else process.stdout.write(formatClusterStatus(st));
      if (!st.quorate) process.exitCode = 1;
    });

  cluster
    .command('fence')
    .description("take over a dead node's VMs (refused while the node is online)")
    .argument('<node>', 'the dead node')
    .action(async (target: string, _opts: unknown, cmd: Command) => {
      const [{ resolveRoot }, { clusterClient }, { clusterFence }] = await Promise.all([
        import('../../store/root.js'),
        import('../../store/open.js'),
        import('../../cluster/fence.js'),
      ]);
      const root = resolveRoot(cmd.optsWithGlobals().root as string | undefined);
      await clusterFence(root, clusterClient(root).client, target, (line) => process.stdout.write(`${line}\n`));
    });

  cluster
    .command('leave')
    .description("leave the cluster: this node's VM configs move back to local files")
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ resolveRoot }, { clusterClient }, { clusterLeave }] = await Promise.all([
        import('../../store/root.js'),
        import('../../store/open.js'),
        import('../../cluster/setup.js'),
      ]);
      const root = resolveRoot(cmd.optsWithGlobals().root as string | undefined);
      await clusterLeave(root, clusterClient(root).client, (line) => process.stdout.write(`${line}\n`));
    });
}
