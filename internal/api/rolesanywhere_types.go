package api

import (
	"encoding/pem"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/roam-project/roam/internal/anywhere"
	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/store"
)

// Wire shapes of the Roles Anywhere control plane (aws-sdk-go-v2
// service/rolesanywhere types and request snapshots). Input members are
// pointers or nil-able slices so that "absent" differs from "false"/empty,
// which the PATCH operations need.

// raTag is a tag as the API carries it.
type raTag struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

// raSourceData is the SourceData union.
type raSourceData struct {
	X509CertificateData *string `json:"x509CertificateData,omitempty"`
	AcmPcaArn           *string `json:"acmPcaArn,omitempty"`
}

// raSource is a trust anchor source.
type raSource struct {
	SourceType *string       `json:"sourceType,omitempty"`
	SourceData *raSourceData `json:"sourceData,omitempty"`
}

// raNotificationSetting is a NotificationSetting input.
type raNotificationSetting struct {
	Enabled   *bool   `json:"enabled"`
	Event     *string `json:"event"`
	Threshold *int    `json:"threshold"`
	Channel   *string `json:"channel"`
}

// raNotificationSettingKey is a NotificationSettingKey input.
type raNotificationSettingKey struct {
	Event   *string `json:"event"`
	Channel *string `json:"channel"`
}

// raMappingRule is a MappingRule input.
type raMappingRule struct {
	Specifier *string `json:"specifier"`
}

type raCreateTrustAnchorInput struct {
	Name                   *string                 `json:"name"`
	Source                 *raSource               `json:"source"`
	Enabled                *bool                   `json:"enabled"`
	CrlDpRevocationEnabled *bool                   `json:"crlDpRevocationEnabled"`
	NotificationSettings   []raNotificationSetting `json:"notificationSettings"`
	Tags                   []raTag                 `json:"tags"`
}

type raUpdateTrustAnchorInput struct {
	Name                   *string   `json:"name"`
	Source                 *raSource `json:"source"`
	CrlDpRevocationEnabled *bool     `json:"crlDpRevocationEnabled"`
}

type raPutNotificationSettingsInput struct {
	TrustAnchorID        *string                 `json:"trustAnchorId"`
	NotificationSettings []raNotificationSetting `json:"notificationSettings"`
}

type raResetNotificationSettingsInput struct {
	TrustAnchorID           *string                    `json:"trustAnchorId"`
	NotificationSettingKeys []raNotificationSettingKey `json:"notificationSettingKeys"`
}

type raCreateProfileInput struct {
	Name                      *string  `json:"name"`
	RoleArns                  []string `json:"roleArns"`
	AcceptRoleSessionName     *bool    `json:"acceptRoleSessionName"`
	DurationSeconds           *int     `json:"durationSeconds"`
	Enabled                   *bool    `json:"enabled"`
	ManagedPolicyArns         []string `json:"managedPolicyArns"`
	RequireInstanceProperties *bool    `json:"requireInstanceProperties"`
	SessionPolicy             *string  `json:"sessionPolicy"`
	Tags                      []raTag  `json:"tags"`
}

type raUpdateProfileInput struct {
	Name                  *string  `json:"name"`
	RoleArns              []string `json:"roleArns"`
	ManagedPolicyArns     []string `json:"managedPolicyArns"`
	SessionPolicy         *string  `json:"sessionPolicy"`
	DurationSeconds       *int     `json:"durationSeconds"`
	AcceptRoleSessionName *bool    `json:"acceptRoleSessionName"`
}

type raPutAttributeMappingInput struct {
	CertificateField *string         `json:"certificateField"`
	MappingRules     []raMappingRule `json:"mappingRules"`
}

type raImportCrlInput struct {
	Name           *string `json:"name"`
	CrlData        []byte  `json:"crlData"`
	TrustAnchorArn *string `json:"trustAnchorArn"`
	Enabled        *bool   `json:"enabled"`
	Tags           []raTag `json:"tags"`
}

type raUpdateCrlInput struct {
	Name    *string `json:"name"`
	CrlData []byte  `json:"crlData"`
}

type raTagResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
	Tags        []raTag `json:"tags"`
}

type raUntagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

// Output shapes.

type raTagOut struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type raSourceDataOut struct {
	X509CertificateData string `json:"x509CertificateData,omitempty"`
	AcmPcaArn           string `json:"acmPcaArn,omitempty"`
}

type raSourceOut struct {
	SourceType string          `json:"sourceType"`
	SourceData raSourceDataOut `json:"sourceData"`
}

