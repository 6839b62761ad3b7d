import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ArchiveService, rootFromPath } from '../../src/archive';
import { toPem } from '../../src/pki/pem';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';
import { openssl, write } from '../helpers/openssl';
import { tmpDir } from '../helpers/stores';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * The archive timestamp judged by OpenSSL: the batch root's RFC 3161 token verifies with
 * `openssl ts -verify -digest <root>` against our root CA, the record's evidence path leads to that
 * root, and a renewal token verifies with `-data <previous token>` (RFC 4998 §5.2).
 */
const A = '11330105002500287C';
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

let t: TestApp;
let work: string;
const saved = process.env.ESEAL_ARCHIVE_WINDOW_MS;

beforeAll(async () => {
  process.env.ESEAL_ARCHIVE_WINDOW_MS = '50';
  work = tmpDir('eseal-archive-openssl-');
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '公章', kind: 'official' }).expect(201);
  write(work, 'root.pem', toPem(t.services.ca.root.der));
  write(work, 'untrusted.pem', t.services.ca.chain().map((c) => toPem(c)).join(''));
}, 60_000);

afterAll(async () => {
  await t.close();
  fs.rmSync(work, { recursive: true, force: true });
  if (saved === undefined) delete process.env.ESEAL_ARCHIVE_WINDOW_MS;
  else process.env.ESEAL_ARCHIVE_WINDOW_MS = saved;
});

it('openssl ts -verify accepts the batch root timestamp and its renewal; the record path leads to the root', async () => {
  const seal = (await t.request.get('/v1/seals').set(auth(ADMIN_KEY)).expect(200)).body.items[0];
  const signer = await t.key(A, ['signer']);
  const archivist = await t.key(A, ['archivist']);
  const pdf = Buffer.from(
    (await t.request.post(`/v1/signatures?sealId=${seal.id}&format=pades&level=B-B`).set(auth(signer)).set('Content-Type', 'application/pdf').send(buildPdf()).expect(200)).body,
  );
  const meta = { title: '通知', responsibleAgency: '杭州市西湖区市场监督管理局', date: '2026-01-05', documentNumber: '西市监〔2026〕1号', retention: '10y', classification: 'internal', fonds: 'J001', series: 'BG', recordType: 'notice', fileName: 'n.pdf' };
  const rec = (await t.request.post(`/v1/archive/records?${new URLSearchParams(meta)}`).set(auth(archivist)).set('Content-Type', 'application/pdf').send(pdf).expect(201)).body;
  const full = (await t.request.get(`/v1/archive/records/${rec.id}`).set(auth(archivist)).expect(200)).body;
  const token = Buffer.from(full.evidence.timestamps[0].token, 'base64');
  write(work, 'token.der', token);

  const path0 = full.evidence.path?.map((l: string[]) => l.map((h) => Buffer.from(h, 'hex'))) ?? null;
  const root = rootFromPath('sha256', createHash('sha256').update(pdf).digest(), path0)!;
  expect(root.toString('hex')).toBe(full.evidence.root);

  const ok = await openssl(['ts', '-verify', '-digest', root.toString('hex'), '-token_in', '-in', 'token.der', '-CAfile', 'root.pem', '-untrusted', 'untrusted.pem'], work);
  expect(ok.out).toContain('Verification: OK');
  expect(ok.code).toBe(0);
  const wrong = await openssl(['ts', '-verify', '-digest', createHash('sha256').update('other').digest('hex'), '-token_in', '-in', 'token.der', '-CAfile', 'root.pem', '-untrusted', 'untrusted.pem'], work);
  expect(wrong.code).not.toBe(0);

  await t.request.post('/v1/archive/evidence/renew').set(auth(ADMIN_KEY)).send({ batchIds: [full.evidence.batchId] }).expect(200);
  const after = (await t.request.get(`/v1/archive/records/${rec.id}`).set(auth(archivist)).expect(200)).body;
  expect(after.evidence.timestamps).toHaveLength(2);
  write(work, 'renewal.der', Buffer.from(after.evidence.timestamps[1].token, 'base64'));
  const renewal = await openssl(['ts', '-verify', '-data', 'token.der', '-token_in', '-in', 'renewal.der', '-CAfile', 'root.pem', '-untrusted', 'untrusted.pem'], work);
  expect(renewal.out).toContain('Verification: OK');
  // The first token still verifies after the renewal.
  expect((await openssl(['ts', '-verify', '-digest', root.toString('hex'), '-token_in', '-in', 'token.der', '-CAfile', 'root.pem', '-untrusted', 'untrusted.pem'], work)).code).toBe(0);
  expect(fs.existsSync(path.join(work, 'renewal.der'))).toBe(true);

  // A three-record batch (a service that closes its batch at 3): each record's reduced hash
  // tree leads to the root OpenSSL verifies.
  const s = t.services;
  const archive = new ArchiveService(
    { archive: t.stores.archive, agencies: t.stores.agencies, counters: t.stores.counters, certificates: t.stores.certificates, seals: t.stores.seals, verifier: s.verifier, tsa: s.tsa, ca: s.ca, keys: s.keys, log: s.log },
    { windowMs: 60_000, maxBatch: 3 },
  );
  const pdfs = await Promise.all(
    [1, 2, 3].map(async (i) =>
      Buffer.from(
        (await t.request.post(`/v1/signatures?sealId=${seal.id}&format=pades&level=B-B`).set(auth(signer)).set('Content-Type', 'application/pdf').send(buildPdf({ pages: i })).expect(200)).body,
      ),
    ),
  );
  const actor = { apiKeyId: 'ak_test', agencyCode: A, roles: ['archivist' as const] };
  const recs = await Promise.all(pdfs.map((bytes) => archive.file(actor, { bytes, mediaType: 'application/pdf', metadata: meta as never })));
  const batch = (await t.request.get(`/v1/archive/batches/${recs[0]!.batchId}`).set(auth(archivist)).expect(200)).body;
  expect(batch.size).toBe(3);
  write(work, 'batch.der', Buffer.from(batch.timestamps[0].token, 'base64'));
  for (const [i, r] of recs.entries()) {
    expect(r.evidencePath!.length).toBeGreaterThanOrEqual(1);
    const p = r.evidencePath!.map((l) => l.map((h) => Buffer.from(h, 'hex')));
    const leaf = createHash('sha256').update(pdfs[i]!).digest();
    const got = rootFromPath('sha256', leaf, p)!;
    const v = await openssl(['ts', '-verify', '-digest', got.toString('hex'), '-token_in', '-in', 'batch.der', '-CAfile', 'root.pem', '-untrusted', 'untrusted.pem'], work);
    expect(v.out).toContain('Verification: OK');
  }
});
