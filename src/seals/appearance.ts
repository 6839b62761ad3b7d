/**
 * The appearance of an agency seal, drawn the way a Chinese official seal looks (国发〔1999〕25号,
 * 国务院关于国家行政机关和企业事业单位社会团体印章管理的规定): round, a five-pointed star in the
 * centre, the agency's name around it reading from left to right, and — for a special-purpose
 * seal — its purpose (行政许可专用章, 合同专用章…) on a horizontal line beneath the star. All red
 * on a transparent ground. The default diameter, 42 mm, is the one that regulation sets for the
 * seals of local government departments; other ranks differ (see its size table), hence `sizeMm`.
 *
 * One figure, two renderings: every shape (ring, star, each glyph) is computed once as a filled
 * outline in a 1000 × 1000 box (y down), then written as SVG paths and as PDF path operators.
 * Glyphs are outlines taken from the font with fontkit, never <text> or an embedded font, so the
 * seal looks the same in every viewer and the PDF needs no /Resources. Library types (fontkit,
 * resvg) stay inside this file.
 */
import fs from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { openSync, type Font } from 'fontkit';
import { ValidationError, type FieldError } from '../errors';

/** What the seal shows: the agency's name on the arc and the seal's purpose beneath the star. */
export interface SealText {
  agencyName: string;
  /** May be empty: an agency's official seal (公章) carries nothing beneath the star. */
  sealName: string;
}

export interface SealAppearanceInput extends SealText {
  /** Diameter in millimetres; default 42. */
  sizeMm?: number;
}

/** A font opened for drawing seals (opaque: the fontkit object stays in this file). */
export interface SealFont {
  /** File (and face, for collections) the outlines come from. */
  readonly source: string;
  /** @internal */
  readonly face: Font;
}

export interface SealAppearanceOptions {
  /** The font to draw the names with; `null` draws ring and star only. Default: {@link loadSealFont}. */
  font?: SealFont | null;
}

export interface SealAppearance {
  sizeMm: number;
  /** A standalone SVG document, width and height in mm; every glyph is a <path>. */
  svg: string;
  /**
   * PDF content-stream operators drawing the same figure in a form XObject of `sizePt` × `sizePt`
   * points (origin bottom-left, y up). Needs no /Resources. Default: the seal's real size.
   */
  pdfStream(sizePt?: number): Buffer;
  /** Characters the font has no glyph for; their places are left blank. */
  missingCharacters: string[];
  /** Why the figure is not complete (no font, missing glyphs). Empty when it is. */
  warnings: string[];
}

export const SEAL_RED = '#D71920';
export const SEAL_SIZE_MM = { default: 42, min: 20, max: 80 } as const;
/** Bounds in characters. Beyond 40 the arc's characters are too narrow to read at 42 mm. */
export const SEAL_TEXT_LIMITS = { agencyName: { min: 1, max: 40 }, sealName: { min: 0, max: 20 } } as const;
export const SEAL_PNG_PIXELS = { min: 16, max: 4096 } as const;

// ---------------------------------------------------------------------------------------------
// Geometry, in a 1000 × 1000 box with the origin top-left and y down (as SVG). Proportions follow
// common practice for a 42 mm seal: a ≈1.3 mm ring, a star ≈14 mm across, name characters ≈6 mm
// tall, the purpose line ≈4.5 mm tall.

const BOX = 1000;
const C = BOX / 2;
/** Outer edge of the ring; the 1 % margin keeps its anti-aliased edge inside the image. */
const RING_OUTER = 490;
const RING_WIDTH = 30;
const STAR_RADIUS = 167;
/** Inner radius of a regular five-pointed star: R · sin 18° / sin 54°. */
const STAR_INNER_RATIO = Math.sin(Math.PI / 10) / Math.sin((3 * Math.PI) / 10);
const ARC_GAP = 18;
const ARC_HEIGHT = 150;
/** The name spans at most this arc, centred on the top, first character bottom-left. */
const ARC_SPAN_MAX = (230 * Math.PI) / 180;
/** A short name is not stretched: each character gets at most this much arc (in em heights). */
const ARC_STEP_MAX_EM = 1.25;
const LINE_CENTRE_Y = C + 255;
const LINE_HEIGHT = 105;
/** The purpose line stays clear of the arc's last characters. */
const LINE_MAX_WIDTH = 520;
/** Characters may be condensed (长宋-style) down to this width/height ratio before they shrink. */
const MIN_WIDTH_RATIO = 0.55;
const NATURAL_WIDTH_RATIO = 0.92;

