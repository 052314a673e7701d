// Package credentials obtains temporary AWS credentials from IAM Roles
// Anywhere (or roam) by calling CreateSession signed with an X.509
// certificate's private key, the exchange the official aws_signing_helper
// performs.
//
// A Provider is an aws-sdk-go-v2 aws.CredentialsProvider; wrap it in
// aws.NewCredentialsCache so that the SDK reuses credentials until shortly
// before they expire:
//
//	p, err := credentials.New(credentials.Options{
//		Signer:         signer, // key + certificate, e.g. from NewSigner
//		TrustAnchorARN: "arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/…",
//		ProfileARN:     "arn:aws:rolesanywhere:us-east-1:000000000000:profile/…",
//		RoleARN:        "arn:aws:iam::000000000000:role/app",
//		Endpoint:       "https://roam.example.internal:8443",
//	})
//	cfg.Credentials = aws.NewCredentialsCache(p)
package credentials
