package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	ratypes "github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
	"github.com/spf13/cobra"

	"github.com/roam-project/roam/internal/bootstrap"
)

// controlPlaneFlags are the client flags `roam apply` and `roam get` share.
// Credentials come from the AWS SDK's standard chain (environment, shared
// config/credentials files and --profile).
type controlPlaneFlags struct {
	endpoint, caBundle, region, profile string
}

func (f *controlPlaneFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.endpoint, "endpoint-url", "", "roam server URL, e.g. https://127.0.0.1:8443 (default $ROAM_ENDPOINT_URL or $AWS_ENDPOINT_URL)")
	fl.StringVar(&f.caBundle, "ca-bundle", "", "PEM file of CAs to trust for the server's TLS certificate (default $AWS_CA_BUNDLE)")
	fl.StringVar(&f.region, "region", "", "region to sign with (default from the AWS config, else the server's us-east-1)")
	fl.StringVar(&f.profile, "profile", "", "AWS shared-config profile whose credentials to use")
}

// controlPlane holds the SDK clients of a roam server's control plane.
type controlPlane struct {
	ra  *rolesanywhere.Client
	iam *awsiam.Client
}

func (f *controlPlaneFlags) connect(ctx context.Context, env *Env) (*controlPlane, error) {
	endpoint := f.endpoint
	if endpoint == "" {
		endpoint = firstEnv(env, "ROAM_ENDPOINT_URL", env.Getenv("AWS_ENDPOINT_URL"))
	}
	if endpoint == "" {
		return nil, errors.New("--endpoint-url is required (the roam server's URL)")
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--endpoint-url %q: want https://HOST:PORT", endpoint)
	}
	opts := []func(*config.LoadOptions) error{}
	if f.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(f.profile))
	}
	caFile := f.caBundle
	if caFile == "" {
		caFile = env.Getenv("AWS_CA_BUNDLE")
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-bundle: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-bundle %s: no PEM certificate", caFile)
		}
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if f.region != "" {
		cfg.Region = f.region
	}
	if cfg.Region == "" {
		cfg.Region = bootstrap.DefaultRegion
	}
	cfg.RetryMaxAttempts = 2
	cp := &controlPlane{
		ra:  rolesanywhere.NewFromConfig(cfg, func(o *rolesanywhere.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		iam: awsiam.NewFromConfig(cfg, func(o *awsiam.Options) { o.BaseEndpoint = aws.String(endpoint) }),
	}
	return cp, nil
}

func newApplyCommand(env *Env) *cobra.Command {
	var cp controlPlaneFlags
	var file string
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "apply -f roam.yaml",
		Short: "Bring a roam server's configuration to the state a bootstrap file declares",
		Long: `Apply a roam.yaml bootstrap file through the control-plane API (the Roles
Anywhere and IAM APIs, as the AWS CLI would): trust anchors, CRLs, managed
policies, roles and profiles it declares are created or updated to match;
with --prune, trust anchors, CRLs, profiles and roles it does not declare are
deleted (managed policies never are). The plan is printed first as a diff;
--dry-run stops there. A second apply of the same file changes nothing.

Credentials come from the AWS SDK chain: AWS_ACCESS_KEY_ID/… , --profile,
AWS_SHARED_CREDENTIALS_FILE (see roam server init --key-file).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("-f roam.yaml is required")
			}
			ctx := cmd.Context()
			f, err := bootstrap.Load(file)
			if err != nil {
				return err
			}
			c, err := cp.connect(ctx, env)
			if err != nil {
				return err
			}
			a := &applier{cp: c, file: f}
			plan, err := a.plan(ctx, prune)
			if err != nil {
				return err
			}
			if err := plan.Write(env.Stdout); err != nil {
				return err
			}
			if plan.Empty() || dryRun {
				if dryRun && !plan.Empty() {
					fmt.Fprintln(env.Stdout, "Dry run: nothing was changed.")
				}
				return nil
			}
			if err := a.apply(ctx, plan); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Applied %d change(s).\n", len(plan.Changes))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the bootstrap file (roam.yaml)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete trust anchors, CRLs, profiles and roles the file does not declare")
	cp.register(cmd)
	return cmd
}

// applier reads the live state and carries out a plan.
type applier struct {
	cp   *controlPlane
	file *bootstrap.File
	// live state by kind and name, filled by plan.
	anchors  map[string]ratypes.TrustAnchorDetail
	crls     map[string]ratypes.CrlDetail
	profiles map[string]ratypes.ProfileDetail
	// account is learned from the first live ARN.
	account string
}

// liveState lists every resource the file can declare.
func (a *applier) liveState(ctx context.Context) ([]bootstrap.Resource, error) {
	var out []bootstrap.Resource
	a.anchors, a.crls, a.profiles = map[string]ratypes.TrustAnchorDetail{}, map[string]ratypes.CrlDetail{}, map[string]ratypes.ProfileDetail{}
	anchorNames := map[string]string{} // ARN → name
	for pg := rolesanywhere.NewListTrustAnchorsPaginator(a.cp.ra, &rolesanywhere.ListTrustAnchorsInput{}); pg.HasMorePages(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list trust anchors: %w", err)
		}
		for _, t := range page.TrustAnchors {
			name := aws.ToString(t.Name)
			if a.account == "" {
				a.account = accountOf(aws.ToString(t.TrustAnchorArn))
			}
			a.anchors[name] = t
			anchorNames[aws.ToString(t.TrustAnchorArn)] = name
			tags, err := a.raTags(ctx, t.TrustAnchorArn)
			if err != nil {
				return nil, err
			}
			bundle := ""
			if sd, ok := t.Source.SourceData.(*ratypes.SourceDataMemberX509CertificateData); ok {
				bundle = strings.TrimSpace(sd.Value)
			}
			out = append(out, bootstrap.Resource{Kind: bootstrap.KindTrustAnchor, Name: name, Fields: map[string]string{
				"certificateBundle": bundle, "enabled": bootstrap.Bool(aws.ToBool(t.Enabled)), "tags": tags,
			}})
		}
	}
	for pg := rolesanywhere.NewListCrlsPaginator(a.cp.ra, &rolesanywhere.ListCrlsInput{}); pg.HasMorePages(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list CRLs: %w", err)
		}
		for _, c := range page.Crls {
			name := aws.ToString(c.Name)
			a.crls[name] = c
			tags, err := a.raTags(ctx, c.CrlArn)
			if err != nil {
				return nil, err
			}
			out = append(out, bootstrap.Resource{Kind: bootstrap.KindCRL, Name: name, Fields: map[string]string{
				"trustAnchor": anchorNames[aws.ToString(c.TrustAnchorArn)], "crlData": bootstrap.Digest(c.CrlData),
				"enabled": bootstrap.Bool(aws.ToBool(c.Enabled)), "tags": tags,
			}})
		}
	}
	for pg := rolesanywhere.NewListProfilesPaginator(a.cp.ra, &rolesanywhere.ListProfilesInput{}); pg.HasMorePages(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list profiles: %w", err)
		}
		for _, p := range page.Profiles {
			name := aws.ToString(p.Name)
			if a.account == "" {
				a.account = accountOf(aws.ToString(p.ProfileArn))
			}
			a.profiles[name] = p
			tags, err := a.raTags(ctx, p.ProfileArn)
			if err != nil {
				return nil, err
			}
			maps := map[string][]string{}
			for _, m := range p.AttributeMappings {
				for _, r := range m.MappingRules {
					maps[string(m.CertificateField)] = append(maps[string(m.CertificateField)], aws.ToString(r.Specifier))
				}
			}
			out = append(out, bootstrap.Resource{Kind: bootstrap.KindProfile, Name: name, Fields: map[string]string{
				"roles": bootstrap.JoinSorted(p.RoleArns), "durationSeconds": strconv.Itoa(int(aws.ToInt32(p.DurationSeconds))),
				"enabled": bootstrap.Bool(aws.ToBool(p.Enabled)), "acceptRoleSessionName": bootstrap.Bool(aws.ToBool(p.AcceptRoleSessionName)),
				"sessionPolicy": bootstrap.CanonicalJSON(aws.ToString(p.SessionPolicy)), "managedPolicies": bootstrap.JoinSorted(p.ManagedPolicyArns),
				"attributeMappings": bootstrap.MappingString(maps), "tags": tags,
			}})
		}
	}
	iamRes, err := a.liveIAM(ctx)
	if err != nil {
		return nil, err
	}
	return append(out, iamRes...), nil
}

// liveIAM lists roles and local managed policies.
func (a *applier) liveIAM(ctx context.Context) ([]bootstrap.Resource, error) {
	var out []bootstrap.Resource
	for pg := awsiam.NewListPoliciesPaginator(a.cp.iam, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal}); pg.HasMorePages(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		for _, p := range page.Policies {
			v, err := a.cp.iam.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: p.Arn, VersionId: p.DefaultVersionId})
			if err != nil {
				return nil, fmt.Errorf("policy %s: %w", aws.ToString(p.PolicyName), err)
			}
			out = append(out, bootstrap.Resource{Kind: bootstrap.KindPolicy, Name: aws.ToString(p.PolicyName), Fields: map[string]string{
				"path": aws.ToString(p.Path), "document": bootstrap.CanonicalJSON(unescapeDoc(aws.ToString(v.PolicyVersion.Document))),
			}})
		}
	}
	for pg := awsiam.NewListRolesPaginator(a.cp.iam, &awsiam.ListRolesInput{}); pg.HasMorePages(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		for _, r := range page.Roles {
			name := aws.ToString(r.RoleName)
			if a.account == "" {
				a.account = accountOf(aws.ToString(r.Arn))
			}
			got, err := a.cp.iam.GetRole(ctx, &awsiam.GetRoleInput{RoleName: r.RoleName})
			if err != nil {
				return nil, fmt.Errorf("role %s: %w", name, err)
			}
			role := got.Role
			fields := map[string]string{
				"path": aws.ToString(role.Path), "description": aws.ToString(role.Description),
				"maxSessionDuration": strconv.Itoa(int(aws.ToInt32(role.MaxSessionDuration))),
				"trustPolicy":        bootstrap.CanonicalJSON(unescapeDoc(aws.ToString(role.AssumeRolePolicyDocument))),
				"tags":               tagMap(role.Tags),
			}
			if role.PermissionsBoundary != nil {
				fields["permissionsBoundary"] = aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn)
			} else {
				fields["permissionsBoundary"] = ""
			}
			var inline []string
			for ipg := awsiam.NewListRolePoliciesPaginator(a.cp.iam, &awsiam.ListRolePoliciesInput{RoleName: r.RoleName}); ipg.HasMorePages(); {
				ip, err := ipg.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("role %s: inline policies: %w", name, err)
				}
				for _, pn := range ip.PolicyNames {
					doc, err := a.cp.iam.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: r.RoleName, PolicyName: aws.String(pn)})
					if err != nil {
						return nil, fmt.Errorf("role %s: inline policy %s: %w", name, pn, err)
					}
					inline = append(inline, pn)
					fields["inlinePolicy/"+pn] = bootstrap.CanonicalJSON(unescapeDoc(aws.ToString(doc.PolicyDocument)))
				}
			}
			fields["inlinePolicies"] = bootstrap.JoinSorted(inline)
			var attached []string
			for apg := awsiam.NewListAttachedRolePoliciesPaginator(a.cp.iam, &awsiam.ListAttachedRolePoliciesInput{RoleName: r.RoleName}); apg.HasMorePages(); {
				ap, err := apg.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("role %s: attached policies: %w", name, err)
				}
				for _, p := range ap.AttachedPolicies {
					attached = append(attached, aws.ToString(p.PolicyArn))
				}
			}
			fields["managedPolicies"] = bootstrap.JoinSorted(attached)
			out = append(out, bootstrap.Resource{Kind: bootstrap.KindRole, Name: name, Fields: fields})
		}
	}
	return out, nil
}

// account is learned from the first live ARN; the file's account wins.
func (a *applier) accountID() string {
	if a.file.Account != "" {
		return a.file.Account
	}
	if a.account != "" {
		return a.account
	}
	return bootstrap.DefaultAccount
}

func (a *applier) plan(ctx context.Context, prune bool) (*bootstrap.Plan, error) {
	live, err := a.liveState(ctx)
	if err != nil {
		return nil, err
	}
	desired, err := a.file.Desired(a.accountID())
	if err != nil {
		return nil, err
	}
	return bootstrap.Diff(desired, live, prune, bootstrap.KindPolicy), nil
}

func (a *applier) raTags(ctx context.Context, arn *string) (string, error) {
	out, err := a.cp.ra.ListTagsForResource(ctx, &rolesanywhere.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		return "", fmt.Errorf("list tags of %s: %w", aws.ToString(arn), err)
	}
	m := map[string]string{}
	for _, t := range out.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return bootstrap.TagString(m), nil
}

func tagMap(tags []iamtypes.Tag) string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return bootstrap.TagString(m)
}

// unescapeDoc undoes the URL encoding of IAM policy documents in responses.
func unescapeDoc(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// accountOf returns the account field of an ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// apply carries out plan, in its order. It stops at the first error; what
// was applied before stays applied, and a rerun continues from there.
func (a *applier) apply(ctx context.Context, plan *bootstrap.Plan) error {
	for _, c := range plan.Changes {
		var err error
		switch c.Kind {
		case bootstrap.KindTrustAnchor:
			err = a.applyAnchor(ctx, c)
		case bootstrap.KindCRL:
			err = a.applyCRL(ctx, c)
		case bootstrap.KindPolicy:
			err = a.applyPolicy(ctx, c)
		case bootstrap.KindRole:
			err = a.applyRole(ctx, c)
		case bootstrap.KindProfile:
			err = a.applyProfile(ctx, c)
		}
		if err != nil {
			return fmt.Errorf("%s %s %q: %w", c.Op, c.Kind, c.Name, err)
		}
	}
	return nil
}

func changed(c bootstrap.Change, field string) bool {
	if c.Op == bootstrap.OpCreate {
		return false
	}
	for _, d := range c.Diffs {
		if d.Field == field {
			return true
		}
	}
	return false
}

func raTagList(m map[string]string) []ratypes.Tag {
	var out []ratypes.Tag
	for k, v := range m {
		out = append(out, ratypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// syncRATags makes the tags of arn exactly want.
func (a *applier) syncRATags(ctx context.Context, arn *string, want map[string]string) error {
	cur, err := a.cp.ra.ListTagsForResource(ctx, &rolesanywhere.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		return err
	}
	var drop []string
	for _, t := range cur.Tags {
		if _, ok := want[aws.ToString(t.Key)]; !ok {
			drop = append(drop, aws.ToString(t.Key))
		}
	}
	if len(drop) > 0 {
		if _, err := a.cp.ra.UntagResource(ctx, &rolesanywhere.UntagResourceInput{ResourceArn: arn, TagKeys: drop}); err != nil {
			return err
		}
	}
	if len(want) > 0 {
		_, err = a.cp.ra.TagResource(ctx, &rolesanywhere.TagResourceInput{ResourceArn: arn, Tags: raTagList(want)})
	}
	return err
}

func (a *applier) declaredAnchor(name string) *bootstrap.TrustAnchor {
	for i := range a.file.TrustAnchors {
		if a.file.TrustAnchors[i].Name == name {
			return &a.file.TrustAnchors[i]
		}
	}
	return nil
}

func (a *applier) applyAnchor(ctx context.Context, c bootstrap.Change) error {
	ra := a.cp.ra
	if c.Op == bootstrap.OpDelete {
		_, err := ra.DeleteTrustAnchor(ctx, &rolesanywhere.DeleteTrustAnchorInput{TrustAnchorId: a.anchors[c.Name].TrustAnchorId})
		return err
	}
	d := a.declaredAnchor(c.Name)
	on := d.Enabled == nil || *d.Enabled
	src := &ratypes.Source{SourceType: ratypes.TrustAnchorTypeCertificateBundle, SourceData: &ratypes.SourceDataMemberX509CertificateData{Value: d.CertificateBundle}}
	if c.Op == bootstrap.OpCreate {
		out, err := ra.CreateTrustAnchor(ctx, &rolesanywhere.CreateTrustAnchorInput{Name: aws.String(d.Name), Source: src, Enabled: aws.Bool(on), Tags: raTagList(d.Tags)})
		if err == nil {
			a.anchors[d.Name] = *out.TrustAnchor
		}
		return err
	}
	cur := a.anchors[c.Name]
	if changed(c, "certificateBundle") {
		if _, err := ra.UpdateTrustAnchor(ctx, &rolesanywhere.UpdateTrustAnchorInput{TrustAnchorId: cur.TrustAnchorId, Source: src}); err != nil {
			return err
		}
	}
	if changed(c, "enabled") {
		var err error
		if on {
			_, err = ra.EnableTrustAnchor(ctx, &rolesanywhere.EnableTrustAnchorInput{TrustAnchorId: cur.TrustAnchorId})
		} else {
			_, err = ra.DisableTrustAnchor(ctx, &rolesanywhere.DisableTrustAnchorInput{TrustAnchorId: cur.TrustAnchorId})
		}
		if err != nil {
			return err
		}
	}
	if changed(c, "tags") {
		return a.syncRATags(ctx, cur.TrustAnchorArn, d.Tags)
	}
	return nil
}

func (a *applier) applyCRL(ctx context.Context, c bootstrap.Change) error {
	ra := a.cp.ra
	if c.Op == bootstrap.OpDelete {
		_, err := ra.DeleteCrl(ctx, &rolesanywhere.DeleteCrlInput{CrlId: a.crls[c.Name].CrlId})
		return err
	}
	idx := -1
	for i := range a.file.CRLs {
		if a.file.CRLs[i].Name == c.Name {
			idx = i
		}
	}
	d := a.file.CRLs[idx]
	data, err := a.file.CRLData(idx)
	if err != nil {
		return err
	}
	on := d.Enabled == nil || *d.Enabled
	anchor, ok := a.anchors[d.TrustAnchor]
	if !ok {
		return fmt.Errorf("trust anchor %q does not exist", d.TrustAnchor)
	}
	cur, exists := a.crls[c.Name]
	if c.Op == bootstrap.OpCreate || changed(c, "trustAnchor") {
		if exists {
			if _, err := ra.DeleteCrl(ctx, &rolesanywhere.DeleteCrlInput{CrlId: cur.CrlId}); err != nil {
				return err
			}
		}
		_, err := ra.ImportCrl(ctx, &rolesanywhere.ImportCrlInput{Name: aws.String(d.Name), CrlData: data, TrustAnchorArn: anchor.TrustAnchorArn, Enabled: aws.Bool(on), Tags: raTagList(d.Tags)})
		return err
	}
	if changed(c, "crlData") {
		if _, err := ra.UpdateCrl(ctx, &rolesanywhere.UpdateCrlInput{CrlId: cur.CrlId, CrlData: data}); err != nil {
			return err
		}
	}
	if changed(c, "enabled") {
		if on {
			_, err = ra.EnableCrl(ctx, &rolesanywhere.EnableCrlInput{CrlId: cur.CrlId})
		} else {
			_, err = ra.DisableCrl(ctx, &rolesanywhere.DisableCrlInput{CrlId: cur.CrlId})
		}
		if err != nil {
			return err
		}
	}
	if changed(c, "tags") {
		return a.syncRATags(ctx, cur.CrlArn, d.Tags)
	}
	return nil
}

func (a *applier) applyPolicy(ctx context.Context, c bootstrap.Change) error {
	var d *bootstrap.Policy
	for i := range a.file.Policies {
		if strings.EqualFold(a.file.Policies[i].Name, c.Name) {
			d = &a.file.Policies[i]
		}
	}
	arn := a.file.PolicyARNs(a.accountID(), []string{d.Name})[0]
	if c.Op == bootstrap.OpCreate {
		in := &awsiam.CreatePolicyInput{PolicyName: aws.String(d.Name), PolicyDocument: aws.String(d.Document.JSON), Path: aws.String(pathOr(d.Path))}
		if d.Description != "" {
			in.Description = aws.String(d.Description)
		}
		_, err := a.cp.iam.CreatePolicy(ctx, in)
		return err
	}
	// A new default version; the oldest non-default one makes room.
	vs, err := a.cp.iam.ListPolicyVersions(ctx, &awsiam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return err
	}
	if len(vs.Versions) >= 5 {
		for i := len(vs.Versions) - 1; i >= 0; i-- {
			if !vs.Versions[i].IsDefaultVersion {
				if _, err := a.cp.iam.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: vs.Versions[i].VersionId}); err != nil {
					return err
				}
				break
			}
		}
	}
	_, err = a.cp.iam.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(d.Document.JSON), SetAsDefault: true})
	return err
}

func pathOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func (a *applier) applyRole(ctx context.Context, c bootstrap.Change) error {
	im := a.cp.iam
	name := aws.String(c.Name)
	if c.Op == bootstrap.OpDelete {
		// Inline and attached policies go first, as IAM requires.
		pols, err := im.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: name})
		if err != nil {
			return err
		}
		for _, p := range pols.PolicyNames {
			if _, err := im.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(p)}); err != nil {
				return err
			}
		}
		att, err := im.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: name})
		if err != nil {
			return err
		}
		for _, p := range att.AttachedPolicies {
			if _, err := im.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: name, PolicyArn: p.PolicyArn}); err != nil {
				return err
			}
		}
		_, err = im.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: name})
		return err
	}
	var d *bootstrap.Role
	for i := range a.file.Roles {
		if strings.EqualFold(a.file.Roles[i].Name, c.Name) {
			d = &a.file.Roles[i]
		}
	}
	msd := int32(d.MaxSessionDuration)
	if msd == 0 {
		msd = 3600
	}
	acct := a.accountID()
	boundary := a.file.PolicyARNs(acct, nonEmptyList(d.PermissionsBoundary))
	var tags []iamtypes.Tag
	for k, v := range d.Tags {
		tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if c.Op == bootstrap.OpCreate {
		in := &awsiam.CreateRoleInput{RoleName: name, Path: aws.String(pathOr(d.Path)), AssumeRolePolicyDocument: aws.String(d.TrustPolicy.JSON), MaxSessionDuration: aws.Int32(msd), Tags: tags}
		if d.Description != "" {
			in.Description = aws.String(d.Description)
		}
		if len(boundary) == 1 {
			in.PermissionsBoundary = aws.String(boundary[0])
		}
		if _, err := im.CreateRole(ctx, in); err != nil {
			return err
		}
	} else {
		if changed(c, "trustPolicy") {
			if _, err := im.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: name, PolicyDocument: aws.String(d.TrustPolicy.JSON)}); err != nil {
				return err
			}
		}
		if changed(c, "description") || changed(c, "maxSessionDuration") {
			if _, err := im.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: name, Description: aws.String(d.Description), MaxSessionDuration: aws.Int32(msd)}); err != nil {
				return err
			}
		}
		if changed(c, "permissionsBoundary") {
			var err error
			if len(boundary) == 1 {
				_, err = im.PutRolePermissionsBoundary(ctx, &awsiam.PutRolePermissionsBoundaryInput{RoleName: name, PermissionsBoundary: aws.String(boundary[0])})
			} else {
				_, err = im.DeleteRolePermissionsBoundary(ctx, &awsiam.DeleteRolePermissionsBoundaryInput{RoleName: name})
			}
			if err != nil {
				return err
			}
		}
		if changed(c, "tags") && len(tags) > 0 {
			if _, err := im.TagRole(ctx, &awsiam.TagRoleInput{RoleName: name, Tags: tags}); err != nil {
				return err
			}
		}
	}
	// Inline policies: put the declared ones that differ, delete the rest.
	for pn, doc := range d.InlinePolicies {
		if c.Op == bootstrap.OpCreate || changed(c, "inlinePolicy/"+pn) {
			if _, err := im.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String(pn), PolicyDocument: aws.String(doc.JSON)}); err != nil {
				return err
			}
		}
	}
	if changed(c, "inlinePolicies") {
		pols, err := im.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: name})
		if err != nil {
			return err
		}
		for _, p := range pols.PolicyNames {
			if _, ok := d.InlinePolicies[p]; !ok {
				if _, err := im.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(p)}); err != nil {
					return err
				}
			}
		}
	}
	if c.Op == bootstrap.OpCreate || changed(c, "managedPolicies") {
		want := a.file.PolicyARNs(acct, d.ManagedPolicies)
		att, err := im.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: name})
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, p := range att.AttachedPolicies {
			have[aws.ToString(p.PolicyArn)] = true
			if !contains(want, aws.ToString(p.PolicyArn)) {
				if _, err := im.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: name, PolicyArn: p.PolicyArn}); err != nil {
					return err
				}
			}
		}
		for _, arn := range want {
			if !have[arn] {
				if _, err := im.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String(arn)}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func nonEmptyList(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func (a *applier) applyProfile(ctx context.Context, c bootstrap.Change) error {
	ra := a.cp.ra
	if c.Op == bootstrap.OpDelete {
		_, err := ra.DeleteProfile(ctx, &rolesanywhere.DeleteProfileInput{ProfileId: a.profiles[c.Name].ProfileId})
		return err
	}
	var d *bootstrap.Profile
	for i := range a.file.Profiles {
		if a.file.Profiles[i].Name == c.Name {
			d = &a.file.Profiles[i]
		}
	}
	acct := a.accountID()
	roles := a.file.RoleARNs(acct, d.Roles)
	if roles == nil {
		roles = []string{}
	}
	managed := a.file.PolicyARNs(acct, d.ManagedPolicies)
	dur := int32(d.DurationSeconds)
	if dur == 0 {
		dur = 3600
	}
	on := d.Enabled == nil || *d.Enabled
	var id *string
	var cur map[string][]string
	if c.Op == bootstrap.OpCreate {
		in := &rolesanywhere.CreateProfileInput{Name: aws.String(d.Name), RoleArns: roles, DurationSeconds: aws.Int32(dur),
			Enabled: aws.Bool(on), AcceptRoleSessionName: aws.Bool(d.AcceptRoleSessionName), ManagedPolicyArns: managed, Tags: raTagList(d.Tags)}
		if d.SessionPolicy.JSON != "" {
			in.SessionPolicy = aws.String(d.SessionPolicy.JSON)
		}
		out, err := ra.CreateProfile(ctx, in)
		if err != nil {
			return err
		}
		id, cur = out.Profile.ProfileId, bootstrap.DefaultMappings()
	} else {
		p := a.profiles[c.Name]
		id = p.ProfileId
		cur = map[string][]string{}
		for _, m := range p.AttributeMappings {
			for _, r := range m.MappingRules {
				cur[string(m.CertificateField)] = append(cur[string(m.CertificateField)], aws.ToString(r.Specifier))
			}
		}
		in := &rolesanywhere.UpdateProfileInput{ProfileId: id}
		needUpdate := false
		if changed(c, "roles") {
			in.RoleArns, needUpdate = roles, true
		}
		if changed(c, "durationSeconds") {
			in.DurationSeconds, needUpdate = aws.Int32(dur), true
		}
		if changed(c, "acceptRoleSessionName") {
			in.AcceptRoleSessionName, needUpdate = aws.Bool(d.AcceptRoleSessionName), true
		}
		if changed(c, "managedPolicies") {
			in.ManagedPolicyArns, needUpdate = managed, true
			if in.ManagedPolicyArns == nil {
				in.ManagedPolicyArns = []string{}
			}
		}
		if changed(c, "sessionPolicy") && d.SessionPolicy.JSON != "" {
			in.SessionPolicy, needUpdate = aws.String(d.SessionPolicy.JSON), true
		}
		if needUpdate {
			if _, err := ra.UpdateProfile(ctx, in); err != nil {
				return err
			}
		}
		if changed(c, "enabled") {
			var err error
			if on {
				_, err = ra.EnableProfile(ctx, &rolesanywhere.EnableProfileInput{ProfileId: id})
			} else {
				_, err = ra.DisableProfile(ctx, &rolesanywhere.DisableProfileInput{ProfileId: id})
			}
			if err != nil {
				return err
			}
		}
		if changed(c, "tags") {
			if err := a.syncRATags(ctx, p.ProfileArn, d.Tags); err != nil {
				return err
			}
		}
	}
	// Attribute mappings: delete what is not declared, put what is missing.
	want := bootstrap.DesiredMappings(d.AttributeMappings)
	for field, specs := range cur {
		var drop []string
		for _, s := range specs {
			if !contains(want[field], s) {
				drop = append(drop, s)
			}
		}
		if len(drop) > 0 {
			if _, err := ra.DeleteAttributeMapping(ctx, &rolesanywhere.DeleteAttributeMappingInput{ProfileId: id, CertificateField: ratypes.CertificateField(field), Specifiers: drop}); err != nil {
				return err
			}
		}
	}
	for field, specs := range want {
		var add []ratypes.MappingRule
		for _, s := range specs {
			if !contains(cur[field], s) {
				add = append(add, ratypes.MappingRule{Specifier: aws.String(s)})
			}
		}
		if len(add) > 0 {
			if _, err := ra.PutAttributeMapping(ctx, &rolesanywhere.PutAttributeMappingInput{ProfileId: id, CertificateField: ratypes.CertificateField(field), MappingRules: add}); err != nil {
				return err
			}
		}
	}
	return nil
}
