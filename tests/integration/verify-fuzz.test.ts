import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { fromPemAll } from '../../src/pki';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

/**
 * Fuzzing the PDF verifier (issue #6; STANDARDS.md checklist 7; STYLE.md "random or mutated input
 * may only produce a parse error, never a crash or a hang"): 2,000 inputs — mutations of the
 * signed baselines of tests/vectors/attacks/ (byte flips, insertions, deletions, truncations,
 * duplicated chunks, rewritten /ByteRange numbers, /Length values, xref offsets and startxref,
 * broken /Contents, swapped keywords, several at once), a few hostile files (deep nesting, a
 * /Prev loop, a deflate bomb, huge counts), and random byte strings, half of them starting with
 * %PDF-1.7. Deterministic: the seed is printed; ESEAL_FUZZ_SEED=<n> replays a run.
 *
 * Each input goes to Verifier.verifyPdf in a worker thread with a heap cap, so that a hang (even a
 * synchronous loop) or runaway memory is caught and reported instead of stopping the suite: every
 * call must resolve to a report within TIME_BOUND_MS. Inputs that changed a byte a signature covers
 * must be TOTAL_FAILED; random inputs are never TOTAL_PASSED. Failing inputs are written to a temp
 * directory for replay. Then a sample goes through POST /v1/verifications: 200 or 4xx, never 5xx.
 */

const DIR = path.join(__dirname, '..', 'vectors', 'attacks');
const COUNT = 2000;
const TIME_BOUND_MS = 2000;
const HEAP_LIMIT_MB = 256;
const HTTP_SAMPLE = 50;
const SEED = (process.env.ESEAL_FUZZ_SEED ? Number(process.env.ESEAL_FUZZ_SEED) : 0x6e5ea1) >>> 0;

interface Manifest {
  verificationTime: string;
  trustAnchors: string;
  vectors: { file: string; kind: string }[];
}
const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;
const anchors = fromPemAll(fs.readFileSync(path.join(DIR, manifest.trustAnchors), 'latin1'));

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Baseline {
  file: string;
  bytes: Buffer;
  /** Byte ranges some signature covers ([start, end)). */
  signed: [number, number][];
}

interface FuzzInput {
  id: number;
  kind: string;
  bytes: Buffer;
  /** A byte some signature of the baseline covers was changed or cut off: must be TOTAL_FAILED. */
  mustFail: boolean;
  /** No signature can be valid in it: must not be TOTAL_PASSED. */
  noValidSignature: boolean;
  /** Page content was changed after signing: TOTAL_PASSED only with a disallowed change listed. */
  contentChanged?: boolean;
}

function loadBaseline(file: string): Baseline {
  const bytes = fs.readFileSync(path.join(DIR, file));
  const signed: [number, number][] = [];
  for (const m of bytes.toString('latin1').matchAll(/\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g)) {
    const [o1, l1, o2, l2] = [1, 2, 3, 4].map((i) => Number(m[i]));
    signed.push([o1!, o1! + l1!], [o2!, o2! + l2!]);
  }
  if (signed.length === 0) throw new Error(`${file}: no ByteRange`);
  return { file, bytes, signed };
}

/** True when `m` differs from the baseline anywhere inside a signed range (or is shorter than one). */
function touchesSigned(b: Baseline, m: Buffer): boolean {
  return b.signed.some(([s, e]) => m.length < e || !m.subarray(s, e).equals(b.bytes.subarray(s, e)));
}

const PDF_TOKENS = ['obj', 'endobj', 'stream', 'endstream', 'xref', 'trailer', 'startxref', '%%EOF', 'R', '<<', '>>', '[', ']', '/Type', '/Sig', '/ByteRange', '/Contents', '/Prev', '/Root', '/Length', 'null', 'true', '(', ')', '<', '>', '0', '1', '65535', 'f', 'n', '\n', ' ', '/FlateDecode', '/ObjStm', '/XRef', '/W', '/Index'];

