package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// maxObjects bounds how many objects one search may return, so that a
// misbehaving module cannot make roam loop or allocate without limit.
const maxObjects = 10000

// slot is a slot with a token present.
type slot struct {
	id    uint
	info  p11.SlotInfo
	token p11.TokenInfo
}

// label returns the token label, for messages.
func (s slot) label() string { return strings.TrimRight(s.token.Label, " ") }

// listSlots returns the slots that hold a token. Slots whose information
// cannot be read are skipped, as the official helper does.
func listSlots(mod *p11.Ctx) ([]slot, error) {
	ids, err := mod.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: list slots: %w", err)
	}
	var out []slot
	for _, id := range ids {
		si, err := mod.GetSlotInfo(id)
		if err != nil {
			continue
		}
		ti, err := mod.GetTokenInfo(id)
		if err != nil {
			continue
		}
		out = append(out, slot{id: id, info: si, token: ti})
	}
	return out, nil
}

// matchLibrary reports whether the module's CK_INFO matches the library
// attributes of u.
func matchLibrary(mod *p11.Ctx, u *URI) bool {
	if u.LibraryManufacturer == "" && u.LibraryDescription == "" {
		return true
	}
	info, err := mod.GetInfo()
	if err != nil {
		return false
	}
	return attrMatches(u.LibraryManufacturer, info.ManufacturerID) &&
		attrMatches(u.LibraryDescription, info.LibraryDescription)
}

// attrMatches reports whether a URI attribute want (empty: any) matches a
// blank-padded PKCS#11 string field.
func attrMatches(want, have string) bool {
	return want == "" || want == strings.TrimRight(have, " \x00")
}

// matchSlots returns the slots whose token matches u.
func matchSlots(slots []slot, u *URI) []slot {
	var out []slot
	for _, s := range slots {
		if u.HasSlotID && u.SlotID != s.id {
			continue
		}
		if !attrMatches(u.Token, s.token.Label) || !attrMatches(u.Manufacturer, s.token.ManufacturerID) ||
			!attrMatches(u.Model, s.token.Model) || !attrMatches(u.Serial, s.token.SerialNumber) ||
			!attrMatches(u.SlotDescription, s.info.SlotDescription) ||
			!attrMatches(u.SlotManufacturer, s.info.ManufacturerID) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// tokenLabels lists the labels of slots, for "no token matches" errors.
func tokenLabels(slots []slot) string {
	if len(slots) == 0 {
		return "no tokens are present"
	}
	names := make([]string, len(slots))
	for i, s := range slots {
		names[i] = fmt.Sprintf("%q", s.label())
	}
	return "tokens present: " + strings.Join(names, ", ")
}

// findObjects returns the objects of the session that match tmpl.
func findObjects(mod *p11.Ctx, sh p11.SessionHandle, tmpl []*p11.Attribute) ([]p11.ObjectHandle, error) {
	if err := mod.FindObjectsInit(sh, tmpl); err != nil {
		return nil, fmt.Errorf("pkcs11: find objects: %w", err)
	}
	var all []p11.ObjectHandle
	for {
		objs, _, err := mod.FindObjects(sh, 64)
		if err != nil {
			mod.FindObjectsFinal(sh)
			return nil, fmt.Errorf("pkcs11: find objects: %w", err)
		}
		if len(objs) == 0 {
			break
		}
		all = append(all, objs...)
		if len(all) > maxObjects {
			mod.FindObjectsFinal(sh)
			return nil, fmt.Errorf("pkcs11: more than %d matching objects", maxObjects)
		}
	}
	if err := mod.FindObjectsFinal(sh); err != nil {
		return nil, fmt.Errorf("pkcs11: find objects: %w", err)
	}
	return all, nil
}

// objectTemplate is the search template for objects of class class that
// match the object attributes (label, ID) of u.
func objectTemplate(class uint, u *URI) []*p11.Attribute {
	t := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class)}
	if u != nil && u.HasObject {
		t = append(t, p11.NewAttribute(p11.CKA_LABEL, u.Object))
	}
	if u != nil && u.ID != nil {
		t = append(t, p11.NewAttribute(p11.CKA_ID, u.ID))
	}
	return t
}

