/**
 * @module test/helpers/cvm-error
 * Tests assert on the code and exact text of the error a call raises; this returns that
 * CvmError (and fails the test when the call succeeds or throws something else).
 */
import { CvmError } from '../../src/errors.js';

export function thrownCvmError(fn: () => unknown): CvmError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CvmError) return e;
    throw e;
  }
  throw new Error('expected a CvmError');
}

/** The CvmError a promise rejects with (fails when it resolves or rejects with something else). */
export async function rejectedCvmError(promise: Promise<unknown>): Promise<CvmError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof CvmError) return e;
    throw e;
  }
  throw new Error('expected a CvmError');
}
