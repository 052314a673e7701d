package api

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/store"
)

// Trust anchor operations.

const raMaxCertificateData = 8000 // x509CertificateData, characters

// Supported and known source types.
const raSourceSelfSignedRepository = "SELF_SIGNED_REPOSITORY"

// raCheckSource validates a trust anchor source and returns its type and data.
func raCheckSource(src *raSource) (typ, data string, err error) {
	if src == nil || src.SourceType == nil {
		return "", "", raValidationf("source.sourceType", "must not be null")
	}
	switch *src.SourceType {
	case store.SourceCertificateBundle:
	case store.SourceACMPCA:
		return "", "", apierr.Validation("Trust anchors of type AWS_ACM_PCA are not supported: roam cannot reach AWS Private CA. Create a CERTIFICATE_BUNDLE trust anchor with the CA certificate in sourceData.x509CertificateData.")
	case raSourceSelfSignedRepository:
		return "", "", apierr.Validation("Trust anchors of type SELF_SIGNED_REPOSITORY are not supported; use CERTIFICATE_BUNDLE.")
	default:
		return "", "", raValidationf("source.sourceType", "failed to satisfy constraint: Member must satisfy enum value set: [AWS_ACM_PCA, CERTIFICATE_BUNDLE, SELF_SIGNED_REPOSITORY]")
	}
	sd := src.SourceData
	if sd == nil || sd.X509CertificateData == nil {
		return "", "", raValidationf("source.sourceData.x509CertificateData", "must not be null for a CERTIFICATE_BUNDLE trust anchor")
	}
	if sd.AcmPcaArn != nil {
		return "", "", raValidationf("source.sourceData", "must set exactly one of x509CertificateData and acmPcaArn")
	}
	pemData := *sd.X509CertificateData
	if n := len(pemData); n < 1 || n > raMaxCertificateData {
		return "", "", raValidationf("source.sourceData.x509CertificateData", "failed to satisfy constraint: Member must have length between 1 and %d", raMaxCertificateData)
	}
	if err := raCheckCertificateBundle(pemData); err != nil {
		return "", "", apierr.Validation("Invalid certificate bundle: %v", err)
	}
	return store.SourceCertificateBundle, pemData, nil
}

// raCheckCertificateBundle checks that bundle holds one or two PEM CA
// certificates (the Roles Anywhere quota) that may sign certificates, signed
// with SHA-256 or stronger, and nothing else.
func raCheckCertificateBundle(bundle string) error {
	rest := []byte(bundle)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("PEM block %d is %q, not CERTIFICATE", n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fmt.Errorf("certificate %d does not parse", n)
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return fmt.Errorf("certificate %d (%s) is not a CA certificate (basicConstraints CA:TRUE is required)", n, c.Subject)
		}
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return fmt.Errorf("certificate %d (%s) lacks the keyCertSign key usage", n, c.Subject)
		}
		switch c.SignatureAlgorithm {
		case x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD2WithRSA:
			return fmt.Errorf("certificate %d (%s) is signed with %s; SHA-256 or stronger is required", n, c.Subject, c.SignatureAlgorithm)
		}
	}
	if n == 0 {
		return errors.New("no PEM certificate found")
	}
	if n > 2 {
		return fmt.Errorf("%d certificates; a trust anchor holds at most 2", n)
	}
	return nil
}

