/**
 * Finding models already downloaded into the Hugging Face hub cache, so a user
 * can say `Qwen/Qwen2.5-0.5B` instead of a folder path. Nothing here touches the
 * network: Subspace only reads what `huggingface-cli download` (or transformers)
 * already put on disk.
 *
 * Cache layout (huggingface_hub):
 *   {root}/models--{org}--{name}/refs/main            ← text file: commit hash
 *   {root}/models--{org}--{name}/snapshots/{hash}/…   ← files, usually symlinks
 *   {root}/models--{org}--{name}/blobs/{sha}          ← the actual bytes
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { SubspaceError } from '../errors.js';

export interface HubModelLocation {
  /** The snapshot folder holding config.json, weights, tokenizer files. */
  folder: string;
  /** The commit hash (snapshot folder name). */
  revision: string;
  cacheRoot: string;
}

export interface CachedModel {
  /** Hub name, e.g. "Qwen/Qwen2.5-0.5B" or "gpt2". */
  name: string;
  folder: string;
  revision: string;
}

export interface ResolvedModelRef {
  folder: string;
  source: 'path' | 'builtin' | 'hf-cache';
  /** The hub name, the built-in model's name, or the folder's base name. */
  name: string;
  /** The snapshot's commit hash, for hf-cache models. */
  revision?: string;
}

export interface HubLookupOptions {
  /** A branch/tag ref ("main") or a commit hash. Default: refs/main, else the newest complete snapshot. */
  revision?: string;
  /** Environment to read HF_HUB_CACHE / HF_HOME / HOME from. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === '~' || p.startsWith('~/')) return path.join(homeDir(env), p.slice(1));
  return p;
}

function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME || env.USERPROFILE || homedir();
}

/** The hub cache folder and the setting it came from. */
export function hfCacheRoot(env: NodeJS.ProcessEnv = process.env): { root: string; from: string } {
  const pick = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? path.resolve(expandHome(v.trim(), env)) : undefined);
  const hubCache = pick(env.HF_HUB_CACHE);
  if (hubCache) return { root: hubCache, from: 'HF_HUB_CACHE' };
  const legacy = pick(env.HUGGINGFACE_HUB_CACHE);
  if (legacy) return { root: legacy, from: 'HUGGINGFACE_HUB_CACHE' };
  const hfHome = pick(env.HF_HOME);
  if (hfHome) return { root: path.join(hfHome, 'hub'), from: 'HF_HOME' };
  const xdg = pick(env.XDG_CACHE_HOME);
  if (xdg) return { root: path.join(xdg, 'huggingface', 'hub'), from: 'XDG_CACHE_HOME' };
  return { root: path.join(homeDir(env), '.cache', 'huggingface', 'hub'), from: 'default' };
}

/** Is `name` shaped like a hub model id ("gpt2", "org/name")? */
export function isHubModelName(name: string): boolean {
  const parts = name.split('/');
  return parts.length >= 1 && parts.length <= 2 && parts.every((p) => REPO_PART.test(p) && !p.includes('--') && !p.includes('..'));
}

