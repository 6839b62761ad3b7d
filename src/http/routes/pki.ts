import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Request } from 'express';
import { assertAgencyAccess, type Principal } from '../../api-keys';
import type { CertificateAuthority, TimeStampAuthority } from '../../ca';
import { isAlgorithmName, type KeyRouter } from '../../crypto';
import { AppError, ParseError } from '../../errors';
import { fromPemAll, parseCertificate, toPem } from '../../pki';
import { sealSubject } from '../../seals';
import { REVOCATION_REASONS, type AgencyStore, type CertificateRecord, type RevocationReason, type TrustAnchorStore } from '../../store/ports';
import { logReceipt } from '../receipt';
import { route, type RouteSpec } from '../route';
import { LogReceipt, Problem } from '../schemas';

// removeFromCRL belongs to delta CRLs only (RFC 5280 §5.3.1); it is not a reason to revoke.
const REASONS = REVOCATION_REASONS.filter((r) => r !== 'removeFromCRL');

const IssueBody = Type.Object(
  {
    profile: Type.Literal('seal', { description: 'Certificate profile (infrastructure profiles are issued by the CA itself)' }),
    agencyCode: Type.String({ maxLength: 64 }),
    commonName: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Defaults to the agency name' })),
    algorithm: Type.Optional(Type.Union([Type.Literal('ES256'), Type.Literal('RS256'), Type.Literal('PS256')])),
    keyStore: Type.Optional(Type.Union([Type.Literal('software'), Type.Literal('pkcs11')])),
    validDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
type IssueBody = Static<typeof IssueBody>;

const RevokeBody = Type.Object(
  { reason: Type.Union(REASONS.map((r) => Type.Literal(r)), { description: 'RFC 5280 §5.3.1 CRLReason' }) },
  { additionalProperties: false },
);
type RevokeBody = Static<typeof RevokeBody>;

const SerialParams = Type.Object({ serial: Type.String({ pattern: '^[0-9a-fA-F]{2,42}$' }) }, { additionalProperties: false });

const CertificateView = Type.Object({
  serial: Type.String(),
  profile: Type.String(),
  subject: Type.String(),
  agencyCode: Type.Union([Type.String(), Type.Null()]),
  keyId: Type.Union([Type.String(), Type.Null()]),
  notBefore: Type.String(),
  notAfter: Type.String(),
  status: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  revocationReason: Type.Union([Type.String(), Type.Null()]),
  pem: Type.String(),
  logIndex: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'Transparency-log index of the event (issuance, revocation)' })),
  log: Type.Optional(LogReceipt),
});

function view(c: CertificateRecord) {
  const { der, issuer: _i, createdAt: _c, ...rest } = c;
  return { ...rest, pem: toPem(Buffer.from(der, 'base64')) };
}

/** `Accept` decides between DER and PEM; the default is what each route documents. */
function wantsPem(req: Request, defaultPem: boolean): boolean {
  const pick = req.accepts(['application/pkix-cert', 'application/pkix-crl', 'application/x-pem-file', 'application/pem-certificate-chain', 'text/plain']);
  if (!req.get('accept') || req.get('accept') === '*/*') return defaultPem;
  if (pick === false) throw new AppError('NOT_ACCEPTABLE', 'Ask for application/pkix-cert, application/pkix-crl or application/x-pem-file');
  return pick === 'application/x-pem-file' || pick === 'application/pem-certificate-chain' || pick === 'text/plain';
}

export interface PkiDeps {
  ca: CertificateAuthority;
  tsa: TimeStampAuthority;
  keys: KeyRouter;
  agencies: AgencyStore;
  trustAnchors: TrustAnchorStore;
  clock: () => Date;
}

