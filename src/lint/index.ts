/**
 * @module lint
 * Confidential-VM lint: `lintConfig(config, host?)` → findings with code, severity, key, message.
 */
export * from './types.js';
export * from './rules.js';
export * from './lint.js';
