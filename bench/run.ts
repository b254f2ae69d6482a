/**
 * `npm run bench`: one run, every figure beside its reference measured in the
 * same run (the backend's own matmul ceiling, and the PyTorch peer in
 * bench/peer_torch.py), printed and written to bench/results.json and to the
 * generated part of BENCHMARKS.md.
 *
 *   npm run bench                  full sizes (GPT-2-small-shaped model; tens of minutes on 2 cores)
 *   npm run bench:smoke            toy sizes, for CI; writes bench/results.smoke.json only
 *   npm run bench -- --no-peer     skip PyTorch
 *   npm run bench -- --only reft,lofit   those sections only; writes bench/results.partial.json
 *   npm run bench -- --threads 2   wasm threads for this process and the DAS one (default: SUBSPACE_WASM_THREADS, else auto);
 *                                  LoFIT runs as its jobs do, on one thread with the training helper
 *
 * Ours and the peer take turns workload by workload, so both see the same
 * machine load. Ratios are speed ratios: peer time ÷ our time (above 1: we are faster).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import * as tf from '../src-main/engine/tf.js';
import { initBackend } from '../src-main/engine/backend/index.js';
import { loadModelFolder, type LoadedModel } from '../src-main/engine/io/model-folder.js';
import { openModel } from '../src-main/engine/open-model.js';
import { loadTask } from '../src-main/engine/tasks/registry.js';
import { benchMatmul } from './matmul.js';
import { benchForward, checkDiff, forwardFlops, randomIds } from './forward.js';
import { GPT2_SMALL, ensureRandomGpt2, type RandomGpt2Shape } from './random-model.js';
import { benchReft } from './reft.js';
import { benchLofitOnTask, type LofitFigures } from './lofit.js';
import { withEnv } from './env.js';
import { benchGrowth } from './growth.js';
import { benchStore } from './store.js';
import { withMemory, type MemoryFigures } from './memory.js';
import { Peer } from './peer.js';
import { seededRandom } from '../src-main/engine/random.js';
import { preparePairs } from '../src-main/engine/patching/index.js';
import { startParallelSweep } from '../src-main/engine/parallel/sweep.js';
import type { TaskExample } from '../src-main/engine/tasks/schema.js';
import { writeBenchmarksMd } from './report.js';

const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const threadsAt = argv.indexOf('--threads');
const threadsArg = threadsAt >= 0 ? argv[threadsAt + 1] : undefined;
if (threadsArg !== undefined && !(Number.isInteger(Number(threadsArg)) && Number(threadsArg) >= 1)) {
  throw new Error(`--threads takes a whole number of at least 1 (got ${threadsArg})`);
}
const usePeer = !argv.includes('--no-peer');
const onlyArg = argv.find((a) => a.startsWith('--only'));
const only = onlyArg ? new Set((onlyArg.includes('=') ? onlyArg.split('=')[1] : argv[argv.indexOf(onlyArg) + 1] ?? '').split(',')) : null;
const HERE = import.meta.dirname;
const ROOT = join(HERE, '..');
const WORK = join(HERE, 'work');

const wanted = (name: string) => !only || only.has(name);
const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const mib = (b: number) => `${f0(b / 2 ** 20)} MiB`;
const ratioText = (r: number | undefined) => (r === undefined || !Number.isFinite(r) ? '—' : `${f2(r)}×`);

interface MemoryRow {
  ours: MemoryFigures;
  peer?: { peakRssBytes: number };
}

/** Everything written to results.json. */
export interface BenchResults {
  date: string;
  smoke: boolean;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; os: string };
  backend: { name: string; device: string };
  peer: { python: string; torch: string; threads: number; blas: string } | { absent: string };
  ceiling?: Record<string, unknown>;
  forward?: Array<Record<string, unknown>>;
  reft?: Record<string, unknown>;
  lofit?: Record<string, unknown>;
  patching?: Record<string, unknown>;
  das?: Record<string, unknown>;
  growth?: Array<Record<string, unknown>>;
  store?: Record<string, unknown>;
  memory: Record<string, MemoryRow>;
  /** Size the wasm heap grew to (it never shrinks; wasm32 stops at 4 GiB). */
  wasmHeapBytes?: number;
  /** Speed ratios per workload: peer time ÷ our time (above 1: we are faster). */
  ratios: Record<string, number>;
  targets: Array<{ name: string; target: string; value: string; met: boolean }>;
  notes: string[];
}

