/**
 * @module lint/lint
 * `lintConfig`: runs the CVM rules over a VM config and, when host facts are given, checks the
 * config against this host too (SEV/TDX capabilities, firmware availability) by running the
 * same pure object/firmware builders the generator uses and turning their errors into findings.
 */
import type { VmConfig } from '../config/types.js';
import { getOvmfFiles } from '../firmware/select.js';
import { amdSevObject, intelTdxObject } from '../sev/object.js';
import { parseAmdSev, parseIntelTdx } from '../sev/parse.js';
import type { CvmError } from '../errors.js';
import { efidiskFormat } from '../config/options/index.js';
import { parsePropertyString } from '../schema/index.js';
import { type LintContext, RULES } from './rules.js';
import type { Finding, LintHost } from './types.js';

const on = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0';

function oneLine(message: string): string {
  return message
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' - ');
}

function parseInto(ctx: LintContext, findings: Finding[]): void {
  const { conf } = ctx;
  for (const [key, parse, slot] of [
    ['amd-sev', parseAmdSev, 'sev'],
    ['intel-tdx', parseIntelTdx, 'tdx'],
  ] as const) {
    if (!on(conf[key])) continue;
    try {
      ctx[slot] = parse(conf[key] as string);
    } catch (err) {
      findings.push({
        code: 'cvm-option-invalid',
        severity: 'error',
        key,
        message: `unable to parse value of '${key}' - ${oneLine((err as Error).message)} (qemu-server drops the key: the VM would start without it)`,
      });
    }
  }
  if (ctx.sev) ctx.cvmType = ctx.sev.type as LintContext['cvmType'];
  else if (ctx.tdx && !on(conf['amd-sev'])) ctx.cvmType = 'tdx';
}

function hostChecks(ctx: LintContext, host: LintHost, findings: Finding[]): void {
  const { conf, cvmType } = ctx;
  if (!cvmType) return;
  if (host.hwCapabilities) {
    try {
      // bios is forced so that only the host side of the checks speaks here
      if (cvmType === 'tdx') intelTdxObject({ ...conf, bios: 'ovmf' }, host.hwCapabilities);
      else amdSevObject({ ...conf, bios: 'ovmf' }, host.hwCapabilities);
    } catch (err) {
      const e = err as CvmError;
      if (e.code === 'HOST_UNSUPPORTED') {
        findings.push({
          code: 'host-unsupported',
          severity: 'error',
          key: cvmType === 'tdx' ? 'intel-tdx' : 'amd-sev',
          message: `on this host: ${e.message}`,
        });
      }
    }
  }
  if (host.firmware && conf.bios === 'ovmf') {
    try {
      const efidisk = conf.efidisk0 ? parsePropertyString(efidiskFormat, conf.efidisk0) : undefined;
      getOvmfFiles(host.firmware, host.arch ?? 'x86_64', efidisk, /q35/.test(conf.machine ?? ''), cvmType, conf.machine);
    } catch (err) {
      findings.push({ code: 'firmware-missing', severity: 'error', key: 'bios', message: `on this host: ${(err as Error).message}` });
    }
  }
}

/** Lint the main section of a VM config for confidential-computing problems. */
export function lintConfig(config: VmConfig, host?: LintHost): Finding[] {
  const ctx: LintContext = { conf: config.conf };
  const findings: Finding[] = [];
  parseInto(ctx, findings);
  for (const rule of RULES) findings.push(...rule(ctx));
  if (host) hostChecks(ctx, host, findings);
  for (const key of ['amd-sev', 'intel-tdx']) {
    if (config.pending[key] !== undefined || (config.pending.delete ?? '').split(/[,;\s]+/).includes(key)) {
      findings.push({
        code: 'cvm-pending',
        severity: 'info',
        key,
        message: `a pending change to ${key} takes effect only at the next cold start (not hotpluggable)`,
      });
    }
  }
  return findings;
}
