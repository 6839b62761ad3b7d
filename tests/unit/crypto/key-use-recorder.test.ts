import { createHash, randomBytes } from 'node:crypto';
import type { KeyUseContext } from '../../../src/crypto/key-provider';
import { KeyUseRecorder } from '../../../src/crypto/key-use-recorder';
import { SoftwareKeyProvider } from '../../../src/crypto/software-key-provider';
import { AppError } from '../../../src/errors';
import type { KeyUseRecord, KeyUseStore, Page } from '../../../src/store/ports';
import { memoryKeyStores } from '../../helpers/memory-key-stores';

const ctx: KeyUseContext = { apiKeyId: 'ak_0001', agencyCode: null, purpose: 'cades' };
const data = Buffer.from('to be signed');

/** A KeyUseStore whose appendMany calls wait until the test commits or fails them. */
class ControlledStore implements KeyUseStore {
  readonly calls: { uses: KeyUseRecord[]; commit: () => void; fail: (e: Error) => void }[] = [];

  appendMany(uses: KeyUseRecord[]): Promise<void> {
    return new Promise((resolve, reject) => this.calls.push({ uses, commit: resolve, fail: reject }));
  }

  async append(use: KeyUseRecord): Promise<KeyUseRecord> {
    throw new Error(`the recorder writes through appendMany only (${use.id})`);
  }

  async list(): Promise<Page<KeyUseRecord>> {
    return { items: [], nextCursor: null };
  }

  sizes(): number[] {
    return this.calls.map((c) => c.uses.length);
  }
}

/** Settles microtasks (the recorder chains a few) without advancing any timer. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Tracks a promise's outcome so a test can assert it is still pending. */
function track(p: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => (t.state = 'resolved'),
    (e) => {
      t.state = 'rejected';
      t.error = e;
    },
  );
  return t;
}

