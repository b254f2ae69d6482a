import { describe, expect, it } from 'vitest';
import { SubspaceError } from '../../src-main/engine/errors.js';
import {
  clippedCounts,
  interventionGroupCount,
  interventionPositions,
  parsePositions,
} from '../../src-main/engine/interventions/positions.js';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const pads = (n: number) => new Array(n).fill(-1);

/**
 * pyreft's get_intervention_locations for one sequence, written out step by step from its
 * description (last_position = the prompt length, pad_mode 'first' → pad value -1), as an
 * independent check of the implementation.
 */
function referenceLocations(lastPosition: number, nFirst: number, nLast: number, share: boolean, numInterventions: number): number[][] {
  const first = Math.min(Math.floor(lastPosition / 2), nFirst);
  const last = Math.min(Math.floor(lastPosition / 2), nLast);
  const padAmount = nFirst - first + (nLast - last);
  if (share || first === 0 || last === 0) {
    const list = [...range(0, first), ...range(lastPosition - last, lastPosition), ...pads(padAmount)];
    return Array.from({ length: numInterventions }, () => list);
  }
  const left = [...range(0, first), ...pads(nFirst - first)];
  const right = [...range(lastPosition - last, lastPosition), ...pads(nLast - last)];
  while (left.length < right.length) left.push(-1);
  while (right.length < left.length) right.push(-1);
  const half = Math.floor(numInterventions / 2);
  return [...Array.from({ length: half }, () => left), ...Array.from({ length: half }, () => right)];
}

function expectBadArgument(f: () => unknown, ...fragments: string[]): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SubspaceError);
    expect((e as SubspaceError).code).toBe('BAD_ARGUMENT');
    for (const frag of fragments) expect((e as Error).message).toContain(frag);
    return;
  }
  throw new Error('expected a BAD_ARGUMENT error');
}

describe('parsePositions', () => {
  it('parses the three forms pyreft accepts', () => {
    expect(parsePositions('f7+l7')).toEqual({ first: 7, last: 7, combined: true, spec: 'f7+l7' });
    expect(parsePositions('f1')).toEqual({ first: 1, last: 0, combined: false, spec: 'f1' });
    expect(parsePositions('l3')).toEqual({ first: 0, last: 3, combined: false, spec: 'l3' });
    expect(parsePositions('f1+l1')).toEqual({ first: 1, last: 1, combined: true, spec: 'f1+l1' });
    expect(parsePositions('f0+l3')).toEqual({ first: 0, last: 3, combined: true, spec: 'f0+l3' });
  });

  it('tolerates whitespace and leading zeros, and canonicalises', () => {
    expect(parsePositions('  f2 + l03 ').spec).toBe('f2+l3');
    expect(parsePositions('f07').first).toBe(7);
  });

  it('rejects everything else, naming the string and the grammar', () => {
    for (const bad of ['', 'x', 'f', 'l', 'f-1', 'f1.5', 'f3+l', 'f3+f2', 'l3+l2', 'F3', 'first3', 'f3l3', 'f3+l3+l1', '+l3']) {
      expectBadArgument(() => parsePositions(bad), `'${bad}'`, 'f<n>+l<n>');
    }
  });

  it('rejects l<n>+f<n> (pyreft fails on it) with a hint', () => {
    expectBadArgument(() => parsePositions('l3+f2'), "'l3+f2'", "'f2+l3'");
  });

  it('rejects non-strings and absurd counts', () => {
    expectBadArgument(() => parsePositions(7 as unknown as string), 'string');
    expectBadArgument(() => parsePositions('f99999999'), '99999999');
  });
});

describe('clipping', () => {
  it('clips n to ⌊L/2⌋: f7+l7 on a 10-token prompt is f5+l5', () => {
    expect(clippedCounts('f7+l7', 10)).toEqual({ first: 5, last: 5 });
    expect(clippedCounts('f7+l7', 11)).toEqual({ first: 5, last: 5 });
    expect(clippedCounts('f2+l2', 10)).toEqual({ first: 2, last: 2 });
  });

  it('clips single-sided specs too, as pyreft does', () => {
    expect(clippedCounts('l3', 5)).toEqual({ first: 0, last: 2 });
    expect(clippedCounts('f1', 1)).toEqual({ first: 0, last: 0 });
    expect(clippedCounts('l1', 2)).toEqual({ first: 0, last: 1 });
  });
});

