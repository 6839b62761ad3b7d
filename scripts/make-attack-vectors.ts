/**
 * Builds the verifier's attack corpus, tests/vectors/attacks/ (issue #6; STANDARDS.md "Verifier
 * checklist against known PDF attacks"): signed baselines from our real signing pipeline, a
 * pyHanko certification, and manipulated copies of them, each with the outcome a correct
 * verifier must give. tests/integration/verify-attacks.test.ts runs the corpus; the fuzz test
 * mutates its baselines.
 *
 *   node -r ./tests/helpers/ts-register.js scripts/make-attack-vectors.ts [--out tests/vectors/attacks]
 *
 * Needs python3 with pyHanko (scripts/make-certified-pdf.py) for the certified baseline.
 *
 * How it works:
 * - A throw-away service (buildServices on a temporary SQLite store, its own root/issuing CA, TSA
 *   and OCSP responder), one agency and one ES256 seal; SigningService.sign makes the PAdES
 *   signatures exactly as the HTTP route does. The root certificate is written to
 *   trust-anchor.pem; the store is deleted at the end, so nothing else can ever sign with it.
 * - The document is prepared the way the 2020–21 shadow-attack research (Mainka, Mladenov,
 *   Rohlmann: "Shadow Attacks: Hiding and Replacing Content in Signed PDFs", NDSS 2021) says an
 *   attacker prepares it BEFORE it is signed: revision 1 holds the attacker's content (a
 *   different payment and an empty overlay), revision 2 overwrites both with the benign version
 *   the signer sees (the benign text, plus a penalty clause hidden under a white overlay), and a
 *   spare content stream no page references. Everything is inside the signed bytes.
 * - The certified baseline: pyHanko certifies the same document (DocMDP P=2) with a key we
 *   generate here and a seal certificate the same CA issues for it (the key never enters the
 *   service's key store), time-stamped by the same TSA over a local HTTP endpoint; we add the DSS.
 * - Attacks are written by hand (objects, a classic cross-reference section, a trailer with
 *   /Prev, startxref, %%EOF) or as byte edits, so each one is exactly what its line in README.md
 *   says and nothing of our PDF writer's validation stands in the way.
 *
 * Expected outcomes follow one rule: when the signed bytes or the signature structure are broken,
 * the verifier must answer TOTAL_FAILED; when the signed revision is intact and something was
 * appended, it must report that change as not allowed (the signature itself may still verify).
 * manifest.json also records `verificationTime`: verify with that clock so the certificates and
 * the embedded revocation data are current however much later the test runs.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AgencyService } from '../src/agencies';
import type { Principal } from '../src/api-keys';
import { addDss, readPdf, serialize, PdfDict, PdfRef, type PdfObject } from '../src/pdf';
import { buildCertId, buildOcspRequest, creditCodeOrganizationIdentifier, toPem } from '../src/pki';
import { buildServices, type Services } from '../src/services';
import type { SignatureLevel, SignRequest } from '../src/signing/service';
import { openSqliteStores, type Stores } from '../src/store';

const AGENCY = '11330105002500287C';
const AGENCY_NAME = 'eseal attack corpus agency';
const ADMIN: Principal = { apiKeyId: 'attack-corpus', agencyCode: null, roles: ['admin'] };
const SIGNER: Principal = { apiKeyId: 'attack-corpus', agencyCode: AGENCY, roles: ['signer'] };

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// Expected outcomes (what tests/integration/verify-attacks.test.ts asserts)
// ---------------------------------------------------------------------------------------------

/**
 * - `{ indication }`: the report's overall indication must be exactly this.
 * - `{ disallowedChange: true }`: some signature must list a change with `allowed: false` (its
 *   signed revision is intact, so the signature itself may verify; the change must be flagged).
 * - `{ anyOf }`: where the checklist admits both readings (see the README line).
 */
export type Expected =
  | { indication: 'TOTAL_PASSED' | 'TOTAL_FAILED' | 'INDETERMINATE' }
  | { disallowedChange: true }
  | { anyOf: ({ indication: 'TOTAL_FAILED' } | { disallowedChange: true })[] };

interface Vector {
  file: string;
  kind: 'baseline' | 'attack';
  /** The baseline it was made from. */
  base?: string;
  /** The published attack class it stands for. */
  attack?: string;
  how: string;
  expected: Expected;
  size: number;
  sha256: string;
}

const FAILED = { indication: 'TOTAL_FAILED' } as const;
const DISALLOWED = { disallowedChange: true } as const;
/** A fixed-width ByteRange written first and patched once the offsets are known. */
const BR_PLACEHOLDER = '[0 0000000000 0000000000 0000000000]';

// ---------------------------------------------------------------------------------------------
// The attacker-prepared document (two revisions, classic cross-reference tables)
// ---------------------------------------------------------------------------------------------

const PAGE_CONTENT = [
  'BT /F1 20 Tf 72 770 Td (Payment order No. 2025-0042) Tj ET',
  'BT /F1 14 Tf 72 730 Td (The payer transfers 100 CNY to account 6222 0000 1111 2222.) Tj ET',
  'BT /F1 14 Tf 72 700 Td (Penalty for late payment: 5,000 CNY per day.) Tj ET',
  'BT /F1 11 Tf 72 660 Td (Signed with the agency seal. Any change after signing voids this order.) Tj ET',
].join('\n');
/** A white box over the penalty line (y 700): what the signer sees is the page without it. */
const OVERLAY = '1 1 1 rg 60 690 480 28 re f';
/** Revision 1's content: what the hide-and-replace attack brings back. */
const SHADOW_CONTENT = [
  'BT /F1 20 Tf 72 770 Td (Payment order No. 2025-0042) Tj ET',
  'BT /F1 14 Tf 72 730 Td (The payer transfers 1,000,000 CNY to account 6222 9999 0000 6666.) Tj ET',
  'BT /F1 11 Tf 72 660 Td (Signed with the agency seal. Any change after signing voids this order.) Tj ET',
].join('\n');
/** Object 8: in the signed file, referenced by nothing. */
const SPARE_CONTENT = 'BT /F1 20 Tf 72 770 Td (Payment order No. 2025-0042: CANCELLED, refund 100,000 CNY) Tj ET';
const EVIL_CONTENT = PAGE_CONTENT.replace('100 CNY', '1,000,000 CNY');

interface PreparedDocument {
  bytes: Buffer;
  /** Offsets of revision 1's definitions (the shadowed ones). */
  rev1: Record<number, number>;
}

