package e2e

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	ratypes "github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"

	"github.com/roam-project/roam/pki"
)

// TestControlPlaneSDKWalkthrough is seed 001's walkthrough again, this time
// with aws-sdk-go-v2's rolesanywhere and iam clients only (signed with the
// admin key `roam server init --key-file` wrote): trust anchor from a PEM
// bundle, role with its trust policy, an inline S3 policy and an attached
// managed policy, profile created disabled then enabled, credentials from
// the official helper, subjects, disabling the profile, revoking with a CRL
// and deleting everything. Every list goes through the SDK's paginators,
// with extra objects and small page sizes so that each spans several pages.
func TestControlPlaneSDKWalkthrough(t *testing.T) {
	cp := newControlPlane(t)
	dir := cp.dir
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	creds := adminCredentials(t, cp.creds)
	ra := rolesanywhere.New(rolesanywhere.Options{Region: "us-east-1", BaseEndpoint: aws.String(cp.srv.Endpoint),
		HTTPClient: cp.srv.Client, Credentials: creds, RetryMaxAttempts: 1})
	im := iamClient(cp.srv, creds)
	const (
		acctARN    = "000000000000"
		raARNStart = "arn:aws:rolesanywhere:us-east-1:" + acctARN + ":"
	)

	// Trust anchor from a PEM bundle.
	bundle := string(pki.EncodeCertificatesPEM(cp.root.iss.Cert))
	ta, err := ra.CreateTrustAnchor(ctx, &rolesanywhere.CreateTrustAnchorInput{
		Name:    aws.String("onprem"),
		Enabled: aws.Bool(true),
		Source: &ratypes.Source{SourceType: ratypes.TrustAnchorTypeCertificateBundle,
			SourceData: &ratypes.SourceDataMemberX509CertificateData{Value: bundle}},
	})
	if err != nil {
		t.Fatalf("CreateTrustAnchor: %v", err)
	}
	anchor := ta.TrustAnchor
	anchorID, anchorARN := aws.ToString(anchor.TrustAnchorId), aws.ToString(anchor.TrustAnchorArn)
	if anchorARN != raARNStart+"trust-anchor/"+anchorID || !aws.ToBool(anchor.Enabled) || aws.ToString(anchor.Name) != "onprem" ||
		anchor.Source == nil || anchor.Source.SourceType != ratypes.TrustAnchorTypeCertificateBundle {
		t.Fatalf("CreateTrustAnchor returned %+v", anchor)
	}
	if sd, ok := anchor.Source.SourceData.(*ratypes.SourceDataMemberX509CertificateData); !ok || !strings.Contains(sd.Value, "BEGIN CERTIFICATE") {
		t.Errorf("trust anchor source data = %#v", anchor.Source.SourceData)
	}
	// AWS_ACM_PCA is not something roam can serve: a ValidationException.
	_, err = ra.CreateTrustAnchor(ctx, &rolesanywhere.CreateTrustAnchorInput{Name: aws.String("pca"),
		Source: &ratypes.Source{SourceType: ratypes.TrustAnchorTypeAwsAcmPca,
			SourceData: &ratypes.SourceDataMemberAcmPcaArn{Value: "arn:aws:acm-pca:us-east-1:" + acctARN + ":certificate-authority/11111111-2222-3333-4444-555555555555"}}})
	var ve *ratypes.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("CreateTrustAnchor AWS_ACM_PCA: %v, want a ValidationException", err)
	}

	// The role: trust policy, an inline S3 policy and an attached managed policy.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/CN":"MyOnpremVM"}}}]}`
	s3Policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/folder/*"}]}`
	cr, err := im.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("s3-read"), AssumeRolePolicyDocument: aws.String(trust),
		Description: aws.String("seed 001, by aws-sdk-go-v2")})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	roleARN := aws.ToString(cr.Role.Arn)
	if roleARN != "arn:aws:iam::"+acctARN+":role/s3-read" || !strings.HasPrefix(aws.ToString(cr.Role.RoleId), "AROA") {
		t.Fatalf("CreateRole returned %+v", cr.Role)
	}
	if _, err := im.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("s3-read"), PolicyName: aws.String("s3"),
		PolicyDocument: aws.String(s3Policy)}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	rp, err := im.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String("s3-read"), PolicyName: aws.String("s3")})
	if err != nil || !strings.Contains(aws.ToString(rp.PolicyDocument), "bucket") {
		// The document comes back URL-encoded, as from IAM.
		t.Errorf("GetRolePolicy: %v %+v", err, rp)
	}
	cpol, err := im.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("s3-managed"), PolicyDocument: aws.String(s3Policy)})
	if err != nil {
		t.Fatalf("CreatePolicy: %v", err)
	}
	policyARN := aws.ToString(cpol.Policy.Arn)
	if policyARN != "arn:aws:iam::"+acctARN+":policy/s3-managed" || !strings.HasPrefix(aws.ToString(cpol.Policy.PolicyId), "ANPA") ||
		aws.ToString(cpol.Policy.DefaultVersionId) != "v1" {
		t.Fatalf("CreatePolicy returned %+v", cpol.Policy)
	}
	if _, err := im.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("s3-read"), PolicyArn: aws.String(policyARN)}); err != nil {
		t.Fatalf("AttachRolePolicy: %v", err)
	}
	if la, err := im.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("s3-read")}); err != nil ||
		len(la.AttachedPolicies) != 1 || aws.ToString(la.AttachedPolicies[0].PolicyArn) != policyARN {
		t.Errorf("ListAttachedRolePolicies: %v %+v", err, la)
	}
	// A second role and a second policy, so that the IAM paginators below
	// (one item a page) turn pages.
	if _, err := im.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("sdk-extra"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("CreateRole sdk-extra: %v", err)
	}
	extraPol, err := im.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("sdk-extra"), PolicyDocument: aws.String(s3Policy)})
	if err != nil {
		t.Fatalf("CreatePolicy sdk-extra: %v", err)
	}
	if got := sdkRoleNames(ctx, t, im); !slices.Equal(got, []string{"s3-read", "sdk-extra"}) {
		t.Errorf("ListRoles paginator: %v", got)
	}
	// AdministratorAccess is the admin's policy `roam server init` made; it stays.
	if got := sdkLocalPolicyNames(ctx, t, im); !slices.Equal(got, []string{"AdministratorAccess", "s3-managed", "sdk-extra"}) {
		t.Errorf("ListPolicies (Local) paginator: %v", got)
	}

	// The profile, created disabled then enabled.
	cprof, err := ra.CreateProfile(ctx, &rolesanywhere.CreateProfileInput{Name: aws.String("s3-read"), RoleArns: []string{roleARN},
		Enabled: aws.Bool(false)})
	if err != nil {
		t.Fatalf("CreateProfile: %v", err)
	}
	prof := cprof.Profile
	profileID, profileARN := aws.ToString(prof.ProfileId), aws.ToString(prof.ProfileArn)
	if profileARN != raARNStart+"profile/"+profileID || aws.ToBool(prof.Enabled) || prof.Enabled == nil ||
		!slices.Equal(prof.RoleArns, []string{roleARN}) || aws.ToInt32(prof.DurationSeconds) != 3600 {
		t.Fatalf("CreateProfile returned %+v", prof)
	}
	if len(prof.AttributeMappings) == 0 {
		t.Errorf("CreateProfile: no default attribute mappings")
	}
	ep, err := ra.EnableProfile(ctx, &rolesanywhere.EnableProfileInput{ProfileId: aws.String(profileID)})
	if err != nil || !aws.ToBool(ep.Profile.Enabled) || aws.ToString(ep.Profile.ProfileArn) != profileARN {
		t.Fatalf("EnableProfile: %v %+v", err, ep)
	}
	if gp, err := ra.GetProfile(ctx, &rolesanywhere.GetProfileInput{ProfileId: aws.String(profileID)}); err != nil || !aws.ToBool(gp.Profile.Enabled) {
		t.Fatalf("GetProfile after EnableProfile: %v %+v", err, gp)
	}

	// Credentials with the official helper.
	leaf := cp.root.issue(t, pki.ProfileClient, pki.ECP256, pkix.Name{CommonName: "MyOnpremVM", Organization: []string{"roam e2e"}})
	certPath, keyPath := leaf.write(t, dir, "vm")
	helper := func() (*processCredentials, string, error) {
		t.Helper()
		out, stderr, err := runHelper(t, cp.srv, "--certificate", certPath, "--private-key", keyPath,
			"--trust-anchor-arn", anchorARN, "--profile-arn", profileARN, "--role-arn", roleARN)
		if err != nil {
			return nil, stderr, err
		}
		var pc processCredentials
		if err := json.Unmarshal([]byte(out), &pc); err != nil {
			return nil, out, fmt.Errorf("helper output: %w", err)
		}
		return &pc, stderr, nil
	}
	pc, stderr, err := helper()
	if err != nil {
		t.Fatalf("credentials with an enabled profile: %v\n%s", err, stderr)
	}
	if pc.Version != 1 || !strings.HasPrefix(pc.AccessKeyID, "ASIA") || pc.SecretAccessKey == "" || pc.SessionToken == "" {
		t.Fatalf("helper credentials: %+v", pc)
	}
	if exp, err := time.Parse(time.RFC3339, pc.Expiration); err != nil || time.Until(exp) < 50*time.Minute || time.Until(exp) > 61*time.Minute {
		t.Errorf("helper credentials expire at %q (%v), want in about an hour", pc.Expiration, err)
	}

	// Subjects, through the paginator: the certificate's subject shows up.
	var subjects []ratypes.SubjectSummary
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		subjects = nil
		for p := rolesanywhere.NewListSubjectsPaginator(ra, &rolesanywhere.ListSubjectsInput{PageSize: aws.Int32(1)}); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListSubjects: %v", err)
			}
			subjects = append(subjects, page.Subjects...)
		}
		if len(subjects) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(subjects) != 1 || !strings.Contains(aws.ToString(subjects[0].X509Subject), "CN=MyOnpremVM") ||
		!aws.ToBool(subjects[0].Enabled) || subjects[0].LastSeenAt == nil {
		t.Fatalf("ListSubjects: %+v", subjects)
	}
	subjectID := aws.ToString(subjects[0].SubjectId)
	if aws.ToString(subjects[0].SubjectArn) != raARNStart+"subject/"+subjectID {
		t.Errorf("subject ARN %q for id %q", aws.ToString(subjects[0].SubjectArn), subjectID)
	}
	gs, err := ra.GetSubject(ctx, &rolesanywhere.GetSubjectInput{SubjectId: aws.String(subjectID)})
	if err != nil {
		t.Fatalf("GetSubject: %v", err)
	}
	if !strings.Contains(aws.ToString(gs.Subject.X509Subject), "CN=MyOnpremVM") || aws.ToString(gs.Subject.SubjectArn) != aws.ToString(subjects[0].SubjectArn) {
		t.Errorf("GetSubject: %+v", gs.Subject)
	}
	seen := false
	for _, c := range gs.Subject.Credentials {
		serial := aws.ToString(c.SerialNumber)
		if (serial == leaf.cert.SerialNumber.String() || strings.EqualFold(serial, leaf.cert.SerialNumber.Text(16))) &&
			strings.Contains(aws.ToString(c.Issuer), "control plane root") && !aws.ToBool(c.Failed) {
			seen = true
		}
	}
	if !seen {
		t.Errorf("GetSubject: the certificate (serial %s) is not among the credentials %+v", leaf.cert.SerialNumber, gs.Subject.Credentials)
	}

	// Disabling the profile: CreateSession is refused.
	dp, err := ra.DisableProfile(ctx, &rolesanywhere.DisableProfileInput{ProfileId: aws.String(profileID)})
	if err != nil || aws.ToBool(dp.Profile.Enabled) || dp.Profile.Enabled == nil {
		t.Fatalf("DisableProfile: %v %+v", err, dp)
	}
	if _, stderr, err := helper(); err == nil || !strings.Contains(stderr, "AccessDeniedException") {
		t.Fatalf("CreateSession with a disabled profile: err = %v, stderr = %s; want AccessDeniedException", err, stderr)
	}
	if ep, err := ra.EnableProfile(ctx, &rolesanywhere.EnableProfileInput{ProfileId: aws.String(profileID)}); err != nil || !aws.ToBool(ep.Profile.Enabled) {
		t.Fatalf("EnableProfile again: %v %+v", err, ep)
	}
	if _, stderr, err := helper(); err != nil {
		t.Fatalf("credentials with the profile enabled again: %v\n%s", err, stderr)
	}

	// A CRL revoking the certificate: CreateSession is refused.
	der, err := cp.root.iss.CreateCRL([]pki.RevokedCert{{Serial: leaf.cert.SerialNumber, RevokedAt: time.Now().Add(-time.Minute)}},
		pki.CRLOptions{Number: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := ra.ImportCrl(ctx, &rolesanywhere.ImportCrlInput{Name: aws.String("revoked"), CrlData: pki.EncodeCRLPEM(der),
		TrustAnchorArn: aws.String(anchorARN), Enabled: aws.Bool(true)})
	if err != nil {
		t.Fatalf("ImportCrl: %v", err)
	}
	crlID, crlARN := aws.ToString(ic.Crl.CrlId), aws.ToString(ic.Crl.CrlArn)
	if crlARN != raARNStart+"crl/"+crlID || !aws.ToBool(ic.Crl.Enabled) || aws.ToString(ic.Crl.TrustAnchorArn) != anchorARN ||
		aws.ToString(ic.Crl.Name) != "revoked" || len(ic.Crl.CrlData) == 0 {
		t.Fatalf("ImportCrl returned %+v", ic.Crl)
	}
	if _, stderr, err := helper(); err == nil || !strings.Contains(stderr, "AccessDeniedException") {
		t.Fatalf("CreateSession with a revoked certificate: err = %v, stderr = %s; want AccessDeniedException", err, stderr)
	}

	// Extra objects so that every Roles Anywhere paginator turns pages
	// (page size 2): two more trust anchors (3 in all), three more
	// profiles (4), two more CRLs (3), disabled and from another CA so
	// that they do not touch the walkthrough's certificate.
	other := newCA(t, "sdk other root", pki.ECP256)
	var extraAnchors, extraProfiles, extraCRLs []string
	var otherAnchorARN string
	for i := range 2 {
		out, err := ra.CreateTrustAnchor(ctx, &rolesanywhere.CreateTrustAnchorInput{Name: aws.String(fmt.Sprintf("sdk-extra-%d", i)),
			Source: &ratypes.Source{SourceType: ratypes.TrustAnchorTypeCertificateBundle,
				SourceData: &ratypes.SourceDataMemberX509CertificateData{Value: string(pki.EncodeCertificatesPEM(other.iss.Cert))}}})
		if err != nil {
			t.Fatalf("CreateTrustAnchor sdk-extra-%d: %v", i, err)
		}
		if aws.ToBool(out.TrustAnchor.Enabled) {
			t.Errorf("trust anchor created without enabled is enabled: %+v", out.TrustAnchor)
		}
		extraAnchors = append(extraAnchors, aws.ToString(out.TrustAnchor.TrustAnchorId))
		otherAnchorARN = aws.ToString(out.TrustAnchor.TrustAnchorArn)
	}
	for i := range 3 {
		out, err := ra.CreateProfile(ctx, &rolesanywhere.CreateProfileInput{Name: aws.String(fmt.Sprintf("sdk-extra-%d", i)),
			RoleArns: []string{roleARN}, Enabled: aws.Bool(false)})
		if err != nil {
			t.Fatalf("CreateProfile sdk-extra-%d: %v", i, err)
		}
		extraProfiles = append(extraProfiles, aws.ToString(out.Profile.ProfileId))
	}
	for i := range 2 {
		d, err := other.iss.CreateCRL(nil, pki.CRLOptions{Number: big.NewInt(int64(i + 1))})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ra.ImportCrl(ctx, &rolesanywhere.ImportCrlInput{Name: aws.String(fmt.Sprintf("sdk-extra-%d", i)), CrlData: d,
			TrustAnchorArn: aws.String(otherAnchorARN), Enabled: aws.Bool(false)})
		if err != nil {
			t.Fatalf("ImportCrl sdk-extra-%d (DER): %v", i, err)
		}
		if aws.ToBool(out.Crl.Enabled) {
			t.Errorf("CRL imported disabled is enabled: %+v", out.Crl)
		}
		extraCRLs = append(extraCRLs, aws.ToString(out.Crl.CrlId))
	}
	anchorsNow, anchorPages := sdkTrustAnchors(ctx, t, ra)
	if want := append([]string{anchorID}, extraAnchors...); !sameSet(ids(anchorsNow, func(a ratypes.TrustAnchorDetail) string { return aws.ToString(a.TrustAnchorId) }), want) || anchorPages < 2 {
		t.Errorf("ListTrustAnchors paginator: %d pages, %+v; want %v", anchorPages, anchorsNow, want)
	}
	profilesNow, profilePages := sdkProfiles(ctx, t, ra)
	if want := append([]string{profileID}, extraProfiles...); !sameSet(ids(profilesNow, func(p ratypes.ProfileDetail) string { return aws.ToString(p.ProfileId) }), want) || profilePages < 2 {
		t.Errorf("ListProfiles paginator: %d pages, %+v; want %v", profilePages, profilesNow, want)
	}
	for _, p := range profilesNow {
		if aws.ToString(p.ProfileId) == profileID && !aws.ToBool(p.Enabled) || aws.ToString(p.ProfileId) != profileID && aws.ToBool(p.Enabled) {
			t.Errorf("listed profile %s enabled = %v", aws.ToString(p.Name), aws.ToBool(p.Enabled))
		}
	}
	crlsNow, crlPages := sdkCRLs(ctx, t, ra)
	if want := append([]string{crlID}, extraCRLs...); !sameSet(ids(crlsNow, func(c ratypes.CrlDetail) string { return aws.ToString(c.CrlId) }), want) || crlPages < 2 {
		t.Errorf("ListCrls paginator: %d pages, %+v; want %v", crlPages, crlsNow, want)
	}
	// The extra objects do not change the refusal.
	if _, stderr, err := helper(); err == nil || !strings.Contains(stderr, "AccessDeniedException") {
		t.Errorf("CreateSession with a revoked certificate, after the extra imports: err = %v, stderr = %s", err, stderr)
	}
	for _, id := range extraCRLs {
		if _, err := ra.DeleteCrl(ctx, &rolesanywhere.DeleteCrlInput{CrlId: aws.String(id)}); err != nil {
			t.Errorf("DeleteCrl %s: %v", id, err)
		}
	}
	for _, id := range extraProfiles {
		if _, err := ra.DeleteProfile(ctx, &rolesanywhere.DeleteProfileInput{ProfileId: aws.String(id)}); err != nil {
			t.Errorf("DeleteProfile %s: %v", id, err)
		}
	}
	for _, id := range extraAnchors {
		if _, err := ra.DeleteTrustAnchor(ctx, &rolesanywhere.DeleteTrustAnchorInput{TrustAnchorId: aws.String(id)}); err != nil {
			t.Errorf("DeleteTrustAnchor %s: %v", id, err)
		}
	}

	// Delete everything. The role cannot go while a profile names it.
	var dc *iamtypes.DeleteConflictException
	if _, err := im.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("s3-read")}); !errors.As(err, &dc) {
		t.Errorf("DeleteRole of a role still in a profile: %v, want DeleteConflictException", err)
	}
	dcrl, err := ra.DeleteCrl(ctx, &rolesanywhere.DeleteCrlInput{CrlId: aws.String(crlID)})
	if err != nil || aws.ToString(dcrl.Crl.CrlArn) != crlARN {
		t.Fatalf("DeleteCrl: %v %+v", err, dcrl)
	}
	dprof, err := ra.DeleteProfile(ctx, &rolesanywhere.DeleteProfileInput{ProfileId: aws.String(profileID)})
	if err != nil || aws.ToString(dprof.Profile.ProfileArn) != profileARN {
		t.Fatalf("DeleteProfile: %v %+v", err, dprof)
	}
	if _, err := im.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("s3-read"), PolicyArn: aws.String(policyARN)}); err != nil {
		t.Fatalf("DetachRolePolicy: %v", err)
	}
	if _, err := im.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: aws.String("s3-read"), PolicyName: aws.String("s3")}); err != nil {
		t.Fatalf("DeleteRolePolicy: %v", err)
	}
	for _, arn := range []string{policyARN, aws.ToString(extraPol.Policy.Arn)} {
		if _, err := im.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil {
			t.Fatalf("DeletePolicy %s: %v", arn, err)
		}
	}
	for _, name := range []string{"s3-read", "sdk-extra"} {
		if _, err := im.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil {
			t.Fatalf("DeleteRole %s: %v", name, err)
		}
	}
	dta, err := ra.DeleteTrustAnchor(ctx, &rolesanywhere.DeleteTrustAnchorInput{TrustAnchorId: aws.String(anchorID)})
	if err != nil || aws.ToString(dta.TrustAnchor.TrustAnchorArn) != anchorARN {
		t.Fatalf("DeleteTrustAnchor: %v %+v", err, dta)
	}

	// Gone, as the typed errors and every paginator say.
	var nf *ratypes.ResourceNotFoundException
	if _, err := ra.GetProfile(ctx, &rolesanywhere.GetProfileInput{ProfileId: aws.String(profileID)}); !errors.As(err, &nf) {
		t.Errorf("GetProfile after delete: %v, want ResourceNotFoundException", err)
	}
	if _, err := ra.GetTrustAnchor(ctx, &rolesanywhere.GetTrustAnchorInput{TrustAnchorId: aws.String(anchorID)}); !errors.As(err, &nf) {
		t.Errorf("GetTrustAnchor after delete: %v, want ResourceNotFoundException", err)
	}
	if _, err := ra.GetCrl(ctx, &rolesanywhere.GetCrlInput{CrlId: aws.String(crlID)}); !errors.As(err, &nf) {
		t.Errorf("GetCrl after delete: %v, want ResourceNotFoundException", err)
	}
	var nse *iamtypes.NoSuchEntityException
	if _, err := im.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("s3-read")}); !errors.As(err, &nse) {
		t.Errorf("GetRole after delete: %v, want NoSuchEntityException", err)
	}
	if _, err := im.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(policyARN)}); !errors.As(err, &nse) {
		t.Errorf("GetPolicy after delete: %v, want NoSuchEntityException", err)
	}
	if a, _ := sdkTrustAnchors(ctx, t, ra); len(a) != 0 {
		t.Errorf("ListTrustAnchors after deleting everything: %+v", a)
	}
	if p, _ := sdkProfiles(ctx, t, ra); len(p) != 0 {
		t.Errorf("ListProfiles after deleting everything: %+v", p)
	}
	if c, _ := sdkCRLs(ctx, t, ra); len(c) != 0 {
		t.Errorf("ListCrls after deleting everything: %+v", c)
	}
	if r := sdkRoleNames(ctx, t, im); len(r) != 0 {
		t.Errorf("ListRoles after deleting everything: %v", r)
	}
	if p := sdkLocalPolicyNames(ctx, t, im); !slices.Equal(p, []string{"AdministratorAccess"}) {
		t.Errorf("ListPolicies (Local) after deleting everything: %v", p)
	}
}

// sdkTrustAnchors lists every trust anchor two a page; it returns them and
// the number of pages.
func sdkTrustAnchors(ctx context.Context, t *testing.T, c *rolesanywhere.Client) ([]ratypes.TrustAnchorDetail, int) {
	t.Helper()
	var all []ratypes.TrustAnchorDetail
	pages := 0
	for p := rolesanywhere.NewListTrustAnchorsPaginator(c, &rolesanywhere.ListTrustAnchorsInput{PageSize: aws.Int32(2)}); p.HasMorePages(); pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListTrustAnchors page %d: %v", pages+1, err)
		}
		if len(page.TrustAnchors) > 2 {
			t.Errorf("ListTrustAnchors page of %d with pageSize 2", len(page.TrustAnchors))
		}
		all = append(all, page.TrustAnchors...)
	}
	return all, pages
}

func sdkProfiles(ctx context.Context, t *testing.T, c *rolesanywhere.Client) ([]ratypes.ProfileDetail, int) {
	t.Helper()
	var all []ratypes.ProfileDetail
	pages := 0
	for p := rolesanywhere.NewListProfilesPaginator(c, &rolesanywhere.ListProfilesInput{PageSize: aws.Int32(2)}); p.HasMorePages(); pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListProfiles page %d: %v", pages+1, err)
		}
		if len(page.Profiles) > 2 {
			t.Errorf("ListProfiles page of %d with pageSize 2", len(page.Profiles))
		}
		all = append(all, page.Profiles...)
	}
	return all, pages
}

func sdkCRLs(ctx context.Context, t *testing.T, c *rolesanywhere.Client) ([]ratypes.CrlDetail, int) {
	t.Helper()
	var all []ratypes.CrlDetail
	pages := 0
	for p := rolesanywhere.NewListCrlsPaginator(c, &rolesanywhere.ListCrlsInput{PageSize: aws.Int32(2)}); p.HasMorePages(); pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListCrls page %d: %v", pages+1, err)
		}
		if len(page.Crls) > 2 {
			t.Errorf("ListCrls page of %d with pageSize 2", len(page.Crls))
		}
		all = append(all, page.Crls...)
	}
	return all, pages
}

// sdkRoleNames pages through ListRoles one role at a time.
func sdkRoleNames(ctx context.Context, t *testing.T, c *awsiam.Client) []string {
	t.Helper()
	names := []string{}
	for p := awsiam.NewListRolesPaginator(c, &awsiam.ListRolesInput{MaxItems: aws.Int32(1)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListRoles: %v", err)
		}
		if len(page.Roles) > 1 {
			t.Errorf("ListRoles page of %d with MaxItems 1", len(page.Roles))
		}
		for _, r := range page.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	slices.Sort(names)
	return names
}

// sdkLocalPolicyNames pages through ListPolicies (Scope Local) one policy at a time.
func sdkLocalPolicyNames(ctx context.Context, t *testing.T, c *awsiam.Client) []string {
	t.Helper()
	names := []string{}
	for p := awsiam.NewListPoliciesPaginator(c, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, MaxItems: aws.Int32(1)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListPolicies: %v", err)
		}
		if len(page.Policies) > 1 {
			t.Errorf("ListPolicies page of %d with MaxItems 1", len(page.Policies))
		}
		for _, pol := range page.Policies {
			names = append(names, aws.ToString(pol.PolicyName))
		}
	}
	slices.Sort(names)
	return names
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
