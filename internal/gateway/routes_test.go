package gateway

import (
	"reflect"
	"strings"
	"testing"
)

func TestRouteTableMatch(t *testing.T) {
	table, err := CompileRouteTable([]APIRoute{
		{Pattern: "GET /customers/{id}", Action: "api:GetCustomer", Resource: "arn:roam:api:::customers/{id}"},
		{Pattern: "DELETE /customers/{id}", Action: "api:DeleteCustomer", Resource: "arn:roam:api:::customers/{id}"},
		{Pattern: "GET /customers/{id}/orders/{order}", Action: "api:GetOrder", Resource: "arn:roam:api:::customers/{id}/orders/{order}"},
		{Pattern: "get /customers", Action: "api:ListCustomers", Resource: "arn:roam:api:::customers"},
		{Pattern: "* /files/{path...}", Action: "api:File", Resource: "arn:roam:api:::files/{path}"},
		{Pattern: "/health", Action: "api:Health", Resource: "arn:roam:api:::health"},
		{Pattern: "GET /swap/{a}/{b}", Action: "api:Swap", Resource: "arn:roam:api:::{b}/{a}"},
		// Never reached for GET /customers/{id}: the first match wins.
		{Pattern: "GET /customers/{other}", Action: "api:Shadowed", Resource: "arn:roam:api:::shadowed/{other}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path string
		action, resource   string // action "" means no match
		vars               map[string]string
	}{
		{name: "GetCustomer", method: "GET", path: "/customers/42", action: "api:GetCustomer", resource: "arn:roam:api:::customers/42", vars: map[string]string{"id": "42"}},
		{name: "DeleteCustomer by method", method: "DELETE", path: "/customers/42", action: "api:DeleteCustomer", resource: "arn:roam:api:::customers/42", vars: map[string]string{"id": "42"}},
		{name: "two variables", method: "GET", path: "/customers/7/orders/o-1", action: "api:GetOrder", resource: "arn:roam:api:::customers/7/orders/o-1", vars: map[string]string{"id": "7", "order": "o-1"}},
		{name: "lower-case method in pattern", method: "GET", path: "/customers", action: "api:ListCustomers", resource: "arn:roam:api:::customers"},
		{name: "escaped variable is decoded", method: "GET", path: "/customers/J%C3%BCrgen%20M", action: "api:GetCustomer", resource: "arn:roam:api:::customers/Jürgen M", vars: map[string]string{"id": "Jürgen M"}},
		{name: "rest variable, any method", method: "PUT", path: "/files/a/b%20c/d.txt", action: "api:File", resource: "arn:roam:api:::files/a/b c/d.txt", vars: map[string]string{"path": "a/b c/d.txt"}},
		{name: "rest variable decodes an escaped slash", method: "GET", path: "/files/a%2Fb", action: "api:File", resource: "arn:roam:api:::files/a/b", vars: map[string]string{"path": "a/b"}},
		{name: "pattern without method", method: "POST", path: "/health", action: "api:Health", resource: "arn:roam:api:::health"},
		{name: "substitution is one pass", method: "GET", path: "/swap/%7Bb%7D/x", action: "api:Swap", resource: "arn:roam:api:::x/{b}", vars: map[string]string{"a": "{b}", "b": "x"}},

		{name: "method mismatch", method: "POST", path: "/customers/42"},
		{name: "HEAD is not GET", method: "HEAD", path: "/customers/42"},
		{name: "method is case-sensitive on the request", method: "get", path: "/customers/42"},
		{name: "no route", method: "GET", path: "/orders/1"},
		{name: "extra segment", method: "GET", path: "/customers/42/extra"},
		{name: "trailing slash", method: "GET", path: "/customers/42/"},
		{name: "empty variable", method: "GET", path: "/customers/"},
		{name: "escaped slash in a single-segment variable", method: "GET", path: "/customers/4%2F2"},
		{name: "dot-dot variable", method: "GET", path: "/customers/.."},
		{name: "escaped dot-dot variable", method: "GET", path: "/customers/%2e%2e"},
		{name: "wildcard in a variable", method: "GET", path: "/customers/%2A"},
		{name: "question mark in a variable", method: "GET", path: "/customers/a%3Fb"},
		{name: "bad escape", method: "GET", path: "/customers/%zz"},
		{name: "literal segment is not decoded", method: "GET", path: "/c%75stomers/42"},
		{name: "rest variable with a dot-dot segment", method: "GET", path: "/files/a/../../customers/42"},
		{name: "rest variable with an escaped dot-dot segment", method: "GET", path: "/files/a/%2E%2E/b"},
		{name: "empty rest variable", method: "GET", path: "/files/"},
		{name: "rest variable missing", method: "GET", path: "/files"},
		{name: "relative path", method: "GET", path: "customers/42"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Variables are substituted from a map: repeat to catch
			// order-dependent results.
			for range 20 {
				m, ok := table.Match(c.method, c.path)
				if c.action == "" {
					if ok {
						t.Fatalf("matched %q → %s %s, want no match", m.Pattern, m.Action, m.Resource)
					}
					return
				}
				if !ok {
					t.Fatalf("no match, want %s", c.action)
				}
				if m.Action != c.action || m.Resource != c.resource {
					t.Fatalf("got %s on %q, want %s on %q", m.Action, m.Resource, c.action, c.resource)
				}
				if len(m.Vars) != 0 || len(c.vars) != 0 {
					if !reflect.DeepEqual(m.Vars, c.vars) {
						t.Fatalf("vars %v, want %v", m.Vars, c.vars)
					}
				}
			}
		})
	}
	if _, ok := (*RouteTable)(nil).Match("GET", "/customers/1"); ok {
		t.Error("a nil table matched")
	}
}

func TestCompileRouteTableErrors(t *testing.T) {
	cases := []struct {
		name  string
		route APIRoute
		want  string
	}{
		{"relative path", APIRoute{Pattern: "GET customers/{id}", Action: "api:Get", Resource: "arn:x:::{id}"}, "path must start with /"},
		{"rest not last", APIRoute{Pattern: "GET /files/{p...}/x", Action: "api:Get", Resource: "arn:x:::{p}"}, "must be the last segment"},
		{"bad variable name", APIRoute{Pattern: "GET /c/{a-b}", Action: "api:Get", Resource: "arn:x:::c"}, `bad variable name "a-b"`},
		{"empty variable name", APIRoute{Pattern: "GET /c/{}", Action: "api:Get", Resource: "arn:x:::c"}, `bad variable name ""`},
		{"variable twice", APIRoute{Pattern: "GET /c/{id}/{id}", Action: "api:Get", Resource: "arn:x:::{id}"}, `"id" used twice`},
		{"partial-segment variable", APIRoute{Pattern: "GET /c/id-{id}", Action: "api:Get", Resource: "arn:x:::c"}, "must be a whole segment"},
		{"action without service", APIRoute{Pattern: "GET /c", Action: "GetCustomer", Resource: "arn:x:::c"}, "must be service:Action"},
		{"action with a variable", APIRoute{Pattern: "GET /c/{id}", Action: "api:{id}", Resource: "arn:x:::c"}, "must be service:Action"},
		{"no resource", APIRoute{Pattern: "GET /c", Action: "api:Get"}, "resource is required"},
		{"unbound resource variable", APIRoute{Pattern: "GET /c/{id}", Action: "api:Get", Resource: "arn:x:::c/{name}"}, "does not bind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CompileRouteTable([]APIRoute{c.route})
			if err == nil {
				t.Fatalf("compiled %+v", c.route)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.route.Pattern) {
				t.Errorf("error %q, want it to name the pattern and say %q", err, c.want)
			}
		})
	}
	// Every bad entry is reported, by index.
	_, err := CompileRouteTable([]APIRoute{
		{Pattern: "GET /ok/{id}", Action: "api:Ok", Resource: "arn:x:::{id}"},
		{Pattern: "GET bad", Action: "api:A", Resource: "arn:x:::a"},
		{Pattern: "GET /b", Action: "nope", Resource: "arn:x:::b"},
	})
	if err == nil || !strings.Contains(err.Error(), `[1] "GET bad"`) || !strings.Contains(err.Error(), `[2] "GET /b"`) || strings.Contains(err.Error(), "[0]") {
		t.Errorf("error %v, want entries 1 and 2 reported", err)
	}
}
