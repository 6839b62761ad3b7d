import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { main } from '../../src/cli';
import { ArchiveService, parseEvidenceRecord, rootFromPath, verifyPackage } from '../../src/archive';
import { withCreditCodeCheck } from '../../src/identifiers';
import { parseTimeStampToken } from '../../src/pki/tsp-token';
import { toPem } from '../../src/pki/pem';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';
import { tmpDir } from '../helpers/stores';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * The e-archive through HTTP (Art. 33): filing with the DA/T 70 checks, registration numbers,
 * batched archive timestamps, packages checked offline by `eseal archive verify`, renewal.
 */
const A = '11330105002500287C';
const B = withCreditCodeCheck('12330000002482098');
const auth = (k: string) => ({ Authorization: `Bearer ${k}` });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const META = {
  title: '关于同意设立杭州西湖某某有限公司的批复',
  responsibleAgency: '杭州市西湖区市场监督管理局',
  date: '2026-03-15',
  documentNumber: '西市监〔2026〕12号',
  retention: 'permanent',
  classification: 'public',
  fonds: 'J001',
  series: 'XZXK',
  recordType: 'reply',
  fileName: 'reply.pdf',
};
const query = (m: Record<string, unknown>) => new URLSearchParams(Object.entries(m).map(([k, v]): [string, string] => [k, String(v)])).toString();

let t: TestApp;
let archivistA: string;
let archivistB: string;
let signed: Buffer;
let work: string;
const saved = process.env.ESEAL_ARCHIVE_WINDOW_MS;

function readZip(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, zf) => {
      if (err || !zf) return reject(err);
      const out = new Map<string, Buffer>();
      zf.on('entry', (e: yauzl.Entry) =>
        zf.openReadStream(e, (e2, s) => {
          if (e2 || !s) return reject(e2);
          const parts: Buffer[] = [];
          s.on('data', (c: Buffer) => parts.push(c));
          s.on('end', () => {
            out.set(e.fileName, Buffer.concat(parts));
            zf.readEntry();
          });
        }),
      );
      zf.on('end', () => resolve(out));
      zf.readEntry();
    });
  });
}

function writeZip(entries: Map<string, Buffer>): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [name, data] of entries) z.addBuffer(data, name);
  z.end();
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => parts.push(c));
    z.outputStream.on('end', () => resolve(Buffer.concat(parts)));
  });
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'eseal', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  process.env.ESEAL_ARCHIVE_WINDOW_MS = '50';
  work = tmpDir('eseal-archive-');
  t = await startTestApp();
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: A, name: '杭州市西湖区市场监督管理局' }).expect(201);
  await t.request.post('/v1/agencies').set(auth(ADMIN_KEY)).send({ code: B, name: '浙江省人力资源和社会保障厅' }).expect(201);
  const seal = (await t.request.post('/v1/seals').set(auth(ADMIN_KEY)).send({ agencyCode: A, name: '行政许可专用章', kind: 'licence' }).expect(201)).body;
  const signer = await t.key(A, ['signer']);
  archivistA = await t.key(A, ['archivist']);
  archivistB = await t.key(B, ['archivist']);
  const r = await t.request
    .post(`/v1/signatures?sealId=${seal.id}&format=pades&level=B-T`)
    .set(auth(signer))
    .set('Content-Type', 'application/pdf')
    .send(buildPdf({ pages: 2 }))
    .expect(200);
  signed = Buffer.from(r.body);
}, 60_000);

afterAll(async () => {
  await t.close();
  fs.rmSync(work, { recursive: true, force: true });
  if (saved === undefined) delete process.env.ESEAL_ARCHIVE_WINDOW_MS;
  else process.env.ESEAL_ARCHIVE_WINDOW_MS = saved;
});

const file = (key: string, body: Buffer, m: Record<string, unknown> = META) =>
  t.request.post(`/v1/archive/records?${query(m)}`).set(auth(key)).set('Content-Type', 'application/pdf').send(body);

