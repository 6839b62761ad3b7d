/**
 * Key store benchmark: what the key stores cost on top of a bare signature.
 *
 * For each algorithm, key store and place where uses are recorded it measures, in one process
 * and interleaved (raw, key store, raw, …) so that CPU frequency drift hits both alike:
 *   - raw: node:crypto sign() with the same private key as a ready KeyObject, in a tight loop;
 *   - the key store's sign(), which returns only after the use record is stored:
 *       - sequentially (one call at a time, awaited), and
 *       - concurrently (`concurrency` calls in flight, as the HTTP service issues them);
 *   - recording in memory (the key store's own cost: cache lookup, agency check, record with its
 *     SHA-256 and id), in the embedded SQLite store (durable group commit, synchronous=FULL), or
 *     as the service wires it: a transparency-log entry first, then the SQLite row;
 *   - pkcs11: Pkcs11KeyProvider.sign() on a throw-away SoftHSM2 token, when SoftHSM2 is present
 *     (its ratio is against raw Node signing with a software key of the same algorithm).
 * Each figure is the median of `runs` samples of `seconds` each, after one warm-up sample.
 *
 * Run: npm run bench -- --only key-store
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type SignKeyObjectInput } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAlgorithm, type AlgorithmName } from '../crypto/algorithms';
import type { KeyProvider, KeyUseContext } from '../crypto/key-provider';
import { Pkcs11KeyProvider } from '../crypto/pkcs11-key-provider';
import { keyObjectSigner } from '../crypto';
import { signKeyFor, SoftwareKeyProvider, unsealPrivateKey } from '../crypto/software-key-provider';
import { LoggedKeyUseStore } from '../log/key-use-log';
import { LogService } from '../log/service';
import type { KeyRecord, KeyRecordStore, KeyUseRecord, KeyUseStore, Page, Stores } from '../store/ports';
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
  /** Signatures in flight in the concurrent figures (default 64). */
  concurrency?: number;
  /** Progress lines go here (default: none). */
  progress?: (line: string) => void;
}

export interface Figure {
  rawOpsPerSec: number;
  keyStoreOpsPerSec: number;
  /** keyStore ÷ raw. */
  ratio: number;
  /** Mean uses per appendMany (group commit). */
  usesPerCommit: number;
}

/** Where uses are recorded; 'sqlite+log' is the service's wiring: a key.used log entry, then the row. */
export type Recording = 'memory' | 'sqlite' | 'sqlite+log';

export interface KeyStoreRow {
  keyStore: 'software' | 'pkcs11';
  recording: Recording;
  algorithm: AlgorithmName;
  sequential: Figure;
  concurrent: Figure;
}

export interface KeyStoreBenchResult {
  secondsPerSample: number;
  runs: number;
  dataBytes: number;
  concurrency: number;
  /** File system holding the SQLite file (fsync cost depends on it). */
  sqliteFileSystem: string;
  rows: KeyStoreRow[];
  skipped: { what: string; reason: string }[];
}

const SOFTHSM_MODULE = process.env.SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
const CONTEXT: KeyUseContext = { apiKeyId: 'bench', agencyCode: null, purpose: 'bench' };

interface BenchStores {
  keys: KeyRecordStore;
  keyUses: KeyUseStore;
}

/** The smallest stores that satisfy the ports, so the figure is the key store's cost alone. */
function memoryStores(): BenchStores {
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
      appendMany: async (us) => {
        for (const u of us) uses.push(u);
        // Keep memory flat over a long run: the records are not read back.
        if (uses.length > 100_000) uses.length = 0;
      },
      list: empty,
    },
  };
}

