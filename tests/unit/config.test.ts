import { describe, expect, it } from 'vitest';
import { parameterCount, parseModelConfig } from '../../src-main/engine/model/config.js';
import { ropeInvFreq } from '../../src-main/engine/model/ops.js';

const llama = { model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2, vocab_size: 100 };

describe('config.json parsing', () => {
  it('maps Llama, Qwen2 and Mistral onto one spec with the right bias flags', () => {
    const l = parseModelConfig(llama);
    expect(l).toMatchObject({ family: 'llama', nKvHeads: 2, dHead: 8, qkvBias: false, oBias: false, tiedEmbeddings: false, norm: 'rmsnorm', activation: 'silu' });
    expect(parseModelConfig({ ...llama, attention_bias: true })).toMatchObject({ qkvBias: true, oBias: true });
    expect(parseModelConfig({ ...llama, model_type: 'qwen2' })).toMatchObject({ qkvBias: true, oBias: false });
    expect(parseModelConfig({ ...llama, model_type: 'mistral', head_dim: 16 })).toMatchObject({ dHead: 16 });
  });

  it('reads GPT-2 configs with their defaults', () => {
    const g = parseModelConfig({ model_type: 'gpt2', n_embd: 48, n_layer: 3, n_head: 4, n_positions: 32, vocab_size: 50 });
    expect(g).toMatchObject({ family: 'gpt2', dHead: 12, dMlp: 192, tiedEmbeddings: true, activation: 'gelu_new', positional: 'learned', normEps: 1e-5 });
  });

  it('folds Llama 3 rope scaling into the inverse frequencies', () => {
    const plain = ropeInvFreq(parseModelConfig({ ...llama, rope_theta: 500000 }).rope!);
    const scaled = ropeInvFreq(parseModelConfig({ ...llama, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }).rope!);
    expect(scaled[0]).toBeCloseTo(plain[0], 12); // high frequencies untouched
    expect(scaled[scaled.length - 1]).toBeCloseTo(plain[plain.length - 1] / 8, 12); // low frequencies divided by the factor
    const linear = ropeInvFreq(parseModelConfig({ ...llama, rope_scaling: { type: 'linear', factor: 2 } }).rope!);
    expect(linear[1]).toBeCloseTo(ropeInvFreq(parseModelConfig(llama).rope!)[1] / 2, 12);
  });

  it('refuses what it cannot run, naming the field', () => {
    expect(() => parseModelConfig({ ...llama, num_key_value_heads: 3 })).toThrow(/not a multiple of num_key_value_heads \(3\)/);
    expect(() => parseModelConfig({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(/rope_scaling type 'yarn' is not supported/);
    expect(() => parseModelConfig({ ...llama, hidden_act: 'swiglu2' })).toThrow(/activation 'swiglu2' is not supported/);
    expect(() => parseModelConfig({ ...llama, hidden_size: -4 })).toThrow(/hidden_size/);
    expect(() => parseModelConfig({ model_type: 'gpt2', n_embd: 48, n_layer: 3, n_head: 4, n_positions: 32, vocab_size: 50, scale_attn_by_inverse_layer_idx: true })).toThrow(/not supported/);
    expect(() => parseModelConfig([1, 2])).toThrow(/expected a JSON object/);
    expect(() => parseModelConfig({ hidden_size: 4 })).toThrow(/missing 'model_type'/);
  });

  it('counts parameters the way the checkpoint stores them', () => {
    // GPT-2 small: 124,439,808 parameters with tied embeddings.
    expect(parameterCount(parseModelConfig({ model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 }))).toBe(124439808);
  });
});
