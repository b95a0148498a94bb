/**
 * The one KMS signing algorithm the token function uses (RS256, JWKS-RSA), apart from the KMS
 * client: the stack's key policies (lib/signing-keys.ts) read it at synth.
 */
export const KMS_SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256';
