import { withCreditCodeCheck } from '../../src/identifiers';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  for (const [code, name] of [
    [A, '杭州市西湖区市场监督管理局'],
    [B, '浙江省人力资源和社会保障厅'],
  ]) {
    await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code, name }).expect(201);
  }
});
afterAll(() => t.close());

function expectProblem(res: { status: number; headers: Record<string, string>; body: { code: string; status: number } }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe(code);
  expect(res.body.status).toBe(status);
}

describe('operations endpoints', () => {
  it('healthz, readyz, metrics, openapi, docs', async () => {
    await t.request.get('/healthz').expect(200, { status: 'ok' });
    expect((await t.request.get('/readyz').expect(200)).body).toEqual({ status: 'ready', store: 'sqlite' });
    const metrics = await t.request.get('/metrics').expect(200);
    expect(metrics.text).toContain('eseal_http_requests_total');
    const doc = (await t.request.get('/openapi.json').expect(200)).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v1/agencies'].post.requestBody.content['application/json'].schema.properties.code).toBeDefined();
    expect(doc.paths['/v1/agencies'].post.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect((await t.request.get('/docs').expect(200)).text).toContain('/openapi.json');
  });

  it('echoes a request id on every response and in problems', async () => {
    const res = await t.request.get('/v1/agencies').set('X-Request-Id', 'trace-123');
    expect(res.headers['x-request-id']).toBe('trace-123');
    expect(res.body.requestId).toBe('trace-123');
    const generated = await t.request.get('/nope');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.body.requestId).toBe(generated.headers['x-request-id']);
  });
});

describe('agencies', () => {
  it('validates the credit code check character (GB 32100)', async () => {
    const res = await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: '11330105002500287D', name: 'x' });
    expectProblem(res, 400, 'INVALID_CREDIT_CODE');
    expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/code', code: 'CREDIT_CODE_CHECK_DIGIT' })]);
    expectProblem(await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: '1133010500250028IC', name: 'x' }), 400, 'INVALID_CREDIT_CODE');
    expectProblem(await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: '113301050025', name: 'x' }), 400, 'INVALID_CREDIT_CODE');
  });

  it('refuses a duplicate with 409', async () => {
    expectProblem(await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: 'again' }), 409, 'DUPLICATE');
  });

  it('reads one and lists with pagination', async () => {
    expect((await t.request.get(`/v1/agencies/${A}`).set(auth(ADMIN_KEY)).expect(200)).body.name).toBe('杭州市西湖区市场监督管理局');
    expectProblem(await t.request.get(`/v1/agencies/${withCreditCodeCheck('91330000000000001')}`).set(auth(ADMIN_KEY)), 404, 'NOT_FOUND');
    const p1 = (await t.request.get('/v1/agencies?limit=1').set(auth(ADMIN_KEY)).expect(200)).body;
    expect(p1.items).toHaveLength(1);
    const p2 = (await t.request.get(`/v1/agencies?limit=1&cursor=${p1.nextCursor}`).set(auth(ADMIN_KEY)).expect(200)).body;
    expect(p2.items[0].code).not.toBe(p1.items[0].code);
  });
});

