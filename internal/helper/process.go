package helper

import (
	"encoding/json"
	"time"

	"github.com/roam-project/roam/credentials"
)

// ProcessOutput is the credential_process JSON the AWS SDKs and CLI read.
type ProcessOutput struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// NewProcessOutput converts credentials to the credential_process format
// (Version 1, Expiration in RFC 3339 UTC).
func NewProcessOutput(c credentials.Credentials) ProcessOutput {
	return ProcessOutput{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
	}
}

// Marshal returns the compact JSON, with no trailing newline, as the
// official helper prints it.
func (p ProcessOutput) Marshal() []byte {
	b, _ := json.Marshal(p) // cannot fail: strings and an int
	return b
}

// Credentials converts back, for the cache.
func (p ProcessOutput) Credentials() (credentials.Credentials, error) {
	exp, err := time.Parse(time.RFC3339, p.Expiration)
	if err != nil {
		return credentials.Credentials{}, err
	}
	return credentials.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey, SessionToken: p.SessionToken, Expiration: exp}, nil
}
