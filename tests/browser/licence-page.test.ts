import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { withCreditCodeCheck } from '../../src/identifiers';
import { required } from '../helpers/stores';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

/**
 * The QR page (GET /v/{token}) in a real, headless Chromium (the Debian `chromium` package,
 * launched as in verify-page.test.ts): licences issued through POST /v1/licences, one of them
 * revoked through POST /v1/licences/{id}/revoke; the page is opened at the path of each
 * licence's QR URL and read as a person would — the verdict, the status, the seal image actually
 * displayed — with no script and no CSP violation.
 *
 * Skips with a message when Chromium is not installed, unless ESEAL_TEST_REQUIRE includes
 * `chromium` (CI), in which case a missing browser fails.
 */
const CHROMIUM = process.env.ESEAL_CHROMIUM || '/usr/bin/chromium';
const present = fs.existsSync(CHROMIUM);
const mustRun = required('chromium');
if (!present && !mustRun) {
  process.stdout.write(`browser tests skipped: no Chromium at ${CHROMIUM} — apt-get install -y chromium (or set ESEAL_CHROMIUM) to run them\n`);
}
const A = '11330105002500287C';
const HOLDER = withCreditCodeCheck('91330106MA2CFPK53');
const HOLDER_NAME = '杭州云栖数智科技有限公司';
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

if (!present && mustRun) {
  describe('licence QR page in Chromium', () => {
    it('needs Chromium (ESEAL_TEST_REQUIRE includes chromium)', () => {
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set ESEAL_CHROMIUM`);
    });
  });
}

(present ? describe : describe.skip)('licence QR page in Chromium', () => {
  let t: TestApp;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let sealId: string;
  let validPath: string;
  let revokedPath: string;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    server = http.createServer(t.app.express);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
    sealId = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201)).body.id;
    const counter = await t.key(A, ['counter']);
    const issue = async () =>
      (
        await t.request
          .post('/v1/licences')
          .set(auth(counter))
          .send({
            type: 'business-licence',
            sealId,
            holder: { name: HOLDER_NAME, codeType: '001', code: HOLDER },
            data: {
              entityType: '有限责任公司',
              legalRepresentative: '欧阳明辉',
              registeredCapital: '500万元人民币',
              establishedOn: '2019-03-15',
              address: '浙江省杭州市西湖区文三路90号',
              businessScope: '软件开发；信息技术咨询服务。',
              registrationAuthority: '杭州市西湖区市场监督管理局',
            },
            validFrom: '2025-01-01',
            validUntil: null,
          })
          .expect(201)
      ).body as { id: string; qrUrl: string };
    const valid = await issue();
    const revoked = await issue();
    await t.request.post(`/v1/licences/${revoked.id}/revoke`).set(auth(counter)).send({ reason: 'obtained-fraudulently' }).expect(200);
    // The QR URL carries the service's public URL; the test server listens elsewhere.
    validPath = new URL(valid.qrUrl).pathname;
    revokedPath = new URL(revoked.qrUrl).pathname;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t?.close();
  });

  async function open(p: string): Promise<{ page: Page; status: number }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    consoleErrors = [];
    page.on('console', (m) => {
      // The browser asks for /favicon.ico, which the service does not have.
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const res = await page.goto(`${base}${p}`);
    return { page, status: res?.status() ?? 0 };
  }

  it('shows a valid licence as genuine and valid, with the seal image displayed and the holder masked', async () => {
    const { page, status } = await open(validPath);
    expect(status).toBe(200);
    expect(await page.locator('#verdict').getAttribute('data-status')).toBe('valid');
    expect(await page.locator('#verdict').getAttribute('data-genuine')).toBe('true');
    expect(await page.locator('#status').innerText()).toBe('真实有效');
    const text = await page.locator('main').innerText();
    expect(text).toContain('营业执照');
    expect(text).toContain('杭州市西湖区市场监督管理局');
    expect(text).toContain('2025年01月01日 至 长期');
    expect(text).not.toContain(HOLDER_NAME);
    // The seal image loaded under the page's CSP (img-src 'self').
    const img = page.locator('.seal img');
    expect(await img.getAttribute('src')).toBe(`/verify/seals/${sealId}/image`);
    await page.waitForFunction(() => {
      const el = (globalThis as unknown as { document: { querySelector(s: string): { complete: boolean; naturalWidth: number } | null } }).document.querySelector('.seal img');
      return el !== null && el.complete && el.naturalWidth > 0;
    });
    expect(await page.title()).toContain('真实有效');
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('shows a revoked licence as revoked', async () => {
    const { page, status } = await open(revokedPath);
    expect(status).toBe(200);
    expect(await page.locator('#verdict').getAttribute('data-status')).toBe('revoked');
    expect(await page.locator('#status').innerText()).toBe('已撤销');
    expect(await page.locator('main').innerText()).not.toContain('真实有效');
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('shows an altered token as not genuine', async () => {
    const forged = validPath.slice(0, -2) + (validPath.endsWith('A') ? 'BB' : 'AA');
    const { page, status } = await open(forged);
    expect(status).toBe(404);
    expect(await page.locator('#verdict').getAttribute('data-genuine')).toBe('false');
    expect(await page.locator('#verdict strong').innerText()).toBe('未通过核验');
    expect(await page.locator('.seal img').count()).toBe(0);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
