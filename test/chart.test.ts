import { PANELS, benchChart } from '../lab/chart';

describe('the bench chart', () => {
  const rows = [
    { label: 'ours', highlight: true, values: [10, 5000, 100_000, 55_000] },
    { label: 'peer <one> & "two"', highlight: false, values: [5, 2500, 25_000, 55_000] },
    { label: 'broken', highlight: false, values: [0, 0, 0, 0], notes: Array(4).fill('does not translate') },
  ];
  const svg = benchChart(rows, 'caption & date');
  const bars = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)" height="\d+" fill="(#[0-9a-f]+)"\/>/g)];

  test('one bar per set-up and figure, each as long as its value relative to the largest', () => {
    expect(bars).toHaveLength(rows.length * PANELS.length);
    const widths = bars.map((b) => Number(b[1]));
    // panel by panel: the largest gets the full length, half the value half the length
    expect(widths).toEqual([330, 165, 0, 330, 165, 0, 330, 82.5, 0, 330, 330, 0]);
  });

  test('ours stands out; labels, values and notes are written out and escaped', () => {
    expect(bars.map((b) => b[2])).toEqual(Array(4).fill(['#d9480f', '#868e96', '#868e96']).flat());
    expect(svg).toContain('peer &lt;one&gt; &amp; &quot;two&quot;');
    expect(svg).toContain('>100,000<');
    expect(svg).toContain('>5,000<');
    expect(svg).toContain('>10.00<');
    expect(svg.match(/>does not translate</g)).toHaveLength(4);
    expect(svg).toContain('caption &amp; date');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  test.each([
    [[1, 2, 3], 'needs 4 figures'],
    [[1, NaN, 3, 4], 'each a number of 0 or more'],
    [[1, -2, 3, 4], 'each a number of 0 or more'],
  ])('refuses the figures %j', (values, message) => {
    expect(() => benchChart([{ label: 'x', highlight: false, values }], '')).toThrow(message);
  });
});
