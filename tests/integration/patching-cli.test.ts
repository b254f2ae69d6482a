import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/index.js';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-patch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') });

describe('subspace patch', () => {
  it('sweeps heads, writes the result, records a patch run with its head matrix and file', async () => {
    const out = join(tmp, 'heads.json');
    const r = await cli('patch', '--model', 'demo-gpt2', '--task', 'ioi', '--sweep', 'heads', '--n', '4', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ out, model: 'demo-gpt2', task: 'ioi', split: 'test', kind: 'heads', site: 'head_output', method: 'exact', direction: 'denoise', metric: 'logit-diff', n: 4 });
    expect(j.values).toHaveLength(4);
    expect(j.values[0]).toHaveLength(8);
    expect(j.clean).toBeGreaterThan(j.corrupt);
    const { out: _out, ...doc } = j;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc);
    // Recorded: a succeeded patch run with its config, the file as an artifact and the head matrix as head scores.
    const store = openStore({ dataDir: join(tmp, 'data') });
    try {
      expect(store.getRun(j.run)).toMatchObject({ kind: 'patch', status: 'succeeded', config: { kind: 'heads', n: 4, split: 'test' } });
      expect(store.listArtifacts(j.run).map((a) => a.path)).toEqual([out]);
      const scores = store.getHeadScores(j.run, 'patch-exact-logit-diff')!;
      expect({ layers: scores.layers, heads: scores.heads }).toEqual({ layers: 4, heads: 8 });
      expect(scores.values[8 + 3]).toBeCloseTo(j.values[1][3], 4);
    } finally {
      store.close();
    }
  });

  it('prints a table and a progress bar; noising the residual stream by role with the normalised metric', async () => {
    const out = join(tmp, 'resid.json');
    const r = await cli('patch', '--model', 'demo-llama', '--task', 'ioi', '--sweep', 'resid', '--direction', 'noise', '--metric', 'normalised', '--positions', 'S2,END', '--n', '3', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/patch resid \[#+\] 8\/8/);
    expect(r.out).toMatch(/exact noise patching of block_output per position, normalised over 3 ioi pairs \(clean 1\.000, corrupt 0\.000/);
    expect(r.out).toMatch(/layer +S2 +END/);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.positions).toEqual(['S2', 'END']);
    // Noising the last layer's END swaps in the corrupt run's answer state.
    expect(j.values[3][1]).toBeCloseTo(0, 4);
  });

  it('refuses bad input with exit code 2, naming it', async () => {
    const out = join(tmp, 'bad.json');
    // One refusal of each kind (argument, engine, task); the engine tests cover the rest.
    for (const [args, msg] of [
      [['--sweep', 'neurons'], /--sweep must be one of heads, resid, attn, mlp \(got 'neurons'\)/],
      [['--sweep', 'resid', '--positions', 'IO,WHO'], /position role "WHO" is not defined by ioi/],
    ] as [string[], RegExp][]) {
      const r = await cli('patch', '--model', 'demo-gpt2', '--task', 'ioi', '--n', '2', '--out', out, ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(msg);
    }
    const noSource = await cli('patch', '--model', 'demo-gpt2', '--task', 'truthful', '--sweep', 'heads', '--out', out);
    expect(noSource.code).toBe(2);
    expect(noSource.err).toMatch(/example 'truthful-test-0000' of task 'truthful' has no source prompt/);
    expect(existsSync(out)).toBe(false);
  });
});
