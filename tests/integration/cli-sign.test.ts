import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli';
import { openSqliteStores } from '../../src/store';
import { openssl } from '../helpers/openssl';
import { tmpDir } from '../helpers/stores';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * `eseal seal create|list|revoke` and `eseal sign` on the local SQLite store, run in-process;
 * the output judged by pdfsig and OpenSSL.
 */
const A = '11330105002500287C';

describe('eseal seal and eseal sign', () => {
  const dir = tmpDir();
  const work = tmpDir('eseal-cli-sign-');
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.ESEAL_DATA_DIR = dir;
    delete process.env.MONGODB_URI;
    delete process.env.ESEAL_MASTER_KEY;
    delete process.env.ESEAL_MASTER_KEY_FILE;
    delete process.env.ESEAL_KEY_STORE;
    delete process.env.ESEAL_PKCS11_TOKEN;
    fs.writeFileSync(path.join(work, 'in.pdf'), buildPdf({ pages: 2 }));
    fs.writeFileSync(path.join(work, 'note.txt'), 'a document that is not a PDF\n');
  });
  afterAll(() => {
    process.env = saved;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['node', 'eseal', ...args], { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
    return { code, out, err };
  }
  const w = (name: string) => path.join(work, name);
  function pdfsig(file: string): string {
    try {
      return execFileSync('pdfsig', ['-nocert', file], { encoding: 'utf8' });
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? '');
    }
  }

  let sealId: string;

  it('seal create and seal list', async () => {
    expect((await run('init', '--json')).code).toBe(0);
    expect((await run('agency', 'add', '--code', A, '--name', '杭州市西湖区市场监督管理局')).code).toBe(0);

    const created = await run('seal', 'create', '--agency', A, '--name', '行政许可专用章', '--kind', 'licence', '--algorithm', 'RS256', '--key-store', 'software', '--json');
    expect(created).toMatchObject({ code: 0, err: '' });
    const s = JSON.parse(created.out);
    expect(s).toMatchObject({ agencyCode: A, name: '行政许可专用章', kind: 'licence', algorithm: 'RS256', keyStore: 'software', status: 'active' });
    expect(s.keyId).toBeUndefined();
    expect(s.logIndex).toBeGreaterThan(0);
    sealId = s.id;

    const plain = await run('seal', 'create', '--agency', A, '--name', '公章', '--kind', 'official');
    expect(plain.code).toBe(0);
    expect(plain.out.split('\n')[0]).toMatch(/^seal_[0-9a-f]{28}$/);

    const list = JSON.parse((await run('seal', 'list', '--agency', A, '--json')).out);
    expect(list.map((x: { id: string }) => x.id)).toContain(sealId);
    expect(list).toHaveLength(2);
    expect((await run('seal', 'list')).out).toContain('行政许可专用章');

    const unknownAgency = await run('seal', 'create', '--agency', '91330000MA27XXXX0X', '--name', 'x', '--kind', 'official');
    expect(unknownAgency.code).toBe(2);
    const badKind = await run('seal', 'create', '--agency', A, '--name', 'x', '--kind', 'stamp');
    expect(badKind.code).not.toBe(0);
    expect(badKind.err).toMatch(/Allowed choices are official, contract/);
  }, 60_000);

  it('sign FILE --format pades --level B-T with a visible seal: pdfsig says the signature is valid', async () => {
    const r = await run('sign', w('in.pdf'), '--seal', sealId, '--format', 'pades', '--level', 'B-T', '--page', '1', '--x', '400', '--y', '80', '--width', '120', '--reason', '行政许可', '-o', w('signed.pdf'), '--json');
    expect(r).toMatchObject({ code: 0, err: '' });
    const result = JSON.parse(r.out);
    expect(result).toMatchObject({ output: w('signed.pdf'), sealId, format: 'pades', level: 'B-T' });
    const signed = fs.readFileSync(w('signed.pdf'));
    expect(signed.length).toBe(result.bytes);
    expect(signed.subarray(0, fs.statSync(w('in.pdf')).size).equals(fs.readFileSync(w('in.pdf')))).toBe(true);
    const out = pdfsig(w('signed.pdf'));
    expect(out).toMatch(/Signature #1:[\s\S]*Signature Type: ETSI\.CAdES\.detached[\s\S]*Signature is Valid\./);
    expect(out).toContain('Total document signed');
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('sign FILE --format cades: a detached .p7s that OpenSSL verifies against the file', async () => {
    const r = await run('sign', w('note.txt'), '--seal', sealId, '--format', 'cades', '--level', 'B-B', '-o', w('note.p7s'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('note.p7s');
    const v = await openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', 'note.p7s', '-content', 'note.txt', '-noverify', '-out', '/dev/null'], work);
    expect(v.out).toContain('Verification successful');
  }, 60_000);

  it('attributes the signature and the key use to the operator (API key id "cli"), and the log still audits', async () => {
    const stores = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
    try {
      const entries = await stores.log.getEntries(0, await stores.log.size());
      const signed = entries.filter((e) => e.type === 'document.signed').map((e) => JSON.parse(Buffer.from(e.leafInput, 'base64').toString('utf8')));
      expect(signed).toHaveLength(2);
      for (const e of signed) expect(e).toMatchObject({ actor: { apiKeyId: 'cli', agencyCode: A }, subject: { sealId } });
      const created = entries.find((e) => e.type === 'seal.created')!;
      expect(JSON.parse(Buffer.from(created.leafInput, 'base64').toString('utf8'))).toMatchObject({ actor: { apiKeyId: 'cli', agencyCode: null } });
      const uses = (await stores.keyUses.list({ limit: 500 })).items.filter((u) => u.purpose === 'pades' || u.purpose === 'cades');
      expect(uses.length).toBeGreaterThanOrEqual(2);
      for (const u of uses) expect(u).toMatchObject({ apiKeyId: 'cli', agencyCode: A });
    } finally {
      await stores.close();
    }
    const audit = await run('log', 'verify', '--json');
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.out).ok).toBe(true);
  }, 60_000);

  it('refuses what it must: bad options, a CAdES B-LT, an unknown seal, a revoked seal', async () => {
    const noOut = await run('sign', w('in.pdf'), '--seal', sealId, '--format', 'pades');
    expect(noOut.code).not.toBe(0);
    expect(noOut.err).toContain('--output');
    const badPage = await run('sign', w('in.pdf'), '--seal', sealId, '--format', 'pades', '--page', '0', '-o', w('x.pdf'));
    expect(badPage.code).not.toBe(0);
    expect(badPage.err).toContain('expected an integer from 1 to 100000');
    const cadesLt = await run('sign', w('note.txt'), '--seal', sealId, '--format', 'cades', '--level', 'B-LT', '-o', w('x.p7s'));
    expect(cadesLt.code).toBe(2);
    expect(cadesLt.err).toContain('VALIDATION_FAILED');
    const notPdf = await run('sign', w('note.txt'), '--seal', sealId, '--format', 'pades', '-o', w('x.pdf'));
    expect(notPdf.code).toBe(2);
    expect(notPdf.err).toContain('PDF_MALFORMED');
    const unknown = await run('sign', w('in.pdf'), '--seal', 'seal_' + '0'.repeat(28), '--format', 'pades', '-o', w('x.pdf'));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('NOT_FOUND');
    expect(fs.existsSync(w('x.pdf'))).toBe(false);

    const revoked = await run('seal', 'revoke', sealId, '--reason', 'keyCompromise', '--json');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.out)).toMatchObject({ id: sealId, status: 'revoked' });
    expect((await run('seal', 'revoke', sealId)).err).toContain('SEAL_REVOKED');
    const after = await run('sign', w('in.pdf'), '--seal', sealId, '--format', 'pades', '-o', w('x.pdf'));
    expect(after.code).toBe(2);
    expect(after.err).toContain('SEAL_REVOKED');
  }, 60_000);
});
