/**
 * @module schema/imports.test
 * The schema engine's modules import each other without a circle (check, format checks and
 * property-string parsing once formed one: check ↔ format-check ↔ property-string). Reads the
 * relative run-time imports of every module under src/schema (type-only imports vanish at run
 * time) and looks for a cycle.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCHEMA = import.meta.dirname;

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return modules(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Relative run-time imports and re-exports of one module, as absolute .ts paths. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/gm)].map((m) => m[1] as string);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/** The first import cycle among `files` (module paths relative to src/schema), or []. */
function findCycle(files: string[]): string[] {
  const graph = new Map(files.map((f) => [f, runtimeImports(f).filter((t) => files.includes(t))]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] => {
    if (state.get(f) === 'done') return [];
    if (state.get(f) === 'open') return [...stack.slice(stack.indexOf(f)), f].map((p) => relative(SCHEMA, p));
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      const cycle = visit(t);
      if (cycle.length) return cycle;
    }
    stack.pop();
    state.set(f, 'done');
    return [];
  };
  for (const f of files) {
    const cycle = visit(f);
    if (cycle.length) return cycle;
  }
  return [];
}

describe('schema module imports', () => {
  it('form no circle', () => {
    const files = modules(SCHEMA);
    expect(files.length).toBeGreaterThan(10);
    expect(findCycle(files)).toEqual([]);
  });

  it('the check finds a circle when there is one, and ignores type-only imports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cvm-imports-'));
    try {
      writeFileSync(join(dir, 'check.ts'), "import { a } from './format-check.js';\nimport type { T } from './types.js';\n");
      writeFileSync(join(dir, 'format-check.ts'), "import { parse } from './property-string.js';\n");
      writeFileSync(join(dir, 'property-string.ts'), "import {\n  checkObject,\n} from './check.js';\nexport { x } from './types.js';\n");
      writeFileSync(join(dir, 'types.ts'), "import type { Y } from './check.js';\n");
      const files = ['check.ts', 'format-check.ts', 'property-string.ts', 'types.ts'].map((f) => join(dir, f));
      expect(findCycle(files).map((f) => f.split('/').pop())).toEqual(['check.ts', 'format-check.ts', 'property-string.ts', 'check.ts']);
      writeFileSync(join(dir, 'format-check.ts'), "import type { parse } from './property-string.js';\n");
      expect(findCycle(files)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
