package api

import (
	"net/http"

	"github.com/roam-project/roam/internal/apierr"
)

// alwaysAvailable reports whether path is answered even while Config.Available
// fails: liveness, readiness (which says why) and metrics.
// unavailableMessage is the message of the 503 while Available fails.
const unavailableMessage = "The service is temporarily unavailable (its database cannot be reached). Please try again later."

func alwaysAvailable(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// unavailable answers r with 503 ServiceUnavailable in the protocol of the
// API it addresses: awsQuery (ServiceUnavailable, in the namespace of the
// service its credential scope names) for "/", restJson1
// (ServiceUnavailableException) for CreateSession and the Roles Anywhere
// control plane. cause is logged, never shown.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, cause error) {
	if r.URL.Path == "/" {
		svc, ok := h.services[scopeService(r)]
		if !ok {
			svc = h.services[defaultService]
		}
		svc.fail(h, w, r, apierr.New("ServiceUnavailable", http.StatusServiceUnavailable, unavailableMessage).WithCause(cause))
		return
	}
	h.restJSONError(w, r, apierr.New("ServiceUnavailableException", http.StatusServiceUnavailable, unavailableMessage).WithCause(cause))
}