describe('auth and roles', () => {
  it('needs a valid key', async () => {
    expectProblem(await t.request.get('/v1/agencies'), 401, 'UNAUTHENTICATED');
    expectProblem(await t.request.get('/v1/agencies').set(auth('es_unknownkeyunknownkeyunknownkeyunknown')), 401, 'UNAUTHENTICATED');
    expectProblem(await t.request.get('/v1/agencies').set('Authorization', 'Basic abc'), 401, 'UNAUTHENTICATED');
  });

  it('a verifier key cannot create agencies or API keys', async () => {
    const verifier = await t.key(A, ['verifier']);
    expectProblem(
      await t.request.post('/v1/agencies').set(auth(verifier)).send({ code: withCreditCodeCheck('11330100000000001'), name: 'x' }),
      403,
      'FORBIDDEN_ROLE',
    );
    expectProblem(await t.request.post('/v1/api-keys').set(auth(verifier)).send({ agencyCode: A, roles: ['admin'], label: 'x' }), 403, 'FORBIDDEN_ROLE');
    // Platform keys without the admin role are no better.
    const platformVerifier = await t.key(null, ['verifier']);
    expectProblem(await t.request.post('/v1/api-keys').set(auth(platformVerifier)).send({ agencyCode: null, roles: ['admin'], label: 'x' }), 403, 'FORBIDDEN_ROLE');
  });

  it("an agency admin cannot register agencies, or see or make agency B's keys", async () => {
    const adminA = await t.key(A, ['admin']);
    expectProblem(
      await t.request.post('/v1/agencies').set(auth(adminA)).send({ code: withCreditCodeCheck('11330100000000002'), name: 'x' }),
      403,
      'FORBIDDEN_AGENCY',
    );
    await t.key(B, ['signer']);
    expectProblem(await t.request.get(`/v1/api-keys?agencyCode=${B}`).set(auth(adminA)), 403, 'FORBIDDEN_AGENCY');
    expectProblem(await t.request.post('/v1/api-keys').set(auth(adminA)).send({ agencyCode: B, roles: ['signer'], label: 'x' }), 403, 'FORBIDDEN_AGENCY');
    expectProblem(await t.request.post('/v1/api-keys').set(auth(adminA)).send({ agencyCode: null, roles: ['admin'], label: 'x' }), 403, 'FORBIDDEN_AGENCY');
    const own = (await t.request.get('/v1/api-keys').set(auth(adminA)).expect(200)).body.items;
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((k: { agencyCode: string }) => k.agencyCode === A)).toBe(true);
    // A non-admin key of agency A cannot list keys at all.
    const counterA = await t.key(A, ['counter']);
    expectProblem(await t.request.get(`/v1/api-keys?agencyCode=${B}`).set(auth(counterA)), 403, 'FORBIDDEN_ROLE');
  });

  it('creates a key shown once, stored only as a hash, usable until revoked', async () => {
    const res = await t.request.post('/v1/api-keys').set(auth(ADMIN_KEY)).send({ agencyCode: A, roles: ['signer', 'counter'], label: 'counter 3' }).expect(201);
    expect(res.body.key).toMatch(/^es_[A-Za-z0-9_-]{43}$/);
    expect(res.body.keyHash).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    const stored = await t.stores.apiKeys.get(res.body.id);
    expect(JSON.stringify(stored)).not.toContain(res.body.key);
    const listed = (await t.request.get(`/v1/api-keys?agencyCode=${A}&limit=500`).set(auth(ADMIN_KEY)).expect(200)).body.items;
    expect(JSON.stringify(listed)).not.toContain(res.body.key);
    expect(JSON.stringify(listed)).not.toContain(stored!.keyHash);
    await t.request.get('/v1/agencies').set(auth(res.body.key)).expect(200);
    await t.request.post(`/v1/api-keys/${res.body.id}/revoke`).set(auth(ADMIN_KEY)).expect(200);
    expectProblem(await t.request.post(`/v1/api-keys/${res.body.id}/revoke`).set(auth(ADMIN_KEY)), 409, 'ALREADY_REVOKED');
    expectProblem(await t.request.get('/v1/agencies').set(auth(res.body.key)), 401, 'UNAUTHENTICATED');
  });

  it('refuses a key for an unknown agency', async () => {
    expectProblem(
      await t.request.post('/v1/api-keys').set(auth(ADMIN_KEY)).send({ agencyCode: withCreditCodeCheck('91330000000000009'), roles: ['signer'], label: 'x' }),
      422,
      'UNKNOWN_AGENCY',
    );
  });
});

describe('bad input never gets a 500 and the process keeps serving', () => {
  const cases: [string, () => Promise<{ status: number; headers: Record<string, string>; body: { code: string; status: number } }>, number, string][] = [
    ['malformed JSON', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).set('Content-Type', 'application/json').send('{"code":'), 400, 'MALFORMED_JSON'],
    ['10 MB JSON body', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).set('Content-Type', 'application/json').send(`{"name":"${'x'.repeat(10 * 1024 * 1024)}"}`), 413, 'PAYLOAD_TOO_LARGE'],
    ['wrong content type', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).set('Content-Type', 'text/plain').send('code=1'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['no content type', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['unknown field', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: 'x', admin: true }), 400, 'VALIDATION_FAILED'],
    ['missing field', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ name: 'x' }), 400, 'VALIDATION_FAILED'],
    ['wrong type', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: 18, name: 'x' }), 400, 'VALIDATION_FAILED'],
    ['operator injection', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: { $gt: '' }, name: 'x' }), 400, 'VALIDATION_FAILED'],
    ['array body', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send([1, 2]), 400, 'VALIDATION_FAILED'],
    ['JSON null body', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).set('Content-Type', 'application/json').send('null'), 400, 'VALIDATION_FAILED'],
    ['invalid credit code', () => t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: '11330105002500287c', name: 'x' }), 400, 'INVALID_CREDIT_CODE'],
    ['unknown role', () => t.request.post('/v1/api-keys').set(auth(ADMIN_KEY)).send({ agencyCode: A, roles: ['root'], label: 'x' }), 400, 'VALIDATION_FAILED'],
    ['bad limit', () => t.request.get('/v1/agencies?limit=0').set(auth(ADMIN_KEY)), 400, 'INVALID_QUERY'],
    ['unknown query parameter', () => t.request.get('/v1/agencies?where=1').set(auth(ADMIN_KEY)), 400, 'INVALID_QUERY'],
    ['bad cursor', () => t.request.get('/v1/agencies?cursor=%7B%7D').set(auth(ADMIN_KEY)), 400, 'INVALID_QUERY'],
    ['path traversal id', () => t.request.post('/v1/api-keys/..%2F..%2Fetc%2Fpasswd/revoke').set(auth(ADMIN_KEY)), 400, 'INVALID_QUERY'],
    ['unknown route', () => t.request.get('/v1/nothing'), 404, 'ROUTE_NOT_FOUND'],
    ['wrong method', () => t.request.put('/v1/agencies'), 405, 'METHOD_NOT_ALLOWED'],
  ];
  it.each(cases)('%s', async (_name, send, status, code) => {
    const res = await send();
    expectProblem(res, status, code);
    await t.request.get('/healthz').expect(200);
  });

  it('the problem lists each bad field with a JSON Pointer', async () => {
    const res = await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ name: 7, extra: 1 });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    expect(pointers).toEqual(['/code', '/extra', '/name']);
  });
});
