import http from 'node:http';
import type { Logger } from 'pino';
import { ensureBootstrapAdmin } from './bootstrap';
import { ConfigError, loadConfig, type Config } from './config';
import { createApp } from './http/app';
import { createLogger } from './http/logger';
import { buildServices } from './services';
import { openStores } from './store';
import { VERSION } from './version';

export interface RunningService {
  server: http.Server;
  port: number;
  stop(): Promise<void>;
}

/** Loads nothing itself: the caller passes the validated config. */
export async function startService(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningService> {
  const stores = await openStores(config);
  await ensureBootstrapAdmin(stores, config, logger);
  const services = await buildServices(config, stores);
  const app = createApp({
    ...services,
    stores,
    logger,
    publicUrl: config.publicUrl,
    version: VERSION,
    jsonBodyLimit: config.jsonBodyLimit,
  });
  // Delegated certificates (OCSP, TSA, log) are renewed before they expire.
  const renewal = setInterval(() => {
    services.ca.renewDelegates().catch((err) => logger.error({ err }, 'renewing delegated certificates failed'));
  }, 3600_000);
  renewal.unref();
  const server = http.createServer(app.express);
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  logger.info({ port, store: stores.kind, publicUrl: config.publicUrl }, 'eseal listening');

  let stopping: Promise<void> | null = null;
  return {
    server,
    port,
    stop() {
      // Graceful: stop accepting, let in-flight requests finish (bounded), then close the store.
      stopping ??= (async () => {
        clearInterval(renewal);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(timer);
        await services.close();
        await stores.close();
        logger.info('eseal stopped');
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`eseal: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  const service = await startService(config, logger);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      service.stop().then(
        () => process.exit(0),
        (e) => {
          logger.error({ err: e }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`eseal: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
