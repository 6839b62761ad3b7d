/**
 * PEM (RFC 7468 "strict" textual encoding): one label, base64 lines, no headers.
 */
import { ParseError } from '../errors';

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_BODY_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** All blocks with `label`, in order. Text outside blocks is ignored (RFC 7468 §2). */
export function fromPemAll(text: string, label = 'CERTIFICATE'): Buffer[] {
  if (text.length > 4 << 20) throw new ParseError('PEM text is too large', 'PEM_MALFORMED');
  const out: Buffer[] = [];
  for (const m of text.matchAll(BLOCK_RE)) {
    const [, begin, body, end] = m;
    if (begin !== end) throw new ParseError('PEM BEGIN and END labels differ', 'PEM_MALFORMED');
    if (begin !== label) continue;
    const compact = body!.replace(/[ \t\r\n]/g, '');
    if (!BASE64_BODY_RE.test(compact) || compact.length % 4 !== 0 || body!.includes(':')) {
      throw new ParseError(`PEM ${label} block is not valid base64`, 'PEM_MALFORMED');
    }
    const der = Buffer.from(compact, 'base64');
    if (der.length === 0) throw new ParseError(`PEM ${label} block is empty`, 'PEM_MALFORMED');
    out.push(der);
  }
  return out;
}

/** The one block with `label`; fails if there is none or more than one. */
export function fromPem(text: string, label = 'CERTIFICATE'): Buffer {
  const all = fromPemAll(text, label);
  if (all.length !== 1) {
    throw new ParseError(`expected exactly one PEM ${label} block, found ${all.length}`, 'PEM_MALFORMED');
  }
  return all[0]!;
}