// attr reads one attribute of an object; ok is false when the object does
// not have it or it may not be read.
func attr(mod *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle, typ uint) (v []byte, ok bool) {
	a, err := mod.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(typ, nil)})
	if err != nil || len(a) != 1 || a[0].Value == nil {
		return nil, false
	}
	return a[0].Value, true
}

// ulong decodes a CK_ULONG attribute (native byte order and size).
func ulong(b []byte) (uint64, bool) {
	switch len(b) {
	case 1:
		return uint64(b[0]), true
	case 4:
		return uint64(binary.NativeEndian.Uint32(b)), true
	case 8:
		return binary.NativeEndian.Uint64(b), true
	}
	return 0, false
}

// boolAttr decodes a CK_BBOOL attribute.
func boolAttr(b []byte, ok bool) bool { return ok && len(b) == 1 && b[0] != 0 }

// certObject is a certificate found on a token.
type certObject struct {
	handle p11.ObjectHandle
	id     []byte
	label  string
	cert   *x509.Certificate
}

// readCerts reads the certificates among handles. Objects that are not
// X.509 certificates are skipped; they cannot be the one asked for.
func readCerts(mod *p11.Ctx, sh p11.SessionHandle, handles []p11.ObjectHandle) []certObject {
	var out []certObject
	for _, h := range handles {
		der, ok := attr(mod, sh, h, p11.CKA_VALUE)
		if !ok {
			continue
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		id, _ := attr(mod, sh, h, p11.CKA_ID)
		label, _ := attr(mod, sh, h, p11.CKA_LABEL)
		out = append(out, certObject{handle: h, id: id, label: string(label), cert: c})
	}
	return out
}

// keyObject is a private key found on a token.
type keyObject struct {
	handle     p11.ObjectHandle
	id         []byte
	label      string
	keyType    uint64
	alwaysAuth bool
}

// describe names the key for messages.
func (k keyObject) describe() string {
	if k.label != "" {
		return fmt.Sprintf("%q", k.label)
	}
	return fmt.Sprintf("with id %X", k.id)
}

// readKey reads the attributes roam needs from a private key object.
func readKey(mod *p11.Ctx, sh p11.SessionHandle, h p11.ObjectHandle) (keyObject, bool) {
	kt, ok := attr(mod, sh, h, p11.CKA_KEY_TYPE)
	if !ok {
		return keyObject{}, false
	}
	t, ok := ulong(kt)
	if !ok {
		return keyObject{}, false
	}
	id, _ := attr(mod, sh, h, p11.CKA_ID)
	label, _ := attr(mod, sh, h, p11.CKA_LABEL)
	return keyObject{
		handle:     h,
		id:         id,
		label:      string(label),
		keyType:    t,
		alwaysAuth: boolAttr(attr(mod, sh, h, p11.CKA_ALWAYS_AUTHENTICATE)),
	}, true
}

// keyMatch is the answer of publicKeyMatches.
type keyMatch int

const (
	keyDiffers keyMatch = iota // the key is not the certificate's
	keyMatches                 // the key's public attributes are the certificate's
	keyUnknown                 // the token does not say; a test signature must decide
)

// publicKeyMatches compares the public half of the private key k with pub
// using the attributes the token exposes: the modulus and exponent of an
// RSA key; the curve of an EC key, and the point of a public key object
// with the same CKA_ID.
func publicKeyMatches(mod *p11.Ctx, sh p11.SessionHandle, k keyObject, pub crypto.PublicKey) keyMatch {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if k.keyType != p11.CKK_RSA {
			return keyDiffers
		}
		n, ok := attr(mod, sh, k.handle, p11.CKA_MODULUS)
		if !ok {
			return keyUnknown
		}
		if new(big.Int).SetBytes(n).Cmp(pub.N) != 0 {
			return keyDiffers
		}
		if e, ok := attr(mod, sh, k.handle, p11.CKA_PUBLIC_EXPONENT); ok &&
			new(big.Int).SetBytes(e).Cmp(big.NewInt(int64(pub.E))) != 0 {
			return keyDiffers
		}
		return keyMatches
	case *ecdsa.PublicKey:
		if k.keyType != p11.CKK_EC {
			return keyDiffers
		}
		want, err := curveOID(pub.Curve)
		if err != nil {
			return keyDiffers
		}
		if params, ok := attr(mod, sh, k.handle, p11.CKA_EC_PARAMS); ok && !bytes.Equal(params, want) {
			return keyDiffers
		}
		point, err := pub.Bytes()
		if err != nil {
			return keyDiffers
		}
		if p, ok := attr(mod, sh, k.handle, p11.CKA_EC_POINT); ok {
			return boolMatch(ecPointEqual(p, point))
		}
		if len(k.id) == 0 {
			return keyUnknown
		}
		pubs, err := findObjects(mod, sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_ID, k.id),
		})
		if err != nil {
			return keyUnknown
		}
		for _, h := range pubs {
			if p, ok := attr(mod, sh, h, p11.CKA_EC_POINT); ok && ecPointEqual(p, point) {
				return keyMatches
			}
		}
		// A public key object with another point under the same CKA_ID
		// proves nothing about the private key; let a signature decide.
		return keyUnknown
	}
	return keyDiffers
}

