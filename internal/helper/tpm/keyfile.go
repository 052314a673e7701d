package tpm

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KeyPEMType is the PEM block type of a TPM 2.0 key file.
const KeyPEMType = "TSS2 PRIVATE KEY"

// Key file OIDs (draft-bottomley-tpm2-keys §3.1).
var (
	oidLoadableKey   = asn1.ObjectIdentifier{2, 23, 133, 10, 1, 3}
	oidImportableKey = asn1.ObjectIdentifier{2, 23, 133, 10, 1, 4}
	oidSealedData    = asn1.ObjectIdentifier{2, 23, 133, 10, 1, 5}
)

// Parent handles a key file may name: a persistent key, or a hierarchy
// under which the parent is the primary storage key made from the standard
// template (TPM_RH_OWNER, _NULL, _ENDORSEMENT, _PLATFORM).
const (
	HandleOwner       uint32 = 0x40000001
	HandleNull        uint32 = 0x40000007
	HandleEndorsement uint32 = 0x4000000B
	HandlePlatform    uint32 = 0x4000000C
)

// ErrMalformedKeyFile is wrapped by every ParseKeyFile error about the
// encoding.
var ErrMalformedKeyFile = errors.New("malformed TPM key file")

// ErrUnsupportedKeyFile is wrapped when a well-formed key file uses a
// feature roam does not implement (policies, importable keys, sealed data).
var ErrUnsupportedKeyFile = errors.New("unsupported TPM key file")

// KeyFile is a TPM 2.0 loadable key file ("-----BEGIN TSS2 PRIVATE
// KEY-----"), as written by the OpenSSL tpm2 provider, tpm2-tss-engine's
// tpm2tss-genkey, openssl_tpm2_engine and tpm2_encodeobject:
//
//	TPMKey ::= SEQUENCE {
//	  type        OBJECT IDENTIFIER,        -- 2.23.133.10.1.3
//	  emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,
//	  policy      [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
//	  secret      [2] EXPLICIT OCTET STRING OPTIONAL,
//	  authPolicy  [3] EXPLICIT SEQUENCE OF TPMAuthPolicy OPTIONAL,
//	  description [4] EXPLICIT UTF8String OPTIONAL,
//	  rsaParent   [5] EXPLICIT BOOLEAN OPTIONAL,
//	  parent      INTEGER,
//	  pubkey      OCTET STRING,             -- TPM2B_PUBLIC
//	  privkey     OCTET STRING }            -- TPM2B_PRIVATE
type KeyFile struct {
	// EmptyAuth says the key has no password.
	EmptyAuth bool
	// Description is free text.
	Description string
	// RSAParent says a hierarchy parent is the RSA-2048 storage key rather
	// than the ECC P-256 one.
	RSAParent bool
	// Parent is the parent's handle: persistent (0x81xxxxxx) or a
	// hierarchy (HandleOwner etc.).
	Parent uint32
	// Public is the key's TPMT_PUBLIC (the TPM2B_PUBLIC without its size).
	Public []byte
	// Private is the key's wrapped private area (the TPM2B_PRIVATE without
	// its size).
	Private []byte
}

// ParseKeyFile parses a PEM "TSS2 PRIVATE KEY" file. Only the first PEM
// block is read.
func ParseKeyFile(data []byte) (*KeyFile, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformedKeyFile)
	}
	if b.Type != KeyPEMType {
		return nil, fmt.Errorf("%w: PEM block is %q, want %q", ErrMalformedKeyFile, b.Type, KeyPEMType)
	}
	return ParseKeyDER(b.Bytes)
}

