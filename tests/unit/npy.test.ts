import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, exportLofitHeads, importLofitHeads, parseNpy, readNpy, writeNpy } from '../../src-main/engine/export/npy.js';
import { csvField, headScoreTable, layerPositionTable, matrixToCsv, tableToJson, writeTable } from '../../src-main/engine/export/tables.js';

function haveNumpy(): boolean {
  return spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8', timeout: 60_000 }).status === 0;
}
const HAVE_NUMPY = haveNumpy();
if (!HAVE_NUMPY) console.warn('npy: skipping the NumPy cross-checks: python3 with numpy is not available');

const tmp = mkdtempSync(join(tmpdir(), 'subspace-npy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function py(script: string, ...args: string[]): string {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python3 failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

describe('.npy (pure)', () => {
  it('round-trips int64 and float32 arrays, 64-byte aligned data', () => {
    const a = { shape: [3, 2], data: BigInt64Array.from([5n, 1n, 0n, 7n, -2n, 9007199254740993n]) };
    const bytes = encodeNpy(a);
    expect(Buffer.from(bytes.subarray(0, 6)).toString('latin1')).toBe('\x93NUMPY');
    expect((10 + (bytes[8] | (bytes[9] << 8))) % 64).toBe(0);
    const back = parseNpy(bytes, 'a.npy');
    expect(back.dtype).toBe('int64');
    expect(back.shape).toEqual([3, 2]);
    expect(Array.from(back.data as BigInt64Array)).toEqual(Array.from(a.data));
    for (const shape of [[], [4], [2, 2, 1]]) {
      const n = shape.reduce((x, y) => x * y, 1);
      const f = { shape, data: Float32Array.from({ length: n }, (_, i) => i / 3 - 0.5) };
      const b = parseNpy(encodeNpy(f), 'f.npy');
      expect(b.dtype).toBe('float32');
      expect(b.shape).toEqual(shape);
      expect(Array.from(b.data as Float32Array)).toEqual(Array.from(f.data));
    }
  });

  it('writes LoFIT head lists as int64 [k, 2] in the given order and reads them back', () => {
    const path = join(tmp, 'heads.npy');
    const heads: [number, number][] = [[3, 1], [0, 2], [11, 7]];
    exportLofitHeads(path, heads, { nLayers: 12, nHeads: 8 });
    expect(importLofitHeads(path)).toEqual(heads);
    const arr = readNpy(path);
    expect(arr.dtype).toBe('int64');
    expect(arr.shape).toEqual([3, 2]);
    exportLofitHeads(join(tmp, 'none.npy'), []);
    expect(readNpy(join(tmp, 'none.npy')).shape).toEqual([0, 2]);
  });

  it('refuses bad head lists and damaged files', () => {
    expect(() => exportLofitHeads(join(tmp, 'x.npy'), [[0, 8]], { nLayers: 2, nHeads: 8 })).toThrow(/head 0 \(0, 8\) is out of range: .*heads 0\.\.7/);
    expect(() => exportLofitHeads(join(tmp, 'x.npy'), [[0, 1], [0, 1]])).toThrow(/listed twice/);
    expect(() => exportLofitHeads(join(tmp, 'x.npy'), [[0.5, 1]])).toThrow(/non-negative integers/);
    expect(() => parseNpy(Buffer.from('not numpy at all'), 'bad.npy')).toThrow(/bad\.npy: not a \.npy file/);
    const good = encodeNpy({ shape: [4], data: new Float32Array(4) });
    expect(() => parseNpy(good.subarray(0, good.length - 3), 'cut.npy')).toThrow(/cut\.npy: holds 13 data bytes, shape \[4\] needs 16/);
    const complex = Buffer.from(good);
    complex.write("'<c8'", complex.indexOf("'<f4'"), 'latin1');
    expect(() => parseNpy(complex, 'c.npy')).toThrow(/dtype '<c8' is not supported/);
    expect(() => writeNpy(join(tmp, 'x.npy'), { shape: [2], data: [1, 2] as unknown as Float32Array })).toThrow(/BigInt64Array/);
  });
});

describe.skipIf(!HAVE_NUMPY)('.npy against NumPy (python3)', () => {
  it('np.load reads our head list: dtype int64, shape, values, order; and our bytes equal np.save\'s', () => {
    const path = join(tmp, 'lofit.npy');
    const heads: [number, number][] = [[5, 3], [1, 0], [5, 1], [0, 31]];
    exportLofitHeads(path, heads);
    const out = py(
      `
import json, sys, numpy as np
a = np.load(sys.argv[1])
np.save(sys.argv[1] + '.np.npy', a)
print(json.dumps({'dtype': str(a.dtype), 'shape': list(a.shape), 'values': a.tolist(), 'c': bool(a.flags['C_CONTIGUOUS'])}))
`,
      path,
    );
    const r = JSON.parse(out);
    expect(r.dtype).toBe('int64');
    expect(r.shape).toEqual([4, 2]);
    expect(r.values).toEqual(heads);
    expect(r.c).toBe(true);
    expect(Buffer.compare(readFileSync(path), readFileSync(`${path}.np.npy`))).toBe(0);
  });

  it('reads what NumPy writes: int64, float32, float64, int32, big-endian, Fortran order, 0-d, format 2.0', () => {
    const out = py(
      `
import json, sys, os, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
arrays = {
  'i8': np.array([[1, -2], [3, 2**40]], dtype=np.int64),
  'f4': rng.standard_normal((2, 3, 4)).astype(np.float32),
  'f8': rng.standard_normal(5),
  'i4': np.arange(-3, 3, dtype=np.int32),
  'be': np.array([[1.5, -2.25], [3.0, 4.0]], dtype='>f4'),
  'be8': np.array([7, -8], dtype='>i8'),
  'fortran': np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)),
  'scalar': np.array(2.5, dtype=np.float32),
}
for k, a in arrays.items(): np.save(os.path.join(d, k + '.npy'), a)
with open(os.path.join(d, 'v2.npy'), 'wb') as f:
    np.lib.format.write_array(f, arrays['i8'], version=(2, 0))
arrays['v2'] = arrays['i8']
print(json.dumps({k: {'shape': list(a.shape), 'values': np.ascontiguousarray(a).astype(np.float64).flatten().tolist()} for k, a in arrays.items()}))
`,
      tmp,
    );
    const expected = JSON.parse(out) as Record<string, { shape: number[]; values: number[] }>;
    const dtypes: Record<string, string> = { i8: 'int64', f4: 'float32', f8: 'float64', i4: 'int32', be: 'float32', be8: 'int64', fortran: 'float32', scalar: 'float32', v2: 'int64' };
    for (const [k, e] of Object.entries(expected)) {
      const a = readNpy(join(tmp, `${k}.npy`));
      expect(a.dtype, k).toBe(dtypes[k]);
      expect(a.shape, k).toEqual(e.shape);
      const got = Array.from(a.data as ArrayLike<number | bigint>, (v) => Number(v));
      const want = k === 'f8' ? e.values.map((v) => Math.fround(v)) : e.values;
      expect(got, k).toEqual(want);
    }
  });
});

describe('tables (CSV and JSON)', () => {
  it('quotes CSV fields with commas, quotes, line breaks and edge spaces, and nothing else', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(' lead')).toBe('" lead"');
    expect(csvField('trail ')).toBe('"trail "');
    expect(csvField('')).toBe('');
    expect(csvField('ünï')).toBe('ünï');
    expect(csvField(0.1)).toBe('0.1');
    expect(csvField(-3e-8)).toBe('-3e-8');
    expect(csvField(NaN)).toBe('nan');
    expect(csvField(Infinity)).toBe('inf');
    expect(csvField(-Infinity)).toBe('-inf');
  });

  it('writes head scores as rows = layer, columns h0..h{H-1}, header layer,h0,h1,…', () => {
    const t = headScoreTable([Float32Array.from([0.5, 0.25]), [1, -2]]);
    expect(matrixToCsv(t.matrix, t.rowLabels, t.colLabels, { corner: t.corner })).toBe('layer,h0,h1\n0,0.5,0.25\n1,1,-2\n');
    const json = JSON.parse(tableToJson({ ...t, matrix: [[0.5, NaN], [1, Infinity]] }));
    expect(json).toEqual({ kind: 'head_scores', corner: 'layer', rows: ['0', '1'], columns: ['h0', 'h1'], values: [[0.5, null], [1, null]] });
  });

  it('labels patching columns with position and token, quoting tokens that need it, and reads back with Python\'s csv module', () => {
    const tokens = ['The', ' cat', ',', '"quoted"', 'new\nline'];
    const t = layerPositionTable([[1, 2, 3, 4, 5], [0.5, 0, -1, 2, 3]], tokens, { kind: 'patching', meta: { metric: 'logit_diff' } });
    const path = join(tmp, 'patch.csv');
    writeTable(path, { ...t, format: 'csv' });
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')[0]).toBe('layer,0:The,1: cat,"2:,","3:""quoted""","4:new');
    writeTable(join(tmp, 'patch.json'), { ...t, format: 'json' });
    const j = JSON.parse(readFileSync(join(tmp, 'patch.json'), 'utf8'));
    expect(j.columns).toEqual(tokens.map((tok, i) => `${i}:${tok}`));
    expect(j.meta).toEqual({ metric: 'logit_diff' });
    if (HAVE_NUMPY) {
      const rows = JSON.parse(py(`import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='')))))`, path));
      expect(rows[0]).toEqual(['layer', ...tokens.map((tok, i) => `${i}:${tok}`)]);
      expect(rows[2]).toEqual(['1', '0.5', '0', '-1', '2', '3']);
    }
  });

  it('refuses ragged tables and unknown formats', () => {
    expect(() => matrixToCsv([[1, 2], [3]], ['a', 'b'], ['x', 'y'])).toThrow(/row 1 \(b\) has 1 values for 2 column labels/);
    expect(() => matrixToCsv([[1]], ['a', 'b'], ['x'])).toThrow(/2 row labels for 1 rows/);
    expect(() => writeTable(join(tmp, 't.x'), { matrix: [[1]], rowLabels: ['a'], colLabels: ['b'], format: 'xml' as 'csv' })).toThrow(/csv or json/);
  });
});
