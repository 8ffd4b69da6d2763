/**
 * @module test/golden/parse-config
 * Golden tests for the config file parser and writer: every `*.conf` here is parsed
 * non-strict and strict; errors, warnings and the written text must match the fixture files
 * (see README.md in this folder), and writing must be stable under a second parse.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVmConfig, writeVmConfig } from '../../../src/config/file/index.js';
import { CvmError } from '../../../src/errors.js';

const DIR = import.meta.dirname;
const FILENAME = 'golden/qemu-server/4242.conf';
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.conf'))
  .sort();

const readOptional = (name: string): string | undefined => {
  const path = join(DIR, name);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
};

describe('parse-config golden files', () => {
  it('has the fixtures of all ten qemu-server behaviours', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of fixtures) {
    const input = readFileSync(join(DIR, file), 'utf8');
    for (const strict of [false, true]) {
      const mode = strict ? 'strict' : 'non-strict';
      it(`${file} (${mode})`, () => {
        const expectedError = readOptional(`${file}.${mode}.error`);
        const warnings: string[] = [];
        const parse = () => parseVmConfig(FILENAME, input, { strict, warn: (m) => warnings.push(m) });
        if (expectedError !== undefined) {
          let caught: unknown;
          try {
            parse();
          } catch (err) {
            caught = err;
          }
          expect(caught).toBeInstanceOf(CvmError);
          expect((caught as CvmError).code).toBe('CONFIG_PARSE');
          expect(`${(caught as CvmError).message}\n`).toBe(expectedError);
          return;
        }
        const config = parse();
        const expectedWarnings = strict ? '' : (readOptional(`${file}.warnings`) ?? '');
        expect(warnings.map((w) => `${w}\n`).join('')).toBe(expectedWarnings);
        const output = writeVmConfig(config);
        expect(output).toBe(readOptional(`${file}.expected`) ?? input);
        // what we write parses strictly and writes back unchanged
        expect(writeVmConfig(parseVmConfig(FILENAME, output, { strict: true }))).toBe(output);
      });
    }
  }
});
