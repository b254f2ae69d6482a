import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import type { TaskExample } from '../tasks/schema.js';
import { encodePair, scoreContinuations, type ScoreOptions } from './score.js';

export interface EvalResult {
  n: number;
  /** Fraction of examples whose correct completion is what greedy decoding produces. */
  accuracy: number;
  /** Mean log-probability difference correct − first wrong (the logit difference for one-token answers). */
  meanLogitDiff: number;
  /** Mean probability of the correct completion. */
  meanProbCorrect: number;
  /** Fraction where the correct completion outscores every wrong one (MC1 for multiple choice). */
  preferCorrect: number;
  /** TruthfulQA MC2: normalised probability mass on the correct answers (multiple-choice tasks). */
  mc2?: number;
}

/** Scores every example: the correct completion, its wrong completions, and for MC2 every correct answer. */
export function evaluateExamples(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], opts: ScoreOptions & { multipleChoice?: boolean } = {}): EvalResult {
  const pairs: { prompt: number[]; continuation: number[] }[] = [];
  const index: { correct: number; wrong: number[]; extra: number[] }[] = [];
  for (const ex of examples) {
    const add = (c: string) => {
      pairs.push(encodePair(tok, ex.prompt, c));
      return pairs.length - 1;
    };
    const correct = add(ex.completion);
    const wrong = ex.wrong.map(add);
    const extra = opts.multipleChoice ? (ex.correct ?? []).filter((c) => c !== ex.completion).map(add) : [];
    index.push({ correct, wrong, extra });
  }
  const s = scoreContinuations(model, pairs, opts);
  let acc = 0;
  let ld = 0;
  let prob = 0;
  let prefer = 0;
  let mc2 = 0;
  for (const ix of index) {
    const c = s[ix.correct];
    acc += c.greedy ? 1 : 0;
    ld += c.logprob - s[ix.wrong[0]].logprob;
    prob += Math.exp(c.logprob);
    prefer += ix.wrong.every((w) => s[w].logprob < c.logprob) ? 1 : 0;
    if (opts.multipleChoice) {
      const good = [ix.correct, ...ix.extra].reduce((a, k) => a + Math.exp(s[k].logprob), 0);
      const bad = ix.wrong.reduce((a, k) => a + Math.exp(s[k].logprob), 0);
      mc2 += good / (good + bad);
    }
  }
  const n = examples.length;
  const res: EvalResult = { n, accuracy: acc / n, meanLogitDiff: ld / n, meanProbCorrect: prob / n, preferCorrect: prefer / n };
  if (opts.multipleChoice) res.mc2 = mc2 / n;
  return res;
}
