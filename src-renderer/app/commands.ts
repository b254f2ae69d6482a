/**
 * Commands from menus and keyboard shortcuts (src-main/api/shell.ts). The shell
 * handles navigation and the theme; a view takes the rest through `useCommand`.
 * A command posted before its view is mounted waits for it (the app switches to
 * the view, which then picks the command up).
 */
import { useEffect, useRef } from 'react';
import { SHORTCUTS, type Shortcut, type UiCommand } from '../../src-main/api/shell.js';

type Name = UiCommand['command'];
const handlers = new Map<Name, Set<(c: UiCommand) => void>>();
const pending = new Map<Name, UiCommand>();

export function postCommand(c: UiCommand): void {
  const hs = handlers.get(c.command);
  if (hs && hs.size > 0) hs.forEach((h) => h(c));
  else pending.set(c.command, c);
}

export function useCommand(name: Name, handler: (c: UiCommand) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const h = (c: UiCommand) => ref.current(c);
    let set = handlers.get(name);
    if (!set) handlers.set(name, (set = new Set()));
    set.add(h);
    const waiting = pending.get(name);
    if (waiting) {
      pending.delete(name);
      h(waiting);
    }
    return () => {
      set.delete(h);
    };
  }, [name]);
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

function matches(s: Shortcut, e: KeyboardEvent): boolean {
  const b = s.browser;
  const mod = isMac ? e.metaKey : e.ctrlKey;
  const same = b.code !== undefined ? e.code === b.code : e.key.toLowerCase() === b.key;
  return !!b.mod === mod && !!b.alt === e.altKey && !!b.shift === e.shiftKey && same;
}

/** Keyboard shortcuts in a browser tab (the desktop app's menu has the same ones as accelerators). */
export function installBrowserShortcuts(run: (c: UiCommand) => void): () => void {
  const onKey = (e: KeyboardEvent) => {
    const s = SHORTCUTS.find((x) => matches(x, e));
    if (!s) return;
    e.preventDefault();
    run(s.command);
  };
  window.addEventListener('keydown', onKey);
  return () => window.removeEventListener('keydown', onKey);
}

/** How a shortcut reads in this window, e.g. "Ctrl+Shift+O" or "Alt+3". */
export function shortcutLabel(s: Shortcut, desktop: boolean): string {
  if (desktop) return s.accelerator.replace('CmdOrCtrl', isMac ? '⌘' : 'Ctrl');
  const b = s.browser;
  const key = b.code !== undefined ? b.code.replace(/^(Digit|Key)/, '') : (b.key ?? '').toUpperCase();
  return [b.mod && (isMac ? '⌘' : 'Ctrl'), b.alt && 'Alt', b.shift && 'Shift', key].filter(Boolean).join('+');
}
