/**
 * @module test/ui/wizard
 * The create-VM wizard in Chromium against a real `cvmctl serve`: the id proposed by
 * `/cluster/nextid`, a name the server's schema refuses shown next to the Name field on the
 * General step, then an SEV-SNP VM created through the confidential-computing step (the policy
 * word from the server changing as debugging is disallowed), its task log, and the config file
 * holding what PVE's GUI would write.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { expectAccessible, logIn, SHOTS, type Served, startServe, watchConsole } from './server.js';

let served: Served;
test.beforeAll(async () => {
  served = await startServe('wizard');
});
test.afterAll(async () => served.stop());

test('create an SEV-SNP VM in the wizard; server validation shown next to the field', async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, served.url);
  await page.getByRole('link', { name: 'Create VM' }).click();
  const wizard = page.locator('section.wizard');
  await expect(wizard.getByLabel('VM ID')).toHaveValue('100'); // /cluster/nextid of an empty root
  await wizard.getByLabel('Name').fill('not a dns name!');
  await expectAccessible(page, 'wizard, general step');
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByLabel('Memory (MiB)').fill('256');
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByLabel('AMD SEV-SNP').check();
  const word = wizard.getByTestId('policy-word');
  await expect(word).toHaveText('0xb0000');
  await wizard.getByLabel('Allow debugging').uncheck();
  await expect(word).toHaveText('0x30000');
  await expect(wizard.locator('tr[data-bit="19"] td').nth(2)).toHaveText('0');
  await expectAccessible(page, 'wizard, confidential-computing step');
  await page.screenshot({ path: join(SHOTS, 'wizard-cvm.png'), fullPage: true });
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('button', { name: 'Create' }).click();

  // the server refuses the name: back on General, the message next to the field
  await expect(wizard.getByRole('heading', { name: 'General' })).toBeVisible();
  const nameField = wizard.getByLabel('Name');
  await expect(nameField).toHaveAttribute('aria-invalid', 'true');
  await expect(wizard.locator('#wiz-name-error')).toContainText('does not look like a valid DNS name');
  await page.screenshot({ path: join(SHOTS, 'wizard-error.png') });
  await nameField.fill('snp-from-wizard');
  for (let i = 0; i < 3; i++) await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('status').filter({ hasText: /^Task/ })).toHaveText('Task OK', { timeout: 60_000 });
  const conf = readFileSync(join(served.root, 'qemu-server', '100.conf'), 'utf8');
  expect(conf).toMatch(/^amd-sev: snp,no-debug=1$/m);
  expect(conf).toMatch(/^bios: ovmf$/m);
  expect(conf).toMatch(/^memory: 256$/m);
  expect(conf).toMatch(/^name: snp-from-wizard$/m);
  await page.getByRole('link', { name: 'Open VM 100' }).click();
  await expect(page.locator('section.cvm').getByLabel('AMD SEV-SNP')).toBeChecked();
  expect(errors).toEqual([]);
});
