/** Handlers of the Runs view: what its filters offer (models and tasks the store knows, by id and name). */
import type { ApiContext } from '../context.js';
import type { Handlers } from '../dispatch.js';

export function runsViewHandlers(ctx: ApiContext): Pick<Handlers, 'runs.facets'> {
  const { store } = ctx;
  return {
    'runs.facets': () => ({
      models: store.listModels().map((m) => ({ id: m.id, name: m.name })),
      datasets: store.listDatasets().map((d) => ({ id: d.id, name: d.name })),
    }),
  };
}
