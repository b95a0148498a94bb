/**
 * Lambda entry for the HTTP API authorizer of edge protection: lets through only requests that
 * came through CloudFront (and so through the WAF), recognised by CloudFront's secret header.
 */
import { createOriginVerifier, ORIGIN_VERIFY_ENV } from '../aws/origin-verify.js';

export const handler = createOriginVerifier(process.env[ORIGIN_VERIFY_ENV]);
