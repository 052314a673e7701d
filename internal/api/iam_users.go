package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roam-project/roam/internal/apierr"
	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/sts"
)

// IAM admin user and access key operations.

type xmlUser struct {
	Path       string
	UserName   string
	UserID     string `xml:"UserId"`
	Arn        string
	CreateDate string
	Tags       []xmlTag `xml:"Tags>member,omitempty"`
}

func (q *iamCall) userXML(u *store.User) xmlUser {
	path := u.Path
	if path == "" {
		path = "/"
	}
	return xmlUser{Path: path, UserName: u.Name, UserID: u.ID, Arn: iam.UserARN(q.account, u.Path, u.Name),
		CreateDate: isoTime(u.CreatedAt), Tags: xmlTags(u.Tags)}
}

type userResult struct {
	XMLName xml.Name
	User    xmlUser
}

// userName reads UserName; when optional and absent it is the calling
// user's name (a session caller must name the user).
func (q *iamCall) userName(optional bool) (string, error) {
	name, ok := q.f.str("UserName")
	if !ok || name == "" {
		if !optional {
			return "", missing("userName")
		}
		if q.c.User == nil {
			return "", validationError("Must specify userName when calling with non-User credentials")
		}
		return q.c.User.Name, nil
	}
	if err := iam.ValidateUserName(name); err != nil {
		return "", constraint(name, "userName", `Member must satisfy regular expression pattern: [\w+=,.@-]+ and have length between 1 and 64`)
	}
	return name, nil
}

// user reads UserName, looks the user up and authorizes the operation on
// it (before revealing whether it exists).
func (q *iamCall) user(optional bool, extra map[string][]string) (*store.User, string, error) {
	name, err := q.userName(optional)
	if err != nil {
		return nil, "", err
	}
	u, err := q.h.cfg.Store.GetUser(q.ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, "", fmt.Errorf("iam: get user: %w", err)
	}
	arn := iam.UserARN(q.account, "/", name)
	if u != nil {
		arn = iam.UserARN(q.account, u.Path, u.Name)
		extra = resourceTags(u.Tags, extra)
	}
	if err := q.authorize("", arn, extra); err != nil {
		return nil, "", err
	}
	if u == nil {
		return nil, "", noSuchEntity("The user with name %s cannot be found.", name)
	}
	return u, arn, nil
}

func (q *iamCall) createUser() (any, error) {
	name, err := q.userName(false)
	if err != nil {
		return nil, err
	}
	path, err := q.parsePath("Path")
	if err != nil {
		return nil, err
	}
	tags, keys, err := q.parseTags("Tags")
	if err != nil {
		return nil, err
	}
	arn := iam.UserARN(q.account, path, name)
	extra := requestTagKeys(tags, keys)
	if err := q.authorize("", arn, extra); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := q.authorize("iam:TagUser", arn, extra); err != nil {
			return nil, err
		}
	}
	u, err := q.h.cfg.Store.CreateUser(q.ctx, &store.User{Name: name, ID: store.NewIAMID("AIDA"), Path: path, Tags: tags})
	if err != nil {
		return nil, storeErr(err, nil, entityAlreadyExists("User with name %s already exists.", name), nil)
	}
	q.committed(arn)
	return userResult{XMLName: xml.Name{Local: "CreateUserResult"}, User: q.userXML(u)}, nil
}

func (q *iamCall) getUser() (any, error) {
	u, _, err := q.user(true, nil)
	if err != nil {
		return nil, err
	}
	return userResult{XMLName: xml.Name{Local: "GetUserResult"}, User: q.userXML(u)}, nil
}

func (q *iamCall) deleteUser() (any, error) {
	u, arn, err := q.user(false, nil)
	if err != nil {
		return nil, err
	}
	if _, err := q.h.cfg.Store.DeleteUser(q.ctx, u.Name); err != nil {
		return nil, storeErr(err, noSuchEntity("The user with name %s cannot be found.", u.Name),
			deleteConflict("Cannot delete entity, must delete access keys and policies first."), nil)
	}
	q.committed(arn)
	return q.empty(), nil
}

