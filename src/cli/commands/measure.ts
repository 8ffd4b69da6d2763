/**
 * @module cli/commands/measure
 * `cvmctl measure`: launch-digest prediction. With flags it mirrors sev-snp-measure's CLI
 * (`--mode sev|seves|snp|snp:ovmf-hash|snp:svsm --ovmf F …`); with a `<vmid>` it derives
 * every input from the VM's config and generated QEMU command. Prints the digest (hex or
 * base64) or, with `--json`, the digest plus the inputs used.
 */
import { type Command, Option } from 'commander';
import { CvmError } from '../../errors.js';
import { printWarning } from '../output.js';

/** Python `int(text, 0)`: decimal, 0x/0o/0b prefixes, optional sign and underscores. */
export function parseAutoBaseInt(text: string, flag: string): bigint {
  const t = text.trim().replace(/_/g, '');
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[1-9][0-9]*|0+)$/.exec(t);
  if (!m) throw new CvmError('USAGE', `${flag}: invalid int value '${text}' (decimal or 0x/0o/0b prefixed)`);
  const body = m[2]!;
  const value = /^0[oO]/.test(body) ? BigInt(`0o${body.slice(2)}`) : BigInt(body);
  return m[1] === '-' ? -value : value;
}

function parseDecimal(text: string, flag: string): number {
  if (!/^[+-]?\d+$/.test(text.trim())) throw new CvmError('USAGE', `${flag}: invalid int value '${text}'`);
  return Number(text);
}

/** Highest x86 family a CPUID signature can encode: base family 0xf plus an 8-bit extended family. */
const MAX_CPU_FAMILY = 0xf + 0xff;

/** A decimal CPUID field that must fit its bits (nothing is silently masked away). */
function parseInRange(text: string, flag: string, max: number): number {
  const n = parseDecimal(text, flag);
  if (n < 0 || n > max) throw new CvmError('USAGE', `${flag}: invalid value '${text}' (allowed: integer from 0 to ${max})`);
  return n;
}

/** `--vcpu-sig`: the CPUID 1 EAX value, a 32-bit register. */
function parseVcpuSig(text: string): number {
  const n = parseAutoBaseInt(text, '--vcpu-sig');
  if (n < 0n || n > 0xffffffffn) {
    throw new CvmError('USAGE', `--vcpu-sig: invalid value '${text}' (allowed: 0 to 0xffffffff, the CPUID 1 EAX signature)`);
  }
  return Number(n);
}

/**
 * Most vCPUs a measured guest can have: QEMU's q35 limit. Every vCPU adds a VMSA page to the
 * measurement, so an unchecked count like 1e20 would exhaust memory instead of failing.
 */
export const MAX_MEASURE_VCPUS = 4096;

function parseVcpus(text: string): number {
  const n = parseDecimal(text, '--vcpus');
  if (n < 1 || n > MAX_MEASURE_VCPUS) {
    throw new CvmError('USAGE', `--vcpus: invalid value '${text}' (allowed: integer between 1 and ${MAX_MEASURE_VCPUS})`);
  }
  return n;
}

interface MeasureCliOptions {
  mode?: string;
  vcpus?: string;
  vcpuType?: string;
  vcpuSig?: string;
  vcpuFamily?: string;
  vcpuModel?: string;
  vcpuStepping?: string;
  vmmType: string;
  ovmf?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  guestFeatures?: string;
  outputFormat: 'hex' | 'base64';
  snpOvmfHash?: string;
  svsm?: string;
  varsSize?: string;
  varsFile?: string;
  verbose?: boolean;
  dumpVmsa?: boolean;
  json?: boolean;
  host?: string;
}

const MODE_NAMES: Record<string, string> = {
  sev: 'SEV',
  seves: 'SEV_ES',
  snp: 'SEV_SNP',
  'snp:svsm': 'SEV_SNP_SVSM',
  'snp:ovmf-hash': 'SEV_SNP',
};

const usage = (message: string): never => {
  throw new CvmError('USAGE', message);
};

