/**
 * Tokenizer wrapper: loads a Hugging Face model folder's `tokenizer.json` (with
 * the optional `tokenizer_config.json`, `special_tokens_map.json`,
 * `generation_config.json`, `config.json` and `chat_template.jinja`) and exposes
 * the few operations the engine and the UI need: text → ids, ids → text, the
 * per-token text for token displays, the special token ids, and chat templates.
 *
 * The heavy lifting is done by `@huggingface/tokenizers` (pure JS) and chat
 * templates are rendered with `@huggingface/jinja`. This module fills the gaps
 * between those libraries and what `transformers` does in Python:
 *  - `add_bos_token` / `add_eos_token` from tokenizer_config.json are honoured
 *    on top of the tokenizer.json post-processor (the library ignores them);
 *  - `clean_up_tokenization_spaces` defaults to false (as in recent transformers;
 *    the library defaults to true, which breaks round trips of "a , b");
 *  - ids outside the vocabulary are skipped when decoding (as the Rust library
 *    does) instead of crashing;
 *  - WordLevel models get their unk token from tokenizer.json.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { SubspaceError, errorMessage } from '../errors.js';

export interface ChatMessage {
  role: string;
  content: string;
  /** Extra fields (tool calls, names, ...) are passed to the template as-is. */
  [key: string]: unknown;
}

export interface EncodeOptions {
  /** Add the special tokens the tokenizer adds by default (BOS for Llama, ...). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, chat markers) from the text. Default false. */
  skipSpecialTokens?: boolean;
  /** Apply the old transformers "clean up" (" ," → ","). Default: tokenizer_config, else false. */
  cleanUpTokenizationSpaces?: boolean;
}

export interface ChatTemplateOptions {
  /** End the prompt with the header of an assistant turn. Default false. */
  addGenerationPrompt?: boolean;
  /** Pick one of several named templates (tokenizer_config `chat_template` as a list). */
  templateName?: string;
  /** Extra variables for the template (e.g. `tools`, `enable_thinking`). */
  variables?: Record<string, unknown>;
}

export interface SpecialTokens {
  bos?: string;
  eos?: string;
  pad?: string;
  unk?: string;
  /** Every special token (added tokens marked special, additional_special_tokens, bos/eos/pad/unk), by id. */
  all: { text: string; id: number }[];
}

/** The JSON documents a tokenizer is built from (what loadTokenizer reads from a folder). */
export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfig?: unknown;
  specialTokensMap?: unknown;
  generationConfig?: unknown;
  modelConfig?: unknown;
  /** Contents of chat_template.jinja; overrides tokenizer_config's chat_template. */
  chatTemplateFile?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A special token in tokenizer_config.json is a string, an AddedToken object or null. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

function firstId(v: unknown): number | undefined {
  return idList(v)[0];
}

function decoderStripsFirstSpace(decoder: unknown): boolean {
  if (!isObject(decoder)) return false;
  if (decoder.type === 'Metaspace' || decoder.type === 'Strip') return true;
  return Array.isArray(decoder.decoders) && decoder.decoders.some(decoderStripsFirstSpace);
}

export class SubspaceTokenizer {
  /** Where the tokenizer came from (a folder, or a label for in-memory tokenizers). */
  readonly source: string;
  /** Highest token id + 1 (including added tokens). */
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  /** EOS ids: the tokenizer's EOS first, then generation_config's (which may list several). */
  readonly eosTokenIds: number[];
  /** The pad id; falls back to the first EOS id when the model has no pad token. */
  readonly padTokenId?: number;
  readonly unkTokenId?: number;
  readonly specialTokens: SpecialTokens;
  /** tokenizer_config add_bos_token / add_eos_token, when given. */
  readonly addBosToken?: boolean;
  readonly addEosToken?: boolean;

  private readonly tok: Tokenizer;
  private readonly specialIds: Set<number>;
  private readonly cleanUp: boolean;
  private readonly templates: Map<string, string>;
  private readonly templateSource: string;
  private readonly compiled = new Map<string, Template>();
  private readonly pieceCache = new Map<number, string>();
  /** For decoders that strip a leading space (Metaspace, Strip): a plain token decoded in front of each piece. */
  private anchor?: { id: number; text: string };

