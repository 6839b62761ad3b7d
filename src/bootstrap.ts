import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ApiKeyService, generateApiKey, hashApiKey } from './api-keys';
import { ConflictError } from './errors';
import type { Stores } from './store/ports';

export interface BootstrapResult {
  /** Where a generated key was written, when one was. */
  adminKeyFile: string | null;
  created: boolean;
}

const SETTING = 'bootstrap.admin';

/**
 * Makes sure a platform admin key exists.
 * - ESEAL_BOOTSTRAP_ADMIN_KEY set: that key is registered if it is not yet (idempotent).
 * - otherwise, on the first start only: a key is generated and written to <data>/admin.key
 *   (mode 0600) BEFORE its hash is stored. A crash between the two leaves the file; the next
 *   start finds the file and registers the same key, so no admin key is ever lost or made twice.
 * The key itself is never logged; only the file's path is printed.
 */
export async function ensureBootstrapAdmin(
  stores: Stores,
  options: { dataDir: string; bootstrapAdminKey: string | null },
  logger: Logger,
): Promise<BootstrapResult> {
  const service = new ApiKeyService(stores.apiKeys, stores.agencies);
  const register = async (secret: string): Promise<boolean> => {
    if (await stores.apiKeys.findByHash(hashApiKey(secret))) return false;
    try {
      await service.create(null, { agencyCode: null, roles: ['admin'], label: 'bootstrap admin' }, secret);
      return true;
    } catch (e) {
      if (e instanceof ConflictError && e.code === 'DUPLICATE') return false; // a concurrent start won
      throw e;
    }
  };

  if (options.bootstrapAdminKey) {
    const created = await register(options.bootstrapAdminKey);
    await stores.settings.putIfAbsent(SETTING, { source: 'env' });
    if (created) logger.info('registered the bootstrap admin key from ESEAL_BOOTSTRAP_ADMIN_KEY');
    return { adminKeyFile: null, created };
  }
  if (await stores.settings.get(SETTING)) return { adminKeyFile: null, created: false };

  const file = path.join(options.dataDir, 'admin.key');
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  let secret: string;
  try {
    secret = generateApiKey();
    fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    secret = fs.readFileSync(file, 'utf8').trim();
  }
  const created = await register(secret);
  await stores.settings.putIfAbsent(SETTING, { source: 'file' });
  logger.info({ file }, 'bootstrap admin API key written to file (mode 0600); read it, then keep it safe');
  process.stderr.write(`eseal: bootstrap admin API key written to ${file}\n`);
  return { adminKeyFile: file, created };
}
