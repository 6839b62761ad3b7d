import { Type, type Static } from '@sinclair/typebox';
import { toPem } from '../../pki';
import { REVOCATION_REASONS, type RevocationReason } from '../../store/ports';
import { SEAL_KINDS, sealAppearance, toPng, type SealRecord, type SealService } from '../../seals';
import { AppError } from '../../errors';
import { logReceipt } from '../receipt';
import { route, type RouteSpec } from '../route';
import { LogReceipt, PageQuery, Problem } from '../schemas';

const CreateSealBody = Type.Object(
  {
    agencyCode: Type.String({ maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 64, description: 'Seal name, e.g. 杭州市西湖区市场监督管理局行政许可专用章' }),
    kind: Type.Union(SEAL_KINDS.map((k) => Type.Literal(k))),
    algorithm: Type.Optional(
      Type.Union([Type.Literal('ES256'), Type.Literal('RS256'), Type.Literal('PS256'), Type.Literal('SM2')], {
        default: 'ES256',
        description: 'SM2: an SM2 key (software key store) with an SM2-with-SM3 certificate from the SM2 hierarchy, and a GB/T 38540 seal',
      }),
    ),
    keyStore: Type.Optional(Type.Union([Type.Literal('software'), Type.Literal('pkcs11')])),
    validDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
type CreateSealBody = Static<typeof CreateSealBody>;

const RevokeSealBody = Type.Object(
  { reason: Type.Optional(Type.Union(REVOCATION_REASONS.filter((r) => r !== 'removeFromCRL').map((r) => Type.Literal(r)))) },
  { additionalProperties: false },
);

const SealIdParams = Type.Object({ id: Type.String({ pattern: '^seal_[0-9a-f]{28}$' }) }, { additionalProperties: false });
const SealListQuery = Type.Object(
  { limit: PageQuery.properties.limit, cursor: PageQuery.properties.cursor, agencyCode: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);

const SealView = Type.Object({
  id: Type.String(),
  agencyCode: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  algorithm: Type.String(),
  keyStore: Type.String(),
  certificateSerial: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('revoked')]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  logIndex: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  log: Type.Optional(LogReceipt),
});

/** Never the key id or internal counters. */
function view(s: SealRecord) {
  const { keyId: _k, generation: _g, loggedGeneration: _l, ...rest } = s;
  return rest;
}

export function sealRoutes(seals: SealService): RouteSpec[] {
  const change = (action: 'suspend' | 'reinstate' | 'revoke', summary: string) =>
    route<{ reason?: RevocationReason } | undefined, unknown, { id: string }>({
      method: 'post',
      path: `/v1/seals/{id}/${action}`,
      operationId: `${action}Seal`,
      summary,
      tags: ['seals'],
      access: ['admin'],
      params: SealIdParams,
      ...(action === 'revoke' ? { body: { schema: RevokeSealBody, limit: 1024, optional: true } } : {}),
      responses: {
        200: { description: 'The seal', schema: SealView },
        403: { description: "Another agency's seal", schema: Problem },
        404: { description: 'Unknown seal', schema: Problem },
        409: { description: 'Not in a state that allows this', schema: Problem },
      },
      async handler({ principal, params, body, res }) {
        const s =
          action === 'suspend'
            ? await seals.suspend(principal!, params.id)
            : action === 'reinstate'
              ? await seals.reinstate(principal!, params.id)
              : await seals.revoke(principal!, params.id, body?.reason);
        return { ...view(s), ...logReceipt(res, s.logIndex) };
      },
    });

  return [
    route<CreateSealBody>({
      method: 'post',
      path: '/v1/seals',
      operationId: 'createSeal',
      summary: "Create an agency seal: a key in the key store and a seal certificate (admin of the agency or the platform)",
      tags: ['seals'],
      access: ['admin'],
      body: { schema: CreateSealBody, limit: 4096 },
      responses: {
        201: { description: 'The seal', schema: SealView },
        400: { description: 'Invalid body', schema: Problem },
        403: { description: 'Another agency', schema: Problem },
        422: { description: 'Unknown agency', schema: Problem },
      },
      async handler({ principal, body, res }) {
        const s = await seals.create(principal!, { ...body, algorithm: body.algorithm ?? 'ES256' });
        res.status(201);
        return { ...view(s), ...logReceipt(res, s.logIndex) };
      },
    }),
    route<unknown, Static<typeof SealListQuery>>({
      method: 'get',
      path: '/v1/seals',
      operationId: 'listSeals',
      summary: "List seals (platform admins: all; other keys: their agency's)",
      tags: ['seals'],
      access: 'any',
      query: SealListQuery,
      responses: { 200: { description: 'A page of seals' }, 403: { description: 'Another agency', schema: Problem } },
      async handler({ principal, query }) {
        const page = await seals.list(principal!, query);
        return { items: page.items.map(view), nextCursor: page.nextCursor };
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/seals/{id}',
      operationId: 'getSeal',
      summary: 'Read a seal',
      tags: ['seals'],
      access: 'any',
      params: SealIdParams,
      responses: { 200: { description: 'The seal', schema: SealView }, 403: { description: 'Another agency', schema: Problem }, 404: { description: 'Unknown', schema: Problem } },
      handler: async ({ principal, params }) => view(await seals.get(principal, params.id)),
    }),
    route<unknown, { format: 'png' | 'svg'; size: number }, { id: string }>({
      method: 'get',
      path: '/v1/seals/{id}/image',
      operationId: 'getSealImage',
      summary: "The seal's appearance: red ring, star, agency name on the arc, purpose beneath (PNG of size×size px, or SVG at the real size in mm)",
      tags: ['seals'],
      access: 'any',
      params: SealIdParams,
      query: Type.Object(
        {
          format: Type.Optional(Type.Union([Type.Literal('png'), Type.Literal('svg')], { default: 'png' })),
          size: Type.Optional(Type.Integer({ minimum: 16, maximum: 2048, default: 400, description: 'PNG width and height in pixels' })),
        },
        { additionalProperties: false },
      ),
      responses: { 200: { description: 'The image', contentType: 'image/png' }, 403: { description: 'Another agency', schema: Problem }, 404: { description: 'Unknown', schema: Problem } },
      async handler({ principal, params, query, res, log }) {
        const a = sealAppearance(await seals.appearanceInput(principal, params.id));
        // Missing font or glyphs still give an image; the operator is told.
        if (a.warnings.length) log.warn({ sealId: params.id, warnings: a.warnings }, 'seal image drawn incomplete');
        if (query.format === 'svg') res.type('image/svg+xml').send(a.svg);
        else res.type('image/png').send(toPng(a.svg, query.size));
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/verify/seals/{id}/image',
      operationId: 'getPublicSealImage',
      summary:
        "The seal's appearance as a 200×200 PNG, without a key: what verification reports show next to a signature made with one of our seals. " +
        'It is the picture printed on every document the seal signs; seal ids are random and appear only in reports.',
      tags: ['seals'],
      access: 'public',
      params: SealIdParams,
      responses: { 200: { description: 'The image', contentType: 'image/png' }, 404: { description: 'Unknown', schema: Problem } },
      async handler({ params, res }) {
        const a = sealAppearance(await seals.appearanceInput(null, params.id));
        res.setHeader('Cache-Control', 'public, max-age=86400');
        res.type('image/png').send(toPng(a.svg, 200));
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/seals/{id}/certificate',
      operationId: 'getSealCertificate',
      summary: "The seal's certificate (PEM; DER with Accept: application/pkix-cert)",
      tags: ['seals'],
      access: 'any',
      params: SealIdParams,
      responses: { 200: { description: 'Certificate', contentType: 'application/x-pem-file' }, 406: { description: 'Not acceptable', schema: Problem } },
      async handler({ principal, params, req, res }) {
        const der = await seals.certificate(principal, params.id);
        const pick = req.accepts(['application/x-pem-file', 'application/pkix-cert']);
        if (pick === false) throw new AppError('NOT_ACCEPTABLE', 'Ask for application/x-pem-file or application/pkix-cert');
        if (pick === 'application/pkix-cert' && req.get('accept') && req.get('accept') !== '*/*') res.type('application/pkix-cert').send(der);
        else res.type('application/x-pem-file').send(toPem(der));
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/seals/{id}/ses',
      operationId: 'getSealSes',
      summary:
        "The seal's GB/T 38540 SESeal (DER, version 4): made on first request by the platform's seal maker and kept; " +
        "lists the seal's certificate and carries its appearance (PNG, size in mm). SM2 seals only.",
      tags: ['seals'],
      access: 'any',
      params: SealIdParams,
      responses: {
        200: { description: 'SESeal DER', contentType: 'application/octet-stream' },
        403: { description: 'Another agency', schema: Problem },
        404: { description: 'Unknown', schema: Problem },
        409: { description: 'Not an SM2 seal (SES_REQUIRES_SM2)', schema: Problem },
      },
      async handler({ principal, params, res }) {
        const seal = await seals.sesSeal(principal, params.id);
        res.setHeader('Content-Disposition', `attachment; filename="${params.id}.esl"`);
        res.type('application/octet-stream').send(seal.der);
      },
    }),
    change('suspend', 'Suspend a seal (it cannot sign until reinstated)'),
    change('reinstate', 'Reinstate a suspended seal'),
    change('revoke', 'Revoke a seal for good; its certificate is revoked too'),
  ];
}