/** Writes a revision: objects, a classic xref table and the trailer (§7.5.4–7.5.6). */
class RevisionWriter {
  private readonly parts: Buffer[] = [];
  private length: number;
  readonly offsets = new Map<number, number>();

  constructor(readonly base: Buffer) {
    this.length = base.length;
    // An update starts on a new line (§7.5.6).
    if (base.length > 0 && base[base.length - 1] !== 0x0a && base[base.length - 1] !== 0x0d) this.put('\n');
  }

  get offset(): number {
    return this.length;
  }

  put(s: string | Buffer): void {
    const b = typeof s === 'string' ? latin1(s) : s;
    this.parts.push(b);
    this.length += b.length;
  }

  obj(num: number, body: string | Buffer, gen = 0): number {
    const at = this.length;
    this.offsets.set(num, at);
    this.put(`${num} ${gen} obj\n`);
    this.put(body);
    this.put('\nendobj\n');
    return at;
  }

  stream(num: number, data: string | Buffer, extra = ''): number {
    const d = typeof data === 'string' ? latin1(data) : data;
    return this.obj(num, Buffer.concat([latin1(`<< /Length ${d.length}${extra ? ' ' + extra : ''} >>\nstream\n`), d, latin1('\nendstream')]));
  }

  /** The xref table for `rows` (or every object written here), then trailer, startxref, %%EOF. */
  /** Where finish() wrote the xref table. */
  xrefAt = -1;

  finish(trailer: string, rows?: XrefRow[]): Buffer {
    const xrefAt = (this.xrefAt = this.length);
    this.put(xrefTable(rows ?? [...this.offsets].map(([num, offset]) => ({ num, gen: 0, offset }))));
    this.put(`trailer\n${trailer}\nstartxref\n${xrefAt}\n%%EOF\n`);
    return Buffer.concat([this.base, ...this.parts]);
  }

  /** The bytes so far, with no cross-reference section (for the "objects only" update). */
  body(): Buffer {
    return Buffer.concat([this.base, ...this.parts]);
  }
}

interface XrefRow {
  num: number;
  gen: number;
  offset: number;
  free?: boolean;
}

/** §7.5.4: subsections of consecutive numbers, 20-byte entries. */
function xrefTable(rows: XrefRow[]): string {
  const sorted = [...rows].sort((a, b) => a.num - b.num);
  let s = 'xref\n';
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.num === sorted[j - 1]!.num + 1) j++;
    s += `${sorted[i]!.num} ${j - i}\n`;
    for (const r of sorted.slice(i, j)) s += `${String(r.offset).padStart(10, '0')} ${String(r.gen).padStart(5, '0')} ${r.free ? 'f' : 'n'}\r\n`;
    i = j;
  }
  return s;
}

const FILE_ID = '<45534541cc41545441434b00c0525055>';

