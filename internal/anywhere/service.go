package anywhere

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
	"github.com/roam-project/roam/pki"
	"github.com/roam-project/roam/sigv4"
)

// ServicePrincipal is the principal CreateSession assumes roles as.
const ServicePrincipal = "rolesanywhere.amazonaws.com"

// maxChainCerts is the most certificates X-Amz-X509-Chain may carry.
const maxChainCerts = 5

// Minter mints temporary credentials; internal/sts's Keyring is one.
type Minter interface {
	Mint(spec sts.SessionSpec) (sts.Credentials, error)
}

// Config configures a Service.
type Config struct {
	Minter Minter
	// RecordSubject, if set, is handed every authentication attempt that got
	// as far as a certificate. It must not block (batch it).
	RecordSubject func(store.SubjectSighting)
	// Observe, if set, is handed every CreateSession that minted
	// credentials (audit, metrics). It must not block.
	Observe SessionObserver
	// Skew is the allowed clock difference for request signatures; 0 means
	// 5 minutes.
	Skew   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Service answers CreateSession from the current snapshot.
type Service struct {
	cfg  Config
	snap atomic.Pointer[Snapshot]
}

// NewService returns a Service with no snapshot; requests fail with 503 until
// SetSnapshot is called.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Skew == 0 {
		cfg.Skew = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// SetSnapshot makes s the snapshot later requests read.
func (s *Service) SetSnapshot(snap *Snapshot) { s.snap.Store(snap) }

// Snapshot returns the current snapshot, or nil.
func (s *Service) Snapshot() *Snapshot { return s.snap.Load() }

// Response is CreateSession's 201 body.
type Response struct {
	CredentialSet []CredentialSetItem `json:"credentialSet"`
	SubjectARN    string              `json:"subjectArn"`
}

// CredentialSetItem is one element of credentialSet.
type CredentialSetItem struct {
	AssumedRoleUser  AssumedRoleUser     `json:"assumedRoleUser"`
	Credentials      ResponseCredentials `json:"credentials"`
	PackedPolicySize int                 `json:"packedPolicySize"`
	RoleARN          string              `json:"roleArn"`
	SourceIdentity   string              `json:"sourceIdentity"`
}

// AssumedRoleUser names the session principal.
type AssumedRoleUser struct {
	ARN           string `json:"arn"`
	AssumedRoleID string `json:"assumedRoleId"`
}

// ResponseCredentials are the credentials in the wire form.
type ResponseCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	Expiration      string `json:"expiration"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
}

// Error messages that match what Roles Anywhere answers.
const (
	msgUntrusted      = "Untrusted signing certificate."
	msgInvalidSig     = "Invalid signature."
	msgSessionName    = "Not authorized to set roleSessionName."
	msgUnableToAssume = "Unable to assume role."
)

// CreateSession runs the CreateSession pipeline for r, whose body has been
// read into body.
func (s *Service) CreateSession(ctx context.Context, r *http.Request, body []byte) (*Response, error) {
	snap := s.snap.Load()
	if snap == nil {
		return nil, apierr.New("ServiceUnavailableException", http.StatusServiceUnavailable, "The service is starting; retry shortly.")
	}
	now := s.cfg.Now()

	// 1. Parse the request.
	var query url.Values // nil reads as empty
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	req, err := ParseRequest(query, body)
	if err != nil {
		return nil, err
	}
	auth, err := sigv4.ParseX509Authorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, signatureError(err)
	}

	// 3. Trust anchor (needed to build the chain).
	an, ok := snap.anchors[req.TrustAnchorID]
	if !ok || req.TrustAnchorARN != an.arn {
		return nil, apierr.AccessDenied(msgUntrusted).WithCause(errors.New("trust anchor not found"))
	}

	// 4. Leaf and chain, verified once per distinct header pair.
	vc, err := snap.verifyChain(an, r.Header, now)
	if err != nil {
		return nil, err
	}
	leaf := vc.leaf
	fail := func(e *apierr.Error) (*Response, error) {
		s.record(vc, false, now)
		return nil, e
	}

	// 2. The request signature, with the leaf's key.
	// The leaf was parsed from this request's X-Amz-X509 header (the chain
	// cache is keyed by the header's hash), and its decimal serial is cached.
	opts := &sigv4.X509Options{MaxSkew: s.cfg.Skew, Region: snap.Region, LeafFromHeader: true, LeafSerial: vc.serial}
	if err := auth.VerifyX509(r, body, leaf, now, opts); err != nil {
		return fail(signatureError(err))
	}

	// 3 (cont.): anchor state, revocation, profile and role.
	if !an.rec.Enabled {
		return fail(apierr.AccessDenied(msgUntrusted).WithCause(errors.New("trust anchor disabled")))
	}
	if an.isRevoked(leaf.RawIssuer, leaf.SerialNumber) {
		return fail(apierr.AccessDenied("Certificate has been revoked."))
	}
	for i, c := range vc.path {
		if i+1 < len(vc.path) && an.isRevoked(c.RawIssuer, c.SerialNumber) {
			return fail(apierr.AccessDenied("A certificate in the chain has been revoked."))
		}
	}
	pr, ok := snap.profiles[req.ProfileID]
	if !ok || req.ProfileARN != pr.arn {
		return fail(apierr.AccessDenied("Profile not found: %s", req.ProfileARN))
	}
	if !pr.rec.Enabled {
		return fail(apierr.AccessDenied("Profile is disabled: %s", req.ProfileARN))
	}
	if !pr.roleInProfile(req.RoleARN) {
		return fail(apierr.AccessDenied("%s The role %s is not in the profile.", msgUnableToAssume, req.RoleARN))
	}
	ro, ok := snap.roles[req.RoleARN]
	if !ok {
		return fail(apierr.AccessDenied("%s The role %s does not exist.", msgUnableToAssume, req.RoleARN))
	}

	// 5. Certificate attributes to session tags and source identity.
	view, err := vc.view(pr, an.arn, snap.Account)
	if err != nil {
		ae, _ := apierr.As(err)
		return fail(ae)
	}
	sourceIdentity := vc.sourceIdentity

	// 6. The role's trust policy, for each action CreateSession performs.
	if action := view.trust(ro, r, now); action != "" {
		return fail(apierr.AccessDenied("%s The trust policy of role %s does not allow %s by %s with this certificate.", msgUnableToAssume, ro.rec.Name, action, ServicePrincipal))
	}

	// 7. Session name and duration.
	sessionName := vc.hexSerial
	if req.RoleSessionName != "" {
		if !pr.rec.AcceptRoleSessionName {
			return fail(apierr.AccessDenied(msgSessionName))
		}
		sessionName = req.RoleSessionName
	}
	dur := pr.rec.DurationSeconds
	if dur == 0 {
		dur = 3600
	}
	if req.HasDuration && req.DurationSeconds < dur {
		dur = req.DurationSeconds
	}
	maxDur := ro.rec.MaxSessionDuration
	if maxDur == 0 {
		maxDur = 3600
	}
	if dur > maxDur {
		return fail(apierr.AccessDenied("%s The requested duration of %d seconds exceeds the MaxSessionDuration of %d seconds set for role %s.", msgUnableToAssume, dur, maxDur, ro.rec.Name))
	}
	issued := now.UTC().Truncate(time.Millisecond)
	creds, err := s.cfg.Minter.Mint(sts.SessionSpec{
		Account: snap.Account, RoleARN: ro.arn, RoleID: ro.rec.ID, RoleName: ro.rec.Name,
		SessionName: sessionName, SourceIdentity: sourceIdentity, Tags: view.stsTags,
		SessionPolicy: pr.rec.SessionPolicy, PolicyARNs: pr.rec.ManagedPolicyARNs,
		IssuedAt: issued, Expiration: issued.Add(time.Duration(dur) * time.Second).Truncate(time.Second),
		TrustAnchorARN: an.arn, ProfileARN: pr.arn, CertSerial: leaf.SerialNumber,
	})
	if err != nil {
		return nil, err // internal: logged by the edge, answered 500
	}
	s.record(vc, true, now)
	s.observe(ctx, r, an, pr, ro, vc, sessionName)

	// 8. Respond. The response and its one credential set share an
	// allocation.
	out := &struct {
		resp Response
		set  [1]CredentialSetItem
	}{}
	out.set[0] = CredentialSetItem{
		AssumedRoleUser: AssumedRoleUser{
			ARN:           "arn:aws:sts::" + snap.Account + ":assumed-role/" + ro.rec.Name + "/" + sessionName,
			AssumedRoleID: ro.rec.ID + ":" + sessionName,
		},
		Credentials: ResponseCredentials{
			AccessKeyID:     creds.AccessKeyID,
			SecretAccessKey: creds.SecretAccessKey,
			SessionToken:    creds.SessionToken,
			Expiration:      creds.Expiration.UTC().Format(time.RFC3339),
		},
		RoleARN:        ro.arn,
		SourceIdentity: sourceIdentity,
	}
	out.resp = Response{CredentialSet: out.set[:], SubjectARN: vc.subjectARN}
	return &out.resp, nil
}

// verifyChain returns the verified leaf for the request's certificate
// headers, from the snapshot's cache when it has seen them before.
func (snap *Snapshot) verifyChain(an *anchor, h http.Header, now time.Time) (*verifiedChain, error) {
	x5 := h.Get(sigv4.HeaderX509)
	x5c := h.Get(sigv4.HeaderX509Chain)
	if x5 == "" {
		return nil, apierr.AccessDenied(msgUntrusted).WithCause(errors.New("missing X-Amz-X509"))
	}
	key := chainKey{anchorID: an.rec.ID, sum: headerSum(x5, x5c)}
	unix := now.Unix()
	if vc, ok := snap.chains.get(key); ok && unix >= vc.validFrom && unix <= vc.validUntil {
		return vc, nil
	}

	leaf, chain, err := sigv4.ParseCertificateHeaders(h)
	if err != nil {
		return nil, apierr.AccessDenied(msgUntrusted).WithCause(err)
	}
	if len(chain) > maxChainCerts {
		return nil, apierr.AccessDenied("%s X-Amz-X509-Chain holds %d certificates; at most %d are allowed.", msgUntrusted, len(chain), maxChainCerts)
	}
	if ps := pki.CheckLeaf(leaf, now); len(ps) > 0 {
		return nil, apierr.AccessDenied("%s %s", msgUntrusted, ps[0].Message)
	}
	pool := x509.NewCertPool()
	for _, c := range chain {
		pool.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: an.roots, Intermediates: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil || len(chains) == 0 {
		return nil, apierr.AccessDenied(msgUntrusted).WithCause(err)
	}
	path := chains[0][1:]
	vc := &verifiedChain{leaf: leaf, path: path, validFrom: leaf.NotBefore.Unix(), validUntil: leaf.NotAfter.Unix(),
		subject: leaf.Subject.String(), serial: leaf.SerialNumber.String(), issuer: leaf.Issuer.String(),
		hexSerial: HexSerial(leaf.SerialNumber), subjectID: store.SubjectID(leaf.Subject.String()), sourceIdentity: SourceIdentity(leaf)}
	vc.subjectARN = SubjectARN(snap.Region, snap.Account, vc.subjectID)
	for _, c := range path {
		vc.validFrom = max(vc.validFrom, c.NotBefore.Unix())
		vc.validUntil = min(vc.validUntil, c.NotAfter.Unix())
	}
	snap.chains.put(key, vc)
	return vc, nil
}

// headerSum returns the SHA-256 of x5, a zero byte and x5c, without copying
// the header values to the heap.
func headerSum(x5, x5c string) [sha256.Size]byte {
	h := sha256.New()
	var buf [1024]byte
	for _, s := range [...]string{x5, "\x00", x5c} {
		for len(s) > 0 {
			n := copy(buf[:], s)
			h.Write(buf[:n])
			s = s[n:]
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// signatureError maps a sigv4 failure to the AccessDeniedException Roles
// Anywhere answers with.
func signatureError(err error) *apierr.Error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		switch {
		case errors.Is(err, sigv4.ErrTimeSkew):
			return apierr.AccessDenied("%s", se.Message).WithCause(err)
		case errors.Is(err, sigv4.ErrSignature):
			return apierr.AccessDenied(msgInvalidSig).WithCause(err)
		}
		return apierr.AccessDenied("%s %s", msgInvalidSig, se.Message).WithCause(err)
	}
	return apierr.AccessDenied(msgInvalidSig).WithCause(err)
}

// record hands a subject sighting to the recorder, if any.
func (s *Service) record(vc *verifiedChain, ok bool, now time.Time) {
	if s.cfg.RecordSubject == nil {
		return
	}
	s.cfg.RecordSubject(store.SubjectSighting{
		X509Subject: vc.subject, SerialNumber: vc.serial,
		Issuer: vc.issuer, Certificate: vc.leaf.Raw, Failed: !ok, SeenAt: now,
	})
}
