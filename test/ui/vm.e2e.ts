/**
 * @module test/ui/vm
 * The VM page in Chromium against a real `cvmctl serve`: the confidential-computing panel
 * (choosing SEV-SNP shows the policy word from the server, unticking "Allow debugging" clears
 * bit 19 and changes the word, the OVMF/EFI-disk conflicts and their one-click fix, saving
 * writes PVE's value into the config file, lint and the command line are shown), a pending
 * change highlighted and reverted, and a plain TCG VM started and stopped with the task log.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { expectAccessible, logIn, SHOTS, type Served, startServe, watchConsole } from './server.js';

let served: Served;
const conf = (vmid: number) => join(served.root, 'qemu-server', `${vmid}.conf`);

test.beforeAll(async () => {
  served = await startServe('vm');
  const r = served.cvmctl('create', '300', '--name', 'cvm-edit', '--memory', '1024', '--bios', 'seabios');
  expect(r.status, r.stderr).toBe(0);
  // an EFI disk as the config names it (the panel must flag it for SNP); a VM with a pending change
  writeFileSync(conf(300), `${readFileSync(conf(300), 'utf8')}efidisk0: local:300/vm-300-disk-0.qcow2,efitype=4m,size=528K\n`);
  const pending = served.cvmctl('create', '302', '--name', 'pending', '--memory', '1024');
  expect(pending.status, pending.stderr).toBe(0);
  writeFileSync(conf(302), `${readFileSync(conf(302), 'utf8')}\n[PENDING]\nmemory: 2048\n`);
  const snp = served.cvmctl('create', '303', '--name', 'snp-attest', '--memory', '1024', '--bios', 'ovmf', '--amd-sev', 'type=snp,no-debug=1');
  expect(snp.status, snp.stderr).toBe(0);
  const tcg = served.cvmctl('create', '301', '--name', 'tcg', '--memory', '64', '--cores', '1', '--kvm', '0', '--vga', 'none');
  expect(tcg.status, tcg.stderr).toBe(0);
});
test.afterAll(async () => {
  served.cvmctl('stop', '301');
  served.cvmctl('stop', '304');
  await served.stop();
});

test('confidential panel: policy bits live from the server, conflicts and their fix, save', async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, served.url);
  await page.goto(`${served.url}/#/vm/300`);
  const panel = page.locator('section.cvm');
  await expect(panel.getByRole('heading', { name: 'Confidential computing' })).toBeVisible();
  await expect(panel.getByLabel('Disabled')).toBeChecked();

  await panel.getByLabel('AMD SEV-SNP').check();
  const word = panel.getByTestId('policy-word');
  // qemu-server's SNP default allows debugging: bit 19 set
  await expect(word).toHaveText('0xb0000');
  await expect(panel.locator('tr[data-bit="19"] td').nth(2)).toHaveText('1');
  await expect(panel.locator('tr[data-bit="19"]')).toContainText('critical');
  await expect(panel.getByLabel('Allow key sharing')).toHaveCount(0); // hidden for SNP, as in PVE
  await panel.getByLabel('Allow debugging').uncheck();
  await expect(word).toHaveText('0x30000');
  await expect(panel.locator('tr[data-bit="19"] td').nth(2)).toHaveText('0');
  await expect(panel.getByText('amd-sev: snp,no-debug=1')).toBeVisible();

  // SNP and the VM's firmware settings conflict: seabios and an EFI disk
  const conflicts = panel.locator('.conflicts');
  await expect(conflicts).toContainText('needs OVMF firmware: bios is seabios');
  await expect(conflicts).toContainText('efidisk0');
  await expectAccessible(page, 'VM page');
  await panel.screenshot({ path: join(SHOTS, 'cvm-panel.png') });
  await page.screenshot({ path: join(SHOTS, 'vm-page.png'), fullPage: true });

  await panel.getByRole('button', { name: 'Save' }).click();
  await expect(panel.getByRole('status')).toHaveText('Saved.');
  expect(readFileSync(conf(300), 'utf8')).toMatch(/^amd-sev: snp,no-debug=1$/m);
  await expect(panel.getByLabel('AMD SEV-SNP')).toBeChecked();
  await expect(panel.getByTestId('policy-word')).toHaveText('0x30000');
  // the saved VM's lint runs against it
  await expect(panel.locator('ul.lint li, p.ok').first()).toBeVisible();

  await panel.getByRole('button', { name: 'Fix firmware settings' }).click();
  await expect(panel.locator('.conflicts')).toHaveCount(0);
  const fixed = readFileSync(conf(300), 'utf8').split('[PENDING]')[0] as string;
  expect(fixed).toMatch(/^bios: ovmf$/m);
  expect(fixed).not.toMatch(/^efidisk0:/m);
  // this host has no SEV: the command line is refused with the generator's reason, shown in its place
  await expect(panel.getByTestId('showcmd')).toContainText(/-machine|no command line: .*sev/i);
  expect(errors).toEqual([]);
});

test('a pending change is highlighted and reverted', async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, served.url);
  await page.goto(`${served.url}/#/vm/302`);
  const row = page.locator('table.config tr', { has: page.getByRole('rowheader', { name: 'memory', exact: true }) });
  await expect(row).toHaveClass(/pending/);
  await expect(row.locator('td').nth(0)).toHaveText('1024');
  await expect(row.locator('td').nth(1)).toHaveText('2048');
  await expectAccessible(page, 'VM page with a pending change');
  await row.getByRole('button', { name: 'Revert memory' }).click();
  await expect(row).not.toHaveClass(/pending/);
  await expect(row.locator('td').nth(0)).toHaveText('1024');
  await expect(row.locator('td').nth(1)).toHaveText('');
  expect(readFileSync(conf(302), 'utf8')).not.toContain('[PENDING]');
  expect(errors).toEqual([]);
});

test('attestation: a report checked by the server, each step with its result', async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, served.url);
  await page.goto(`${served.url}/#/vm/303`);
  const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Measurement and attestation' }) });
  await panel.getByRole('button', { name: 'Compute expected measurement' }).click();
  // this host has no SNP firmware descriptor: the server's reason is shown; with one, the digest
  await expect(panel.getByTestId('measurement').or(panel.locator('p.error'))).toBeVisible();
  // AMD's Milan sample report: genuine, but not this VM's launch
  const report = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'attest', 'report_milan.hex'), 'utf8');
  await panel.getByLabel('Attestation report (hex or base64)').fill(report);
  await panel.getByRole('button', { name: 'Verify report' }).click();
  await expect(panel.getByRole('status')).toContainText('Report refused');
  const rows = panel.locator('table.checks tbody tr');
  await expect(rows.first()).toBeVisible();
  const results = await rows.locator('td:nth-child(2)').allInnerTexts();
  expect(results.length).toBeGreaterThan(2);
  expect(results).toContain('fail');
  expect(results.every((r) => ['pass', 'fail', 'skip'].includes(r))).toBe(true);
  await expectAccessible(page, 'attestation result');
  await panel.screenshot({ path: join(SHOTS, 'attestation.png') });
  expect(errors).toEqual([]);
});

test('the serial console shows SeaBIOS booting', async ({ page }) => {
  const errors = watchConsole(page);
  // vga: none with a serial port: qemu-server's -nographic, so SeaBIOS prints to the serial port
  const r = served.cvmctl('create', '304', '--name', 'console', '--memory', '64', '--cores', '1', '--kvm', '0', '--vga', 'none', '--serial0', 'socket');
  expect(r.status, r.stderr).toBe(0);
  await logIn(page, served.url);
  await page.goto(`${served.url}/#/vm/304`);
  await page.getByRole('button', { name: 'Start' }).click();
  const consoleLog = page.getByTestId('console');
  await expect(consoleLog).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('status').filter({ hasText: /^connected|^closed|^connection/ })).toHaveText('connected');
  // the boot may have printed before the console connected: reset the VM to see it from the start
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(consoleLog).toContainText(/SeaBIOS \(version [^)]+\)/, { timeout: 60_000 });
  // SeaBIOS starts with ESC c, ESC[?7l, ESC[2J: the terminal applies them, none shows as text
  await expect(consoleLog).not.toContainText(/\[\?7l|\[2J|\x1b/);
  await expectAccessible(page, 'serial console');
  await page.screenshot({ path: join(SHOTS, 'serial-console.png'), fullPage: true });
  expect(served.cvmctl('stop', '304').status).toBe(0);
  expect(errors).toEqual([]);
});

test('start and stop a TCG VM, with the task log', async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, served.url);
  await page.goto(`${served.url}/#/vm/301`);
  const status = page.getByTestId('vm-status');
  await expect(status).toHaveText('stopped');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByRole('status').filter({ hasText: /^Task/ })).toHaveText('Task OK', { timeout: 60_000 });
  await expect(page.getByRole('log', { name: 'Task log' })).toContainText('TASK OK');
  await expect(status).toHaveText('running', { timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Start' })).toBeDisabled();
  await page.screenshot({ path: join(SHOTS, 'vm-running.png'), fullPage: true });
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByRole('status').filter({ hasText: /^Task/ })).toHaveText('Task OK', { timeout: 60_000 });
  await expect(status).toHaveText('stopped', { timeout: 30_000 });
  expect(errors).toEqual([]);
});

test('a VM that does not exist: a clear message, a way back, no endless polling', async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, served.url);
  let reads = 0;
  page.on('request', (r) => {
    if (r.url().includes('/qemu/999/status/current')) reads++;
  });
  await page.goto(`${served.url}/#/vm/999`);
  await expect(page.getByRole('heading', { name: 'VM 999' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('There is no VM 999 on this node.');
  await expectAccessible(page, 'missing VM');
  await page.waitForTimeout(7_000); // two poll periods
  expect(reads).toBe(1);
  await page.getByRole('link', { name: 'Back to the overview' }).click();
  await expect(page.getByRole('heading', { name: /^Node / })).toBeVisible();
  expect(errors).toEqual([]);
});

test('a phone-wide window: nothing wider than the screen on the login and VM pages', async ({ page }) => {
  const errors = watchConsole(page);
  await page.setViewportSize({ width: 420, height: 860 });
  const overflow = () => page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  await page.goto(served.url);
  await expect(page.getByLabel('Realm')).toBeVisible();
  expect(await overflow()).toBe(0);
  await logIn(page, served.url);
  // long values (an EFI disk spec, smbios1's uuid, meta) and a pending change with its Revert button
  const r = served.cvmctl('create', '306', '--name', 'a-rather-long-vm-name-for-a-narrow-window', '--memory', '1024', '--bios', 'ovmf');
  expect(r.status, r.stderr).toBe(0);
  writeFileSync(conf(306), `${readFileSync(conf(306), 'utf8')}efidisk0: local:306/vm-306-disk-0.qcow2,efitype=4m,pre-enrolled-keys=1,size=528K\n[PENDING]\nmemory: 2048\n`);
  await page.goto(`${served.url}/#/vm/306`);
  await expect(page.getByRole('button', { name: 'Revert memory' })).toBeVisible();
  expect(await overflow()).toBe(0);
  const revert = await page.getByRole('button', { name: 'Revert memory' }).boundingBox();
  expect(revert?.height).toBeLessThan(60); // one line of text, not a letter per line
  await page.screenshot({ path: join(SHOTS, 'vm-narrow.png'), fullPage: true });
  expect(errors).toEqual([]);
});
