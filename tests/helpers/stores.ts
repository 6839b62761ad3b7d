import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openMongoStores, openSqliteStores, type Stores } from '../../src/store';

/** A factory the contract suite calls: each call opens a fresh, empty store (or a second connection). */
export interface StoreFixture {
  name: string;
  /** Opens a new empty store and returns it with a function that opens a second connection to it. */
  open(): Promise<{ stores: Stores; second: () => Promise<Stores>; location: string; cleanup: () => Promise<void> }>;
}

export function tmpDir(prefix = 'eseal-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const sqliteFixture: StoreFixture = {
  name: 'sqlite',
  async open() {
    const dir = tmpDir();
    const file = path.join(dir, 'eseal.sqlite');
    const stores = openSqliteStores({ file });
    const extra: Stores[] = [];
    return {
      stores,
      location: file,
      second: async () => {
        const s = openSqliteStores({ file });
        extra.push(s);
        return s;
      },
      cleanup: async () => {
        for (const s of extra) await s.close();
        await stores.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** Whether a requirement is enforced (CI sets ESEAL_TEST_REQUIRE=mongo,softhsm,…). */
export function required(what: string): boolean {
  return (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').map((s) => s.trim()).includes(what);
}

export function mongoFixture(uri: string): StoreFixture {
  return {
    name: 'mongo',
    async open() {
      const dbName = `eseal_test_${randomBytes(6).toString('hex')}`;
      const stores = await openMongoStores({ uri, dbName });
      const extra: Stores[] = [];
      return {
        stores,
        location: dbName,
        second: async () => {
          const s = await openMongoStores({ uri, dbName });
          extra.push(s);
          return s;
        },
        cleanup: async () => {
          for (const s of extra) await s.close();
          await dropDatabase(uri, dbName);
          await stores.close();
        },
      };
    },
  };
}

async function dropDatabase(uri: string, dbName: string): Promise<void> {
  const mongoose = await import('mongoose');
  const conn = await mongoose.default.createConnection(uri, { dbName }).asPromise();
  try {
    await conn.dropDatabase();
  } finally {
    await conn.close();
  }
}
