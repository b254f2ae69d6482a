/**
 * The Playground's engine calls: next-token distribution, attention patterns,
 * the logit lens and generation with and without an intervention. They run in
 * the compute process (compute-worker.ts), never in the main process.
 */
import * as tf from '../../engine/tf.js';
import { loadArtifact } from '../../engine/artifacts/native.js';
import { SubspaceError } from '../../engine/errors.js';
import type { LoadedModel } from '../../engine/io/model-folder.js';
import { loadHeads } from '../../engine/methods/heads-artifact.js';
import { itiEdits, itiPromptEdits } from '../../engine/methods/iti.js';
import { lofitEdits } from '../../engine/methods/lofit.js';
import { loadReft } from '../../engine/methods/reft-artifact.js';
import { reftEdits } from '../../engine/methods/reft.js';
import { generate } from '../../engine/model/generate.js';
import { linear, norm } from '../../engine/model/ops.js';
import type { SiteEdit } from '../../engine/model/transformer.js';

export interface TokenText {
  id: number;
  text: string;
}

export interface TopToken {
  id: number;
  token: string;
  prob: number;
  logit: number;
}

type WithTokenizer = LoadedModel & { tokenizer: NonNullable<LoadedModel['tokenizer']> };

function needTokenizer(m: LoadedModel): WithTokenizer {
  if (!m.tokenizer) throw new SubspaceError('NOT_FOUND', `${m.folder}: no tokenizer.json; the playground needs one`, 'model');
  return m as WithTokenizer;
}

export function encodePrompt(m: LoadedModel, prompt: string): number[] {
  const ids = needTokenizer(m).tokenizer.encode(prompt);
  if (ids.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'prompt: encodes to no tokens', 'prompt');
  if (ids.length > m.spec.maxPositions) {
    throw new SubspaceError('BAD_ARGUMENT', `prompt: ${ids.length} tokens, but ${m.name} takes at most ${m.spec.maxPositions}`, 'prompt');
  }
  return ids;
}

function tokensOf(m: WithTokenizer, ids: number[]): TokenText[] {
  const texts = m.tokenizer.tokenStrings(ids);
  return ids.map((id, i) => ({ id, text: texts[i] ?? String(id) }));
}

/** Softmax top-k of one row of logits. */
function topOfRow(m: WithTokenizer, logits: ArrayLike<number>, k: number): TopToken[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const order = Array.from({ length: logits.length }, (_, i) => i)
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, Math.min(k, logits.length));
  const names = m.tokenizer.tokenStrings(order);
  return order.map((id, i) => ({ id, token: names[i] ?? String(id), prob: Math.exp(logits[id] - max) / sum, logit: logits[id] }));
}

export function nextToken(mIn: LoadedModel, prompt: string, topK: number): { tokens: TokenText[]; top: TopToken[] } {
  const m = needTokenizer(mIn);
  const ids = encodePrompt(m, prompt);
  const r = m.model.forward({ inputIds: [ids] }, { logits: 'last' });
  const logits = r.logits!.dataSync() as Float32Array;
  r.logits!.dispose();
  return { tokens: tokensOf(m, ids), top: topOfRow(m, logits, topK) };
}

export function attention(mIn: LoadedModel, prompt: string, layer: number): { tokens: TokenText[]; patterns: number[][][] } {
  const m = needTokenizer(mIn);
  if (!Number.isInteger(layer) || layer < 0 || layer >= m.spec.nLayers) {
    throw new SubspaceError('BAD_ARGUMENT', `layer: ${m.name} has layers 0-${m.spec.nLayers - 1} (got ${layer})`, 'layer');
  }
  const ids = encodePrompt(m, prompt);
  const r = m.model.forward({ inputIds: [ids] }, { read: [{ site: 'attention_pattern', layer }], logits: 'none' });
  const t = r.sites[`attention_pattern:${layer}`];
  const [pattern] = t.arraySync() as number[][][][];
  tf.dispose(Object.values(r.sites));
  return { tokens: tokensOf(m, ids), patterns: pattern };
}

