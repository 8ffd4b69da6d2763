/**
 * @module cli/commands/policy
 * `cvmctl policy explain <value> --type sev|snp` decodes a guest policy word bit by bit with
 * what each bit means for the guest owner; `cvmctl policy show <vmid>` prints the policy
 * qemu-server would give a VM's `amd-sev` (`%#x`), its explanation and the `-object` this host
 * would produce.
 */
import { type Command, Option } from 'commander';
import type { PolicyExplanation } from '../../sev/policy/types.js';
import { printWarning } from '../output.js';

export function formatExplanation(x: PolicyExplanation): string {
  const label = x.kind === 'sev' ? 'SEV/SEV-ES' : 'SEV-SNP';
  const lines = [`${label} guest policy ${x.hex} (decimal ${x.decimal}): overall ${x.severity}`];
  for (const b of x.bits) {
    const state = b.bits.includes(':') ? `=${b.value}` : b.set ? 'set' : 'clear';
    lines.push(`  ${b.bits.padEnd(6)} ${b.name.padEnd(18)} ${state.padEnd(6)} ${b.severity.padEnd(8)} ${b.meaning}`);
  }
  return `${lines.join('\n')}\n`;
}

function jsonExplanation(x: PolicyExplanation): unknown {
  return { kind: x.kind, hex: x.hex, decimal: x.decimal, severity: x.severity, bits: x.bits };
}

export function register(program: Command): void {
  const policy = program.command('policy').description('SEV/SEV-ES/SEV-SNP guest policy words');

  policy
    .command('explain')
    .description('explain every bit of a guest policy word (value as 0x… hex or decimal)')
    .argument('<value>', 'policy value, e.g. 0xb0000 or 196608')
    .addOption(
      new Option('--type <type>', 'policy kind (required): sev for SEV/SEV-ES, snp for SEV-SNP')
        .choices(['sev', 'snp'])
        .makeOptionMandatory(),
    )
    .option('--json', 'print JSON')
    .action(async (value: string, opts: { type: 'sev' | 'snp'; json?: boolean }) => {
      const { explainPolicy } = await import('../../sev/policy/index.js');
      const x = explainPolicy(value, opts.type);
      process.stdout.write(opts.json ? `${JSON.stringify(jsonExplanation(x), null, 2)}\n` : formatExplanation(x));
    });

  policy
    .command('show')
    .description("show the policy and -object qemu-server would build from a VM's amd-sev")
    .argument('<vmid>', 'VM id')
    .option('--caps <file>', 'host capabilities file (default: /run/qemu-server/host-hw-capabilities.json, else a live probe)')
    .option('--json', 'print JSON')
    .action(async (vmidText: string, opts: { caps?: string; json?: boolean }, cmd: Command) => {
      const { CvmError } = await import('../../errors.js');
      const { parseVmid } = await import('../../store/vmid.js');
      const vmid = parseVmid(vmidText);
      const { resolveRoot } = await import('../../store/root.js');
      const { openConfigStore } = await import('../../store/open.js');
      const { computeSevPolicy, amdSevObject, intelTdxObject, parseAmdSev, formatPolicyHex, explainPolicy } = await import(
        '../../sev/index.js'
      );
      const { currentHwCapabilities, readHwCapabilities } = await import('../../host/capabilities/index.js');
      const root = resolveRoot(cmd.optsWithGlobals().root as string | undefined);
      const { config } = await openConfigStore(root, { warn: (m) => printWarning(m) }).read(vmid);
      const conf = config.conf;
      // an explicit --caps file is read strictly, like qemu-server reads its file; otherwise probe if absent
      const current = opts.caps ? { caps: await readHwCapabilities(opts.caps), source: 'file' as const } : await currentHwCapabilities();
      const objectOrError = (build: () => string): { object?: string; error?: string } => {
        try {
          return { object: build() };
        } catch (err) {
          return { error: (err as Error).message };
        }
      };
      if (!conf['amd-sev']) {
        if (!conf['intel-tdx']) throw new CvmError('PARAM_INVALID', `VM ${vmid} has neither 'amd-sev' nor 'intel-tdx' set`);
        const tdx = objectOrError(() => intelTdxObject(conf, current.caps));
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ vmid, 'intel-tdx': conf['intel-tdx'], ...tdx, capabilities: current.source }, null, 2)}\n`,
          );
        } else {
          process.stdout.write(`intel-tdx: ${conf['intel-tdx']}\nTDX has no guest policy word in qemu-server.\n`);
          process.stdout.write(tdx.object ? `-object ${tdx.object}\n` : `-object: not on this host: ${tdx.error}\n`);
        }
        return;
      }
      const sev = parseAmdSev(conf['amd-sev']);
      const policy = computeSevPolicy(sev);
      const x = explainPolicy(BigInt(policy), sev.type === 'snp' ? 'snp' : 'sev');
      const obj = objectOrError(() => amdSevObject(conf, current.caps));
      if (opts.json) {
        const out = {
          vmid,
          'amd-sev': conf['amd-sev'],
          type: sev.type,
          policy: formatPolicyHex(policy),
          explanation: jsonExplanation(x),
          ...obj,
          capabilities: current.source,
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      process.stdout.write(`amd-sev: ${conf['amd-sev']}\npolicy: ${formatPolicyHex(policy)}\n`);
      process.stdout.write(formatExplanation(x));
      process.stdout.write(obj.object ? `-object ${obj.object}\n` : `-object: not on this host: ${obj.error}\n`);
    });
}
