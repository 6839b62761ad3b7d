/**
 * `npm run soak -- [--store sqlite|mongo] [--minutes 10] [--concurrency 8]`: mixed load against a
 * real service process, then checks that nothing was lost.
 *
 * The service runs as a child process (`node dist/main.js`) on a fresh data directory (SQLite) or
 * on MONGODB_URI with a fresh database name (mongo), so its RSS is measured alone. Workers loop
 * over a weighted mix: PAdES B-B and B-T signatures, CAdES B-T signatures, verifications of
 * documents signed earlier in the run, seal and log reads, and — when the service has e-licences —
 * licence issuance (credential only) and holder look-ups with a purpose.
 *
 * Afterwards, with the load stopped:
 *   - zero 5xx and zero transport errors;
 *   - RSS stable: the least-squares slope of the RSS samples over the second half of the run,
 *     extrapolated over that half, must stay under 10% of their mean (warm-up excluded);
 *   - every acknowledged signature has its `document.signed` entry at the index it was given,
 *     naming the SHA-256 of the bytes we received; every acknowledged licence is readable and has
 *     its log entry;
 *   - `eseal log verify --url` (the full audit: every entry, proofs, checkpoint signature) passes.
 * Exit 0 when every check holds, 1 otherwise; the summary is printed either way.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { withCreditCodeCheck } from '../identifiers';
import { ROOT, startServiceProcess } from './service-process';
import { writeBenchPdf } from './signing';

const AGENCY = '11330105002500287C';
const ADMIN = 'es_' + 's'.repeat(43);

interface Options {
  store: 'sqlite' | 'mongo';
  minutes: number;
  concurrency: number;
}

function rssKiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

class Client {
  constructor(readonly base: string) {}
  async call(method: string, p: string, key: string, body?: Buffer | object, type?: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const isJson = body !== undefined && !Buffer.isBuffer(body);
    const r = await fetch(this.base + p, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body !== undefined ? { 'Content-Type': isJson ? 'application/json' : (type ?? 'application/octet-stream') } : {}) },
      body: body === undefined ? undefined : isJson ? JSON.stringify(body) : (body as Buffer),
    });
    return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
  }
  async json<T = Record<string, unknown>>(method: string, p: string, key: string, body?: object): Promise<T> {
    const r = await this.call(method, p, key, body);
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.bytes.toString().slice(0, 300)}`);
    return JSON.parse(r.bytes.toString()) as T;
  }
}

export async function soak(o: Options, say: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<boolean> {
  const svc = await startServiceProcess({ store: o.store, adminKey: ADMIN });
  const { base, child, env, dataDir } = svc;
  const c = new Client(base);
  const checks: { name: string; ok: boolean; detail: string }[] = [];
  try {
    await c.json('POST', '/v1/agencies', ADMIN, { code: AGENCY, name: '浙江省测试局' });
    const seal = await c.json<{ id: string }>('POST', '/v1/seals', ADMIN, { agencyCode: AGENCY, name: '业务专用章', kind: 'official' });
    const key = async (roles: string[]) => (await c.json<{ key: string }>('POST', '/v1/api-keys', ADMIN, { agencyCode: AGENCY, roles, label: roles.join(',') })).key;
    const signer = await key(['signer']);
    const verifier = await key(['verifier']);
    const counter = await key(['counter']);
    const pdfFile = path.join(dataDir, 'doc.pdf');
    writeBenchPdf(pdfFile, 30_000);
    const pdf = fs.readFileSync(pdfFile);
    const holder = withCreditCodeCheck('91330106MA2CFPK53');
    const businessData = {
      entityType: '有限责任公司',
      legalRepresentative: '王建国',
      registeredCapital: '500万元人民币',
      establishedOn: '2019-03-15',
      address: '浙江省杭州市西湖区文三路90号',
      businessScope: '软件开发；信息技术咨询服务；数据处理服务。',
      registrationAuthority: '杭州市西湖区市场监督管理局',
    };
    const licenceBody = () => ({ type: 'business-licence', sealId: seal.id, holder: { name: '杭州云栖数据科技有限公司', codeType: '001', code: holder }, data: businessData, validFrom: '2025-01-01', validUntil: null });

    const status = new Map<number, number>();
    let transportErrors = 0;
    const signed: { index: number; sha256: string }[] = [];
    const toVerify: Buffer[] = [];
    const licences: { id: string; index: number }[] = [];
    const ops: [number, string, () => Promise<{ status: number }>][] = [
      [3, 'sign PAdES B-B', async () => {
        const r = await c.call('POST', `/v1/signatures?sealId=${seal.id}&format=pades&level=B-B`, signer, pdf, 'application/pdf');
        if (r.status === 200) {
          signed.push({ index: Number(r.headers.get('x-log-index')), sha256: createHash('sha256').update(r.bytes).digest('hex') });
          if (toVerify.length < 20) toVerify.push(r.bytes);
        }
        return r;
      }],
      [2, 'sign PAdES B-T', async () => {
        const r = await c.call('POST', `/v1/signatures?sealId=${seal.id}&format=pades&level=B-T`, signer, pdf, 'application/pdf');
        if (r.status === 200) signed.push({ index: Number(r.headers.get('x-log-index')), sha256: createHash('sha256').update(r.bytes).digest('hex') });
        return r;
      }],
      [2, 'sign CAdES B-T', async () => {
        const r = await c.call('POST', `/v1/signatures?sealId=${seal.id}&format=cades&level=B-T`, signer, Buffer.from(`record ${Date.now()} ${Math.random()}`), 'application/octet-stream');
        if (r.status === 200) signed.push({ index: Number(r.headers.get('x-log-index')), sha256: createHash('sha256').update(r.bytes).digest('hex') });
        return r;
      }],
      [3, 'verify', async () => {
        const doc = toVerify[Math.floor(Math.random() * toVerify.length)];
        if (!doc) return { status: 200 };
        return c.call('POST', '/v1/verifications', verifier, doc, 'application/pdf');
      }],
      [2, 'read seal', () => c.call('GET', `/v1/seals/${seal.id}`, signer)],
      [1, 'log checkpoint', () => c.call('GET', '/v1/log/checkpoint', verifier)],
      [2, 'issue licence (credential only)', async () => {
        const r = await c.call('POST', '/v1/licences?pdf=false', counter, licenceBody());
        if (r.status === 201) {
          const l = JSON.parse(r.bytes.toString()) as { id: string; logIndex: number };
          licences.push({ id: l.id, index: l.logIndex });
        }
        return r;
      }],
      [1, 'issue licence with sealed PDF', async () => {
        const r = await c.call('POST', '/v1/licences', counter, licenceBody());
        if (r.status === 201) {
          const l = JSON.parse(r.bytes.toString()) as { id: string; logIndex: number };
          licences.push({ id: l.id, index: l.logIndex });
        }
        return r;
      }],
      [1, 'look up licences (Art. 32)', () => c.call('GET', `/v1/licences?holderCode=${holder}&type=business-licence&purpose=${encodeURIComponent('soak test: 核验营业执照')}`, verifier)],
    ];
    const total = ops.reduce((a, [w]) => a + w, 0);
    const pick = () => {
      let x = Math.random() * total;
      for (const op of ops) if ((x -= op[0]) < 0) return op;
      return ops[0]!;
    };

    const started = Date.now();
    const until = started + o.minutes * 60_000;
    const samples: { t: number; kib: number }[] = [];
    const sampler = setInterval(() => {
      const k = rssKiB(child.pid!);
      if (k !== null) samples.push({ t: (Date.now() - started) / 1000, kib: k });
    }, 2000);
    let done = 0;
    const worker = async () => {
      while (Date.now() < until) {
        const [, , run] = pick();
        try {
          const r = await run();
          status.set(r.status, (status.get(r.status) ?? 0) + 1);
        } catch {
          transportErrors++;
        }
        done++;
      }
    };
    const progress = setInterval(() => say(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${done} requests, RSS ${((samples.at(-1)?.kib ?? 0) / 1024).toFixed(0)} MiB`), 30_000);
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    clearInterval(sampler);
    clearInterval(progress);
    const seconds = (Date.now() - started) / 1000;

    const fivexx = [...status].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
    checks.push({ name: 'no 5xx', ok: fivexx === 0, detail: `${fivexx} × 5xx; statuses ${JSON.stringify(Object.fromEntries(status))}` });
    checks.push({ name: 'no transport errors', ok: transportErrors === 0, detail: `${transportErrors}` });
    const second = samples.filter((s) => s.t >= seconds / 2);
    const mean = second.reduce((a, s) => a + s.kib, 0) / Math.max(1, second.length);
    const growth = second.length > 2 ? slope(second.map((s) => s.t), second.map((s) => s.kib)) * (seconds / 2) : 0;
    checks.push({
      name: 'RSS stable',
      ok: second.length > 2 && growth < 0.1 * mean,
      detail: `second half: mean ${(mean / 1024).toFixed(0)} MiB, trend ${(growth / 1024).toFixed(1)} MiB over ${(seconds / 2).toFixed(0)} s (${((100 * growth) / mean).toFixed(1)}%); min ${(Math.min(...samples.map((s) => s.kib)) / 1024).toFixed(0)} / max ${(Math.max(...samples.map((s) => s.kib)) / 1024).toFixed(0)} MiB`,
    });

    // Every acknowledged signature is in the log where the receipt said, naming our bytes.
    let missing = 0;
    const byIndex = new Map(signed.map((s) => [s.index, s.sha256]));
    const indexes = [...byIndex.keys()].sort((a, b) => a - b);
    for (let i = 0; i < indexes.length; ) {
      const start = indexes[i]!;
      const page = await c.json<{ entries: { index?: number; leafInput: string }[] }>('GET', `/v1/log/entries?start=${start}&end=${start + 1000}`, verifier);
      const got = new Map<number, string>();
      page.entries.forEach((e, k) => got.set(start + k, Buffer.from(e.leafInput, 'base64').toString('utf8')));
      while (i < indexes.length && indexes[i]! < start + page.entries.length) {
        const idx = indexes[i]!;
        const entry = got.get(idx);
        if (!entry || !entry.includes('"document.signed"') || !entry.includes(byIndex.get(idx)!)) missing++;
        i++;
      }
      if (page.entries.length === 0) {
        missing += indexes.length - i;
        break;
      }
    }
    checks.push({ name: 'every acknowledged signature logged', ok: missing === 0 && signed.length > 0, detail: `${signed.length} acknowledged, ${missing} missing or wrong` });
    // Every acknowledged licence is readable and its log entry is where the receipt said.
    let lost = 0;
    for (const l of licences) {
      const r = await c.call('GET', `/v1/licences/${l.id}`, counter);
      const e = await c.call('GET', `/v1/log/entries?start=${l.index}&end=${l.index + 1}`, verifier);
      const entry = e.status === 200 ? Buffer.from((JSON.parse(e.bytes.toString()) as { entries: { leafInput: string }[] }).entries[0]?.leafInput ?? '', 'base64').toString() : '';
      if (r.status !== 200 || !entry.includes('"licence.issued"') || !entry.includes(l.id)) lost++;
    }
    checks.push({ name: 'every acknowledged licence present and logged', ok: lost === 0 && licences.length > 0, detail: `${licences.length} issued, ${lost} missing or unlogged` });

    const audit = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [path.join(ROOT, 'bin', 'eseal.js'), 'log', 'verify', '--url', base], { env, maxBuffer: 16 << 20 }, (err, stdout, stderr2) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: (stdout + stderr2).trim().split('\n').slice(-3).join(' | ') }),
      ),
    );
    checks.push({ name: 'eseal log verify --url', ok: audit.code === 0, detail: audit.out });

    say(`soak on ${o.store}: ${o.minutes} min, ${o.concurrency} workers, ${done} requests (${(done / seconds).toFixed(1)}/s)`);
    for (const ch of checks) say(`  ${ch.ok ? 'ok  ' : 'FAIL'} ${ch.name}: ${ch.detail}`);
    return checks.every((ch) => ch.ok);
  } catch (e) {
    say(`soak failed: ${(e as Error).message}\nservice stderr: ${svc.stderr()}`);
    return false;
  } finally {
    await svc.stop();
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { store: { type: 'string', default: 'sqlite' }, minutes: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '8' } },
  });
  const store = values.store === 'mongo' ? 'mongo' : values.store === 'sqlite' ? 'sqlite' : null;
  if (!store) {
    process.stderr.write('--store must be sqlite or mongo\n');
    process.exit(2);
  }
  soak({ store, minutes: Number(values.minutes), concurrency: Number(values.concurrency) }).then(
    (ok) => process.exit(ok ? 0 : 1),
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
