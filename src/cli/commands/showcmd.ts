/**
 * @module cli/commands/showcmd
 * `cvmctl showcmd <vmid>` / `cvmctl showcmd --file <path.conf>`: the QEMU command line a VM
 * would be started with, exactly as `qm showcmd` prints it (one line, or `--pretty` with one
 * option per line). The host it is generated for is `--host <pve-test|pve|local|profile.json>`
 * (default `local`, i.e. this machine as probed). Warnings go to stderr as `WARN: …`;
 * informational lines qemu-server prints while generating go to stderr as they are.
 */

import { basename, dirname } from 'node:path';
import { type Command, Option } from 'commander';
import { CvmError } from '../../errors.js';
import { printWarning } from '../output.js';

interface ShowcmdOptions {
  pretty?: boolean;
  host?: string;
  snapshot?: string;
  file?: string;
  vmid?: string;
  json?: boolean;
}

async function parseVmid(text: string, what: string): Promise<number> {
  const { parseVmid: parse } = await import('../../store/vmid.js');
  return parse(text, what);
}

async function loadConfig(vmidArg: string | undefined, opts: ShowcmdOptions, root: string, warn: (m: string) => void) {
  if (opts.file) {
    if (vmidArg !== undefined) throw new CvmError('USAGE', 'give either a <vmid> or --file, not both');
    const { READ_LIMITS, readRegularFile } = await import('../../util/read-file.js');
    const { parseVmConfig } = await import('../../config/file/index.js');
    let vmid: number;
    if (opts.vmid !== undefined) vmid = await parseVmid(opts.vmid, 'vmid');
    else {
      const m = /^(\d+)\.conf$/.exec(basename(opts.file));
      if (!m) throw new CvmError('USAGE', `cannot tell the VM id from the file name '${basename(opts.file)}' - pass --vmid <n>`);
      vmid = Number(m[1]);
    }
    let raw: Buffer;
    try {
      raw = await readRegularFile(opts.file, { what: 'config file', maxBytes: READ_LIMITS.config });
    } catch (err) {
      if (err instanceof CvmError) throw err;
      throw new CvmError('IO', `unable to read '${opts.file}' - ${(err as Error).message}`, { cause: err });
    }
    // qemu-server takes the vmid from the file name; give the parser one that carries it
    return parseVmConfig(`${dirname(opts.file)}/qemu-server/${vmid}.conf`, raw, { strict: false, warn });
  }
  if (vmidArg === undefined) throw new CvmError('USAGE', 'missing <vmid> (or --file <path.conf>)');
  const vmid = await parseVmid(vmidArg, 'vmid');
  const { openConfigStore } = await import('../../store/open.js');
  return (await openConfigStore(root, { warn }).read(vmid)).config;
}

async function run(vmidArg: string | undefined, opts: ShowcmdOptions, cmd: Command): Promise<void> {
  const { resolveRoot } = await import('../../store/root.js');
  const root = resolveRoot(cmd.optsWithGlobals().root as string | undefined);
  const stderrWarn = (m: string) => printWarning(m);
  const config = await loadConfig(vmidArg, opts, root, stderrWarn);
  const { loadHostProfile } = await import('../../host/profiles/load.js');
  const host = await loadHostProfile(opts.host ?? 'local', { root });
  const { configToCommand } = await import('../../qemu/cfg2cmd/generate.js');
  const { renderCommand, renderPretty } = await import('../../qemu/args.js');
  const genOpts = opts.snapshot === undefined ? {} : { snapshot: opts.snapshot };
  const result = configToCommand(config, host, genOpts);
  for (const line of result.info) process.stderr.write(`${line}\n`);
  for (const w of [...result.perlWarnings, ...result.warnings]) stderrWarn(w);
  if (opts.json) {
    const out = {
      vmid: config.vmid,
      host: host.profile,
      argv: result.argv,
      command: renderCommand(result.argv),
      warnings: result.warnings,
      perlWarnings: result.perlWarnings,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else if (opts.pretty) {
    process.stdout.write(renderPretty(result.argv));
  } else {
    process.stdout.write(`${renderCommand(result.argv)}\n`);
  }
}

export function register(program: Command): void {
  program
    .command('showcmd')
    .description('show the QEMU command line of a VM (like qm showcmd)')
    .argument('[vmid]', 'VM id of a config in the store')
    .option('--pretty', 'one option per line (qm showcmd --pretty)')
    .addOption(
      new Option('--host <profile>', 'host to generate for: pve-test, pve, local or a JSON profile file').default(undefined, 'local'),
    )
    .option('--snapshot <name>', "use the snapshot's config (and its running machine/CPU)")
    .option('--file <path>', 'read the config from this file instead of the store')
    .option('--vmid <n>', 'VM id for --file when the file name is not <vmid>.conf')
    .option('--json', 'print argv, the rendered command and warnings as JSON')
    .action(async (vmid: string | undefined, opts: ShowcmdOptions, cmd: Command) => run(vmid, opts, cmd));
}
