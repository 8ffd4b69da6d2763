/**
 * @module test/ui/cluster
 * The web UI works through any node (issue 11, point 4): two `cvmctl serve` processes on two
 * members of a real 3-member etcd; in Chromium, logged in at node A, the overview lists node B's
 * VM (marked "on node-b"), its page opens, the VM is started under TCG, its serial console shows
 * SeaBIOS booting, and it is stopped, every request going to A, which forwards it to B.
 */

import { expect, test } from '@playwright/test';
import { EtcdCluster } from '../cluster/etcd-harness.js';
import { logIn, type Served, startServe, watchConsole } from './server.js';

let etcd: EtcdCluster;
let a: Served;
let b: Served;

test.beforeAll(async () => {
  etcd = await EtcdCluster.start(3);
  const urls = etcd.endpoints.join(',');
  const member = (...args: string[]) => (cvmctl: Served['cvmctl']) => {
    const r = cvmctl('cluster', ...args, '--etcd', urls);
    expect(r.status, r.stderr).toBe(0);
  };
  a = await startServe('cluster-a', { node: 'node-a', setup: member('init', '--name', 'lab', '--node', 'node-a') });
  b = await startServe('cluster-b', { node: 'node-b', setup: member('join', '--node', 'node-b') });
  const onA = a.cvmctl('create', '600', '--name', 'on-a', '--memory', '64');
  expect(onA.status, onA.stderr).toBe(0);
  const onB = b.cvmctl('create', '610', '--name', 'on-b', '--memory', '64', '--cores', '1', '--kvm', '0', '--vga', 'none', '--serial0', 'socket');
  expect(onB.status, onB.stderr).toBe(0);
});
test.afterAll(async () => {
  b?.cvmctl('stop', '610');
  await a?.stop();
  await b?.stop();
  await etcd?.stop();
});

test("through node A: node B's VM listed, started, its serial console used, stopped", async ({ page }) => {
  const errors = watchConsole(page);
  await logIn(page, a.url);
  const rows = page.locator('table.vms tbody tr');
  await expect(rows).toHaveCount(2, { timeout: 30_000 });
  await expect(rows.nth(0)).toContainText('on-a');
  await expect(rows.nth(0)).toContainText('on node-a');
  await expect(rows.nth(1)).toContainText('on-b');
  await expect(rows.nth(1)).toContainText('on node-b');
  await rows.nth(1).getByRole('link', { name: 'on-b' }).click();
  const status = page.getByTestId('vm-status');
  await expect(status).toHaveText('stopped');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByRole('status').filter({ hasText: /^Task/ })).toHaveText('Task OK', { timeout: 60_000 });
  await expect(status).toHaveText('running', { timeout: 30_000 });
  const consoleLog = page.getByTestId('console');
  await expect(consoleLog).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('status').filter({ hasText: /^connected|^closed|^connection/ })).toHaveText('connected');
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(consoleLog).toContainText(/SeaBIOS \(version [^)]+\)/, { timeout: 60_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(status).toHaveText('stopped', { timeout: 60_000 });
  expect(errors).toEqual([]);
});
