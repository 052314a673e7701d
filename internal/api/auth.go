package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// A service answers requests to "/" whose SigV4 credential scope names it
// (sts now; iam and the rolesanywhere control plane later), so that one
// --endpoint-url serves them all.
type service struct {
	// region is the region the scope must name; "" accepts any (what STS
	// and IAM need: clients sign with whatever region they are set to).
	region string
	// serve answers an authenticated request.
	serve func(h *Handler, w http.ResponseWriter, r *http.Request, body []byte, rc *sts.RequestContext)
	// fail writes an error in the service's protocol.
	fail func(h *Handler, w http.ResponseWriter, r *http.Request, err error)
	// raw, when set, answers the request instead of serve: the service
	// authenticates it itself (h.authenticate, which also accepts admin
	// users' long-term keys), so root only reads the body.
	raw func(h *Handler, w http.ResponseWriter, r *http.Request, body []byte)
}

// defaultService answers requests whose scope cannot be read (their error
// comes from sigv4.ParseRequest) or names no service roam serves.
const defaultService = "sts"

// services is the dispatch table, by SigV4 signing name.
func services() map[string]*service {
	return map[string]*service{
		"sts": {serve: (*Handler).serveSTS, fail: (*Handler).stsError},
		"iam": {raw: (*Handler).serveIAM, fail: (*Handler).iamError},
	}
}

// scopeService returns the service name of r's credential scope, from the
// Authorization header or the X-Amz-Credential query parameter, or "" if
// neither holds a readable scope.
func scopeService(r *http.Request) string {
	var cred string
	if a := r.Header.Get(sigv4.HeaderAuthorization); a != "" {
		for _, part := range strings.Split(a, ",") {
			part = strings.TrimSpace(part)
			if i := strings.Index(part, "Credential="); i >= 0 {
				cred = part[i+len("Credential="):]
				break
			}
		}
	} else {
		cred = r.URL.Query().Get(sigv4.QueryCredential)
	}
	c, err := sigv4.ParseCredential(cred)
	if err != nil {
		return ""
	}
	return c.Scope.Service
}

// root answers POST / and GET /: it finds the service by the credential
// scope, authenticates the request with roam session credentials, builds its
// request context and hands it to the service.
func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	name := scopeService(r)
	svc, ok := h.services[name]
	if !ok {
		svc = h.services[defaultService]
	}
	if h.cfg.Verifier == nil {
		svc.fail(h, w, r, errNotConfigured)
		return
	}
	body, err := readBody(r)
	if err != nil {
		svc.fail(h, w, r, err)
		return
	}
	if name != "" && !ok {
		svc.fail(h, w, r, &sigv4.Error{Code: sigv4.CodeSignatureDoesNotMatch, Err: sigv4.ErrScope,
			// Answered by the default service, in its words (as AWS's STS
			// endpoint would answer a request scoped to another service).
			Message: "Credential should be scoped to correct service: '" + defaultService + "'."})
		return
	}
	if svc.raw != nil {
		svc.raw(h, w, r, body)
		return
	}
	if name == "" {
		name = defaultService
	}
	now := h.cfg.Now()
	s, sc, err := h.cfg.Verifier.Verify(r, body, name, svc.region, now)
	if err != nil {
		svc.fail(h, w, r, err)
		return
	}
	var roleTags []sts.Tag
	if snap := h.cfg.Sessions.Snapshot(); snap != nil {
		if ri, ok := snap.Role(s.RoleARN); ok {
			roleTags = tagList(ri.Record.Tags)
		}
	}
	rc := sts.NewRequestContext(s, r, now, roleTags)
	rc.Service, rc.Region = sc.Service, sc.Region
	svc.serve(h, w, r, body, rc)
}

// tagList returns m as tags sorted by key.
func tagList(m map[string]string) []sts.Tag {
	if len(m) == 0 {
		return nil
	}
	out := make([]sts.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, sts.Tag{Key: k, Value: m[k]})
	}
	return out
}
