/** The application menu: the shortcuts of src-main/api/shell.ts as accelerators, plus the usual roles. */
import { SHORTCUTS, type UiCommand } from '../api/shell.js';
import type { MenuItemOptions } from './electron-api.js';

export function menuTemplate(send: (c: UiCommand) => void, platform: NodeJS.Platform = process.platform): MenuItemOptions[] {
  const item = (command: UiCommand['command'], view?: string): MenuItemOptions => {
    const s = SHORTCUTS.find((x) => x.command.command === command && (view === undefined || (x.command.command === 'showView' && x.command.view === view)))!;
    return { label: s.label, accelerator: s.accelerator, click: () => send(s.command) };
  };
  const views = SHORTCUTS.filter((s) => s.command.command === 'showView').map((s) => ({ label: s.label, accelerator: s.accelerator, click: () => send(s.command) }));
  const mac = platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' }] : []),
    {
      label: 'File',
      submenu: [item('openModel'), item('openDataset'), { type: 'separator' }, mac ? { role: 'close' } : { role: 'quit' }],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        ...views,
        { type: 'separator' },
        item('toggleTheme'),
        { type: 'separator' },
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
  ];
}
