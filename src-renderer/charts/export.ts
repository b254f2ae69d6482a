import type { ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

/** One file a chart offers for download. */
export interface ExportFile {
  filename: string;
  mime: string;
  data: string | Blob;
}

export const SVG_NS = 'http://www.w3.org/2000/svg';

type Cell = string | number | null | undefined;

/** One CSV field (RFC 4180): numbers as JavaScript prints them, missing or NaN as empty. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isNaN(value) ? '' : String(value);
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A table as CSV: a header line, then one line per row, each line ending in "\n". */
export function rowsToCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows].map((r) => `${r.map(csvField).join(',')}\n`).join('');
}

/**
 * A matrix as CSV: the first line is `corner` then the column labels; each following line is a row
 * label then that row's values.
 */
export function toCsv(
  matrix: readonly (readonly number[])[],
  rowLabels: readonly string[],
  colLabels: readonly string[],
  corner = '',
): string {
  if (rowLabels.length !== matrix.length) {
    throw new RangeError(`toCsv: ${rowLabels.length} row labels for ${matrix.length} rows`);
  }
  matrix.forEach((row, i) => {
    if (row.length !== colLabels.length) {
      throw new RangeError(`toCsv: row ${i} has ${row.length} values for ${colLabels.length} column labels`);
    }
  });
  return rowsToCsv([corner, ...colLabels], matrix.map((row, i) => [rowLabels[i], ...row]));
}

/** JSON with two-space indent; NaN and ±Infinity (which JSON cannot hold) become null. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** Standalone SVG document text for a React SVG element (which must carry xmlns). */
export function svgMarkup(element: ReactElement): string {
  const body = renderToStaticMarkup(element);
  const withNs = body.startsWith('<svg') && !body.includes('xmlns=') ? body.replace('<svg', `<svg xmlns="${SVG_NS}"`) : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${withNs}`;
}

/** Decodes a data: URL (base64 or percent-encoded) into a Blob. */
export function dataUrlToBlob(url: string): Blob {
  const match = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (!match) throw new RangeError('dataUrlToBlob: not a data: URL');
  const mime = match[1] || 'application/octet-stream';
  const payload = match[3];
  if (match[2].includes(';base64')) {
    const bin = atob(payload);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type: mime });
  }
  return new Blob([decodeURIComponent(payload)], { type: mime });
}

/** Rasterises SVG text to a PNG at `scale`× its size (through an <img> and a canvas). */
export function svgToPng(svg: string, width: number, height: number, scale = 2): Promise<Blob> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      const ctx = canvas.getContext('2d');
      if (!ctx) return reject(new Error('PNG export: this browser gives no 2-D canvas'));
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      ctx.drawImage(img, 0, 0, width, height);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG export: the canvas gave no image'))), 'image/png');
    };
    img.onerror = () => reject(new Error('PNG export: the SVG could not be drawn'));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  });
}

/** The one place a browser download happens; charts hand it a finished file. */
export function saveFile(file: ExportFile): void {
  const blob = typeof file.data === 'string' ? new Blob([file.data], { type: file.mime }) : file.data;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke on the next tick: some browsers start the download after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
