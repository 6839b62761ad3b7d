/**
 * `## Signing` benchmark: what one PAdES signature costs, in time and in memory, against
 * @signpdf/signpdf 3 on the same files; and CAdES throughput against raw crypto.sign.
 *
 * Our side is the real pipeline: SigningService built by buildServices on a throw-away SQLite
 * store, so every figure includes what a request pays besides the PDF work: reading the seal
 * and its certificate, unsealing the key, recording the key use, the transparency-log entry,
 * the read-back check of the result and, at B-T, a time-stamp from the built-in TSA. Timing only
 * signPdf + buildCadesSignature would flatter us; the store writes are part of every signature.
 *
 * @signpdf side: plainAddPlaceholder (@signpdf/placeholder-plain) + SignPdf.sign with a
 * P12Signer (@signpdf/signer-p12), the usage its README shows. node-forge puts only RSA keys in
 * PKCS#12, so both sides sign with RSA 3072 / SHA-256 (our seal is RS256); the library makes
 * adbe.pkcs7.detached without a time-stamp, so it is compared with our B-B; our B-T is shown
 * beside it. P12Signer parses the P12 (PBKDF + 3DES in JavaScript) on every signature: that is
 * the library's design and part of its per-signature cost.
 *
 * Each case runs in its own child process, because peak RSS is per process: set up (store, CA,
 * seal; or the P12), warm up on a small PDF, collect garbage, reset the peak (Linux
 * /proc/self/clear_refs, "5"), read the RSS, read the document from disk and sign it once; the
 * peak RSS increase is VmHWM − that RSS, so it includes the document itself. Then `runs` timed
 * signatures of the same document; the figure is their median.
 *
 * Files: generated PDFs (classic cross-reference table, as placeholder-plain requires) whose
 * pages each carry an uncompressed, incompressible greyscale image; 100 KB, 1 MB, 10 MB, and
 * 100 MB with --full. Both sides sign the same files in the same run.
 *
 * Run: npm run bench -- --only signing [--full]
 */
import { fork } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgencyService } from '../agencies';
import type { Principal } from '../api-keys';
import { keyObjectSigner } from '../crypto';
import { signPdf } from '../pdf';
import { issueCertificate } from '../pki/certificate';
import { buildServices, type Services } from '../services';
import { buildCadesSignature } from '../signing/cades';
import type { SignatureLevel } from '../signing/service';
import { benchCades, type CadesBenchResult } from '../signing/bench';
import { openSqliteStores, type Stores } from '../store';

// ---------------------------------------------------------------------------------------------
// Test documents
// ---------------------------------------------------------------------------------------------

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** Deterministic incompressible bytes (xorshift32), so every run signs the same files. */
function noise(bytes: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(bytes / 4));
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, bytes);
}

const IMAGE_WIDTH = 512;
const PAGE_IMAGE_BYTES = 256 * 1024;

/**
 * Writes a PDF of about `targetBytes` to `file` (streamed, so a 100 MB file costs no 100 MB in
 * memory): a classic xref table; one catalog, page tree and Info; per page a content stream that
 * paints one uncompressed DeviceGray image of pseudo-random bytes (ISO 32000-1 §8.9.5).
 * Returns the file's size.
 */