function makeInputs(seed: number, baselines: Baseline[]): FuzzInput[] {
  const r = prng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const interesting = (len: number) => pick([0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, len - 1, len, len + 1, int(len + 1), int(1 << 30)]);
  const numText = (len: number) => pick([String(interesting(len)), '1e9', '3.5', '-0', '0000000000', '+12', '99999999999999999999']);

  /** Replaces the text of one regex match group (a number) in `b`. */
  const replaceMatch = (b: Buffer, re: RegExp, group: number, value: () => string): Buffer | undefined => {
    const s = b.toString('latin1');
    const ms = [...s.matchAll(re)];
    if (ms.length === 0) return undefined;
    const m = pick(ms);
    const at = m.index! + m[0].indexOf(m[group]!);
    return Buffer.concat([b.subarray(0, at), Buffer.from(value(), 'latin1'), b.subarray(at + m[group]!.length)]);
  };

  const mutators: Record<string, (b: Buffer, base: Baseline) => Buffer | undefined> = {
    flip: (b) => {
      const out = Buffer.from(b);
      for (let k = 1 + int(8); k > 0; k--) {
        const i = int(out.length);
        out[i] = r() < 0.5 ? out[i]! ^ (1 << int(8)) : int(256);
      }
      return out;
    },
    'flip-signed': (b, base) => {
      const out = Buffer.from(b);
      const [s, e] = pick(base.signed);
      const i = s + int(e - s);
      if (i < out.length) out[i] = out[i]! ^ (1 + int(255));
      return out;
    },
    insert: (b) => {
      const i = int(b.length + 1);
      return Buffer.concat([b.subarray(0, i), randomBytes(1 + int(64)), b.subarray(i)]);
    },
    delete: (b) => {
      const i = int(b.length);
      return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + int(256)))]);
    },
    truncate: (b) => b.subarray(0, int(b.length)),
    duplicate: (b) => {
      const i = int(b.length);
      const chunk = b.subarray(i, Math.min(b.length, i + 1 + int(2048)));
      const k = int(b.length + 1);
      return Buffer.concat([b.subarray(0, k), chunk, b.subarray(k)]);
    },
    'byterange-number': (b) => replaceMatch(b, /\/ByteRange\s*\[\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)/g, 1 + int(4), () => numText(b.length)),
    'length-value': (b) => replaceMatch(b, /\/Length\s+(\d+)/g, 1, () => numText(b.length)),
    'xref-offset': (b) => replaceMatch(b, /(\d{10}) \d{5} [nf]/g, 1, () => String(Math.max(0, interesting(b.length))).padStart(10, '0').slice(-10)),
    startxref: (b) => replaceMatch(b, /startxref\s+(\d+)/g, 1, () => numText(b.length)),
    'prev-value': (b) => replaceMatch(b, /\/Prev\s+(\d+)/g, 1, () => numText(b.length)),
    'contents-hex': (b) => {
      const s = b.toString('latin1');
      const at = s.indexOf('/Contents <');
      if (at < 0) return undefined;
      const start = at + '/Contents <'.length;
      const end = s.indexOf('>', start);
      const i = start + int(Math.max(1, end - start));
      const junk = pick(['', 'zz', ' ', '>', '<', '00'.repeat(1 + int(64)), randomBytes(1 + int(16)).toString('hex')]);
      return Buffer.concat([b.subarray(0, i), Buffer.from(junk, 'latin1'), b.subarray(i + (r() < 0.5 ? junk.length : 0))]);
    },
    keyword: (b) => {
      const s = b.toString('latin1');
      const from = pick(PDF_TOKENS.filter((t) => t.length > 1 && s.includes(t)));
      const hits: number[] = [];
      for (let i = s.indexOf(from); i >= 0 && hits.length < 4000; i = s.indexOf(from, i + 1)) hits.push(i);
      const at = pick(hits);
      return Buffer.concat([b.subarray(0, at), Buffer.from(pick(PDF_TOKENS), 'latin1'), b.subarray(at + from.length)]);
    },
  };
  const names = Object.keys(mutators);

  const hostile = hostileInputs(baselines[0]!.bytes);
  const out: FuzzInput[] = [];
  const push = (kind: string, bytes: Buffer, base?: Baseline) =>
    out.push({ id: out.length, kind, bytes, mustFail: base ? touchesSigned(base, bytes) : false, noValidSignature: !base });

  for (const [kind, bytes, contentChanged] of hostile) out.push({ id: out.length, kind: `hostile:${kind}`, bytes, mustFail: false, noValidSignature: false, contentChanged });
  const randomCount = 400;
  while (out.length < COUNT - randomCount) {
    // B-LT twice as often: it exercises the most (time-stamp, DSS, a revision after the signature).
    const base = r() < 0.5 ? baselines[0]! : pick(baselines);
    let bytes: Buffer | undefined = base.bytes;
    const steps = r() < 0.25 ? 2 + int(3) : 1;
    const kinds: string[] = [];
    for (let k = 0; k < steps && bytes; k++) {
      const name = pick(names);
      bytes = mutators[name]!(bytes, base) ?? bytes;
      kinds.push(name);
    }
    if (bytes.equals(base.bytes)) continue;
    push(`${base.file}:${kinds.join('+')}`, bytes, base);
  }
  while (out.length < COUNT) {
    const n = int(r() < 0.9 ? 4096 : 65536);
    if (r() < 0.5) push('random', randomBytes(n));
    else if (r() < 0.5) push('random-pdf-header', Buffer.concat([Buffer.from('%PDF-1.7\n', 'latin1'), randomBytes(n)]));
    else {
      const soup = Array.from({ length: int(2000) }, () => (r() < 0.3 ? String(int(100000)) : pick(PDF_TOKENS))).join(' ');
      push('random-pdf-tokens', Buffer.from(`%PDF-1.7\n${soup}\nstartxref\n${int(soup.length)}\n%%EOF\n`, 'latin1'));
    }
  }
  return out;
}

