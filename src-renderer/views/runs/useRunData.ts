/** Metric curves and head records of several runs at once (one call per run, re-run when the list changes). */
import { useEffect, useState } from 'react';
import type { ApiResponse } from '../../../src-main/api/contract.js';
import { api } from '../../api/client.js';

export interface RunData {
  metrics: Record<string, ApiResponse<'runs.metrics'>['series']>;
  heads: Record<string, ApiResponse<'heads.get'>>;
  error?: Error;
  loading: boolean;
}

export function useRunData(runIds: string[]): RunData {
  const key = runIds.join(',');
  const [state, setState] = useState<RunData>({ metrics: {}, heads: {}, loading: true });
  useEffect(() => {
    let live = true;
    setState({ metrics: {}, heads: {}, loading: true });
    Promise.all(runIds.map(async (runId) => [runId, (await api().call('runs.metrics', { runId })).series, await api().call('heads.get', { runId })] as const))
      .then((rows) => live && setState({ metrics: Object.fromEntries(rows.map((r) => [r[0], r[1]])), heads: Object.fromEntries(rows.map((r) => [r[0], r[2]])), loading: false }))
      .catch((e: unknown) => live && setState({ metrics: {}, heads: {}, loading: false, error: e as Error }));
    return () => {
      live = false;
    };
  }, [key]);
  return state;
}
