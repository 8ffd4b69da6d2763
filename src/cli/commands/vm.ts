/**
 * @module cli/commands/vm
 * The qm-style config commands: `create`, `set`, `config`, `list`, `destroy`. The
 * `--<key> <value>` options of `create` and `set` are generated from the VM config schema
 * (one per key, indexed families such as net0..net31 included, help showing the first of
 * each family), added only when one of these two commands runs so that other commands never
 * load the schema at start-up. Handlers import their work lazily.
 */

import { type Command, Option } from 'commander';
import { resolveRoot } from '../../store/root.js';
import { printInfo, printJson, printKeyValues, printWarning } from '../output.js';

const EDIT_COMMANDS = new Set(['create', 'set']);
/** Map from commander attribute name to config key, per command. */
const generatedKeys = new WeakMap<Command, Map<string, string>>();

function rootOf(cmd: Command): string {
  return resolveRoot(cmd.optsWithGlobals().root as string | undefined);
}

async function vmidOf(text: string): Promise<number> {
  const { parseVmid } = await import('../../store/vmid.js');
  return parseVmid(text);
}

/** Add one `--<key> <value>` option per settable config key (once per command). */
async function addConfigKeyOptions(cmd: Command): Promise<void> {
  if (generatedKeys.has(cmd)) return;
  const [{ vmConfigKeys }, { INTERNAL_KEYS }] = await Promise.all([
    import('../../config/options/index.js'),
    import('../../store/vm-params.js'),
  ]);
  const keys = new Map<string, string>();
  const sorted = Object.keys(vmConfigKeys).sort(byFamilyThenIndex);
  const lastOfFamily = new Map<string, string>();
  for (const key of sorted) {
    const family = /^(\D+?)(\d+)$/.exec(key);
    if (family) lastOfFamily.set(family[1] as string, key);
  }
  const familySeen = new Set<string>();
  for (const key of sorted) {
    if (INTERNAL_KEYS.has(key)) continue;
    const schema = vmConfigKeys[key];
    const family = /^(\D+?)(\d+)$/.exec(key);
    let description = (schema?.description ?? '').replace(/\s+/g, ' ').trim();
    const fallback = schema ? defaultOf(schema) : undefined;
    if (fallback !== undefined) description += ` (default: ${fallback})`;
    let hidden = schema?.deprecated === true;
    if (family) {
      const name = family[1] as string;
      const last = lastOfFamily.get(name);
      if (familySeen.has(name)) hidden = true;
      else if (last !== key) description += ` [${key} … ${last}]`;
      familySeen.add(name);
    }
    const option = new Option(`--${key} <value>`, description);
    if (hidden) option.hideHelp();
    cmd.addOption(option);
    keys.set(option.attributeName(), key);
  }
  generatedKeys.set(cmd, keys);
}

/** What qemu-server assumes when the key is absent: its own default, else its default key's (memory: 512). */
function defaultOf(schema: { default?: unknown; format?: unknown }): string | undefined {
  if (schema.default !== undefined) return String(schema.default);
  if (schema.format && typeof schema.format === 'object') {
    for (const sub of Object.values(schema.format as Record<string, { default_key?: boolean; default?: unknown }>)) {
      if (sub.default_key && sub.default !== undefined) return String(sub.default);
    }
  }
  return undefined;
}

function byFamilyThenIndex(a: string, b: string): number {
  const ma = /^(\D+?)(\d+)$/.exec(a);
  const mb = /^(\D+?)(\d+)$/.exec(b);
  const fa = ma ? (ma[1] as string) : a;
  const fb = mb ? (mb[1] as string) : b;
  if (fa !== fb) return fa < fb ? -1 : 1;
  return (ma ? Number(ma[2]) : -1) - (mb ? Number(mb[2]) : -1);
}

/** The config key values the user gave on the command line. */
function configParams(cmd: Command): Record<string, string> {
  const keys = generatedKeys.get(cmd) ?? new Map<string, string>();
  const opts = cmd.opts() as Record<string, unknown>;
  const params: Record<string, string> = {};
  for (const [attribute, key] of keys) {
    const value = opts[attribute];
    if (typeof value === 'string') params[key] = value;
  }
  return params;
}

/** The one line `qm set` prints: `update VM <vmid>: -key value …` (sorted, password hidden). */
function updateLogLine(vmid: number, params: Record<string, string>, extra: Record<string, string | undefined>): string {
  const all: Record<string, string> = { ...params };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) all[k] = v;
  const parts = Object.keys(all)
    .sort()
    .flatMap((k) => [`-${k}`, k === 'cipassword' ? '<hidden>' : (all[k] as string)]);
  return `update VM ${vmid}: ${parts.join(' ')}`;
}

