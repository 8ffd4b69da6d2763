/**
 * @module errors
 * The one error type of cvmctl and the one place that maps error codes to exit codes
 * (and, later, HTTP statuses). Every failure a user can cause or meet is a `CvmError`
 * with a stable `code`; the CLI prints `message` as a single line and exits with
 * `exitCodeFor(code)`; the REST API answers with `httpStatusFor(code)`. Nothing else in the code
 * base decides exit codes or HTTP statuses.
 */

/** Stable error codes. Grouped by the exit code they map to. */
export const ERROR_CODES = {
  // invalid input: exit 2
  PARAM_INVALID: 2, // a value fails its schema (key, value, what is allowed)
  FORMAT_ERROR: 2, // property string format error (qemu-server "format error")
  CONFIG_PARSE: 2, // a config file line/section cannot be parsed
  USAGE: 2, // wrong command-line usage
  POLICY_INVALID: 2, // a guest policy word with must-be-zero / missing must-be-one bits
  REPORT_INVALID: 2, // attestation report / certificate cannot be parsed
  UNSUPPORTED_CONTENT: 2, // an API request body of a content type other than form or JSON (HTTP 506, like PVE)
  // a launch digest is a pure function of its inputs (firmware, kernel, vCPUs, config): when
  // it cannot be computed, an input is at fault
  MEASURE: 2,
  // runtime failures: exit 1
  VM_NOT_FOUND: 1,
  VM_EXISTS: 1,
  VM_LOCKED: 1,
  VM_RUNNING: 1,
  VM_NOT_RUNNING: 1,
  DIGEST_MISMATCH: 1, // config changed by someone else (--digest)
  HOST_UNSUPPORTED: 1, // host lacks SEV/TDX/KVM/... capability
  FIRMWARE_MISSING: 1,
  STORAGE: 1,
  GENERATE: 1, // config_to_command refused the config (qemu-server die)
  QEMU_FAILED: 1,
  QMP_TIMEOUT: 1,
  QMP_DISCONNECTED: 1,
  QMP_ERROR: 1,
  AGENT_ERROR: 1, // guest agent not configured, not answering, or its own error (Agent error: …)
  ATTESTATION_FAILED: 1,
  IO: 1,
  INTERNAL: 1,
  // management plane (API, access control); exit 1 on the CLI
  AUTH_FAILED: 1, // no/invalid ticket, token, password or CSRF token (HTTP 401)
  PERMISSION_DENIED: 1, // an ACL check failed (HTTP 403 "Permission check failed (...)")
  NOT_IMPLEMENTED: 1, // unknown API path or method (HTTP 501)
  // cluster (etcd); exit 1 on the CLI, HTTP 500
  CLUSTER_NOT_QUORATE: 1, // etcd has no quorum: writes (and linearizable reads) cannot commit
  CLUSTER_UNREACHABLE: 1, // no etcd member answers, or one answers with an error
  CLUSTER_CONFIG: 1, // <root>/cluster.json missing, unreadable or inconsistent with the command
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface CvmErrorOptions {
  cause?: unknown;
  /** Structured details for --json output and tests (e.g. per-key format errors). */
  details?: Record<string, unknown>;
}

export class CvmError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: CvmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CvmError';
    this.code = code;
    this.details = options.details;
  }
}

export function isCvmError(err: unknown): err is CvmError {
  return err instanceof CvmError;
}

/** Exit code for an error: 2 for invalid input, 1 for runtime failures. */
export function exitCodeFor(err: unknown): number {
  if (isCvmError(err)) return ERROR_CODES[err.code];
  return 1;
}

/**
 * HTTP status of the REST API for an error, as PVE answers: 400 for invalid input, 401/403 for
 * authentication and permission failures, 501 for unknown paths and methods, and 500 for every
 * runtime failure, a missing VM or a digest mismatch included (PVE handlers `die` with text).
 */
export function httpStatusFor(err: unknown): number {
  if (!isCvmError(err)) return 500;
  switch (err.code) {
    case 'AUTH_FAILED':
      return 401;
    case 'PERMISSION_DENIED':
      return 403;
    case 'NOT_IMPLEMENTED':
      return 501;
    case 'UNSUPPORTED_CONTENT':
      return 506;
    default:
      return ERROR_CODES[err.code] === 2 ? 400 : 500;
  }
}

/** Shorthand constructors used all over the code base. */
export const fail = (code: ErrorCode, message: string, options?: CvmErrorOptions): never => {
  throw new CvmError(code, message, options);
};
