import fs from 'node:fs';
import supertest from 'supertest';
import pino from 'pino';
import { ApiKeyService } from '../../src/api-keys';
import { ensureBootstrapAdmin } from '../../src/bootstrap';
import { createApp, type App } from '../../src/http/app';
import { buildServices, type Services } from '../../src/services';
import { openSqliteStores, type Role, type Stores } from '../../src/store';
import { tmpDir } from './stores';

export const ADMIN_KEY = 'es_test-admin-key-0123456789abcdefghijklmnopqrstuv';

export interface TestApp {
  app: App;
  stores: Stores;
  services: Services;
  request: ReturnType<typeof supertest>;
  dataDir: string;
  /** Creates an API key directly through the service and returns its secret. */
  key(agencyCode: string | null, roles: Role[]): Promise<string>;
  close(): Promise<void>;
}

/** An app on a fresh SQLite store in a temp dir, with a known platform admin key. */
export async function startTestApp(): Promise<TestApp> {
  const dataDir = tmpDir();
  const stores = openSqliteStores({ file: `${dataDir}/eseal.sqlite` });
  const logger = pino({ level: 'silent' });
  await ensureBootstrapAdmin(stores, { dataDir, bootstrapAdminKey: ADMIN_KEY }, logger);
  const publicUrl = 'http://127.0.0.1:8080';
  const services = await buildServices(
    { dataDir, masterKey: '11'.repeat(32), masterKeyFile: `${dataDir}/master.key`, publicUrl, keyStore: 'software', pkcs11: null, tsaPolicy: null, logCheckpointIntervalMs: 0 },
    stores,
  );
  const app = createApp({ ...services, stores, logger, publicUrl, version: 'test', jsonBodyLimit: 1024 * 1024 });
  const keys = new ApiKeyService(stores.apiKeys, stores.agencies);
  return {
    app,
    stores,
    services,
    dataDir,
    request: supertest(app.express),
    async key(agencyCode, roles) {
      return (await keys.create(null, { agencyCode, roles, label: 'test' })).key;
    },
    async close() {
      await services.close();
      await stores.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
