package policy

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition operators (IAMUG reference_policies_condition_operators.md) and
// set qualifiers (IAMUG reference_policies_multi-value-conditions.md).

// family groups operators that share a value type.
type family uint8

const (
	famString family = iota + 1
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

// cmpOp is the comparison of an ordered (numeric or date) operator.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// opInfo describes a base operator. A negated operator is the complement of
// its positive counterpart, so several values combine as NOR.
type opInfo struct {
	fam     family
	cmp     cmpOp
	negated bool
	fold    bool // case-insensitive (StringEqualsIgnoreCase, Bool)
	like    bool // '*' and '?' are wildcards
}

// operators is the read-only table of base operator names.
var operators = map[string]opInfo{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negated: true},
	"StringEqualsIgnoreCase":    {fam: famString, fold: true},
	"StringNotEqualsIgnoreCase": {fam: famString, fold: true, negated: true},
	"StringLike":                {fam: famString, like: true},
	"StringNotLike":             {fam: famString, like: true, negated: true},
	"NumericEquals":             {fam: famNumeric, cmp: cmpEq},
	"NumericNotEquals":          {fam: famNumeric, cmp: cmpEq, negated: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate, cmp: cmpEq},
	"DateNotEquals":             {fam: famDate, cmp: cmpEq, negated: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool, fold: true},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negated: true},
	"ArnEquals":                 {fam: famARN, like: true},
	"ArnLike":                   {fam: famARN, like: true},
	"ArnNotEquals":              {fam: famARN, like: true, negated: true},
	"ArnNotLike":                {fam: famARN, like: true, negated: true},
	"Null":                      {fam: famNull},
}

// qualifier is a set operator prefix.
type qualifier uint8

const (
	qualNone qualifier = iota
	qualForAll
	qualForAny
)

// condition is one compiled (operator, key, values) triple of a Condition
// block. Values are parsed into their types at compile time.
type condition struct {
	op       opInfo
	qual     qualifier
	ifExists bool
	name     string // operator as written, for explanations
	key      string // lower-cased condition key

	strs  []pattern // String, Bool
	arns  []arnPattern
	nums  []float64
	dates []time.Time
	nets  []netip.Prefix
	bins  []string
	nulls []bool
}

// parseOperator splits an operator name into qualifier, base operator and
// IfExists.
func parseOperator(name string) (opInfo, qualifier, bool, error) {
	q := qualNone
	base := name
	if b, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		q, base = qualForAll, b
	} else if b, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		q, base = qualForAny, b
	}
	ifExists := false
	if b, ok := strings.CutSuffix(base, "IfExists"); ok {
		ifExists, base = true, b
	}
	op, ok := operators[base]
	if !ok {
		return opInfo{}, 0, false, fmt.Errorf("unknown condition operator %q", name)
	}
	if op.fam == famNull && (ifExists || q != qualNone) {
		return opInfo{}, 0, false, fmt.Errorf("Null cannot be combined with IfExists or a set qualifier")
	}
	return op, q, ifExists, nil
}

// addValue parses one policy value for the condition's operator.
func (c *condition) addValue(v string, vars bool) error {
	switch c.op.fam {
	case famString:
		c.strs = append(c.strs, compilePattern(parseTemplate(v, c.op.like, vars, c.op.fold), c.op.fold))
	case famBool:
		if !(vars && hasVariable(v)) && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("%q is not a boolean (want true or false)", v)
		}
		c.strs = append(c.strs, compilePattern(parseTemplate(v, false, vars, true), true))
	case famARN:
		if v != "*" && !(vars && hasVariable(v) && !strings.HasPrefix(v, "arn:")) {
			if err := checkARNPattern(v, vars); err != nil {
				return err
			}
		}
		c.arns = append(c.arns, compileARN(v, vars))
	case famNumeric:
		f, err := parseNumber(v)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		c.nums = append(c.nums, f)
	case famDate:
		t, err := parseDate(v)
		if err != nil {
			return fmt.Errorf("%q is not a date (want ISO 8601, e.g. 2026-01-02T15:04:05Z, or epoch seconds)", v)
		}
		c.dates = append(c.dates, t)
	case famBinary:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return fmt.Errorf("%q is not base64", v)
		}
		c.bins = append(c.bins, string(b))
	case famIP:
		p, err := parseCIDR(v)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR block", v)
		}
		c.nets = append(c.nets, p)
	case famNull:
		switch strings.ToLower(v) {
		case "true":
			c.nulls = append(c.nulls, true)
		case "false":
			c.nulls = append(c.nulls, false)
		default:
			return fmt.Errorf("%q is not a boolean (Null takes true or false)", v)
		}
	}
	return nil
}

