import { ConflictError } from '../../src/errors';
import { clampLimit, decodeCursor, toPage } from '../../src/store/paging';
import type { KeyRecord, KeyRecordStore, KeyUseRecord, KeyUseStore, ListOptions, Page } from '../../src/store/ports';

/**
 * In-memory KeyRecordStore and KeyUseStore for key store unit tests. Records are copied in and
 * out, as a real store would serialise them, so a test that edits a returned record (or the
 * `records` map, to simulate tampering at rest) sees only what it changed deliberately.
 */
export class MemoryKeyRecordStore implements KeyRecordStore {
  readonly records = new Map<string, KeyRecord>();
  gets = 0;

  async create(key: KeyRecord): Promise<KeyRecord> {
    if (this.records.has(key.id)) throw new ConflictError(`Key ${key.id} already exists`, 'DUPLICATE');
    this.records.set(key.id, { ...key });
    return { ...key };
  }

  async get(id: string): Promise<KeyRecord | null> {
    this.gets++;
    const r = this.records.get(id);
    return r ? { ...r } : null;
  }

  async list(options?: ListOptions & { agencyCode?: string | null }): Promise<Page<KeyRecord>> {
    return page(
      [...this.records.values()].filter((r) => options?.agencyCode === undefined || r.agencyCode === options.agencyCode),
      options,
    );
  }
}

export class MemoryKeyUseStore implements KeyUseStore {
  readonly uses: KeyUseRecord[] = [];
  /** Set to make append() fail, as a store outage would. */
  failWith: Error | null = null;

  /** Sizes of the appendMany batches, in order, to observe group commit. */
  readonly batches: number[] = [];

  async append(use: KeyUseRecord): Promise<KeyUseRecord> {
    if (this.failWith) throw this.failWith;
    this.uses.push({ ...use });
    return use;
  }

  /** All or nothing, as the SQLite adapter's transaction. */
  async appendMany(uses: KeyUseRecord[]): Promise<void> {
    this.batches.push(uses.length);
    if (this.failWith) throw this.failWith;
    const ids = new Set(this.uses.map((u) => u.id));
    for (const u of uses) {
      if (ids.has(u.id)) throw new ConflictError(`Key use ${u.id} already exists`, 'DUPLICATE');
      ids.add(u.id);
    }
    for (const u of uses) this.uses.push({ ...u });
  }

  async list(options?: ListOptions & { keyId?: string }): Promise<Page<KeyUseRecord>> {
    return page(
      this.uses.filter((u) => options?.keyId === undefined || u.keyId === options.keyId),
      options,
    );
  }
}

function page<T extends { id: string }>(all: T[], options?: ListOptions): Page<T> {
  const after = decodeCursor(options?.cursor);
  const limit = clampLimit(options);
  const rows = all
    .filter((r) => after === null || r.id > after)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit + 1)
    .map((r) => ({ ...r }));
  return toPage(rows, limit, (r) => r.id);
}

export function memoryKeyStores(): { keys: MemoryKeyRecordStore; keyUses: MemoryKeyUseStore } {
  return { keys: new MemoryKeyRecordStore(), keyUses: new MemoryKeyUseStore() };
}
