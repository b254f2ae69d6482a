import { createContext, useContext, useRef, useState, type CSSProperties, type ReactNode } from 'react';
import { saveFile, toJson, type ExportFile } from './export.js';
import { slug } from './labels.js';

export type ExportFormat = 'png' | 'svg' | 'csv' | 'json';

/** What a chart can export; each producer runs only when the user asks for that format. */
export interface ChartExports {
  /** File-name stem; default: the chart title as a slug. */
  name?: string;
  svg?: () => string | Promise<string>;
  png?: () => Promise<Blob>;
  csv?: () => string;
  json?: () => unknown;
}

/**
 * Where finished export files go. The default downloads them in the browser; the app can provide
 * another handler (e.g. a native save dialog), and tests can capture the files.
 */
export const ExportHandlerContext = createContext<(file: ExportFile) => void>(saveFile);

const MIME: Record<ExportFormat, string> = {
  png: 'image/png',
  svg: 'image/svg+xml',
  csv: 'text/csv',
  json: 'application/json',
};

export function availableFormats(exports: ChartExports): ExportFormat[] {
  return (['png', 'svg', 'csv', 'json'] as const).filter((f) => exports[f] !== undefined);
}

/** Produces one export file; throws when the chart does not offer that format. */
export async function buildExport(format: ExportFormat, exports: ChartExports, fallbackName: string): Promise<ExportFile> {
  const filename = `${exports.name ?? slug(fallbackName)}.${format}`;
  const mime = MIME[format];
  switch (format) {
    case 'png':
      if (exports.png) return { filename, mime, data: await exports.png() };
      break;
    case 'svg':
      if (exports.svg) return { filename, mime, data: await exports.svg() };
      break;
    case 'csv':
      if (exports.csv) return { filename, mime, data: exports.csv() };
      break;
    case 'json':
      if (exports.json) return { filename, mime, data: toJson(exports.json()) };
      break;
  }
  throw new RangeError(`export: this chart has no ${format.toUpperCase()} export`);
}

export interface ExportMenuProps {
  title: string;
  exports: ChartExports;
  /** Overrides the ExportHandlerContext handler for this menu. */
  onExport?: (file: ExportFile) => void;
}

export function ExportMenu({ title, exports, onExport }: ExportMenuProps) {
  const contextHandler = useContext(ExportHandlerContext);
  const handler = onExport ?? contextHandler;
  const details = useRef<HTMLDetailsElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (format: ExportFormat) => {
    setError(null);
    setBusy(true);
    try {
      handler(await buildExport(format, exports, title));
      if (details.current) details.current.open = false;
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <details ref={details} style={menuStyle}>
      <summary style={summaryStyle} aria-label={`Export ${title}`}>
        Export
      </summary>
      <div style={dropdownStyle}>
        {availableFormats(exports).map((f) => (
          <button key={f} type="button" disabled={busy} onClick={() => void run(f)} style={itemStyle}>
            {f.toUpperCase()}
          </button>
        ))}
        {error && (
          <p role="alert" style={{ margin: 4, color: 'var(--fg)', maxWidth: 220 }}>
            {error}
          </p>
        )}
      </div>
    </details>
  );
}

export interface ChartFrameProps {
  title: string;
  subtitle?: ReactNode;
  /** Legend or key shown under the chart. */
  legend?: ReactNode;
  /** Controls shown in the header next to the export menu (e.g. a K slider). */
  controls?: ReactNode;
  exports?: ChartExports;
  onExport?: (file: ExportFile) => void;
  /** Marks the figure for tests and styling, e.g. "heatmap". */
  kind?: string;
  style?: CSSProperties;
  children: ReactNode;
}

/** Title, subtitle, export menu and legend slot around every chart. */
export function ChartFrame({ title, subtitle, legend, controls, exports, onExport, kind, style, children }: ChartFrameProps) {
  return (
    <figure data-chart={kind} style={{ ...frameStyle, ...style }}>
      <header style={headerStyle}>
        <div style={{ flex: '1 1 auto', minWidth: 0 }}>
          <h3 style={titleStyle}>{title}</h3>
          {subtitle !== undefined && <p style={subtitleStyle}>{subtitle}</p>}
        </div>
        {controls}
        {exports && availableFormats(exports).length > 0 && <ExportMenu title={title} exports={exports} onExport={onExport} />}
      </header>
      <div style={{ position: 'relative' }}>{children}</div>
      {legend !== undefined && <div style={legendStyle}>{legend}</div>}
    </figure>
  );
}

const frameStyle: CSSProperties = {
  margin: 0,
  padding: 8,
  color: 'var(--fg, #1f2328)',
  background: 'var(--bg, #ffffff)',
  fontFamily: 'var(--font, system-ui, sans-serif)',
  fontSize: 12,
  minWidth: 0,
};
const headerStyle: CSSProperties = { display: 'flex', alignItems: 'flex-start', gap: 12, marginBottom: 6 };
const titleStyle: CSSProperties = { margin: 0, fontSize: 14, fontWeight: 600, lineHeight: 1.3 };
const subtitleStyle: CSSProperties = { margin: '2px 0 0', color: 'var(--muted, #6e7781)', lineHeight: 1.3 };
const legendStyle: CSSProperties = { marginTop: 6, color: 'var(--muted, #6e7781)' };
const menuStyle: CSSProperties = { position: 'relative', flex: '0 0 auto' };
const summaryStyle: CSSProperties = {
  cursor: 'pointer',
  listStyle: 'none',
  padding: '2px 8px',
  border: '1px solid var(--grid, #d0d7de)',
  borderRadius: 4,
  userSelect: 'none',
};
const dropdownStyle: CSSProperties = {
  position: 'absolute',
  right: 0,
  top: '100%',
  zIndex: 10,
  display: 'flex',
  flexDirection: 'column',
  marginTop: 2,
  padding: 4,
  background: 'var(--bg, #ffffff)',
  border: '1px solid var(--grid, #d0d7de)',
  borderRadius: 4,
  boxShadow: '0 2px 8px rgba(0, 0, 0, 0.2)',
};
const itemStyle: CSSProperties = {
  font: 'inherit',
  color: 'inherit',
  background: 'transparent',
  border: 'none',
  textAlign: 'left',
  padding: '3px 12px',
  cursor: 'pointer',
};
