package policy

import (
	"testing"
)

// Source page names (IAMUG = awsdocs/iam-user-guide doc_source, as cited in
// docs/service.md §4; seed 003 = "How to use trust policies with IAM
// roles", seeds/003_0a91b0699b49142b.trust-policies-excerpt.txt).
const (
	srcOps      = "IAMUG reference_policies_condition_operators.md"
	srcMulti    = "IAMUG reference_policies_multi-value-conditions.md"
	srcVars     = "IAMUG reference_policies_variables.md"
	srcEval     = "IAMUG reference_policies_evaluation-logic.md"
	srcCond     = "IAMUG reference_policies_elements_condition.md"
	srcAction   = "IAMUG reference_policies_elements_action.md"
	srcNotAct   = "IAMUG reference_policies_elements_notaction.md"
	srcRes      = "IAMUG reference_policies_elements_resource.md"
	srcNotRes   = "IAMUG reference_policies_elements_notresource.md"
	srcPrin     = "IAMUG reference_policies_elements_principal.md"
	srcNotPrin  = "IAMUG reference_policies_elements_notprincipal.md"
	srcVersion  = "IAMUG reference_policies_elements_version.md"
	srcBoundary = "IAMUG access_policies_boundaries.md"
	srcSession  = "IAMUG access_policies.md (Session policies)"
	srcUGTrust  = "Roles Anywhere UG trust-model.html (role trust policy)"
	seed        = "seed 003 trust-policies: "
)

// Principals used across cases.
var (
	acct        = "111122223333"
	liJuan      = PrincipalFromARN("arn:aws:iam::111122223333:role/LiJuan")
	otherRole   = PrincipalFromARN("arn:aws:iam::111122223333:role/Other")
	foreignRole = PrincipalFromARN("arn:aws:iam::999988887777:role/LiJuan")
	exampleCorp = PrincipalFromARN("arn:aws:iam::444455556666:role/ExampleCorpRole")
	session     = PrincipalFromARN("arn:aws:sts::111122223333:assumed-role/App/s1")
	rolesAny    = ServicePrincipal("rolesanywhere.amazonaws.com")
	samlIdP     = Principal{Federated: "arn:aws:iam::account-id:saml-provider/PROVIDER-NAME"}
	oidcIdP     = Principal{Federated: "arn:aws:iam::11112222333:oidc-provider/auth.example.com"}
)

type confCase struct {
	name, source string

	identity, boundary, session, resourcePols []string
	hasBoundary, hasSession                   bool
	// trust: evaluated with EvaluateTrust unless trustSet, which puts it in
	// a PolicySet together with the other policies.
	trust    string
	trustSet bool

	principal        Principal
	action, resource string // defaults s3:GetObject, arn:aws:s3:::bucket/key
	ctx              []string
	want             Decision
}

// Trust policies from seed 003, verbatim apart from the placeholders the
// article leaves in (kept as written: they must parse).
const (
	seedRoot = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::111122223333:root"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}`
	seedLiJuan = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::111122223333:role/LiJuan"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}`
	seedSAML = `{
    "Version": "2012-10-17",
    "Statement": {
      "Effect": "Allow",
      "Action": "sts:AssumeRoleWithSAML",
      "Principal": {"Federated": "arn:aws:iam::account-id:saml-provider/PROVIDER-NAME"},
      "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    }
  }`
	seedOIDC = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "Federated": "arn:aws:iam::11112222333:oidc-provider/auth.example.com"
            },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "auth.example.com:sub": "Administrator",
  "auth.example.com:aud": "MyappWebIdentity"
                }
            }
        }
    ]
}`
	seedExternalID = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::444455556666:role/ExampleCorpRole"
      },
      "Action": "sts:AssumeRole",
      "Condition": {
        "StringEquals": {
          "sts:ExternalId": "ExampleUniquePhrase"
        }
      }
    }
  ]
}`
	seedIP = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::111122223333:role/IpBoundedRole"
      },
      "Action": "sts:AssumeRole",
      "Condition": {
        "IpAddress": {
          "aws:SourceIp": "203.0.113.0/24"
        }
      }
    }
  ]
}`
	seedTags = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::111122223333:root"
      },
      "Action": "sts:AssumeRole",
      "Condition": {
        "StringEquals": {
          "aws:PrincipalTag/department": "${aws:ResourceTag/owningDepartment}"
        }
      }
    }
  ]
}`
	seedOrgDeny = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": {
                "AWS": "*"
            },
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringNotEquals": {
                    "aws:PrincipalOrgID": "o-abcd12efg1"
                },
                "Bool": {
                    "aws:PrincipalIsAWSService": "false"
                }
            }
        }
    ]
}`
	seedSourceIdentity = `{
    "Version": "2012-10-17",
    "Statement": {
      "Effect": "Allow",
      "Action": ["sts:AssumeRoleWithSAML","sts:SetSourceIdentity"],
      "Principal": {"Federated": "arn:aws:iam::111122223333:saml-provider/PROVIDER-NAME"},
      "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    }
  }`
	seedTagSessionStmt = `{
            "Effect": "Allow",
            "Action": ["sts:TagSession","sts:AssumeRole"],
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Condition": {
                "StringLike": {
                    "aws:RequestTag/Project": "*",
                    "aws:RequestTag/CostCenter": "*"
                },
                "StringEquals": {
                    "aws:RequestTag/Department": [
                        "Engineering",
                        "Marketing"
                    ]
                },
                "ForAllValues:StringEquals": {
                    "sts:TransitiveTagKeys": [
                        "Project",
                        "Department"
                    ]
                }
            }
        }`
	seedDenyAdminTagStmt = `{
    "Effect": "Deny",
    "Action": "sts:TagSession",
    "Principal": {"AWS": "*"},
    "Condition": {
        "Null": {
            "aws:RequestTag/Admin": false
        }
    }
}`
	seedTeamStmts = `{
    "Effect": "Deny",
    "Action": "sts:TagSession",
    "Principal": {"AWS": "*"},
    "Condition": {
        "StringEquals": {
            "aws:RequestTag/Team": "Admin"
        }
    }
},
{
    "Effect": "Allow",
    "Action": "sts:TagSession",
    "Principal": {"AWS": "*"},
    "Condition": {
        "StringLike": {
            "aws:RequestTag/Team": "*"
        }
    }
}`
	seedRoleID = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal": {
				"AWS": "AROA1234567123456D"
			}}]}`
	seedPrincipalArn = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::111122223333:root"
      },
      "Action": "sts:AssumeRole",
      "Condition": {
    "ArnEquals": {
      "aws:PrincipalArn": "arn:aws:iam::111122223333:role/ExampleCorpRole"
    }
  }
    }
  ]
}`
	seedOpsRoles = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::111122223333:root"
      },
      "Action": "sts:AssumeRole",
      "Condition": {
    "ArnLike": {
      "aws:PrincipalArn": "arn:aws:iam::111122223333:role/OpsRoles/*"
    }
  }
    }
  ]
}`
	seedMulti = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "AWS": [
                    "arn:aws:iam::111122223333:role/ExampleRole"
                ]
            },
            "Action": [
                "sts:AssumeRole",
                "sts:TagSession"
            ],
            "Condition": {
                "IpAddress": {
                    "aws:SourceIp": "203.0.113.0/24"
                }
            }
        },
        {
            "Effect": "Deny",
            "Action": "sts:TagSession",
            "Principal": {
                "AWS": "*"
            },
            "Condition": {
                "Null": {
                    "aws:RequestTag/Admin": false 
                }
            }
        }
    ]
}`
	rolesAnywhereTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Principal":{"Service":"rolesanywhere.amazonaws.com"},
	  "Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],
	  "Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/TA_ID"}}}]}`
)

func trustDoc(stmts ...string) string { return doc(stmts...) }

var exampleRole = PrincipalFromARN("arn:aws:iam::111122223333:role/ExampleRole")

