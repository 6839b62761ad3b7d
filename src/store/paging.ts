import { ValidationError } from '../errors';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type ListOptions } from './ports';

/** Cursors are the last key of the previous page, base64url, so clients treat them as opaque. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): string | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) {
    throw new ValidationError('Malformed cursor', [{ pointer: '/cursor', detail: 'not a cursor returned by this API' }], 'INVALID_QUERY');
  }
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

export function clampLimit(options?: ListOptions): number {
  const l = options?.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(l) || l < 1) return DEFAULT_PAGE_LIMIT;
  return Math.min(l, MAX_PAGE_LIMIT);
}

/** Given limit+1 rows fetched, cut to a page and derive the next cursor. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, nextCursor: more ? encodeCursor(keyOf(items[items.length - 1])) : null };
}
