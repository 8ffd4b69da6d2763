/**
 * @module playwright.config
 * End-to-end tests of the web UI (test/ui/*.e2e.ts) in Debian's Chromium (/usr/bin/chromium,
 * installed by scripts/setup.sh; Playwright downloads no browser). One worker: each test file
 * starts its own `cvmctl serve` on a loopback port with a temporary root, and the machine is
 * small. Screenshots the tests take go to test-results/ui/; the JSON report to .playwright.json,
 * which scripts/run-tests.sh adds to the closing test count.
 */

import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'test/ui',
  testMatch: '*.e2e.ts',
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