function preparedDocument(): PreparedDocument {
  // Revision 1: the attacker's version.
  const w1 = new RevisionWriter(latin1('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n'));
  w1.obj(1, '<< /Type /Catalog /Pages 2 0 R >>');
  w1.obj(2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>');
  w1.obj(3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents [4 0 R 7 0 R] >>');
  w1.stream(4, SHADOW_CONTENT);
  w1.obj(5, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  w1.obj(6, '<< /Title (Payment order 2025-0042) /Producer (eseal attack corpus) >>');
  w1.stream(7, '');
  const rev1 = Object.fromEntries(w1.offsets);
  const rev1Rows = [{ num: 0, gen: 65535, offset: 0, free: true }, ...[...w1.offsets].map(([num, offset]) => ({ num, gen: 0, offset }))];
  const r1 = w1.finish(`<< /Size 8 /Root 1 0 R /Info 6 0 R /ID [${FILE_ID} ${FILE_ID}] >>`, rev1Rows);
  const prev = w1.xrefAt;

  // Revision 2: the version the signer is shown, and a spare stream nothing references.
  const w2 = new RevisionWriter(r1);
  w2.stream(4, PAGE_CONTENT);
  w2.stream(7, OVERLAY);
  w2.stream(8, SPARE_CONTENT);
  const bytes = w2.finish(`<< /Size 9 /Root 1 0 R /Info 6 0 R /ID [${FILE_ID} ${FILE_ID}] /Prev ${prev} >>`);
  return { bytes, rev1 };
}

// ---------------------------------------------------------------------------------------------
// Reading what we need from a signed file
// ---------------------------------------------------------------------------------------------

/** The newest startxref value. */
function lastStartxref(b: Buffer): number {
  const at = b.lastIndexOf('startxref');
  return Number(/startxref\s+(\d+)/.exec(b.toString('latin1', at, at + 40))![1]);
}

/** Trailer values for a hand-written update after `b` (read with our reader: any xref kind). */
function trailerOf(b: Buffer): { root: string; info: string; id0: string; size: number; prev: number } {
  const doc = readPdf(b);
  const t = doc.trailer;
  return {
    root: `${t.root.num} ${t.root.gen} R`,
    info: t.info ? ` /Info ${t.info.num} ${t.info.gen} R` : '',
    id0: `<${(t.id?.[0] ?? doc.fallbackId()).toString('hex')}>`,
    size: doc.nextObjectNumber,
    prev: doc.startxref,
  };
}

/** A trailer for an update appended to `b`: /ID[0] kept, /ID[1] from the update's content (§14.4). */
function updateTrailer(b: Buffer, size: number, extra = '', salt = ''): string {
  const t = trailerOf(b);
  const id1 = createHash('sha256').update(b).update(salt).digest('hex').slice(0, 32);
  return `<< /Size ${Math.max(size, t.size)} /Root ${t.root}${t.info} /ID [${t.id0} <${id1}>] /Prev ${t.prev}${extra} >>`;
}

const ser = (o: PdfObject) => serialize(o).bytes;

interface SignatureLayout {
  /** ByteRange [0, a, b, c]: a = offset of '<', b = just after '>'. */
  byteRange: [number, number, number, number];
  /** Offset and length of the `[0 a b c]` text plus its padding spaces. */
  byteRangeText: { at: number; length: number };
  sigDictNum: number;
}

/** The (only, or the named) signature dictionary's layout, found in the bytes. */
function signatureLayout(b: Buffer, which = 0): SignatureLayout {
  const s = b.toString('latin1');
  const re = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]( *)/g;
  const all = [...s.matchAll(re)];
  const m = all[which];
  if (!m) throw new Error('no /ByteRange found');
  const br = [1, 2, 3, 4].map((i) => Number(m[i])) as [number, number, number, number];
  const objStart = s.lastIndexOf(' obj', m.index);
  const head = /(\d+) \d+$/.exec(s.slice(Math.max(0, objStart - 12), objStart));
  return { byteRange: br, byteRangeText: { at: m.index! + m[0].indexOf('['), length: m[0].length - m[0].indexOf('[') }, sigDictNum: Number(head![1]) };
}

/** Rewrites the ByteRange numbers in place, padded with spaces to the same length. */
function rewriteByteRange(b: Buffer, layout: SignatureLayout, values: number[]): Buffer {
  const text = `[${values.join(' ')}]`;
  if (text.length > layout.byteRangeText.length) throw new Error('new ByteRange does not fit');
  const out = Buffer.from(b);
  out.write(text.padEnd(layout.byteRangeText.length, ' '), layout.byteRangeText.at, 'latin1');
  return out;
}

/** The DER CMS inside /Contents (its zero padding dropped by the DER length). */
function cmsOf(b: Buffer, layout: SignatureLayout): Buffer {
  const [, a, bStart] = layout.byteRange;
  const raw = Buffer.from(b.toString('latin1', a + 1, bStart - 1), 'hex');
  const len = raw[1]! < 0x80 ? raw[1]! + 2 : 2 + (raw[1]! & 0x7f) + raw.subarray(2, 2 + (raw[1]! & 0x7f)).reduce((n, x) => n * 256 + x, 0);
  return raw.subarray(0, len);
}

/** Offset in the file of the hex digit pair of the middle byte of the SignerInfo's signature value. */
function signatureValueHexOffset(b: Buffer, layout: SignatureLayout): number {
  const der = cmsOf(b, layout);
  const ci = AsnConvert.parse(der, ContentInfo);
  const sd = AsnConvert.parse(ci.content, SignedData);
  const sig = Buffer.from(sd.signerInfos[0]!.signature.buffer);
  const at = der.indexOf(sig);
  if (at < 0) throw new Error('signature value not found in the CMS');
  // ECDSA: a SEQUENCE of two INTEGERs; a byte well inside r leaves the DER shape intact.
  return layout.byteRange[1] + 1 + 2 * (at + 8);
}

/** Newest offset of each object, following a chain of classic xref tables (our signer's files). */
function classicXref(b: Buffer): Map<number, { offset: number; gen: number }> {
  const out = new Map<number, { offset: number; gen: number }>();
  let at: number | undefined = lastStartxref(b);
  const seen = new Set<number>();
  while (at !== undefined && !seen.has(at)) {
    seen.add(at);
    const end = b.indexOf('trailer', at);
    const lines = b.toString('latin1', at, end).split(/\r?\n|\r/).map((l) => l.trim()).filter(Boolean);
    if (lines[0] !== 'xref') throw new Error(`no classic xref table at ${at}`);
    let num = 0;
    for (const line of lines.slice(1)) {
      const sub = /^(\d+) (\d+)$/.exec(line);
      if (sub) {
        num = Number(sub[1]);
        continue;
      }
      const e = /^(\d{10}) (\d{5}) ([nf])$/.exec(line);
      if (!e) throw new Error(`bad xref line ${line}`);
      if (!out.has(num) && e[3] === 'n') out.set(num, { offset: Number(e[1]), gen: Number(e[2]) });
      if (!out.has(num) && e[3] === 'f') out.set(num, { offset: -1, gen: Number(e[2]) });
      num++;
    }
    const trailer = b.toString('latin1', end, b.indexOf('startxref', end));
    const prev = /\/Prev\s+(\d+)/.exec(trailer);
    at = prev ? Number(prev[1]) : undefined;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The service, the seal, the certifier
// ---------------------------------------------------------------------------------------------

interface Pipeline {
  services: Services;
  stores: Stores;
  dir: string;
  sealId: string;
  sign(document: Buffer, level: SignatureLevel, pades?: SignRequest['pades']): Promise<Buffer>;
  close(): Promise<void>;
}

async function pipeline(): Promise<Pipeline> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-attack-corpus-'));
  const stores = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
  const services = await buildServices(
    {
      dataDir: dir,
      masterKey: createHash('sha256').update(`attack-corpus ${Date.now()}`).digest('hex'),
      masterKeyFile: path.join(dir, 'master.key'),
      publicUrl: 'http://127.0.0.1:8080',
      keyStore: 'software',
      pkcs11: null,
      tsaPolicy: null,
      logCheckpointIntervalMs: 0,
    },
    stores,
  );
  await new AgencyService(stores.agencies).create({ code: AGENCY, name: AGENCY_NAME, region: null });
  const seal = await services.seals.create(ADMIN, { agencyCode: AGENCY, name: 'attack corpus seal', kind: 'official', algorithm: 'ES256' });
  return {
    services,
    stores,
    dir,
    sealId: seal.id,
    sign: async (document, level, pades) => (await services.signing.sign(SIGNER, { sealId: seal.id, format: 'pades', level, document, pades })).bytes,
    close: async () => {
      await services.close();
      await stores.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for the start of the next second (validation data must postdate the time-stamp; see SigningService.afterNow). */
async function nextSecond(): Promise<Date> {
  const now = Date.now();
  const next = Math.floor(now / 1000) * 1000 + 1000;
  await new Promise((r) => setTimeout(r, next - now));
  return new Date(next);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${err}`))));
  });
}

/**
 * The certified baseline: a key generated here, a seal certificate from the corpus CA for it,
 * pyHanko's certification (DocMDP P=2, time-stamped by the corpus TSA over local HTTP), then a
 * DSS with OCSP responses and CRLs issued after the time-stamp (B-LT).
 */
async function certify(p: Pipeline, document: Buffer): Promise<Buffer> {
  const { ca, tsa } = p.services;
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cert = await ca.issue({
    profile: 'seal',
    subject: { c: 'CN', o: AGENCY_NAME, organizationIdentifier: creditCodeOrganizationIdentifier(AGENCY), cn: 'attack corpus certifier' },
    keyId: 'external:attack-corpus-certifier',
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }) as Buffer,
    agencyCode: AGENCY,
    actor: { apiKeyId: 'attack-corpus', agencyCode: null },
  });
  const certDer = Buffer.from(cert.der, 'base64');
  const work = path.join(p.dir, 'certify');
  fs.mkdirSync(work);
  const f = (n: string, data: string | Buffer) => {
    const file = path.join(work, n);
    fs.writeFileSync(file, data, { mode: 0o600 });
    return file;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      tsa.respond(Buffer.concat(chunks), { apiKeyId: 'attack-corpus', agencyCode: null }).then(
        (r) => {
          res.writeHead(200, { 'content-type': 'application/timestamp-reply' });
          res.end(r.der);
        },
        () => {
          res.writeHead(400);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const out = path.join(work, 'certified.pdf');
    await run('python3', [
      path.join(__dirname, 'make-certified-pdf.py'),
      '--in', f('in.pdf', document),
      '--out', out,
      '--key', f('key.pem', pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string),
      '--cert', f('cert.pem', toPem(certDer)),
      '--chain', f('issuing.pem', toPem(ca.issuing.der)),
      '--chain', f('root.pem', toPem(ca.root.der)),
      '--tsa-url', `http://127.0.0.1:${port}/`,
    ]);
    const certified = fs.readFileSync(out);
    const after = await nextSecond();
    const ocsps = [];
    for (const c of [certDer, ca.tsa.der]) ocsps.push(await ca.respondOcsp(buildOcspRequest({ certIds: [buildCertId(c, ca.issuing.der)] })));
    return addDss(certified, {
      certs: [certDer, ca.issuing.der, ca.root.der, ca.tsa.der, ca.ocsp.der],
      ocsps,
      crls: [await ca.crl('issuing', after), await ca.crl('root', after)],
      vri: true,
    });
  } finally {
    server.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Attacks
// ---------------------------------------------------------------------------------------------

/** A new page dictionary for page 1 from the file's current one, with `edit` applied. */
function pageUpdate(b: Buffer, edit: (d: PdfDict, doc: ReturnType<typeof readPdf>) => void): { ref: PdfRef; body: Buffer } {
  const doc = readPdf(b);
  const page = doc.page(1)!;
  const d = page.dict.clone();
  edit(d, doc);
  return { ref: page.ref, body: ser(d) };
}

/** Appends one update with `objects` (num → body) and a classic xref section; /Size from the highest number. */
function appendUpdate(b: Buffer, objects: [number, string | Buffer][], salt: string): Buffer {
  const w = new RevisionWriter(b);
  for (const [num, body] of objects) w.obj(num, body);
  const size = Math.max(...objects.map(([n]) => n)) + 1;
  return w.finish(updateTrailer(b, size, '', salt));
}

function stream(data: string, extra = ''): Buffer {
  return latin1(`<< /Length ${latin1(data).length}${extra ? ' ' + extra : ''} >>\nstream\n${data}\nendstream`);
}

/** Deterministic bytes (xorshift32). */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(__dirname, '..', 'tests', 'vectors', 'attacks') } }, strict: true });
  const outDir = path.resolve(values.out!);
  fs.mkdirSync(outDir, { recursive: true });
  for (const n of fs.readdirSync(outDir)) if (/\.(pdf|pem|json|md)$/.test(n)) fs.rmSync(path.join(outDir, n));

  const vectors: Vector[] = [];
  const save = (file: string, bytes: Buffer, meta: Omit<Vector, 'file' | 'size' | 'sha256'>) => {
    fs.writeFileSync(path.join(outDir, file), bytes);
    vectors.push({ file, ...meta, size: bytes.length, sha256: sha256(bytes) });
    process.stdout.write(`  ${file} (${bytes.length} bytes)\n`);
  };

  const p = await pipeline();
  try {
    const prepared = preparedDocument();

    // ----- Baselines ---------------------------------------------------------------------------
    const BLT = '00-baseline-b-lt.pdf';
    const blt = await p.sign(prepared.bytes, 'B-LT');
    save(BLT, blt, {
      kind: 'baseline',
      how: 'SigningService.sign (PAdES B-LT, ES256 seal of the corpus CA) of the attacker-prepared two-revision document: signature revision (time-stamped) + DSS revision',
      expected: { indication: 'TOTAL_PASSED' },
    });
    const BB = '00-baseline-b-b.pdf';
    const bb = await p.sign(prepared.bytes, 'B-B');
    save(BB, bb, {
      kind: 'baseline',
      how: 'SigningService.sign (PAdES B-B) of the same document: no time-stamp and no revocation data in the file',
      // Offline, nothing in the file says the seal certificate was not revoked (EN 319 102-1 §5.2.6).
      expected: { indication: 'INDETERMINATE' },
    });
    const CERT = '00-baseline-certified.pdf';
    const certified = await certify(p, prepared.bytes);
    save(CERT, certified, {
      kind: 'baseline',
      how: 'pyHanko certification signature (DocMDP P=2, ETSI.CAdES.detached, time-stamped by the corpus TSA; key+certificate from the corpus CA) of the same document, then a DSS revision (addDss)',
      expected: { indication: 'TOTAL_PASSED' },
    });

    const lt = signatureLayout(blt);
    // What follows the /Contents string in our signer's dictionaries.
    const SIG_DICT_TAIL = '\n>>\nendobj\n';
    if (blt.toString('latin1', lt.byteRange[2], lt.byteRange[2] + SIG_DICT_TAIL.length) !== SIG_DICT_TAIL) throw new Error('unexpected signature dictionary layout');
    const [, a, bStart, c] = lt.byteRange;
    const signedEnd = bStart + c;
    const sigNum = lt.sigDictNum;
    const ltDoc = readPdf(blt);
    const sigField = ltDoc.signatures()[0]!.field;
    const nextNum = ltDoc.nextObjectNumber;

    // ----- 01 Incremental saving: page content -------------------------------------------------
    save('01a-incremental-page-content.pdf', appendUpdate(blt, [[4, stream(EVIL_CONTENT)]], '01a'), {
      kind: 'attack',
      base: BLT,
      attack: 'incremental saving attack (Mladenov et al. 2019)',
      how: 'appended an incremental update (new object 4 0 obj, xref, trailer with /Prev) redefining the page content stream: "100 CNY" becomes "1,000,000 CNY"',
      expected: DISALLOWED,
    });
    save('01b-incremental-page-content-b-b.pdf', appendUpdate(bb, [[4, stream(EVIL_CONTENT)]], '01b'), {
      kind: 'attack',
      base: BB,
      attack: 'incremental saving attack (Mladenov et al. 2019)',
      how: 'the same content-stream update appended to the B-B baseline',
      expected: DISALLOWED,
    });

    // ----- 02 Byte flips -----------------------------------------------------------------------
    {
      const at = blt.lastIndexOf('transfers 100 CNY', a) + 'transfers '.length;
      if (at < 'transfers '.length || at >= a) throw new Error('page text not found in range 1');
      const f = Buffer.from(blt);
      f[at] = '9'.charCodeAt(0);
      save('02a-flip-range1-page-content.pdf', f, {
        kind: 'attack',
        base: BLT,
        attack: 'byte manipulation of signed data',
        how: `one byte in the first signed range, inside the page content stream (offset ${at}): "100 CNY" becomes "900 CNY"`,
        expected: FAILED,
      });
    }
    {
      const xrefAt = blt.indexOf('xref', bStart);
      const entry = blt.indexOf(' 00000 n', xrefAt) - 3; // a digit of the first entry's offset
      const f = Buffer.from(blt);
      f[entry] = f[entry] === 0x30 ? 0x31 : 0x30;
      save('02b-flip-range2-xref.pdf', f, {
        kind: 'attack',
        base: BLT,
        attack: 'byte manipulation of signed data',
        how: `one digit of an offset in the signature revision's xref table (second signed range, offset ${entry})`,
        expected: FAILED,
      });
    }
    {
      const tr = blt.indexOf('/ID [', blt.indexOf('trailer', bStart));
      const at = blt.indexOf('<', blt.indexOf('>', tr)) + 5; // inside /ID[1]
      const f = Buffer.from(blt);
      f[at] = f[at] === 0x41 ? 0x42 : 0x41;
      save('02c-flip-range2-trailer-id.pdf', f, {
        kind: 'attack',
        base: BLT,
        attack: 'byte manipulation of signed data',
        how: `one hex digit of /ID[1] in the signature revision's trailer (second signed range, offset ${at}); the file still parses`,
        expected: FAILED,
      });
    }
    {
      const at = signatureValueHexOffset(blt, lt);
      const f = Buffer.from(blt);
      f[at] = f[at] === 0x30 ? 0x31 : 0x30;
      save('02d-flip-cms-signature-value.pdf', f, {
        kind: 'attack',
        base: BLT,
        attack: 'byte manipulation of the signature value',
        how: `one hex digit of the SignerInfo signature value (ECDSA r) inside /Contents (offset ${at})`,
        expected: FAILED,
      });
    }

    // ----- 03 ByteRange shrunk -----------------------------------------------------------------
    save('03a-byterange-shrunk-range2.pdf', rewriteByteRange(blt, lt, [0, a, bStart, c - 64]), {
      kind: 'attack',
      base: BLT,
      attack: 'partial coverage',
      how: `ByteRange digits rewritten in place (same length, space-padded) from [0 ${a} ${bStart} ${c}] to [0 ${a} ${bStart} ${c - 64}]: the last 64 bytes of the signature revision are left uncovered`,
      expected: FAILED,
    });
    save('03b-byterange-shrunk-range1.pdf', rewriteByteRange(blt, lt, [0, a - 32, bStart, c]), {
      kind: 'attack',
      base: BLT,
      attack: 'partial coverage',
      how: `ByteRange rewritten in place to [0 ${a - 32} ${bStart} ${c}]: the gap is larger than /Contents (32 bytes of the signature dictionary uncovered)`,
      expected: FAILED,
    });

    // ----- 04 /Contents zeroed -----------------------------------------------------------------
    {
      const f = Buffer.from(blt);
      f.fill(0x30, a + 1, bStart - 1);
      save('04-contents-zeroed.pdf', f, {
        kind: 'attack',
        base: BLT,
        attack: 'universal signature forgery (Mladenov et al. 2019)',
        how: 'every hex digit of /Contents replaced by "0" (same length): no CMS at all',
        expected: FAILED,
      });
    }

    // ----- 05 Truncation -----------------------------------------------------------------------
    const trunc = (file: string, at: number, how: string, expected: Expected = FAILED) =>
      save(file, blt.subarray(0, at), { kind: 'attack', base: BLT, attack: 'truncation', how: `truncated to ${at} bytes: ${how}`, expected });
    trunc('05a-truncated-in-range1.pdf', Math.floor(a / 2), 'inside the first signed range');
    trunc('05b-truncated-in-contents.pdf', a + Math.floor((bStart - a) / 2), 'inside the /Contents hex string');
    trunc('05c-truncated-before-signed-eof.pdf', signedEnd - 6, "just before the signature revision's %%EOF (the ByteRange ends past the end of the file)");
    // Only unsigned bytes go: the signed revision is intact and the DSS revision after it is
    // broken, so this is the "something unreadable was appended" case.
    trunc('05d-truncated-before-final-eof.pdf', blt.lastIndexOf('%%EOF'), 'the final %%EOF (of the unsigned DSS revision) cut off; the signed revision is intact', DISALLOWED);

    // ----- 06 Signature wrapping ---------------------------------------------------------------
    {
      // Mladenov et al. 2019 §5.3: the second signed part is moved later and attacker content
      // fills the space; the signed bytes stay byte-identical, so the CMS still verifies over
      // the new ByteRange. Here the attacker's copy of the signature dictionary (same object
      // number, same /Contents) carries the moved ByteRange, the gap holds the original
      // /Contents string plus new objects, and a full xref table at the end ties it together.
      const xref = classicXref(blt);
      const sigDict = readPdf(blt).getObject(new PdfRef(sigNum, 0)) as PdfDict;
      const cmsHex = blt.toString('latin1', a, bStart);
      const g = new RevisionWriter(blt.subarray(0, bStart));
      // Close the original dictionary where its /Contents ends (its own closing text now
      // follows the gap, where nothing reads it).
      g.put(SIG_DICT_TAIL);
      const pageObj = g.obj(4, stream(EVIL_CONTENT));
      const dictText = ser(sigDict.clone().set('ByteRange', null).set('Contents', null))
        .toString('latin1')
        .replace('/ByteRange null', `/ByteRange ${BR_PLACEHOLDER}`)
        .replace('/Contents null', `/Contents ${cmsHex}`);
      const sigAt = g.obj(sigNum, dictText);
      g.put('% padding\n');
      const gap = g.body();
      const delta = gap.length - bStart;
      const newB = bStart + delta;
      const moved = Buffer.concat([gap, blt.subarray(bStart)]);
      const rows: XrefRow[] = [{ num: 0, gen: 65535, offset: 0, free: true }];
      for (const [num, e] of xref) {
        if (num === 0 || e.offset < 0) continue;
        rows.push({ num, gen: e.gen, offset: e.offset >= bStart ? e.offset + delta : e.offset });
      }
      for (const r of rows) {
        if (r.num === 4) r.offset = pageObj;
        if (r.num === sigNum) r.offset = sigAt;
      }
      const w = new RevisionWriter(moved);
      const t = trailerOf(blt);
      const out = w.finish(`<< /Size ${t.size} /Root ${t.root}${t.info} /ID [${t.id0} ${t.id0}] >>`, rows);
      const br = `[0 ${a} ${newB} ${c}]`.padEnd(BR_PLACEHOLDER.length, ' ');
      const phAt = out.indexOf(BR_PLACEHOLDER, sigAt);
      out.write(br, phAt, 'latin1');
      save('06a-signature-wrapping.pdf', out, {
        kind: 'attack',
        base: BLT,
        attack: 'signature wrapping (Mladenov et al. 2019)',
        how: `the signed second part moved from ${bStart} to ${newB}; the gap after the original /Contents holds a new page content stream ("1,000,000 CNY") and a copy of signature dictionary ${sigNum} 0 obj with /ByteRange [0 ${a} ${newB} ${c}] and the same /Contents; a full xref table at the end points at them. The ByteRange bytes still hash to the signed digest, but the gap is not that dictionary's /Contents`,
        expected: FAILED,
      });
    }
    {
      // The simpler variant: the original dictionary's ByteRange digits edited in place.
      const xref = classicXref(blt);
      const g = new RevisionWriter(rewriteByteRange(blt, lt, [0, a, bStart + 4096, c]).subarray(0, bStart));
      g.put(SIG_DICT_TAIL);
      const pageObj = g.obj(4, stream(EVIL_CONTENT));
      const pad = bStart + 4096 - g.offset;
      if (pad < 2) throw new Error('gap too small');
      g.put('%' + ' '.repeat(pad - 2) + '\n');
      const moved = Buffer.concat([g.body(), blt.subarray(bStart)]);
      const rows: XrefRow[] = [{ num: 0, gen: 65535, offset: 0, free: true }];
      for (const [num, e] of xref) {
        if (num === 0 || e.offset < 0) continue;
        rows.push({ num, gen: e.gen, offset: num === 4 ? pageObj : e.offset >= bStart ? e.offset + 4096 : e.offset });
      }
      const t = trailerOf(blt);
      const out = new RevisionWriter(moved).finish(`<< /Size ${t.size} /Root ${t.root}${t.info} /ID [${t.id0} ${t.id0}] >>`, rows);
      save('06b-signature-wrapping-in-place.pdf', out, {
        kind: 'attack',
        base: BLT,
        attack: 'signature wrapping (Mladenov et al. 2019)',
        how: `the signature dictionary's own ByteRange rewritten in place to [0 ${a} ${bStart + 4096} ${c}], the signed second part moved 4096 bytes later, a new page content stream ("1,000,000 CNY") in the widened gap, a full xref table at the end`,
        expected: FAILED,
      });
    }

    // ----- 07 Universal signature forgery ------------------------------------------------------
    {
      // The attacker's own "signature" on the unsigned document: field, widget and AcroForm as
      // our signer writes them, and a signature dictionary with a real CMS of our seal (copied
      // from the baseline) but missing, null, empty or malformed values (Mladenov et al. 2019 §5.1).
      const cmsHex = blt.toString('latin1', a, bStart);
      const usf = (file: string, entries: string, how: string, subFilter = 'ETSI.CAdES.detached') => {
        const base = prepared.bytes;
        const w = new RevisionWriter(base);
        w.obj(1, '<< /Type /Catalog /Pages 2 0 R /AcroForm 11 0 R >>');
        w.obj(3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents [4 0 R 7 0 R] /Annots [10 0 R] >>');
        const sigAt = w.obj(9, `<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /${subFilter} /M (D:20250601080000+00'00') ${entries} >>`);
        w.obj(10, '<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 9 0 R /F 132 /P 3 0 R /Rect [0 0 0 0] >>');
        w.obj(11, '<< /Fields [10 0 R] /SigFlags 3 >>');
        const out = w.finish(updateTrailer(base, 12, '', file));
        const ph = out.indexOf(BR_PLACEHOLDER, sigAt);
        if (ph > 0) {
          // A ByteRange consistent with this file: the gap is exactly this dictionary's /Contents.
          const lt2 = out.indexOf('<', out.indexOf('/Contents', sigAt));
          const gt2 = out.indexOf('>', lt2) + 1;
          out.write(`[0 ${lt2} ${gt2} ${out.length - gt2}]`.padEnd(BR_PLACEHOLDER.length, ' '), ph, 'latin1');
        }
        save(file, out, {
          kind: 'attack',
          base: BLT,
          attack: 'universal signature forgery (Mladenov et al. 2019)',
          how: `a signature revision written by hand on the unsigned prepared document (field, widget, AcroForm as our signer writes them), signature dictionary ${how}`,
          expected: FAILED,
        });
      };
      const br = `/ByteRange [0 ${a} ${bStart} ${c}]`;
      usf('07a-usf-contents-missing.pdf', br, "without /Contents (/ByteRange copied from the baseline)");
      usf('07b-usf-contents-null.pdf', `${br} /Contents null`, 'with /Contents null');
      usf('07c-usf-contents-empty.pdf', `${br} /Contents <>`, 'with /Contents <> (empty)');
      usf('07d-usf-byterange-missing.pdf', `/Contents ${cmsHex}`, "without /ByteRange (/Contents: the baseline's real CMS)");
      usf('07e-usf-byterange-zeros.pdf', `/ByteRange [0 0 0 0] /Contents ${cmsHex}`, "with /ByteRange [0 0 0 0] and the baseline's CMS");
      usf('07f-usf-byterange-negative.pdf', `/ByteRange [0 -1 -1 -1] /Contents ${cmsHex}`, "with /ByteRange [0 -1 -1 -1] and the baseline's CMS");
      usf('07g-usf-byterange-mistyped.pdf', `/ByteRange (0 ${a} ${bStart} ${c}) /Contents ${cmsHex}`, "with /ByteRange a string instead of an array, and the baseline's CMS");
      usf('07h-usf-subfilter-unknown.pdf', `/ByteRange ${BR_PLACEHOLDER} /Contents ${cmsHex}`, "with /SubFilter /adbe.x509.rsa_sha1 (not on the allow-list), a ByteRange consistent with this file and the baseline's CMS", 'adbe.x509.rsa_sha1');
      usf('07i-copied-cms.pdf', `/ByteRange ${BR_PLACEHOLDER} /Contents ${cmsHex}`, "well-formed, with a ByteRange consistent with this file (gap = its /Contents) and the baseline's real CMS: the CMS is genuine, the message digest is of other bytes");
    }

    // ----- 08–10 Shadow attacks (Mainka, Mladenov, Rohlmann, NDSS 2021) -------------------------
    {
      // Hide: an xref-only update points object 7 (the white overlay) back at its revision-1
      // definition (an empty stream) — no object is written, the penalty clause shows.
      const rows: XrefRow[] = [{ num: 7, gen: 0, offset: prepared.rev1[7]! }];
      save('08a-shadow-hide-xref.pdf', new RevisionWriter(blt).finish(updateTrailer(blt, 0, '', '08a'), rows), {
        kind: 'attack',
        base: BLT,
        attack: 'shadow attack: hide (Mainka, Mladenov, Rohlmann, NDSS 2021)',
        how: `an update with only an xref section and trailer: entry 7 (the white overlay over the penalty clause) re-pointed at its revision-1 definition at offset ${prepared.rev1[7]} (an empty stream, in the signed bytes but unreferenced at signing)`,
        expected: DISALLOWED,
      });
      const page = pageUpdate(blt, (d) => d.set('Contents', [new PdfRef(4, 0)]));
      save('08b-shadow-hide-page.pdf', appendUpdate(blt, [[page.ref.num, page.body]], '08b'), {
        kind: 'attack',
        base: BLT,
        attack: 'shadow attack: hide (Mainka, Mladenov, Rohlmann, NDSS 2021)',
        how: 'an update redefining the page object with /Contents [4 0 R]: the overlay stream 7 is dropped and the hidden penalty clause shows; no content stream is new',
        expected: DISALLOWED,
      });
    }
    {
      const font = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [49 /nine] >> >>';
      save('09-shadow-replace-font.pdf', appendUpdate(blt, [[5, font]], '09'), {
        kind: 'attack',
        base: BLT,
        attack: 'shadow attack: replace (Mainka, Mladenov, Rohlmann, NDSS 2021)',
        how: 'an update redefining font object 5 with /Differences [49 /nine]: every "1" on the page is drawn as "9" ("100 CNY" shows as "900 CNY"); the content stream is untouched',
        expected: DISALLOWED,
      });
    }
    {
      const rows: XrefRow[] = [{ num: 4, gen: 0, offset: prepared.rev1[4]! }];
      save('10a-shadow-hide-and-replace-xref.pdf', new RevisionWriter(blt).finish(updateTrailer(blt, 0, '', '10a'), rows), {
        kind: 'attack',
        base: BLT,
        attack: 'shadow attack: hide-and-replace (Mainka, Mladenov, Rohlmann, NDSS 2021)',
        how: `an update with only an xref section and trailer: entry 4 (the page content) re-pointed at its revision-1 definition at offset ${prepared.rev1[4]} ("1,000,000 CNY to account 6222 9999…"), which was in the signed bytes but unreferenced`,
        expected: DISALLOWED,
      });
      const page = pageUpdate(blt, (d) => d.set('Contents', [new PdfRef(8, 0)]));
      save('10b-shadow-hide-and-replace-page.pdf', appendUpdate(blt, [[page.ref.num, page.body]], '10b'), {
        kind: 'attack',
        base: BLT,
        attack: 'shadow attack: hide-and-replace (Mainka, Mladenov, Rohlmann, NDSS 2021)',
        how: 'an update redefining the page object with /Contents [8 0 R]: object 8, a content stream in the signed revision that nothing referenced ("CANCELLED, refund 100,000 CNY"), replaces the page',
        expected: DISALLOWED,
      });
    }

    // ----- 11 Incremental saving without objects / without xref -----------------------------------
    {
      const rows: XrefRow[] = [
        { num: 0, gen: 65535, offset: 7, free: true },
        { num: 7, gen: 1, offset: 0, free: true },
      ];
      save('11a-isa-xref-trailer-only.pdf', new RevisionWriter(blt).finish(updateTrailer(blt, 0, '', '11a'), rows), {
        kind: 'attack',
        base: BLT,
        attack: 'incremental saving attack, xref and trailer only (Mladenov et al. 2019)',
        how: 'an update of an xref section and trailer alone that marks object 7 (the overlay) free: the reference 7 0 R becomes null and the hidden penalty clause shows',
        expected: DISALLOWED,
      });
      const w = new RevisionWriter(blt);
      w.obj(4, stream(EVIL_CONTENT));
      save('11b-isa-objects-without-xref.pdf', w.body(), {
        kind: 'attack',
        base: BLT,
        attack: 'incremental saving attack without xref and trailer (Mladenov et al. 2019)',
        how: 'a new definition of object 4 ("1,000,000 CNY") appended after the last %%EOF with no xref section, trailer or startxref: lenient readers that rebuild the xref pick it up',
        expected: DISALLOWED,
      });
    }

    // ----- 12 After certification --------------------------------------------------------------
    {
      const cdoc = readPdf(certified);
      const n = cdoc.nextObjectNumber;
      const annot = (subtype: string, extra: string, ap: string) => {
        const page = pageUpdate(certified, (d, doc) => d.set('Annots', [...(doc.resolveArray(d.get('Annots')) ?? []), new PdfRef(n, 0)]));
        return appendUpdate(
          certified,
          [
            [page.ref.num, page.body],
            [n, `<< /Type /Annot /Subtype /${subtype} /Rect [72 560 420 620] /F 4 /P ${page.ref.num} ${page.ref.gen} R ${extra} /AP << /N ${n + 1} 0 R >> >>`],
            [n + 1, stream(ap, '/Type /XObject /Subtype /Form /BBox [0 0 348 60] /Resources << /Font << /F1 5 0 R >> >>')],
          ],
          subtype,
        );
      };
      save('12a-evil-annotation-freetext.pdf', annot('FreeText', '/Contents (evil annotation) /DA (/F1 14 Tf 1 0 0 rg)', 'BT 1 0 0 rg /F1 16 Tf 6 36 Td (Amount corrected: 1,000,000 CNY) Tj ET'), {
        kind: 'attack',
        base: CERT,
        attack: 'evil annotation attack (Rohlmann et al., "Breaking the Specification: PDF Certification", IEEE S&P 2021)',
        how: 'an update on the certified (DocMDP P=2) baseline adding a FreeText annotation "evil annotation" with an appearance reading "Amount corrected: 1,000,000 CNY" to the page\'s /Annots; P=2 allows no annotations',
        expected: DISALLOWED,
      });
      save('12b-evil-annotation-stamp.pdf', annot('Stamp', '/Name /Approved /Contents (evil annotation)', '0.8 0 0 RG 4 w 4 4 340 52 re S BT 0.8 0 0 rg /F1 28 Tf 20 20 Td (PAID IN FULL) Tj ET'), {
        kind: 'attack',
        base: CERT,
        attack: 'evil annotation attack (Rohlmann et al., "Breaking the Specification: PDF Certification", IEEE S&P 2021)',
        how: 'an update on the certified baseline adding a Stamp annotation with an appearance stream "PAID IN FULL" to the page',
        expected: DISALLOWED,
      });
      const signedAgain = await p.sign(certified, 'B-B');
      save('12c-signature-in-new-field-after-certification.pdf', signedAgain, {
        kind: 'attack',
        base: CERT,
        attack: 'new signature field after certification (STANDARDS.md checklist 5; Rohlmann et al., IEEE S&P 2021)',
        how: 'SigningService.sign (B-B, invisible) of the certified baseline: the approval signature creates a new signature field, which STANDARDS.md checklist 5 does not allow after certification (signatures only in fields that existed; pyHanko 0.38 accepts an invisible one at P=2 as form filling)',
        expected: DISALLOWED,
      });
      const signedVisibly = await p.sign(certified, 'B-B', { page: 1, x: 400, y: 560, width: 120 });
      save('12d-visible-signature-in-new-field-after-certification.pdf', signedVisibly, {
        kind: 'attack',
        base: CERT,
        attack: 'sneaky signature attack (Rohlmann et al., IEEE S&P 2021)',
        how: 'SigningService.sign (B-B) of the certified baseline with a visible seal (page 1, x 400, y 560, 120 pt): a new signature field whose widget draws on the certified page',
        expected: DISALLOWED,
      });
    }

    // ----- 13 Garbage after %%EOF --------------------------------------------------------------
    save('13-garbage-after-eof.pdf', Buffer.concat([blt, noise(200, 13)]), {
      kind: 'attack',
      base: BLT,
      attack: 'trailing data',
      how: '200 pseudo-random bytes (xorshift32, seed 13) appended after the final %%EOF',
      expected: DISALLOWED,
    });

    // ----- 14 Sneaky signature: a second field sharing the first's signature dictionary ----------
    {
      const acro = ltDoc.acroForm()!.clone();
      const acroRef = ltDoc.catalog().get('AcroForm');
      if (!(acroRef instanceof PdfRef)) throw new Error('expected an indirect /AcroForm');
      acro.set('Fields', [...(ltDoc.resolveArray(acro.get('Fields')) ?? []), new PdfRef(nextNum, 0)]);
      const page = pageUpdate(blt, (d, doc) => d.set('Annots', [...(doc.resolveArray(d.get('Annots')) ?? []), new PdfRef(nextNum, 0)]));
      const widget = `<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature2) /V ${sigNum} 0 R /F 4 /P ${page.ref.num} 0 R /Rect [320 560 540 640] /AP << /N ${nextNum + 1} 0 R >> >>`;
      const ap = stream('BT /F1 12 Tf 6 56 Td (Digitally signed by) Tj 0 -18 Td (Ministry of Finance) Tj 0 -18 Td (Signature valid) Tj ET', '/Type /XObject /Subtype /Form /BBox [0 0 220 80] /Resources << /Font << /F1 5 0 R >> >>');
      const out = appendUpdate(
        blt,
        [
          [acroRef.num, ser(acro)],
          [page.ref.num, page.body],
          [nextNum, widget],
          [nextNum + 1, ap],
        ],
        '14',
      );
      save('14-sneaky-signature-shared-sigdict.pdf', out, {
        kind: 'attack',
        base: BLT,
        attack: 'sneaky signature attack, duplicated signature dictionary (Rohlmann et al., IEEE S&P 2021)',
        how: `an update adding a second signature field (${sigField.fullName} is the first) whose /V is the first signature's dictionary ${sigNum} 0 R, with a visible widget "Digitally signed by Ministry of Finance": two fields claim one signature (ranges collide)`,
        // STANDARDS.md checklist 2: signatures' ranges do not collide.
        expected: FAILED,
      });
    }

    // ----- Trust anchor, manifest, README ------------------------------------------------------
    fs.writeFileSync(path.join(outDir, 'trust-anchor.pem'), toPem(p.services.ca.root.der));
    const generatedAt = new Date();
    // Shortly after generation: every certificate, OCSP response (1 h) and CRL (24 h) is current.
    const verificationTime = new Date(Math.ceil(generatedAt.getTime() / 1000) * 1000 + 60_000);
    const manifest = {
      description: 'Attack corpus for the PDF signature verifier (issue #6). Generated by scripts/make-attack-vectors.ts; see README.md.',
      generator: 'node -r ./tests/helpers/ts-register.js scripts/make-attack-vectors.ts',
      generatedAt: generatedAt.toISOString(),
      verificationTime: verificationTime.toISOString(),
      trustAnchors: 'trust-anchor.pem',
      expectedOutcomes: {
        indication: 'the report indication must be exactly this',
        disallowedChange: 'some signature must list a change with allowed === false (the signature itself may verify)',
        anyOf: 'either of the listed outcomes',
      },
      vectors,
    };
    fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, 'README.md'), readme(vectors, manifest.verificationTime));
  } finally {
    await p.close();
  }
}

