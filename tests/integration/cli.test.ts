import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { readSafetensors } from '../../src-main/engine/io/safetensors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIX = join(ROOT, 'tests', 'fixtures', 'reference');
const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: process.env.SUBSPACE_TEST_BACKEND ?? 'cpu', HF_HUB_CACHE: join(tmp, 'empty-cache') });

const gpt2 = join(FIX, 'gpt2-tied');
const prompt = 't7 t35 t55 t24';

describe('subspace CLI', () => {
  it('info --json names the backend and why the better ones are not used', async () => {
    const r = (await cli('info', '--json', '--model', gpt2));
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.backend.backend).toBe('cpu');
    expect(j.backend.reasons.length).toBeGreaterThan(0);
    const m = j.models.find((x: { folder: string }) => x.folder === gpt2);
    expect(m).toMatchObject({ modelType: 'gpt2', layers: 2, heads: 4, width: 32 });
  });

  it('run --json prints a normalised next-token distribution', async () => {
    const r = (await cli('run', '--model', gpt2, '--prompt', prompt, '--top', '5', '--json'));
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.tokens.map((t: { id: number }) => t.id)).toEqual([7, 35, 55, 24]);
    expect(j.top).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(j.top[i].prob).toBeLessThanOrEqual(j.top[i - 1].prob);
    expect(j.top[0].prob).toBeGreaterThan(0);
  });

  it('generate is reproducible and agrees with run’s top token under greedy decoding', async () => {
    const run = JSON.parse((await cli('run', '--model', gpt2, '--prompt', prompt, '--json')).out);
    const g = JSON.parse((await cli('generate', '--model', gpt2, '--prompt', prompt, '--max-new-tokens', '4', '--json')).out);
    expect(g.tokens[0]).toBe(run.top[0].id);
    const s1 = (await cli('generate', '--model', gpt2, '--prompt', prompt, '--max-new-tokens', '6', '--temperature', '1', '--seed', '3', '--json'));
    const s2 = (await cli('generate', '--model', gpt2, '--prompt', prompt, '--max-new-tokens', '6', '--temperature', '1', '--seed', '3', '--json'));
    expect(JSON.parse(s1.out).tokens).toEqual(JSON.parse(s2.out).tokens);
  });

  it('dump writes the requested sites with their shapes', async () => {
    const out = join(tmp, 'acts.safetensors');
    const r = (await cli('dump', '--model', gpt2, '--prompt', prompt, '--sites', 'block_output:1,head_output:0.2,attention_pattern:1', '--out', out));
    expect(r.code, r.err).toBe(0);
    const t = readSafetensors(out);
    expect(t.tensors.get('block_output:1')!.shape).toEqual([4, 32]);
    expect(t.tensors.get('head_output:0.2')!.shape).toEqual([4, 8]);
    expect(t.tensors.get('attention_pattern:1')!.shape).toEqual([4, 4, 4]);
    expect(JSON.parse(t.metadata.token_ids)).toEqual([7, 35, 55, 24]);
    // Each attention row is a distribution over earlier tokens.
    const att = t.tensors.get('attention_pattern:1')!.data as Float32Array;
    expect(att[1]).toBe(0);
    expect(att[0] + att[1] + att[2] + att[3]).toBeCloseTo(1, 5);
  });

  it('bad input: one line on stderr, exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['run', '--model', gpt2, '--prompt', ''], /--prompt is empty/],
      [['run', '--model', join(tmp, 'nowhere'), '--prompt', 'x'], /does not exist|not found|not in the Hugging Face cache/i],
      [['dump', '--model', gpt2, '--prompt', prompt, '--sites', 'block_output:7', '--out', join(tmp, 'x.safetensors')], /layer 7 is out of range/],
      [['dump', '--model', gpt2, '--prompt', prompt, '--sites', 'head_output:0.9', '--out', join(tmp, 'x.safetensors')], /head 9 is out of range/],
      [['dump', '--model', gpt2, '--prompt', prompt, '--sites', 'resid:0', '--out', join(tmp, 'x.safetensors')], /unknown site 'resid'/],
      [['run', '--model', gpt2, '--prompt', prompt, '--top', 'many'], /--top must be a whole number/],
      [['--backend', 'tpu', 'info'], /tpu/],
    ];
    for (const [args, msg] of cases) {
      const r = (await cli(...args));
      expect(r.code, args.join(' ') + '\n' + r.err).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
  });
});
