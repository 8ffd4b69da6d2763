/** Types of scripts/lazy-builtins.mjs (for the tests that import it). */
import type { Plugin } from 'esbuild';
export declare function lazyBuiltins(options?: { esmExports?: boolean }): Plugin;
