import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { compactVerify, decodeProtectedHeader, importX509 } from 'jose';
import { withCreditCodeCheck } from '../../src/identifiers';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

/**
 * E-licences through HTTP (issue #7). The credential and the status list are checked with the
 * `jose` package and node:zlib only — no code shared with the issuer.
 */
const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const HOLDER = withCreditCodeCheck('91330106MA2CFPK53');
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

/** ISO 7064 MOD 37,36 written out again here, independently of src/licences/identifier.ts. */
function checkCharOk(identifier: string): boolean {
  const parts = identifier.split('.');
  const body = parts.slice(5, 9).join('');
  let p = 36;
  for (const ch of body) {
    let t = (p + parseInt(ch, 36)) % 36;
    if (t === 0) t = 36;
    p = (2 * t) % 37;
  }
  return parts[9] === '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[(37 - p) % 36];
}

const businessData = {
  entityType: '有限责任公司',
  legalRepresentative: '王建国',
  registeredCapital: '500万元人民币',
  establishedOn: '2019-03-15',
  address: '浙江省杭州市西湖区文三路90号',
  businessScope: '软件开发；信息技术咨询服务；数据处理服务。',
  registrationAuthority: '杭州市西湖区市场监督管理局',
};

let t: TestApp;
let counterA: string;
let counterB: string;
let verifierB: string;
let sealId: string;
let sealPem: string;

beforeAll(async () => {
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: B, name: '浙江省人力资源和社会保障厅' }).expect(201);
  counterA = await t.key(A, ['counter']);
  counterB = await t.key(B, ['counter']);
  verifierB = await t.key(B, ['verifier']);
  sealId = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201)).body.id;
  sealPem = (await t.request.get(`/v1/seals/${sealId}/certificate`).set(auth(counterA)).expect(200)).text;
});
afterAll(() => t.close());

const issue = (body: object, query = '', key = counterA) => t.request.post(`/v1/licences${query}`).set(auth(key)).send(body);
const business = (over: object = {}) => ({ type: 'business-licence', sealId, holder: { name: '杭州云栖数据科技有限公司', codeType: '001', code: HOLDER }, data: businessData, validFrom: '2025-01-01', validUntil: null, ...over });

async function statusBit(listUrl: string, index: number): Promise<boolean> {
  const res = await t.request.get(new URL(listUrl).pathname).expect(200);
  expect(res.headers['content-type']).toMatch(/^application\/vc\+jwt/);
  expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
  const jws = res.text;
  const header = decodeProtectedHeader(jws);
  const key = await importX509(`-----BEGIN CERTIFICATE-----\n${(header.x5c as string[])[0]}\n-----END CERTIFICATE-----`, header.alg!);
  const { payload } = await compactVerify(jws, key);
  const vc = JSON.parse(Buffer.from(payload).toString());
  expect(vc.type).toContain('BitstringStatusListCredential');
  const bits = gunzipSync(Buffer.from(vc.credentialSubject.encodedList.slice(1), 'base64url'));
  expect(bits.length * 8).toBeGreaterThanOrEqual(131072);
  return (bits[index >> 3] & (0x80 >> (index & 7))) !== 0;
}

