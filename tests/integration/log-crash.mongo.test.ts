import { openMongoStores } from '../../src/store';
import { crashAndRecover } from '../helpers/log-crash';
import { tmpDir } from '../helpers/stores';

// Runs when MONGODB_URI is set (CI: FerretDB). On MongoDB entries and nodes are two writes, so
// this is where the start-up repair of missing nodes is exercised.
const uri = process.env.MONGODB_URI!;

describe('transparency log crash consistency (MongoDB wire protocol)', () => {
  it('kill -9 during 1,000 concurrent appends: the restarted log is gap-free and extends the last checkpoint', async () => {
    const dbName = `eseal_crash_${Date.now()}`;
    const r = await crashAndRecover('mongo', dbName, tmpDir(), () => openMongoStores({ uri, dbName }));
    expect(r.acked).toBeGreaterThanOrEqual(330);
  }, 180_000);
});
