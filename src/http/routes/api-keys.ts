import { toView, type ApiKeyService } from '../../api-keys';
import { route, type RouteSpec } from '../route';
import { ApiKeyIdParams, ApiKeyListQuery, ApiKeyPage, ApiKeyView, CreateApiKeyBody, CreatedApiKey, Problem } from '../schemas';

export function apiKeyRoutes(keys: ApiKeyService): RouteSpec[] {
  return [
    route<CreateApiKeyBody>({
      method: 'post',
      path: '/v1/api-keys',
      operationId: 'createApiKey',
      summary: 'Create an API key (the secret is returned once)',
      tags: ['api-keys'],
      access: ['admin'],
      body: { schema: CreateApiKeyBody, limit: 16 * 1024 },
      responses: {
        201: { description: 'The key, with its secret', schema: CreatedApiKey },
        400: { description: 'Invalid body', schema: Problem },
        403: { description: 'Not an admin, or another agency', schema: Problem },
        422: { description: 'Unknown agency', schema: Problem },
      },
      async handler({ principal, body, res }) {
        const { record, key } = await keys.create(principal!, body);
        res.setHeader('Cache-Control', 'no-store');
        return { ...toView(record), key };
      },
    }),
    route<unknown, ApiKeyListQuery>({
      method: 'get',
      path: '/v1/api-keys',
      operationId: 'listApiKeys',
      summary: "List API keys (platform admins: all; agency admins: their agency's)",
      tags: ['api-keys'],
      access: ['admin'],
      query: ApiKeyListQuery,
      responses: { 200: { description: 'A page of keys (never secrets or hashes)', schema: ApiKeyPage }, 403: { description: 'Forbidden', schema: Problem } },
      async handler({ principal, query }) {
        const agencyCode = query.agencyCode === undefined ? undefined : query.agencyCode === 'platform' ? null : query.agencyCode;
        const page = await keys.list(principal!, { limit: query.limit, cursor: query.cursor, agencyCode });
        return { items: page.items.map(toView), nextCursor: page.nextCursor };
      },
    }),
    route<unknown, unknown, { id: string }>({
      method: 'post',
      path: '/v1/api-keys/{id}/revoke',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      tags: ['api-keys'],
      access: ['admin'],
      params: ApiKeyIdParams,
      responses: {
        200: { description: 'The revoked key', schema: ApiKeyView },
        404: { description: 'Unknown key', schema: Problem },
        409: { description: 'Already revoked', schema: Problem },
      },
      handler: async ({ principal, params }) => toView(await keys.revoke(principal!, params.id)),
    }),
  ];
}
