import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { isAppError } from '../../src/errors';
import { DerError, decodeDer } from '../../src/pki/der';
import { parseCertificate } from '../../src/pki/certificate';
import { parseCrl } from '../../src/pki/crl';
import { buildCertId, buildOcspRequest, parseOcspRequest, parseOcspResponse } from '../../src/pki/ocsp';
import { buildTimeStampReq, parseTimeStampReq } from '../../src/pki/tsp';
import { parseTimeStampResp, parseTimeStampToken } from '../../src/pki/tsp-token';
import { fromPemAll, toPem } from '../../src/pki/pem';
import { parseCadesSignature } from '../../src/signing/cades-parse';
import { readPdf } from '../../src/pdf';
import { analysePdfSignatures, type ReadablePdfAnalysis } from '../../src/verify/pdf-signatures';

/**
 * Property-based fuzzing of every binary parser (fast-check): DER, X.509, CRL, OCSP request and
 * response, TSP request, response and token, CMS (CAdES), PEM, and the PDF reader. Seeds are real
 * objects taken from the signed baseline of the attack corpus (its CMS, time-stamp token and DSS),
 * mutated by byte flips, insertions, deletions, truncations, splices and length-field rewrites,
 * plus random byte strings. The only allowed outcomes are a result or a typed parse error (an
 * AppError with a code; DerError from the bare DER decoder) — never a TypeError / RangeError /
 * stack overflow — each within a time bound.
 *
 * Iterations per parser: ESEAL_FUZZ_RUNS (default 300 in the test suite; `npm run fuzz` runs 20,000).
 * Seed: ESEAL_FUZZ_SEED (printed), so a failure can be replayed.
 */
const RUNS = Number(process.env.ESEAL_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.ESEAL_FUZZ_SEED ?? Date.now() % 2 ** 31);
const PER_CASE_MS = 1000;

const corpus = path.join(__dirname, '..', 'vectors', 'attacks');
const signed = fs.readFileSync(path.join(corpus, '00-baseline-b-lt.pdf'));
const analysis = analysePdfSignatures(signed) as ReadablePdfAnalysis;
const cms = analysis.signatures.find((s) => s.type === 'Sig')!.cms!;
const parsedCms = parseCadesSignature(cms);
const token = parsedCms.signatureTimeStampTokens[0]!;
const dss = analysis.dss!;
const cert = dss.certs[0]!;
const issuer = dss.certs.find((c) => !c.equals(cert)) ?? cert;
/** TimeStampResp { status granted, token } (RFC 3161 §2.4.2), DER. */
function timeStampResp(tok: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]), tok]);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([0x30, ...len]), body]);
}
const seeds: Record<string, Buffer[]> = {
  der: [cms, cert, token],
  certificate: dss.certs,
  crl: dss.crls,
  ocspResponse: dss.ocsps,
  ocspRequest: [buildOcspRequest({ certIds: [buildCertId(cert, issuer)], nonce: Buffer.alloc(16, 7) })],
  tspRequest: [buildTimeStampReq({ hashAlg: 'sha256', digest: Buffer.alloc(32, 1), nonce: 42n, certReq: true })],
  tspToken: [token],
  tspResponse: [timeStampResp(token)],
  cms: [cms],
  pdf: [signed.subarray(0, analysis.revisions[0]!.end)],
  pem: dss.certs.map((c) => Buffer.from(toPem(c), 'latin1')),
};

