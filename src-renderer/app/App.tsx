/** The shell: header, navigation, the current view and the job tray. */
import { useEffect } from 'react';
import type { UiCommand } from '../../src-main/api/shell.js';
import { api } from '../api/client.js';
import { viewById } from '../views/registry.js';
import { installBrowserShortcuts, postCommand, useCommand } from './commands.js';
import { Header } from './Header.js';
import { JobTray } from './JobTray.js';
import { Nav } from './Nav.js';
import { navigate, useView } from './router.js';
import { toggleTheme } from './theme.js';

/** Commands for a view switch to it first; the view picks the command up when it mounts. */
function runCommand(c: UiCommand): void {
  if (c.command === 'openModel') navigate('models');
  if (c.command === 'openDataset') navigate('data');
  postCommand(c);
}

export function App() {
  const id = useView();
  const view = viewById(id);
  const View = view.component;

  useEffect(() => {
    // Desktop: the menu's accelerators send commands as events. Browser: the page listens for the keys.
    const stopEvents = api().onEvent((e) => {
      if (e.type !== 'ui.command') return;
      if (e.command === 'showView') {
        if (e.view) runCommand({ command: 'showView', view: e.view });
      } else runCommand({ command: e.command });
    });
    const stopKeys = api().transport.kind === 'http' ? installBrowserShortcuts(runCommand) : () => {};
    return () => {
      stopEvents();
      stopKeys();
    };
  }, []);
  useCommand('showView', (c) => c.command === 'showView' && navigate(c.view));
  useCommand('toggleTheme', () => toggleTheme());

  useEffect(() => {
    document.title = `${view.title} · Subspace`;
  }, [view.title]);

  return (
    <div className="app">
      <Header />
      <Nav />
      <main className="app-main" id="main" aria-labelledby="view-title">
        <div className="view-header">
          <h1 id="view-title">{view.title}</h1>
          <p className="view-description">{view.description}</p>
        </div>
        <View key={view.id} />
      </main>
      <JobTray />
    </div>
  );
}
