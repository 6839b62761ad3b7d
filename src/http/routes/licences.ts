import { Type, type Static } from '@sinclair/typebox';
import { AppError, ValidationError } from '../../errors';
import { LICENCE_REVOCATION_REASONS, type IssuedLicence, type LicenceRevocationReason, type LicenceService } from '../../licences/service';
import type { LicenceRecord } from '../../licences/ports';
import type { AnnotatedCopyService } from '../../licences/annotated';
import { logReceipt } from '../receipt';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';

const strict = { additionalProperties: false } as const;
const DATE = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Date, YYYY-MM-DD (China Standard Time)' });

const IssueBody = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 64, description: 'Licence type id (GET /v1/licence-types)' }),
    sealId: Type.String({ pattern: '^seal_[0-9a-f]{28}$' }),
    holder: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 100 }),
        codeType: Type.String({ pattern: '^[0-9]{3}$', description: "Holder code type: '001' unified social credit code, '111' resident identity number" }),
        code: Type.String({ minLength: 1, maxLength: 40 }),
      },
      strict,
    ),
    data: Type.Record(Type.String(), Type.Unknown(), { description: "Face data, checked against the type's JSON Schema" }),
    validFrom: DATE,
    validUntil: Type.Optional(Type.Union([DATE, Type.Null()])),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$', description: 'A retry or batch row key: the same key never issues twice' })),
  },
  strict,
);
type IssueBody = Static<typeof IssueBody>;

const IssueQuery = Type.Object({ pdf: Type.Optional(Type.Boolean({ default: true, description: 'false: credential only, no PDF rendition' })) }, strict);
const IdParams = Type.Object({ id: Type.String({ pattern: '^lic_[0-9a-f]{28}$' }) }, strict);
const RevokeBody = Type.Object({ reason: Type.Union(LICENCE_REVOCATION_REASONS.filter((r) => r !== 'superseded').map((r) => Type.Literal(r))) }, strict);
const RenewBody = Type.Object(
  {
    sealId: Type.Optional(Type.String({ pattern: '^seal_[0-9a-f]{28}$' })),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    validFrom: Type.Optional(DATE),
    validUntil: Type.Optional(Type.Union([DATE, Type.Null()])),
  },
  strict,
);
const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 400 })),
    holderCode: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'Confirmation lookup (Art. 32, verifier role): the holder whose valid licences to confirm' })),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    purpose: Type.Optional(Type.String({ maxLength: 200, description: 'Required with holderCode: why the licences are needed (recorded and logged)' })),
    fields: Type.Optional(Type.String({ maxLength: 500, description: 'Comma-separated face-data fields the purpose needs (with type); none by default' })),
  },
  strict,
);
type ListQuery = Static<typeof ListQuery>;
const VerifyBody = Type.Object(
  {
    credential: Type.Optional(Type.String({ minLength: 1, maxLength: 64 * 1024, description: 'The licence credential (compact JWS, typ vc+jwt)' })),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'The QR token (the part after /v/ in the QR URL)' })),
  },
  strict,
);
const AnnotateBody = Type.Object(
  {
    purpose: Type.String({ minLength: 2, maxLength: 100 }),
    requester: Type.String({ minLength: 2, maxLength: 100 }),
    expiresAt: DATE,
  },
  strict,
);

