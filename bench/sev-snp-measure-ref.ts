/**
 * @module bench/sev-snp-measure-ref
 * virtee/sev-snp-measure as the reference of bench/measure.ts: one long-lived Python process
 * (bench/sev-snp-measure-inprocess.py) that prints the digest it computes and then times one
 * more call per request. The benchmark asks for one call per round, between its own calls, so
 * both sides run under the same load and cache state (a batch of back-to-back calls in a
 * process of its own would run with warm caches that the interleaved side does not get).
 * sev-snp-measure is taken from a checkout (SEV_SNP_MEASURE_DIR, default
 * /work/upstream/sev-snp-measure).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export function referenceCheckout(): string | undefined {
  const dir = process.env.SEV_SNP_MEASURE_DIR ?? '/work/upstream/sev-snp-measure';
  return existsSync(join(dir, 'sevsnpmeasure', 'guest.py')) ? dir : undefined;
}

export class ReferenceProcess {
  private constructor(
    private readonly child: ReturnType<typeof spawn>,
    private readonly lines: AsyncIterator<string>,
    /** The digest sev-snp-measure computed (hex). */
    readonly digest: string,
  ) {}

  /** Start the reference on `args` (see the script's usage); the reason as a string when it cannot run. */
  static async start(checkout: string, args: string[]): Promise<ReferenceProcess | string> {
    const script = join(import.meta.dirname, 'sev-snp-measure-inprocess.py');
    const child = spawn('python3', [script, checkout, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const closed = new Promise((resolve) => child.once('close', resolve));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const spawned = new Promise<string | undefined>((resolve) => {
      child.once('error', (err) => resolve(err.message));
      child.once('spawn', () => resolve(undefined));
    });
    const spawnError = await spawned;
    if (spawnError) return spawnError;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || !/^[0-9a-f]{96}$/.test(first.value)) {
      child.kill();
      await closed; // all of stderr has arrived
      return (stderr || first.value || 'no digest').trim().split('\n').pop() as string;
    }
    return new ReferenceProcess(child, lines, first.value);
  }

  /** CPU milliseconds of one more call in the Python process. */
  async once(): Promise<number> {
    this.child.stdin?.write('\n');
    const line = await this.lines.next();
    if (line.done) throw new Error('sev-snp-measure reference process ended');
    return Number(line.value);
  }

  close(): void {
    this.child.stdin?.end();
  }
}
