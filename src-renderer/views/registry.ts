/**
 * The views, in navigation order (the order and ids are fixed in
 * src-main/api/shell.ts). Each lives in views/<id>/index.tsx and exports `view`.
 */
import { VIEWS } from '../../src-main/api/shell.js';
import type { ViewDefinition } from './types.js';
import { view as models } from './models/index.js';
import { view as data } from './data/index.js';
import { view as playground } from './playground/index.js';
import { view as lofit } from './lofit/index.js';
import { view as reft } from './reft/index.js';
import { view as interchange } from './interchange/index.js';
import { view as runs } from './runs/index.js';

const byId = new Map<string, ViewDefinition>([models, data, playground, lofit, reft, interchange, runs].map((v) => [v.id, v]));

export const VIEW_REGISTRY: readonly ViewDefinition[] = VIEWS.map((v) => {
  const def = byId.get(v.id);
  if (!def) throw new Error(`view ${v.id} has no module in src-renderer/views/${v.id}/`);
  return def;
});

export function viewById(id: string): ViewDefinition {
  return VIEW_REGISTRY.find((v) => v.id === id) ?? VIEW_REGISTRY[0];
}
