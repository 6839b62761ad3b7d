import fs from 'node:fs';
import { main } from '../../src/cli';
import { tmpDir } from '../helpers/stores';

describe('eseal CLI', () => {
  const dir = tmpDir();
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.ESEAL_DATA_DIR = dir;
    delete process.env.MONGODB_URI;
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

  it('init, agency add/list, api-key create/list/revoke with --json', async () => {
    const init = await run('init', '--json');
    expect(init.code).toBe(0);
    expect(JSON.parse(init.out)).toMatchObject({ store: 'sqlite', adminKeyCreated: true });
    expect(fs.statSync(`${dir}/admin.key`).mode & 0o777).toBe(0o600);

    expect((await run('agency', 'add', '--code', '11330105002500287C', '--name', '西湖区市场监管局', '--json')).code).toBe(0);
    const bad = await run('agency', 'add', '--code', '11330105002500287D', '--name', 'x');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('INVALID_CREDIT_CODE');
    const list = JSON.parse((await run('agency', 'list', '--json')).out);
    expect(list.map((a: { code: string }) => a.code)).toEqual(['11330105002500287C']);

    const created = JSON.parse((await run('api-key', 'create', '--agency', '11330105002500287C', '--roles', 'signer,counter', '--label', 'desk 1', '--json')).out);
    expect(created.key).toMatch(/^es_/);
    const keys = (await run('api-key', 'list', '--json')).out;
    expect(keys).toContain(created.id);
    expect(keys).not.toContain(created.key);
    expect(JSON.parse((await run('api-key', 'revoke', created.id, '--json')).out).revokedAt).not.toBeNull();
    expect((await run('api-key', 'revoke', created.id)).err).toContain('ALREADY_REVOKED');
    expect((await run('api-key', 'create', '--roles', 'root', '--label', 'x')).code).toBe(2);
  });
});
