import type { Registry } from 'prom-client';
import { AppError } from '../../errors';
import type { Stores } from '../../store/ports';
import { DOCS_PAGE } from '../pages/docs';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';

export function systemRoutes(deps: { stores: Stores; metrics: Registry; openapi: () => object }): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness: the process serves requests',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'Alive' } },
      handler: () => ({ status: 'ok' }),
    }),
    route({
      method: 'get',
      path: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: the store answers',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'Ready' }, 503: { description: 'Store unreachable', schema: Problem } },
      async handler() {
        try {
          await deps.stores.ping();
        } catch (e) {
          throw new AppError('STORE_UNAVAILABLE', 'The store is not reachable', { cause: e });
        }
        return { status: 'ready', store: deps.stores.kind };
      },
    }),
    route({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
      async handler({ res }) {
        res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
      },
    }),
    route({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'OpenAPI document' } },
      handler: () => deps.openapi(),
    }),
    route({
      method: 'get',
      path: '/docs',
      operationId: 'docs',
      summary: 'Browsable API documentation',
      tags: ['operations'],
      access: 'public',
      responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
      handler({ res }) {
        res.type('html').send(DOCS_PAGE);
      },
    }),
  ];
}
