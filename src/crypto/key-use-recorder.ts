import { createHash, hash as nodeHash, randomBytes } from 'node:crypto';
import { newId } from '../store/ids';
import type { KeyUseRecord, KeyUseStore } from '../store/ports';
import type { KeyUseContext } from './key-provider';

export interface KeyUseRecorderOptions {
  now?: () => Date;
  /** Most uses written in one `appendMany` (default 1000). */
  maxBatch?: number;
}

interface Pending {
  use: KeyUseRecord;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Records every use of a private key (SPEC: "every use of a private key is attributable") and is
 * shared by both key stores.
 *
 * Guarantee: record() resolves only after the batch holding that use has been committed by
 * `KeyUseStore.appendMany`, i.e. the record is as durable as the store makes an acknowledged
 * write (SQLite: committed with synchronous=FULL). A provider's sign() awaits it, so no signature
 * leaves the provider unrecorded; if the batch fails, every record() in it rejects and those
 * signatures are discarded. The record is written after the signature is computed, so a failed
 * signing operation leaves no record.
 *
 * Group commit: one write is in flight at a time. A use that arrives while the store is idle is
 * written at once (no timer, so a lone signature pays one commit and nothing more); uses that
 * arrive while a write is in flight wait and go together in the next one, up to `maxBatch`. Under
 * load the commit cost is thus shared by the signatures made during the previous commit.
 * Write-behind (answering before the commit) would be faster still but lets a crash lose the
 * record of a signature already handed out.
 *
 * This needs a store whose commit does not block the event loop: with one that does, nothing
 * arrives during a write and uses from separate I/O callbacks never share a batch (hence the
 * SQLite adapter's worker thread, src/store/sqlite/key-use-writer.ts).
 */
export class KeyUseRecorder {
  /** Random bytes for record ids, drawn in bulk: a 8-byte randomBytes() call costs ~1.4 µs. */
  private pool = Buffer.alloc(0);
  private offset = 0;
  private queue: Pending[] = [];
  private writing = false;
  private readonly now: () => Date;
  private readonly maxBatch: number;

  constructor(
    private readonly store: KeyUseStore,
    options: KeyUseRecorderOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 1000));
  }

  /** Resolves once the use is durably stored; rejects with the store's error otherwise. */
  record(keyId: string, data: Uint8Array, context: KeyUseContext): Promise<void> {
    const at = this.now();
    const use: KeyUseRecord = {
      id: newId('use_', at.getTime(), this.random8()),
      keyId,
      apiKeyId: context.apiKeyId,
      agencyCode: context.agencyCode,
      purpose: context.purpose,
      digest: sha256Hex(data),
      at: at.toISOString(),
    };
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ use, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /** Writes the queue batch by batch until it is empty; runs at most once at a time. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        let batch: Pending[];
        if (this.queue.length <= this.maxBatch) {
          batch = this.queue;
          this.queue = [];
        } else {
          batch = this.queue.splice(0, this.maxBatch);
        }
        try {
          // Inside the try: a store that throws synchronously rejects this batch, not the process.
          await this.store.appendMany(batch.map((p) => p.use));
        } catch (e) {
          for (const p of batch) p.reject(e);
          continue;
        }
        for (const p of batch) p.resolve();
      }
    } finally {
      this.writing = false;
    }
  }

  private random8(): Buffer {
    if (this.offset + 8 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.offset = 0;
    }
    const out = this.pool.subarray(this.offset, this.offset + 8);
    this.offset += 8;
    return out;
  }
}

/** One-shot crypto.hash (Node ≥ 20.12) is about twice as fast as createHash for small inputs. */
const sha256Hex: (data: Uint8Array) => string =
  typeof nodeHash === 'function'
    ? (data) => nodeHash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');
