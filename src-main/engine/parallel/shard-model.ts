/** The model a training helper thread holds: sent once, kept until another replaces it. */
import { modelFromPlain, type PlainModel } from '../model/weights-transfer.js';
import type { Transformer } from '../model/transformer.js';
import { SubspaceError } from '../errors.js';

let current: { key: number; model: Transformer } | undefined;

export function setShardModel(key: number, plain: PlainModel): void {
  current?.model.dispose();
  // A rebuild that throws must not leave the disposed model in place.
  current = undefined;
  current = { key, model: modelFromPlain(plain) };
}

export function shardModel(key: number): Transformer {
  if (!current || current.key !== key) throw new SubspaceError('INTERNAL', `the training helper holds no model ${key}`);
  return current.model;
}
