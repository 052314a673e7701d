// Package helper is the workload side of roam: the logic behind
// `roam credential-process`, `serve`, `update`, `sign-string` and
// `read-certificate-data`, drop-in replacements for the official
// aws_signing_helper commands without its known defects (see
// docs/protocol.md §3–§9), and the key sources they sign with (Signer).
//
// The CreateSession exchange itself is package credentials; this package
// adds refreshing (Refresher), a cross-process cache for credential-process
// (Cache), the IMDSv2 and container-credentials server (Server) and the
// shared-credentials-file writer (WriteCredentialsFile, Updater).
package helper