/** Counts appendMany calls and uses, to report the batch sizes group commit achieved. */
class CountingKeyUses implements KeyUseStore {
  commits = 0;
  uses = 0;
  constructor(private readonly inner: KeyUseStore) {}
  append(u: KeyUseRecord): Promise<KeyUseRecord> {
    return this.inner.append(u);
  }
  appendMany(us: KeyUseRecord[]): Promise<void> {
    this.commits++;
    this.uses += us.length;
    return this.inner.appendMany(us);
  }
  list(options?: Parameters<KeyUseStore['list']>[0]): Promise<Page<KeyUseRecord>> {
    return this.inner.list(options);
  }
  reset(): void {
    this.commits = 0;
    this.uses = 0;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const now = (): number => Number(process.hrtime.bigint());

/** Ops/s of a synchronous operation in a tight loop (batches of 8 keep clock reads out). */
function sampleRaw(op: () => unknown, seconds: number): number {
  const start = now();
  const limit = start + seconds * 1e9;
  let n = 0;
  let t = start;
  do {
    for (let i = 0; i < 8; i++) op();
    n += 8;
    t = now();
  } while (t < limit);
  return n / ((t - start) / 1e9);
}

/** Ops/s of an async operation with `inFlight` calls outstanding (1 = sequential). */
async function sampleAsync(op: () => Promise<unknown>, seconds: number, inFlight: number): Promise<number> {
  const start = now();
  const limit = start + seconds * 1e9;
  let n = 0;
  const worker = async (): Promise<void> => {
    do {
      await op();
      n++;
    } while (now() < limit);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / ((now() - start) / 1e9);
}

/** Median ops/s of raw and key-store signing, samples interleaved, one warm-up pair dropped. */
async function compare(
  raw: () => unknown,
  keyStore: () => Promise<unknown>,
  inFlight: number,
  counter: CountingKeyUses,
  o: Required<Pick<BenchOptions, 'seconds' | 'runs'>>,
): Promise<Figure> {
  const r: number[] = [];
  const k: number[] = [];
  for (let i = 0; i <= o.runs; i++) {
    const a = sampleRaw(raw, o.seconds);
    if (i === 1) counter.reset();
    const b = await sampleAsync(keyStore, o.seconds, inFlight);
    if (i > 0) {
      r.push(a);
      k.push(b);
    }
  }
  const rawOpsPerSec = median(r);
  const keyStoreOpsPerSec = median(k);
  return {
    rawOpsPerSec: round(rawOpsPerSec),
    keyStoreOpsPerSec: round(keyStoreOpsPerSec),
    ratio: round(keyStoreOpsPerSec / rawOpsPerSec, 3),
    usesPerCommit: counter.commits ? round(counter.uses / counter.commits, 1) : 0,
  };
}

interface Target {
  provider: KeyProvider;
  counter: CountingKeyUses;
  /** The key to sign with and a raw signer of the same algorithm. */
  prepare(algorithm: AlgorithmName): Promise<{ keyId: string; signKey: SignKeyObjectInput }>;
}

async function measure(
  target: Target,
  keyStore: KeyStoreRow['keyStore'],
  recording: Recording,
  data: Buffer,
  o: Required<Omit<BenchOptions, 'dataBytes'>>,
): Promise<KeyStoreRow[]> {
  const rows: KeyStoreRow[] = [];
  for (const algorithm of o.algorithms) {
    const { keyId, signKey } = await target.prepare(algorithm);
    const hash = getAlgorithm(algorithm).hash;
    const raw = () => cryptoSign(hash, data, signKey);
    const op = () => target.provider.sign(keyId, data, CONTEXT);
    const sequential = await compare(raw, op, 1, target.counter, o);
    const concurrent = await compare(raw, op, o.concurrency, target.counter, o);
    rows.push({ keyStore, recording, algorithm, sequential, concurrent });
    o.progress(`key-store: ${keyStore} / ${recording} / ${algorithm}: ${sequential.ratio} sequential, ${concurrent.ratio} concurrent`);
  }
  return rows;
}

function softwareTarget(stores: BenchStores): Target {
  const counter = new CountingKeyUses(stores.keyUses);
  const masterKey = randomBytes(32);
  const provider = new SoftwareKeyProvider({ masterKey, keys: stores.keys, keyUses: counter });
  return {
    provider,
    counter,
    async prepare(algorithm) {
      const info = await provider.generate(algorithm, { label: `bench ${algorithm}`, agencyCode: null });
      // The very key the provider holds, as a KeyObject, for the raw figure.
      const record = (await stores.keys.get(info.id))!;
      const privateKey = createPrivateKey({ key: unsealPrivateKey(masterKey, info.id, record.wrappedKey!), format: 'der', type: 'pkcs8' });
      return { keyId: info.id, signKey: signKeyFor(getAlgorithm(algorithm), privateKey) };
    },
  };
}

async function pkcs11Target(stores: BenchStores, token: { label: string; pin: string }): Promise<Target> {
  const counter = new CountingKeyUses(stores.keyUses);
  // One session, as the service opens it (src/services.ts).
  const provider = await Pkcs11KeyProvider.open({ modulePath: SOFTHSM_MODULE, tokenLabel: token.label, pin: token.pin, keys: stores.keys, keyUses: counter });
  return {
    provider,
    counter,
    async prepare(algorithm) {
      const info = await provider.generate(algorithm, { label: `bench ${algorithm}`, agencyCode: null });
      const spec = getAlgorithm(algorithm);
      // The token's key cannot be exported: raw Node signing uses a fresh key of the same kind.
      const { privateKey } =
        spec.keyType === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: spec.namedCurve! })
          : generateKeyPairSync('rsa', { modulusLength: spec.modulusLength! });
      return { keyId: info.id, signKey: signKeyFor(spec, privateKey) };
    },
  };
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

/** A throw-away SoftHSM2 token; SOFTHSM2_CONF is read at C_Initialize, so it is set for this process. */
function createToken(dir: string): { label: string; pin: string; restore: () => void } {
  fs.mkdirSync(path.join(dir, 'tokens'), { recursive: true, mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const pin = randomBytes(6).toString('hex');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', pin, '--so-pin', pin], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'ignore',
  });
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  return {
    label: 'bench',
    pin,
    restore() {
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
    },
  };
}

/** A transparency log on the bench's store, as src/services.ts attaches it to key uses. */
async function benchLog(stores: Stores): Promise<LogService> {
  const signer = keyObjectSigner('ES256', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  return LogService.open({
    store: stores.log,
    settings: stores.settings,
    origin: 'bench.invalid/log',
    key: async () => ({ certificate: Buffer.alloc(0), publicKey: signer.publicKey, signer }),
    verifierKeys: () => [signer.publicKey],
  });
}

/** statfs magic numbers of the file systems a benchmark is likely to meet. */
const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs (no real fsync)',
  0x794c7630: 'overlayfs',
  0x65735546: 'fuse',
  0x6969: 'nfs',
  0x2fc12fc1: 'zfs',
};

function fileSystemOf(dir: string): string {
  try {
    const type = Number(fs.statfsSync(dir).type);
    return FS_TYPES[type] ?? `statfs type 0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

export async function benchKeyStores(opts: BenchOptions = {}): Promise<KeyStoreBenchResult> {
  const o: Required<Omit<BenchOptions, 'dataBytes'>> = {
    seconds: opts.seconds ?? 0.25,
    runs: Math.max(5, opts.runs ?? 5),
    algorithms: opts.algorithms ?? ['ES256', 'RS256', 'PS256'],
    concurrency: Math.max(1, opts.concurrency ?? 64),
    progress: opts.progress ?? (() => undefined),
  };
  const dataBytes = opts.dataBytes ?? 256;
  const data = randomBytes(dataBytes);
  const rows: KeyStoreRow[] = [];
  const skipped: KeyStoreBenchResult['skipped'] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-bench-keys-'));
  const sqliteFileSystem = fileSystemOf(dir);
  const closers: (() => Promise<void> | void)[] = [];
  try {
    const sqlite = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
    closers.push(() => sqlite.close());
    const logged = new LoggedKeyUseStore(sqlite.keyUses);
    logged.attach(await benchLog(sqlite));
    const stores: Record<Recording, BenchStores> = { memory: memoryStores(), sqlite, 'sqlite+log': { keys: sqlite.keys, keyUses: logged } };

    for (const recording of ['memory', 'sqlite', 'sqlite+log'] as const) {
      const target = softwareTarget(stores[recording]);
      closers.push(() => target.provider.close?.());
      rows.push(...(await measure(target, 'software', recording, data, o)));
    }

    if (!softhsmAvailable()) {
      skipped.push({ what: 'pkcs11 (SoftHSM2)', reason: 'SoftHSM2 not installed (apt-get install softhsm2)' });
    } else {
      const token = createToken(path.join(dir, 'softhsm'));
      closers.push(() => token.restore());
      for (const recording of ['memory', 'sqlite'] as const) {
        const target = await pkcs11Target(stores[recording], token);
        // Closed before the token files go; the library is finalised with the last provider.
        closers.push(() => target.provider.close?.());
        rows.push(...(await measure(target, 'pkcs11', recording, data, o)));
      }
    }
  } finally {
    for (const close of closers.reverse()) await close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { secondsPerSample: o.seconds, runs: o.runs, dataBytes, concurrency: o.concurrency, sqliteFileSystem, rows, skipped };
}

const STORE_NAMES: Record<KeyStoreRow['keyStore'], string> = { software: 'software', pkcs11: 'PKCS#11 (SoftHSM2)' };
const RECORDING_NAMES: Record<Recording, string> = { memory: 'in memory', sqlite: 'SQLite', 'sqlite+log': 'SQLite + log' };

/** Plain-text table for the terminal. */
export function keyStoreTable(r: KeyStoreBenchResult): string {
  const head = ['key store', 'recording', 'alg', 'raw ops/s', 'seq ops/s', 'ratio', `${r.concurrency}∥ ops/s`, 'ratio', 'uses/commit'];
  const body = r.rows.map((x) => [
    STORE_NAMES[x.keyStore],
    RECORDING_NAMES[x.recording],
    x.algorithm,
    String(x.sequential.rawOpsPerSec),
    String(x.sequential.keyStoreOpsPerSec),
    x.sequential.ratio.toFixed(3),
    String(x.concurrent.keyStoreOpsPerSec),
    x.concurrent.ratio.toFixed(3),
    String(x.concurrent.usesPerCommit),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `Key stores — median of ${r.runs} samples × ${r.secondsPerSample}s, ${r.dataBytes}-byte messages, SQLite on ${r.sqliteFileSystem}`,
    line(head),
    ...body.map(line),
    ...r.skipped.map((s) => `${s.what}: skipped — ${s.reason}`),
  ].join('\n');
}

/** The BENCHMARKS.md section body. */
export function keyStoreMarkdown(r: KeyStoreBenchResult): string {
  const rows = r.rows.map(
    (x) =>
      `| ${STORE_NAMES[x.keyStore]} | ${RECORDING_NAMES[x.recording]} | ${x.algorithm} | ${x.sequential.rawOpsPerSec.toLocaleString('en')} | ` +
      `${x.sequential.keyStoreOpsPerSec.toLocaleString('en')} | **${x.sequential.ratio.toFixed(2)}×** | ` +
      `${x.concurrent.keyStoreOpsPerSec.toLocaleString('en')} | **${x.concurrent.ratio.toFixed(2)}×** | ${x.concurrent.usesPerCommit} |`,
  );
  return [
    `Signatures per second through a key store's \`sign()\` against raw \`crypto.sign\` with the same`,
    `key (PKCS#11: a software key of the same algorithm), sampled alternately in the same process.`,
    `Every key-store signature is returned only after its use record is stored: *in memory* is the`,
    `key store's own cost; *SQLite* commits each batch of uses in one transaction (WAL,`,
    `synchronous=FULL) on ${r.sqliteFileSystem} (group commit: uses arriving during a commit share the next one);`,
    `*SQLite + log* is the service's wiring (src/services.ts): each use is first a \`key.used\` entry of the`,
    `transparency log on the same SQLite file, then the row.`,
    `*Sequential*: one signature at a time. *${r.concurrency} in flight*: as the HTTP service issues them.`,
    `Median of ${r.runs} samples × ${r.secondsPerSample} s after a warm-up; ${r.dataBytes}-byte messages; RSA keys 3072-bit;`,
    `PKCS#11 with one session (the service's setting).`,
    '',
    `| key store | use records | alg | raw ops/s | sequential ops/s | ratio | ${r.concurrency} in flight ops/s | ratio | uses per commit (${r.concurrency} in flight) |`,
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ...(r.skipped.length ? ['', ...r.skipped.map((s) => `${s.what}: skipped — ${s.reason}.`)] : []),
  ].join('\n');
}
