import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli';
import { csvLine } from '../../src/licences/csv';
import { isValidLicenceIdentifier } from '../../src/licences/identifier';
import { openSqliteStores } from '../../src/store';
import { withCreditCodeCheck } from '../../src/identifiers';
import { tmpDir } from '../helpers/stores';

/**
 * `eseal licence batch`: progress, per-row errors in a CSV, idempotent reruns, and a kill -9 in
 * the middle of a batch followed by a rerun: every row issued exactly once, identifiers distinct
 * with valid check characters, every licence with its log entry.
 */
const AGENCY = '11330105002500287C';

function csvFile(dir: string, rows: number, bad: number[] = []): string {
  const header = ['key', 'holderName', 'holderCodeType', 'holderCode', 'validFrom', 'validUntil', 'data.permitNumber', 'data.legalRepresentative', 'data.residence', 'data.businessPremises', 'data.mainBusinessFormat', 'data.businessItems', 'data.dailySupervisionAuthority'];
  let text = csvLine(header);
  for (let i = 1; i <= rows; i++) {
    const code = withCreditCodeCheck('91330106MA' + String(i).padStart(7, '0'));
    text += csvLine([
      `R${i}`,
      `杭州第${i}号餐饮有限公司`,
      '001',
      bad.includes(i) ? code.slice(0, 17) + (code[17] === '0' ? '1' : '0') : code,
      '2025-01-01',
      '2029-12-31',
      `JY2330106${String(i).padStart(7, '0')}`,
      '李明',
      '杭州市西湖区文三路1号',
      `杭州市西湖区文三路${i}号`,
      '餐饮服务经营者',
      '热食类食品制售|冷食类食品制售',
      '西湖区市场监督管理局',
    ]);
  }
  const file = path.join(dir, `batch-${rows}.csv`);
  fs.writeFileSync(file, text);
  return file;
}

describe('eseal licence batch', () => {
  const dir = tmpDir();
  const saved = { ...process.env };
  let sealId: string;
  beforeAll(async () => {
    process.env.ESEAL_DATA_DIR = dir;
    delete process.env.MONGODB_URI;
    await run('init', '--json');
    expect((await run('agency', 'add', '--code', AGENCY, '--name', '杭州市西湖区市场监督管理局', '--json')).code).toBe(0);
    sealId = JSON.parse((await run('seal', 'create', '--agency', AGENCY, '--name', '行政许可专用章', '--kind', 'licence', '--json')).out).id;
  });
  afterAll(() => {
    process.env = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['node', 'eseal', ...args], { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
    return { code, out, err };
  }

  async function issuedState() {
    const stores = openSqliteStores({ file: path.join(dir, 'eseal.sqlite') });
    try {
      const all = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof stores.licences.list>> = await stores.licences.list({ limit: 500, cursor });
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      const logged = new Set<string>();
      const size = await stores.log.size();
      for (const e of await stores.log.getEntries(0, size)) if (e.type === 'licence.issued') logged.add(JSON.parse(Buffer.from(e.leafInput, 'base64').toString()).subject.licenceId);
      return { all, logged };
    } finally {
      await stores.close();
    }
  }

  it('issues a CSV with progress, writes failed rows to the errors CSV, and a rerun issues nothing new', async () => {
    const file = csvFile(dir, 120, [7, 50]);
    const first = await run('licence', 'batch', file, '--type', 'food-business-permit', '--seal', sealId, '--no-pdf', '--json');
    expect(first.code).toBe(1); // two rows failed
    expect(JSON.parse(first.out)).toMatchObject({ total: 120, issued: 118, alreadyIssued: 0, failed: 2 });
    expect(first.err).toMatch(/\[#{30}\] 120\/120 100%/);
    const errors = fs.readFileSync(file.replace(/\.csv$/, '.errors.csv'), 'utf8').trim().split('\r\n');
    expect(errors[0]).toBe('line,key,code,pointer,detail');
    expect(errors.slice(1).map((l) => l.split(',').slice(1, 4).join(','))).toEqual(
      expect.arrayContaining(['R7,LICENCE_DATA_INVALID,/holder/code', 'R50,LICENCE_DATA_INVALID,/holder/code']),
    );
    const again = await run('licence', 'batch', file, '--type', 'food-business-permit', '--seal', sealId, '--no-pdf', '--json');
    expect(JSON.parse(again.out)).toMatchObject({ total: 120, issued: 0, alreadyIssued: 118, failed: 2 });
    const { all } = await issuedState();
    expect(all.length).toBe(118);
    // Malformed CSV → a usage error naming the line, nothing issued.
    const broken = path.join(dir, 'broken.csv');
    fs.writeFileSync(broken, 'key,holderName,holderCodeType,holderCode,validFrom\nX1,"unterminated,001,x,2025-01-01\n');
    const b = await run('licence', 'batch', broken, '--type', 'food-business-permit', '--seal', sealId, '--no-pdf');
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/PARSE_ERROR.*line 2/);
  }, 120_000);

  it('kill -9 in the middle of a batch, then rerun: every row issued exactly once, distinct valid identifiers, each logged', async () => {
    const rows = 600;
    const file = csvFile(dir, rows);
    const child = spawn(
      process.execPath,
      ['-r', path.join(__dirname, '../helpers/ts-register.js'), path.join(__dirname, '../helpers/licence-batch-child.ts'), 'licence', 'batch', file, '--type', 'food-business-permit', '--seal', sealId, '--no-pdf', '--concurrency', '16'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ESEAL_DATA_DIR: dir } },
    );
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Kill once the progress bar has passed 30 %.
        if (/\] \d+\/600 ([3-9]\d)%/.test(stderr) && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code} before the kill: ${stderr}`))));
    });
    const mid = await issuedState();
    const before = mid.all.filter((l) => l.typeId === 'food-business-permit' && l.idempotencyKey?.includes(':csv:R') && Number(l.idempotencyKey.split(':R')[1]) <= rows).length;
    expect(before).toBeGreaterThan(0);

    const rerun = await run('licence', 'batch', file, '--type', 'food-business-permit', '--seal', sealId, '--no-pdf', '--json');
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.out);
    expect(summary.failed).toBe(0);
    expect(summary.issued + summary.alreadyIssued).toBe(rows);

    const { all, logged } = await issuedState();
    const keys = all.map((l) => l.idempotencyKey);
    expect(new Set(keys).size).toBe(all.length); // no row twice
    const identifiers = all.map((l) => l.identifier);
    expect(new Set(identifiers).size).toBe(all.length);
    expect(identifiers.every(isValidLicenceIdentifier)).toBe(true);
    for (const l of all) expect(logged.has(l.id)).toBe(true); // no licence without its log entry
  }, 180_000);
});
