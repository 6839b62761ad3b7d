import { AppError } from '../../src/errors';
import type { LicenceRecord } from '../../src/licences/ports';
import { newId, type Stores } from '../../src/store';
import type { StoreFixture } from '../helpers/stores';

function licence(over: Partial<LicenceRecord> = {}): LicenceRecord {
  const id = newId('lic_');
  return {
    id,
    agencyCode: '11330105002500287C',
    typeId: 'business-licence',
    typeCode: '11100000000013338W001',
    identifier: `1.2.156.3005.2.11100000000013338W001.11330105002500287C.${id.slice(-10)}.001.0`,
    serial: id.slice(-10),
    version: 1,
    sealId: 'seal_' + '0'.repeat(28),
    holderName: '杭州某某科技有限公司',
    holderCodeType: '001',
    holderCode: '91330106MA2CFPK533',
    data: { legalRepresentative: '王建国', items: ['a', 'b'], nested: { n: 1 } },
    validFrom: '2025-01-01',
    validUntil: null,
    status: 'valid',
    revocationReason: null,
    revocationListId: 'sl_a',
    suspensionListId: 'sl_b',
    statusIndex: Math.floor(Math.random() * 131072),
    idempotencyKey: null,
    previousId: null,
    supersededBy: null,
    credential: 'h.p.s',
    qrToken: 'h.p.s',
    pdf: null,
    generation: 0,
    loggedGeneration: 0,
    issuedAt: '2026-11-26T00:00:00.000Z',
    updatedAt: '2026-11-26T00:00:00.000Z',
    ...over,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).code).toBe(code);
}

