/**
 * @module test/ui/firefox/firefox
 * Firefox for the UI tests: Debian's firefox-esr (scripts/setup.sh installs it) driven over
 * WebDriver BiDi by puppeteer-core — Playwright's Firefox is a patched build it would have to
 * download, BiDi needs no driver binary. One browser per test file (start-up is slow on a small
 * machine), a fresh browser context (cookies, local storage) per test. The helpers find
 * elements as a user does, by a label's visible text or a button's accessible name, and wait
 * for them; a page's console errors and uncaught errors are collected for the test to assert
 * none. Screenshots go to test-results/ui/firefox-<name>.png beside Chromium's.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from '@playwright/test';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { PASSWORD, SHOTS } from '../server.js';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const WAIT = 30_000;

/**
 * `dark`: pages see `prefers-color-scheme: dark` (a browser preference: puppeteer's media
 * emulation needs CDP, which Firefox does not speak), so the dark theme needs its own browser.
 */
export async function launchFirefox(options: { dark?: boolean } = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // 0 = dark, 1 = light
    extraPrefsFirefox: { 'layout.css.prefers-color-scheme.content-override': options.dark ? 0 : 1 },
    // `cvmctl serve` makes a self-signed certificate, as pveproxy does
    acceptInsecureCerts: true,
    protocolTimeout: 120_000,
  });
}

export interface Tab {
  page: Page;
  /** Console errors and uncaught page errors seen so far (the quality bar: none). */
  errors: string[];
  close(): Promise<void>;
}

/** A page in a browser context of its own: no cookie or stored session from another test. */
export async function openTab(browser: Browser): Promise<Tab> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 860 });
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, errors, close: () => context.close() };
}

/**
 * The visible element `scope` holds that matches `what`: a form control named by its <label>
 * or aria-label (`kind: 'field'`), a button or link by its text or aria-label. Waits for it.
 */
async function find(page: Page, kind: 'field' | 'button' | 'link', name: string, scope: string): Promise<ElementHandle<Element>> {
  const handle = await page.waitForFunction(
    (kind: string, name: string, scope: string) => {
      const norm = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
      const visible = (el: Element) => (el as HTMLElement).offsetParent !== null || getComputedStyle(el).position === 'fixed';
      const root = document.querySelector(scope);
      if (!root) return null;
      if (kind === 'field') {
        for (const label of root.querySelectorAll('label')) {
          if (norm(label.textContent) === name && label.control && visible(label.control)) return label.control;
        }
        return [...root.querySelectorAll('[aria-label]')].find((el) => el.getAttribute('aria-label') === name && visible(el)) ?? null;
      }
      // a button's name as assistive technology reads it: aria-label, else its text without aria-hidden parts (sort arrows)
      const accName = (el: Element) => {
        const label = el.getAttribute('aria-label');
        if (label !== null) return norm(label);
        const copy = el.cloneNode(true) as Element;
        for (const hidden of copy.querySelectorAll('[aria-hidden="true"]')) hidden.remove();
        return norm(copy.textContent);
      };
      const tag = kind === 'button' ? 'button' : 'a[href]';
      return [...root.querySelectorAll(tag)].find((el) => accName(el) === name && visible(el)) ?? null;
    },
    { timeout: WAIT, polling: 100 },
    kind,
    name,
    scope,
  );
  return handle as unknown as ElementHandle<Element>;
}

export const field = (page: Page, label: string, scope = 'body') => find(page, 'field', label, scope);
export const button = (page: Page, name: string, scope = 'body') => find(page, 'button', name, scope);
export const link = (page: Page, name: string, scope = 'body') => find(page, 'link', name, scope);

/** Replaces a text field's content by typing, as a user would (select all, type over it). */
export async function fill(page: Page, label: string, value: string, scope = 'body'): Promise<void> {
  const input = await field(page, label, scope);
  await input.evaluate((el) => {
    (el as HTMLInputElement).focus();
    (el as HTMLInputElement).select();
  });
  if (value) await input.type(value);
  else await page.keyboard.press('Backspace');
  expect(await input.evaluate((el) => (el as HTMLInputElement).value)).toBe(value);
}

/** The text of the first element matching `selector`, or null while there is none. */
export function textOf(page: Page, selector: string): Promise<string | null> {
  return page.evaluate((s: string) => document.querySelector(s)?.textContent?.trim() ?? null, selector);
}

export function count(page: Page, selector: string): Promise<number> {
  return page.evaluate((s: string) => document.querySelectorAll(s).length, selector);
}

/** Waits until the element's text satisfies `want` (equal to a string, or matching a pattern). */
export async function expectText(page: Page, selector: string, want: string | RegExp, timeout = WAIT): Promise<void> {
  const poll = expect.poll(() => textOf(page, selector), { message: `text of ${selector}`, timeout });
  if (typeof want === 'string') await poll.toBe(want);
  else await poll.toMatch(want);
}

export async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await fill(page, 'User name', 'root');
  await fill(page, 'Password', PASSWORD);
  await (await field(page, 'Realm')).select('pam');
  await (await button(page, 'Log in')).click();
  await button(page, 'Log out');
}

export async function shot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `firefox-${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? false });
  return path;
}
