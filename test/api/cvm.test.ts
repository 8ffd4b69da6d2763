/**
 * @module test/api/cvm
 * The confidential-computing extensions through the API, on a server whose host facts are the
 * Turin test profile (SEV-SNP capable, Proxmox firmware table): `…/cvm` (type, policy word,
 * bits, lint, firmware), `…/cvm/measure` against sev-snp-measure's vectors for synthetic
 * firmware and kernel files, `…/cvm/attest` with AMD's Milan report (signature and chain pass,
 * policy compared with the VM's), `…/showcmd`, `capabilities/qemu/cvm`, and their error paths.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHostProfile } from '../../src/host/profiles/index.js';
import { AMD_TURIN_9005 } from '../../src/host/profiles/pve-test.js';
import { type SyntheticFiles, writeSyntheticFiles } from '../fixtures/measure/synthetic-ovmf.js';
import { SYNTHETIC_VECTORS } from '../fixtures/measure/synthetic-vectors.js';
import { dataOf, NODE, startTestServer, type TestServer } from './helpers.js';

const ATTEST = join(import.meta.dirname, '../fixtures/attest');
const vector = (name: string) => SYNTHETIC_VECTORS.find(([n]) => n === name)?.[2] as string;

let t: TestServer;
let files: SyntheticFiles;

beforeAll(async () => {
  const facts = await loadHostProfile('pve-test', {});
  t = await startTestServer({ facts: { ...facts, hwCapabilities: structuredClone(AMD_TURIN_9005) } });
  files = writeSyntheticFiles(join(t.root, 'synth'));
  mkdirSync(join(t.root, 'qemu-server'), { recursive: true });
  const args = `-kernel ${files.kernel} -initrd ${files.initrd} -append 'console=ttyS0 root=/dev/vda'`;
  writeFileSync(
    join(t.root, 'qemu-server', '8006.conf'),
    `amd-sev: type=snp,kernel-hashes=1\nbios: ovmf\ncores: 2\nsockets: 2\ncpu: EPYC-Milan\nmemory: 2048\nargs: ${args}\n`,
  );
  writeFileSync(
    join(t.root, 'qemu-server', '8007.conf'),
    'amd-sev: type=snp,no-debug=1\nbios: ovmf\ncores: 1\ncpu: EPYC-Milan\nmemory: 2048\n',
  );
  writeFileSync(join(t.root, 'qemu-server', '8010.conf'), 'memory: 512\n');
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const vm = (vmid: number, rest = '') => `/nodes/${NODE}/qemu/${vmid}${rest}`;

describe('GET …/cvm', () => {
  it('explains the SNP policy word bit by bit and lints the config', async () => {
    const data = dataOf<Record<string, unknown>>(await t.call('GET', vm(8006, '/cvm')));
    expect(data.type).toBe('snp');
    // qemu-server: SNP policy 0x30000 | DEBUG (bit 19) unless no-debug=1
    expect(data.policy).toBe('0xb0000');
    const bits = data.bits as { bit: string; name: string; value: number; severity: string }[];
    expect(bits.find((b) => b.bit === '19')).toMatchObject({ value: 1, severity: 'critical' });
    expect(bits.find((b) => b.bit === '16')).toMatchObject({ value: 1 });
    const lint = data.lint as { code: string; severity: string }[];
    expect(lint.map((f) => f.code)).toContain('cvm-debug-allowed');
    expect(data.firmware).toMatchObject({ via: 'bios' });
    // the firmware the generated command loads: the same file as showcmd's -bios
    const cmd = dataOf<string>(await t.call('GET', vm(8006, '/showcmd')));
    expect(cmd).toContain(` -bios ${(data.firmware as { path: string }).path} `);
  });

  it('no-debug=1 clears the debug bit; a VM without CVM has type null and no bits', async () => {
    expect(dataOf(await t.call('GET', vm(8007, '/cvm'))).policy).toBe('0x30000');
    const plain = dataOf(await t.call('GET', vm(8010, '/cvm')));
    expect(plain).toMatchObject({ type: null, policy: null, bits: [] });
  });

  it('a missing VM is the usual 500', async () => {
    const r = await t.call('GET', vm(9999, '/cvm'));
    expect([r.status, r.reason]).toEqual([500, `Configuration file 'nodes/${NODE}/qemu-server/9999.conf' does not exist`]);
  });
});

describe('POST …/cvm/measure', () => {
  it('matches sev-snp-measure for measured direct boot with the firmware given by root', async () => {
    const r = await t.call('POST', vm(8006, '/cvm/measure'), { form: { ovmf: files.amdsev, 'guest-features': '0x21' } });
    expect(r.status, r.reason).toBe(200);
    const data = dataOf<{ measurement: string; base64: string; inputs: Record<string, unknown> }>(r);
    expect(data.measurement).toBe(vector('snp 4 Milan kernel+initrd+append feat 0x21'));
    expect(Buffer.from(data.base64, 'base64').toString('hex')).toBe(data.measurement);
    expect(data.inputs).toMatchObject({ mode: 'snp', vcpus: 4, vcpuModel: 'EPYC-Milan', kernelHashes: true, ovmf: files.amdsev });
    const dflt = await t.call('POST', vm(8006, '/cvm/measure'), { form: { ovmf: files.amdsev } });
    expect(dataOf<{ measurement: string }>(dflt).measurement).toBe(vector('snp 4 Milan kernel+initrd+append default features'));
  });

  it('naming a firmware file is root@pam only', async () => {
    const r = await t.call('POST', vm(8006, '/cvm/measure'), { as: { token: t.rootToken }, form: { ovmf: '/etc/shadow' } });
    expect(r.status).toBe(400);
    expect(r.body?.errors).toEqual({ ovmf: 'Only root may use this option.' });
  });

  it('bad guest features are a 400; a VM without SEV cannot be measured', async () => {
    expect((await t.call('POST', vm(8006, '/cvm/measure'), { form: { 'guest-features': 'zz' } })).status).toBe(400);
    const r = await t.call('POST', vm(8010, '/cvm/measure'));
    expect([r.status, r.reason]).toEqual([400, "VM 8010 has no 'amd-sev' setting: nothing to measure"]);
  });
});

describe('POST …/cvm/attest', () => {
  const reportHex = readFileSync(join(ATTEST, 'report_milan.hex'), 'utf8').trim();
  const vcekB64 = readFileSync(join(ATTEST, 'vcek_milan.der')).toString('base64');

  it('verifies signature and chain, and compares the policy with the VM', async () => {
    const r = await t.call('POST', vm(8007, '/cvm/attest'), { form: { report: reportHex, vcek: vcekB64 } });
    expect(r.status, r.reason).toBe(200);
    const data = dataOf<{ ok: boolean; failed: string[]; checks: { id: string; status: string }[]; measurement: string }>(r);
    const byId = Object.fromEntries(data.checks.map((c) => [c.id, c.status]));
    expect(byId['report.signature']).toBe('pass');
    expect(byId['chain.ark']).toBe('pass');
    expect(byId.policy).toBe('pass'); // no-debug=1 ⇒ 0x30000, as in the report
    expect(data.measurement).toMatch(/^7a1e5c26/);
    // the report comes from another guest: its measurement cannot match this VM's
    expect(data.ok).toBe(false);
    expect(data.failed).toContain('measurement');
  });

  it('the same report as base64 gives the same checks', async () => {
    const b64 = Buffer.from(reportHex, 'hex').toString('base64');
    const a = dataOf<{ checks: { id: string; status: string }[] }>(
      await t.call('POST', vm(8007, '/cvm/attest'), { form: { report: b64, vcek: vcekB64 } }),
    );
    const h = dataOf<{ checks: { id: string; status: string }[] }>(
      await t.call('POST', vm(8007, '/cvm/attest'), { form: { report: reportHex, vcek: vcekB64 } }),
    );
    const summary = (checks: { id: string; status: string }[]) => checks.map((c) => `${c.id}=${c.status}`);
    expect(summary(a.checks)).toEqual(summary(h.checks));
  });

  it('a report that is neither hex nor base64, or too short, is a 400', async () => {
    const bad = await t.call('POST', vm(8007, '/cvm/attest'), { form: { report: 'not a report!' } });
    expect(bad.status).toBe(400);
    expect(bad.body?.errors?.report).toBe('value is neither hex nor base64');
    const short = await t.call('POST', vm(8007, '/cvm/attest'), { form: { report: 'abcd' } });
    expect(short.status).toBe(400);
    expect(short.reason).toMatch(/^attestation report must be 1184 bytes/);
  });
});

describe('showcmd and host capabilities', () => {
  it('returns the command line, one option per line with pretty=1', async () => {
    const one = dataOf<string>(await t.call('GET', vm(8007, '/showcmd')));
    expect(one).toMatch(/^\/usr\/bin\/kvm -id 8007 /);
    expect(one).toMatch(/sev-snp-guest/);
    const pretty = dataOf<string>(await t.call('GET', vm(8007, '/showcmd'), { query: { pretty: '1' } }));
    expect(pretty.split('\n').length).toBeGreaterThan(5);
  });

  it('reports host capabilities with the probe notes; needs Sys.Audit on the node', async () => {
    const data = dataOf<{ capabilities: Record<string, unknown>; source: string; notes: string[] }>(
      await t.call('GET', `/nodes/${NODE}/capabilities/qemu/cvm`),
    );
    expect(['file', 'probe']).toContain(data.source);
    expect(typeof data.capabilities).toBe('object');
    expect(Array.isArray(data.notes)).toBe(true);
    await t.addUser('nobody@pve', 'nobody-secret', { '/vms': ['PVEVMUser'] });
    const r = await t.call('GET', `/nodes/${NODE}/capabilities/qemu/cvm`, { as: await t.login('nobody@pve', 'nobody-secret') });
    expect([r.status, r.reason]).toEqual([403, `Permission check failed (/nodes/${NODE}, Sys.Audit)`]);
  });
});
