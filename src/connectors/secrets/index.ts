/**
 * Connector secrets: encrypted at rest (AES-256-GCM under a master key kept
 * outside the database), bound to the host they were entered for, redacted in
 * every printed form.
 */
export { Secret, redactSecrets } from './secret.ts';
export { assertPrivateKeyFile, createKeyring, keyringFromEnv, masterKey, parseMasterKey, type Keyring, type MasterKey } from './master-keyring.ts';
export { openSecret, sealSecret, type SealedSecret, type SecretContext } from './secret-cipher.ts';
export { deleteSecret, getSecret, listSecrets, putSecret, rotateSecrets, secretBinding, type SecretInfo } from './secret-store.ts';
export { newAccountPassword } from './account-password.ts';
