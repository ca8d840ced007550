/**
 * The service's evidence signing key (Ed25519). It signs audit anchors (chain heads written
 * while a call runs) and the seal of every exported evidence bundle, so a recipient can check
 * offline, with the public key alone, that a bundle came from this service unchanged.
 *
 * The private key lives in one PEM file (PKCS#8, mode 0600), created on first use; with no file
 * the key exists only in memory for this process (tests, demos): bundles still verify, but the
 * key cannot be compared with one published earlier. The fingerprint (`sha256:<hex>` of the
 * public key's SPKI DER bytes) is what operators publish and recipients compare.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { DfdError } from '../kernel/errors.js';

export interface EvidenceKeyOptions {
  /** PEM file of the private key; created (with its folder) when missing. Empty: an in-memory key. */
  file: string;
}

export const defaultEvidenceKeyOptions: EvidenceKeyOptions = { file: '' };

export const EVIDENCE_SIGNATURE_ALGORITHM = 'ed25519' as const;

/**
 * `sha256:<hex>` of a public key's SPKI DER bytes. The PEM must be exactly the canonical SPKI PEM
 * of an Ed25519 key (as this module writes it), so no other spelling of the same key is accepted.
 */
export function keyFingerprint(publicKeyPem: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (e) {
    throw new DfdError('ERR_EVIDENCE_SIGNATURE', 'public key is not a valid PEM key', undefined, { cause: e });
  }
  if (key.asymmetricKeyType !== EVIDENCE_SIGNATURE_ALGORITHM || key.export({ type: 'spki', format: 'pem' }).toString() !== publicKeyPem) {
    throw new DfdError('ERR_EVIDENCE_SIGNATURE', 'public key is not the canonical PEM of an Ed25519 key');
  }
  return `sha256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

/** Checks an Ed25519 signature (base64) of `data` (UTF-8) with a PEM public key. Never throws. */
export function verifySignature(publicKeyPem: string, data: string, signatureB64: string): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== EVIDENCE_SIGNATURE_ALGORITHM) return false;
    if (!/^[A-Za-z0-9+/]{86}==$/.test(signatureB64)) return false;
    const sig = Buffer.from(signatureB64, 'base64');
    // Base64 has spare bits: only the canonical spelling of the 64 bytes is accepted, so no other text verifies.
    if (sig.toString('base64') !== signatureB64) return false;
    return verify(null, Buffer.from(data, 'utf8'), key, sig);
  } catch {
    return false;
  }
}

export class EvidenceKey {
  readonly publicKeyPem: string;
  readonly fingerprint: string;
  /** Where the private key is kept; undefined for an in-memory key. */
  readonly file: string | undefined;
  readonly #privateKey: KeyObject;

  private constructor(privateKey: KeyObject, file: string | undefined) {
    if (privateKey.asymmetricKeyType !== EVIDENCE_SIGNATURE_ALGORITHM) throw new DfdError('ERR_CONFIG', 'evidence key must be an Ed25519 key', { file });
    this.#privateKey = privateKey;
    this.file = file;
    this.publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    this.fingerprint = keyFingerprint(this.publicKeyPem);
  }

  /** Loads the key from `file`, creating it there first when it does not exist. */
  static loadOrCreate(options: Partial<EvidenceKeyOptions> = {}): EvidenceKey {
    const o: EvidenceKeyOptions = { ...defaultEvidenceKeyOptions, ...options };
    if (!o.file) return new EvidenceKey(generateKeyPairSync('ed25519').privateKey, undefined);
    if (!fs.existsSync(o.file)) {
      const { privateKey } = generateKeyPairSync('ed25519');
      fs.mkdirSync(path.dirname(o.file), { recursive: true });
      try {
        // 'wx': another process that created it first wins; we then read its key.
        fs.writeFileSync(o.file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new DfdError('ERR_CONFIG', 'cannot write the evidence key', { file: o.file }, { cause: e });
      }
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(fs.readFileSync(o.file));
    } catch (e) {
      throw new DfdError('ERR_CONFIG', 'cannot read the evidence key', { file: o.file }, { cause: e });
    }
    return new EvidenceKey(key, o.file);
  }

  /** Ed25519 signature of `data` (UTF-8), base64. */
  sign(data: string): string {
    return sign(null, Buffer.from(data, 'utf8'), this.#privateKey).toString('base64');
  }
}
