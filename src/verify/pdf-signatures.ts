/**
 * The PDF side of signature verification: the file's revisions, its signatures found strictly,
 * and every change made after each signed revision (STANDARDS.md verifier checklist items 1–5,
 * 7; ISO 32000-1 §7.5.6 incremental updates, §12.8 digital signatures; ETSI EN 319 142-1).
 * Pure and synchronous: bytes in, a plain description out. It never throws for a bad file:
 * an unreadable one is `{ readable: false, problems }`; everything else is a check or a change.
 *
 * Revisions. A revision ends at a `%%EOF` (plus one optional EOL) that is preceded only by
 * white space and `startxref N`, where the file prefix up to there is itself readable by the
 * strict reader and N points into the bytes that revision added. An `%%EOF` after the first
 * revision that fails this, while its startxref points into the new bytes (or its prefix reads
 * but has no cross-reference section of its own), is a refused update: reported as a
 * disallowed `unparseable-update`, never skipped. Bytes after the last revision that are not
 * white space are a disallowed `trailing-data` (or `unparseable-update` when they look like an
 * update). The signatures and the DSS are read from the last revision; a signature field only
 * an earlier revision has (removed, or hidden by a switched catalog) is reported too, with a
 * warning. At most MAX_REVISIONS revisions are analysed.
 *
 * Signatures (checks, group `format`; a failed check has a stable code):
 * - the signature dictionary is an indirect, uncompressed object with no repeated key (a second
 *   /Contents is the signature-wrapping trick: readers disagree on which one counts), /Type
 *   /Sig, /DocTimeStamp or absent, and the same object as at the signed revision;
 * - /Filter present and a name (ISO 32000-1 Table 252 requires it; STANDARDS item 1 fails
 *   closed on it). Adobe.PPKLite passes; any other handler name is only a warning, since
 *   /Filter names a preferred handler and /SubFilter decides the format;
 * - /SubFilter on the allow-list: ETSI.CAdES.detached and adbe.pkcs7.detached for /Sig,
 *   ETSI.RFC3161 for /DocTimeStamp; adbe.pkcs7.sha1, adbe.x509.rsa_sha1 and anything else
 *   fail as not supported;
 * - /Contents a direct hex string, not empty or all zeros, holding one DER (or BER
 *   indefinite-length) SEQUENCE followed only by zero padding (anything else in the unsigned
 *   gap is content nobody signed); the CMS is cut at the outer length, never by stripping zeros;
 * - /ByteRange a direct array of exactly 4 non-negative integers [0 a b c] with 0 < a < b and
 *   b + c within the file, whose gap [a, b) is exactly the byte span of this dictionary's own
 *   /Contents value (found by parsing the raw dictionary), `<` hex digits and white space `>`;
 * - coverage: WHOLE_DOCUMENT when b + c is the file's length, REVISION when it is the end of an
 *   earlier revision, otherwise PARTIAL (failed, BYTE_RANGE_NOT_REVISION); white space after
 *   a revision's %%EOF may be included;
 * - no two signatures share a dictionary, a gap, overlapping gaps or a signed revision;
 * - at most one certification signature (DocMDP, read from the signed revision: the catalog's
 *   /Perms /DocMDP, or a /Reference with /TransformMethod /DocMDP), and it is the first.
 *
 * Changes: see pdf-changes.ts. Each revision after the earliest signed one is compared with the
 * revision before it once; a signature's changes are those of every revision after its own,
 * plus the trailing data. The DocMDP policy for a revision is that of a certification
 * signature closing an earlier revision, or /P 2 without one.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import {
  DEFAULT_PDF_LIMITS,
  decodeTextString,
  PdfDict,
  PdfName,
  PdfRef,
  PdfStream,
  PdfString,
  readPdf,
  type PdfDocument,
  type PdfLimits,
  type PdfObject,
  type PdfSignatureInfo,
  type XrefKind,
} from '../pdf';
import { classifyChanges, classifyRevision, GraphBudget, GraphBudgetExceeded, snapshotRevision, UNCERTIFIED_POLICY, type ChangePolicy, type RevisionSnapshot } from './pdf-changes';
import type { Check, DocumentChange } from './report';

export interface PdfRevision {
  /** 1-based; `revisions[i].number === i + 1`. */
  number: number;
  /** Offset just past the revision's %%EOF and its optional EOL: the revision is bytes [0, end). */
  end: number;
  /** The cross-reference offset its startxref gives. */
  startxref: number;
  xrefKind: XrefKind;
  /**
   * What this revision changed in the one before, classified. Filled for revisions after the
   * earliest signed one (earlier ones are not compared); refused updates inside a revision's
   * bytes are listed here too.
   */
  changes: DocumentChange[];
}

export interface PdfVriEntry {
  /** Upper-case hex SHA-1 of the signature's /Contents string (ETSI EN 319 142-1 §5.4.2.3). */
  key: string;
  certs: Buffer[];
  ocsps: Buffer[];
  crls: Buffer[];
  /** /TU, the time the validation data was gathered, as written (a PDF date). */
  time?: string;
}

/** The Document Security Store (ETSI EN 319 142-1 §5.4.2), decoded within the reader's bounds. */
export interface PdfDss {
  certs: Buffer[];
  ocsps: Buffer[];
  crls: Buffer[];
  vri: PdfVriEntry[];
  /** Entries that could not be decoded (warnings): the rest is still usable. */
  problems: Check[];
}

