import { taskWords } from '../src-main/engine/tasks/vocabulary.js';

/** The built-in demo models: shapes, and the word-level tokenizer over the task vocabulary. */
export const BOS = '<s>';
export const EOS = '</s>';
export const VOCAB_SIZE = 320;

export function demoVocabulary(): string[] {
  return [EOS, BOS, '<unk>', ...taskWords()];
}

/** A Hugging Face tokenizer.json: WordLevel over the task words, split on whitespace, BOS prepended. */
export function demoTokenizerFiles(): Record<string, string> {
  const words = demoVocabulary();
  if (words.length > VOCAB_SIZE) throw new Error(`vocabulary (${words.length}) exceeds the model's ${VOCAB_SIZE} rows`);
  const vocab = Object.fromEntries(words.map((w, i) => [w, i]));
  const special = (id: number) => ({ id, content: words[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0), special(1), special(2)],
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [BOS]: { id: BOS, ids: [1], tokens: [BOS] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
  const config = { bos_token: BOS, eos_token: EOS, pad_token: EOS, unk_token: '<unk>', model_max_length: 64, tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false };
  return { 'tokenizer.json': JSON.stringify(tokenizer, null, 1) + '\n', 'tokenizer_config.json': JSON.stringify(config, null, 2) + '\n' };
}

export const DEMO_CONFIGS: Record<string, Record<string, unknown>> = {
  'demo-gpt2': {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    n_embd: 128,
    n_layer: 4,
    n_head: 8,
    n_inner: 512,
    n_positions: 64,
    vocab_size: VOCAB_SIZE,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 0,
    pad_token_id: 0,
  },
  'demo-llama': {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    hidden_size: 128,
    intermediate_size: 352,
    num_hidden_layers: 4,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 16,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
    vocab_size: VOCAB_SIZE,
    bos_token_id: 1,
    eos_token_id: 0,
    pad_token_id: 0,
  },
};
