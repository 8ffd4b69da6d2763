/**
 * @module conformance
 * Running cfg2cmd cases (qemu-server's harness semantics) against our generator.
 */

export { unifiedDiff } from './diff.js';
export { type CaseHeaders, parseHeaders } from './headers.js';
export {
  type CaseResult,
  type CaseStatus,
  caseFiles,
  hostForCase,
  runCase,
  runFile,
  runTargets,
} from './runner.js';