export interface PdfSignatureCandidate {
  /** The field's full name (§12.7.3.2): stable per document. */
  fieldName: string;
  /** "n g R". */
  fieldRef: string;
  /** "n g R" of the signature dictionary; undefined when /V is a direct dictionary (a failed check). */
  sigRef?: string;
  type: 'Sig' | 'DocTimeStamp';
  filter?: string;
  subFilter?: string;
  /** Present when /ByteRange is an array of 4 numbers (whether or not its checks pass). */
  byteRange?: number[];
  /** The DER CMS (or RFC 3161 token) cut at its outer length; undefined when /Contents is unusable. */
  cms?: Buffer;
  /** Upper-case hex SHA-1 of the whole /Contents string: the signature's /VRI key. */
  vriKey?: string;
  /** The two signed byte ranges (views of the input, not copies), when /ByteRange lies inside the file. */
  signedRanges?: [Buffer, Buffer];
  /** Hashes the signed ranges without copying them, e.g. digest('sha256'); undefined with signedRanges. */
  digest?: (algorithm: string) => Buffer;
  /** The signed bytes as one Buffer (a copy: for APIs that want the data, e.g. a document time-stamp's imprint). */
  signedBytes?: () => Buffer;
  /** /M as written, and parsed when it is a valid PDF date: a claim, not proof (checklist item 6). */
  claimedSigningTimeRaw?: string;
  claimedSigningTime?: Date;
  name?: string;
  reason?: string;
  location?: string;
  contactInfo?: string;
  /** A DocMDP signature (ISO 32000-1 §12.8.2.2), read from the signed revision. */
  isCertification: boolean;
  /** DocMDP /P (default 2); set only for certification signatures. An invalid value reads as 1. */
  docMdpP?: 1 | 2 | 3;
  /** 1-based revision whose end is the ByteRange's end; undefined when PARTIAL. */
  signedRevision?: number;
  coverage: 'WHOLE_DOCUMENT' | 'REVISION' | 'PARTIAL';
  /** Anything at all follows the signed bytes (a later revision or trailing data), or the coverage is partial. */
  modifiedAfterSigning: boolean;
  /** Changes after the signed revision, classified (pdf-changes.ts); empty when PARTIAL. */
  changes: DocumentChange[];
  /** Format checks (group 'format'), passed ones included. */
  checks: Check[];
}

export interface ReadablePdfAnalysis {
  readable: true;
  size: number;
  revisions: PdfRevision[];
  /**
   * Signed signature fields, in file order (by signed end, then position): those of the last
   * revision, and those of earlier revisions the last one no longer shows (with a warning check
   * SIGNATURE_NOT_IN_LAST_REVISION).
   */
  signatures: PdfSignatureCandidate[];
  /** The newest DSS (the last revision's catalog /DSS). */
  dss?: PdfDss;
  /**
   * The earliest revision from which the DSS holds what the newest one holds (the revision
   * that last changed it); undefined without a DSS.
   */
  dssRevision?: number;
  /** The DSS as of revision `n` (1-based), read on demand. */
  dssAt(revision: number): PdfDss | undefined;
  /** Bytes after the last revision (disallowed), as changes: empty when there are none. */
  trailing: DocumentChange[];
  /** Problems with the document as a whole. */
  problems: Check[];
}

export interface UnreadablePdfAnalysis {
  readable: false;
  size: number;
  problems: Check[];
}

export type PdfAnalysis = ReadablePdfAnalysis | UnreadablePdfAnalysis;

// ---------------------------------------------------------------------------------------------

const WS = new Uint8Array(256);
for (const c of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) WS[c] = 1;
const isWs = (c: number | undefined): boolean => c !== undefined && WS[c] === 1;
const HEXWS = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEXWS[c.charCodeAt(0)] = 1;
for (const c of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) HEXWS[c] = 1;

/**
 * Revisions analysed at most. Each revision is read on its own (its prefix must be readable),
 * so the cost grows with the square of their number: 512 takes about a second and is far more
 * than a document re-time-stamped yearly for a century needs. Beyond it the rest of the file
 * is an unreadable update (fail closed) and a PDF_LIMIT_EXCEEDED problem.
 */
const MAX_REVISIONS = 512;

const TAIL = /startxref[\0\t\n\f\r ]+(\d{1,15})[\0\t\n\f\r ]+$/;

const ACCEPTED_SUBFILTERS: Record<'Sig' | 'DocTimeStamp', readonly string[]> = {
  Sig: ['ETSI.CAdES.detached', 'adbe.pkcs7.detached'],
  DocTimeStamp: ['ETSI.RFC3161'],
};
const DEPRECATED_SUBFILTERS = ['adbe.pkcs7.sha1', 'adbe.x509.rsa_sha1'];

function fmt(name: string, result: Check['result'], reason: string, code?: string): Check {
  const c: Check = { group: 'format', name, result, reason };
  if (code !== undefined) c.code = code;
  return c;
}

/** A name for a report: only safe characters, bounded. */
function safe(s: string, max = 60): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

function errorCode(e: unknown): string {
  return e instanceof AppError ? e.code : 'PDF_MALFORMED';
}

function errorReason(e: unknown): string {
  return e instanceof Error ? safe(e.message, 200) : 'The PDF could not be read';
}

// ---------------------------------------------------------------------------------------------
// Revisions

interface RevisionInfo {
  end: number;
  startxref: number;
  doc: PdfDocument;
}

interface Refused {
  /** Offset of the refused update's %%EOF. */
  at: number;
  reason: string;
}

