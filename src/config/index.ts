import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Absent → embedded SQLite store in dataDir. */
  mongodbUri: string | null;
  /** Base URL written into certificates (CRL DP, AIA) and QR codes; no trailing slash. */
  publicUrl: string;
  /** Master key material from ESEAL_MASTER_KEY (validated by the key store), or null → key file. */
  masterKey: string | null;
  masterKeyFile: string;
  bootstrapAdminKey: string | null;
  logLevel: LogLevel;
  /** Default limit for JSON request bodies, bytes. */
  jsonBodyLimit: number;
  /** Where the CA, OCSP, TSA and log keys (and new keys by default) are generated. */
  keyStore: 'software' | 'pkcs11';
  /** PKCS#11 token; null when no HSM is configured. */
  pkcs11: { modulePath: string; tokenLabel: string; pin: string } | null;
  /** RFC 3161 policy OID of the built-in TSA. */
  tsaPolicy: string | null;
  /** How often a new log checkpoint is signed while entries arrive; 0 = only on demand. */
  logCheckpointIntervalMs: number;
  /** PEM files of trust anchors the verifier accepts besides our own root CA. */
  trustAnchorFiles: string[];
  /** Verification: fetch revocation data from certificates' OCSP / CRL URLs (online) or never (offline). */
  revocationMode: 'online' | 'offline';
  /** Hosts the verifier may fetch OCSP responses and CRLs from (exact host names, or `*.suffix`). */
  revocationHosts: string[];
  revocationTimeoutMs: number;
}

/** Every variable the service reads; the README table is written from this list. */
export const ENV_VARS = [
  ['PORT', '8080', 'TCP port of the HTTP API.'],
  ['HOST', '0.0.0.0', 'Address to listen on.'],
  ['ESEAL_DATA_DIR', './data', 'Data directory: SQLite file, master key file, bootstrap admin key file.'],
  ['MONGODB_URI', '(unset)', 'When set (mongodb://…), storage is MongoDB through mongoose instead of the embedded SQLite store.'],
  ['ESEAL_PUBLIC_URL', 'http://localhost:$PORT', 'Public base URL written into certificates (CRL distribution point, AIA) and QR codes.'],
  ['ESEAL_MASTER_KEY', '(unset)', 'AES-256 master key for the software key store: 32 bytes as 64 hex digits or base64. Unset → read or create ESEAL_MASTER_KEY_FILE.'],
  ['ESEAL_MASTER_KEY_FILE', '$ESEAL_DATA_DIR/master.key', 'Where the master key is kept when ESEAL_MASTER_KEY is unset (created with mode 0600 on first start).'],
  ['ESEAL_BOOTSTRAP_ADMIN_KEY', '(unset)', 'The first platform admin API key (at least 32 characters). Unset → generated and written to $ESEAL_DATA_DIR/admin.key (mode 0600).'],
  ['ESEAL_LOG_LEVEL', 'info', 'Application log level: fatal, error, warn, info, debug, trace, silent.'],
  ['ESEAL_JSON_BODY_LIMIT', '1mb', 'Largest JSON request body accepted (bytes, or with kb/mb suffix).'],
  ['ESEAL_KEY_STORE', 'software', 'Key store for the CA, OCSP, TSA and log keys and the default for new keys: software (AES-256-GCM under the master key) or pkcs11 (HSM).'],
  ['ESEAL_PKCS11_MODULE', '/usr/lib/softhsm/libsofthsm2.so', 'PKCS#11 library of the HSM.'],
  ['ESEAL_PKCS11_TOKEN', '(unset)', 'Label of the PKCS#11 token; setting it (with ESEAL_PKCS11_PIN) enables the PKCS#11 key store.'],
  ['ESEAL_PKCS11_PIN', '(unset)', 'User PIN of the PKCS#11 token.'],
  ['ESEAL_LOG_CHECKPOINT_INTERVAL', '5s', 'How often a new transparency-log checkpoint is signed while entries arrive (ms, or with s suffix); 0 = only on demand.'],
  ['ESEAL_SEAL_FONT', '(Noto CJK from fonts-noto-cjk)', 'Font file (.otf/.ttf/.ttc) whose glyphs draw the agency and seal names on seal images and visible PDF seals; without a CJK font seals show ring and star only.'],
  ['ESEAL_TRUST_ANCHORS', '(unset)', 'Comma-separated PEM files of CA certificates the verifier trusts besides our own root CA (e.g. another province\'s CA).'],
  ['ESEAL_REVOCATION', 'online', 'How the verifier gets revocation data it does not find in the document or in our own CA: online (fetch OCSP/CRL from allowed hosts) or offline (never fetch; unknown status is INDETERMINATE).'],
  ['ESEAL_REVOCATION_HOSTS', '(unset: none)', 'Comma-separated hosts the verifier may fetch OCSP responses and CRLs from (`host`, `host:port` or `*.domain`).'],
  ['ESEAL_REVOCATION_TIMEOUT', '5s', 'Timeout of one OCSP or CRL fetch (ms, or with s suffix).'],
  ['ESEAL_LICENCE_TYPES_DIR', 'schemas/licence-types', 'Directory of licence type files (JSON Schema of the face data, GB/T 36904 type code, layout); a bad file stops the start.'],
  ['ESEAL_LICENCE_FONT', '(Noto Sans CJK SC from fonts-noto-cjk)', 'Font file (.otf/.ttf/.ttc) embedded, subsetted, in licence PDFs.'],
  ['ESEAL_STATUS_LIST_MAX_AGE', '300', 'Seconds a signed status list is served from cache (and the max-age verifiers are told); a status change refreshes it at once.'],
  ['ESEAL_ARCHIVE_WINDOW_MS', '1000', 'E-archive: how long filings are gathered into one hash tree before its root is time-stamped (ms).'],
  ['ESEAL_ARCHIVE_MAX_BATCH', '1000', 'E-archive: most records under one archive time-stamp (a full batch is sealed at once).'],
  ['ESEAL_ARCHIVE_CODE_FORMATS', '{"*":"{fonds}-{year}-{retention}-{seq:6}"}', 'E-archive: registration number format per fonds (JSON object; `*` is the default; must contain {seq}).'],
  ['ESEAL_ARCHIVE_NAME', '(unset)', 'E-archive: name of the archive written into DA/T 48 packages.'],
  ['ESEAL_ARCHIVE_RENEW_BEFORE_DAYS', '90', 'E-archive: evidence renewal re-time-stamps batches whose TSA certificate expires within this many days.'],
  ['ESEAL_TSA_POLICY', '2.25.320821047110416740467165142254794857189', 'Policy OID written into RFC 3161 time-stamp tokens by the built-in TSA.'],
] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super('Invalid configuration:\n  - ' + problems.join('\n  - '));
    this.name = 'ConfigError';
  }
}

