/**
 * Which view is showing: the address's hash (`#/models`), so it works the same
 * from http:// (browser mode, where the query holds the token) and from the
 * desktop app's own protocol, and survives a reload.
 */
import { useSyncExternalStore } from 'react';
import { VIEW_IDS, type ViewId } from '../../src-main/api/shell.js';

export const DEFAULT_VIEW: ViewId = 'models';

function parse(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return (VIEW_IDS as readonly string[]).includes(id) ? (id as ViewId) : DEFAULT_VIEW;
}

export function currentView(): ViewId {
  return parse(location.hash);
}

export function navigate(view: ViewId): void {
  if (currentView() !== view || location.hash === '') location.hash = `#/${view}`;
}

export function useView(): ViewId {
  return useSyncExternalStore((cb) => {
    window.addEventListener('hashchange', cb);
    return () => window.removeEventListener('hashchange', cb);
  }, currentView);
}
