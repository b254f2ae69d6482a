/**
 * What the compute process can be asked to do, with the argument and result
 * types of each operation. The main process (compute-client.ts) and the
 * compute process (compute-worker.ts) share these types; the arguments come
 * from handlers that validated the request against the contract already.
 */
import type { BackendReport } from '../../engine/backend/index.js';
import type { ModelSpec } from '../../engine/model/config.js';
import type { HeadPatterns } from '../../engine/analysis/head-patterns.js';
import type { DirectionOut, ExportFormat, RunTablesArgs, RunTablesResult } from './run-files.js';
import type { TokenText, TopToken } from './playground.js';
import type { InterchangeCellArgs, InterchangeCellResult } from './interchange.js';
import type { ProjectionsOut } from './reft-projections.js';
import type { TaskExample } from '../../engine/tasks/schema.js';

export interface ModelDescription {
  name: string;
  folder: string;
  contentHash: string;
  spec: ModelSpec;
  parameters: number;
}

export interface ComputeOps {
  backend: { args: Record<string, never>; result: BackendReport };
  /** Reads a model folder's config and weights (the hash reads every weight file). */
  describeModel: { args: { folder: string }; result: ModelDescription };
  nextToken: { args: { model: string; prompt: string; topK: number }; result: { model: string; tokens: TokenText[]; top: TopToken[] } };
  attention: { args: { model: string; prompt: string; layer: number }; result: { model: string; layer: number; tokens: TokenText[]; patterns: number[][][] } };
  headPatterns: { args: { model: string; length: number; sequences: number; seed: number; task?: string }; result: HeadPatterns & { model: string; tokensFrom: string } };
  logitLens: { args: { model: string; prompt: string; topK: number }; result: { model: string; tokens: TokenText[]; layers: { layer: number; positions: TopToken[][] }[] } };
  generate: {
    args: { model: string; prompt: string; maxTokens: number; intervention?: { dir: string; source: string } };
    result: { model: string; without: { text: string; tokens: number[] }; with?: { text: string; tokens: number[]; method: string; source: string } };
  };
  /** `model` defaults to the one the export names. */
  directions: { args: { dir: string; topK: number; model?: string }; result: { method: string; directions: DirectionOut[] } };
  exportRun: { args: { dir: string; format: ExportFormat; out: string; model?: string }; result: { method: string; out: string } };
  /** A run's result tables (patching, DAS search, ablation, RepE, transfer) as CSV or JSON files in `out`. */
  exportRunTables: { args: RunTablesArgs; result: RunTablesResult };
  /** ReFT view: examples' representations projected on two learned directions of an export (`model` defaults to the one it names). */
  reftProjections: { args: { dir: string; examples: TaskExample[]; directions: number[]; model?: string }; result: ProjectionsOut };
  /** Interchange view: one example as base/source tokens and, with a site, clean / corrupt / patched next-token distributions. */
  interchangeCell: { args: InterchangeCellArgs; result: InterchangeCellResult };
  /** Tests only: occupies the process for `ms` (a stand-in for a long engine call). */
  sleep: { args: { ms: number }; result: { slept: number } };
}

export type ComputeOp = keyof ComputeOps;

export type ComputeRequest = { id: number; op: ComputeOp; args: unknown };
export type ComputeReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: string; message: string; field?: string } };
/** The first message of a compute process: its backend is up (or could not start). */
export type ComputeHello = { hello: true; backend?: BackendReport; error?: { code: string; message: string } };
