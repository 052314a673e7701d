package sts

import (
	"net/http"
	"strings"
	"time"

	"github.com/roam-project/roam/internal/apierr"
)

// CodeValidationError is the query-protocol (STS, IAM) code for a request
// whose parameters are invalid.
const CodeValidationError = "ValidationError"

// MsgChainedDuration is what STS answers when a chained AssumeRole asks for
// more than an hour.
const MsgChainedDuration = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."

// ChainRequest is an AssumeRole request made with a session's credentials
// (role chaining), after the caller has found the target role and checked its
// trust policy.
type ChainRequest struct {
	// RoleARN and RoleID name the role to assume.
	RoleARN, RoleID string
	// SessionName is the new session's name.
	SessionName string
	// Duration is the requested lifetime (at most MaxChainedLifetime).
	Duration time.Duration
	// SourceIdentity is the requested source identity, "" for none. Once a
	// session has one it cannot be changed.
	SourceIdentity string
	// Tags are the session tags passed in the request; Transitive marks those
	// named in TransitiveTagKeys.
	Tags []Tag
	// SessionPolicy and PolicyARNs are the session policies passed in the
	// request.
	SessionPolicy string
	PolicyARNs    []string
	// IssuedAt is the issue time.
	IssuedAt time.Time
}

// ChainedTags returns the tags a session chained from parent carries: the
// parent's transitive tags (still transitive), then the request's tags. A
// request tag whose key equals a transitive tag's key (ignoring case) is a
// ValidationError: transitive tags cannot be overridden down the chain.
func ChainedTags(parent *Session, req []Tag) ([]Tag, error) {
	var out []Tag
	for _, t := range parent.Tags {
		if t.Transitive {
			out = append(out, t)
		}
	}
	inherited := len(out)
	for _, t := range req {
		for _, u := range out[:inherited] {
			if strings.EqualFold(t.Key, u.Key) {
				return nil, apierr.New(CodeValidationError, http.StatusBadRequest,
					"The session tag key %q conflicts with a transitive tag of the calling session; transitive tags cannot be overridden.", t.Key)
			}
		}
		out = append(out, t)
	}
	if len(out) > maxTags {
		return nil, apierr.New(CodeValidationError, http.StatusBadRequest,
			"The session would have %d session tags (including %d transitive tags of the calling session); at most %d are allowed.", len(out), inherited, maxTags)
	}
	return out, nil
}

// ChainedSourceIdentity returns the source identity of a session chained from
// parent: the parent's if it has one (a request for another is a
// ValidationError), otherwise the requested one.
func ChainedSourceIdentity(parent *Session, requested string) (string, error) {
	if parent.SourceIdentity == "" {
		return requested, nil
	}
	if requested != "" && requested != parent.SourceIdentity {
		return "", apierr.New(CodeValidationError, http.StatusBadRequest,
			"The source identity of the calling session cannot be changed once set.")
	}
	return parent.SourceIdentity, nil
}

// ChainSpec returns the SessionSpec for AssumeRole made with parent's
// credentials: chained (at most an hour), carrying the parent's transitive
// tags and source identity, and the parent's origin (trust anchor, profile,
// certificate serial) for audit.
func (kr *Keyring) ChainSpec(parent *Session, req ChainRequest) (SessionSpec, error) {
	if req.Duration > kr.opts.MaxChainedLifetime {
		return SessionSpec{}, apierr.New(CodeValidationError, http.StatusBadRequest, "%s", MsgChainedDuration)
	}
	tags, err := ChainedTags(parent, req.Tags)
	if err != nil {
		return SessionSpec{}, err
	}
	si, err := ChainedSourceIdentity(parent, req.SourceIdentity)
	if err != nil {
		return SessionSpec{}, err
	}
	issued := req.IssuedAt.UTC().Truncate(time.Millisecond)
	return SessionSpec{
		RoleARN:        req.RoleARN,
		RoleID:         req.RoleID,
		SessionName:    req.SessionName,
		SourceIdentity: si,
		Tags:           tags,
		SessionPolicy:  req.SessionPolicy,
		PolicyARNs:     req.PolicyARNs,
		IssuedAt:       issued,
		Expiration:     issued.Add(req.Duration).Truncate(time.Second),
		TrustAnchorARN: parent.TrustAnchorARN,
		ProfileARN:     parent.ProfileARN,
		CertSerial:     parent.CertSerial(),
		Chained:        true,
	}, nil
}
