/**
 * @module test/ui/firefox/console
 * Firefox ESR with the OS in dark mode (one browser for the file) against a real `cvmctl
 * serve`: the dark theme, and the serial console of a TCG VM booting OVMF into the UEFI shell —
 * the shell's text shown as a terminal would, keys typed into the console reaching the guest
 * (the shell echoes a command's output). No console error.
 */

import { expect, test } from '@playwright/test';
import type { Browser } from 'puppeteer-core';
import { type Served, startServe } from '../server.js';
import { button, count, expectText, launchFirefox, logIn, openTab, shot, textOf } from './firefox.js';

let served: Served;
let browser: Browser;

test.beforeAll(async () => {
  [served, browser] = await Promise.all([startServe('firefox-console'), launchFirefox({ dark: true })]);
  // no disk: OVMF ends in its built-in UEFI shell, which reads and echoes the serial port
  const r = served.cvmctl('create', '310', '--name', 'uefi-shell', '--memory', '256', '--cores', '1', '--kvm', '0', '--vga', 'none', '--bios', 'ovmf', '--serial0', 'socket');
  expect(r.status, r.stderr).toBe(0);
});
test.afterAll(async () => {
  served?.cvmctl('stop', '310');
  await browser?.close();
  await served?.stop();
});

test('the dark theme follows the OS', async () => {
  const { page, errors, close } = await openTab(browser);
  await logIn(page, served.url);
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(15, 20, 25)');
  await expect.poll(() => count(page, 'table.vms tbody tr')).toBe(1);
  await shot(page, 'overview-dark');
  expect(errors).toEqual([]);
  await close();
});

test('serial console: OVMF boots to the UEFI shell, typed keys reach the guest', async () => {
  const { page, errors, close } = await openTab(browser);
  await logIn(page, served.url);
  await page.goto(`${served.url}/#/vm/310`);
  await (await button(page, 'Start')).click();
  await expectText(page, '[data-testid="vm-status"]', 'running', 60_000);
  await expectText(page, '#console-title + [role="status"]', 'connected', 60_000);
  // the firmware may have printed before the console connected: reset to see it from the start
  await (await button(page, 'Reset')).click();
  const consoleText = () => textOf(page, '[data-testid="console"]');
  await expect.poll(consoleText, { timeout: 120_000 }).toMatch(/UEFI Interactive Shell[\s\S]*Shell> *$/);
  await page.focus('[data-testid="console"]');
  await page.keyboard.type('echo typed-in-firefox');
  await page.keyboard.press('Enter');
  // the shell echoes the keys, then prints the argument on a line of its own and a new prompt
  await expect.poll(consoleText, { timeout: 60_000 }).toMatch(/Shell> echo typed-in-firefox\s*\ntyped-in-firefox\s*\n[\s\S]*Shell> *$/);
  await shot(page, 'serial-console', { fullPage: true });
  expect(served.cvmctl('stop', '310').status).toBe(0);
  expect(errors).toEqual([]);
  await close();
});
