import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';

/** AES-256: the software key store seals every private key under this key. */
export const MASTER_KEY_BYTES = 32;

export interface LoadMasterKeyOptions {
  /** The ESEAL_MASTER_KEY value: 32 bytes as 64 hex digits or base64. Null/empty → key file. */
  value?: string | null;
  dataDir: string;
  /** Key file; defaults to `<dataDir>/master.key` (ESEAL_MASTER_KEY_FILE). */
  file?: string | null;
}

export interface MasterKey {
  key: Buffer;
  /** Where it came from, so the start-up log can say so (never the key itself). */
  source: 'env' | 'file' | 'created';
  file: string | null;
}

const HEX_RE = /^[0-9a-fA-F]{64}$/;
/** 32 bytes in standard base64: 43 characters, the last carrying 4 bits, and optional padding. */
const BASE64_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?$/;

function invalid(where: string, message: string, cause?: unknown): AppError {
  return new AppError('MASTER_KEY_INVALID', `${where} ${message}`, cause === undefined ? {} : { cause });
}

/**
 * Decodes a master key written as 64 hex digits or as base64 of 32 bytes. The two forms cannot be
 * confused (64 characters vs 43/44), so this is a declared format, not a guess. Errors state the
 * expected form and the length received, never the value.
 */
export function parseMasterKey(text: string, where = 'ESEAL_MASTER_KEY'): Buffer {
  const t = text.trim();
  if (HEX_RE.test(t)) return Buffer.from(t, 'hex');
  if (BASE64_RE.test(t)) return Buffer.from(t, 'base64');
  const hint = /^[0-9a-fA-F]*$/.test(t)
    ? `looks like hex but has ${t.length} digits`
    : `has ${t.length} characters`;
  throw invalid(
    where,
    `must be ${MASTER_KEY_BYTES} bytes written as 64 hexadecimal digits or 44 base64 characters ` +
      `(e.g. the output of \`openssl rand -base64 32\`); the value given ${hint}`,
  );
}

/**
 * The master key, from (in order) the environment value, the key file, or a new random key
 * written to the key file. The file must not be accessible by group or others: a key readable by
 * other users protects nothing, and one writable by them could be swapped so that new keys are
 * sealed under an attacker's key.
 */
export function loadMasterKey(options: LoadMasterKeyOptions): MasterKey {
  const file = path.resolve(options.file ?? path.join(options.dataDir, 'master.key'));
  const value = options.value?.trim();
  if (value) return { key: parseMasterKey(value), source: 'env', file: null };

  const existing = readKeyFile(file);
  if (existing) return { key: existing, source: 'file', file };

  const key = createKeyFile(file);
  return key.created ? { key: key.key, source: 'created', file } : { key: key.key, source: 'file', file };
}

function readKeyFile(file: string): Buffer | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw invalid(`master key file ${file}`, 'cannot be read', e);
  }
  if (!st.isFile()) throw invalid(`master key file ${file}`, 'is not a regular file');
  assertPrivateMode(file, st.mode);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw invalid(`master key file ${file}`, 'cannot be read', e);
  }
  return parseMasterKey(text, `master key file ${file}`);
}

function assertPrivateMode(file: string, mode: number): void {
  // POSIX permission bits mean nothing on Windows, where access is governed by ACLs.
  if (process.platform === 'win32') return;
  if ((mode & 0o077) !== 0) {
    const shown = (mode & 0o777).toString(8).padStart(4, '0');
    throw invalid(
      `master key file ${file}`,
      `has mode ${shown}, which lets group or others access it; it must be readable by its owner only (run: chmod 600 ${file})`,
    );
  }
}

/**
 * Writes a new key without ever exposing a partial or a second key: the key goes to a private
 * temporary file, is flushed, and is then hard-linked to its final name, which fails if another
 * process created the key first (in which case that key is used).
 */
function createKeyFile(file: string): { key: Buffer; created: boolean } {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw invalid(`master key directory ${dir}`, 'cannot be created', e);
  }
  const key = randomBytes(MASTER_KEY_BYTES);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, key.toString('base64') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      key.fill(0);
      const other = readKeyFile(file);
      if (!other) throw e;
      return { key: other, created: false };
    }
    fsyncDir(dir);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw invalid(`master key file ${file}`, 'cannot be created', e);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return { key, created: true };
}

/** Makes the new directory entry durable (a lost master key loses every sealed private key). */
function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
