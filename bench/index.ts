/**
 * @module bench
 * `npm run bench`: runs every benchmark module in turn. Each prints its own comparison
 * (measured value against the target from the issue that asked for it).
 */

const modules = ['./config.ts', './cfg2cmd.ts', './start.ts', './measure.ts', './api.ts', './cluster.ts', './cluster-routing.ts'];

for (const path of modules) {
  let mod: { run?: () => Promise<void> };
  try {
    mod = await import(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') continue;
    throw err;
  }
  if (mod.run) await mod.run();
}
