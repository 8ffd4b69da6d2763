/**
 * @module bin/code-cache
 * Runs a CommonJS bundle (dist/cli/showcmd-main.cjs, dist/cli/main.cjs) through `vm.Script`
 * with a V8 code cache, `<bundle>.cache`, written by `npm run build`. Node 20 has no compile
 * cache of its own (`module.enableCompileCache` came in 22), and compiling the bundle plus every
 * function a command runs was about a third of our share of a cold start; a cache made after a run
 * holds the bytecode of every function that run compiled, so V8 deserializes it instead.
 *
 * The cache is used only when it was made from these very bundle bytes by this Node build and
 * is intact: its first line names the format, Node version, architecture, the SHA-1 of the
 * bundle and of the V8 data (hashing both costs about half a millisecond); V8 itself also
 * refuses data from another V8 version or other V8 flags. Anything else (no cache, a stale,
 * damaged or refused one) means the bundle is compiled from its source as usual: slower,
 * never different. Nothing here writes at run time; `trainCodeCache` is the
 * build's step (scripts/bundle-cli.mjs).
 *
 * This file is CommonJS (bin/package.json), like bin/cvmctl: Node's CommonJS loader starts a
 * file faster than its ES module loader.
 */
'use strict';

const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const vm = require('node:vm');

const FORMAT = 'cvmctl-code-cache 1';

/** SHA-1 hex (node:crypto: the bundle loads it anyway, for config digests and node names). */
function sha1(bytes) {
  return require('node:crypto').hash('sha1', bytes, 'hex');
}

/** The cache's first line, up to the hash of the V8 data that follows it: what it was made from. */
function cachePrefix(bundleBytes) {
  return `${FORMAT} ${process.version} ${process.arch} ${sha1(bundleBytes)} `;
}

/**
 * The V8 data of `cacheFile` if it was made from `bundleBytes` by this Node and is intact;
 * 'stale' if it was made from something else or is damaged; undefined if there is none.
 * (V8 checks its version, flags and the source's length, but not its data: damaged data
 * can crash it, so the data's hash is checked here.)
 */
function readCache(cacheFile, bundleBytes) {
  let buf;
  try {
    buf = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const prefix = cachePrefix(bundleBytes);
  const eol = buf.indexOf(10);
  if (eol !== prefix.length + 40 || buf.latin1Slice(0, prefix.length) !== prefix) return 'stale';
  const data = buf.subarray(eol + 1);
  return buf.latin1Slice(prefix.length, eol) === sha1(data) ? data : 'stale';
}

/**
 * Compile `file` (a CommonJS bundle, ASCII: esbuild's charset option) with its code cache when
 * that fits. `cache` says what happened: 'accepted', 'rejected' (by V8), 'stale' (made from
 * another bundle or Node, or damaged), 'none'.
 */
function compileBundle(file, { useCache = true } = {}) {
  const bytes = readFileSync(file);
  // ASCII, so latin1 decodes it exactly, and cheaper than utf8
  const source = bytes.latin1Slice();
  const found = useCache ? readCache(`${file}.cache`, bytes) : undefined;
  const cachedData = typeof found === 'string' ? undefined : found;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  let cache = found === 'stale' ? 'stale' : 'none';
  if (cachedData !== undefined) cache = script.cachedDataRejected ? 'rejected' : 'accepted';
  return { file, bytes, script, cache };
}

/**
 * Run a compiled bundle as the CommonJS module `file`; returns its exports. Its `require` is this
 * module's: the build checks the bundle requires only Node built-ins, which resolve the same from
 * anywhere (and node:module's createRequire is one more built-in to load).
 */
function runCompiled({ file, script }) {
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(module.exports, require, module, file, dirname(file));
  module.loaded = true;
  return module.exports;
}

/** Compile (with the cache when it fits) and run the bundle `file`. */
function runBundle(file) {
  return runCompiled(compileBundle(file));
}

/** Write `<bundle>.cache` from a compiled bundle's current state (temp file + rename: never half-written). */
function saveCodeCache({ file, bytes, script }) {
  const cacheFile = `${file}.cache`;
  const temp = `${cacheFile}.tmp-${process.pid}`;
  const data = script.createCachedData();
  writeFileSync(temp, Buffer.concat([Buffer.from(`${cachePrefix(bytes)}${sha1(data)}\n`, 'latin1'), data]));
  renameSync(temp, cacheFile);
}

/**
 * The build's step: compile the bundle without a cache, run it once per argument list (its
 * exports' `done` promise says when a run is over), then save the cache, which now holds every
 * function those runs compiled. Each run evaluates the bundle afresh (own module state) with
 * the same compiled code. Returns the exit codes the runs set.
 */
async function trainCodeCache(file, runs) {
  const compiled = compileBundle(file, { useCache: false });
  const argv = process.argv;
  const codes = [];
  try {
    for (const args of runs) {
      process.argv = [argv[0], file, ...args];
      process.exitCode = undefined;
      await runCompiled(compiled).done;
      codes.push(process.exitCode ?? 0);
    }
  } finally {
    process.argv = argv;
    process.exitCode = undefined;
  }
  saveCodeCache(compiled);
  return codes;
}

module.exports = { compileBundle, runBundle, saveCodeCache, trainCodeCache };
