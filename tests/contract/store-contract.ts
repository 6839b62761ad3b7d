import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../../src/errors';
import { withCreditCodeCheck } from '../../src/identifiers';
import { newId, type ApiKeyRecord, type CertificateRecord, type Stores } from '../../src/store';
import type { StoreFixture } from '../helpers/stores';

const run = promisify(execFile);

export function agencyCode(n: number): string {
  return withCreditCodeCheck('11330105' + String(n).padStart(9, '0'));
}

function apiKey(over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const id = newId('ak_');
  return {
    id,
    agencyCode: null,
    roles: ['admin'],
    label: 'test',
    keyHash: Buffer.from(id.padEnd(64, '0')).toString('hex').slice(0, 64),
    prefix: 'es_abc',
    createdAt: new Date().toISOString(),
    revokedAt: null,
    ...over,
  };
}

function cert(serial: string, over: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    serial,
    issuer: 'issuing',
    profile: 'seal',
    subject: 'CN=Test',
    agencyCode: null,
    keyId: null,
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2027-01-01T00:00:00.000Z',
    der: 'MIIB',
    status: 'good',
    revokedAt: null,
    revocationReason: null,
    createdAt: new Date().toISOString(),
    ...over,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(AppError);
  await p.catch((e: AppError) => expect(e.code).toBe(code));
}

/**
 * The store contract: every adapter must pass this suite unchanged (tests/contract/*.test.ts
 * run it against SQLite and, when MONGODB_URI is set, MongoDB/FerretDB through mongoose).
 */