type raNotificationSettingOut struct {
	Enabled      bool   `json:"enabled"`
	Event        string `json:"event"`
	Threshold    *int   `json:"threshold,omitempty"`
	Channel      string `json:"channel,omitempty"`
	ConfiguredBy string `json:"configuredBy,omitempty"`
}

type raTrustAnchorDetail struct {
	TrustAnchorID          string                     `json:"trustAnchorId"`
	TrustAnchorArn         string                     `json:"trustAnchorArn"`
	Name                   string                     `json:"name"`
	Source                 raSourceOut                `json:"source"`
	Enabled                bool                       `json:"enabled"`
	CrlDpRevocationEnabled bool                       `json:"crlDpRevocationEnabled"`
	NotificationSettings   []raNotificationSettingOut `json:"notificationSettings"`
	CreatedAt              string                     `json:"createdAt"`
	UpdatedAt              string                     `json:"updatedAt"`
}

type raAttributeMappingOut struct {
	CertificateField string              `json:"certificateField"`
	MappingRules     []store.MappingRule `json:"mappingRules"`
}

type raProfileDetail struct {
	ProfileID                 string                  `json:"profileId"`
	ProfileArn                string                  `json:"profileArn"`
	Name                      string                  `json:"name"`
	RoleArns                  []string                `json:"roleArns"`
	ManagedPolicyArns         []string                `json:"managedPolicyArns"`
	SessionPolicy             string                  `json:"sessionPolicy,omitempty"`
	DurationSeconds           int                     `json:"durationSeconds"`
	Enabled                   bool                    `json:"enabled"`
	RequireInstanceProperties bool                    `json:"requireInstanceProperties"`
	AcceptRoleSessionName     bool                    `json:"acceptRoleSessionName"`
	AttributeMappings         []raAttributeMappingOut `json:"attributeMappings"`
	CreatedBy                 string                  `json:"createdBy,omitempty"`
	CreatedAt                 string                  `json:"createdAt"`
	UpdatedAt                 string                  `json:"updatedAt"`
}

type raCrlDetail struct {
	CrlID          string `json:"crlId"`
	CrlArn         string `json:"crlArn"`
	Name           string `json:"name"`
	CrlData        []byte `json:"crlData"`
	Enabled        bool   `json:"enabled"`
	TrustAnchorArn string `json:"trustAnchorArn"`
	CreatedAt      string `json:"createdAt"`
	UpdatedAt      string `json:"updatedAt"`
}

