/**
 * The Content-Security-Policy of the UI, one string for every way it is served
 * (HTTP header in browser mode, the app protocol's header in Electron, and the
 * <meta> tag of index.html as a second line).
 *
 * Scripts only from the app itself (no inline script, no eval); no plugins,
 * frames, forms or base-URL tricks; network only to the app's own origin
 * (`'self'` also covers the WebSocket of the same host and port). Styles allow
 * 'unsafe-inline' because the chart libraries (plotly, d3) set style
 * attributes and inject style elements; style injection cannot run code.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every response of the UI carries. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
