import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileLicenceType, DEFAULT_LICENCE_TYPES_DIR, LicenceTypeRegistry } from '../../../src/licences/licence-types';

const shipped = () => JSON.parse(fs.readFileSync(path.join(DEFAULT_LICENCE_TYPES_DIR, 'business-licence.json'), 'utf8'));

describe('licence types as data', () => {
  it('loads the shipped types and checks face data with their JSON Schemas', () => {
    const reg = LicenceTypeRegistry.load();
    expect(reg.list().map((t) => t.id).sort()).toEqual(['business-licence', 'food-business-permit', 'residence-permit']);
    const food = reg.get('food-business-permit')!;
    expect(food.check({})).toEqual(expect.arrayContaining([expect.objectContaining({ pointer: '/data/permitNumber', code: 'REQUIRED' })]));
    const errs = food.check({ permitNumber: 'JY1', legalRepresentative: '李', residence: 'x', businessPremises: '杭州市某路1号', mainBusinessFormat: '网吧', businessItems: [], dailySupervisionAuthority: '西湖区局', extra: true });
    expect(errs.map((e) => e.pointer).sort()).toEqual(['/data/businessItems', '/data/extra', '/data/legalRepresentative', '/data/mainBusinessFormat', '/data/permitNumber', '/data/residence']);
  });

  it('refuses malformed type files, naming the problem', () => {
    const cases: [(t: any) => void, RegExp][] = [
      [(t) => (t.typeCode = '123'), /typeCode/],
      [(t) => (t.typeCode = '11100000000013127D001'), /defining authority/],
      [(t) => (t.definingAuthority.creditCode = '11100000000013338X'), /check digit|creditCode/],
      [(t) => t.layout.fields.push({ key: 'nope', label: 'x', x: 1, y: 1 }), /nope is not in the schema/],
      [(t) => (t.schema = { type: 'object', properties: { a: { type: 'strng' } } }), /does not compile/],
      [(t) => (t.layout.seal = { x: 1 }), /\/layout\/seal/],
      [(t) => (t.holderCodeTypes = ['999']), /holderCodeTypes/],
      [(t) => (t.unexpected = 1), /unexpected/],
    ];
    for (const [mutate, re] of cases) {
      const t = shipped();
      mutate(t);
      expect(() => compileLicenceType(t, 'x.json')).toThrow(re);
    }
    for (const junk of [null, 1, 'x', [], {}]) expect(() => compileLicenceType(junk, 'x.json')).toThrow(/licence type x\.json/);
  });

  it('refuses a directory with invalid JSON, a file name that is not the id, or a duplicate type code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eseal-types-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.json'), '{');
      expect(() => LicenceTypeRegistry.load(dir)).toThrow(/a\.json: not valid JSON/);
      fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(shipped()));
      expect(() => LicenceTypeRegistry.load(dir)).toThrow(/does not match the file name/);
      fs.rmSync(path.join(dir, 'a.json'));
      fs.writeFileSync(path.join(dir, 'business-licence.json'), JSON.stringify(shipped()));
      fs.writeFileSync(path.join(dir, 'copy.json'), JSON.stringify({ ...shipped(), id: 'copy' }));
      expect(() => LicenceTypeRegistry.load(dir)).toThrow(/defined twice/);
      // A new type is a file, no code.
      fs.writeFileSync(path.join(dir, 'copy.json'), JSON.stringify({ ...shipped(), id: 'copy', typeCode: '11100000000013338W099', name: '复印件' }));
      expect(LicenceTypeRegistry.load(dir).get('copy')?.name).toBe('复印件');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
