import type { Principal } from '../api-keys';
import { AppError } from '../errors';
import { csvLine, parseCsv, type CsvRow } from './csv';
import type { LicenceTypeRegistry } from './licence-types';
import type { LicenceService } from './service';

/**
 * Batch issuance from CSV (`eseal licence batch`). Columns:
 *   key            the row key (required, unique in the file): the licence's idempotency key
 *                  `csv:<key>`, so a rerun — after a crash, a kill, or on purpose — issues no
 *                  row twice and picks up where the last run stopped (resumable)
 *   holderName, holderCodeType, holderCode, validFrom, validUntil (empty = none)
 *   data.<field>   one face-data field; for array fields the items are separated by '|',
 *                  number and integer fields are read as numbers, booleans as true/false
 * Rows are issued by `concurrency` workers; each row's outcome is issued, already-issued
 * (earlier run) or failed, and failures go to the errors CSV with their problem code and fields.
 */
export interface BatchOptions {
  licences: LicenceService;
  types: LicenceTypeRegistry;
  actor: Principal;
  type: string;
  sealId: string;
  csv: string;
  pdf: boolean;
  concurrency?: number;
  /** Called after each row with done/total. */
  onProgress?: (done: number, total: number) => void;
  /** Receives the errors CSV line by line (header first). */
  writeError: (line: string) => void;
}

export interface BatchResult {
  total: number;
  issued: number;
  alreadyIssued: number;
  failed: number;
  seconds: number;
}

const FIXED = ['key', 'holderName', 'holderCodeType', 'holderCode', 'validFrom', 'validUntil'];

export async function runBatch(o: BatchOptions): Promise<BatchResult> {
  const t = o.types.get(o.type);
  if (!t) throw new AppError('VALIDATION_FAILED', `Unknown licence type ${o.type}`);
  const rows = parseCsv(o.csv);
  if (rows.length === 0) throw new AppError('PARSE_ERROR', 'The CSV file is empty');
  const header = rows[0].fields.map((h) => h.trim());
  const missing = FIXED.filter((c) => c !== 'validUntil' && !header.includes(c));
  if (missing.length) throw new AppError('PARSE_ERROR', `The CSV header lacks ${missing.join(', ')}`);
  const props = ((t.schema as { properties?: Record<string, { type?: string }> }).properties ?? {}) as Record<string, { type?: string }>;
  for (const h of header) {
    if (FIXED.includes(h)) continue;
    if (!h.startsWith('data.') || !(h.slice(5) in props)) throw new AppError('PARSE_ERROR', `Unknown CSV column ${h} (use data.<field> for the fields of ${t.id})`);
  }
  const records = rows.slice(1);
  const seen = new Set<string>();
  for (const r of records) {
    const key = r.fields[header.indexOf('key')];
    if (!key || !/^[\x21-\x7e]{1,100}$/.test(key)) throw new AppError('PARSE_ERROR', `CSV line ${r.line}: the key must be 1-100 printable ASCII characters`);
    if (seen.has(key)) throw new AppError('PARSE_ERROR', `CSV line ${r.line}: key ${key} appears twice`);
    seen.add(key);
  }

  o.writeError(csvLine(['line', 'key', 'code', 'pointer', 'detail']));
  const result: BatchResult = { total: records.length, issued: 0, alreadyIssued: 0, failed: 0, seconds: 0 };
  const started = process.hrtime.bigint();
  let next = 0;
  let done = 0;
  const col = (r: CsvRow, name: string) => {
    const i = header.indexOf(name);
    return i < 0 ? '' : r.fields[i];
  };
  const toValue = (field: string, raw: string): unknown => {
    const type = props[field]?.type;
    if (type === 'array') return raw.split('|').map((s) => s.trim());
    if ((type === 'number' || type === 'integer') && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
    if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
    return raw;
  };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= records.length) return;
      const r = records[i];
      const key = col(r, 'key');
      const data: Record<string, unknown> = {};
      header.forEach((h, k) => {
        if (h.startsWith('data.') && r.fields[k] !== '') data[h.slice(5)] = toValue(h.slice(5), r.fields[k]);
      });
      try {
        const l = await o.licences.issue(
          o.actor,
          {
            type: t.id,
            sealId: o.sealId,
            holder: { name: col(r, 'holderName'), codeType: col(r, 'holderCodeType'), code: col(r, 'holderCode') },
            data,
            validFrom: col(r, 'validFrom'),
            validUntil: col(r, 'validUntil') || null,
            idempotencyKey: `csv:${key}`,
          },
          { pdf: o.pdf },
        );
        if (l.replayed) result.alreadyIssued++;
        else result.issued++;
      } catch (e) {
        if (!(e instanceof AppError) || e.status >= 500) throw e; // our failure: stop, a rerun resumes
        result.failed++;
        const errs = e.errors?.length ? e.errors : [{ pointer: '', detail: e.message }];
        for (const fe of errs) o.writeError(csvLine([r.line, key, e.code, fe.pointer, fe.detail]));
      }
      done++;
      o.onProgress?.(done, records.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 8, 64)) }, worker));
  result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return result;
}

/** A one-line progress bar: `[#####.....] 1234/10000 12% 85.2/s`. */
export function progressBar(done: number, total: number, seconds: number, width = 30): string {
  const frac = total === 0 ? 1 : done / total;
  const filled = Math.round(frac * width);
  const rate = seconds > 0 ? (done / seconds).toFixed(1) : '0.0';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.floor(frac * 100)}% ${rate}/s`;
}