func boolMatch(b bool) keyMatch {
	if b {
		return keyMatches
	}
	return keyDiffers
}

// ecPointEqual compares a CKA_EC_POINT value (a DER OCTET STRING holding the
// uncompressed point, or the raw point as some modules return) with the
// uncompressed point want.
func ecPointEqual(attr, want []byte) bool {
	var inner []byte
	if rest, err := asn1.Unmarshal(attr, &inner); err == nil && len(rest) == 0 {
		return bytes.Equal(inner, want)
	}
	return bytes.Equal(attr, want)
}

// curveOID returns the DER-encoded named-curve OID of c (CKA_EC_PARAMS).
func curveOID(c elliptic.Curve) ([]byte, error) {
	var oid asn1.ObjectIdentifier
	switch c {
	case elliptic.P256():
		oid = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	case elliptic.P384():
		oid = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	case elliptic.P521():
		oid = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	default:
		return nil, errors.New("pkcs11: unsupported curve")
	}
	return asn1.Marshal(oid)
}

// issuedBy reports whether parent issued child: the names chain and
// parent's key verifies child's signature. (The official helper's
// certIssues returns the opposite; see protocol.md §1.4.)
func issuedBy(child, parent *x509.Certificate) bool {
	return bytes.Equal(child.RawIssuer, parent.RawSubject) && child.CheckSignatureFrom(parent) == nil
}

// buildChain returns the certificates of pool that certify leaf, nearest
// first: the issuer of leaf, then its issuer, and so on up to a
// self-signed certificate or the first certificate with no issuer in pool.
// Certificates that are not on that path (other leaves, unrelated CAs) and
// copies of leaf are left out.
func buildChain(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	var rest []*x509.Certificate
	for _, c := range pool {
		if !c.Equal(leaf) {
			rest = append(rest, c)
		}
	}
	var chain []*x509.Certificate
	for cur := leaf; len(rest) > 0; {
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) && cur.CheckSignatureFrom(cur) == nil {
			break // self-signed: the path ends here
		}
		next := -1
		for i, c := range rest {
			if issuedBy(cur, c) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		cur = rest[next]
		chain = append(chain, cur)
		rest = append(rest[:next], rest[next+1:]...)
	}
	return chain
}