describe('interventionPositions', () => {
  it('f7+l7, prompt 10, shared weights: first 5 + last 5, padded to 14', () => {
    expect(interventionPositions(parsePositions('f7+l7'), [10], { shareWeights: true })).toEqual([[[...range(0, 10), ...pads(4)]]]);
  });

  it('f7+l7, prompt 10, separate weights: a prefix and a suffix group, padded to 7', () => {
    expect(interventionPositions('f7+l7', [10], { shareWeights: false })).toEqual([
      [[0, 1, 2, 3, 4, -1, -1]],
      [[5, 6, 7, 8, 9, -1, -1]],
    ]);
  });

  it('f1 and l3', () => {
    expect(interventionPositions('f1', [10], { shareWeights: false })).toEqual([[[0]]]);
    expect(interventionPositions('l3', [10], { shareWeights: false })).toEqual([[[7, 8, 9]]]);
    expect(interventionPositions('l3', [5], { shareWeights: true })).toEqual([[[3, 4, -1]]]);
    expect(interventionPositions('l1', [1], { shareWeights: true })).toEqual([[[-1]]]);
  });

  it('gives one group for single-sided specs or shared weights, two for f+l without sharing', () => {
    expect(interventionGroupCount('f1', false)).toBe(1);
    expect(interventionGroupCount('l4', false)).toBe(1);
    expect(interventionGroupCount('f1+l1', true)).toBe(1);
    expect(interventionGroupCount('f1+l1', false)).toBe(2);
    // The count does not depend on prompt lengths (callers size their interventions from it).
    for (const L of [0, 1, 2, 64]) expect(interventionPositions('f3+l3', [L], { shareWeights: false })).toHaveLength(2);
  });

  it('handles a batch of prompt lengths with one list length per group', () => {
    expect(interventionPositions('f2+l2', [10, 4, 3], { shareWeights: false })).toEqual([
      [[0, 1], [0, 1], [0, -1]],
      [[8, 9], [2, 3], [2, -1]],
    ]);
    expect(interventionPositions('f2+l2', [10, 4, 3], { shareWeights: true })).toEqual([
      [[0, 1, 8, 9], [0, 1, 2, 3], [0, 2, -1, -1]],
    ]);
  });

  it('shifts by per-sequence offsets for left-padded batches; padding stays -1', () => {
    // Two prompts of 10 and 4 tokens, left-padded to 10: the second starts at 6.
    expect(interventionPositions('f2+l2', [10, 4], { shareWeights: true, offsets: [0, 6] })).toEqual([
      [[0, 1, 8, 9], [6, 7, 8, 9]],
    ]);
    expect(interventionPositions('f3+l3', [10, 3], { shareWeights: false, offsets: [0, 7] })).toEqual([
      [[0, 1, 2], [7, -1, -1]],
      [[7, 8, 9], [9, -1, -1]],
    ]);
  });

  it("keeps pyreft's fallback: a clipped-out side gives both groups the combined list", () => {
    expect(interventionPositions('f0+l3', [10], { shareWeights: false })).toEqual([[[7, 8, 9]], [[7, 8, 9]]]);
    // Prompt of 1 token: both sides clip to 0; rows of one group still share one length.
    expect(interventionPositions('f2+l2', [1, 10], { shareWeights: false })).toEqual([
      [pads(4), [0, 1, -1, -1]],
      [pads(4), [8, 9, -1, -1]],
    ]);
  });

  it('matches a step-by-step transcription of get_intervention_locations', () => {
    const specs = ['f1', 'l1', 'l3', 'f4', 'f1+l1', 'f2+l2', 'f3+l1', 'f1+l5', 'f7+l7', 'f0+l2', 'f2+l0'];
    for (const spec of specs) {
      const p = parsePositions(spec);
      for (const share of [true, false]) {
        const numInterventions = interventionGroupCount(p, share);
        for (let L = 0; L <= 16; L++) {
          const ours = interventionPositions(p, [L], { shareWeights: share });
          const ref = referenceLocations(L, p.first, p.last, share, numInterventions);
          expect(ours.map((g) => g[0]), `${spec} share=${share} L=${L}`).toEqual(ref);
        }
      }
    }
  });

  it('trims all-padding columns on request', () => {
    expect(interventionPositions('f7+l7', [10], { shareWeights: true, trimPadding: true })).toEqual([[range(0, 10)]]);
    expect(interventionPositions('f3+l3', [10, 3], { shareWeights: false, trimPadding: true })).toEqual([
      [[0, 1, 2], [0, -1, -1]],
      [[7, 8, 9], [2, -1, -1]],
    ]);
    expect(interventionPositions('l2', [1], { shareWeights: true, trimPadding: true })).toEqual([[[]]]);
  });

  it('returns empty groups for an empty batch', () => {
    expect(interventionPositions('f1+l1', [], { shareWeights: false })).toEqual([[], []]);
  });

  it('validates prompt lengths and offsets', () => {
    expectBadArgument(() => interventionPositions('f1', [-1], { shareWeights: true }), 'promptLengths');
    expectBadArgument(() => interventionPositions('f1', [2.5], { shareWeights: true }), 'promptLengths');
    expectBadArgument(() => interventionPositions('f1', [3, 4], { shareWeights: true, offsets: [0] }), 'offsets');
    expectBadArgument(() => interventionPositions('f1', [3], { shareWeights: true, offsets: [-2] }), 'offsets');
    expectBadArgument(() => interventionPositions('q1', [3], { shareWeights: true }), "'q1'");
  });
});
