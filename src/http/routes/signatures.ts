import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../../errors';
import type { SigningService } from '../../signing/service';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';

const SignQuery = Type.Object(
  {
    sealId: Type.String({ pattern: '^seal_[0-9a-f]{28}$' }),
    format: Type.Union([Type.Literal('pades'), Type.Literal('cades')]),
    level: Type.Optional(Type.Union([Type.Literal('B-B'), Type.Literal('B-T'), Type.Literal('B-LT'), Type.Literal('B-LTA')], { default: 'B-T' })),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'PAdES: page of the visible seal (1-based)' })),
    x: Type.Optional(Type.Number({ minimum: 0, maximum: 14400, description: 'PAdES: left edge of the visible seal, PDF points from the bottom-left' })),
    y: Type.Optional(Type.Number({ minimum: 0, maximum: 14400 })),
    width: Type.Optional(Type.Number({ minimum: 20, maximum: 600, description: 'PAdES: diameter of the visible seal in points (default 120)' })),
    reason: Type.Optional(Type.String({ maxLength: 200 })),
    location: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** Largest document accepted (documented in the README). */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

export function signatureRoutes(signing: SigningService): RouteSpec[] {
  return [
    route<Buffer, Static<typeof SignQuery>>({
      method: 'post',
      path: '/v1/signatures',
      operationId: 'sign',
      summary: 'Sign a document with a seal: PAdES (signed PDF back) or CAdES detached (.p7s back); the log index is in X-Log-Index',
      tags: ['signatures'],
      access: ['signer', 'counter'],
      query: SignQuery,
      raw: { contentTypes: ['application/pdf', 'application/octet-stream'], limit: MAX_DOCUMENT_BYTES },
      responses: {
        200: { description: 'The signed PDF (application/pdf) or the detached signature (application/pkcs7-signature)', contentType: 'application/pdf' },
        400: { description: 'Bad query or malformed document', schema: Problem },
        403: { description: "Another agency's seal, or a key without signer/counter", schema: Problem },
        409: { description: 'The seal is suspended or revoked', schema: Problem },
        413: { description: 'Document too large', schema: Problem },
        422: { description: 'Encrypted or unsupported PDF', schema: Problem },
      },
      async handler({ principal, query, body, req, res }) {
        if (body.length === 0) throw new AppError('VALIDATION_FAILED', 'The request body (the document) is empty');
        if (query.format === 'pades' && !req.is('application/pdf')) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'PAdES signs PDFs: send the document as application/pdf');
        }
        const r = await signing.sign(principal!, {
          sealId: query.sealId,
          format: query.format,
          level: query.level ?? 'B-T',
          document: body,
          pades: { page: query.page, x: query.x, y: query.y, width: query.width, reason: query.reason, location: query.location },
        });
        res.setHeader('X-Log-Index', String(r.logIndex));
        res.setHeader('Content-Disposition', query.format === 'cades' ? 'attachment; filename="signature.p7s"' : 'attachment; filename="signed.pdf"');
        res.type(r.contentType).send(r.bytes);
      },
    }),
  ];
}
