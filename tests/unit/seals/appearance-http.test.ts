import { withCreditCodeCheck } from '../../../src/identifiers';
import { loadSealFont } from '../../../src/seals/appearance';
import { ADMIN_KEY, startTestApp, type TestApp } from '../../helpers/test-app';
import { buildPdf } from '../pdf/fixtures';

/** GET /v1/seals/{id}/image: the same access as GET /v1/seals/{id}; PNG by default, or SVG (supertest gives image/* bodies as Buffers). */
const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });
const fontPresent = loadSealFont({ env: {} }).font !== null || (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').includes('cjk-font');

let t: TestApp;
let sealId: string;
let signerA: string;
let signerB: string;

beforeAll(async () => {
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: B, name: '浙江省人力资源和社会保障厅' }).expect(201);
  signerA = await t.key(A, ['signer']);
  signerB = await t.key(B, ['signer']);
  sealId = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '杭州市西湖区市场监督管理局行政许可专用章', kind: 'licence' }).expect(201)).body.id;
});
afterAll(() => t.close());

describe('GET /v1/seals/{id}/image', () => {
  it('answers a 400 × 400 PNG by default', async () => {
    const res = await t.request.get(`/v1/seals/${sealId}/image`).set(auth(signerA)).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    const png = res.body as Buffer;
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([400, 400]);
  });

  it('answers the size asked for', async () => {
    const png = (await t.request.get(`/v1/seals/${sealId}/image?format=png&size=128`).set(auth(ADMIN_KEY)).expect(200)).body as Buffer;
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([128, 128]);
  });

  it("answers SVG with the agency's name on the arc and the purpose (not the full seal name) beneath", async () => {
    const res = await t.request.get(`/v1/seals/${sealId}/image?format=svg`).set(auth(signerA)).expect(200);
    expect(res.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const svg = (res.body as Buffer).toString('utf8');
    expect(svg).toContain('<title>杭州市西湖区市场监督管理局 行政许可专用章</title>');
    expect(svg.match(/<path /g)).toHaveLength(fontPresent ? 2 + 13 + 7 : 2);
  });

  it("refuses another agency's key, unknown seals and bad parameters", async () => {
    expect((await t.request.get(`/v1/seals/${sealId}/image`).set(auth(signerB))).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await t.request.get(`/v1/seals/${sealId}/image`)).status).toBe(401);
    expect((await t.request.get(`/v1/seals/seal_${'0'.repeat(28)}/image`).set(auth(signerA))).status).toBe(404);
    for (const q of ['format=jpeg', 'size=8', 'size=5000', 'size=abc', 'colour=blue']) {
      const res = await t.request.get(`/v1/seals/${sealId}/image?${q}`).set(auth(signerA));
      expect([res.status, res.body.code]).toEqual([400, 'INVALID_QUERY']);
    }
  });
});

describe('the visible PAdES seal', () => {
  it("shows the agency's name and the seal's purpose", async () => {
    const res = await t.request
      .post(`/v1/signatures?sealId=${sealId}&format=pades&level=B-B&page=1&x=100&y=100&width=120`)
      .set({ ...auth(signerA), 'Content-Type': 'application/pdf' })
      .send(buildPdf())
      .buffer(true)
      .parse((r, cb) => {
        const parts: Buffer[] = [];
        r.on('data', (c: Buffer) => parts.push(c));
        r.on('end', () => cb(null, Buffer.concat(parts)));
      })
      .expect(200);
    // The appearance stream is written as is: one fill per outline (ring, star, 13 + 7 glyphs).
    const pdf = (res.body as Buffer).toString('latin1');
    const form = /\/Subtype \/Form[^]*?stream\r?\n([^]*?)endstream/.exec(pdf);
    expect(form).not.toBeNull();
    expect(form![1].match(/^f$/gm)).toHaveLength(fontPresent ? 2 + 13 + 7 : 2);
  });
});
