import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { JobEvent } from '../../src-main/jobs/protocol.js';
import { JobManager } from '../../src-main/jobs/runner.js';

export interface JobsUnderTest {
  /** The data folder, made before the file's tests and removed after them. */
  readonly dir: string;
  readonly jobs: JobManager;
  /** Every event of one job, up to and including its end. */
  collect(jobId: string): Promise<JobEvent[]>;
}

/**
 * A JobManager over a fresh data folder (also set as SUBSPACE_DATA_DIR, for the workers) for the
 * file's tests; closed, the variable restored and the folder removed after them.
 */
export function useJobManager(prefix: string): JobsUnderTest {
  let dir: string;
  let jobs: JobManager;
  const savedDataDir = process.env.SUBSPACE_DATA_DIR;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    process.env.SUBSPACE_DATA_DIR = dir;
    jobs = new JobManager({ dataDir: dir, cancelGraceMs: 10_000 });
  });

  afterAll(async () => {
    await jobs?.close();
    if (savedDataDir === undefined) delete process.env.SUBSPACE_DATA_DIR;
    else process.env.SUBSPACE_DATA_DIR = savedDataDir;
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    get dir() {
      return dir;
    },
    get jobs() {
      return jobs;
    },
    async collect(jobId: string): Promise<JobEvent[]> {
      const out: JobEvent[] = [];
      for await (const e of jobs.events({ jobId })) out.push(e);
      return out;
    },
  };
}
