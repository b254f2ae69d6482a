import { z } from 'zod';
import { SubspaceError } from '../errors.js';

/**
 * One normalised description of a decoder-only transformer. Every family maps its
 * Hugging Face config onto this; the runtime reads nothing else. Adding a family
 * means adding a parser here and a weight mapping in families/.
 */
export interface ModelSpec {
  family: 'gpt2' | 'llama';
  modelType: string;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dModel: number;
  dHead: number;
  dMlp: number;
  vocabSize: number;
  /** Longest sequence the positional scheme supports (learned positions) or was trained for (RoPE). */
  maxPositions: number;
  norm: 'layernorm' | 'rmsnorm';
  normEps: number;
  activation: 'gelu_new' | 'gelu' | 'relu' | 'silu';
  positional: 'learned' | 'rope';
  rope?: RopeSpec;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** GPT-2 style MLP (in/out) or gated SwiGLU (gate/up/down). */
  mlp: 'plain' | 'gated';
  tiedEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
  padTokenId?: number;
}

export interface RopeSpec {
  theta: number;
  /** Rotary dims per head (partial rotary applies RoPE to the first `dims` only). */
  dims: number;
  scaling?:
    | { type: 'linear'; factor: number }
    | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
}

const positiveInt = z.number().int().positive();
const tokenIds = z.union([z.number().int(), z.array(z.number().int())]).nullish();

const gpt2Schema = z.object({
  model_type: z.literal('gpt2'),
  n_embd: positiveInt,
  n_layer: positiveInt,
  n_head: positiveInt,
  n_positions: positiveInt,
  vocab_size: positiveInt,
  n_inner: positiveInt.nullish(),
  layer_norm_epsilon: z.number().positive().default(1e-5),
  activation_function: z.string().default('gelu_new'),
  tie_word_embeddings: z.boolean().default(true),
  bos_token_id: z.number().int().nullish(),
  eos_token_id: tokenIds,
  pad_token_id: z.number().int().nullish(),
  scale_attn_weights: z.boolean().default(true),
  scale_attn_by_inverse_layer_idx: z.boolean().default(false),
  reorder_and_upcast_attn: z.boolean().default(false),
});

const ropeScalingSchema = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    factor: z.number().positive().optional(),
    low_freq_factor: z.number().optional(),
    high_freq_factor: z.number().optional(),
    original_max_position_embeddings: z.number().int().optional(),
  })
  .passthrough()
  .nullish();

const llamaSchema = z.object({
  model_type: z.enum(['llama', 'qwen2', 'mistral']),
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullish(),
  head_dim: positiveInt.nullish(),
  vocab_size: positiveInt,
  max_position_embeddings: positiveInt.default(2048),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: ropeScalingSchema,
  partial_rotary_factor: z.number().positive().max(1).nullish(),
  hidden_act: z.string().default('silu'),
  attention_bias: z.boolean().nullish(),
  mlp_bias: z.boolean().nullish(),
  tie_word_embeddings: z.boolean().default(false),
  bos_token_id: z.number().int().nullish(),
  eos_token_id: tokenIds,
  pad_token_id: z.number().int().nullish(),
  sliding_window: z.number().int().nullish(),
  use_sliding_window: z.boolean().nullish(),
});

export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'qwen2', 'mistral'] as const;

