import { withCreditCodeCheck } from '../../src/identifiers';
import { buildPdf } from '../unit/pdf/fixtures';
import { ROLES, type Role } from '../../src/store';
import type { RouteSpec } from '../../src/http/route';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

/**
 * API abuse over the WHOLE route registry (routes added later are covered without editing this
 * file): for every route, unauthenticated calls, every role, hostile path parameters, NoSQL
 * operator injection in bodies and queries, malformed JSON, wrong content types and oversized
 * bodies. The property everywhere: a 2xx or a 4xx problem+json with a code — never a 5xx.
 * Then an authorization matrix for agency-owned resources: every role of agency A against
 * agency B's agency, seals, certificates, API keys and signing — never a 2xx.
 */
const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

let t: TestApp;
const keysA = new Map<Role, string>();
let sealB: string;
let certB: string;
let keyBId: string;
let licenceB: string;
let recordB: string;
const counts = { requests: 0, routes: 0 };
const licenceRequest = () => ({
  type: 'business-licence',
  holder: { name: '杭州云栖数据科技有限公司', codeType: '001', code: withCreditCodeCheck('91330106MA2CFPK53') },
  data: { entityType: '有限责任公司', legalRepresentative: '王建国', registeredCapital: '500万元人民币', establishedOn: '2019-03-15', address: '浙江省杭州市西湖区文三路90号', businessScope: '软件开发', registrationAuthority: '杭州市西湖区市场监督管理局' },
  validFrom: '2025-01-01',
  validUntil: null,
});

beforeAll(async () => {
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: B, name: '浙江省人力资源和社会保障厅' }).expect(201);
  for (const r of ROLES) keysA.set(r, await t.key(A, [r]));
  const seal = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: B, name: '公章', kind: 'official' }).expect(201)).body;
  sealB = seal.id;
  certB = seal.certificateSerial;
  keyBId = (await t.request.post('/v1/api-keys').set(auth(ADMIN_KEY)).send({ agencyCode: B, roles: ['signer'], label: 'b' }).expect(201)).body.id;
  // A licence and an archive record of B.
  const counterB = await t.key(B, ['counter']);
  licenceB = (
    await t.request
      .post('/v1/licences?pdf=false')
      .set(auth(counterB))
      .send({ ...licenceRequest(), sealId: sealB })
      .expect(201)
  ).body.id;
  const signerB = await t.key(B, ['signer']);
  const signedB = (await t.request.post(`/v1/signatures?sealId=${sealB}&format=pades&level=B-T`).set(auth(signerB)).set('Content-Type', 'application/pdf').send(buildPdf({ pages: 1 })).buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  }).expect(200)).body as Buffer;
  const meta = { title: '关于同意设立某某有限公司的批复', responsibleAgency: '浙江省人力资源和社会保障厅', date: '2026-03-15', documentNumber: '浙人社〔2026〕1号', retention: 'permanent', classification: 'public', fonds: 'J002', series: 'XZXK', recordType: 'reply', fileName: 'reply.pdf' };
  const archivistB = await t.key(B, ['archivist']);
  recordB = (await t.request.post(`/v1/archive/records?${new URLSearchParams(meta).toString()}`).set(auth(archivistB)).set('Content-Type', 'application/pdf').send(signedB).expect(201)).body.id;
}, 120_000);
afterAll(async () => {
  process.stdout.write(`api abuse: ${counts.routes} routes, ${counts.requests} requests, no 5xx\n`);
  await t.close();
});

const HOSTILE_PARAMS = ['..%2F..%2Fetc%2Fpasswd', '%00', 'a'.repeat(5000), encodeURIComponent('{"$gt":""}'), '%E2%80%AE', "1'%20OR%20'1'='1", '%2e%2e'];

function fill(path: string, value: string): string {
  return path.replace(/\{\*?[a-zA-Z]+\}/g, value);
}

interface Sent {
  status: number;
  type?: string;
  code?: string;
}
async function send(spec: RouteSpec, path: string, opts: { key?: string; body?: unknown; type?: string; raw?: Buffer } = {}): Promise<Sent> {
  // As an API client: problems must then be application/problem+json (pages answer browsers in HTML).
  let req = t.request[spec.method](path).set('Accept', 'application/json');
  if (opts.key) req = req.set(auth(opts.key));
  if (opts.type) req = req.set('Content-Type', opts.type);
  if (opts.raw !== undefined) req = req.send(opts.raw);
  else if (opts.body !== undefined) req = req.send(opts.body as object);
  const res = await req;
  counts.requests++;
  return { status: res.status, type: res.headers['content-type'], code: res.body?.code };
}
function expectNo5xx(r: Sent, what: string): void {
  if (r.status >= 500) throw new Error(`${what}: ${r.status} ${r.code ?? ''}`);
  if (r.status >= 400) {
    expect(`${what}: ${r.type}`).toMatch(/application\/problem\+json/);
    expect(typeof r.code).toBe('string');
  }
}

