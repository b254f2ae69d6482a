/** Small building blocks every view uses, so status and errors look the same everywhere. */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { api, type ApiCallError } from '../api/client.js';

export function ErrorNote({ error, title }: { error: ApiCallError | Error; title?: string }) {
  const code = (error as ApiCallError).code;
  return (
    <div className="error-note" role="alert">
      {title && <strong>{title}: </strong>}
      <span className="error-message">{error.message}</span>
      {code && code !== 'INTERNAL' && <span className="error-code"> ({code})</span>}
    </div>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}…
    </div>
  );
}

export function Section({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="section" aria-label={title}>
      <header className="section-header">
        <h2>{title}</h2>
        {actions && <div className="section-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export type PathKind = 'folder' | 'file' | 'save';

/**
 * Chooses a path: a native dialog in the desktop app; in a browser tab (no
 * native dialogs) a text field for a path on the machine that runs Subspace.
 */
export function PathPicker({
  kind,
  label,
  placeholder,
  busy,
  onPick,
  extensions,
  trigger,
}: {
  kind: PathKind;
  label: string;
  placeholder?: string;
  busy?: boolean;
  onPick: (path: string) => void;
  extensions?: string[];
  /** Changing it opens the dialog (or focuses the field): for menu commands and shortcuts. */
  trigger?: number;
}) {
  const browser = api().transport.kind === 'http';
  const [typing, setTyping] = useState(browser);
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string>();
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  const openDialog = async () => {
    setProblem(undefined);
    try {
      const method = kind === 'folder' ? 'dialogs.openFolder' : kind === 'file' ? 'dialogs.openFile' : 'dialogs.saveFolder';
      const r = await api().call(method, { title: label, ...(kind === 'file' && extensions && { extensions }) });
      if ('unsupported' in r) {
        setTyping(true);
        setTimeout(() => input.current?.focus(), 0);
      } else if (!r.canceled && r.path) onPick(r.path);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };
  // Only a new trigger value acts (not the first render).
  const seen = useRef(trigger);
  useEffect(() => {
    if (trigger === seen.current) return;
    seen.current = trigger;
    if (typing) input.current?.focus();
    else void openDialog();
  }, [trigger]);
  if (!typing) {
    return (
      <span className="path-picker">
        <button type="button" onClick={openDialog} disabled={busy}>
          {label}
        </button>
        {problem && <span className="field-error">{problem}</span>}
      </span>
    );
  }
  return (
    <form
      className="path-picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) onPick(text.trim());
      }}
    >
      <label htmlFor={id}>{label}</label>
      <input id={id} ref={input} type="text" value={text} placeholder={placeholder ?? (kind === 'file' ? '/path/to/file' : '/path/to/folder')} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      <button type="submit" disabled={busy || !text.trim()}>
        {kind === 'save' ? 'Use' : 'Open'}
      </button>
    </form>
  );
}