function parseSize(v: string): number | null {
  const m = /^(\d+)\s*(b|kb|mb)?$/i.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  return unit === 'mb' ? n * 1024 * 1024 : unit === 'kb' ? n * 1024 : n;
}

/**
 * Reads and validates the environment once, collecting every problem so that an operator fixes
 * them in one go. The result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const str = (k: string): string | null => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? null : v.trim();
  };

  let port = 8080;
  const rawPort = str('PORT');
  if (rawPort !== null) {
    if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535) problems.push(`PORT must be an integer 0..65535, got "${rawPort}"`);
    else port = Number(rawPort);
  }
  const host = str('HOST') ?? '0.0.0.0';
  const dataDir = path.resolve(cwd, str('ESEAL_DATA_DIR') ?? './data');

  const mongodbUri = str('MONGODB_URI');
  if (mongodbUri !== null && !/^mongodb(\+srv)?:\/\/\S+$/.test(mongodbUri)) {
    problems.push('MONGODB_URI must start with mongodb:// or mongodb+srv://');
  }

  let publicUrl = str('ESEAL_PUBLIC_URL') ?? `http://localhost:${port}`;
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    if (u.search || u.hash) throw new Error('query');
    publicUrl = u.toString().replace(/\/+$/, '');
  } catch {
    problems.push(`ESEAL_PUBLIC_URL must be an absolute http(s) URL without query or fragment, got "${publicUrl}"`);
  }

  const masterKey = str('ESEAL_MASTER_KEY');
  const masterKeyFile = path.resolve(cwd, str('ESEAL_MASTER_KEY_FILE') ?? path.join(dataDir, 'master.key'));

  const bootstrapAdminKey = str('ESEAL_BOOTSTRAP_ADMIN_KEY');
  if (bootstrapAdminKey !== null && (bootstrapAdminKey.length < 32 || bootstrapAdminKey.length > 256 || /\s/.test(bootstrapAdminKey))) {
    // Never echo the key itself.
    problems.push('ESEAL_BOOTSTRAP_ADMIN_KEY must be 32..256 characters without spaces');
  }

  const rawLevel = (str('ESEAL_LOG_LEVEL') ?? str('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(rawLevel as LogLevel)) problems.push(`ESEAL_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${rawLevel}"`);

  const rawLimit = str('ESEAL_JSON_BODY_LIMIT') ?? '1mb';
  const jsonBodyLimit = parseSize(rawLimit);
  if (jsonBodyLimit === null || jsonBodyLimit < 1024 || jsonBodyLimit > 64 * 1024 * 1024) {
    problems.push(`ESEAL_JSON_BODY_LIMIT must be a size between 1kb and 64mb, got "${rawLimit}"`);
  }

  const keyStore = (str('ESEAL_KEY_STORE') ?? 'software').toLowerCase();
  if (keyStore !== 'software' && keyStore !== 'pkcs11') problems.push(`ESEAL_KEY_STORE must be software or pkcs11, got "${keyStore}"`);
  const tokenLabel = str('ESEAL_PKCS11_TOKEN');
  const pin = env.ESEAL_PKCS11_PIN ?? null;
  let pkcs11: Config['pkcs11'] = null;
  if (tokenLabel !== null) {
    if (!pin) problems.push('ESEAL_PKCS11_PIN is required when ESEAL_PKCS11_TOKEN is set');
    else pkcs11 = { modulePath: str('ESEAL_PKCS11_MODULE') ?? '/usr/lib/softhsm/libsofthsm2.so', tokenLabel, pin };
  }
  if (keyStore === 'pkcs11' && tokenLabel === null) problems.push('ESEAL_KEY_STORE=pkcs11 needs ESEAL_PKCS11_TOKEN and ESEAL_PKCS11_PIN');
  const tsaPolicy = str('ESEAL_TSA_POLICY');
  if (tsaPolicy !== null && !/^[0-2](\.(0|[1-9]\d*)){1,30}$/.test(tsaPolicy)) problems.push(`ESEAL_TSA_POLICY must be an OID in dotted form, got "${tsaPolicy}"`);

  const rawInterval = str('ESEAL_LOG_CHECKPOINT_INTERVAL') ?? '5s';
  const im = /^(\d+)\s*(ms|s)?$/.exec(rawInterval);
  const logCheckpointIntervalMs = im ? Number(im[1]) * (im[2] === 's' ? 1000 : 1) : NaN;
  if (!im || (logCheckpointIntervalMs !== 0 && (logCheckpointIntervalMs < 100 || logCheckpointIntervalMs > 3600_000))) {
    problems.push(`ESEAL_LOG_CHECKPOINT_INTERVAL must be 0 or between 100ms and 3600s, got "${rawInterval}"`);
  }

  const trustAnchorFiles = (str('ESEAL_TRUST_ANCHORS') ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => path.resolve(cwd, f));
  const revocationMode = (str('ESEAL_REVOCATION') ?? 'online').toLowerCase();
  if (revocationMode !== 'online' && revocationMode !== 'offline') problems.push(`ESEAL_REVOCATION must be online or offline, got "${revocationMode}"`);
  const revocationHosts = (str('ESEAL_REVOCATION_HOSTS') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const h of revocationHosts) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/.test(h)) problems.push(`ESEAL_REVOCATION_HOSTS: "${h}" is not a host name`);
  }
  const rawTimeout = str('ESEAL_REVOCATION_TIMEOUT') ?? '5s';
  const tm = /^(\d+)\s*(ms|s)?$/.exec(rawTimeout);
  const revocationTimeoutMs = tm ? Number(tm[1]) * (tm[2] === 's' ? 1000 : 1) : NaN;
  if (!tm || revocationTimeoutMs < 100 || revocationTimeoutMs > 60_000) problems.push(`ESEAL_REVOCATION_TIMEOUT must be between 100ms and 60s, got "${rawTimeout}"`);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    dataDir,
    mongodbUri,
    publicUrl,
    masterKey,
    masterKeyFile,
    bootstrapAdminKey,
    logLevel: rawLevel as LogLevel,
    jsonBodyLimit: jsonBodyLimit as number,
    keyStore: keyStore as Config['keyStore'],
    pkcs11,
    tsaPolicy,
    logCheckpointIntervalMs,
    trustAnchorFiles,
    revocationMode: revocationMode as Config['revocationMode'],
    revocationHosts,
    revocationTimeoutMs,
  });
}
