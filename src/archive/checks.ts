import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { PdfDict, PdfRef, PdfStream, PdfString, decodeTextString, type PdfObject } from '../pdf/objects';
import { readPdf, type PdfDocument } from '../pdf/reader';
import type { VerificationReport } from '../verify/report';
import type { ArchiveMetadata, FilingChecks, PropertyCheck } from './ports';

/**
 * The DA/T 70-2018 four-property checks run at filing (STANDARDS.md "E-archive"). Pure: the
 * caller passes the bytes, the metadata, the verification report and the clock.
 */

export interface CheckInput {
  bytes: Buffer;
  mediaType: string;
  metadata: ArchiveMetadata;
  report: VerificationReport;
  now: Date;
}

/** Objects visited by the active-content scan; a file with more is refused rather than half-scanned. */
export const MAX_SCAN_OBJECTS = 200_000;

const EXECUTABLE_EXT = /\.(exe|com|bat|cmd|scr|pif|msi|msp|dll|cpl|jar|js|jse|vbs|vbe|wsf|wsh|ps1|psm1|sh|bash|app|apk|elf|bin|run|hta|lnk|reg)$/i;
const EXECUTABLE_MIME = /^application\/(x-msdownload|x-msdos-program|x-executable|x-dosexec|x-sh|x-bat|java-archive|x-ms-installer|javascript|x-javascript|vnd\.microsoft\.portable-executable)$/i;
/** Action types that run code, open other programs or send data away (ISO 32000-1 §12.6.4). */
const ACTIVE_ACTIONS = new Set(['JavaScript', 'Launch', 'SubmitForm', 'ImportData', 'RichMediaExecute', 'Rendition', 'Movie', 'Sound']);
const STRAY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffd]/;

export function runFilingChecks(input: CheckInput): FilingChecks {
  let doc: PdfDocument | undefined;
  let openError: AppError | undefined;
  try {
    doc = readPdf(input.bytes);
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    openError = e;
  }
  const checks = [authenticity(input), integrity(input, doc, openError), usability(input, doc, openError), security(doc, openError)];
  return { passed: checks.every((c) => c.passed), checks };
}

function check(name: PropertyCheck['name'], failures: string[], passes: string[]): PropertyCheck {
  return { name, passed: failures.length === 0, reasons: failures.length ? failures : passes };
}

