import { useApi } from '../api/hooks.js';
import { api } from '../api/client.js';
import { toggleTheme, useTheme } from './theme.js';

/** The app's name, the tensor backend (with why better ones are not in use) and the theme switch. */
export function Header() {
  const info = useApi('app.info', {});
  const theme = useTheme();
  const b = info.data?.backend;
  const why = b?.reasons
    .filter((r) => r.backend !== b.backend)
    .map((r) => `${r.backend}: ${r.available ? 'available' : 'unavailable'}, ${r.why}${r.fix ? ` (fix: ${r.fix})` : ''}`)
    .join('\n');
  return (
    <header className="app-header">
      <div className="brand">Subspace</div>
      <div className="header-right">
        {api().transport.kind === 'http' && <span className="badge muted-badge" title="Served by `subspace serve` on this machine">browser mode</span>}
        <span className="badge backend-badge" data-testid="backend-badge" title={b ? `${b.backend} on ${b.device}${why ? `\n\n${why}` : ''}` : info.error?.message}>
          {b ? `${b.backend} · ${b.device}` : info.error ? 'backend unavailable' : 'starting backend…'}
        </span>
        <button type="button" className="theme-toggle" onClick={toggleTheme} aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`} title="Toggle light/dark theme">
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </div>
    </header>
  );
}