function zodProblem(e: z.ZodError): string {
  return e.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

function asList(v: number | number[] | null | undefined): number[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function activationOf(name: string, file: string): ModelSpec['activation'] {
  const known: Record<string, ModelSpec['activation']> = {
    gelu_new: 'gelu_new',
    gelu_pytorch_tanh: 'gelu_new',
    gelu_fast: 'gelu_new',
    gelu: 'gelu',
    relu: 'relu',
    silu: 'silu',
    swish: 'silu',
  };
  const a = known[name];
  if (!a) {
    throw new SubspaceError(
      'UNSUPPORTED',
      `${file}: activation '${name}' is not supported (supported: ${Object.keys(known).join(', ')})`,
      file,
    );
  }
  return a;
}

function parseGpt2(raw: unknown, file: string): ModelSpec {
  const r = gpt2Schema.safeParse(raw);
  if (!r.success) throw new SubspaceError('BAD_CONFIG', `${file}: invalid GPT-2 config: ${zodProblem(r.error)}`, file);
  const c = r.data;
  if (c.n_embd % c.n_head !== 0) {
    throw new SubspaceError('BAD_CONFIG', `${file}: n_embd (${c.n_embd}) is not divisible by n_head (${c.n_head})`, file);
  }
  if (!c.scale_attn_weights || c.scale_attn_by_inverse_layer_idx || c.reorder_and_upcast_attn) {
    throw new SubspaceError(
      'UNSUPPORTED',
      `${file}: GPT-2 attention variants (scale_attn_weights=false, scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn) are not supported`,
      file,
    );
  }
  return {
    family: 'gpt2',
    modelType: 'gpt2',
    nLayers: c.n_layer,
    nHeads: c.n_head,
    nKvHeads: c.n_head,
    dModel: c.n_embd,
    dHead: c.n_embd / c.n_head,
    dMlp: c.n_inner ?? 4 * c.n_embd,
    vocabSize: c.vocab_size,
    maxPositions: c.n_positions,
    norm: 'layernorm',
    normEps: c.layer_norm_epsilon,
    activation: activationOf(c.activation_function, file),
    positional: 'learned',
    qkvBias: true,
    oBias: true,
    mlpBias: true,
    mlp: 'plain',
    tiedEmbeddings: c.tie_word_embeddings,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: asList(c.eos_token_id),
    padTokenId: c.pad_token_id ?? undefined,
  };
}

function parseRopeScaling(c: z.infer<typeof llamaSchema>, file: string): RopeSpec['scaling'] {
  const s = c.rope_scaling;
  if (!s) return undefined;
  const kind = s.rope_type ?? s.type ?? 'default';
  if (kind === 'default') return undefined;
  if (kind === 'linear') return { type: 'linear', factor: s.factor ?? 1 };
  if (kind === 'llama3') {
    return {
      type: 'llama3',
      factor: s.factor ?? 8,
      lowFreqFactor: s.low_freq_factor ?? 1,
      highFreqFactor: s.high_freq_factor ?? 4,
      originalMaxPositions: s.original_max_position_embeddings ?? 8192,
    };
  }
  throw new SubspaceError(
    'UNSUPPORTED',
    `${file}: rope_scaling type '${kind}' is not supported (supported: default, linear, llama3)`,
    file,
  );
}

function parseLlama(raw: unknown, file: string): ModelSpec {
  const r = llamaSchema.safeParse(raw);
  if (!r.success) throw new SubspaceError('BAD_CONFIG', `${file}: invalid ${String((raw as any)?.model_type)} config: ${zodProblem(r.error)}`, file);
  const c = r.data;
  const nKv = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % nKv !== 0) {
    throw new SubspaceError(
      'BAD_CONFIG',
      `${file}: num_attention_heads (${c.num_attention_heads}) is not a multiple of num_key_value_heads (${nKv})`,
      file,
    );
  }
  const dHead = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(dHead)) {
    throw new SubspaceError('BAD_CONFIG', `${file}: hidden_size (${c.hidden_size}) is not divisible by num_attention_heads (${c.num_attention_heads}) and head_dim is not given`, file);
  }
  const rotary = Math.round(dHead * (c.partial_rotary_factor ?? 1));
  if (rotary % 2 !== 0) throw new SubspaceError('BAD_CONFIG', `${file}: rotary dimension ${rotary} is odd`, file);
  const isQwen = c.model_type === 'qwen2';
  const attnBias = c.attention_bias ?? false;
  return {
    family: 'llama',
    modelType: c.model_type,
    nLayers: c.num_hidden_layers,
    nHeads: c.num_attention_heads,
    nKvHeads: nKv,
    dModel: c.hidden_size,
    dHead,
    dMlp: c.intermediate_size,
    vocabSize: c.vocab_size,
    maxPositions: c.max_position_embeddings,
    norm: 'rmsnorm',
    normEps: c.rms_norm_eps,
    activation: activationOf(c.hidden_act, file),
    positional: 'rope',
    rope: { theta: c.rope_theta, dims: rotary, scaling: parseRopeScaling(c, file) },
    // Qwen2 always has q/k/v biases and never an o_proj bias; Llama's attention_bias covers all four.
    qkvBias: isQwen || attnBias,
    oBias: !isQwen && attnBias,
    mlpBias: c.mlp_bias ?? false,
    mlp: 'gated',
    tiedEmbeddings: c.tie_word_embeddings,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: asList(c.eos_token_id),
    padTokenId: c.pad_token_id ?? undefined,
  };
}

/** Parses a Hugging Face `config.json` object. `file` names the source in errors. */
export function parseModelConfig(raw: unknown, file = 'config.json'): ModelSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SubspaceError('BAD_CONFIG', `${file}: expected a JSON object`, file);
  }
  const type = (raw as Record<string, unknown>).model_type;
  if (typeof type !== 'string') {
    throw new SubspaceError('BAD_CONFIG', `${file}: missing 'model_type' (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`, file);
  }
  switch (type) {
    case 'gpt2':
      return parseGpt2(raw, file);
    case 'llama':
    case 'qwen2':
    case 'mistral':
      return parseLlama(raw, file);
    default:
      throw new SubspaceError(
        'UNSUPPORTED',
        `${file}: model_type '${type}' is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
        file,
      );
  }
}

/** Parameters the model holds, by the shapes of its spec (used for summaries). */
export function parameterCount(s: ModelSpec): number {
  const d = s.dModel;
  const qDim = s.nHeads * s.dHead;
  const kvDim = s.nKvHeads * s.dHead;
  const norm = s.norm === 'layernorm' ? 2 * d : d;
  let perLayer = d * qDim + 2 * d * kvDim + qDim * d + 2 * norm;
  if (s.qkvBias) perLayer += qDim + 2 * kvDim;
  if (s.oBias) perLayer += d;
  perLayer += s.mlp === 'gated' ? 3 * d * s.dMlp : 2 * d * s.dMlp;
  if (s.mlpBias) perLayer += s.mlp === 'gated' ? 2 * s.dMlp + d : s.dMlp + d;
  let total = s.nLayers * perLayer + s.vocabSize * d + norm;
  if (s.positional === 'learned') total += s.maxPositions * d;
  if (!s.tiedEmbeddings) total += s.vocabSize * d;
  return total;
}
