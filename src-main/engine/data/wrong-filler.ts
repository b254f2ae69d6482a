/**
 * Filling `wrong` for examples whose data gives no wrong answer (prompt /
 * completion pairs, instruction data, counterfactual pairs whose two labels are
 * equal). TaskExample needs at least one wrong completion, so such an example
 * borrows the completion of another example, and says so with
 * `meta.wrongFrom = 'other-example'`.
 *
 * The rule is deterministic and works in one streaming pass:
 *
 *   - The filler keeps the (up to) 64 most recent distinct completions of the
 *     examples it has been given, oldest first.
 *   - For an example with completion c, the candidates are those kept
 *     completions that differ from c, in that order; it takes the one at index
 *     fnv1a32(id) mod (number of candidates).
 *   - When there is no candidate yet (the file starts with examples that all
 *     share one completion), the example waits until a later example brings a
 *     different completion, and is then filled by the same rule. Examples come
 *     out in input order, so later ones wait behind it.
 *   - If the input ends with examples still waiting, every example had the same
 *     completion and nothing can be borrowed: `finish` reports them.
 */
import type { TaskExample } from '../tasks/schema.js';
import type { Draft } from './shapes.js';

const RING_SIZE = 64;

/** 32-bit FNV-1a over the UTF-16 code units of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Waiting {
  draft: Draft;
  line: number;
}

export class WrongFiller {
  private readonly ring: string[] = [];
  private readonly inRing = new Set<string>();
  private readonly waiting: Waiting[] = [];

  constructor(private readonly emit: (example: TaskExample, line: number) => void) {}

  push(draft: Draft, line: number): void {
    if (this.waiting.length === 0 && this.resolve(draft)) {
      this.emit(draft.example, line);
      this.remember(draft.example.completion);
      return;
    }
    this.waiting.push({ draft, line });
    this.remember(draft.example.completion);
    this.flush();
  }

  /** At the end of input: the examples that could not be filled (empty when all were). */
  finish(): { line: number; completion: string; count: number } | undefined {
    this.flush();
    if (this.waiting.length === 0) return undefined;
    const first = this.waiting[0];
    return { line: first.line, completion: first.draft.example.completion, count: this.waiting.length };
  }

  private flush(): void {
    let k = 0;
    while (k < this.waiting.length && this.resolve(this.waiting[k].draft)) {
      this.emit(this.waiting[k].draft.example, this.waiting[k].line);
      k++;
    }
    if (k > 0) this.waiting.splice(0, k);
  }

  private resolve(draft: Draft): boolean {
    if (!draft.needsWrong) return true;
    const ex = draft.example;
    const c = ex.completion;
    const own = this.inRing.has(c) ? this.ring.indexOf(c) : -1;
    const count = own === -1 ? this.ring.length : this.ring.length - 1;
    if (count === 0) return false;
    let idx = fnv1a32(ex.id) % count;
    if (own !== -1 && idx >= own) idx++;
    ex.wrong = [this.ring[idx]];
    ex.meta = { ...ex.meta, wrongFrom: 'other-example' };
    draft.needsWrong = false;
    return true;
  }

  private remember(completion: string): void {
    if (this.inRing.has(completion)) return;
    if (this.ring.length === RING_SIZE) this.inRing.delete(this.ring.shift() as string);
    this.ring.push(completion);
    this.inRing.add(completion);
  }
}