// parseNumber parses an integer or decimal.
func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, strconv.ErrSyntax
	}
	return f, nil
}

// parseCIDR parses a CIDR block; a bare address is a host (/32 or /128).
func parseCIDR(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseDate accepts the W3C profile of ISO 8601 (YYYY, YYYY-MM,
// YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.s…]]TZD, TZD optional meaning UTC) and
// epoch seconds. One layout is chosen from the shape of s, so a failed
// parse costs one attempt.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, strconv.ErrSyntax
	}
	digits := true
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-') {
			digits = false
			break
		}
	}
	if digits && len(s) != 4 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(n, 0).UTC(), nil
	}
	var layout string
	switch {
	case len(s) == 4:
		layout = "2006"
	case len(s) == 7:
		layout = "2006-01"
	case len(s) == 10:
		layout = "2006-01-02"
	case len(s) > 10 && s[10] == 'T':
		zoned := strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") || strings.LastIndexAny(s[11:], "+-") >= 0
		withSec := len(s) >= 19 && s[16] == ':'
		switch {
		case zoned && withSec:
			layout = "2006-01-02T15:04:05Z07:00"
		case zoned:
			layout = "2006-01-02T15:04Z07:00"
		case withSec:
			layout = "2006-01-02T15:04:05"
		default:
			layout = "2006-01-02T15:04"
		}
	default:
		return time.Time{}, strconv.ErrSyntax
	}
	return time.Parse(layout, s)
}

// eval reports whether the condition holds for the request context.
func (c *condition) eval(ctx *Context) bool {
	e := ctx.entry(c.key)
	if c.op.fam == famNull {
		for _, wantAbsent := range c.nulls {
			if wantAbsent != (e != nil) {
				return true
			}
		}
		return false
	}
	if e == nil {
		switch {
		case c.ifExists:
			return true
		case c.qual == qualForAll:
			return true
		case c.qual == qualForAny:
			return false
		}
		return c.op.negated
	}
	switch c.qual {
	case qualForAll:
		for i := range e.vals {
			if c.matchAny(e, i, ctx) == c.op.negated {
				return false
			}
		}
		return true
	case qualForAny:
		for i := range e.vals {
			if c.matchAny(e, i, ctx) != c.op.negated {
				return true
			}
		}
		return false
	}
	// Unqualified: a multi-valued key matches if any of its values
	// matches; a negated operator holds if none does.
	for i := range e.vals {
		if c.matchAny(e, i, ctx) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// matchAny reports whether request value i of e matches at least one
// policy value under the positive form of the operator.
func (c *condition) matchAny(e *ctxEntry, i int, ctx *Context) bool {
	switch c.op.fam {
	case famString, famBool:
		v := e.vals[i]
		for j := range c.strs {
			if c.strs[j].match(v, ctx) {
				return true
			}
		}
	case famARN:
		v := e.vals[i]
		for j := range c.arns {
			if c.arns[j].match(v, ctx) {
				return true
			}
		}
	case famNumeric:
		tv := &e.typed[i]
		if !tv.numOK {
			return false
		}
		for _, n := range c.nums {
			if compare(tv.num, n, c.op.cmp) {
				return true
			}
		}
	case famDate:
		tv := &e.typed[i]
		if !tv.timeOK {
			return false
		}
		for j := range c.dates {
			if compare(tv.time.Compare(c.dates[j]), 0, c.op.cmp) {
				return true
			}
		}
	case famBinary:
		v := e.vals[i]
		for _, b := range c.bins {
			if v == b {
				return true
			}
		}
	case famIP:
		a := e.typed[i].addr
		if !a.IsValid() {
			return false
		}
		for _, n := range c.nets {
			if n.Contains(a) {
				return true
			}
		}
	}
	return false
}

// compare applies an ordered comparison.
func compare[T int | float64](a, b T, op cmpOp) bool {
	switch op {
	case cmpEq:
		return a == b
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return false
}
