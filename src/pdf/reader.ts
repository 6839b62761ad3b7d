/**
 * A strict, bounded PDF reader for what signing needs (ISO 32000-1 §7.5 file structure, §7.7
 * document structure, §12.7 interactive forms, §12.8 signatures): the cross-reference chain
 * (tables, streams, hybrid files, object streams, incremental updates, linearised files),
 * indirect objects on demand, trailer, catalog, page tree with inherited attributes, AcroForm
 * fields and existing signatures.
 *
 * The reader holds the input Buffer and never copies it: objects are parsed lazily from views,
 * and only cross-reference and object streams are decoded. Encrypted files are refused up
 * front (PDF_ENCRYPTED, 422): their strings would need decrypting and an update would have to be
 * encrypted too.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { DecodeBudget, decodeStream } from './filters';
import { encrypted, limitExceeded, malformed } from './errors';
import { resolveLimits, type PdfLimits } from './limits';
import { decodeTextString, PdfDict, PdfName, PdfRef, PdfStream, PdfString, type PdfObject } from './objects';
import { Parser } from './parser';
import { readXrefChain, type XrefChain, type XrefEntry, type XrefKind } from './xref';

export interface PdfReadOptions {
  limits?: Partial<PdfLimits>;
}

/** [llx, lly, urx, ury], normalised so ll < ur (§7.9.5). */
export type PdfRect = [number, number, number, number];

export interface PdfPage {
  /** 1-based. */
  number: number;
  ref: PdfRef;
  dict: PdfDict;
  mediaBox: PdfRect;
  cropBox: PdfRect;
  /** 0, 90, 180 or 270. */
  rotate: number;
  resources?: PdfObject;
}

export interface PdfField {
  ref: PdfRef;
  dict: PdfDict;
  /** Partial names joined with '.' (§12.7.3.2). */
  fullName: string;
  /** Field type, inherited (§12.7.3.1): 'Sig', 'Tx', 'Btn', 'Ch', or undefined. */
  type?: string;
}

export interface PdfSignatureInfo {
  field: PdfField;
  /** The signature dictionary (/V), if the field is signed. */
  value?: { ref?: PdfRef; dict: PdfDict };
  type?: string;
  subFilter?: string;
  byteRange?: number[];
  /** The /Contents string (the DER CMS plus its zero padding). */
  contents?: Buffer;
}

/** Where the entries of an uncompressed dictionary object lie in the file (see PdfDocument.rawDictionary). */
export interface PdfRawDictionary {
  /** Offset of the object header ("n g obj"). */
  offset: number;
  /** Offset just past the dictionary's closing ">>". */
  end: number;
  /** Every key in file order, duplicates kept, with the byte span [start, end) of its value. */
  entries: { key: string; start: number; end: number }[];
}

export interface PdfTrailer {
  root: PdfRef;
  info?: PdfRef;
  id?: [Buffer, Buffer];
  /** /Size of the newest section (one past the highest object number in use). */
  size: number;
}

/** The header version (§7.5.2), as [major, minor]. */
function readHeaderVersion(buf: Buffer): [number, number] {
  const at = buf.subarray(0, 1024).indexOf('%PDF-');
  if (at < 0) throw malformed('No %PDF- header in the first 1024 bytes');
  const m = /^%PDF-(\d)\.(\d)/.exec(buf.toString('latin1', at, at + 9));
  if (!m) throw malformed('Malformed %PDF- header', at);
  return [Number(m[1]), Number(m[2])];
}

export class PdfDocument {
  readonly limits: PdfLimits;
  readonly headerVersion: [number, number];
  readonly trailer: PdfTrailer;
  private readonly chain: XrefChain;
  private readonly budget: DecodeBudget;
  private readonly cache = new Map<number, PdfObject>();
  private readonly objStmCache = new Map<number, { parser: Parser; offsets: number[]; nums: number[] }>();
  private readonly resolving = new Set<number>();
  private pageList?: PdfPage[];

