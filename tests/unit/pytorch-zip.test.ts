import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  crc32,
  encodeStoredZip,
  encodeTorchStateDict,
  parseTorchStateDict,
  readStoredZip,
  readTorchStateDict,
  torchArchiveName,
  writeTorchStateDict,
} from '../../src-main/engine/export/pytorch-zip.js';

/** Debian's PyTorch lives under /usr/bin/python3 (the python3 on PATH may lack it). */
const TORCH_PY = '/usr/bin/python3';
function haveTorch(): boolean {
  const r = spawnSync(TORCH_PY, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0;
}
const HAVE_TORCH = haveTorch();
if (!HAVE_TORCH) console.warn(`pytorch-zip: skipping the PyTorch cross-checks: ${TORCH_PY} cannot import torch`);

const tmp = mkdtempSync(join(tmpdir(), 'subspace-ptzip-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function py(script: string, ...args: string[]): string {
  const r = spawnSync(TORCH_PY, ['-c', script, ...args], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function seq(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

const SAMPLE = {
  'learned_source.weight': { shape: [3, 5], data: seq(15, (i) => Math.sin(i) * 0.37) },
  bias: { shape: [3], data: seq(3, (i) => -i - 0.125) },
  embed_dim: { shape: [], data: BigInt64Array.from([5n]) },
  'four.dims': { shape: [2, 1, 3, 2], data: seq(12, (i) => i / 7) },
  empty: { shape: [0, 4], data: new Float32Array(0) },
  'ünïcode key': { shape: [1], data: Float32Array.from([Math.PI]) },
};

describe('PyTorch zip checkpoints (pure)', () => {
  it('round-trips float32 and int64 tensors in order, any rank, empty included', () => {
    const bytes = encodeTorchStateDict(SAMPLE, 'x');
    const back = parseTorchStateDict(bytes, 'mem');
    expect([...back.keys()]).toEqual(Object.keys(SAMPLE));
    for (const [k, t] of Object.entries(SAMPLE)) {
      const b = back.get(k)!;
      expect(b.shape).toEqual(t.shape);
      expect(b.dtype).toBe(t.data instanceof BigInt64Array ? 'int64' : 'float32');
      expect(Array.from(b.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    }
  });

  it('lays records out as torch does: <archive>/data.pkl, data/<i>, version "3\\n", data 64-byte aligned, valid CRCs', () => {
    const bytes = encodeTorchStateDict(SAMPLE, 'intkey_layer_1_comp_block_output_unit_pos_nunit_1#0');
    const recs = readStoredZip(bytes, 'mem');
    const prefix = 'intkey_layer_1_comp_block_output_unit_pos_nunit_1#0/';
    expect([...recs.keys()]).toEqual([`${prefix}data.pkl`, ...Object.keys(SAMPLE).map((_, i) => `${prefix}data/${i}`), `${prefix}version`]);
    for (const data of recs.values()) expect((data.byteOffset - bytes.byteOffset) % 64).toBe(0);
    expect(Buffer.from(recs.get(`${prefix}version`)!).toString()).toBe('3\n');
    expect(torchArchiveName('/a/b/intkey_layer_1_comp_x#0.bin')).toBe('intkey_layer_1_comp_x#0');
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('refuses damaged, compressed, legacy and non-tensor files with the file and entry named', () => {
    const good = encodeTorchStateDict(SAMPLE, 'x');
    expect(() => parseTorchStateDict(good.subarray(0, good.length - 30), 'cut.bin')).toThrow(/cut\.bin: .*(end-of-central-directory|central directory)/);
    const flipped = Uint8Array.from(good);
    const at = readStoredZip(good, 'g').get('x/data/0')!.byteOffset - good.byteOffset;
    flipped[at] ^= 0xff;
    expect(() => parseTorchStateDict(flipped, 'flip.bin')).toThrow(/flip\.bin: entry 'x\/data\/0' fails its CRC check/);
    expect(() => parseTorchStateDict(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'old.bin')).toThrow(/legacy \(pre-1\.6/);
    expect(() => parseTorchStateDict(Buffer.from('hello world, this is not a zip file'), 'txt.bin')).toThrow(/not a zip archive/);
    // A pickle whose value is not a tensor.
    const pkl = Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 1, 0, 0, 0, 0x61, 0x4b, 0x07, 0x73, 0x2e]); // {'a': 7}
    const zip = encodeStoredZip([{ name: 'a/data.pkl', data: pkl }]);
    expect(() => parseTorchStateDict(zip, 'int.bin')).toThrow(/int\.bin: entry 'a' is not a tensor/);
    // A missing storage record.
    const noData = encodeStoredZip([...readStoredZip(good, 'g')].filter(([n]) => n !== 'x/data/1').map(([name, data]) => ({ name, data })));
    expect(() => parseTorchStateDict(noData, 'nodata.bin')).toThrow(/tensor 'bias' needs storage record 'x\/data\/1', which is missing/);
    expect(() => readTorchStateDict(join(tmp, 'nope.bin'))).toThrow(/cannot be read/);
    expect(() => encodeTorchStateDict({ bad: { shape: [2], data: new Float32Array(3) } })).toThrow(/'bad' has 3 values for shape \[2\]/);
  });

  it('reads _rebuild_tensor_v3 with an untyped storage and an explicit dtype (newer PyTorch)', () => {
    // {'w': _rebuild_tensor_v3(UntypedStorage '0' of 16 bytes, 1, (3,), (1,), False, OrderedDict(), torch.float32)}
    const b: number[] = [0x80, 0x02, 0x7d, 0x58, 1, 0, 0, 0, 0x77];
    const glob = (m: string, n: string) => b.push(0x63, ...Buffer.from(`${m}\n${n}\n`));
    const str = (s: string) => b.push(0x58, s.length, 0, 0, 0, ...Buffer.from(s));
    glob('torch._utils', '_rebuild_tensor_v3');
    b.push(0x28, 0x28);
    str('storage');
    glob('torch', 'UntypedStorage');
    str('0');
    str('cpu');
    b.push(0x4b, 16, 0x74, 0x51); // numel (bytes), TUPLE, BINPERSID
    b.push(0x4b, 1, 0x4b, 3, 0x85, 0x4b, 1, 0x85, 0x89); // offset 1, (3,), (1,), False
    glob('collections', 'OrderedDict');
    b.push(0x29, 0x52);
    glob('torch', 'float32');
    b.push(0x74, 0x52, 0x73, 0x2e); // TUPLE, REDUCE, SETITEM, STOP
    const data = new Uint8Array(Float32Array.from([9, 1.5, -2, 4]).buffer);
    const zip = encodeStoredZip([
      { name: 'archive/data.pkl', data: Uint8Array.from(b) },
      { name: 'archive/byteorder', data: Buffer.from('little') },
      { name: 'archive/data/0', data },
      { name: 'archive/.data/version', data: Buffer.from('3\n') },
    ]);
    const t = parseTorchStateDict(zip, 'v3.bin').get('w')!;
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([3]);
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2, 4]);
  });
});

describe.skipIf(!HAVE_TORCH)('PyTorch zip checkpoints against torch (/usr/bin/python3)', () => {
  it('torch.load reads what we write, and our data.pkl is byte-identical to torch.save\'s for the same dict', () => {
    const path = join(tmp, 'ours.bin');
    writeTorchStateDict(path, SAMPLE);
    const out = py(
      `
import json, sys, zipfile, collections, torch
sd = torch.load(sys.argv[1])
res = {k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'values': v.flatten().tolist()} for k, v in sd.items()}
# torch.save of the same tensors, for a byte comparison of the pickles
again = collections.OrderedDict((k, v.clone()) for k, v in sd.items())
torch.save(again, sys.argv[1] + '.torch')
ours = zipfile.ZipFile(sys.argv[1]); theirs = zipfile.ZipFile(sys.argv[1] + '.torch')
stem = lambda z: z.namelist()[0].split('/')[0]
res['__same_pickle__'] = ours.read(stem(ours) + '/data.pkl') == theirs.read(stem(theirs) + '/data.pkl')
res['__names__'] = [n.split('/', 1)[1] for n in ours.namelist()]
res['__torch_names__'] = [n.split('/', 1)[1] for n in theirs.namelist()]
res['__type__'] = type(sd).__name__
print(json.dumps(res))
`,
      path,
    );
    const res = JSON.parse(out) as Record<string, any>;
    expect(res.__type__).toBe('OrderedDict');
    expect(res.__same_pickle__).toBe(true);
    expect(res.__names__).toEqual(res.__torch_names__);
    for (const [k, t] of Object.entries(SAMPLE)) {
      expect(res[k].shape).toEqual(t.shape);
      expect(res[k].dtype).toBe(t.data instanceof BigInt64Array ? 'torch.int64' : 'torch.float32');
      expect(res[k].values).toEqual(Array.from(t.data as ArrayLike<unknown>, (v) => Number(v)));
    }
  });

  it('reads what torch.save writes: shared storages, offsets, strides, parameters, _metadata, f16/bf16/f64/int32', () => {
    const path = join(tmp, 'theirs.bin');
    const out = py(
      `
import json, sys, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.LayerNorm(3))
sd = m.state_dict()                     # OrderedDict with _metadata (pickled with BUILD)
x = torch.randn(4, 6)
sd['x'] = x
sd['x_t'] = x.t()                       # same storage, strides (1, 6)
sd['x_rows'] = x[1:3]                   # same storage, offset 6
sd['x_cols'] = x[:, ::2]                # strides (6, 2)
sd['half'] = torch.randn(7).half()
sd['bf16'] = torch.randn(2, 3).bfloat16()
sd['f64'] = torch.randn(3).double()
sd['i32'] = torch.arange(-3, 3, dtype=torch.int32)
sd['i64'] = torch.tensor(123456789012)
sd['param'] = torch.nn.Parameter(torch.randn(2))
torch.save(sd, sys.argv[1])
print(json.dumps({k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'values': v.detach().float().flatten().tolist() if v.is_floating_point() else v.flatten().tolist()} for k, v in sd.items()}))
`,
      path,
    );
    const expected = JSON.parse(out) as Record<string, { dtype: string; shape: number[]; values: number[] }>;
    const back = readTorchStateDict(path);
    expect([...back.keys()]).toEqual(Object.keys(expected));
    for (const [k, e] of Object.entries(expected)) {
      const t = back.get(k)!;
      expect(t.shape, k).toEqual(e.shape);
      expect(`torch.${t.dtype}`, k).toBe(e.dtype);
      const got = Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
      expect(got, k).toEqual(e.values);
    }
  });

  it('refuses a dtype it does not read, naming the storage type', () => {
    const path = join(tmp, 'bool.bin');
    py(`import sys, torch; torch.save({'mask': torch.tensor([True, False])}, sys.argv[1])`, path);
    expect(() => readTorchStateDict(path)).toThrow(/storage '0' is a torch\.BoolStorage, which this reader does not support/);
  });

  it('refuses compressed archives', () => {
    const path = join(tmp, 'deflated.bin');
    py(
      `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('a/data.pkl', b'x' * 100)
`,
      path,
    );
    expect(() => readTorchStateDict(path)).toThrow(/entry 'a\/data\.pkl' is compressed/);
  });

  it('a file written then re-read with a torch.save in between keeps every value (bit-exact)', () => {
    const path = join(tmp, 'cycle.bin');
    writeFileSync(path, encodeTorchStateDict(SAMPLE, 'cycle'));
    py(`import sys, torch; sd = torch.load(sys.argv[1]); torch.save(sd, sys.argv[1])`, path);
    const back = readTorchStateDict(path);
    for (const [k, t] of Object.entries(SAMPLE)) expect(Array.from(back.get(k)!.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    expect(readFileSync(path).length).toBeGreaterThan(0);
  });
});
