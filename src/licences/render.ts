/**
 * The printed face of an e-licence: one PDF page drawn from the licence type's layout
 * (schemas/licence-types/*.json) — title, labelled fields, and a QR code pointing at the public
 * check page (GET /v/{token}). The rectangle where the agency's red seal goes is left to PAdES
 * signing, which draws it as the signature's visible appearance; renderLicencePdf returns it.
 *
 * Text is real text (copyable, searchable, read aloud), in an embedded SUBSET of a CJK font:
 * only the glyphs the licence uses travel with it. See docs/licence-rendering.md for the fonts,
 * the measured sizes and the layout model.
 *
 * Deterministic: the same input gives the same bytes (dates from issuedAt, /ID and the font's
 * subset tag from a hash of the input, pdf-lib's name suffixes from its seeded generator), so a
 * re-rendered licence can be compared byte for byte. Library types (pdf-lib, fontkit, qrcode)
 * stay inside src/licences/render.ts and src/licences/qr.ts.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { create as createFont, type Font } from 'fontkit';
import { concatTransformationMatrix, fill, PDFDocument, PDFHexString, popGraphicsState, pushGraphicsState, rectangle, rgb, setFillingRgbColor, type PDFFont, type PDFPage } from 'pdf-lib';
import { AppError, ValidationError, type FieldError } from '../errors';
import { QR_MAX_TEXT, QR_QUIET_ZONE, qrMatrix } from './qr';
import type { LicenceLayoutField, LicenceRenderInput, LicenceRenderResult } from './types';

// ---------------------------------------------------------------------------------------------
// Font

/**
 * Tried in order when ESEAL_LICENCE_FONT is unset: Debian's fonts-noto-cjk (installed in CI and
 * in the Docker image); its Simplified Chinese face is chosen from the collection. (Droid Sans
 * Fallback, the usual TrueType alternative, has no ASCII digits: it cannot print a credit code.)
 */
export const DEFAULT_LICENCE_FONT_PATHS = [
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc',
];

/** A font opened for licences (opaque: the fontkit object stays in this file). */
export interface LicenceFont {
  /** File and face the glyphs come from, e.g. ".../NotoSansCJK-Regular.ttc (NotoSansCJKsc-Regular)". */
  readonly source: string;
  /** 'cff' (OpenType/CFF, e.g. Noto CJK) or 'truetype' (glyf outlines, e.g. Droid Sans Fallback). */
  readonly outlines: 'cff' | 'truetype';
  /** @internal */
  readonly face: Font;
}

const fontCache = new Map<string, LicenceFont>();

/**
 * Characters every usable font must have: Chinese text, and the digits and capitals of credit
 * codes and identifiers (GB 32100 alphabet).
 */
const PROBE = '证照0123456789ABCDEFGHJKLMNPQRTUWXY.';

/** The subset object of fontkit 2 (its typings omit the fields used here). */
interface FontkitSubset {
  cff?: { stream: { pos: number; readBuffer(n: number): Uint8Array } };
  encode(): Uint8Array;
  encodeStream?: () => EventEmitter;
  subsetSubrs?: (subrs: { offset: number; length: number }[], used: Record<number, boolean>) => Uint8Array[];
}

/**
 * pdf-lib embeds with the fontkit it is given (it calls `create(bytes)` and, to subset,
 * `font.createSubset().encodeStream()`). We hand it fontkit 2, whose CFF subsetter writes a
 * valid CID-keyed font: @pdf-lib/fontkit 1.1's writes a CFF that poppler rejects ("Embedded font
 * file may be invalid") for Noto CJK — viewers then fall back to a system font or print nothing.
 *
 * One change to fontkit's CFF subsetting: it keeps every subroutine slot so that subroutine
 * numbers stay valid, filling unused ones with a one-byte `return`. Noto CJK's ideograph FD has
 * 28,516 local subroutines, so those placeholders cost ~55 kB even for ten glyphs (their INDEX
 * offsets differ and do not compress). We leave unused slots EMPTY instead: an INDEX may hold
 * zero-length objects (Adobe TN 5176 §5), the offsets repeat and deflate to almost nothing, and an
 * unused subroutine is never called. 100 distinct glyphs: 71 kB → 19 kB (docs/licence-rendering.md).
 */
