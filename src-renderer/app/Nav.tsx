import { SHORTCUTS } from '../../src-main/api/shell.js';
import { api } from '../api/client.js';
import { VIEW_REGISTRY } from '../views/registry.js';
import { shortcutLabel } from './commands.js';
import { useView } from './router.js';

export function Nav() {
  const current = useView();
  const desktop = api().transport.kind === 'ipc';
  return (
    <nav className="app-nav" aria-label="Views">
      <ul>
        {VIEW_REGISTRY.map((v) => {
          const s = SHORTCUTS.find((x) => x.command.command === 'showView' && x.command.view === v.id);
          return (
            <li key={v.id}>
              <a href={`#/${v.id}`} aria-current={current === v.id ? 'page' : undefined} title={`${v.description}${s ? ` (${shortcutLabel(s, desktop)})` : ''}`}>
                {v.title}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
