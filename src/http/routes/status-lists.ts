import { Type } from '@sinclair/typebox';
import { NotFoundError } from '../../errors';
import type { LicenceService } from '../../licences/service';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';

/**
 * GET /v1/status-lists/{id}: an issuer's W3C Bitstring Status List as a signed
 * BitstringStatusListCredential (compact JWS, application/vc+jwt). Public: verifiers fetch it
 * to check a credential's credentialStatus; they may cache it for Cache-Control max-age.
 */
export function statusListRoutes(licences: LicenceService): RouteSpec[] {
  return [
    route<unknown, unknown, { id: string }>({
      method: 'get',
      path: '/v1/status-lists/{id}',
      operationId: 'getStatusList',
      summary: 'A signed Bitstring Status List (revocation or suspension) of one issuing agency',
      tags: ['licences'],
      access: 'public',
      params: Type.Object({ id: Type.String({ pattern: '^sl_[0-9a-f]{28}$' }) }, { additionalProperties: false }),
      responses: { 200: { description: 'The status list credential', contentType: 'application/vc+jwt' }, 404: { description: 'Unknown list', schema: Problem } },
      async handler({ params, res }) {
        const list = await licences.statusListCredential(params.id);
        if (!list) throw new NotFoundError(`Status list ${params.id}`);
        res.setHeader('Cache-Control', `public, max-age=${list.maxAge}`);
        res.type('application/vc+jwt').send(list.jws);
      },
    }),
  ];
}
