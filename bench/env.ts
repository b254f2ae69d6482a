/**
 * Runs f with one environment variable set, then puts it back (also when f throws, and only
 * once f's promise settles when it returns one). For settings the engine reads at call time,
 * such as SUBSPACE_TRAIN_SHARDS.
 */
export function withEnv<T>(name: string, value: string, f: () => T): T {
  const before = process.env[name];
  const restore = () => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  };
  process.env[name] = value;
  let result: T;
  try {
    result = f();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
