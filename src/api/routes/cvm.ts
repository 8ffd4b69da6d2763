/**
 * @module api/routes/cvm
 * cvmctl's confidential-computing extensions (not in PVE; no PVE client calls them):
 * `GET …/qemu/{vmid}/cvm` (CVM type, the guest policy word qemu-server would use and every bit
 * explained by the policy codec, lint findings against this host, the firmware the generated
 * command loads, generator warnings), `POST …/cvm/measure` (the expected launch digest, the
 * `cvmctl measure <vmid>` code path), `POST …/cvm/attest` (an uploaded SNP report, hex or
 * base64, verified against the VM's expected measurement and policy, the `attest verify --vmid`
 * code path; the result lists every check, a failed check is data, not an HTTP error),
 * `GET …/qemu/{vmid}/showcmd` (the QEMU command line, `pretty=1` one option per line) and
 * `GET /nodes/{node}/capabilities/qemu/cvm` (host SEV/SNP/TDX capability JSON with the probe's
 * notes). Reading a firmware file named in the request is root@pam only, like qemu-server's
 * path parameters.
 */

import { access } from 'node:fs/promises';
import { CvmError } from '../../errors.js';
import { currentConfig } from '../../config/file/views.js';
import type { VmConfig } from '../../config/types.js';
import type { HostFacts } from '../../host/facts.js';
import { paramError } from '../params.js';
import { allOf, assertRootOnly, nodeAcl, requirePrivs, vmAcl } from '../permissions.js';
import { node, optionalBool, vmPath } from '../schemas.js';
import type { ApiRequest, RouteDef } from '../types.js';
import { loadVm, vmidOf } from '../vm-task.js';

const audit = requirePrivs(vmAcl, ['VM.Audit']);
const GUEST_FEATURES = { type: 'string', optional: true, pattern: '0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20}' } as const;

async function command(cfg: VmConfig, facts: HostFacts) {
  const { configToCommand } = await import('../../qemu/cfg2cmd/index.js');
  return configToCommand(cfg, facts);
}

/** The policy word and its bits for an `amd-sev` VM. */
export async function policyOf(conf: Record<string, string>) {
  if (!conf['amd-sev']) return { policy: null, severity: null, bits: [] as unknown[] };
  const { computeSevPolicy, explainPolicy, formatPolicyHex, parseAmdSev } = await import('../../sev/index.js');
  const sev = parseAmdSev(conf['amd-sev']);
  const word = computeSevPolicy(sev);
  const x = explainPolicy(BigInt(word), sev.type === 'snp' ? 'snp' : 'sev');
  return {
    policy: formatPolicyHex(word),
    severity: x.severity,
    bits: x.bits.map((b) => ({ bit: b.bits, name: b.name, value: b.value, meaning: b.meaning, severity: b.severity })),
  };
}

async function cvmSummary(req: ApiRequest) {
  const cfg = await loadVm(req);
  const conf = currentConfig(cfg, true);
  const facts = await req.server.facts();
  const [{ getCvmType }, { lintConfig }, { firmwareFromArgv }] = await Promise.all([
    import('../../sev/index.js'),
    import('../../lint/index.js'),
    import('../../measure/vm-inputs.js'),
  ]);
  const warnings: string[] = [];
  let firmware: { path: string; via: string } | null = null;
  try {
    const res = await command(cfg, facts);
    warnings.push(...res.warnings);
    firmware = firmwareFromArgv(res.argv);
  } catch (err) {
    warnings.push(`no command line on this host: ${(err as Error).message}`);
  }
  return {
    vmid: cfg.vmid,
    type: getCvmType(conf) ?? null,
    ...(await policyOf(conf)),
    lint: lintConfig(cfg, { hwCapabilities: facts.hwCapabilities, firmware: facts.firmware, arch: facts.arch }),
    firmware,
    warnings,
  };
}

/** A report, certificate or chain sent as text: hex, base64 or PEM. */
function bytesParam(key: string, text: string, opts: { pem?: boolean } = {}): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (opts.pem && text.includes('-----BEGIN')) return Buffer.from(text, 'utf8');
  if (/^(?:[0-9a-fA-F]{2})+$/.test(compact)) return Buffer.from(compact, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) return Buffer.from(compact, 'base64');
  throw paramError({ [key]: `value is neither hex nor base64${opts.pem ? ' nor PEM' : ''}` });
}

async function measureWithServerFacts(req: ApiRequest, overrides: { guestFeatures?: bigint; ovmfPath?: string } = {}) {
  const { measureVm, readVmConfig, commandFor } = await import('../../measure/vm-load.js');
  const facts = await req.server.facts();
  return (root: string, vmid: number) =>
    measureVm(root, vmid, overrides, { readConfig: readVmConfig, hostFacts: async () => facts, command: commandFor });
}

