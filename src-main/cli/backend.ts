import type { Command } from 'commander';
import { initBackend, type BackendReport } from '../engine/backend/index.js';
import { note } from './output.js';

/** Starts the tensor backend named by --backend or SUBSPACE_BACKEND, else the best available. */
export async function startBackend(program: Command, quiet = true): Promise<BackendReport> {
  const prefer = program.opts<{ backend?: string }>().backend;
  const report = await initBackend(prefer ? { prefer } : {});
  if (!quiet) note(`backend: ${report.backend} (${report.device})`);
  return report;
}
