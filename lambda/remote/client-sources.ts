/**
 * Where clients that are not in the registry's records come from: the keys clients publish at a
 * `jwks_uri` (AUTH-PRIVATE-KEY-JWT) and Client ID Metadata Documents (CIMD-*). One pair per
 * process, so their caches serve every request.
 */
import type { ServiceConfig } from '../config.js';
import type { ClientKeys, ClientMetadataDocuments } from '../ports.js';
import { RemoteClientKeys } from './client-keys.js';
import { RemoteClientMetadataDocuments } from './client-metadata-documents.js';

export function remoteClientSources(
  config: Pick<ServiceConfig, 'clientMetadata'>,
  options: { readonly onFetchError?: (url: string, error: unknown) => void } = {},
): { clientKeys: ClientKeys; clientMetadata: ClientMetadataDocuments } {
  const { allowHttpLoopback } = config.clientMetadata;
  return {
    clientKeys: new RemoteClientKeys({ allowHttpLoopback, onFetchError: options.onFetchError }),
    clientMetadata: new RemoteClientMetadataDocuments(config.clientMetadata),
  };
}
