/** Malformed-input properties: random or mutated notes only ever produce parse/verify errors. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { formatCheckpoint, noteVerifier, parseCheckpoint, parseNote, parseVerifierKey, signNote, verifyNote } from '../../../src/log';
import { keySigner, newEd25519, newP256 } from './helpers';

const PARSE_CODES = new Set(['NOTE_MALFORMED', 'NOTE_TOO_LARGE']);
const VERIFY_CODES = new Set(['NOTE_SIGNATURE_INVALID', 'NOTE_NOT_VERIFIED']);

function expectOnly(codes: Set<string>, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code || !codes.has(code)) throw new Error(`unexpected error ${String(code)}: ${String(e)}`);
  }
}

// Text biased towards the note grammar so mutations reach the deeper checks.
const noteChars = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('\n', '\n\n', '\u2014 ', ' ', '+', '=', 'A', 'k', '/', '\u2014', '\u00e9', '\r', '\t', '\u0000') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 16 }) },
);
const noteLike = fc.array(noteChars, { maxLength: 40 }).map((parts) => parts.join(''));

describe('parseNote on arbitrary input', () => {
  it('strings: only NOTE_MALFORMED / NOTE_TOO_LARGE', () => {
    fc.assert(
      fc.property(fc.oneof(noteLike, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (s) => {
        expectOnly(PARSE_CODES, () => parseNote(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('lone surrogates in strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) }), (s) => {
        expectOnly(PARSE_CODES, () => parseNote(`${s}\n\n\u2014 k AAAAAAA=\n`));
      }),
      { numRuns: 1000 },
    );
  });

  it('bytes: only NOTE_MALFORMED / NOTE_TOO_LARGE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (u) => {
        expectOnly(PARSE_CODES, () => parseNote(u));
      }),
      { numRuns: 5000 },
    );
  });

  it('whatever parses re-parses to the same result', () => {
    fc.assert(
      fc.property(noteLike, (s) => {
        let n;
        try {
          n = parseNote(s);
        } catch {
          return;
        }
        expect(`${n.text}\n${n.signatures.map((x) => `\u2014 ${x.name} ${x.base64}\n`).join('')}`).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('mutations of a genuinely signed checkpoint', () => {
  it('never crash, and never verify unless the signed text is untouched', async () => {
    const log = keySigner(newP256());
    const witness = keySigner(newEd25519());
    const text = formatCheckpoint({ origin: 'eseal.example/log', size: 7, rootHash: Buffer.alloc(32, 9) });
    const note = await signNote(text, [
      { name: 'eseal.example/log', signer: log },
      { name: 'w.example', signer: witness },
    ]);
    const verifiers = [noteVerifier('eseal.example/log', log.publicKey), noteVerifier('w.example', witness.publicKey)];
    const mutation = fc.tuple(fc.nat({ max: note.length }), fc.nat({ max: 3 }), fc.oneof(noteChars, fc.string({ unit: 'binary', maxLength: 2 })));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (edits) => {
        let s = note;
        for (const [at, del, ins] of edits) s = s.slice(0, at) + ins + s.slice(at + del);
        let parsed;
        try {
          parsed = parseNote(s);
        } catch (e) {
          expectOnly(PARSE_CODES, () => {
            throw e;
          });
          return;
        }
        let ok = false;
        expectOnly(VERIFY_CODES, () => {
          verifyNote(parsed, verifiers);
          ok = true;
        });
        if (ok) expect(parsed.text).toBe(text);
        if (ok) expectOnly(new Set(['CHECKPOINT_MALFORMED']), () => parseCheckpoint(parsed.text));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('other parsers', () => {
  it('parseCheckpoint: only CHECKPOINT_MALFORMED', () => {
    fc.assert(
      fc.property(fc.oneof(noteLike, fc.string({ unit: 'binary' })), (s) => {
        expectOnly(new Set(['CHECKPOINT_MALFORMED']), () => parseCheckpoint(s));
        expectOnly(new Set(['CHECKPOINT_MALFORMED']), () => parseCheckpoint(`o\n${s}\n`));
      }),
      { numRuns: 3000 },
    );
  });

  it('parseVerifierKey: only NOTE_INVALID_VERIFIER_KEY (also with matching key IDs)', () => {
    const codes = new Set(['NOTE_INVALID_VERIFIER_KEY']);
    const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 100 }), (text, id, key) => {
        expectOnly(codes, () => parseVerifierKey(text));
        for (const type of [1, 2, 4]) {
          const material = Buffer.concat([Buffer.from([type]), key]);
          expectOnly(codes, () => parseVerifierKey(`k+${hex8(id)}+${material.toString('base64')}`));
          // With the key ID the spec derives, so that key decoding itself is exercised.
          const derived =
            type === 2
              ? createHash('sha256').update(key).digest().readUInt32BE(0)
              : createHash('sha256').update(Buffer.concat([Buffer.from('k\n'), material])).digest().readUInt32BE(0);
          expectOnly(codes, () => parseVerifierKey(`k+${hex8(derived)}+${material.toString('base64')}`));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