/** The licence store contract: SQLite always, MongoDB/FerretDB when MONGODB_URI is set. */
export function licenceStoreContract(fixture: StoreFixture): void {
  let stores: Stores;
  let second: () => Promise<Stores>;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ stores, second, cleanup } = await fixture.open());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('creates and reads back by id, identifier and idempotency key (face data as JSON)', async () => {
    const l = licence({ idempotencyKey: '11330105002500287C:row-1', pdf: 'JVBERi0=' });
    await stores.licences.create(l);
    expect(await stores.licences.get(l.id)).toEqual(l);
    expect(await stores.licences.getByIdentifier(l.identifier)).toEqual(l);
    expect(await stores.licences.getByIdempotencyKey('11330105002500287C:row-1')).toEqual(l);
    expect(await stores.licences.getByIdempotencyKey('11330105002500287C:row-2')).toBeNull();
    const plain = licence();
    await stores.licences.create(plain);
    expect((await stores.licences.get(plain.id))?.idempotencyKey).toBeNull();
  });

  it('refuses a duplicate id, identifier, idempotency key or (status list, index) as DUPLICATE; licences without a key coexist', async () => {
    const l = licence({ idempotencyKey: 'k:1' });
    await stores.licences.create(l);
    await expectCode(stores.licences.create({ ...licence(), id: l.id }), 'DUPLICATE');
    await expectCode(stores.licences.create({ ...licence(), identifier: l.identifier }), 'DUPLICATE');
    await expectCode(stores.licences.create({ ...licence(), idempotencyKey: 'k:1' }), 'DUPLICATE');
    await expectCode(stores.licences.create({ ...licence(), statusIndex: l.statusIndex }), 'DUPLICATE');
    await stores.licences.create(licence({ statusIndex: l.statusIndex, revocationListId: 'sl_other' }));
    await stores.licences.create(licence({ statusIndex: (l.statusIndex + 1) % 131072 }));
    await stores.licences.create(licence({ statusIndex: (l.statusIndex + 2) % 131072 }));
  });

  it('a second connection racing on the same idempotency key: exactly one wins', async () => {
    const other = await second();
    const results = await Promise.allSettled([stores, other, stores, other].map((s) => s.licences.create(licence({ idempotencyKey: 'race:1' }))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('lists by holder, type, status and agency in id order across pages', async () => {
    const made: LicenceRecord[] = [];
    for (let i = 0; i < 7; i++) {
      const l = licence({ holderCode: i % 2 ? 'H1' : 'H2', typeId: i < 5 ? 'business-licence' : 'residence-permit', agencyCode: i === 6 ? 'B' : 'A' });
      await stores.licences.create(l);
      made.push(l);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: LicenceRecord[]; nextCursor: string | null } = await stores.licences.list({ holderCode: 'H2', limit: 1, cursor });
      seen.push(...page.items.map((x) => x.id));
      cursor = page.nextCursor;
    } while (cursor);
    // Id order (ids made in the same millisecond are ordered by their random part, not by creation).
    const byId = (ls: LicenceRecord[]) => ls.map((l) => l.id).sort();
    expect(seen).toEqual(byId(made.filter((l) => l.holderCode === 'H2')));
    expect((await stores.licences.list({ holderCode: 'H2', typeId: 'residence-permit' })).items.map((x) => x.id)).toEqual(byId(made.filter((l) => l.holderCode === 'H2' && l.typeId === 'residence-permit')));
    expect((await stores.licences.list({ agencyCode: 'B' })).items).toHaveLength(1);
    expect((await stores.licences.list({ status: 'revoked' })).items).toHaveLength(0);
    const firstH1 = byId(made.filter((l) => l.holderCode === 'H1'))[0];
    expect((await stores.licences.list({ holderCode: 'H1' })).items[0].data).toEqual(made.find((l) => l.id === firstH1)!.data);
  });

  it('changes status by compare-and-swap; the loser of a race gets STATE_CONFLICT; status indexes follow', async () => {
    const l = licence();
    await stores.licences.create(l);
    const s = await stores.licences.transition(l.id, { status: 'valid', generation: 0 }, 'suspended', '2026-11-26T01:00:00.000Z');
    expect(s).toMatchObject({ status: 'suspended', generation: 1, updatedAt: '2026-11-26T01:00:00.000Z' });
    expect(await stores.licences.statusIndexes('sl_b', 'suspension')).toEqual([l.statusIndex]);
    expect(await stores.licences.statusIndexes('sl_a', 'revocation')).toEqual([]);
    await expectCode(stores.licences.transition(l.id, { status: 'valid', generation: 0 }, 'revoked', 'x'), 'STATE_CONFLICT');
    const other = await second();
    const race = await Promise.allSettled([
      stores.licences.transition(l.id, { status: 'suspended', generation: 1 }, 'revoked', 'y', { revocationReason: 'holder-request', supersededBy: null }),
      other.licences.transition(l.id, { status: 'suspended', generation: 1 }, 'valid', 'y'),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const after = (await stores.licences.get(l.id))!;
    expect(after.generation).toBe(2);
    if (after.status === 'revoked') {
      expect(after.revocationReason).toBe('holder-request');
      expect(await stores.licences.statusIndexes('sl_a', 'revocation')).toEqual([l.statusIndex]);
    }
    expect(await stores.licences.statusIndexes('sl_b', 'suspension')).toEqual([]);
    await expectCode(stores.licences.transition(newId('lic_'), { status: 'valid', generation: 0 }, 'revoked', 'z'), 'NOT_FOUND');
  });

  it('tracks which changes are logged', async () => {
    const l = licence();
    await stores.licences.create(l);
    expect(await stores.licences.listUnlogged()).toEqual([]);
    await stores.licences.transition(l.id, { status: 'valid', generation: 0 }, 'suspended', 'x');
    expect((await stores.licences.listUnlogged()).map((x) => x.id)).toEqual([l.id]);
    await stores.licences.markLogged(l.id, 1);
    await stores.licences.markLogged(l.id, 0);
    expect(await stores.licences.listUnlogged()).toEqual([]);
  });

  it('records lookups and lists them per agency', async () => {
    const r = { id: newId('lkp_'), apiKeyId: 'ak_x', agencyCode: 'B', purpose: '社保登记', holderDigest: 'ab'.repeat(32), typeId: null, returned: ['lic_1'], logIndex: 7, at: 'now' };
    await stores.licences.recordLookup(r);
    await expectCode(stores.licences.recordLookup(r), 'DUPLICATE');
    expect((await stores.licences.listLookups({ agencyCode: 'B' })).items).toEqual([r]);
    expect((await stores.licences.listLookups({ agencyCode: 'C' })).items).toEqual([]);
  });
}