async function runFlags(opts: MeasureCliOptions): Promise<void> {
  const m = await import('../../measure/index.js');
  const mode = opts.mode;
  if (!mode) usage('measure: --mode is required without a <vmid> (sev, seves, snp, snp:ovmf-hash, snp:svsm)');
  if (!opts.ovmf) usage('measure: --ovmf PATH is required without a <vmid>');
  const ovmfPath = opts.ovmf as string;
  if (mode === 'snp:ovmf-hash') {
    const digest = await m.measureFiles({ mode: 'snp:ovmf-hash', ovmfPath });
    print(digest, opts, { mode, ovmf: ovmfPath });
    return;
  }
  if (opts.initrd && !opts.kernel) usage('--kernel required when using --initrd');
  if (opts.append && !opts.kernel) usage('--kernel required when using --append');
  if (mode !== 'sev' && opts.vcpus === undefined) usage(`missing --vcpus N in guest mode '${mode}'`);
  const vcpus = opts.vcpus === undefined ? undefined : parseVcpus(opts.vcpus);
  if (!(m.VMM_TYPES as readonly string[]).includes(opts.vmmType)) usage(`unknown VMM type '${opts.vmmType}'`);
  const vmmType = opts.vmmType as 'QEMU' | 'ec2' | 'gce';

  let vcpuSig: number | undefined;
  if (mode === 'sev') vcpuSig = 0;
  else if (opts.vcpuFamily !== undefined) {
    if (opts.vcpuModel === undefined || opts.vcpuStepping === undefined) {
      usage('--vcpu-family needs --vcpu-model and --vcpu-stepping');
    }
    vcpuSig = m.cpuSig(
      parseInRange(opts.vcpuFamily, '--vcpu-family', MAX_CPU_FAMILY),
      parseInRange(opts.vcpuModel as string, '--vcpu-model', 0xff),
      parseInRange(opts.vcpuStepping as string, '--vcpu-stepping', 0xf),
    );
  } else if (opts.vcpuSig !== undefined) vcpuSig = parseVcpuSig(opts.vcpuSig);
  else if (opts.vcpuType) vcpuSig = m.vcpuSignature(opts.vcpuType);
  else if (vmmType === 'QEMU') usage(`missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '${mode}'`);

  if (mode === 'snp:svsm' && !opts.varsFile && opts.varsSize === undefined) {
    usage('snp:svsm mode requires --vars-size or --vars-file');
  }
  if (opts.varsFile && opts.varsSize !== undefined) usage('--vars-size conflicts with --vars-file');
  if (opts.dumpVmsa && !['seves', 'snp', 'snp:svsm'].includes(mode as string)) {
    usage('--dump-vmsa is not available in the selected mode');
  }
  const dumps: Array<[number, Buffer]> = [];
  if (!(m.MEASURE_MODES as readonly string[]).includes(mode as string)) {
    usage(`--mode: invalid choice '${mode}' (choose from sev, seves, snp, snp:ovmf-hash, snp:svsm)`);
  }
  const guestFeatures = opts.guestFeatures === undefined ? 0x1n : parseAutoBaseInt(opts.guestFeatures, '--guest-features');
  if (guestFeatures < 0n || guestFeatures >= 1n << 64n) usage(`--guest-features: ${opts.guestFeatures} does not fit in 64 bits`);

  const spec = {
    mode: mode as 'sev' | 'seves' | 'snp' | 'snp:svsm',
    ovmfPath,
    vcpus,
    vcpuSig,
    vmmType,
    kernelPath: opts.kernel ?? null,
    initrdPath: opts.initrd ?? null,
    append: opts.append ?? null,
    guestFeatures,
    snpOvmfHash: opts.snpOvmfHash ?? null,
    svsmPath: opts.svsm ?? null,
    varsSize: opts.varsSize === undefined ? undefined : parseDecimal(opts.varsSize, '--vars-size'),
    varsPath: opts.varsFile ?? null,
    onVmsa: opts.dumpVmsa ? (i: number, page: Buffer) => dumps.push([i, Buffer.from(page)]) : undefined,
  };
  const digest = await m.measureFiles(spec);
  if (dumps.length) {
    const { writeFile } = await import('node:fs/promises');
    for (const [i, page] of dumps) await writeFile(`vmsa${i}.bin`, page);
  }
  print(digest, opts, {
    mode,
    ovmf: ovmfPath,
    vcpus: vcpus ?? null,
    vcpuSig: vcpuSig === undefined ? null : `0x${vcpuSig.toString(16)}`,
    vmmType,
    kernel: spec.kernelPath,
    initrd: spec.initrdPath,
    append: spec.append,
    guestFeatures: mode === 'snp' ? `0x${guestFeatures.toString(16)}` : undefined,
  });
}