export function writeBenchPdf(file: string, targetBytes: number): number {
  const pages = Math.max(1, Math.round(targetBytes / PAGE_IMAGE_BYTES));
  const perPage = Math.floor(targetBytes / pages) - 420; // page, content and image dictionaries
  const height = Math.max(1, Math.floor(perPage / IMAGE_WIDTH));
  const kids = Array.from({ length: pages }, (_, i) => `${4 + 3 * i} 0 R`).join(' ');
  const fd = fs.openSync(file, 'w');
  const offsets: number[] = [];
  let offset = 0;
  const put = (b: Buffer) => {
    fs.writeSync(fd, b);
    offset += b.length;
  };
  const obj = (num: number, ...parts: Buffer[]) => {
    offsets[num] = offset;
    put(latin1(`${num} 0 obj\n`));
    for (const p of parts) put(p);
    put(latin1('\nendobj\n'));
  };
  try {
    put(latin1('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n'));
    obj(1, latin1('<< /Type /Catalog /Pages 2 0 R >>'));
    obj(2, latin1(`<< /Type /Pages /Kids [${kids}] /Count ${pages} /MediaBox [0 0 595 842] >>`));
    obj(3, latin1('<< /Producer (eseal signing benchmark) /Title (Benchmark document) >>'));
    for (let i = 0; i < pages; i++) {
      const [page, content, image] = [4 + 3 * i, 5 + 3 * i, 6 + 3 * i];
      const ops = latin1(`q 495 0 0 ${Math.min(742, Math.round((495 * height) / IMAGE_WIDTH))} 50 50 cm /Im0 Do Q\n`);
      obj(page, latin1(`<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Im0 ${image} 0 R >> >> /Contents ${content} 0 R >>`));
      obj(content, latin1(`<< /Length ${ops.length} >>\nstream\n`), ops, latin1('\nendstream'));
      const pixels = noise(IMAGE_WIDTH * height, i + 1);
      obj(
        image,
        latin1(`<< /Type /XObject /Subtype /Image /Width ${IMAGE_WIDTH} /Height ${height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Length ${pixels.length} >>\nstream\n`),
        pixels,
        latin1('\nendstream'),
      );
    }
    const size = 4 + 3 * pages;
    const xrefAt = offset;
    const rows = ['0000000000 65535 f\r\n'];
    for (let n = 1; n < size; n++) rows.push(`${String(offsets[n]).padStart(10, '0')} 00000 n\r\n`);
    put(latin1(`xref\n0 ${size}\n${rows.join('')}`));
    put(latin1(`trailer\n<< /Size ${size} /Root 1 0 R /Info 3 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n${xrefAt}\n%%EOF\n`));
  } finally {
    fs.closeSync(fd);
  }
  return offset;
}

// ---------------------------------------------------------------------------------------------
// One case, in a child process
// ---------------------------------------------------------------------------------------------

/** 'eseal': SigningService; 'eseal-core': only its PDF and CMS work (signPdf + buildCadesSignature); 'signpdf': @signpdf. */
export type SigningImpl = 'eseal' | 'eseal-core' | 'signpdf';

export interface SigningJob {
  impl: SigningImpl;
  /** eseal only; @signpdf makes the equivalent of B-B. */
  level: SignatureLevel;
  file: string;
  /** A small PDF signed once before measuring (JIT, lazily built state). */
  warmupFile: string;
  /** Timed signatures after the measured one (0: memory only). */
  runs: number;
}

export interface SigningCaseResult {
  job: SigningJob;
  fileBytes: number;
  outputBytes: number;
  /** Median of the timed runs; NaN when runs = 0. */
  msMedian: number;
  msSamples: number[];
  /** Milliseconds of the measured (first) signature of this document. */
  msFirst: number;
  /** RSS after set-up, warm-up and GC, before the document is read. */
  idleRssBytes: number;
  /** Peak RSS while reading and signing the document once. */
  peakRssBytes: number;
  /** peak − idle: includes the document itself. */
  rssIncreaseBytes: number;
  /** How the peak was read: VmHWM after resetting it, or getrusage maxRSS (cannot be reset; an upper bound on the idle peak). */
  peakMethod: 'VmHWM' | 'maxRSS';
  error?: string;
}

const CHILD_FLAG = '--eseal-signing-bench-child';
const AGENCY = '11330105002500287C';

