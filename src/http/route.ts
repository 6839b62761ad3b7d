import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { AppError, ForbiddenError, UnauthenticatedError } from '../errors';
import type { Principal } from '../api-keys';
import type { Role } from '../store/ports';
import { validateBody, validateQuery } from './validation';

export type Method = 'get' | 'post' | 'put' | 'delete';

export interface ResponseSpec {
  description: string;
  contentType?: string;
  schema?: object;
}

/**
 * One declaration per route: it mounts the Express handler AND produces the OpenAPI operation,
 * so the published document and the validation that runs are the same schemas.
 */
export interface RouteSpec<B = unknown, Q = unknown, P = Record<string, string>> {
  method: Method;
  /** OpenAPI-style path, e.g. /v1/agencies/{code}. */
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  /** 'public' → no key needed; otherwise the roles any one of which grants access. */
  access: 'public' | 'any' | Role[];
  params?: object;
  query?: object;
  /** `optional`: a request without a body (no Content-Type, no length) is accepted as undefined. */
  body?: { schema: object; limit?: number; contentType?: 'application/json'; optional?: boolean };
  /** A binary body (DER requests and the like): only these media types, at most `limit` bytes. */
  raw?: { contentTypes: string[]; limit: number };
  responses: Record<number, ResponseSpec>;
  handler: (ctx: HandlerContext<B, Q, P>) => Promise<unknown> | unknown;
}

export interface HandlerContext<B, Q, P> {
  req: Request;
  res: Response;
  principal: Principal | null;
  body: B;
  query: Q;
  params: P;
  log: Logger;
}

export interface Authenticator {
  authenticate(secret: string): Promise<Principal | null>;
}

/** Routes may declare a typed spec; the registry stores them erased. */
export function route<B = unknown, Q = unknown, P = Record<string, string>>(spec: RouteSpec<B, Q, P>): RouteSpec {
  return spec as unknown as RouteSpec;
}

function toExpressPath(p: string): string {
  // {name} → :name; a trailing {*name} matches the rest of the path (Express 5 wildcard).
  return p.replace(/\{\*(\w+)\}/g, '*$1').replace(/\{(\w+)\}/g, ':$1');
}

function authMiddleware(spec: RouteSpec, auth: Authenticator): RequestHandler {
  return async (req, res, next) => {
    if (spec.access === 'public') return next();
    const header = req.get('authorization') ?? '';
    const m = /^Bearer ([\x21-\x7e]{16,512})$/.exec(header);
    if (!m) return next(new UnauthenticatedError('Send an API key as "Authorization: Bearer <key>"'));
    const principal = await auth.authenticate(m[1]);
    if (!principal) return next(new UnauthenticatedError('The API key is unknown or revoked'));
    res.locals.principal = principal;
    (res.locals.log as Logger).setBindings?.({ apiKeyId: principal.apiKeyId });
    if (spec.access !== 'any' && !spec.access.some((r) => principal.roles.includes(r))) {
      return next(new ForbiddenError(`This operation needs one of the roles: ${spec.access.join(', ')}`, 'FORBIDDEN_ROLE'));
    }
    next();
  };
}

function jsonBody(spec: RouteSpec, defaultLimit: number): RequestHandler[] {
  if (!spec.body) return [];
  const parser = express.json({ limit: spec.body.limit ?? defaultLimit, strict: false, type: () => true });
  return [
    (req, res, next) => {
      // Declared encodings only: a JSON route takes application/json (with optional charset),
      // nothing is sniffed.
      const type = req.get('content-type');
      const empty = (req.get('content-length') ?? '0') === '0' && !req.get('transfer-encoding');
      if (!type && spec.body?.optional && empty) {
        res.locals.noBody = true;
        return next();
      }
      if (!type) return next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json'));
      if (!/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(type)) {
        return next(new AppError('UNSUPPORTED_MEDIA_TYPE', `This route takes application/json, not ${type.slice(0, 100)}`));
      }
      next();
    },
    (req, res, next) => (res.locals.noBody ? next() : parser(req, res, next)),
  ];
}

function rawBody(spec: RouteSpec): RequestHandler[] {
  if (!spec.raw) return [];
  const { contentTypes, limit } = spec.raw;
  return [
    (req, _res, next) => {
      const type = (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (!contentTypes.includes(type)) {
        return next(new AppError('UNSUPPORTED_MEDIA_TYPE', `This route takes ${contentTypes.join(' or ')}`));
      }
      next();
    },
    express.raw({ type: () => true, limit }),
    (req, _res, next) => {
      if (!Buffer.isBuffer(req.body)) req.body = Buffer.alloc(0);
      next();
    },
  ];
}

export function mountRoutes(router: Router, specs: RouteSpec[], auth: Authenticator, defaultJsonLimit: number): void {
  for (const spec of specs) {
    const handlers: RequestHandler[] = [
      (_req, res, next) => {
        res.locals.route = spec.path;
        next();
      },
      authMiddleware(spec, auth),
      ...jsonBody(spec, defaultJsonLimit),
      ...rawBody(spec),
      async (req, res) => {
        const params = (spec.params ? validateQuery(spec.params, req.params) : req.params) as Record<string, string>;
        const query = spec.query ? validateQuery(spec.query, req.query) : {};
        if (!spec.query && Object.keys(req.query as object).length > 0) {
          throw new AppError('INVALID_QUERY', 'This route takes no query parameters', {
            errors: Object.keys(req.query as object).map((k) => ({ pointer: `/${k}`, detail: 'is not a known parameter', code: 'UNKNOWN_FIELD' })),
          });
        }
        const body = spec.body
          ? res.locals.noBody
            ? undefined
            : validateBody(spec.body.schema, req.body)
          : spec.raw
            ? (req.body as Buffer)
            : undefined;
        const result = await spec.handler({
          req,
          res,
          principal: (res.locals.principal as Principal | undefined) ?? null,
          body,
          query,
          params,
          log: res.locals.log as Logger,
        });
        if (!res.headersSent && result !== undefined) {
          const status = Number(Object.keys(spec.responses)[0]) || 200;
          res.status(status).json(result);
        }
      },
    ];
    router[spec.method](toExpressPath(spec.path), ...handlers);
  }
}
