/**
 * SM2 signatures and verifications per second: through the software key store's sign() (SM3 with
 * the user id in Z, sm-crypto-v2, the use recorded in memory), the bare SM2 signer, and our
 * verification, against `openssl speed sm2` (OpenSSL's C implementation) sampled alternately in
 * the same run on the same machine.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { SoftwareKeyProvider } from '../crypto/software-key-provider';
import { Sm2PrivateKey, sm2Verify } from '../crypto/sm2';
import type { KeyUseContext } from '../crypto/key-provider';
import type { KeyRecord, KeyUseRecord, Page } from '../store/ports';
import { generateKeyPairSync } from 'node:crypto';

const run = promisify(execFile);
const CONTEXT: KeyUseContext = { apiKeyId: 'bench', agencyCode: null, purpose: 'bench-sm2' };

export interface Sm2BenchOptions {
  seconds?: number;
  runs?: number;
  dataBytes?: number;
  progress?: (line: string) => void;
}

export interface Sm2BenchResult {
  runs: number;
  secondsPerSample: number;
  dataBytes: number;
  keyStoreSignPerSec: number;
  rawSignPerSec: number;
  verifyPerSec: number;
  /** undefined when OpenSSL is missing or has no SM2. */
  openssl?: { version: string; signPerSec: number; verifyPerSec: number };
  signRatio?: number;
  verifyRatio?: number;
}

const nowNs = (): number => Number(process.hrtime.bigint());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

async function sample(op: () => unknown, seconds: number): Promise<number> {
  const start = nowNs();
  const limit = start + seconds * 1e9;
  let n = 0;
  let t = start;
  do {
    await op();
    n++;
    t = nowNs();
  } while (t < limit);
  return n / ((t - start) / 1e9);
}

/** `openssl speed -mr sm2`: the machine-readable +F7 line is `+F7:n:256:CurveSM2:sign/s:verify/s`. */
async function opensslSpeed(seconds: number): Promise<{ version: string; signPerSec: number; verifyPerSec: number } | undefined> {
  try {
    const version = (await run('openssl', ['version'])).stdout.trim();
    const { stdout } = await run('openssl', ['speed', '-mr', '-elapsed', '-seconds', String(Math.max(1, Math.round(seconds))), 'sm2'], { maxBuffer: 1 << 20 });
    const line = stdout.split('\n').find((l) => l.startsWith('+F7:') && l.includes('SM2'));
    if (!line) return undefined;
    const f = line.split(':');
    return { version, signPerSec: Number(f[4]), verifyPerSec: Number(f[5]) };
  } catch {
    return undefined;
  }
}

