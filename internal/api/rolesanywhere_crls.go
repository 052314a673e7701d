package api

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
)

// CRL, subject and tag operations, and the helpers every operation shares.

const (
	raMaxCRLBytes     = 300000
	raDefaultPageSize = 50
)

// raCheckCRL checks that data is a PEM (or DER) CRL that CreateSession can
// use with anchor: it parses, and when its issuer is one of the anchor's
// certificates its signature verifies with that certificate (a CRL that
// does not would take the anchor out of service).
func raCheckCRL(data []byte, anchor *store.TrustAnchor) error {
	if n := len(data); n < 1 || n > raMaxCRLBytes {
		return raValidationf("crlData", "failed to satisfy constraint: Member must have length between 1 and %d", raMaxCRLBytes)
	}
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "X509 CRL" {
			return apierr.Validation("Invalid CRL: the PEM block is %q, not X509 CRL.", b.Type)
		}
		der = b.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return apierr.Validation("Invalid CRL: it does not parse as an X.509 CRL.").WithCause(err)
	}
	rest := []byte(anchor.SourceData)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || string(c.RawSubject) != string(crl.RawIssuer) {
			continue
		}
		if err := crl.CheckSignatureFrom(c); err != nil {
			return apierr.Validation("Invalid CRL: its signature does not verify with the trust anchor certificate %s.", c.Subject).WithCause(err)
		}
	}
	return nil
}

// parseRAArn splits a Roles Anywhere ARN of this server's account and region
// into its resource kind (trust-anchor, profile, crl, subject) and id.
func (q *raRequest) parseRAArn(member, arn string) (kind, id string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(arn) > raMaxArnLength || len(parts) != 6 || parts[0] != "arn" || parts[1] != iam.Partition || parts[2] != raService {
		return "", "", raValidationf(member, "failed to satisfy constraint: Member must be a Roles Anywhere ARN")
	}
	kind, id, ok := strings.Cut(parts[5], "/")
	if !ok || !raUUIDRE().MatchString(id) {
		return "", "", raValidationf(member, "failed to satisfy constraint: Member must be a Roles Anywhere ARN")
	}
	if parts[3] != q.region || parts[4] != q.account {
		return "", "", apierr.NotFound("Resource not found: %s is in another account or region.", member)
	}
	return kind, id, nil
}

func raImportCrl(q *raRequest) (int, any, error) {
	var in raImportCrlInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if err := raCheckName("name", in.Name, true); err != nil {
		return 0, nil, err
	}
	if in.CrlData == nil {
		return 0, nil, raValidationf("crlData", "must not be null")
	}
	if in.TrustAnchorArn == nil {
		return 0, nil, raValidationf("trustAnchorArn", "must not be null")
	}
	kind, anchorID, err := q.parseRAArn("trustAnchorArn", *in.TrustAnchorArn)
	if err != nil {
		return 0, nil, err
	}
	if kind != string(store.KindTrustAnchor) {
		return 0, nil, raValidationf("trustAnchorArn", "failed to satisfy constraint: Member must be a trust anchor ARN")
	}
	tags, err := raCheckTags(in.Tags)
	if err != nil {
		return 0, nil, err
	}
	if err := q.authorizeCreate("rolesanywhere:ImportCrl", tags); err != nil {
		return 0, nil, err
	}
	anchor, err := q.h.cfg.Store.GetTrustAnchor(q.ctx, anchorID)
	if err != nil {
		return 0, nil, raStoreError(err, "trust anchor", anchorID)
	}
	if err := raCheckCRL(in.CrlData, anchor); err != nil {
		return 0, nil, err
	}
	c, err := q.h.cfg.Store.CreateCRL(q.ctx, &store.CRL{
		Name: *in.Name, TrustAnchorID: anchorID, Data: in.CrlData, Enabled: raDeref(in.Enabled), Tags: tags,
	})
	if err != nil {
		return 0, nil, raStoreError(err, "CRL", *in.Name)
	}
	q.changed()
	return http.StatusCreated, raCrlOutput{q.crlOut(c)}, nil
}

// loadCRL authorizes action on the CRL named by the path and returns it.
func (q *raRequest) loadCRL(action string) (*store.CRL, error) {
	id := q.r.PathValue("crlId")
	if !raUUIDRE().MatchString(id) {
		return nil, raValidationf("crlId", "failed to satisfy constraint: Member must be a lower-case UUID")
	}
	arn := anywhere.CRLARN(q.region, q.account, id)
	c, err := q.h.cfg.Store.GetCRL(q.ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if aerr := q.authorize(action, arn, nil); aerr != nil {
				return nil, aerr
			}
		}
		return nil, raStoreError(err, "CRL", id)
	}
	if err := q.authorize(action, arn, raResourceTagKeys(c.Tags)); err != nil {
		return nil, err
	}
	return c, nil
}

