/**
 * @module playwright.config
 * End-to-end tests of the web UI in two browsers, one worker (each test file starts its own
 * `cvmctl serve` on a loopback port with a temporary root, and the machine is small):
 * - `chromium`: test/ui/*.e2e.ts in Debian's Chromium (/usr/bin/chromium) through Playwright's
 *   own page fixture;
 * - `firefox`: test/ui/firefox/*.e2e.ts in Debian's Firefox ESR (/usr/bin/firefox-esr), which the
 *   files drive themselves over WebDriver BiDi with puppeteer-core (test/ui/firefox/firefox.ts):
 *   Playwright's Firefox is a patched build it would download.
 * Both browsers come from scripts/setup.sh; Playwright downloads none. Screenshots the tests take
 * go to test-results/ui/; the JSON report of both to .playwright.json, which scripts/run-tests.sh
 * adds to the closing test count.
 */

import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'test/ui',
  testMatch: '**/*.e2e.ts',
  projects: [
    { name: 'chromium', testIgnore: 'firefox/**' },
    { name: 'firefox', testMatch: 'firefox/*.e2e.ts' },
  ],
  outputDir: 'test-results/playwright',
  workers: 1,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [['list'], ['json', { outputFile: '.playwright.json' }]],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] },
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 860 },
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
  },
});