export const cvmRoutes: RouteDef[] = [
  { method: 'GET', path: '/nodes/{node}/qemu/{vmid}/cvm', params: vmPath(), permissions: audit, handler: cvmSummary },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/cvm/measure',
    params: vmPath({
      ovmf: { type: 'string', optional: true, maxLength: 4096, description: 'Measure this firmware file on the node (root@pam only).' },
      'guest-features': GUEST_FEATURES,
    }),
    permissions: audit,
    handler: async (req) => {
      assertRootOnly(req, ['ovmf']);
      await loadVm(req);
      const gf = req.params['guest-features'];
      const measure = await measureWithServerFacts(req, {
        ...(gf !== undefined ? { guestFeatures: BigInt(gf) } : {}),
        ...(req.params.ovmf !== undefined ? { ovmfPath: req.params.ovmf } : {}),
      });
      const { vmMeasurementInputs } = await import('../../measure/vm-load.js');
      const result = await measure(req.server.root, vmidOf(req));
      return {
        measurement: result.digest.toString('hex'),
        base64: result.digest.toString('base64'),
        inputs: vmMeasurementInputs(result),
        notes: result.plan.notes,
      };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/cvm/attest',
    params: vmPath({
      report: { type: 'string', maxLength: 16_384, description: 'SNP attestation report (1184 bytes) as hex or base64.' },
      vcek: { type: 'string', optional: true, maxLength: 65_536, description: 'VCEK/VLEK certificate: PEM, or DER as hex/base64.' },
      chain: { type: 'string', optional: true, maxLength: 65_536, description: 'ASK+ARK PEM bundle (default: built-in AMD chain).' },
      nonce: {
        type: 'string',
        optional: true,
        pattern: '(?:[0-9a-fA-F]{2}){1,64}',
        description: 'REPORT_DATA must start with these bytes.',
      },
      'allow-debug': optionalBool('Accept a report whose policy allows debugging.'),
    }),
    permissions: audit,
    handler: async (req) => {
      const vmid = vmidOf(req);
      await loadVm(req);
      const report = bytesParam('report', req.params.report as string);
      const vcek = req.params.vcek !== undefined ? bytesParam('vcek', req.params.vcek, { pem: true }) : null;
      const chain = req.params.chain !== undefined ? bytesParam('chain', req.params.chain, { pem: true }) : null;
      const [{ expectationsFromVm }, { verifyReport }] = await Promise.all([
        import('../../attest/vm-expectations.js'),
        import('../../attest/verify.js'),
      ]);
      const vm = await expectationsFromVm(req.server.root, vmid, { measure: await measureWithServerFacts(req) });
      const result = verifyReport({
        report,
        vcek,
        chain,
        expected: {
          measurement: vm.measurement,
          measurementSource: vm.measurementSource,
          policy: vm.policy,
          nonce: req.params.nonce,
          allowDebug: req.params['allow-debug'] === '1',
        },
      });
      for (const p of vm.problems) result.checks.push({ id: p.id, status: 'fail', detail: p.detail });
      const failed = result.checks.filter((c) => c.status === 'fail').map((c) => c.id);
      return {
        ok: failed.length === 0,
        failed,
        product: result.product,
        chainSource: result.chainSource,
        version: result.report.version,
        measurement: result.report.measurement.toString('hex'),
        expectedMeasurement: vm.measurement ?? null,
        checks: result.checks,
        notes: vm.notes,
      };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/showcmd',
    params: vmPath({
      pretty: optionalBool('One option per line.'),
      snapshot: { type: 'string', optional: true, format: 'pve-configid', maxLength: 40 },
    }),
    permissions: allOf(audit, requirePrivs(nodeAcl, ['Sys.Audit'])),
    handler: async (req) => {
      const cfg = await loadVm(req);
      const { configToCommand } = await import('../../qemu/cfg2cmd/index.js');
      const { renderCommand, renderPretty } = await import('../../qemu/args.js');
      const res = configToCommand(
        cfg,
        await req.server.facts(),
        req.params.snapshot !== undefined ? { snapshot: req.params.snapshot } : {},
      );
      return req.params.pretty === '1' ? renderPretty(res.argv) : renderCommand(res.argv);
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/capabilities/qemu/cvm',
    params: { node },
    permissions: requirePrivs(nodeAcl, ['Sys.Audit']),
    handler: async () => {
      const [{ probeHwCapabilities }, { HW_CAPABILITIES_PATH, readHwCapabilities }] = await Promise.all([
        import('../../host/capabilities/probe.js'),
        import('../../host/capabilities/reader.js'),
      ]);
      // like qemu-server: the file written at boot wins; the live probe explains what it saw
      const probed = await probeHwCapabilities();
      const fromFile = await access(HW_CAPABILITIES_PATH).then(
        () => true,
        () => false,
      );
      const caps = fromFile ? await readHwCapabilities(HW_CAPABILITIES_PATH) : probed.json;
      if ('error' in caps) throw new CvmError('HOST_UNSUPPORTED', caps.error);
      return {
        capabilities: caps,
        source: fromFile ? 'file' : 'probe',
        ...(fromFile ? { path: HW_CAPABILITIES_PATH } : {}),
        vendor: probed.vendor ?? null,
        notes: probed.notes,
      };
    },
  },
];