/** "Qwen/Qwen2.5-0.5B" → "models--Qwen--Qwen2.5-0.5B". */
export function hubCacheFolderName(name: string): string {
  return `models--${name.split('/').join('--')}`;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listDir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

/** The entry for `name` in the cache: exact folder name, else a case-insensitive match (the hub ignores case). */
function findRepoDir(root: string, name: string): string | undefined {
  const want = hubCacheFolderName(name);
  const exact = path.join(root, want);
  if (isDir(exact)) return exact;
  const lower = want.toLowerCase();
  const match = listDir(root).find((e) => e.toLowerCase() === lower);
  return match !== undefined && isDir(path.join(root, match)) ? path.join(root, match) : undefined;
}

function readRef(repoDir: string, ref: string): string | undefined {
  // Refs may contain slashes ("refs/pr/1"); keep them inside refs/.
  const refsDir = path.join(repoDir, 'refs');
  const file = path.resolve(refsDir, ref);
  if (!file.startsWith(refsDir + path.sep)) return undefined;
  try {
    const hash = readFileSync(file, 'utf8').trim();
    return hash === '' ? undefined : hash;
  } catch {
    return undefined;
  }
}

/** A snapshot is complete enough to load when its config.json resolves (a dangling symlink does not). */
function hasConfig(snapshot: string): boolean {
  return existsSync(path.join(snapshot, 'config.json'));
}

function newestCompleteSnapshot(repoDir: string): string | undefined {
  const snaps = path.join(repoDir, 'snapshots');
  let best: { rev: string; mtime: number } | undefined;
  for (const rev of listDir(snaps)) {
    const dir = path.join(snaps, rev);
    if (!isDir(dir) || !hasConfig(dir)) continue;
    const mtime = statSync(dir).mtimeMs;
    if (best === undefined || mtime > best.mtime) best = { rev, mtime };
  }
  return best?.rev;
}

function notInCacheMessage(name: string, root: string, from: string): string {
  const origin = from === 'default' ? '' : ` (from $${from})`;
  return (
    `Model '${name}' is not in the Hugging Face cache at ${root}${origin} (looked for ${hubCacheFolderName(name)}). ` +
    `Download it on a machine with internet (e.g. \`huggingface-cli download ${name}\`) or pass a folder path.`
  );
}

/**
 * Find a hub model in the local cache. With `revision`, that ref or commit must
 * be present; without, refs/main is used when its snapshot has config.json,
 * else the most recently modified snapshot that has one.
 */
export function resolveHubModel(name: string, opts: HubLookupOptions = {}): HubModelLocation {
  const env = opts.env ?? process.env;
  if (!isHubModelName(name)) {
    throw new SubspaceError(
      'BAD_ARGUMENT',
      `'${name}' is not a Hugging Face model name (expected 'name' or 'org/name', e.g. 'gpt2' or 'Qwen/Qwen2.5-0.5B').`,
      name,
    );
  }
  const { root, from } = hfCacheRoot(env);
  const repoDir = findRepoDir(root, name);
  if (repoDir === undefined) throw new SubspaceError('NOT_FOUND', notInCacheMessage(name, root, from), name);
  const snaps = path.join(repoDir, 'snapshots');
  const available = listDir(snaps).filter((r) => isDir(path.join(snaps, r)));

  if (opts.revision !== undefined) {
    const rev = opts.revision.trim();
    const hash = readRef(repoDir, rev) ?? rev;
    if (hash !== '' && !hash.includes('/') && !hash.includes('\\') && hash !== '.' && hash !== '..' && isDir(path.join(snaps, hash))) {
      return { folder: path.join(snaps, hash), revision: hash, cacheRoot: root };
    }
    throw new SubspaceError(
      'NOT_FOUND',
      `Revision '${opts.revision}' of '${name}' is not in the Hugging Face cache at ${repoDir}` +
        ` (snapshots present: ${available.length > 0 ? available.join(', ') : 'none'}). ` +
        `Download it with \`huggingface-cli download ${name} --revision ${opts.revision}\` or leave the revision out.`,
      name,
    );
  }

  const main = readRef(repoDir, 'main');
  if (main !== undefined && !main.includes('/') && isDir(path.join(snaps, main)) && hasConfig(path.join(snaps, main))) {
    return { folder: path.join(snaps, main), revision: main, cacheRoot: root };
  }
  const newest = newestCompleteSnapshot(repoDir);
  if (newest !== undefined) return { folder: path.join(snaps, newest), revision: newest, cacheRoot: root };
  throw new SubspaceError(
    'NOT_FOUND',
    `Model '${name}' is in the Hugging Face cache at ${repoDir}, but no snapshot has a config.json ` +
      `(snapshots present: ${available.length > 0 ? available.join(', ') : 'none'}); the download is probably incomplete. ` +
      `Run \`huggingface-cli download ${name}\` again on a machine with internet, or pass a folder path.`,
    name,
  );
}

/** Every model in the cache that has a loadable snapshot, sorted by name. Missing cache → []. */
export function listCachedModels(env: NodeJS.ProcessEnv = process.env): CachedModel[] {
  const { root } = hfCacheRoot(env);
  const out: CachedModel[] = [];
  for (const entry of listDir(root)) {
    if (!entry.startsWith('models--')) continue;
    const name = entry.slice('models--'.length).split('--').join('/');
    if (!isHubModelName(name)) continue;
    try {
      const loc = resolveHubModel(name, { env });
      out.push({ name, folder: loc.folder, revision: loc.revision });
    } catch {
      // Incomplete downloads are not listed.
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function looksLikePath(ref: string): boolean {
  return ref.startsWith('.') || ref.startsWith('/') || ref.startsWith('~') || ref.includes('\\') || /^[A-Za-z]:/.test(ref) || ref.split('/').length > 2;
}

/**
 * Turn what a user typed into a model folder: an existing folder path, then a
 * built-in model in `builtinDir` (e.g. "demo-gpt2"), then the hub cache.
 */
export function resolveModelRef(ref: string, builtinDir: string, opts: HubLookupOptions = {}): ResolvedModelRef {
  const env = opts.env ?? process.env;
  if (typeof ref !== 'string' || ref.trim() === '') {
    throw new SubspaceError('BAD_ARGUMENT', 'No model given: pass a folder path, a built-in model name or a Hugging Face model name.', 'model');
  }
  const trimmed = ref.trim();
  const asPath = path.resolve(expandHome(trimmed, env));
  if (existsSync(asPath)) {
    if (!isDir(asPath)) {
      throw new SubspaceError('BAD_ARGUMENT', `${asPath} is a file; pass the model's folder (the one holding config.json).`, ref);
    }
    return { folder: asPath, source: 'path', name: path.basename(asPath) };
  }
  const builtinOk = !trimmed.includes('/') && !trimmed.includes('\\') && trimmed !== '.' && trimmed !== '..';
  if (builtinOk && isDir(path.join(builtinDir, trimmed))) {
    return { folder: path.join(builtinDir, trimmed), source: 'builtin', name: trimmed };
  }
  if (looksLikePath(trimmed) || !isHubModelName(trimmed)) {
    throw new SubspaceError('NOT_FOUND', `Model folder ${asPath} does not exist.`, ref);
  }
  try {
    const loc = resolveHubModel(trimmed, opts);
    return { folder: loc.folder, source: 'hf-cache', name: trimmed, revision: loc.revision };
  } catch (e) {
    if (e instanceof SubspaceError && e.code === 'NOT_FOUND') {
      const builtins = listDir(builtinDir).filter((d) => isDir(path.join(builtinDir, d)));
      const builtinNote = builtins.length > 0 ? ` Built-in models: ${builtins.join(', ')}.` : '';
      throw new SubspaceError(
        'NOT_FOUND',
        `'${trimmed}' is not a folder (${asPath}) or a built-in model (${builtinDir}). ${e.message}${builtinNote}`,
        ref,
      );
    }
    throw e;
  }
}
