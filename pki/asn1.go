package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
)

// subjectPublicKeyBits returns the BIT STRING contents of a DER
// SubjectPublicKeyInfo.
func subjectPublicKeyBits(spki []byte) ([]byte, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("parse public key info: %w", err)
	}
	return info.PublicKey.Bytes, nil
}

var oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}

// checkKDFIterations rejects encrypted PKCS#8 keys whose PBKDF2 iteration
// count is absurd, before any key derivation runs.
func checkKDFIterations(der []byte) error {
	var epki struct {
		Algo struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters struct {
				KDF struct {
					Algorithm asn1.ObjectIdentifier
					Params    struct {
						Salt       []byte
						Iterations int
					}
				}
				Enc asn1.RawValue
			}
		}
		Data []byte
	}
	if _, err := asn1.Unmarshal(der, &epki); err != nil {
		return errors.New("malformed encrypted private key (file corrupted or truncated)")
	}
	if !epki.Algo.Parameters.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil // other KDFs (scrypt) carry their own cost fields
	}
	if n := epki.Algo.Parameters.KDF.Params.Iterations; n <= 0 || n > maxKDFIterations {
		return fmt.Errorf("encrypted private key has unsupported KDF iteration count %d", n)
	}
	return nil
}
