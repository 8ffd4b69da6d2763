/**
 * @module conformance/runner
 * Runs cfg2cmd cases the way qemu-server's run_config2command_tests.pl does: parse the
 * `.conf` as `<path>/qemu-server/8006.conf`, set up the `pve-test` host with the case's
 * header overrides, generate, then compare either the error (EXPECT_ERROR) or the pretty
 * command line split at line breaks (ignoring trailing backslashes and indentation) against `<conf>.cmd`. Perl `warn`s fail a case unless
 * they equal EXPECT_WARN. Cases without `.cmd` and without EXPECT_ERROR are reported as
 * skipped (the harness would write the file instead of checking it).
 */

import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseVmConfig } from '../config/file/index.js';
import { isCvmError } from '../errors.js';
import type { HostArch, HostFacts, HwCapabilities } from '../host/facts.js';
import { HW_CAPABILITY_FIXTURES, pveTestProfile } from '../host/profiles/pve-test.js';
import { commandLines, renderPretty } from '../qemu/args.js';
import { configToCommand } from '../qemu/cfg2cmd/index.js';
import { unifiedDiff } from './diff.js';
import { type CaseHeaders, parseHeaders } from './headers.js';

export type CaseStatus = 'pass' | 'fail' | 'skip';

export interface CaseResult {
  file: string;
  name: string;
  status: CaseStatus;
  /** Why it failed (or was skipped), and the unified diff for command mismatches. */
  detail?: string;
}

/** The pve-test host adjusted by a case's headers. */
export function hostForCase(headers: CaseHeaders): HostFacts {
  const host = pveTestProfile();
  // without QEMU_VERSION the harness uses the build host's real binary: 11.0.2 (spec §13)
  host.qemuVersion = headers.qemuVersion ?? host.qemuInstalledVersion;
  host.arch = (headers.hostArch ?? 'x86_64') as HostArch;
  host.cpuVendor = headers.hostCpuVendor;
  if (headers.hwCapabilities !== undefined) {
    const fixture = HW_CAPABILITY_FIXTURES[headers.hwCapabilities.toLowerCase()];
    if (fixture) host.hwCapabilities = structuredClone(fixture);
    else {
      try {
        host.hwCapabilities = JSON.parse(headers.hwCapabilities) as HwCapabilities;
      } catch (err) {
        host.hwCapabilities = { error: (err as Error).message };
      }
    }
  }
  return host;
}

const errorText = (err: unknown): string => (isCvmError(err) || err instanceof Error ? err.message : String(err)).replace(/\n$/, '');

/** Run one `.conf` case; `expectedCmd` is the `.cmd` content or undefined when missing. */
export function runCase(file: string, raw: string, expectedCmd: string | undefined): CaseResult {
  const fileName = basename(file);
  const parseWarnings: string[] = [];
  let name = `'${fileName}'`;
  try {
    const config = parseVmConfig(`${file}/qemu-server/8006.conf`, raw, {
      strict: false,
      warn: (m) => parseWarnings.push(m),
    });
    const headers = parseHeaders(config.conf.description);
    name = headers.description ? `'${fileName}' - ${headers.description}` : fileName;
    if (parseWarnings.length)
      return {
        file,
        name,
        status: 'fail',
        detail: `got unexpected warning '${parseWarnings[0]}'`,
      };
    let result: ReturnType<typeof configToCommand> | undefined;
    let error: string | undefined;
    try {
      result = configToCommand(config, hostForCase(headers));
    } catch (err) {
      error = errorText(err);
    }
    const warnings = result?.perlWarnings ?? [];
    for (const w of warnings) {
      if (headers.expectWarning === undefined)
        return {
          file,
          name,
          status: 'fail',
          detail: `got unexpected warning '${w}'`,
        };
      if (w !== headers.expectWarning) {
        return {
          file,
          name,
          status: 'fail',
          detail: `warning does not match expected error: '${w}' != '${headers.expectWarning}'`,
        };
      }
    }
    if (headers.expectError !== undefined) {
      if (error === undefined)
        return {
          file,
          name,
          status: 'fail',
          detail: `did NOT get any error, but expected error: ${headers.expectError}`,
        };
      if (error !== headers.expectError) {
        return {
          file,
          name,
          status: 'fail',
          detail: `error does not match expected error: '${error}' !~ '${headers.expectError}'`,
        };
      }
      return { file, name, status: 'pass' };
    }
    if (error !== undefined)
      return {
        file,
        name,
        status: 'fail',
        detail: `got unexpected error: ${error}`,
      };
    if (expectedCmd === undefined)
      return {
        file,
        name,
        status: 'skip',
        detail: `no ${fileName}.cmd to compare with`,
      };
    const got = commandLines(renderPretty((result as NonNullable<typeof result>).argv));
    const exp = commandLines(expectedCmd);
    const diff = unifiedDiff(exp, got, [`${fileName}.cmd`, 'generated']);
    return diff ? { file, name, status: 'fail', detail: `files differ:\n${diff}` } : { file, name, status: 'pass' };
  } catch (err) {
    return {
      file,
      name,
      status: 'fail',
      detail: `got unexpected error: ${errorText(err)}`,
    };
  }
}

/** The `.conf` files of one folder (non-recursive), sorted by name, or the single given file. */
export async function caseFiles(target: string): Promise<string[]> {
  if (target.endsWith('.conf')) return [target];
  const entries = await readdir(target, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /^.+\.conf$/.test(e.name))
    .map((e) => join(target, e.name))
    .sort();
}

export async function runFile(file: string): Promise<CaseResult> {
  const raw = await readFile(file, 'utf8');
  let expected: string | undefined;
  try {
    expected = await readFile(`${file}.cmd`, 'utf8');
  } catch {
    expected = undefined;
  }
  return runCase(file, raw, expected);
}

export async function runTargets(targets: string[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const target of targets) {
    for (const file of await caseFiles(target)) results.push(await runFile(file));
  }
  return results;
}
