// Package policy implements the AWS IAM policy language: it parses, validates
// and compiles policy documents, and evaluates requests against sets of
// compiled policies with AWS's evaluation logic, explaining every decision.
//
// A document is compiled once by [Parse] and evaluated many times. At
// evaluation time no JSON is decoded and no regular expression runs: action
// and resource patterns are literal, prefix, suffix or glob matchers, and
// condition values (numbers, dates, CIDR blocks, base64) are parsed at
// compile time.
//
//	trust, err := policy.Parse(doc, policy.ParseOptions{Kind: policy.KindTrust, Name: "trust"})
//	if err != nil {
//		// err is an ErrorList; each Error names the JSON path it is about
//	}
//	ctx := policy.NewContext().Set("aws:SourceIp", "203.0.113.7")
//	req := &policy.Request{
//		Principal: policy.ServicePrincipal("rolesanywhere.amazonaws.com"),
//		Action:    "sts:AssumeRole",
//		Resource:  "arn:aws:iam::000000000000:role/app",
//		Context:   ctx,
//	}
//	if policy.EvaluateTrust(trust, req) == policy.Allow { ... }
//
// Identity-based policies, permissions boundaries, session policies and
// resource-based policies are combined in a [PolicySet]; see
// [PolicySet.Evaluate] for the algorithm.
package policy