func conformanceCases() []confCase {
	assume := "sts:AssumeRole"
	tag := "sts:TagSession"
	role := "arn:aws:iam::111122223333:role/Target"
	allowAll := doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`)
	allowS3 := doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
	allowGet := doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`)
	denyGet := doc(`{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`)
	orgTrust := trustDoc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}`,
		`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abcd12efg1"},"Bool":{"aws:PrincipalIsAWSService":"false"}}}`)
	tagSession := trustDoc(seedTagSessionStmt)
	goodTags := []string{"aws:RequestTag/Project", "p1", "aws:RequestTag/CostCenter", "cc", "aws:RequestTag/Department", "Engineering",
		"sts:TransitiveTagKeys", "Project", "sts:TransitiveTagKeys", "Department"}

	cs := []confCase{
		// ---- String operators ----
		{name: "StringEquals match", source: srcOps, identity: []string{allowCond(`"StringEquals":{"aws:username":"alice"}`)}, ctx: []string{"aws:username", "alice"}, want: Allow},
		{name: "StringEquals is case-sensitive", source: srcOps, identity: []string{allowCond(`"StringEquals":{"aws:username":"alice"}`)}, ctx: []string{"aws:username", "Alice"}, want: ImplicitDeny},
		{name: "StringEquals values are ORed", source: srcCond, identity: []string{allowCond(`"StringEquals":{"aws:username":["bob","alice"]}`)}, ctx: []string{"aws:username", "alice"}, want: Allow},
		{name: "StringEquals missing key", source: srcOps, identity: []string{allowCond(`"StringEquals":{"aws:username":"alice"}`)}, want: ImplicitDeny},
		{name: "StringEquals star is literal", source: srcOps, identity: []string{allowCond(`"StringEquals":{"k":"a*"}`)}, ctx: []string{"k", "abc"}, want: ImplicitDeny},
		{name: "StringEquals literal star matches itself", source: srcOps, identity: []string{allowCond(`"StringEquals":{"k":"a*"}`)}, ctx: []string{"k", "a*"}, want: Allow},
		{name: "StringNotEquals different value", source: srcOps, identity: []string{allowCond(`"StringNotEquals":{"aws:username":"alice"}`)}, ctx: []string{"aws:username", "bob"}, want: Allow},
		{name: "StringNotEquals same value", source: srcOps, identity: []string{allowCond(`"StringNotEquals":{"aws:username":"alice"}`)}, ctx: []string{"aws:username", "alice"}, want: ImplicitDeny},
		{name: "StringNotEquals missing key matches", source: srcOps, identity: []string{allowCond(`"StringNotEquals":{"aws:username":"alice"}`)}, want: Allow},
		{name: "StringNotEquals NOR: equals one value", source: srcMulti, identity: []string{allowCond(`"StringNotEquals":{"aws:username":["alice","bob"]}`)}, ctx: []string{"aws:username", "bob"}, want: ImplicitDeny},
		{name: "StringNotEquals NOR: equals none", source: srcMulti, identity: []string{allowCond(`"StringNotEquals":{"aws:username":["alice","bob"]}`)}, ctx: []string{"aws:username", "carol"}, want: Allow},
		{name: "StringEqualsIgnoreCase", source: srcOps, identity: []string{allowCond(`"StringEqualsIgnoreCase":{"aws:PrincipalTag/role":"admin"}`)}, ctx: []string{"aws:PrincipalTag/role", "ADMIN"}, want: Allow},
		{name: "StringEqualsIgnoreCase mismatch", source: srcOps, identity: []string{allowCond(`"StringEqualsIgnoreCase":{"aws:PrincipalTag/role":"admin"}`)}, ctx: []string{"aws:PrincipalTag/role", "admins"}, want: ImplicitDeny},
		{name: "StringNotEqualsIgnoreCase equal ignoring case", source: srcOps, identity: []string{allowCond(`"StringNotEqualsIgnoreCase":{"k":"Admin"}`)}, ctx: []string{"k", "aDMIN"}, want: ImplicitDeny},
		{name: "StringNotEqualsIgnoreCase different", source: srcOps, identity: []string{allowCond(`"StringNotEqualsIgnoreCase":{"k":"Admin"}`)}, ctx: []string{"k", "dev"}, want: Allow},
		{name: "StringLike suffix glob", source: seed + "source identity", identity: []string{allowCond(`"StringLike":{"sts:SourceIdentity":"*@example.org"}`)}, ctx: []string{"sts:SourceIdentity", "alice@example.org"}, want: Allow},
		{name: "StringLike suffix glob mismatch", source: seed + "source identity", identity: []string{allowCond(`"StringLike":{"sts:SourceIdentity":"*@example.org"}`)}, ctx: []string{"sts:SourceIdentity", "alice@example.com"}, want: ImplicitDeny},
		{name: "StringLike ? is one character", source: srcOps, identity: []string{allowCond(`"StringLike":{"k":"user-?"}`)}, ctx: []string{"k", "user-1"}, want: Allow},
		{name: "StringLike ? is not two characters", source: srcOps, identity: []string{allowCond(`"StringLike":{"k":"user-?"}`)}, ctx: []string{"k", "user-12"}, want: ImplicitDeny},
		{name: "StringLike is case-sensitive", source: srcOps, identity: []string{allowCond(`"StringLike":{"s3:prefix":"Home/*"}`)}, ctx: []string{"s3:prefix", "home/x"}, want: ImplicitDeny},
		{name: "StringLike * crosses slash and colon", source: srcOps, identity: []string{allowCond(`"StringLike":{"k":"arn:aws:sqs:us-east-1:*:queue"}`)}, ctx: []string{"k", "arn:aws:sqs:us-east-1:111:222:queue"}, want: Allow},
		{name: "StringLike middle star", source: srcOps, identity: []string{allowCond(`"StringLike":{"k":"a*c*e"}`)}, ctx: []string{"k", "abcdcxe"}, want: Allow},
		{name: "StringLike middle star mismatch", source: srcOps, identity: []string{allowCond(`"StringLike":{"k":"a*c*e"}`)}, ctx: []string{"k", "abcdcx"}, want: ImplicitDeny},
		{name: "StringNotLike no match", source: srcOps, identity: []string{allowCond(`"StringNotLike":{"k":"*admin*"}`)}, ctx: []string{"k", "bob"}, want: Allow},
		{name: "StringNotLike match", source: srcOps, identity: []string{allowCond(`"StringNotLike":{"k":"*admin*"}`)}, ctx: []string{"k", "sysadmins"}, want: ImplicitDeny},
		{name: "StringEqualsIfExists missing key", source: srcOps, identity: []string{allowCond(`"StringEqualsIfExists":{"ec2:InstanceType":"t2.micro"}`)}, want: Allow},
		{name: "StringEqualsIfExists present mismatch", source: srcOps, identity: []string{allowCond(`"StringEqualsIfExists":{"ec2:InstanceType":"t2.micro"}`)}, ctx: []string{"ec2:InstanceType", "m5.large"}, want: ImplicitDeny},
		{name: "StringEqualsIfExists present match", source: srcOps, identity: []string{allowCond(`"StringEqualsIfExists":{"ec2:InstanceType":["t2.micro","t2.small"]}`)}, ctx: []string{"ec2:InstanceType", "t2.small"}, want: Allow},
		{name: "StringNotEqualsIfExists missing key", source: srcOps, identity: []string{allowCond(`"StringNotEqualsIfExists":{"k":"x"}`)}, want: Allow},
		{name: "StringLikeIfExists present mismatch", source: srcOps, identity: []string{allowCond(`"StringLikeIfExists":{"k":"x*"}`)}, ctx: []string{"k", "yz"}, want: ImplicitDeny},
		{name: "Deny with negated IfExists and missing key still denies", source: srcOps,
			identity: []string{allowGet, doc(`{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}}`)}, want: ExplicitDeny},
		{name: "String condition with numeric JSON value", source: srcOps, identity: []string{allowCond(`"StringEquals":{"k":5}`)}, ctx: []string{"k", "5"}, want: Allow},

		// ---- Numeric ----
		{name: "NumericEquals", source: srcOps, identity: []string{allowCond(`"NumericEquals":{"k":"10"}`)}, ctx: []string{"k", "10"}, want: Allow},
		{name: "NumericEquals decimal form", source: srcOps, identity: []string{allowCond(`"NumericEquals":{"k":"10"}`)}, ctx: []string{"k", "10.0"}, want: Allow},
		{name: "NumericEquals mismatch", source: srcOps, identity: []string{allowCond(`"NumericEquals":{"k":"10"}`)}, ctx: []string{"k", "11"}, want: ImplicitDeny},
		{name: "NumericNotEquals", source: srcOps, identity: []string{allowCond(`"NumericNotEquals":{"k":"10"}`)}, ctx: []string{"k", "11"}, want: Allow},
		{name: "NumericNotEquals equal", source: srcOps, identity: []string{allowCond(`"NumericNotEquals":{"k":"10"}`)}, ctx: []string{"k", "10"}, want: ImplicitDeny},
		{name: "NumericLessThan", source: srcOps, identity: []string{allowCond(`"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}`)}, ctx: []string{"aws:MultiFactorAuthAge", "100"}, want: Allow},
		{name: "NumericLessThan boundary", source: srcOps, identity: []string{allowCond(`"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}`)}, ctx: []string{"aws:MultiFactorAuthAge", "3600"}, want: ImplicitDeny},
		{name: "NumericLessThanEquals boundary", source: srcOps, identity: []string{allowCond(`"NumericLessThanEquals":{"k":3600}`)}, ctx: []string{"k", "3600"}, want: Allow},
		{name: "NumericGreaterThan", source: srcOps, identity: []string{allowCond(`"NumericGreaterThan":{"k":"1.5"}`)}, ctx: []string{"k", "1.75"}, want: Allow},
		{name: "NumericGreaterThan boundary", source: srcOps, identity: []string{allowCond(`"NumericGreaterThan":{"k":"1.5"}`)}, ctx: []string{"k", "1.5"}, want: ImplicitDeny},
		{name: "NumericGreaterThanEquals", source: srcOps, identity: []string{allowCond(`"NumericGreaterThanEquals":{"k":"-2"}`)}, ctx: []string{"k", "-2"}, want: Allow},
		{name: "Numeric with non-numeric request value", source: srcOps, identity: []string{allowCond(`"NumericLessThan":{"k":"10"}`)}, ctx: []string{"k", "ten"}, want: ImplicitDeny},
		{name: "Numeric missing key", source: srcOps, identity: []string{allowCond(`"NumericLessThan":{"k":"10"}`)}, want: ImplicitDeny},
		{name: "NumericNotEquals missing key", source: srcOps, identity: []string{allowCond(`"NumericNotEquals":{"k":"10"}`)}, want: Allow},
		{name: "NumericLessThanIfExists missing key", source: srcOps, identity: []string{allowCond(`"NumericLessThanIfExists":{"k":"10"}`)}, want: Allow},
		{name: "NumericEquals values ORed", source: srcCond, identity: []string{allowCond(`"NumericEquals":{"k":["1","2","3"]}`)}, ctx: []string{"k", "3"}, want: Allow},

		// ---- Date ----
		{name: "DateGreaterThan ISO", source: srcOps, identity: []string{allowCond(`"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"}`)}, ctx: []string{"aws:CurrentTime", "2021-01-01T00:00:00Z"}, want: Allow},
		{name: "DateGreaterThan earlier", source: srcOps, identity: []string{allowCond(`"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"}`)}, ctx: []string{"aws:CurrentTime", "2019-12-31T23:59:59Z"}, want: ImplicitDeny},
		{name: "DateLessThan", source: srcOps, identity: []string{allowCond(`"DateLessThan":{"aws:CurrentTime":"2020-06-30T00:00:00Z"}`)}, ctx: []string{"aws:CurrentTime", "2020-06-29T23:00:00Z"}, want: Allow},
		{name: "DateLessThan epoch request value", source: srcOps, identity: []string{allowCond(`"DateLessThan":{"aws:CurrentTime":"2020-06-30T00:00:00Z"}`)}, ctx: []string{"aws:CurrentTime", "1593475200"}, want: ImplicitDeny},
		{name: "DateLessThanEquals epoch equals ISO instant", source: srcOps, identity: []string{allowCond(`"DateLessThanEquals":{"aws:CurrentTime":"2020-06-30T00:00:00Z"}`)}, ctx: []string{"aws:CurrentTime", "1593475200"}, want: Allow},
		{name: "DateEquals epoch policy value", source: srcOps, identity: []string{allowCond(`"DateEquals":{"aws:TokenIssueTime":"1593475200"}`)}, ctx: []string{"aws:TokenIssueTime", "2020-06-30T00:00:00Z"}, want: Allow},
		{name: "DateEquals date-only value is midnight UTC", source: srcOps, identity: []string{allowCond(`"DateEquals":{"k":"2020-06-30"}`)}, ctx: []string{"k", "2020-06-30T00:00:00Z"}, want: Allow},
		{name: "DateNotEquals", source: srcOps, identity: []string{allowCond(`"DateNotEquals":{"k":"2020-06-30"}`)}, ctx: []string{"k", "2020-07-01T00:00:00Z"}, want: Allow},
		{name: "DateNotEquals equal", source: srcOps, identity: []string{allowCond(`"DateNotEquals":{"k":"2020-06-30T00:00:00Z"}`)}, ctx: []string{"k", "2020-06-30T02:00:00+02:00"}, want: ImplicitDeny},
		{name: "DateGreaterThanEquals with offset", source: srcOps, identity: []string{allowCond(`"DateGreaterThanEquals":{"k":"2020-06-30T12:00:00Z"}`)}, ctx: []string{"k", "2020-06-30T08:00:00-04:00"}, want: Allow},
		{name: "Date fractional seconds", source: srcOps, identity: []string{allowCond(`"DateGreaterThan":{"k":"2020-06-30T12:00:00Z"}`)}, ctx: []string{"k", "2020-06-30T12:00:00.5Z"}, want: Allow},
		{name: "Date bad request value", source: srcOps, identity: []string{allowCond(`"DateGreaterThan":{"k":"2020-06-30T12:00:00Z"}`)}, ctx: []string{"k", "yesterday"}, want: ImplicitDeny},
		{name: "Date missing key", source: srcOps, identity: []string{allowCond(`"DateGreaterThan":{"k":"2020-06-30T12:00:00Z"}`)}, want: ImplicitDeny},
		{name: "DateLessThanIfExists missing key", source: srcOps, identity: []string{allowCond(`"DateLessThanIfExists":{"k":"2020-06-30T12:00:00Z"}`)}, want: Allow},

		// ---- Bool ----
		{name: "Bool true", source: srcOps, identity: []string{allowCond(`"Bool":{"aws:SecureTransport":"true"}`)}, ctx: []string{"aws:SecureTransport", "true"}, want: Allow},
		{name: "Bool false request", source: srcOps, identity: []string{allowCond(`"Bool":{"aws:SecureTransport":"true"}`)}, ctx: []string{"aws:SecureTransport", "false"}, want: ImplicitDeny},
		{name: "Bool JSON boolean", source: srcOps, identity: []string{allowCond(`"Bool":{"aws:SecureTransport":true}`)}, ctx: []string{"aws:SecureTransport", "true"}, want: Allow},
		{name: "Bool is case-insensitive", source: srcOps, identity: []string{allowCond(`"Bool":{"aws:SecureTransport":"true"}`)}, ctx: []string{"aws:SecureTransport", "TRUE"}, want: Allow},
		{name: "Bool missing key", source: srcOps, identity: []string{allowCond(`"Bool":{"aws:SecureTransport":"false"}`)}, want: ImplicitDeny},
		{name: "BoolIfExists missing key", source: srcOps, identity: []string{allowCond(`"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}`)}, want: Allow},
		{name: "BoolIfExists present false", source: srcOps, identity: []string{allowCond(`"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}`)}, ctx: []string{"aws:MultiFactorAuthPresent", "false"}, want: ImplicitDeny},

		// ---- Binary ----
		{name: "BinaryEquals", source: srcOps, identity: []string{allowCond(`"BinaryEquals":{"key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}`)}, ctx: []string{"key", "BinaryValueInBase64"}, want: Allow},
		{name: "BinaryEquals mismatch", source: srcOps, identity: []string{allowCond(`"BinaryEquals":{"key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}`)}, ctx: []string{"key", "binaryvalueinbase64"}, want: ImplicitDeny},
		{name: "BinaryEqualsIfExists missing", source: srcOps, identity: []string{allowCond(`"BinaryEqualsIfExists":{"key":"AAE="}`)}, want: Allow},

		// ---- IP ----
		{name: "IpAddress v4 CIDR inside", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}`)}, ctx: []string{"aws:SourceIp", "203.0.113.7"}, want: Allow},
		{name: "IpAddress v4 CIDR outside", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}`)}, ctx: []string{"aws:SourceIp", "198.51.100.7"}, want: ImplicitDeny},
		{name: "IpAddress bare IP is a host", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"203.0.113.7"}`)}, ctx: []string{"aws:SourceIp", "203.0.113.7"}, want: Allow},
		{name: "IpAddress bare IP other host", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"203.0.113.7"}`)}, ctx: []string{"aws:SourceIp", "203.0.113.8"}, want: ImplicitDeny},
		{name: "IpAddress v6 CIDR", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}`)}, ctx: []string{"aws:SourceIp", "2001:db8:1234:5678::1"}, want: Allow},
		{name: "IpAddress v6 outside", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}`)}, ctx: []string{"aws:SourceIp", "2001:db8:1234:5679::1"}, want: ImplicitDeny},
		{name: "IpAddress list is ORed", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}`)}, ctx: []string{"aws:SourceIp", "203.0.113.200"}, want: Allow},
		{name: "IpAddress v4-mapped v6 request", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}`)}, ctx: []string{"aws:SourceIp", "::ffff:203.0.113.9"}, want: Allow},
		{name: "IpAddress unparsable request", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}`)}, ctx: []string{"aws:SourceIp", "not-an-ip"}, want: ImplicitDeny},
		{name: "IpAddress missing key", source: srcOps, identity: []string{allowCond(`"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}`)}, want: ImplicitDeny},
		{name: "NotIpAddress outside", source: srcOps, identity: []string{allowCond(`"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}`)}, ctx: []string{"aws:SourceIp", "198.51.100.7"}, want: Allow},
		{name: "NotIpAddress inside", source: srcOps, identity: []string{allowCond(`"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}`)}, ctx: []string{"aws:SourceIp", "203.0.113.1"}, want: ImplicitDeny},
		{name: "NotIpAddress NOR across blocks", source: srcMulti, identity: []string{allowCond(`"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}`)}, ctx: []string{"aws:SourceIp", "192.0.2.1"}, want: ImplicitDeny},
		{name: "NotIpAddress missing key", source: srcOps, identity: []string{allowCond(`"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}`)}, want: Allow},
		{name: "Deny NotIpAddress outside corporate range", source: srcOps,
			identity: []string{allowAll, doc(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24"]}}}`)}, ctx: []string{"aws:SourceIp", "198.51.100.1"}, want: ExplicitDeny},

		// ---- ARN ----
		{name: "ArnEquals exact", source: srcOps, identity: []string{allowCond(`"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:topic"}`)}, ctx: []string{"aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic"}, want: Allow},
		{name: "ArnEquals is case-sensitive", source: srcOps, identity: []string{allowCond(`"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:topic"}`)}, ctx: []string{"aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:Topic"}, want: ImplicitDeny},
		{name: "ArnLike wildcard region", source: srcOps, identity: []string{allowCond(`"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:topic"}`)}, ctx: []string{"aws:SourceArn", "arn:aws:sns:eu-west-1:123456789012:topic"}, want: Allow},
		{name: "ArnLike star does not cross a colon", source: srcOps, identity: []string{allowCond(`"ArnLike":{"k":"arn:aws:sqs:us-east-1:*:queue"}`)}, ctx: []string{"k", "arn:aws:sqs:us-east-1:111:222:queue"}, want: ImplicitDeny},
		{name: "ArnLike ? in resource", source: srcOps, identity: []string{allowCond(`"ArnLike":{"k":"arn:aws:iam::123456789012:role/app-?"}`)}, ctx: []string{"k", "arn:aws:iam::123456789012:role/app-1"}, want: Allow},
		{name: "ArnEquals accepts wildcards like ArnLike", source: srcOps, identity: []string{allowCond(`"ArnEquals":{"k":"arn:aws:iam::123456789012:role/*"}`)}, ctx: []string{"k", "arn:aws:iam::123456789012:role/x/y"}, want: Allow},
		{name: "ArnLike non-ARN request value", source: srcOps, identity: []string{allowCond(`"ArnLike":{"k":"arn:aws:iam::*:role/*"}`)}, ctx: []string{"k", "role/x"}, want: ImplicitDeny},
		{name: "ArnNotEquals different", source: srcOps, identity: []string{allowCond(`"ArnNotEquals":{"k":"arn:aws:iam::123456789012:role/a"}`)}, ctx: []string{"k", "arn:aws:iam::123456789012:role/b"}, want: Allow},
		{name: "ArnNotLike matching", source: srcOps, identity: []string{allowCond(`"ArnNotLike":{"k":"arn:aws:iam::123456789012:role/*"}`)}, ctx: []string{"k", "arn:aws:iam::123456789012:role/b"}, want: ImplicitDeny},
		{name: "ArnNotLike missing key", source: srcOps, identity: []string{allowCond(`"ArnNotLike":{"k":"arn:aws:iam::123456789012:role/*"}`)}, want: Allow},
		{name: "ArnLikeIfExists missing key", source: srcOps, identity: []string{allowCond(`"ArnLikeIfExists":{"k":"arn:aws:iam::123456789012:role/*"}`)}, want: Allow},

		// ---- Null ----
		{name: "Null true and key absent", source: srcOps, identity: []string{allowCond(`"Null":{"aws:TokenIssueTime":"true"}`)}, want: Allow},
		{name: "Null true and key present", source: srcOps, identity: []string{allowCond(`"Null":{"aws:TokenIssueTime":"true"}`)}, ctx: []string{"aws:TokenIssueTime", "2020-01-01T00:00:00Z"}, want: ImplicitDeny},
		{name: "Null false and key present", source: srcOps, identity: []string{allowCond(`"Null":{"aws:TokenIssueTime":"false"}`)}, ctx: []string{"aws:TokenIssueTime", "2020-01-01T00:00:00Z"}, want: Allow},
		{name: "Null false and key absent", source: srcOps, identity: []string{allowCond(`"Null":{"aws:TokenIssueTime":"false"}`)}, want: ImplicitDeny},
		{name: "Null true and key set with no values", source: srcOps, identity: []string{allowCond(`"Null":{"k":"true"}`)}, ctx: []string{"k", "<empty>"}, want: Allow},

		// ---- Set qualifiers ----
		{name: "ForAllValues subset", source: srcMulti, identity: []string{allowCond(`"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}`)}, ctx: []string{"aws:TagKeys", "environment", "aws:TagKeys", "cost-center"}, want: Allow},
		{name: "ForAllValues one value outside", source: srcMulti, identity: []string{allowCond(`"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}`)}, ctx: []string{"aws:TagKeys", "environment", "aws:TagKeys", "owner"}, want: ImplicitDeny},
		{name: "ForAllValues missing key is true", source: srcMulti, identity: []string{allowCond(`"ForAllValues:StringEquals":{"aws:TagKeys":["environment"]}`)}, want: Allow},
		{name: "ForAllValues empty key is true", source: srcMulti, identity: []string{allowCond(`"ForAllValues:StringEquals":{"aws:TagKeys":["environment"]}`)}, ctx: []string{"aws:TagKeys", "<empty>"}, want: Allow},
		{name: "ForAllValues Deny with missing key denies", source: srcMulti,
			identity: []string{allowAll, doc(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAllValues:StringNotEquals":{"aws:TagKeys":["admin"]}}}`)}, want: ExplicitDeny},
		{name: "ForAllValues:StringLike", source: srcMulti, identity: []string{allowCond(`"ForAllValues:StringLike":{"aws:TagKeys":["key?","team-*"]}`)}, ctx: []string{"aws:TagKeys", "key1", "aws:TagKeys", "team-a"}, want: Allow},
		{name: "ForAllValues:StringNotEquals none listed", source: srcMulti, identity: []string{allowCond(`"ForAllValues:StringNotEquals":{"aws:TagKeys":["admin"]}`)}, ctx: []string{"aws:TagKeys", "a", "aws:TagKeys", "b"}, want: Allow},
		{name: "ForAllValues:StringNotEquals one listed", source: srcMulti, identity: []string{allowCond(`"ForAllValues:StringNotEquals":{"aws:TagKeys":["admin"]}`)}, ctx: []string{"aws:TagKeys", "a", "aws:TagKeys", "admin"}, want: ImplicitDeny},
		{name: "ForAnyValue one matches", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringEquals":{"aws:TagKeys":["environment"]}`)}, ctx: []string{"aws:TagKeys", "owner", "aws:TagKeys", "environment"}, want: Allow},
		{name: "ForAnyValue none matches", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringEquals":{"aws:TagKeys":["environment"]}`)}, ctx: []string{"aws:TagKeys", "owner"}, want: ImplicitDeny},
		{name: "ForAnyValue missing key is false", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringEquals":{"aws:TagKeys":["environment"]}`)}, want: ImplicitDeny},
		{name: "ForAnyValue empty key is false", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringEquals":{"aws:TagKeys":["environment"]}`)}, ctx: []string{"aws:TagKeys", "<empty>"}, want: ImplicitDeny},
		{name: "ForAnyValue:StringNotEquals some other value", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}`)}, ctx: []string{"aws:TagKeys", "a", "aws:TagKeys", "b"}, want: Allow},
		{name: "ForAnyValue:StringNotEquals only listed values", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}`)}, ctx: []string{"aws:TagKeys", "a"}, want: ImplicitDeny},
		{name: "ForAnyValue:StringLike", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringLike":{"aws:PrincipalServiceNamesList":"*.amazonaws.com"}`)}, ctx: []string{"aws:PrincipalServiceNamesList", "x", "aws:PrincipalServiceNamesList", "ec2.amazonaws.com"}, want: Allow},
		{name: "ForAnyValue:StringEqualsIfExists missing key", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["a"]}`)}, want: Allow},
		{name: "ForAnyValue:IpAddress", source: srcMulti, identity: []string{allowCond(`"ForAnyValue:IpAddress":{"k":"10.0.0.0/8"}`)}, ctx: []string{"k", "192.0.2.1", "k", "10.1.2.3"}, want: Allow},
		{name: "ForAllValues:NumericLessThan", source: srcMulti, identity: []string{allowCond(`"ForAllValues:NumericLessThan":{"k":"10"}`)}, ctx: []string{"k", "1", "k", "12"}, want: ImplicitDeny},
		{name: "Unqualified operator on multi-valued key matches any value", source: srcMulti, identity: []string{allowCond(`"StringEquals":{"k":"b"}`)}, ctx: []string{"k", "a", "k", "b"}, want: Allow},
		{name: "Unqualified negated operator on multi-valued key needs none", source: srcMulti, identity: []string{allowCond(`"StringNotEquals":{"k":"b"}`)}, ctx: []string{"k", "a", "k", "b"}, want: ImplicitDeny},

		// ---- Condition block logic and key names ----
		{name: "Condition keys are case-insensitive", source: srcCond, identity: []string{allowCond(`"IpAddress":{"AWS:SOURCEIP":"203.0.113.0/24"}`)}, ctx: []string{"aws:sourceip", "203.0.113.1"}, want: Allow},
		{name: "Tag key part of PrincipalTag is case-insensitive", source: srcCond, identity: []string{allowCond(`"StringEquals":{"aws:PrincipalTag/Department":"finance"}`)}, ctx: []string{"aws:principaltag/DEPARTMENT", "finance"}, want: Allow},
		{name: "Condition values are case-sensitive", source: srcCond, identity: []string{allowCond(`"StringEquals":{"aws:PrincipalTag/Department":"finance"}`)}, ctx: []string{"aws:PrincipalTag/Department", "Finance"}, want: ImplicitDeny},
		{name: "Different operators are ANDed (both true)", source: srcCond, identity: []string{allowCond(`"StringEquals":{"a":"1"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`)}, ctx: []string{"a", "1", "aws:SourceIp", "10.0.0.1"}, want: Allow},
		{name: "Different operators are ANDed (one false)", source: srcCond, identity: []string{allowCond(`"StringEquals":{"a":"1"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`)}, ctx: []string{"a", "1", "aws:SourceIp", "11.0.0.1"}, want: ImplicitDeny},
		{name: "Different keys are ANDed", source: srcCond, identity: []string{allowCond(`"StringEquals":{"a":"1","b":"2"}`)}, ctx: []string{"a", "1", "b", "3"}, want: ImplicitDeny},
		{name: "Different keys are ANDed (both true)", source: srcCond, identity: []string{allowCond(`"StringEquals":{"a":"1","b":"2"}`)}, ctx: []string{"a", "1", "b", "2"}, want: Allow},

		// ---- Policy variables ----
		{name: "Variable in Resource", source: srcVars, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"}`)},
			resource: "arn:aws:s3:::bucket/home/alice/x.txt", ctx: []string{"aws:username", "alice"}, want: Allow},
		{name: "Variable in Resource other user", source: srcVars, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"}`)},
			resource: "arn:aws:s3:::bucket/home/bob/x.txt", ctx: []string{"aws:username", "alice"}, want: ImplicitDeny},
		{name: "Unresolved variable in Resource matches nothing", source: srcVars, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/home/${aws:username}/*"}`)},
			resource: "arn:aws:s3:::bucket/home//x.txt", want: ImplicitDeny},
		{name: "Variable default value used when key missing", source: srcVars, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"}`)},
			resource: "arn:aws:s3:::bucket/company-wide/doc", want: Allow},
		{name: "Variable default ignored when key present", source: srcVars, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"}`)},
			resource: "arn:aws:s3:::bucket/company-wide/doc", ctx: []string{"aws:PrincipalTag/team", "red"}, want: ImplicitDeny},
		{name: "Variable key is case-insensitive", source: srcVars, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${AWS:UserID}/*"}`)},
			resource: "arn:aws:s3:::bucket/AROAEXAMPLEID:s1/x", ctx: []string{"aws:userid", "AROAEXAMPLEID:s1"}, want: Allow},
		{name: "Variables are literal without Version", source: srcVars, identity: []string{`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}]}`},
			resource: "arn:aws:s3:::bucket/alice/x", ctx: []string{"aws:username", "alice"}, want: ImplicitDeny},
		{name: "Variables are literal in 2008-10-17", source: srcVersion, identity: []string{`{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}]}`},
			resource: "arn:aws:s3:::bucket/${aws:username}/x", ctx: []string{"aws:username", "alice"}, want: Allow},
		{name: "Variable in StringEquals condition", source: seed + "limiting role use based on tags", identity: []string{allowCond(`"StringEquals":{"aws:PrincipalTag/department":"${aws:ResourceTag/owningDepartment}"}`)},
			ctx: []string{"aws:PrincipalTag/department", "finance", "aws:ResourceTag/owningDepartment", "finance"}, want: Allow},
		{name: "Unresolved variable: StringEquals does not match", source: srcVars, identity: []string{allowCond(`"StringEquals":{"aws:PrincipalTag/department":"${aws:ResourceTag/owningDepartment}"}`)},
			ctx: []string{"aws:PrincipalTag/department", ""}, want: ImplicitDeny},
		{name: "Unresolved variable: StringNotEquals matches", source: srcVars, identity: []string{allowCond(`"StringNotEquals":{"aws:PrincipalTag/department":"${aws:ResourceTag/owningDepartment}"}`)},
			ctx: []string{"aws:PrincipalTag/department", "finance"}, want: Allow},
		{name: "Variable in StringLike with wildcard", source: srcVars, identity: []string{allowCond(`"StringLike":{"s3:prefix":["home/${aws:username}/*"]}`)},
			ctx: []string{"s3:prefix", "home/alice/photos/", "aws:username", "alice"}, want: Allow},
		{name: "Variable value is literal in StringLike", source: srcVars, identity: []string{allowCond(`"StringLike":{"s3:prefix":["home/${aws:username}/*"]}`)},
			ctx: []string{"s3:prefix", "home/alice/photos/", "aws:username", "*"}, want: ImplicitDeny},
		{name: "Escape ${*} is a literal star", source: srcVars, identity: []string{allowCond(`"StringLike":{"k":"a${*}b"}`)}, ctx: []string{"k", "a*b"}, want: Allow},
		{name: "Escape ${*} does not wildcard", source: srcVars, identity: []string{allowCond(`"StringLike":{"k":"a${*}b"}`)}, ctx: []string{"k", "axb"}, want: ImplicitDeny},
		{name: "Escape ${?} is a literal question mark", source: srcVars, identity: []string{allowCond(`"StringLike":{"k":"what${?}"}`)}, ctx: []string{"k", "what?"}, want: Allow},
		{name: "Escape ${$} is a literal dollar", source: srcVars, identity: []string{allowCond(`"StringEquals":{"k":"${$}{aws:username}"}`)}, ctx: []string{"k", "${aws:username}", "aws:username", "alice"}, want: Allow},
		{name: "Multi-valued key cannot be a variable", source: srcVars, identity: []string{allowCond(`"StringEquals":{"k":"${aws:TagKeys}"}`)}, ctx: []string{"k", "a", "aws:TagKeys", "a", "aws:TagKeys", "b"}, want: ImplicitDeny},
		{name: "Variable in ArnLike", source: srcVars, identity: []string{allowCond(`"ArnLike":{"aws:SourceArn":"arn:aws:iam::123456789012:role/${aws:PrincipalTag/team}-*"}`)},
			ctx: []string{"aws:SourceArn", "arn:aws:iam::123456789012:role/red-app", "aws:PrincipalTag/team", "red"}, want: Allow},
		{name: "Variable in StringEqualsIgnoreCase", source: srcVars, identity: []string{allowCond(`"StringEqualsIgnoreCase":{"k":"${aws:username}"}`)}, ctx: []string{"k", "ALICE", "aws:username", "alice"}, want: Allow},
		{name: "Variable in StringEqualsIgnoreCase with upper-case value", source: srcVars, identity: []string{allowCond(`"StringEqualsIgnoreCase":{"k":"team-${aws:PrincipalTag/team}"}`)}, ctx: []string{"k", "TEAM-blue", "aws:PrincipalTag/team", "Blue"}, want: Allow},
		{name: "Variable default in StringEqualsIgnoreCase", source: srcVars, identity: []string{allowCond(`"StringEqualsIgnoreCase":{"k":"${aws:PrincipalTag/team, 'Shared'}"}`)}, ctx: []string{"k", "sHARED"}, want: Allow},
		{name: "Variable in Bool", source: srcVars, identity: []string{allowCond(`"Bool":{"aws:SecureTransport":"${aws:PrincipalTag/tls}"}`)}, ctx: []string{"aws:SecureTransport", "true", "aws:PrincipalTag/tls", "TRUE"}, want: Allow},

		// ---- Action / NotAction ----
		{name: "Action is case-insensitive", source: srcAction, identity: []string{allowGet}, action: "S3:GETOBJECT", want: Allow},
		{name: "Action prefix wildcard", source: srcAction, identity: []string{doc(`{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}`)}, action: "s3:GetObjectAcl", want: Allow},
		{name: "Action prefix wildcard mismatch", source: srcAction, identity: []string{doc(`{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}`)}, action: "s3:PutObject", want: ImplicitDeny},
		{name: "Action infix wildcards", source: srcAction, identity: []string{doc(`{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"*"}`)}, action: "iam:ListAccessKeys", want: Allow},
		{name: "Action infix wildcards mismatch", source: srcAction, identity: []string{doc(`{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"*"}`)}, action: "iam:GetUser", want: ImplicitDeny},
		{name: "Action * matches everything", source: srcAction, identity: []string{allowAll}, action: "ec2:RunInstances", want: Allow},
		{name: "Action service wildcard stays in service", source: srcAction, identity: []string{allowS3}, action: "ec2:RunInstances", want: ImplicitDeny},
		{name: "Action list", source: srcAction, identity: []string{doc(`{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"*"}`)}, action: "sqs:ReceiveMessage", want: Allow},
		{name: "Action ? wildcard", source: srcAction, identity: []string{doc(`{"Effect":"Allow","Action":"s3:?etObject","Resource":"*"}`)}, action: "s3:GetObject", want: Allow},
		{name: "NotAction with Allow grants other actions", source: srcNotAct, identity: []string{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)}, action: "s3:GetObject", want: Allow},
		{name: "NotAction with Allow excludes listed", source: srcNotAct, identity: []string{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)}, action: "iam:CreateUser", want: ImplicitDeny},
		{name: "NotAction with Deny denies all others", source: srcNotAct, identity: []string{allowAll, doc(`{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*"}`)}, action: "s3:GetObject", want: ExplicitDeny},
		{name: "NotAction with Deny leaves listed to other statements", source: srcNotAct, identity: []string{allowAll, doc(`{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*"}`)}, action: "iam:GetUser", want: Allow},

		// ---- Resource / NotResource ----
		{name: "Resource star", source: srcRes, identity: []string{allowGet}, resource: "arn:aws:s3:::anything/at/all", want: Allow},
		{name: "Resource wildcard spans slashes", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`)}, resource: "arn:aws:s3:::bucket/a/b/c", want: Allow},
		{name: "Resource bucket/* does not match the bucket", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`)}, resource: "arn:aws:s3:::bucket", want: ImplicitDeny},
		{name: "Resource wildcard region segment", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"ec2:StartInstances","Resource":"arn:aws:ec2:*:111122223333:instance/*"}`)}, action: "ec2:StartInstances", resource: "arn:aws:ec2:us-west-2:111122223333:instance/i-1", want: Allow},
		{name: "Resource wildcard region segment wrong account", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"ec2:StartInstances","Resource":"arn:aws:ec2:*:111122223333:instance/*"}`)}, action: "ec2:StartInstances", resource: "arn:aws:ec2:us-west-2:999988887777:instance/i-1", want: ImplicitDeny},
		{name: "Resource matching is case-sensitive", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`)}, resource: "arn:aws:s3:::Bucket/x", want: ImplicitDeny},
		{name: "Resource part may contain colons", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:111122223333:log-group:app:*"}`)}, action: "logs:PutLogEvents", resource: "arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:s1", want: Allow},
		{name: "Resource ? wildcard", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/file?.txt"}`)}, resource: "arn:aws:s3:::bucket/file7.txt", want: Allow},
		{name: "Resource list", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]}`)}, resource: "arn:aws:s3:::b/x", want: Allow},
		{name: "Resource non-ARN request does not match an ARN", source: srcRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)}, resource: "b/x", want: ImplicitDeny},
		{name: "NotResource with Allow grants others", source: srcNotRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}`)}, resource: "arn:aws:s3:::public/x", want: Allow},
		{name: "NotResource with Allow excludes listed", source: srcNotRes, identity: []string{doc(`{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}`)}, resource: "arn:aws:s3:::secret/x", want: ImplicitDeny},
		{name: "NotResource with Deny", source: srcNotRes, identity: []string{allowAll, doc(`{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::mine","arn:aws:s3:::mine/*"]}`)}, resource: "arn:aws:s3:::other/x", want: ExplicitDeny},
		{name: "NotResource with Deny spares listed", source: srcNotRes, identity: []string{allowAll, doc(`{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::mine","arn:aws:s3:::mine/*"]}`)}, resource: "arn:aws:s3:::mine/x", want: Allow},

		// ---- Evaluation across policy types ----
		{name: "No policies: implicit deny", source: srcEval, want: ImplicitDeny},
		{name: "Identity Allow", source: srcEval, identity: []string{allowGet}, want: Allow},
		{name: "Deny beats Allow in one policy", source: srcEval, identity: []string{doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`, `{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`)}, want: ExplicitDeny},
		{name: "Deny in another identity policy", source: srcEval, identity: []string{allowS3, denyGet}, want: ExplicitDeny},
		{name: "Deny in boundary overrides identity Allow", source: srcBoundary, identity: []string{allowS3}, boundary: []string{allowAll, denyGet}, want: ExplicitDeny},
		{name: "Deny in session policy overrides", source: srcSession, identity: []string{allowS3}, session: []string{allowAll, denyGet}, want: ExplicitDeny},
		{name: "Deny in resource policy overrides identity Allow", source: srcEval, identity: []string{allowS3},
			resourcePols: []string{doc(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: ExplicitDeny},
		{name: "Identity and boundary allow", source: srcBoundary, identity: []string{allowGet}, boundary: []string{allowS3}, want: Allow},
		{name: "Boundary without Allow limits identity", source: srcBoundary, identity: []string{allowAll}, boundary: []string{doc(`{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`)}, want: ImplicitDeny},
		{name: "Boundary alone grants nothing", source: srcBoundary, boundary: []string{allowAll}, want: ImplicitDeny},
		{name: "Present but empty boundary denies", source: srcBoundary, identity: []string{allowAll}, hasBoundary: true, want: ImplicitDeny},
		{name: "Session policy narrows the role: allowed action", source: srcSession, identity: []string{allowS3}, session: []string{allowGet}, want: Allow},
		{name: "Session policy narrows the role: other action", source: srcSession, identity: []string{allowS3}, session: []string{allowGet}, action: "s3:PutObject", want: ImplicitDeny},
		{name: "Session policy cannot widen the role", source: srcSession, identity: []string{allowGet}, session: []string{allowAll}, action: "ec2:RunInstances", want: ImplicitDeny},
		{name: "Any of several session policies suffices", source: srcSession, identity: []string{allowAll}, session: []string{doc(`{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`), allowGet}, want: Allow},
		{name: "Present but empty session policies deny", source: srcSession, identity: []string{allowAll}, hasSession: true, want: ImplicitDeny},
		{name: "Session policy narrows by resource", source: srcSession, identity: []string{allowS3}, session: []string{doc(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::team-a/*"}`)}, resource: "arn:aws:s3:::team-b/x", want: ImplicitDeny},
		{name: "Identity, boundary and session all allow", source: srcSession, identity: []string{allowS3}, boundary: []string{allowS3}, session: []string{allowGet}, want: Allow},
		{name: "Resource policy naming the session ARN allows alone", source: srcSession,
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s1"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: Allow},
		{name: "Resource policy naming the session ARN is not limited by session policies", source: srcSession, session: []string{doc(`{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`)},
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s1"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: Allow},
		{name: "Resource policy naming the session ARN is not limited by the boundary", source: srcBoundary, hasBoundary: true,
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s1"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: Allow},
		{name: "Resource policy naming the role ARN allows without identity", source: srcEval,
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: Allow},
		{name: "Resource policy naming the role ARN is limited by session policies", source: srcSession, session: []string{doc(`{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`)},
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: ImplicitDeny},
		{name: "Resource policy naming the role ARN is limited by the boundary", source: srcBoundary, boundary: []string{doc(`{"Effect":"Allow","Action":"ec2:*","Resource":"*"}`)},
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: ImplicitDeny},
		{name: "Resource policy naming the account delegates to identity (none)", source: srcPrin,
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: ImplicitDeny},
		{name: "Resource policy naming the account with identity Allow", source: srcPrin, identity: []string{allowGet},
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: Allow},
		{name: "Resource policy for another principal does not apply", source: srcPrin,
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Other"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: ImplicitDeny},
		{name: "Resource policy Principal * allows", source: srcPrin,
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`)}, principal: session, want: Allow},
		{name: "Resource policy Service principal", source: srcPrin,
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::bucket/*"}`)}, principal: ServicePrincipal("cloudtrail.amazonaws.com"), action: "s3:PutObject", want: Allow},
		{name: "NotPrincipal Deny spares the listed principal", source: srcNotPrin, identity: []string{allowGet},
			resourcePols: []string{doc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/App","arn:aws:sts::111122223333:assumed-role/App/s1"]},"Action":"s3:*","Resource":"*"}`)}, principal: session, want: Allow},
		{name: "NotPrincipal Deny denies everyone else", source: srcNotPrin, identity: []string{allowGet},
			resourcePols: []string{doc(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/App","arn:aws:sts::111122223333:assumed-role/App/s1"]},"Action":"s3:*","Resource":"*"}`)}, principal: otherRole, want: ExplicitDeny},
		{name: "Identity Deny beats resource policy naming the session", source: srcEval, identity: []string{denyGet},
			resourcePols: []string{doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s1"},"Action":"s3:GetObject","Resource":"*"}`)}, principal: session, want: ExplicitDeny},
		{name: "Statement with unmet condition does not deny", source: srcEval, identity: []string{allowGet, doc(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)},
			ctx: []string{"aws:SecureTransport", "true"}, want: Allow},
		{name: "Wildcard statements and exact statements combine", source: srcEval, identity: []string{doc(`{"Effect":"Allow","Action":["s3:GetObject","s3:Put*"],"Resource":"*"}`, `{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::locked/*"}`)},
			action: "s3:PutObject", resource: "arn:aws:s3:::locked/x", want: ExplicitDeny},

		// ---- Trust policies: seed 003, every example ----
		{name: "root principal: principal in account (trust alone)", source: seed + "an example of a simple trust policy", trust: seedRoot, principal: liJuan, action: assume, want: Allow},
		{name: "root principal: other account", source: seed + "an example of a simple trust policy", trust: seedRoot, principal: foreignRole, action: assume, want: ImplicitDeny},
		{name: "root principal: caller needs identity permission too", source: seed + "wildcarding principals (:root needs sts:AssumeRole in identity policy)", trust: seedRoot, trustSet: true, principal: liJuan, action: assume, want: ImplicitDeny},
		{name: "root principal: caller with identity permission", source: seed + "wildcarding principals (:root needs sts:AssumeRole in identity policy)", trust: seedRoot, trustSet: true,
			identity: []string{doc(`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/Target"}`)}, principal: liJuan, action: assume, resource: role, want: Allow},
		{name: "root principal: wrong action", source: seed + "an example of a simple trust policy", trust: seedRoot, principal: liJuan, action: tag, want: ImplicitDeny},
		{name: "role principal LiJuan", source: seed + "using the Principal element", trust: seedLiJuan, principal: liJuan, action: assume, want: Allow},
		{name: "role principal LiJuan: session of LiJuan", source: seed + "using the Principal element", trust: seedLiJuan, principal: PrincipalFromARN("arn:aws:sts::111122223333:assumed-role/LiJuan/x"), action: assume, want: Allow},
		{name: "role principal LiJuan: other role", source: seed + "using the Principal element", trust: seedLiJuan, principal: otherRole, action: assume, want: ImplicitDeny},
		{name: "role principal named directly needs no identity permission", source: seed + "using the Principal element (same-account principal named directly)", trust: seedLiJuan, trustSet: true, principal: liJuan, action: assume, want: Allow},
		{name: "SAML federation with aud", source: seed + "using SAML identity federation", trust: seedSAML, principal: samlIdP, action: "sts:AssumeRoleWithSAML", ctx: []string{"SAML:aud", "https://signin.aws.amazon.com/saml"}, want: Allow},
		{name: "SAML federation wrong aud", source: seed + "using SAML identity federation", trust: seedSAML, principal: samlIdP, action: "sts:AssumeRoleWithSAML", ctx: []string{"SAML:aud", "https://evil.example/saml"}, want: ImplicitDeny},
		{name: "SAML federation plain AssumeRole not allowed", source: seed + "using SAML identity federation", trust: seedSAML, principal: samlIdP, action: assume, ctx: []string{"SAML:aud", "https://signin.aws.amazon.com/saml"}, want: ImplicitDeny},
		{name: "OIDC sub and aud", source: seed + "assuming a role with WebIdentity", trust: seedOIDC, principal: oidcIdP, action: "sts:AssumeRoleWithWebIdentity",
			ctx: []string{"auth.example.com:sub", "Administrator", "auth.example.com:aud", "MyappWebIdentity"}, want: Allow},
		{name: "OIDC wrong sub", source: seed + "assuming a role with WebIdentity", trust: seedOIDC, principal: oidcIdP, action: "sts:AssumeRoleWithWebIdentity",
			ctx: []string{"auth.example.com:sub", "Guest", "auth.example.com:aud", "MyappWebIdentity"}, want: ImplicitDeny},
		{name: "OIDC missing aud", source: seed + "assuming a role with WebIdentity", trust: seedOIDC, principal: oidcIdP, action: "sts:AssumeRoleWithWebIdentity",
			ctx: []string{"auth.example.com:sub", "Administrator"}, want: ImplicitDeny},
		{name: "OIDC other provider", source: seed + "assuming a role with WebIdentity", trust: seedOIDC, principal: Principal{Federated: "accounts.google.com"}, action: "sts:AssumeRoleWithWebIdentity",
			ctx: []string{"auth.example.com:sub", "Administrator", "auth.example.com:aud", "MyappWebIdentity"}, want: ImplicitDeny},
		{name: "External ID present", source: seed + "limiting role use based on an identifier", trust: seedExternalID, principal: exampleCorp, action: assume, ctx: []string{"sts:ExternalId", "ExampleUniquePhrase"}, want: Allow},
		{name: "External ID missing", source: seed + "limiting role use based on an identifier", trust: seedExternalID, principal: exampleCorp, action: assume, want: ImplicitDeny},
		{name: "External ID wrong", source: seed + "limiting role use based on an identifier", trust: seedExternalID, principal: exampleCorp, action: assume, ctx: []string{"sts:ExternalId", "examplephrase"}, want: ImplicitDeny},
		{name: "IP-bounded role inside range", source: seed + "limiting role use based on IP addresses", trust: seedIP, principal: PrincipalFromARN("arn:aws:iam::111122223333:role/IpBoundedRole"), action: assume, ctx: []string{"aws:SourceIp", "203.0.113.44"}, want: Allow},
		{name: "IP-bounded role outside range", source: seed + "limiting role use based on IP addresses", trust: seedIP, principal: PrincipalFromARN("arn:aws:iam::111122223333:role/IpBoundedRole"), action: assume, ctx: []string{"aws:SourceIp", "198.51.100.44"}, want: ImplicitDeny},
		{name: "Tag ABAC department matches role tag", source: seed + "limiting role use based on tags", trust: seedTags, principal: liJuan, action: assume,
			ctx: []string{"aws:PrincipalTag/department", "finance", "aws:ResourceTag/owningDepartment", "finance"}, want: Allow},
		{name: "Tag ABAC department differs", source: seed + "limiting role use based on tags", trust: seedTags, principal: liJuan, action: assume,
			ctx: []string{"aws:PrincipalTag/department", "sales", "aws:ResourceTag/owningDepartment", "finance"}, want: ImplicitDeny},
		{name: "Tag ABAC role untagged", source: seed + "limiting role use based on tags", trust: seedTags, principal: liJuan, action: assume,
			ctx: []string{"aws:PrincipalTag/department", "finance"}, want: ImplicitDeny},
		{name: "Org deny: outside organization", source: seed + "limiting role assumption to principals within your organization", trust: seedOrgDeny, principal: foreignRole, action: assume,
			ctx: []string{"aws:PrincipalOrgID", "o-other", "aws:PrincipalIsAWSService", "false"}, want: ExplicitDeny},
		{name: "Org deny alone does not allow members", source: seed + "limiting role assumption (an explicit Allow is still required)", trust: seedOrgDeny, principal: liJuan, action: assume,
			ctx: []string{"aws:PrincipalOrgID", "o-abcd12efg1", "aws:PrincipalIsAWSService", "false"}, want: ImplicitDeny},
		{name: "Org deny with Allow: member", source: seed + "limiting role assumption to principals within your organization", trust: orgTrust, principal: liJuan, action: assume,
			ctx: []string{"aws:PrincipalOrgID", "o-abcd12efg1", "aws:PrincipalIsAWSService", "false"}, want: Allow},
		{name: "Org deny with Allow: AWS service not impacted", source: seed + "limiting role assumption to principals within your organization", trust: orgTrust, principal: rolesAny, action: assume,
			ctx: []string{"aws:PrincipalIsAWSService", "true"}, want: Allow},
		{name: "Org deny with Allow: outsider", source: seed + "limiting role assumption to principals within your organization", trust: orgTrust, principal: foreignRole, action: assume,
			ctx: []string{"aws:PrincipalOrgID", "o-zzz", "aws:PrincipalIsAWSService", "false"}, want: ExplicitDeny},
		{name: "SetSourceIdentity granted to SAML IdP", source: seed + "setting the source identity", trust: seedSourceIdentity, principal: Principal{Federated: "arn:aws:iam::111122223333:saml-provider/PROVIDER-NAME"}, action: "sts:SetSourceIdentity",
			ctx: []string{"SAML:aud", "https://signin.aws.amazon.com/saml"}, want: Allow},
		{name: "SetSourceIdentity not granted to others", source: seed + "setting the source identity", trust: seedSourceIdentity, principal: liJuan, action: "sts:SetSourceIdentity",
			ctx: []string{"SAML:aud", "https://signin.aws.amazon.com/saml"}, want: ImplicitDeny},
		{name: "SourceIdentity must end in @example.org", source: seed + "setting the source identity (sts:SourceIdentity)",
			trust:     trustDoc(`{"Effect":"Allow","Action":"sts:SetSourceIdentity","Principal":{"AWS":"arn:aws:iam::111122223333:role/LiJuan"},"Condition":{"StringLike":{"sts:SourceIdentity":"*@example.org"}}}`),
			principal: liJuan, action: "sts:SetSourceIdentity", ctx: []string{"sts:SourceIdentity", "bob@example.com"}, want: ImplicitDeny},
		{name: "Session tags: all required tags set", source: seed + "setting tags on role sessions", trust: tagSession, principal: liJuan, action: tag, ctx: goodTags, want: Allow},
		{name: "Session tags: AssumeRole under same conditions", source: seed + "setting tags on role sessions", trust: tagSession, principal: liJuan, action: assume, ctx: goodTags, want: Allow},
		{name: "Session tags: Department not allowed", source: seed + "setting tags on role sessions", trust: tagSession, principal: liJuan, action: tag,
			ctx: []string{"aws:RequestTag/Project", "p1", "aws:RequestTag/CostCenter", "cc", "aws:RequestTag/Department", "Sales"}, want: ImplicitDeny},
		{name: "Session tags: Project tag required", source: seed + "setting tags on role sessions", trust: tagSession, principal: liJuan, action: tag,
			ctx: []string{"aws:RequestTag/CostCenter", "cc", "aws:RequestTag/Department", "Marketing"}, want: ImplicitDeny},
		{name: "Session tags: no transitive keys is fine", source: seed + "setting tags on role sessions", trust: tagSession, principal: liJuan, action: tag,
			ctx: []string{"aws:RequestTag/Project", "p1", "aws:RequestTag/CostCenter", "cc", "aws:RequestTag/Department", "Marketing"}, want: Allow},
		{name: "Session tags: CostCenter may not be transitive", source: seed + "setting tags on role sessions", trust: tagSession, principal: liJuan, action: tag,
			ctx: append(append([]string{}, goodTags...), "sts:TransitiveTagKeys", "CostCenter"), want: ImplicitDeny},
		{name: "Admin tag denied", source: seed + "setting tags on role sessions (Null deny)", trust: trustDoc(seedTagSessionStmt, seedDenyAdminTagStmt), principal: liJuan, action: tag,
			ctx: append(append([]string{}, goodTags...), "aws:RequestTag/Admin", "yes"), want: ExplicitDeny},
		{name: "No Admin tag: Null deny does not apply", source: seed + "setting tags on role sessions (Null deny)", trust: trustDoc(seedTagSessionStmt, seedDenyAdminTagStmt), principal: liJuan, action: tag, ctx: goodTags, want: Allow},
		{name: "Team=Admin denied", source: seed + "setting tags on role sessions (Team deny/allow)", trust: trustDoc(seedTeamStmts), principal: liJuan, action: tag, ctx: []string{"aws:RequestTag/Team", "Admin"}, want: ExplicitDeny},
		{name: "Team=Dev allowed", source: seed + "setting tags on role sessions (Team deny/allow)", trust: trustDoc(seedTeamStmts), principal: liJuan, action: tag, ctx: []string{"aws:RequestTag/Team", "Dev"}, want: Allow},
		{name: "No Team tag: StringLike needs the key", source: seed + "setting tags on role sessions (Team deny/allow)", trust: trustDoc(seedTeamStmts), principal: liJuan, action: tag, want: ImplicitDeny},
		{name: "Deleted role shows as unique id", source: seed + "what happens when a role in a trust policy is deleted", trust: seedRoleID, principal: Principal{ARN: "arn:aws:iam::111122223333:role/Gone", Account: acct, ID: "AROA1234567123456D"}, action: assume, want: Allow},
		{name: "Re-created role has a new id", source: seed + "what happens when a role in a trust policy is deleted", trust: seedRoleID, principal: Principal{ARN: "arn:aws:iam::111122223333:role/Gone", Account: acct, ID: "AROANEWID000000000"}, action: assume, want: ImplicitDeny},
		{name: "PrincipalArn condition with root principal", source: seed + "principals placed inside the Condition block", trust: seedPrincipalArn, principal: PrincipalFromARN("arn:aws:iam::111122223333:role/ExampleCorpRole"), action: assume,
			ctx: []string{"aws:PrincipalArn", "arn:aws:iam::111122223333:role/ExampleCorpRole"}, want: Allow},
		{name: "PrincipalArn condition other role", source: seed + "principals placed inside the Condition block", trust: seedPrincipalArn, principal: otherRole, action: assume,
			ctx: []string{"aws:PrincipalArn", "arn:aws:iam::111122223333:role/Other"}, want: ImplicitDeny},
		{name: "ArnLike OpsRoles path", source: seed + "wildcarding principals", trust: seedOpsRoles, principal: PrincipalFromARN("arn:aws:iam::111122223333:role/OpsRoles/Deployer"), action: assume,
			ctx: []string{"aws:PrincipalArn", "arn:aws:iam::111122223333:role/OpsRoles/Deployer"}, want: Allow},
		{name: "ArnLike OpsRoles other path", source: seed + "wildcarding principals", trust: seedOpsRoles, principal: otherRole, action: assume,
			ctx: []string{"aws:PrincipalArn", "arn:aws:iam::111122223333:role/DevRoles/Deployer"}, want: ImplicitDeny},
		{name: "Multiple statements: assume from range", source: seed + "using multiple statements", trust: seedMulti, principal: exampleRole, action: assume, ctx: []string{"aws:SourceIp", "203.0.113.10"}, want: Allow},
		{name: "Multiple statements: assume outside range", source: seed + "using multiple statements", trust: seedMulti, principal: exampleRole, action: assume, ctx: []string{"aws:SourceIp", "192.0.2.10"}, want: ImplicitDeny},
		{name: "Multiple statements: tag session", source: seed + "using multiple statements", trust: seedMulti, principal: exampleRole, action: tag, ctx: []string{"aws:SourceIp", "203.0.113.10", "aws:RequestTag/Project", "x"}, want: Allow},
		{name: "Multiple statements: Admin tag forbidden", source: seed + "using multiple statements", trust: seedMulti, principal: exampleRole, action: tag, ctx: []string{"aws:SourceIp", "203.0.113.10", "aws:RequestTag/Admin", "x"}, want: ExplicitDeny},
		{name: "Roles Anywhere service principal", source: srcUGTrust, trust: rolesAnywhereTrust, principal: rolesAny, action: assume,
			ctx: []string{"aws:SourceArn", "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/TA_ID"}, want: Allow},
		{name: "Roles Anywhere: other trust anchor", source: srcUGTrust, trust: rolesAnywhereTrust, principal: rolesAny, action: "sts:SetSourceIdentity",
			ctx: []string{"aws:SourceArn", "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/OTHER"}, want: ImplicitDeny},
		{name: "Roles Anywhere: other service", source: srcUGTrust, trust: rolesAnywhereTrust, principal: ServicePrincipal("ec2.amazonaws.com"), action: assume,
			ctx: []string{"aws:SourceArn", "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/TA_ID"}, want: ImplicitDeny},
		{name: "Service principal name is case-insensitive", source: srcPrin, trust: rolesAnywhereTrust, principal: ServicePrincipal("RolesAnywhere.amazonaws.com"), action: "sts:TagSession",
			ctx: []string{"aws:SourceArn", "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/TA_ID"}, want: Allow},
		{name: "Principal * in trust matches a service", source: srcPrin, trust: trustDoc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), principal: rolesAny, action: assume, want: Allow},
		{name: "Principal AWS * matches a role", source: srcPrin, trust: trustDoc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}`), principal: foreignRole, action: assume, want: Allow},
		{name: "Account id principal form", source: srcPrin, trust: trustDoc(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`), principal: session, action: assume, want: Allow},
		{name: "Assumed-role session principal", source: srcPrin, trust: trustDoc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s1"},"Action":"sts:AssumeRole"}`), principal: session, action: assume, want: Allow},
		{name: "Assumed-role session principal: other session", source: srcPrin, trust: trustDoc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s1"},"Action":"sts:AssumeRole"}`), principal: PrincipalFromARN("arn:aws:sts::111122223333:assumed-role/App/s2"), action: assume, want: ImplicitDeny},
		{name: "Deny in trust policy beats caller identity Allow", source: srcEval, trust: trustDoc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}`, `{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`),
			trustSet: true, identity: []string{allowAll}, principal: liJuan, action: assume, ctx: []string{"aws:SecureTransport", "false"}, want: ExplicitDeny},
		{name: "Caller identity Deny beats trust Allow", source: srcEval, trust: seedLiJuan, trustSet: true, identity: []string{doc(`{"Effect":"Deny","Action":"sts:*","Resource":"*"}`)}, principal: liJuan, action: assume, want: ExplicitDeny},
		{name: "Trust must explicitly allow even with identity Allow", source: srcEval, trust: seedLiJuan, trustSet: true, identity: []string{allowAll}, principal: otherRole, action: assume, want: ImplicitDeny},
	}
	return cs
}

func TestConformance(t *testing.T) {
	cases := conformanceCases()
	if len(cases) < 150 {
		t.Errorf("conformance table has %d cases, want at least 150", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Errorf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			if tc.source == "" {
				t.Fatal("case has no source")
			}
			req := &Request{Principal: tc.principal, Action: tc.action, Resource: tc.resource, Context: ctxOf(tc.ctx...)}
			if req.Action == "" {
				req.Action = "s3:GetObject"
			}
			if req.Resource == "" {
				req.Resource = "arn:aws:s3:::bucket/key"
			}
			if req.Principal == (Principal{}) {
				req.Principal = session
			}
			var got Decision
			var ex Explanation
			if tc.trust != "" && !tc.trustSet {
				trust := mustParse(t, KindTrust, "trust", tc.trust)
				got = EvaluateTrust(trust, req)
				ex = ExplainTrust(trust, req)
			} else {
				set := &PolicySet{
					Identity:    parseAll(t, KindIdentity, tc.identity),
					Boundary:    parseAll(t, KindBoundary, tc.boundary),
					HasBoundary: tc.hasBoundary,
					Session:     parseAll(t, KindSession, tc.session),
					HasSession:  tc.hasSession,
					Resource:    parseAll(t, KindResource, tc.resourcePols),
				}
				if tc.trust != "" {
					set.Trust = mustParse(t, KindTrust, "trust", tc.trust)
				}
				got = set.Evaluate(req)
				ex = set.Explain(req)
			}
			if got != tc.want {
				t.Errorf("decision = %v, want %v (source: %s)\n%s", got, tc.want, tc.source, ex.String())
			}
			if ex.Decision != got {
				t.Errorf("Explain decision %v disagrees with Evaluate %v", ex.Decision, got)
			}
			checkExplanation(t, got, &ex)
		})
	}
}

// checkExplanation asserts that an explanation always says why.
func checkExplanation(t *testing.T, d Decision, ex *Explanation) {
	t.Helper()
	switch d {
	case ExplicitDeny:
		if len(ex.Denied) == 0 {
			t.Errorf("explicit deny without a denying statement: %+v", ex)
		}
	case Allow:
		if len(ex.Allowed) == 0 || len(ex.Denied) != 0 {
			t.Errorf("allow without an allowing statement: %+v", ex)
		}
	case ImplicitDeny:
		if len(ex.Missing) == 0 || len(ex.Denied) != 0 {
			t.Errorf("implicit deny without a missing policy type: %+v", ex)
		}
	}
	for _, r := range append(append([]StatementRef{}, ex.Denied...), ex.Allowed...) {
		if r.Policy == "" || r.Path == "" {
			t.Errorf("statement reference without policy or path: %+v", r)
		}
	}
}
