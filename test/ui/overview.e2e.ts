/**
 * @module test/ui/overview
 * The web UI's first pages in Chromium against a real `cvmctl serve`: the login page (a wrong
 * password refused, root@pam let in), the overview with the node's facts and a list of 1,000
 * VMs written straight into the state root (CVM type badges, filter, sort, a VM created with
 * the CLI appearing without a reload), an ended session answered by the login dialog with the
 * filter text kept, and logout. axe-core checks each page; screenshots go to test-results/ui/.
 */

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { expectAccessible, logIn, PASSWORD, SHOTS, type Served, startServe, watchConsole } from './server.js';

let served: Served;
const COUNT = 1000;
const snpIds = new Set<number>();

test.beforeAll(async () => {
  served = await startServe('overview');
  const dir = join(served.root, 'qemu-server');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < COUNT; i++) {
    const vmid = 1000 + i;
    const lines = [`name: vm-${vmid}`, `memory: ${512 + (i % 4) * 512}`, `cores: ${1 + (i % 3)}`];
    if (i % 10 === 0) {
      lines.push('amd-sev: type=snp', 'bios: ovmf');
      snpIds.add(vmid);
    } else if (i % 10 === 1) lines.push('intel-tdx: type=tdx,attestation=1', 'bios: ovmf');
    writeFileSync(join(dir, `${vmid}.conf`), `${lines.join('\n')}\n`);
  }
});
test.afterAll(async () => served.stop());

test('login, the overview with 1,000 VMs, filter, sort, live update, logout', async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto(served.url);
  await expect(page.getByRole('heading', { name: /log in/ })).toBeVisible();
  await expectAccessible(page, 'login page');
  await page.screenshot({ path: join(SHOTS, 'login.png') });

  // a wrong password is refused with a message, the form stays
  await page.getByLabel('User name').fill('root');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toHaveText(/Login failed/);
  await expect(page.getByLabel('User name')).toHaveValue('root');

  await logIn(page, served.url);
  await expect(page.getByRole('heading', { name: 'Node uinode' })).toBeVisible();
  await expect(page.getByText(/QEMU/).first()).toBeVisible();
  await expect(page.locator('.facts')).toContainText(/\d+\.\d+\.\d+/); // the QEMU version
  // KVM as the server found it: no device, usable, or present but unable to run a default VM (and why)
  type Host = { kvm: number; kvmProbe: { usable: number; cpu: string; reason?: string } };
  const host = await page.evaluate(async () => ((await (await fetch('/api2/json/nodes/uinode/cvm/host')).json()) as { data: Host }).data);
  const kvm = page.locator('.facts .kvm');
  if (!host.kvm) await expect(kvm).toHaveText('(no KVM: TCG only)');
  else if (host.kvmProbe.usable) await expect(kvm).toHaveText('(KVM)');
  else {
    await expect(kvm).toHaveText(`(KVM device present, not usable: ${host.kvmProbe.reason})`);
    await expect(page.locator('.facts')).toContainText(`Probed with the default CPU ${host.kvmProbe.cpu}; VMs with kvm: 0 run under TCG.`);
  }
  await expect(page.locator('.caps li')).toHaveCount(4);

  const status = page.locator('.card-head .muted');
  await expect(status).toHaveText(`${COUNT} of ${COUNT}`);
  const rows = page.locator('table.vms tbody tr');
  await expect(rows).toHaveCount(COUNT);
  await expect(rows.first().locator('td').nth(0)).toHaveText('1000');
  await expect(rows.first().locator('.badge')).toHaveText('SEV-SNP');
  await expect(rows.nth(1).locator('.badge')).toHaveText('TDX');
  await expect(rows.nth(2).locator('.badge')).toHaveText('none');
  await expect(rows.nth(1).locator('td').nth(4)).toHaveText('1 GiB');
  await expectAccessible(page, 'overview');
  await page.screenshot({ path: join(SHOTS, 'overview.png') });

  // filter by type: exactly the SNP VMs
  await page.getByLabel('Filter').fill('sev-snp');
  await expect(status).toHaveText(`${snpIds.size} of ${COUNT}`);
  await expect(rows).toHaveCount(snpIds.size);
  // sort by ID, descending
  await page.getByLabel('Filter').fill('');
  await page.getByRole('button', { name: 'ID' }).click();
  await expect(page.getByRole('columnheader', { name: 'ID' })).toHaveAttribute('aria-sort', 'descending');
  await expect(rows.first().locator('td').nth(0)).toHaveText(String(1000 + COUNT - 1));
  // sort by memory ascending: the smallest first
  await page.getByRole('button', { name: 'Memory' }).click();
  await expect(rows.first().locator('td').nth(4)).toHaveText('512 MiB');

  // a VM created by the CLI shows up by polling, no reload
  const created = served.cvmctl('create', '999', '--name', 'from-cli', '--memory', '256');
  expect(created.status, created.stderr).toBe(0);
  await page.getByLabel('Filter').fill('from-cli');
  await expect(rows).toHaveCount(1, { timeout: 30_000 });
  await expect(rows.first()).toContainText('256 MiB');

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: /log in/ })).toBeVisible();
  await page.goto(served.url);
  await expect(page.getByRole('heading', { name: /log in/ })).toBeVisible();
  expect(errors).toEqual([]);
});

test('an ended session brings the login dialog; what was typed stays', async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, served.url);
  await page.getByLabel('Filter').fill('vm-1004');
  await expect(page.locator('table.vms tbody tr')).toHaveCount(1);
  // every ticket becomes invalid, as when it expires
  rmSync(join(served.root, 'priv', 'authkey.key'));
  const dialog = page.getByRole('dialog', { name: 'Session expired' });
  await expect(dialog).toBeVisible({ timeout: 30_000 });
  await expect(dialog.getByLabel('User name')).toHaveValue('root');
  await expectAccessible(page, 'session expired dialog');
  await page.screenshot({ path: join(SHOTS, 'session-expired.png') });
  await dialog.getByLabel('Password').fill(PASSWORD);
  await dialog.getByRole('button', { name: 'Log in' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByLabel('Filter')).toHaveValue('vm-1004');
  await expect(page.locator('table.vms tbody tr')).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('keyboard only, in the dark theme: log in, sort, open a VM', async ({ page }) => {
  const errors = watchConsole(page);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(served.url);
  // the password field has the focus; the user name is filled in
  await expect(page.getByLabel('Password')).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
  const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
  expect(bg).toBe('rgb(15, 20, 25)'); // the dark theme's background, from prefers-color-scheme
  await expect(page.locator('table.vms tbody tr').nth(COUNT - 1)).toBeAttached(); // all rows (the first test adds one more)
  await expectAccessible(page, 'overview, dark theme');
  await page.screenshot({ path: join(SHOTS, 'overview-dark.png') });
  // Tab to the ID column's sort button and press it
  const sortId = page.getByRole('button', { name: 'ID' });
  for (let i = 0; i < 10 && !(await sortId.evaluate((el) => el === el.ownerDocument.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(sortId).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('columnheader', { name: 'ID' })).toHaveAttribute('aria-sort', 'descending');
  await page.getByRole('link', { name: 'vm-1999' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'VM 1999: vm-1999' })).toBeVisible();
  expect(errors).toEqual([]);
});
