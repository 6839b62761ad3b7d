import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { compactVerify, decodeProtectedHeader, importX509 } from 'jose';
import { AgencyService } from '../../src/agencies';
import { withCreditCodeCheck } from '../../src/identifiers';
import { isValidLicenceIdentifier } from '../../src/licences/identifier';
import { buildServices, type Services } from '../../src/services';
import { openMongoStores, type Stores } from '../../src/store';
import { tmpDir } from '../helpers/stores';

// Left out by jest.config.js unless MONGODB_URI is set (CI runs it on FerretDB).
const uri = process.env.MONGODB_URI;
if (!uri) throw new Error('MONGODB_URI is not set but ESEAL_TEST_REQUIRE includes mongo');

const A = '11330105002500287C';
const HOLDER = withCreditCodeCheck('91330106MA2CFPK53');

describe('e-licences on MongoDB', () => {
  let stores: Stores;
  let services: Services;
  let sealId: string;
  const dbName = `eseal_lic_${randomBytes(5).toString('hex')}`;
  const counter = { apiKeyId: 'ak_test', agencyCode: A, roles: ['counter' as const] };

  beforeAll(async () => {
    stores = await openMongoStores({ uri, dbName });
    const dir = tmpDir();
    services = await buildServices(
      { dataDir: dir, masterKey: '33'.repeat(32), masterKeyFile: `${dir}/master.key`, publicUrl: 'http://127.0.0.1:8080', keyStore: 'software', pkcs11: null, tsaPolicy: null, logCheckpointIntervalMs: 0 },
      stores,
    );
    await new AgencyService(stores.agencies).create({ code: A, name: '杭州市西湖区市场监督管理局', region: null });
    sealId = (await services.seals.create({ apiKeyId: 'ak_admin', agencyCode: null, roles: ['admin'] }, { agencyCode: A, name: '行政许可专用章', kind: 'licence', algorithm: 'ES256' })).id;
  }, 60_000);
  afterAll(async () => {
    await services?.close();
    const mongoose = await import('mongoose');
    const conn = await mongoose.default.createConnection(uri, { dbName }).asPromise();
    await conn.dropDatabase();
    await conn.close();
    await stores?.close();
  });

  const input = (over: object = {}) => ({
    type: 'business-licence',
    sealId,
    holder: { name: '杭州云栖数据科技有限公司', codeType: '001', code: HOLDER },
    data: { entityType: '有限责任公司', legalRepresentative: '王建国', registeredCapital: '500万元人民币', establishedOn: '2019-03-15', address: '浙江省杭州市西湖区文三路90号', businessScope: '软件开发。', registrationAuthority: '杭州市西湖区市场监督管理局' },
    validFrom: '2025-01-01',
    ...over,
  });

  it('issues 60 licences concurrently with distinct valid identifiers; idempotency keys hold under a race', async () => {
    const issued = await Promise.all(Array.from({ length: 60 }, () => services.licences.issue(counter, input(), { pdf: false })));
    const ids = issued.map((l) => l.identifier);
    expect(new Set(ids).size).toBe(60);
    expect(ids.every(isValidLicenceIdentifier)).toBe(true);
    const raced = await Promise.all(Array.from({ length: 6 }, () => services.licences.issue(counter, input({ idempotencyKey: 'k1' }), { pdf: false })));
    expect(new Set(raced.map((l) => l.id)).size).toBe(1);
  }, 120_000);

  it('revocation shows in the record, the signed status list and credential verification', async () => {
    const l = await services.licences.issue(counter, input(), { pdf: false });
    const entry = JSON.parse(Buffer.from(l.credential.split('.')[1], 'base64url').toString()).credentialStatus[0];
    await services.licences.revoke(counter, l.id, 'holder-request');
    const listId = entry.statusListCredential.split('/').pop();
    const list = (await services.licences.statusListCredential(listId))!;
    const header = decodeProtectedHeader(list.jws);
    const { payload } = await compactVerify(list.jws, await importX509(`-----BEGIN CERTIFICATE-----\n${(header.x5c as string[])[0]}\n-----END CERTIFICATE-----`, 'ES256'));
    const bits = gunzipSync(Buffer.from(JSON.parse(Buffer.from(payload).toString()).credentialSubject.encodedList.slice(1), 'base64url'));
    const i = Number(entry.statusListIndex);
    expect((bits[i >> 3] & (0x80 >> (i & 7))) !== 0).toBe(true);
    expect(await services.licences.verifyCredential(l.credential)).toMatchObject({ signatureValid: true, status: 'revoked' });
    expect((await stores.licences.get(l.id))?.status).toBe('revoked');
  }, 60_000);
});
