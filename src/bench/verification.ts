/**
 * `## Verification` benchmark: verifications per second of PAdES B-B and B-LT signatures on
 * 100 KB / 1 MB / 10 MB PDFs, through the service's own Verifier (buildServices on a throw-away
 * SQLite store): strict PDF analysis, revision and change classification, CMS checks, path
 * validation, revocation (B-B: our CA answers; B-LT: the file's DSS) and the report.
 *
 * Baseline, measured in the same run on the same file: what any verifier must do at least —
 * SHA-256 over the signed bytes plus one RSA 3072 signature verification with crypto.verify.
 * The ratio baseline ÷ ours says how far above that floor the whole pipeline costs.
 *
 * Run: npm run bench -- --only verification
 */
import { constants, createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SignatureLevel } from '../signing/service';
import { fork } from 'node:child_process';
import { RevocationChecker } from '../verify/revocation';
import { Verifier } from '../verify/engine';
import { collectGarbage, openBenchService, procStatusKiB, resetPeakRss, writeBenchPdf } from './signing';

const CHILD_FLAG = '--eseal-verification-bench-child';

/**
 * One verification of `file` in a child process: garbage collected, peak reset (proc(5)
 * clear_refs 5), RSS read, then the file read and verified offline against `root`. The figure is
 * VmHWM − that RSS, so it includes the file itself (as the signing benchmark's does).
 */
function childPeakRss(file: string, root: Buffer): Promise<number | null> {
  return new Promise((resolve) => {
    const child = fork(__filename, [CHILD_FLAG], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, MALLOC_MMAP_THRESHOLD_: String(128 * 1024) } });
    let out: number | null = null;
    child.on('message', (m: { peak?: number | null }) => (out = m.peak ?? null));
    child.on('exit', () => resolve(out));
    child.send({ file, root: root.toString('base64') });
  });
}

if (require.main === module && process.argv.includes(CHILD_FLAG)) {
  process.once('message', (m: { file: string; root: string }) => {
    void (async () => {
      const verifier = new Verifier({ trustAnchors: [Buffer.from(m.root, 'base64')], revocation: new RevocationChecker({ mode: 'offline' }) });
      await collectGarbage();
      const measurable = resetPeakRss();
      const before = procStatusKiB('VmRSS');
      const report = await verifier.verifyPdf(fs.readFileSync(m.file));
      const peak = procStatusKiB('VmHWM');
      const ok = report.indication === 'TOTAL_PASSED';
      process.send!({ peak: ok && measurable && before !== null && peak !== null ? (peak - before) * 1024 : null }, () => process.exit(0));
    })();
  });
}

export interface VerificationCase {
  label: string;
  level: SignatureLevel;
  fileBytes: number;
  perSecond: number;
  msMedian: number;
  baselinePerSecond: number;
  indication: string;
  /** B-LT: peak RSS increase of one offline verification in a fresh process, the file included (bytes); null for B-B or where /proc is missing. */
  peakRssBytes: number | null;
}

export interface VerificationBenchResult {
  cases: VerificationCase[];
  seconds: number;
}