func (q *raRequest) updateCRL(action string, fn func(*store.CRL) error) (int, any, error) {
	c, err := q.loadCRL(action)
	if err != nil {
		return 0, nil, err
	}
	if c, err = q.h.cfg.Store.UpdateCRL(q.ctx, c.ID, fn); err != nil {
		return 0, nil, raStoreError(err, "CRL", q.r.PathValue("crlId"))
	}
	q.changed()
	return http.StatusOK, raCrlOutput{q.crlOut(c)}, nil
}

func raGetCrl(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	c, err := q.loadCRL("rolesanywhere:GetCrl")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, raCrlOutput{q.crlOut(c)}, nil
}

func raUpdateCrl(q *raRequest) (int, any, error) {
	var in raUpdateCrlInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if err := raCheckName("name", in.Name, false); err != nil {
		return 0, nil, err
	}
	if in.CrlData != nil {
		c, err := q.loadCRL("rolesanywhere:UpdateCrl")
		if err != nil {
			return 0, nil, err
		}
		anchor, err := q.h.cfg.Store.GetTrustAnchor(q.ctx, c.TrustAnchorID)
		if err != nil {
			return 0, nil, raStoreError(err, "trust anchor", c.TrustAnchorID)
		}
		if err := raCheckCRL(in.CrlData, anchor); err != nil {
			return 0, nil, err
		}
	}
	return q.updateCRL("rolesanywhere:UpdateCrl", func(c *store.CRL) error {
		if in.Name != nil {
			c.Name = *in.Name
		}
		if in.CrlData != nil {
			c.Data = in.CrlData
		}
		return nil
	})
}

func raEnableCrl(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	return q.updateCRL("rolesanywhere:EnableCrl", func(c *store.CRL) error { c.Enabled = true; return nil })
}

func raDisableCrl(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	return q.updateCRL("rolesanywhere:DisableCrl", func(c *store.CRL) error { c.Enabled = false; return nil })
}

func raDeleteCrl(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	c, err := q.loadCRL("rolesanywhere:DeleteCrl")
	if err != nil {
		return 0, nil, err
	}
	if c, err = q.h.cfg.Store.DeleteCRL(q.ctx, c.ID); err != nil {
		return 0, nil, raStoreError(err, "CRL", q.r.PathValue("crlId"))
	}
	q.changed()
	return http.StatusOK, raCrlOutput{q.crlOut(c)}, nil
}

func raListCrls(q *raRequest) (int, any, error) {
	opts, err := q.listOptions()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authorize("rolesanywhere:ListCrls", "*", nil); err != nil {
		return 0, nil, err
	}
	list, next, err := q.h.cfg.Store.ListCRLs(q.ctx, opts)
	if err != nil {
		return 0, nil, raStoreError(err, "CRLs", "")
	}
	out := raCrlsOutput{Crls: []raCrlDetail{}, NextToken: next}
	for _, c := range list {
		out.Crls = append(out.Crls, q.crlOut(c))
	}
	return http.StatusOK, out, nil
}

func raGetSubject(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	id := q.r.PathValue("subjectId")
	if !raUUIDRE().MatchString(id) {
		return 0, nil, raValidationf("subjectId", "failed to satisfy constraint: Member must be a lower-case UUID")
	}
	if err := q.authorize("rolesanywhere:GetSubject", anywhere.SubjectARN(q.region, q.account, id), nil); err != nil {
		return 0, nil, err
	}
	s, err := q.h.cfg.Store.GetSubject(q.ctx, id)
	if err != nil {
		return 0, nil, raStoreError(err, "subject", id)
	}
	return http.StatusOK, raSubjectOutput{q.subjectOut(s)}, nil
}

func raListSubjects(q *raRequest) (int, any, error) {
	opts, err := q.listOptions()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authorize("rolesanywhere:ListSubjects", "*", nil); err != nil {
		return 0, nil, err
	}
	list, next, err := q.h.cfg.Store.ListSubjects(q.ctx, opts)
	if err != nil {
		return 0, nil, raStoreError(err, "subjects", "")
	}
	out := raSubjectsOutput{Subjects: []raSubjectSummary{}, NextToken: next}
	for _, s := range list {
		out.Subjects = append(out.Subjects, q.subjectSummaryOut(s))
	}
	return http.StatusOK, out, nil
}

// taggable resolves a resourceArn to the store's reference and the
// resource's current tags, authorizing action on it.
func (q *raRequest) taggable(action string, arn *string, extra map[string][]string) (store.ResourceRef, error) {
	if arn == nil {
		return store.ResourceRef{}, raValidationf("resourceArn", "must not be null")
	}
	kind, id, err := q.parseRAArn("resourceArn", *arn)
	if err != nil {
		return store.ResourceRef{}, err
	}
	ref := store.ResourceRef{Kind: store.ResourceKind(kind), Key: id}
	switch ref.Kind {
	case store.KindTrustAnchor, store.KindProfile, store.KindCRL:
	default:
		return store.ResourceRef{}, raValidationf("resourceArn", "failed to satisfy constraint: Member must be the ARN of a trust anchor, profile or CRL")
	}
	tags, err := q.h.cfg.Store.ListTags(q.ctx, ref)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if aerr := q.authorize(action, *arn, extra); aerr != nil {
				return ref, aerr
			}
		}
		return ref, raStoreError(err, kind, id)
	}
	all := raResourceTagKeys(tags)
	for k, v := range extra {
		if all == nil {
			all = map[string][]string{}
		}
		all[k] = v
	}
	return ref, q.authorize(action, *arn, all)
}