// raMergeNotificationSettings applies input settings to current: a setting for
// an (event, channel) that exists replaces it and becomes configured by the
// account; a new one is added.
func raMergeNotificationSettings(current []store.NotificationSetting, in []raNotificationSetting, account string) ([]store.NotificationSetting, error) {
	if len(in) > raMaxNotificationIn {
		return nil, raValidationf("notificationSettings", "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxNotificationIn)
	}
	out := append([]store.NotificationSetting(nil), current...)
	if out == nil {
		out = raDefaultNotificationSettings()
	}
	for i, s := range in {
		member := "notificationSettings." + strconv.Itoa(i+1)
		if s.Enabled == nil {
			return nil, raValidationf(member+".enabled", "must not be null")
		}
		if s.Event == nil {
			return nil, raValidationf(member+".event", "must not be null")
		}
		if *s.Event != raEventCAExpiry && *s.Event != raEventLeafExpiry {
			return nil, raValidationf(member+".event", "failed to satisfy constraint: Member must satisfy enum value set: [CA_CERTIFICATE_EXPIRY, END_ENTITY_CERTIFICATE_EXPIRY]")
		}
		channel := raChannelAll
		if s.Channel != nil {
			channel = *s.Channel
		}
		if channel != raChannelAll {
			return nil, raValidationf(member+".channel", "failed to satisfy constraint: Member must satisfy enum value set: [ALL]")
		}
		threshold := 0
		if s.Threshold != nil {
			threshold = *s.Threshold
			if threshold < 1 || threshold > 360 {
				return nil, raValidationf(member+".threshold", "failed to satisfy constraint: Member must have value between 1 and 360")
			}
		} else if *s.Enabled {
			return nil, raValidationf(member+".threshold", "must not be null when the setting is enabled")
		}
		ns := store.NotificationSetting{Enabled: *s.Enabled, Event: *s.Event, Threshold: threshold, Channel: channel, ConfiguredBy: account}
		replaced := false
		for j := range out {
			if out[j].Event == ns.Event && out[j].Channel == ns.Channel {
				if ns.Threshold == 0 {
					ns.Threshold = out[j].Threshold
				}
				out[j], replaced = ns, true
			}
		}
		if !replaced {
			out = append(out, ns)
		}
	}
	return out, nil
}

// raResetNotificationSettings restores the defaults of the given keys.
func raResetSettings(current []store.NotificationSetting, keys []raNotificationSettingKey) ([]store.NotificationSetting, error) {
	if keys == nil {
		return nil, raValidationf("notificationSettingKeys", "must not be null")
	}
	if len(keys) > raMaxNotificationIn {
		return nil, raValidationf("notificationSettingKeys", "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxNotificationIn)
	}
	out := append([]store.NotificationSetting(nil), current...)
	if out == nil {
		out = raDefaultNotificationSettings()
	}
	defaults := raDefaultNotificationSettings()
	for i, k := range keys {
		member := "notificationSettingKeys." + strconv.Itoa(i+1)
		if k.Event == nil {
			return nil, raValidationf(member+".event", "must not be null")
		}
		channel := raChannelAll
		if k.Channel != nil {
			channel = *k.Channel
		}
		var def *store.NotificationSetting
		for j := range defaults {
			if defaults[j].Event == *k.Event && defaults[j].Channel == channel {
				def = &defaults[j]
			}
		}
		if def == nil {
			return nil, raValidationf(member, "does not name a notification setting (event CA_CERTIFICATE_EXPIRY or END_ENTITY_CERTIFICATE_EXPIRY, channel ALL)")
		}
		found := false
		for j := range out {
			if out[j].Event == def.Event && out[j].Channel == def.Channel {
				out[j], found = *def, true
			}
		}
		if !found {
			out = append(out, *def)
		}
	}
	return out, nil
}

func raCreateTrustAnchor(q *raRequest) (int, any, error) {
	var in raCreateTrustAnchorInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if err := raCheckName("name", in.Name, true); err != nil {
		return 0, nil, err
	}
	typ, data, err := raCheckSource(in.Source)
	if err != nil {
		return 0, nil, err
	}
	tags, err := raCheckTags(in.Tags)
	if err != nil {
		return 0, nil, err
	}
	if err := q.authorizeCreate("rolesanywhere:CreateTrustAnchor", tags); err != nil {
		return 0, nil, err
	}
	settings, err := raMergeNotificationSettings(raDefaultNotificationSettings(), in.NotificationSettings, q.account)
	if err != nil {
		return 0, nil, err
	}
	a, err := q.h.cfg.Store.CreateTrustAnchor(q.ctx, &store.TrustAnchor{
		Name: *in.Name, SourceType: typ, SourceData: data,
		Enabled: raDeref(in.Enabled), CRLDPRevocationEnabled: raDeref(in.CrlDpRevocationEnabled),
		NotificationSettings: settings, Tags: tags,
	})
	if err != nil {
		return 0, nil, raStoreError(err, "trust anchor", *in.Name)
	}
	q.changed()
	return http.StatusCreated, raTrustAnchorOutput{q.trustAnchorOut(a)}, nil
}

// authorizeCreate authorizes a Create operation (no resource) and, when it
// sets tags, rolesanywhere:TagResource, with the request-tag condition keys.
func (q *raRequest) authorizeCreate(action string, tags map[string]string) error {
	extra := raTagConditionKeys(tags)
	if err := q.authorize(action, "*", extra); err != nil {
		return err
	}
	if len(tags) > 0 {
		return q.authorize("rolesanywhere:TagResource", "*", extra)
	}
	return nil
}

// loadTrustAnchor authorizes action on the trust anchor named by the path
// and returns it. A caller that may not act on the anchor learns nothing of
// its existence.
func (q *raRequest) loadTrustAnchor(action string) (*store.TrustAnchor, error) {
	return q.loadTrustAnchorID(action, q.r.PathValue("trustAnchorId"), "trustAnchorId")
}

func (q *raRequest) loadTrustAnchorID(action, id, member string) (*store.TrustAnchor, error) {
	if !raUUIDRE().MatchString(id) {
		return nil, raValidationf(member, "failed to satisfy constraint: Member must be a lower-case UUID")
	}
	arn := q.anchorARN(id)
	a, err := q.h.cfg.Store.GetTrustAnchor(q.ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if aerr := q.authorize(action, arn, nil); aerr != nil {
				return nil, aerr
			}
		}
		return nil, raStoreError(err, "trust anchor", id)
	}
	if err := q.authorize(action, arn, raResourceTagKeys(a.Tags)); err != nil {
		return nil, err
	}
	return a, nil
}

func raGetTrustAnchor(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	a, err := q.loadTrustAnchor("rolesanywhere:GetTrustAnchor")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, raTrustAnchorOutput{q.trustAnchorOut(a)}, nil
}

// updateTrustAnchor authorizes action, applies fn to the anchor and returns
// the updated anchor.
func (q *raRequest) updateTrustAnchor(action, id, member string, fn func(*store.TrustAnchor) error) (int, any, error) {
	if _, err := q.loadTrustAnchorID(action, id, member); err != nil {
		return 0, nil, err
	}
	a, err := q.h.cfg.Store.UpdateTrustAnchor(q.ctx, id, fn)
	if err != nil {
		return 0, nil, raStoreError(err, "trust anchor", id)
	}
	q.changed()
	return http.StatusOK, raTrustAnchorOutput{q.trustAnchorOut(a)}, nil
}

func raUpdateTrustAnchor(q *raRequest) (int, any, error) {
	var in raUpdateTrustAnchorInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if err := raCheckName("name", in.Name, false); err != nil {
		return 0, nil, err
	}
	var typ, data string
	if in.Source != nil {
		var err error
		if typ, data, err = raCheckSource(in.Source); err != nil {
			return 0, nil, err
		}
	}
	return q.updateTrustAnchor("rolesanywhere:UpdateTrustAnchor", q.r.PathValue("trustAnchorId"), "trustAnchorId", func(a *store.TrustAnchor) error {
		if in.Name != nil {
			a.Name = *in.Name
		}
		if in.Source != nil {
			a.SourceType, a.SourceData = typ, data
		}
		if in.CrlDpRevocationEnabled != nil {
			a.CRLDPRevocationEnabled = *in.CrlDpRevocationEnabled
		}
		return nil
	})
}

func raEnableTrustAnchor(q *raRequest) (int, any, error)  { return raSetAnchorEnabled(q, true) }
func raDisableTrustAnchor(q *raRequest) (int, any, error) { return raSetAnchorEnabled(q, false) }

func raSetAnchorEnabled(q *raRequest, on bool) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	action := "rolesanywhere:DisableTrustAnchor"
	if on {
		action = "rolesanywhere:EnableTrustAnchor"
	}
	return q.updateTrustAnchor(action, q.r.PathValue("trustAnchorId"), "trustAnchorId", func(a *store.TrustAnchor) error {
		a.Enabled = on
		return nil
	})
}

