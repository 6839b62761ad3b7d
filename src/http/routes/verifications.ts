import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { AppError, ValidationError } from '../../errors';
import type { Principal } from '../../api-keys';
import { REPORT_CSP, renderReportHtml, renderVerifyPage, VERIFY_PAGE_CSP } from '../../verify/html';
import type { VerificationReport } from '../../verify/report';
import { readMultipart } from '../multipart';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';

/**
 * Verification over HTTP (SPEC "Capabilities" 5, docs/verification.md):
 *
 * - POST /v1/verifications — any API key (verification is not agency-scoped: a document signed
 *   by agency A is verified by anyone who holds it). A PDF as the raw body (application/pdf), or
 *   multipart/form-data with `document` and, for a detached CAdES signature, `signature`.
 * - GET /verify — the public drop-a-PDF page; it posts to
 * - POST /verify — anonymous verification for that page: the same request shapes, answered with
 *   the HTML report; rate-limited per client address before the body is read.
 *
 * A verification that fails is a 200 report (indication TOTAL_FAILED / INDETERMINATE), never an
 * error; only a request that cannot be a verification (no document, bad multipart, too large,
 * undeclared media type) is a 4xx problem.
 */

/** What the routes need of the engine (src/verify/engine.ts Verifier). */
export interface DocumentVerifier {
  verifyPdf(bytes: Buffer): Promise<VerificationReport>;
  verifyDetached(content: Buffer, signature: Buffer): Promise<VerificationReport>;
  /** An e-licence credential or QR token (compact JWS). */
  verifyLicenceJws(text: string): Promise<VerificationReport>;
}

/** Largest document accepted (the same as for signing; README "Limits"). */
export const MAX_VERIFY_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** Largest detached signature: the engine's own bound (a chain, revocation values and tokens fit easily). */
export const MAX_VERIFY_SIGNATURE_BYTES = 1024 * 1024;
/** Multipart boundaries and part headers around the two parts. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const PDF = 'application/pdf';
const MULTIPART = 'multipart/form-data';
const PKCS7 = 'application/pkcs7-signature';
/** E-licence credentials (vc+jwt) and QR tokens: compact JWS text. */
const JWT_TYPES = ['application/vc+jwt', 'application/jwt'];
const MAX_JWS_BYTES = 80 * 1024;

/**
 * Anonymous POST /verify: a token bucket per client address (10 requests at once, then one every
 * 6 s), and at most 4 anonymous verifications in progress at any time, so that the memory held by
 * anonymous uploads stays bounded (4 × the body limit).
 */
export const ANONYMOUS_LIMITS = { burst: 10, perMinute: 10, inFlight: 4, trackedClients: 10_000 };

const Check = Type.Object({
  group: Type.String({ description: 'format | integrity | trust | revocation | time' }),
  name: Type.String(),
  result: Type.String({ description: 'passed | failed | indeterminate | warning | skipped' }),
  reason: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
});