export function pkiRoutes(d: PkiDeps): RouteSpec[] {
  const certFile = (name: 'root' | 'issuing') =>
    route({
      method: 'get',
      path: `/v1/pki/ca/${name}.crt`,
      operationId: `get${name === 'root' ? 'Root' : 'Issuing'}CaCertificate`,
      summary: `The ${name} CA certificate (DER; the AIA caIssuers target)`,
      tags: ['pki'],
      access: 'public',
      responses: { 200: { description: 'DER certificate', contentType: 'application/pkix-cert' } },
      handler({ res }) {
        res.type('application/pkix-cert').send(name === 'root' ? d.ca.root.der : d.ca.issuing.der);
      },
    });
  const crl = (path: string, ca: 'root' | 'issuing') =>
    route({
      method: 'get',
      path,
      operationId: ca === 'root' ? 'getRootCrl' : 'getCrl',
      summary: `The current CRL of the ${ca} CA (DER; PEM with Accept: application/x-pem-file)`,
      tags: ['pki'],
      access: 'public',
      responses: { 200: { description: 'CRL', contentType: 'application/pkix-crl' }, 406: { description: 'Not acceptable', schema: Problem } },
      async handler({ req, res }) {
        const pem = wantsPem(req, false);
        const der = await d.ca.crl(ca);
        res.setHeader('Cache-Control', 'public, max-age=60');
        if (pem) res.type('application/x-pem-file').send(toPem(der, 'X509 CRL'));
        else res.type('application/pkix-crl').send(der);
      },
    });

  return [
    route({
      method: 'get',
      path: '/v1/pki/ca',
      operationId: 'getCaChain',
      summary: 'The CA chain: issuing CA then root (PEM; DER of the issuing CA with Accept: application/pkix-cert)',
      tags: ['pki'],
      access: 'public',
      responses: { 200: { description: 'PEM chain', contentType: 'application/pem-certificate-chain' }, 406: { description: 'Not acceptable', schema: Problem } },
      handler({ req, res }) {
        if (wantsPem(req, true)) res.type('application/pem-certificate-chain').send(d.ca.chain().map((c) => toPem(c)).join(''));
        else res.type('application/pkix-cert').send(d.ca.issuing.der);
      },
    }),
    certFile('root'),
    certFile('issuing'),
    crl('/v1/pki/crl', 'issuing'),
    crl('/v1/pki/crl/root', 'root'),
    route({
      method: 'post',
      path: '/v1/pki/ocsp',
      operationId: 'ocspPost',
      summary: 'OCSP responder (RFC 6960 §A.1, POST)',
      tags: ['pki'],
      access: 'public',
      raw: { contentTypes: ['application/ocsp-request'], limit: 16 * 1024 },
      responses: { 200: { description: 'OCSP response (malformed requests get malformedRequest)', contentType: 'application/ocsp-response' } },
      async handler({ body, res }) {
        res.type('application/ocsp-response').send(await d.ca.respondOcsp(body as Buffer));
      },
    }),
    route<unknown, unknown, { request: string[] | string }>({
      method: 'get',
      path: '/v1/pki/ocsp/{*request}',
      operationId: 'ocspGet',
      summary: 'OCSP responder (RFC 6960 §A.1, GET with the base64 DER request in the path)',
      tags: ['pki'],
      access: 'public',
      responses: { 200: { description: 'OCSP response', contentType: 'application/ocsp-response' } },
      async handler({ req, res }) {
        // The path segment is url-encoded base64, which may itself contain '/'.
        const raw = req.originalUrl.slice(req.originalUrl.indexOf('/v1/pki/ocsp/') + '/v1/pki/ocsp/'.length).split('?')[0];
        let der: Buffer;
        try {
          const b64 = decodeURIComponent(raw);
          der = /^[A-Za-z0-9+/=\s]{1,16384}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
        } catch {
          der = Buffer.alloc(0);
        }
        res.setHeader('Cache-Control', 'max-age=60');
        res.type('application/ocsp-response').send(await d.ca.respondOcsp(der));
      },
    }),
    route({
      method: 'post',
      path: '/v1/tsa',
      operationId: 'timestamp',
      summary: 'RFC 3161 time-stamping authority (application/timestamp-query → application/timestamp-reply)',
      tags: ['pki'],
      access: 'public',
      raw: { contentTypes: ['application/timestamp-query'], limit: 8 * 1024 },
      responses: { 200: { description: 'TimeStampResp (granted or rejection)', contentType: 'application/timestamp-reply' } },
      async handler({ body, res }) {
        const r = await d.tsa.respond(body as Buffer);
        res.type('application/timestamp-reply').send(r.der);
      },
    }),
    route<IssueBody>({
      method: 'post',
      path: '/v1/pki/certificates',
      operationId: 'issueCertificate',
      summary: "Generate a key in the key store and issue a certificate for it (seal profile; subject from the agency)",
      tags: ['pki'],
      access: ['admin'],
      body: { schema: IssueBody, limit: 8 * 1024 },
      responses: {
        201: { description: 'The certificate', schema: CertificateView },
        400: { description: 'Invalid body', schema: Problem },
        403: { description: 'Forbidden', schema: Problem },
        422: { description: 'Unknown agency', schema: Problem },
      },
      async handler({ principal, body, res }) {
        assertAgencyAccess(principal!, body.agencyCode);
        const agency = await d.agencies.get(body.agencyCode);
        if (!agency) throw new AppError('UNKNOWN_AGENCY', `Agency ${body.agencyCode} is not registered`, { errors: [{ pointer: '/agencyCode', detail: 'no agency with this code' }] });
        const algorithm = body.algorithm ?? 'ES256';
        if (!isAlgorithmName(algorithm)) throw new AppError('VALIDATION_FAILED', 'unknown algorithm');
        const key = await d.keys.generate(algorithm, { label: `seal ${agency.code}`, agencyCode: agency.code, keyStore: body.keyStore });
        const rec = await d.ca.issue({
          profile: 'seal',
          subject: sealSubject(agency, body.commonName),
          keyId: key.id,
          publicKey: key.publicKey,
          agencyCode: agency.code,
          notAfter: body.validDays ? new Date(d.clock().getTime() + body.validDays * 86400_000) : undefined,
          actor: { apiKeyId: principal!.apiKeyId, agencyCode: principal!.agencyCode },
        });
        return { ...view(rec), ...logReceipt(res, rec.logIndex) };
      },
    }),
    route<unknown, unknown, { serial: string }>({
      method: 'get',
      path: '/v1/pki/certificates/{serial}',
      operationId: 'getCertificate',
      summary: 'Read a certificate issued by the issuing CA (admins; agency keys see their own agency’s)',
      tags: ['pki'],
      access: 'any',
      params: SerialParams,
      responses: { 200: { description: 'The certificate', schema: CertificateView }, 404: { description: 'Unknown', schema: Problem } },
      async handler({ principal, params }) {
        const rec = await d.ca.get(params.serial);
        if (rec.agencyCode !== null) assertAgencyAccess(principal!, rec.agencyCode);
        return view(rec);
      },
    }),
    route<RevokeBody, unknown, { serial: string }>({
      method: 'post',
      path: '/v1/pki/certificates/{serial}/revoke',
      operationId: 'revokeCertificate',
      summary: 'Revoke a certificate with an RFC 5280 reason (once; a second revocation is 409)',
      tags: ['pki'],
      access: ['admin'],
      params: SerialParams,
      body: { schema: RevokeBody, limit: 1024 },
      responses: {
        200: { description: 'The revoked certificate', schema: CertificateView },
        404: { description: 'Unknown', schema: Problem },
        409: { description: 'Already revoked', schema: Problem },
      },
      async handler({ principal, params, body, res }) {
        const rec = await d.ca.get(params.serial);
        assertAgencyAccess(principal!, rec.agencyCode);
        const revoked = await d.ca.revoke(rec.serial, body.reason as RevocationReason, { apiKeyId: principal!.apiKeyId, agencyCode: principal!.agencyCode });
        return { ...view(revoked), ...logReceipt(res, revoked.logIndex) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/pki/trust-anchors',
      operationId: 'importTrustAnchor',
      summary: 'Import a foreign CA certificate as a trust anchor (PEM or DER body)',
      tags: ['pki'],
      access: ['admin'],
      raw: { contentTypes: ['application/x-pem-file', 'application/pkix-cert'], limit: 64 * 1024 },
      responses: {
        201: { description: 'The trust anchor' },
        400: { description: 'Not a CA certificate', schema: Problem },
        409: { description: 'Already imported', schema: Problem },
      },
      async handler({ req, res, body, principal }) {
        assertPlatformAdmin(principal!);
        const raw = body as Buffer;
        const ders = req.is('application/x-pem-file') ? safePem(raw) : [raw];
        if (ders.length !== 1) throw new ParseError('Send exactly one certificate', 'CERT_MALFORMED');
        const cert = parseCertificate(ders[0]);
        if (!cert.basicConstraints?.ca) {
          throw new AppError('VALIDATION_FAILED', 'A trust anchor must be a CA certificate (basicConstraints cA TRUE)');
        }
        const anchor = await d.trustAnchors.add({
          fingerprint: createHash('sha256').update(cert.der).digest('hex'),
          subject: cert.subject.text,
          notBefore: cert.notBefore.toISOString(),
          notAfter: cert.notAfter.toISOString(),
          der: cert.der.toString('base64'),
          label: (req.get('x-label') ?? cert.subject.text).slice(0, 200),
          addedAt: d.clock().toISOString(),
          addedBy: principal!.apiKeyId,
        });
        res.status(201).json({ ...anchor, der: undefined, pem: toPem(cert.der) });
      },
    }),
    route({
      method: 'get',
      path: '/v1/pki/trust-anchors',
      operationId: 'listTrustAnchors',
      summary: 'List imported trust anchors',
      tags: ['pki'],
      access: ['admin', 'verifier'],
      responses: { 200: { description: 'Trust anchors' } },
      async handler() {
        const page = await d.trustAnchors.list({ limit: 500 });
        return { items: page.items.map((a) => ({ ...a, der: undefined, pem: toPem(Buffer.from(a.der, 'base64')) })), nextCursor: page.nextCursor };
      },
    }),
  ];
}

function assertPlatformAdmin(p: Principal): void {
  if (p.agencyCode !== null) throw new AppError('FORBIDDEN_AGENCY', 'Only platform admin keys import trust anchors');
}

function safePem(raw: Buffer): Buffer[] {
  try {
    return fromPemAll(raw.toString('utf8'));
  } catch (e) {
    throw new ParseError('The body is not a PEM certificate', 'CERT_MALFORMED', { cause: e });
  }
}