func raDeleteTrustAnchor(q *raRequest) (int, any, error) {
	if err := raDecodeJSON(q.body, &struct{}{}); err != nil {
		return 0, nil, err
	}
	a, err := q.loadTrustAnchor("rolesanywhere:DeleteTrustAnchor")
	if err != nil {
		return 0, nil, err
	}
	if a, err = q.h.cfg.Store.DeleteTrustAnchor(q.ctx, a.ID); err != nil {
		return 0, nil, raStoreError(err, "trust anchor", q.r.PathValue("trustAnchorId"))
	}
	q.changed()
	return http.StatusOK, raTrustAnchorOutput{q.trustAnchorOut(a)}, nil
}

func raListTrustAnchors(q *raRequest) (int, any, error) {
	opts, err := q.listOptions()
	if err != nil {
		return 0, nil, err
	}
	if err := q.authorize("rolesanywhere:ListTrustAnchors", "*", nil); err != nil {
		return 0, nil, err
	}
	list, next, err := q.h.cfg.Store.ListTrustAnchors(q.ctx, opts)
	if err != nil {
		return 0, nil, raStoreError(err, "trust anchors", "")
	}
	out := raTrustAnchorsOutput{TrustAnchors: []raTrustAnchorDetail{}, NextToken: next}
	for _, a := range list {
		out.TrustAnchors = append(out.TrustAnchors, q.trustAnchorOut(a))
	}
	return http.StatusOK, out, nil
}