function findRevisions(bytes: Buffer, limits: Partial<PdfLimits> | undefined, maxSections: number): { revisions: RevisionInfo[]; refused: Refused[]; error?: unknown } {
  const revisions: RevisionInfo[] = [];
  const refused: Refused[] = [];
  let error: unknown;
  let candidates = 0;
  for (let from = 0; ; ) {
    const p = bytes.indexOf('%%EOF', from, 'latin1');
    if (p < 0) break;
    from = p + 5;
    const n = bytes[p + 5];
    if (n !== undefined && !isWs(n)) continue;
    let end = p + 5;
    if (n === 0x0d) {
      end++;
      if (bytes[end] === 0x0a) end++;
    } else if (n === 0x0a) end++;
    const m = TAIL.exec(bytes.toString('latin1', Math.max(0, p - 64), p));
    if (!m) continue;
    if (++candidates > maxSections) return { revisions, refused, error: new AppError('PDF_LIMIT_EXCEEDED', `The PDF exceeds a limit: revisions (limit ${maxSections})`) };
    const startxref = Number(m[1]);
    const prevEnd = revisions.length > 0 ? revisions[revisions.length - 1]!.end : 0;
    let doc: PdfDocument;
    try {
      doc = readPdf(bytes.subarray(0, end), { limits });
    } catch (e) {
      error ??= e;
      // An update of this file (its startxref points into its own new bytes) that does not read.
      if (revisions.length > 0 && startxref >= prevEnd && startxref < p) {
        refused.push({ at: p, reason: `An incremental update cannot be read by the strict reader (${errorCode(e)})` });
      }
      continue;
    }
    if (revisions.length > 0 && (startxref < prevEnd || doc.startxref !== startxref)) {
      refused.push({ at: p, reason: 'An update ends with startxref/%%EOF but has no cross-reference section of its own' });
      continue;
    }
    revisions.push({ end, startxref, doc });
  }
  return { revisions, refused, error };
}

// ---------------------------------------------------------------------------------------------
// DER framing

/** End offset of the BER/DER TLV at `pos` (definite or indefinite length), or undefined. */
function tlvEnd(buf: Buffer, pos: number, depth: number): number | undefined {
  if (depth > 64 || pos + 2 > buf.length) return undefined;
  let p = pos;
  const tag = buf[p++]!;
  if ((tag & 0x1f) === 0x1f) {
    let n = 0;
    while (p < buf.length && (buf[p]! & 0x80) !== 0) {
      p++;
      if (++n > 4) return undefined;
    }
    p++;
  }
  if (p >= buf.length) return undefined;
  const l0 = buf[p++]!;
  if (l0 < 0x80) return p + l0 <= buf.length ? p + l0 : undefined;
  if (l0 === 0x80) {
    if ((tag & 0x20) === 0) return undefined; // indefinite length needs a constructed type
    for (;;) {
      if (p + 2 > buf.length) return undefined;
      if (buf[p] === 0 && buf[p + 1] === 0) return p + 2;
      const e = tlvEnd(buf, p, depth + 1);
      if (e === undefined) return undefined;
      p = e;
    }
  }
  const n = l0 & 0x7f;
  if (n > 4 || p + n > buf.length) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
  const end = p + n + len;
  return end <= buf.length ? end : undefined;
}

// ---------------------------------------------------------------------------------------------
// Small readers

/** ISO 32000-1 §7.9.4: D:YYYYMMDDHHmmSSOHH'mm' → ISO 8601 UTC, or undefined. */
export function parsePdfDate(s: string): Date | undefined {
  const m = /^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:(Z)(?:00'?(?:00'?)?)?|([+-])(\d{2})'?(?:(\d{2})'?)?)?$/.exec(s.trim());
  if (!m) return undefined;
  const [y, mo = '01', d = '01', h = '00', mi = '00', se = '00'] = m.slice(1, 7) as string[];
  const nums = [y, mo, d, h, mi, se].map(Number) as [number, number, number, number, number, number];
  if (nums[1] < 1 || nums[1] > 12 || nums[2] < 1 || nums[2] > 31 || nums[3] > 23 || nums[4] > 59 || nums[5] > 59) return undefined;
  let t = Date.UTC(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5]);
  const check = new Date(t);
  if (check.getUTCDate() !== nums[2]) return undefined; // 31 February
  if (m[8]) {
    const off = (Number(m[9]) * 60 + Number(m[10] ?? 0)) * 60_000;
    if (Number(m[9]) > 23 || Number(m[10] ?? 0) > 59) return undefined;
    t += m[8] === '+' ? -off : off;
  }
  return new Date(t);
}

function text(v: PdfObject | undefined): string | undefined {
  if (!(v instanceof PdfString)) return undefined;
  const s = decodeTextString(v);
  return s.length > 1024 ? s.slice(0, 1024) : s;
}