describe('KeyUseRecorder (group commit)', () => {
  it('writes the first use of an idle period at once, without waiting for company', async () => {
    const store = new ControlledStore();
    const recorder = new KeyUseRecorder(store);
    const r = track(recorder.record('key_1', data, ctx));
    // Synchronously inside record(): no timer, no tick.
    expect(store.sizes()).toEqual([1]);
    await settle();
    expect(r.state).toBe('pending');
    store.calls[0].commit();
    await settle();
    expect(r.state).toBe('resolved');
  });

  it('queues uses that arrive during a write and commits them together; each caller waits for its own batch', async () => {
    const store = new ControlledStore();
    const recorder = new KeyUseRecorder(store);
    const first = track(recorder.record('key_1', data, ctx));
    const later = [1, 2, 3].map((i) => track(recorder.record(`key_${i}`, data, ctx)));
    await settle();
    expect(store.sizes()).toEqual([1]);

    store.calls[0].commit();
    await settle();
    expect(first.state).toBe('resolved');
    // The three share the second write, and none is answered before it commits.
    expect(store.sizes()).toEqual([1, 3]);
    expect(store.calls[1].uses.map((u) => u.keyId)).toEqual(['key_1', 'key_2', 'key_3']);
    expect(later.map((t) => t.state)).toEqual(['pending', 'pending', 'pending']);

    store.calls[1].commit();
    await settle();
    expect(later.map((t) => t.state)).toEqual(['resolved', 'resolved', 'resolved']);
  });

  it('a failing batch rejects exactly its callers, and the next batch is written normally', async () => {
    const store = new ControlledStore();
    const recorder = new KeyUseRecorder(store);
    const a = track(recorder.record('key_a', data, ctx));
    const b = [track(recorder.record('key_b', data, ctx)), track(recorder.record('key_b', data, ctx))];
    await settle();
    store.calls[0].commit();
    await settle();
    const c = track(recorder.record('key_c', data, ctx)); // arrives while batch b is in flight
    const down = new AppError('STORE_UNAVAILABLE', 'down');
    store.calls[1].fail(down);
    await settle();
    expect(a.state).toBe('resolved');
    expect(b.map((t) => t.state)).toEqual(['rejected', 'rejected']);
    expect(b[0].error).toBe(down);
    expect(c.state).toBe('pending');
    expect(store.sizes()).toEqual([1, 2, 1]);
    store.calls[2].commit();
    await settle();
    expect(c.state).toBe('resolved');
  });

  it('rejects (and does not crash) when the store throws synchronously', async () => {
    const store = new ControlledStore();
    store.appendMany = () => {
      throw new Error('sync failure');
    };
    const recorder = new KeyUseRecorder(store);
    await expect(recorder.record('key_1', data, ctx)).rejects.toThrow('sync failure');
  });

  it('bounds the batch size', async () => {
    const store = new ControlledStore();
    const recorder = new KeyUseRecorder(store, { maxBatch: 2 });
    const all = Array.from({ length: 6 }, (_, i) => track(recorder.record(`key_${i}`, data, ctx)));
    for (let i = 0; i < 4; i++) {
      await settle();
      store.calls[i].commit();
    }
    await settle();
    expect(store.sizes()).toEqual([1, 2, 2, 1]);
    expect(store.calls.flatMap((c) => c.uses.map((u) => u.keyId))).toEqual(all.map((_, i) => `key_${i}`));
    expect(all.every((t) => t.state === 'resolved')).toBe(true);
  });

  it('builds each record from the use: key, caller, purpose, SHA-256 of the data, time', async () => {
    const store = new ControlledStore();
    const at = new Date('2025-03-01T08:00:00.000Z');
    const recorder = new KeyUseRecorder(store, { now: () => at });
    void recorder.record('key_1', data, { apiKeyId: 'ak_9', agencyCode: 'AG', purpose: 'crl' });
    void recorder.record('key_1', data, { apiKeyId: 'ak_9', agencyCode: 'AG', purpose: 'crl' });
    await settle();
    store.calls[0].commit();
    await settle();
    const [u, v] = store.calls.flatMap((c) => c.uses);
    expect(u).toEqual({
      id: expect.stringMatching(/^use_[0-9a-f]{28}$/),
      keyId: 'key_1',
      apiKeyId: 'ak_9',
      agencyCode: 'AG',
      purpose: 'crl',
      digest: createHash('sha256').update(data).digest('hex'),
      at: at.toISOString(),
    });
    expect(u.id).not.toBe(v.id);
  });
});

describe('SoftwareKeyProvider with group commit', () => {
  it('concurrent signatures share a batch, and every one has its record', async () => {
    const { keys, keyUses } = memoryKeyStores();
    const provider = new SoftwareKeyProvider({ masterKey: randomBytes(32), keys, keyUses });
    const info = await provider.generate('ES256', { label: 'x', agencyCode: null });
    const sigs = await Promise.all(Array.from({ length: 20 }, () => provider.sign(info.id, data, ctx)));
    expect(sigs).toHaveLength(20);
    expect(keyUses.uses).toHaveLength(20);
    expect(keyUses.batches.length).toBeLessThan(20);
    expect(keyUses.batches.reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('returns no signature to any caller whose batch could not be recorded', async () => {
    const { keys, keyUses } = memoryKeyStores();
    const provider = new SoftwareKeyProvider({ masterKey: randomBytes(32), keys, keyUses });
    const info = await provider.generate('ES256', { label: 'x', agencyCode: null });
    keyUses.failWith = new AppError('STORE_UNAVAILABLE', 'down');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => provider.sign(info.id, data, ctx)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('rejected'));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as AppError).code === 'STORE_UNAVAILABLE')).toBe(true);
    expect(keyUses.uses).toHaveLength(0);

    // The store recovers: the next signature is recorded and returned.
    keyUses.failWith = null;
    await expect(provider.sign(info.id, data, ctx)).resolves.toBeInstanceOf(Buffer);
    expect(keyUses.uses).toHaveLength(1);
  });
});