/** What the API shows of a licence: never internal counters; the PDF and credential by link. */
export function licenceView(l: LicenceRecord & { logIndex?: number | null; replayed?: boolean }, qrUrl: string) {
  return {
    id: l.id,
    identifier: l.identifier,
    type: l.typeId,
    typeCode: l.typeCode,
    version: l.version,
    agencyCode: l.agencyCode,
    sealId: l.sealId,
    holder: { name: l.holderName, codeType: l.holderCodeType, code: l.holderCode },
    data: l.data,
    validFrom: l.validFrom,
    validUntil: l.validUntil,
    status: l.status,
    revocationReason: l.revocationReason,
    previousId: l.previousId,
    supersededBy: l.supersededBy,
    idempotencyKey: l.idempotencyKey ? l.idempotencyKey.slice(l.agencyCode.length + 1) : null,
    qrUrl,
    hasPdf: l.pdf !== null,
    links: { pdf: l.pdf !== null ? `/v1/licences/${l.id}/pdf` : null, credential: `/v1/licences/${l.id}/credential`, statusLists: [`/v1/status-lists/${l.revocationListId}`, `/v1/status-lists/${l.suspensionListId}`] },
    issuedAt: l.issuedAt,
    updatedAt: l.updatedAt,
    ...(l.replayed ? { replayed: true } : {}),
  };
}

const LicenceView = Type.Object({ id: Type.String(), identifier: Type.String(), status: Type.String(), logIndex: Type.Optional(Type.Union([Type.Integer(), Type.Null()])) }, { additionalProperties: true });

