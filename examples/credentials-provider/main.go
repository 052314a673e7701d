// Command credentials-provider shows how a Go program gets AWS credentials
// from roam (or IAM Roles Anywhere) with its X.509 certificate, using the
// credentials package as an aws-sdk-go-v2 credentials provider, and calls
// STS GetCallerIdentity with them.
//
//	go run ./examples/credentials-provider \
//	  -cert client.pem -key client.key -ca-bundle roam-ca.pem \
//	  -endpoint https://127.0.0.1:9443 \
//	  -trust-anchor-arn arn:aws:rolesanywhere:us-east-1:000000000000:trust-anchor/… \
//	  -profile-arn arn:aws:rolesanywhere:us-east-1:000000000000:profile/… \
//	  -role-arn arn:aws:iam::000000000000:role/app
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/roam-project/roam/credentials"
	"github.com/roam-project/roam/pki"
)

func main() {
	certFile := flag.String("cert", "", "client certificate (PEM)")
	keyFile := flag.String("key", "", "private key (PEM)")
	caBundle := flag.String("ca-bundle", "", "CA bundle trusted for the endpoint")
	endpoint := flag.String("endpoint", "", "roam endpoint")
	anchor := flag.String("trust-anchor-arn", "", "trust anchor ARN")
	profile := flag.String("profile-arn", "", "profile ARN")
	role := flag.String("role-arn", "", "role ARN")
	flag.Parse()
	if err := run(context.Background(), *certFile, *keyFile, *caBundle, *endpoint, *anchor, *profile, *role); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, certFile, keyFile, caBundle, endpoint, anchor, profile, role string) error {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	certs, err := pki.ParseCertificatesPEM(certPEM)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	key, err := pki.ParsePrivateKeyPEM(keyPEM, nil)
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	signer, err := credentials.NewSigner(key, certs[0], certs[1:]...)
	if err != nil {
		return err
	}
	client, err := credentials.NewHTTPClient(credentials.HTTPOptions{CABundle: caBundle})
	if err != nil {
		return err
	}
	provider, err := credentials.New(credentials.Options{
		Signer: signer, TrustAnchorARN: anchor, ProfileARN: profile, RoleARN: role,
		Endpoint: endpoint, HTTPClient: client,
	})
	if err != nil {
		return err
	}
	cfg := aws.Config{
		Region: "us-east-1",
		// The cache calls CreateSession once and again shortly before expiry.
		Credentials: aws.NewCredentialsCache(provider),
		HTTPClient:  client,
	}
	out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(endpoint) }).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	fmt.Println(aws.ToString(out.Arn))
	return nil
}