/** A JSON object with every top-level property of the schema set to a Mongo operator. */
function injectedBody(spec: RouteSpec): Record<string, unknown> {
  const props = (spec.body?.schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const out: Record<string, unknown> = { $where: 'sleep(1000)' };
  for (const k of Object.keys(props)) out[k] = { $gt: '' };
  return out;
}

describe('every route: hostile input is a 4xx problem, never a 5xx', () => {
  it('walks the registry', async () => {
    const routes = t.app.routes;
    counts.routes = routes.length;
    expect(routes.length).toBeGreaterThan(30);
    for (const spec of routes) {
      const name = `${spec.method.toUpperCase()} ${spec.path}`;
      const path = fill(spec.path, 'x1');
      // Unauthenticated.
      if (spec.access !== 'public') {
        const r = await send(spec, path);
        expect(`${name} → ${r.status}`).toBe(`${name} → 401`);
      }
      // Each role of agency A: a role outside the route's list is refused with 403.
      for (const role of ROLES) {
        const r = await send(spec, path, { key: keysA.get(role) });
        expectNo5xx(r, `${name} as ${role}`);
        if (Array.isArray(spec.access) && !spec.access.includes(role)) expect(`${name} as ${role} → ${r.status}`).toBe(`${name} as ${role} → 403`);
      }
      // Hostile path parameters.
      if (spec.path.includes('{')) {
        for (const p of HOSTILE_PARAMS) expectNo5xx(await send(spec, fill(spec.path, p), { key: ADMIN_KEY }), `${name} with param ${p.slice(0, 20)}`);
      }
      // Hostile queries.
      for (const q of ['?$where=1', '?limit[$gt]=', '?cursor=%00%00', `?limit=${'9'.repeat(400)}`, '?a=1&a=2&a=3']) {
        expectNo5xx(await send(spec, path + q, { key: ADMIN_KEY }), `${name}${q}`);
      }
      if (spec.method === 'get') continue;
      // Bodies: operator injection, wrong shapes, malformed JSON, wrong content types.
      const bodies: { body?: unknown; raw?: Buffer; type?: string; what: string }[] = [
        { body: injectedBody(spec), what: 'operator injection' },
        { body: [{ $gt: '' }], what: 'array' },
        { raw: Buffer.from('{"a":'), type: 'application/json', what: 'malformed JSON' },
        { raw: Buffer.from('"just a string"'), type: 'application/json', what: 'JSON string' },
        { raw: Buffer.from('<x/>'), type: 'text/xml', what: 'wrong type' },
        { raw: Buffer.from('%PDF-1.7\n%%EOF'), type: 'application/pdf', what: 'broken PDF' },
        { raw: Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), type: 'application/ocsp-request', what: 'DER with a huge length' },
        { raw: Buffer.from('--x\r\nContent-Disposition: form-data; name="file"\r\n\r\n'), type: 'multipart/form-data; boundary=x', what: 'truncated multipart' },
      ];
      for (const b of bodies) expectNo5xx(await send(spec, path, { key: ADMIN_KEY, ...b }), `${name} ${b.what}`);
      // Oversized: just over the route's limit (skipped for limits over 2 MiB, covered by their own suites).
      const limit = spec.body?.limit ?? spec.raw?.limit;
      if (limit !== undefined && limit <= 2 << 20) {
        const type = spec.raw ? spec.raw.contentTypes[0]! : 'application/json';
        const big = spec.raw ? Buffer.alloc(limit + 1, 0x41) : Buffer.from(JSON.stringify({ pad: 'x'.repeat(limit) }));
        const r = await send(spec, path, { key: ADMIN_KEY, raw: big, type });
        expectNo5xx(r, `${name} oversized`);
        expect(`${name} oversized → ${r.status}`).toMatch(/→ 4\d\d$/);
      }
    }
  }, 300_000);
});

