import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../../errors';
import type { KeyUseRecord } from '../ports';

export const INSERT_KEY_USE_SQL = `INSERT INTO key_uses (id, key_id, api_key_id, agency_code, purpose, digest, at)
     VALUES (@id, @keyId, @apiKeyId, @agencyCode, @purpose, @digest, @at)`;

/**
 * The worker: its own connection to the same file (WAL: the main connection's readers see each
 * commit; busy_timeout serialises the two writers), one transaction per batch. Plain JavaScript
 * so it runs the same from dist/ and under ts-jest.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 10000');
const insert = db.prepare(workerData.sql);
const write = db.transaction((uses) => { for (const u of uses) insert.run(u); });
parentPort.on('message', (m) => {
  if (m.close) { db.close(); parentPort.close(); return; }
  try {
    write(m.uses);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { message: String(e && e.message), code: e && e.code } });
  }
});
`;

interface Reply {
  id: number;
  error?: { message: string; code?: string };
}

/**
 * Commits batches of key uses on a worker thread. better-sqlite3 is synchronous: committed on
 * the main thread, each fsync (synchronous=FULL; 0.2–2 ms on a virtual disk) stops the event
 * loop, so no signing happens during it and uses arriving in separate I/O callbacks never meet in
 * one batch. Off the main thread, signatures keep being made while a batch commits, and they form
 * the next batch (KeyUseRecorder). Durability is unchanged: write() resolves after the commit.
 *
 * The worker starts on the first write and does not keep the process alive while idle.
 */
export class SqliteKeyUseWriter {
  private worker: Worker | null = null;
  private exited: Promise<void> | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  private closed = false;

  constructor(private readonly file: string) {}

  write(uses: KeyUseRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('The SQLite store is closed'));
    const worker = this.worker ?? this.start();
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, uses });
    });
  }

  /** Lets queued batches commit, then closes the worker's connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.worker) return;
    this.worker.ref();
    this.worker.postMessage({ close: true });
    await this.exited;
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), file: this.file, sql: INSERT_KEY_USE_SQL },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (!reply.error) p.resolve();
      // The SQLite code (e.g. SQLITE_CONSTRAINT_PRIMARYKEY) is kept, for the adapter to map.
      else p.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    worker.on('error', (e) => this.fail(worker, e));
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        this.fail(worker, new Error('the key-use writer thread exited'));
        resolve();
      }),
    );
    this.worker = worker;
    return worker;
  }

  /** A dead worker fails its batches; the next write starts a new one. */
  private fail(worker: Worker, cause: unknown): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const err = new StoreUnavailableError('The SQLite key-use writer failed', { cause });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    void worker.terminate();
  }
}
