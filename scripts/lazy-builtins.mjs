/**
 * @module scripts/lazy-builtins
 * The esbuild plugin scripts/bundle-cli.mjs bundles the CLI with: Node built-ins are loaded
 * where first used. An ES module bundle hoists every `import … from 'node:x'` of every bundled
 * module to its top, so all of them loaded at start-up, for every command: node:http and
 * node:https (the API client), node:net, child_process, async_hooks, … although `showcmd` needs
 * few of them. Turned into `require()` calls inside esbuild's lazily run module bodies, a
 * built-in loads only when a module that uses it runs.
 *
 * With `esmExports` (the showcmd bundle), an ES import of a built-in gets an ES module that
 * re-exports the built-in's functions and values by name instead of the CommonJS module itself.
 * esbuild imports a CommonJS module through `__toESM`, which copies every property of it into a
 * fresh namespace object per importing module (node:fs has about 100): those copies were a
 * tenth of a cold `showcmd`'s own time. Named exports are bound directly, and the ones no module
 * uses are dropped. Accessor properties (`fs.promises`, `crypto.webcrypto`, …) are not exported,
 * as reading them loads more modules; a module that imports one fails the build (esbuild's
 * "No matching export", or the "will always be undefined" warning, which bundle-cli treats as an
 * error).
 */

import { createRequire } from 'node:module';

/**
 * Built-ins a CommonJS dependency requires at load time but uses only later, if ever:
 * commander's child_process (for executable subcommands, which cvmctl has none of) pulls in
 * node:net and the stream modules. Those requires get a proxy that loads the module on first
 * property access. (Only for `require()` callers: an ES import reads the properties at once.)
 */
const LOADED_ON_FIRST_USE = new Set(['node:child_process']);

const NAMESPACES = new Set(['lazy-builtin', 'lazy-builtin-proxy', 'builtin-exports']);

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(['default', 'delete', 'function', 'class', 'new', 'in', 'import', 'export', 'var', 'let', 'const', 'enum', 'await']);

/** An ES module exporting the data properties of the built-in `name` (as this Node has them). */
function exportsModule(name) {
  const mod = createRequire(import.meta.url)(name);
  const names = Object.entries(Object.getOwnPropertyDescriptors(mod))
    .filter(([key, desc]) => 'value' in desc && IDENTIFIER.test(key) && !RESERVED.has(key) && !key.startsWith('__cvmctl'))
    .map(([key]) => key);
  // local names no built-in exports
  return [
    `const __cvmctlBuiltin = require(${JSON.stringify(name)});`,
    'export default __cvmctlBuiltin;',
    // a pure call: an export nobody imports is dropped with its property read
    'const __cvmctlProperty = (key) => __cvmctlBuiltin[key];',
    ...names.map((key) => `export const ${key} = /* @__PURE__ */ __cvmctlProperty(${JSON.stringify(key)});`),
  ].join('\n');
}

export function lazyBuiltins({ esmExports = false } = {}) {
  return {
    name: 'lazy-builtins',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) => {
        // the wrappers' own require() is the real one
        if (NAMESPACES.has(args.namespace)) {
          if (args.namespace === 'builtin-exports') return { path: args.path, namespace: 'lazy-builtin' };
          return { path: args.path, external: true };
        }
        if (esmExports && args.kind === 'import-statement') return { path: args.path, namespace: 'builtin-exports' };
        // esbuild keeps one module per (namespace, path): the proxy variant needs its own
        // namespace, or an ES import (which reads named exports at once, and a proxy has none)
        // gets the proxy whenever a require() of the same built-in was resolved first
        const onFirstUse = args.kind === 'require-call' && LOADED_ON_FIRST_USE.has(args.path);
        return { path: args.path, namespace: onFirstUse ? 'lazy-builtin-proxy' : 'lazy-builtin' };
      });
      b.onLoad({ filter: /.*/, namespace: 'builtin-exports' }, (args) => ({ contents: exportsModule(args.path), loader: 'js' }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin-proxy' }, (args) => ({
        contents: `let m; module.exports = new Proxy({}, { get: (_, key) => (m ??= require(${JSON.stringify(args.path)}))[key] });`,
        loader: 'js',
      }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
}