function print(digest: Buffer, opts: MeasureCliOptions, inputs: Record<string, unknown>): void {
  const text = digest.toString(opts.outputFormat);
  if (opts.json) {
    const out = { measurement: digest.toString('hex'), base64: digest.toString('base64'), inputs };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else if (opts.verbose) {
    process.stdout.write(`Calculated ${MODE_NAMES[String(inputs.mode)] ?? inputs.mode} guest measurement: ${text}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
}

async function runVm(vmidText: string, opts: MeasureCliOptions, cmd: Command): Promise<void> {
  const { parseVmid } = await import('../../store/vmid.js');
  const vmid = parseVmid(vmidText);
  if (opts.mode || opts.kernel || opts.initrd || opts.append || opts.vcpus || opts.vcpuType || opts.vcpuSig) {
    usage('measure <vmid> takes its inputs from the VM config; only --ovmf, --guest-features, --host, --json and --output-format apply');
  }
  const { resolveRoot } = await import('../../store/root.js');
  const { measureVm, vmMeasurementInputs } = await import('../../measure/vm-load.js');
  const root = resolveRoot(cmd.optsWithGlobals().root as string | undefined);
  const guestFeatures = opts.guestFeatures === undefined ? undefined : parseAutoBaseInt(opts.guestFeatures, '--guest-features');
  const result = await measureVm(root, vmid, { host: opts.host, guestFeatures, ovmfPath: opts.ovmf });
  for (const note of result.plan.notes) printWarning(note);
  print(result.digest, opts, vmMeasurementInputs(result));
}

export function register(program: Command): void {
  program
    .command('measure')
    .description('predict the SEV / SEV-ES / SEV-SNP launch measurement (sev-snp-measure compatible), from flags or a VM')
    .argument('[vmid]', 'derive every input from this VM (config + generated QEMU command)')
    .addOption(new Option('--mode <mode>', 'guest mode').choices(['sev', 'seves', 'snp', 'snp:ovmf-hash', 'snp:svsm']))
    .option('--vcpus <N>', 'number of guest vCPUs')
    .option('--vcpu-type <CPUTYPE>', 'guest vCPU model (EPYC, EPYC-v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin, kvm64, qemu64, …)')
    .option('--vcpu-sig <VALUE>', 'guest vCPU signature value (CPUID 1 EAX)')
    .option('--vcpu-family <FAMILY>', 'guest vCPU family')
    .option('--vcpu-model <MODEL>', 'guest vCPU model')
    .option('--vcpu-stepping <STEPPING>', 'guest vCPU stepping')
    .option('--vmm-type <VMMTYPE>', 'type of guest VMM (QEMU, ec2, gce)', 'QEMU')
    .option('--ovmf <PATH>', 'OVMF file to calculate the hash from')
    .option('--kernel <PATH>', 'kernel file to calculate the hash from')
    .option('--initrd <PATH>', 'initrd file to calculate the hash from (use with --kernel)')
    .option('--append <CMDLINE>', 'kernel command line to calculate the hash from (use with --kernel)')
    .option('--guest-features <VALUE>', 'SEV_FEATURES of the SNP VMSAs (default 0x1)')
    .addOption(new Option('--output-format <fmt>', 'measurement output format').choices(['hex', 'base64']).default('hex'))
    .option('--snp-ovmf-hash <HASH>', 'precalculated snp:ovmf-hash of the OVMF binary (hex)')
    .option('--svsm <PATH>', 'snp:svsm: SVSM binary')
    .option('--vars-size <SIZE>', 'snp:svsm: size of the OVMF_VARS file in bytes')
    .option('--vars-file <PATH>', 'snp:svsm: OVMF_VARS file')
    .option('--dump-vmsa', 'write the measured VMSAs to vmsa<N>.bin in the current directory (seves, snp, snp:svsm)')
    .option('-v, --verbose', 'print "Calculated <MODE> guest measurement: …"')
    .option('--host <profile>', 'with <vmid>: host profile for command generation (default: probe this host)')
    .option('--json', 'print JSON with the measurement and the inputs used')
    .action(async (vmid: string | undefined, opts: MeasureCliOptions, cmd: Command) => {
      if (vmid !== undefined) await runVm(vmid, opts, cmd);
      else await runFlags(opts);
    });
}
