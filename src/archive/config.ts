import type { ArchiveOptions } from './service';

/**
 * Archive settings from the environment, validated (a bad value stops the start):
 * ESEAL_ARCHIVE_WINDOW_MS (batch window, default 1000), ESEAL_ARCHIVE_MAX_BATCH (records per
 * batch, default 1000), ESEAL_ARCHIVE_CODE_FORMATS (JSON object fonds → format, `*` default,
 * e.g. {"*":"{fonds}-{year}-{retention}-{seq:6}"}), ESEAL_ARCHIVE_NAME, ESEAL_ARCHIVE_RENEW_BEFORE_DAYS (default 90).
 */
export function archiveOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiveOptions {
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  let codeFormats: Record<string, string> | undefined;
  const raw = env.ESEAL_ARCHIVE_CODE_FORMATS;
  if (raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error('ESEAL_ARCHIVE_CODE_FORMATS must be a JSON object');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('ESEAL_ARCHIVE_CODE_FORMATS must be a JSON object');
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string' || !v.includes('{seq') || v.length > 100) throw new Error(`ESEAL_ARCHIVE_CODE_FORMATS[${k}] must be a string with a {seq} token`);
    }
    codeFormats = parsed as Record<string, string>;
  }
  return {
    windowMs: int('ESEAL_ARCHIVE_WINDOW_MS', 1, 60_000),
    maxBatch: int('ESEAL_ARCHIVE_MAX_BATCH', 1, 100_000),
    renewBeforeDays: int('ESEAL_ARCHIVE_RENEW_BEFORE_DAYS', 0, 3650),
    codeFormats,
    archiveName: env.ESEAL_ARCHIVE_NAME || undefined,
  };
}
