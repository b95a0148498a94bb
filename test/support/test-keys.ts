/**
 * RSA-2048 private keys for tests, from a pool kept on disk across runs. Generating one costs a
 * hundred milliseconds or more of CPU and the suite needs over a hundred; the pool makes that a
 * file read. Within one test file every call returns a different key (the n-th call the n-th
 * key), so a test that wants "another key" gets one; test files are isolated, so two files may
 * hold the same key. These keys sign nothing outside the tests.
 *
 * The pool lives in node_modules/.cache (git-ignored; gone with `npm ci`); a missing entry is
 * generated once and written atomically, so parallel workers can share it.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const POOL_SIZE = 24;
const DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../node_modules/.cache/xaa-test-keys',
);

let next = 0; // per test file: jest gives each file its own module registry

/** The next pooled key as PKCS#8 PEM, or a fresh one once this file has used the whole pool. */
export function rsaPrivateKeyPem(): string {
  const i = next++;
  if (i >= POOL_SIZE) return generatePem();
  const path = join(DIR, `rsa-2048-${i}.pem`);
  try {
    return readFileSync(path, 'utf8');
  } catch {
    const pem = generatePem();
    try {
      mkdirSync(DIR, { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(tmp, pem, { mode: 0o600 });
      renameSync(tmp, path); // atomic: a concurrent reader sees no key or a whole key
    } catch {
      // a read-only node_modules: the pool just stays empty
    }
    return pem;
  }
}

export function rsaPrivateKey(): KeyObject {
  return createPrivateKey(rsaPrivateKeyPem());
}

function generatePem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

/** A pooled RSA-2048 pair, as generateKeyPairSync('rsa', ...) returns one. */
export function rsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = rsaPrivateKey();
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
