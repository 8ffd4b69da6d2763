/**
 * @module cli/commands/host
 * `cvmctl host capabilities`: probes this host's SEV/SEV-ES/SEV-SNP/TDX support like
 * qemu-server's query-machine-capabilities. Prints a human summary, or with `--json` the
 * exact line the helper writes; `--write FILE` writes that line atomically (e.g. to
 * /run/qemu-server/host-hw-capabilities.json).
 */
import type { Command } from 'commander';
import type { ProbeResult } from '../../host/capabilities/probe.js';
import type { CapabilityFlag } from '../../host/facts.js';
import { perlTruthyJson } from '../../schema/perl.js';
import { printWarning } from '../output.js';

const yn = (v: CapabilityFlag | undefined): string => (v === undefined ? 'unknown' : perlTruthyJson(v) ? 'yes' : 'no');
const param = (v: boolean | undefined): string => (v === undefined ? '-' : v ? 'Y' : 'N');

export function formatCapabilitySummary(r: ProbeResult): string {
  const rows: [string, string][] = [];
  rows.push(['CPU vendor', r.vendor ? `${r.vendor} (from ${r.vendorSource === 'cpuid' ? 'CPUID' : '/proc/cpuinfo'})` : 'unknown']);
  const amd = r.json['amd-sev'];
  const tdx = r.json['intel-tdx'];
  if (r.vendor === 'AuthenticAMD' || amd) {
    rows.push(['AMD SEV', yn(amd?.['sev-support'])]);
    rows.push(['AMD SEV-ES', yn(amd?.['sev-support-es'])]);
    rows.push(['AMD SEV-SNP', yn(amd?.['sev-support-snp'])]);
    rows.push(['C-bit position', amd ? String(amd.cbitpos) : 'unknown']);
    rows.push(['Reduced phys bits', amd ? String(amd['reduced-phys-bits']) : 'unknown']);
    if (r.sevExtras && perlTruthyJson(amd?.['sev-support'])) {
      rows.push(['Encrypted guests', `${r.sevExtras.maxGuests} (SEV-only ASIDs from ${r.sevExtras.minSevAsid})`]);
    }
  }
  if (r.vendor === 'GenuineIntel' || tdx) rows.push(['Intel TDX', yn(tdx?.['tdx-support'])]);
  if (r.kernel.module === 'kvm_amd') {
    const p = r.kernel.params;
    rows.push(['kvm_amd', `sev=${param(p.sev)} sev_es=${param(p.sev_es)} sev_snp=${param(p.sev_snp)}`]);
    rows.push(['/dev/sev', r.kernel.devSev ? 'present' : 'absent']);
  } else if (r.kernel.module === 'kvm_intel') {
    rows.push(['kvm_intel', `tdx=${param(r.kernel.params.tdx)}`]);
  }
  if (r.json['arm-caps']) {
    const a = r.json['arm-caps'];
    rows.push(['ARM vendor', a.vendor], ['AES', yn(a.aes)], ['SHA2', yn(a.sha2)]);
  }
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const lines = rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}${v}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  const host = program.command('host').description('facts about this host');
  host
    .command('capabilities')
    .description('probe AMD SEV/SEV-ES/SEV-SNP and Intel TDX support (like query-machine-capabilities)')
    .option('--json', 'print the qemu-server host-hw-capabilities.json line')
    .option('--write <file>', 'write the qemu-server JSON line to FILE atomically')
    .option('--load-modules', "load the 'cpuid'/'msr' kernel modules with modprobe when /dev/cpu/0/* is missing")
    .action(async (opts: { json?: boolean; write?: string; loadModules?: boolean }) => {
      if (opts.write === '') {
        const { CvmError } = await import('../../errors.js');
        throw new CvmError('PARAM_INVALID', "write: invalid value '' - empty path (allowed: a file path)");
      }
      const { probeHwCapabilities } = await import('../../host/capabilities/probe.js');
      const loadModule = opts.loadModules
        ? async (name: string) => {
            const { spawnSync } = await import('node:child_process');
            return spawnSync('modprobe', [name], { stdio: 'ignore' }).status === 0;
          }
        : undefined;
      const result = await probeHwCapabilities(loadModule ? { loadModule } : {});
      if (opts.write) {
        const { writeFileAtomic } = await import('../../util/fs.js');
        await writeFileAtomic(opts.write, result.line, 0o644);
      }
      if (opts.json) process.stdout.write(result.line);
      else if (!opts.write) process.stdout.write(formatCapabilitySummary(result));
      else for (const n of result.notes) printWarning(n);
    });
}
