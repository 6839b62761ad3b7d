/**
 * Key store benchmark: what the key stores cost on top of a bare signature.
 *
 * For each algorithm it measures, in one process and interleaved (raw, key store, raw, …) so
 * that CPU frequency drift hits both alike:
 *   - raw: node:crypto sign() with the same private key as a ready KeyObject;
 *   - software: SoftwareKeyProvider.sign() with in-memory key and key-use stores (the key store's
 *     own cost: cache lookup, agency check, use record with its SHA-256 and id);
 *   - software + SQLite: the same with the embedded store recording each use (durable commit);
 *   - pkcs11: Pkcs11KeyProvider.sign() on a throw-away SoftHSM2 token, when SoftHSM2 is present
 *     (its ratio is against raw Node signing with a software key of the same algorithm).
 * Each figure is the median of `runs` samples of `seconds` each, after one warm-up sample.
 *
 * Run: npx tsc --outDir /tmp/kbench --module commonjs --target ES2022 --esModuleInterop \
 *        --skipLibCheck src/bench/key-store.ts && NODE_PATH=$PWD/node_modules node /tmp/kbench/bench/key-store.js
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAlgorithm, type AlgorithmName } from '../crypto/algorithms';
import type { KeyProvider, KeyUseContext } from '../crypto/key-provider';
import { Pkcs11KeyProvider } from '../crypto/pkcs11-key-provider';
import { signKeyFor, SoftwareKeyProvider, unsealPrivateKey } from '../crypto/software-key-provider';
import type { KeyRecord, KeyRecordStore, KeyUseRecord, KeyUseStore, Page } from '../store/ports';
import { openSqliteStores } from '../store/sqlite';

export interface BenchOptions {
  /** Length of one sample, seconds (default 0.25). */
  seconds?: number;
  /** Samples per figure, at least 5 (default 5). */
  runs?: number;
  /** Algorithms to measure (default all three). */
  algorithms?: AlgorithmName[];
  /** Bytes signed per operation (default 256, about a CMS signedAttrs or a small TBS). */
  dataBytes?: number;
}

export interface Figure {
  rawOpsPerSec: number;
  keyStoreOpsPerSec: number;
  /** keyStore ÷ raw. */
  ratio: number;
}

export interface KeyStoreBenchResult {
  node: string;
  cpu: string;
  secondsPerSample: number;
  runs: number;
  dataBytes: number;
  software: Partial<Record<AlgorithmName, Figure>>;
  softwareSqlite: Partial<Record<AlgorithmName, Figure>> | { skipped: string };
  pkcs11: Partial<Record<AlgorithmName, Figure>> | { skipped: string };
}

const SOFTHSM_MODULE = process.env.SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
const CONTEXT: KeyUseContext = { apiKeyId: 'bench', agencyCode: null, purpose: 'bench' };

