/**
 * Peak memory of one PAdES signature of a large PDF through SigningService (the real pipeline:
 * buildServices on a throw-away SQLite store, an RS256 seal), in a fresh process.
 *
 *   node -r ./tests/helpers/ts-register.js scripts/measure-sign-memory.ts [--mib 50] [--level B-T]
 *
 * The parent writes a generated PDF of the given size to a temp directory; a child process
 * (src/bench/signing.ts, the signing benchmark's case runner) sets up the services, signs a small
 * PDF once to warm up, collects garbage, resets the kernel's peak-RSS mark, reads the document
 * and signs it. "Above idle" is that peak minus the RSS just before the document was read, so it
 * includes the document itself. Target: under 4× the file size; exits 1 when above it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runSigningCase, writeBenchPdf } from '../src/bench/signing';
import type { SignatureLevel } from '../src/signing/service';

const TARGET_RATIO = 4;
const LEVELS: readonly SignatureLevel[] = ['B-B', 'B-T', 'B-LT', 'B-LTA'];

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '50' }, level: { type: 'string', default: 'B-T' } }, strict: true });
  const mib = Number(values.mib);
  if (!Number.isFinite(mib) || mib <= 0 || mib > 64) throw new Error('--mib must be a number from 0 to 64 (the service takes documents up to 64 MiB)');
  const level = values.level as SignatureLevel;
  if (!LEVELS.includes(level)) throw new Error(`--level must be one of ${LEVELS.join(', ')}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-sign-memory-'));
  try {
    const warmupFile = path.join(dir, 'warmup.pdf');
    const file = path.join(dir, 'document.pdf');
    writeBenchPdf(warmupFile, 20 * 1000);
    const size = writeBenchPdf(file, Math.round(mib * 2 ** 20));
    const r = await runSigningCase({ impl: 'eseal', level, file, warmupFile, runs: 0 });
    if (r.error) {
      process.stderr.write(`signing failed in the child process: ${r.error}\n`);
      return 1;
    }
    const m = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const ratio = r.rssIncreaseBytes / size;
    const lines = [
      `PAdES ${level} of a generated ${m(size)} PDF through SigningService, RS256 seal, fresh process (Node ${process.versions.node})`,
      `  idle RSS (services built, warmed up, after GC):  ${m(r.idleRssBytes)}`,
      `  peak RSS while reading and signing:              ${m(r.peakRssBytes)}  (${r.peakMethod})`,
      `  peak above idle:                                 ${m(r.rssIncreaseBytes)} = ${ratio.toFixed(2)}× the file (target < ${TARGET_RATIO}×)`,
      `  of which the document as read:                   ${m(size)}; beyond it: ${m(r.rssIncreaseBytes - size)} = ${(ratio - 1).toFixed(2)}×`,
      `  signed output:                                   ${m(r.outputBytes)}, ${Math.round(r.msFirst)} ms`,
      ratio < TARGET_RATIO ? 'OK' : `ABOVE TARGET: ${ratio.toFixed(2)}× ≥ ${TARGET_RATIO}×`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return ratio < TARGET_RATIO ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`measure-sign-memory: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 2;
  },
);
