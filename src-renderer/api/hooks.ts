/**
 * React hooks over the API client: every call has the same loading / error /
 * data status, so every view shows them the same way.
 *
 *   const models = useApi('models.list', {});            // runs now and when the payload changes
 *   const open = useAction('models.open');                // runs when asked
 *   await open.run({ path });  open.error?.field === 'path'
 *   useApiEvent((e) => { if (e.type === 'job.done') models.reload(); });
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiEvent, ApiRequest, ApiResponse, MethodName } from '../../src-main/api/contract.js';
import { api, ApiCallError } from './client.js';

export interface ApiState<T> {
  data?: T;
  error?: ApiCallError;
  loading: boolean;
}

function asCallError(method: string, e: unknown): ApiCallError {
  return e instanceof ApiCallError ? e : new ApiCallError(method, { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) });
}

/**
 * Calls `method` now and whenever `payload` changes (compared as JSON); `null` skips the call.
 * `data` always belongs to the current payload: after a change it is undefined until the new answer
 * arrives (a reload with the same payload keeps showing the old data meanwhile).
 */
export function useApi<M extends MethodName>(method: M, payload: ApiRequest<M> | null): ApiState<ApiResponse<M>> & { reload: () => void } {
  const key = payload === null ? null : `${method} ${JSON.stringify(payload)}`;
  const [state, setState] = useState<ApiState<ApiResponse<M>> & { key: string | null }>({ key, loading: payload !== null });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    if (key === null) return;
    let live = true;
    setState((s) => (s.key === key ? { ...s, loading: true } : { key, loading: true }));
    api()
      .call(method, JSON.parse(key.slice(method.length + 1)) as ApiRequest<M>)
      .then((data) => live && setState({ key, data, loading: false }))
      .catch((e: unknown) => live && setState({ key, error: asCallError(method, e), loading: false }));
    return () => {
      live = false;
    };
  }, [method, key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  if (state.key !== key) return { loading: key !== null, reload };
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** A call made on demand (a button, a form). `run` resolves with the result, or undefined after an error (kept in `error`). */
export function useAction<M extends MethodName>(method: M): ApiState<ApiResponse<M>> & { run: (payload: ApiRequest<M>) => Promise<ApiResponse<M> | undefined>; reset: () => void } {
  const [state, setState] = useState<ApiState<ApiResponse<M>>>({ loading: false });
  const seq = useRef(0);
  const run = useCallback(
    async (payload: ApiRequest<M>) => {
      const mine = ++seq.current;
      setState({ loading: true });
      try {
        const data = await api().call(method, payload);
        if (mine === seq.current) setState({ data, loading: false });
        return data;
      } catch (e) {
        if (mine === seq.current) setState({ error: asCallError(method, e), loading: false });
        return undefined;
      }
    },
    [method],
  );
  const reset = useCallback(() => {
    seq.current++;
    setState({ loading: false });
  }, []);
  return { ...state, run, reset };
}

/** Subscribes to the main process's events for the component's lifetime. */
export function useApiEvent(listener: (e: ApiEvent) => void): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => api().onEvent((e) => ref.current(e)), []);
}