type Seg = { op: 'M' | 'L'; p: [number, number] } | { op: 'C'; p: [number, number, number, number, number, number] } | { op: 'Z' };
type Outline = Seg[];

/** A circle as four cubic Béziers (k = 4(√2 − 1)/3), clockwise on screen unless `reverse`. */
function circle(r: number, reverse = false): Outline {
  const k = 0.5522847498 * r;
  const s = reverse ? -1 : 1;
  return [
    { op: 'M', p: [C + r, C] },
    { op: 'C', p: [C + r, C + s * k, C + k, C + s * r, C, C + s * r] },
    { op: 'C', p: [C - k, C + s * r, C - r, C + s * k, C - r, C] },
    { op: 'C', p: [C - r, C - s * k, C - k, C - s * r, C, C - s * r] },
    { op: 'C', p: [C + k, C - s * r, C + r, C - s * k, C + r, C] },
    { op: 'Z' },
  ];
}

/** The ring as an annulus: under the nonzero rule the reversed inner circle cuts the hole. */
function ring(): Outline {
  return [...circle(RING_OUTER), ...circle(RING_OUTER - RING_WIDTH, true)];
}

function star(): Outline {
  const out: Outline = [];
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? STAR_RADIUS : STAR_RADIUS * STAR_INNER_RATIO;
    const a = -Math.PI / 2 + (i * Math.PI) / 5; // first point straight up
    out.push({ op: i === 0 ? 'M' : 'L', p: [C + r * Math.cos(a), C + r * Math.sin(a)] });
  }
  out.push({ op: 'Z' });
  return out;
}

/** Where one character goes: its centre, its em box's height and width, and its rotation. */
interface Slot {
  cx: number;
  cy: number;
  height: number;
  width: number;
  /** Radians, clockwise on screen; 0 = upright. */
  angle: number;
}

/** Even slots along the upper arc, reading clockwise from the lower left; tops face outwards. */
function arcSlots(n: number): Slot[] {
  let height = ARC_HEIGHT;
  let slots: Slot[] = [];
  for (let pass = 0; pass < 2; pass++) {
    const rOut = RING_OUTER - RING_WIDTH - ARC_GAP;
    const rCentre = rOut - height / 2;
    const step = Math.min(ARC_SPAN_MAX / n, (ARC_STEP_MAX_EM * height) / rCentre);
    // The narrowest place is the inner edge, where neighbours come closest.
    const room = 0.9 * step * (rOut - height);
    const width = Math.min(NATURAL_WIDTH_RATIO * height, room);
    if (pass === 0 && width < MIN_WIDTH_RATIO * height) {
      height = width / MIN_WIDTH_RATIO; // long names: smaller characters, then recompute the arc
      continue;
    }
    slots = Array.from({ length: n }, (_, i) => {
      const angle = (i - (n - 1) / 2) * step;
      return { cx: C + rCentre * Math.sin(angle), cy: C - rCentre * Math.cos(angle), height, width, angle };
    });
    break;
  }
  return slots;
}

/** Even slots on the horizontal line beneath the star, centred. */
function lineSlots(n: number): Slot[] {
  let height = LINE_HEIGHT;
  let pitch = Math.min(height, LINE_MAX_WIDTH / n);
  let width = Math.min(NATURAL_WIDTH_RATIO * height, 0.92 * pitch);
  if (width < MIN_WIDTH_RATIO * height) height = width / MIN_WIDTH_RATIO;
  pitch = Math.min(pitch, height);
  width = Math.min(width, NATURAL_WIDTH_RATIO * height);
  return Array.from({ length: n }, (_, i) => ({ cx: C + (i - (n - 1) / 2) * pitch, cy: LINE_CENTRE_Y, height, width, angle: 0 }));
}

// ---------------------------------------------------------------------------------------------
// Fonts

/** Debian's fonts-noto-cjk, serif (the 宋体 seals are cut in) before sans, bold before regular. */
export const DEFAULT_SEAL_FONT_PATHS = [
  '/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc',
  '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
];

const fontCache = new Map<string, SealFont>();

