package policy

import (
	"maps"
	"net/netip"
	"strings"
	"time"
)

// Context holds the condition keys of a request, each with one or more
// values. Keys are case-insensitive: they are lower-cased once by Set, and
// values are parsed once into the types the operators compare (number,
// date, IP address), so evaluation allocates nothing and parses nothing.
// Build a Context once per request; it must not be modified while requests
// using it are evaluated.
//
// A key set with no values counts as absent (for Null, …IfExists and the
// set qualifiers alike). All values are strings in their wire form: numbers
// as decimal text, dates as ISO 8601 or epoch seconds, booleans as
// "true"/"false", binary values as the raw bytes.
type Context struct {
	m map[string]*ctxEntry
}

// ctxEntry is the values of one key with their typed forms.
type ctxEntry struct {
	vals  []string
	typed []typedValue
}

// typedValue is a request value parsed for the non-string operators.
type typedValue struct {
	num    float64
	numOK  bool
	timeOK bool
	time   time.Time
	addr   netip.Addr // invalid unless the value is an IP address
}

func parseTyped(v string) typedValue {
	var tv typedValue
	if v == "" {
		return tv
	}
	if c := v[0]; c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' {
		if f, err := parseNumber(v); err == nil {
			tv.num, tv.numOK = f, true
		}
		if t, err := parseDate(v); err == nil {
			tv.time, tv.timeOK = t, true
		}
	}
	if strings.ContainsAny(v, ".:") {
		if a, err := netip.ParseAddr(v); err == nil {
			tv.addr = a.Unmap().WithZone("")
		}
	}
	return tv
}

// NewContext returns an empty Context.
func NewContext() *Context { return &Context{m: make(map[string]*ctxEntry)} }

// Set replaces the values of key and returns c, so calls can be chained.
func (c *Context) Set(key string, vals ...string) *Context {
	if c.m == nil {
		c.m = make(map[string]*ctxEntry)
	}
	e := &ctxEntry{}
	c.m[strings.ToLower(key)] = e
	e.add(vals)
	return c
}

// Add appends values to key (making it multi-valued) and returns c.
func (c *Context) Add(key string, vals ...string) *Context {
	if c.m == nil {
		c.m = make(map[string]*ctxEntry)
	}
	k := strings.ToLower(key)
	// Entries are never modified once stored (a Clone may share them):
	// build a new one.
	e := &ctxEntry{}
	if old := c.m[k]; old != nil {
		e.vals = append(make([]string, 0, len(old.vals)+len(vals)), old.vals...)
		e.typed = append(make([]typedValue, 0, len(old.typed)+len(vals)), old.typed...)
	}
	e.add(vals)
	c.m[k] = e
	return c
}

// Clone returns a copy of c that Set and Add can change without changing
// c. It shares c's parsed values, so cloning a Context built once and
// setting a few per-request keys on the clone is cheaper than building the
// whole Context again. A nil c clones to an empty Context.
func (c *Context) Clone() *Context {
	if c == nil || c.m == nil {
		return NewContext()
	}
	return &Context{m: maps.Clone(c.m)}
}

func (e *ctxEntry) add(vals []string) {
	for _, v := range vals {
		e.vals = append(e.vals, v)
		e.typed = append(e.typed, parseTyped(v))
	}
}

// Get returns the values of key (case-insensitive) and whether it is set
// with at least one value.
func (c *Context) Get(key string) ([]string, bool) {
	return c.lookup(strings.ToLower(key))
}

// Keys returns the (lower-cased) keys that have values, in no particular
// order.
func (c *Context) Keys() []string {
	if c == nil {
		return nil
	}
	keys := make([]string, 0, len(c.m))
	for k, e := range c.m {
		if len(e.vals) > 0 {
			keys = append(keys, k)
		}
	}
	return keys
}

// lookup finds an already lower-cased key.
func (c *Context) lookup(key string) ([]string, bool) {
	e := c.entry(key)
	if e == nil {
		return nil, false
	}
	return e.vals, true
}

// entry returns the values of an already lower-cased key, or nil when it
// has none.
func (c *Context) entry(key string) *ctxEntry {
	if c == nil {
		return nil
	}
	e := c.m[key]
	if e == nil || len(e.vals) == 0 {
		return nil
	}
	return e
}
