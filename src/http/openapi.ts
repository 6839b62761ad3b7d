import type { RouteSpec } from './route';
import { Problem } from './schemas';

/** JSON Schemas from TypeBox carry symbol keys; a JSON round trip leaves plain JSON Schema. */
function plain(schema: object): object {
  return JSON.parse(JSON.stringify(schema));
}

function parametersFrom(schema: object | undefined, where: 'path' | 'query'): object[] {
  if (!schema) return [];
  const s = plain(schema) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: prop,
  }));
}

/** The OpenAPI 3.1 document, built from the same route declarations that serve requests. */
export function buildOpenApi(specs: RouteSpec[], info: { version: string; serverUrl: string }): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const spec of specs) {
    const op: Record<string, unknown> = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: spec.tags,
      parameters: [...parametersFrom(spec.params, 'path'), ...parametersFrom(spec.query, 'query')],
      responses: Object.fromEntries(
        Object.entries(spec.responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.schema || r.contentType
              ? {
                  content: {
                    [r.contentType ?? (r.schema === Problem ? 'application/problem+json' : 'application/json')]: r.schema
                      ? { schema: plain(r.schema) }
                      : {},
                  },
                }
              : {}),
          },
        ]),
      ),
    };
    if (spec.access !== 'public') {
      op.security = [{ apiKey: [] }];
      if (Array.isArray(spec.access)) op['x-roles'] = spec.access;
      (op.responses as Record<string, object>)['401'] ??= {
        description: 'Missing, unknown or revoked API key',
        content: { 'application/problem+json': { schema: plain(Problem) } },
      };
    }
    if (spec.body) {
      op.requestBody = { required: true, content: { [spec.body.contentType ?? 'application/json']: { schema: plain(spec.body.schema) } } };
    }
    if (spec.raw) {
      op.requestBody = {
        required: true,
        content: Object.fromEntries(spec.raw.contentTypes.map((c) => [c, { schema: { type: 'string', contentMediaType: c } }])),
      };
    }
    // A rest-of-path parameter ({*name}) is one path parameter in OpenAPI terms.
    const path = spec.path.replace(/\{\*(\w+)\}/g, '{$1}');
    if (path !== spec.path) {
      (op.parameters as object[]).push({ name: /\{\*(\w+)\}/.exec(spec.path)![1], in: 'path', required: true, schema: { type: 'string' } });
    }
    (paths[path] ??= {})[spec.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'eseal',
      version: info.version,
      description:
        'Electronic seals, e-licences, signature verification and e-archive (Zhejiang Provincial Government Order No. 354, Art. 30-33). Errors are RFC 9457 problem+json with a stable `code`.',
    },
    servers: [{ url: info.serverUrl }],
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key: Authorization: Bearer es_…' } } },
    paths,
  };
}