/** Opens a font file; for a collection (.ttc), its Simplified Chinese face if it has one. */
function openFont(path: string): SealFont {
  const cached = fontCache.get(path);
  if (cached) return cached;
  const opened = openSync(path);
  let face: Font;
  if ('fonts' in opened) {
    const faces = opened.fonts;
    if (faces.length === 0) throw new Error('the collection holds no font');
    face = faces.find((f) => /CJKsc-|SC-|-SC\b|\bSC\b/.test(f.postscriptName)) ?? faces[0];
  } else {
    face = opened;
  }
  if (typeof face.glyphForCodePoint !== 'function' || !(face.unitsPerEm > 0)) throw new Error('not an outline font');
  const font: SealFont = { source: `${path} (${face.postscriptName})`, face };
  fontCache.set(path, font);
  return font;
}

export interface LoadSealFontOptions {
  /** Default process.env; ESEAL_SEAL_FONT names a .otf, .ttf or .ttc file. */
  env?: Record<string, string | undefined>;
  /** Tried in order when ESEAL_SEAL_FONT is unset or unusable. Default {@link DEFAULT_SEAL_FONT_PATHS}. */
  searchPaths?: readonly string[];
}

/**
 * The font to draw seals with: ESEAL_SEAL_FONT, else the first Noto CJK file present. Never
 * throws: a font that cannot be used is a warning, and no font at all means `font: null` (the
 * seal is then drawn without its names). Opened fonts are kept for the life of the process.
 */
export function loadSealFont(options: LoadSealFontOptions = {}): { font: SealFont | null; warnings: string[] } {
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const configured = env.ESEAL_SEAL_FONT?.trim();
  const candidates = [...(configured ? [configured] : []), ...(options.searchPaths ?? DEFAULT_SEAL_FONT_PATHS)];
  for (const path of candidates) {
    const isConfigured = configured !== undefined && path === configured;
    if (!isConfigured && !fs.existsSync(path)) continue;
    try {
      return { font: openFont(path), warnings };
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      warnings.push(`${isConfigured ? 'ESEAL_SEAL_FONT' : 'The font'} ${path} cannot be used: ${why.slice(0, 200)}`);
    }
  }
  warnings.push('No CJK font was found (set ESEAL_SEAL_FONT or install fonts-noto-cjk): the seal is drawn without its names');
  return { font: null, warnings };
}

