/**
 * The sample resource's routes and the scope each needs, apart from what they answer: the stack
 * (lib/sample-resource.ts) reads them at synth, without the token verifier and its libraries.
 */
export const RESOURCE_SCOPES = {
  'GET /api/profile': 'read',
  'POST /api/notes': 'write',
} as const satisfies Readonly<Record<string, string>>;

export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';
