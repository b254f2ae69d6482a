import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';

/**
 * Weights in the runtime's layout. Every projection is stored [in, out] so the
 * forward is `x @ W` with no transposed products (slow on wasm, see backend/).
 */
export interface NormWeights {
  weight: tf.Tensor1D;
  bias?: tf.Tensor1D;
}

export interface LayerWeights {
  ln1: NormWeights;
  ln2: NormWeights;
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  bq?: tf.Tensor1D;
  bk?: tf.Tensor1D;
  bv?: tf.Tensor1D;
  wo: tf.Tensor2D;
  bo?: tf.Tensor1D;
  /** Plain MLP: wIn/bIn; gated MLP: wGate/wUp (+ biases). */
  wIn?: tf.Tensor2D;
  bIn?: tf.Tensor1D;
  wGate?: tf.Tensor2D;
  bGate?: tf.Tensor1D;
  wUp?: tf.Tensor2D;
  bUp?: tf.Tensor1D;
  wOut: tf.Tensor2D;
  bOut?: tf.Tensor1D;
}

export interface ModelWeights {
  /** Token embedding [vocab, d]. */
  wte: tf.Tensor2D;
  /** Learned position embedding [positions, d] (GPT-2 only). */
  wpe?: tf.Tensor2D;
  layers: LayerWeights[];
  lnf: NormWeights;
  /** Unembedding [d, vocab]; for tied models a transposed copy of wte made once at load. */
  unembed: tf.Tensor2D;
}

/** A tensor as read from a checkpoint, already converted to float32. */
export interface RawTensor {
  shape: number[];
  data: Float32Array;
}

/** Where a family mapping takes its tensors from (one or many safetensors files). */
export interface WeightSource {
  has(name: string): boolean;
  get(name: string): RawTensor;
  /** Where the tensors come from, for error messages. */
  label: string;
}

/** Reads one tensor and checks its shape against what the config implies. */
export function take(src: WeightSource, name: string, shape: number[]): RawTensor {
  if (!src.has(name)) {
    throw new SubspaceError('SHAPE_MISMATCH', `${src.label}: tensor '${name}' is missing (the config needs it with shape [${shape.join(', ')}])`, name);
  }
  const t = src.get(name);
  if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
    throw new SubspaceError(
      'SHAPE_MISMATCH',
      `${src.label}: tensor '${name}' has shape [${t.shape.join(', ')}] but the config implies [${shape.join(', ')}]`,
      name,
    );
  }
  return t;
}

export function vec(t: RawTensor): tf.Tensor1D {
  return tf.tensor1d(t.data);
}

export function mat(t: RawTensor): tf.Tensor2D {
  return tf.tensor2d(t.data, [t.shape[0], t.shape[1]]);
}

/** An nn.Linear weight [out, in] turned into the runtime's [in, out]. */
export function linearT(t: RawTensor): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(mat(t)) as tf.Tensor2D);
}

export function disposeWeights(w: ModelWeights): void {
  const all: tf.Tensor[] = [];
  const collect = (o: object) => {
    for (const v of Object.values(o)) {
      if (v instanceof tf.Tensor) all.push(v);
      else if (v && typeof v === 'object') collect(v);
    }
  };
  collect(w);
  for (const t of new Set(all)) t.dispose();
}