  /**
   * Build a tokenizer from parsed JSON documents. `source` names where they came
   * from (a folder) and is used in error messages. Prefer loadTokenizer(folder).
   */
  constructor(files: TokenizerFiles, source: string) {
    this.source = source;
    const tjPath = path.join(source, 'tokenizer.json');
    if (!isObject(files.tokenizerJson)) {
      throw new SubspaceError('BAD_FILE', `${tjPath} is not a tokenizer: expected a JSON object.`, tjPath);
    }
    if (!isObject(files.tokenizerJson.model)) {
      throw new SubspaceError('BAD_FILE', `${tjPath} has no "model" section, so it is not a Hugging Face tokenizer.json.`, tjPath);
    }
    const cfg: Json = isObject(files.tokenizerConfig) ? files.tokenizerConfig : {};
    const stm: Json = isObject(files.specialTokensMap) ? files.specialTokensMap : {};
    const gen: Json = isObject(files.generationConfig) ? files.generationConfig : {};
    const mc: Json = isObject(files.modelConfig) ? files.modelConfig : {};
    const model = files.tokenizerJson.model as Json;

    // The library requires these keys to be present (null is fine) and expects
    // special tokens in its config as plain strings.
    const tokJson: Json = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      ...files.tokenizerJson,
      added_tokens: Array.isArray(files.tokenizerJson.added_tokens) ? files.tokenizerJson.added_tokens : [],
    };
    const pick = (key: string): string | undefined => tokenText(cfg[key]) ?? tokenText(stm[key]);
    const bos = pick('bos_token');
    const eos = pick('eos_token');
    const pad = pick('pad_token');
    const modelUnk = typeof model.unk_token === 'string' ? model.unk_token : undefined;
    const unk = pick('unk_token') ?? modelUnk;
    const additional = [cfg.additional_special_tokens, stm.additional_special_tokens]
      .flatMap((v) => (Array.isArray(v) ? v : []))
      .map(tokenText)
      .filter((t): t is string => t !== undefined);
    this.cleanUp = cfg.clean_up_tokenization_spaces === true;
    const libConfig: Json = {
      ...cfg,
      bos_token: bos,
      eos_token: eos,
      pad_token: pad,
      // WordLevel (the library's "Legacy" model) takes its unk token from here.
      unk_token: modelUnk ?? unk,
      additional_special_tokens: additional,
      clean_up_tokenization_spaces: this.cleanUp,
    };
    delete libConfig.chat_template;
    try {
      this.tok = new Tokenizer(tokJson, libConfig);
    } catch (e) {
      throw new SubspaceError('BAD_FILE', `${tjPath} could not be loaded by the tokenizer library: ${errorMessage(e)}`, tjPath);
    }

    const vocab = this.tok.get_vocab(true);
    let maxId = -1;
    for (const [text, id] of vocab) if (text !== undefined && id > maxId) maxId = id;
    this.vocabSize = maxId + 1;

    const idOf = (t: string | undefined): number | undefined => (t === undefined ? undefined : this.tok.token_to_id(t));
    this.bosTokenId = idOf(bos) ?? firstId(gen.bos_token_id) ?? firstId(mc.bos_token_id);
    const eosIds: number[] = [];
    const eosFromTokenizer = idOf(eos);
    if (eosFromTokenizer !== undefined) eosIds.push(eosFromTokenizer);
    eosIds.push(...idList(gen.eos_token_id));
    if (eosIds.length === 0) eosIds.push(...idList(mc.eos_token_id));
    this.eosTokenIds = [...new Set(eosIds)];
    this.padTokenId = idOf(pad) ?? firstId(gen.pad_token_id) ?? firstId(mc.pad_token_id) ?? this.eosTokenIds[0];
    this.unkTokenId = idOf(unk);
    if (typeof cfg.add_bos_token === 'boolean') this.addBosToken = cfg.add_bos_token;
    if (typeof cfg.add_eos_token === 'boolean') this.addEosToken = cfg.add_eos_token;

    const all = new Map<number, string>();
    for (const [id, t] of this.tok.get_added_tokens_decoder()) if (t.special) all.set(id, t.content);
    for (const t of [bos, eos, pad, unk, ...additional]) {
      const id = idOf(t);
      if (t !== undefined && id !== undefined) all.set(id, t);
    }
    this.specialIds = new Set(all.keys());
    this.specialTokens = {
      bos,
      eos,
      pad,
      unk,
      all: [...all].sort((a, b) => a[0] - b[0]).map(([id, text]) => ({ text, id })),
    };

    // Metaspace and Strip decoders drop the leading space of the first token, so
    // decoding a token alone would show "▁world" as "world". tokenStrings decodes
    // each token after a plain anchor token instead and cuts the anchor's text off.
    if (decoderStripsFirstSpace(files.tokenizerJson.decoder)) {
      const tryAnchor = (id: number | undefined): boolean => {
        if (id === undefined || this.specialIds.has(id)) return false;
        const text = this.tok.decode([id], { clean_up_tokenization_spaces: false });
        if (text === '') return false;
        this.anchor = { id, text };
        return true;
      };
      if (!tryAnchor(this.tok.token_to_id('a')) && !tryAnchor(this.tok.token_to_id('the'))) {
        for (const [t, id] of vocab) if (typeof t === 'string' && /^[A-Za-z]+$/.test(t) && tryAnchor(id)) break;
      }
    }

