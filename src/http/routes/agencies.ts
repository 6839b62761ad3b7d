import type { AgencyService } from '../../agencies';
import { isPlatformAdmin } from '../../api-keys';
import { ForbiddenError } from '../../errors';
import { route, type RouteSpec } from '../route';
import { Agency, AgencyCodeParams, AgencyPage, CreateAgencyBody, PageQuery, Problem } from '../schemas';

export function agencyRoutes(agencies: AgencyService): RouteSpec[] {
  return [
    route<CreateAgencyBody>({
      method: 'post',
      path: '/v1/agencies',
      operationId: 'createAgency',
      summary: 'Register an agency (platform admin)',
      tags: ['agencies'],
      access: ['admin'],
      body: { schema: CreateAgencyBody, limit: 16 * 1024 },
      responses: {
        201: { description: 'The agency', schema: Agency },
        400: { description: 'Invalid body or credit code', schema: Problem },
        403: { description: 'Not a platform admin key', schema: Problem },
        409: { description: 'Already registered', schema: Problem },
      },
      async handler({ principal, body }) {
        if (!isPlatformAdmin(principal!)) {
          throw new ForbiddenError('Only platform admin keys register agencies', 'FORBIDDEN_AGENCY');
        }
        return agencies.create(body);
      },
    }),
    route<unknown, PageQuery>({
      method: 'get',
      path: '/v1/agencies',
      operationId: 'listAgencies',
      summary: 'List agencies',
      tags: ['agencies'],
      access: 'any',
      query: PageQuery,
      responses: { 200: { description: 'A page of agencies', schema: AgencyPage } },
      handler: ({ query }) => agencies.list(query),
    }),
    route<unknown, unknown, { code: string }>({
      method: 'get',
      path: '/v1/agencies/{code}',
      operationId: 'getAgency',
      summary: 'Read one agency',
      tags: ['agencies'],
      access: 'any',
      params: AgencyCodeParams,
      responses: { 200: { description: 'The agency', schema: Agency }, 404: { description: 'Unknown', schema: Problem } },
      handler: ({ params }) => agencies.get(params.code),
    }),
  ];
}
