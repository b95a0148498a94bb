/**
 * A value computed once and shared; a failure is not kept, so the next caller tries again rather
 * than the container staying broken after one KMS hiccup.
 */
export function once<T>(compute: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= compute().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