    this.templates = new Map();
    if (typeof files.chatTemplateFile === 'string' && files.chatTemplateFile.trim() !== '') {
      this.templates.set('default', files.chatTemplateFile);
      this.templateSource = path.join(source, 'chat_template.jinja');
    } else {
      this.templateSource = `${path.join(source, 'tokenizer_config.json')} (chat_template)`;
      const ct = cfg.chat_template;
      if (typeof ct === 'string' && ct.trim() !== '') this.templates.set('default', ct);
      else if (Array.isArray(ct)) {
        for (const entry of ct) {
          if (isObject(entry) && typeof entry.name === 'string' && typeof entry.template === 'string') {
            this.templates.set(entry.name, entry.template);
          }
        }
      } else if (isObject(ct)) {
        for (const [name, t] of Object.entries(ct)) if (typeof t === 'string') this.templates.set(name, t);
      }
    }
  }

  get hasChatTemplate(): boolean {
    return this.templates.size > 0;
  }

  /** Names of the chat templates ("default" for a single one). */
  get chatTemplateNames(): string[] {
    return [...this.templates.keys()];
  }

  /** Text → token ids. Special tokens written literally in the text are recognised. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') {
      throw new SubspaceError('BAD_ARGUMENT', `encode: text must be a string, got ${typeof text}.`, 'text');
    }
    const addSpecial = opts.addSpecialTokens ?? true;
    const enc = this.tok.encode(text, { add_special_tokens: addSpecial });
    const ids = enc.ids as (number | undefined)[];
    const missing = ids.findIndex((id) => id === undefined);
    if (missing >= 0) {
      throw new SubspaceError(
        'BAD_ARGUMENT',
        `encode: the piece ${JSON.stringify(enc.tokens[missing])} is not in the vocabulary of the tokenizer in ${this.source}, and the tokenizer has no unk token.`,
        'text',
      );
    }
    const out = ids as number[];
    if (!addSpecial || (this.addBosToken === undefined && this.addEosToken === undefined)) return out;
    // tokenizer_config's add_bos_token / add_eos_token override what the
    // post-processor did. Compare with the plain encoding to see what it added
    // (a BOS written literally in the text is left alone).
    const plain = this.encode(text, { addSpecialTokens: false });
    const plainAt = (offset: number) => plain.every((v, i) => out[offset + i] === v);
    const bos = this.bosTokenId;
    const eos = this.eosTokenIds[0];
    const bosAdded = bos !== undefined && out.length > plain.length && out[0] === bos && plainAt(1);
    const eosAdded =
      eos !== undefined && out.length > plain.length + (bosAdded ? 1 : 0) && out[out.length - 1] === eos && plainAt(out.length - 1 - plain.length);
    if (eos !== undefined && this.addEosToken === true && !eosAdded) out.push(eos);
    if (this.addEosToken === false && eosAdded) out.pop();
    if (bos !== undefined && this.addBosToken === true && !bosAdded) out.unshift(bos);
    if (this.addBosToken === false && bosAdded) out.shift();
    return out;
  }

  /** Token ids → text. Ids the tokenizer does not know (padding rows of the embedding) are skipped. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const known = this.checkIds(ids, 'decode').filter((id) => this.tok.id_to_token(id) !== undefined);
    if (known.length === 0) return '';
    return this.tok.decode(known, {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: opts.cleanUpTokenizationSpaces ?? this.cleanUp,
    });
  }

  /**
   * The text of each token on its own, for token displays. A byte-level token
   * that holds part of a multi-byte character shows as U+FFFD; unknown ids as ''.
   */
  tokenStrings(ids: readonly number[]): string[] {
    return this.checkIds(ids, 'tokenStrings').map((id): string => {
      const cached = this.pieceCache.get(id);
      if (cached !== undefined) return cached;
      const piece = this.tok.id_to_token(id) === undefined ? '' : this.decodePiece(id);
      this.pieceCache.set(id, piece);
      return piece;
    });
  }

  /** The raw vocabulary entry ("Ġworld", "▁world") of a token id. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Render a conversation with the model's chat template (text, not ids: encode it after). */
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
    if (!this.hasChatTemplate) {
      throw new SubspaceError(
        'UNSUPPORTED',
        `The tokenizer in ${this.source} has no chat template (no chat_template in tokenizer_config.json and no chat_template.jinja). ` +
          'It is probably a base model: give it plain text instead of chat messages.',
        this.source,
      );
    }
    if (!Array.isArray(messages)) {
      throw new SubspaceError('BAD_ARGUMENT', 'applyChatTemplate: messages must be an array of {role, content}.', 'messages');
    }
    messages.forEach((m, i) => {
      if (!isObject(m) || typeof m.role !== 'string') {
        throw new SubspaceError('BAD_ARGUMENT', `applyChatTemplate: messages[${i}] must be an object with a string "role".`, 'messages');
      }
    });
    const name = opts.templateName ?? (this.templates.has('default') ? 'default' : this.chatTemplateNames[0]);
    const source = this.templates.get(name);
    if (source === undefined) {
      throw new SubspaceError(
        'BAD_ARGUMENT',
        `applyChatTemplate: no chat template named '${name}' in ${this.templateSource}; available: ${this.chatTemplateNames.join(', ')}.`,
        'templateName',
      );
    }
    let template = this.compiled.get(name);
    if (template === undefined) {
      try {
        template = new Template(source);
      } catch (e) {
        throw new SubspaceError('BAD_FILE', `The chat template '${name}' in ${this.templateSource} could not be parsed: ${errorMessage(e)}`, this.templateSource);
      }
      this.compiled.set(name, template);
    }
    const st = this.specialTokens;
    try {
      return template.render({
        bos_token: st.bos ?? '',
        eos_token: st.eos ?? '',
        pad_token: st.pad ?? '',
        unk_token: st.unk ?? '',
        ...opts.variables,
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw new SubspaceError('BAD_ARGUMENT', `The chat template in ${this.templateSource} failed on these messages: ${errorMessage(e)}`, 'messages');
    }
  }

  private decodePiece(id: number): string {
    const opts = { clean_up_tokenization_spaces: false };
    if (this.anchor !== undefined && !this.specialIds.has(id)) {
      const both = this.tok.decode([this.anchor.id, id], opts);
      if (both.startsWith(this.anchor.text)) return both.slice(this.anchor.text.length);
    }
    return this.tok.decode([id], opts);
  }

  private checkIds(ids: readonly number[], fn: string): number[] {
    if (!Array.isArray(ids)) throw new SubspaceError('BAD_ARGUMENT', `${fn}: ids must be an array of token ids.`, 'ids');
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new SubspaceError('BAD_ARGUMENT', `${fn}: ids[${i}] is ${String(id)}, not a token id (a non-negative integer).`, 'ids');
      }
    }
    return ids as number[];
  }
}

