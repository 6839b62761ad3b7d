import type { KeyUseRecord, KeyUseStore } from '../store/ports';
import type { LogEvent, LogService } from './service';

/**
 * Uses of a key that are not logged one by one: OCSP responses and CRLs are re-signed views of
 * state that is itself logged (issuance, revocation), and checkpoints are the log's own output.
 * Every other use — certificates, time-stamps, seals, documents — becomes a `key.used` entry.
 */
const NOT_LOGGED = new Set(['ocsp', 'crl', 'log-checkpoint']);

export function keyUsedEvent(u: KeyUseRecord): LogEvent {
  return {
    type: 'key.used',
    eventId: `key.used:${u.id}`,
    subject: { keyId: u.keyId, purpose: u.purpose, useId: u.id },
    digests: { sha256: u.digest },
    actor: { apiKeyId: u.apiKeyId, agencyCode: u.agencyCode },
    keyId: u.keyId,
  };
}

/**
 * Wraps the key-use store so that each recorded use is first appended to the transparency log.
 * Log first, then the key_uses row: a crash between leaves a logged use whose signature was never
 * returned (harmless), never an unlogged one. The log is attached after start-up (it needs the CA,
 * which needs keys); uses before that — creating the hierarchy — are covered by the genesis
 * entries that record the certificates they produced.
 */
export class LoggedKeyUseStore implements KeyUseStore {
  private log: LogService | null = null;

  constructor(private readonly inner: KeyUseStore) {}

  attach(log: LogService): void {
    this.log = log;
  }

  async append(use: KeyUseRecord): Promise<KeyUseRecord> {
    if (this.log && !NOT_LOGGED.has(use.purpose)) await this.log.append(keyUsedEvent(use));
    return this.inner.append(use);
  }

  /** The same order for a batch: all its log entries (LogService commits them together), then the rows. */
  async appendMany(uses: KeyUseRecord[]): Promise<void> {
    const log = this.log;
    if (log) await Promise.all(uses.filter((u) => !NOT_LOGGED.has(u.purpose)).map((u) => log.append(keyUsedEvent(u))));
    await this.inner.appendMany(uses);
  }

  list(options?: Parameters<KeyUseStore['list']>[0]): ReturnType<KeyUseStore['list']> {
    return this.inner.list(options);
  }
}