describe('e-licences', () => {
  it('lists the three shipped licence types with schema, type code and layout', async () => {
    const res = await t.request.get('/v1/licence-types').set(auth(verifierB)).expect(200);
    const ids = res.body.items.map((x: { id: string }) => x.id);
    expect(ids).toEqual(expect.arrayContaining(['business-licence', 'food-business-permit', 'residence-permit']));
    for (const ty of res.body.items) {
      expect(ty.typeCode).toMatch(/^[0-9A-Z]{18}\d{3}$/);
      expect(ty.schema.type).toBe('object');
      expect(ty.layout.seal.size).toBeGreaterThan(0);
    }
  });

  it('issues a sealed licence: valid identifier, credential verified by jose against the seal certificate, PDF seal verified by pdfsig', async () => {
    const res = await issue(business()).expect(201);
    const l = res.body;
    expect(l).toMatchObject({ status: 'valid', type: 'business-licence', version: 1, hasPdf: true });
    expect(l.identifier).toMatch(new RegExp(`^1\\.2\\.156\\.3005\\.2\\.11100000000013338W001\\.${A}\\.\\d{10}\\.001\\.[0-9A-Z]$`));
    expect(checkCharOk(l.identifier)).toBe(true);
    expect(typeof l.logIndex).toBe('number');
    expect(l.qrUrl).toMatch(/^http:\/\/127\.0\.0\.1:8080\/v\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(l.qrUrl.length).toBeLessThan(400);

    const cred = await t.request.get(`/v1/licences/${l.id}/credential`).set(auth(counterA)).expect(200);
    expect(cred.headers['content-type']).toMatch(/^application\/vc\+jwt/);
    const header = decodeProtectedHeader(cred.text);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'vc+jwt' });
    const leaf = (header.x5c as string[])[0];
    expect(sealPem.replace(/-----[^-]+-----|\s/g, '')).toBe(leaf);
    const { payload } = await compactVerify(cred.text, await importX509(sealPem, 'ES256'));
    const vc = JSON.parse(Buffer.from(payload).toString());
    expect(vc['@context'][0]).toBe('https://www.w3.org/ns/credentials/v2');
    expect(vc.type).toEqual(['VerifiableCredential', 'ElectronicLicenceCredential']);
    expect(vc.credentialSubject.licence).toMatchObject({ identifier: l.identifier, data: businessData });
    expect(vc.credentialStatus.map((s: { statusPurpose: string }) => s.statusPurpose)).toEqual(['revocation', 'suspension']);
    expect(vc.credentialStatus[0].type).toBe('BitstringStatusListEntry');
    // A modified credential does not verify.
    const [h, p, s] = cred.text.split('.');
    const forged = JSON.parse(Buffer.from(p, 'base64url').toString());
    forged.credentialSubject.name = '别的公司';
    await expect(compactVerify(`${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${s}`, await importX509(sealPem, 'ES256'))).rejects.toThrow();

    const pdf = await t.request.get(`/v1/licences/${l.id}/pdf`).set(auth(counterA)).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200);
    const file = path.join(t.dataDir, 'licence.pdf');
    fs.writeFileSync(file, pdf.body as Buffer);
    let out = '';
    try {
      out = execFileSync('pdfsig', ['-nocert', file], { encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout?: string }).stdout ?? '';
    }
    expect(out).toMatch(/Signature Validation: Signature is Valid/);
    expect(out).toMatch(/ETSI\.CAdES\.detached/);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    expect(text).toContain('杭州云栖数据科技有限公司');

    const entry = (await t.services.log.entries(l.logIndex, l.logIndex + 1))[0];
    const logged = JSON.parse(Buffer.from(entry.leafInput, 'base64').toString());
    expect(logged).toMatchObject({ type: 'licence.issued', subject: { licenceId: l.id, identifier: l.identifier } });
    expect(JSON.stringify(logged)).not.toContain(HOLDER);
  });

  it('refuses bad data with 400 LICENCE_DATA_INVALID listing each bad field', async () => {
    const res = await issue(
      business({ holder: { name: '某公司', codeType: '001', code: '91330106MA2CFPK53B' }, data: { ...businessData, registeredCapital: 'lots', establishedOn: '2019-02-30', extra: 1, legalRepresentative: undefined }, validFrom: '2025-13-01' }),
    ).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('LICENCE_DATA_INVALID');
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining(['/holder/code', '/data/registeredCapital', '/data/establishedOn', '/data/extra', '/data/legalRepresentative', '/validFrom']),
    );
    // A residence permit needs a resident ID with a right check digit, and validUntil.
    const r2 = await issue({ type: 'residence-permit', sealId, holder: { name: '张三', codeType: '111', code: '110105194912310021' }, data: {}, validFrom: '2025-01-01' }).expect(400);
    expect(r2.body.errors.map((e: { pointer: string; code: string }) => `${e.pointer} ${e.code}`)).toEqual(
      expect.arrayContaining(['/holder/code RESIDENT_ID_CHECK_DIGIT', '/validUntil REQUIRED', '/data/sex REQUIRED']),
    );
    expect((await issue(business({ type: 'no-such-type' })).expect(400)).body.code).toBe('LICENCE_DATA_INVALID');
    expect((await issue({ ...business(), data: 'x' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await t.request.post('/v1/licences').set(auth(counterA)).set('Content-Type', 'application/json').send('{"type":')).status).toBe(400);
  });

  it('revocation: the JSON, the status list bit and credential verification all say revoked at once', async () => {
    const l = (await issue(business(), '?pdf=false').expect(201)).body;
    expect(l.hasPdf).toBe(false);
    const credential = (await t.request.get(`/v1/licences/${l.id}/credential`).set(auth(counterA)).expect(200)).text;
    const vc = JSON.parse(Buffer.from(credential.split('.')[1], 'base64url').toString());
    const [rev, susp] = vc.credentialStatus;
    const index = Number(rev.statusListIndex);
    expect(await statusBit(rev.statusListCredential, index)).toBe(false);
    expect((await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({ credential }).expect(200)).body).toMatchObject({ signatureValid: true, status: 'valid' });

    // Suspension is reversible, in its own list.
    await t.request.post(`/v1/licences/${l.id}/suspend`).set(auth(counterA)).expect(200);
    expect(await statusBit(susp.statusListCredential, index)).toBe(true);
    expect((await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({ credential }).expect(200)).body.status).toBe('suspended');
    await t.request.post(`/v1/licences/${l.id}/reinstate`).set(auth(counterA)).expect(200);
    expect(await statusBit(susp.statusListCredential, index)).toBe(false);

    const revoked = await t.request.post(`/v1/licences/${l.id}/revoke`).set(auth(counterA)).send({ reason: 'obtained-fraudulently' }).expect(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', revocationReason: 'obtained-fraudulently' });
    expect((await t.request.get(`/v1/licences/${l.id}`).set(auth(counterA)).expect(200)).body.status).toBe('revoked');
    expect(await statusBit(rev.statusListCredential, index)).toBe(true);
    const v = (await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({ credential }).expect(200)).body;
    expect(v).toMatchObject({ signatureValid: true, status: 'revoked' });
    expect(v.statusEntries[0]).toMatchObject({ statusPurpose: 'revocation', set: true });
    // Final: nothing moves a revoked licence.
    expect((await t.request.post(`/v1/licences/${l.id}/reinstate`).set(auth(counterA))).body.code).toBe('LICENCE_REVOKED');
    expect((await t.request.post(`/v1/licences/${l.id}/revoke`).set(auth(counterA)).send({ reason: 'holder-request' })).body.code).toBe('LICENCE_REVOKED');
    const entry = (await t.services.log.entries(revoked.body.logIndex, revoked.body.logIndex + 1))[0];
    expect(JSON.parse(Buffer.from(entry.leafInput, 'base64').toString())).toMatchObject({ type: 'licence.revoked', details: { reason: 'obtained-fraudulently' } });
  });

  it('200 concurrent issuance requests give 200 distinct identifiers, all with valid check characters', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, () => issue(business(), '?pdf=false')));
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(201));
    const ids = results.map((r) => r.body.identifier as string);
    expect(new Set(ids).size).toBe(200);
    expect(ids.every(checkCharOk)).toBe(true);
    const indexes = results.map((r) => r.body.links.statusLists[0] + '#' + r.body.id);
    expect(new Set(indexes).size).toBe(200);
  });

  it('confirmation lookups (Art. 32): no purpose → 400; with one → only valid licences, asked fields only, recorded and logged', async () => {
    const own = (await issue(business(), '?pdf=false').expect(201)).body;
    const q = `/v1/licences?holderCode=${HOLDER}&type=business-licence`;
    const noPurpose = await t.request.get(q).set(auth(verifierB)).expect(400);
    expect(noPurpose.body.code).toBe('LOOKUP_PURPOSE_REQUIRED');
    expect((await t.request.get(q + '&purpose=').set(auth(verifierB)).expect(400)).body.code).toBe('LOOKUP_PURPOSE_REQUIRED');
    expect((await t.request.get(q + '&purpose=x').set(auth(counterB))).body.code).toBe('FORBIDDEN_ROLE');
    const purpose = '办理社会保险登记核验营业执照';
    const res = await t.request.get(`${q}&purpose=${encodeURIComponent(purpose)}&fields=legalRepresentative`).set(auth(verifierB)).expect(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.every((i: { status: string }) => i.status === 'valid')).toBe(true);
    const found = res.body.items.find((i: { id: string }) => i.id === own.id);
    expect(found.fields).toEqual({ legalRepresentative: '王建国' });
    expect(found.holderCode).toBeUndefined();
    // Revoked ones are not confirmed.
    await t.request.post(`/v1/licences/${own.id}/revoke`).set(auth(counterA)).send({ reason: 'holder-request' }).expect(200);
    const again = await t.request.get(`${q}&purpose=${encodeURIComponent(purpose)}`).set(auth(verifierB)).expect(200);
    expect(again.body.items.find((i: { id: string }) => i.id === own.id)).toBeUndefined();
    expect(again.body.items[0]?.fields ?? {}).toEqual({});
    const entry = (await t.services.log.entries(res.body.logIndex, res.body.logIndex + 1))[0];
    const logged = JSON.parse(Buffer.from(entry.leafInput, 'base64').toString());
    expect(logged).toMatchObject({ type: 'licence.lookup', actor: { agencyCode: B }, details: { purpose, fields: ['legalRepresentative'] } });
    expect(logged.details.returned).toContain(own.id);
    expect(JSON.stringify(logged)).not.toContain(HOLDER);
    const lookups = (await t.request.get('/v1/licence-lookups?limit=500').set(auth(verifierB)).expect(200)).body;
    expect(lookups.items.find((x: { id: string }) => x.id === res.body.lookupId)).toMatchObject({ purpose, logIndex: res.body.logIndex, returned: expect.arrayContaining([own.id]) });
    const adminView = (await t.request.get('/v1/licence-lookups?limit=500').set(auth(ADMIN_KEY)).expect(200)).body;
    expect(adminView.items.some((x: { id: string }) => x.id === res.body.lookupId)).toBe(true);
  });

  it("keeps agencies apart: B's counter can neither read, change nor issue with A's licences and seals", async () => {
    const l = (await issue(business(), '?pdf=false').expect(201)).body;
    expect((await t.request.get(`/v1/licences/${l.id}`).set(auth(counterB))).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await t.request.get(`/v1/licences/${l.id}/credential`).set(auth(counterB))).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await t.request.post(`/v1/licences/${l.id}/suspend`).set(auth(counterB))).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await issue(business(), '?pdf=false', counterB)).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await t.request.get('/v1/licences').set(auth(counterB)).expect(200)).body.items).toEqual([]);
    expect((await issue(business(), '', verifierB)).body.code).toBe('FORBIDDEN_ROLE');
  });

  it('QR token: compact, verifies offline with the seal certificate, and the public view masks the holder', async () => {
    const l = (await issue(business(), '?pdf=false').expect(201)).body;
    const token = l.qrUrl.split('/v/')[1];
    const { payload } = await compactVerify(token, await importX509(sealPem, 'ES256'));
    expect(JSON.parse(Buffer.from(payload).toString())).toMatchObject({ lid: l.id, idf: l.identifier });
    expect((await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({ token }).expect(200)).body).toMatchObject({ signatureValid: true, status: 'valid' });
    const view = await t.services.licences.publicView(token);
    expect(view).toMatchObject({ genuine: true, status: 'valid', identifier: l.identifier, holderName: '杭州**有限公司', issuer: { creditCode: A } });
    const page = await t.request.get(new URL(l.qrUrl).pathname).set('Accept', 'application/json').expect(200);
    expect(page.body).toMatchObject({ genuine: true, status: 'valid', identifier: l.identifier, holderName: '杭州**有限公司' });
    await t.request.post(`/v1/licences/${l.id}/suspend`).set(auth(counterA)).expect(200);
    expect((await t.request.get(new URL(l.qrUrl).pathname).set('Accept', 'application/json').expect(200)).body.status).toBe('suspended');
    await t.request.post(`/v1/licences/${l.id}/reinstate`).set(auth(counterA)).expect(200);
    const bad = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    expect(await t.services.licences.publicView(bad)).toBeNull();
    for (const junk of ['', 'a', 'a.b.c', '..', 'x'.repeat(5000)]) {
      expect(await t.services.licences.publicView(junk)).toBeNull();
    }
    expect((await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({ token: 'a.b.c' }).expect(200)).body.signatureValid).toBe(false);
    expect((await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({ credential: 'not-a-jws' }).expect(200)).body.signatureValid).toBe(false);
    expect((await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({}).expect(400)).body.code).toBe('VALIDATION_FAILED');
  });

  it('renews: new version with a new identifier, linked both ways; the old one is revoked as superseded', async () => {
    const old = (await issue({ type: 'food-business-permit', sealId, holder: { name: '杭州味道餐饮管理有限公司', codeType: '001', code: HOLDER }, data: { permitNumber: 'JY23301060012345', legalRepresentative: '李明', residence: '杭州市西湖区文三路1号', businessPremises: '杭州市西湖区文三路1号一楼', mainBusinessFormat: '餐饮服务经营者', businessItems: ['热食类食品制售', '冷食类食品制售'], dailySupervisionAuthority: '西湖区市场监督管理局文新所' }, validFrom: '2025-01-01', validUntil: '2029-12-31' }, '?pdf=false').expect(201)).body;
    const r = await t.request.post(`/v1/licences/${old.id}/renew?pdf=false`).set(auth(counterA)).send({ validFrom: '2025-06-01', validUntil: '2030-05-31' }).expect(201);
    const n = r.body.licence;
    expect(n.version).toBe(2);
    expect(n.identifier.split('.').slice(0, 7)).toEqual(old.identifier.split('.').slice(0, 7));
    expect(n.identifier.split('.')[8]).toBe('002');
    expect(checkCharOk(n.identifier)).toBe(true);
    expect(n.previousId).toBe(old.id);
    expect(r.body.previous).toMatchObject({ id: old.id, status: 'revoked', revocationReason: 'superseded', supersededBy: n.id });
    expect((await t.request.post(`/v1/licences/${old.id}/renew`).set(auth(counterA))).body.code).toBe('LICENCE_REVOKED');
  });

  it('a renewal interrupted before the old version was revoked is finished by renewing again, without a third version', async () => {
    const old = (await issue(business(), '?pdf=false').expect(201)).body;
    // Simulate the crash: the new version exists, the old one is still valid.
    const principal = { apiKeyId: 'ak_t', agencyCode: A, roles: ['counter' as const] };
    const renewSpy = jest.spyOn(t.services.licences as unknown as { change: (...a: unknown[]) => Promise<unknown> }, 'change').mockRejectedValueOnce(new Error('crash'));
    await expect(t.services.licences.renew(principal, old.id, {}, { pdf: false })).rejects.toThrow('crash');
    renewSpy.mockRestore();
    expect((await t.request.get(`/v1/licences/${old.id}`).set(auth(counterA))).body.status).toBe('valid');
    const r = await t.request.post(`/v1/licences/${old.id}/renew?pdf=false`).set(auth(counterA)).expect(201);
    expect(r.body.licence.version).toBe(2);
    expect(r.body.previous).toMatchObject({ status: 'revoked', supersededBy: r.body.licence.id });
    const v3 = old.identifier.split('.').slice(0, 8).join('.') + '.003.';
    const all = (await t.request.get('/v1/licences?limit=500').set(auth(counterA)).expect(200)).body.items as { identifier: string }[];
    expect(all.some((x) => x.identifier.startsWith(v3))).toBe(false);
  });

  it('idempotency keys: a retried request returns the first licence and issues nothing new', async () => {
    const first = await issue(business({ idempotencyKey: 'row-42' }), '?pdf=false').expect(201);
    const again = await issue(business({ idempotencyKey: 'row-42' }), '?pdf=false').expect(200);
    expect(again.body).toMatchObject({ id: first.body.id, identifier: first.body.identifier, replayed: true });
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => issue(business({ idempotencyKey: 'row-43' }), '?pdf=false')));
    expect(new Set(concurrent.map((r) => r.body.id)).size).toBe(1);
    expect((await issue(business({ idempotencyKey: 'row-42', holder: { name: 'x', codeType: '001', code: A } }), '?pdf=false')).body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('RSA and RSA-PSS seals sign credentials as RS256 and PS256, verified by jose', async () => {
    for (const alg of ['RS256', 'PS256'] as const) {
      const seal = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: `许可章${alg}`, kind: 'licence', algorithm: alg }).expect(201)).body.id;
      const pem = (await t.request.get(`/v1/seals/${seal}/certificate`).set(auth(counterA)).expect(200)).text;
      const l = (await issue(business({ sealId: seal }), '?pdf=false').expect(201)).body;
      const cred = (await t.request.get(`/v1/licences/${l.id}/credential`).set(auth(counterA)).expect(200)).text;
      expect(decodeProtectedHeader(cred).alg).toBe(alg);
      await compactVerify(cred, await importX509(pem, alg));
      const token = l.qrUrl.split('/v/')[1];
      await compactVerify(token, await importX509(pem, alg));
      expect((await t.request.post('/v1/licences/verify').set(auth(verifierB)).send({ credential: cred }).expect(200)).body).toMatchObject({ signatureValid: true, status: 'valid' });
    }
  });

  it('publishes the licence routes in the OpenAPI document', async () => {
    const doc = (await t.request.get('/openapi.json').expect(200)).body;
    for (const p of ['/v1/licences', '/v1/licences/{id}', '/v1/licences/{id}/revoke', '/v1/licence-types', '/v1/status-lists/{id}', '/v1/licences/verify']) expect(doc.paths[p]).toBeDefined();
  });

  it('annotated copy (加注件): a sealed PDF that states purpose, requester and expiry', async () => {
    const l = (await issue(business(), '?pdf=false').expect(201)).body;
    const res = await t.request
      .post(`/v1/licences/${l.id}/annotated-copies`)
      .set(auth(counterA))
      .send({ purpose: '银行开户', requester: '中国工商银行杭州分行', expiresAt: '2099-12-31' })
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(201);
    const file = path.join(t.dataDir, 'annotated.pdf');
    fs.writeFileSync(file, res.body as Buffer);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    expect(text).toContain('银行开户');
    expect(text).toContain('中国工商银行杭州分行');
    expect(text).toContain('2099年12月31日');
    expect(text).toContain('加注件');
    let out = '';
    try {
      out = execFileSync('pdfsig', ['-nocert', file], { encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout?: string }).stdout ?? '';
    }
    expect(out).toMatch(/Signature is Valid/);
    expect((await t.request.post(`/v1/licences/${l.id}/annotated-copies`).set(auth(counterA)).send({ purpose: '银行开户', requester: '某银行', expiresAt: '2000-01-01' })).status).toBe(400);
  });
});
