import { AppError } from '../../src/errors';
import type { ArchiveBatch, ArchiveRecord, ArchiveStore } from '../../src/archive/ports';
import { newId, type Stores } from '../../src/store';
import type { StoreFixture } from '../helpers/stores';

const A = '11330105002500287C';
const B = '12330000002482098X';

export function record(over: Partial<ArchiveRecord> = {}): ArchiveRecord {
  const id = newId('arc_');
  return {
    id,
    agencyCode: A,
    registrationNumber: `J001-2026-Y-${id.slice(-6)}`,
    fonds: 'J001',
    year: 2026,
    title: '关于某事的批复',
    metadata: {
      title: '关于某事的批复',
      responsibleAgency: '某局',
      date: '2026-01-02',
      documentNumber: '1号',
      retention: 'permanent',
      classification: 'public',
      fonds: 'J001',
      series: 'X',
      recordType: 'reply',
      fileName: 'a.pdf',
    },
    mediaType: 'application/pdf',
    size: 3,
    sha256: 'ab'.repeat(32),
    content: Buffer.from('pdf').toString('base64'),
    checks: { passed: true, checks: [{ name: 'authenticity', passed: true, reasons: ['ok'] }] },
    report: { indication: 'TOTAL_PASSED', nested: { a: [1, 2] } },
    forced: null,
    status: 'pending-evidence',
    batchId: null,
    evidencePath: null,
    filedBy: 'ak_x',
    logIndex: 7,
    legalHold: null,
    disposal: null,
    createdAt: '2026-01-02T00:00:00.000Z',
    updatedAt: '2026-01-02T00:00:00.000Z',
    ...over,
  };
}

function batch(over: Partial<ArchiveBatch> = {}): ArchiveBatch {
  return {
    id: newId('atb_'),
    hashAlgorithm: 'sha256',
    root: 'cd'.repeat(32),
    size: 2,
    timestamps: [{ token: 'MIIB', genTime: '2026-01-02T00:00:01.000Z', imprint: 'cd'.repeat(32) }],
    createdAt: '2026-01-02T00:00:01.000Z',
    updatedAt: '2026-01-02T00:00:01.000Z',
    ...over,
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).code;
  }
  throw new Error('expected a rejection');
}

