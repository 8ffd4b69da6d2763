/**
 * @module bench/start
 * Overhead of `cvmctl start` up to a ready QMP session against spawning the same QEMU
 * command directly and connecting to its QMP socket (target: ≤ 100 ms). Three numbers:
 * QEMU alone (spawn with -daemonize + QMP greeting/capabilities), `startVm` in-process
 * (config read, host probe, command generation, checks, spawn, QMP), and the `cvmctl start`
 * CLI process end to end (adds Node start-up and module loading; bare `node -e 0` is measured
 * too, so the CLI's own overhead is shown with and without it). Uses a throw-away root
 * and a small SeaBIOS VM under TCG; every QEMU is stopped again.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { localLifecycleContext } from '../src/run/local-context.js';
import { runningPid, runtimePaths, spawnDaemonizing, startVm, stopVm, waitForQmp } from '../src/run/index.js';

const exec = promisify(execFile);
const TARGET_MS = 100;
const ROUNDS = 7;
const VMID = 9900;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function run(): Promise<void> {
  if (!existsSync('/usr/bin/qemu-system-x86_64')) {
    console.log('start: skipped (qemu-system-x86_64 not installed)');
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'cvmctl-bench-start-'));
  mkdirSync(join(root, 'qemu-server'), { recursive: true });
  writeFileSync(join(root, 'qemu-server', `${VMID}.conf`), 'name: bench\nmemory: 64\ncores: 1\nkvm: 0\nvga: none\nostype: l26\n');
  const warn = () => {};
  try {
    const ctx = await localLifecycleContext(root, { warn });
    const argv = (await ctx.buildCommand(await ctx.loadConfig(VMID), ctx.facts)).argv;
    const paths = runtimePaths(ctx.facts.paths.runDir, VMID);
    mkdirSync(paths.runDir, { recursive: true });

    const direct: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await spawnDaemonizing(argv, 30_000);
      const qmp = await waitForQmp(paths.qmp, Date.now() + 30_000);
      direct.push(performance.now() - t0);
      await qmp.execute('quit');
      qmp.destroy();
      await stopVm(ctx, VMID, { timeoutSec: 10 });
    }

    const inProcess: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      // a fresh context each round: config read, host probe (cached machine list) and generation count
      const c = await localLifecycleContext(root, { warn });
      await startVm(c, VMID, { timeoutSec: 30 });
      inProcess.push(performance.now() - t0);
      await stopVm(c, VMID, { timeoutSec: 10 });
    }

    const cli: number[] = [];
    const nodeBare: number[] = [];
    const bin = resolve('bin/cvmctl');
    const haveDist = existsSync(resolve('dist/cli/main.js'));
    for (let i = 0; haveDist && i < ROUNDS; i++) {
      const t0 = performance.now();
      await exec(process.execPath, [bin, '--root', root, 'start', String(VMID)]);
      cli.push(performance.now() - t0);
      if (!(await runningPid(paths))) throw new Error('cvmctl start returned but the VM is not running');
      await stopVm(ctx, VMID, { timeoutSec: 10 });
      // bare Node start-up in the same rounds, so both see the same machine load
      const t1 = performance.now();
      await exec(process.execPath, ['-e', '0']);
      nodeBare.push(performance.now() - t1);
    }

    const d = median(direct);
    const p = median(inProcess);
    const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(9);
    const verdict = (overhead: number) => `target <= ${TARGET_MS} ms  ${overhead <= TARGET_MS ? 'OK' : 'OVER'}`;
    console.log(`== cvmctl start: overhead to a ready QMP session over spawning the same QEMU directly (median of ${ROUNDS})`);
    console.log(`QEMU alone (spawn -daemonize + QMP ready)   ${ms(d)}`);
    console.log(`startVm in-process                          ${ms(p)}   overhead ${ms(p - d)}   ${verdict(p - d)}`);
    if (cli.length > 0) {
      const c = median(cli);
      const n = median(nodeBare);
      console.log(`cvmctl start, CLI process                   ${ms(c)}   overhead ${ms(c - d - n)}   ${verdict(c - d - n)}`);
      console.log(
        `  (CLI overhead counts from Node's start-up, bare 'node -e 0' here: ${n.toFixed(1)} ms; with it: ${(c - d).toFixed(1)} ms)`,
      );
    } else console.log('cvmctl start, CLI process: not measured (run npm run build first)');
  } finally {
    const ctx = await localLifecycleContext(root, { warn }).catch(() => undefined);
    if (ctx) await stopVm(ctx, VMID, { timeoutSec: 5 }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