type xmlAccessKey struct {
	UserName        string
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string
	SecretAccessKey string `xml:",omitempty"`
	CreateDate      string
}

type createAccessKeyResult struct {
	XMLName   xml.Name `xml:"CreateAccessKeyResult"`
	AccessKey xmlAccessKey
}

// NewAccessKey generates a long-term access key for userName: an AKIA… id
// and a 40-character secret, returned in the clear once, and the record to
// store with the secret sealed under master.
func NewAccessKey(master []byte, userName string) (rec *store.AccessKey, secret string, err error) {
	var b [30]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", fmt.Errorf("access key: random secret: %w", err)
	}
	secret = base64.StdEncoding.EncodeToString(b[:])
	clear(b[:])
	id := store.NewIAMID("AKIA")[:20] // AWS access key ids are 20 characters
	sealed, err := sts.SealSecret(master, id, []byte(secret))
	if err != nil {
		return nil, "", fmt.Errorf("access key: %w", err)
	}
	return &store.AccessKey{ID: id, UserName: userName, SealedSecret: sealed, Status: store.AccessKeyActive}, secret, nil
}

func (q *iamCall) createAccessKey() (any, error) {
	u, arn, err := q.user(true, nil)
	if err != nil {
		return nil, err
	}
	rec, secret, err := NewAccessKey(q.h.cfg.MasterKey, u.Name)
	if err != nil {
		return nil, err
	}
	k, err := q.h.cfg.Store.CreateAccessKey(q.ctx, rec)
	if err != nil {
		return nil, storeErr(err, noSuchEntity("The user with name %s cannot be found.", u.Name), nil,
			limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", store.MaxAccessKeysPerUser))
	}
	q.committed(arn)
	return createAccessKeyResult{AccessKey: xmlAccessKey{UserName: u.Name, AccessKeyID: k.ID, Status: store.AccessKeyActive,
		SecretAccessKey: secret, CreateDate: isoTime(k.CreatedAt)}}, nil
}

// accessKey reads AccessKeyId and checks that it belongs to u.
func (q *iamCall) accessKey(u *store.User) (*store.AccessKey, error) {
	id, err := q.required("AccessKeyId")
	if err != nil {
		return nil, err
	}
	notFound := noSuchEntity("The Access Key with id %s cannot be found.", truncate(id))
	k, err := q.h.cfg.Store.GetAccessKey(q.ctx, id)
	if err != nil {
		return nil, storeErr(err, notFound, nil, nil)
	}
	if !strings.EqualFold(k.UserName, u.Name) {
		return nil, notFound
	}
	return k, nil
}

func (q *iamCall) deleteAccessKey() (any, error) {
	u, arn, err := q.user(true, nil)
	if err != nil {
		return nil, err
	}
	k, err := q.accessKey(u)
	if err != nil {
		return nil, err
	}
	if err := q.h.cfg.Store.DeleteAccessKey(q.ctx, k.ID); err != nil {
		return nil, storeErr(err, noSuchEntity("The Access Key with id %s cannot be found.", k.ID), nil, nil)
	}
	q.committed(arn)
	return q.empty(), nil
}

func (q *iamCall) updateAccessKey() (any, error) {
	status, err := q.required("Status")
	if err != nil {
		return nil, err
	}
	if status != store.AccessKeyActive && status != store.AccessKeyInactive {
		return nil, constraint(status, "status", "Member must satisfy enum value set: [Active, Inactive]")
	}
	u, arn, err := q.user(true, nil)
	if err != nil {
		return nil, err
	}
	k, err := q.accessKey(u)
	if err != nil {
		return nil, err
	}
	if _, err := q.h.cfg.Store.SetAccessKeyStatus(q.ctx, k.ID, status); err != nil {
		return nil, storeErr(err, noSuchEntity("The Access Key with id %s cannot be found.", k.ID), nil, nil)
	}
	q.committed(arn)
	return q.empty(), nil
}

type listAccessKeysResult struct {
	XMLName           xml.Name       `xml:"ListAccessKeysResult"`
	UserName          string         `xml:"UserName"`
	AccessKeyMetadata []xmlAccessKey `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

func (q *iamCall) listAccessKeys() (any, error) {
	u, _, err := q.user(true, nil)
	if err != nil {
		return nil, err
	}
	keys, err := q.h.cfg.Store.ListAccessKeys(q.ctx, u.Name)
	if err != nil {
		return nil, storeErr(err, noSuchEntity("The user with name %s cannot be found.", u.Name), nil, nil)
	}
	all := make([]xmlAccessKey, 0, len(keys))
	for _, k := range keys {
		st := k.Status
		if st == "" {
			st = store.AccessKeyActive
		}
		all = append(all, xmlAccessKey{UserName: u.Name, AccessKeyID: k.ID, Status: st, CreateDate: isoTime(k.CreatedAt)})
	}
	start, end, next, err := q.page(len(all))
	if err != nil {
		return nil, err
	}
	return listAccessKeysResult{UserName: u.Name, AccessKeyMetadata: all[start:end], IsTruncated: next != "", Marker: next}, nil
}

// updateUserRecord applies fn to the user and records the change.
func (q *iamCall) updateUserRecord(name, arn string, fn func(*store.User) error) error {
	if _, err := q.h.cfg.Store.UpdateUser(q.ctx, name, fn); err != nil {
		if ae, ok := apierr.As(err); ok {
			return ae
		}
		return storeErr(err, noSuchEntity("The user with name %s cannot be found.", name), nil,
			limitExceeded("Cannot exceed quota for PoliciesPerUser: %d", iam.DefaultPoliciesPerUser))
	}
	q.committed(arn)
	return nil
}

func (q *iamCall) attachUserPolicy() (any, error) {
	parn, err := q.policyARNParam()
	if err != nil {
		return nil, err
	}
	u, arn, err := q.user(false, map[string][]string{"iam:PolicyARN": {parn}})
	if err != nil {
		return nil, err
	}
	if _, err := q.h.cfg.Store.GetPolicy(q.ctx, parn); err != nil {
		return nil, storeErr(err, noSuchEntity("Policy %s does not exist or is not attachable.", truncate(parn)), nil, nil)
	}
	err = q.updateUserRecord(u.Name, arn, func(u *store.User) error {
		if slices.Contains(u.AttachedPolicies, parn) {
			return nil
		}
		if len(u.AttachedPolicies) >= iam.DefaultPoliciesPerUser {
			return limitExceeded("Cannot exceed quota for PoliciesPerUser: %d", iam.DefaultPoliciesPerUser)
		}
		u.AttachedPolicies = append(u.AttachedPolicies, parn)
		slices.Sort(u.AttachedPolicies)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

func (q *iamCall) detachUserPolicy() (any, error) {
	parn, err := q.policyARNParam()
	if err != nil {
		return nil, err
	}
	u, arn, err := q.user(false, map[string][]string{"iam:PolicyARN": {parn}})
	if err != nil {
		return nil, err
	}
	notAttached := noSuchEntity("Policy %s was not found.", truncate(parn))
	if !slices.Contains(u.AttachedPolicies, parn) {
		return nil, notAttached
	}
	err = q.updateUserRecord(u.Name, arn, func(u *store.User) error {
		i := slices.Index(u.AttachedPolicies, parn)
		if i < 0 {
			return notAttached
		}
		u.AttachedPolicies = slices.Delete(u.AttachedPolicies, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q.empty(), nil
}

func (q *iamCall) listAttachedUserPolicies() (any, error) {
	u, _, err := q.user(false, nil)
	if err != nil {
		return nil, err
	}
	return q.listAttached(u.AttachedPolicies)
}
