import { createHash, randomBytes } from 'node:crypto';
import { ConflictError, ValidationError } from '../errors';
import type { Signer } from '../crypto/key-provider';
import type { LogCheckpointRecord, LogEntryRecord, LogNodeRecord, LogStore, SettingStore } from '../store/ports';
import { canonicalBytes } from './jcs';
import { computeNewNodes, consistencyProof, hashLeaf, inclusionProof, rootAt, type TreeNodeSource } from './merkle';
import { formatCheckpoint, noteVerifier, signNote, type NoteVerifier } from './note';

/** What happened, by whom, with which key: becomes one canonical JSON entry (RFC 8785). */
export interface LogEvent {
  /** e.g. certificate.issued, certificate.revoked, key.used, log.created */
  type: string;
  /** Identity of the event; repairs use it to append an event at most once. */
  eventId: string;
  /** Ids of what the event is about (serial, seal id, licence id …). No personal data. */
  subject: Record<string, string | number | boolean | null>;
  /** Digests of what was signed or issued, by algorithm: { sha256: hex }. */
  digests?: Record<string, string>;
  actor: { apiKeyId: string | null; agencyCode: string | null };
  keyId?: string | null;
  details?: Record<string, unknown>;
}

export interface Receipt {
  index: number;
  eventId: string;
}

/** The key that signs checkpoints: its certificate's public key and a signer. */
export interface LogKey {
  certificate: Buffer;
  publicKey: Buffer;
  signer: Signer;
}

export interface LogServiceOptions {
  store: LogStore;
  settings: SettingStore;
  /** C2SP origin line, e.g. "eseal.example.gov.cn/log". Also the note key name. */
  origin: string;
  /** The current log-signing key. */
  key: () => Promise<LogKey>;
  /** Public keys (SPKI) of every log-signing certificate ever used, for verifiers. */
  verifierKeys: () => Buffer[];
  clock?: () => Date;
  /** Appends are committed in batches of at most this many entries. */
  maxBatch?: number;
}

interface Pending {
  event: LogEvent;
  resolve: (r: Receipt) => void;
  reject: (e: unknown) => void;
}

/**
 * The transparency log (RFC 9162 hashing, C2SP checkpoints) over a LogStore.
 *
 * Appends are serialised in this process and committed in batches: each caller's promise
 * resolves once the batch holding its entry (and the tree nodes it completes) is durable, so
 * an acknowledged entry is never lost. Indexes are gap-free: an index is the store's primary
 * key, and a batch that finds an index taken (another instance appended) catches up and retries
 * with the next free indexes. Nodes are a pure function of the entries; after a crash between
 * writing entries and their nodes (possible on MongoDB), open() recomputes the nodes of the
 * newest entries.
 */
export class LogService implements TreeNodeSource {
  private size = 0;
  private queue: Pending[] = [];
  private draining = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: () => Date;
  private salt: Buffer | null = null;

