import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { required, tmpDir } from '../helpers/stores';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * The drop-a-PDF page (GET /verify) in a real, headless Chromium: the Debian `chromium` package
 * (never a downloaded browser build), driven by playwright-core. A PDF signed through the API is
 * uploaded through the page's file input and the page shows TOTAL_PASSED; a tampered copy shows
 * TOTAL_FAILED. Also: the same by drag and drop, and with script disabled (plain form post).
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
const auth = { Authorization: `Bearer ${ADMIN_KEY}` };

if (!present && mustRun) {
  describe('verify page in Chromium', () => {
    it('needs Chromium (ESEAL_TEST_REQUIRE includes chromium)', () => {
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set ESEAL_CHROMIUM`);
    });
  });
}

(present ? describe : describe.skip)('verify page in Chromium', () => {
  let t: TestApp;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let work: string;
  let signedFile: string;
  let tamperedFile: string;
  let signed: Buffer;
  /**
   * Console errors and uncaught exceptions of the page opened last (a CSP violation of the page's
   * own script or style is one). Resource loads are not: the seal image URL in a report points at
   * the service's public URL and needs an API key, and the browser asks for /favicon.ico.
   */
  let consoleErrors: string[] = [];
  const ignorable = (text: string) => /^Failed to load resource|^Loading the image /.test(text);

  beforeAll(async () => {
    t = await startTestApp();
    server = http.createServer(t.app.express);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    work = tmpDir('eseal-browser-');

    await t.request.post('/v1/agencies').set(auth).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
    const sealId = (await t.request.post('/v1/seals').set(auth).send({ agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201)).body.id;
    const signer = await t.key(A, ['signer']);
    const res = await fetch(`${base}/v1/signatures?sealId=${sealId}&format=pades&level=B-T`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${signer}`, 'Content-Type': 'application/pdf' },
      body: buildPdf({ pages: 1 }),
    });
    expect(res.status).toBe(200);
    signed = Buffer.from(await res.arrayBuffer());
    const at = signed.indexOf('(Page 1)');
    const tampered = Buffer.from(signed);
    tampered.write('(Page 9)', at, 'latin1');
    signedFile = path.join(work, 'signed.pdf');
    tamperedFile = path.join(work, 'tampered.pdf');
    fs.writeFileSync(signedFile, signed);
    fs.writeFileSync(tamperedFile, tampered);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  async function open(javaScriptEnabled = true): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    consoleErrors = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !ignorable(m.text())) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(`${base}/verify`);
    return page;
  }

  it('uploading a signed PDF through the file input shows TOTAL_PASSED on the page', async () => {
    const page = await open();
    await page.setInputFiles('#document', signedFile);
    await page.click('#verify');
    const indication = page.locator('#result #indication');
    await indication.waitFor({ timeout: 30_000 });
    expect(await indication.textContent()).toBe('TOTAL_PASSED');
    expect(page.url()).toBe(`${base}/verify`);
    const body = await page.locator('#result').innerText();
    expect(body).toContain(A);
    expect(body).toContain('Claimed signing time');
    // The page's own script ran under its CSP; nothing was blocked or thrown.
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('uploading a tampered copy shows TOTAL_FAILED', async () => {
    const page = await open();
    await page.setInputFiles('#document', tamperedFile);
    await page.click('#verify');
    const indication = page.locator('#result #indication');
    await indication.waitFor({ timeout: 30_000 });
    expect(await indication.textContent()).toBe('TOTAL_FAILED');
    expect(await page.locator('#result section.sig').first().getAttribute('data-indication')).toBe('TOTAL_FAILED');
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('dropping the file on the drop zone verifies it', async () => {
    const page = await open();
    // Runs in the page: the DOM's DataTransfer and File (this project compiles without the DOM lib).
    const dataTransfer = await page.evaluateHandle((b64: string) => {
      const dom = globalThis as unknown as {
        DataTransfer: new () => { items: { add(file: unknown): void } };
        File: new (parts: Uint8Array[], name: string, options: { type: string }) => unknown;
      };
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new dom.DataTransfer();
      dt.items.add(new dom.File([bytes], 'signed.pdf', { type: 'application/pdf' }));
      return dt;
    }, signed.toString('base64'));
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });
    const indication = page.locator('#result #indication');
    await indication.waitFor({ timeout: 30_000 });
    expect(await indication.textContent()).toBe('TOTAL_PASSED');
    await page.context().close();
  }, 60_000);

  it('works without script: the form posts to /verify and the report page says TOTAL_PASSED', async () => {
    const page = await open(false);
    await page.setInputFiles('#document', signedFile);
    await Promise.all([page.waitForNavigation({ timeout: 30_000 }), page.click('#verify')]);
    await page.locator('#indication').waitFor({ timeout: 30_000 });
    expect(await page.locator('#indication').textContent()).toBe('TOTAL_PASSED');
    expect(await page.title()).toContain('TOTAL_PASSED');
    await page.context().close();
  }, 60_000);

  it('a refused upload (an empty file) shows the problem code, not a blank page', async () => {
    const page = await open();
    const empty = path.join(work, 'empty.pdf');
    fs.writeFileSync(empty, '');
    await page.setInputFiles('#document', empty);
    await page.click('#verify');
    await page.locator('#status.error').waitFor({ timeout: 30_000 });
    expect(await page.locator('#status').textContent()).toContain('VALIDATION_FAILED');
    await page.context().close();
  }, 60_000);
});
