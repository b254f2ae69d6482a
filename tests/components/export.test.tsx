// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { CSSProperties } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildExport, ChartFrame, ExportHandlerContext } from '../../src-renderer/charts/ChartFrame.js';
import { DistributionBars } from '../../src-renderer/charts/DistributionBars.js';
import { csvField, dataUrlToBlob, rowsToCsv, toCsv, toJson, type ExportFile } from '../../src-renderer/charts/export.js';
import { Heatmap } from '../../src-renderer/charts/Heatmap.js';
import { seriesCsv } from '../../src-renderer/charts/LineChart.js';
import type { DivergingScale } from '../../src-renderer/charts/scales.js';

afterEach(cleanup);

const EFFECT: DivergingScale = { kind: 'diverging', positive: 'restores the clean answer', negative: 'hurts it', label: 'logit diff' };

async function exportVia(format: 'CSV' | 'JSON' | 'SVG' | 'PNG', onExport: ReturnType<typeof vi.fn>): Promise<ExportFile> {
  fireEvent.click(screen.getByText('Export'));
  fireEvent.click(screen.getByRole('button', { name: format }));
  await waitFor(() => expect(onExport).toHaveBeenCalled());
  return onExport.mock.calls.at(-1)?.[0] as ExportFile;
}

describe('CSV and JSON text', () => {
  it('toCsv writes a header of column labels and one labelled line per row', () => {
    const csv = toCsv(
      [
        [1, 0.5, -0.125],
        [NaN, -2, 1e-7],
      ],
      ['L0', 'L1'],
      ['H0', 'H1', 'H2'],
    );
    expect(csv).toBe(',H0,H1,H2\nL0,1,0.5,-0.125\nL1,,-2,1e-7\n');
  });

  it('quotes fields with commas, quotes and newlines', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' Mary')).toBe(' Mary');
    expect(csvField(null)).toBe('');
    expect(rowsToCsv(['token', 'p'], [[',', 0.25]])).toBe('token,p\n",",0.25\n');
  });

  it('refuses labels that do not match the matrix', () => {
    expect(() => toCsv([[1, 2]], ['L0'], ['H0'])).toThrow('row 0 has 2 values for 1 column labels');
    expect(() => toCsv([[1]], [], ['H0'])).toThrow('0 row labels for 1 rows');
  });

  it('toJson writes NaN and Infinity as null', () => {
    expect(toJson({ a: NaN, b: [1, Infinity, -0.5] })).toBe('{\n  "a": null,\n  "b": [\n    1,\n    null,\n    -0.5\n  ]\n}\n');
  });

  it('seriesCsv writes one line per point', () => {
    expect(
      seriesCsv([
        { name: 'train loss', y: [2.5, 1.25] },
        { name: 'eval', x: [0, 10], y: [3, NaN] },
      ]),
    ).toBe('series,x,y\ntrain loss,0,2.5\ntrain loss,1,1.25\neval,0,3\neval,10,\n');
  });

  it('decodes data: URLs from plotly (percent-encoded and base64)', async () => {
    expect(await dataUrlToBlob('data:image/svg+xml,%3Csvg%3E%3C%2Fsvg%3E').text()).toBe('<svg></svg>');
    const b64 = dataUrlToBlob('data:image/png;base64,AAEC');
    expect(b64.type).toBe('image/png');
    expect(Array.from(new Uint8Array(await b64.arrayBuffer()))).toEqual([0, 1, 2]);
  });
});