  constructor(
    readonly bytes: Buffer,
    options: PdfReadOptions = {},
  ) {
    this.limits = resolveLimits(options.limits);
    if (!Buffer.isBuffer(bytes)) throw malformed('Input is not a Buffer');
    if (bytes.length > this.limits.maxBytes) throw limitExceeded('file size in bytes', this.limits.maxBytes);
    this.headerVersion = readHeaderVersion(bytes);
    this.budget = new DecodeBudget(this.limits);
    this.chain = readXrefChain(bytes, this.limits, this.budget);
    this.trailer = this.readTrailer();
  }

  /** The kind of the newest cross-reference section: an update should write the same kind. */
  get xrefKind(): XrefKind {
    return this.chain.sections[0]!.kind;
  }

  /** What the last `startxref` says: the /Prev of the next update. */
  get startxref(): number {
    return this.chain.startxref;
  }

  /** Number of cross-reference sections (revisions, counting a linearised file's two as two). */
  get sectionCount(): number {
    return this.chain.sections.length;
  }

  /** One past the highest object number any section or trailer mentions. */
  get nextObjectNumber(): number {
    return Math.max(this.trailer.size, this.chain.table.size);
  }

  private readTrailer(): PdfTrailer {
    let root: PdfObject | undefined;
    let info: PdfObject | undefined;
    let id: PdfObject | undefined;
    let size = 0;
    for (const s of this.chain.sections) {
      const t = s.trailer;
      // §7.6.1: an encrypted document has /Encrypt in its (newest) trailer.
      if (t.has('Encrypt')) throw encrypted();
      root ??= t.get('Root');
      info ??= t.get('Info');
      id ??= t.get('ID');
      const sz = t.get('Size');
      if (typeof sz === 'number' && Number.isSafeInteger(sz) && sz > size) size = sz;
    }
    if (!(root instanceof PdfRef)) throw malformed('Trailer has no /Root reference');
    if (size > this.limits.maxObjects) throw limitExceeded('object number', this.limits.maxObjects);
    let ids: [Buffer, Buffer] | undefined;
    if (Array.isArray(id) && id.length === 2 && id[0] instanceof PdfString && id[1] instanceof PdfString) ids = [id[0].bytes, id[1].bytes];
    return { root, info: info instanceof PdfRef ? info : undefined, id: ids, size };
  }

  /** Follows a reference (one level); other values pass through. */
  resolve(o: PdfObject | undefined): PdfObject | undefined {
    return o instanceof PdfRef ? this.getObject(o) : o;
  }

  resolveDict(o: PdfObject | undefined): PdfDict | undefined {
    const v = this.resolve(o);
    return v instanceof PdfDict ? v : v instanceof PdfStream ? v.dict : undefined;
  }

  resolveArray(o: PdfObject | undefined): PdfObject[] | undefined {
    const v = this.resolve(o);
    return Array.isArray(v) ? v : undefined;
  }

  /** §7.3.10: a reference to a free or absent object is the null object. */
  getObject(ref: PdfRef): PdfObject {
    const cached = this.cache.get(ref.num);
    if (cached !== undefined && this.entryGenMatches(ref)) return cached;
    const entry = this.chain.table.get(ref.num);
    if (!entry || entry.type === 0) return null;
    if (this.resolving.has(ref.num)) throw malformed(`Circular reference while resolving object ${ref.num}`);
    this.resolving.add(ref.num);
    try {
      let value: PdfObject;
      if (entry.type === 1) {
        if (entry.b !== ref.gen) return null;
        if (entry.a <= 0 || entry.a >= this.bytes.length) throw malformed(`Object ${ref.num} offset outside the file`);
        const p = new Parser(this.bytes, this.limits.maxDepth);
        const obj = p.parseIndirectObject(entry.a, (lenRef) => this.getObject(lenRef));
        if (obj.num !== ref.num || obj.gen !== ref.gen) throw malformed(`Cross-reference entry for object ${ref.num} points at object ${obj.num}`, entry.a);
        value = obj.value;
      } else {
        if (ref.gen !== 0) return null;
        value = this.readCompressed(ref.num, entry.a, entry.b);
      }
      this.cache.set(ref.num, value);
      return value;
    } finally {
      this.resolving.delete(ref.num);
    }
  }

  private entryGenMatches(ref: PdfRef): boolean {
    const e = this.chain.table.get(ref.num);
    return e !== undefined && (e.type === 2 ? ref.gen === 0 : e.b === ref.gen);
  }