export function procStatusKiB(field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Resets the kernel's peak-RSS mark for this process (Linux ≥ 4.0, proc(5) clear_refs "5"). */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Collects garbage and waits until the RSS settles: V8 returns freed pages from background
 * threads after a GC, and an idle RSS read before that would hide part of the next peak.
 */
export async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  let previous = -1;
  let steady = 0;
  for (let i = 0; i < 40 && steady < 2; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    const rss = procStatusKiB('VmRSS') ?? process.memoryUsage().rss / 1024;
    steady = Math.abs(rss - previous) < 256 ? steady + 1 : 0;
    previous = rss;
  }
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

type SignOnce = (document: Buffer) => Promise<Buffer>;

/** A throw-away eseal on SQLite: a fresh store and CA, one agency, one RS256 seal and a signer of that agency. */
export async function openBenchService(): Promise<{ services: Services; sealId: string; signer: Principal; close: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-sign-'));
  const stores: Stores = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
  const services: Services = await buildServices(
    {
      dataDir: dir,
      masterKey: '42'.repeat(32),
      masterKeyFile: path.join(dir, 'master.key'),
      publicUrl: 'http://127.0.0.1:8080',
      keyStore: 'software',
      pkcs11: null,
      tsaPolicy: null,
      logCheckpointIntervalMs: 0,
    },
    stores,
  );
  await new AgencyService(stores.agencies).create({ code: AGENCY, name: 'eseal benchmark agency', region: null });
  const admin: Principal = { apiKeyId: 'bench', agencyCode: null, roles: ['admin'] };
  const seal = await services.seals.create(admin, { agencyCode: AGENCY, name: 'benchmark seal', kind: 'official', algorithm: 'RS256' });
  return {
    services,
    sealId: seal.id,
    signer: { apiKeyId: 'bench', agencyCode: AGENCY, roles: ['signer'] },
    close: async () => {
      await services.close();
      await stores.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Our pipeline, as openBenchService sets it up. */
async function esealSigner(level: SignatureLevel): Promise<{ sign: SignOnce; close: () => Promise<void> }> {
  const b = await openBenchService();
  return {
    sign: async (document) => (await b.services.signing.sign(b.signer, { sealId: b.sealId, format: 'pades', level, document })).bytes,
    close: b.close,
  };
}

/**
 * The PDF and CMS work of a PAdES B-B signature alone, as SigningService.pades does it: signPdf
 * with a CAdES (pades profile) over the ByteRange digest, with an in-memory RSA 3072 key and a
 * throw-away CA. No store, no key-use record, no log entry: the difference to 'eseal' is what
 * those cost.
 */
async function esealCoreSigner(): Promise<{ sign: SignOnce; close: () => Promise<void> }> {
  const key = () => keyObjectSigner('RS256', generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey);
  const caSigner = key();
  const sealSigner = key();
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
  const ca = await issueCertificate({
    profile: 'root-ca',
    subject: { c: 'CN', o: 'eseal bench', cn: 'eseal Bench CA' },
    subjectPublicKey: caSigner.publicKey,
    issuer: { selfSigned: true, signer: caSigner },
    serial: Buffer.from('0102030405060708090a', 'hex'),
    notBefore,
  });
  const certificate = await issueCertificate({
    profile: 'seal',
    subject: { c: 'CN', o: 'eseal bench', organizationIdentifier: `NTRCN-${AGENCY}`, cn: 'eseal Bench Seal' },
    subjectPublicKey: sealSigner.publicKey,
    issuer: { certificate: ca, signer: caSigner },
    serial: Buffer.from('1112131415161718191a', 'hex'),
    notBefore,
  });
  return {
    sign: async (document) =>
      (
        await signPdf(document, { subFilter: 'ETSI.CAdES.detached', signingTime: new Date(), contentsSize: 8 * 1024 }, async (tbs) => {
          const contentDigest = createHash('sha256').update(tbs).digest();
          return (await buildCadesSignature({ signer: sealSigner, certificate, chain: [ca], contentDigest, profile: 'pades' })).der;
        })
      ).pdf,
    close: async () => undefined,
  };
}

/** The parts of node-forge used here (it ships no types, and @types/node-forge is not a dependency). */
interface Forge {
  pki: {
    privateKeyFromPem(pem: string): unknown;
    publicKeyFromPem(pem: string): unknown;
    createCertificate(): {
      publicKey: unknown;
      serialNumber: string;
      validity: { notBefore: Date; notAfter: Date };
      setSubject(attrs: { name: string; value: string }[]): void;
      setIssuer(attrs: { name: string; value: string }[]): void;
      sign(key: unknown, md: unknown): void;
    };
  };
  md: { sha256: { create(): unknown } };
  pkcs12: { toPkcs12Asn1(key: unknown, certs: unknown[], password: string, options: { algorithm: string }): unknown };
  asn1: { toDer(asn1: unknown): { getBytes(): string } };
}

/** @signpdf: a P12 holding an RSA 3072 key and a self-signed certificate, built with node-forge. */
async function signpdfSigner(): Promise<{ sign: SignOnce; close: () => Promise<void> }> {
  // Loaded here only: they are development dependencies, and the rest of the bench needs none.
  const forge = require('node-forge') as Forge;
  const { SignPdf } = await import('@signpdf/signpdf');
  const { P12Signer } = await import('@signpdf/signer-p12');
  const { plainAddPlaceholder } = await import('@signpdf/placeholder-plain');
  const pair = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const key = forge.pki.privateKeyFromPem(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86400_000);
  const subject = [
    { name: 'countryName', value: 'CN' },
    { name: 'organizationName', value: 'eseal bench' },
    { name: 'commonName', value: 'signpdf bench' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.sign(key, forge.md.sha256.create());
  const p12 = Buffer.from(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(key, [cert], 'bench', { algorithm: '3des' })).getBytes(), 'binary');
  const signpdf = new SignPdf();
  return {
    sign: async (document) => {
      const withPlaceholder = plainAddPlaceholder({ pdfBuffer: document, reason: 'benchmark', contactInfo: '', name: 'signpdf bench', location: '' });
      // A P12Signer signs once: sign() reads the P12 out of a forge buffer that it consumes, and
      // a second call fails with "Too few bytes to parse DER". So one signer per signature.
      return signpdf.sign(withPlaceholder, new P12Signer(p12, { passphrase: 'bench' }));
    },
    close: async () => undefined,
  };
}

/** Runs in the child: see the module comment for the procedure. */
export async function runSigningCaseInProcess(job: SigningJob): Promise<SigningCaseResult> {
  const impl = job.impl === 'eseal' ? await esealSigner(job.level) : job.impl === 'eseal-core' ? await esealCoreSigner() : await signpdfSigner();
  try {
    await impl.sign(fs.readFileSync(job.warmupFile));
    await collectGarbage();
    const reset = resetPeakRss();
    const idleKiB = procStatusKiB('VmRSS') ?? process.memoryUsage().rss / 1024;
    const maxRssBeforeKiB = process.resourceUsage().maxRSS;
    let document: Buffer | null = fs.readFileSync(job.file);
    const fileBytes = document.length;
    let t0 = performance.now();
    let signed: Buffer | null = await impl.sign(document);
    const msFirst = performance.now() - t0;
    const outputBytes = signed.length;
    signed = null;
    const peakKiB = reset ? (procStatusKiB('VmHWM') ?? process.resourceUsage().maxRSS) : Math.max(process.resourceUsage().maxRSS, maxRssBeforeKiB);
    await collectGarbage();
    const samples: number[] = [];
    for (let i = 0; i < job.runs; i++) {
      t0 = performance.now();
      await impl.sign(document);
      samples.push(performance.now() - t0);
    }
    document = null;
    return {
      job,
      fileBytes,
      outputBytes,
      msMedian: median(samples),
      msSamples: samples,
      msFirst,
      idleRssBytes: idleKiB * 1024,
      peakRssBytes: peakKiB * 1024,
      rssIncreaseBytes: Math.max(0, peakKiB - idleKiB) * 1024,
      peakMethod: reset ? 'VmHWM' : 'maxRSS',
    };
  } finally {
    await impl.close();
  }
}

/**
 * Runs one case in a fresh Node process (this file as its entry point, with --expose-gc and the
 * parent's exec arguments, so `node -r …/ts-register.js` works too). A child that dies, e.g. of
 * running out of memory, gives a result with `error` set rather than failing the whole run.
 */
export function runSigningCase(job: SigningJob): Promise<SigningCaseResult> {
  return new Promise((resolve) => {
    const child = fork(__filename, [CHILD_FLAG], {
      execArgv: [...process.execArgv, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      // A fixed glibc mmap threshold: every large buffer gets its own mapping, returned to the
      // system when freed. With the default (dynamic) threshold glibc serves large buffers from
      // memory freed earlier in the process (set-up, warm-up), and the peak would show only part
      // of what signing allocates (mallopt(3), M_MMAP_THRESHOLD).
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: String(128 * 1024) },
    });
    let result: SigningCaseResult | undefined;
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-4000);
    });
    child.on('message', (m: { result?: SigningCaseResult; error?: string }) => {
      if (m.result) result = m.result;
      else if (m.error) stderr = m.error;
    });
    child.on('exit', (code, signal) => {
      if (result) return resolve(result);
      const fileBytes = fs.existsSync(job.file) ? fs.statSync(job.file).size : 0;
      const reason = signal ? `killed by ${signal}` : `exit code ${code}`;
      const last = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
      resolve({
        job,
        fileBytes,
        outputBytes: 0,
        msMedian: NaN,
        msSamples: [],
        msFirst: NaN,
        idleRssBytes: NaN,
        peakRssBytes: NaN,
        rssIncreaseBytes: NaN,
        peakMethod: 'VmHWM',
        error: `${reason}${last ? `: ${last.slice(0, 200)}` : ''}`,
      });
    });
    child.send(job);
  });
}

if (require.main === module && process.argv.includes(CHILD_FLAG)) {
  process.once('message', (job: SigningJob) => {
    runSigningCaseInProcess(job).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (e: unknown) => process.send!({ error: (e as Error)?.stack ?? String(e) }, () => process.exit(1)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The section
// ---------------------------------------------------------------------------------------------

export interface SigningBenchOptions {
  /** Timed signatures per case (median reported; default 11, at least 5; at most 5 for 100 MB). */
  runs?: number;
  /** Seconds per CAdES sample (benchCades). */
  seconds?: number;
  /** Add the 100 MB file. */
  full?: boolean;
  progress?: (line: string) => void;
}

export interface SigningSizeResult {
  label: string;
  esealBB: SigningCaseResult;
  esealCore: SigningCaseResult;
  esealBT: SigningCaseResult;
  signpdf: SigningCaseResult;
}

export interface SigningBenchResult {
  sizes: SigningSizeResult[];
  cades: CadesBenchResult[];
  runs: number;
}

const SIZES = [
  { label: '100 KB', bytes: 100 * 1000 },
  { label: '1 MB', bytes: 1000 * 1000 },
  { label: '10 MB', bytes: 10 * 1000 * 1000 },
];
const FULL_SIZE = { label: '100 MB', bytes: 100 * 1000 * 1000 };

export async function benchSigning(options: SigningBenchOptions = {}): Promise<SigningBenchResult> {
  const runs = Math.max(5, Math.floor(options.runs ?? 11));
  const progress = options.progress ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-pdfs-'));
  try {
    const warmupFile = path.join(dir, 'warmup.pdf');
    writeBenchPdf(warmupFile, 20 * 1000);
    const sizes: SigningSizeResult[] = [];
    for (const size of options.full ? [...SIZES, FULL_SIZE] : SIZES) {
      const file = path.join(dir, `${size.label.replace(' ', '')}.pdf`);
      writeBenchPdf(file, size.bytes);
      const one = async (impl: SigningImpl, level: SignatureLevel) => {
        progress(`signing ${size.label}: ${impl === 'signpdf' ? '@signpdf' : `${impl} ${level}`}…`);
        const r = await runSigningCase({ impl, level, file, warmupFile, runs: size === FULL_SIZE ? Math.min(runs, 5) : runs });
        if (r.error) progress(`  failed: ${r.error}`);
        return r;
      };
      sizes.push({
        label: size.label,
        esealBB: await one('eseal', 'B-B'),
        esealCore: await one('eseal-core', 'B-B'),
        esealBT: await one('eseal', 'B-T'),
        signpdf: await one('signpdf', 'B-B'),
      });
      fs.rmSync(file, { force: true });
    }
    progress('cades vs raw crypto.sign…');
    const cades = await benchCades({ seconds: options.seconds, runs: Math.max(5, options.runs ?? 5), progress });
    return { sizes, cades, runs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (r: SigningCaseResult) => (r.error ? 'failed' : r.msMedian < 10 ? r.msMedian.toFixed(2) : r.msMedian < 100 ? r.msMedian.toFixed(1) : r.msMedian.toFixed(0));
const mib = (r: SigningCaseResult) => (r.error ? 'failed' : `${(r.rssIncreaseBytes / 2 ** 20).toFixed(1)} (${(r.rssIncreaseBytes / r.fileBytes).toFixed(1)}×)`);
const ratio = (ours: SigningCaseResult, theirs: SigningCaseResult) => (ours.error || theirs.error ? '–' : `${(theirs.msMedian / ours.msMedian).toFixed(1)}×`);
const fileSize = (r: SigningCaseResult) => (r.fileBytes >= 2 ** 20 ? `${(r.fileBytes / 2 ** 20).toFixed(1)} MiB` : `${(r.fileBytes / 1024).toFixed(0)} KiB`);

function rows(r: SigningBenchResult): string[][] {
  return r.sizes.map((s) => [
    `${s.label} (${fileSize(s.esealBB)})`,
    ms(s.esealBB),
    ms(s.esealBT),
    ms(s.esealCore),
    ms(s.signpdf),
    ratio(s.esealBB, s.signpdf),
    ratio(s.esealCore, s.signpdf),
    mib(s.esealBB),
    mib(s.esealBT),
    mib(s.signpdf),
  ]);
}

const HEAD = [
  'PDF',
  'eseal B-B ms',
  'eseal B-T ms',
  'PDF+CMS only ms',
  '@signpdf ms',
  '@signpdf ÷ eseal B-B',
  '@signpdf ÷ PDF+CMS only',
  'eseal B-B peak RSS Δ MiB',
  'eseal B-T peak RSS Δ MiB',
  '@signpdf peak RSS Δ MiB',
];
const CADES_HEAD = ['algorithm', 'CAdES B-B /s', 'raw crypto.sign /s', 'CAdES ÷ raw', 'CMS bytes'];
const cadesRows = (r: SigningBenchResult) =>
  r.cades.map((c) => [c.algorithm, c.cadesPerSecond.toFixed(0), c.rawPerSecond.toFixed(0), c.ratio.toFixed(2), String(c.cmsBytes)]);

export function signingTable(r: SigningBenchResult): string {
  const grid = (head: string[], body: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    return [head, ...body].map((row) => row.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')).join('\n');
  };
  const failures = r.sizes.flatMap((s) => [s.esealBB, s.esealCore, s.esealBT, s.signpdf]).filter((c) => c.error);
  return [
    `PAdES, RSA 3072 / SHA-256 both sides; median of ${r.runs} signatures per case; peak RSS Δ includes the document (× = of the file size)`,
    grid(HEAD, rows(r)),
    ...failures.map((f) => `${f.job.impl} ${f.job.level} ${path.basename(f.job.file)}: ${f.error}`),
    '',
    'CAdES B-B on 1 KiB vs raw crypto.sign',
    grid(CADES_HEAD, cadesRows(r)),
  ].join('\n');
}

export function signingMarkdown(r: SigningBenchResult): string {
  const md = (head: string[], body: string[][]) =>
    [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map((row) => `| ${row.join(' | ')} |`)].join('\n');
  const oneMb = r.sizes.find((s) => s.label === '1 MB');
  const target =
    oneMb && !oneMb.esealBB.error && !oneMb.esealCore.error && !oneMb.signpdf.error
      ? `At 1 MB eseal B-B is ${(oneMb.signpdf.msMedian / oneMb.esealBB.msMedian).toFixed(1)}× faster than @signpdf through the whole ` +
        `pipeline, ${(oneMb.signpdf.msMedian / oneMb.esealCore.msMedian).toFixed(1)}× for the PDF and CMS work alone (target ≥ 10×).`
      : '';
  const failures = r.sizes.flatMap((s) => [s.esealBB, s.esealCore, s.esealBT, s.signpdf]).filter((c) => c.error);
  return [
    'PAdES signatures of generated PDFs (classic xref; pages of uncompressed, incompressible images), `npm run bench -- --only signing` (`--full` adds 100 MB).',
    '',
    '- **eseal**: the real pipeline, `SigningService.sign` built by `buildServices` on a throw-away SQLite store: seal and certificate lookup, key unsealing, key-use record, transparency-log entry, read-back check; B-T adds a time-stamp from the built-in TSA. Seal key RS256 (RSA 3072).',
    '- **PDF+CMS only**: what `SigningService` does for B-B without the store — `signPdf` + `buildCadesSignature` with an in-memory RSA 3072 key — to show how much of our time is the durable store (key-use record, log entry) rather than the PDF.',
    '- **@signpdf**: `@signpdf/signpdf` 3 with `@signpdf/placeholder-plain` and `@signpdf/signer-p12`, a P12 with an RSA 3072 key built with node-forge (which puts only RSA keys in PKCS#12, hence RSA on both sides). It makes adbe.pkcs7.detached without a time-stamp: compare it with eseal B-B. P12Signer decrypts the P12 on every signature, as the library does.',
    `- Time: median of ${r.runs} signatures of the same document, after one warm-up signature of a small PDF and one measured signature of the document. Memory: one child process per case; peak RSS (VmHWM, reset before the document is read) minus the RSS before it, so the figure includes the document itself; × is of the file size.`,
    '',
    md(HEAD, rows(r)),
    ...(failures.length ? ['', ...failures.map((f) => `- ${f.job.impl} ${f.job.level} ${path.basename(f.job.file)}: ${f.error}`)] : []),
    ...(target ? ['', target] : []),
    '',
    'CAdES B-B signatures per second on a 1 KiB file with an in-memory signer (src/signing/bench.ts), against raw `crypto.sign` of the same file with the same key (target CAdES ÷ raw ≥ 0.5):',
    '',
    md(CADES_HEAD, cadesRows(r)),
  ].join('\n');
}
