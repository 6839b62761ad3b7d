import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { buildHashTree, hashSortedConcat, rootFromPath } from '../../../src/archive/hash-tree';

const h = (s: string | Buffer) => createHash('sha256').update(s).digest();

describe('archive hash tree (RFC 4998 §4.2/§4.3)', () => {
  it('hashes sorted concatenations without domain prefixes', () => {
    const a = h('a');
    const b = h('b');
    const [lo, hi] = Buffer.compare(a, b) < 0 ? [a, b] : [b, a];
    expect(hashSortedConcat('sha256', [a, b])).toEqual(h(Buffer.concat([lo, hi])));
    expect(hashSortedConcat('sha256', [b, a])).toEqual(hashSortedConcat('sha256', [a, b]));
    // Not the RFC 9162 node hash (0x01 prefix).
    expect(hashSortedConcat('sha256', [a, b])).not.toEqual(h(Buffer.concat([Buffer.from([1]), lo, hi])));
  });

  it('one leaf: the root is the data hash and there is no reduced tree', () => {
    const t = buildHashTree('sha256', [h('only')]);
    expect(t.root).toEqual(h('only'));
    expect(t.reduced).toEqual([null]);
    expect(rootFromPath('sha256', h('only'), null)).toEqual(h('only'));
  });

  it('three leaves, worked by hand: the odd leaf moves up unhashed', () => {
    const [d1, d2, d3] = [h('d1'), h('d2'), h('d3')];
    const h12 = hashSortedConcat('sha256', [d1, d2]);
    const root = hashSortedConcat('sha256', [h12, d3]);
    const t = buildHashTree('sha256', [d1, d2, d3]);
    expect(t.root).toEqual(root);
    expect(t.reduced[0]).toEqual([[d1, d2], [d3]]);
    expect(t.reduced[2]).toEqual([[d3, h12]]);
    // The computed parent is added to the next list (it is not stored there).
    expect(rootFromPath('sha256', d1, t.reduced[0]!)).toEqual(root);
    expect(rootFromPath('sha256', d3, t.reduced[2]!)).toEqual(root);
  });

  it('every leaf of any tree walks its reduced tree back to the root; other data does not', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 70 }), (datas) => {
        const leaves = datas.map((d) => h(Buffer.from(d)));
        const t = buildHashTree('sha256', leaves);
        leaves.forEach((leaf, i) => expect(rootFromPath('sha256', leaf, t.reduced[i]!)).toEqual(t.root));
        if (leaves.length > 1) {
          const stranger = h('not in the tree');
          if (!leaves.some((l) => l.equals(stranger))) expect(rootFromPath('sha256', stranger, t.reduced[0]!)).toBeNull();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a changed sibling leads to another root', () => {
    const leaves = ['a', 'b', 'c', 'd', 'e'].map(h);
    const t = buildHashTree('sha256', leaves);
    const p = t.reduced[1]!.map((l) => l.map((x) => Buffer.from(x)));
    p[1]![0]![0] ^= 1;
    expect(rootFromPath('sha256', leaves[1]!, p)).not.toEqual(t.root);
  });
});
