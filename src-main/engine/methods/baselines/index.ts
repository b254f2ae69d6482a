/**
 * One entry point for the LoFIT paper's other baselines, trained or fitted on the same splits:
 * RED (scale and bias per layer), LoRA (rank-r adapters on the query and value projections) and
 * RepE (a reading vector added with a coefficient). Each reports its parameter count and its test
 * score with the same metric as the head-level methods.
 */
import { SubspaceError } from '../../errors.js';
import type { SubspaceTokenizer } from '../../io/tokenizer.js';
import type { Transformer } from '../../model/transformer.js';
import type { EvalResult } from '../../eval/evaluate.js';
import type { RunHooks } from '../progress.js';
import { taskMetric, type TaskData } from '../comparisons.js';
import { evaluateRed, trainRed, type RedConfig, type RedResult } from './red.js';
import { evaluateLora, trainLora, type LoraConfig, type LoraResult } from './lora.js';
import { evaluateRepe, tuneRepe, type RepeConfig, type RepeResult } from './repe.js';

export const BASELINE_METHODS = ['red', 'lora', 'repe'] as const;
export type BaselineMethod = (typeof BASELINE_METHODS)[number];

export function parseBaselineMethod(name: string): BaselineMethod {
  if (!(BASELINE_METHODS as readonly string[]).includes(name)) throw new SubspaceError('BAD_ARGUMENT', `unknown baseline '${name}' (known: ${BASELINE_METHODS.join(', ')})`, 'method');
  return name as BaselineMethod;
}

export interface BaselineConfigs {
  red?: Partial<RedConfig>;
  lora?: Partial<LoraConfig>;
  repe?: Partial<RepeConfig>;
}

export interface BaselineRun {
  method: BaselineMethod;
  parameters: number;
  test: EvalResult;
  metric: number;
  seconds: number;
  /** The method's own result (trained parameters, curves, the RepE grid). */
  detail: RedResult | LoraResult | RepeResult;
  /** A one-line description of the setting (layers, rank, coefficient). */
  setting: string;
}

export function runBaseline(method: string, model: Transformer, tok: SubspaceTokenizer, data: TaskData, opts: { multipleChoice?: boolean; configs?: BaselineConfigs } = {}, hooks: RunHooks = {}): BaselineRun {
  const m = parseBaselineMethod(method);
  const mc = opts.multipleChoice ?? false;
  const t0 = performance.now();
  const split = { train: data.train, dev: data.dev };
  const done = (parameters: number, test: EvalResult, detail: BaselineRun['detail'], setting: string): BaselineRun => ({ method: m, parameters, test, metric: taskMetric(test, mc), seconds: (performance.now() - t0) / 1000, detail, setting });
  if (m === 'red') {
    const r = trainRed(model, tok, split, { ...opts.configs?.red, multipleChoice: mc }, hooks);
    return done(r.parameters, evaluateRed(model, tok, data.test, r, mc), r, `${r.site}, layers ${r.layers.join(',')}`);
  }
  if (m === 'lora') {
    const r = trainLora(model, tok, split, { ...opts.configs?.lora, multipleChoice: mc }, hooks);
    return done(r.parameters, evaluateLora(model, tok, data.test, r, mc), r, `rank ${r.rank}, α ${r.alpha}, ${r.config.targets.join('+')} of layers ${(r.config.layers ?? []).join(',')}`);
  }
  const r = tuneRepe(model, tok, split, { ...opts.configs?.repe, multipleChoice: mc });
  const test = evaluateRepe(model, tok, data.test, r.reading, r.coefficient, { positions: r.config.positions, multipleChoice: mc });
  return done(r.parameters, test, r, `${r.reading.site} layer ${r.reading.layer}, c = ${r.coefficient} (dev-chosen), reading accuracy ${(100 * r.reading.readingAccuracy).toFixed(0)}%`);
}
