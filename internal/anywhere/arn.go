package anywhere

import "github.com/roam-project/roam/internal/iam"

// TrustAnchorARN returns the ARN of trust anchor id.
func TrustAnchorARN(region, account, id string) string {
	return resourceARN(region, account, "trust-anchor/", id)
}

// ProfileARN returns the ARN of profile id.
func ProfileARN(region, account, id string) string {
	return resourceARN(region, account, "profile/", id)
}

// CRLARN returns the ARN of CRL id.
func CRLARN(region, account, id string) string { return resourceARN(region, account, "crl/", id) }

// SubjectARN returns the ARN of subject id.
func SubjectARN(region, account, id string) string {
	return resourceARN(region, account, "subject/", id)
}

func resourceARN(region, account, kind, id string) string {
	return "arn:" + iam.Partition + ":rolesanywhere:" + region + ":" + account + ":" + kind + id
}
