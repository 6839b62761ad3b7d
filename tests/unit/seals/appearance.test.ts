import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { ValidationError } from '../../../src/errors';
import { emptySealAppearance, loadSealFont, sealAppearance, sealPurpose, toPng } from '../../../src/seals/appearance';
import { sealAppearanceStream } from '../../../src/signing/appearance';

/**
 * The seal's appearance: SVG (paths only), PNG (decoded here by our own few lines, not by the
 * renderer under test), PDF operators, and every way it degrades without a font.
 */
const AGENCY = '杭州市西湖区市场监督管理局';
const PURPOSE = '行政许可专用章';

const noto = loadSealFont({ env: {} }).font;
const fontRequired = (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').includes('cjk-font');
if (!noto && !fontRequired) process.stdout.write('seal appearance: glyph checks skipped — `apt-get install fonts-noto-cjk` to run them\n');
const withFont = noto || fontRequired ? it : it.skip;
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

// ---------------------------------------------------------------------------------------------
// A PNG decoder just big enough for 8-bit RGBA (ISO/IEC 15948 §6-§9): chunks, zlib, filters.

function decodePng(png: Buffer): { width: number; height: number; rgba: Buffer } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (let p = 8; p < png.length; ) {
    const len = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    const data = png.subarray(p + 8, p + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[9], data[12]]).toEqual([8, 6, 0]); // 8 bits, RGBA, not interlaced
    } else if (type === 'IDAT') idat.push(data);
    p += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= 4 ? out[y * stride + x - 4] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= 4 && y > 0 ? out[(y - 1) * stride + x - 4] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, rgba: out };
}

const isRed = (img: { width: number; rgba: Buffer }, x: number, y: number) => {
  const i = (Math.round(y) * img.width + Math.round(x)) * 4;
  const [r, g, b, a] = img.rgba.subarray(i, i + 4);
  return a > 128 && r > 150 && g < 90 && b < 90;
};

