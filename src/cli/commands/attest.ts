/**
 * @module cli/commands/attest
 * `cvmctl attest verify` checks an SEV-SNP attestation report offline (AMD chain with pinned
 * roots, report signature, VCEK TCB/hwID, and with `--vmid`/`--nonce` the measurement, policy
 * and REPORT_DATA) and prints a table of checks; any failed check exits 1
 * (ATTESTATION_FAILED). `cvmctl attest show` prints every report field with POLICY and
 * PLATFORM_INFO explained.
 */
import type { Command } from 'commander';
import { CvmError } from '../../errors.js';
import { printWarning } from '../output.js';

interface VerifyOptions {
  report: string;
  vcek?: string;
  chain?: string;
  vmid?: string;
  nonce?: string;
  host?: string;
  json?: boolean;
  allowDebug?: boolean;
}

/** A report or certificate file: a regular file within the limit of its kind (never /dev/zero or a FIFO). */
async function readInput(what: string, path: string, kind: 'report' | 'certificate'): Promise<Buffer> {
  const { READ_LIMITS, readRegularFile } = await import('../../util/read-file.js');
  try {
    return await readRegularFile(path, { what, maxBytes: READ_LIMITS[kind] });
  } catch (err) {
    if (err instanceof CvmError) throw err;
    throw new CvmError('IO', `cannot read ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/** The sev policy codec's explainer, if that package is present in this build. */
async function policyExplainer(): Promise<((v: bigint) => { hex: string; bits: never[] }) | undefined> {
  try {
    const mod = (await import('../../sev/policy/index.js')) as { explainPolicy?: (v: bigint, kind: 'snp') => unknown };
    const explain = mod.explainPolicy;
    if (typeof explain !== 'function') return undefined;
    return (v: bigint) => explain(v, 'snp') as { hex: string; bits: never[] };
  } catch {
    return undefined;
  }
}

async function expectationsFromVm(vmidText: string, opts: VerifyOptions, cmd: Command) {
  const { parseVmid } = await import('../../store/vmid.js');
  const vmid = parseVmid(vmidText);
  const { resolveRoot } = await import('../../store/root.js');
  const { expectationsFromVm: expectations } = await import('../../attest/vm-expectations.js');
  const out = await expectations(resolveRoot(cmd.optsWithGlobals().root as string | undefined), vmid, { host: opts.host });
  for (const note of out.notes) printWarning(note);
  return out;
}

async function runVerify(opts: VerifyOptions, cmd: Command): Promise<void> {
  const { verifyReport } = await import('../../attest/verify.js');
  const report = await readInput('attestation report', opts.report, 'report');
  const vcek = opts.vcek ? await readInput('VCEK', opts.vcek, 'certificate') : null;
  const chain = opts.chain ? await readInput('certificate chain', opts.chain, 'certificate') : null;
  const vm = opts.vmid ? await expectationsFromVm(opts.vmid, opts, cmd) : { problems: [] as Array<{ id: string; detail: string }> };
  const result = verifyReport({
    report,
    vcek,
    chain,
    expected: {
      measurement: 'measurement' in vm ? vm.measurement : undefined,
      measurementSource: 'measurementSource' in vm ? vm.measurementSource : undefined,
      policy: 'policy' in vm ? vm.policy : undefined,
      nonce: opts.nonce,
      allowDebug: opts.allowDebug === true,
    },
  });
  for (const p of vm.problems) result.checks.push({ id: p.id, status: 'fail', detail: p.detail });
  const failed = result.checks.filter((c) => c.status === 'fail');
  if (opts.json) {
    const out = {
      ok: failed.length === 0,
      product: result.product,
      chainSource: result.chainSource,
      version: result.report.version,
      measurement: result.report.measurement.toString('hex'),
      checks: result.checks,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    const width = Math.max(5, ...result.checks.map((c) => c.id.length));
    const lines = [`${'CHECK'.padEnd(width)}  RESULT  DETAIL`];
    for (const c of result.checks) lines.push(`${c.id.padEnd(width)}  ${c.status.toUpperCase().padEnd(6)}  ${c.detail}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (failed.length) {
    throw new CvmError('ATTESTATION_FAILED', `attestation report verification failed: ${failed.map((c) => c.id).join(', ')}`, {
      details: { failed: failed.map((c) => c.id) },
    });
  }
}

async function runShow(opts: { report: string; json?: boolean }): Promise<void> {
  const { parseReport } = await import('../../attest/report.js');
  const { reportToJson, reportToText } = await import('../../attest/show.js');
  const report = parseReport(await readInput('attestation report', opts.report, 'report'));
  const explain = await policyExplainer();
  if (opts.json) process.stdout.write(`${JSON.stringify(reportToJson(report, explain), null, 2)}\n`);
  else process.stdout.write(reportToText(report, explain));
}

export function register(program: Command): void {
  const attest = program.command('attest').description('inspect and verify SEV-SNP attestation reports (offline)');
  attest
    .command('verify')
    .description('verify an SEV-SNP report: AMD chain (pinned ARK), signature, VCEK TCB/hwID, and optionally measurement/policy/nonce')
    .requiredOption('--report <file>', 'attestation report (0x4A0 bytes binary, or hex text)')
    .option('--vcek <file>', 'VCEK/VLEK certificate (DER or PEM)')
    .option('--chain <file>', 'ASK+ARK PEM bundle (default: built-in AMD chain for the product)')
    .option('--vmid <vmid>', 'compare MEASUREMENT and POLICY with this VM (cvmctl measure)')
    .option('--nonce <hex>', 'REPORT_DATA must start with these bytes (rest zero)')
    .option('--host <profile>', 'with --vmid: host profile for command generation')
    .option('--allow-debug', 'accept a report whose POLICY allows debugging (bit 19; fails by default)')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: VerifyOptions, cmd: Command) => runVerify(opts, cmd));
  attest
    .command('show')
    .description('print every field of an SEV-SNP attestation report, with POLICY and PLATFORM_INFO explained')
    .requiredOption('--report <file>', 'attestation report (0x4A0 bytes binary, or hex text)')
    .option('--json', 'print JSON')
    .action(async (opts: { report: string; json?: boolean }) => runShow(opts));
}