describe("authorization matrix: agency A's keys against agency B's resources", () => {
  const pdf = buildPdf({ pages: 1 });
  const cases: { what: string; method: 'get' | 'post'; path: () => string; body?: () => unknown; raw?: () => { type: string; data: Buffer } }[] = [
    { what: 'read B’s seal', method: 'get', path: () => `/v1/seals/${sealB}` },
    { what: 'B’s seal image (API)', method: 'get', path: () => `/v1/seals/${sealB}/image` },
    { what: 'B’s seal certificate', method: 'get', path: () => `/v1/seals/${sealB}/certificate` },
    { what: 'list B’s seals', method: 'get', path: () => `/v1/seals?agencyCode=${B}` },
    { what: 'suspend B’s seal', method: 'post', path: () => `/v1/seals/${sealB}/suspend` },
    { what: 'reinstate B’s seal', method: 'post', path: () => `/v1/seals/${sealB}/reinstate` },
    { what: 'revoke B’s seal', method: 'post', path: () => `/v1/seals/${sealB}/revoke` },
    { what: 'create a seal for B', method: 'post', path: () => '/v1/seals', body: () => ({ agencyCode: B, name: 'x', kind: 'official' }) },
    { what: 'revoke B’s certificate', method: 'post', path: () => `/v1/pki/certificates/${certB}/revoke`, body: () => ({ reason: 'keyCompromise' }) },
    { what: 'create a key for B', method: 'post', path: () => '/v1/api-keys', body: () => ({ agencyCode: B, roles: ['signer'], label: 'x' }) },
    { what: 'revoke B’s key', method: 'post', path: () => `/v1/api-keys/${keyBId}/revoke` },
    { what: 'sign with B’s seal', method: 'post', path: () => `/v1/signatures?sealId=${sealB}&format=pades&level=B-B`, raw: () => ({ type: 'application/pdf', data: pdf }) },
    { what: 'read B’s licence', method: 'get', path: () => `/v1/licences/${licenceB}` },
    { what: 'B’s licence credential', method: 'get', path: () => `/v1/licences/${licenceB}/credential` },
    { what: 'suspend B’s licence', method: 'post', path: () => `/v1/licences/${licenceB}/suspend` },
    { what: 'revoke B’s licence', method: 'post', path: () => `/v1/licences/${licenceB}/revoke`, body: () => ({ reason: 'holder-request' }) },
    { what: 'renew B’s licence', method: 'post', path: () => `/v1/licences/${licenceB}/renew`, body: () => ({}) },
    { what: 'annotated copy of B’s licence', method: 'post', path: () => `/v1/licences/${licenceB}/annotated-copies`, body: () => ({ purpose: '银行开户', requester: '中国工商银行杭州分行', expiresAt: '2099-12-31' }) },
    { what: 'issue with B’s seal', method: 'post', path: () => '/v1/licences?pdf=false', body: () => ({ ...licenceRequest(), sealId: sealB }) },
    { what: 'read B’s archive record', method: 'get', path: () => `/v1/archive/records/${recordB}` },
    { what: 'export B’s archive package', method: 'get', path: () => `/v1/archive/records/${recordB}/package` },
    { what: 'B’s evidence record', method: 'get', path: () => `/v1/archive/records/${recordB}/evidence` },
    { what: 'reverify B’s record', method: 'post', path: () => `/v1/archive/records/${recordB}/reverify` },
    { what: 'hold B’s record', method: 'post', path: () => `/v1/archive/records/${recordB}/hold`, body: () => ({ reason: 'x' }) },
    { what: 'dispose of B’s record', method: 'post', path: () => `/v1/archive/records/${recordB}/dispose`, body: () => ({ reason: 'x' }) },
    { what: 'register an agency', method: 'post', path: () => '/v1/agencies', body: () => ({ code: withCreditCodeCheck('12330000002482099'.slice(0, 17)), name: 'x' }) },
  ];
  it.each(ROLES.flatMap((role) => cases.map((c) => [role, c.what, c] as const)))('%s of A: %s → refused', async (role, _what, c) => {
    let req = t.request[c.method](c.path()).set(auth(keysA.get(role)!));
    if (c.raw) req = req.set('Content-Type', c.raw().type).send(c.raw().data);
    else if (c.body) req = req.send(c.body() as object);
    const res = await req;
    counts.requests++;
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect([403, 404]).toContain(res.status);
  });

  it('B’s seal is still active and B’s key still works after all that', async () => {
    expect((await t.request.get(`/v1/seals/${sealB}`).set(auth(ADMIN_KEY)).expect(200)).body.status).toBe('active');
    const keys = (await t.request.get(`/v1/api-keys?agencyCode=${B}`).set(auth(ADMIN_KEY)).expect(200)).body.items as { id: string; revokedAt?: string | null }[];
    expect(keys.find((k) => k.id === keyBId)?.revokedAt ?? null).toBeNull();
    expect((await t.request.get(`/v1/licences/${licenceB}`).set(auth(ADMIN_KEY)).expect(200)).body.status).toBe('valid');
    const rec = (await t.request.get(`/v1/archive/records/${recordB}`).set(auth(ADMIN_KEY)).expect(200)).body;
    expect(rec.legalHold ?? false).toBe(false);
    expect(rec.status).not.toBe('disposed');
  });
});