export function logitLens(mIn: LoadedModel, prompt: string, topK: number): { tokens: TokenText[]; layers: { layer: number; positions: TopToken[][] }[] } {
  const m = needTokenizer(mIn);
  const ids = encodePrompt(m, prompt);
  const L = m.spec.nLayers;
  const reads = Array.from({ length: L }, (_, layer) => ({ site: 'block_output' as const, layer }));
  const r = m.model.forward({ inputIds: [ids] }, { read: reads, logits: 'none' });
  const layers: { layer: number; positions: TopToken[][] }[] = [];
  try {
    for (let layer = 0; layer < L; layer++) {
      const logits = tf.tidy(() => {
        const x = r.sites[`block_output:${layer}`];
        return linear(norm(x, m.model.weights.lnf, m.spec.norm, m.spec.normEps), m.model.weights.unembed);
      });
      const values = logits.dataSync() as Float32Array;
      const V = logits.shape[logits.shape.length - 1];
      logits.dispose();
      layers.push({ layer, positions: ids.map((_, t) => topOfRow(m, values.subarray(t * V, (t + 1) * V), topK)) });
    }
  } finally {
    tf.dispose(Object.values(r.sites));
  }
  return { tokens: tokensOf(m, ids), layers };
}

/** The edits an export folder applies while generating, and what it is. */
export function interventionEdits(m: LoadedModel, dir: string, ids: number[]): { method: string; promptEdits: SiteEdit[]; decodeEdits: SiteEdit[]; dispose: () => void } {
  const method = loadArtifact(dir).manifest.method;
  if (method === 'reft') {
    const r = loadReft(dir, m.spec);
    return { method, promptEdits: reftEdits(r.config, m.spec, r.placed, [ids.length]), decodeEdits: [], dispose: () => r.placed.forEach((p) => p.intervention.dispose()) };
  }
  if (method === 'lofit' || method === 'iti') {
    const h = loadHeads(dir, m.spec);
    if (h.method === 'lofit') {
      // LoFIT's offsets act at every position: the prompt and each new token.
      const edits = lofitEdits(h.offsets!, h.selected, m.spec);
      return { method, promptEdits: edits, decodeEdits: edits, dispose: () => {} };
    }
    // ITI shifts the last prompt token and every generated one.
    const decode = itiEdits(h.iti!, { mode: 'last', promptLengths: [1] }).map(({ positions: _p, ...e }) => e);
    return { method, promptEdits: itiPromptEdits(h.iti!, [ids]), decodeEdits: decode, dispose: () => {} };
  }
  throw new SubspaceError('UNSUPPORTED', `${dir} holds a ${method} export; generation supports reft, lofit and iti interventions`, 'intervention');
}

function completionText(m: WithTokenizer, ids: number[], out: number[]): string {
  // Decode prompt and continuation together so word-level tokenizers keep the space between them.
  const full = m.tokenizer.decode([...ids, ...out], { skipSpecialTokens: true });
  const head = m.tokenizer.decode(ids, { skipSpecialTokens: true });
  return full.startsWith(head) ? full.slice(head.length) : m.tokenizer.decode(out, { skipSpecialTokens: true });
}

export function generateBoth(
  mIn: LoadedModel,
  prompt: string,
  maxTokens: number,
  intervention?: { dir: string; source: string },
): { without: { text: string; tokens: number[] }; with?: { text: string; tokens: number[]; method: string; source: string } } {
  const m = needTokenizer(mIn);
  const ids = encodePrompt(m, prompt);
  const room = m.spec.maxPositions - ids.length;
  if (room < 1) throw new SubspaceError('BAD_ARGUMENT', `prompt: fills the model's ${m.spec.maxPositions} positions; nothing can be generated`, 'prompt');
  const maxNewTokens = Math.min(maxTokens, room);
  const base = generate(m.model, [ids], { maxNewTokens, padTokenId: m.tokenizer.padTokenId });
  const without = { text: completionText(m, ids, base.tokens[0]), tokens: base.tokens[0] };
  if (!intervention) return { without };
  const e = interventionEdits(m, intervention.dir, ids);
  try {
    const r = generate(m.model, [ids], { maxNewTokens, padTokenId: m.tokenizer.padTokenId, promptEdits: e.promptEdits, decodeEdits: e.decodeEdits.length ? e.decodeEdits : undefined });
    return { without, with: { text: completionText(m, ids, r.tokens[0]), tokens: r.tokens[0], method: e.method, source: intervention.source } };
  } finally {
    e.dispose();
  }
}
