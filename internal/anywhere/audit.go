package anywhere

import (
	"context"
	"net/http"
	"net/url"

	"github.com/roam-project/roam/sigv4"
)

// SessionOutcome describes a CreateSession that minted credentials, for the
// audit log and metrics. Every string is one the snapshot or the verified
// certificate already holds: building it costs CreateSession no parsing and
// no allocation beyond the struct.
type SessionOutcome struct {
	// RemoteAddr is the client's address as the server saw it (host:port).
	RemoteAddr string
	// TrustAnchorARN, ProfileARN and RoleARN are what the session was
	// issued through and for.
	TrustAnchorARN, ProfileARN, RoleARN string
	// Subject, SerialNumber and SubjectARN identify the certificate.
	Subject, SerialNumber, SubjectARN string
	// SessionName and SourceIdentity are the session's.
	SessionName, SourceIdentity string
}

// SessionObserver is handed every successful CreateSession. It runs on the
// request path and must not block (queue the work).
type SessionObserver func(ctx context.Context, o SessionOutcome)

// observe hands a successful CreateSession to the configured observer.
func (s *Service) observe(ctx context.Context, r *http.Request, an *anchor, pr *profile, ro *role, vc *verifiedChain, sessionName string) {
	if s.cfg.Observe == nil {
		return
	}
	s.cfg.Observe(ctx, SessionOutcome{
		RemoteAddr: r.RemoteAddr, TrustAnchorARN: an.arn, ProfileARN: pr.arn, RoleARN: ro.arn,
		Subject: vc.subject, SerialNumber: vc.serial, SubjectARN: vc.subjectARN,
		SessionName: sessionName, SourceIdentity: vc.sourceIdentity,
	})
}

// FailedSession is what can be said about a refused CreateSession, for the
// audit log and metrics.
type FailedSession struct {
	// TrustAnchorARN and ProfileARN are set only when they name a trust
	// anchor or profile of the current snapshot: attacker-chosen strings
	// must not become metric labels.
	TrustAnchorARN, ProfileARN string
	// RoleARN is the role asked for, as sent (bounded by the request size).
	RoleARN string
	// Subject and SerialNumber are those of the X-Amz-X509 certificate, as
	// claimed: it may be the certificate that was refused.
	Subject, SerialNumber string
}

// DescribeFailure re-reads a refused CreateSession request for the audit
// log. It runs only on the failure path, never on the success path, so
// CreateSession itself pays nothing for it.
func (s *Service) DescribeFailure(r *http.Request, body []byte) FailedSession {
	var f FailedSession
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	if req, err := ParseRequest(query, body); err == nil {
		f.RoleARN = req.RoleARN
		if snap := s.snap.Load(); snap != nil {
			if an, ok := snap.anchors[req.TrustAnchorID]; ok && an.arn == req.TrustAnchorARN {
				f.TrustAnchorARN = an.arn
			}
			if pr, ok := snap.profiles[req.ProfileID]; ok && pr.arn == req.ProfileARN {
				f.ProfileARN = pr.arn
			}
		}
	}
	if r.Header.Get(sigv4.HeaderX509) != "" {
		if leaf, _, err := sigv4.ParseCertificateHeaders(r.Header); err == nil && leaf != nil {
			f.Subject, f.SerialNumber = leaf.Subject.String(), leaf.SerialNumber.String()
		}
	}
	return f
}
