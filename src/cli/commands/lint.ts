/**
 * @module cli/commands/lint
 * `cvmctl lint <vmid>`: confidential-VM findings for a VM config (debug-enabled policies,
 * ignored EFI disks, TDX quirks, …); `--host` also checks this host's capabilities and
 * firmware. Exit status 0 when clean, 3 when a finding is a warning or worse.
 */
import type { Command } from 'commander';
import type { Finding } from '../../lint/types.js';
import { printWarning } from '../output.js';

export function formatFindings(findings: Finding[]): string {
  if (findings.length === 0) return 'no findings\n';
  return `${findings.map((f) => `${f.severity.toUpperCase()}: ${f.key}: ${f.message} [${f.code}]`).join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('lint')
    .description('check a VM config for confidential-computing problems (exit 3 on warnings or errors)')
    .argument('<vmid>', 'VM id')
    .option('--host', "also check against this host's capabilities and firmware")
    .option('--json', 'print findings as JSON')
    .action(async (vmidText: string, opts: { host?: boolean; json?: boolean }, cmd: Command) => {
      const { parseVmid } = await import('../../store/vmid.js');
      const vmid = parseVmid(vmidText);
      const { resolveRoot } = await import('../../store/root.js');
      const { openConfigStore } = await import('../../store/open.js');
      const { lintConfig, atLeast } = await import('../../lint/index.js');
      const root = resolveRoot(cmd.optsWithGlobals().root as string | undefined);
      const { config } = await openConfigStore(root, { warn: (m) => printWarning(m) }).read(vmid);
      let host: Parameters<typeof lintConfig>[1];
      if (opts.host) {
        const { currentHwCapabilities } = await import('../../host/capabilities/index.js');
        const { discoverFirmwareDescriptors, pveTableFromDir } = await import('../../firmware/index.js');
        const firmware = (await pveTableFromDir()) ?? (await discoverFirmwareDescriptors());
        const { nodeArchToQemu } = await import('../../host/local/parse.js');
        host = { hwCapabilities: (await currentHwCapabilities()).caps, firmware, arch: nodeArchToQemu(process.arch) };
      }
      const findings = lintConfig(config, host);
      process.stdout.write(opts.json ? `${JSON.stringify(findings, null, 2)}\n` : formatFindings(findings));
      if (findings.some((f) => atLeast(f, 'warning'))) process.exitCode = 3;
    });
}