/** Red pixels whose distance from the centre is within [r0, r1) (fractions of the width), above the centre line. */
function redInBand(img: { width: number; height: number; rgba: Buffer }, r0: number, r1: number): number {
  const c = img.width / 2;
  let n = 0;
  for (let y = 0; y < c; y++) {
    for (let x = 0; x < img.width; x++) {
      const d = Math.hypot(x + 0.5 - c, y + 0.5 - c) / img.width;
      if (d >= r0 && d < r1 && isRed(img, x, y)) n++;
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// SVG structure, checked without trusting the renderer: balanced tags, quoted attributes, known entities.

function assertWellFormedXml(s: string): void {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    if (m[6]) throw new Error(`stray '<' at ${m.index}`);
    const text = m[5] ?? m[3] ?? '';
    for (const e of text.match(/&[^;\s]*;?/g) ?? []) {
      if (!/^&(amp|lt|gt|quot|apos);$/.test(e)) throw new Error(`bad entity ${e}`);
    }
    if (m[5]) {
      if (stack.length === 0 && m[5].trim()) throw new Error('text outside the root element');
      continue;
    }
    if (m[1]) {
      if (stack.pop() !== m[2]) throw new Error(`unbalanced </${m[2]}>`);
      if (stack.length === 0 && s.slice(re.lastIndex).trim()) throw new Error('content after the root element');
    } else if (!m[4]) stack.push(m[2]);
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('><')}>`);
}

const paths = (svg: string) => [...svg.matchAll(/<path d="([^"]*)"\/>/g)].map((m) => m[1]);

/** Centre of a path's points (the box is 1000 × 1000, centre 500, 500). */
function centreOf(d: string): [number, number] {
  const n = (d.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);
  const xs = n.filter((_, i) => i % 2 === 0);
  const ys = n.filter((_, i) => i % 2 === 1);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

describe('seal appearance: SVG', () => {
  withFont('draws ring, star and one path per glyph, all red, no text elements or fonts', () => {
    const a = sealAppearance({ agencyName: AGENCY, sealName: PURPOSE });
    expect(a.warnings).toEqual([]);
    expect(a.missingCharacters).toEqual([]);
    assertWellFormedXml(a.svg);
    expect(a.svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="42mm" height="42mm" viewBox="0 0 1000 1000"/);
    expect(a.svg).not.toMatch(/<text|<tspan|@font-face|font-family|<image|href=/);
    const ps = paths(a.svg);
    expect(ps).toHaveLength(2 + [...AGENCY].length + [...PURPOSE].length);
    for (const d of ps) expect(d).toMatch(/^M[-\d. ]+([MLCZ][-\d. ]*)*Z$/);
    expect(a.svg).toContain('<g fill="#D71920" fill-rule="nonzero">');
    expect(a.svg).toContain(`<title>${AGENCY} ${PURPOSE}</title>`);
  });

  withFont('sets the name clockwise along the upper arc from the lower left, and the purpose on one line below the star', () => {
    const a = sealAppearance({ agencyName: AGENCY, sealName: PURPOSE });
    const ps = paths(a.svg);
    const n = [...AGENCY].length;
    const angles = ps.slice(2, 2 + n).map((d) => {
      const [x, y] = centreOf(d);
      // Clockwise from the top, in degrees: the first character near −105°, the last near +105°.
      return (Math.atan2(x - 500, 500 - y) * 180) / Math.PI;
    });
    for (let i = 1; i < n; i++) expect(angles[i]).toBeGreaterThan(angles[i - 1]);
    const span = angles[n - 1] - angles[0] + (angles[n - 1] - angles[0]) / (n - 1); // outer edges
    expect(span).toBeGreaterThanOrEqual(215);
    expect(span).toBeLessThanOrEqual(240);
    expect(Math.abs(angles[0] + angles[n - 1])).toBeLessThan(3); // centred on the top
    const line = ps.slice(2 + n).map(centreOf);
    for (let i = 1; i < line.length; i++) expect(line[i][0]).toBeGreaterThan(line[i - 1][0]);
    for (const [, y] of line) expect(Math.abs(y - line[0][1])).toBeLessThan(25);
    expect(line[0][1]).toBeGreaterThan(500 + 167 * Math.cos(Math.PI / 5)); // below the star's lower points
  });

  withFont('escapes the names in the title', () => {
    const a = sealAppearance({ agencyName: '甲&乙<丙>"丁"', sealName: '' });
    assertWellFormedXml(a.svg);
    expect(a.svg).toContain('<title>甲&amp;乙&lt;丙&gt;&quot;丁&quot;</title>');
  });

  withFont('scales the condensed name of a long agency down rather than overrunning the arc', () => {
    const name = '中华人民共和国国家发展和改革委员会杭州市西湖区某某街道办事处第一社区居民委员会'.slice(0, 40);
    const a = sealAppearance({ agencyName: name, sealName: '合同专用章' });
    const n = [...name].length;
    const centres = paths(a.svg).slice(2, 2 + n).map(centreOf);
    const radii = centres.map(([x, y]) => Math.hypot(x - 500, y - 500));
    for (const r of radii) expect(r).toBeLessThan(460 - 30); // inside the ring
    const first = (Math.atan2(centres[0][0] - 500, 500 - centres[0][1]) * 180) / Math.PI;
    expect(first).toBeGreaterThan(-118);
  });

  withFont('uses the size given in millimetres', () => {
    expect(sealAppearance({ agencyName: AGENCY, sealName: '', sizeMm: 40 }).svg).toContain('width="40mm" height="40mm"');
  });
});

describe('seal appearance: PNG', () => {
  withFont('renders a square RGBA PNG: red ring band and centre, transparent corners, the name in the arc band', () => {
    const a = sealAppearance({ agencyName: AGENCY, sealName: PURPOSE });
    const png = toPng(a.svg, 400);
    expect(png.readUInt32BE(16)).toBe(400); // IHDR width
    expect(png.readUInt32BE(20)).toBe(400); // IHDR height
    const img = decodePng(png);
    expect([img.width, img.height]).toEqual([400, 400]);
    // The ring: radius 460–490 of 1000, so 0.475 of the width from the centre at every angle.
    for (let deg = 0; deg < 360; deg += 10) {
      const t = (deg * Math.PI) / 180;
      expect(isRed(img, 200 + 190 * Math.cos(t), 200 + 190 * Math.sin(t))).toBe(true);
    }
    expect(isRed(img, 200, 200)).toBe(true); // the star's centre
    expect(isRed(img, 200, 200 - 50)).toBe(true); // its upper arm
    expect(img.rgba[3]).toBe(0); // corner: transparent
    expect(img.rgba[(400 * 400 - 1) * 4 + 3]).toBe(0);
    expect(redInBand(img, 0.3, 0.44)).toBeGreaterThan(3000); // the name's strokes
  });

  it('refuses sizes out of range', () => {
    const svg = emptySealAppearance().svg;
    for (const px of [0, 15, 4097, 1.5, Number.NaN]) expect(() => toPng(svg, px)).toThrow(ValidationError);
    expect(decodePng(toPng(svg, 16)).width).toBe(16);
  });
});

describe('seal appearance: PDF operators', () => {
  withFont('fills every outline with the seal red in a flipped, scaled space; only path operators', () => {
    const a = sealAppearance({ agencyName: AGENCY, sealName: PURPOSE });
    const ops = a.pdfStream(120).toString('latin1');
    const lines = ops.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['q', '0.843137 0.098039 0.12549 rg', '0.12 0 0 -0.12 0 120 cm']);
    expect(lines[lines.length - 1]).toBe('Q');
    expect(ops.match(/^f$/gm)).toHaveLength(paths(a.svg).length);
    for (const l of lines.slice(3, -1)) expect(l).toMatch(/^(-?[\d.]+ -?[\d.]+ [ml]|(-?[\d.]+ ){6}c|h|f)$/);
    // Natural size: 42 mm in points.
    expect(a.pdfStream().toString('latin1')).toContain('\n0.119055 0 0 -0.119055 0 119.055118 cm\n');
  });

  it('refuses a size that is not a positive number of points', () => {
    const a = emptySealAppearance();
    for (const s of [0, -1, Number.POSITIVE_INFINITY, 20000]) expect(() => a.pdfStream(s)).toThrow(ValidationError);
  });

  withFont('converts TrueType quadratic curves to cubic operators', () => {
    if (!fs.existsSync(DEJAVU)) return;
    const font = loadSealFont({ env: { ESEAL_SEAL_FONT: DEJAVU } }).font!;
    expect(font.source).toContain('DejaVuSans');
    const a = sealAppearance({ agencyName: 'Bureau of Seals', sealName: 'OK' }, { font });
    expect(a.missingCharacters).toEqual([]);
    expect(a.pdfStream(100).toString('latin1')).toMatch(/ c\n/);
    expect(paths(a.svg).join('')).not.toMatch(/[QT]/);
  });
});

describe('seal appearance: input', () => {
  const errorsOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      return (e as ValidationError).errors?.map((x) => [x.pointer, x.code]);
    }
    throw new Error('no error');
  };

  it('bounds the names and the size, and refuses control characters', () => {
    const font = null; // validation comes before drawing
    expect(errorsOf(() => sealAppearance({ agencyName: '', sealName: '' }, { font }))).toEqual([['/agencyName', 'OUT_OF_RANGE']]);
    expect(errorsOf(() => sealAppearance({ agencyName: '   ', sealName: '' }, { font }))).toEqual([['/agencyName', 'OUT_OF_RANGE']]);
    expect(errorsOf(() => sealAppearance({ agencyName: '局'.repeat(41), sealName: '章'.repeat(21) }, { font }))).toEqual([
      ['/agencyName', 'OUT_OF_RANGE'],
      ['/sealName', 'OUT_OF_RANGE'],
    ]);
    expect(errorsOf(() => sealAppearance({ agencyName: '某局\n', sealName: '专用\u202e章' }, { font }))).toEqual([['/sealName', 'BAD_FORMAT']]);
    expect(errorsOf(() => sealAppearance({ agencyName: '某\u0007局', sealName: '' }, { font }))).toEqual([['/agencyName', 'BAD_FORMAT']]);
    expect(errorsOf(() => sealAppearance({ agencyName: '某局', sealName: '', sizeMm: 10 }, { font }))).toEqual([['/sizeMm', 'OUT_OF_RANGE']]);
    expect(errorsOf(() => sealAppearance({ agencyName: 7, sealName: null } as never, { font }))).toEqual([
      ['/agencyName', 'WRONG_TYPE'],
      ['/sealName', 'WRONG_TYPE'],
    ]);
    // Counted in characters, not UTF-16 units: 40 supplementary-plane characters are allowed.
    expect(() => sealAppearance({ agencyName: '𠀀'.repeat(40), sealName: '' }, { font })).not.toThrow();
  });

  withFont('reports characters the font lacks and leaves their places blank', () => {
    const a = sealAppearance({ agencyName: '浙江省𠀀厅', sealName: '专用章😀' });
    expect(a.missingCharacters).toEqual(['𠀀', '😀']);
    expect(a.warnings).toHaveLength(2);
    expect(a.warnings[0]).toMatch(/has no glyph for "𠀀" \(U\+20000\)/);
    expect(paths(a.svg)).toHaveLength(2 + 4 + 3);
  });

  it('takes the purpose from a seal named in full', () => {
    expect(sealPurpose(AGENCY, AGENCY + PURPOSE)).toBe(PURPOSE);
    expect(sealPurpose(AGENCY, PURPOSE)).toBe(PURPOSE);
    expect(sealPurpose(AGENCY, AGENCY)).toBe('');
    expect(sealPurpose(AGENCY, '公章')).toBe('');
    expect(sealPurpose(AGENCY, AGENCY + '公章')).toBe('');
  });
});

describe('seal appearance: without a font', () => {
  it('finds no font, says so, and never throws', () => {
    const r = loadSealFont({ env: {}, searchPaths: ['/nonexistent/NotoSerifCJK-Bold.ttc'] });
    expect(r.font).toBeNull();
    expect(r.warnings).toEqual([expect.stringMatching(/No CJK font was found \(set ESEAL_SEAL_FONT or install fonts-noto-cjk\)/)]);
  });

  it('reports an unusable ESEAL_SEAL_FONT and falls back to the search paths', () => {
    const junk = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-font-')), 'junk.ttf');
    fs.writeFileSync(junk, Buffer.from('not a font at all, just some bytes'.repeat(10)));
    const missing = loadSealFont({ env: { ESEAL_SEAL_FONT: '/nonexistent/font.otf' }, searchPaths: [] });
    expect(missing.font).toBeNull();
    expect(missing.warnings[0]).toMatch(/^ESEAL_SEAL_FONT \/nonexistent\/font\.otf cannot be used/);
    const broken = loadSealFont({ env: { ESEAL_SEAL_FONT: junk }, searchPaths: noto ? undefined : [] });
    expect(broken.warnings[0]).toMatch(/^ESEAL_SEAL_FONT .*junk\.ttf cannot be used/);
    expect(broken.font).toBe(noto); // the Noto face when installed, else none
  });

  it('draws ring and star only, with a warning', () => {
    const a = sealAppearance({ agencyName: AGENCY, sealName: PURPOSE }, { font: null });
    expect(a.warnings).toEqual([expect.stringMatching(/without its names/)]);
    assertWellFormedXml(a.svg);
    expect(paths(a.svg)).toHaveLength(2);
    const img = decodePng(toPng(a.svg, 400));
    expect(isRed(img, 200, 200)).toBe(true);
    expect(isRed(img, 200, 10)).toBe(true);
    expect(redInBand(img, 0.3, 0.44)).toBe(0);
    expect(a.pdfStream(100).toString('latin1').match(/^f$/gm)).toHaveLength(2);
  });

  withFont('the PAdES stream: names when they can be drawn, ring and star when they cannot', () => {
    const full = sealAppearanceStream(120, { agencyName: AGENCY, sealName: PURPOSE });
    expect(full.toString('latin1').match(/^f$/gm)!.length).toBe(2 + 13 + 7);
    const plain = emptySealAppearance().pdfStream(120);
    expect(sealAppearanceStream(120)).toEqual(plain);
    expect(sealAppearanceStream(120, { agencyName: '局'.repeat(60), sealName: '' })).toEqual(plain);
    expect(() => sealAppearanceStream(0, { agencyName: AGENCY, sealName: '' })).toThrow(ValidationError);
  });
});

