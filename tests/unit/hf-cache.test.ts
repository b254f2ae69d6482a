import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hfCacheRoot,
  hubCacheFolderName,
  isHubModelName,
  listCachedModels,
  resolveHubModel,
  resolveModelRef,
} from '../../src-main/engine/io/hf-cache.js';
import { SubspaceError } from '../../src-main/engine/errors.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'subspace-hf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function freshDir(label: string): string {
  const d = path.join(tmp, `${label}-${counter++}`);
  mkdirSync(d, { recursive: true });
  return d;
}

const HASH_A = 'a'.repeat(40);
const HASH_B = 'b'.repeat(40);
const HASH_C = 'c'.repeat(40);

/**
 * Write a snapshot the way huggingface_hub does: bytes in blobs/, relative
 * symlinks in snapshots/{rev}/. `files` maps file name → content (null → a
 * dangling link, as after an interrupted download).
 */
function addSnapshot(root: string, name: string, rev: string, files: Record<string, string | null>, mtime?: Date): string {
  const repo = path.join(root, hubCacheFolderName(name));
  const snap = path.join(repo, 'snapshots', rev);
  mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  mkdirSync(snap, { recursive: true });
  let i = 0;
  for (const [file, content] of Object.entries(files)) {
    const blob = `${rev.slice(0, 8)}${(i++).toString(16).padStart(8, '0')}`;
    if (content !== null) writeFileSync(path.join(repo, 'blobs', blob), content);
    symlinkSync(path.join('..', '..', 'blobs', blob), path.join(snap, file));
  }
  if (mtime) utimesSync(snap, mtime, mtime);
  return snap;
}

function setRef(root: string, name: string, ref: string, rev: string): void {
  const file = path.join(root, hubCacheFolderName(name), 'refs', ref);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, rev);
}

function catchErr(fn: () => unknown): SubspaceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SubspaceError);
    return e as SubspaceError;
  }
  throw new Error('expected an error');
}

describe('hfCacheRoot', () => {
  it('follows HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub', () => {
    expect(hfCacheRoot({ HF_HUB_CACHE: '/x/hub', HF_HOME: '/y', HOME: '/home/u' })).toEqual({ root: '/x/hub', from: 'HF_HUB_CACHE' });
    expect(hfCacheRoot({ HF_HOME: '/y', HOME: '/home/u' })).toEqual({ root: '/y/hub', from: 'HF_HOME' });
    expect(hfCacheRoot({ HOME: '/home/u' })).toEqual({ root: '/home/u/.cache/huggingface/hub', from: 'default' });
    expect(hfCacheRoot({ HF_HOME: '~/hf', HOME: '/home/u' }).root).toBe('/home/u/hf/hub');
    expect(hfCacheRoot({ HF_HUB_CACHE: '', HF_HOME: '/y', HOME: '/home/u' }).root).toBe('/y/hub');
  });
});

describe('hub names', () => {
  it('maps names to cache folders', () => {
    expect(hubCacheFolderName('gpt2')).toBe('models--gpt2');
    expect(hubCacheFolderName('Qwen/Qwen2.5-0.5B')).toBe('models--Qwen--Qwen2.5-0.5B');
    expect(isHubModelName('Qwen/Qwen2.5-0.5B')).toBe(true);
    expect(isHubModelName('gpt2')).toBe(true);
    expect(isHubModelName('a/b/c')).toBe(false);
    expect(isHubModelName('../etc')).toBe(false);
    expect(isHubModelName('')).toBe(false);
  });
});

