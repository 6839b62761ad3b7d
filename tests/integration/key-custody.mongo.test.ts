import mongoose from 'mongoose';
import { openMongoStores } from '../../src/store';
import { makeKeys, needles } from '../helpers/key-scan';

// Runs when MONGODB_URI is set (CI: FerretDB); jest.config.js leaves *.mongo.test.ts out otherwise.
const uri = process.env.MONGODB_URI;

describe('no private key in clear in the store', () => {
  it('MongoDB: no collection holds any encoding of any private key', async () => {
    const dbName = `eseal_scan_${Date.now()}`;
    const stores = await openMongoStores({ uri: uri!, dbName });
    const privateKeys = await makeKeys(stores);
    const conn = await mongoose.createConnection(uri!, { dbName }).asPromise();
    const chunks: Buffer[] = [];
    for (const c of await conn.db!.listCollections().toArray()) {
      for (const doc of await conn.db!.collection(c.name).find().toArray()) {
        chunks.push(Buffer.from(mongoose.mongo.BSON.serialize(doc)), Buffer.from(JSON.stringify(doc)));
      }
    }
    const bytes = Buffer.concat(chunks);
    expect(bytes.length).toBeGreaterThan(5_000);
    for (const k of privateKeys) for (const n of needles(k)) expect(bytes.includes(n)).toBe(false);
    await conn.dropDatabase();
    await conn.close();
    await stores.close();
  });
});
