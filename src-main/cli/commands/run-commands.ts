import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { openStore } from '../../store/index.js';
import { RUN_KINDS, RUN_STATUSES } from '../../store/index.js';
import { num } from '../args.js';
import { printJson, table } from '../output.js';

const when = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');

export function registerRunCommands(program: Command): void {
  program
    .command('runs')
    .description('the runs recorded in the store (newest first)')
    .option('--kind <kind>', `filter: ${RUN_KINDS.join(', ')}`)
    .option('--status <status>', `filter: ${RUN_STATUSES.join(', ')}`)
    .option('--search <text>', 'filter by name or id')
    .option('--limit <n>', 'how many', num('limit', { int: true, min: 1 }), 50)
    .option('--json', 'machine-readable output')
    .action((o: { kind?: string; status?: string; search?: string; limit: number; json?: boolean }) => {
      const store = openStore();
      try {
        store.markInterruptedRuns();
        const runs = store.listRuns({ kind: o.kind as never, status: o.status as never, search: o.search, limit: o.limit });
        if (o.json) return printJson(runs);
        if (runs.length === 0) return console.log(`no runs in ${store.path}`);
        console.log(table([['id', 'kind', 'status', 'created', 'name'], ...runs.map((r) => [r.id, r.kind, r.status, when(r.createdAt), r.name])]));
      } finally {
        store.close();
      }
    });

  program
    .command('show <run>')
    .description('one run: its config, status, metrics and artifacts')
    .option('--json', 'machine-readable output')
    .action((id: string, o: { json?: boolean }) => {
      const store = openStore();
      try {
        const run = store.getRun(id);
        if (!run) throw new SubspaceError('NOT_FOUND', `no run '${id}' in ${store.path} (see: subspace runs)`, 'run');
        const metrics = store.getMetrics(id);
        const artifacts = store.listArtifacts(id);
        const last = Object.fromEntries(Object.entries(metrics).map(([k, s]) => [k, { points: s.values.length, last: s.values.at(-1) }]));
        if (o.json) return printJson({ run, metrics: last, artifacts });
        console.log(`${run.id}  ${run.kind}  ${run.status}  ${run.name}`);
        console.log(`created ${when(run.createdAt)}, ended ${when(run.endedAt)}, backend ${run.backend ?? '-'}`);
        if (run.error) console.log(`error: ${run.error}`);
        console.log(`config: ${JSON.stringify(run.config)}`);
        for (const [k, v] of Object.entries(last)) console.log(`metric ${k}: ${v.points} points, last ${v.last}`);
        for (const a of artifacts) console.log(`artifact ${a.kind}: ${a.path} (${a.sizeBytes} bytes, sha256 ${a.sha256.slice(0, 12)}…)`);
      } finally {
        store.close();
      }
    });
}
