// Package pki is roam's certificate authority toolkit: key generation and
// encrypted key files, certificate templates for CAs and Roles Anywhere
// client and server certificates, CSR checks, CRLs, PKCS#12 export, and the
// Roles Anywhere leaf-certificate rules (CheckLeaf) that both `roam ca lint`
// and the server's CreateSession pipeline apply.
//
// The package does no I/O of its own except reading randomness; the CA
// directory (keys, issued-certificate index, CRL counter) lives in the
// subpackage pki/cadir.
package pki