/** The archive store contract: every adapter passes it unchanged. */
export function archiveStoreContract(fixture: StoreFixture): void {
  let stores: Stores;
  let second: () => Promise<Stores>;
  let cleanup: () => Promise<void>;
  let s: ArchiveStore;
  beforeEach(async () => {
    const f = await fixture.open();
    stores = f.stores;
    second = f.second;
    cleanup = f.cleanup;
    s = stores.archive;
  });
  afterEach(() => cleanup());

  it('stores and reads back a record exactly (JSON members included)', async () => {
    const r = record();
    await s.createRecord(r);
    expect(await s.getRecord(r.id)).toEqual(r);
    expect(await s.getRecord(newId('arc_'))).toBeNull();
  });

  it('registration numbers are unique per agency: DUPLICATE for the same agency, fine for another', async () => {
    const r = record();
    await s.createRecord(r);
    expect(await code(s.createRecord({ ...r }))).toBe('DUPLICATE');
    expect(await code(s.createRecord(record({ registrationNumber: r.registrationNumber })))).toBe('DUPLICATE');
    await s.createRecord(record({ agencyCode: B, registrationNumber: r.registrationNumber }));
  });

  it('searches by agency, fonds, year, status and literal title substring, paged by id', async () => {
    const made: ArchiveRecord[] = [];
    for (let i = 0; i < 5; i++) made.push(await s.createRecord(record({ title: `批复 ${i} 100%_done`, year: i < 3 ? 2026 : 2025 })));
    await s.createRecord(record({ agencyCode: B, title: '别的机关' }));
    await s.createRecord(record({ fonds: 'J002', title: '另一全宗' }));
    // Ids created in the same millisecond order by their random part: compare with the sorted ids.
    made.sort((x, y) => (x.id < y.id ? -1 : 1));
    const all = await s.listRecords({ agencyCode: A, fonds: 'J001' });
    expect(all.items.map((r) => r.id)).toEqual(made.map((r) => r.id));
    expect((await s.listRecords({ agencyCode: A, year: 2025 })).items).toHaveLength(2);
    expect((await s.listRecords({ title: '批复 3' })).items.map((r) => r.title)).toEqual(['批复 3 100%_done']);
    expect((await s.listRecords({ title: '100%_' })).items).toHaveLength(5);
    expect((await s.listRecords({ title: '1_0' })).items).toHaveLength(0);
    expect((await s.listRecords({ title: '.*' })).items).toHaveLength(0);
    expect((await s.listRecords({ agencyCode: B })).items.map((r) => r.title)).toEqual(['别的机关']);
    const p1 = await s.listRecords({ agencyCode: A, fonds: 'J001', limit: 2 });
    const p2 = await s.listRecords({ agencyCode: A, fonds: 'J001', limit: 2, cursor: p1.nextCursor });
    const p3 = await s.listRecords({ agencyCode: A, fonds: 'J001', limit: 2, cursor: p2.nextCursor });
    expect([...p1.items, ...p2.items, ...p3.items].map((r) => r.id)).toEqual(made.map((r) => r.id));
    expect(p3.nextCursor).toBeNull();
  });

  it('seals a pending record once (compare-and-swap); pending records are listed for repair', async () => {
    const a = await s.createRecord(record());
    const b = await s.createRecord(record());
    expect((await s.listPending(10)).map((r) => r.id)).toEqual([a.id, b.id].sort()); // id order
    await s.sealRecord(a.id, 'atb_1', [['aa', 'bb'], ['cc']], '2026-01-03T00:00:00.000Z');
    expect(await s.getRecord(a.id)).toMatchObject({ status: 'sealed', batchId: 'atb_1', evidencePath: [['aa', 'bb'], ['cc']], updatedAt: '2026-01-03T00:00:00.000Z' });
    expect(await code(s.sealRecord(a.id, 'atb_2', null, '2026-01-04T00:00:00.000Z'))).toBe('STATE_CONFLICT');
    expect((await s.getRecord(a.id))!.batchId).toBe('atb_1');
    expect(await code(s.sealRecord(newId('arc_'), 'atb_1', null, 'x'))).toBe('NOT_FOUND');
    expect((await s.listPending(10)).map((r) => r.id)).toEqual([b.id]);
    expect((await s.listRecords({ status: 'sealed' })).items.map((r) => r.id)).toEqual([a.id]);
  });

  it('batches: stored, listed, and their timestamp chain grows by compare-and-swap on its length, also across connections', async () => {
    const b = await s.createBatch(batch());
    expect(await code(s.createBatch({ ...b }))).toBe('DUPLICATE');
    expect(await s.getBatch(b.id)).toEqual(b);
    const ts2 = { token: 'MIIC', genTime: '2027-01-01T00:00:00.000Z', imprint: 'ef'.repeat(32) };
    const after = await s.appendTimestamp(b.id, 1, ts2, '2027-01-01T00:00:00.000Z');
    expect(after.timestamps).toEqual([...b.timestamps, ts2]);
    expect(await code(s.appendTimestamp(b.id, 1, ts2, 'x'))).toBe('STATE_CONFLICT');
    expect(await code(s.appendTimestamp(newId('atb_'), 1, ts2, 'x'))).toBe('NOT_FOUND');
    const other = await second();
    const results = await Promise.allSettled([
      s.appendTimestamp(b.id, 2, { ...ts2, token: 'one' }, 'y'),
      other.archive.appendTimestamp(b.id, 2, { ...ts2, token: 'two' }, 'y'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const final = (await s.getBatch(b.id))!;
    expect(final.timestamps).toHaveLength(3);
    const b2 = await s.createBatch(batch());
    const page = await s.listBatches({ limit: 1 });
    expect(page.items.map((x) => x.id)).toEqual([b.id]);
    expect((await s.listBatches({ cursor: page.nextCursor })).items.map((x) => x.id)).toEqual([b2.id]);
  });

  it('legal holds block disposal; disposal erases the file once and leaves a tombstone', async () => {
    const r = await s.createRecord(record());
    expect(await code(s.dispose(r.id, { reason: 'x', approvedBy: 'ak_a', at: 't', logIndex: 1 }, 't'))).toBe('STATE_CONFLICT');
    await s.sealRecord(r.id, 'atb_1', null, '2026-01-03T00:00:00.000Z');
    const held = await s.setLegalHold(r.id, { reason: '诉讼', by: 'ak_a', at: '2030-01-01T00:00:00.000Z' }, '2030-01-01T00:00:00.000Z');
    expect(held.legalHold).toEqual({ reason: '诉讼', by: 'ak_a', at: '2030-01-01T00:00:00.000Z' });
    expect(await code(s.dispose(r.id, { reason: 'x', approvedBy: 'ak_a', at: 't', logIndex: 1 }, 't'))).toBe('STATE_CONFLICT');
    expect((await s.setLegalHold(r.id, null, '2031-01-01T00:00:00.000Z')).legalHold).toBeNull();
    const tomb = await s.dispose(r.id, { reason: '保管期满', approvedBy: 'ak_a', at: '2040-01-01T00:00:00.000Z', logIndex: 9 }, '2040-01-01T00:00:00.000Z');
    expect(tomb).toMatchObject({ status: 'disposed', content: '', sha256: r.sha256, registrationNumber: r.registrationNumber, disposal: { reason: '保管期满', approvedBy: 'ak_a', logIndex: 9 } });
    expect(await s.getRecord(r.id)).toEqual(tomb);
    expect(await code(s.dispose(r.id, { reason: 'again', approvedBy: null, at: 't', logIndex: null }, 't'))).toBe('STATE_CONFLICT');
    expect(await code(s.setLegalHold(r.id, { reason: 'late', by: null, at: 't' }, 't'))).toBe('STATE_CONFLICT');
    expect(await code(s.setLegalHold(newId('arc_'), null, 't'))).toBe('NOT_FOUND');
  });

  it('keeps re-verification reports per record, in order', async () => {
    const r = await s.createRecord(record());
    await s.addReverification({ id: newId('rvf_'), recordId: r.id, report: { indication: 'TOTAL_PASSED' }, by: 'ak_1', at: '2030-01-01T00:00:00.000Z' });
    await s.addReverification({ id: newId('rvf_'), recordId: r.id, report: { indication: 'INDETERMINATE' }, by: null, at: '2040-01-01T00:00:00.000Z' });
    const list = await s.listReverifications(r.id);
    expect(list.map((x) => (x.report as { indication: string }).indication)).toEqual(['TOTAL_PASSED', 'INDETERMINATE']);
    expect(list[1]!.by).toBeNull();
    expect(await s.listReverifications(newId('arc_'))).toEqual([]);
  });
}