export function register(program: Command): void {
  program.hook('preSubcommand', async (_parent, sub) => {
    if (EDIT_COMMANDS.has(sub.name())) await addConfigKeyOptions(sub);
  });

  program
    .command('create')
    .description('create a VM config (qm create). Every config key is an option: --memory 4096 --scsi0 local:32 …')
    .argument('<vmid>', 'VM id (100 - 999999999)')
    .showSuggestionAfterError(false)
    .action(async (vmidText: string, _opts: unknown, cmd: Command) => {
      const vmid = await vmidOf(vmidText);
      const { createVm } = await import('../../store/vm-ops.js');
      await createVm({ root: rootOf(cmd), vmid, params: configParams(cmd), warn: printWarning, info: printInfo });
    });

  program
    .command('set')
    .description('change VM options (qm set); applied at once while the VM is stopped, kept pending while it runs')
    .argument('<vmid>', 'VM id')
    .option('--delete <keys>', 'settings to delete (comma separated)')
    .option('--revert <keys>', 'pending changes to revert (comma separated)')
    .option('--digest <sha1>', 'refuse the change if the config file no longer has this SHA-1 digest')
    .option('--skiplock', 'ignore the lock property of the config')
    .option('--force', 'with --delete: free deleted disks instead of keeping them as unusedN')
    .showSuggestionAfterError(false)
    .action(async (vmidText: string, opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const vmid = await vmidOf(vmidText);
      const params = configParams(cmd);
      const { updateVm } = await import('../../store/vm-ops.js');
      const logLine = updateLogLine(vmid, params, {
        delete: opts.delete as string | undefined,
        revert: opts.revert as string | undefined,
        skiplock: opts.skiplock ? '1' : undefined,
        force: opts.force ? '1' : undefined,
      });
      await updateVm({
        root: rootOf(cmd),
        vmid,
        params,
        delete: opts.delete as string | undefined,
        revert: opts.revert as string | undefined,
        digest: opts.digest as string | undefined,
        skiplock: opts.skiplock === true,
        force: opts.force === true,
        warn: printWarning,
        info: printInfo,
        onStart: () => process.stdout.write(`${logLine}\n`),
      });
    });

  program
    .command('config')
    .description('show the VM config with pending changes applied (qm config)')
    .argument('<vmid>', 'VM id')
    .option('--current', 'show the current values, without pending changes')
    .option('--snapshot <name>', 'show the config of a snapshot')
    .option('--json', 'print a JSON object (typed values, digest included)')
    .action(async (vmidText: string, opts: { current?: boolean; snapshot?: string; json?: boolean }, cmd: Command) => {
      const vmid = await vmidOf(vmidText);
      const [{ CvmError }, { openConfigStore }, file] = await Promise.all([
        import('../../errors.js'),
        import('../../store/open.js'),
        import('../../config/file/index.js'),
      ]);
      if (opts.snapshot && opts.current) {
        throw new CvmError('PARAM_INVALID', "snapshot: cannot use 'snapshot' parameter with 'current'");
      }
      const { config } = await openConfigStore(rootOf(cmd), { warn: printWarning }).read(vmid);
      const conf = opts.snapshot ? file.snapshotConfig(config, opts.snapshot) : file.currentConfig(config, opts.current === true);
      if (conf.cipassword) conf.cipassword = '**********';
      if (opts.json) {
        const { typedConfig } = await import('../../store/typed.js');
        printJson(typedConfig(conf));
        return;
      }
      printKeyValues(conf, {
        skip: ['digest'],
        format: (key, value) => (key === 'description' ? file.encodeText(value) : value),
      });
    });

  program
    .command('list')
    .description('list VMs (qm list)')
    .option('--json', 'print a JSON array')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const root = rootOf(cmd);
      const [{ openConfigStore }, { vmListRow }] = await Promise.all([import('../../store/open.js'), import('../../store/status.js')]);
      const vms = await openConfigStore(root, { warn: printWarning }).list();
      const rows = await Promise.all(vms.map((vm) => vmListRow(root, vm.config)));
      if (opts.json) {
        printJson(rows.map((r) => ({ ...r, maxmem: r.maxmem * 1024 * 1024 })));
        return;
      }
      if (rows.length === 0) return;
      const line = (cols: string[]) =>
        `${(cols[0] as string).padStart(10)} ${(cols[1] as string).padEnd(20)} ${(cols[2] as string).padEnd(10)} ${(cols[3] as string).padEnd(10)} ${(cols[4] as string).padStart(12)} ${(cols[5] as string).padEnd(10)}\n`;
      let out = line(['VMID', 'NAME', 'STATUS', 'MEM(MB)', 'BOOTDISK(GB)', 'PID']);
      for (const r of rows) {
        out += line([String(r.vmid), r.name, r.status, String(r.maxmem), (r.maxdisk / 1024 ** 3).toFixed(2), String(r.pid)]);
      }
      process.stdout.write(out);
    });

  program
    .command('destroy')
    .description('destroy a VM: free its disks and remove its config (qm destroy)')
    .argument('<vmid>', 'VM id')
    .option('--skiplock', 'ignore the lock property of the config')
    .action(async (vmidText: string, opts: { skiplock?: boolean }, cmd: Command) => {
      const vmid = await vmidOf(vmidText);
      const { destroyVm } = await import('../../store/vm-ops.js');
      await destroyVm({ root: rootOf(cmd), vmid, skiplock: opts.skiplock === true, warn: printWarning });
    });
}
