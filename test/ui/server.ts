/**
 * @module test/ui/server
 * What every UI test file shares: `cvmctl serve` started as users run it (bin/cvmctl after
 * `npm run build`) with a temporary state root, root@pam's password set with `cvmctl passwd`,
 * a short 401 delay so expired-session tests do not wait 3 s per call; the axe-core check of
 * a page (axe.min.js injected, zero serious or critical violations) and a guard that fails a
 * test on any browser console error.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page } from '@playwright/test';

const REPO = join(import.meta.dirname, '..', '..');
export const BIN = join(REPO, 'bin', 'cvmctl');
export const PASSWORD = 'ui-test-password';
export const NODE = 'uinode';

export interface Served {
  root: string;
  url: string;
  stop(): Promise<void>;
  cvmctl(...args: string[]): { status: number | null; stdout: string; stderr: string };
}

export async function startServe(
  prefix: string,
  /** `node`: the node name; `setup`: commands on the root before the password is set and serve starts (a cluster join). */
  opts: { node?: string; setup?: (cvmctl: Served['cvmctl']) => void } = {},
): Promise<Served> {
  const root = mkdtempSync(join(tmpdir(), `cvmctl-ui-${prefix}-`));
  const cvmctl = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, '--root', root, ...args], { encoding: 'utf8', input: `${PASSWORD}\n` });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  opts.setup?.(cvmctl);
  const pw = cvmctl('passwd', 'root@pam');
  if (pw.status !== 0) throw new Error(`cvmctl passwd failed: ${pw.stderr}`);
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, '--root', root, 'serve', '--listen', '127.0.0.1:0', '--node', opts.node ?? NODE, '--auth-failure-delay', '10'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    root,
    url: `https://127.0.0.1:${port}`,
    cvmctl,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.on('exit', () => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Console errors and uncaught page errors (the quality bar: none); the test asserts the list is empty. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    // Chromium logs every non-2xx answer as a failed resource: a refused showcmd on a host without
    // SEV, or the 401s of the expiry test, are answers the UI shows; script errors are what count here
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of/.test(msg.text())) errors.push(msg.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

// evaluated through the DevTools protocol, not a <script> tag: the UI's CSP rightly refuses inline scripts
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core over the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    'axe.run(document, { resultTypes: ["violations"] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")) })))',
  )) as { id: string; impact: string; nodes: string[] }[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad, `${what}: axe violations`).toEqual([]);
}

/** Logs in through the login form as root@pam. */
export async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User name').fill('root');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Realm').selectOption('pam');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
}

export const SHOTS = join(REPO, 'test-results', 'ui');