/** A glyph's outline placed in a slot: its em box centred on the slot, scaled, rotated. */
function placeGlyph(face: Font, codePoint: number, slot: Slot): Outline {
  const glyph = face.glyphForCodePoint(codePoint);
  const upm = face.unitsPerEm;
  // The ideographic em box (Noto CJK: typo ascender 880, descender −120); centre on its middle.
  const asc = face['OS/2']?.typoAscender ?? 0.88 * upm;
  const desc = face['OS/2']?.typoDescender ?? -0.12 * upm;
  const emHeight = asc - desc > 0 ? asc - desc : upm;
  const midY = (asc + desc) / 2;
  const advance = glyph.advanceWidth > 0 ? glyph.advanceWidth : upm;
  const sy = slot.height / emHeight;
  const sx = (slot.width / upm) * (advance > upm ? upm / advance : 1);
  const cos = Math.cos(slot.angle);
  const sin = Math.sin(slot.angle);
  const at = (x: number, y: number): [number, number] => {
    const lx = (x - advance / 2) * sx;
    const ly = -(y - midY) * sy;
    return [slot.cx + lx * cos - ly * sin, slot.cy + lx * sin + ly * cos];
  };
  const out: Outline = [];
  let cur: [number, number] = [0, 0];
  let start: [number, number] = [0, 0];
  for (const { command, args } of glyph.path.commands) {
    switch (command) {
      case 'moveTo':
        cur = start = [args[0], args[1]];
        out.push({ op: 'M', p: at(args[0], args[1]) });
        break;
      case 'lineTo':
        cur = [args[0], args[1]];
        out.push({ op: 'L', p: at(args[0], args[1]) });
        break;
      case 'quadraticCurveTo': {
        // TrueType quadratics as cubics: control points 2/3 of the way to the quadratic's.
        const [qx, qy, x, y] = args;
        const c1 = at(cur[0] + (2 / 3) * (qx - cur[0]), cur[1] + (2 / 3) * (qy - cur[1]));
        const c2 = at(x + (2 / 3) * (qx - x), y + (2 / 3) * (qy - y));
        out.push({ op: 'C', p: [...c1, ...c2, ...at(x, y)] });
        cur = [x, y];
        break;
      }
      case 'bezierCurveTo': {
        const [x1, y1, x2, y2, x, y] = args;
        out.push({ op: 'C', p: [...at(x1, y1), ...at(x2, y2), ...at(x, y)] });
        cur = [x, y];
        break;
      }
      case 'closePath':
        out.push({ op: 'Z' });
        cur = start;
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Input

const chars = (s: string) => Array.from(s);
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const hex = (cp: number) => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');

function checkText(value: unknown, pointer: string, limits: { min: number; max: number }, errors: FieldError[]): string {
  if (typeof value !== 'string') {
    errors.push({ pointer, detail: 'must be a string', code: 'WRONG_TYPE' });
    return '';
  }
  const v = value.trim();
  const n = chars(v).length;
  if (n < limits.min || n > limits.max) {
    errors.push({ pointer, detail: `must have ${limits.min} to ${limits.max} characters (has ${n})`, code: 'OUT_OF_RANGE' });
  } else if (FORBIDDEN.test(v)) {
    errors.push({ pointer, detail: 'must not contain control, format, private-use or unassigned characters, or line breaks', code: 'BAD_FORMAT' });
  }
  return v;
}

function checkInput(input: SealAppearanceInput): { agencyName: string; sealName: string; sizeMm: number } {
  const errors: FieldError[] = [];
  if (input === null || typeof input !== 'object') throw new ValidationError('The seal text is required', [{ pointer: '/', detail: 'is required' }]);
  const agencyName = checkText(input.agencyName, '/agencyName', SEAL_TEXT_LIMITS.agencyName, errors);
  const sealName = checkText(input.sealName, '/sealName', SEAL_TEXT_LIMITS.sealName, errors);
  const sizeMm = input.sizeMm ?? SEAL_SIZE_MM.default;
  if (typeof sizeMm !== 'number' || !Number.isFinite(sizeMm) || sizeMm < SEAL_SIZE_MM.min || sizeMm > SEAL_SIZE_MM.max) {
    errors.push({ pointer: '/sizeMm', detail: `must be a number from ${SEAL_SIZE_MM.min} to ${SEAL_SIZE_MM.max}`, code: 'OUT_OF_RANGE' });
  }
  if (errors.length) throw new ValidationError('The seal cannot be drawn with this text', errors);
  return { agencyName, sealName, sizeMm };
}

/**
 * The purpose line of a seal named in full ("杭州市…管理局行政许可专用章" → "行政许可专用章"):
 * the agency's name is already on the arc. An official seal (公章) shows no line.
 */
export function sealPurpose(agencyName: string, sealName: string): string {
  let rest = sealName.trim();
  const agency = agencyName.trim();
  if (agency && rest.startsWith(agency)) rest = rest.slice(agency.length).trim();
  return rest === '公章' ? '' : rest;
}

// ---------------------------------------------------------------------------------------------
// Output

const num = (v: number) => {
  const r = Math.round(v * 100) / 100;
  return (Object.is(r, -0) ? 0 : r).toString();
};

/** For the colour and the form's matrix, where 0.01 would be a visible error. */
const exact = (v: number) => (Math.round(v * 1e6) / 1e6).toString();

function toSvgPath(o: Outline): string {
  return o.map((s) => (s.op === 'Z' ? 'Z' : s.op + s.p.map(num).join(' '))).join('');
}

function toPdfPath(o: Outline): string {
  return o
    .map((s) => {
      switch (s.op) {
        case 'M':
          return `${num(s.p[0])} ${num(s.p[1])} m`;
        case 'L':
          return `${num(s.p[0])} ${num(s.p[1])} l`;
        case 'C':
          return `${s.p.map(num).join(' ')} c`;
        case 'Z':
          return 'h';
      }
    })
    .join('\n');
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function render(figure: Outline[], sizeMm: number, title: string, missingCharacters: string[], warnings: string[]): SealAppearance {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(sizeMm)}mm" height="${num(sizeMm)}mm" viewBox="0 0 ${BOX} ${BOX}" role="img" aria-label="${xml(title)}">` +
    `<title>${xml(title)}</title>` +
    `<g fill="${SEAL_RED}" fill-rule="nonzero">` +
    figure.map((o) => `<path d="${toSvgPath(o)}"/>`).join('') +
    `</g></svg>\n`;
  const [r, g, b] = [1, 3, 5].map((i) => exact(parseInt(SEAL_RED.slice(i, i + 2), 16) / 255));
  const naturalPt = (sizeMm * 72) / 25.4;
  const pdfStream = (sizePt: number = naturalPt): Buffer => {
    if (typeof sizePt !== 'number' || !Number.isFinite(sizePt) || sizePt <= 0 || sizePt > 14400) {
      throw new ValidationError('The appearance size must be a positive number of points', [{ pointer: '/size', detail: 'must be in (0, 14400]', code: 'OUT_OF_RANGE' }]);
    }
    const k = sizePt / BOX;
    // The figure's box is y-down; flip it into the form's y-up space (ISO 32000-1 §8.3.4). A
    // reflection reverses every path's direction alike, so nonzero filling is unchanged.
    const lines = ['q', `${r} ${g} ${b} rg`, `${exact(k)} 0 0 ${exact(-k)} 0 ${exact(sizePt)} cm`];
    for (const o of figure) lines.push(toPdfPath(o), 'f');
    lines.push('Q', '');
    return Buffer.from(lines.join('\n'), 'latin1');
  };
  return { sizeMm, svg, pdfStream, missingCharacters, warnings };
}

/** Ring and star only: the fallback when there is no text or no font to draw it with. */
export function emptySealAppearance(sizeMm: number = SEAL_SIZE_MM.default): SealAppearance {
  return render([ring(), star()], checkInput({ agencyName: '印章', sealName: '', sizeMm }).sizeMm, '印章', [], []);
}

/**
 * Draws the seal. Invalid text or size → ValidationError; everything else (no font, characters
 * the font lacks) still draws, with the gaps said in `warnings`.
 */
export function sealAppearance(input: SealAppearanceInput, options: SealAppearanceOptions = {}): SealAppearance {
  const { agencyName, sealName, sizeMm } = checkInput(input);
  const warnings: string[] = [];
  let font: SealFont | null;
  if (options.font !== undefined) {
    font = options.font;
    if (font === null) warnings.push('No font was given: the seal is drawn without its names');
  } else {
    const loaded = loadSealFont();
    font = loaded.font;
    warnings.push(...loaded.warnings);
  }
  const title = sealName ? `${agencyName} ${sealName}` : agencyName;
  if (!font) return render([ring(), star()], sizeMm, title, [], warnings);
  const face = font.face;

  const figure: Outline[] = [ring(), star()];
  const missing: string[] = [];
  const draw = (text: string, slots: Slot[]) => {
    chars(text).forEach((ch, i) => {
      const cp = ch.codePointAt(0)!;
      if (/\s/u.test(ch)) return;
      let outline: Outline | null = null;
      if (face.hasGlyphForCodePoint(cp)) {
        try {
          outline = placeGlyph(face, cp, slots[i]);
        } catch {
          outline = null; // a damaged glyph program is reported like a missing glyph
        }
      }
      if (outline && outline.length > 0) figure.push(outline);
      else if (!missing.includes(ch)) missing.push(ch);
    });
  };
  draw(agencyName, arcSlots(chars(agencyName).length));
  if (sealName) draw(sealName, lineSlots(chars(sealName).length));
  for (const ch of missing) {
    warnings.push(`The font ${font.source} has no glyph for "${ch}" (${hex(ch.codePointAt(0)!)}); its place is left blank`);
  }
  return render(figure, sizeMm, title, missing, warnings);
}

/** Renders an SVG (ours: self-contained, no fonts or external references) to a square PNG. */
export function toPng(svg: string, pixels: number): Buffer {
  if (!Number.isInteger(pixels) || pixels < SEAL_PNG_PIXELS.min || pixels > SEAL_PNG_PIXELS.max) {
    throw new ValidationError('The image size is out of range', [
      { pointer: '/size', detail: `must be an integer from ${SEAL_PNG_PIXELS.min} to ${SEAL_PNG_PIXELS.max}`, code: 'OUT_OF_RANGE' },
    ]);
  }
  const resvg = new Resvg(svg, { fitTo: { mode: 'width', value: pixels }, font: { loadSystemFonts: false }, background: 'rgba(0,0,0,0)' });
  return resvg.render().asPng();
}
