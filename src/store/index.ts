import path from 'node:path';
import type { Stores } from './ports';
import { openSqliteStores } from './sqlite';
import { openMongoStores } from './mongo';

export * from './ports';
export { newId, isWellFormedId } from './ids';
export { openSqliteStores } from './sqlite';
export { openMongoStores } from './mongo';

/** The configured store: MongoDB when a URI is given, else the embedded SQLite file. */
export async function openStores(config: { mongodbUri: string | null; dataDir: string }): Promise<Stores> {
  if (config.mongodbUri) return openMongoStores({ uri: config.mongodbUri });
  return openSqliteStores({ file: path.join(config.dataDir, 'eseal.sqlite') });
}
