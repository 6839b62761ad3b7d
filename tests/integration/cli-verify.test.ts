import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { toPem } from '../../src/pki/pem';
import { buildServices } from '../../src/services';
import { openStores } from '../../src/store';
import { tmpDir } from '../helpers/stores';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * `eseal verify FILE [--signature SIG] [--trust CA.pem …] [--offline] [--json]`, run in-process on
 * documents signed by `eseal sign`. Exit status: 0 TOTAL_PASSED, 1 TOTAL_FAILED, 2 INDETERMINATE,
 * 64 usage error.
 */
const A = '11330105002500287C';

describe('eseal verify', () => {
  const dir = tmpDir();
  const empty = tmpDir('eseal-cli-verify-empty-');
  const work = tmpDir('eseal-cli-verify-');
  const saved = { ...process.env };
  const w = (name: string) => path.join(work, name);

  beforeAll(async () => {
    process.env.ESEAL_DATA_DIR = dir;
    for (const v of ['MONGODB_URI', 'ESEAL_MASTER_KEY', 'ESEAL_MASTER_KEY_FILE', 'ESEAL_KEY_STORE', 'ESEAL_PKCS11_TOKEN', 'ESEAL_TRUST_ANCHORS', 'ESEAL_REVOCATION', 'ESEAL_REVOCATION_HOSTS']) {
      delete process.env[v];
    }
    fs.writeFileSync(w('in.pdf'), buildPdf({ pages: 1 }));
    fs.writeFileSync(w('note.txt'), '申请书\n');
    expect((await run('init')).code).toBe(0);
    expect((await run('agency', 'add', '--code', A, '--name', '杭州市西湖区市场监督管理局')).code).toBe(0);
    const seal = (await run('seal', 'create', '--agency', A, '--name', '行政许可专用章', '--kind', 'licence')).out.split('\n')[0];
    for (const [level, out] of [['B-T', 'signed.pdf'], ['B-LT', 'signed-lt.pdf']]) {
      expect((await run('sign', w('in.pdf'), '--seal', seal, '--format', 'pades', '--level', level, '-o', w(out))).code).toBe(0);
    }
    expect((await run('sign', w('note.txt'), '--seal', seal, '--format', 'cades', '--level', 'B-T', '-o', w('note.p7s'))).code).toBe(0);
    const signed = fs.readFileSync(w('signed.pdf'));
    signed.write('(Page 7)', signed.indexOf('(Page 1)'), 'latin1');
    fs.writeFileSync(w('tampered.pdf'), signed);
    fs.writeFileSync(w('other.txt'), '另一份申请书\n');

    // Our root (and issuing) CA as a PEM file with two certificates, as an operator would export them.
    const config = loadConfig();
    const stores = await openStores(config);
    const services = await buildServices({ ...config, logCheckpointIntervalMs: 0 }, stores);
    fs.writeFileSync(w('ca.pem'), toPem(services.ca.issuing.der) + toPem(services.ca.root.der));
    await services.close();
    await stores.close();
    fs.writeFileSync(w('garbage.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    fs.writeFileSync(w('nothing.pem'), 'no certificate here\n');
  }, 120_000);
  afterAll(() => {
    process.env = saved;
    for (const d of [dir, empty, work]) fs.rmSync(d, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['node', 'eseal', ...args], { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
    return { code, out, err };
  }
  /** Runs with another data directory (one with no store in it). */
  async function runIn(dataDir: string, ...args: string[]) {
    process.env.ESEAL_DATA_DIR = dataDir;
    try {
      return await run(...args);
    } finally {
      process.env.ESEAL_DATA_DIR = dir;
    }
  }

  it('exit 0 for a valid signed PDF, with a short human summary', async () => {
    const r = await run('verify', w('signed.pdf'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${w('signed.pdf')}: TOTAL_PASSED`);
    expect(r.out).toMatch(/signature 1 .*\(PAdES B-T\): TOTAL_PASSED/);
    expect(r.out).toContain(A);
    expect(r.out).toContain('modified after signing: no');
  }, 60_000);

  it('--json prints the whole report', async () => {
    const r = await run('verify', w('signed.pdf'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ indication: 'TOTAL_PASSED', document: { kind: 'pdf' } });
    expect(report.signatures[0].signer.agency.creditCode).toBe(A);
  }, 60_000);

  it('exit 1 for a tampered PDF and for garbage', async () => {
    const r = await run('verify', w('tampered.pdf'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('TOTAL_FAILED');
    expect(r.out).toMatch(/✗ /);
    const g = await run('verify', w('note.txt'), '--json');
    expect(g.code).toBe(1);
    expect(JSON.parse(g.out)).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
  }, 60_000);

  it('--signature: a detached CAdES signature, exit 0 over its content and 1 over another file', async () => {
    const ok = await run('verify', w('note.txt'), '--signature', w('note.p7s'));
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/signature 1 .*\(CAdES B-T\): TOTAL_PASSED/);
    expect((await run('verify', w('other.txt'), '--signature', w('note.p7s'))).code).toBe(1);
  }, 60_000);

  it('with the store, --offline still passes a B-T signature: our CA answers for its own certificates locally; --trust adds to its anchors', async () => {
    const offline = await run('verify', w('signed.pdf'), '--offline', '--json');
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.out).policy.revocation).toBe('offline');
    const trusted = await run('verify', w('signed.pdf'), '--trust', w('ca.pem'), '--json');
    expect(trusted.code).toBe(0);
    expect(JSON.parse(trusted.out).policy.trustAnchors).toHaveLength(3);
  }, 60_000);

  it('exit 2 without a store and without --trust: no trust anchor, INDETERMINATE; nothing is created', async () => {
    const r = await runIn(empty, 'verify', w('signed.pdf'), '--json');
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out);
    expect(report.indication).toBe('INDETERMINATE');
    expect(report.policy.trustAnchors).toEqual([]);
    expect(fs.readdirSync(empty)).toEqual([]);
  }, 60_000);

  it('--trust CA.pem (several certificates) without a store: --offline B-LT passes from its DSS; --offline B-T is INDETERMINATE (revocation unknown)', async () => {
    const lt = await runIn(empty, 'verify', w('signed-lt.pdf'), '--trust', w('ca.pem'), '--offline', '--json');
    expect(lt.code).toBe(0);
    expect(JSON.parse(lt.out)).toMatchObject({ indication: 'TOTAL_PASSED', policy: { revocation: 'offline' } });
    const bt = await runIn(empty, 'verify', w('signed.pdf'), '--trust', w('ca.pem'), '--offline');
    expect(bt.code).toBe(2);
    expect(bt.out).toContain('INDETERMINATE');
    expect(bt.out).toContain('policy: revocation offline');
  }, 60_000);

  it(`usage errors exit 64: no FILE, an unreadable file, an unknown option, a --trust file that holds no certificate`, async () => {
    expect((await run('verify')).code).toBe(64);
    const missing = await run('verify', w('does-not-exist.pdf'));
    expect(missing.code).toBe(64);
    expect(missing.err).toContain('cannot be read');
    expect((await run('verify', w('signed.pdf'), '--signature', w('nope.p7s'))).code).toBe(64);
    expect((await run('verify', w('signed.pdf'), '--frobnicate')).code).toBe(64);
    const garbage = await run('verify', w('signed.pdf'), '--trust', w('garbage.pem'));
    expect(garbage.code).toBe(64);
    expect(garbage.err).toContain('--trust');
    expect((await run('verify', w('signed.pdf'), '--trust', w('nothing.pem'))).code).toBe(64);
  }, 60_000);

  it('exit 70 when the verification cannot run (a configuration error)', async () => {
    process.env.ESEAL_REVOCATION = 'sometimes';
    try {
      const r = await run('verify', w('signed.pdf'));
      expect(r.code).toBe(70);
      expect(r.err).toContain('ESEAL_REVOCATION');
    } finally {
      delete process.env.ESEAL_REVOCATION;
    }
  });
});
