import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { AgencyService } from '../agencies';
import { ApiKeyService } from '../api-keys';
import type { CertificateAuthority, TimeStampAuthority } from '../ca';
import type { KeyRouter } from '../crypto';
import type { LogService } from '../log/service';
import type { SealService } from '../seals';
import type { SigningService } from '../signing/service';
import { AppError } from '../errors';
import type { Stores } from '../store/ports';
import { buildOpenApi } from './openapi';
import { problemHandler } from './problem';
import { mountRoutes, type RouteSpec } from './route';
import { agencyRoutes } from './routes/agencies';
import { apiKeyRoutes } from './routes/api-keys';
import { logRoutes } from './routes/log';
import { sealRoutes } from './routes/seals';
import { signatureRoutes } from './routes/signatures';
import { archiveRoutes } from './routes/archive';
import type { ArchiveService } from '../archive/service';
import { pkiRoutes } from './routes/pki';
import { sm2PkiRoutes } from './routes/sm2-pki';
import { systemRoutes } from './routes/system';
import { verificationRoutes, type DocumentVerifier } from './routes/verifications';
import { licenceRoutes } from './routes/licences';
import { statusListRoutes } from './routes/status-lists';
import { publicLicenceRoutes } from './routes/public-licence';
import type { AnnotatedCopyService, LicenceService } from '../licences';

export interface AppDeps {
  stores: Stores;
  logger: Logger;
  publicUrl: string;
  version: string;
  jsonBodyLimit: number;
  clock?: () => Date;
  ca: CertificateAuthority;
  tsa: TimeStampAuthority;
  keys: KeyRouter;
  log: LogService;
  seals: SealService;
  signing: SigningService;
  verifier: DocumentVerifier;
  /** The e-archive (Art. 33); its routes are mounted when given. */
  archive?: ArchiveService;
  /** E-licences (optional so that partial test apps need not build them). */
  licences?: LicenceService;
  annotatedCopies?: AnnotatedCopyService;
}

export interface App {
  express: Express;
  metrics: Registry;
  routes: RouteSpec[];
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** Composition root of the HTTP side; nothing runs at import time. */
export function createApp(deps: AppDeps): App {
  const clock = deps.clock ?? (() => new Date());
  const agencies = new AgencyService(deps.stores.agencies, clock);
  const apiKeys = new ApiKeyService(deps.stores.apiKeys, deps.stores.agencies, clock);

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const requests = new Counter({
    name: 'eseal_http_requests_total',
    help: 'HTTP requests by route template, method and status',
    labelNames: ['method', 'route', 'status'],
    registers: [metrics],
  });
  const duration = new Histogram({
    name: 'eseal_http_request_duration_seconds',
    help: 'HTTP request duration by route template and method',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics],
  });

  const verifications = verificationRoutes(deps.verifier);
  const routes: RouteSpec[] = [];
  let openapi: object | null = null;
  routes.push(
    ...systemRoutes({
      stores: deps.stores,
      metrics,
      openapi: () => (openapi ??= buildOpenApi(routes, { version: deps.version, serverUrl: deps.publicUrl })),
    }),
    ...agencyRoutes(agencies),
    ...apiKeyRoutes(apiKeys),
    ...logRoutes(deps.log, deps.ca),
    ...sealRoutes(deps.seals),
    ...signatureRoutes(deps.signing),
    ...(deps.archive ? archiveRoutes(deps.archive) : []),
    ...verifications.routes,
    ...pkiRoutes({ ca: deps.ca, tsa: deps.tsa, keys: deps.keys, agencies: deps.stores.agencies, trustAnchors: deps.stores.trustAnchors, clock }),
    ...sm2PkiRoutes(deps.ca),
    ...(deps.licences ? [...licenceRoutes(deps.licences, deps.annotatedCopies), ...statusListRoutes(deps.licences)] : []),
    // GET /v/{token}: the page a licence's QR code opens (public, rate-limited per address).
    ...(deps.licences ? publicLicenceRoutes(deps.licences) : []),
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && REQUEST_ID_RE.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = deps.logger.child({ requestId });
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, seconds);
      (res.locals.log as Logger).info(
        { method: req.method, url: req.originalUrl.slice(0, 300), status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      );
    });
    next();
  });

  const router = express.Router();
  mountRoutes(router, routes, apiKeys, deps.jsonBodyLimit);
  // The anonymous POST /verify is rate-limited before its body is read.
  app.use(verifications.beforeRoutes);
  app.use(router);

  // Known path, wrong method → 405 with Allow; unknown path → 404. Both problem+json.
  app.use((req, _res, next) => {
    const allowed = routes.filter((r) => matches(r.path, req.path)).map((r) => r.method.toUpperCase());
    if (allowed.length > 0) {
      _res.setHeader('Allow', [...new Set(allowed)].join(', '));
      return next(new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}`));
    }
    next(new AppError('ROUTE_NOT_FOUND', `No route ${req.method} ${req.path.slice(0, 200)}`));
  });
  app.use(problemHandler(deps.logger));

  return { express: app, metrics, routes };
}

function matches(template: string, path: string): boolean {
  const re = new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+') + '/?$');
  return re.test(path);
}