/** The report's shape for the OpenAPI document (src/verify/report.ts is the source of truth). */
export const VerificationReportSchema = Type.Object(
  {
    indication: Type.String({ enum: ['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE'] }),
    subIndication: Type.Optional(Type.String({ description: 'ETSI EN 319 102-1 Table 6' })),
    validationTime: Type.String({ format: 'date-time' }),
    document: Type.Object({
      kind: Type.String({ enum: ['pdf', 'cades-detached', 'ses-detached', 'licence-credential', 'licence-token'] }),
      size: Type.Integer(),
      sha256: Type.String(),
      revisions: Type.Optional(Type.Integer()),
    }),
    signatures: Type.Array(
      Type.Object({
        id: Type.String(),
        type: Type.String({ enum: ['signature', 'certification', 'document-timestamp'] }),
        format: Type.String({ enum: ['PAdES', 'CAdES', 'PDF-TS', 'SES', 'JWS'] }),
        subFilter: Type.Optional(Type.String()),
        indication: Type.String({ enum: ['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE'] }),
        subIndication: Type.Optional(Type.String()),
        signer: Type.Optional(
          Type.Object({
            subject: Type.String(),
            issuer: Type.String(),
            serialNumber: Type.String(),
            notBefore: Type.String(),
            notAfter: Type.String(),
            agency: Type.Optional(Type.Object({ name: Type.Optional(Type.String()), creditCode: Type.Optional(Type.String()) })),
            seal: Type.Optional(Type.Object({ id: Type.String(), name: Type.String(), agencyCode: Type.String(), imageUrl: Type.String() })),
          }),
        ),
        signingTime: Type.Optional(Type.String({ description: 'Claimed by the signer: not proof' })),
        timestamp: Type.Optional(
          Type.Object({ time: Type.String(), tsa: Type.String(), serialNumber: Type.String(), valid: Type.Boolean() }, { description: 'Proven time' }),
        ),
        level: Type.Optional(Type.String({ enum: ['B-B', 'B-T', 'B-LT', 'B-LTA'] })),
        coverage: Type.String({ enum: ['WHOLE_DOCUMENT', 'REVISION', 'PARTIAL'] }),
        revision: Type.Optional(Type.Integer()),
        byteRange: Type.Optional(Type.Array(Type.Integer())),
        modifiedAfterSigning: Type.Boolean(),
        changes: Type.Array(
          Type.Object({
            revision: Type.Integer(),
            kind: Type.String(),
            object: Type.Optional(Type.String()),
            page: Type.Optional(Type.Integer()),
            allowed: Type.Boolean(),
            description: Type.String(),
          }),
        ),
        bestSignatureTime: Type.String(),
        checks: Type.Array(Check),
      }),
    ),
    checks: Type.Array(Check),
    licence: Type.Optional(
      Type.Object(
        {
          source: Type.String({ enum: ['pdf', 'credential', 'token'] }),
          signatureValid: Type.Boolean(),
          status: Type.String({ enum: ['valid', 'suspended', 'revoked', 'expired', 'unknown'] }),
          problem: Type.Optional(Type.String()),
          identifier: Type.Optional(Type.String()),
          licenceName: Type.Optional(Type.String()),
          issuer: Type.Optional(Type.Object({ name: Type.String(), creditCode: Type.String() })),
          holderName: Type.Optional(Type.String({ description: 'Partly masked' })),
          validFrom: Type.Optional(Type.String()),
          validUntil: Type.Optional(Type.Union([Type.String(), Type.Null()])),
          revocationReason: Type.Optional(Type.String()),
          checkedAt: Type.String(),
        },
        { description: 'Present when the document is one of our e-licences: its current status beside the signature verdict' },
      ),
    ),
    policy: Type.Object({ revocation: Type.String({ enum: ['online', 'offline'] }), trustAnchors: Type.Array(Type.String()) }),
  },
  { description: 'Validation report (ETSI EN 319 102-1 indications); see docs/verification.md' },
);

// ---------------------------------------------------------------------------------------------
// Reading the request

interface VerifyInput {
  kind: 'pdf' | 'detached' | 'licence-jws';
  document: Buffer;
  signature?: Buffer;
}

const tooLarge = () =>
  new AppError('PAYLOAD_TOO_LARGE', `The document exceeds the limit of ${MAX_VERIFY_DOCUMENT_BYTES} bytes`, { details: { limit: MAX_VERIFY_DOCUMENT_BYTES } });

/**
 * The three request shapes, by declared media type only (never sniffed): a raw PDF; multipart
 * with `document` (+ `signature` → detached CAdES; without it the document is taken as a PDF);
 * a raw .p7s alone is refused, because a detached signature cannot be verified without its content.
 */
