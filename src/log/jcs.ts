/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON data model of JavaScript values.
 *
 * - §3.2.1 whitespace: none between tokens.
 * - §3.2.2.1 literals: null, true, false.
 * - §3.2.2.2 strings: `"` and `\` escaped as `\"` and `\\`; U+0008, U+0009, U+000A, U+000C, U+000D
 *   as `\b \t \n \f \r`; every other code point below U+0020 as `\u00xx` with lowercase hex;
 *   everything else (including U+007F, U+2028, non-ASCII) is written as is, in UTF-8.
 * - §3.2.2.3 numbers: the ECMAScript Number-to-String algorithm (ECMA-262 Number::toString), which
 *   is what `String(n)` is in JavaScript; −0 serialises as `0`; NaN and ±Infinity are errors.
 * - §3.2.3 property order: sorted by the UTF-16 code units of the names, not by locale or code
 *   point.
 *
 * The input must be plain JSON data: objects whose prototype is Object.prototype or null, arrays
 * without holes, strings that are well-formed UTF-16 (I-JSON, RFC 7493 §2.1), finite numbers,
 * booleans and null. Anything else — undefined (also as a property value, where JSON.stringify
 * would silently drop it), functions, symbols, bigints, Dates, Buffers, class instances, cycles —
 * is refused rather than guessed at. `toJSON` is not called.
 */
import { ValidationError } from '../errors';

/** Nesting deeper than this is refused (keeps recursion far from the stack limit). */
export const JCS_MAX_DEPTH = 512;

/** The canonical form as a JavaScript string. */
export function canonicalize(value: unknown): string {
  const out: string[] = [];
  write(value, '', 0, new Set<object>(), out);
  return out.join('');
}

/** The canonical form as UTF-8 bytes (what gets hashed or signed). */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

function write(value: unknown, pointer: string, depth: number, ancestors: Set<object>, out: string[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) fail('JCS_NON_FINITE_NUMBER', pointer, 'NaN and Infinity have no JSON representation');
      out.push(String(value)); // ECMA-262 Number::toString; String(-0) === '0'
      return;
    case 'string':
      out.push(quote(value, pointer));
      return;
    case 'object':
      break;
    default:
      fail('JCS_UNSUPPORTED_VALUE', pointer, `a ${typeof value} is not JSON data`);
  }

  const obj = value as object;
  if (depth >= JCS_MAX_DEPTH) fail('JCS_TOO_DEEP', pointer, `nesting exceeds ${JCS_MAX_DEPTH} levels`);
  if (ancestors.has(obj)) fail('JCS_CYCLE', pointer, 'the value contains a cycle');
  ancestors.add(obj);

  if (Array.isArray(obj)) {
    out.push('[');
    for (let i = 0; i < obj.length; i++) {
      const child = `${pointer}/${i}`;
      if (!Object.prototype.hasOwnProperty.call(obj, i)) fail('JCS_UNSUPPORTED_VALUE', child, 'sparse arrays are not JSON data');
      if (i > 0) out.push(',');
      write(obj[i], child, depth + 1, ancestors, out);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      fail('JCS_UNSUPPORTED_VALUE', pointer, 'only plain objects are JSON data');
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) {
      fail('JCS_UNSUPPORTED_VALUE', pointer, 'symbol-keyed properties are not JSON data');
    }
    // Default sort order compares UTF-16 code units, which is exactly RFC 8785 §3.2.3.
    const keys = Object.keys(obj).sort();
    out.push('{');
    keys.forEach((key, i) => {
      const child = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const member = (obj as Record<string, unknown>)[key];
      if (member === undefined) fail('JCS_UNSUPPORTED_VALUE', child, 'undefined is not JSON data');
      if (i > 0) out.push(',');
      out.push(quote(key, child), ':');
      write(member, child, depth + 1, ancestors, out);
    });
    out.push('}');
  }
  ancestors.delete(obj);
}

// Characters that need attention: controls, quote, backslash, and any surrogate half.
const NEEDS_WORK = /[\u0000-\u001f"\\\ud800-\udfff]/;
const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function quote(s: string, pointer: string): string {
  if (!NEEDS_WORK.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) {
      out += short;
    } else if (c < 0x20) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) fail('JCS_UNSUPPORTED_VALUE', pointer, 'string contains a lone surrogate');
      out += s[i] + s[i + 1];
      i += 1;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      fail('JCS_UNSUPPORTED_VALUE', pointer, 'string contains a lone surrogate');
    } else {
      out += s[i];
    }
  }
  return `${out}"`;
}

function fail(code: string, pointer: string, detail: string): never {
  throw new ValidationError(`value cannot be canonicalised (RFC 8785): ${detail}`, [{ pointer, detail, code }], code, {
    status: 400,
  });
}
