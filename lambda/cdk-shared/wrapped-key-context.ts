/**
 * What names a wrapped signing key (wrapped-signing-key.ts), apart from any library: the stack's
 * key policies (lib/signing-keys.ts) read the encryption context and the key spec at synth.
 */
/** The value of the `purpose` member of every wrapped signing key's encryption context. */
export const WRAPPED_KEY_PURPOSE = 'xaa-auth-server:access-token-signing-key';

/** The only spec: tokens are RS256 (JWKS-RSA), and the JWKS budget counts RSA-2048 keys. */
export const WRAPPED_KEY_SPEC = 'RSA_2048';

/** The secret's `format`: a reader refuses any other. */
export const WRAPPED_KEY_FORMAT = 'xaa-wrapped-signing-key/1';

export type EncryptionContext = Readonly<Record<'purpose' | 'signing-key', string>>;

/** `keyName` is unique per account and region: `<stack>/<construct>/<configured key id>`. */
export function encryptionContext(keyName: string): EncryptionContext {
  return { purpose: WRAPPED_KEY_PURPOSE, 'signing-key': keyName };
}