async function readVerifyInput(req: Request, body: Buffer): Promise<VerifyInput> {
  if (req.is(MULTIPART)) {
    const parts = await readMultipart(Readable.from([body]), req.headers, {
      document: { kind: 'file', required: true, maxBytes: MAX_VERIFY_DOCUMENT_BYTES },
      // A file part, or PEM pasted into a text field.
      signature: { kind: 'any', maxBytes: MAX_VERIFY_SIGNATURE_BYTES },
    });
    const document = parts.document!.data;
    if (document.length === 0) throw new ValidationError('The document is empty', [{ pointer: '/document', detail: 'is empty', code: 'EMPTY' }]);
    if (!parts.signature) return { kind: 'pdf', document };
    if (parts.signature.data.length === 0) throw new ValidationError('The signature is empty', [{ pointer: '/signature', detail: 'is empty', code: 'EMPTY' }]);
    return { kind: 'detached', document, signature: parts.signature.data };
  }
  if (req.is(PKCS7)) {
    throw new ValidationError(
      'A detached signature cannot be verified without the content it signs: send multipart/form-data with a `document` part and a `signature` part',
      [{ pointer: '/document', detail: 'is required with a detached signature', code: 'REQUIRED' }],
    );
  }
  if (req.is(JWT_TYPES)) {
    if (body.length > MAX_JWS_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', `A credential or token exceeds ${MAX_JWS_BYTES} bytes`, { details: { limit: MAX_JWS_BYTES } });
    if (body.length === 0) throw new ValidationError('The credential is empty', [{ pointer: '/', detail: 'is empty', code: 'EMPTY' }]);
    return { kind: 'licence-jws', document: body };
  }
  if (body.length > MAX_VERIFY_DOCUMENT_BYTES) throw tooLarge();
  if (body.length === 0) throw new ValidationError('The document is empty', [{ pointer: '/', detail: 'is empty', code: 'EMPTY' }]);
  return { kind: 'pdf', document: body };
}

/** Picks the representation before any work is done; 406 when neither is acceptable. */
function negotiate(req: Request, preferred: 'json' | 'html'): 'json' | 'html' {
  const order = preferred === 'json' ? ['application/json', 'text/html'] : ['text/html', 'application/json'];
  const pick = req.accepts(order);
  if (pick === false) throw new AppError('NOT_ACCEPTABLE', 'Ask for application/json or text/html');
  return pick === 'text/html' ? 'html' : 'json';
}

async function runVerification(verifier: DocumentVerifier, input: VerifyInput): Promise<VerificationReport> {
  if (input.kind === 'licence-jws') return verifier.verifyLicenceJws(input.document.toString('utf8'));
  return input.kind === 'detached' ? verifier.verifyDetached(input.document, input.signature!) : verifier.verifyPdf(input.document);
}

function sendReport(res: Response, report: VerificationReport, as: 'json' | 'html', page: { backLink?: string }): void {
  // The report describes a document the client sent: no shared cache may keep it.
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Vary', 'Accept');
  res.setHeader('X-Verification-Indication', report.indication);
  if (as === 'html') {
    res.setHeader('Content-Security-Policy', REPORT_CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.status(200).type('text/html; charset=utf-8').send(renderReportHtml(report, { backLink: page.backLink }));
  } else {
    res.status(200).json(report);
  }
}

/** Who asked and what they learnt: every verification is attributable in the service log. */
function logVerification(log: Logger, who: Record<string, unknown>, input: VerifyInput, report: VerificationReport): void {
  log.info(
    {
      ...who,
      kind: input.kind,
      size: input.document.length,
      sha256: report.document?.sha256 ?? createHash('sha256').update(input.document).digest('hex'),
      indication: report.indication,
      subIndication: report.subIndication,
      signatures: report.signatures.length,
    },
    'document verified',
  );
}

// ---------------------------------------------------------------------------------------------
// Anonymous rate limit

/**
 * Token buckets keyed by client address, in memory, bounded: at most `maxKeys` addresses are
 * tracked (least recently seen evicted first — an evicted address just starts with a full bucket).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly opts: { capacity: number; refillPerSecond: number; maxKeys: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token; when none is left, says how long until the next one. */
  take(key: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.opts.capacity, at: now };
    this.buckets.delete(key);
    b.tokens = Math.min(this.opts.capacity, b.tokens + ((now - b.at) / 1000) * this.opts.refillPerSecond);
    b.at = now;
    this.buckets.set(key, b);
    while (this.buckets.size > this.opts.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.opts.refillPerSecond)) };
  }
}

const rateLimited = (detail: string) => new AppError('RATE_LIMITED', detail, { status: 429 });

/**
 * Runs before the body is read (mounted ahead of the route registry), so that a client over its
 * limit costs no buffering. Keyed by req.ip: behind a reverse proxy every client shares the
 * proxy's address unless Express's "trust proxy" is configured (docs/verification.md).
 */
