package pkcs11

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	pkcs11uri "github.com/stefanberger/go-pkcs11uri"
)

// URI is a parsed RFC 7512 PKCS#11 URI. A PKCS#11 URI is a search term: every
// attribute that is set must match, every attribute that is not set matches
// anything. Only the attributes roam uses are kept; vendor attributes are
// accepted and ignored, as RFC 7512 §2.3 asks.
//
// The PIN (pin-value, or the contents of the file named by pin-source) is
// kept unexported so that it cannot end up in logs by accident; String
// redacts it.
type URI struct {
	// Token attributes (CK_TOKEN_INFO).
	Token        string // token=: the token label
	Manufacturer string // manufacturer=
	Model        string // model=
	Serial       string // serial=
	// Slot attributes (CK_SLOT_INFO).
	SlotDescription  string // slot-description=
	SlotManufacturer string // slot-manufacturer=
	SlotID           uint   // slot-id=, when HasSlotID
	HasSlotID        bool
	// Library attributes (CK_INFO).
	LibraryManufacturer string // library-manufacturer=
	LibraryDescription  string // library-description=
	// Object attributes.
	Object    string // object=: CKA_LABEL, when HasObject
	HasObject bool
	ID        []byte // id=: CKA_ID, raw bytes; nil when absent
	Type      string // type=: cert, private, public, secret-key or data

	// Query attributes.
	ModulePath string // module-path=: the module to load
	ModuleName string // module-name=
	PINSource  string // pin-source=: a file holding the PIN

	pin    string
	hasPIN bool
}

// maxURILength bounds the input to ParseURI; real URIs are a few hundred
// bytes.
const maxURILength = 8 << 10

// ErrMalformedURI is wrapped by every ParseURI error.
var ErrMalformedURI = errors.New("malformed PKCS#11 URI")

// ParseURI parses a "pkcs11:" URI (RFC 7512). Errors never quote the query
// part of the URI, which may hold the PIN.
func ParseURI(s string) (*URI, error) {
	if !strings.HasPrefix(s, "pkcs11:") {
		return nil, fmt.Errorf("%w: it must start with \"pkcs11:\"", ErrMalformedURI)
	}
	if len(s) > maxURILength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedURI, maxURILength)
	}
	p := pkcs11uri.New()
	if err := p.Parse(s); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedURI, redactParseError(err))
	}
	u := &URI{}
	get := func(name string) string { v, _ := p.GetPathAttribute(name, false); return v }
	u.Token = get("token")
	u.Manufacturer = get("manufacturer")
	u.Model = get("model")
	u.Serial = get("serial")
	u.SlotDescription = get("slot-description")
	u.SlotManufacturer = get("slot-manufacturer")
	u.LibraryManufacturer = get("library-manufacturer")
	u.LibraryDescription = get("library-description")
	u.Object, u.HasObject = p.GetPathAttribute("object", false)
	if id, ok := p.GetPathAttribute("id", false); ok {
		u.ID = []byte(id)
	}
	u.Type = get("type")
	if v, ok := p.GetPathAttribute("slot-id", false); ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: slot-id %q is not a slot number", ErrMalformedURI, v)
		}
		u.SlotID, u.HasSlotID = uint(n), true
	}
	q := func(name string) string { v, _ := p.GetQueryAttribute(name, false); return v }
	u.ModulePath = q("module-path")
	u.ModuleName = q("module-name")
	u.PINSource = q("pin-source")
	u.pin, u.hasPIN = p.GetQueryAttribute("pin-value", false)
	return u, nil
}

// redactParseError turns an error of the URI library into text that cannot
// contain a PIN: the library quotes the offending characters of a bad
// percent-escape, which may sit in pin-value.
func redactParseError(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "escape"):
		return "invalid percent-encoding"
	case strings.Contains(msg, "query attribute"):
		return "malformed query attribute"
	case strings.Contains(msg, "path attribute"):
		return "malformed path attribute"
	case strings.Contains(msg, "pin-source and pin-value"):
		return "pin-source and pin-value are mutually exclusive"
	case strings.Contains(msg, "slot-id"), strings.Contains(msg, "library-version"),
		strings.Contains(msg, "Invalid type"), strings.Contains(msg, "module-name"):
		// These quote path attributes or module-path, never the PIN.
		return msg
	}
	return "cannot parse"
}

// PIN returns the pin-value query attribute.
func (u *URI) PIN() (pin string, ok bool) { return u.pin, u.hasPIN }

// WithPIN returns a copy of u whose pin-value is pin.
func (u *URI) WithPIN(pin string) *URI {
	c := u.clone()
	c.pin, c.hasPIN = pin, true
	return c
}

func (u *URI) clone() *URI {
	c := *u
	c.ID = slices.Clone(u.ID)
	return &c
}

// String formats u as a PKCS#11 URI with any pin-value replaced by
// "REDACTED", for messages.
func (u *URI) String() string { return u.format(false) }

// format formats u; the PIN is included only when withPIN is true.
func (u *URI) format(withPIN bool) string {
	var path, query []string
	add := func(dst *[]string, name, v string, set bool, isPath bool) {
		if set {
			*dst = append(*dst, name+"="+escape(v, isPath))
		}
	}
	add(&path, "library-manufacturer", u.LibraryManufacturer, u.LibraryManufacturer != "", true)
	add(&path, "library-description", u.LibraryDescription, u.LibraryDescription != "", true)
	add(&path, "slot-manufacturer", u.SlotManufacturer, u.SlotManufacturer != "", true)
	add(&path, "slot-description", u.SlotDescription, u.SlotDescription != "", true)
	if u.HasSlotID {
		path = append(path, "slot-id="+strconv.FormatUint(uint64(u.SlotID), 10))
	}
	add(&path, "manufacturer", u.Manufacturer, u.Manufacturer != "", true)
	add(&path, "model", u.Model, u.Model != "", true)
	add(&path, "serial", u.Serial, u.Serial != "", true)
	add(&path, "token", u.Token, u.Token != "", true)
	add(&path, "object", u.Object, u.HasObject, true)
	if u.ID != nil {
		var b strings.Builder
		for _, c := range u.ID {
			fmt.Fprintf(&b, "%%%02X", c)
		}
		path = append(path, "id="+b.String())
	}
	add(&path, "type", u.Type, u.Type != "", true)
	add(&query, "module-name", u.ModuleName, u.ModuleName != "", false)
	add(&query, "module-path", u.ModulePath, u.ModulePath != "", false)
	add(&query, "pin-source", u.PINSource, u.PINSource != "", false)
	if u.hasPIN {
		if withPIN {
			add(&query, "pin-value", u.pin, true, false)
		} else {
			query = append(query, "pin-value=REDACTED")
		}
	}
	s := "pkcs11:" + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// escape percent-encodes v for the path (isPath) or the query part of a
// PKCS#11 URI (RFC 7512 §2.3): unreserved characters and the sub-delimiters
// allowed there stay as they are, everything else is %XX.
func escape(v string, isPath bool) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~:[]@!$'()*+,=", c) >= 0,
			isPath && c == '&',
			!isPath && strings.IndexByte("/?|;", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
