import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { evaluateOrthogonalParametrization, exportPyreft, fromPyreftStateDict, importPyreft, orthogonalCompletion } from '../../src-main/engine/export/pyreft.js';
import { readTorchStateDict } from '../../src-main/engine/export/pytorch-zip.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { writeSafetensors, type TensorToWrite } from '../../src-main/engine/io/safetensors.js';
import { orthonormalityError, orthonormalize } from '../../src-main/engine/interventions/orthogonal.js';
import { createIntervention, type Intervention } from '../../src-main/engine/interventions/registry.js';
import { createReftInterventions, REFT_DEFAULTS, trainReft, type PlacedIntervention, type ReftConfig } from '../../src-main/engine/methods/reft.js';
import { seededRandom } from '../../src-main/engine/random.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';

/**
 * pyvene/pyreft export: files torch.load reads, state dicts equal to ours, and pyreft's formulas
 * (reimplemented below in PyTorch, since pyreft is not installed: the minimal modules with torch's
 * orthogonal parametrization, pyvene's buffers, and LoReFT's overridden state_dict/load_state_dict)
 * giving our outputs.
 */
const TORCH_PY = '/usr/bin/python3';
const HAVE_TORCH = spawnSync(TORCH_PY, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 }).status === 0;
if (!HAVE_TORCH) console.warn(`export-pyreft: skipping the PyTorch checks: ${TORCH_PY} cannot import torch`);

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
const REF_DIR = join(import.meta.dirname, '..', 'reference');
const tmp = mkdtempSync(join(tmpdir(), 'subspace-pyreft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let gpt2: LoadedModel;
let llama: LoadedModel;
beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-tied'));
  llama = await loadModelFolder(join(FIX, 'llama-gqa'));
});

function toyTask(n: number, seed: number): TaskExample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 4 + Math.floor(rand() * 3);
    const toks = Array.from({ length: len }, () => 3 + Math.floor(rand() * 20));
    const answer = (toks[len - 2] % 8) + 40;
    return { id: `toy-${seed}-${i}`, prompt: toks.map((t) => `t${t}`).join(' '), completion: ` t${answer}`, wrong: [` t${((answer - 40 + 1) % 8) + 40}`] };
  });
}

function gaussian(n: number, seed: number, scale = 1): Float32Array {
  const u = seededRandom(seed);
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u()));
}

function applyOurs(iv: Intervention, x: Float32Array, rows: number): Float32Array {
  return tf.tidy(() => iv.apply(tf.tensor2d(x, [rows, iv.width])).dataSync() as Float32Array);
}

interface Case {
  name: string;
  dir: string;
  cfg: ReftConfig;
  placed: PlacedIntervention[];
  model: LoadedModel;
  addBias?: boolean;
  activation?: string;
}

const ROWS = 7;

