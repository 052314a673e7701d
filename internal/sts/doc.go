// Package sts is roam's credential core: the keyring that seals session
// tokens, minting temporary credentials (ASIA… access key id, secret access
// key, session token) and validating them with no database round trip.
//
// Credentials are stateless. A session token is
//
//	base64std( version || key id || nonce || AES-256-GCM(claims) )
//
// sealed under one key of the keyring with the version, the key id and the
// access key id as associated data. The claims carry everything a verifier
// needs: the secret access key, the role, session name, source identity,
// session tags, session policies, issue and expiry times and, for audit, the
// trust anchor, profile and certificate serial. Any replica (or gateway)
// holding the keyring validates a request from the token alone.
//
// Keyring keys are stored through a [KeyStore], sealed under a 32-byte master
// key that never leaves the host ([LoadOrCreateMasterKey]). Keys rotate; an
// old key keeps verifying until every token it sealed has expired and is then
// pruned.
package sts
