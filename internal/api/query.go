package api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/sigv4"
)

// awsQuery protocol (STS 2011-06-15, IAM 2010-05-08): form-encoded
// parameters in, XML out. See docs/service.md §5.1.

// queryResponse is <ActionResponse xmlns=…><ActionResult>…</ActionResult>
// <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>.
// Result must be a struct whose XMLName tag names the ActionResult element.
type queryResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	Result    any
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// queryErrorResponse is the awsQuery error envelope.
type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// writeQueryResult writes a 200 awsQuery response for action in namespace ns.
func (h *Handler) writeQueryResult(w http.ResponseWriter, r *http.Request, ns, action string, result any) {
	b, err := xml.Marshal(queryResponse{XMLName: xml.Name{Local: action + "Response"}, Xmlns: ns, Result: result, RequestID: RequestID(r.Context())})
	if err != nil {
		h.queryError(w, r, ns, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

// queryError writes err as an awsQuery ErrorResponse in namespace ns.
// SigV4 and credential failures and API errors carry their AWS code, status
// and message; anything else is logged with the request id and answered with
// a generic 500 InternalFailure.
func (h *Handler) queryError(w http.ResponseWriter, r *http.Request, ns string, err error) {
	code, status, msg, ok := queryErrorFields(err)
	id := RequestID(r.Context())
	if !ok {
		h.cfg.Logger.ErrorContext(r.Context(), "internal error", "request_id", id, "path", r.URL.Path, "err", err)
		code, status, msg = "InternalFailure", http.StatusInternalServerError, "An internal error occurred. Request id "+id+"."
	} else {
		h.cfg.Logger.InfoContext(r.Context(), "request refused", "request_id", id, "path", r.URL.Path, "code", code, "message", msg, "cause", err.Error())
	}
	var e queryErrorResponse
	e.Xmlns = ns
	e.Error.Type = "Sender"
	if status >= 500 {
		e.Error.Type = "Receiver"
	}
	e.Error.Code, e.Error.Message, e.RequestID = code, msg, id
	b, _ := xml.Marshal(e)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

// queryErrorFields returns the AWS code, HTTP status and client-safe message
// of err, if it is an error the client may see.
func queryErrorFields(err error) (code string, status int, msg string, ok bool) {
	var se *sigv4.Error
	var te *sts.TokenError
	switch {
	case errors.As(err, &te):
		return te.Code(), te.HTTPStatus(), te.Message(), true
	case errors.As(err, &se):
		return se.Code, se.HTTPStatus(), se.Message, true
	}
	if ae, ok := apierr.As(err); ok {
		return ae.Code, ae.Status, ae.Message, true
	}
	return "", 0, "", false
}

// queryParams returns the parameters of an awsQuery request: the URL query,
// then (for POST) the form-encoded body.
func queryParams(r *http.Request, body []byte) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apierr.New("MalformedQueryString", http.StatusBadRequest, "The query string is malformed.")
	}
	if r.Method == http.MethodPost && len(body) > 0 {
		ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		if !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
			return nil, apierr.New("InvalidParameterValue", http.StatusBadRequest,
				"Content-Type must be application/x-www-form-urlencoded.")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, apierr.New("MalformedQueryString", http.StatusBadRequest, "The request body is not a valid form encoding.")
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	return params, nil
}

// validationError is the query protocol's 400 ValidationError.
func validationError(format string, args ...any) *apierr.Error {
	return apierr.New(sts.CodeValidationError, http.StatusBadRequest, format, args...)
}

// queryAccessDenied is the query protocol's 403 AccessDenied.
func queryAccessDenied(format string, args ...any) *apierr.Error {
	return apierr.New("AccessDenied", http.StatusForbidden, format, args...)
}