export function licenceRoutes(licences: LicenceService, annotated?: AnnotatedCopyService): RouteSpec[] {
  const view = (l: IssuedLicence | LicenceRecord) => licenceView(l, licences.qrUrl(l.qrToken));
  const change = (action: 'suspend' | 'reinstate' | 'revoke', summary: string) =>
    route<{ reason: LicenceRevocationReason } | undefined, unknown, { id: string }>({
      method: 'post',
      path: `/v1/licences/{id}/${action}`,
      operationId: `${action}Licence`,
      summary,
      tags: ['licences'],
      access: ['counter'],
      params: IdParams,
      ...(action === 'revoke' ? { body: { schema: RevokeBody, limit: 1024 } } : {}),
      responses: {
        200: { description: 'The licence', schema: LicenceView },
        403: { description: "Another agency's licence", schema: Problem },
        404: { description: 'Unknown licence', schema: Problem },
        409: { description: 'Not in a state that allows this', schema: Problem },
      },
      async handler({ principal, params, body, res }) {
        const l =
          action === 'suspend'
            ? await licences.suspend(principal!, params.id)
            : action === 'reinstate'
              ? await licences.reinstate(principal!, params.id)
              : await licences.revoke(principal!, params.id, body!.reason);
        return { ...view(l), ...logReceipt(res, l.logIndex ?? undefined) };
      },
    });

  const routes: RouteSpec[] = [
    route({
      method: 'get',
      path: '/v1/licence-types',
      operationId: 'listLicenceTypes',
      summary: 'Licence types: face-data JSON Schema, GB/T 36904 type code, layout and validity rules (schemas/licence-types/*.json)',
      tags: ['licences'],
      access: 'any',
      responses: { 200: { description: 'The types' } },
      handler: () => ({ items: licences.types() }),
    }),
    route<IssueBody, Static<typeof IssueQuery>>({
      method: 'post',
      path: '/v1/licences',
      operationId: 'issueLicence',
      summary: "Issue an e-licence with the caller's agency seal: identifier, sealed PDF (PAdES B-T), VC credential (JWS), log entry",
      tags: ['licences'],
      access: ['counter'],
      query: IssueQuery,
      body: { schema: IssueBody, limit: 64 * 1024 },
      responses: {
        201: { description: 'The issued licence (200 with replayed: true when the idempotency key was already used)', schema: LicenceView },
        400: { description: 'Invalid data: every bad field is listed (code LICENCE_DATA_INVALID)', schema: Problem },
        403: { description: "Another agency's seal, or not a counter key", schema: Problem },
        409: { description: 'Seal suspended/revoked, or idempotency key reused', schema: Problem },
      },
      async handler({ principal, body, query, res }) {
        const l = await licences.issue(principal!, body, { pdf: query.pdf });
        // A replay (idempotency key already used) is 200, a new licence 201.
        res.status(l.replayed ? 200 : 201).json({ ...view(l), ...logReceipt(res, l.logIndex ?? undefined) });
      },
    }),
    route<unknown, ListQuery>({
      method: 'get',
      path: '/v1/licences',
      operationId: 'listOrConfirmLicences',
      summary:
        "Without holderCode: the caller's agency's licences (counter, admin). With holderCode: an Art. 32 confirmation lookup (verifier role) — " +
        'purpose required; only currently valid licences, with the face-data fields named in `fields`; every lookup is recorded and logged',
      tags: ['licences'],
      access: ['counter', 'admin', 'verifier'],
      query: ListQuery,
      responses: {
        200: { description: 'A page of licences, or the confirmation result with its lookup id and log index' },
        400: { description: 'No purpose (LOOKUP_PURPOSE_REQUIRED) or a bad query', schema: Problem },
        403: { description: 'Wrong role', schema: Problem },
      },
      async handler({ principal, query, res }) {
        const p = principal!;
        if (query.holderCode !== undefined) {
          if (!p.roles.includes('verifier')) throw new AppError('FORBIDDEN_ROLE', 'Confirmation lookups need the verifier role');
          if (query.purpose === undefined || query.purpose.trim() === '') {
            throw new ValidationError('State the purpose of the lookup', [{ pointer: '/purpose', detail: 'is required with holderCode', code: 'REQUIRED' }], 'LOOKUP_PURPOSE_REQUIRED');
          }
          const fields = query.fields ? query.fields.split(',').map((f) => f.trim()).filter(Boolean) : [];
          const r = await licences.confirm(p, { holderCode: query.holderCode, type: query.type, purpose: query.purpose, fields });
          return { items: r.items, lookupId: r.lookupId, ...logReceipt(res, r.logIndex) };
        }
        if (query.purpose !== undefined || query.fields !== undefined) {
          throw new ValidationError('purpose and fields belong to a confirmation lookup (with holderCode)', [{ pointer: '/holderCode', detail: 'is required with purpose', code: 'REQUIRED' }], 'INVALID_QUERY');
        }
        if (!p.roles.includes('counter') && !p.roles.includes('admin')) throw new AppError('FORBIDDEN_ROLE', 'Listing licences needs the counter or admin role');
        const page = await licences.list(p, { limit: query.limit, cursor: query.cursor, typeId: query.type });
        return { items: page.items.map(view), nextCursor: page.nextCursor };
      },
    }),
    route<{ credential?: string; token?: string }>({
      method: 'post',
      path: '/v1/licences/verify',
      operationId: 'verifyLicence',
      summary: 'Verify a licence credential (JWS) or QR token: signature validity and current status (a failed check is a 200 answer)',
      tags: ['licences'],
      access: 'any',
      body: { schema: VerifyBody, limit: 80 * 1024 },
      responses: { 200: { description: '{ signatureValid, status, licence }' }, 400: { description: 'Neither or both of credential and token', schema: Problem } },
      async handler({ body }) {
        if ((body.credential === undefined) === (body.token === undefined)) {
          throw new ValidationError('Send exactly one of credential or token', [{ pointer: '/credential', detail: 'exactly one of credential, token', code: 'REQUIRED' }]);
        }
        return body.credential !== undefined ? licences.verifyCredential(body.credential) : licences.verifyToken(body.token!);
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/licences/{id}',
      operationId: 'getLicence',
      summary: 'Read a licence of the caller’s agency',
      tags: ['licences'],
      access: ['counter', 'admin'],
      params: IdParams,
      responses: { 200: { description: 'The licence', schema: LicenceView }, 403: { description: 'Another agency', schema: Problem }, 404: { description: 'Unknown', schema: Problem } },
      handler: async ({ principal, params }) => view(await licences.get(principal!, params.id)),
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/licences/{id}/pdf',
      operationId: 'getLicencePdf',
      summary: 'The sealed PDF rendition (PAdES B-T)',
      tags: ['licences'],
      access: ['counter', 'admin'],
      params: IdParams,
      responses: { 200: { description: 'PDF', contentType: 'application/pdf' }, 409: { description: 'Issued credential-only', schema: Problem } },
      async handler({ principal, params, res }) {
        const l = await licences.get(principal!, params.id);
        if (l.pdf === null) throw new AppError('LICENCE_NO_PDF', `Licence ${l.id} was issued without a PDF rendition`);
        res.type('application/pdf').setHeader('Content-Disposition', `inline; filename="${l.id}.pdf"`);
        res.send(Buffer.from(l.pdf, 'base64'));
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/licences/{id}/credential',
      operationId: 'getLicenceCredential',
      summary: 'The licence credential: W3C VC 2.0 secured as a compact JWS (application/vc+jwt), signed by the seal key, seal chain in x5c',
      tags: ['licences'],
      access: ['counter', 'admin'],
      params: IdParams,
      responses: { 200: { description: 'JWS', contentType: 'application/vc+jwt' } },
      async handler({ principal, params, res }) {
        const l = await licences.get(principal!, params.id);
        res.type('application/vc+jwt').send(l.credential);
      },
    }),
    change('suspend', 'Suspend a licence (reversible)'),
    change('reinstate', 'Reinstate a suspended licence'),
    change('revoke', 'Revoke a licence for good, with a reason'),
    route<Static<typeof RenewBody> | undefined, Static<typeof IssueQuery>, { id: string }>({
      method: 'post',
      path: '/v1/licences/{id}/renew',
      operationId: 'renewLicence',
      summary: 'Renew: a new version (same serial, next version, new identifier) linked to this one, which is revoked as superseded',
      tags: ['licences'],
      access: ['counter'],
      params: IdParams,
      query: IssueQuery,
      body: { schema: RenewBody, limit: 64 * 1024, optional: true },
      responses: { 201: { description: '{ licence, previous }' }, 400: { description: 'Invalid data', schema: Problem }, 409: { description: 'Revoked', schema: Problem } },
      async handler({ principal, params, body, query, res }) {
        const r = await licences.renew(principal!, params.id, body ?? {}, { pdf: query.pdf });
        res.status(201);
        return { licence: { ...view(r.licence), ...logReceipt(res, r.licence.logIndex ?? undefined) }, previous: { ...view(r.previous), logIndex: r.previous.logIndex } };
      },
    }),
  ];
  routes.push(
    route<unknown, { limit?: number; cursor?: string }>({
      method: 'get',
      path: '/v1/licence-lookups',
      operationId: 'listLicenceLookups',
      summary: "Recorded confirmation lookups (Art. 32): who asked, why, which licences were returned — the caller's agency's (platform admins: all)",
      tags: ['licences'],
      access: ['admin', 'verifier'],
      query: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })), cursor: Type.Optional(Type.String({ maxLength: 400 })) }, strict),
      responses: { 200: { description: 'A page of lookups' } },
      handler: async ({ principal, query }) => licences.listLookups(principal!, query),
    }),
  );
  if (annotated) {
    routes.push(
      route<Static<typeof AnnotateBody>, unknown, { id: string }>({
        method: 'post',
        path: '/v1/licences/{id}/annotated-copies',
        operationId: 'createAnnotatedCopy',
        summary: 'An annotated copy (加注件): the licence PDF stamped with purpose, requester and expiry, sealed again (PAdES B-T)',
        tags: ['licences'],
        access: ['counter'],
        params: IdParams,
        body: { schema: AnnotateBody, limit: 4096 },
        responses: { 201: { description: 'PDF', contentType: 'application/pdf' }, 400: { description: 'Invalid', schema: Problem }, 409: { description: 'Not valid / no PDF', schema: Problem } },
        async handler({ principal, params, body, res }) {
          const r = await annotated.create(principal!, params.id, body);
          res.status(201).type('application/pdf').setHeader('X-Log-Index', String(r.logIndex));
          res.send(r.pdf);
        },
      }),
    );
  }
  return routes;
}
