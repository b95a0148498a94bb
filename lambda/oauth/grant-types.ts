/**
 * The grant and assertion types the token endpoint speaks, by their registered URNs: a module of
 * names only, so discovery (which must stay free of jose, DISC-CACHE) can name them too.
 */

/** RFC 7523 §2.1: the JWT bearer grant, with which an ID-JAG is redeemed. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/**
 * DPOP-GRANT (draft-parecki-jwt-dpop-grant): the JWT bearer grant for an assertion bound to a DPoP
 * key, which the request must then prove it holds.
 */
export const JWT_DPOP_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-dpop';
/** RFC 7523 §2.2: a JWT that authenticates the client (AUTH-PRIVATE-KEY-JWT). */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