function prepareFace(face: Font): void {
  const original = face.createSubset.bind(face);
  (face as unknown as { createSubset: () => FontkitSubset }).createSubset = () => {
    const subset = original() as unknown as FontkitSubset;
    if (subset.cff) {
      const cff = subset.cff;
      subset.subsetSubrs = (subrs, used) =>
        subrs.map((subr, i) => {
          // The last slot keeps a `return`: FreeType (poppler, Chromium) rejects a font whose
          // subroutine INDEX holds no data at all, which all-empty slots would give.
          if (!used[i]) return i === subrs.length - 1 ? new Uint8Array([11]) : new Uint8Array(0);
          cff.stream.pos = subr.offset;
          return cff.stream.readBuffer(subr.length);
        });
    }
    subset.encodeStream = () => {
      const events = new EventEmitter();
      setImmediate(() => {
        try {
          events.emit('data', subset.encode());
          events.emit('end');
        } catch (err) {
          events.emit('error', err);
        }
      });
      return events;
    };
    return subset;
  };
}

/** Opens a font file; for a collection (.ttc), its Simplified Chinese face if it has one. */
function openLicenceFont(path: string): LicenceFont {
  const cached = fontCache.get(path);
  if (cached) return cached;
  const opened = createFont(fs.readFileSync(path));
  let face: Font;
  if ('fonts' in opened) {
    const faces = opened.fonts;
    if (faces.length === 0) throw new Error('the collection holds no font');
    face = faces.find((f) => /CJKsc-|SC-|-SC\b|\bSC\b/.test(f.postscriptName)) ?? faces[0];
  } else {
    face = opened;
  }
  if (typeof face.glyphForCodePoint !== 'function' || !(face.unitsPerEm > 0)) throw new Error('not an outline font');
  for (const c of PROBE) if (!face.hasGlyphForCodePoint(c.codePointAt(0)!)) throw new Error(`it has no glyph for "${c}", which every licence needs`);
  prepareFace(face);
  const outlines = (face as unknown as Record<string, unknown>)['CFF '] ? 'cff' : 'truetype';
  const font: LicenceFont = { source: `${path} (${face.postscriptName})`, outlines, face };
  fontCache.set(path, font);
  return font;
}

export interface LoadLicenceFontOptions {
  /** Default process.env; ESEAL_LICENCE_FONT names a .otf, .ttf or .ttc file. */
  env?: Record<string, string | undefined>;
  /** Tried in order after ESEAL_LICENCE_FONT. Default {@link DEFAULT_LICENCE_FONT_PATHS}. */
  searchPaths?: string[];
}

/**
 * The font licences are printed in: ESEAL_LICENCE_FONT when set (a configured font that cannot be
 * used is an error, never silently replaced), else the first usable default. Unlike a seal, a
 * licence cannot be drawn without its text: no font → LICENCE_FONT_UNAVAILABLE (503).
 */
export function loadLicenceFont(options: LoadLicenceFontOptions = {}): LicenceFont {
  const env = options.env ?? process.env;
  const configured = env.ESEAL_LICENCE_FONT?.trim();
  const candidates = configured ? [configured] : (options.searchPaths ?? DEFAULT_LICENCE_FONT_PATHS);
  const reasons: string[] = [];
  for (const path of candidates) {
    if (!configured && !fs.existsSync(path)) continue;
    try {
      return openLicenceFont(path);
    } catch (err) {
      reasons.push(`${path}: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}`);
    }
  }
  throw new AppError(
    'LICENCE_FONT_UNAVAILABLE',
    configured
      ? `ESEAL_LICENCE_FONT (${configured}) cannot be used: ${reasons.join('; ')}`
      : 'No CJK font found: install fonts-noto-cjk or set ESEAL_LICENCE_FONT',
    { details: { tried: candidates } },
  );
}

