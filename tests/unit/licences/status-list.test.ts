import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { decodeStatusList, encodeStatusList, statusBit, STATUS_LIST_SIZE } from '../../../src/licences/status-list';

describe('bitstring status list', () => {
  it('puts index 0 in the left-most bit and keeps 131,072 entries', () => {
    const enc = encodeStatusList([0, 9, STATUS_LIST_SIZE - 1]);
    expect(enc[0]).toBe('u');
    const raw = gunzipSync(Buffer.from(enc.slice(1), 'base64url'));
    expect(raw.length * 8).toBe(131_072);
    expect(raw[0]).toBe(0x80);
    expect(raw[1]).toBe(0x40);
    expect(raw[raw.length - 1]).toBe(0x01);
  });

  it('round-trips any set of indexes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: STATUS_LIST_SIZE - 1 }), { maxLength: 50 }), fc.integer({ min: 0, max: STATUS_LIST_SIZE - 1 }), (set, probe) => {
        const bits = decodeStatusList(encodeStatusList(set));
        for (const i of set) expect(statusBit(bits, i)).toBe(true);
        expect(statusBit(bits, probe)).toBe(set.includes(probe));
      }),
      { numRuns: 30 },
    );
  });

  it('rejects malformed lists and out-of-range indexes with errors, not crashes', () => {
    for (const bad of ['', 'x', 'u', 'u!!', 'uAAAA', 'z' + encodeStatusList([]).slice(1)]) expect(() => decodeStatusList(bad)).toThrow();
    expect(() => encodeStatusList([STATUS_LIST_SIZE])).toThrow(RangeError);
    expect(() => statusBit(Buffer.alloc(2), 16)).toThrow(RangeError);
  });
});