export function storeContract(fixture: StoreFixture): void {
  let stores: Stores;
  let second: () => Promise<Stores>;
  let location: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ stores, second, location, cleanup } = await fixture.open());
  });
  afterEach(async () => {
    await cleanup();
  });

  describe('agencies', () => {
    it('creates and reads back an agency', async () => {
      const a = { code: agencyCode(1), name: '杭州市市场监督管理局', region: '330100', createdAt: '2026-11-25T00:00:00.000Z' };
      await stores.agencies.create(a);
      expect(await stores.agencies.get(a.code)).toEqual(a);
      expect(await stores.agencies.get(agencyCode(2))).toBeNull();
    });

    it('surfaces a duplicate code as a Conflict with code DUPLICATE', async () => {
      const a = { code: agencyCode(1), name: 'A', region: null, createdAt: '2026-11-25T00:00:00.000Z' };
      await stores.agencies.create(a);
      await expectCode(stores.agencies.create({ ...a, name: 'B' }), 'DUPLICATE');
      expect((await stores.agencies.get(a.code))?.name).toBe('A');
    });

    it('lists in a stable order across pages', async () => {
      const ns = [7, 3, 9, 1, 5, 2, 8];
      for (const n of ns) await stores.agencies.create({ code: agencyCode(n), name: `A${n}`, region: null, createdAt: 'x' });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await stores.agencies.list({ limit: 3, cursor });
        seen.push(...page.items.map((a) => a.code));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ns].sort((a, b) => a - b).map(agencyCode));
      // The same listing twice gives the same order.
      const again = await stores.agencies.list({ limit: 100 });
      expect(again.items.map((a) => a.code)).toEqual(seen);
      expect(again.nextCursor).toBeNull();
    });

    it('rejects a malformed cursor as a validation error', async () => {
      await expectCode(stores.agencies.list({ cursor: '{"$gt":""}' }), 'INVALID_QUERY');
    });
  });

  describe('API keys', () => {
    it('creates, reads by id and by hash', async () => {
      const k = apiKey({ roles: ['counter', 'signer'], agencyCode: agencyCode(1) });
      await stores.apiKeys.create(k);
      expect(await stores.apiKeys.get(k.id)).toEqual(k);
      expect(await stores.apiKeys.findByHash(k.keyHash)).toEqual(k);
      expect(await stores.apiKeys.findByHash('0'.repeat(64))).toBeNull();
    });

    it('refuses two keys with the same hash', async () => {
      const k = apiKey();
      await stores.apiKeys.create(k);
      await expectCode(stores.apiKeys.create({ ...apiKey(), keyHash: k.keyHash }), 'DUPLICATE');
    });

    it('filters by agency and by platform ownership', async () => {
      const a = apiKey({ agencyCode: agencyCode(1) });
      const b = apiKey({ agencyCode: agencyCode(2) });
      const p = apiKey({ agencyCode: null });
      for (const k of [a, b, p]) await stores.apiKeys.create(k);
      expect((await stores.apiKeys.list({ agencyCode: agencyCode(1) })).items.map((k) => k.id)).toEqual([a.id]);
      expect((await stores.apiKeys.list({ agencyCode: null })).items.map((k) => k.id)).toEqual([p.id]);
      expect((await stores.apiKeys.list()).items).toHaveLength(3);
    });

    it('revokes exactly once under concurrent callers (compare-and-swap)', async () => {
      const k = apiKey();
      await stores.apiKeys.create(k);
      const other = await second();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? other : stores).apiKeys.revoke(k.id, `2026-11-25T00:00:0${i}.000Z`)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as AppError).code).toBe('ALREADY_REVOKED');
      const revokedAt = (ok[0] as PromiseFulfilledResult<ApiKeyRecord>).value.revokedAt;
      expect((await stores.apiKeys.get(k.id))?.revokedAt).toBe(revokedAt);
    });

    it('answers NOT_FOUND when revoking an unknown key', async () => {
      await expectCode(stores.apiKeys.revoke(newId('ak_'), 'x'), 'NOT_FOUND');
    });
  });

  describe('certificates', () => {
    it('refuses a duplicate serial', async () => {
      await stores.certificates.create(cert('0a1b'));
      await expectCode(stores.certificates.create(cert('0a1b', { subject: 'CN=Other' })), 'DUPLICATE');
    });

    it('revokes once with a reason, then ALREADY_REVOKED', async () => {
      await stores.certificates.create(cert('01'));
      await stores.certificates.create(cert('02'));
      const r = await stores.certificates.revoke('01', '2026-11-25T01:00:00.000Z', 'keyCompromise');
      expect(r).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise', revokedAt: '2026-11-25T01:00:00.000Z' });
      await expectCode(stores.certificates.revoke('01', '2026-11-25T02:00:00.000Z', 'superseded'), 'ALREADY_REVOKED');
      expect((await stores.certificates.get('01'))?.revocationReason).toBe('keyCompromise');
      expect((await stores.certificates.listRevoked('issuing')).map((c) => c.serial)).toEqual(['01']);
      await expectCode(stores.certificates.revoke('ff', 'x', 'unspecified'), 'NOT_FOUND');
    });

    it('lists by issuer and agency', async () => {
      await stores.certificates.create(cert('01', { issuer: 'root' }));
      await stores.certificates.create(cert('02', { agencyCode: agencyCode(1) }));
      await stores.certificates.create(cert('03'));
      expect((await stores.certificates.list({ issuer: 'issuing' })).items.map((c) => c.serial)).toEqual(['02', '03']);
      expect((await stores.certificates.list({ agencyCode: agencyCode(1) })).items.map((c) => c.serial)).toEqual(['02']);
    });
  });

  describe('keys and key uses', () => {
    it('stores key records and lists by agency', async () => {
      const k = {
        id: newId('key_'),
        algorithm: 'ES256',
        keyStore: 'software' as const,
        label: 'seal',
        agencyCode: agencyCode(1),
        publicKey: 'MFkw',
        wrappedKey: 'c2VhbGVk',
        tokenKeyId: null,
        createdAt: 'x',
      };
      await stores.keys.create(k);
      expect(await stores.keys.get(k.id)).toEqual(k);
      await expectCode(stores.keys.create(k), 'DUPLICATE');
      expect((await stores.keys.list({ agencyCode: agencyCode(1) })).items).toEqual([k]);
      expect((await stores.keys.list({ agencyCode: agencyCode(2) })).items).toEqual([]);
    });

    it('appends key uses and lists them per key in order', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const u = {
          id: newId('use_', 1_700_000_000_000 + i),
          keyId: i % 2 ? 'k1' : 'k2',
          apiKeyId: 'ak_1',
          agencyCode: null,
          purpose: 'test',
          digest: 'a'.repeat(64),
          at: 'x',
        };
        await stores.keyUses.append(u);
        if (u.keyId === 'k2') ids.push(u.id);
      }
      expect((await stores.keyUses.list({ keyId: 'k2' })).items.map((u) => u.id)).toEqual(ids);
    });

    const keyUse = (i: number, keyId = 'k1') => ({
      id: newId('use_', 1_700_000_000_000 + i, Buffer.alloc(8, i)),
      keyId,
      apiKeyId: i % 3 ? 'ak_1' : null,
      agencyCode: i % 2 ? agencyCode(1) : null,
      purpose: 'test',
      digest: (i % 16).toString(16).repeat(64),
      at: new Date(1_700_000_000_000 + i).toISOString(),
    });

    it('appends a batch of key uses and lists them back in order', async () => {
      const batch = Array.from({ length: 120 }, (_, i) => keyUse(i, i % 4 ? 'k1' : 'k2'));
      await stores.keyUses.appendMany([]);
      await stores.keyUses.appendMany(batch);
      await stores.keyUses.appendMany([keyUse(500)]);
      const all: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<Stores['keyUses']['list']>> = await stores.keyUses.list({ keyId: 'k1', limit: 50, cursor });
        all.push(...page.items.map((u) => u.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(all).toEqual([...batch.filter((u) => u.keyId === 'k1'), keyUse(500)].map((u) => u.id));
      expect((await stores.keyUses.list({ keyId: 'k2', limit: 500 })).items).toEqual(batch.filter((u) => u.keyId === 'k2'));
    });

    it('rejects a batch with a duplicate key use id as DUPLICATE', async () => {
      await stores.keyUses.appendMany([keyUse(1)]);
      // Repeated within the batch, and already stored.
      await expectCode(stores.keyUses.appendMany([keyUse(2), keyUse(3), keyUse(2)]), 'DUPLICATE');
      await expectCode(stores.keyUses.appendMany([keyUse(4), keyUse(1)]), 'DUPLICATE');
      // The stored use is untouched; the uses of a failed batch may or may not be kept (MongoDB's
      // ordered insertMany keeps those before the failure), but never twice.
      const ids = (await stores.keyUses.list({ limit: 500 })).items.map((u) => u.id);
      expect(ids[0]).toBe(keyUse(1).id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => [1, 2, 3, 4].some((i) => keyUse(i).id === id))).toBe(true);
    });
  });

  describe('counters', () => {
    it('starts at 1 and counts per name', async () => {
      expect(await stores.counters.current('a')).toBe(0);
      expect(await stores.counters.next('a')).toBe(1);
      expect(await stores.counters.next('a')).toBe(2);
      expect(await stores.counters.next('b')).toBe(1);
      expect(await stores.counters.current('a')).toBe(2);
    });

    it('never hands out a value twice to concurrent callers on two connections', async () => {
      const other = await second();
      const values = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? other : stores).counters.next('serial')),
      );
      expect(new Set(values).size).toBe(200);
      expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('never hands out a value twice to two processes writing at once', async () => {
      const child = path.join(__dirname, '..', 'helpers', 'counter-child.ts');
      const register = path.join(__dirname, '..', 'helpers', 'ts-register.js');
      const args = (n: number) => ['-r', register, child, stores.kind, location, process.env.MONGODB_URI ?? '', String(n)];
      const outs = await Promise.all([run(process.execPath, args(150)), run(process.execPath, args(150))]);
      const values = outs.flatMap((o) => JSON.parse(o.stdout) as number[]);
      expect(new Set(values).size).toBe(300);
      expect(Math.max(...values)).toBe(300);
      expect(await stores.counters.current('multi')).toBe(300);
    }, 120_000);
  });

  describe('settings', () => {
    it('keeps the first value written, also when two connections race', async () => {
      expect(await stores.settings.get('ca')).toBeNull();
      const other = await second();
      const [a, b] = await Promise.all([
        stores.settings.putIfAbsent('ca', { root: 'a' }),
        other.settings.putIfAbsent('ca', { root: 'b' }),
      ]);
      expect(a).toEqual(b);
      expect(await stores.settings.putIfAbsent('ca', { root: 'c' })).toEqual(a);
      expect(await other.settings.get('ca')).toEqual(a);
    });
  });

  describe('trust anchors', () => {
    it('adds once per fingerprint and lists in order', async () => {
      const anchor = (fp: string) => ({
        fingerprint: fp.repeat(64),
        subject: 'CN=Foreign Root',
        notBefore: '2020-01-01T00:00:00.000Z',
        notAfter: '2040-01-01T00:00:00.000Z',
        der: 'MIIB',
        label: 'provincial CA',
        addedAt: 'x',
        addedBy: null,
      });
      await stores.trustAnchors.add(anchor('b'));
      await stores.trustAnchors.add(anchor('a'));
      await expectCode(stores.trustAnchors.add(anchor('a')), 'DUPLICATE');
      expect(await stores.trustAnchors.get('a'.repeat(64))).toEqual(anchor('a'));
      expect((await stores.trustAnchors.list()).items.map((x) => x.fingerprint[0])).toEqual(['a', 'b']);
    });
  });

  describe('transparency log', () => {
    const entry = (index: number, eventId = `e${index}`) => ({
      index,
      leafInput: Buffer.from(`{"i":${index}}`).toString('base64'),
      eventId,
      type: 'test',
      createdAt: 'x',
    });
    const node = (level: number, index: number, fill: number) => ({ level, index, hash: Buffer.alloc(32, fill) });

    it('appends entries with their nodes, reads ranges, sizes and nodes back', async () => {
      expect(await stores.log.size()).toBe(0);
      await stores.log.appendBatch([entry(0), entry(1)], [node(0, 0, 1), node(0, 1, 2), node(1, 0, 3)]);
      await stores.log.appendBatch([entry(2, 'shared')], [node(0, 2, 4)]);
      expect(await stores.log.size()).toBe(3);
      expect((await stores.log.getEntries(1, 10)).map((e) => e.index)).toEqual([1, 2]);
      expect(await stores.log.getEntries(0, 1)).toEqual([entry(0)]);
      expect(await stores.log.getNodes([{ level: 1, index: 0 }, { level: 0, index: 2 }, { level: 2, index: 0 }])).toEqual([
        Buffer.alloc(32, 3),
        Buffer.alloc(32, 4),
        null,
      ]);
      expect((await stores.log.findByEventId('shared'))?.index).toBe(2);
      expect(await stores.log.findByEventId('nope')).toBeNull();
    });

    it('refuses a taken index (DUPLICATE) and treats re-written nodes as no-ops', async () => {
      await stores.log.appendBatch([entry(0)], [node(0, 0, 1)]);
      const other = await second();
      await expectCode(other.log.appendBatch([entry(0, 'other')], [node(0, 0, 9)]), 'DUPLICATE');
      expect((await stores.log.getEntries(0, 1))[0].eventId).toBe('e0');
      await stores.log.putNodes([node(0, 0, 1)]);
      expect(await stores.log.getNodes([{ level: 0, index: 0 }])).toEqual([Buffer.alloc(32, 1)]);
    });

    it('keeps the first checkpoint of a size and lists them in order', async () => {
      const cp = (size: number, note: string) => ({ size, rootHash: 'ab'.repeat(32), note, createdAt: 'x' });
      expect(await stores.log.latestCheckpoint()).toBeNull();
      await stores.log.putCheckpoint(cp(5, 'first'));
      expect((await stores.log.putCheckpoint(cp(5, 'second'))).note).toBe('first');
      await stores.log.putCheckpoint(cp(2, 'two'));
      await stores.log.putCheckpoint(cp(9, 'nine'));
      expect((await stores.log.latestCheckpoint())?.size).toBe(9);
      expect((await stores.log.getCheckpoint(2))?.note).toBe('two');
      expect(await stores.log.getCheckpoint(3)).toBeNull();
      expect((await stores.log.listCheckpoints(2, 10)).map((c) => c.size)).toEqual([5, 9]);
    });
  });

  describe('seals', () => {
    const seal = (id: string, over: object = {}) => ({
      id,
      agencyCode: agencyCode(1),
      name: '行政许可专用章',
      kind: 'licence' as const,
      algorithm: 'ES256' as const,
      keyStore: 'software' as const,
      keyId: 'key_1',
      certificateSerial: id.slice(-6),
      status: 'active' as const,
      generation: 0,
      loggedGeneration: 0,
      createdAt: 'x',
      updatedAt: 'x',
      ...over,
    });

    it('creates, lists per agency and refuses a second seal on the same certificate', async () => {
      const a = seal(newId('seal_'));
      await stores.seals.create(a);
      await stores.seals.create(seal(newId('seal_'), { agencyCode: agencyCode(2) }));
      expect(await stores.seals.get(a.id)).toEqual(a);
      expect((await stores.seals.list({ agencyCode: agencyCode(1) })).items).toEqual([a]);
      await expectCode(stores.seals.create(seal(newId('seal_'), { certificateSerial: a.certificateSerial })), 'DUPLICATE');
    });

    it('changes status by compare-and-swap on (status, generation): suspend, reinstate, suspend again', async () => {
      const a = seal(newId('seal_'));
      await stores.seals.create(a);
      const other = await second();
      const race = await Promise.allSettled([
        stores.seals.transition(a.id, { status: 'active', generation: 0 }, 'suspended', 't1'),
        other.seals.transition(a.id, { status: 'active', generation: 0 }, 'revoked', 't1'),
        stores.seals.transition(a.id, { status: 'active', generation: 0 }, 'suspended', 't1'),
      ]);
      expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of race) if (r.status === 'rejected') expect((r.reason as AppError).code).toBe('STATE_CONFLICT');
      const now = (await stores.seals.get(a.id))!;
      expect(now.generation).toBe(1);
      if (now.status === 'suspended') {
        const back = await stores.seals.transition(a.id, { status: 'suspended', generation: 1 }, 'active', 't2');
        expect(back).toMatchObject({ status: 'active', generation: 2 });
        // The same transition as before, at a later generation, is a new change.
        expect(await stores.seals.transition(a.id, { status: 'active', generation: 2 }, 'suspended', 't3')).toMatchObject({ status: 'suspended', generation: 3 });
      }
      await expectCode(stores.seals.transition(a.id, { status: 'active', generation: 0 }, 'suspended', 't4'), 'STATE_CONFLICT');
      await expectCode(stores.seals.transition(newId('seal_'), { status: 'active', generation: 0 }, 'suspended', 't'), 'NOT_FOUND');
    });

    it('tracks which changes are logged', async () => {
      const a = seal(newId('seal_'));
      await stores.seals.create(a);
      await stores.seals.transition(a.id, { status: 'active', generation: 0 }, 'suspended', 't');
      expect((await stores.seals.listUnlogged()).map((s) => s.id)).toEqual([a.id]);
      await stores.seals.markLogged(a.id, 1);
      await stores.seals.markLogged(a.id, 0); // never lowers
      expect(await stores.seals.listUnlogged()).toEqual([]);
      expect((await stores.seals.get(a.id))!.loggedGeneration).toBe(1);
    });
  });

  describe('two connections', () => {
    it('create the same agency at once: exactly one wins', async () => {
      const other = await second();
      const code = agencyCode(42);
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? other : stores).agencies.create({ code, name: `writer ${i}`, region: null, createdAt: 'x' }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as AppError).code).toBe('DUPLICATE');
      expect((await other.agencies.list()).items).toHaveLength(1);
    });

    it('answers ping', async () => {
      await expect(stores.ping()).resolves.toBeUndefined();
    });
  });
}