export async function benchSm2(opts: Sm2BenchOptions = {}): Promise<Sm2BenchResult> {
  const seconds = opts.seconds ?? 1;
  const runs = Math.max(5, opts.runs ?? 5);
  const dataBytes = opts.dataBytes ?? 1024;
  const progress = opts.progress ?? (() => undefined);
  const records = new Map<string, KeyRecord>();
  const empty = async <T>(): Promise<Page<T>> => ({ items: [], nextCursor: null });
  const uses: KeyUseRecord[] = [];
  const provider = new SoftwareKeyProvider({
    masterKey: randomBytes(32),
    keys: { create: async (r) => (records.set(r.id, { ...r }), r), get: async (id) => records.get(id) ?? null, list: empty },
    keyUses: {
      append: async (u) => (uses.push(u), u),
      appendMany: async (us) => {
        uses.push(...us);
        if (uses.length > 100_000) uses.length = 0;
      },
      list: empty,
    },
  });
  const info = await provider.generate('SM2', { label: 'bench', agencyCode: null });
  const raw = new Sm2PrivateKey(generateKeyPairSync('ec', { namedCurve: 'SM2' }).privateKey);
  const data = randomBytes(dataBytes);
  const sig = await provider.sign(info.id, data, CONTEXT);
  if (!sm2Verify(info.publicKey, data, sig)) throw new Error('SM2 bench: our own signature does not verify');

  const ks: number[] = [];
  const rs: number[] = [];
  const vs: number[] = [];
  const os: { sign: number; verify: number }[] = [];
  let version: string | undefined;
  // Warm-up round dropped, then `runs` rounds; OpenSSL runs in each round, between ours.
  for (let i = 0; i <= runs; i++) {
    const k = await sample(() => provider.sign(info.id, data, CONTEXT), seconds);
    const r = await sample(() => raw.sign(data), seconds);
    const v = await sample(() => sm2Verify(info.publicKey, data, sig), seconds);
    const o = i === 0 ? undefined : await opensslSpeed(seconds);
    if (i > 0) {
      ks.push(k);
      rs.push(r);
      vs.push(v);
      if (o) {
        os.push({ sign: o.signPerSec, verify: o.verifyPerSec });
        version = o.version;
      }
      progress(`sm2: round ${i}/${runs}: key store ${round(k)} sign/s, verify ${round(v)}/s${o ? `; openssl ${o.signPerSec} sign/s, ${o.verifyPerSec} verify/s` : ''}`);
    }
  }
  await provider.close();
  const result: Sm2BenchResult = {
    runs,
    secondsPerSample: seconds,
    dataBytes,
    keyStoreSignPerSec: round(median(ks)),
    rawSignPerSec: round(median(rs)),
    verifyPerSec: round(median(vs)),
  };
  if (os.length > 0 && version) {
    result.openssl = { version, signPerSec: round(median(os.map((x) => x.sign))), verifyPerSec: round(median(os.map((x) => x.verify))) };
    result.signRatio = round(result.keyStoreSignPerSec / result.openssl.signPerSec, 3);
    result.verifyRatio = round(result.verifyPerSec / result.openssl.verifyPerSec, 3);
  }
  return result;
}

export function sm2Table(r: Sm2BenchResult): string {
  const o = r.openssl;
  return [
    `SM2 — median of ${r.runs} samples × ${r.secondsPerSample}s, ${r.dataBytes}-byte messages, one thread`,
    `key store sign():  ${r.keyStoreSignPerSec} /s${o ? `   openssl speed sm2 sign:   ${o.signPerSec} /s   ratio ${r.signRatio}` : ''}`,
    `bare SM2 sign:     ${r.rawSignPerSec} /s`,
    `verify:            ${r.verifyPerSec} /s${o ? `   openssl speed sm2 verify: ${o.verifyPerSec} /s   ratio ${r.verifyRatio}` : ''}`,
    ...(o ? [] : ['openssl speed sm2: skipped — OpenSSL not found or without SM2']),
  ].join('\n');
}

export function sm2Markdown(r: Sm2BenchResult): string {
  const o = r.openssl;
  return [
    'SM2 signatures (GB/T 32918.2, SM3 over Z ‖ M with the default user id) per second: through the',
    "software key store's `sign()` (key unsealed once, each use recorded in memory), the bare signer",
    '(sm-crypto-v2, pure JavaScript), and our verification, against `openssl speed sm2` (OpenSSL\'s C',
    `implementation, which hashes a fixed digest and so does a little less work) run alternately in the same process run.`,
    `Median of ${r.runs} samples × ${r.secondsPerSample} s after a warm-up; ${r.dataBytes}-byte messages; one thread each.`,
    '',
    '| operation | eseal ops/s | openssl speed sm2 ops/s | ratio |',
    '|---|---:|---:|---:|',
    `| sign (key store) | ${r.keyStoreSignPerSec.toLocaleString('en')} | ${o ? o.signPerSec.toLocaleString('en') : '—'} | ${r.signRatio !== undefined ? `**${r.signRatio.toFixed(2)}×**` : '—'} |`,
    `| sign (bare signer) | ${r.rawSignPerSec.toLocaleString('en')} | | |`,
    `| verify | ${r.verifyPerSec.toLocaleString('en')} | ${o ? o.verifyPerSec.toLocaleString('en') : '—'} | ${r.verifyRatio !== undefined ? `**${r.verifyRatio.toFixed(2)}×**` : '—'} |`,
    ...(o ? ['', `OpenSSL: ${o.version}.`] : ['', 'openssl speed sm2: skipped — OpenSSL not found or without SM2.']),
  ].join('\n');
}
