/**
 * The bench's chart: one panel per figure, one horizontal bar per set-up, as a self-contained
 * SVG (no fonts or scripts to fetch), so that it renders on GitHub and in any browser.
 */

/** One set-up's figures, as the chart needs them. */
export interface ChartRow {
  readonly label: string;
  /** Drawn in the accent colour. */
  readonly highlight: boolean;
  /** One value per panel, in the order of PANELS; a set-up that failed a figure has 0. */
  readonly values: readonly number[];
  /** Shown after a bar instead of the value, such as "does not translate". */
  readonly notes?: readonly (string | undefined)[];
}

export const PANELS = [
  { title: 'TCP throughput (Gbit/s)', format: (v: number) => v.toFixed(2) },
  { title: 'new TCP connections per second', format: (v: number) => Math.round(v).toLocaleString('en-US') },
  { title: 'concurrent flows held, 0 failed', format: (v: number) => Math.round(v).toLocaleString('en-US') },
  { title: 'flows held to one destination address and port, 0 failed', format: (v: number) => Math.round(v).toLocaleString('en-US') },
] as const;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const LABEL_WIDTH = 250;
const BAR_WIDTH = 330;
const ROW_HEIGHT = 22;
const PANEL_GAP = 40;

function panel(title: string, rows: readonly ChartRow[], index: number, top: number, format: (v: number) => string): string[] {
  const max = Math.max(...rows.map((r) => r.values[index]), 0);
  const parts = [`<text x="0" y="${top + 14}" font-weight="bold">${escape(title)}</text>`];
  rows.forEach((row, i) => {
    const y = top + 24 + i * ROW_HEIGHT;
    const value = row.values[index];
    const width = max > 0 ? Math.max(0, (value / max) * BAR_WIDTH) : 0;
    const note = row.notes?.[index];
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 14}" text-anchor="end">${escape(row.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y + 3}" width="${width.toFixed(1)}" height="${ROW_HEIGHT - 6}" fill="${row.highlight ? '#d9480f' : '#868e96'}"/>`,
      `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${y + 14}">${escape(note ?? format(value))}</text>`,
    );
  });
  return parts;
}

/** The chart of one bench run: every panel, every set-up, and a caption. */
export function benchChart(rows: readonly ChartRow[], caption: string): string {
  for (const row of rows) {
    if (row.values.length !== PANELS.length || row.values.some((v) => !Number.isFinite(v) || v < 0)) {
      throw new Error(`chart: ${row.label} needs ${PANELS.length} figures, each a number of 0 or more; got ${JSON.stringify(row.values)}`);
    }
  }
  const panelHeight = 24 + rows.length * ROW_HEIGHT;
  const height = PANELS.length * (panelHeight + PANEL_GAP) + 10;
  const width = LABEL_WIDTH + BAR_WIDTH + 140;
  const body = PANELS.flatMap((p, i) => panel(p.title, rows, i, i * (panelHeight + PANEL_GAP), p.format));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    `<text x="0" y="${height - 4}" fill="#495057">${escape(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
