import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { preparePdfSignature } from '../../../src/pdf';
import { emptySealAppearance, loadSealFont, sealAppearance } from '../../../src/seals/appearance';
import { buildPdf } from '../pdf/fixtures';

/**
 * The PDF operators judged by a renderer we did not write: the appearance goes into a signature
 * widget (src/pdf) and poppler's pdftoppm draws the page. The seal must be red inside its
 * rectangle, nothing outside, and match the SVG rendering of the same figure pixel for pixel
 * (up to anti-aliasing) — which catches a flipped or mirrored figure.
 */
const AGENCY = '杭州市西湖区市场监督管理局';
const PURPOSE = '行政许可专用章';
const RECT = { x: 100, y: 300, size: 200 };

const noto = loadSealFont({ env: {} }).font;
const fontRequired = (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').includes('cjk-font');
const withFont = noto || fontRequired ? it : it.skip;

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-seal-pdf-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Raster {
  width: number;
  height: number;
  red(x: number, y: number): boolean;
}

/** Page 1 at 72 dpi (1 px = 1 pt) as a PPM, with the seal widget at RECT. */
function renderPage(stream: Buffer, name: string): Raster {
  const prepared = preparePdfSignature(buildPdf(), {
    subFilter: 'ETSI.CAdES.detached',
    signingTime: new Date('2025-01-01T00:00:00Z'),
    contentsSize: 1024,
    appearance: { page: 1, rect: [RECT.x, RECT.y, RECT.x + RECT.size, RECT.y + RECT.size], stream },
  });
  fs.writeFileSync(path.join(work, `${name}.pdf`), prepared.pdf);
  execFileSync('pdftoppm', ['-r', '72', '-f', '1', '-l', '1', '-singlefile', `${name}.pdf`, name], { cwd: work });
  const ppm = fs.readFileSync(path.join(work, `${name}.ppm`));
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.toString('latin1', 0, 64))!;
  const [width, height] = [Number(m[1]), Number(m[2])];
  const data = ppm.subarray(m[0].length);
  return {
    width,
    height,
    red(x, y) {
      const i = (y * width + x) * 3;
      return data[i] > 150 && data[i + 1] < 90 && data[i + 2] < 90;
    },
  };
}

/** The same square from an RGBA PNG, via resvg's raw pixels (the PNG decoder is tested elsewhere). */
function pngRed(svg: string, px: number): (x: number, y: number) => boolean {
  const img = new Resvg(svg, { fitTo: { mode: 'width', value: px }, font: { loadSystemFonts: false } }).render();
  const p = img.pixels;
  return (x, y) => {
    const i = (y * px + x) * 4;
    return p[i + 3] > 128 && p[i] > 150 && p[i + 1] < 90 && p[i + 2] < 90;
  };
}

/** Counts red pixels inside and outside the widget (PDF y up, image y down). */
function census(r: Raster): { inside: number; outside: number; insideRed: (x: number, y: number) => boolean } {
  let inside = 0;
  let outside = 0;
  const top = r.height - (RECT.y + RECT.size);
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      if (!r.red(x, y)) continue;
      if (x >= RECT.x && x < RECT.x + RECT.size && y >= top && y < top + RECT.size) inside++;
      else outside++;
    }
  }
  return { inside, outside, insideRed: (x, y) => r.red(RECT.x + x, top + y) };
}

describe('seal appearance in a PDF widget (pdftoppm)', () => {
  withFont('draws the seal inside its rectangle only, the same figure as the SVG', () => {
    const a = sealAppearance({ agencyName: AGENCY, sealName: PURPOSE });
    const page = renderPage(a.pdfStream(RECT.size), 'named');
    const c = census(page);
    expect(c.outside).toBe(0);
    expect(c.inside).toBeGreaterThan(5000);
    // Agreement with the SVG rendering: intersection over union of the red masks. Against the
    // SVG mirrored left-right the name no longer lines up, so a flipped PDF figure would fail.
    const svgRed = pngRed(a.svg, RECT.size);
    const iou = (mirror: boolean) => {
      let both = 0;
      let either = 0;
      for (let y = 0; y < RECT.size; y++) {
        for (let x = 0; x < RECT.size; x++) {
          const [p, s] = [c.insideRed(x, y), svgRed(mirror ? RECT.size - 1 - x : x, y)];
          if (p && s) both++;
          if (p || s) either++;
        }
      }
      return both / either;
    };
    expect(iou(false)).toBeGreaterThan(0.85);
    expect(iou(true)).toBeLessThan(iou(false) - 0.1);
  });

  it('draws ring and star alone when there is no font', () => {
    const named = sealAppearance({ agencyName: AGENCY, sealName: PURPOSE }, { font: null });
    const c = census(renderPage(named.pdfStream(RECT.size), 'plain'));
    expect(c.outside).toBe(0);
    expect(c.inside).toBeGreaterThan(2000);
    expect(c.insideRed(100, 100)).toBe(true); // the star's centre
    expect(c.insideRed(100, 5)).toBe(true); // the ring at the top
    expect(c.insideRed(100, 30)).toBe(false); // where the name would be
    expect(named.pdfStream(RECT.size)).toEqual(emptySealAppearance().pdfStream(RECT.size));
  });
});
