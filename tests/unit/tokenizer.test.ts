import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer, SubspaceTokenizer } from '../../src-main/engine/io/tokenizer.js';
import { SubspaceError } from '../../src-main/engine/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'subspace-tok-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function makeFolder(files: Record<string, unknown>): string {
  const dir = path.join(root, `m${counter++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

async function expectError(p: Promise<unknown>, code: string, ...fragments: string[]): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SubspaceError);
  expect((err as SubspaceError).code).toBe(code);
  for (const f of fragments) expect((err as SubspaceError).message).toContain(f);
}

/** GPT-2's byte → printable-character table: printable Latin-1 bytes map to themselves, the rest to U+0100.. */
function byteSymbols(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let next = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(keep(b) ? b : 256 + next++);
  return table;
}

/** A GPT-2-style byte-level BPE: the 256 byte symbols, a few merges, and <|endoftext|>. */
function byteLevelTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteSymbols().forEach((s, i) => (vocab[s] = i));
  const merges = ['Ġ t', 'h e', 'Ġt he', 'Ġ c', 'a t', 'Ġc at', 'l l', 'e ll', 'H ell', 'Hell o', 'Ġ w', 'o r', 'Ġw or', 'l d', 'Ġwor ld'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const eot = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = eot;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

function wordLevelTokenizerJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: [
      { id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: {
      type: 'WordLevel',
      vocab: { '[UNK]': 0, '<s>': 1, '</s>': 2, hello: 3, world: 4, '!': 5, ',': 6, user: 7, assistant: 8, hi: 9, there: 10 },
      unk_token: '[UNK]',
    },
    ...extra,
  };
}

/** A Llama-2-like post-processor that puts <s> (id 1) in front. */
const bosTemplate = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
  special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
};

const chatml =
  '{% for message in messages %}{{ bos_token if loop.first else "" }}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}' +
  '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';

describe('byte-level BPE (GPT-2 style)', () => {
  it('round-trips text with spaces, punctuation and unicode', async () => {
    const tok = await loadTokenizer(makeFolder({ 'tokenizer.json': byteLevelTokenizerJson() }));
    const texts = [
      'Hello world',
      'the cat sat on the mat, didn\'t it? "Yes" -- 3.14!',
      'a , b . c',
      '  leading and trailing  \n\ttabs\n\n',
      'naïve café, Ελληνικά, 日本語, emoji 🙂👍🏽',
      '',
    ];
    for (const text of texts) {
      const ids = tok.encode(text);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)).toBe(true);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('applies merges and adds no special tokens by default', async () => {
    const tok = await loadTokenizer(makeFolder({ 'tokenizer.json': byteLevelTokenizerJson() }));
    const ids = tok.encode('Hello the world');
    expect(ids.map((id) => tok.idToToken(id))).toEqual(['Hello', 'Ġthe', 'Ġworld']);
    expect(tok.tokenStrings(ids)).toEqual(['Hello', ' the', ' world']);
    expect(tok.vocabSize).toBe(256 + 15 + 1);
    expect(tok.bosTokenId).toBeUndefined();
  });

  it('shows per-token text, with U+FFFD for partial UTF-8 bytes', async () => {
    const tok = await loadTokenizer(makeFolder({ 'tokenizer.json': byteLevelTokenizerJson() }));
    const ids = tok.encode('cat 🙂');
    const pieces = tok.tokenStrings(ids);
    expect(pieces.slice(0, 2)).toEqual(['c', 'at']);
    // " 🙂" is one pre-token of 5 bytes with no merges: the space, then the emoji's 4 bytes.
    expect(pieces.slice(2)).toEqual([' ', '\uFFFD', '\uFFFD', '\uFFFD', '\uFFFD']);
    expect(tok.decode(ids)).toBe('cat 🙂');
  });

  it('recognises special tokens in text and skips them on request', async () => {
    const tok = await loadTokenizer(
      makeFolder({
        'tokenizer.json': byteLevelTokenizerJson(),
        'generation_config.json': { bos_token_id: 271, eos_token_id: 271 },
      }),
    );
    const ids = tok.encode('the cat<|endoftext|>');
    expect(ids[ids.length - 1]).toBe(271);
    expect(tok.decode(ids)).toBe('the cat<|endoftext|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('the cat');
    expect(tok.eosTokenIds).toEqual([271]);
    expect(tok.bosTokenId).toBe(271);
    expect(tok.padTokenId).toBe(271); // falls back to eos
    expect(tok.isSpecialId(271)).toBe(true);
    expect(tok.specialTokens.all).toEqual([{ text: '<|endoftext|>', id: 271 }]);
  });

  it('skips ids outside the vocabulary when decoding and rejects non-ids', async () => {
    const tok = await loadTokenizer(makeFolder({ 'tokenizer.json': byteLevelTokenizerJson() }));
    const ids = tok.encode('Hello');
    expect(tok.decode([...ids, 99999])).toBe('Hello');
    expect(tok.decode([])).toBe('');
    expect(tok.tokenStrings([99999])).toEqual(['']);
    expect(() => tok.decode([1.5])).toThrow(SubspaceError);
    expect(() => tok.decode([-1])).toThrow(/ids\[0\]/);
  });

  it('does not apply the old clean-up of spaces unless tokenizer_config asks for it', async () => {
    const tj = byteLevelTokenizerJson();
    const plain = await loadTokenizer(makeFolder({ 'tokenizer.json': tj }));
    expect(plain.decode(plain.encode('a , b'))).toBe('a , b');
    const cleaning = await loadTokenizer(makeFolder({ 'tokenizer.json': tj, 'tokenizer_config.json': { clean_up_tokenization_spaces: true } }));
    expect(cleaning.decode(cleaning.encode('a , b'))).toBe('a, b');
    expect(cleaning.decode(cleaning.encode('a , b'), { cleanUpTokenizationSpaces: false })).toBe('a , b');
  });
});

/** A Llama-2-style SentencePiece BPE: ▁ for spaces, byte fallback, and a Strip decoder. */
function sentencePieceTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  for (const c of ['▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd']) vocab[c] = Object.keys(vocab).length;
  const merges = ['▁ h', 'e l', 'el l', 'ell o', '▁h ello', '▁ w', 'o r', '▁w or', 'l d', '▁wor ld'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: bosTemplate,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', fuse_unk: true, byte_fallback: true, vocab, merges },
  };
}

describe('SentencePiece-style BPE (Llama 2)', () => {
  it('round-trips with byte fallback and keeps the spaces in per-token text', async () => {
    const tok = await loadTokenizer(
      makeFolder({ 'tokenizer.json': sentencePieceTokenizerJson(), 'tokenizer_config.json': { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' } }),
    );
    const ids = tok.encode('hello world é');
    expect(ids[0]).toBe(1);
    expect(ids.map((id) => tok.idToToken(id))).toEqual(['<s>', '▁hello', '▁world', '▁', '<0xC3>', '<0xA9>']);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('hello world é');
    expect(tok.decode(ids)).toBe('<s> hello world é');
    // Decoded alone, "▁world" would lose its space to the Strip decoder.
    expect(tok.tokenStrings(ids)).toEqual(['<s>', ' hello', ' world', ' ', '\uFFFD', '\uFFFD']);
  });
});

describe('WordLevel with Whitespace pre-tokenizer', () => {
  it('encodes words, maps unknown words to [UNK] and decodes with spaces', async () => {
    const tok = await loadTokenizer(makeFolder({ 'tokenizer.json': wordLevelTokenizerJson() }));
    expect(tok.encode('hello, world!')).toEqual([3, 6, 4, 5]);
    expect(tok.encode('hello   there friend')).toEqual([3, 10, 0]);
    expect(tok.unkTokenId).toBe(0);
    expect(tok.specialTokens.unk).toBe('[UNK]');
    expect(tok.decode([3, 6, 4, 5])).toBe('hello , world !');
    expect(tok.tokenStrings([3, 6, 4, 5])).toEqual(['hello', ',', 'world', '!']);
    expect(tok.vocabSize).toBe(11);
  });

  it('errors clearly when a word is unknown and there is no unk token', async () => {
    const tj = wordLevelTokenizerJson();
    const model = tj.model as Record<string, unknown>;
    delete model.unk_token;
    const tok = await loadTokenizer(makeFolder({ 'tokenizer.json': tj }));
    expect(tok.encode('hello world')).toEqual([3, 4]);
    expect(() => tok.encode('hello friend')).toThrow(/"friend" is not in the vocabulary/);
  });
});

describe('tokenizer_config: BOS handling and chat templates', () => {
  it('uses the post-processor BOS, and add_bos_token=false removes it', async () => {
    const tj = wordLevelTokenizerJson({ post_processor: bosTemplate });
    const withBos = await loadTokenizer(makeFolder({ 'tokenizer.json': tj, 'tokenizer_config.json': { bos_token: '<s>', eos_token: '</s>' } }));
    expect(withBos.bosTokenId).toBe(1);
    expect(withBos.encode('hello world')).toEqual([1, 3, 4]);
    expect(withBos.encode('hello world', { addSpecialTokens: false })).toEqual([3, 4]);
    expect(withBos.decode([1, 3, 4], { skipSpecialTokens: true })).toBe('hello world');

    const noBos = await loadTokenizer(
      makeFolder({ 'tokenizer.json': tj, 'tokenizer_config.json': { bos_token: '<s>', eos_token: '</s>', add_bos_token: false } }),
    );
    expect(noBos.encode('hello world')).toEqual([3, 4]);
    // A BOS written in the text stays.
    expect(noBos.encode('<s>hello')).toEqual([1, 3]);
  });

  it('add_bos_token=true adds BOS when the post-processor does not; add_eos_token appends EOS', async () => {
    const tok = await loadTokenizer(
      makeFolder({
        'tokenizer.json': wordLevelTokenizerJson(),
        // AddedToken-object form of special tokens, as older configs have.
        'tokenizer_config.json': { bos_token: { __type: 'AddedToken', content: '<s>' }, eos_token: '</s>', add_bos_token: true, add_eos_token: true },
      }),
    );
    expect(tok.encode('hello')).toEqual([1, 3, 2]);
    expect(tok.encode('hello', { addSpecialTokens: false })).toEqual([3]);
    // Like transformers: a BOS typed into the text does not stop another being added.
    expect(tok.encode('<s>hello')).toEqual([1, 1, 3, 2]);
    expect(tok.eosTokenIds).toEqual([2]);
    expect(tok.padTokenId).toBe(2);
  });

  it('merges eos ids from generation_config (number or list)', async () => {
    const tok = await loadTokenizer(
      makeFolder({
        'tokenizer.json': wordLevelTokenizerJson(),
        'tokenizer_config.json': { eos_token: '</s>', pad_token: '[UNK]' },
        'generation_config.json': { eos_token_id: [9, 2, 10] },
      }),
    );
    expect(tok.eosTokenIds).toEqual([2, 9, 10]);
    expect(tok.padTokenId).toBe(0);
  });

  it('renders a ChatML template for a two-message conversation', async () => {
    const tok = await loadTokenizer(
      makeFolder({
        'tokenizer.json': byteLevelTokenizerJson(),
        'tokenizer_config.json': { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', chat_template: chatml },
      }),
    );
    expect(tok.hasChatTemplate).toBe(true);
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hello world' },
    ];
    const prompt = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(prompt).toBe(
      '<|endoftext|><|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(tok.applyChatTemplate(messages)).not.toContain('<|im_start|>assistant');
    const ids = tok.encode(prompt);
    expect(ids[0]).toBe(271);
    expect(tok.decode(ids)).toBe(prompt);
  });

  it('renders a Llama-3-like template from chat_template.jinja, with raise_exception', async () => {
    const llama3 =
      "{{ bos_token }}{% for m in messages %}{% if m.role not in ['system', 'user', 'assistant'] %}{{ raise_exception('bad role ' + m.role) }}{% endif %}" +
      "<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content | trim }}<|eot_id|>{% endfor %}" +
      '{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}';
    const tok = await loadTokenizer(
      makeFolder({
        'tokenizer.json': wordLevelTokenizerJson(),
        'tokenizer_config.json': { bos_token: '<s>', chat_template: 'IGNORED' },
        'chat_template.jinja': llama3,
      }),
    );
    const out = tok.applyChatTemplate(
      [
        { role: 'user', content: ' hi there ' },
        { role: 'assistant', content: 'hello' },
      ],
      { addGenerationPrompt: false },
    );
    expect(out).toBe(
      '<s><|start_header_id|>user<|end_header_id|>\n\nhi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nhello<|eot_id|>',
    );
    expect(() => tok.applyChatTemplate([{ role: 'robot', content: 'x' }])).toThrow(/bad role robot/);
  });

  it('supports a list of named templates', async () => {
    const tok = await loadTokenizer(
      makeFolder({
        'tokenizer.json': wordLevelTokenizerJson(),
        'tokenizer_config.json': {
          chat_template: [
            { name: 'default', template: '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}' },
            { name: 'tool_use', template: 'TOOLS:{{ tools | length }}' },
          ],
        },
      }),
    );
    expect(tok.chatTemplateNames).toEqual(['default', 'tool_use']);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('[user]hi');
    expect(tok.applyChatTemplate([], { templateName: 'tool_use', variables: { tools: [1, 2] } })).toBe('TOOLS:2');
    expect(() => tok.applyChatTemplate([], { templateName: 'nope' })).toThrow(/no chat template named 'nope'/);
  });

  it('says clearly when there is no chat template', async () => {
    const dir = makeFolder({ 'tokenizer.json': wordLevelTokenizerJson() });
    const tok = await loadTokenizer(dir);
    expect(tok.hasChatTemplate).toBe(false);
    let err: unknown;
    try {
      tok.applyChatTemplate([{ role: 'user', content: 'hi' }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SubspaceError);
    expect((err as SubspaceError).code).toBe('UNSUPPORTED');
    expect((err as SubspaceError).message).toContain(dir);
    expect((err as SubspaceError).message).toContain('no chat template');
  });

  it('reports a template that does not parse as a bad file', async () => {
    const tok = await loadTokenizer(
      makeFolder({ 'tokenizer.json': wordLevelTokenizerJson(), 'tokenizer_config.json': { chat_template: '{% for m in messages %}' } }),
    );
    expect(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/tokenizer_config\.json \(chat_template\) could not be parsed/);
  });
});

describe('loading errors', () => {
  it('a folder without tokenizer.json is NOT_FOUND and names the folder', async () => {
    const dir = makeFolder({ 'config.json': {} });
    await expectError(loadTokenizer(dir), 'NOT_FOUND', dir, 'tokenizer.json', 'required');
  });

  it('a missing folder is NOT_FOUND', async () => {
    const dir = path.join(root, 'does-not-exist');
    await expectError(loadTokenizer(dir), 'NOT_FOUND', dir);
  });

  it('invalid JSON is BAD_FILE naming the file', async () => {
    const dir = makeFolder({ 'tokenizer.json': '{"model": ' });
    await expectError(loadTokenizer(dir), 'BAD_FILE', path.join(dir, 'tokenizer.json'), 'not valid JSON');
    const dir2 = makeFolder({ 'tokenizer.json': wordLevelTokenizerJson(), 'tokenizer_config.json': 'nope{' });
    await expectError(loadTokenizer(dir2), 'BAD_FILE', path.join(dir2, 'tokenizer_config.json'));
    const dir3 = makeFolder({ 'tokenizer.json': wordLevelTokenizerJson(), 'generation_config.json': '[1,2]' });
    await expectError(loadTokenizer(dir3), 'BAD_FILE', path.join(dir3, 'generation_config.json'));
  });

  it('a tokenizer.json the library cannot load is BAD_FILE', async () => {
    const noModel = makeFolder({ 'tokenizer.json': { version: '1.0' } });
    await expectError(loadTokenizer(noModel), 'BAD_FILE', path.join(noModel, 'tokenizer.json'), '"model"');
    const badModel = makeFolder({ 'tokenizer.json': { model: { type: 'Mystery' } } });
    await expectError(loadTokenizer(badModel), 'BAD_FILE', path.join(badModel, 'tokenizer.json'), 'could not be loaded');
  });

  it('can be built from in-memory JSON', () => {
    const tok = new SubspaceTokenizer({ tokenizerJson: wordLevelTokenizerJson() }, '<memory>');
    expect(tok.encode('hi there')).toEqual([9, 10]);
  });
});