describe('export menu', () => {
  const values = [
    [0.25, -0.5, NaN],
    [1, 0, -1],
  ];

  it('hands the heatmap CSV to the export handler, exactly', async () => {
    const onExport = vi.fn();
    render(<Heatmap title="Head effects" orientation="head" values={values} scale={EFFECT} onExport={onExport} />);
    const file = await exportVia('CSV', onExport);
    expect(file).toEqual({ filename: 'head-effects.csv', mime: 'text/csv', data: ',H0,H1,H2\nL0,0.25,-0.5,\nL1,1,0,-1\n' });
  });

  it('JSON holds labels, values (NaN as null), scale and selection', async () => {
    const onExport = vi.fn();
    render(
      <Heatmap title="Head effects" orientation="head" values={values} scale={EFFECT} outlined={[[1, 0]]} locked={[0, 1]} exportName="ioi-heads" onExport={onExport} />,
    );
    const file = await exportVia('JSON', onExport);
    expect(file.filename).toBe('ioi-heads.json');
    expect(file.mime).toBe('application/json');
    expect(JSON.parse(file.data as string)).toEqual({
      title: 'Head effects',
      rows: ['L0', 'L1'],
      cols: ['H0', 'H1', 'H2'],
      values: [
        [0.25, -0.5, null],
        [1, 0, -1],
      ],
      scale: { kind: 'diverging', domain: [-1, 1], label: 'logit diff' },
      outlined: [[1, 0]],
      locked: [0, 1],
    });
  });

  it('SVG export is a standalone SVG document with every cell, legend and background', async () => {
    const onExport = vi.fn();
    render(
      <div style={{ '--bg': '#101010', '--fg': '#eeeeee' } as CSSProperties}>
        <Heatmap title="Head effects" orientation="head" values={values} scale={EFFECT} onExport={onExport} />
      </div>,
    );
    const file = await exportVia('SVG', onExport);
    expect(file.mime).toBe('image/svg+xml');
    const doc = new DOMParser().parseFromString(file.data as string, 'image/svg+xml');
    expect(doc.getElementsByTagName('parsererror')).toHaveLength(0);
    const root = doc.documentElement;
    expect(root.localName).toBe('svg');
    expect(root.namespaceURI).toBe('http://www.w3.org/2000/svg');
    expect(Number(root.getAttribute('width'))).toBeGreaterThan(0);
    const cells = Array.from(doc.querySelectorAll('rect[data-cell]'));
    expect(cells).toHaveLength(6);
    const live = Array.from(document.querySelectorAll('[data-layer="cells"] rect[data-cell]')).map((c) => c.getAttribute('fill'));
    expect(cells.map((c) => c.getAttribute('fill'))).toEqual(live);
    expect(doc.querySelector('rect[data-background]')?.getAttribute('fill')).toBe('#101010');
    expect(doc.documentElement.textContent).toContain('blue (+): restores the clean answer');
    // The hatch pattern the NaN cell points at travels with the file.
    const nan = cells.find((c) => c.getAttribute('data-nan') === 'true')!;
    expect(doc.getElementById(nan.getAttribute('fill')!.slice(5, -1))).not.toBeNull();
  });

  it('canvas-drawn heatmaps still export every cell as SVG', async () => {
    const onExport = vi.fn();
    const big = Array.from({ length: 3 }, (_, r) => Array.from({ length: 5 }, (_, c) => (r - c) / 5));
    render(<Heatmap title="Big" render="canvas" values={big} scale={EFFECT} onExport={onExport} />);
    const file = await exportVia('SVG', onExport);
    const doc = new DOMParser().parseFromString(file.data as string, 'image/svg+xml');
    expect(doc.querySelectorAll('rect[data-cell]')).toHaveLength(15);
  });

  it('distribution bars export the shown rows as CSV', async () => {
    const onExport = vi.fn();
    render(
      <DistributionBars
        title="Next token"
        k={2}
        highlight={[' Mary']}
        distributions={[
          { name: 'clean', entries: [{ token: ' Mary', prob: 0.6 }, { token: ' John', prob: 0.3 }, { token: ',', prob: 0.1 }] },
          { name: 'corrupt', entries: [{ token: ' John', prob: 0.5 }, { token: ',', prob: 0.3 }, { token: ' Mary', prob: 0.2 }] },
        ]}
        onExport={onExport}
      />,
    );
    const file = await exportVia('CSV', onExport);
    expect(file.data).toBe('distribution,rank,token,prob\nclean,1, Mary,0.6\nclean,2, John,0.3\ncorrupt,1, John,0.5\ncorrupt,2,",",0.3\ncorrupt,3, Mary,0.2\n');
  });

  it('sends files to the ExportHandlerContext handler when no onExport is given', async () => {
    const handler = vi.fn();
    render(
      <ExportHandlerContext.Provider value={handler}>
        <ChartFrame title="Plain" exports={{ json: () => ({ a: 1 }) }}>
          <p>body</p>
        </ChartFrame>
      </ExportHandlerContext.Provider>,
    );
    expect(screen.queryByRole('button', { name: 'CSV' })).toBeNull();
    const file = await exportVia('JSON', handler);
    expect(file).toEqual({ filename: 'plain.json', mime: 'application/json', data: '{\n  "a": 1\n}\n' });
  });

  it('buildExport names a format the chart does not offer', async () => {
    await expect(buildExport('png', { csv: () => '' }, 'x')).rejects.toThrow('this chart has no PNG export');
  });
});