/** One Python run over every exported folder: torch.load, state-dict keys, values, outputs. */
const CHECK_PY = String.raw`
import collections, json, os, sys
import numpy as np, torch
sys.path.insert(0, sys.argv[2])
from torch_reference import load_safetensors

FIELDS = ['layer', 'component', 'unit', 'max_number_of_units', 'low_rank_dimension', 'intervention_type',
          'intervention', 'subspace_partition', 'group_key', 'intervention_link_key', 'moe_key',
          'source_representation', 'hidden_source_representation', 'latent_dim']
RepresentationConfig = collections.namedtuple('RepresentationConfig', FIELDS, defaults=(0, 'block_output', 'pos', 1) + (None,) * 10)
ACT = {'identity': lambda x: x, 'relu': torch.relu, 'tanh': torch.tanh, 'gelu': torch.nn.functional.gelu}
NP_ACT = {'identity': lambda x: x, 'relu': lambda x: np.maximum(x, 0), 'tanh': np.tanh}

class LowRankRotateLayer(torch.nn.Module):
    def __init__(self, n, m):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(n, m))
        torch.nn.init.orthogonal_(self.weight)
    def forward(self, x):
        return torch.matmul(x.to(self.weight.dtype), self.weight)

def orth(d, r):
    return torch.nn.utils.parametrizations.orthogonal(LowRankRotateLayer(d, r))

class PyveneIntervention(torch.nn.Module):
    # pyvene's Intervention.__init__ registers these two buffers first.
    def __init__(self, d):
        super().__init__()
        self.register_buffer('embed_dim', torch.tensor(d))
        self.register_buffer('interchange_dim', torch.tensor(d))

class Loreft(PyveneIntervention):
    def __init__(self, d, r, act='identity', add_bias=False):
        super().__init__(d)
        self.rotate_layer = orth(d, r)
        self.learned_source = torch.nn.Linear(d, r)
        self.act = ACT[act]
    def forward(self, h):
        return h + (self.act(self.learned_source(h)) - self.rotate_layer(h)) @ self.rotate_layer.weight.T
    def state_dict(self, *a, **k):  # pyreft's override
        sd = collections.OrderedDict()
        for key, v in self.learned_source.state_dict().items():
            sd[key] = v
        sd['rotate_layer'] = self.rotate_layer.weight.data
        return sd
    def load_state_dict(self, sd, *a, **k):  # pyreft's override
        self.learned_source.load_state_dict(sd, strict=False)
        w = sd['rotate_layer']
        self.rotate_layer = orth(int(self.embed_dim), w.shape[-1])
        self.rotate_layer.parametrizations.weight[0].base[:, :w.shape[-1]] = w
        assert torch.allclose(self.rotate_layer.weight.data, w.data)

class Noreft(PyveneIntervention):
    def __init__(self, d, r, act='identity', add_bias=False):
        super().__init__(d)
        self.proj_layer = torch.nn.Linear(d, r, bias=add_bias)
        self.learned_source = torch.nn.Linear(d, r)
        self.act = ACT[act]
    def forward(self, h):
        return h + (self.act(self.learned_source(h)) - self.proj_layer(h)) @ self.proj_layer.weight

class Nodireft(Noreft):
    def forward(self, h):
        return h + self.act(self.learned_source(h)) @ self.proj_layer.weight

class Direft(PyveneIntervention):
    def __init__(self, d, r, act='identity', add_bias=False):
        super().__init__(d)
        self.rotate_layer = orth(d, r)
        self.learned_source = torch.nn.Linear(d, r)
        self.act = ACT[act]
    def forward(self, h):
        return h + self.act(self.learned_source(h)) @ self.rotate_layer.weight.T

class Consreft(PyveneIntervention):
    def __init__(self, d, r, act='identity', add_bias=False):
        super().__init__(d)
        self.rotate_layer = orth(d, r)
        self.learned_source = torch.nn.Parameter(torch.rand(r))
    def forward(self, h):
        return h + (self.learned_source - self.rotate_layer(h)) @ self.rotate_layer.weight.T

class Lobireft(Consreft):
    def forward(self, h):
        return h + self.learned_source @ self.rotate_layer.weight.T

CLASSES = {'LoreftIntervention': Loreft, 'NoreftIntervention': Noreft, 'NodireftIntervention': Nodireft,
           'DireftIntervention': Direft, 'ConsreftIntervention': Consreft, 'LobireftIntervention': Lobireft}

def reference(cls, s, h, act):
    # The paper/pyreft formulas in float64 numpy, from our own values.
    a = NP_ACT[act]
    if cls == 'LoreftIntervention':
        R = s['rotate_layer']
        return h + (a(h @ s['weight'].T + s['bias']) - h @ R) @ R.T
    if cls in ('NoreftIntervention', 'NodireftIntervention'):
        P = s['proj_layer.weight']; c = s.get('proj_layer.bias', 0)
        src = a(h @ s['learned_source.weight'].T + s['learned_source.bias'])
        return h + ((src - (h @ P.T + c)) if cls == 'NoreftIntervention' else src) @ P
    R = s['rotate_layer']
    if cls == 'DireftIntervention':
        return h + a(h @ s['learned_source.weight'].T + s['learned_source.bias']) @ R.T
    if cls == 'ConsreftIntervention':
        return h + (s['learned_source'] - h @ R) @ R.T
    return h + s['learned_source'] @ R.T

def pyvene_keys(reps):
    counter, keys = {}, []
    for r in reps:
        unit = r.unit.replace('.', '_')
        prop = f'layer_{r.layer}_comp_{r.component}_unit_{unit}_nunit_{r.max_number_of_units}'
        counter[prop] = counter[prop] + 1 if prop in counter else 0
        keys.append(f'{prop}#{counter[prop]}')
    return keys

jobs = json.load(open(sys.argv[1]))
out = {}
for job in jobs:
    d, cfg = job['dir'], json.load(open(os.path.join(job['dir'], 'config.json')))
    ours, _ = load_safetensors(job['side'])
    reps = [RepresentationConfig(*r) for r in cfg['representations']]
    res = {'keys': pyvene_keys(reps), 'sorted_keys': cfg['sorted_keys'], 'types': cfg['intervention_types'],
           'dims': cfg['intervention_dimensions'], 'const': cfg['intervention_constant_sources'], 'mode': cfg['mode'],
           'n_fields': [len(r) for r in cfg['representations']], 'per_key': {}}
    act = cfg['subspace']['activation']
    for i, key in enumerate(res['keys']):
        cls = cfg['intervention_types'][i].split("'")[1].split('.')[-1]
        sd = torch.load(os.path.join(d, f'intkey_{key}.bin'))
        s = {k[len(key) + 7:]: v for k, v in ours.items() if k.startswith(key + '/state/')}
        r = reps[i].low_rank_dimension
        m = CLASSES[cls](cfg['intervention_dimensions'][i], r, act, 'proj_layer.bias' in sd)
        expected_keys = list(m.state_dict().keys())
        m.load_state_dict(sd)  # strict for torch's default state_dict
        diffs = {}
        for name, v in s.items():
            if name == 'rotate_layer':
                got = m.rotate_layer.weight.detach().numpy()
            else:
                got = sd[name].numpy() if name in sd else None
            diffs[name] = None if got is None else float(np.abs(got - v).max())
        x = torch.from_numpy(ours[key + '/x'])
        y = m(x).detach().numpy()
        ref = reference(cls, {k: v.astype(np.float64) for k, v in s.items()}, ours[key + '/x'].astype(np.float64), act)
        info = {'file_keys': list(sd.keys()), 'expected_keys': expected_keys, 'diffs': diffs,
                'dtypes': {k: str(v.dtype) for k, v in sd.items()},
                'out_diff': float(np.abs(y - ours[key + '/y']).max()),
                'ref_diff': float(np.abs(ref - ours[key + '/y']).max()),
                'edit_size': float(np.abs(ref - ours[key + '/x']).max())}
        if 'rotate_layer.parametrizations.weight.original' in sd:
            o = sd['rotate_layer.parametrizations.weight.original']
            b = sd['rotate_layer.parametrizations.weight.0.base'].double()
            info['original_is_neg_eye'] = bool(torch.equal(o, -torch.eye(*o.shape)))
            info['base_orth'] = float((b.T @ b - torch.eye(b.shape[0], dtype=torch.float64)).abs().max())
        if 'embed_dim' in sd:
            info['embed_dim'] = [int(sd['embed_dim']), int(sd['interchange_dim'])]
        res['per_key'][key] = info
    out[job['name']] = res
print(json.dumps(out))
`;

