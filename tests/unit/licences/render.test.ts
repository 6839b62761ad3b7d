import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { AppError } from '../../../src/errors';
import { DEFAULT_LICENCE_FONT_PATHS, loadLicenceFont, QR_CAPTION, renderLicencePdf } from '../../../src/licences/render';
import type { LicenceRenderInput, LicenceType } from '../../../src/licences/types';

/**
 * The licence PDF judged by tools we did not write: poppler's pdftotext must give back the
 * Chinese text exactly, pdftoppm must draw the glyphs from the EMBEDDED subset (with no system
 * font to fall back on), zbarimg must read the QR code, qpdf must find the file clean.
 */

const fontRequired = (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').includes('cjk-font');
const fontPresent = DEFAULT_LICENCE_FONT_PATHS.some((p) => fs.existsSync(p));
if (!fontPresent && !fontRequired) process.stdout.write('licence rendering: skipped — install fonts-noto-cjk to run it\n');
const withFont = fontPresent || fontRequired ? describe : describe.skip;

const gs = spawnSync('gs', ['--version']).status === 0;
const TYPES_DIR = path.join(__dirname, '../../../schemas/licence-types');
const shippedTypes: LicenceType[] = fs
  .readdirSync(TYPES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(TYPES_DIR, f), 'utf8')) as LicenceType);
const businessLicence = shippedTypes.find((t) => t.id === 'business-licence')!;

const QR_URL = 'https://eseal.example.gov.cn/v/eyJhbGciOiJFUzI1NiIsImtpZCI6ImxpY2VuY2UtMSJ9.eyJsaWQiOiJsaWNfMDE5MzdhYmMwMDAwMDAwMDAwMDAiLCJ2IjoxfQ.Vj1ZcW5tX2RmR2hKa0xtTm9QcVJzVHVWd1h5WjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2';

const SCOPE =
  '一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务；数据处理和存储支持服务；' +
  '人工智能应用软件开发；网络技术服务；计算机系统服务（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。' +
  '许可项目：第二类增值电信业务（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以审批结果为准）。';

function businessInput(over: Partial<LicenceRenderInput> = {}): LicenceRenderInput {
  return {
    type: businessLicence,
    identifier: '1.2.156.3005.2.11100000000013338W001.11330105002500287C.2025052201.001.7',
    holder: { name: '杭州市西湖区云栖数智科技有限公司', codeType: '001', code: '91330106MA2H3Y5K8L' },
    data: {
      entityType: '有限责任公司（自然人独资）',
      legalRepresentative: '欧阳明辉',
      registeredCapital: '500万元人民币',
      establishedOn: '2025-05-22',
      address: '浙江省杭州市西湖区三墩镇西园八路11号3幢5层501室',
      businessScope: SCOPE,
      registrationAuthority: '杭州市西湖区市场监督管理局',
    },
    validFrom: '2025-05-22',
    validUntil: null,
    issuer: { name: '杭州市西湖区市场监督管理局', creditCode: '11330106002500000X' },
    qrUrl: QR_URL,
    issuedAt: '2025-05-22T02:30:00Z',
    ...over,
  };
}

/** Face data for any type, from its schema: enums take their first value, dates a date, lists two items. */
function sampleData(type: LicenceType): Record<string, unknown> {
  const props = (type.schema as { properties: Record<string, { title?: string; enum?: string[]; format?: string; type?: string }> }).properties;
  const data: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(props)) {
    if (p.enum) data[key] = p.enum[0];
    else if (p.format === 'date') data[key] = '2024-03-15';
    else if (p.type === 'array') data[key] = [`${p.title ?? key}甲`, `${p.title ?? key}乙`];
    else data[key] = `${p.title ?? key}之示例内容`;
  }
  return data;
}

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-licence-render-'));
  // A fontconfig that knows no font at all: poppler can then only draw what the PDF embeds.
  fs.writeFileSync(path.join(work, 'fonts.conf'), `<?xml version="1.0"?>\n<fontconfig><dir>${work}/no-fonts</dir><cachedir>${work}/fc-cache</cachedir></fontconfig>\n`);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let n = 0;
