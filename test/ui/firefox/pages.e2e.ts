/**
 * @module test/ui/firefox/pages
 * The web UI's core paths in Firefox ESR (WebDriver BiDi, one browser for the file) against a
 * real `cvmctl serve`: login (a wrong password refused), the overview with VMs of each CVM type
 * and its filter, the confidential-computing panel (the policy word from the server changing as
 * debugging is disallowed, host fit, the EFI-disk conflict and its one-click fix), the wizard's
 * server-side validation message next to the field, an ended session answered by the login
 * dialog with the filter kept, logout. No console error anywhere.
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Browser } from 'puppeteer-core';
import { PASSWORD, type Served, startServe } from '../server.js';
import { button, count, expectText, field, fill, launchFirefox, link, logIn, openTab, shot, textOf } from './firefox.js';

let served: Served;
let browser: Browser;
const conf = (vmid: number) => join(served.root, 'qemu-server', `${vmid}.conf`);

test.beforeAll(async () => {
  [served, browser] = await Promise.all([startServe('firefox-pages'), launchFirefox()]);
  const dir = join(served.root, 'qemu-server');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 60; i++) {
    const lines = [`name: vm-${1000 + i}`, `memory: ${512 * (1 + (i % 4))}`, `cores: ${1 + (i % 3)}`];
    if (i % 3 === 0) lines.push('amd-sev: type=snp', 'bios: ovmf');
    else if (i % 3 === 1) lines.push('intel-tdx: type=tdx,attestation=1', 'bios: ovmf');
    writeFileSync(join(dir, `${1000 + i}.conf`), `${lines.join('\n')}\n`);
  }
  const r = served.cvmctl('create', '300', '--name', 'cvm-edit', '--memory', '1024', '--bios', 'ovmf');
  expect(r.status, r.stderr).toBe(0);
  writeFileSync(conf(300), `${readFileSync(conf(300), 'utf8')}efidisk0: local:300/vm-300-disk-0.qcow2,efitype=4m,size=528K\n`);
});
test.afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

test('login, overview with VMs, filter, logout', async () => {
  const { page, errors, close } = await openTab(browser);
  await page.goto(served.url);
  await expectText(page, 'h1', /log in/);
  await shot(page, 'login');
  await fill(page, 'User name', 'root');
  await fill(page, 'Password', 'not-the-password');
  await (await button(page, 'Log in')).click();
  await expectText(page, '[role="alert"]', /^Login failed/);
  expect(await (await field(page, 'User name')).evaluate((el) => (el as HTMLInputElement).value)).toBe('root');

  await logIn(page, served.url);
  await expectText(page, '#node-title', 'Node uinode');
  await expectText(page, '.facts', /QEMU[\s\S]*\d+\.\d+\.\d+/);
  await expect.poll(() => count(page, 'table.vms tbody tr')).toBe(61);
  await expectText(page, '.card-head .muted', '61 of 61');
  await expectText(page, 'table.vms tbody tr:nth-child(2) .badge', 'SEV-SNP'); // 300 first, then 1000
  await expectText(page, 'table.vms tbody tr:nth-child(3) .badge', 'TDX');
  await expectText(page, 'table.vms tbody tr:nth-child(4) .badge', 'none');
  await shot(page, 'overview');

  await fill(page, 'Filter', 'tdx');
  await expectText(page, '.card-head .muted', '20 of 61');
  expect(await count(page, 'table.vms tbody tr')).toBe(20);
  await fill(page, 'Filter', '');
  await (await button(page, 'ID')).click();
  await expectText(page, 'th[aria-sort="descending"]', /^ID/);
  await expectText(page, 'table.vms tbody tr:first-child td', '1059');

  await (await button(page, 'Log out')).click();
  await expectText(page, 'h1', /log in/);
  await page.reload();
  await expectText(page, 'h1', /log in/);
  expect(errors).toEqual([]);
  await close();
});

test('confidential panel: policy word live, host fit, EFI-disk conflict and its fix', async () => {
  const { page, errors, close } = await openTab(browser);
  await logIn(page, served.url);
  await page.goto(`${served.url}/#/vm/300`);
  await expectText(page, '#cvm-title', 'Confidential computing');
  expect(await (await field(page, 'Disabled', 'section.cvm')).evaluate((el) => (el as HTMLInputElement).checked)).toBe(true);
  // this host has no SEV: every type says so, with the capability that is off
  await expectText(page, '#cvm-misfit-snp', /not on this host: .*sev-support-snp/);

  await (await field(page, 'AMD SEV-SNP', 'section.cvm')).click();
  await expectText(page, '[data-testid="policy-word"]', '0xb0000');
  await expectText(page, 'tr[data-bit="19"] td:nth-child(3)', '1');
  await (await field(page, 'Allow debugging', 'section.cvm')).click();
  await expectText(page, '[data-testid="policy-word"]', '0x30000');
  await expectText(page, 'tr[data-bit="19"] td:nth-child(3)', '0');
  await expectText(page, '.conflicts', /efidisk0/);
  await shot(page, 'cvm-panel', { fullPage: true });

  await (await button(page, 'Save', 'section.cvm')).click();
  await expectText(page, 'section.cvm [role="status"]', 'Saved.');
  expect(readFileSync(conf(300), 'utf8')).toMatch(/^amd-sev: snp,no-debug=1$/m);
  await (await button(page, 'Fix firmware settings', 'section.cvm')).click();
  await expect.poll(() => count(page, 'section.cvm .conflicts')).toBe(0);
  expect(readFileSync(conf(300), 'utf8')).not.toMatch(/^efidisk0:/m);
  await expectText(page, '[data-testid="showcmd"]', /-machine|no command line: .*sev/i);
  expect(errors).toEqual([]);
  await close();
});

test('wizard: the server refuses a name, the message is next to the field', async () => {
  const { page, errors, close } = await openTab(browser);
  await logIn(page, served.url);
  await (await link(page, 'Create VM')).click();
  await expect.poll(async () => (await field(page, 'VM ID', 'section.wizard')).evaluate((el) => (el as HTMLInputElement).value)).toBe('100');
  await fill(page, 'Name', 'not a dns name!', 'section.wizard');
  for (let i = 0; i < 3; i++) await (await button(page, 'Next', 'section.wizard')).click();
  await (await button(page, 'Create', 'section.wizard')).click();
  await expectText(page, '#wiz-name-error', /does not look like a valid DNS name/);
  expect(await (await field(page, 'Name', 'section.wizard')).evaluate((el) => el.getAttribute('aria-invalid'))).toBe('true');
  await shot(page, 'wizard-error');
  expect(errors).toEqual([]);
  await close();
});

test('an ended session brings the login dialog; the filter stays', async () => {
  const { page, errors, close } = await openTab(browser);
  await logIn(page, served.url);
  await fill(page, 'Filter', 'vm-1004');
  await expect.poll(() => count(page, 'table.vms tbody tr')).toBe(1);
  rmSync(join(served.root, 'priv', 'authkey.key')); // every ticket becomes invalid, as when it expires
  await expect.poll(() => count(page, 'dialog[open][aria-label="Session expired"]'), { timeout: 30_000 }).toBe(1);
  expect(await textOf(page, 'dialog[open] [role="status"]')).toMatch(/session has expired/);
  await shot(page, 'session-expired');
  await fill(page, 'Password', PASSWORD, 'dialog[open]');
  await (await button(page, 'Log in', 'dialog[open]')).click();
  await expect.poll(() => count(page, 'dialog[open]')).toBe(0);
  expect(await (await field(page, 'Filter')).evaluate((el) => (el as HTMLInputElement).value)).toBe('vm-1004');
  await expect.poll(() => count(page, 'table.vms tbody tr')).toBe(1);
  expect(errors).toEqual([]);
  await close();
});
