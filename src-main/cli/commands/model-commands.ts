import * as tf from '../../engine/tf.js';
import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { writeSafetensors } from '../../engine/io/safetensors.js';
import type { LoadedModel } from '../../engine/io/model-folder.js';
import { generate } from '../../engine/model/generate.js';
import { loadReft } from '../../engine/methods/reft-artifact.js';
import { reftEdits } from '../../engine/methods/reft.js';
import { parseSiteList, siteKey } from '../../engine/model/sites.js';
import { openModel } from '../../engine/open-model.js';
import { num } from '../args.js';
import { note, printJson, table } from '../output.js';
import { startBackend } from '../backend.js';

async function openWithTokenizer(ref: string): Promise<LoadedModel & { tokenizer: NonNullable<LoadedModel['tokenizer']> }> {
  const m = await openModel(ref);
  if (!m.tokenizer) throw new SubspaceError('NOT_FOUND', `${m.folder}: no tokenizer.json`, m.folder);
  return m as LoadedModel & { tokenizer: NonNullable<LoadedModel['tokenizer']> };
}

function encodePrompt(m: LoadedModel, prompt: string): number[] {
  if (prompt.length === 0) throw new SubspaceError('BAD_ARGUMENT', '--prompt is empty: give some text', 'prompt');
  const ids = m.tokenizer!.encode(prompt);
  if (ids.length === 0) throw new SubspaceError('BAD_ARGUMENT', '--prompt encodes to no tokens', 'prompt');
  return ids;
}

export interface TopToken {
  id: number;
  token: string;
  prob: number;
  logit: number;
}

/** The next-token distribution after a prompt, top k entries. */
export function nextTokenTop(m: LoadedModel, ids: number[], k: number): TopToken[] {
  const r = m.model.forward({ inputIds: [ids] }, { logits: 'last' });
  const logits = r.logits!.dataSync() as Float32Array;
  r.logits!.dispose();
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, k);
  return order.map((id) => ({ id, token: m.tokenizer!.tokenStrings([id])[0], prob: Math.exp(logits[id] - max) / sum, logit: logits[id] }));
}

export function registerModelCommands(program: Command): void {
  program
    .command('run')
    .description('print the next-token distribution after a prompt')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--top <k>', 'how many tokens to show', num('top', { int: true, min: 1 }), 10)
    .option('--json', 'machine-readable output')
    .action(async (o: { model: string; prompt: string; top: number; json?: boolean }) => {
      const backend = await startBackend(program);
      const m = await openWithTokenizer(o.model);
      const ids = encodePrompt(m, o.prompt);
      const top = nextTokenTop(m, ids, Math.min(o.top, m.spec.vocabSize));
      if (o.json) {
        printJson({ model: m.name, backend: backend.backend, prompt: o.prompt, tokens: ids.map((id, i) => ({ id, text: m.tokenizer.tokenStrings(ids)[i] })), top });
        return;
      }
      note(`${m.name} on ${backend.backend}: ${ids.length} prompt tokens`);
      console.log(table([['rank', 'id', 'token', 'prob', 'logit'], ...top.map((t, i) => [String(i + 1), String(t.id), JSON.stringify(t.token), t.prob.toFixed(4), t.logit.toFixed(3)])]));
    });

  program
    .command('generate')
    .description('continue a prompt (greedy, or sampled with --temperature and --top-p)')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--max-new-tokens <n>', 'tokens to generate', num('max-new-tokens', { int: true, min: 1, max: 4096 }), 32)
    .option('--temperature <t>', '0 = greedy', num('temperature', { min: 0 }), 0)
    .option('--top-p <p>', 'nucleus sampling mass', num('top-p', { min: 0, max: 1 }), 1)
    .option('--seed <s>', 'sampling seed', num('seed', { int: true, min: 0 }), 0)
    .option('--stop <ids>', 'comma-separated stop token ids (default: the model’s EOS)')
    .option('--intervention <dir>', 'apply a trained ReFT intervention to the prompt pass')
    .option('--json', 'machine-readable output')
    .action(async (o: { model: string; prompt: string; maxNewTokens: number; temperature: number; topP: number; seed: number; stop?: string; intervention?: string; json?: boolean }) => {
      const backend = await startBackend(program);
      const m = await openWithTokenizer(o.model);
      const ids = encodePrompt(m, o.prompt);
      const stopTokens = o.stop?.split(',').map((s) => num('stop', { int: true, min: 0 })(s));
      const reft = o.intervention ? loadReft(o.intervention, m.spec) : undefined;
      const r = generate(m.model, [ids], {
        promptEdits: reft ? reftEdits(reft.config, m.spec, reft.placed, [ids.length]) : undefined,
        maxNewTokens: o.maxNewTokens,
        temperature: o.temperature,
        topP: o.topP === 0 ? 1e-9 : o.topP,
        seed: o.seed,
        stopTokens,
        padTokenId: m.tokenizer.padTokenId,
      });
      // Decode prompt and continuation together: word-level and SentencePiece decoders put
      // the space between them only when they see both.
      const full = m.tokenizer.decode([...ids, ...r.tokens[0]], { skipSpecialTokens: true });
      const head = m.tokenizer.decode(ids, { skipSpecialTokens: true });
      const completion = full.startsWith(head) ? full.slice(head.length) : m.tokenizer.decode(r.tokens[0], { skipSpecialTokens: true });
      if (o.json) {
        printJson({ model: m.name, backend: backend.backend, prompt: o.prompt, intervention: o.intervention ?? null, completion, tokens: r.tokens[0], stopped: r.finished[0] });
        return;
      }
      console.log(full.startsWith(head) ? o.prompt + completion : full);
    });

  program
    .command('dump')
    .description('write the values of chosen sites for a prompt to a safetensors file')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--prompt <text>', 'the prompt')
    .requiredOption('--sites <list>', 'e.g. "block_output:3,head_output:2.5,attention_pattern:1"')
    .requiredOption('--out <file>', 'output .safetensors file')
    .option('--json', 'print a JSON summary of what was written')
    .action(async (o: { model: string; prompt: string; sites: string; out: string; json?: boolean }) => {
      await startBackend(program);
      const m = await openWithTokenizer(o.model);
      const refs = parseSiteList(o.sites, m.spec);
      const ids = encodePrompt(m, o.prompt);
      const r = m.model.forward({ inputIds: [ids] }, { read: refs, logits: 'none' });
      const out: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
      const summary: { name: string; shape: number[] }[] = [];
      for (const ref of refs) {
        const key = siteKey(ref);
        const t = r.sites[key];
        // Drop the batch axis: one prompt.
        const shape = t.shape.slice(1);
        out[key] = { dtype: 'F32', shape, data: t.dataSync() as Float32Array };
        summary.push({ name: key, shape });
      }
      tf.dispose(Object.values(r.sites));
      writeSafetensors(o.out, out, { model: m.name, prompt: o.prompt, token_ids: JSON.stringify(ids) });
      if (o.json) printJson({ out: o.out, tokens: ids, tensors: summary });
      else {
        note(`wrote ${summary.length} tensors to ${o.out}`);
        for (const s of summary) console.log(`${s.name}  [${s.shape.join(', ')}]`);
      }
    });
}
