import type { ComponentType } from 'react';
import type { ViewId } from '../../src-main/api/shell.js';

/** What a view module exports as `view`: the registry (registry.ts) lists them in navigation order. */
export interface ViewDefinition {
  id: ViewId;
  title: string;
  /** One line for the navigation's tooltip and the page's header. */
  description: string;
  component: ComponentType;
}
