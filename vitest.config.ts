import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Tensor work is CPU-bound; two cores, so two forks at most.
    pool: 'forks',
    // Two forks already fill both cores; training helper threads are tested where asked for.
    env: { SUBSPACE_TRAIN_SHARDS: '1' },
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
