/**
 * The PyTorch peer (bench/peer_torch.py) as a long-lived child process: one JSON
 * request per line, one reply per line. The bench asks it for each workload
 * right after measuring its own, so both see the same machine load.
 *
 * Python: SUBSPACE_PEER_PYTHON, else /usr/bin/python3 (Debian's python3-torch),
 * else python3 on PATH. If none can import torch the peer is absent and the
 * bench says so and carries on (CI's smoke run needs no PyTorch).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface PeerInfo {
  python: string;
  torch: string;
  threads: number;
  blas: string;
}

export interface PeerReply {
  ok: boolean;
  error?: string;
  wallMs: number;
  peakRssBytes: number;
  [key: string]: unknown;
}

export class Peer {
  private pending: Array<(line: string) => void> = [];
  private closed = false;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly info: PeerInfo,
  ) {}

  /** Starts the peer; undefined (with the reason) when PyTorch cannot be used here. */
  static async start(threads: number): Promise<{ peer?: Peer; why?: string }> {
    const candidates = [process.env.SUBSPACE_PEER_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
    let python: string | undefined;
    let why = 'no python3 found';
    for (const p of candidates) {
      if (p.startsWith('/') && !existsSync(p)) continue;
      const probe = spawnSync(p, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 60_000 });
      if (probe.status === 0) {
        python = p;
        break;
      }
      why = `${p} cannot import torch and numpy (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
    }
    if (!python) return { why };
    const t = String(threads);
    const child = spawn(python, [join(import.meta.dirname, 'peer_torch.py'), '--threads', t], {
      env: { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const lines: string[] = [];
    const waiting: Array<(line: string | null) => void> = [];
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    });
    const first = await new Promise<string | null>((resolve) => {
      child.on('exit', () => resolve(null));
      if (lines.length) resolve(lines.shift()!);
      else waiting.push(resolve);
    });
    if (first === null) return { why: `the peer exited at start: ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
    const hello = JSON.parse(first) as { torch: string; threads: number; blas: string; python: string };
    const peer = new Peer(child, { python: `${python} (Python ${hello.python})`, torch: hello.torch, threads: hello.threads, blas: hello.blas });
    rl.removeAllListeners('line');
    rl.on('line', (line) => {
      // Replies come in request order; anything unasked-for is dropped.
      peer.pending.shift()?.(line);
    });
    child.on('exit', (code) => {
      peer.closed = true;
      const msg = JSON.stringify({ ok: false, error: `the peer exited (code ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
      for (const w of peer.pending.splice(0)) w(msg);
    });
    return { peer };
  }

  /** One workload; throws with the peer's error. */
  async ask<T = Record<string, unknown>>(op: string, request: Record<string, unknown>): Promise<PeerReply & T> {
    if (this.closed) throw new Error('the PyTorch peer is not running');
    const line = await new Promise<string>((resolve) => {
      this.pending.push(resolve);
      this.child.stdin.write(JSON.stringify({ op, ...request }) + '\n');
    });
    const reply = JSON.parse(line) as PeerReply & T;
    if (!reply.ok) throw new Error(`peer ${op}: ${reply.error}`);
    return reply;
  }

  close(): void {
    if (!this.closed) this.child.stdin.end();
  }
}