func raTagResource(q *raRequest) (int, any, error) {
	var in raTagResourceInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if in.Tags == nil {
		return 0, nil, raValidationf("tags", "must not be null")
	}
	tags, err := raCheckTags(in.Tags)
	if err != nil {
		return 0, nil, err
	}
	ref, err := q.taggable("rolesanywhere:TagResource", in.ResourceArn, raTagConditionKeys(tags))
	if err != nil {
		return 0, nil, err
	}
	if err := q.h.cfg.Store.TagResource(q.ctx, ref, tags); err != nil {
		if errors.Is(err, store.ErrLimitExceeded) {
			return 0, nil, raTooManyTags().WithCause(err)
		}
		return 0, nil, raStoreError(err, string(ref.Kind), ref.Key)
	}
	q.changed()
	return http.StatusCreated, nil, nil
}

func raUntagResource(q *raRequest) (int, any, error) {
	var in raUntagResourceInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if in.TagKeys == nil {
		return 0, nil, raValidationf("tagKeys", "must not be null")
	}
	if len(in.TagKeys) > raMaxTagsArg {
		return 0, nil, raValidationf("tagKeys", "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxTagsArg)
	}
	for i, k := range in.TagKeys {
		if n := len(k); n < 1 || n > 128 || !raTagRE().MatchString(k) {
			return 0, nil, raValidationf("tagKeys."+strconv.Itoa(i+1), "failed to satisfy constraint: 1-128 characters matching [ a-zA-Z0-9_.:/=+@-]")
		}
	}
	ref, err := q.taggable("rolesanywhere:UntagResource", in.ResourceArn, map[string][]string{"aws:TagKeys": in.TagKeys})
	if err != nil {
		return 0, nil, err
	}
	if err := q.h.cfg.Store.UntagResource(q.ctx, ref, in.TagKeys); err != nil {
		return 0, nil, raStoreError(err, string(ref.Kind), ref.Key)
	}
	q.changed()
	return http.StatusOK, nil, nil
}

func raListTagsForResource(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	qv := q.r.URL.Query()
	var arn *string
	if qv.Has("resourceArn") {
		arn = new(qv.Get("resourceArn"))
	}
	ref, err := q.taggable("rolesanywhere:ListTagsForResource", arn, nil)
	if err != nil {
		return 0, nil, err
	}
	tags, err := q.h.cfg.Store.ListTags(q.ctx, ref)
	if err != nil {
		return 0, nil, raStoreError(err, string(ref.Kind), ref.Key)
	}
	return http.StatusOK, raTagsOutput{Tags: raTagsOut(tags)}, nil
}

// listOptions reads nextToken and pageSize.
func (q *raRequest) listOptions() (store.ListOptions, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return store.ListOptions{}, err
	}
	qv := q.r.URL.Query()
	opts := store.ListOptions{MaxResults: raDefaultPageSize, NextToken: qv.Get("nextToken")}
	if len(opts.NextToken) > 10000 {
		return opts, raValidationf("nextToken", "failed to satisfy constraint: Member must have length between 1 and 10000")
	}
	if qv.Has("pageSize") {
		n, err := strconv.Atoi(qv.Get("pageSize"))
		if err != nil || n < 1 {
			return opts, raValidationf("pageSize", "failed to satisfy constraint: Member must be a positive integer")
		}
		opts.MaxResults = min(n, store.MaxPageSize)
	}
	return opts, nil
}

// raStoreError maps a store error to the API error AWS would answer with. An
// error that is not one of the store's sentinels stays internal.
func raStoreError(err error, kind, name string) error {
	if _, ok := apierr.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.NotFound("Resource not found.").WithCause(err)
	case errors.Is(err, store.ErrConflict):
		return apierr.Validation("A %s named %q already exists.", kind, name).WithCause(err)
	case errors.Is(err, store.ErrLimitExceeded):
		if kind == "CRL" {
			return apierr.Validation("A trust anchor can have at most %d CRLs.", store.MaxCRLsPerTrustAnchor).WithCause(err)
		}
		return apierr.Validation("Limit exceeded for %s.", kind).WithCause(err)
	case errors.Is(err, store.ErrInvalidToken):
		return raValidationf("nextToken", "is not a token this server issued").WithCause(err)
	case errors.Is(err, store.ErrInvalid):
		return apierr.Validation("Invalid %s.", kind).WithCause(err)
	}
	return fmt.Errorf("%s %s: %w", kind, name, err)
}
