package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// awsQuery request parameters form a tree: "Tags.member.2.Key" is the Key
// field of the second member of the list Tags. formNode is one node of it,
// built by parseForm; the IAM handlers read their parameters from it.

// Bounds of parseForm, against hostile input.
const (
	maxFormDepth   = 8    // dotted segments below a top-level name
	maxFormIndex   = 1000 // largest list index (IAM lists are far shorter)
	maxFormEntries = 2000 // parameters in one request
)

// formNode is a value, a structure (named children) or a list (indexed
// members). A node is exactly one of them.
type formNode struct {
	value    string
	hasValue bool
	children map[string]*formNode
	members  map[int]*formNode
}

// formError is a malformed parameter name or list.
type formError struct{ msg string }

func (e *formError) Error() string { return e.msg }

func formErrorf(format string, args ...any) error {
	return &formError{msg: fmt.Sprintf(format, args...)}
}

// parseForm builds the parameter tree of params. Names are split on '.';
// "member" must be followed by a list index from 1 to maxFormIndex. A name
// that is both a value and a structure or list, a repeated name, an empty
// segment or a malformed index is an error.
func parseForm(params url.Values) (*formNode, error) {
	if len(params) > maxFormEntries {
		return nil, formErrorf("Too many parameters: %d (at most %d).", len(params), maxFormEntries)
	}
	root := &formNode{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if !yield(k) {
				return
			}
		}
	}) {
		vals := params[name]
		if len(vals) != 1 {
			return nil, formErrorf("Parameter %s is given %d times.", truncate(name), len(vals))
		}
		segs := strings.Split(name, ".")
		if len(segs) > maxFormDepth+1 {
			return nil, formErrorf("Parameter name %s is nested too deeply.", truncate(name))
		}
		n := root
		for i := 0; i < len(segs); i++ {
			seg := segs[i]
			if seg == "" {
				return nil, formErrorf("Parameter name %s is malformed.", truncate(name))
			}
			if n.hasValue {
				return nil, formErrorf("Parameter %s is both a value and a structure.", truncate(name))
			}
			if seg == "member" && i > 0 {
				if i+1 >= len(segs) {
					return nil, formErrorf("Parameter name %s lacks a list index.", truncate(name))
				}
				idx, err := strconv.Atoi(segs[i+1])
				if err != nil || idx < 1 || idx > maxFormIndex || segs[i+1] != strconv.Itoa(idx) {
					return nil, formErrorf("Parameter name %s has an invalid list index.", truncate(name))
				}
				if n.children != nil {
					return nil, formErrorf("Parameter %s is both a list and a structure.", truncate(name))
				}
				if n.members == nil {
					n.members = map[int]*formNode{}
				}
				c := n.members[idx]
				if c == nil {
					c = &formNode{}
					n.members[idx] = c
				}
				n = c
				i++
				continue
			}
			if n.members != nil {
				return nil, formErrorf("Parameter %s is both a list and a structure.", truncate(name))
			}
			if n.children == nil {
				n.children = map[string]*formNode{}
			}
			c := n.children[seg]
			if c == nil {
				c = &formNode{}
				n.children[seg] = c
			}
			n = c
		}
		if n.children != nil || n.members != nil {
			return nil, formErrorf("Parameter %s is both a value and a structure.", truncate(name))
		}
		n.value, n.hasValue = vals[0], true
	}
	return root, nil
}

// names returns the node's child names, sorted.
func (n *formNode) names() []string {
	out := make([]string, 0, len(n.children))
	for k := range n.children {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// child returns the named child or nil.
func (n *formNode) child(name string) *formNode {
	if n == nil {
		return nil
	}
	return n.children[name]
}

// str returns the value of the named child and whether it is present. A
// child that is a structure or list is reported as present with value "".
func (n *formNode) str(name string) (string, bool) {
	c := n.child(name)
	if c == nil {
		return "", false
	}
	return c.value, true
}

// get returns the value of the named child, "" when absent.
func (n *formNode) get(name string) string {
	v, _ := n.str(name)
	return v
}

// list returns the members of the named list in index order. Indices must
// run from 1 without gaps. An absent list is empty; so is a list sent as
// the empty value ("Tags=", how the SDKs send an empty list).
func (n *formNode) list(name string) ([]*formNode, error) {
	c := n.child(name)
	if c == nil || c.hasValue && c.value == "" {
		return nil, nil
	}
	if c.members == nil {
		return nil, formErrorf("Parameter %s must be a list (%s.member.N).", name, name)
	}
	out := make([]*formNode, len(c.members))
	for idx, m := range c.members {
		if idx > len(c.members) {
			return nil, formErrorf("List %s skips an index: members must be numbered from 1 without gaps.", name)
		}
		out[idx-1] = m
	}
	return out, nil
}

// strings returns the values of the named list of strings.
func (n *formNode) strings(name string) ([]string, error) {
	ms, err := n.list(name)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ms))
	for i, m := range ms {
		if !m.hasValue {
			return nil, formErrorf("Member %d of %s must be a string.", i+1, name)
		}
		out = append(out, m.value)
	}
	return out, nil
}

// checkAllowed reports the first parameter name that is not allowed, and
// checks that each allowed parameter has the expected shape: a value, or
// for names ending in "[]" a list.
func (n *formNode) checkAllowed(action string, allowed []string) error {
	for _, name := range n.names() {
		ok := false
		for _, a := range allowed {
			if strings.TrimSuffix(a, "[]") == name {
				ok = true
				c := n.children[name]
				if !strings.HasSuffix(a, "[]") && !c.hasValue {
					return formErrorf("Parameter %s of %s must be a single value.", name, action)
				}
				break
			}
		}
		if !ok {
			return formErrorf("Unknown parameter %s for operation %s.", truncate(name), action)
		}
	}
	return nil
}
