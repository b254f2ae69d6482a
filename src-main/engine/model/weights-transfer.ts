/**
 * A model's weights as plain arrays, to rebuild the same model in another thread
 * (structured clone carries typed arrays; tensors belong to one backend).
 */
import * as tf from '../tf.js';
import type { ModelSpec } from './config.js';
import type { ModelWeights } from './weights.js';
import { Transformer } from './transformer.js';

export interface PlainTensor {
  shape: number[];
  data: Float32Array;
}

/** ModelWeights with every tensor replaced by a PlainTensor (same nesting). */
export type PlainWeights = { [key: string]: PlainWeights | PlainWeights[] | PlainTensor | undefined };

export interface PlainModel {
  spec: ModelSpec;
  weights: PlainWeights;
}

function isPlainTensor(v: unknown): v is PlainTensor {
  return !!v && typeof v === 'object' && (v as PlainTensor).data instanceof Float32Array && Array.isArray((v as PlainTensor).shape);
}

function toPlain(v: unknown): unknown {
  if (v instanceof tf.Tensor) return { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
  if (Array.isArray(v)) return v.map(toPlain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

function fromPlain(v: unknown): unknown {
  if (isPlainTensor(v)) return tf.tensor(v.data, v.shape, 'float32');
  if (Array.isArray(v)) return v.map(fromPlain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromPlain(x)]));
  return v;
}

export function plainModel(model: Transformer): PlainModel {
  return { spec: model.spec, weights: toPlain(model.weights) as PlainWeights };
}

export function modelFromPlain(p: PlainModel): Transformer {
  return new Transformer(p.spec, fromPlain(p.weights) as ModelWeights);
}