function authenticity({ bytes, mediaType, metadata: m, report, now }: CheckInput): PropertyCheck {
  const fail: string[] = [];
  const ok: string[] = [];
  // Fixity: every signature and seal as the verification engine judged it.
  if (report.indication === 'TOTAL_PASSED') ok.push(`signatures valid: ${report.signatures.length} signature(s), TOTAL_PASSED`);
  else {
    const bad = report.signatures.filter((s) => s.indication !== 'TOTAL_PASSED').map((s) => `${s.id}: ${s.indication}${s.subIndication ? '/' + s.subIndication : ''}`);
    const doc = report.checks.filter((c) => c.result === 'failed').map((c) => c.name);
    fail.push(`signatures not valid (${report.indication}${report.subIndication ? '/' + report.subIndication : ''})${bad.length ? ': ' + bad.join('; ') : ''}${doc.length ? ' [' + doc.join(', ') + ']' : ''}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (m.sha256 !== undefined) {
    if (m.sha256.toLowerCase() !== sha) fail.push('digest: the file does not match the declared sha256 (received package ≠ sent package)');
    else ok.push('digest: matches the declared sha256');
  }
  if (m.size !== undefined && m.size !== bytes.length) fail.push(`size: metadata says ${m.size} bytes, the file has ${bytes.length}`);
  // The file's real name and format agree with the metadata.
  if (!/\.pdf$/i.test(m.fileName)) fail.push(`format: the file name ${JSON.stringify(m.fileName)} does not name a PDF`);
  if (mediaType !== 'application/pdf') fail.push(`format: declared media type ${mediaType} is not application/pdf`);
  if (bytes.subarray(0, 1024).indexOf('%PDF-') < 0) fail.push('format: the file is not a PDF (no %PDF- header)');
  // Plausible values, no stray characters.
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string' && STRAY.test(v)) fail.push(`metadata: ${k} contains control or invisible characters`);
  }
  const date = new Date(`${m.date}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== m.date) fail.push(`metadata: date ${m.date} is not a calendar date`);
  else if (date.getTime() > now.getTime() + 86400_000) fail.push(`metadata: date ${m.date} is in the future`);
  else if (m.date < '1949-10-01') fail.push(`metadata: date ${m.date} is implausibly early`);
  if (fail.length === 0) ok.push(`metadata consistent with the file (${m.fileName}, ${bytes.length} bytes, PDF)`);
  return check('authenticity', fail, ok);
}

function integrity({ bytes, metadata: m }: CheckInput, doc: PdfDocument | undefined, openError: AppError | undefined): PropertyCheck {
  const fail: string[] = [];
  const ok: string[] = [];
  const mandatory: (keyof ArchiveMetadata)[] = ['title', 'responsibleAgency', 'date', 'documentNumber', 'retention', 'classification', 'fonds', 'series', 'recordType', 'fileName'];
  const missing = mandatory.filter((k) => typeof m[k] !== 'string' || (m[k] as string).trim() === '');
  if (missing.length) fail.push(`mandatory metadata missing: ${missing.join(', ')}`);
  else ok.push('mandatory DA/T 46 metadata present');
  if (bytes.length === 0) fail.push('content: the file is empty');
  if (openError) fail.push(`content: cannot be read (${openError.code})`);
  if (doc) {
    try {
      const n = doc.pageCount;
      if (n === 0) fail.push('content: the PDF has no pages');
      else ok.push(`content present: ${n} page(s)`);
      const missingAttachments = attachments(doc).filter((a) => !a.present).map((a) => a.name);
      if (missingAttachments.length) fail.push(`attachments missing their data: ${missingAttachments.join(', ')}`);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      fail.push(`content: page tree unreadable (${e.code})`);
    }
  }
  return check('integrity', fail, ok);
}

function usability({ bytes }: CheckInput, doc: PdfDocument | undefined, openError: AppError | undefined): PropertyCheck {
  const fail: string[] = [];
  const ok: string[] = [];
  if (openError) {
    fail.push(openError.code === 'PDF_ENCRYPTED' ? 'encrypted: the PDF is encrypted' : `the file does not open (${openError.code})`);
    return check('usability', fail, ok);
  }
  const d = doc!;
  try {
    const page = d.page(1);
    if (!page) fail.push('the first page does not exist');
    else {
      const [x0, y0, x1, y1] = page.cropBox;
      if (!(x1 - x0 > 0 && y1 - y0 > 0)) fail.push('the first page has an empty crop box');
      const contents = d.resolve(page.dict.get('Contents'));
      const streams = (Array.isArray(contents) ? contents.map((c) => d.resolve(c)) : [contents]).filter((s) => s !== undefined);
      for (const s of streams) {
        if (!(s instanceof PdfStream)) {
          fail.push('the first page has a /Contents that is not a stream');
          break;
        }
        try {
          d.decode(s);
        } catch (e) {
          if (!(e instanceof AppError)) throw e;
          if (e.code === 'PDF_UNSUPPORTED') ok.push('first page content uses a filter the strict reader does not decode (not judged)');
          else fail.push(`the first page's content stream does not decode (${e.code})`);
        }
      }
      if (fail.length === 0) ok.push(`opens; first page ${Math.round(x1 - x0)}×${Math.round(y1 - y0)} pt renders from ${streams.length} content stream(s)`);
    }
    const pdfa = pdfaPart(d);
    ok.push(pdfa ? `format PDF/A-${pdfa} (preferred)` : `format PDF ${d.version().join('.')}`);
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    fail.push(`the page tree does not read (${e.code})`);
  }
  if (bytes.length > 0 && fail.length === 0) ok.push('not encrypted');
  return check('usability', fail, ok);
}

/** The PDF/A part from the XMP metadata (pdfaid:part), if declared. */
function pdfaPart(d: PdfDocument): string | undefined {
  const meta = d.resolve(d.catalog().get('Metadata'));
  if (!(meta instanceof PdfStream)) return undefined;
  try {
    const xmp = d.decode(meta).toString('utf8');
    const m = /pdfaid:part\s*=\s*["'](\d)["']|<pdfaid:part>\s*(\d)\s*</.exec(xmp);
    return m ? (m[1] ?? m[2]) : undefined;
  } catch {
    return undefined;
  }
}

function attachments(d: PdfDocument): { name: string; present: boolean }[] {
  const out: { name: string; present: boolean }[] = [];
  const names = d.resolveDict(d.catalog().get('Names'));
  const ef = d.resolveDict(names?.get('EmbeddedFiles'));
  if (!ef) return out;
  const seen = new Set<PdfDict>();
  const walk = (node: PdfDict | undefined, depth: number) => {
    if (!node || depth > 32 || seen.has(node)) return;
    seen.add(node);
    const arr = d.resolveArray(node.get('Names'));
    if (arr) {
      for (let i = 0; i + 1 < arr.length; i += 2) {
        const nm = arr[i];
        const spec = d.resolveDict(arr[i + 1]);
        const label = nm instanceof PdfString ? decodeTextString(nm) : '?';
        const efd = d.resolveDict(spec?.get('EF'));
        const stream = d.resolve(efd?.get('F') ?? efd?.get('UF'));
        out.push({ name: label, present: stream instanceof PdfStream });
      }
    }
    for (const k of d.resolveArray(node.get('Kids')) ?? []) walk(d.resolveDict(k), depth + 1);
  };
  walk(ef, 0);
  return out;
}

/**
 * Malicious-content scan: walks every object reachable from the trailer (catalog and info),
 * each at most once, and reports JavaScript, launch and other active actions, additional
 * actions (/AA), rich media, XFA forms and embedded executables.
 */
function security(doc: PdfDocument | undefined, openError: AppError | undefined): PropertyCheck {
  if (!doc) return check('security', [`not scanned: the file does not open (${openError?.code ?? 'unknown'})`], []);
  const findings = new Set<string>();
  const seenRefs = new Set<string>();
  const seenDirect = new Set<object>();
  const stack: PdfObject[] = [doc.trailer.root, ...(doc.trailer.info ? [doc.trailer.info] : [])];
  let visited = 0;
  try {
    while (stack.length) {
      let o: PdfObject | undefined = stack.pop();
      if (o instanceof PdfRef) {
        if (seenRefs.has(o.key)) continue;
        seenRefs.add(o.key);
        try {
          o = doc.getObject(o);
        } catch (e) {
          if (!(e instanceof AppError)) throw e;
          continue; // a dangling reference holds no content
        }
      }
      if (o === null || o === undefined || typeof o !== 'object') continue;
      if (seenDirect.has(o)) continue;
      seenDirect.add(o);
      if (++visited > MAX_SCAN_OBJECTS) {
        findings.add(`too many objects to scan (more than ${MAX_SCAN_OBJECTS})`);
        break;
      }
      if (Array.isArray(o)) {
        for (const x of o) stack.push(x);
        continue;
      }
      const dict = o instanceof PdfStream ? o.dict : o instanceof PdfDict ? o : undefined;
      if (!dict) continue;
      inspect(doc, dict, findings);
      for (const v of dict.map.values()) stack.push(v);
    }
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    findings.add(`scan stopped: ${e.code}`);
  }
  return check('security', [...findings].sort(), [`no active content in ${visited} objects (JavaScript, launch actions, /AA, rich media, XFA, embedded executables)`]);
}

function inspect(doc: PdfDocument, dict: PdfDict, findings: Set<string>): void {
  for (const key of dict.map.keys()) {
    if (key === 'JS' || key === 'JavaScript') findings.add(`JavaScript (/${key})`);
    else if (key === 'AA') findings.add('additional actions (/AA)');
    else if (key === 'XFA') findings.add('XFA form (/XFA)');
    else if (key.startsWith('RichMedia')) findings.add(`rich media (/${key})`);
  }
  const s = dict.nameOf('S');
  if (s && ACTIVE_ACTIONS.has(s)) findings.add(`${s} action (/S /${s})`);
  const subtype = dict.nameOf('Subtype');
  if (subtype === 'RichMedia' || subtype === 'Movie' || subtype === 'Screen' || subtype === 'Sound') findings.add(`${subtype} annotation`);
  const type = dict.nameOf('Type');
  if (type === 'Filespec' || dict.has('EF')) {
    for (const k of ['F', 'UF']) {
      const v = doc.resolve(dict.get(k));
      const fname = v instanceof PdfString ? decodeTextString(v) : undefined;
      if (fname && EXECUTABLE_EXT.test(fname.trim())) findings.add(`embedded executable ${JSON.stringify(fname.slice(0, 100))}`);
    }
  }
  if (type === 'EmbeddedFile' && subtype) {
    const mime = subtype.replace(/#2F/gi, '/');
    if (EXECUTABLE_MIME.test(mime)) findings.add(`embedded executable of type ${mime}`);
  }
  const open = doc.resolve(dict.get('OpenAction'));
  if (open instanceof PdfDict) {
    const os = open.nameOf('S');
    if (os && ACTIVE_ACTIONS.has(os)) findings.add(`open action runs ${os}`);
  }
}
