/**
 * GET a JSON document from a URL a client chose (CIMD-FETCH): a Client ID Metadata Document, or the
 * `jwks_uri` of a client's keys. The URL is the client's, so the request must not reach anything
 * the server can reach and the client cannot: only `https`, only to public unicast addresses (each
 * address the name resolves to is checked, and the connection goes to a checked address, so a DNS
 * answer that changes between check and connect changes nothing), no redirects, a size cap and a
 * deadline for the whole exchange.
 */
import type { LookupAddress } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { isLoopbackHost } from '../oauth/syntax.js';

/** Why a fetch was refused or failed: the reason codes of CIMD-FETCH. */
export type OutboundFailure =
  | 'url_not_allowed'
  | 'address_not_public'
  | 'redirect_refused'
  | 'http_status'
  | 'too_large'
  | 'timeout'
  | 'unreachable'
  | 'not_json';

export class OutboundFetchError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundFetchError';
  }
}

/**
 * CIMD-FETCH: how long fetching a client's document, or its keys, may take. A request may need
 * both, one after the other, inside its 3 s budget (token-service.ts): a slow client host is then
 * that client's invalid_client, never a 503 that reads as an outage of ours.
 */
export const CLIENT_FETCH_TIMEOUT_MS = 1000;

export interface OutboundFetchOptions {
  /** The whole exchange (resolution, connection, response) must end within this. */
  readonly timeoutMs: number;
  /** A body past this many bytes is refused, and no more of it is read. */
  readonly maxBytes: number;
  /**
   * CIMD-DEV-HTTP: `http://localhost` (and 127.0.0.1, [::1]) is fetched too, for a demo on one
   * machine. Off unless the operator turns it on; the AWS entry point never does.
   */
  readonly allowHttpLoopback?: boolean;
  /** Name resolution; the system resolver unless a test gives another. */
  readonly resolve?: (hostname: string) => Promise<readonly LookupAddress[]>;
}

export interface FetchedJson {
  readonly body: unknown;
  /** `Cache-Control: max-age` in seconds, when the response gives one. */
  readonly maxAge: number | undefined;
  /** `Cache-Control: no-store` or `no-cache`: the response asks not to be reused. */
  readonly noStore: boolean;
}

