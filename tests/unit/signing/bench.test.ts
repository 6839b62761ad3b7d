import { benchCades } from '../../../src/signing/bench';

describe('benchCades', () => {
  it('reports medians of at least five runs and their ratio (figures themselves are for `npm run bench`)', async () => {
    const lines: string[] = [];
    const [r] = await benchCades({ algorithms: ['ES256'], seconds: 0.01, runs: 3, progress: (l) => lines.push(l) });
    expect(r!.algorithm).toBe('ES256');
    expect(r!.runs).toBe(5);
    expect(lines).toHaveLength(5);
    expect(r!.bytes).toBe(1024);
    expect(r!.cadesPerSecond).toBeGreaterThan(0);
    expect(r!.rawPerSecond).toBeGreaterThan(0);
    expect(r!.ratio).toBeCloseTo(r!.cadesPerSecond / r!.rawPerSecond, 10);
    expect(r!.cmsBytes).toBeGreaterThan(500);
  });
});
