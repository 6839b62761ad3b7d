import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { LICENCE_PAGE_CSP, MAX_TOKEN_LENGTH, publicLicenceRoutes } from '../../src/http/routes/public-licence';
import { mountRoutes } from '../../src/http/route';
import { problemHandler } from '../../src/http/problem';
import type { PublicLicenceView } from '../../src/licences/types';

/**
 * GET /v/{token} through the real route registry and problem mapper, with a fake publicView
 * (the LicenceService's part is tested with it; here: what the page does with what it is given).
 */

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJsaWQiOiJsaWNfMSJ9.c2lnbmF0dXJl';
const REVOKED = 'eyJhbGciOiJFUzI1NiJ9.eyJsaWQiOiJsaWNfMiJ9.c2lnbmF0dXJl';
const HOSTILE = 'eyJhbGciOiJFUzI1NiJ9.eyJsaWQiOiJsaWNfMyJ9.c2lnbmF0dXJl';
const FORGED = 'eyJhbGciOiJFUzI1NiJ9.eyJsaWQiOiJsaWNfOSJ9.Zm9yZ2Vk';

const base: PublicLicenceView = {
  genuine: true,
  status: 'valid',
  licenceName: '营业执照',
  typeCode: '11100000000013338W001',
  identifier: '1.2.156.3005.2.11100000000013338W001.11330105002500287C.2025052201.001.7',
  issuer: { name: '杭州市西湖区市场监督管理局', creditCode: '11330105002500287C' },
  holderName: '杭州**科技有限公司',
  validFrom: '2025-05-22',
  validUntil: null,
  sealId: 'seal_0193abc',
  checkedAt: '2026-11-26T02:00:00.000Z',
};

/** The route alone, mounted as the app mounts it, in front of the problem mapper. */
function appWith(routes: ReturnType<typeof publicLicenceRoutes>) {
  const app = express();
  const logger = pino({ level: 'silent' });
  app.use((_req, res, next) => {
    res.locals.log = logger;
    next();
  });
  const router = express.Router();
  mountRoutes(router, routes, { authenticate: async () => null }, 1024);
  app.use(router);
  app.use(problemHandler(logger));
  return app;
}

function makeApp(opts: { burst?: number; now?: () => number } = {}) {
  const calls: string[] = [];
  const views: Record<string, PublicLicenceView> = {
    [TOKEN]: base,
    [REVOKED]: { ...base, status: 'revoked', revocationReason: '依法吊销营业执照' },
    [HOSTILE]: {
      ...base,
      holderName: '<script>alert(1)</script>"onmouseover="x',
      licenceName: '<img src=x onerror=alert(1)>',
      issuer: { name: '机关\u202Egpj.exe', creditCode: "'><b>" },
      revocationReason: '</td></tr><script>alert(2)</script>',
      status: 'suspended',
      sealId: '../../v1/agencies',
    },
  };
  const routes = publicLicenceRoutes(
    {
      async publicView(token) {
        calls.push(token);
        return views[token] ?? null;
      },
    },
    { limits: { burst: opts.burst ?? 100, perMinute: 60 }, now: opts.now },
  );
  return { app: appWith(routes), calls };
}

