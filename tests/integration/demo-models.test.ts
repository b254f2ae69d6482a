import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateExamples } from '../../src-main/engine/eval/evaluate.js';
import { openModel } from '../../src-main/engine/open-model.js';
import { builtinModelsDir } from '../../src-main/engine/paths.js';
import { listTasks, loadTask } from '../../src-main/engine/tasks/registry.js';
import { useTestBackend } from '../helpers/backend.js';

const MODELS = ['demo-gpt2', 'demo-llama'];
const LEFT_FOR_INTERVENTIONS = ['fact-edit', 'truthful'];

beforeAll(async () => {
  // Evaluating every test split is ~4,000 scored continuations: use the wasm backend.
  await useTestBackend('wasm');
});

describe.each(MODELS)('%s', (name) => {
  const dir = join(builtinModelsDir(), name);
  const training = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8')) as {
    test: Record<string, { accuracy: number; meanLogitDiff: number; preferCorrect: number }>;
  };

  it('is an ordinary Hugging Face folder of at most 8 MB with at least 4 layers × 4 heads', async () => {
    expect(statSync(join(dir, 'model.safetensors')).size).toBeLessThanOrEqual(8 * 1024 * 1024);
    const m = await openModel(name);
    expect(m.spec.nLayers).toBeGreaterThanOrEqual(4);
    expect(m.spec.nHeads).toBeGreaterThanOrEqual(4);
    if (m.spec.family === 'llama') expect(m.spec.nKvHeads).toBeLessThan(m.spec.nHeads);
    const ids = m.tokenizer!.encode('When Mary and John went to the store , John gave a drink to');
    expect(ids).toHaveLength(15); // 14 words and the BOS the tokenizer prepends
    expect(ids[0]).toBe(m.tokenizer!.bosTokenId);
  });

  it('reaches the test accuracies its training.json documents, on every task', async () => {
    const m = await openModel(name);
    for (const t of await listTasks()) {
      const task = await loadTask(t.name);
      const r = evaluateExamples(m.model, m.tokenizer!, task.splits.test, { multipleChoice: t.kind === 'multiple-choice' });
      const doc = training.test[t.name];
      expect(Math.abs(r.accuracy - doc.accuracy), `${name}/${t.name} accuracy ${r.accuracy} vs documented ${doc.accuracy}`).toBeLessThanOrEqual(0.02);
      expect(Math.abs(r.meanLogitDiff - doc.meanLogitDiff), `${name}/${t.name} logit diff`).toBeLessThan(0.05);
    }
  });

  it('solves the base behaviours it was trained on and lacks the ones left for interventions', () => {
    for (const [task, r] of Object.entries(training.test)) {
      if (LEFT_FOR_INTERVENTIONS.includes(task)) expect(r.preferCorrect, task).toBeLessThan(0.5);
    }
    // The aim, reached by both models on every base behaviour (assets/models/README.md lists every figure).
    for (const task of ['ioi', 'fact-recall', 'family', 'hierarchical-equality', 'induction']) expect(training.test[task].accuracy, task).toBeGreaterThanOrEqual(0.9);
  });
});
