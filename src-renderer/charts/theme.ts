import { useLayoutEffect, useMemo, useState, type RefObject } from 'react';

/**
 * Concrete colours a chart draws with. They come from CSS variables on the chart's container
 * (--fg, --bg, --grid, --accent, --muted, --font), so the app's light/dark theme applies, and are
 * resolved to concrete values so exported SVG/PNG files look the same outside the app.
 */
export interface ChartTheme {
  fg: string;
  bg: string;
  grid: string;
  accent: string;
  muted: string;
  font: string;
}

export const LIGHT_THEME: ChartTheme = {
  fg: '#1f2328',
  bg: '#ffffff',
  grid: '#d0d7de',
  accent: '#0072b2',
  muted: '#6e7781',
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
};

export const DARK_THEME: ChartTheme = {
  fg: '#e6edf3',
  bg: '#0d1117',
  grid: '#30363d',
  accent: '#56b4e9',
  muted: '#8b949e',
  font: LIGHT_THEME.font,
};

const VARIABLES: Record<keyof ChartTheme, string> = {
  fg: '--fg',
  bg: '--bg',
  grid: '--grid',
  accent: '--accent',
  muted: '--muted',
  font: '--font',
};

/**
 * Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), ordered so the
 * first few have good contrast on both white and near-black backgrounds.
 */
export const CATEGORY_COLORS = ['#0072b2', '#e69f00', '#009e73', '#d55e00', '#cc79a7', '#56b4e9', '#f0e442'];

/** Plotly marker symbols paired with the colours, so categories differ by shape as well as hue. */
export const CATEGORY_SYMBOLS = ['circle', 'square', 'diamond', 'triangle-up', 'x', 'cross', 'star'];

export function categoryColor(index: number, theme?: ChartTheme): string {
  if (index < CATEGORY_COLORS.length) return CATEGORY_COLORS[index];
  // Past the palette, fall back to the foreground colour rather than inventing look-alike hues.
  return theme?.fg ?? LIGHT_THEME.fg;
}

export function readTheme(element: Element | null, fallback: ChartTheme = LIGHT_THEME): ChartTheme {
  if (!element || typeof getComputedStyle !== 'function') return fallback;
  const style = getComputedStyle(element);
  const out = { ...fallback };
  for (const key of Object.keys(VARIABLES) as (keyof ChartTheme)[]) {
    const value = style.getPropertyValue(VARIABLES[key]).trim();
    if (value !== '') out[key] = value;
  }
  return out;
}

function sameTheme(a: ChartTheme, b: ChartTheme): boolean {
  return (Object.keys(VARIABLES) as (keyof ChartTheme)[]).every((k) => a[k] === b[k]);
}

/**
 * The theme at `ref`, re-read when the document's class/style/data-theme changes (how apps switch
 * themes) or the system colour scheme changes. `override` wins over the CSS variables.
 */
export function useChartTheme(ref: RefObject<Element | null>, override?: Partial<ChartTheme>): ChartTheme {
  const [base, setBase] = useState<ChartTheme>(LIGHT_THEME);
  useLayoutEffect(() => {
    const update = () =>
      setBase((prev) => {
        const next = readTheme(ref.current);
        return sameTheme(prev, next) ? prev : next;
      });
    update();
    const observer = typeof MutationObserver === 'function' ? new MutationObserver(update) : null;
    const options = { attributes: true, attributeFilter: ['class', 'style', 'data-theme'] };
    if (observer && typeof document !== 'undefined') {
      observer.observe(document.documentElement, options);
      if (document.body) observer.observe(document.body, options);
    }
    const media = typeof window !== 'undefined' && typeof window.matchMedia === 'function'
      ? window.matchMedia('(prefers-color-scheme: dark)')
      : null;
    media?.addEventListener?.('change', update);
    return () => {
      observer?.disconnect();
      media?.removeEventListener?.('change', update);
    };
  }, [ref]);
  const key = override ? JSON.stringify(override) : '';
  // Keyed on the override's content: callers usually pass a fresh object literal each render.
  return useMemo(() => (override ? { ...base, ...override } : base), [base, key]);
}

/** Width of an element, following resizes; `fallback` until it has been laid out (and in jsdom). */
export function useElementWidth(ref: RefObject<HTMLElement | null>, fallback: number): number {
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      const w = el.clientWidth;
      if (w > 0) setWidth(w);
    };
    measure();
    if (typeof ResizeObserver !== 'function') return;
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}