describe('GET /v/{token}', () => {
  it('shows a valid licence as HTML with Chinese labels, the seal image and a strict CSP', async () => {
    const { app } = makeApp();
    const res = await request(app).get(`/v/${TOKEN}`).set('Accept', 'text/html');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(res.headers['content-security-policy']).toBe(LICENCE_PAGE_CSP);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).not.toMatch(/script-src/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-robots-tag']).toMatch(/noindex/);
    expect(res.text).toContain('data-status="valid"');
    expect(res.text).toContain('真实有效');
    expect(res.text).toContain('营业执照');
    expect(res.text).toContain('杭州**科技有限公司');
    expect(res.text).toContain('杭州市西湖区市场监督管理局');
    expect(res.text).toContain('2025年05月22日 至 长期');
    expect(res.text).toContain('<img src="/verify/seals/seal_0193abc/image"');
    expect(res.text).not.toMatch(/<script/i);
  });

  it('defaults to HTML for a browser-like or missing Accept header', async () => {
    const { app } = makeApp();
    const res = await request(app).get(`/v/${TOKEN}`).set('Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const bare = await request(app).get(`/v/${TOKEN}`);
    expect(bare.headers['content-type']).toMatch(/^text\/html/);
  });

  it('answers JSON with Accept: application/json: exactly what publicView gave', async () => {
    const { app } = makeApp();
    const res = await request(app).get(`/v/${REVOKED}`).set('Accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers.vary).toMatch(/Accept/);
    expect(res.body).toEqual({ ...base, status: 'revoked', revocationReason: '依法吊销营业执照' });
  });

  it('shows a revoked licence as revoked, with the reason', async () => {
    const { app } = makeApp();
    const res = await request(app).get(`/v/${REVOKED}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('data-status="revoked"');
    expect(res.text).toContain('已撤销');
    expect(res.text).toContain('依法吊销营业执照');
    expect(res.text).not.toContain('真实有效');
  });

  it("shows the service's revocation reason codes in words", async () => {
    const app = appWith(publicLicenceRoutes({ publicView: async () => ({ ...base, status: 'revoked', revocationReason: 'superseded' }) }));
    const res = await request(app).get(`/v/${TOKEN}`);
    expect(res.text).toContain('已换发新版证照');
    expect(res.text).not.toContain('>superseded<');
  });

  it('escapes every value from the view (names, reasons, ids) and drops an unsafe seal id', async () => {
    const { app } = makeApp();
    const res = await request(app).get(`/v/${HOSTILE}`);
    expect(res.status).toBe(200);
    expect(res.text).not.toMatch(/<script/i);
    expect(res.text).not.toContain('<img src=x');
    expect(res.text).not.toContain('<b>');
    expect(res.text).not.toContain('"onmouseover="');
    expect(res.text).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    // The bidi override is made visible, not obeyed.
    expect(res.text).not.toContain('\u202E');
    expect(res.text).toContain('\\u202E');
    // A seal id that is not an id never becomes an <img src>.
    expect(res.text).not.toContain('/verify/seals/');
    expect(res.text).toContain('data-status="suspended"');
    expect(res.text).toContain('已暂停');
  });

  it('says NOT genuine for an unknown or forged token: 404 page for HTML, LICENCE_NOT_GENUINE problem for JSON', async () => {
    const { app } = makeApp();
    const html = await request(app).get(`/v/${FORGED}`).set('Accept', 'text/html');
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toBe(LICENCE_PAGE_CSP);
    expect(html.text).toContain('data-genuine="false"');
    expect(html.text).toContain('未通过核验');
    expect(html.text).not.toContain('真实有效');
    const json = await request(app).get(`/v/${FORGED}`).set('Accept', 'application/json');
    expect(json.status).toBe(404);
    expect(json.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(json.body.code).toBe('LICENCE_NOT_GENUINE');
  });

  it('shows a view with genuine=false as not genuine, whatever its status says', async () => {
    const app = appWith(publicLicenceRoutes({ publicView: async () => ({ ...base, genuine: false, status: 'valid' }) }));
    const res = await request(app).get(`/v/${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('data-genuine="false"');
    expect(res.text).toContain('未通过核验');
    expect(res.text).not.toContain('真实有效');
    expect(res.text).not.toContain('/verify/seals/');
    const json = await request(app).get(`/v/${TOKEN}`).set('Accept', 'application/json');
    expect(json.status).toBe(200);
    expect(json.body.genuine).toBe(false);
  });

  it.each([
    ['not a JWS', 'hello'],
    ['four parts', 'a.b.c.d'],
    ['bad characters', 'a.b.c%3Cscript%3E'],
    ['too long', 'a.' + 'b'.repeat(MAX_TOKEN_LENGTH) + '.c'],
  ])('treats a malformed token (%s) as not genuine without asking the service', async (_name, token) => {
    const { app, calls } = makeApp();
    const res = await request(app).get(`/v/${token}`).set('Accept', 'application/json');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('LICENCE_NOT_GENUINE');
    expect(calls).toEqual([]);
  });

  it('refuses an Accept it cannot serve with 406, and query parameters with 400', async () => {
    const { app } = makeApp();
    const res = await request(app).get(`/v/${TOKEN}`).set('Accept', 'application/pdf');
    expect(res.status).toBe(406);
    expect(res.body.code).toBe('NOT_ACCEPTABLE');
    const q = await request(app).get(`/v/${TOKEN}?x=1`);
    expect(q.status).toBe(400);
    expect(q.body.code).toBe('INVALID_QUERY');
  });

  it('rate-limits per client address: 429 RATE_LIMITED with Retry-After, then recovers', async () => {
    let now = 1_000_000;
    const { app, calls } = makeApp({ burst: 3, now: () => now });
    for (let i = 0; i < 3; i++) expect((await request(app).get(`/v/${TOKEN}`)).status).toBe(200);
    const limited = await request(app).get(`/v/${TOKEN}`).set('Accept', 'application/json');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Forged tokens spend tokens too: the page is no free oracle.
    expect((await request(app).get(`/v/${FORGED}`)).status).toBe(429);
    expect(calls).toHaveLength(3);
    now += 2000; // one token per second at 60 a minute
    expect((await request(app).get(`/v/${TOKEN}`)).status).toBe(200);
  });
});