function save(pdf: Buffer): string {
  const file = path.join(work, `l${++n}.pdf`);
  fs.writeFileSync(file, pdf);
  return file;
}

const pdftotext = (file: string) => execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
const squash = (s: string) => s.replace(/\s+/g, '');

/** Renders page 1 with no system fonts; returns the PGM path and poppler's complaints. */
function rasterNoFonts(file: string, dpi: number, gray = false): { out: string; stderr: string } {
  const prefix = path.join(work, `r${++n}`);
  const r = spawnSync('pdftoppm', ['-r', String(dpi), gray ? '-gray' : '-png', '-singlefile', file, prefix], {
    env: { ...process.env, FONTCONFIG_FILE: path.join(work, 'fonts.conf') },
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  return { out: `${prefix}.${gray ? 'pgm' : 'png'}`, stderr: r.stderr };
}

function readPgm(file: string): { width: number; height: number; px: Buffer } {
  const buf = fs.readFileSync(file);
  const m = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(buf.subarray(0, 50).toString('latin1'))!;
  return { width: Number(m[1]), height: Number(m[2]), px: buf.subarray(m[0].length) };
}

/** Dark pixels in a rectangle given in PDF points (origin bottom-left), at 72 dpi. */
function darkIn(img: { width: number; height: number; px: Buffer }, x: number, y: number, w: number, h: number): number {
  let dark = 0;
  for (let row = Math.round(img.height - y - h); row < Math.round(img.height - y); row++) {
    for (let col = Math.round(x); col < Math.round(x + w); col++) if (img.px[row * img.width + col] < 128) dark++;
  }
  return dark;
}

function qrText(file: string): string {
  const { out } = rasterNoFonts(file, 200);
  return execFileSync('zbarimg', ['-q', '--raw', out], { encoding: 'utf8' }).trim();
}

async function expectUnrenderable(input: LicenceRenderInput, code: string, pointer: string, errorCode: string): Promise<void> {
  const err = await renderLicencePdf(input).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  expect((err as AppError).status).toBeLessThan(500);
  expect((err as AppError).errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer, code: errorCode })]));
}