/** A mutation of a seed, or random bytes. */
function mutated(pool: Buffer[]): fc.Arbitrary<Buffer> {
  const seed = fc.constantFrom(...pool);
  const byteAt = (b: Buffer) => fc.nat({ max: Math.max(0, b.length - 1) });
  return fc.oneof(
    seed.chain((b) => fc.tuple(byteAt(b), fc.integer({ min: 1, max: 255 })).map(([i, x]) => { const o = Buffer.from(b); o[i] = o[i]! ^ x; return o; })),
    seed.chain((b) => fc.tuple(byteAt(b), fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([i, ins]) => Buffer.concat([b.subarray(0, i), Buffer.from(ins), b.subarray(i)]))),
    seed.chain((b) => fc.tuple(byteAt(b), fc.nat({ max: 256 })).map(([i, n]) => Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + n)]))),
    seed.chain((b) => byteAt(b).map((i) => b.subarray(0, i))),
    // A length octet rewritten: long-form lengths that claim more (or much less) than there is.
    seed.chain((b) => fc.tuple(byteAt(b), fc.constantFrom(0x80, 0x81, 0x84, 0x88, 0xff, 0x00, 0x7f)).map(([i, v]) => { const o = Buffer.from(b); o[Math.min(o.length - 1, i | 1)] = v; return o; })),
    // A splice of two seeds.
    fc.tuple(seed, seed, fc.nat(), fc.nat()).map(([a, b, i, j]) => Buffer.concat([a.subarray(0, i % (a.length + 1)), b.subarray(j % (b.length + 1))])),
    fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u)),
    // Deep nesting: SEQUENCE { SEQUENCE { … } } with indefinite / huge lengths.
    fc.integer({ min: 1, max: 5000 }).map((n) => Buffer.concat([Buffer.alloc(n * 2, 0).map((_, k) => (k % 2 ? 0x80 : 0x30)), Buffer.alloc(n * 2)])),
  );
}

type Outcome = 'parsed' | 'rejected';
/** Runs one parse; a typed error is a rejection, anything else fails the property. */
function outcome(parse: (b: Buffer) => unknown, input: Buffer, allowDerError = false): Outcome {
  const t = performance.now();
  try {
    parse(input);
    return 'parsed';
  } catch (e) {
    if (isAppError(e) && typeof e.code === 'string' && e.code.length > 0) return 'rejected';
    if (allowDerError && e instanceof DerError) return 'rejected';
    throw new Error(`untyped failure on ${input.length} bytes: ${(e as Error)?.name}: ${(e as Error)?.message}`);
  } finally {
    const ms = performance.now() - t;
    if (ms > PER_CASE_MS) throw new Error(`parse took ${ms.toFixed(0)} ms on ${input.length} bytes (bound ${PER_CASE_MS} ms)`);
  }
}

const PARSERS: [string, keyof typeof seeds, (b: Buffer) => unknown, boolean?][] = [
  ['DER decoder', 'der', (b) => decodeDer(b, { maxBytes: 1 << 20, maxDepth: 32 }), true],
  ['X.509 certificate', 'certificate', parseCertificate],
  ['CRL', 'crl', parseCrl],
  ['OCSP request', 'ocspRequest', (b) => parseOcspRequest(b)],
  ['OCSP response', 'ocspResponse', parseOcspResponse],
  ['TSP request', 'tspRequest', (b) => parseTimeStampReq(b)],
  ['TSP response', 'tspResponse', parseTimeStampResp],
  ['TSP token', 'tspToken', parseTimeStampToken],
  ['CMS (CAdES)', 'cms', (b) => parseCadesSignature(b)],
  ['PEM', 'pem', (b) => fromPemAll(b.toString('latin1'))],
  ['PDF reader', 'pdf', (b) => { const d = readPdf(b); d.pages(); d.signatures(); }],
];

const tally: string[] = [];
afterAll(() => {
  process.stdout.write(`parser fuzz: seed ${SEED}, ${RUNS} runs per parser\n${tally.join('\n')}\n`);
});

describe('parsers never crash, hang or throw untyped errors', () => {
  it.each(PARSERS.map((p) => [p[0], p] as const))('%s', (name, [, seedName, parse, allowDerError]) => {
    void name;
    const counts: Record<Outcome, number> = { parsed: 0, rejected: 0 };
    // Every seed parses as is: the mutations start from real objects.
    for (const s of seeds[seedName]!) expect(outcome(parse, s, allowDerError)).toBe('parsed');
    fc.assert(
      fc.property(mutated(seeds[seedName]!), (input) => {
        counts[outcome(parse, input, allowDerError)]++;
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    tally.push(`  ${name}: ${RUNS} inputs, ${counts.parsed} parsed, ${counts.rejected} rejected with a code`);
    expect(counts.parsed + counts.rejected).toBe(RUNS);
  }, 120_000);
});
