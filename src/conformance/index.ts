/**
 * @module conformance
 * Running cfg2cmd cases (qemu-server's harness semantics) against our generator.
 */
export { runCase, runFile, runTargets, caseFiles, hostForCase, type CaseResult, type CaseStatus } from './runner.js';
export { parseHeaders, type CaseHeaders } from './headers.js';
export { unifiedDiff } from './diff.js';
