import { useEffect, useRef, useState, type RefObject } from 'react';
import { dataUrlToBlob } from './export.js';
import type { PlotlyFigure } from './plotly-layout.js';

export type { PlotlyFigure } from './plotly-layout.js';

/** The part of the Plotly API the charts use. */
export interface PlotlyApi {
  react(el: HTMLElement, data: unknown[], layout: unknown, config: unknown): Promise<unknown>;
  purge(el: HTMLElement): void;
  toImage(el: HTMLElement, options: { format: 'png' | 'svg'; width: number; height: number; scale?: number }): Promise<string>;
}

let loading: Promise<PlotlyApi> | null = null;

/**
 * Loads the prebuilt "basic" bundle (scatter and bar traces, ~1.1 MB) once, on first use, so
 * views without a plotly chart never pay for it.
 */
export function loadPlotly(): Promise<PlotlyApi> {
  loading ??= import('plotly.js/dist/plotly-basic.min.js').then((m: { default?: unknown }) => (m.default ?? m) as PlotlyApi);
  return loading;
}

/**
 * Draws `figure` into the element at `ref` with Plotly.react, which diffs against the previous
 * figure. Updates that arrive faster than the screen refreshes (points streaming in) are merged
 * into one draw per animation frame, always of the newest figure.
 */
export function usePlotly(ref: RefObject<HTMLDivElement | null>, figure: PlotlyFigure): { plotly: PlotlyApi | null; error: string | null } {
  const [plotly, setPlotly] = useState<PlotlyApi | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(figure);
  latest.current = figure;
  const frame = useRef<number | null>(null);

  useEffect(() => {
    let alive = true;
    loadPlotly().then(
      (p) => alive && setPlotly(() => p),
      (e: unknown) => alive && setError(`plotly.js did not load: ${e instanceof Error ? e.message : String(e)}`),
    );
    return () => {
      alive = false;
    };
  }, []);

  useEffect(() => {
    const el = ref.current;
    if (!plotly || !el || frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      const f = latest.current;
      plotly.react(el, f.data, f.layout, f.config).catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    });
  }, [plotly, figure, ref]);

  useEffect(() => {
    const el = ref.current;
    return () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
      if (plotly && el) plotly.purge(el);
    };
  }, [plotly, ref]);

  return { plotly, error };
}

/** PNG (at twice its size) and SVG of the chart drawn into `ref`, as ChartFrame's export menu wants them. */
export function plotlyImageExports(plotly: PlotlyApi, ref: RefObject<HTMLDivElement | null>, height: number): { png: () => Promise<Blob>; svg: () => Promise<string> } {
  const image = async (format: 'png' | 'svg') => {
    const el = ref.current;
    if (!el) throw new Error('the chart is not drawn yet');
    return dataUrlToBlob(await plotly.toImage(el, { format, width: el.clientWidth || 800, height, ...(format === 'png' && { scale: 2 }) }));
  };
  return { png: () => image('png'), svg: async () => (await image('svg')).text() };
}
