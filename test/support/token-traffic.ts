/**
 * What an MCP agent sends to the token endpoint and the MCP server, seen through the fetch its
 * transport is given: the interop tests assert on the SDK's real requests, not on what they assume.
 */
export interface TokenTraffic {
  tokenRequests: Array<{ authorization: string | null; body: URLSearchParams }>;
  tokenResponses: Array<Record<string, unknown>>;
  /** Requests to the MCP server that carried an access token. */
  withToken: number;
}

/** A fetch that records into `seen` what goes to `/token` and to `mcpUrl`; it changes nothing. */
export function watchingFetch(mcpUrl: string, seen: TokenTraffic): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    if (url === mcpUrl && new Headers(init?.headers).has('authorization')) seen.withToken++;
    if (url.endsWith('/token')) {
      seen.tokenRequests.push({
        authorization: new Headers(init?.headers).get('authorization'),
        body: new URLSearchParams(String(init?.body)),
      });
      seen.tokenResponses.push((await res.clone().json()) as Record<string, unknown>);
    }
    return res;
  };
}
