import { withCreditCodeCheck } from '../../src/identifiers';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

/**
 * The verification engine takes e-licences in all three forms — the sealed PDF, the credential
 * (vc+jwt) and the QR token — and reports the licence's current status beside the signature
 * verdict: a valid signature on a revoked licence is still a valid signature, and the report
 * says the licence is revoked.
 */
const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });
const binary = (res: import('supertest').Response, cb: (e: Error | null, body: unknown) => void) => {
  const chunks: Buffer[] = [];
  const stream = res as unknown as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => cb(null, Buffer.concat(chunks)));
};

let t: TestApp;
let counterA: string;
let verifierB: string;
let licence: { id: string; identifier: string; qrUrl: string };
let pdf: Buffer;
let credential: string;
let token: string;

beforeAll(async () => {
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: B, name: '浙江省人力资源和社会保障厅' }).expect(201);
  counterA = await t.key(A, ['counter']);
  verifierB = await t.key(B, ['verifier']);
  const sealId = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201)).body.id;
  licence = (
    await t.request
      .post('/v1/licences')
      .set(auth(counterA))
      .send({
        type: 'business-licence',
        sealId,
        holder: { name: '杭州云栖数据科技有限公司', codeType: '001', code: withCreditCodeCheck('91330106MA2CFPK53') },
        data: { entityType: '有限责任公司', legalRepresentative: '王建国', registeredCapital: '500万元人民币', establishedOn: '2019-03-15', address: '浙江省杭州市西湖区文三路90号', businessScope: '软件开发；信息技术咨询服务。', registrationAuthority: '杭州市西湖区市场监督管理局' },
        validFrom: '2025-01-01',
        validUntil: null,
      })
      .expect(201)
  ).body;
  pdf = (await t.request.get(`/v1/licences/${licence.id}/pdf`).set(auth(counterA)).buffer(true).parse(binary).expect(200)).body as Buffer;
  credential = (await t.request.get(`/v1/licences/${licence.id}/credential`).set(auth(counterA)).buffer(true).parse(binary).expect(200)).body.toString('utf8').trim();
  token = licence.qrUrl.split('/v/')[1]!;
}, 60_000);
afterAll(() => t.close());

const verify = (body: Buffer | string, type: string, accept = 'application/json') =>
  t.request.post('/v1/verifications').set(auth(verifierB)).set('Content-Type', type).set('Accept', accept).send(Buffer.isBuffer(body) ? body : Buffer.from(body));

describe('licences through the verification engine', () => {
  it('a sealed licence PDF: PAdES verdict plus the licence and its status', async () => {
    const r = (await verify(pdf, 'application/pdf').expect(200)).body;
    expect(r.indication).toBe('TOTAL_PASSED');
    expect(r.licence).toMatchObject({ source: 'pdf', status: 'valid', identifier: licence.identifier, licenceName: '营业执照', issuer: { creditCode: A } });
    expect(r.licence.holderName).not.toBe('杭州云栖数据科技有限公司'); // masked
  });

  it('the credential (application/vc+jwt) and the QR token (application/jwt)', async () => {
    const c = (await verify(credential, 'application/vc+jwt').expect(200)).body;
    expect([c.indication, c.document.kind, c.signatures[0].format]).toEqual(['TOTAL_PASSED', 'licence-credential', 'JWS']);
    expect(c.licence).toMatchObject({ source: 'credential', signatureValid: true, status: 'valid', identifier: licence.identifier });
    const q = (await verify(token, 'application/jwt').expect(200)).body;
    expect([q.indication, q.document.kind]).toEqual(['TOTAL_PASSED', 'licence-token']);
    expect(q.licence).toMatchObject({ source: 'token', status: 'valid', identifier: licence.identifier });
  });

  it('a tampered credential is SIG_CRYPTO_FAILURE; garbage is FORMAT_FAILURE; neither names a licence', async () => {
    const [h, p, s] = credential.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.credentialSubject.licence.identifier = payload.credentialSubject.licence.identifier.replace(/.$/, 'X');
    const forged = [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
    const f = (await verify(forged, 'application/vc+jwt').expect(200)).body;
    expect([f.indication, f.subIndication, f.licence.status]).toEqual(['TOTAL_FAILED', 'SIG_CRYPTO_FAILURE', 'unknown']);
    const g = (await verify('not a token', 'application/jwt').expect(200)).body;
    expect([g.indication, g.subIndication]).toEqual(['TOTAL_FAILED', 'FORMAT_FAILURE']);
    expect((await verify('', 'application/jwt')).status).toBe(400);
    expect((await verify('x'.repeat(100 * 1024), 'application/jwt')).status).toBe(413);
  });

  it('after revocation all three forms say revoked at once (the signatures stay valid), also in the HTML report', async () => {
    await t.request.post(`/v1/licences/${licence.id}/revoke`).set(auth(counterA)).send({ reason: 'holder-request' }).expect(200);
    const r = (await verify(pdf, 'application/pdf').expect(200)).body;
    const c = (await verify(credential, 'application/vc+jwt').expect(200)).body;
    const q = (await verify(token, 'application/jwt').expect(200)).body;
    expect([r.licence.status, c.licence.status, q.licence.status]).toEqual(['revoked', 'revoked', 'revoked']);
    expect([r.indication, c.indication, q.indication]).toEqual(['TOTAL_PASSED', 'TOTAL_PASSED', 'TOTAL_PASSED']);
    const html = (await verify(pdf, 'application/pdf', 'text/html').expect(200)).text;
    expect(html).toContain('已注销 revoked');
    expect(html).toContain(licence.identifier);
  });
});
