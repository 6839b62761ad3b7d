import fs from 'node:fs';
import path from 'node:path';
import { openSqliteStores } from '../../src/store';
import { crashAndRecover } from '../helpers/log-crash';
import { tmpDir } from '../helpers/stores';

describe('transparency log crash consistency (SQLite)', () => {
  it('kill -9 during 1,000 concurrent appends: after restart the log is gap-free, keeps every acknowledged entry and extends the last checkpoint', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'eseal.sqlite');
    const r = await crashAndRecover('sqlite', file, dir, async () => openSqliteStores({ file }));
    expect(r.acked).toBeGreaterThanOrEqual(330);
    expect(r.size).toBeGreaterThanOrEqual(r.acked);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
