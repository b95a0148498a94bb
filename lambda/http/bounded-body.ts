/**
 * A fetch body (a Request's or a Response's) read whole, or given up as soon as it passes a size:
 * a peer that sends more than it may costs at most that much memory.
 */

/**
 * The body, read up to `max` bytes: null for none, undefined past `max`, in which case the rest is
 * cancelled (and a declared Content-Length past `max` is not read at all).
 */
export async function readBounded(
  message: { readonly body: ReadableStream<Uint8Array> | null; readonly headers: Headers },
  max: number,
): Promise<Uint8Array | null | undefined> {
  if (message.body === null) return null;
  if (Number(message.headers.get('content-length') ?? 0) > max) {
    await message.body.cancel();
    return undefined;
  }
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