withFont('renderLicencePdf', () => {
  let pdf: Buffer;
  let file: string;
  beforeAll(async () => {
    const r = await renderLicencePdf(businessInput());
    pdf = r.pdf;
    file = save(pdf);
    expect(r.sealRect).toEqual({ page: 1, x: businessLicence.layout.seal.x, y: businessLicence.layout.seal.y, width: businessLicence.layout.seal.size });
  });

  it('gives the Chinese text back exactly through pdftotext', () => {
    const lines = pdftotext(file).split('\n').map((l) => l.trim());
    const input = businessInput();
    for (const exact of [
      '统一社会信用代码', '91330106MA2H3Y5K8L', input.identifier, '名称', '杭州市西湖区云栖数智科技有限公司',
      '有限责任公司（自然人独资）', '法定代表人', '欧阳明辉', '注册资本', '500万元人民币', '成立日期', '2025年05月22日',
      '营业期限自', '长期', '浙江省杭州市西湖区三墩镇西园八路11号3幢5层501室', '登记机关', '发证机关', '杭州市西湖区市场监督管理局', QR_CAPTION,
    ]) {
      expect(lines).toContain(exact);
    }
    const text = squash(pdftotext(file));
    expect(text).toContain(squash(businessLicence.layout.title.text));
    // The business scope wraps over several lines; read back in order it is the same text.
    expect(text).toContain(squash(SCOPE));
  });

  it('embeds a subset of the CJK font and draws every glyph from it (no system font to fall back on)', () => {
    const fonts = execFileSync('pdffonts', [file], { encoding: 'utf8' }).trim().split('\n').slice(2);
    expect(fonts).toHaveLength(1);
    // name, type, encoding, emb, sub, uni
    expect(fonts[0]).toMatch(/^[A-Z]{6}\+\S+\s.*Identity-H\s+yes\s+yes\s+yes\s/);
    const { out, stderr } = rasterNoFonts(file, 72, true);
    expect(stderr).toBe('');
    const img = readPgm(out);
    const { title, fields } = businessLicence.layout;
    // Ink where the title and the first field are, none in the empty band above the title.
    expect(darkIn(img, title.x - 80, title.y - 4, 160, title.fontSize)).toBeGreaterThan(200);
    expect(darkIn(img, fields[0].x, fields[0].y - 2, 80, 12)).toBeGreaterThan(50);
    expect(darkIn(img, 0, title.y + title.fontSize + 10, img.width, 40)).toBe(0);
  });

  // Regression: with every subroutine slot of a font dict left empty, that dict's INDEX held no
  // data; when it came last in the font, FreeType refused the whole font (poppler: "Couldn't
  // create a font"). In Noto Sans CJK SC full-width punctuation uses such a dict; it comes last
  // when it is first used after the ideographs and the digits.
  it('draws a face whose last font dict uses no local subroutine (（、） after ideographs and digits)', async () => {
    const layout = businessLicence.layout;
    const fields = [
      { key: 'holder.code', label: '代码', x: 60, y: 700, fontSize: 12 },
      { key: 'holder.name', label: '名', x: 60, y: 650, fontSize: 24 },
    ];
    const type = { ...businessLicence, layout: { ...layout, title: { ...layout.title, text: '证照' }, fields } };
    const r = await renderLicencePdf(businessInput({ type, holder: { name: '（、）', codeType: '001', code: '91330106MA2H3Y5K8L' } }));
    const f = save(r.pdf);
    const { out, stderr } = rasterNoFonts(f, 72, true);
    expect(stderr).toBe('');
    expect(darkIn(readPgm(out), 100, 645, 100, 30)).toBeGreaterThan(20);
  });

  (gs ? it : it.skip)('renders without complaint in Ghostscript too (its own font machinery, not FreeType)', () => {
    const r = spawnSync('gs', ['-q', '-dNOPAUSE', '-dBATCH', '-dSAFER', '-sDEVICE=pnggray', '-r50', '-o', path.join(work, 'gs.png'), file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
  });

  it('prints a QR code that zbarimg decodes to the qrUrl', () => {
    expect(qrText(file)).toBe(QR_URL);
  });

  it('stays in the tens of kilobytes for a few hundred characters', () => {
    const chars = squash(pdftotext(file)).length;
    expect(chars).toBeGreaterThan(300);
    expect(pdf.length).toBeLessThan(60_000);
  });

  it('passes qpdf --check', () => {
    const out = execFileSync('qpdf', ['--check', file], { encoding: 'utf8' });
    expect(out).toContain('No syntax or stream encoding errors found');
  });

  it('is deterministic: same input, same bytes; another input, another /ID', async () => {
    const again = await renderLicencePdf(businessInput());
    expect(again.pdf.equals(pdf)).toBe(true);
    const other = await renderLicencePdf(businessInput({ issuedAt: '2025-05-23T02:30:00Z' }));
    expect(other.pdf.equals(pdf)).toBe(false);
    const id = (b: Buffer) => /\/ID \[ <([0-9A-Fa-f]+)>/.exec(b.toString('latin1'))?.[1];
    expect(id(pdf)).toMatch(/^[0-9a-f]{32}$/i);
    expect(id(other.pdf)).not.toBe(id(pdf));
    expect(pdf.toString('latin1')).toContain('/CreationDate (D:20250522023000Z)');
  });

  it('prints the issue date (China Standard Time) under the issuing agency', async () => {
    // 2025-05-22T20:00Z is already 23 May in Beijing.
    const r = await renderLicencePdf(businessInput({ issuedAt: '2025-05-22T20:00:00Z' }));
    expect(pdftotext(save(r.pdf)).split('\n')).toContain('2025年05月23日');
  });

  it.each(shippedTypes.map((t) => [t.id, t] as const))('renders the shipped type %s: every label and value, and its QR code', async (_id, type) => {
    const data = sampleData(type);
    const input: LicenceRenderInput = {
      ...businessInput(),
      type,
      holder: { name: type.holderCodeTypes.includes('111') ? '欧阳明辉' : '杭州市西湖区云栖数智科技有限公司', codeType: type.holderCodeTypes[0], code: type.holderCodeTypes.includes('111') ? '11010519491231002X' : '91330106MA2H3Y5K8L' },
      data,
      validUntil: '2030-05-21',
    };
    const r = await renderLicencePdf(input);
    const f = save(r.pdf);
    const text = squash(pdftotext(f));
    for (const field of type.layout.fields) {
      expect(text).toContain(squash(field.label));
      const key = field.key.replace(/^data\./, '');
      const v = data[key];
      if (typeof v === 'string') expect(text).toContain(squash(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v.slice(0, 4)}年${v.slice(5, 7)}月${v.slice(8, 10)}日` : v));
      if (Array.isArray(v)) expect(text).toContain(squash(v.join('、')));
    }
    expect(text).toContain(squash(input.holder.name));
    expect(text).toContain('2030年05月21日');
    expect(qrText(f)).toBe(QR_URL);
    expect(rasterNoFonts(f, 36).stderr).toBe('');
    expect(r.pdf.length).toBeLessThan(60_000);
  });

  it('shrinks a long business scope to fit above the fields below it, and refuses one that cannot fit', async () => {
    const long = SCOPE.repeat(3); // ~600 characters
    const r = await renderLicencePdf(businessInput({ data: { ...businessInput().data, businessScope: long } }));
    const f = save(r.pdf);
    expect(squash(pdftotext(f))).toContain(squash(long));
    // Still nothing drawn over the registration authority's line.
    const lines = pdftotext(f).split('\n').map((l) => l.trim());
    expect(lines).toContain('登记机关');
    expect(r.pdf.length).toBeLessThan(100_000);
    await expectUnrenderable(businessInput({ data: { ...businessInput().data, businessScope: SCOPE.repeat(20) } }), 'LICENCE_FACE_UNRENDERABLE', '/data/businessScope', 'TOO_LONG_FOR_LAYOUT');
  });

  it('refuses characters the font cannot print and control characters, naming the field', async () => {
    await expectUnrenderable(businessInput({ holder: { name: '杭州\u{E000}公司', codeType: '001', code: '91330106MA2H3Y5K8L' } }), 'LICENCE_FACE_UNRENDERABLE', '/holder/name', 'UNSUPPORTED_CHARACTER');
    await expectUnrenderable(businessInput({ data: { ...businessInput().data, address: '杭州\u202E市' } }), 'LICENCE_FACE_UNRENDERABLE', '/data/address', 'CONTROL_CHARACTER');
    await expectUnrenderable(businessInput({ data: { ...businessInput().data, address: { street: 'x' } } }), 'LICENCE_FACE_UNRENDERABLE', '/data/address', 'NOT_PRINTABLE');
  });

  it('refuses a bad QR URL, a bad issue time, and layouts that cannot work', async () => {
    await expectUnrenderable(businessInput({ qrUrl: 'javascript:alert(1)' }), 'VALIDATION_FAILED', '/qrUrl', 'INVALID_URL');
    await expectUnrenderable(businessInput({ qrUrl: 'https://x.example/' + 'a'.repeat(2000) }), 'VALIDATION_FAILED', '/qrUrl', 'INVALID_URL');
    await expectUnrenderable(businessInput({ issuedAt: 'yesterday' }), 'VALIDATION_FAILED', '/issuedAt', 'INVALID_DATE');
    const layout = businessLicence.layout;
    const bad = (l: Partial<typeof layout>) => businessInput({ type: { ...businessLicence, layout: { ...layout, ...l } } });
    await expectUnrenderable(bad({ seal: { x: layout.qr.x + 10, y: layout.qr.y + 10, size: 100 } }), 'LICENCE_FACE_UNRENDERABLE', '/type/layout/seal', 'OVERLAP');
    await expectUnrenderable(bad({ qr: { x: 560, y: 80, size: 110 } }), 'LICENCE_FACE_UNRENDERABLE', '/type/layout/qr', 'OUT_OF_RANGE');
    await expectUnrenderable(bad({ page: { width: 10, height: 10 } }), 'LICENCE_FACE_UNRENDERABLE', '/type/layout/page', 'OUT_OF_RANGE');
    await expectUnrenderable(bad({ fields: [{ key: 'holder.name', label: '名称', x: 9999, y: 10 }] }), 'LICENCE_FACE_UNRENDERABLE', '/type/layout/fields/0', 'OUT_OF_RANGE');
    await expectUnrenderable(bad({ fields: 'x' as never }), 'LICENCE_FACE_UNRENDERABLE', '/type/layout', 'REQUIRED');
    await expectUnrenderable(businessInput({ holder: null as never }), 'VALIDATION_FAILED', '/holder', 'REQUIRED');
    await expectUnrenderable(businessInput({ data: [] as never }), 'VALIDATION_FAILED', '/data', 'INVALID_TYPE');
    await expectUnrenderable(businessInput({ issuer: { name: 1 } as never }), 'VALIDATION_FAILED', '/issuer', 'REQUIRED');
    // A QR square too small for the URL's modules.
    await expectUnrenderable(bad({ qr: { x: 60, y: 80, size: 40 } }), 'LICENCE_FACE_UNRENDERABLE', '/qrUrl', 'QR_TOO_DENSE');
  });

  it('never fails with anything but a 4xx AppError on arbitrary holder names and face values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), async (name, address) => {
        try {
          const r = await renderLicencePdf(businessInput({ holder: { name, codeType: '001', code: '91330106MA2H3Y5K8L' }, data: { ...businessInput().data, address } }));
          expect(r.pdf.subarray(0, 5).toString()).toBe('%PDF-');
        } catch (err) {
          expect(err).toBeInstanceOf(AppError);
          expect((err as AppError).status).toBeLessThan(500);
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('loadLicenceFont', () => {
  it('refuses an ESEAL_LICENCE_FONT that is missing or has no Chinese glyphs (no silent fallback)', () => {
    for (const file of ['/nonexistent/font.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', __filename]) {
      let err: unknown;
      try {
        loadLicenceFont({ env: { ESEAL_LICENCE_FONT: file } });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('LICENCE_FONT_UNAVAILABLE');
      expect((err as AppError).status).toBe(503);
    }
  });

  it('says so when no default font exists', () => {
    expect(() => loadLicenceFont({ env: {}, searchPaths: ['/nonexistent/a.ttc'] })).toThrow(expect.objectContaining({ code: 'LICENCE_FONT_UNAVAILABLE' }));
  });

  const droid = '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf';
  (fs.existsSync(droid) ? it : it.skip)('refuses a CJK font without ASCII digits (Droid Sans Fallback): it could not print a credit code', () => {
    expect(() => loadLicenceFont({ env: { ESEAL_LICENCE_FONT: droid } })).toThrow(expect.objectContaining({ code: 'LICENCE_FONT_UNAVAILABLE', message: expect.stringContaining('"0"') }));
  });

  (fontPresent ? it : it.skip)('picks the Simplified Chinese face of the Noto CJK collection', () => {
    const font = loadLicenceFont({ env: {} });
    expect(font.source).toMatch(/\(NotoSansCJKsc-Regular\)$/);
    expect(font.outlines).toBe('cff');
  });
});