describe('e-archive filing', () => {
  let recordId: string;

  it('files a PAdES-signed PDF: every check passes, a registration number, sealed under a timestamped batch root the path leads to, logged', async () => {
    const res = await file(archivistA, signed, { ...META, sha256: sha256(signed), size: signed.length });
    expect(res.status).toBe(201);
    const rec = res.body;
    recordId = rec.id;
    expect(rec.status).toBe('sealed');
    expect(rec.registrationNumber).toBe('J001-2026-Y-000001');
    expect(rec.checks.passed).toBe(true);
    expect(rec.checks.checks.map((c: { name: string; passed: boolean }) => [c.name, c.passed])).toEqual([
      ['authenticity', true],
      ['integrity', true],
      ['usability', true],
      ['security', true],
    ]);
    expect(rec.report.indication).toBe('TOTAL_PASSED');
    expect(rec.content).toBeUndefined();

    const full = (await t.request.get(`/v1/archive/records/${rec.id}`).set(auth(archivistA)).expect(200)).body;
    const token = Buffer.from(full.evidence.timestamps[0].token, 'base64');
    const tst = parseTimeStampToken(token).tstInfo;
    expect(tst.messageImprint.hashedMessage.toString('hex')).toBe(full.evidence.root);
    const path = full.evidence.path?.map((l: string[]) => l.map((h) => Buffer.from(h, 'hex'))) ?? null;
    expect(rootFromPath('sha256', Buffer.from(sha256(signed), 'hex'), path)!.toString('hex')).toBe(full.evidence.root);

    const entry = (await t.services.log.entries(rec.logIndex, rec.logIndex + 1))[0]!;
    expect(JSON.parse(Buffer.from(entry.leafInput, 'base64').toString())).toMatchObject({
      type: 'archive.filed',
      subject: { recordId: rec.id, agencyCode: A, registrationNumber: 'J001-2026-Y-000001' },
      digests: { sha256: sha256(signed) },
    });
  });

  it('batches concurrent filings under one timestamp; registration numbers are consecutive and unique', async () => {
    // A service whose batch closes at 5 records (the window is long): exactly one timestamp.
    const s = t.services;
    const archive = new ArchiveService(
      { archive: t.stores.archive, agencies: t.stores.agencies, counters: t.stores.counters, certificates: t.stores.certificates, seals: t.stores.seals, verifier: s.verifier, tsa: s.tsa, ca: s.ca, keys: s.keys, log: s.log },
      { windowMs: 60_000, maxBatch: 5 },
    );
    const actor = { apiKeyId: 'ak_test', agencyCode: A, roles: ['archivist' as const] };
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => archive.file(actor, { bytes: signed, mediaType: 'application/pdf', metadata: { ...META, title: `批复 ${i}`, retention: '30y' } as never })),
    );
    expect(archive.timestampsUsed).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['sealed', 'sealed', 'sealed', 'sealed', 'sealed']);
    const batches = new Set(results.map((r) => r.batchId));
    expect(batches.size).toBe(1);
    expect(results.map((r) => r.registrationNumber).sort()).toEqual(['000001', '000002', '000003', '000004', '000005'].map((n) => `J001-2026-D30-${n}`));
    const batch = (await t.request.get(`/v1/archive/batches/${[...batches][0]}`).set(auth(archivistA)).expect(200)).body;
    expect(batch.size).toBe(5);
    for (const r of results) {
      const p = r.evidencePath!.map((l) => l.map((h) => Buffer.from(h, 'hex')));
      expect(rootFromPath('sha256', Buffer.from(r.sha256, 'hex'), p)!.toString('hex')).toBe(batch.root);
    }
  });

  it('a record filed while the TSA fails is durable as pending-evidence and sealed by repair()', async () => {
    const s = t.services;
    const deps = { archive: t.stores.archive, agencies: t.stores.agencies, counters: t.stores.counters, certificates: t.stores.certificates, seals: t.stores.seals, verifier: s.verifier, ca: s.ca, keys: s.keys, log: s.log };
    const down = new ArchiveService({ ...deps, tsa: { respond: async () => Promise.reject(new Error('TSA down')) } }, { windowMs: 5 });
    const actor = { apiKeyId: 'ak_test', agencyCode: A, roles: ['archivist' as const] };
    const rec = await down.file(actor, { bytes: signed, mediaType: 'application/pdf', metadata: { ...META, fonds: 'J009' } as never });
    expect(rec.status).toBe('pending-evidence');
    expect((await t.request.get(`/v1/archive/records/${rec.id}/evidence`).set(auth(archivistA))).body.code).toBe('ARCHIVE_EVIDENCE_PENDING');
    expect(await down.repair()).toMatchObject({ sealed: 0, error: 'TSA down' });
    const up = new ArchiveService({ ...deps, tsa: s.tsa }, { windowMs: 5 });
    expect(await up.repair()).toEqual({ sealed: 1 });
    const after = (await t.request.get(`/v1/archive/records/${rec.id}`).set(auth(archivistA)).expect(200)).body;
    expect(after.status).toBe('sealed');
    expect(after.evidence.root).toBe(after.sha256);
  });

  it('renewal without a list renews the batches whose TSA certificate expires within the horizon, and only those', async () => {
    const s = t.services;
    const deps = { archive: t.stores.archive, agencies: t.stores.agencies, counters: t.stores.counters, certificates: t.stores.certificates, seals: t.stores.seals, verifier: s.verifier, tsa: s.tsa, ca: s.ca, keys: s.keys, log: s.log };
    const admin = { apiKeyId: 'ak_admin', agencyCode: null, roles: ['admin' as const] };
    expect((await new ArchiveService(deps, { renewBeforeDays: 0 }).renew(admin)).renewed).toEqual([]);
    const all = (await t.stores.archive.listBatches({ limit: 500 })).items;
    const r = await new ArchiveService(deps, { renewBeforeDays: 3650 * 3 }).renew(admin);
    expect(r.renewed.map((x) => x.batchId).sort()).toEqual(all.map((b) => b.id).sort());
    for (const b of all) expect((await t.stores.archive.getBatch(b.id))!.timestamps).toHaveLength(b.timestamps.length + 1);
    await expect(new ArchiveService(deps).renew({ ...admin, agencyCode: A })).rejects.toMatchObject({ code: 'FORBIDDEN_ROLE' });
  });

  it('refuses a tampered PDF with 422 naming the authenticity check, with the full report', async () => {
    const tampered = Buffer.from(signed);
    const at = tampered.indexOf('(Page 1)');
    tampered[at + 1] = 'X'.charCodeAt(0);
    const res = await file(archivistA, tampered);
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('ARCHIVE_CHECKS_FAILED');
    expect(res.body.details.failed).toEqual(['authenticity']);
    const auth0 = res.body.details.checks.checks.find((c: { name: string }) => c.name === 'authenticity');
    expect(auth0.passed).toBe(false);
    expect(auth0.reasons.join(' ')).toMatch(/signatures not valid/);
    expect(res.body.details.report.indication).toBe('TOTAL_FAILED');
  });

  it('refuses an unsigned PDF, a digest mismatch, and lets only an admin force a filing, recording the reason', async () => {
    const plain = buildPdf({ pages: 1 });
    expect((await file(archivistA, plain)).body.code).toBe('ARCHIVE_CHECKS_FAILED');
    const wrongDigest = await file(archivistA, signed, { ...META, sha256: '0'.repeat(64) });
    expect(wrongDigest.status).toBe(422);
    expect(wrongDigest.body.details.checks.checks[0].reasons.join(' ')).toMatch(/declared sha256/);
    expect((await file(archivistA, plain, { ...META, forceReason: 'paper original lost' })).body.code).toBe('ARCHIVE_FORCE_NOT_ALLOWED');
    const forced = await file(ADMIN_KEY, plain, { ...META, agencyCode: A, forceReason: '历史纸质档案扫描件，无电子签名' });
    expect(forced.status).toBe(201);
    expect(forced.body.forced).toMatchObject({ reason: '历史纸质档案扫描件，无电子签名' });
    expect(forced.body.checks.passed).toBe(false);
  });

  it('answers bad metadata and bodies with precise 4xx codes', async () => {
    const { title: _t, ...noTitle } = META;
    const r1 = await file(archivistA, signed, noTitle);
    expect(r1.status).toBe(400);
    expect(r1.body.code).toBe('ARCHIVE_METADATA_INVALID');
    expect((await file(archivistA, signed, { ...META, retention: 'forever' })).body.code).toBe('ARCHIVE_METADATA_INVALID');
    expect((await file(archivistA, signed, { ...META, fonds: '../x' })).body.code).toBe('ARCHIVE_METADATA_INVALID');
    const bad = await t.request.post(`/v1/archive/records?${query(META)}`).set(auth(archivistA)).set('Content-Type', 'text/plain').send('x');
    expect(bad.status).toBe(415);
    const notPdf = await file(archivistA, Buffer.from('not a pdf at all'));
    expect(notPdf.status).toBe(422);
    expect(notPdf.body.details.failed).toEqual(expect.arrayContaining(['authenticity', 'usability']));
    expect((await file(archivistA, signed, { ...META, date: '2026-02-30' })).status).toBe(422);
    expect((await t.request.get('/v1/archive/records/arc_zz').set(auth(archivistA))).status).toBe(400);
  });

  it('accepts multipart with the metadata in the options part', async () => {
    const res = await t.request
      .post('/v1/archive/records')
      .set(auth(archivistA))
      .attach('file', signed, { filename: 'reply.pdf', contentType: 'application/pdf' })
      .field('options', JSON.stringify({ ...META, retention: '10y' }));
    expect(res.status).toBe(201);
    expect(res.body.registrationNumber).toBe('J001-2026-D10-000001');
  });

  it('publishes the archive routes in the OpenAPI document', async () => {
    const doc = (await t.request.get('/openapi.json').expect(200)).body;
    for (const p of ['/v1/archive/records', '/v1/archive/records/{id}', '/v1/archive/records/{id}/package', '/v1/archive/records/{id}/reverify', '/v1/archive/evidence/renew']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(doc.paths['/v1/archive/records'].post.parameters.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['title', 'fonds', 'retention']));
  });

  it('keeps agencies apart and searches by metadata with pagination', async () => {
    expect((await t.request.get(`/v1/archive/records/${recordId}`).set(auth(archivistB))).body.code).toBe('FORBIDDEN_AGENCY');
    expect((await t.request.get(`/v1/archive/records/${recordId}/package`).set(auth(archivistB))).status).toBe(403);
    expect((await t.request.get('/v1/archive/records').set(auth(archivistB)).expect(200)).body.items).toEqual([]);
    const hits = (await t.request.get(`/v1/archive/records?fonds=J001&year=2026&title=${encodeURIComponent('批复 3')}`).set(auth(archivistA)).expect(200)).body;
    expect(hits.items.map((r: { title: string }) => r.title)).toEqual(['批复 3']);
    const p1 = (await t.request.get('/v1/archive/records?fonds=J001&limit=2').set(auth(archivistA)).expect(200)).body;
    expect(p1.items).toHaveLength(2);
    const p2 = (await t.request.get(`/v1/archive/records?fonds=J001&limit=2&cursor=${p1.nextCursor}`).set(auth(archivistA)).expect(200)).body;
    expect(p2.items[0].id > p1.items[1].id).toBe(true);
    expect((await t.request.get('/v1/archive/records?title=%25').set(auth(archivistA)).expect(200)).body.items).toEqual([]);
  });

  it('re-verifies a record and keeps both reports', async () => {
    const r = (await t.request.post(`/v1/archive/records/${recordId}/reverify`).set(auth(archivistA)).expect(200)).body;
    expect(r.report.indication).toBe('TOTAL_PASSED');
    const full = (await t.request.get(`/v1/archive/records/${recordId}`).set(auth(archivistA)).expect(200)).body;
    expect(full.reverifications).toHaveLength(1);
    expect(full.report.validationTime < r.report.validationTime || full.report.validationTime === r.report.validationTime).toBe(true);
  });

  it('retention: disposal only after the period, by an admin, never under a legal hold; logged, leaving a tombstone', async () => {
    const adminA = await t.key(A, ['admin']);
    const r10 = (await file(archivistA, signed, { ...META, retention: '10y', date: '2014-06-01', title: '十年期' }).expect(201)).body;
    const perm = (await file(archivistA, signed, { ...META, title: '永久' }).expect(201)).body;
    const young = (await file(archivistA, signed, { ...META, retention: '10y', title: '未到期' }).expect(201)).body;
    expect((await t.request.post(`/v1/archive/records/${perm.id}/dispose`).set(auth(adminA)).send({ reason: 'x' })).body.code).toBe('ARCHIVE_RETENTION_NOT_ELAPSED');
    const notYet = (await t.request.post(`/v1/archive/records/${young.id}/dispose`).set(auth(adminA)).send({ reason: 'x' })).body;
    expect(notYet).toMatchObject({ code: 'ARCHIVE_RETENTION_NOT_ELAPSED', details: { endsAt: '2037-01-01T00:00:00.000Z' } });
    expect((await t.request.post(`/v1/archive/records/${r10.id}/dispose`).set(auth(archivistA)).send({ reason: 'x' })).status).toBe(403);
    expect((await t.request.post(`/v1/archive/records/${r10.id}/hold`).set(auth(adminA)).send({ reason: '行政诉讼中' })).status).toBe(200);
    expect((await t.request.post(`/v1/archive/records/${r10.id}/dispose`).set(auth(adminA)).send({ reason: '保管期满' })).body.code).toBe('ARCHIVE_LEGAL_HOLD');
    await t.request.post(`/v1/archive/records/${r10.id}/release-hold`).set(auth(adminA)).expect(200);
    const tomb = (await t.request.post(`/v1/archive/records/${r10.id}/dispose`).set(auth(adminA)).send({ reason: '保管期满，经鉴定销毁' }).expect(200)).body;
    expect(tomb).toMatchObject({ status: 'disposed', registrationNumber: r10.registrationNumber, sha256: r10.sha256, disposal: { reason: '保管期满，经鉴定销毁' } });
    const entry = (await t.services.log.entries(tomb.disposal.logIndex, tomb.disposal.logIndex + 1))[0]!;
    expect(JSON.parse(Buffer.from(entry.leafInput, 'base64').toString())).toMatchObject({ type: 'archive.disposed', subject: { recordId: r10.id }, digests: { sha256: r10.sha256 } });
    expect((await t.stores.archive.getRecord(r10.id))!.content).toBe('');
    expect((await t.request.get(`/v1/archive/records/${r10.id}`).set(auth(archivistA)).expect(200)).body.status).toBe('disposed');
    expect((await t.request.get(`/v1/archive/records/${r10.id}/package`).set(auth(archivistA))).status).toBe(410);
    expect((await t.request.post(`/v1/archive/records/${r10.id}/reverify`).set(auth(archivistA))).body.code).toBe('ARCHIVE_DISPOSED');
    expect((await t.request.post(`/v1/archive/records/${r10.id}/dispose`).set(auth(adminA)).send({ reason: 'again' })).status).toBe(410);
  });

  it('exports a package that `eseal archive verify` accepts with the service stopped; one flipped byte fails naming the check; renewal chains a new timestamp', async () => {
    const res = await t.request.get(`/v1/archive/records/${recordId}/package`).set(auth(archivistA)).buffer(true).parse((r, cb) => {
      const parts: Buffer[] = [];
      r.on('data', (c: Buffer) => parts.push(c));
      r.on('end', () => cb(null, Buffer.concat(parts)));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    const zip = res.body as Buffer;
    fs.writeFileSync(path.join(work, 'pkg.zip'), zip);
    const entries = await readZip(zip);
    expect([...entries.keys()].sort()).toEqual(['content/reply.pdf', 'eep.xml', 'evidence-record.ers', 'metadata.json', 'tsa-chain.pem', 'validation-report.json']);
    const eep = entries.get('eep.xml')!.toString('utf8');
    expect(eep).toContain('<电子文件封装包 xmlns="http://www.saac.gov.cn/standards/ERM/encapsulation">');
    expect(eep).toContain('<档号>J001-2026-Y-000001</档号>');
    // Earlier tests may have renewed this batch already: n timestamps now, n + 1 after renewal.
    const n = parseEvidenceRecord(entries.get('evidence-record.ers')!).chains[0]!.length;
    expect(n).toBeGreaterThanOrEqual(1);

    // Renewal: a second timestamp over the first; both the old package and a new one verify.
    const batchId = JSON.parse(entries.get('metadata.json')!.toString()).batchId;
    const ren = (await t.request.post('/v1/archive/evidence/renew').set(auth(ADMIN_KEY)).send({ batchIds: [batchId] }).expect(200)).body;
    expect(ren.renewed).toEqual([expect.objectContaining({ batchId, chainLength: n + 1 })]);
    expect((await t.request.post('/v1/archive/evidence/renew').set(auth(archivistA)).send({})).status).toBe(403);
    const res2 = await t.request.get(`/v1/archive/records/${recordId}/package`).set(auth(archivistA)).buffer(true).parse((r, cb) => {
      const parts: Buffer[] = [];
      r.on('data', (c: Buffer) => parts.push(c));
      r.on('end', () => cb(null, Buffer.concat(parts)));
    });
    const zip2 = res2.body as Buffer;
    fs.writeFileSync(path.join(work, 'pkg2.zip'), zip2);
    const er2 = parseEvidenceRecord((await readZip(zip2)).get('evidence-record.ers')!);
    expect(er2.chains[0]).toHaveLength(n + 1);
    const first = parseTimeStampToken(er2.chains[0]![n - 1]!.timeStamp);
    const second = parseTimeStampToken(er2.chains[0]![n]!.timeStamp);
    expect(second.tstInfo.messageImprint.hashedMessage).toEqual(createHash('sha256').update(er2.chains[0]![n - 1]!.timeStamp).digest());
    expect(second.tstInfo.genTime.getTime()).toBeGreaterThanOrEqual(first.tstInfo.genTime.getTime());
    fs.writeFileSync(path.join(work, 'root.pem'), toPem(t.services.ca.root.der));

    // Service stopped: everything below is offline.
    await t.close();
    t = { close: async () => undefined } as unknown as TestApp;

    const ok = await cli('archive', 'verify', path.join(work, 'pkg.zip'), '--trust', path.join(work, 'root.pem'));
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/OK — J001-2026-Y-000001/);
    const ok2 = await cli('archive', 'verify', path.join(work, 'pkg2.zip'));
    expect(ok2.code).toBe(0);
    expect(ok2.out).toContain(`${n + 1} archive timestamp(s) verify`);

    const flipped = new Map(entries);
    const content = Buffer.from(flipped.get('content/reply.pdf')!);
    content[content.length >> 1] ^= 0x01;
    flipped.set('content/reply.pdf', content);
    fs.writeFileSync(path.join(work, 'flipped.zip'), await writeZip(flipped));
    const bad = await cli('archive', 'verify', path.join(work, 'flipped.zip'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/failed check\(s\): file-digest/);
    expect(bad.out).toMatch(/✗ file-digest/);

    // Other members tampered: each names its own check.
    const v = async (name: string, edit: (b: Buffer) => Buffer) => {
      const m = new Map(entries);
      m.set(name, edit(Buffer.from(m.get(name)!)));
      return verifyPackage(await writeZip(m));
    };
    const failedOf = (r: { checks: { name: string; passed: boolean }[] }) => r.checks.filter((c) => !c.passed).map((c) => c.name);
    expect(failedOf(await v('eep.xml', (b) => Buffer.from(b.toString('utf8').replace('<题名>', '<题名>伪'))))).toEqual(['eep-signature']);
    expect(failedOf(await v('validation-report.json', (b) => Buffer.from(b.toString('utf8').replace('"TOTAL_PASSED"', '"TOTAL_FAILED"'))))).toEqual(['stored-report']);
    const other = await cli('archive', 'verify', path.join(work, 'pkg.zip'), '--trust', path.join(work, 'flipped.zip'));
    expect(other.code).toBe(64);
    expect((await verifyPackage(Buffer.from('PK not a zip'))).checks[0]).toMatchObject({ name: 'package-structure', passed: false });

    // Mutated packages: always a verdict, never an exception; a changed byte is never "passed"
    // unless it fell in bytes no check reads (ZIP comments, timestamps of entries).
    let seed = 7;
    for (let i = 0; i < 150; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const m = Buffer.from(zip);
      const at = seed % m.length;
      m[at] = m[at]! ^ (1 + (seed % 255));
      const r = await verifyPackage(m);
      expect(r.checks.length).toBeGreaterThan(0);
      if (r.passed) expect((await readZip(m)).get('content/reply.pdf')).toEqual(entries.get('content/reply.pdf'));
    }
    for (const cut of [0, 10, zip.length >> 1, zip.length - 22, zip.length - 1]) {
      expect((await verifyPackage(zip.subarray(0, cut))).passed).toBe(false);
    }
  });
});