function describe(e: Expected): string {
  if ('indication' in e) return e.indication;
  if ('disallowedChange' in e) return 'a change reported with allowed: false';
  return e.anyOf.map(describe).join(' or ');
}

function readme(vectors: Vector[], verificationTime: string): string {
  return [
    '# PDF signature attack corpus',
    '',
    'Generated here, not third-party files: `node -r ./tests/helpers/ts-register.js scripts/make-attack-vectors.ts`',
    '(needs python3 with pyHanko for the certified baseline). Regenerating replaces every file here, with a',
    'new throw-away CA. Baselines come from `SigningService.sign` (the HTTP route\'s pipeline) and from',
    'pyHanko (certification); each attack is a hand-made edit of one baseline. `manifest.json` lists each',
    'file with its SHA-256, how it was made and the expected outcome; `trust-anchor.pem` is the CA\'s root.',
    `Verify with the clock set to \`verificationTime\` in manifest.json (${verificationTime}).`,
    '',
    'The document is prepared as a shadow attacker would before signing (STANDARDS.md checklist 4): revision 1',
    'holds a 1,000,000 CNY payment and an empty overlay; revision 2, what the signer sees, has 100 CNY, a penalty',
    'clause hidden under a white overlay (object 7), and a content stream no page references (object 8).',
    '',
    'Expected: TOTAL_FAILED when signed bytes or the signature structure are broken; "a change reported with',
    'allowed: false" when the signed revision is intact and something was appended (the signature may still verify,',
    'but the report must never be TOTAL_PASSED without that flag).',
    '',
    ...vectors.map((v) => `- \`${v.file}\` — ${v.attack ? `${v.attack}: ` : ''}${v.how}${v.base ? ` (from \`${v.base}\`)` : ''} — expected: ${describe(v.expected)}`),
    '',
  ].join('\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
