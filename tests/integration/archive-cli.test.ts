import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli';
import { tmpDir } from '../helpers/stores';
import { buildPdf } from '../unit/pdf/fixtures';

/**
 * `eseal archive add DIR --metadata FILE.csv --agency CODE` on the local store: progress on
 * stderr, refusals listed, resumable (a rerun files nothing twice). Exit 0 all filed, 1 some
 * refused, 2 unusable input.
 */
const A = '11330105002500287C';
const HEADER = 'file,title,responsibleAgency,date,documentNumber,retention,classification,fonds,series,recordType';
const row = (file: string, title: string) => `${file},"${title}",杭州市西湖区市场监督管理局,2026-02-01,"西市监〔2026〕3号",30y,public,J001,XZXK,notice`;

describe('eseal archive add', () => {
  const dir = tmpDir();
  const work = tmpDir('eseal-archive-cli-');
  const docs = path.join(work, 'docs');
  const saved = { ...process.env };
  const w = (n: string) => path.join(work, n);

  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'eseal', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  beforeAll(async () => {
    process.env.ESEAL_DATA_DIR = dir;
    process.env.ESEAL_ARCHIVE_WINDOW_MS = '20';
    for (const v of ['MONGODB_URI', 'ESEAL_MASTER_KEY', 'ESEAL_MASTER_KEY_FILE', 'ESEAL_KEY_STORE', 'ESEAL_PKCS11_TOKEN', 'ESEAL_TRUST_ANCHORS', 'ESEAL_REVOCATION', 'ESEAL_REVOCATION_HOSTS']) {
      delete process.env[v];
    }
    fs.mkdirSync(docs);
    expect((await run('init')).code).toBe(0);
    expect((await run('agency', 'add', '--code', A, '--name', '杭州市西湖区市场监督管理局')).code).toBe(0);
    const seal = (await run('seal', 'create', '--agency', A, '--name', '公章', '--kind', 'official')).out.split('\n')[0]!;
    for (const i of [1, 2, 3]) {
      fs.writeFileSync(w(`in${i}.pdf`), buildPdf({ pages: i }));
      expect((await run('sign', w(`in${i}.pdf`), '--seal', seal, '--format', 'pades', '--level', 'B-B', '-o', path.join(docs, `d${i}.pdf`))).code).toBe(0);
    }
    fs.writeFileSync(path.join(docs, 'unsigned.pdf'), buildPdf());
  }, 120_000);
  afterAll(() => {
    process.env = saved;
    for (const d of [dir, work]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('files each row, lists refusals, and a rerun files nothing twice', async () => {
    fs.writeFileSync(w('meta.csv'), [HEADER, row('d1.pdf', '批复一'), row('d2.pdf', '批复二'), row('unsigned.pdf', '未签名'), row('../in1.pdf', '目录外')].join('\n') + '\n');
    const first = await run('archive', 'add', docs, '--metadata', w('meta.csv'), '--agency', A);
    expect(first.code).toBe(1);
    expect(first.out).toMatch(/^2 filed, 0 already done before, 2 refused \(of 4 rows\)/);
    expect(first.out).toMatch(/line 4 unsigned.pdf: ARCHIVE_CHECKS_FAILED \(authenticity\)/);
    expect(first.out).toMatch(/line 5 \.\.\/in1.pdf: the file must be inside DIR/);
    expect(first.err).toMatch(/\[#+\.*\] 4\/4 100%/);
    const state = JSON.parse(fs.readFileSync(w('meta.csv.state.json'), 'utf8'));
    const numbers = Object.values(state.done as Record<string, { registrationNumber?: string }>).map((v) => v.registrationNumber).filter(Boolean).sort();
    expect(numbers).toEqual(['J001-2026-D30-000001', 'J001-2026-D30-000002']);

    // Resume with one more row: only the new row is filed.
    fs.appendFileSync(w('meta.csv'), row('d3.pdf', '批复三') + '\n');
    const second = await run('archive', 'add', docs, '--metadata', w('meta.csv'), '--agency', A, '--json');
    expect(JSON.parse(second.out)).toMatchObject({ total: 5, filed: 1, skipped: 3 });
    const again = await run('archive', 'add', docs, '--metadata', w('meta.csv'), '--agency', A, '--json');
    expect(JSON.parse(again.out)).toMatchObject({ filed: 0, skipped: 4 });
  });

  it('refuses unusable input with exit 2', async () => {
    fs.writeFileSync(w('bad.csv'), 'file,title\nd1.pdf,x\n');
    const r = await run('archive', 'add', docs, '--metadata', w('bad.csv'), '--agency', A);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/lacks column\(s\) responsibleAgency/);
    fs.writeFileSync(w('broken.csv'), HEADER + '\n"unterminated\n');
    expect((await run('archive', 'add', docs, '--metadata', w('broken.csv'), '--agency', A)).code).toBe(2);
    expect((await run('archive', 'add', docs, '--metadata', w('missing.csv'), '--agency', A)).code).toBe(2);
  });
});
