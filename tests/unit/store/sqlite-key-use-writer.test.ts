import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newId, openSqliteStores, type KeyUseRecord } from '../../../src/store';

const use = (i: number): KeyUseRecord => ({
  id: newId('use_', 1_700_000_000_000 + i, Buffer.alloc(8, i)),
  keyId: 'key_1',
  apiKeyId: null,
  agencyCode: null,
  purpose: 'test',
  digest: 'ab'.repeat(32),
  at: '2026-01-01T00:00:00.000Z',
});

describe('SQLite key uses committed on the writer thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-key-use-writer-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('close() lets batches already sent commit; they are there after reopening', async () => {
    const file = path.join(dir, 'eseal.sqlite');
    const stores = openSqliteStores({ file });
    const writes = [stores.keyUses.appendMany([use(1), use(2)]), stores.keyUses.appendMany([use(3)])];
    await stores.close();
    await Promise.all(writes);
    const again = openSqliteStores({ file });
    try {
      expect((await again.keyUses.list()).items.map((u) => u.id)).toEqual([use(1), use(2), use(3)].map((u) => u.id));
    } finally {
      await again.close();
    }
  });

  it('refuses writes after close', async () => {
    const stores = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
    await stores.keyUses.appendMany([use(1)]);
    await stores.close();
    await expect(stores.keyUses.appendMany([use(2)])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('is read by the main connection and by a second connection to the file', async () => {
    const file = path.join(dir, 'eseal.sqlite');
    const a = openSqliteStores({ file });
    const b = openSqliteStores({ file });
    try {
      await Promise.all([a.keyUses.appendMany([use(1), use(2)]), b.keyUses.appendMany([use(3)]), a.keyUses.append(use(4))]);
      expect((await b.keyUses.list()).items).toHaveLength(4);
      expect((await a.keyUses.list()).items).toHaveLength(4);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