const SIZES = [
  { label: '100 KB', bytes: 100 * 1000 },
  { label: '1 MB', bytes: 1000 * 1000 },
  { label: '10 MB', bytes: 10 * 1000 * 1000 },
];
const FULL_SIZE = { label: '100 MB', bytes: 100 * 1000 * 1000 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` repeatedly for about `seconds` (at least 5 times); returns per-call milliseconds. */
async function timeLoop(seconds: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (times.length < 5 || performance.now() < until) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
}

export async function benchVerification(options: { seconds?: number; full?: boolean; progress?: (line: string) => void } = {}): Promise<VerificationBenchResult> {
  const seconds = options.seconds ?? 2;
  const progress = options.progress ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-verify-'));
  const b = await openBenchService();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const rawSig = nodeSign('sha256', Buffer.from('x'), { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
  const pub = createPublicKey(publicKey.export({ format: 'pem', type: 'spki' }));
  try {
    const cases: VerificationCase[] = [];
    for (const size of options.full ? [...SIZES, FULL_SIZE] : SIZES) {
      const file = path.join(dir, `${size.label.replace(' ', '')}.pdf`);
      writeBenchPdf(file, size.bytes);
      const pdf = fs.readFileSync(file);
      for (const level of ['B-B', 'B-LT'] as const) {
        progress(`verification ${size.label} ${level}…`);
        const signed = (await b.services.signing.sign(b.signer, { sealId: b.sealId, format: 'pades', level, document: pdf })).bytes;
        const first = await b.services.verifier.verifyPdf(signed); // warm-up, and the outcome shown
        // Peak memory in a fresh child process (an in-process figure would reuse heap pages the
        // timing loop already grew): offline, from the file's own DSS, so B-LT only.
        let peakRssBytes: number | null = null;
        if (level === 'B-LT') {
          const file = path.join(dir, `signed-${size.label.replace(' ', '')}.pdf`);
          fs.writeFileSync(file, signed);
          peakRssBytes = await childPeakRss(file, b.services.ca.root.der);
          fs.rmSync(file, { force: true });
        }
        const ours = await timeLoop(seconds, () => b.services.verifier.verifyPdf(signed));
        const base = await timeLoop(seconds, () => {
          const d = createHash('sha256').update(signed).digest();
          nodeVerify('sha256', d, { key: pub, padding: constants.RSA_PKCS1_PADDING }, rawSig);
        });
        const msMedian = median(ours);
        cases.push({
          label: size.label,
          level,
          fileBytes: signed.length,
          perSecond: 1000 / msMedian,
          msMedian,
          baselinePerSecond: 1000 / median(base),
          indication: first.indication,
          peakRssBytes,
        });
      }
    }
    return { cases, seconds };
  } finally {
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const HEAD = ['PDF', 'level', 'verifications/s', 'ms (median)', 'baseline /s', 'baseline ÷ ours', 'peak RSS Δ MiB (× file), B-LT', 'indication'];
const rows = (r: VerificationBenchResult) =>
  r.cases.map((c) => [
    c.label,
    c.level,
    c.perSecond.toFixed(c.perSecond < 10 ? 1 : 0),
    c.msMedian < 10 ? c.msMedian.toFixed(2) : c.msMedian.toFixed(1),
    c.baselinePerSecond.toFixed(0),
    `${(c.baselinePerSecond / c.perSecond).toFixed(1)}×`,
    c.peakRssBytes === null ? '–' : `${(c.peakRssBytes / 2 ** 20).toFixed(1)} (${(c.peakRssBytes / c.fileBytes).toFixed(2)}×)`,
    c.indication,
  ]);

export function verificationTable(r: VerificationBenchResult): string {
  const body = rows(r);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  return [HEAD, ...body].map((row) => row.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')).join('\n');
}

export function verificationMarkdown(r: VerificationBenchResult): string {
  return [
    'PAdES signatures (RSA 3072 seal) of the generated PDFs of the signing benchmark, verified by the service\'s `Verifier` (`npm run bench -- --only verification`): strict PDF analysis, change classification, CMS, path, revocation (B-B: our CA answers, as the running service does; B-LT: the DSS in the file) and the report. ' +
      `Sequential, about ${r.seconds} s per case (at least 5 verifications); median time per verification. 100 MB with \`--full\`. Peak RSS Δ (B-LT): one offline verification in a fresh child process — VmHWM minus the RSS before the file is read, so it includes the file itself.`,
    '',
    '- **baseline**: the least any verifier does on the same file — SHA-256 of the whole file and one RSA 3072 `crypto.verify` — in the same run. "baseline ÷ ours" is how many times that floor a full verification costs.',
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows(r).map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