// ParseKeyDER parses the DER TPMKey structure. It accepts a BOOLEAN encoded
// as 0x01 for emptyAuth and rsaParent, as some versions of the OpenSSL
// engines and tpm2_encodeobject write it, though DER requires 0xFF.
func ParseKeyDER(der []byte) (*KeyFile, error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrMalformedKeyFile, what) }
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, bad("not a DER SEQUENCE")
	}
	if !in.Empty() {
		return nil, bad("trailing data after the SEQUENCE")
	}
	var oid asn1.ObjectIdentifier
	if !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, bad("no type OID")
	}
	switch {
	case oid.Equal(oidLoadableKey):
	case oid.Equal(oidImportableKey):
		return nil, fmt.Errorf("%w: an importable key (%s) must first be imported with tpm2_import", ErrUnsupportedKeyFile, oid)
	case oid.Equal(oidSealedData):
		return nil, fmt.Errorf("%w: sealed data (%s) is not a signing key", ErrUnsupportedKeyFile, oid)
	default:
		return nil, fmt.Errorf("%w: unknown type OID %s", ErrUnsupportedKeyFile, oid)
	}
	k := &KeyFile{}
	var err error
	if k.EmptyAuth, err = readExplicitBool(&seq, 0); err != nil {
		return nil, bad("emptyAuth: " + err.Error())
	}
	for _, f := range []struct {
		tag  int
		name string
	}{{1, "policy"}, {2, "secret"}, {3, "authPolicy"}} {
		if seq.PeekASN1Tag(explicit(f.tag)) {
			return nil, fmt.Errorf("%w: the key has a %s; TPM policies are not supported", ErrUnsupportedKeyFile, f.name)
		}
	}
	var desc cryptobyte.String
	var hasDesc bool
	if !seq.ReadOptionalASN1(&desc, &hasDesc, explicit(4)) {
		return nil, bad("description")
	}
	if hasDesc {
		var s cryptobyte.String
		if !desc.ReadASN1(&s, cbasn1.UTF8String) || !desc.Empty() {
			return nil, bad("description is not a UTF8String")
		}
		k.Description = string(s)
	}
	if k.RSAParent, err = readExplicitBool(&seq, 5); err != nil {
		return nil, bad("rsaParent: " + err.Error())
	}
	var parent uint64
	if !seq.ReadASN1Integer(&parent) || parent > 0xFFFFFFFF {
		return nil, bad("parent is not a 32-bit handle")
	}
	k.Parent = uint32(parent)
	if k.Public, err = readTPM2B(&seq); err != nil {
		return nil, bad("pubkey: " + err.Error())
	}
	if k.Private, err = readTPM2B(&seq); err != nil {
		return nil, bad("privkey: " + err.Error())
	}
	if !seq.Empty() {
		return nil, bad("unexpected fields after privkey")
	}
	if err := checkParent(k.Parent); err != nil {
		return nil, err
	}
	return k, nil
}

// checkParent accepts persistent handles and the four hierarchies.
func checkParent(h uint32) error {
	switch {
	case h>>24 == 0x81, h == HandleOwner, h == HandleNull, h == HandleEndorsement, h == HandlePlatform:
		return nil
	}
	return fmt.Errorf("%w: parent %#x is neither a persistent handle nor a hierarchy", ErrMalformedKeyFile, h)
}

// explicit is the tag of a context-specific constructed [n] EXPLICIT field.
func explicit(n int) cbasn1.Tag { return cbasn1.Tag(n).Constructed().ContextSpecific() }

// readExplicitBool reads an optional [n] EXPLICIT BOOLEAN; any non-zero
// content byte is TRUE.
func readExplicitBool(s *cryptobyte.String, n int) (bool, error) {
	var inner cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&inner, &present, explicit(n)) {
		return false, errors.New("bad encoding")
	}
	if !present {
		return false, nil
	}
	var v cryptobyte.String
	if !inner.ReadASN1(&v, cbasn1.BOOLEAN) || !inner.Empty() || len(v) != 1 {
		return false, errors.New("not a BOOLEAN")
	}
	return v[0] != 0, nil
}

// readTPM2B reads an OCTET STRING holding a TPM2B (a big-endian 16-bit size
// and that many bytes) and returns the bytes after the size.
func readTPM2B(s *cryptobyte.String) ([]byte, error) {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.OCTET_STRING) {
		return nil, errors.New("not an OCTET STRING")
	}
	if len(v) < 2 || int(binary.BigEndian.Uint16(v)) != len(v)-2 {
		return nil, errors.New("its TPM2B size does not match its length")
	}
	if len(v) == 2 {
		return nil, errors.New("empty")
	}
	return bytes.Clone(v[2:]), nil
}

// MarshalDER encodes k as DER. EmptyAuth and RSAParent are written only when
// true, as the OpenSSL tpm2 provider does.
func (k *KeyFile) MarshalDER() ([]byte, error) {
	if len(k.Public) == 0 || len(k.Public) > 0xFFFF || len(k.Private) == 0 || len(k.Private) > 0xFFFF {
		return nil, errors.New("tpm: key file public and private areas must be 1 to 65535 bytes")
	}
	if err := checkParent(k.Parent); err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidLoadableKey)
		if k.EmptyAuth {
			b.AddASN1(explicit(0), func(b *cryptobyte.Builder) { b.AddASN1Boolean(true) })
		}
		if k.Description != "" {
			b.AddASN1(explicit(4), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(k.Description)) })
			})
		}
		if k.RSAParent {
			b.AddASN1(explicit(5), func(b *cryptobyte.Builder) { b.AddASN1Boolean(true) })
		}
		b.AddASN1Uint64(uint64(k.Parent))
		for _, area := range [][]byte{k.Public, k.Private} {
			b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
				b.AddUint16(uint16(len(area)))
				b.AddBytes(area)
			})
		}
	})
	return b.Bytes()
}

// MarshalPEM encodes k as a "TSS2 PRIVATE KEY" PEM file.
func (k *KeyFile) MarshalPEM() ([]byte, error) {
	der, err := k.MarshalDER()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: KeyPEMType, Bytes: der}), nil
}