// ---------------------------------------------------------------------------------------------
// Values

/** Licence dates are printed as on paper licences, in China Standard Time (UTC+8, no DST). */
const CST_OFFSET_MS = 8 * 3600 * 1000;

function chineseDate(y: string, m: string, d: string): string {
  return `${y}年${m}月${d}日`;
}

function formatDate(value: string): string | null {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (day) return chineseDate(day[1], day[2], day[3]);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const t = Date.parse(value);
    if (Number.isNaN(t)) return null;
    const iso = new Date(t + CST_OFFSET_MS).toISOString();
    return chineseDate(iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10));
  }
  return null;
}

/** Reserved layout keys → where the value is in the input (JSON Pointer for errors). */
const RESERVED: Record<string, (i: LicenceRenderInput) => unknown> = {
  'holder.name': (i) => i.holder.name,
  'holder.code': (i) => i.holder.code,
  'holder.codeType': (i) => i.holder.codeType,
  identifier: (i) => i.identifier,
  validFrom: (i) => i.validFrom,
  validUntil: (i) => i.validUntil,
  'issuer.name': (i) => i.issuer.name,
  'issuer.creditCode': (i) => i.issuer.creditCode,
  issuedAt: (i) => i.issuedAt,
  'type.name': (i) => i.type.name,
};

function pointerOf(key: string): string {
  if (key in RESERVED) return '/' + key.split('.').join('/');
  return '/data/' + key.replace(/^data\./, '').split('.').join('/');
}