function anonymousGuard(limits: typeof ANONYMOUS_LIMITS, now: () => number): RequestHandler {
  const buckets = new TokenBuckets({ capacity: limits.burst, refillPerSecond: limits.perMinute / 60, maxKeys: limits.trackedClients }, now);
  let inFlight = 0;
  return (req, res, next) => {
    res.locals.route = '/verify';
    const taken = buckets.take(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    if (!taken.ok) {
      res.setHeader('Retry-After', String(taken.retryAfterSeconds));
      return next(rateLimited(`Too many anonymous verifications from this address; retry in ${taken.retryAfterSeconds} s, or use POST /v1/verifications with an API key`));
    }
    if (inFlight >= limits.inFlight) {
      res.setHeader('Retry-After', '5');
      return next(rateLimited('Too many anonymous verifications in progress; retry shortly, or use POST /v1/verifications with an API key'));
    }
    inFlight++;
    let released = false;
    res.on('close', () => {
      if (released) return;
      released = true;
      inFlight--;
    });
    next();
  };
}

// ---------------------------------------------------------------------------------------------
// Routes

export interface VerificationRoutes {
  routes: RouteSpec[];
  /** Mount before the route registry: the anonymous rate limit of POST /verify. */
  beforeRoutes: Router;
}

export function verificationRoutes(verifier: DocumentVerifier, opts: { limits?: Partial<typeof ANONYMOUS_LIMITS>; now?: () => number } = {}): VerificationRoutes {
  const limits = { ...ANONYMOUS_LIMITS, ...opts.limits };
  const rawLimit = MAX_VERIFY_DOCUMENT_BYTES + MAX_VERIFY_SIGNATURE_BYTES + MULTIPART_OVERHEAD_BYTES;
  const page = renderVerifyPage({ maxDocumentBytes: MAX_VERIFY_DOCUMENT_BYTES, action: '/verify' });
  const beforeRoutes = express.Router();
  beforeRoutes.post('/verify', anonymousGuard(limits, opts.now ?? Date.now));

  const requestErrors = {
    400: { description: 'Empty document, a detached signature without its content, or a malformed multipart body (precise `code`)', schema: Problem },
    406: { description: 'Neither application/json nor text/html is acceptable', schema: Problem },
    413: { description: `Document above ${MAX_VERIFY_DOCUMENT_BYTES} bytes or signature above ${MAX_VERIFY_SIGNATURE_BYTES} bytes`, schema: Problem },
    415: { description: 'A body that is neither application/pdf nor multipart/form-data', schema: Problem },
  };

  const routes = [
    route<Buffer>({
      method: 'post',
      path: '/v1/verifications',
      operationId: 'verify',
      summary:
        'Verify a signed document: a PDF (PAdES) as the body (application/pdf), or multipart/form-data with a `document` part and, for a ' +
        'detached CAdES signature, a `signature` part (.p7s, DER or PEM). Any API key: verification is not agency-scoped. A failed ' +
        'verification is a 200 report (TOTAL_FAILED or INDETERMINATE); the indication is also in X-Verification-Indication. ' +
        'Accept: text/html gives the same report as a page. (application/pkcs7-signature alone is refused with 400: a detached signature needs its content.) ' +
        'An e-licence credential or QR token (compact JWS) as application/vc+jwt or application/jwt: its signature and the licence status; a sealed licence PDF reports its licence status too.',
      tags: ['verifications'],
      access: 'any',
      raw: { contentTypes: [PDF, MULTIPART, PKCS7, ...JWT_TYPES], limit: rawLimit },
      responses: {
        200: { description: 'The validation report (JSON; text/html with Accept: text/html)', schema: VerificationReportSchema },
        ...requestErrors,
      },
      async handler({ req, res, body, principal, log }) {
        const as = negotiate(req, 'json');
        const input = await readVerifyInput(req, body);
        const report = await runVerification(verifier, input);
        const p = principal as Principal;
        logVerification(log, { apiKeyId: p.apiKeyId, agencyCode: p.agencyCode }, input, report);
        sendReport(res, report, as, {});
      },
    }),
    route({
      method: 'get',
      path: '/verify',
      operationId: 'verifyPage',
      summary: 'Public page: drop a signed PDF (or a file and its .p7s) and read its verification report; it posts to POST /verify',
      tags: ['verifications'],
      access: 'public',
      responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
      handler({ res }) {
        res.setHeader('Content-Security-Policy', VERIFY_PAGE_CSP);
        res.setHeader('Referrer-Policy', 'no-referrer');
        res.type('text/html; charset=utf-8').send(page);
      },
    }),
    route<Buffer>({
      method: 'post',
      path: '/verify',
      operationId: 'verifyAnonymous',
      summary:
        `Anonymous verification for the /verify page: multipart/form-data (\`document\`, optional \`signature\`) or a PDF body; answers with the ` +
        `HTML report (JSON with Accept: application/json). Rate-limited per client address (${limits.burst} at once, then ${limits.perMinute} a minute; ` +
        `429 with Retry-After); at most ${limits.inFlight} anonymous verifications run at once.`,
      tags: ['verifications'],
      access: 'public',
      raw: { contentTypes: [PDF, MULTIPART, PKCS7, ...JWT_TYPES], limit: rawLimit },
      responses: {
        200: { description: 'The validation report as an HTML page (or JSON)', contentType: 'text/html' },
        ...requestErrors,
        429: { description: 'Rate limit: too many anonymous verifications from this address, or in progress (code RATE_LIMITED)', schema: Problem },
      },
      async handler({ req, res, body, log }) {
        const as = negotiate(req, 'html');
        const input = await readVerifyInput(req, body);
        const report = await runVerification(verifier, input);
        logVerification(log, { anonymous: true, ip: req.ip }, input, report);
        sendReport(res, report, as, { backLink: '/verify' });
      },
    }),
  ];
  return { routes, beforeRoutes };
}