/** What run.ts reads from bench/patching.ts and bench/das.ts (structural, so a missing file is no compile error). */
interface PatchingFigures {
  model: string;
  batch: number;
  tokens: number;
  patches: number;
  naive: { ms: number };
  batched: { ms: number; forwards: number };
  attribution: { ms: number };
  check: { maxAbsDiff: number; spearmanAttribution: number };
}

interface DasFigures {
  shape: { layers: number; vocab: number };
  dim: number;
  layer: number;
  pairs: number;
  tokens: number;
  batch: number;
  stepMs: Record<'none' | 'layers' | 'window', number>;
}

/** Runs a workload through bench/isolated.ts in a child process; its figures and memory come back as JSON. */
function isolated<T>(name: string): Promise<{ result: T; memory: MemoryFigures }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(HERE, 'isolated.ts'), name, ...(smoke ? ['--smoke'] : []), ...(threadsArg && name !== 'lofit' ? ['--threads', threadsArg] : [])], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${name} (own process) failed: ${String(stderr).trim().split('\n').slice(-3).join(' | ') || error.message}`));
      resolve(JSON.parse(String(stdout).trim().split('\n').pop()!) as { result: T; memory: MemoryFigures });
    });
  });
}

function wasmHeapBytes(): number | undefined {
  const b = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm : undefined;
  return b?.HEAPU8?.length;
}

/** Prompt pairs over the synthetic tokenizer's words; each source changes three of them. */
function patchPairs(n: number, tokens: number, vocab: number): TaskExample[] {
  const rand = seededRandom(5);
  const word = () => `t${1 + Math.floor(rand() * (vocab - 1))}`;
  return Array.from({ length: n }, (_, i) => {
    const base = Array.from({ length: tokens }, word);
    const source = base.map((w, j) => (j === 2 || j === tokens - 5 || j === tokens - 2 ? word() : w));
    return { id: `pair-${i}`, prompt: base.join(' '), completion: ` ${word()}`, wrong: [` ${word()}`], source: { prompt: source.join(' '), completion: ` ${word()}` } };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function optionalModule<T>(name: string): Promise<T | undefined> {
  if (!existsSync(join(HERE, `${name}.ts`))) return undefined;
  const specifier = `./${name}.js`;
  return (await import(specifier)) as T;
}

async function main(): Promise<void> {
  const t00 = performance.now();
  const report = await initBackend(threadsArg ? { wasmThreads: Number(threadsArg) } : {});
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
  };
  console.log(`Subspace bench${smoke ? ' (smoke)' : ''}: backend ${report.backend} on ${report.device}; ${machine.cores} cores, ${machine.cpu}`);
  const started = usePeer ? await Peer.start(machine.cores) : { why: '--no-peer' };
  const peer = started.peer;
  if (peer) console.log(`peer: PyTorch ${peer.info.torch}, ${peer.info.threads} threads, ${peer.info.python}; BLAS ${peer.info.blas}`);
  else console.log(`peer: not run (${started.why}); figures are printed without PyTorch ratios`);

  const results: BenchResults = {
    date: new Date().toISOString(),
    smoke,
    machine,
    backend: { name: report.backend, device: report.device },
    peer: peer ? peer.info : { absent: started.why ?? 'unknown' },
    memory: {},
    ratios: {},
    targets: [],
    notes: [],
  };
  const ratio = (name: string, peerMs: number | undefined, oursMs: number): number | undefined => {
    if (peerMs === undefined || !(oursMs > 0)) return undefined;
    const r = peerMs / oursMs;
    results.ratios[name] = r;
    return r;
  };
  const target = (name: string, t: string, value: string, met: boolean) => results.targets.push({ name, target: t, value, met });
  /** Runs one section; a failure is recorded and the run goes on (a wasm abort leaves the backend unusable, so later sections fail too, but the figures so far are written). */
  const section = async (name: string, f: () => Promise<void>) => {
    const asked = name === 'ceiling' ? wanted('ceiling') || wanted('forward') : wanted(name);
    if (!asked) return;
    try {
      await f();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      results.notes.push(`${name}: failed: ${msg.split('\n')[0]}`);
      console.error(`${name}: failed: ${e instanceof Error ? (e.stack ?? msg) : msg}`);
    }
  };
  const skipped = (name: string) => {
    results.notes.push(`${name}: bench/${name}.ts is not there; not measured`);
    console.log(`${name}: bench/${name}.ts not found; skipped`);
  };

  // ---- ceiling -------------------------------------------------------------
  let ceiling = NaN;
  await section('ceiling', async () => {
    const shape: [number, number, number] = smoke ? [128, 256, 256] : [512, 768, 768];
    const mm = await benchMatmul({ shape, minMs: smoke ? 100 : 1500 });
    ceiling = mm.gflops;
    const p = peer ? await peer.ask<{ gflops: number; msPerRun: number }>('matmul', { shape, minMs: smoke ? 100 : 1500 }) : undefined;
    const r = ratio('ceiling.matmul', p?.msPerRun, mm.msPerRun);
    results.ceiling = { shape, ours: { gflops: mm.gflops, msPerRun: mm.msPerRun, transposedGflops: mm.transposed.gflopsAfter, transposedGflopsStock: mm.transposed.gflopsBefore }, peer: p && { gflops: p.gflops, msPerRun: p.msPerRun }, ratio: r };
    console.log(`ceiling: matmul ${shape.join('×')}: ours ${f1(mm.gflops)} GFLOP/s (a×bᵀ ${f1(mm.transposed.gflopsAfter)}), PyTorch ${p ? f1(p.gflops) : '—'} GFLOP/s, ratio ${ratioText(r)}`);
  });

  // ---- DAS (bench/das.ts) ------------------------------------------------------
  await section('das', async () => {
    if (!existsSync(join(HERE, 'das.ts'))) skipped('das');
    else {
      // In a process of its own: it peaks near wasm's 4 GiB heap on GPT-2-small, which never shrinks.
      const { result: df, memory } = await isolated<DasFigures>('das');
      let p: { stepMs: number[]; peakRssBytes: number } | undefined;
      if (peer) {
        const dir = join(WORK, smoke ? 'gpt2-das-toy-random' : 'gpt2-small-random');
        const vocab = df.shape.vocab;
        const T = df.tokens;
        const batches = Array.from({ length: Math.ceil(df.pairs / df.batch) }, (_, i) => {
          const base = randomIds(vocab, df.batch, T, 20 + i);
          const source = randomIds(vocab, df.batch, T, 40 + i);
          const ones = base.map((r) => r.map(() => 1));
          return { base, source, baseMask: ones, sourceMask: ones, basePositions: base.map(() => T - 1), sourcePositions: base.map(() => T - 1), targetPositions: base.map(() => [T - 1]), targets: base.map((_, b) => [(b + i) % 2]) };
        });
        p = await peer.ask('das', { model: dir, layer: df.layer, rank: df.dim, lr: 1e-3, batches, steps: batches.length + 1 });
      }
      const peerStep = p ? median(p.stepMs.slice(1)) : undefined;
      const modes = ['none', 'layers', 'window'] as const;
      const r = Object.fromEntries(modes.map((k) => [k, ratio(`das.step.${k === 'none' ? 'noCache' : k === 'layers' ? 'layerCache' : 'cachedPrefix'}`, peerStep, df.stepMs[k])]));
      results.memory.das = { ours: memory, peer: p && { peakRssBytes: p.peakRssBytes } };
      const what = `DAS step (lowrank k=${df.dim}, layer ${df.layer}/${df.shape.layers}, ${df.pairs} pairs × ${df.tokens} tokens, batch ${df.batch})`;
      const label = { none: 'no cache', layers: 'layer cache', window: 'cached prefix' };
      results.das = {
        ...df,
        peer: p && { stepMs: p.stepMs, medianStepMs: peerStep },
        ratios: r,
        rows: modes.map((k) => ({ workload: `${what}, ${label[k]}`, ours: `${f0(df.stepMs[k])} ms`, peer: peerStep !== undefined ? `${f0(peerStep)} ms` : undefined, ratio: r[k] })),
      };
      console.log(`das: ${what}: ours ${modes.map((k) => `${label[k]} ${f0(df.stepMs[k])} ms`).join(', ')}; PyTorch ${peerStep !== undefined ? f0(peerStep) : '—'} ms; ratios ${modes.map((k) => ratioText(r[k])).join(', ')}`);
      if (r.window !== undefined) target('DAS step ≥ PyTorch (cached prefix)', '≥ 1×', ratioText(r.window), r.window >= 1);
    }
  });

  // ---- forward -------------------------------------------------------------
  const gpt2Shape: RandomGpt2Shape = smoke ? { layers: 2, heads: 4, width: 128, vocab: 512, positions: 128 } : GPT2_SMALL;
  const gpt2Dir = join(WORK, smoke ? 'gpt2-toy-random' : 'gpt2-small-random');
  ensureRandomGpt2(gpt2Dir, gpt2Shape);
  let gpt2: LoadedModel | undefined;
  const gpt2Model = async () => (gpt2 ??= await loadModelFolder(gpt2Dir, { name: smoke ? 'gpt2-toy-random' : 'gpt2-small-random' }));
  await section('forward', async () => {
    results.forward = [];
    const [B, T] = smoke ? [2, 16] : [8, 64];
    for (const name of ['gpt2-small', 'demo-gpt2', 'demo-llama']) {
      const m = name === 'gpt2-small' ? await gpt2Model() : await openModel(name);
      const ids = randomIds(m.spec.vocabSize, B, Math.min(T, m.spec.maxPositions));
      const runs = smoke ? 2 : name === 'gpt2-small' ? 3 : 10;
      const { result: fw, memory } = await withMemory(() => benchForward(m, ids, runs));
      const p = peer ? await peer.ask<{ msPerForward: number; check: number[][] }>('forward', { model: m.folder, ids, runs }) : undefined;
      const key = `forward.${m.name}`;
      const r = ratio(key, p?.msPerForward, fw.msPerForward);
      const fraction = fw.gflops / ceiling;
      const diff = p ? checkDiff(fw.check, p.check) : undefined;
      results.memory[key] = { ours: memory, peer: p && { peakRssBytes: p.peakRssBytes } };
      results.forward.push({ ...fw, check: undefined, flops: forwardFlops(m.spec, ids.length, ids[0].length), fractionOfCeiling: fraction, peer: p && { msPerForward: p.msPerForward, tokensPerSecond: (ids.length * ids[0].length) / (p.msPerForward / 1000) }, ratio: r, checkMaxAbsDiff: diff });
      console.log(
        `forward ${m.name} ${ids.length}×${ids[0].length}: ours ${f0(fw.msPerForward)} ms (${f0(fw.tokensPerSecond)} tokens/s, ${f1(fw.gflops)} GFLOP/s = ${f0(100 * fraction)}% of the ceiling), ` +
          `PyTorch ${p ? f0(p.msPerForward) : '—'} ms, ratio ${ratioText(r)}${diff !== undefined ? `, logits agree to ${diff.toExponential(1)}` : ''}`,
      );
      // (The smoke run's toy model is too small to say anything about efficiency.)
      if (name === 'gpt2-small' && !smoke) target('forward at ≥ 50% of the matmul ceiling', '≥ 50%', `${f0(100 * fraction)}%`, fraction >= 0.5);
      if (name !== 'gpt2-small') m.model.dispose();
    }
  });

  // ---- ReFT ----------------------------------------------------------------
  await section('reft', async () => {
    const m = await gpt2Model();
    const opts = smoke
      ? { examples: 8, tokens: 8, epochs: 2, batch: 4, layer: 1, rank: 4, modes: ['none', 'window'] as const }
      : { examples: 16, tokens: 32, epochs: 2, batch: 8, layer: 6, rank: 4, modes: ['none', 'layers', 'window'] as const };
    const { result: rf, memory } = await withMemory(() => benchReft(m, opts));
    const p = peer ? await peer.ask<{ stepMs: number[] }>('reft', { model: m.folder, layer: rf.layer, rank: rf.rank, lr: 1e-3, batches: rf.peerBatches, steps: rf.peerBatches.length + 1 }) : undefined;
    const peerEpoch = p ? p.stepMs.slice(1).reduce((a, b) => a + b, 0) : undefined;
    results.memory.reft = { ours: memory, peer: p && { peakRssBytes: p.peakRssBytes } };
    const rNone = ratio('reft.epoch.noCache', peerEpoch, rf.modes.none.steadyEpochMs);
    const w = rf.modes.window;
    const rWin = w && ratio('reft.epoch.cachedPrefix', peerEpoch, w.steadyEpochMs);
    const rFirst = w && ratio('reft.firstEpoch.cachedPrefix', peerEpoch, w.firstEpochMs);
    const lay = rf.modes.layers;
    const rLay = lay && ratio('reft.epoch.layerCache', peerEpoch, lay.steadyEpochMs);
    results.reft = { ...rf, peerBatches: undefined, peer: p && { stepMs: p.stepMs, epochMs: peerEpoch }, ratios: { noCache: rNone, cachedPrefix: rWin, cachedPrefixFirstEpoch: rFirst, layerCache: rLay } };
    const s = rf.stepsPerEpoch;
    console.log(
      `reft: LoReFT rank ${rf.rank}, layer ${rf.layer} of ${rf.layers}, ${rf.examples} examples × ${rf.tokens} tokens, batch ${rf.batch} (${s} steps/epoch): ` +
        `epoch ms ours no cache ${f0(rf.modes.none.steadyEpochMs)}${lay ? `, layer cache ${f0(lay.steadyEpochMs)}` : ''}${w ? `, cached prefix ${f0(w.steadyEpochMs)} (first epoch ${f0(w.firstEpochMs)})` : ''}; ` +
        `PyTorch ${peerEpoch !== undefined ? f0(peerEpoch) : '—'}; ratios ${ratioText(rNone)} no cache, ${ratioText(rWin)} cached prefix, ${ratioText(rFirst)} first epoch`,
    );
    if (rWin !== undefined) target('ReFT epoch ≥ PyTorch (cached prefix)', '≥ 1×', ratioText(rWin), rWin >= 1);
  });

  // ---- LoFIT ---------------------------------------------------------------
  await section('lofit', async () => {
    // Epochs of this small model take well under a second, and both sides' times swing 2–3× with the
    // machine's load from one minute to the next, so ours and the peer take turns for several rounds
    // and each side's median is compared.
    const rounds = smoke ? 1 : 3;
    const withHelper: LofitFigures[] = [];
    const alone: LofitFigures[] = [];
    const peer1: number[] = [];
    const peer2: number[] = [];
    let memory: MemoryFigures | undefined;
    let peerRss = 0;
    for (let round = 0; round < rounds; round++) {
      // As LoFIT jobs run: a process of its own with one wasm thread and the training helper thread.
      const iso = await isolated<LofitFigures>('lofit');
      withHelper.push(iso.result);
      memory ??= iso.memory;
      // The same workload in this process without the helper, on this process's threads: the setup before the helper.
      alone.push(await withEnv('SUBSPACE_TRAIN_SHARDS', '1', () => benchLofitOnTask({ smoke })));
      if (peer) {
        const lf = iso.result;
        const p1 = await peer.ask<{ epochMs: number }>('lofit', { model: lf.folder!, step: 1, lr: lf.select.lr, l1: lf.select.l1, batches: lf.peerBatches });
        const p2 = await peer.ask<{ epochMs: number }>('lofit', { model: lf.folder!, step: 2, lr: lf.tune.lr, heads: lf.tune.heads, batches: lf.peerBatches });
        peer1.push(p1.epochMs);
        peer2.push(p2.epochMs);
        peerRss = Math.max(peerRss, p1.peakRssBytes, p2.peakRssBytes);
      }
    }
    results.memory.lofit = { ours: memory!, peer: peer ? { peakRssBytes: peerRss } : undefined };
    const lf = withHelper[0];
    const med = (xs: LofitFigures[], step: 'select' | 'tune') => median(xs.map((x) => x[step].steadyEpochMs));
    const ours1 = med(withHelper, 'select');
    const ours2 = med(withHelper, 'tune');
    const alone1 = med(alone, 'select');
    const alone2 = med(alone, 'tune');
    const pm1 = peer ? median(peer1) : undefined;
    const pm2 = peer ? median(peer2) : undefined;
    const r1 = ratio('lofit.step1.epoch', pm1, ours1);
    const r2 = ratio('lofit.step2.epoch', pm2, ours2);
    const a1 = ratio('lofit.step1.epoch.noHelper', pm1, alone1);
    const a2 = ratio('lofit.step2.epoch.noHelper', pm2, alone2);
    const steady = (xs: LofitFigures[], step: 'select' | 'tune') => xs.map((x) => x[step].steadyEpochMs);
    results.lofit = {
      ...lf,
      peerBatches: undefined,
      rounds,
      select: { ...lf.select, steadyEpochMs: ours1, rounds: steady(withHelper, 'select') },
      tune: { ...lf.tune, steadyEpochMs: ours2, rounds: steady(withHelper, 'tune') },
      peer: peer && { step1EpochMs: pm1, step2EpochMs: pm2, step1Rounds: peer1, step2Rounds: peer2 },
      ratios: { step1: r1, step2: r2, step1NoHelper: a1, step2NoHelper: a2 },
      noHelper: {
        device: alone[0].device,
        shards: alone[0].shards,
        select: { steadyEpochMs: alone1, rounds: steady(alone, 'select') },
        tune: { steadyEpochMs: alone2, rounds: steady(alone, 'tune') },
      },
    };
    const list = (xs: number[]) => xs.map((x) => f0(x)).join('/');
    console.log(
      `lofit: ${lf.model} on ${lf.task}, ${lf.examples} examples, batch ${lf.batch}, ${lf.device}, ${lf.shards} part(s) per batch, ${rounds === 1 ? 'one round' : `median of ${rounds} rounds`}: ` +
        `step 1 epoch ours ${f0(ours1)} ms (${list(steady(withHelper, 'select'))}), PyTorch ${pm1 !== undefined ? `${f0(pm1)} ms (${list(peer1)})` : '—'} (${ratioText(r1)}); ` +
        `step 2 (heads ${lf.tune.heads.map(([l, h]) => `${l}.${h}`).join(' ')}) ours ${f0(ours2)} ms (${list(steady(withHelper, 'tune'))}), PyTorch ${pm2 !== undefined ? `${f0(pm2)} ms (${list(peer2)})` : '—'} (${ratioText(r2)}); ` +
        `without the helper (${alone[0].device}): ${f0(alone1)} / ${f0(alone2)} ms (${ratioText(a1)} / ${ratioText(a2)})`,
    );
    if (r1 !== undefined) target('LoFIT step 1 epoch ≥ PyTorch', '≥ 1×', ratioText(r1), r1 >= 1);
    if (r2 !== undefined) target('LoFIT step 2 epoch ≥ PyTorch', '≥ 1×', ratioText(r2), r2 >= 1);
  });

  // ---- patching (bench/patching.ts) ------------------------------------------
  await section('patching', async () => {
    const mod = await optionalModule<{ benchPatching: (o: { smoke?: boolean }) => Promise<PatchingFigures> }>('patching');
    if (!mod) skipped('patching');
    else {
      const { result: pf, memory } = await withMemory(() => mod.benchPatching({ smoke }));
      const m = await gpt2Model();
      let p: { sweepMs: number; msPerPatch: number; measuredPatches: number; peakRssBytes: number } | undefined;
      if (peer) {
        const H = m.spec.nHeads;
        const ids = randomIds(m.spec.vocabSize, pf.batch, pf.tokens, 5);
        const T = pf.tokens;
        const corrupt = ids.map((row, b) => row.map((t, j) => (j === 2 || j === T - 5 || j === T - 2 ? (t + 1 + b) % m.spec.vocabSize : t)));
        const answers = randomIds(m.spec.vocabSize, pf.batch, 2, 6);
        p = await peer.ask('patch_heads', {
          model: m.folder,
          clean: ids,
          corrupt,
          last: ids.map(() => T - 1),
          correct: answers.map((a) => a[0]),
          wrong: answers.map((a) => a[1]),
          heads: smoke ? undefined : [0, Math.floor(H / 2)],
        });
      }
      // The same sweep split by layer across worker processes (one thread each).
      const workers = machine.cores;
      const prepared = preparePairs(m.tokenizer!, patchPairs(pf.batch, pf.tokens, m.spec.vocabSize));
      const t0 = performance.now();
      const par = await startParallelSweep(m.folder, prepared, { workers });
      const startMs = performance.now() - t0;
      let shardedMs: number;
      try {
        await par.sweep({ kind: 'heads', method: 'exact' }, [m.spec.nLayers - 1]); // warm-up, as in-process
        shardedMs = (await par.sweep({ kind: 'heads', method: 'exact' }, Array.from({ length: m.spec.nLayers }, (_, l) => l))).stats.ms;
      } finally {
        await par.close();
      }
      const rSharded = ratio('patching.sweep.batchedSharded', p?.sweepMs, shardedMs);
      const rNaive = ratio('patching.sweep.onePerPatch', p?.sweepMs, pf.naive.ms);
      const rBatched = ratio('patching.sweep.batched', p?.sweepMs, pf.batched.ms);
      const rAttr = ratio('patching.attribution', p?.sweepMs, pf.attribution.ms);
      results.memory.patching = { ours: memory, peer: p && { peakRssBytes: p.peakRssBytes } };
      const what = `per-head sweep, ${pf.model}, ${pf.batch}×${pf.tokens}, ${pf.patches} patches`;
      const peerText = p ? `${f0(p.sweepMs)} ms (one forward per patch${p.measuredPatches < pf.patches ? `, ${p.measuredPatches} timed and scaled` : ''})` : undefined;
      results.patching = {
        ...pf,
        peer: p && { sweepMs: p.sweepMs, msPerPatch: p.msPerPatch, measuredPatches: p.measuredPatches },
        rows: [
          { workload: `Patching ${what}: one forward per patch`, ours: `${f0(pf.naive.ms)} ms`, peer: peerText, ratio: rNaive },
          { workload: `Patching ${what}: batched, shared prefix, answer-only unembedding`, ours: `${f0(pf.batched.ms)} ms (${pf.batched.forwards} forwards)`, peer: peerText, ratio: rBatched },
          { workload: `Patching ${what}: batched, split by layer over ${workers} worker processes`, ours: `${f0(shardedMs)} ms (+ ${f0(startMs)} ms to start the workers once)`, peer: peerText, ratio: rSharded },
          { workload: `Patching ${what}: attribution`, ours: `${f0(pf.attribution.ms)} ms`, peer: peerText, ratio: rAttr },
        ],
        sharded: { workers, ms: shardedMs, startMs },
      };
      console.log(
        `patching: ${what}: ours one forward per patch ${f0(pf.naive.ms)} ms, batched ${f0(pf.batched.ms)} ms, batched on ${workers} workers ${f0(shardedMs)} ms (start ${f0(startMs)} ms), attribution ${f0(pf.attribution.ms)} ms; ` +
          `PyTorch ${p ? f0(p.sweepMs) : '—'} ms; ratios ${ratioText(rNaive)}, ${ratioText(rBatched)}, ${ratioText(rSharded)}, ${ratioText(rAttr)}; batched − naive ≤ ${pf.check.maxAbsDiff.toExponential(1)}, attribution ρ ${f2(pf.check.spearmanAttribution)}`,
      );
      if (rBatched !== undefined) target('per-head sweep (batched, one process) ≥ PyTorch', '≥ 1×', ratioText(rBatched), rBatched >= 1);
      if (rSharded !== undefined) target(`per-head sweep (batched, ${workers} worker processes) ≥ PyTorch`, '≥ 1×', ratioText(rSharded), rSharded >= 1);
    }
  });



  // ---- tensor growth ---------------------------------------------------------
  await section('growth', async () => {
    const m = await openModel('demo-gpt2');
    const task = await loadTask('fact-edit');
    const steps = smoke ? 20 : 1000;
    const growth = benchGrowth(m, task.splits.train, steps);
    results.growth = growth as unknown as Array<Record<string, unknown>>;
    for (const g of growth) {
      console.log(`tensors: ${g.method} ${g.steps} steps on ${m.name}: ${g.afterFirstStep} after step 1, ${g.afterLastStep} after step ${g.steps} (growth ${g.growth}); ${g.before} before, ${g.after} after the run`);
      target(`no tensor growth over ${g.steps} ${g.method} steps`, '0', String(g.growth), g.growth === 0 && g.after === g.before);
    }
    m.model.dispose();
  });

  // ---- store -----------------------------------------------------------------
  await section('store', async () => {
    const { result: store, memory } = await withMemory(() => benchStore(undefined, smoke ? { runs: 50, runsWithMetrics: 10, steps: 100 } : {}));
    results.store = store as unknown as Record<string, unknown>;
    results.memory.store = { ours: memory };
    console.log(`store: ${store.runs} runs, ${store.metricPoints} metric points: list runs ${f2(store.listRuns.medianMs)} ms, one run's curves ${f2(store.getMetrics.medianMs)} ms (median; target < 50 ms each)`);
    target('store: list runs < 50 ms', '< 50 ms', `${f2(store.listRuns.medianMs)} ms`, store.listRuns.medianMs < 50);
    target("store: one run's curves < 50 ms", '< 50 ms', `${f2(store.getMetrics.medianMs)} ms`, store.getMetrics.medianMs < 50);
  });

  gpt2?.model.dispose();
  peer?.close();

  console.log('memory (peak resident / tfjs peak):');
  for (const [k, v] of Object.entries(results.memory)) {
    console.log(`  ${k.padEnd(28)} ours ${mib(v.ours.peakRssBytes)} / ${mib(v.ours.tfjsPeakBytes)}; PyTorch ${v.peer ? mib(v.peer.peakRssBytes) : '—'}`);
  }
  console.log('targets:');
  for (const t of results.targets) console.log(`  ${t.met ? 'met ' : 'MISS'} ${t.name}: ${t.value} (target ${t.target})`);
  results.wasmHeapBytes = wasmHeapBytes();
  // Only a full run replaces results.json; a narrowed one (--only) must not wipe the full run's figures.
  const name = smoke ? 'results.smoke.json' : only ? 'results.partial.json' : 'results.json';
  mkdirSync(HERE, { recursive: true });
  writeFileSync(join(HERE, name), JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote bench/${name}`);
  if (!smoke && !only) {
    const md = join(ROOT, 'BENCHMARKS.md');
    writeFileSync(md, writeBenchmarksMd(results, existsSync(md) ? readFileSync(md, 'utf8') : ''));
    console.log('wrote BENCHMARKS.md');
  }
  const heap = wasmHeapBytes();
  console.log(`bench took ${f0((performance.now() - t00) / 1000)} s; tensors left: ${tf.memory().numTensors}${heap ? `; wasm heap ${mib(heap)} (of at most 4096 MiB)` : ''}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
