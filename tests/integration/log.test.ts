import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { main as cli } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { hashLeaf } from '../../src/log/merkle';
import { rootFromLeaves, verifyConsistency, verifyInclusion } from '../../src/log/verify';
import { startService, type RunningService } from '../../src/main';
import { freePort, openssl, write } from '../helpers/openssl';
import { tmpDir } from '../helpers/stores';

const ADMIN = 'es_' + 'b'.repeat(43);
const AGENCY = '11330105002500287C';
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

let svc: RunningService;
let base: string;
let dir: string;
let env: NodeJS.ProcessEnv;

function get(p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(base + p, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}
const getJson = async (p: string) => JSON.parse((await get(p)).body);
async function post(p: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(base + p, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, text: await res.text() };
}

async function runCli(...args: string[]): Promise<{ code: number; out: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  delete process.env.MONGODB_URI; // the service under test runs on its SQLite file
  let out = '';
  try {
    const code = await cli(['node', 'eseal', ...args], { out: (s) => (out += s + '\n'), err: (s) => (out += s + '\n') });
    return { code, out };
  } finally {
    process.env = saved;
  }
}

beforeAll(async () => {
  dir = tmpDir();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = { ESEAL_DATA_DIR: dir, ESEAL_PUBLIC_URL: base, PORT: String(port), HOST: '127.0.0.1', ESEAL_BOOTSTRAP_ADMIN_KEY: ADMIN, ESEAL_LOG_CHECKPOINT_INTERVAL: '0' };
  svc = await startService(loadConfig(env), pino({ level: 'silent' }));
  expect((await post('/v1/agencies', { code: AGENCY, name: '杭州市西湖区市场监督管理局' })).status).toBe(201);
});

afterAll(async () => {
  agent.destroy();
  await svc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('transparency log over HTTP', () => {
  it('starts with the trust root it is anchored in, and logs issuance and revocation with receipts', async () => {
    const first = await getJson('/v1/log/entries?start=0&end=10');
    expect(first.entries[0].entry).toMatchObject({ type: 'log.created', subject: { origin: expect.stringContaining('/log') } });
    expect(first.entries.slice(1, 6).map((e: { entry: { type: string } }) => e.entry.type)).toEqual(Array(5).fill('certificate.issued'));

    const issued = await post('/v1/pki/certificates', { profile: 'seal', agencyCode: AGENCY });
    const cert = JSON.parse(issued.text);
    expect(cert.logIndex).toBeGreaterThanOrEqual(6);
    const revoked = JSON.parse((await post(`/v1/pki/certificates/${cert.serial}/revoke`, { reason: 'superseded' })).text);
    expect(revoked.logIndex).toBeGreaterThan(cert.logIndex);
    const { entries } = await getJson(`/v1/log/entries?start=${cert.logIndex}&end=${revoked.logIndex + 1}`);
    const byIndex = new Map(entries.map((e: { index: number; entry: unknown }) => [e.index, e.entry]));
    expect(byIndex.get(cert.logIndex)).toMatchObject({ type: 'certificate.issued', subject: { serial: cert.serial, agencyCode: AGENCY }, actor: { agencyCode: null } });
    expect(byIndex.get(revoked.logIndex)).toMatchObject({ type: 'certificate.revoked', details: { reason: 'superseded' } });
    // The issuing CA's signature over the certificate is itself a logged, attributed key use.
    const before = (await getJson(`/v1/log/entries?start=${cert.logIndex - 1}&end=${cert.logIndex}`)).entries[0].entry;
    expect(before).toMatchObject({ type: 'key.used', subject: { purpose: 'certificate' }, actor: { apiKeyId: expect.stringMatching(/^ak_/) } });
    // So is a time-stamp.
    await openssl(['ts', '-query', '-data', __filename, '-sha256', '-out', path.join(dir, 'q.tsq')], dir);
    const ts = await fetch(`${base}/v1/tsa`, { method: 'POST', headers: { 'Content-Type': 'application/timestamp-query' }, body: fs.readFileSync(path.join(dir, 'q.tsq')) });
    expect(ts.status).toBe(200);
    const size = await currentSize();
    const last = (await getJson(`/v1/log/entries?start=${size - 1}&end=${size}`)).entries[0].entry;
    expect(last).toMatchObject({ type: 'key.used', subject: { purpose: 'timestamp' } });
    // leafInput is the canonical bytes the leaf hash covers.
    for (const e of entries) expect(JSON.parse(Buffer.from(e.leafInput, 'base64').toString())).toEqual(e.entry);
  });

  it('serves proofs that an independent RFC 9162 verifier accepts for every size 1..300 and every pair M < N', async () => {
    // Grow the log to 300 entries (issuing certificates appends real events).
    while (svc && (await getJson('/v1/log/entries?start=0&end=1')) && (await currentSize()) < 300) {
      await Promise.all(Array.from({ length: Math.min(20, 300 - (await currentSize())) }, () => post('/v1/pki/certificates', { profile: 'seal', agencyCode: AGENCY })));
    }
    const size = await currentSize();
    expect(size).toBeGreaterThanOrEqual(300);
    const leaves: Buffer[] = [];
    for (let s = 0; s < 300; s += 100) {
      for (const e of (await getJson(`/v1/log/entries?start=${s}&end=${s + 100}`)).entries) leaves.push(hashLeaf(Buffer.from(e.leafInput, 'base64')));
    }
    const roots = [Buffer.alloc(0), ...Array.from({ length: 300 }, (_, n) => rootFromLeaves(leaves.slice(0, n + 1)))];

    const jobs: (() => Promise<void>)[] = [];
    for (let n = 1; n <= 300; n++) {
      for (let i = 0; i < n; i++) {
        jobs.push(async () => {
          const p = await getJson(`/v1/log/proofs/inclusion?index=${i}&treeSize=${n}`);
          const proof = p.hashes.map((h: string) => Buffer.from(h, 'base64'));
          if (!verifyInclusion({ leafIndex: i, treeSize: n, leafHash: leaves[i], proof, rootHash: roots[n] })) throw new Error(`inclusion ${i}/${n}`);
          if (proof.length > 0) {
            const altered = proof.map((b: Buffer) => Buffer.from(b));
            altered[0][0] ^= 1;
            if (verifyInclusion({ leafIndex: i, treeSize: n, leafHash: leaves[i], proof: altered, rootHash: roots[n] })) throw new Error(`altered inclusion ${i}/${n} accepted`);
          }
        });
      }
      for (let m = 1; m < n; m++) {
        jobs.push(async () => {
          const p = await getJson(`/v1/log/proofs/consistency?first=${m}&second=${n}`);
          const proof = p.hashes.map((h: string) => Buffer.from(h, 'base64'));
          if (!verifyConsistency({ oldSize: m, newSize: n, oldRoot: roots[m], newRoot: roots[n], proof })) throw new Error(`consistency ${m}/${n}`);
          const altered = proof.map((b: Buffer) => Buffer.from(b));
          altered[altered.length - 1][31] ^= 0x80;
          if (verifyConsistency({ oldSize: m, newSize: n, oldRoot: roots[m], newRoot: roots[n], proof: altered })) throw new Error(`altered consistency ${m}/${n} accepted`);
        });
      }
    }
    expect(jobs.length).toBe(45150 + 44850);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < jobs.length) await jobs[next++]();
      }),
    );
  }, 300_000);

  it('answers invalid ranges with 400 problems', async () => {
    const size = await currentSize();
    for (const q of [
      `/v1/log/proofs/inclusion?index=${size}&treeSize=${size}`,
      `/v1/log/proofs/inclusion?index=0&treeSize=${size + 1}`,
      `/v1/log/proofs/inclusion?index=0&treeSize=0`,
      '/v1/log/proofs/consistency?first=0&second=5',
      '/v1/log/proofs/consistency?first=6&second=5',
      `/v1/log/proofs/consistency?first=1&second=${size + 1}`,
      `/v1/log/entries?start=${size}&end=${size + 5}`,
      '/v1/log/entries?start=5&end=5',
      '/v1/log/checkpoint?size=999999',
    ]) {
      const r = await get(q);
      expect([q, r.status, JSON.parse(r.body).code]).toEqual([q, 400, 'LOG_INVALID_RANGE']);
    }
    for (const q of ['/v1/log/proofs/inclusion?index=-1&treeSize=3', '/v1/log/proofs/inclusion?index=x&treeSize=3', '/v1/log/entries?start=0', '/v1/log/entries?start=0&end=2&x=1']) {
      const r = await get(q);
      expect([q, r.status]).toEqual([q, 400]);
    }
  });

  it('signs checkpoints that OpenSSL verifies with the published log key, and that eseal log verify accepts', async () => {
    const cp = await post('/v1/log/checkpoint');
    expect(cp.status).toBe(200);
    const note = cp.text;
    const [body, sigs] = note.split('\n\n');
    const lines = body.split('\n');
    expect(lines[1]).toBe(String(await currentSize()));
    const key = await getJson('/v1/log/key');
    const work = tmpDir('eseal-note-');
    write(work, 'body.txt', body + '\n');
    write(work, 'log.pem', key.current.publicKey);
    const sig = Buffer.from(sigs.trim().split(' ').pop()!, 'base64');
    write(work, 'sig.der', sig.subarray(4)); // 4-byte key hash, then the DER ECDSA signature
    expect((await openssl(['dgst', '-sha256', '-verify', 'log.pem', '-signature', 'sig.der', 'body.txt'], work)).out).toContain('Verified OK');
    write(work, 'saved.checkpoint', note);

    expect((await get(`/v1/log/checkpoint?size=${lines[1]}`)).body).toBe(note);
    // A few more entries, then audit over HTTP against the saved checkpoint, and the local store.
    await post('/v1/pki/certificates', { profile: 'seal', agencyCode: AGENCY });
    await post('/v1/log/checkpoint');
    const remote = await runCli('log', 'verify', '--url', base, '--checkpoint', path.join(work, 'saved.checkpoint'), '--key', path.join(work, 'log.pem'));
    expect(remote.out).toMatch(/\nOK\n/);
    expect(remote.code).toBe(0);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('eseal log verify fails, naming the index, when one stored entry is edited', async () => {
    const ok = await runCli('log', 'verify', '--json');
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, problems: [] });
    expect(ok.code).toBe(0);

    const db = new Database(path.join(dir, 'eseal.sqlite'));
    const row = db.prepare('SELECT leaf_input FROM log_entries WHERE idx = 3').get() as { leaf_input: string };
    const entry = JSON.parse(Buffer.from(row.leaf_input, 'base64').toString());
    entry.subject.agencyCode = '91330000MA27XXXXXX';
    db.prepare('UPDATE log_entries SET leaf_input = ? WHERE idx = 3').run(Buffer.from(JSON.stringify(entry)).toString('base64'));
    db.close();

    const bad = await runCli('log', 'verify');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/index 3: leaf-hash/);
    expect(bad.out).toContain('FAILED: first divergence at index 3');
  });
});

async function currentSize(): Promise<number> {
  const { entries } = await getJson('/v1/log/entries?start=0&end=1');
  void entries;
  const note = (await post('/v1/log/checkpoint')).text;
  return Number(note.split('\n')[1]);
}
