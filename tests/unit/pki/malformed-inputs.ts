/**
 * Shared malformed-input cases and a fast-check property for the PKI parsers: whatever bytes
 * arrive, a parser either returns or throws ParseError with its own code — never anything else,
 * never a hang.
 */
import fc from 'fast-check';
import { ParseError } from '../../../src/errors';

function headerLength(der: Buffer): number {
  const l = der[1]!;
  return l < 0x80 ? 2 : 2 + (l & 0x7f);
}

function withLength(der: Buffer, lengthBytes: number[]): Buffer {
  return Buffer.concat([der.subarray(0, 1), Buffer.from(lengthBytes), der.subarray(headerLength(der))]);
}

function nonMinimalLength(der: Buffer): Buffer {
  const len = der.length - headerLength(der);
  return withLength(der, [0x84, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff]);
}

function indefinite(der: Buffer): Buffer {
  return Buffer.concat([withLength(der, [0x80]), Buffer.from([0, 0])]);
}

function deepNesting(depth: number): Buffer {
  let inner = Buffer.from([0x05, 0x00]);
  for (let i = 0; i < depth; i++) {
    const len = inner.length;
    const lenBytes = len < 0x80 ? [len] : len < 0x100 ? [0x81, len] : [0x82, len >> 8, len & 0xff];
    inner = Buffer.concat([Buffer.from([0x30, ...lenBytes]), inner]);
  }
  return inner;
}

/** Deterministic noise (no Math.random in tests). */
export function noise(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >> 16;
  }
  return out;
}

export function malformedVariants(valid: Buffer): { name: string; bytes: Buffer }[] {
  return [
    { name: 'empty input', bytes: Buffer.alloc(0) },
    { name: 'truncated by one byte', bytes: valid.subarray(0, valid.length - 1) },
    { name: 'truncated to half', bytes: valid.subarray(0, valid.length >> 1) },
    { name: 'only the outer header', bytes: valid.subarray(0, headerLength(valid)) },
    { name: 'a trailing zero byte', bytes: Buffer.concat([valid, Buffer.from([0])]) },
    { name: 'a trailing NULL value', bytes: Buffer.concat([valid, Buffer.from([0x05, 0x00])]) },
    { name: 'outer tag SET instead of SEQUENCE', bytes: Buffer.concat([Buffer.from([0x31]), valid.subarray(1)]) },
    { name: 'outer tag OCTET STRING', bytes: Buffer.concat([Buffer.from([0x04]), valid.subarray(1)]) },
    { name: 'outer tag context [0]', bytes: Buffer.concat([Buffer.from([0xa0]), valid.subarray(1)]) },
    { name: 'indefinite length (BER)', bytes: indefinite(valid) },
    { name: 'non-minimal length (BER)', bytes: nonMinimalLength(valid) },
    { name: 'a huge declared length', bytes: Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x00]) },
    { name: 'a length field of nine bytes', bytes: Buffer.from([0x30, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x05, 0x00]) },
    { name: 'random bytes', bytes: noise(valid.length, 7) },
    { name: 'random bytes behind a SEQUENCE header', bytes: Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), noise(256, 11)]) },
    { name: 'deep nesting', bytes: deepNesting(300) },
  ];
}

/** Asserts `fn` throws ParseError with `code`. */
export function expectParseError(fn: () => unknown, code: string): ParseError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ParseError);
  expect((caught as ParseError).code).toBe(code);
  return caught as ParseError;
}

type Mutation = { op: 'set' | 'insert' | 'delete' | 'truncate'; pos: number; byte: number };

function mutate(valid: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(valid);
  for (const m of ms) {
    if (b.length === 0) break;
    const pos = m.pos % b.length;
    if (m.op === 'set') b[pos] = m.byte;
    else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, pos), Buffer.from([m.byte]), b.subarray(pos)]);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1)]);
    else b = b.subarray(0, pos);
  }
  return b;
}

/** Property: random and mutated inputs only ever yield a ParseError with `code`. */
export function assertOnlyParseErrors(parse: (b: Buffer) => unknown, code: string, valid: Buffer, numRuns = 400): void {
  const mutation = fc.record({
    op: fc.constantFrom<Mutation['op']>('set', 'set', 'set', 'insert', 'delete', 'truncate'),
    pos: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  });
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 700 }).map((u) => Buffer.from(u)),
    fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => mutate(valid, ms)),
  );
  fc.assert(
    fc.property(input, (bytes) => {
      try {
        parse(bytes);
      } catch (e) {
        if (!(e instanceof ParseError) || e.code !== code) throw e;
      }
    }),
    { numRuns, seed: 20250601 },
  );
}