function readDss(doc: PdfDocument): PdfDss | undefined {
  let dss: PdfDict | undefined;
  try {
    dss = doc.resolveDict(doc.catalog().get('DSS'));
  } catch {
    return undefined;
  }
  if (!dss) return undefined;
  const problems: Check[] = [];
  const cache = new Map<string, Buffer | undefined>();
  const decode = (o: PdfObject, what: string): Buffer | undefined => {
    const key = o instanceof PdfRef ? o.key : undefined;
    if (key && cache.has(key)) return cache.get(key);
    let out: Buffer | undefined;
    try {
      const s = doc.resolve(o);
      if (s instanceof PdfStream) out = doc.decode(s);
      else problems.push(fmt('dss', 'warning', `A DSS ${what} entry is not a stream`, 'DSS_ENTRY_UNREADABLE'));
    } catch (e) {
      problems.push(fmt('dss', 'warning', `A DSS ${what} entry cannot be decoded (${errorCode(e)})`, 'DSS_ENTRY_UNREADABLE'));
    }
    if (key) cache.set(key, out);
    return out;
  };
  const list = (d: PdfDict, key: string, what: string): Buffer[] => {
    let arr: PdfObject[] | undefined;
    try {
      arr = doc.resolveArray(d.get(key));
    } catch {
      arr = undefined;
    }
    return (arr ?? []).map((o) => decode(o, what)).filter((b): b is Buffer => b !== undefined);
  };
  const out: PdfDss = { certs: list(dss, 'Certs', 'certificate'), ocsps: list(dss, 'OCSPs', 'OCSP'), crls: list(dss, 'CRLs', 'CRL'), vri: [], problems };
  let vri: PdfDict | undefined;
  try {
    vri = doc.resolveDict(dss.get('VRI'));
  } catch {
    vri = undefined;
  }
  for (const [key, v] of vri?.map ?? []) {
    let e: PdfDict | undefined;
    try {
      e = doc.resolveDict(v);
    } catch {
      e = undefined;
    }
    if (!e || !/^[0-9A-Fa-f]{40}$/.test(key)) continue;
    const tu = e.get('TU');
    const entry: PdfVriEntry = { key: key.toUpperCase(), certs: list(e, 'Cert', 'certificate'), ocsps: list(e, 'OCSP', 'OCSP'), crls: list(e, 'CRL', 'CRL') };
    if (tu instanceof PdfString) entry.time = safe(tu.latin1, 64);
    out.vri.push(entry);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * Finds the signatures of a PDF strictly and classifies every change after each signed
 * revision (see the module comment). Never throws.
 */
export function analysePdfSignatures(bytes: Buffer, limits?: Partial<PdfLimits>): PdfAnalysis {
  const size = Buffer.isBuffer(bytes) ? bytes.length : 0;
  try {
    return analyse(bytes, limits);
  } catch (e) {
    // A defect of ours must not become an exception for a caller verifying untrusted input.
    return { readable: false, size, problems: [fmt('pdf-structure', 'failed', `The PDF could not be analysed (${errorCode(e)})`, 'PDF_ANALYSIS_FAILED')] };
  }
}

function analyse(bytes: Buffer, partialLimits: Partial<PdfLimits> | undefined): PdfAnalysis {
  if (!Buffer.isBuffer(bytes)) return { readable: false, size: 0, problems: [fmt('pdf-structure', 'failed', 'The input is not a byte buffer', 'PDF_MALFORMED')] };
  const limits: PdfLimits = { ...DEFAULT_PDF_LIMITS, ...(partialLimits ?? {}) };
  const size = bytes.length;
  if (size > limits.maxBytes) {
    return { readable: false, size, problems: [fmt('pdf-structure', 'failed', `The file exceeds ${limits.maxBytes} bytes`, 'PDF_LIMIT_EXCEEDED')] };
  }
  const found = findRevisions(bytes, partialLimits, Math.min(limits.maxXrefSections, MAX_REVISIONS));
  if (found.revisions.length === 0) {
    let err = found.error;
    if (err === undefined) {
      try {
        readPdf(bytes, { limits: partialLimits });
        err = new AppError('PDF_MALFORMED', 'No revision ends with "startxref N %%EOF"');
      } catch (e) {
        err = e;
      }
    }
    return { readable: false, size, problems: [fmt('pdf-structure', 'failed', errorReason(err), errorCode(err))] };
  }
  const problems: Check[] = [];
  const revs = found.revisions;
  const revisions: PdfRevision[] = revs.map((r, i) => ({ number: i + 1, end: r.end, startxref: r.startxref, xrefKind: r.doc.xrefKind, changes: [] }));
  const last = revs[revs.length - 1]!;
  const finalDoc = last.doc;

  // Refused updates inside a revision's bytes, and whatever follows the last revision.
  const trailing: DocumentChange[] = [];
  if (found.error instanceof AppError && found.error.code === 'PDF_LIMIT_EXCEEDED') {
    problems.push(fmt('pdf-structure', 'failed', errorReason(found.error), 'PDF_LIMIT_EXCEEDED'));
    trailing.push({ revision: revs.length + 1, kind: 'change-analysis-incomplete', allowed: false, description: "Updates beyond the verifier's revision limit were not analysed" });
  }
  for (const r of found.refused) {
    const idx = revs.findIndex((x) => r.at < x.end);
    const change: DocumentChange = { revision: idx < 0 ? revs.length + 1 : idx + 1, kind: 'unparseable-update', allowed: false, description: r.reason };
    if (idx < 0) trailing.push(change);
    else revisions[idx]!.changes.push(change);
  }
  const tail = bytes.subarray(last.end);
  if (tail.some((c) => !isWs(c)) && trailing.length === 0) {
    const looksLikeUpdate = ['obj', 'xref', 'trailer', 'startxref', '%%EOF'].some((k) => tail.includes(k, 0, 'latin1'));
    trailing.push({
      revision: revs.length + 1,
      kind: looksLikeUpdate ? 'unparseable-update' : 'trailing-data',
      allowed: false,
      description: looksLikeUpdate
        ? 'Bytes after the last %%EOF look like an incremental update the strict reader cannot read'
        : 'Bytes that are not white space follow the last %%EOF',
    });
  }
  const after = trailing.find((c) => c.kind !== 'change-analysis-incomplete');
  if (after) problems.push(fmt('trailing-data', 'failed', after.description, after.kind === 'trailing-data' ? 'PDF_TRAILING_DATA' : 'PDF_UPDATE_UNREADABLE'));

  // Signatures of the last revision, then those of earlier revisions that it no longer shows
  // (a signature removed, or hidden by a catalog switched after signing, is still reported).
  const byKey = new Map<string, { info: PdfSignatureInfo; doc: PdfDocument; inLast: boolean }>();
  for (let r = revs.length - 1; r >= 0; r--) {
    let infos: PdfSignatureInfo[];
    try {
      infos = revs[r]!.doc.signatures().filter((s) => s.value !== undefined);
    } catch (e) {
      if (r === revs.length - 1) problems.push(fmt('signature-fields', 'failed', `The form field tree cannot be read (${errorCode(e)})`, errorCode(e)));
      continue;
    }
    for (const info of infos) {
      const key = `${info.field.ref.key}/${info.value!.ref?.key ?? info.byteRange?.join(',') ?? ''}`;
      if (!byKey.has(key)) byKey.set(key, { info, doc: revs[r]!.doc, inLast: r === revs.length - 1 });
    }
  }
  const candidates = [...byKey.values()].map(({ info, doc, inLast }) => {
    const e = examine(bytes, revs, doc, info);
    if (!inLast) {
      e.candidate.checks.push(fmt('signature-presence', 'warning', "The signature is not part of the document's last revision: a later update removed or hid it", 'SIGNATURE_NOT_IN_LAST_REVISION'));
    }
    return e;
  });
  candidates.sort((x, y) => x.order - y.order);
  const signatures = candidates.map((c) => c.candidate);
  crossChecks(candidates);

  // Changes after the earliest signed revision, one comparison per revision.
  const signedRevs = signatures.map((s) => s.signedRevision).filter((r): r is number => r !== undefined);
  if (signedRevs.length > 0) {
    const cert = signatures.find((s) => s.isCertification && s.signedRevision !== undefined);
    const policy = (j: number): ChangePolicy =>
      cert && j > cert.signedRevision! ? { certified: true, p: cert.docMdpP ?? 2 } : UNCERTIFIED_POLICY;
    compareRevisions(revs, revisions, Math.min(...signedRevs), policy, limits);
  }

  let dss: PdfDss | undefined;
  try {
    dss = readDss(finalDoc);
  } catch {
    dss = undefined;
  }
  if (dss) problems.push(...dss.problems);
  const dssCache = new Map<number, PdfDss | undefined>();
  const analysis: ReadablePdfAnalysis = {
    readable: true,
    size,
    revisions,
    signatures,
    dss,
    dssAt(revision: number): PdfDss | undefined {
      if (!Number.isInteger(revision) || revision < 1 || revision > revs.length) return undefined;
      if (revision === revs.length) return dss;
      if (!dssCache.has(revision)) {
        let d: PdfDss | undefined;
        try {
          d = readDss(revs[revision - 1]!.doc);
        } catch {
          d = undefined;
        }
        dssCache.set(revision, d);
      }
      return dssCache.get(revision);
    },
    trailing,
    problems,
  };
  analysis.dssRevision = dssRevision(analysis);
  for (const s of signatures) {
    s.changes = classifyChanges(bytes, analysis, s);
    s.modifiedAfterSigning = s.coverage === 'PARTIAL' || s.changes.length > 0 || (s.signedRevision !== undefined && s.signedRevision < revs.length);
  }
  return analysis;
}

function sameDss(a: PdfDss | undefined, b: PdfDss | undefined): boolean {
  if (!a || !b) return a === b;
  const same = (x: Buffer[], y: Buffer[]) => x.length === y.length && x.every((v, i) => v.equals(y[i]!));
  return same(a.certs, b.certs) && same(a.ocsps, b.ocsps) && same(a.crls, b.crls) && a.vri.map((v) => v.key).join() === b.vri.map((v) => v.key).join();
}

function dssRevision(analysis: ReadablePdfAnalysis): number | undefined {
  if (!analysis.dss) return undefined;
  let r = analysis.revisions.length;
  while (r > 1 && sameDss(analysis.dssAt(r - 1), analysis.dss)) r--;
  return r;
}

function compareRevisions(revs: RevisionInfo[], revisions: PdfRevision[], from: number, policy: (j: number) => ChangePolicy, limits: PdfLimits): void {
  if (from >= revs.length) return;
  // Every object visit (an object reached under one role) costs one unit: four times the
  // object limit covers a document compared across several revisions, and no more.
  const budget = new GraphBudget(4 * limits.maxObjects);
  const incomplete = (j: number): DocumentChange => ({
    revision: j,
    kind: 'change-analysis-incomplete',
    allowed: false,
    description: 'The revision could not be compared within the verifier\'s bounds',
  });
  let prev: RevisionSnapshot | undefined;
  try {
    prev = snapshotRevision(revs[from - 1]!.doc, from, revs[from - 1]!.end, budget);
  } catch {
    prev = undefined;
  }
  for (let j = from + 1; j <= revs.length; j++) {
    const target = revisions[j - 1]!;
    if (!prev) {
      target.changes.push(incomplete(j));
      continue;
    }
    try {
      const next = snapshotRevision(revs[j - 1]!.doc, j, revs[j - 1]!.end, budget, prev);
      target.changes.push(...classifyRevision(prev, next, policy(j)));
      prev = next;
    } catch (e) {
      if (!(e instanceof GraphBudgetExceeded)) {
        target.changes.push({ revision: j, kind: 'unparseable-update', allowed: false, description: 'The revision cannot be compared: the strict reader refuses part of it' });
      } else {
        target.changes.push(incomplete(j));
      }
      prev = undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One signature

interface Examined {
  candidate: PdfSignatureCandidate;
  /** Sort key: the signed end, else the dictionary's offset. */
  order: number;
  gap?: [number, number];
}

/** One signature, as `sourceDoc` (the newest revision that has its field) shows it. */
function examine(bytes: Buffer, revs: RevisionInfo[], sourceDoc: PdfDocument, info: PdfSignatureInfo): Examined {
  const checks: Check[] = [];
  const dict = info.value!.dict;
  const sigRef = info.value!.ref;
  const typeName = dict.nameOf('Type');
  const type: 'Sig' | 'DocTimeStamp' = typeName === 'DocTimeStamp' ? 'DocTimeStamp' : 'Sig';
  const c: PdfSignatureCandidate = {
    fieldName: info.field.fullName,
    fieldRef: `${info.field.ref.key} R`,
    type,
    isCertification: false,
    coverage: 'PARTIAL',
    modifiedAfterSigning: true,
    changes: [],
    checks,
  };
  if (sigRef) c.sigRef = `${sigRef.key} R`;
  const filter = dict.get('Filter');
  const subFilter = dict.get('SubFilter');
  if (filter instanceof PdfName) c.filter = safe(filter.name);
  if (subFilter instanceof PdfName) c.subFilter = safe(subFilter.name);
  const m = dict.get('M');
  if (m instanceof PdfString) {
    c.claimedSigningTimeRaw = safe(m.latin1, 64);
    c.claimedSigningTime = parsePdfDate(m.latin1);
  }
  const nm = text(dict.get('Name'));
  const reason = text(dict.get('Reason'));
  const loc = text(dict.get('Location'));
  const contact = text(dict.get('ContactInfo'));
  if (nm !== undefined) c.name = nm;
  if (reason !== undefined) c.reason = reason;
  if (loc !== undefined) c.location = loc;
  if (contact !== undefined) c.contactInfo = contact;

  // The signature dictionary itself.
  let raw: ReturnType<PdfDocument['rawDictionary']>;
  let dictProblem: Check | undefined;
  if (!sigRef) {
    dictProblem = fmt('signature-dictionary', 'failed', 'The signature dictionary is not an indirect object (ISO 32000-1 Table 232)', 'SIGNATURE_DICT_NOT_INDIRECT');
  } else {
    try {
      raw = sourceDoc.rawDictionary(sigRef);
      if (!raw) dictProblem = fmt('signature-dictionary', 'failed', 'The signature dictionary is inside an object stream: its /Contents cannot be excluded from the signed bytes', 'SIGNATURE_DICT_COMPRESSED');
    } catch (e) {
      dictProblem = fmt('signature-dictionary', 'failed', `The signature dictionary cannot be read (${errorCode(e)})`, 'SIGNATURE_DICT_MALFORMED');
    }
  }
  if (!dictProblem && raw) {
    const seen = new Set<string>();
    const dup = raw.entries.find((e) => (seen.has(e.key) ? true : (seen.add(e.key), false)));
    if (dup) dictProblem = fmt('signature-dictionary', 'failed', `The signature dictionary repeats /${safe(dup.key, 40)}`, 'SIGNATURE_DICT_DUPLICATE_KEY');
  }
  if (!dictProblem && typeName !== undefined && typeName !== 'Sig' && typeName !== 'DocTimeStamp') {
    dictProblem = fmt('signature-dictionary', 'failed', `The signature dictionary has /Type /${safe(typeName, 40)}`, 'SIGNATURE_TYPE_INVALID');
  }
  checks.push(dictProblem ?? fmt('signature-dictionary', 'passed', 'The signature dictionary is an indirect, uncompressed object without repeated keys'));

  // /Filter and /SubFilter (checklist item 1).
  if (filter === undefined) checks.push(fmt('filter', 'failed', 'The signature dictionary has no /Filter', 'FILTER_MISSING'));
  else if (!(filter instanceof PdfName)) checks.push(fmt('filter', 'failed', '/Filter is not a name', 'FILTER_INVALID'));
  else if (filter.name !== 'Adobe.PPKLite') checks.push(fmt('filter', 'warning', `/Filter names the handler /${safe(filter.name, 40)}; /SubFilter decides the format`, 'FILTER_UNEXPECTED'));
  else checks.push(fmt('filter', 'passed', '/Filter is /Adobe.PPKLite'));

  if (subFilter === undefined) checks.push(fmt('sub-filter', 'failed', 'The signature dictionary has no /SubFilter', 'SUBFILTER_MISSING'));
  else if (!(subFilter instanceof PdfName)) checks.push(fmt('sub-filter', 'failed', '/SubFilter is not a name', 'SUBFILTER_INVALID'));
  else if (DEPRECATED_SUBFILTERS.includes(subFilter.name)) {
    checks.push(fmt('sub-filter', 'failed', `/SubFilter /${subFilter.name} (SHA-1 based, deprecated by ISO 32000-2) is not supported`, 'SUBFILTER_UNSUPPORTED'));
  } else if (![...ACCEPTED_SUBFILTERS.Sig, ...ACCEPTED_SUBFILTERS.DocTimeStamp].includes(subFilter.name)) {
    checks.push(fmt('sub-filter', 'failed', `/SubFilter /${safe(subFilter.name, 40)} is not supported`, 'SUBFILTER_UNSUPPORTED'));
  } else if (!ACCEPTED_SUBFILTERS[type].includes(subFilter.name)) {
    checks.push(fmt('sub-filter', 'failed', `/SubFilter /${subFilter.name} does not fit /Type /${type}`, 'SUBFILTER_TYPE_MISMATCH'));
  } else {
    checks.push(fmt('sub-filter', 'passed', `/SubFilter /${subFilter.name}`));
  }

  // /Contents: a direct hex string holding one DER SEQUENCE and zero padding.
  const contents = dict.get('Contents');
  if (contents === undefined) checks.push(fmt('contents', 'failed', 'The signature dictionary has no /Contents', 'CONTENTS_MISSING'));
  else if (contents instanceof PdfRef) checks.push(fmt('contents', 'failed', '/Contents is an indirect reference, so it cannot be the unsigned gap', 'CONTENTS_NOT_DIRECT'));
  else if (!(contents instanceof PdfString)) checks.push(fmt('contents', 'failed', '/Contents is not a string', 'CONTENTS_NOT_STRING'));
  else if (!contents.hex) checks.push(fmt('contents', 'failed', '/Contents is not a hexadecimal string', 'CONTENTS_NOT_HEX'));
  else {
    const b = contents.bytes;
    c.vriKey = createHash('sha1').update(b).digest('hex').toUpperCase();
    const end = b.length > 0 && b[0] === 0x30 ? tlvEnd(b, 0, 0) : undefined;
    if (b.length === 0 || !b.some((x) => x !== 0)) checks.push(fmt('contents', 'failed', '/Contents is empty or all zeros', 'CONTENTS_EMPTY'));
    else if (end === undefined) checks.push(fmt('contents', 'failed', '/Contents does not hold a DER SEQUENCE that fits in it', 'CONTENTS_NOT_DER'));
    else if (b.subarray(end).some((x) => x !== 0)) checks.push(fmt('contents', 'failed', '/Contents has non-zero bytes after the CMS', 'CONTENTS_TRAILING_DATA'));
    else {
      c.cms = b.subarray(0, end);
      checks.push(fmt('contents', 'passed', `/Contents holds a ${end}-byte CMS and zero padding`));
    }
  }

  // /ByteRange: exactly [0 a b c], direct, inside the file.
  const brObj = dict.get('ByteRange');
  let br: [number, number, number, number] | undefined;
  if (Array.isArray(brObj) && brObj.length === 4 && brObj.every((x) => typeof x === 'number')) c.byteRange = [...(brObj as number[])];
  if (brObj === undefined) checks.push(fmt('byte-range', 'failed', 'The signature dictionary has no /ByteRange', 'BYTE_RANGE_MISSING'));
  else if (!Array.isArray(brObj)) checks.push(fmt('byte-range', 'failed', '/ByteRange is not a direct array', 'BYTE_RANGE_MALFORMED'));
  else if (brObj.length !== 4 || !brObj.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    checks.push(fmt('byte-range', 'failed', '/ByteRange is not exactly 4 non-negative integers', 'BYTE_RANGE_MALFORMED'));
  } else {
    const [s0, a, b, l] = brObj as number[] as [number, number, number, number];
    if (s0 !== 0) checks.push(fmt('byte-range', 'failed', '/ByteRange does not start at 0', 'BYTE_RANGE_MALFORMED'));
    else if (!(a > 0 && a < b)) checks.push(fmt('byte-range', 'failed', '/ByteRange ranges are out of order', 'BYTE_RANGE_MALFORMED'));
    else if (b + l > bytes.length) checks.push(fmt('byte-range', 'failed', '/ByteRange reaches beyond the end of the file', 'BYTE_RANGE_MALFORMED'));
    else {
      br = [s0, a, b, l];
      checks.push(fmt('byte-range', 'passed', '/ByteRange is [0 a b c] inside the file'));
    }
  }
  let order = raw?.offset ?? Number.MAX_SAFE_INTEGER;
  let gap: [number, number] | undefined;
  if (br) {
    const [, a, b, l] = br;
    const signedEnd = b + l;
    order = signedEnd;
    gap = [a, b];
    const r1 = bytes.subarray(0, a);
    const r2 = bytes.subarray(b, signedEnd);
    c.signedRanges = [r1, r2];
    c.digest = (algorithm: string) => createHash(algorithm).update(r1).update(r2).digest();
    c.signedBytes = () => Buffer.concat([r1, r2]);

    // Checklist item 2: the gap is exactly this dictionary's own /Contents string.
    const spans = raw?.entries.filter((e) => e.key === 'Contents') ?? [];
    const span = spans[0];
    let gapProblem: string | undefined;
    if (!raw) gapProblem = 'the signature dictionary cannot be located in the file';
    else if (!span) gapProblem = 'the signature dictionary has no /Contents in the file';
    else if (span.start !== a || span.end !== b) gapProblem = 'the gap is not the /Contents string of this signature dictionary';
    else if (bytes[a] !== 0x3c || bytes[a + 1] === 0x3c || bytes[b - 1] !== 0x3e) gapProblem = 'the gap is not a hexadecimal string';
    else if (raw.end > signedEnd) gapProblem = 'the signature dictionary lies outside the signed bytes';
    else {
      for (let i = a + 1; i < b - 1; i++) {
        if (HEXWS[bytes[i]!] !== 1) {
          gapProblem = 'the gap holds bytes other than hexadecimal digits';
          break;
        }
      }
    }
    checks.push(
      gapProblem
        ? fmt('byte-range-gap', 'failed', `/ByteRange's gap is wrong: ${gapProblem}`, 'BYTE_RANGE_GAP_NOT_CONTENTS')
        : fmt('byte-range-gap', 'passed', "The unsigned gap is exactly this dictionary's /Contents hex string"),
    );

    // Coverage (checklist item 3): the whole file or a whole earlier revision.
    let rev: number | undefined;
    for (let i = revs.length - 1; i >= 0; i--) {
      const e = revs[i]!.end;
      if (e > signedEnd) continue;
      let ws = true;
      for (let p = e; p < signedEnd && ws; p++) ws = isWs(bytes[p]);
      if (ws) rev = i + 1;
      break;
    }
    if (rev === undefined) {
      checks.push(fmt('coverage', 'failed', 'The signed bytes do not end at the end of a revision (%%EOF with a matching startxref)', 'BYTE_RANGE_NOT_REVISION'));
    } else {
      c.signedRevision = rev;
      c.coverage = signedEnd === bytes.length ? 'WHOLE_DOCUMENT' : 'REVISION';
      checks.push(fmt('coverage', 'passed', c.coverage === 'WHOLE_DOCUMENT' ? 'The signature covers the whole file' : `The signature covers revision ${rev} of ${revs.length}`));
    }
  }
  if (c.signedRevision !== undefined && sigRef) {
    // The dictionary a reader uses now must be the one that was signed.
    const signedDoc = revs[c.signedRevision - 1]!.doc;
    const e1 = signedDoc.xrefEntry(sigRef.num);
    const e2 = sourceDoc.xrefEntry(sigRef.num);
    if (!e1 || !e2 || e1.type !== e2.type || e1.a !== e2.a || e1.b !== e2.b) {
      checks.push(fmt('signature-dictionary', 'failed', 'The signature dictionary was replaced after signing', 'SIGNATURE_DICT_REPLACED'));
    }
  }

  // Certification (DocMDP), as the signed revision has it.
  const docForMdp = c.signedRevision !== undefined ? revs[c.signedRevision - 1]!.doc : sourceDoc;
  certification(docForMdp, sigRef, dict, c, type);
  if (c.claimedSigningTimeRaw !== undefined && c.claimedSigningTime === undefined) {
    checks.push(fmt('signing-time-claim', 'warning', '/M is not a valid PDF date', 'SIGNING_TIME_MALFORMED'));
  }
  return { candidate: c, order, gap };
}

function certification(doc: PdfDocument, sigRef: PdfRef | undefined, finalDict: PdfDict, c: PdfSignatureCandidate, type: 'Sig' | 'DocTimeStamp'): void {
  let fromPerms = false;
  let reference: PdfObject[] | undefined;
  let p: number | undefined;
  let hasDocMdpRef = false;
  try {
    const perms = doc.resolveDict(doc.catalog().get('Perms'));
    const docMdp = perms?.get('DocMDP');
    fromPerms = docMdp instanceof PdfRef && sigRef !== undefined && docMdp.equals(sigRef);
    const dict = sigRef ? doc.resolveDict(sigRef) ?? finalDict : finalDict;
    reference = doc.resolveArray(dict.get('Reference'));
    for (const r of reference ?? []) {
      const rd = doc.resolveDict(r);
      if (rd?.nameOf('TransformMethod') !== 'DocMDP') continue;
      hasDocMdpRef = true;
      const params = doc.resolveDict(rd.get('TransformParams'));
      const pv = doc.resolve(params?.get('P'));
      p = pv === undefined ? 2 : typeof pv === 'number' ? pv : -1;
    }
  } catch {
    // An unreadable /Perms or /Reference: read as a certification forbidding changes (fail closed).
    hasDocMdpRef = true;
    p = -1;
  }
  if (!fromPerms && !hasDocMdpRef) return;
  c.isCertification = true;
  const valid = p === undefined || p === 1 || p === 2 || p === 3;
  c.docMdpP = p === undefined ? 2 : valid ? (p as 1 | 2 | 3) : 1;
  if (!valid) c.checks.push(fmt('certification', 'warning', 'DocMDP /P is not 1, 2 or 3: read as 1 (no changes)', 'DOCMDP_P_INVALID'));
  if (fromPerms !== hasDocMdpRef) {
    c.checks.push(fmt('certification', 'warning', 'The certification is declared in only one of the catalog /Perms and the signature /Reference', 'CERTIFICATION_INCONSISTENT'));
  }
  if (type === 'DocTimeStamp') c.checks.push(fmt('certification', 'failed', 'A document time-stamp cannot be a certification signature', 'CERTIFICATION_INVALID'));
}

/** Checks across signatures: collisions (checklist item 2) and certification order (item 5). */
function crossChecks(list: Examined[]): void {
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    const problems: string[] = [];
    for (let j = 0; j < list.length; j++) {
      if (i === j) continue;
      const y = list[j]!;
      const cx = x.candidate;
      const cy = y.candidate;
      if (cx.sigRef !== undefined && cx.sigRef === cy.sigRef) problems.push(`shares its signature dictionary with field "${safe(cy.fieldName, 40)}"`);
      else if (x.gap && y.gap && x.gap[0] < y.gap[1] && y.gap[0] < x.gap[1]) problems.push(`its unsigned gap overlaps that of field "${safe(cy.fieldName, 40)}"`);
      else if (x.gap && y.gap && x.order === y.order) problems.push(`it signs the same bytes as field "${safe(cy.fieldName, 40)}"`);
    }
    x.candidate.checks.push(
      problems.length > 0
        ? fmt('signature-collision', 'failed', `The signature ${problems.slice(0, 3).join('; ')}`, 'SIGNATURES_OVERLAP')
        : fmt('signature-collision', 'passed', "The signature's ranges do not collide with another signature's"),
    );
  }
  const certs = list.filter((e) => e.candidate.isCertification);
  certs.forEach((e, i) => {
    const first = list[0] === e;
    if (i > 0) e.candidate.checks.push(fmt('certification', 'failed', 'The document has more than one certification signature', 'CERTIFICATION_MULTIPLE'));
    if (!first) e.candidate.checks.push(fmt('certification', 'failed', 'A certification signature must be the first signature of the document', 'CERTIFICATION_NOT_FIRST'));
    if (first && i === 0 && !e.candidate.checks.some((c) => c.name === 'certification' && c.result === 'failed')) {
      e.candidate.checks.push(fmt('certification', 'passed', `The only certification signature is the first (DocMDP /P ${e.candidate.docMdpP})`));
    }
  });
}