/** The value a layout key names: a reserved key, or a dot path into the face data ("data." optional). */
function lookup(input: LicenceRenderInput, key: string): unknown {
  const reserved = RESERVED[key];
  if (reserved) return reserved(input);
  let cur: unknown = input.data;
  for (const seg of key.replace(/^data\./, '').split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** The printed text of a value; undefined → the field is not printed. */
function formatValue(key: string, value: unknown, pointer: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return key === 'validUntil' ? '长期' : undefined;
  if (typeof value === 'string') return formatDate(value) ?? value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (Array.isArray(value)) {
    const items = value.map((v, i) => formatValue('', v, `${pointer}/${i}`)).filter((v): v is string => v !== undefined && v !== '');
    return items.join('、');
  }
  throw unrenderable(pointer, 'is not text, a number, a date or a list of them', 'NOT_PRINTABLE');
}

function unrenderable(pointer: string, detail: string, code: string): AppError {
  return new AppError('LICENCE_FACE_UNRENDERABLE', `The licence cannot be printed: ${pointer} ${detail}`, { errors: [{ pointer, detail, code }] });
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * Every printed character must be in the font: a glyph the font lacks would print as an empty box
 * (.notdef) on an official document. Control and bidi characters are refused outright.
 */
function checkPrintable(font: LicenceFont, text: string, pointer: string, errors: FieldError[]): void {
  if (CONTROL.test(text)) {
    errors.push({ pointer, detail: 'contains a control, invisible or bidirectional-override character', code: 'CONTROL_CHARACTER' });
    return;
  }
  const missing = [...new Set([...text].filter((c) => !font.face.hasGlyphForCodePoint(c.codePointAt(0)!)))];
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
    errors.push({ pointer, detail: `has characters the licence font cannot print: ${shown.join(' ')}`, code: 'UNSUPPORTED_CHARACTER' });
  }
}

// ---------------------------------------------------------------------------------------------
// Text layout

/** Characters that may not begin a line (GB/T 15834 punctuation, 避头点). */
const NO_LINE_START = new Set([...'，。、；：？！）》」』】〕〉”’…—,.;:!?)]}%']);
const LINE_HEIGHT = 1.4;
const MIN_FONT_SIZE = 6;
const PAGE_MARGIN = 18;

/**
 * Breaks a value into lines of at most `width` points. Chinese breaks between any two
 * characters; a run of Latin letters and digits (a credit code, an identifier, a number) stays
 * whole unless it is wider than a line; closing punctuation stays with what it closes.
 */
function wrap(text: string, font: PDFFont, size: number, width: number, widthCache: Map<string, number>): string[] {
  const raw = text.match(/[A-Za-z0-9@#$&*+\-_./:=~]+|\s+|[^]/gu) ?? [];
  const tokens: string[] = [];
  for (const t of raw) {
    if (NO_LINE_START.has(t) && tokens.length > 0 && !/^\s+$/.test(tokens[tokens.length - 1])) tokens[tokens.length - 1] += t;
    else tokens.push(t);
  }
  // Widths scale linearly with the size: measure each distinct token once per font, at 1000 pt.
  const w = (s: string) => {
    let units = widthCache.get(s);
    if (units === undefined) widthCache.set(s, (units = font.widthOfTextAtSize(s, 1000)));
    return (units * size) / 1000;
  };
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  const pushLine = () => {
    if (line.trim() !== '') lines.push(line.trimEnd());
    line = '';
    lineWidth = 0;
  };
  for (const token of tokens) {
    if (token === '\n') {
      pushLine();
      continue;
    }
    if (line === '' && /^\s+$/.test(token)) continue;
    const tw = w(token);
    if (lineWidth + tw <= width) {
      line += token;
      lineWidth += tw;
      continue;
    }
    pushLine();
    if (/^\s+$/.test(token)) continue;
    if (tw <= width) {
      line = token;
      lineWidth = tw;
      continue;
    }
    for (const c of token) {
      const cw = w(c);
      if (lineWidth + cw > width && line !== '') pushLine();
      line += c;
      lineWidth += cw;
    }
  }
  pushLine();
  return lines;
}

interface Box {
  x0: number;
  x1: number;
  top: number;
}

// ---------------------------------------------------------------------------------------------
// Rendering

const INK = rgb(0.1, 0.1, 0.1);
const LABEL_INK = rgb(0.25, 0.25, 0.25);
export const QR_CAPTION = '扫码核验';

function checkLayout(input: LicenceRenderInput): void {
  const layout = input.type?.layout;
  if (!layout || typeof layout !== 'object' || !Array.isArray(layout.fields) || !layout.title || !layout.qr || !layout.seal) {
    throw new AppError('LICENCE_FACE_UNRENDERABLE', "The licence type's layout is not usable", {
      errors: [{ pointer: '/type/layout', detail: 'needs page, title, fields (a list), seal and qr', code: 'REQUIRED' }],
    });
  }
  const errors: FieldError[] = [];
  const p = layout.page;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!num(p?.width) || !num(p?.height) || p.width < 100 || p.height < 100 || p.width > 14400 || p.height > 14400) {
    errors.push({ pointer: '/type/layout/page', detail: 'must be 100–14400 points wide and high', code: 'OUT_OF_RANGE' });
  } else {
    const inside = (x: number, y: number, w: number, h: number) => num(x) && num(y) && x >= 0 && y >= 0 && x + w <= p.width && y + h <= p.height;
    if (!num(layout.qr?.size) || layout.qr.size < 40 || !inside(layout.qr.x, layout.qr.y, layout.qr.size, layout.qr.size)) {
      errors.push({ pointer: '/type/layout/qr', detail: 'must be a square of at least 40 pt inside the page', code: 'OUT_OF_RANGE' });
    }
    if (!num(layout.seal?.size) || layout.seal.size < 20 || !inside(layout.seal.x, layout.seal.y, layout.seal.size, layout.seal.size)) {
      errors.push({ pointer: '/type/layout/seal', detail: 'must be a square of at least 20 pt inside the page', code: 'OUT_OF_RANGE' });
    }
    const q = layout.qr;
    const s = layout.seal;
    if (errors.length === 0 && q.x < s.x + s.size && s.x < q.x + q.size && q.y < s.y + s.size && s.y < q.y + q.size) {
      errors.push({ pointer: '/type/layout/seal', detail: 'overlaps the QR code: a seal over it would make it unreadable', code: 'OVERLAP' });
    }
    if (!num(layout.title?.fontSize) || layout.title.fontSize < MIN_FONT_SIZE || !inside(layout.title.x, layout.title.y, 0, 0) || typeof layout.title.text !== 'string') {
      errors.push({ pointer: '/type/layout/title', detail: 'needs text, a font size ≥ 6 and a position inside the page', code: 'OUT_OF_RANGE' });
    }
    (layout.fields ?? []).forEach((f, i) => {
      if (typeof f.key !== 'string' || typeof f.label !== 'string' || !inside(f.x, f.y, 0, 0) || (f.width !== undefined && (!num(f.width) || f.width < 20)) || (f.fontSize !== undefined && (!num(f.fontSize) || f.fontSize < MIN_FONT_SIZE || f.fontSize > 72))) {
        errors.push({ pointer: `/type/layout/fields/${i}`, detail: 'needs a key, a label, a position inside the page, width ≥ 20 and font size 6–72', code: 'OUT_OF_RANGE' });
      }
    });
  }
  if (errors.length > 0) throw new AppError('LICENCE_FACE_UNRENDERABLE', "The licence type's layout is not usable", { errors });
}

function checkInput(input: LicenceRenderInput): void {
  const errors: FieldError[] = [];
  if (typeof input.qrUrl !== 'string' || !/^https?:\/\/[\x21-\x7e]+$/.test(input.qrUrl) || input.qrUrl.length > QR_MAX_TEXT) {
    errors.push({ pointer: '/qrUrl', detail: `must be an http(s) URL of at most ${QR_MAX_TEXT} printable ASCII characters`, code: 'INVALID_URL' });
  }
  if (typeof input.issuedAt !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(input.issuedAt) || Number.isNaN(Date.parse(input.issuedAt))) {
    errors.push({ pointer: '/issuedAt', detail: 'must be an ISO 8601 date-time', code: 'INVALID_DATE' });
  }
  if (typeof input.identifier !== 'string' || input.identifier.length === 0) errors.push({ pointer: '/identifier', detail: 'is required', code: 'REQUIRED' });
  const text = (v: unknown) => typeof v === 'string';
  if (!input.holder || !text(input.holder.name) || !text(input.holder.code) || !text(input.holder.codeType)) {
    errors.push({ pointer: '/holder', detail: 'needs name, codeType and code (text)', code: 'REQUIRED' });
  }
  if (!input.issuer || !text(input.issuer.name) || !text(input.issuer.creditCode)) errors.push({ pointer: '/issuer', detail: 'needs name and creditCode (text)', code: 'REQUIRED' });
  if (!input.data || typeof input.data !== 'object' || Array.isArray(input.data)) errors.push({ pointer: '/data', detail: 'must be an object', code: 'INVALID_TYPE' });
  if (!text(input.validFrom) || !(input.validUntil === null || text(input.validUntil))) errors.push({ pointer: '/validFrom', detail: 'validFrom must be text and validUntil text or null', code: 'INVALID_TYPE' });
  if (!input.type || !text(input.type.name) || !text(input.type.typeCode)) errors.push({ pointer: '/type', detail: 'needs name and typeCode', code: 'REQUIRED' });
  if (errors.length > 0) throw new ValidationError('The licence cannot be rendered', errors);
}

/** Six capital letters naming a font subset (ISO 32000-1 §9.6.4), derived from the input. */
function subsetTag(digest: Buffer): string {
  return [...digest.subarray(0, 6)].map((b) => String.fromCharCode(65 + (b % 26))).join('');
}

function drawQr(page: PDFPage, url: string, at: { x: number; y: number; size: number }): void {
  const matrix = qrMatrix(url);
  const module = at.size / (matrix.size + 2 * QR_QUIET_ZONE);
  // Below ~1 pt a module is under 0.35 mm: too fine for a phone camera on a print.
  if (module < 1) throw unrenderable('/qrUrl', `needs a QR code of ${matrix.size} modules, too dense for the layout's ${at.size} pt square`, 'QR_TOO_DENSE');
  const ops = [pushGraphicsState(), setFillingRgbColor(1, 1, 1), rectangle(at.x, at.y, at.size, at.size), fill()];
  // In module units (origin at the symbol's bottom-left corner, one unit per module): each run is
  // a few bytes of integers instead of long decimals. One path for all runs, filled once, so
  // that renderers leave no hairline seams between rows.
  const origin = QR_QUIET_ZONE * module;
  ops.push(concatTransformationMatrix(module, 0, 0, module, at.x + origin, at.y + origin), setFillingRgbColor(0, 0, 0));
  for (const r of matrix.runs) ops.push(rectangle(r.col, matrix.size - 1 - r.row, r.length, 1));
  ops.push(fill(), popGraphicsState());
  page.pushOperators(...ops);
}

/**
 * Renders the licence PDF. Bad values (a character the font lacks, a control character, a face
 * too long for its layout even at 6 pt) → LICENCE_FACE_UNRENDERABLE (422) or VALIDATION_FAILED;
 * no CJK font → LICENCE_FONT_UNAVAILABLE.
 */
export async function renderLicencePdf(input: LicenceRenderInput, options: { font?: LicenceFont } = {}): Promise<LicenceRenderResult> {
  checkInput(input);
  checkLayout(input);
  const font = options.font ?? loadLicenceFont();
  const { layout } = input.type;

  // Resolve and check every printed text first: nothing is drawn from a face that cannot be printed.
  const printed: { field: LicenceLayoutField; text: string; pointer: string; index: number }[] = [];
  const errors: FieldError[] = [];
  checkPrintable(font, layout.title.text, '/type/layout/title/text', errors);
  layout.fields.forEach((field, index) => {
    const pointer = pointerOf(field.key);
    const text = formatValue(field.key, lookup(input, field.key), pointer);
    checkPrintable(font, field.label, `/type/layout/fields/${index}/label`, errors);
    if (text === undefined || text === '') return;
    checkPrintable(font, text, pointer, errors);
    printed.push({ field, text, pointer, index });
  });
  if (errors.length > 0) throw new AppError('LICENCE_FACE_UNRENDERABLE', 'The licence has text its font cannot print', { errors });

  const digest = createHash('sha256').update(JSON.stringify(input)).digest();
  const doc = await PDFDocument.create({ updateMetadata: false });
  // The face is already open (cached per process): pdf-lib's create(bytes) call just gets it.
  doc.registerFontkit({ create: () => font.face } as unknown as Parameters<typeof doc.registerFontkit>[0]);
  const pdfFont = await doc.embedFont(Buffer.alloc(0), { subset: true, customName: `${subsetTag(digest)}+${font.face.postscriptName}` });
  const page = doc.addPage([layout.page.width, layout.page.height]);

  // Title, centred on title.x (the layouts give the page's centre line).
  let titleSize = layout.title.fontSize;
  const titleRoom = 2 * Math.min(layout.title.x, layout.page.width - layout.title.x) - 2 * PAGE_MARGIN;
  while (titleSize > MIN_FONT_SIZE && pdfFont.widthOfTextAtSize(layout.title.text, titleSize) > titleRoom) titleSize -= 0.5;
  const titleWidth = pdfFont.widthOfTextAtSize(layout.title.text, titleSize);
  page.drawText(layout.title.text, { x: layout.title.x - titleWidth / 2, y: layout.title.y, size: titleSize, font: pdfFont, color: INK });

  // What a field's text may not run into: the first lines of the fields below it, the QR code
  // and the seal square — each only when its top lies below the field's first line (the shipped
  // layouts put the issuing agency's name inside the seal square on purpose: the seal is
  // stamped across it).
  const captionSize = 8;
  const obstacles: (Box & { field?: number })[] = [
    { x0: layout.qr.x, x1: layout.qr.x + layout.qr.size, top: layout.qr.y + layout.qr.size },
    { x0: layout.seal.x, x1: layout.seal.x + layout.seal.size, top: layout.seal.y + layout.seal.size },
    ...printed.map((p) => ({ field: p.index, x0: p.field.x, x1: p.field.x + (p.field.width ?? layout.page.width - PAGE_MARGIN - p.field.x), top: p.field.y + (p.field.fontSize ?? 12) })),
  ];

  const widthCache = new Map<string, number>();
  let issuerEnd: { x: number; y: number; size: number } | undefined;
  for (const p of printed) {
    const { field } = p;
    const size = field.fontSize ?? 12;
    const right = field.width !== undefined ? field.x + field.width : layout.page.width - PAGE_MARGIN;
    const labelWidth = pdfFont.widthOfTextAtSize(field.label, size);
    page.drawText(field.label, { x: field.x, y: field.y, size, font: pdfFont, color: LABEL_INK });
    let valueX = field.x + labelWidth + size;
    let firstBaseline = field.y;
    if (right - valueX < 4 * size) {
      // No room beside the label: the value goes under it, across the whole width.
      valueX = field.x;
      firstBaseline = field.y - size * LINE_HEIGHT;
    }
    const floor = Math.max(
      PAGE_MARGIN,
      ...obstacles.filter((o) => o.field !== p.index && o.top < field.y && o.x0 < right && field.x < o.x1).map((o) => o.top + 2),
    );
    let valueSize = size;
    let lines = wrap(p.text, pdfFont, valueSize, right - valueX, widthCache);
    const fits = (n: number, s: number) => firstBaseline - (n - 1) * s * LINE_HEIGHT - 0.25 * s >= floor;
    while (!fits(lines.length, valueSize) && valueSize > MIN_FONT_SIZE) {
      valueSize = Math.max(MIN_FONT_SIZE, valueSize - 0.5);
      lines = wrap(p.text, pdfFont, valueSize, right - valueX, widthCache);
    }
    if (!fits(lines.length, valueSize)) {
      throw unrenderable(p.pointer, `is too long for its place on the licence (${lines.length} lines at ${MIN_FONT_SIZE} pt)`, 'TOO_LONG_FOR_LAYOUT');
    }
    lines.forEach((line, i) => page.drawText(line, { x: valueX, y: firstBaseline - i * valueSize * LINE_HEIGHT, size: valueSize, font: pdfFont, color: INK }));
    if (field.key === 'issuer.name') issuerEnd = { x: valueX, y: firstBaseline - (lines.length - 1) * valueSize * LINE_HEIGHT, size: valueSize };
  }

  // The issue date under the issuing agency's name, as on paper licences (the seal is stamped
  // across both), unless the layout places it itself.
  if (issuerEnd && !layout.fields.some((f) => f.key === 'issuedAt')) {
    page.drawText(formatDate(input.issuedAt)!, { x: issuerEnd.x, y: issuerEnd.y - issuerEnd.size * LINE_HEIGHT, size: issuerEnd.size, font: pdfFont, color: INK });
  }

  drawQr(page, input.qrUrl, layout.qr);
  if (layout.qr.y >= captionSize + 4) {
    const w = pdfFont.widthOfTextAtSize(QR_CAPTION, captionSize);
    page.drawText(QR_CAPTION, { x: layout.qr.x + (layout.qr.size - w) / 2, y: layout.qr.y - captionSize - 1, size: captionSize, font: pdfFont, color: LABEL_INK });
  }

  const issued = new Date(input.issuedAt);
  doc.setTitle(`${input.type.name} ${input.identifier}`);
  doc.setAuthor(input.issuer.name);
  doc.setSubject(input.type.name);
  doc.setKeywords([input.identifier, input.type.typeCode]);
  doc.setCreator('eseal');
  doc.setProducer('eseal');
  doc.setLanguage('zh-CN');
  doc.setCreationDate(issued);
  doc.setModificationDate(issued);
  // A file identifier (ISO 32000-1 §14.4) from the input: same licence, same /ID.
  const id = PDFHexString.of(digest.subarray(0, 16).toString('hex'));
  doc.context.trailerInfo.ID = doc.context.obj([id, id]);

  const bytes = await doc.save({ useObjectStreams: false });
  return { pdf: Buffer.from(bytes), sealRect: { page: 1, x: layout.seal.x, y: layout.seal.y, width: layout.seal.size } };
}
