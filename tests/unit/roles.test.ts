import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src-main/engine/io/tokenizer.js';
import { rolePosition, rolePositions } from '../../src-main/engine/tasks/roles.js';
import { loadTask } from '../../src-main/engine/tasks/registry.js';
import { join } from 'node:path';
import { builtinModelsDir } from '../../src-main/engine/paths.js';

const demoModelDir = (name: string) => join(builtinModelsDir(), name);

describe('task roles to token positions', () => {
  it('maps every role of every IOI and hierarchical-equality test prompt to the token that spells it', async () => {
    const tok = await loadTokenizer(demoModelDir('demo-llama'));
    for (const name of ['ioi', 'hierarchical-equality']) {
      const task = await loadTask(name);
      for (const ex of task.splits.test.slice(0, 20)) {
        const ids = tok.encode(ex.prompt);
        const pos = rolePositions(tok, ex.prompt, ex.roles);
        expect(pos.last).toBe(ids.length - 1);
        expect(pos.first).toBe(0);
        for (const [role, [start, end]] of Object.entries(ex.roles ?? {})) {
          const word = ex.prompt.slice(start, end).trim();
          expect(tok.decode([ids[pos[role]!]!]).trim(), `${name} ${ex.id} ${role}`).toBe(word);
        }
      }
    }
  });

  it('names the roles a task defines when asked for one it does not, and refuses spans outside the prompt', async () => {
    const tok = await loadTokenizer(demoModelDir('demo-gpt2'));
    expect(() => rolePosition(tok, 'a b c', { A: [0, 1] }, 'B', 'task "x"')).toThrow(/role "B" is not defined by task "x"; it defines: first, last, A/);
    expect(() => rolePositions(tok, 'a b', { A: [0, 9] })).toThrow(/role "A" has span \[0, 9\)/);
  });
});