function writeSide(c: Case): string {
  const tensors: Record<string, TensorToWrite> = {};
  const exported = JSON.parse(readFileSync(join(c.dir, 'config.json'), 'utf8')) as { sorted_keys: string[]; subspace: { groups: number[] }; representations: unknown[][] };
  exported.sorted_keys.forEach((key, i) => {
    const layer = exported.representations[i][0] as number;
    const group = exported.subspace.groups[i];
    const p = c.placed.find((q) => q.layer === layer && q.group === group)!;
    for (const [name, t] of Object.entries(p.intervention.state())) tensors[`${key}/state/${name}`] = { dtype: 'F32', shape: t.shape, data: t.data };
    const x = gaussian(ROWS * p.intervention.width, 1000 + i, 2);
    tensors[`${key}/x`] = { dtype: 'F32', shape: [ROWS, p.intervention.width], data: x };
    tensors[`${key}/y`] = { dtype: 'F32', shape: [ROWS, p.intervention.width], data: applyOurs(p.intervention, x, ROWS) };
  });
  const side = join(c.dir, '..', `${c.name}.side.safetensors`);
  writeSafetensors(side, tensors);
  return side;
}

function runPython(script: string, args: string[]): any {
  const r = spawnSync(TORCH_PY, ['-c', script, ...args], { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function cfgFor(over: Partial<ReftConfig> & { layers: number[] }): ReftConfig {
  return { ...REFT_DEFAULTS, ...over };
}

function placedOf(spec: LoadedModel['spec'], type: string, rank: number, layers: number[], opts: { addBias?: boolean; activation?: string; seed: number; component?: string }): PlacedIntervention[] {
  if (opts.addBias) {
    return layers.map((layer, i) => ({ key: `layer_${layer}_comp_block_output_group_0`, layer, group: 0, intervention: createIntervention(type, { width: spec.dModel, rank, addBias: true, activation: opts.activation, seed: opts.seed + i }) }));
  }
  return createReftInterventions(spec, cfgFor({ type, rank, layers, activation: opts.activation, seed: opts.seed, component: opts.component ?? 'block_output' }));
}

/** Our state equals the imported one (R within float rounding of its evaluation), and so do outputs. */
function expectSameInterventions(a: PlacedIntervention[], b: PlacedIntervention[]): void {
  expect(b.map((p) => `${p.layer}/${p.group}`)).toEqual(a.map((p) => `${p.layer}/${p.group}`));
  a.forEach((p, i) => {
    const sa = p.intervention.state();
    const sb = b[i].intervention.state();
    expect(Object.keys(sb).sort()).toEqual(Object.keys(sa).sort());
    for (const k of Object.keys(sa)) expect(maxAbsDiff(sa[k].data, sb[k].data), k).toBeLessThan(k === 'rotate_layer' ? 1e-6 : 1e-12);
    const x = gaussian(5 * p.intervention.width, 77 + i);
    expect(maxAbsDiff(applyOurs(p.intervention, x, 5), applyOurs(b[i].intervention, x, 5))).toBeLessThan(1e-5);
  });
}

describe('pyreft / pyvene export', () => {
  const cases: Case[] = [];
  const dispose = () => {
    for (const c of cases) for (const p of c.placed) p.intervention.dispose();
  };
  afterAll(dispose);

  it('writes pyvene\'s folder for every ReFT type, and imports it back unchanged', () => {
    // A trained LoReFT (two position groups per layer), every type at random state, a head site, an activation.
    const trained = trainReft(gpt2.model, gpt2.tokenizer!, { train: toyTask(32, 1), dev: [] }, { epochs: 1, batchSize: 8, lr: 2e-2, rank: 2, seed: 7, layers: [0, 1], positions: 'f1+l1', shareWeights: false });
    cases.push({ name: 'loreft-trained', dir: join(tmp, 'loreft-trained'), cfg: trained.config, placed: trained.interventions, model: gpt2 });
    const types = ['LoReFT', 'NoReFT', 'DiReFT', 'NodiReFT', 'ConsReFT', 'LobiReFT'];
    types.forEach((type, i) => {
      const layers = [0, 2];
      cases.push({ name: type.toLowerCase(), dir: join(tmp, type.toLowerCase()), cfg: cfgFor({ type, rank: 3, layers }), placed: placedOf(llama.spec, type, 3, layers, { seed: 100 + 10 * i }), model: llama });
    });
    cases.push({ name: 'noreft-bias', dir: join(tmp, 'noreft-bias'), cfg: cfgFor({ type: 'NoReFT', rank: 4, layers: [1] }), placed: placedOf(llama.spec, 'NoReFT', 4, [1], { addBias: true, seed: 300 }), model: llama, addBias: true });
    cases.push({ name: 'direft-relu', dir: join(tmp, 'direft-relu'), cfg: cfgFor({ type: 'DiReFT', rank: 2, layers: [1], activation: 'relu' }), placed: placedOf(llama.spec, 'DiReFT', 2, [1], { activation: 'relu', seed: 400 }), model: llama, activation: 'relu' });
    cases.push({ name: 'loreft-head', dir: join(tmp, 'loreft-head'), cfg: cfgFor({ type: 'LoReFT', rank: 2, layers: [1], component: 'head_output.2' }), placed: placedOf(gpt2.spec, 'LoReFT', 2, [1], { seed: 500, component: 'head_output.2' }), model: gpt2 });

    for (const c of cases) {
      const out = exportPyreft(c.dir, c.placed, c.cfg, c.model.spec, c.model.name, { allowActivation: c.activation !== undefined });
      expect(out.files.every((f) => existsSync(join(c.dir, f)))).toBe(true);
      const back = importPyreft(c.dir, c.model.spec);
      expect(back.notes).toEqual([]);
      expect(back.config.type.toLowerCase()).toBe(c.cfg.type.toLowerCase());
      expect(back.config.layers).toEqual([...new Set(c.cfg.layers)].sort());
      expect(back.config.component).toBe(c.cfg.component);
      expect(back.config.rank).toBe(c.cfg.rank);
      expect(back.config.positions).toBe(c.cfg.positions);
      expect(back.config.shareWeights).toBe(c.cfg.shareWeights);
      expect(back.config.activation ?? 'identity').toBe(c.activation ?? 'identity');
      expectSameInterventions([...c.placed].sort((a, b) => a.layer - b.layer || a.group - b.group), back.placed);
      for (const p of back.placed) p.intervention.dispose();
    }

    // The key layout pyvene derives: group-major, #k = position group.
    const trainedCfg = JSON.parse(readFileSync(join(tmp, 'loreft-trained', 'config.json'), 'utf8'));
    expect(trainedCfg.sorted_keys).toEqual([
      'layer_0_comp_block_output_unit_pos_nunit_1#0',
      'layer_1_comp_block_output_unit_pos_nunit_1#0',
      'layer_0_comp_block_output_unit_pos_nunit_1#1',
      'layer_1_comp_block_output_unit_pos_nunit_1#1',
    ]);
    expect(trainedCfg.representations[0]).toEqual([0, 'block_output', 'pos', 1, 2, null, null, null, null, null, null, null, null, null]);
    expect(trainedCfg.intervention_types[0]).toBe("<class 'pyreft.interventions.LoreftIntervention'>");
    expect(trainedCfg.intervention_dimensions).toEqual([32, 32, 32, 32]);
    expect(trainedCfg.intervention_constant_sources).toEqual([true, true, true, true]);
    expect(trainedCfg.mode).toBe('parallel');
    expect(typeof trainedCfg.transformers_version).toBe('string');
    expect(Object.keys(trainedCfg)).toEqual([...Object.keys(trainedCfg)].sort());
    const headCfg = JSON.parse(readFileSync(join(tmp, 'loreft-head', 'config.json'), 'utf8'));
    expect(headCfg.sorted_keys).toEqual(['layer_1_comp_head_attention_value_output_unit_h_pos_nunit_1#0']);
    expect(headCfg.intervention_dimensions).toEqual([8]);
    expect(headCfg.subspace.head).toBe(2);
  });

  it.skipIf(!HAVE_TORCH)('torch.load reads every file; keys, values and outputs match pyreft\'s modules (PyTorch)', () => {
    expect(cases.length).toBeGreaterThan(0);
    const jobs = cases.map((c) => ({ name: c.name, dir: c.dir, side: writeSide(c) }));
    const jobFile = join(tmp, 'jobs.json');
    writeFileSync(jobFile, JSON.stringify(jobs));
    const res = runPython(CHECK_PY, [jobFile, REF_DIR]);
    for (const c of cases) {
      const r = res[c.name];
      expect(r.keys, c.name).toEqual(r.sorted_keys);
      expect(r.mode).toBe('parallel');
      expect(r.n_fields.every((n: number) => n === 14)).toBe(true);
      expect(r.dims.every((d: number) => d === c.placed[0].intervention.width)).toBe(true);
      expect(r.const.every((x: boolean) => x === true)).toBe(true);
      expect(Object.keys(r.per_key)).toHaveLength(c.placed.length);
      for (const [key, info] of Object.entries(r.per_key) as [string, any][]) {
        const where = `${c.name} ${key}`;
        // The file's keys are exactly what pyreft's state_dict() has, in its order.
        expect(info.file_keys, where).toEqual(info.expected_keys);
        for (const [name, diff] of Object.entries(info.diffs)) {
          expect(diff, `${where} ${name}`).not.toBeNull();
          // Stored tensors are bit-identical; R evaluated through torch's parametrization is exact too.
          expect(diff as number, `${where} ${name}`).toBeLessThanOrEqual(name === 'rotate_layer' ? 1e-6 : 0);
        }
        expect(info.out_diff, where).toBeLessThan(1e-5);
        expect(info.ref_diff, where).toBeLessThan(1e-5);
        expect(info.edit_size, where).toBeGreaterThan(1e-2); // the interventions do something
        if (c.cfg.type.toLowerCase() === 'loreft') {
          expect(info.file_keys).toEqual(['weight', 'bias', 'rotate_layer']);
        } else {
          expect(info.embed_dim).toEqual([c.placed[0].intervention.width, c.placed[0].intervention.width]);
          expect(info.dtypes.embed_dim).toBe('torch.int64');
        }
        if ('original_is_neg_eye' in info) {
          expect(info.original_is_neg_eye).toBe(true);
          expect(info.base_orth).toBeLessThan(1e-5);
        }
      }
    }
  });

  it.skipIf(!HAVE_TORCH)('evaluates torch\'s orthogonal parametrization for any stored original (Householder and matrix exponential)', () => {
    const script = String.raw`
import json, sys, os, torch
torch.manual_seed(3)
class L(torch.nn.Module):
    def __init__(self, n, m):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(n, m)); torch.nn.init.orthogonal_(self.weight)
out = {}
for name, d, r in [('tall', 6, 2), ('tall3', 9, 4), ('square', 5, 5)]:
    m = torch.nn.Module()
    m.register_buffer('embed_dim', torch.tensor(d)); m.register_buffer('interchange_dim', torch.tensor(d))
    m.rotate_layer = torch.nn.utils.parametrizations.orthogonal(L(d, r))
    m.learned_source = torch.nn.Linear(d, r)
    with torch.no_grad():
        o = m.rotate_layer.parametrizations.weight.original
        o.copy_(torch.randn(d, r) * 0.7)
        signs = torch.tensor([1.5 if i % 2 else -1.3 for i in range(r)])
        o.diagonal().copy_(signs)  # |diag| >= 1 so that int() keeps a sign
    torch.save(m.state_dict(), os.path.join(sys.argv[1], name + '.bin'))
    out[name] = {'d': d, 'r': r, 'weight': m.rotate_layer.weight.detach().flatten().tolist(),
                 'map': str(m.rotate_layer.parametrizations.weight[0].orthogonal_map)}
print(json.dumps(out))
`;
    const res = runPython(script, [tmp]);
    for (const [name, e] of Object.entries(res) as [string, { d: number; r: number; weight: number[]; map: string }][]) {
      const sd = readTorchStateDict(join(tmp, `${name}.bin`));
      const state = fromPyreftStateDict('DiReFT', sd, e.d, name);
      expect(state.rotate_layer.shape).toEqual([e.d, e.r]);
      expect(maxAbsDiff(state.rotate_layer.data, e.weight), `${name} (${e.map})`).toBeLessThan(2e-6);
      expect(orthonormalityError(state.rotate_layer.data, e.d, e.r)).toBeLessThan(1e-5);
    }
    // Pure: our completion and our exported (−I, base) pair evaluate back to R exactly.
    const d = 10;
    const r = 3;
    const R = Float32Array.from(orthonormalize(gaussian(d * r, 5), d, r));
    const base = orthogonalCompletion(R, d, r);
    expect(orthonormalityError(base, d, d)).toBeLessThan(1e-6);
    const negId = new Float32Array(d * r);
    for (let i = 0; i < r; i++) negId[i * r + i] = -1;
    expect(maxAbsDiff(evaluateOrthogonalParametrization(negId, base, d, r), R)).toBe(0);
  });

  it.skipIf(!HAVE_TORCH)('imports a folder written by PyTorch in pyvene\'s older 13-field layout, with notes for what pyvene leaves out', () => {
    const dir = join(tmp, 'from-torch');
    const script = String.raw`
import json, os, sys, collections, torch
torch.manual_seed(11)
d, r, dir = 32, 2, sys.argv[1]
os.makedirs(dir, exist_ok=True)
reps, keys, outs = [], [], {}
for layer in (0, 1):
    key = f'layer_{layer}_comp_block_output_unit_pos_nunit_1#0'
    R = torch.linalg.qr(torch.randn(d, r))[0]
    W, b = torch.randn(r, d) * 0.2, torch.randn(r) * 0.2
    torch.save(collections.OrderedDict([('weight', W), ('bias', b), ('rotate_layer', R)]), os.path.join(dir, f'intkey_{key}.bin'))
    x = torch.randn(3, d)
    outs[key] = {'x': x.flatten().tolist(), 'y': (x + (x @ W.T + b - x @ R) @ R.T).flatten().tolist()}
    reps.append([layer, 'block_output', 'pos', 1, r, None, None, None, None, None, None, None, None])
    keys.append(key)
cfg = {'representations': reps, 'intervention_types': ["<class 'pyreft.interventions.LoreftIntervention'>"] * 2,
       'intervention_dimensions': [d, d], 'intervention_constant_sources': [True, True], 'sorted_keys': keys,
       'mode': 'parallel', 'transformers_version': '4.40.0'}
json.dump(cfg, open(os.path.join(dir, 'config.json'), 'w'), indent=2, sort_keys=True)
print(json.dumps(outs))
`;
    const outs = runPython(script, [dir]) as Record<string, { x: number[]; y: number[] }>;
    const back = importPyreft(dir, gpt2.spec);
    expect(back.config.type).toBe('LoReFT');
    expect(back.config.layers).toEqual([0, 1]);
    expect(back.notes.join(' ')).toMatch(/does not record the intervened positions; assuming 'l1'/);
    expect(back.notes.join(' ')).toMatch(/does not record an activation/);
    back.placed.forEach((p, i) => {
      const o = outs[back.keys[i]];
      expect(maxAbsDiff(applyOurs(p.intervention, Float32Array.from(o.x), 3), o.y)).toBeLessThan(1e-5);
      p.intervention.dispose();
    });
    // Made for a 32-wide residual: the llama fixture is 32 wide too but has 3 layers; shrink one to prove the checks.
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.representations[1][0] = 5;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    expect(() => importPyreft(dir, gpt2.spec)).toThrow(/intervention 1 sits at layer 5, but this model has layers 0\.\.1/);
  });

  it('refuses what pyvene or this model cannot hold, naming why', () => {
    const spec = gpt2.spec;
    const relu = placedOf(spec, 'LoReFT', 2, [0], { activation: 'relu', seed: 600 });
    expect(() => exportPyreft(join(tmp, 'relu'), relu, cfgFor({ type: 'LoReFT', rank: 2, layers: [0], activation: 'relu' }), spec, 'gpt2-tied')).toThrow(
      /cannot record the activation 'relu'.*allowActivation/,
    );
    const gated = createReftInterventions(llama.spec, cfgFor({ type: 'LoReFT', rank: 2, layers: [0], component: 'mlp_hidden' }));
    expect(() => exportPyreft(join(tmp, 'gated'), gated, cfgFor({ type: 'LoReFT', rank: 2, layers: [0], component: 'mlp_hidden' }), llama.spec, 'llama-gqa')).toThrow(/gated MLP/);
    const wrongRank = placedOf(spec, 'LoReFT', 2, [0], { seed: 601 });
    expect(() => exportPyreft(join(tmp, 'rank'), wrongRank, cfgFor({ type: 'LoReFT', rank: 3, layers: [0] }), spec, 'gpt2-tied')).toThrow(/has rank 2, the config says 3/);

    // A gpt2 export read against a model of another width.
    const ok = placedOf(spec, 'LoReFT', 2, [1], { seed: 602 });
    const dir = join(tmp, 'for-gpt2');
    exportPyreft(dir, ok, cfgFor({ type: 'LoReFT', rank: 2, layers: [1] }), spec, 'gpt2-tied');
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, intervention_dimensions: [64] }));
    expect(() => importPyreft(dir, spec)).toThrow(/intervention 0 is 64 wide, but block_output is 32 wide in this model/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, intervention_types: ["<class 'pyvene.models.interventions.LowRankRotatedSpaceIntervention'>"] }));
    expect(() => importPyreft(dir, spec)).toThrow(/is a pyvene\.models\.interventions\.LowRankRotatedSpaceIntervention; Subspace reads pyreft's/);
    const headCfg = { ...cfg, representations: [[1, 'head_attention_value_output', 'h.pos', 1, 2, null, null, null, null, null, null, null, null, null]] };
    delete (headCfg as Record<string, unknown>).subspace;
    writeFileSync(cfgPath, JSON.stringify(headCfg));
    expect(() => importPyreft(dir, spec)).toThrow(/takes its head from unit_locations at call time, and this folder does not say which head/);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    rmSync(join(dir, `intkey_${cfg.sorted_keys[0]}.bin`));
    expect(() => importPyreft(dir, spec)).toThrow(/missing \(config\.json lists intervention 'layer_1_comp_block_output_unit_pos_nunit_1#0'\)/);
    for (const p of [...relu, ...gated, ...wrongRank, ...ok]) p.intervention.dispose();
  });
});
