/** RFC 8785 canonicalisation against the RFC's and its reference implementation's vectors. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { canonicalBytes, canonicalize, JCS_MAX_DEPTH } from '../../../src/log';
import { VECTORS, readVector, syncCodeOf } from './helpers';

const JCS = join(VECTORS, 'jcs');

describe('RFC 8785 vectors', () => {
  const files = readdirSync(join(JCS, 'input')).filter((f) => f.endsWith('.json'));

  it('has the expected vector files', () => {
    expect(files.sort()).toEqual(
      ['arrays', 'french', 'rfc8785-3.2.2', 'rfc8785-3.2.3', 'simpleString', 'structures', 'unicode', 'values', 'weird'].map((f) => `${f}.json`),
    );
  });

  it.each(files)('%s canonicalises to the expected bytes', (file) => {
    const input: unknown = JSON.parse(readFileSync(join(JCS, 'input', file), 'utf8'));
    const expected = readFileSync(join(JCS, 'output', file));
    expect(canonicalBytes(input).equals(expected)).toBe(true);
    expect(canonicalize(input)).toBe(expected.toString('utf8'));
  });

  it('§3.2.4: the UTF-8 bytes of the §3.2.2 sample', () => {
    const hex = readFileSync(join(JCS, 'rfc8785-3.2.4.hex'), 'utf8').replace(/\s+/g, '');
    const input: unknown = JSON.parse(readFileSync(join(JCS, 'input', 'rfc8785-3.2.2.json'), 'utf8'));
    expect(canonicalBytes(input).toString('hex')).toBe(hex);
  });

  it('§3.2.3: members sort by UTF-16 code units (the emoji before U+FB33)', () => {
    const input: unknown = JSON.parse(readFileSync(join(JCS, 'input', 'rfc8785-3.2.3.json'), 'utf8'));
    const labels = [...canonicalize(input).matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    expect(labels).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  const numbers = readVector<{ finite: [string, string][]; nonFinite: string[] }>('jcs', 'numbers.json');
  const fromBits = (bits: string): number => Buffer.from(bits, 'hex').readDoubleBE(0);

  it.each(numbers.finite)('Appendix B: %s → %s', (bits, text) => {
    expect(canonicalize(fromBits(bits))).toBe(text);
    expect(canonicalize({ n: fromBits(bits) })).toBe(`{"n":${text}}`);
  });

  it.each(numbers.nonFinite)('Appendix B: %s (NaN/Infinity) is refused', (bits) => {
    expect(syncCodeOf(() => canonicalize([fromBits(bits)]))).toBe('JCS_NON_FINITE_NUMBER');
  });
});

describe('string escaping (§3.2.2.2)', () => {
  it('escapes controls, quote and backslash, and nothing else', () => {
    let controls = '';
    for (let c = 0; c < 0x20; c++) controls += String.fromCharCode(c);
    expect(canonicalize(controls)).toBe(
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f' +
        '\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"',
    );
    expect(canonicalize('"\\/\u007f\u2028\u2029<>&\u00e9\ud83d\ude00')).toBe('"\\"\\\\/\u007f\u2028\u2029<>&\u00e9\ud83d\ude00"');
  });

  it('matches JSON.stringify for well-formed strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        // JSON.stringify (ES2019 well-formed) uses the same escapes as JCS for valid Unicode.
        expect(canonicalize(s)).toBe(JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('refusals', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cyclicArray: unknown[] = [];
  cyclicArray.push([cyclicArray]);
  let deep: unknown = 0;
  for (let i = 0; i <= JCS_MAX_DEPTH; i++) deep = [deep];
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3];

  it.each([
    ['NaN', Number.NaN, 'JCS_NON_FINITE_NUMBER'],
    ['-Infinity in an object', { x: Number.NEGATIVE_INFINITY }, 'JCS_NON_FINITE_NUMBER'],
    ['undefined', undefined, 'JCS_UNSUPPORTED_VALUE'],
    ['an undefined member', { x: undefined }, 'JCS_UNSUPPORTED_VALUE'],
    ['undefined in an array', [undefined], 'JCS_UNSUPPORTED_VALUE'],
    ['a sparse array', sparse, 'JCS_UNSUPPORTED_VALUE'],
    ['a function', { f: () => 1 }, 'JCS_UNSUPPORTED_VALUE'],
    ['a symbol', Symbol('x'), 'JCS_UNSUPPORTED_VALUE'],
    ['a symbol key', { [Symbol('k')]: 1 }, 'JCS_UNSUPPORTED_VALUE'],
    ['a bigint', { n: BigInt(1) }, 'JCS_UNSUPPORTED_VALUE'],
    ['a Date', new Date(0), 'JCS_UNSUPPORTED_VALUE'],
    ['a Buffer', Buffer.from('x'), 'JCS_UNSUPPORTED_VALUE'],
    ['a Map', new Map(), 'JCS_UNSUPPORTED_VALUE'],
    ['a class instance', new (class Thing {})(), 'JCS_UNSUPPORTED_VALUE'],
    ['a lone high surrogate', 'a\ud800b', 'JCS_UNSUPPORTED_VALUE'],
    ['a lone low surrogate in a key', { '\udc00': 1 }, 'JCS_UNSUPPORTED_VALUE'],
    ['a high surrogate at the end', '\ud83d', 'JCS_UNSUPPORTED_VALUE'],
    ['a cycle', cyclic, 'JCS_CYCLE'],
    ['a cycle through arrays', cyclicArray, 'JCS_CYCLE'],
    ['excessive nesting', deep, 'JCS_TOO_DEEP'],
  ])('refuses %s', (_name, value, code) => {
    expect(syncCodeOf(() => canonicalize(value))).toBe(code);
  });

  it('reports where the bad value is, as a JSON Pointer', () => {
    try {
      canonicalize({ a: [1, { 'b/c': Number.NaN }] });
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toMatchObject({ status: 400, errors: [{ pointer: '/a/1/b~1c', code: 'JCS_NON_FINITE_NUMBER' }] });
    }
  });

  it('accepts shared (non-cyclic) references, null-prototype objects and -0', () => {
    const shared = { x: 1 };
    const bare = Object.create(null) as Record<string, unknown>;
    bare.z = -0;
    expect(canonicalize({ a: shared, b: shared, c: bare })).toBe('{"a":{"x":1},"b":{"x":1},"c":{"z":0}}');
  });

  it('keeps a "__proto__" member from JSON.parse as a member (regression: test oracle lost it)', () => {
    expect(canonicalize(JSON.parse('{"b":1,"__proto__":{"x":[]}}'))).toBe('{"__proto__":{"x":[]},"b":1}');
  });
});

describe('properties', () => {
  it('equals JSON.stringify with sorted keys, and is idempotent through JSON.parse', () => {
    const sortDeep = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sortDeep);
      if (v && typeof v === 'object') {
        // Null prototype, so that a "__proto__" member stays a member.
        const out = Object.create(null) as Record<string, unknown>;
        for (const k of Object.keys(v).sort()) out[k] = sortDeep((v as Record<string, unknown>)[k]);
        return out;
      }
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const c = canonicalize(value);
        expect(canonicalize(JSON.parse(c))).toBe(c);
        // Keys that look like array indices are enumerated first by JS objects, so compare only
        // when no such keys occur.
        if (!/"\d+":/.test(c)) expect(c).toBe(JSON.stringify(sortDeep(value)));
      }),
      { numRuns: 1000 },
    );
  });
});