func raPutNotificationSettings(q *raRequest) (int, any, error) {
	var in raPutNotificationSettingsInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if in.TrustAnchorID == nil {
		return 0, nil, raValidationf("trustAnchorId", "must not be null")
	}
	if in.NotificationSettings == nil {
		return 0, nil, raValidationf("notificationSettings", "must not be null")
	}
	if _, err := raMergeNotificationSettings(nil, in.NotificationSettings, q.account); err != nil {
		return 0, nil, err
	}
	return q.updateTrustAnchor("rolesanywhere:PutNotificationSettings", *in.TrustAnchorID, "trustAnchorId", func(a *store.TrustAnchor) error {
		s, err := raMergeNotificationSettings(a.NotificationSettings, in.NotificationSettings, q.account)
		if err != nil {
			return err
		}
		a.NotificationSettings = s
		return nil
	})
}

func raResetNotificationSettings(q *raRequest) (int, any, error) {
	var in raResetNotificationSettingsInput
	if err := raDecodeJSON(q.body, &in); err != nil {
		return 0, nil, err
	}
	if in.TrustAnchorID == nil {
		return 0, nil, raValidationf("trustAnchorId", "must not be null")
	}
	if _, err := raResetSettings(nil, in.NotificationSettingKeys); err != nil {
		return 0, nil, err
	}
	return q.updateTrustAnchor("rolesanywhere:ResetNotificationSettings", *in.TrustAnchorID, "trustAnchorId", func(a *store.TrustAnchor) error {
		s, err := raResetSettings(a.NotificationSettings, in.NotificationSettingKeys)
		if err != nil {
			return err
		}
		a.NotificationSettings = s
		return nil
	})
}

func (q *raRequest) anchorARN(id string) string {
	return anywhere.TrustAnchorARN(q.region, q.account, id)
}

func raDeref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