  private constructor(private readonly options: LogServiceOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  static async open(options: LogServiceOptions): Promise<LogService> {
    const log = new LogService(options);
    await log.catchUp();
    const salt = await options.settings.putIfAbsent('log.salt', randomBytes(32).toString('hex'));
    log.salt = Buffer.from(salt, 'hex');
    return log;
  }

  get origin(): string {
    return this.options.origin;
  }

  get treeSize(): number {
    return this.size;
  }

  /**
   * Hashes a personal identifier (holder codes) with the deployment's secret salt, so the log
   * never holds personal data in clear yet an auditor given a code and the salt can match it.
   */
  personalDigest(code: string): string {
    return createHash('sha256').update(this.salt!).update(code, 'utf8').digest('hex');
  }

  /** Appends an event; resolves with its index once it is durable. */
  append(event: LogEvent): Promise<Receipt> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** Appends unless an entry with this eventId exists (repairs at start-up). */
  async appendOnce(event: LogEvent): Promise<Receipt> {
    const existing = await this.options.store.findByEventId(event.eventId);
    if (existing) return { index: existing.index, eventId: existing.eventId };
    return this.append(event);
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.maxBatch ?? 1000);
        try {
          const first = await this.commit(batch.map((p) => p.event));
          batch.forEach((p, i) => p.resolve({ index: first + i, eventId: p.event.eventId }));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Writes a batch at the next free indexes; returns the first index used. */
  private async commit(events: LogEvent[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const start = this.size;
      const time = this.clock().toISOString();
      const entries: LogEntryRecord[] = [];
      const leafHashes: Buffer[] = [];
      for (const e of events) {
        const bytes = canonicalBytes(toEntryObject(e, time));
        entries.push({ index: start + entries.length, leafInput: bytes.toString('base64'), eventId: e.eventId, type: e.type, createdAt: time });
        leafHashes.push(hashLeaf(bytes));
      }
      const nodes = await this.nodesFor(start, leafHashes);
      try {
        await this.options.store.appendBatch(entries, nodes);
        this.size = start + events.length;
        return start;
      } catch (e) {
        if (!(e instanceof ConflictError && e.code === 'DUPLICATE') || attempt >= 20) throw e;
        await this.catchUp(); // another instance appended: move past its entries
      }
    }
  }

  /** The nodes completed by appending `leafHashes` at `start`, reading older nodes from the store. */
  private async nodesFor(start: number, leafHashes: Buffer[]): Promise<LogNodeRecord[]> {
    const overlay = new Map<string, Buffer>();
    const out: LogNodeRecord[] = [];
    const getNode = async (level: number, index: number) => overlay.get(`${level}/${index}`) ?? (await this.getNode(level, index));
    for (let i = 0; i < leafHashes.length; i++) {
      for (const n of await computeNewNodes(start + i, leafHashes[i], getNode)) {
        overlay.set(`${n.level}/${n.index}`, n.hash);
        out.push(n);
      }
    }
    return out;
  }

  /**
   * Re-reads the size and recomputes the nodes of the newest entries (at most one batch can lack
   * them: batches are committed one after another). Idempotent.
   */
  private async catchUp(): Promise<void> {
    const size = await this.options.store.size();
    const from = Math.max(0, size - (this.options.maxBatch ?? 1000));
    const entries = await this.options.store.getEntries(from, size);
    if (entries.length !== size - from) throw new Error(`log store has a gap below index ${size}`);
    const nodes = await this.nodesFor(from, entries.map((e) => hashLeaf(Buffer.from(e.leafInput, 'base64'))));
    await this.options.store.putNodes(nodes);
    this.size = size;
  }

  async getNode(level: number, index: number): Promise<Buffer> {
    const [n] = await this.options.store.getNodes([{ level, index }]);
    if (!n) throw new Error(`log node ${level}/${index} is missing`);
    return n;
  }

  async getNodes(ids: readonly { level: number; index: number }[]): Promise<Buffer[]> {
    const nodes = await this.options.store.getNodes(ids);
    return nodes.map((n, i) => {
      if (!n) throw new Error(`log node ${ids[i].level}/${ids[i].index} is missing`);
      return n;
    });
  }

  private assertSize(n: number, pointer: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.size) {
      throw new ValidationError(`${pointer.slice(1)} must be between 0 and the tree size ${this.size}`, [{ pointer, detail: 'out of range' }], 'LOG_INVALID_RANGE');
    }
  }

  async root(size: number = this.size): Promise<Buffer> {
    this.assertSize(size, '/treeSize');
    return rootAt(size, this);
  }

  async inclusionProof(index: number, treeSize: number): Promise<Buffer[]> {
    this.assertSize(treeSize, '/treeSize');
    return inclusionProof(index, treeSize, this);
  }

  async consistencyProof(first: number, second: number): Promise<Buffer[]> {
    this.assertSize(second, '/second');
    return consistencyProof(first, second, this);
  }

  async entries(start: number, end: number): Promise<LogEntryRecord[]> {
    return this.options.store.getEntries(start, Math.min(end, this.size));
  }

  /** Signs and stores a checkpoint of the current size, unless the latest already covers it. */
  async checkpoint(): Promise<LogCheckpointRecord> {
    const size = this.size;
    const latest = await this.options.store.latestCheckpoint();
    if (latest && latest.size >= size) return latest;
    const rootHash = await rootAt(size, this);
    const key = await this.options.key();
    const note = await signNote(formatCheckpoint({ origin: this.origin, size, rootHash }), [{ name: this.origin, signer: key.signer }]);
    return this.options.store.putCheckpoint({ size, rootHash: rootHash.toString('hex'), note, createdAt: this.clock().toISOString() });
  }

  latestCheckpoint(): Promise<LogCheckpointRecord | null> {
    return this.options.store.latestCheckpoint();
  }

  checkpointAt(size: number): Promise<LogCheckpointRecord | null> {
    return this.options.store.getCheckpoint(size);
  }

  listCheckpoints(after: number, limit: number): Promise<LogCheckpointRecord[]> {
    return this.options.store.listCheckpoints(after, limit);
  }

  verifiers(): NoteVerifier[] {
    return this.options.verifierKeys().map((k) => noteVerifier(this.origin, k));
  }

  /** Signs a checkpoint every `intervalMs` while entries arrive. */
  startCheckpointing(intervalMs: number, onError: (e: unknown) => void): void {
    this.stopCheckpointing();
    this.timer = setInterval(() => {
      this.options.store
        .latestCheckpoint()
        .then((latest) => (!latest || latest.size < this.size ? this.checkpoint() : null))
        .catch(onError);
    }, intervalMs);
    this.timer.unref();
  }

  stopCheckpointing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Waits until everything queued so far is durable. */
  async flush(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }
}

/** The object whose RFC 8785 bytes are the leaf: fixed field names, nulls explicit. */
export function toEntryObject(e: LogEvent, time: string): Record<string, unknown> {
  return {
    type: e.type,
    eventId: e.eventId,
    time,
    subject: e.subject,
    digests: e.digests ?? {},
    actor: { apiKeyId: e.actor.apiKeyId, agencyCode: e.actor.agencyCode },
    keyId: e.keyId ?? null,
    ...(e.details ? { details: e.details } : {}),
  };
}

/** The C2SP origin for a public URL: host and path without scheme, then /log. */
export function originFor(publicUrl: string): string {
  const u = new URL(publicUrl);
  return `${u.host}${u.pathname.replace(/\/+$/, '')}/log`;
}
