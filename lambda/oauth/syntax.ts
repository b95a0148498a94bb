/** The shapes of identifiers this server issues or accepts, shared by the token endpoint and the admin. */

/**
 * A client id the admin can register: characters a Secrets Manager secret name may hold, so the id
 * can be part of one. The token endpoint refuses any other before it reaches a log or a database.
 */
export const CLIENT_ID = /^[A-Za-z0-9._@+=-]{1,128}$/;

/** RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