describe('resolveHubModel', () => {
  it('uses refs/main, through symlinks into blobs', () => {
    const hub = freshDir('hub');
    addSnapshot(hub, 'Qwen/Qwen2.5-0.5B', HASH_A, { 'config.json': '{"a":1}', 'model.safetensors': 'x' }, new Date(2020, 0, 1));
    addSnapshot(hub, 'Qwen/Qwen2.5-0.5B', HASH_B, { 'config.json': '{"b":1}' }, new Date(2024, 0, 1));
    setRef(hub, 'Qwen/Qwen2.5-0.5B', 'main', `${HASH_A}\n`);
    const loc = resolveHubModel('Qwen/Qwen2.5-0.5B', { env: { HF_HUB_CACHE: hub } });
    expect(loc).toEqual({ folder: path.join(hub, 'models--Qwen--Qwen2.5-0.5B', 'snapshots', HASH_A), revision: HASH_A, cacheRoot: hub });
  });

  it('finds the cache under HF_HOME and a top-level name like gpt2', () => {
    const home = freshDir('hfhome');
    const hub = path.join(home, 'hub');
    addSnapshot(hub, 'gpt2', HASH_C, { 'config.json': '{}' });
    setRef(hub, 'gpt2', 'main', HASH_C);
    const loc = resolveHubModel('gpt2', { env: { HF_HOME: home } });
    expect(loc.folder).toBe(path.join(hub, 'models--gpt2', 'snapshots', HASH_C));
    expect(loc.cacheRoot).toBe(hub);
  });

  it('falls back to the newest snapshot with a config.json when refs/main is missing or incomplete', () => {
    const hub = freshDir('hub');
    addSnapshot(hub, 'org/m', HASH_A, { 'config.json': '{}' }, new Date(2021, 0, 1));
    addSnapshot(hub, 'org/m', HASH_B, { 'config.json': '{}' }, new Date(2023, 0, 1));
    // Newest of all, but its config.json is a dangling link (interrupted download).
    addSnapshot(hub, 'org/m', HASH_C, { 'config.json': null }, new Date(2025, 0, 1));
    const env = { HF_HUB_CACHE: hub };
    expect(resolveHubModel('org/m', { env }).revision).toBe(HASH_B);
    setRef(hub, 'org/m', 'main', HASH_C); // refs/main points at the incomplete one
    expect(resolveHubModel('org/m', { env }).revision).toBe(HASH_B);
  });

  it('honours an explicit revision: a ref name or a commit hash', () => {
    const hub = freshDir('hub');
    addSnapshot(hub, 'org/m', HASH_A, { 'config.json': '{}' });
    addSnapshot(hub, 'org/m', HASH_B, { 'config.json': '{}' });
    setRef(hub, 'org/m', 'main', HASH_A);
    setRef(hub, 'org/m', 'v2', HASH_B);
    setRef(hub, 'org/m', 'pr/3', HASH_B);
    const env = { HF_HUB_CACHE: hub };
    expect(resolveHubModel('org/m', { env, revision: 'v2' }).revision).toBe(HASH_B);
    expect(resolveHubModel('org/m', { env, revision: 'pr/3' }).revision).toBe(HASH_B);
    expect(resolveHubModel('org/m', { env, revision: HASH_A }).revision).toBe(HASH_A);
    const err = catchErr(() => resolveHubModel('org/m', { env, revision: 'v9' }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain("Revision 'v9'");
    expect(err.message).toContain(HASH_A);
  });

  it('matches the cache folder case-insensitively', () => {
    const hub = freshDir('hub');
    addSnapshot(hub, 'Org/Model', HASH_A, { 'config.json': '{}' });
    expect(resolveHubModel('org/model', { env: { HF_HUB_CACHE: hub } }).revision).toBe(HASH_A);
  });

  it('says what it searched when the model is missing', () => {
    const home = freshDir('home');
    const err = catchErr(() => resolveHubModel('Qwen/Qwen2.5-0.5B', { env: { HOME: home } }));
    expect(err.code).toBe('NOT_FOUND');
    const root = path.join(home, '.cache', 'huggingface', 'hub');
    expect(err.message).toBe(
      `Model 'Qwen/Qwen2.5-0.5B' is not in the Hugging Face cache at ${root} (looked for models--Qwen--Qwen2.5-0.5B). ` +
        'Download it on a machine with internet (e.g. `huggingface-cli download Qwen/Qwen2.5-0.5B`) or pass a folder path.',
    );
    const viaEnv = catchErr(() => resolveHubModel('gpt2', { env: { HF_HUB_CACHE: path.join(home, 'nowhere') } }));
    expect(viaEnv.message).toContain('$HF_HUB_CACHE');
  });

  it('reports an incomplete download', () => {
    const hub = freshDir('hub');
    addSnapshot(hub, 'org/m', HASH_A, { 'config.json': null, 'tokenizer.json': '{}' });
    const err = catchErr(() => resolveHubModel('org/m', { env: { HF_HUB_CACHE: hub } }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('no snapshot has a config.json');
  });

  it('rejects things that are not hub names', () => {
    const err = catchErr(() => resolveHubModel('a/b/c', { env: {} }));
    expect(err.code).toBe('BAD_ARGUMENT');
  });
});

describe('listCachedModels', () => {
  it('lists loadable models, skipping incomplete ones and non-model entries', () => {
    const hub = freshDir('hub');
    addSnapshot(hub, 'gpt2', HASH_A, { 'config.json': '{}' });
    setRef(hub, 'gpt2', 'main', HASH_A);
    addSnapshot(hub, 'Qwen/Qwen2.5-0.5B', HASH_B, { 'config.json': '{}' });
    addSnapshot(hub, 'org/broken', HASH_C, { 'config.json': null });
    mkdirSync(path.join(hub, 'datasets--org--data'), { recursive: true });
    writeFileSync(path.join(hub, 'version.txt'), '1');
    expect(listCachedModels({ HF_HUB_CACHE: hub })).toEqual([
      { name: 'gpt2', folder: path.join(hub, 'models--gpt2', 'snapshots', HASH_A), revision: HASH_A },
      { name: 'Qwen/Qwen2.5-0.5B', folder: path.join(hub, 'models--Qwen--Qwen2.5-0.5B', 'snapshots', HASH_B), revision: HASH_B },
    ]);
  });

  it('returns [] when there is no cache', () => {
    expect(listCachedModels({ HF_HUB_CACHE: path.join(tmp, 'none') })).toEqual([]);
  });
});

describe('resolveModelRef', () => {
  it('prefers an existing folder, then a built-in, then the hub cache', () => {
    const hub = freshDir('hub');
    const builtins = freshDir('builtin');
    mkdirSync(path.join(builtins, 'demo-gpt2'));
    addSnapshot(hub, 'gpt2', HASH_A, { 'config.json': '{}' });
    const env = { HF_HUB_CACHE: hub };

    const folder = freshDir('my-model');
    expect(resolveModelRef(folder, builtins, { env })).toEqual({ folder, source: 'path', name: path.basename(folder) });
    expect(resolveModelRef('demo-gpt2', builtins, { env })).toEqual({
      folder: path.join(builtins, 'demo-gpt2'),
      source: 'builtin',
      name: 'demo-gpt2',
    });
    expect(resolveModelRef('gpt2', builtins, { env })).toEqual({
      folder: path.join(hub, 'models--gpt2', 'snapshots', HASH_A),
      source: 'hf-cache',
      name: 'gpt2',
      revision: HASH_A,
    });
  });

  it('explains all three places when nothing matches', () => {
    const builtins = freshDir('builtin');
    mkdirSync(path.join(builtins, 'demo-gpt2'));
    const hub = path.join(tmp, 'empty-hub');
    const err = catchErr(() => resolveModelRef('org/unknown', builtins, { env: { HF_HUB_CACHE: hub } }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('is not a folder');
    expect(err.message).toContain(builtins);
    expect(err.message).toContain('models--org--unknown');
    expect(err.message).toContain('demo-gpt2');
  });

  it('gives a plain folder error for paths, and rejects files', () => {
    const builtins = freshDir('builtin');
    const missing = path.join(tmp, 'no', 'such', 'folder');
    const err = catchErr(() => resolveModelRef(missing, builtins, { env: {} }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain(missing);
    const file = path.join(freshDir('f'), 'model.safetensors');
    writeFileSync(file, 'x');
    expect(catchErr(() => resolveModelRef(file, builtins, { env: {} })).code).toBe('BAD_ARGUMENT');
    expect(catchErr(() => resolveModelRef('  ', builtins, { env: {} })).code).toBe('BAD_ARGUMENT');
  });
});
