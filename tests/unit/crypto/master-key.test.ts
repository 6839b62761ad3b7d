import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadMasterKey, parseMasterKey } from '../../../src/crypto/master-key';
import { AppError } from '../../../src/errors';

const posix = process.platform !== 'win32';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-mk-'));
}

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected an error');
}

describe('parseMasterKey', () => {
  const key = randomBytes(32);

  it('accepts 64 hex digits, either case, with surrounding whitespace', () => {
    expect(parseMasterKey(key.toString('hex'))).toEqual(key);
    expect(parseMasterKey(key.toString('hex').toUpperCase())).toEqual(key);
    expect(parseMasterKey(`  ${key.toString('hex')}\n`)).toEqual(key);
  });

  it('accepts base64 of 32 bytes, with or without padding', () => {
    const b64 = key.toString('base64');
    expect(b64).toHaveLength(44);
    expect(parseMasterKey(b64)).toEqual(key);
    expect(parseMasterKey(b64.replace(/=$/, ''))).toEqual(key);
  });

  it.each([
    ['16 bytes of hex', randomBytes(16).toString('hex')],
    ['33 bytes of hex', randomBytes(33).toString('hex')],
    ['31 bytes of base64', randomBytes(31).toString('base64')],
    ['48 bytes of base64', randomBytes(48).toString('base64')],
    ['base64url', Buffer.alloc(32, 0xfb).toString('base64url')],
    ['a passphrase', 'correct horse battery staple'],
    ['a non-canonical base64 last character', 'A'.repeat(42) + 'B='],
  ])('rejects %s, saying what is expected and not echoing the value', (_what, value) => {
    const e = errorOf(() => parseMasterKey(value));
    expect(e.code).toBe('MASTER_KEY_INVALID');
    expect(e.message).toContain('ESEAL_MASTER_KEY must be 32 bytes');
    expect(e.message).toMatch(/64 hexadecimal digits or 44 base64 characters/);
    expect(e.message).not.toContain(value.trim());
  });
});

describe('loadMasterKey', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmp();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prefers the environment value and writes no file', () => {
    const key = randomBytes(32);
    const mk = loadMasterKey({ value: key.toString('base64'), dataDir: dir });
    expect(mk).toEqual({ key, source: 'env', file: null });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('reports a bad environment value without creating a file', () => {
    const e = errorOf(() => loadMasterKey({ value: 'abcd', dataDir: dir }));
    expect(e.code).toBe('MASTER_KEY_INVALID');
    expect(e.message).toContain('has 4 digits');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('treats an empty environment value as unset', () => {
    expect(loadMasterKey({ value: '  ', dataDir: dir }).source).toBe('created');
  });

  it('creates <dataDir>/master.key (and the directory) with mode 0600, then reads it back', () => {
    const dataDir = path.join(dir, 'nested', 'data');
    const created = loadMasterKey({ value: null, dataDir });
    const file = path.join(dataDir, 'master.key');
    expect(created.source).toBe('created');
    expect(created.file).toBe(file);
    expect(created.key).toHaveLength(32);
    if (posix) expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // No temporary file left behind.
    expect(fs.readdirSync(dataDir)).toEqual(['master.key']);

    const again = loadMasterKey({ dataDir });
    expect(again.source).toBe('file');
    expect(again.key).toEqual(created.key);
  });

  it('honours an explicit key file path', () => {
    const file = path.join(dir, 'keys', 'mk');
    const mk = loadMasterKey({ dataDir: dir, file });
    expect(mk.file).toBe(file);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('reads a hex key file written by an operator', () => {
    const key = randomBytes(32);
    const file = path.join(dir, 'master.key');
    fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600 });
    expect(loadMasterKey({ dataDir: dir })).toEqual({ key, source: 'file', file });
  });

  (posix ? it : it.skip).each([
    ['0644', 0o644],
    ['0640', 0o640],
    ['0604', 0o604],
    ['0620 (group may replace it)', 0o620],
  ])('refuses a key file with mode %s', (_shown, mode) => {
    const file = path.join(dir, 'master.key');
    fs.writeFileSync(file, randomBytes(32).toString('base64'));
    fs.chmodSync(file, mode);
    const e = errorOf(() => loadMasterKey({ dataDir: dir }));
    expect(e.code).toBe('MASTER_KEY_INVALID');
    expect(e.message).toContain(`has mode 0${mode.toString(8)}`);
    expect(e.message).toContain('group or others');
    expect(e.message).toContain(`chmod 600 ${file}`);
  });

  it('refuses a key file of the wrong length without echoing its content', () => {
    const file = path.join(dir, 'master.key');
    const content = randomBytes(16).toString('hex');
    fs.writeFileSync(file, content, { mode: 0o600 });
    const e = errorOf(() => loadMasterKey({ dataDir: dir }));
    expect(e.message).toContain(`master key file ${file} must be 32 bytes`);
    expect(e.message).not.toContain(content);
  });

  it('refuses a key path that is a directory', () => {
    fs.mkdirSync(path.join(dir, 'master.key'));
    expect(errorOf(() => loadMasterKey({ dataDir: dir })).message).toContain('is not a regular file');
  });
});