type raSubjectSummary struct {
	SubjectID   string `json:"subjectId"`
	SubjectArn  string `json:"subjectArn"`
	X509Subject string `json:"x509Subject"`
	Enabled     bool   `json:"enabled"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
	LastSeenAt  string `json:"lastSeenAt,omitempty"`
}

type raCredentialSummaryOut struct {
	SerialNumber        string `json:"serialNumber"`
	Issuer              string `json:"issuer"`
	SeenAt              string `json:"seenAt"`
	Enabled             bool   `json:"enabled"`
	Failed              bool   `json:"failed"`
	X509CertificateData string `json:"x509CertificateData,omitempty"`
}

type raInstancePropertyOut struct {
	Properties map[string]string `json:"properties"`
	SeenAt     string            `json:"seenAt"`
	Failed     bool              `json:"failed"`
}

type raSubjectDetail struct {
	raSubjectSummary
	Credentials        []raCredentialSummaryOut `json:"credentials"`
	InstanceProperties []raInstancePropertyOut  `json:"instanceProperties"`
}

// Response envelopes.

type raTrustAnchorOutput struct {
	TrustAnchor raTrustAnchorDetail `json:"trustAnchor"`
}
type raTrustAnchorsOutput struct {
	TrustAnchors []raTrustAnchorDetail `json:"trustAnchors"`
	NextToken    string                `json:"nextToken,omitempty"`
}
type raProfileOutput struct {
	Profile raProfileDetail `json:"profile"`
}
type raProfilesOutput struct {
	Profiles  []raProfileDetail `json:"profiles"`
	NextToken string            `json:"nextToken,omitempty"`
}
type raCrlOutput struct {
	Crl raCrlDetail `json:"crl"`
}
type raCrlsOutput struct {
	Crls      []raCrlDetail `json:"crls"`
	NextToken string        `json:"nextToken,omitempty"`
}
type raSubjectOutput struct {
	Subject raSubjectDetail `json:"subject"`
}
type raSubjectsOutput struct {
	Subjects  []raSubjectSummary `json:"subjects"`
	NextToken string             `json:"nextToken,omitempty"`
}
type raTagsOutput struct {
	Tags []raTagOut `json:"tags"`
}

// raTime formats t as the ISO-8601 date-time AWS emits (UTC, microseconds).
func raTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00")
}

func (q *raRequest) trustAnchorOut(a *store.TrustAnchor) raTrustAnchorDetail {
	d := raTrustAnchorDetail{
		TrustAnchorID:          a.ID,
		TrustAnchorArn:         anywhere.TrustAnchorARN(q.region, q.account, a.ID),
		Name:                   a.Name,
		Source:                 raSourceOut{SourceType: a.SourceType},
		Enabled:                a.Enabled,
		CrlDpRevocationEnabled: a.CRLDPRevocationEnabled,
		NotificationSettings:   []raNotificationSettingOut{},
		CreatedAt:              raTime(a.CreatedAt),
		UpdatedAt:              raTime(a.UpdatedAt),
	}
	if a.SourceType == store.SourceACMPCA {
		d.Source.SourceData.AcmPcaArn = a.SourceData
	} else {
		d.Source.SourceData.X509CertificateData = a.SourceData
	}
	settings := a.NotificationSettings
	if settings == nil {
		settings = raDefaultNotificationSettings()
	}
	for _, s := range settings {
		o := raNotificationSettingOut{Enabled: s.Enabled, Event: s.Event, Channel: s.Channel, ConfiguredBy: s.ConfiguredBy}
		if s.Threshold > 0 {
			o.Threshold = new(s.Threshold)
		}
		d.NotificationSettings = append(d.NotificationSettings, o)
	}
	return d
}

func (q *raRequest) profileOut(p *store.Profile) raProfileDetail {
	d := raProfileDetail{
		ProfileID:                 p.ID,
		ProfileArn:                anywhere.ProfileARN(q.region, q.account, p.ID),
		Name:                      p.Name,
		RoleArns:                  raNonNil(p.RoleARNs),
		ManagedPolicyArns:         raNonNil(p.ManagedPolicyARNs),
		SessionPolicy:             p.SessionPolicy,
		DurationSeconds:           p.DurationSeconds,
		Enabled:                   p.Enabled,
		RequireInstanceProperties: p.RequireInstanceProperties,
		AcceptRoleSessionName:     p.AcceptRoleSessionName,
		AttributeMappings:         []raAttributeMappingOut{},
		CreatedBy:                 p.CreatedBy,
		CreatedAt:                 raTime(p.CreatedAt),
		UpdatedAt:                 raTime(p.UpdatedAt),
	}
	for _, m := range p.AttributeMappings {
		d.AttributeMappings = append(d.AttributeMappings, raAttributeMappingOut{CertificateField: m.CertificateField, MappingRules: raNonNil(m.MappingRules)})
	}
	return d
}

func (q *raRequest) crlOut(c *store.CRL) raCrlDetail {
	return raCrlDetail{
		CrlID:          c.ID,
		CrlArn:         anywhere.CRLARN(q.region, q.account, c.ID),
		Name:           c.Name,
		CrlData:        c.Data,
		Enabled:        c.Enabled,
		TrustAnchorArn: anywhere.TrustAnchorARN(q.region, q.account, c.TrustAnchorID),
		CreatedAt:      raTime(c.CreatedAt),
		UpdatedAt:      raTime(c.UpdatedAt),
	}
}

func (q *raRequest) subjectSummaryOut(s *store.Subject) raSubjectSummary {
	return raSubjectSummary{
		SubjectID:   s.ID,
		SubjectArn:  anywhere.SubjectARN(q.region, q.account, s.ID),
		X509Subject: s.X509Subject,
		Enabled:     s.Enabled,
		CreatedAt:   raTime(s.CreatedAt),
		UpdatedAt:   raTime(s.UpdatedAt),
		LastSeenAt:  raTime(s.LastSeenAt),
	}
}

func (q *raRequest) subjectOut(s *store.Subject) raSubjectDetail {
	d := raSubjectDetail{raSubjectSummary: q.subjectSummaryOut(s), Credentials: []raCredentialSummaryOut{}, InstanceProperties: []raInstancePropertyOut{}}
	for _, c := range s.Credentials {
		d.Credentials = append(d.Credentials, raCredentialSummaryOut{
			SerialNumber: c.SerialNumber, Issuer: c.Issuer, SeenAt: raTime(c.LastSeenAt),
			Enabled: c.Enabled, Failed: c.Failed, X509CertificateData: raCertificatePEM(c.Certificate),
		})
	}
	for _, p := range s.InstanceProperties {
		props := p.Properties
		if props == nil {
			props = map[string]string{}
		}
		d.InstanceProperties = append(d.InstanceProperties, raInstancePropertyOut{Properties: props, SeenAt: raTime(p.SeenAt), Failed: p.Failed})
	}
	return d
}

// raCertificatePEM returns a certificate stored as PEM or DER as PEM text.
func raCertificatePEM(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return string(b)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b}))
}

func raTagsOut(m map[string]string) []raTagOut {
	out := make([]raTagOut, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, raTagOut{Key: k, Value: m[k]})
	}
	return out
}

func raNonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Model constraints (botocore rolesanywhere 2018-05-10).
//
// Compiled on first use (sync.OnceValue): most commands never validate
// these, and compiling them at start-up cost every invocation.
var (
	raNameRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[ a-zA-Z0-9_-]{1,255}$`) })
	raUUIDRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]{8}-([a-z0-9]{4}-){3}[a-z0-9]{12}$`) })
	raTagRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[ a-zA-Z0-9_.:/=+@-]*$`) })
	raRoleArnRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$`) })
	raMaxTagsArg = 200
)

// Notification events and the only channel.
const (
	raEventCAExpiry     = "CA_CERTIFICATE_EXPIRY"
	raEventLeafExpiry   = "END_ENTITY_CERTIFICATE_EXPIRY"
	raChannelAll        = "ALL"
	raDefaultThreshold  = 45
	raConfiguredByAWS   = anywhere.ServicePrincipal
	raMaxNotificationIn = 50
)

// raDefaultNotificationSettings are the settings of a new trust anchor
// (docs/service.md §1.2).
func raDefaultNotificationSettings() []store.NotificationSetting {
	return []store.NotificationSetting{
		{Enabled: true, Event: raEventCAExpiry, Threshold: raDefaultThreshold, Channel: raChannelAll, ConfiguredBy: raConfiguredByAWS},
		{Enabled: true, Event: raEventLeafExpiry, Threshold: raDefaultThreshold, Channel: raChannelAll, ConfiguredBy: raConfiguredByAWS},
	}
}

// raValidationf is a ValidationException in AWS's "1 validation error" form.
func raValidationf(member, format string, args ...any) *apierr.Error {
	e := apierr.Validation(format, args...)
	e.Message = "1 validation error detected: Value at '" + member + "' " + e.Message
	return e
}

// raCheckName validates a ResourceName member.
func raCheckName(member string, name *string, required bool) error {
	if name == nil {
		if required {
			return raValidationf(member, "must not be null")
		}
		return nil
	}
	if !raNameRE().MatchString(*name) {
		return raValidationf(member, "failed to satisfy constraint: 1-255 characters of letters, digits, spaces, '-' and '_'")
	}
	return nil
}

// raCheckTags validates a TagList and returns it as a map. Duplicate keys are
// refused.
func raCheckTags(tags []raTag) (map[string]string, error) {
	if len(tags) > raMaxTagsArg {
		return nil, raValidationf("tags", "failed to satisfy constraint: Member must have length less than or equal to %d", raMaxTagsArg)
	}
	out := make(map[string]string, len(tags))
	for i, t := range tags {
		member := "tags." + strconv.Itoa(i+1)
		if t.Key == nil || t.Value == nil {
			return nil, raValidationf(member, "must have both key and value")
		}
		if n := len(*t.Key); n < 1 || n > 128 || !raTagRE().MatchString(*t.Key) {
			return nil, raValidationf(member+".key", "failed to satisfy constraint: 1-128 characters matching [ a-zA-Z0-9_.:/=+@-]")
		}
		if n := len(*t.Value); n > 256 || !raTagRE().MatchString(*t.Value) {
			return nil, raValidationf(member+".value", "failed to satisfy constraint: 0-256 characters matching [ a-zA-Z0-9_.:/=+@-]")
		}
		if _, dup := out[*t.Key]; dup {
			return nil, raValidationf(member+".key", "duplicates another tag key")
		}
		out[*t.Key] = *t.Value
	}
	if len(out) > store.MaxTagsPerResource {
		return nil, raTooManyTags()
	}
	return out, nil
}

func raTooManyTags() *apierr.Error {
	return apierr.New("TooManyTagsException", 400, "A resource can have at most %d tags.", store.MaxTagsPerResource)
}

// raTagConditionKeys returns the aws:RequestTag/… and aws:TagKeys condition
// keys of a request that sets tags.
func raTagConditionKeys(tags map[string]string) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	extra := map[string][]string{"aws:TagKeys": slices.Sorted(maps.Keys(tags))}
	for k, v := range tags {
		extra["aws:RequestTag/"+k] = []string{v}
	}
	return extra
}

// raResourceTagKeys returns the aws:ResourceTag/… condition keys of a resource.
func raResourceTagKeys(tags map[string]string) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	extra := make(map[string][]string, len(tags))
	for k, v := range tags {
		extra["aws:ResourceTag/"+k] = []string{v}
	}
	return extra
}
