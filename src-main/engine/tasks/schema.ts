import { z } from 'zod';

/**
 * One example of a task, the unit every method trains and evaluates on.
 * Completions carry their leading space (" Mary"), exactly as they follow the prompt.
 */
export const causalValue = z.union([z.string(), z.number(), z.boolean()]);

export const taskExampleSchema = z.object({
  id: z.string().min(1),
  prompt: z.string().min(1),
  /** The correct completion. */
  completion: z.string().min(1),
  /** At least one wrong completion (logit differences, preference losses). */
  wrong: z.array(z.string().min(1)).min(1),
  /** Every correct answer where there are several (TruthfulQA-style MC2). */
  correct: z.array(z.string().min(1)).optional(),
  /** A counterfactual source input and its own answer. */
  source: z.object({ prompt: z.string().min(1), completion: z.string().min(1) }).optional(),
  /** Values of the task's causal variables on the base prompt. */
  variables: z.record(z.string(), causalValue).optional(),
  /** Values of the causal variables on the source prompt. */
  sourceVariables: z.record(z.string(), causalValue).optional(),
  /**
   * Per causal variable: the answer the causal model gives for the base input
   * when that variable takes its value from the source (the DAS label).
   */
  counterfactual: z.record(z.string(), z.string()).optional(),
  /**
   * Named token roles as character spans [start, end) in the prompt
   * (e.g. IOI "S2", "IO", "END"); the engine maps them to token positions.
   */
  roles: z.record(z.string(), z.tuple([z.number().int(), z.number().int()])).optional(),
  sourceRoles: z.record(z.string(), z.tuple([z.number().int(), z.number().int()])).optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

export type TaskExample = z.infer<typeof taskExampleSchema>;

export const SPLITS = ['train', 'dev', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export const taskManifestSchema = z.object({
  name: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string(),
  description: z.string(),
  /** completion: score the completion; multiple-choice: score each answer by log-likelihood. */
  kind: z.enum(['completion', 'multiple-choice']),
  variables: z.array(z.string()).default([]),
  roles: z.array(z.string()).default([]),
  seed: z.number().int(),
  generator: z.string(),
  sizes: z.record(z.enum(SPLITS), z.number().int().nonnegative()),
});

export type TaskManifest = z.infer<typeof taskManifestSchema>;
