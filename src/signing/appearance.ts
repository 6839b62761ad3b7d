/**
 * The visible seal drawn as PDF vector operators inside a square form XObject of `size` points:
 * a red double ring and a five-pointed star in the centre — the shape of a Chinese official seal.
 * (The agency name on the arc and the seal name beneath need glyph outlines from a CJK font;
 * that comes with the appearance work of the seals capability.)
 */
export function sealAppearanceStream(size: number): Buffer {
  const c = size / 2;
  const f = (n: number) => (Math.round(n * 1000) / 1000).toString();
  const circle = (r: number) => {
    // Four cubic Béziers; k = 4(√2 − 1)/3.
    const k = 0.5522847498 * r;
    return [
      `${f(c + r)} ${f(c)} m`,
      `${f(c + r)} ${f(c + k)} ${f(c + k)} ${f(c + r)} ${f(c)} ${f(c + r)} c`,
      `${f(c - k)} ${f(c + r)} ${f(c - r)} ${f(c + k)} ${f(c - r)} ${f(c)} c`,
      `${f(c - r)} ${f(c - k)} ${f(c - k)} ${f(c - r)} ${f(c)} ${f(c - r)} c`,
      `${f(c + k)} ${f(c - r)} ${f(c + r)} ${f(c - k)} ${f(c + r)} ${f(c)} c`,
    ].join('\n');
  };
  const star = (r: number) => {
    const pts: string[] = [];
    for (let i = 0; i < 10; i++) {
      const radius = i % 2 === 0 ? r : r * 0.382;
      const a = Math.PI / 2 + (i * Math.PI) / 5;
      pts.push(`${f(c + radius * Math.cos(a))} ${f(c + radius * Math.sin(a))} ${i === 0 ? 'm' : 'l'}`);
    }
    return pts.join('\n') + '\nh';
  };
  const ring = size * 0.04;
  return Buffer.from(
    [
      'q',
      '0.86 0.08 0.09 RG 0.86 0.08 0.09 rg',
      `${f(ring)} w`,
      circle(c - ring),
      'S',
      `${f(ring / 3)} w`,
      circle(c - ring * 2.6),
      'S',
      star(size * 0.2),
      'f',
      'Q',
      '',
    ].join('\n'),
    'latin1',
  );
}