/** The smallest stores that satisfy the ports, so the figure is the key store's cost alone. */
function memoryStores(): { keys: KeyRecordStore; keyUses: KeyUseStore } {
  const records = new Map<string, KeyRecord>();
  const uses: KeyUseRecord[] = [];
  const empty = async <T>(): Promise<Page<T>> => ({ items: [], nextCursor: null });
  return {
    keys: {
      create: async (r) => (records.set(r.id, { ...r }), r),
      get: async (id) => records.get(id) ?? null,
      list: empty,
    },
    keyUses: {
      append: async (u) => (uses.push(u), u),
      list: empty,
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function sample(op: () => unknown, seconds: number): Promise<number> {
  const limit = seconds * 1e9;
  const start = process.hrtime.bigint();
  let n = 0;
  let elapsed = 0;
  do {
    // Batches of 8 keep the clock reads out of the figure for the fast algorithms.
    for (let i = 0; i < 8; i++) await op();
    n += 8;
    elapsed = Number(process.hrtime.bigint() - start);
  } while (elapsed < limit);
  return n / (elapsed / 1e9);
}

/** Median ops/s of raw and key-store signing, samples interleaved, one warm-up pair dropped. */
async function compare(raw: () => unknown, keyStore: () => Promise<unknown>, seconds: number, runs: number): Promise<Figure> {
  const r: number[] = [];
  const k: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const a = await sample(raw, seconds);
    const b = await sample(keyStore, seconds);
    if (i > 0) {
      r.push(a);
      k.push(b);
    }
  }
  const rawOpsPerSec = median(r);
  const keyStoreOpsPerSec = median(k);
  return { rawOpsPerSec: round(rawOpsPerSec), keyStoreOpsPerSec: round(keyStoreOpsPerSec), ratio: round(keyStoreOpsPerSec / rawOpsPerSec, 3) };
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Software key store figures; `keyUses` chooses where uses are recorded. */
async function benchSoftware(
  algorithms: AlgorithmName[],
  stores: { keys: KeyRecordStore; keyUses: KeyUseStore },
  data: Buffer,
  seconds: number,
  runs: number,
): Promise<Partial<Record<AlgorithmName, Figure>>> {
  const masterKey = randomBytes(32);
  const provider = new SoftwareKeyProvider({ masterKey, ...stores });
  const out: Partial<Record<AlgorithmName, Figure>> = {};
  try {
    for (const algorithm of algorithms) {
      const info = await provider.generate(algorithm, { label: `bench ${algorithm}`, agencyCode: null });
      // The very key the provider holds, as a KeyObject, for the raw figure.
      const record = (await stores.keys.get(info.id))!;
      const privateKey: KeyObject = createPrivateKey({ key: unsealPrivateKey(masterKey, info.id, record.wrappedKey!), format: 'der', type: 'pkcs8' });
      const spec = getAlgorithm(algorithm);
      const signKey = signKeyFor(spec, privateKey);
      out[algorithm] = await compare(
        () => cryptoSign(spec.hash, data, signKey),
        () => provider.sign(info.id, data, CONTEXT),
        seconds,
        runs,
      );
    }
  } finally {
    await provider.close();
  }
  return out;
}

function softhsmAvailable(): boolean {
  if (!fs.existsSync(SOFTHSM_MODULE)) return false;
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function benchPkcs11(
  algorithms: AlgorithmName[],
  data: Buffer,
  seconds: number,
  runs: number,
): Promise<Partial<Record<AlgorithmName, Figure>> | { skipped: string }> {
  if (!softhsmAvailable()) return { skipped: 'SoftHSM2 not installed (apt-get install softhsm2)' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-softhsm-'));
  const previous = process.env.SOFTHSM2_CONF;
  let provider: KeyProvider | null = null;
  try {
    fs.mkdirSync(path.join(dir, 'tokens'));
    const conf = path.join(dir, 'softhsm2.conf');
    fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const pin = randomBytes(6).toString('hex');
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', pin, '--so-pin', pin], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: 'ignore',
    });
    process.env.SOFTHSM2_CONF = conf;
    provider = await Pkcs11KeyProvider.open({ modulePath: SOFTHSM_MODULE, tokenLabel: 'bench', pin, ...memoryStores() });
    const out: Partial<Record<AlgorithmName, Figure>> = {};
    for (const algorithm of algorithms) {
      const info = await provider.generate(algorithm, { label: `bench ${algorithm}`, agencyCode: null });
      const spec = getAlgorithm(algorithm);
      // The token's key cannot be exported: raw Node signing uses a fresh key of the same kind.
      const { privateKey } =
        spec.keyType === 'ec'
          ? await import('node:crypto').then((c) => c.generateKeyPairSync('ec', { namedCurve: spec.namedCurve! }))
          : await import('node:crypto').then((c) => c.generateKeyPairSync('rsa', { modulusLength: spec.modulusLength! }));
      const signKey = signKeyFor(spec, privateKey);
      const p = provider;
      out[algorithm] = await compare(() => cryptoSign(spec.hash, data, signKey), () => p.sign(info.id, data, CONTEXT), seconds, runs);
    }
    return out;
  } finally {
    await provider?.close?.();
    if (previous === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previous;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function benchSqlite(
  algorithms: AlgorithmName[],
  data: Buffer,
  seconds: number,
  runs: number,
): Promise<Partial<Record<AlgorithmName, Figure>> | { skipped: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-sqlite-'));
  try {
    const stores = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
    try {
      return await benchSoftware(algorithms, { keys: stores.keys, keyUses: stores.keyUses }, data, seconds, runs);
    } finally {
      await stores.close();
    }
  } catch (e) {
    return { skipped: `SQLite store unavailable: ${(e as Error).message}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchKeyStores(opts: BenchOptions = {}): Promise<KeyStoreBenchResult> {
  const seconds = opts.seconds ?? 0.25;
  const runs = Math.max(5, opts.runs ?? 5);
  const algorithms = opts.algorithms ?? ['ES256', 'RS256', 'PS256'];
  const dataBytes = opts.dataBytes ?? 256;
  const data = randomBytes(dataBytes);
  return {
    node: process.version,
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}`,
    secondsPerSample: seconds,
    runs,
    dataBytes,
    software: await benchSoftware(algorithms, memoryStores(), data, seconds, runs),
    softwareSqlite: await benchSqlite(algorithms, data, seconds, runs),
    pkcs11: await benchPkcs11(algorithms, data, seconds, runs),
  };
}

function table(result: KeyStoreBenchResult): string {
  const lines = [
    `Key store benchmark — Node ${result.node}, ${result.cpu}`,
    `median of ${result.runs} samples × ${result.secondsPerSample}s, ${result.dataBytes}-byte messages`,
    '',
    `${'store'.padEnd(18)}${'alg'.padEnd(7)}${'raw ops/s'.padStart(11)}${'store ops/s'.padStart(13)}${'ratio'.padStart(8)}`,
  ];
  const section = (name: string, figures: KeyStoreBenchResult['software'] | { skipped: string }): void => {
    if ('skipped' in figures) {
      lines.push(`${name.padEnd(18)}skipped: ${String(figures.skipped)}`);
      return;
    }
    for (const [alg, f] of Object.entries(figures) as [AlgorithmName, Figure][]) {
      lines.push(
        `${name.padEnd(18)}${alg.padEnd(7)}${String(f.rawOpsPerSec).padStart(11)}${String(f.keyStoreOpsPerSec).padStart(13)}${f.ratio.toFixed(3).padStart(8)}`,
      );
    }
  };
  section('software (memory)', result.software);
  section('software (sqlite)', result.softwareSqlite);
  section('pkcs11 (softhsm2)', result.pkcs11);
  return lines.join('\n');
}

if (require.main === module) {
  const seconds = process.argv[2] ? Number(process.argv[2]) : undefined;
  benchKeyStores({ seconds }).then(
    (r) => {
      process.stdout.write(table(r) + '\n');
      if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    },
    (e) => {
      process.stderr.write(`key store benchmark failed: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
