import { withCreditCodeCheck } from '../../src/identifiers';
import { parseCertificate } from '../../src/pki';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

let t: TestApp;
let adminA: string;
let signerA: string;
let signerB: string;
let adminB: string;
beforeAll(async () => {
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: B, name: '浙江省人力资源和社会保障厅' }).expect(201);
  adminA = await t.key(A, ['admin']);
  signerA = await t.key(A, ['signer']);
  signerB = await t.key(B, ['signer']);
  adminB = await t.key(B, ['admin']);
});
afterAll(() => t.close());

const create = (key: string, body: object) => t.request.post('/v1/seals').set(auth(key)).send(body);

describe('seals', () => {
  it('creates a seal: key in the key store, seal certificate for the agency, logged, with a receipt', async () => {
    const res = await create(ADMIN_KEY, { agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201);
    expect(res.body).toMatchObject({ agencyCode: A, name: '行政许可专用章', kind: 'licence', algorithm: 'ES256', status: 'active', keyStore: 'software' });
    expect(res.body.keyId).toBeUndefined();
    expect(res.headers['x-log-index']).toBe(String(res.body.logIndex));
    const pem = (await t.request.get(`/v1/seals/${res.body.id}/certificate`).set(auth(signerA)).expect(200)).text;
    const cert = parseCertificate(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    expect(cert.subject.fields).toMatchObject({ cn: '行政许可专用章', o: '杭州市西湖区市场监督管理局', organizationIdentifier: `NTRCN-${A}` });
    expect(cert.keyUsage?.usages).toEqual(expect.arrayContaining(['digitalSignature', 'nonRepudiation']));
    const entry = (await t.services.log.entries(res.body.logIndex, res.body.logIndex + 1))[0];
    expect(JSON.parse(Buffer.from(entry.leafInput, 'base64').toString())).toMatchObject({ type: 'seal.created', subject: { sealId: res.body.id, agencyCode: A } });
  });

  it("keeps agencies apart: B can neither see, list, change nor create A's seals", async () => {
    const s = (await create(adminA, { agencyCode: A, name: '合同专用章', kind: 'contract', algorithm: 'RS256' }).expect(201)).body;
    expect((await create(adminA, { agencyCode: B, name: 'x', kind: 'official' })).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await t.request.get(`/v1/seals/${s.id}`).set(auth(signerB))).status).toBe(403);
    expect((await t.request.get(`/v1/seals/${s.id}/certificate`).set(auth(signerB))).status).toBe(403);
    expect((await t.request.post(`/v1/seals/${s.id}/suspend`).set(auth(adminB))).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await t.request.get(`/v1/seals?agencyCode=${A}`).set(auth(signerB))).body.code).toBe('FORBIDDEN_AGENCY');
    const listB = (await t.request.get('/v1/seals').set(auth(signerB)).expect(200)).body.items;
    expect(listB).toEqual([]);
    const listA = (await t.request.get('/v1/seals').set(auth(signerA)).expect(200)).body.items;
    expect(listA.every((x: { agencyCode: string }) => x.agencyCode === A)).toBe(true);
    expect((await create(signerA, { agencyCode: A, name: 'x', kind: 'official' })).body.code).toBe('FORBIDDEN_ROLE');
  });

  it('suspends, reinstates and revokes (revocation revokes the certificate); each change is logged; a revoked seal stays revoked', async () => {
    const s = (await create(ADMIN_KEY, { agencyCode: A, name: '公章', kind: 'official' }).expect(201)).body;
    const signer = { apiKeyId: 'ak_x', agencyCode: A, roles: ['signer' as const] };
    await expect(t.services.seals.assertUsable(signer, s.id)).resolves.toMatchObject({ id: s.id });
    await expect(t.services.seals.assertUsable({ ...signer, agencyCode: B }, s.id)).rejects.toMatchObject({ code: 'FORBIDDEN_AGENCY' });
    await expect(t.services.seals.assertUsable({ ...signer, roles: ['verifier'] }, s.id)).rejects.toMatchObject({ code: 'FORBIDDEN_ROLE' });

    const suspended = (await t.request.post(`/v1/seals/${s.id}/suspend`).set(auth(adminA)).expect(200)).body;
    expect(suspended.status).toBe('suspended');
    await expect(t.services.seals.assertUsable(signer, s.id)).rejects.toMatchObject({ code: 'SEAL_SUSPENDED', status: 409 });
    expect((await t.request.post(`/v1/seals/${s.id}/suspend`).set(auth(adminA))).body.code).toBe('STATE_CONFLICT');
    const reinstated = (await t.request.post(`/v1/seals/${s.id}/reinstate`).set(auth(adminA)).expect(200)).body;
    expect(reinstated.status).toBe('active');
    const revoked = (await t.request.post(`/v1/seals/${s.id}/revoke`).set(auth(adminA)).send({ reason: 'keyCompromise' }).expect(200)).body;
    expect(revoked.status).toBe('revoked');
    expect((await t.stores.certificates.get(s.certificateSerial))).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await t.request.post(`/v1/seals/${s.id}/reinstate`).set(auth(adminA))).body.code).toBe('SEAL_REVOKED');
    await expect(t.services.seals.assertUsable(signer, s.id)).rejects.toMatchObject({ code: 'SEAL_REVOKED' });

    const types = [];
    for (const i of [suspended.logIndex, reinstated.logIndex, revoked.logIndex]) {
      const e = (await t.services.log.entries(i, i + 1))[0];
      types.push(JSON.parse(Buffer.from(e.leafInput, 'base64').toString()).type);
    }
    expect(types).toEqual(['seal.suspended', 'seal.reinstated', 'seal.revoked']);
    // A revocation without a body revokes with cessationOfOperation.
    const s2 = (await create(ADMIN_KEY, { agencyCode: A, name: '财务专用章', kind: 'finance' }).expect(201)).body;
    await t.request.post(`/v1/seals/${s2.id}/revoke`).set(auth(ADMIN_KEY)).expect(200);
    expect((await t.stores.certificates.get(s2.certificateSerial))?.revocationReason).toBe('cessationOfOperation');
  });

  it('repairs at start-up a status change whose log entry was lost', async () => {
    const s = (await create(ADMIN_KEY, { agencyCode: A, name: '发票专用章', kind: 'invoice' }).expect(201)).body;
    // Simulate a crash after the compare-and-swap, before the log append.
    await t.stores.seals.transition(s.id, { status: 'active', generation: 0 }, 'suspended', new Date().toISOString());
    expect((await t.stores.seals.listUnlogged()).map((x) => x.id)).toEqual([s.id]);
    expect(await t.services.seals.repair()).toBe(1);
    expect(await t.stores.seals.listUnlogged()).toEqual([]);
    expect(await t.stores.log.findByEventId(`seal.suspended:${s.id}:g1`)).not.toBeNull();
  });

  it('validates input', async () => {
    expect((await create(ADMIN_KEY, { agencyCode: A, name: 'x', kind: 'bogus' })).status).toBe(400);
    expect((await create(ADMIN_KEY, { agencyCode: A, name: 'x', kind: 'official', algorithm: 'HS256' })).status).toBe(400);
    expect((await create(ADMIN_KEY, { agencyCode: withCreditCodeCheck('91330000000000009'), name: 'x', kind: 'official' })).body.code).toBe('UNKNOWN_AGENCY');
    expect((await t.request.get('/v1/seals/seal_../../x').set(auth(ADMIN_KEY))).status).toBe(404);
    expect((await t.request.get('/v1/seals/not-an-id').set(auth(ADMIN_KEY))).body.code).toBe('INVALID_QUERY');
    expect((await t.request.post('/v1/seals/seal_0000000000000000000000000000/suspend').set(auth(ADMIN_KEY))).status).toBe(404);
  });
});