/**
 * Only ordinary public addresses: ipaddr.js names every special-purpose range (private, loopback,
 * link-local with the cloud metadata service, carrier-grade NAT, unique local, multicast,
 * documentation, 6to4, Teredo, NAT64, …) and leaves `unicast` for the rest. An IPv4 address
 * mapped into IPv6 is judged as the IPv4 address it is.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
    // ::/96, the deprecated IPv4-compatible addresses (::127.0.0.1): never an ordinary host.
    else if (v6.parts.slice(0, 6).every((p) => p === 0)) return false;
  }
  return parsed.range() === 'unicast';
}

/** CIMD-FETCH: whether a URL may be fetched at all, before any name is resolved. */
export function fetchableUrl(url: URL, allowHttpLoopback = false): boolean {
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  return allowHttpLoopback && url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/**
 * The name's A and AAAA records, asked of the DNS servers directly (c-ares), with the exchange's
 * own deadline: unlike the system resolver it holds no libuv thread while a server is silent, so
 * names that never answer cannot starve the thread pool that WebCrypto signs on. `localhost` is
 * loopback by definition (RFC 6761) and never asked.
 */
async function systemResolve(hostname: string, timeoutMs: number): Promise<LookupAddress[]> {
  if (hostname === 'localhost' || hostname.endsWith('.localhost'))
    return [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ];
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  const [v4, v6] = await Promise.allSettled([
    resolver.resolve4(hostname),
    resolver.resolve6(hostname),
  ]);
  const found = [
    ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
  ];
  if (found.length === 0) throw new Error(`${hostname} does not resolve`);
  return found;
}

export async function fetchJson(
  target: string,
  options: OutboundFetchOptions,
): Promise<FetchedJson> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new OutboundFetchError('url_not_allowed', 'not an absolute URL');
  }
  if (!fetchableUrl(url, options.allowHttpLoopback)) {
    throw new OutboundFetchError('url_not_allowed', `only https URLs are fetched`);
  }
  const loopbackHttp = url.protocol === 'http:';
  const resolve = options.resolve ?? ((name: string) => systemResolve(name, options.timeoutMs));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const signal = AbortSignal.timeout(options.timeoutMs);

  // An address literal is never resolved: it is checked as it is.
  let checked: readonly LookupAddress[];
  if (isIP(host) !== 0) {
    checked = [{ address: host, family: isIP(host) }];
  } else {
    let addresses: readonly LookupAddress[];
    try {
      addresses = await raceAbort(resolve(host), signal);
    } catch (err) {
      if (err instanceof OutboundFetchError) throw err;
      throw new OutboundFetchError('unreachable', `${url.hostname} does not resolve`);
    }
    if (addresses.length === 0)
      throw new OutboundFetchError('unreachable', `${url.hostname} does not resolve`);
    // One private answer among public ones refuses the name: the connection must not be able to
    // land on it, whichever answer a retry would pick.
    if (!loopbackHttp && addresses.some((a) => !isPublicAddress(a.address)))
      throw new OutboundFetchError(
        'address_not_public',
        `${url.hostname} resolves to an address that is not public`,
      );
    checked = addresses;
  }
  const [address] = checked as [LookupAddress];
  if (!loopbackHttp && !isPublicAddress(address.address))
    throw new OutboundFetchError('address_not_public', `${url.hostname} is not a public address`);

  const response = await new Promise<IncomingMessage>((resolveResponse, reject) => {
    const send = loopbackHttp ? httpRequest : httpsRequest;
    const req = send(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal,
        // The connection goes to the addresses checked above, never to a second resolution's.
        lookup: (_name, opts, callback) => {
          const all = typeof opts === 'object' && opts !== null && 'all' in opts && opts.all;
          // Every checked address when asked for all (Node tries them in turn, as for any name
          // that resolves to both families); the first otherwise.
          if (all) (callback as (e: null, a: LookupAddress[]) => void)(null, [...checked]);
          else callback(null, address.address, address.family);
        },
      },
      resolveResponse,
    );
    req.on('error', reject);
    req.end();
  }).catch(() => {
    throw signal.aborted
      ? new OutboundFetchError('timeout', `no answer within ${options.timeoutMs} ms`)
      : new OutboundFetchError('unreachable', `cannot connect to ${url.host}`);
  });

  try {
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400)
      throw new OutboundFetchError('redirect_refused', `answered a redirect (HTTP ${status})`);
    if (status !== 200) throw new OutboundFetchError('http_status', `answered HTTP ${status}`);
    const text = await readCapped(response, options.maxBytes, signal, options.timeoutMs);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OutboundFetchError('not_json', 'the document is not JSON');
    }
    return { body, ...cacheControl(response.headers['cache-control']) };
  } finally {
    response.destroy();
  }
}

async function readCapped(
  response: IncomingMessage,
  max: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<string> {
  if (Number(response.headers['content-length'] ?? 0) > max)
    throw new OutboundFetchError('too_large', `the document is larger than ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      size += (chunk as Buffer).byteLength;
      if (size > max)
        throw new OutboundFetchError('too_large', `the document is larger than ${max} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof OutboundFetchError) throw err;
    throw signal.aborted
      ? new OutboundFetchError('timeout', `no answer within ${timeoutMs} ms`)
      : new OutboundFetchError('unreachable', 'the connection failed while reading');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new OutboundFetchError('not_json', 'the document is not UTF-8');
  }
}

function cacheControl(header: string | undefined): Pick<FetchedJson, 'maxAge' | 'noStore'> {
  const directives = (header ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  const noStore = directives.some((d) => d === 'no-store' || d === 'no-cache');
  const maxAge = directives
    .map((d) => /^max-age=(\d{1,9})$/.exec(d)?.[1])
    .find((v) => v !== undefined);
  return { noStore, maxAge: maxAge === undefined ? undefined : Number(maxAge) };
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new OutboundFetchError('timeout', 'name resolution timed out'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
