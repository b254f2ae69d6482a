/**
 * What the shell and the UI agree on outside the API methods: the views (in
 * navigation order) and the commands that menus and keyboard shortcuts trigger.
 * The Electron menu and the renderer both read this table, so a shortcut is
 * defined once.
 */
export const VIEWS = [
  { id: 'models', title: 'Models' },
  { id: 'data', title: 'Data' },
  { id: 'playground', title: 'Playground' },
  { id: 'lofit', title: 'LoFIT' },
  { id: 'reft', title: 'ReFT' },
  { id: 'interchange', title: 'Interchange' },
  { id: 'runs', title: 'Runs' },
] as const;

export type ViewId = (typeof VIEWS)[number]['id'];
export const VIEW_IDS = VIEWS.map((v) => v.id) as readonly ViewId[];

export type UiCommand = { command: 'openModel' } | { command: 'openDataset' } | { command: 'toggleTheme' } | { command: 'showView'; view: ViewId };

export interface Shortcut {
  label: string;
  command: UiCommand;
  /** Electron accelerator. */
  accelerator: string;
  /**
   * The same in a browser tab, where Ctrl+digit and Alt+digit switch tabs: `mod` is Ctrl (Cmd on
   * macOS); `key` is KeyboardEvent.key, lower case, or `code` a KeyboardEvent.code (for digits with
   * Shift, whose key depends on the keyboard layout).
   */
  browser: { mod?: boolean; alt?: boolean; shift?: boolean; key?: string; code?: string };
}

export const SHORTCUTS: readonly Shortcut[] = [
  { label: 'Open model folder…', command: { command: 'openModel' }, accelerator: 'CmdOrCtrl+O', browser: { mod: true, key: 'o' } },
  { label: 'Open dataset…', command: { command: 'openDataset' }, accelerator: 'CmdOrCtrl+Shift+O', browser: { mod: true, shift: true, key: 'o' } },
  { label: 'Toggle light/dark theme', command: { command: 'toggleTheme' }, accelerator: 'CmdOrCtrl+Shift+L', browser: { mod: true, shift: true, key: 'l' } },
  ...VIEWS.map((v, i) => ({
    label: v.title,
    command: { command: 'showView' as const, view: v.id },
    accelerator: `CmdOrCtrl+${i + 1}`,
    browser: { alt: true, shift: true, code: `Digit${i + 1}` },
  })),
];