async function readJson(file: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return undefined;
    if (code === 'ENOENT') throw new SubspaceError('NOT_FOUND', `${file} does not exist.`, file);
    throw new SubspaceError('BAD_FILE', `${file} could not be read: ${errorMessage(e)}`, file);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SubspaceError('BAD_FILE', `${file} is not valid JSON: ${errorMessage(e)}`, file);
  }
}

async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SubspaceError('BAD_FILE', `${file} could not be read: ${errorMessage(e)}`, file);
  }
}

/**
 * Load the tokenizer of a model folder. tokenizer.json is required; the other
 * files are optional. Files that exist but are not valid JSON are errors.
 */
export async function loadTokenizer(folder: string): Promise<SubspaceTokenizer> {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new SubspaceError('NOT_FOUND', `Model folder ${folder} does not exist (or is not a folder); it must contain tokenizer.json.`, folder);
  }
  const tjPath = path.join(folder, 'tokenizer.json');
  if (!existsSync(tjPath)) {
    throw new SubspaceError(
      'NOT_FOUND',
      `No tokenizer.json in ${folder}: the tokenizer is required to turn text into tokens. ` +
        'Subspace reads the Hugging Face "fast tokenizer" file; models that ship only a SentencePiece or vocab/merges files need a tokenizer.json (save one with transformers: AutoTokenizer.from_pretrained(...).save_pretrained(folder)).',
      folder,
    );
  }
  const [tokenizerJson, tokenizerConfig, specialTokensMap, generationConfig, modelConfig, chatTemplateFile] = await Promise.all([
    readJson(tjPath, true),
    readJson(path.join(folder, 'tokenizer_config.json'), false),
    readJson(path.join(folder, 'special_tokens_map.json'), false),
    readJson(path.join(folder, 'generation_config.json'), false),
    readJson(path.join(folder, 'config.json'), false),
    readOptionalText(path.join(folder, 'chat_template.jinja')),
  ]);
  for (const [name, v] of [
    ['tokenizer_config.json', tokenizerConfig],
    ['special_tokens_map.json', specialTokensMap],
    ['generation_config.json', generationConfig],
  ] as const) {
    if (v !== undefined && !isObject(v)) {
      const file = path.join(folder, name);
      throw new SubspaceError('BAD_FILE', `${file} must hold a JSON object.`, file);
    }
  }
  return new SubspaceTokenizer(
    { tokenizerJson, tokenizerConfig, specialTokensMap, generationConfig, modelConfig, chatTemplateFile },
    folder,
  );
}
