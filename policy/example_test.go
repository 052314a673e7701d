package policy_test

import (
	"fmt"

	"github.com/roam-project/roam/policy"
)

func ExamplePolicySet_Explain() {
	role, err := policy.Parse([]byte(`{
	  "Version": "2012-10-17",
	  "Statement": [{"Sid": "TeamData", "Effect": "Allow", "Action": "s3:*",
	                 "Resource": "arn:aws:s3:::data/${aws:PrincipalTag/team}/*"}]}`),
		policy.ParseOptions{Kind: policy.KindIdentity, Name: "app-role"})
	if err != nil {
		panic(err)
	}
	session, err := policy.Parse([]byte(`{"Version": "2012-10-17",
	  "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}`),
		policy.ParseOptions{Kind: policy.KindSession, Name: "profile"})
	if err != nil {
		panic(err)
	}
	set := &policy.PolicySet{Identity: []*policy.Policy{role}, Session: []*policy.Policy{session}}
	ctx := policy.NewContext().Set("aws:PrincipalTag/team", "blue")
	for _, action := range []string{"s3:GetObject", "s3:PutObject"} {
		req := &policy.Request{Action: action, Resource: "arn:aws:s3:::data/blue/report.csv", Context: ctx}
		fmt.Print(action, ": ", set.Explain(req))
	}
	// Output:
	// s3:GetObject: Allow
	//   allowed by identity-based policy "app-role" Statement[0] (Sid "TeamData")
	//   allowed by session policy "profile" Statement
	// s3:PutObject: Deny (implicit)
	//   allowed by identity-based policy "app-role" Statement[0] (Sid "TeamData")
	//   no session policy allows the request
}

func ExampleEvaluateTrust() {
	trust, err := policy.Parse([]byte(`{"Version": "2012-10-17", "Statement": [{
	  "Effect": "Allow",
	  "Principal": {"Service": "rolesanywhere.amazonaws.com"},
	  "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
	  "Condition": {"StringEquals": {"aws:PrincipalTag/x509Subject/CN": "build-agent"}}}]}`),
		policy.ParseOptions{Kind: policy.KindTrust})
	if err != nil {
		panic(err)
	}
	ctx := policy.NewContext().Set("aws:PrincipalTag/x509Subject/CN", "build-agent")
	req := &policy.Request{
		Principal: policy.ServicePrincipal("rolesanywhere.amazonaws.com"),
		Action:    "sts:AssumeRole",
		Resource:  "arn:aws:iam::000000000000:role/ci",
		Context:   ctx,
	}
	fmt.Println(policy.EvaluateTrust(trust, req))
	// Output: allowed
}

func ExampleParse_errors() {
	_, err := policy.Parse([]byte(`{"Version": "2012-10-17", "Statement": [{
	  "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*",
	  "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}}]}`),
		policy.ParseOptions{Kind: policy.KindTrust})
	for _, e := range err.(policy.ErrorList) {
		fmt.Println(e)
	}
	// Output:
	// Statement[0].Principal.AWS: "arn:aws:iam::111122223333:role/*": wildcards are not allowed in a principal ARN (use a condition on aws:PrincipalArn)
	// Statement[0].Resource: a role trust policy cannot have a Resource element (the resource is the role itself)
}