  /** §7.5.7: object `num` is number `index` in object stream `stmNum`. */
  private readCompressed(num: number, stmNum: number, index: number): PdfObject {
    let stm = this.objStmCache.get(stmNum);
    if (!stm) {
      const entry = this.chain.table.get(stmNum);
      if (!entry || entry.type !== 1) throw malformed(`Object stream ${stmNum} is not an uncompressed object`);
      const s = this.getObject(new PdfRef(stmNum, entry.b));
      if (!(s instanceof PdfStream) || s.dict.nameOf('Type') !== 'ObjStm') throw malformed(`Object ${stmNum} is not an object stream`);
      const n = s.dict.get('N');
      const first = s.dict.get('First');
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > this.limits.maxObjects) throw malformed(`Object stream ${stmNum} /N invalid`);
      const data = decodeStream(s, this.budget);
      if (typeof first !== 'number' || !Number.isInteger(first) || first < 0 || first > data.length) throw malformed(`Object stream ${stmNum} /First invalid`);
      const parser = new Parser(data, this.limits.maxDepth);
      const offsets: number[] = [];
      const nums: number[] = [];
      for (let i = 0; i < n; i++) {
        nums.push(parser.readUint());
        const off = parser.readUint();
        if (first + off >= data.length) throw malformed(`Object stream ${stmNum} offset out of range`);
        offsets.push(first + off);
        if (parser.pos > first) throw malformed(`Object stream ${stmNum} header overlaps its objects`);
      }
      stm = { parser, offsets, nums };
      this.objStmCache.set(stmNum, stm);
    }
    if (index >= stm.offsets.length) throw malformed(`Object ${num} index beyond object stream ${stmNum}`);
    const nums = stm.nums;
    if (nums[index] !== num) throw malformed(`Object stream ${stmNum} holds object ${nums[index]} where ${num} was expected`);
    stm.parser.pos = stm.offsets[index]!;
    const v = stm.parser.parseObject();
    if (v instanceof PdfStream) throw malformed('Stream inside an object stream');
    return v;
  }

  get catalogRef(): PdfRef {
    return this.trailer.root;
  }

  catalog(): PdfDict {
    const c = this.getObject(this.trailer.root);
    if (!(c instanceof PdfDict)) throw malformed('/Root is not a dictionary');
    return c;
  }

  /** max(header version, catalog /Version) (§7.2.2 of ISO 32000-1, Table 28). */
  version(): [number, number] {
    const v = this.catalog().get('Version');
    const h = this.headerVersion;
    if (v instanceof PdfName) {
      const m = /^(\d)\.(\d)$/.exec(v.name);
      if (m) {
        const c: [number, number] = [Number(m[1]), Number(m[2])];
        if (c[0] > h[0] || (c[0] === h[0] && c[1] > h[1])) return c;
      }
    }
    return h;
  }

  /** The page tree in document order (§7.7.3), walked once with cycle and depth checks. */
  pages(): PdfPage[] {
    if (this.pageList) return this.pageList;
    const rootRef = this.catalog().get('Pages');
    if (!(rootRef instanceof PdfRef)) throw malformed('Catalog /Pages is not an indirect reference');
    const out: PdfPage[] = [];
    const visited = new Set<string>();
    interface Inherited { mediaBox?: PdfObject; cropBox?: PdfObject; rotate?: PdfObject; resources?: PdfObject }
    const walk = (ref: PdfRef, inh: Inherited, depth: number): void => {
      if (depth > this.limits.maxDepth) throw limitExceeded('page tree depth', this.limits.maxDepth);
      if (visited.has(ref.key)) throw malformed('Page tree has a cycle or a shared node');
      visited.add(ref.key);
      const node = this.getObject(ref);
      if (!(node instanceof PdfDict)) throw malformed(`Page tree node ${ref.num} is not a dictionary`);
      const here: Inherited = {
        mediaBox: node.get('MediaBox') ?? inh.mediaBox,
        cropBox: node.get('CropBox') ?? inh.cropBox,
        rotate: node.get('Rotate') ?? inh.rotate,
        resources: node.get('Resources') ?? inh.resources,
      };
      const type = node.nameOf('Type');
      const kids = node.get('Kids');
      if (type === 'Pages' || (type === undefined && kids !== undefined)) {
        const arr = this.resolveArray(kids);
        if (!arr) throw malformed(`Pages node ${ref.num} has no /Kids array`);
        for (const k of arr) {
          if (!(k instanceof PdfRef)) throw malformed(`Pages node ${ref.num} has a direct kid`);
          walk(k, here, depth + 1);
        }
        return;
      }
      if (type !== 'Page' && type !== undefined) throw malformed(`Page tree node ${ref.num} has /Type /${type}`);
      if (out.length >= this.limits.maxPages) throw limitExceeded('pages', this.limits.maxPages);
      // Letter size when no MediaBox is inherited, as other readers do (it is required, §7.7.3.3).
      const mediaBox = this.rect(here.mediaBox) ?? [0, 0, 612, 792];
      const crop = this.rect(here.cropBox) ?? mediaBox;
      // §14.11.2: the crop box is clipped to the media box.
      const cropBox: PdfRect = [
        Math.max(crop[0], mediaBox[0]),
        Math.max(crop[1], mediaBox[1]),
        Math.min(crop[2], mediaBox[2]),
        Math.min(crop[3], mediaBox[3]),
      ];
      const rot = this.resolve(here.rotate);
      const rotate = typeof rot === 'number' && Number.isInteger(rot) && rot % 90 === 0 ? ((rot % 360) + 360) % 360 : 0;
      out.push({ number: out.length + 1, ref, dict: node, mediaBox, cropBox, rotate, resources: here.resources });
    };
    walk(rootRef, {}, 0);
    this.pageList = out;
    return out;
  }

  get pageCount(): number {
    return this.pages().length;
  }

  /** Page `n` (1-based), or undefined. */
  page(n: number): PdfPage | undefined {
    return Number.isInteger(n) && n >= 1 ? this.pages()[n - 1] : undefined;
  }

  private rect(o: PdfObject | undefined): PdfRect | undefined {
    const a = this.resolveArray(o);
    if (!a || a.length !== 4) return undefined;
    const n = a.map((x) => this.resolve(x));
    if (!n.every((x): x is number => typeof x === 'number')) return undefined;
    const [x1, y1, x2, y2] = n as number[];
    return [Math.min(x1!, x2!), Math.min(y1!, y2!), Math.max(x1!, x2!), Math.max(y1!, y2!)];
  }

  /** The interactive form dictionary (§12.7.2), if any. */
  acroForm(): PdfDict | undefined {
    return this.resolveDict(this.catalog().get('AcroForm'));
  }

  /** Terminal fields of the AcroForm field tree (§12.7.3.1), in tree order. */
  fields(): PdfField[] {
    const form = this.acroForm();
    if (!form) return [];
    const roots = this.resolveArray(form.get('Fields')) ?? [];
    const out: PdfField[] = [];
    const visited = new Set<string>();
    let count = 0;
    const walk = (ref: PdfObject, parentName: string, parentType: string | undefined, depth: number): void => {
      if (!(ref instanceof PdfRef)) return; // fields are indirect (§12.7.3.1); ignore anything else
      if (depth > this.limits.maxDepth) throw limitExceeded('field tree depth', this.limits.maxDepth);
      if (visited.has(ref.key)) return;
      visited.add(ref.key);
      if (++count > this.limits.maxFields) throw limitExceeded('form fields', this.limits.maxFields);
      const d = this.resolveDict(ref);
      if (!d) return;
      const t = d.get('T');
      const partial = t instanceof PdfString ? decodeTextString(t) : undefined;
      const fullName = partial === undefined ? parentName : parentName ? `${parentName}.${partial}` : partial;
      const type = d.nameOf('FT') ?? parentType;
      const kids = this.resolveArray(d.get('Kids'));
      // Kids without /T are widget annotations of this field, not fields (§12.7.3.1).
      const fieldKids = (kids ?? []).filter((k) => this.resolveDict(k)?.has('T'));
      if (fieldKids.length === 0) {
        out.push({ ref, dict: d, fullName, type });
        return;
      }
      for (const k of fieldKids) walk(k, fullName, type, depth + 1);
    };
    for (const r of roots) walk(r, '', undefined, 1);
    return out;
  }

  /** Signature fields (§12.7.4.5) and, where signed, their signature dictionaries (§12.8.1). */
  signatures(): PdfSignatureInfo[] {
    return this.fields()
      .filter((f) => f.type === 'Sig')
      .map((field) => {
        const v = field.dict.get('V');
        const dict = this.resolveDict(v);
        if (!dict) return { field };
        const br = this.resolveArray(dict.get('ByteRange'));
        const contents = this.resolve(dict.get('Contents'));
        return {
          field,
          value: { ref: v instanceof PdfRef ? v : undefined, dict },
          type: dict.nameOf('Type'),
          subFilter: dict.nameOf('SubFilter'),
          byteRange: br?.every((x) => typeof x === 'number') ? (br as number[]) : undefined,
          contents: contents instanceof PdfString ? contents.bytes : undefined,
        };
      });
  }

  /**
   * The cross-reference entry in force for object `num` (the newest section's), or undefined.
   * Verification compares entries between revisions to spot objects re-pointed at older bytes.
   */
  xrefEntry(num: number): XrefEntry | undefined {
    return this.chain.table.get(num);
  }

  /**
   * The byte layout of an uncompressed indirect dictionary: each key with the span of its
   * value, duplicates included (the parsed PdfDict keeps only the first). Signature
   * verification needs it to tie /ByteRange's gap to the /Contents string of the same
   * dictionary (ISO 32000-1 §12.8.1). Undefined when the object is compressed, free, or not a
   * dictionary; PDF_MALFORMED when its bytes do not parse.
   */
  rawDictionary(ref: PdfRef): PdfRawDictionary | undefined {
    const entry = this.chain.table.get(ref.num);
    if (!entry || entry.type !== 1 || entry.b !== ref.gen) return undefined;
    if (entry.a <= 0 || entry.a >= this.bytes.length) throw malformed(`Object ${ref.num} offset outside the file`);
    const p = new Parser(this.bytes, this.limits.maxDepth);
    p.pos = entry.a;
    if (p.readUint() !== ref.num || p.readUint() !== ref.gen) throw malformed(`Cross-reference entry for object ${ref.num} points at another object`, entry.a);
    p.expectKeyword('obj');
    p.skipWs();
    if (this.bytes[p.pos] !== 0x3c || this.bytes[p.pos + 1] !== 0x3c) return undefined;
    p.pos += 2;
    const entries: PdfRawDictionary['entries'] = [];
    for (;;) {
      p.skipWs();
      if (p.atEnd()) throw malformed('Unterminated dictionary', entry.a);
      if (this.bytes[p.pos] === 0x3e && this.bytes[p.pos + 1] === 0x3e) {
        p.pos += 2;
        return { offset: entry.a, end: p.pos, entries };
      }
      const keyAt = p.pos;
      const key = p.parseObject();
      if (!(key instanceof PdfName)) throw malformed('Dictionary key is not a name', keyAt);
      p.skipWs();
      const start = p.pos;
      p.parseObject();
      entries.push({ key: key.name, start, end: p.pos });
    }
  }

  /** Decodes a stream's data within this document's budget (FlateDecode or none). */
  decode(stream: PdfStream): Buffer {
    return decodeStream(stream, this.budget);
  }

  /** A deterministic file identifier (§14.4) for files that lack /ID. */
  fallbackId(): Buffer {
    return createHash('sha256').update(this.bytes).digest().subarray(0, 16);
  }
}

/** Opens a PDF for signing; throws PDF_MALFORMED / PDF_LIMIT_EXCEEDED / PDF_ENCRYPTED. */
export function readPdf(bytes: Buffer, options: PdfReadOptions = {}): PdfDocument {
  try {
    return new PdfDocument(bytes, options);
  } catch (e) {
    throw asPdfError(e);
  }
}

/**
 * Anything that escapes the parser that is not already one of ours (a RangeError from a bad
 * offset, say) is reported as PDF_MALFORMED with the original as `cause`.
 */
export function asPdfError(e: unknown): unknown {
  if (e instanceof AppError) return e;
  return malformed('The PDF could not be read', undefined, e);
}
