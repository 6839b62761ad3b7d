import { randomBytes } from 'node:crypto';

/**
 * Time-ordered identifiers: 12 hex digits of milliseconds since the epoch, then 16 hex digits of
 * randomness. Sorting by id sorts by creation time (to the millisecond), which gives lists a
 * stable, natural order in both stores without a shared sequence.
 */
export function newId(prefix = '', now: number = Date.now(), random: Buffer = randomBytes(8)): string {
  return prefix + now.toString(16).padStart(12, '0') + random.toString('hex');
}

const ID_RE = /^[a-z]{0,8}_?[0-9a-f]{28}$/;
export function isWellFormedId(id: string): boolean {
  return ID_RE.test(id);
}