/**
 * Hand-made hostile files (STANDARDS.md checklist 7: sizes, counts, nesting, decompression), each
 * an update appended to a signed file; the flag says whether it redefines the page content.
 */
function hostileInputs(signed: Buffer): [string, Buffer, boolean][] {
  const startxref = (b: Buffer) => Number(/startxref\s+(\d+)/.exec(b.toString('latin1', b.lastIndexOf('startxref')))![1]);
  /** An update appended to `signed` defining `objs`, with an xref table and a trailer (/Prev 'self': its own xref). */
  const update = (objs: [number, Buffer][], trailerExtra = '', prev: number | 'self' = startxref(signed)): Buffer => {
    const parts: Buffer[] = [signed];
    let off = signed.length;
    const rows: string[] = [];
    for (const [num, body] of objs) {
      const head = Buffer.from(`${num} 0 obj\n`, 'latin1');
      rows.push(`${num} 1\n${String(off).padStart(10, '0')} 00000 n\r\n`);
      parts.push(head, body, Buffer.from('\nendobj\n', 'latin1'));
      off += head.length + body.length + 8;
    }
    parts.push(Buffer.from(`xref\n${rows.join('')}trailer\n<< /Size 1000 /Root 1 0 R /Prev ${prev === 'self' ? off : prev}${trailerExtra} >>\nstartxref\n${off}\n%%EOF\n`, 'latin1'));
    return Buffer.concat(parts);
  };
  const bomb = zlib.deflateSync(Buffer.alloc(64 * 1024 * 1024));
  return [
    ['deep-array', update([[4, Buffer.from('['.repeat(100_000), 'latin1')]]), true],
    ['deep-dict', update([[4, Buffer.from('<< /A '.repeat(50_000), 'latin1')]]), true],
    ['deflate-bomb-content', update([[4, Buffer.concat([Buffer.from(`<< /Length ${bomb.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'), bomb, Buffer.from('\nendstream', 'latin1')])]]), true],
    ['prev-loop', update([[4, Buffer.from('<< /Length 0 >>\nstream\n\nendstream', 'latin1')]], '', 'self'), true],
    ['huge-objstm-n', update([[4, Buffer.from('<< /Type /ObjStm /N 4000000 /First 10 /Length 10 >>\nstream\n0 0 1 1 2 \nendstream', 'latin1')]]), true],
    ['huge-length', update([[4, Buffer.from('<< /Length 99999999999 >>\nstream\nBT ET\nendstream', 'latin1')]]), true],
    ['xref-huge-subsection', Buffer.concat([signed, Buffer.from(`xref\n0 4000000000\n0000000000 65535 f\r\ntrailer\n<< /Size 4000000000 /Root 1 0 R >>\nstartxref\n${signed.length}\n%%EOF\n`, 'latin1')]), false],
    ['ref-cycle', update([[4, Buffer.from('4 0 R', 'latin1')]]), true],
    ['many-revisions', (() => {
      let b = signed;
      for (let i = 0; i < 300; i++) {
        const at = b.length;
        b = Buffer.concat([b, Buffer.from(`xref\n0 1\n0000000000 65535 f\r\ntrailer\n<< /Size 1 /Root 1 0 R /Prev ${startxref(b)} >>\nstartxref\n${at}\n%%EOF\n`, 'latin1')]);
      }
      return b;
    })(), false],
  ];
}

// ---------------------------------------------------------------------------------------------
// The verifier in a worker thread
// ---------------------------------------------------------------------------------------------

interface Reply {
  id: number;
  ok: boolean;
  ms: number;
  heapBytes: number;
  error?: string;
  report?: { indication: unknown; subIndication?: unknown; size: unknown; signatures: unknown; checks: unknown; disallowed: boolean };
}

/** Loads the TypeScript sources with tests/helpers/ts-register.js, as the crash tests' children do. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const v8 = require('node:v8');
require(workerData.tsRegister);
const { Verifier } = require(workerData.engine);
const { RevocationChecker } = require(workerData.revocation);
const time = new Date(workerData.time);
const verifier = new Verifier({
  trustAnchors: workerData.anchors.map((a) => Buffer.from(a)),
  revocation: new RevocationChecker({ mode: 'offline' }),
  clock: () => time,
});
parentPort.on('message', async ({ id, bytes }) => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const t0 = performance.now();
  try {
    const r = await verifier.verifyPdf(buf);
    const report = { indication: r.indication, subIndication: r.subIndication, size: r.document && r.document.size, signatures: Array.isArray(r.signatures), checks: Array.isArray(r.checks),
      disallowed: Array.isArray(r.signatures) && r.signatures.some((s) => Array.isArray(s.changes) && s.changes.some((c) => c.allowed === false)) };
    parentPort.postMessage({ id, ok: true, ms: performance.now() - t0, heapBytes: v8.getHeapStatistics().used_heap_size, report });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, ms: performance.now() - t0, heapBytes: v8.getHeapStatistics().used_heap_size, error: String((e && e.stack) || e).slice(0, 2000) });
  }
});
parentPort.postMessage({ ready: true });
`;

class VerifierWorker {
  private worker!: Worker;
  private pending?: { resolve: (r: Reply) => void; reject: (e: Error) => void };
  private dead?: Error;

  static async start(): Promise<VerifierWorker> {
    const w = new VerifierWorker();
    await w.boot();
    return w;
  }

  private boot(): Promise<void> {
    const src = path.join(__dirname, '..', '..', 'src', 'verify');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        tsRegister: path.join(__dirname, '..', 'helpers', 'ts-register.js'),
        engine: path.join(src, 'engine.ts'),
        revocation: path.join(src, 'revocation.ts'),
        time: manifest.verificationTime,
        anchors: anchors.map((a) => new Uint8Array(a)),
      },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB },
    });
    return new Promise((resolve, reject) => {
      this.worker.on('message', (m: Reply & { ready?: boolean }) => {
        if (m.ready) return resolve();
        const p = this.pending;
        this.pending = undefined;
        p?.resolve(m);
      });
      const die = (e: Error) => {
        this.dead = e;
        reject(e);
        const p = this.pending;
        this.pending = undefined;
        p?.reject(e);
      };
      this.worker.on('error', die);
      this.worker.on('exit', (code) => die(new Error(`worker exited with code ${code}`)));
    });
  }

  ask(input: FuzzInput): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage({ id: input.id, bytes: new Uint8Array(input.bytes) });
    });
  }

  async stop(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------

const INDICATIONS = ['TOTAL_PASSED', 'TOTAL_FAILED', 'INDETERMINATE'];

describe(`verifier fuzzing (${COUNT} inputs, seed ${SEED})`, () => {
  const baselines = manifest.vectors.filter((v) => v.kind === 'baseline').map((v) => loadBaseline(v.file));
  // B-LT first: hostile inputs are built on it and it gets the larger share.
  baselines.sort((a, b) => Number(b.file.includes('b-lt')) - Number(a.file.includes('b-lt')));
  const inputs = makeInputs(SEED, baselines);
  const passedInWorker: FuzzInput[] = [];

  it('every input gets a report, in time, within the heap cap; signed-byte changes fail; random input never passes', async () => {
    process.stdout.write(`verify-fuzz: seed ${SEED} (ESEAL_FUZZ_SEED=${SEED} to replay), ${inputs.length} inputs\n`);
    expect(inputs).toHaveLength(COUNT);
    const failures: { input: FuzzInput; reason: string }[] = [];
    const stats = { maxMs: 0, maxMsKind: '', maxHeapMb: 0, byIndication: {} as Record<string, number>, mustFail: 0, passed: [] as string[] };
    let worker = await VerifierWorker.start();
    const started = Date.now();
    try {
      for (const input of inputs) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), TIME_BOUND_MS)));
        let reply: Reply | 'timeout' | Error;
        try {
          reply = await Promise.race([worker.ask(input), timeout]);
        } catch (e) {
          reply = e as Error;
        } finally {
          clearTimeout(timer);
        }
        if (reply === 'timeout' || reply instanceof Error) {
          failures.push({ input, reason: reply === 'timeout' ? `no answer within ${TIME_BOUND_MS} ms (hang)` : `worker died: ${reply.message}` });
          await worker.stop().catch(() => undefined);
          worker = await VerifierWorker.start();
          continue;
        }
        if (reply.ms > stats.maxMs) Object.assign(stats, { maxMs: reply.ms, maxMsKind: input.kind });
        stats.maxHeapMb = Math.max(stats.maxHeapMb, reply.heapBytes / 2 ** 20);
        if (!reply.ok || !reply.report) {
          failures.push({ input, reason: `verifyPdf threw: ${reply.error}` });
          continue;
        }
        const rep = reply.report;
        stats.byIndication[String(rep.indication)] = (stats.byIndication[String(rep.indication)] ?? 0) + 1;
        if (!INDICATIONS.includes(rep.indication as string) || rep.signatures !== true || rep.checks !== true || rep.size !== input.bytes.length) {
          failures.push({ input, reason: `not a report: ${JSON.stringify(rep)}` });
        } else if (input.mustFail && rep.indication !== 'TOTAL_FAILED') {
          failures.push({ input, reason: `a signed byte was changed, yet ${rep.indication}${rep.subIndication ? `/${rep.subIndication}` : ''}` });
        } else if (input.noValidSignature && rep.indication === 'TOTAL_PASSED') {
          failures.push({ input, reason: 'random input is TOTAL_PASSED' });
        } else if (input.contentChanged && rep.indication === 'TOTAL_PASSED' && !rep.disallowed) {
          failures.push({ input, reason: 'page content changed after signing, TOTAL_PASSED with no disallowed change' });
        } else {
          passedInWorker.push(input);
        }
        if (input.mustFail) stats.mustFail++;
        if (rep.indication === 'TOTAL_PASSED') stats.passed.push(`${input.kind}${rep.disallowed ? ' (flagged)' : ''}`);
      }
    } finally {
      await worker.stop().catch(() => undefined);
    }
    process.stdout.write(
      `verify-fuzz: ${inputs.length} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s; slowest ${stats.maxMs.toFixed(0)} ms (${stats.maxMsKind}); ` +
        `peak worker heap ${stats.maxHeapMb.toFixed(0)} MiB; ${stats.mustFail} inputs with changed signed bytes; indications ${JSON.stringify(stats.byIndication)}\n` +
        // Mutations confined to unsigned bytes (the DSS revision, /Contents padding) may pass: listed for review.
        `verify-fuzz: still TOTAL_PASSED: ${stats.passed.slice(0, 20).join('; ') || 'none'}\n`,
    );
    if (failures.length > 0) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `eseal-verify-fuzz-${SEED}-`));
      for (const f of failures) fs.writeFileSync(path.join(dir, `${f.input.id}.pdf`), f.input.bytes);
      process.stdout.write(`verify-fuzz: ${failures.length} failing inputs written to ${dir}\n`);
    }
    expect(failures.map((f) => `#${f.input.id} ${f.input.kind}: ${f.reason}`)).toEqual([]);
  }, 600_000);

  describe('through POST /v1/verifications', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    it(`a sample of ${HTTP_SAMPLE} inputs (and an empty body) is answered 200 with a report or 4xx, never 5xx`, async () => {
      // Only inputs the worker answered in time: a hang here would stop the suite, not fail a test.
      const step = Math.max(1, Math.floor(passedInWorker.length / HTTP_SAMPLE));
      const sample = [...passedInWorker.filter((_, i) => i % step === 0).slice(0, HTTP_SAMPLE), { id: -1, kind: 'empty', bytes: Buffer.alloc(0), mustFail: false, noValidSignature: true }];
      const bad: string[] = [];
      for (const input of sample) {
        const res = await t.request.post('/v1/verifications').set('Authorization', `Bearer ${ADMIN_KEY}`).set('Content-Type', 'application/pdf').send(input.bytes);
        const ok = res.status === 200 ? INDICATIONS.includes(res.body?.indication) : res.status >= 400 && res.status < 500 && typeof res.body?.code === 'string';
        if (!ok) bad.push(`#${input.id} ${input.kind}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      }
      expect(bad).toEqual([]);
    }, 300_000);
  });
});
