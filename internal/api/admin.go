package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/roam-project/roam/internal/iam"
	"github.com/roam-project/roam/internal/store"
)

// AdministratorPolicyName is the managed policy `roam server init` attaches
// to the first admin user.
const AdministratorPolicyName = "AdministratorAccess"

// AdministratorPolicyDocument allows every action on every resource, like
// AWS's AdministratorAccess.
const AdministratorPolicyDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// ErrAdminExists is returned by InitAdmin when the store already has an
// admin user and Force is not set.
var ErrAdminExists = errors.New("an admin user already exists")

// InitAdminOptions configures InitAdmin.
type InitAdminOptions struct {
	// UserName is the admin user to create; "" means "admin".
	UserName string
	// Force proceeds when users already exist: the user is created if
	// missing, the administrator policy attached, every existing access key
	// of the user deleted, and a new key issued (recovery of a lost key).
	Force bool
}

// AdminKey is the first access key of an admin user. SecretAccessKey is
// shown once and stored only sealed.
type AdminKey struct {
	UserName        string
	UserARN         string
	AccessKeyID     string
	SecretAccessKey string
	// Replaced lists the access key ids Force deleted.
	Replaced []string
}

// InitAdmin creates the first admin user with the AdministratorAccess
// managed policy attached and issues its first access key, sealed under
// master in the store. Without opts.Force it refuses (ErrAdminExists) if any
// user exists, so running it twice never silently issues a second key.
func InitAdmin(ctx context.Context, st store.Store, master []byte, opts InitAdminOptions) (*AdminKey, error) {
	name := opts.UserName
	if name == "" {
		name = "admin"
	}
	if err := iam.ValidateUserName(name); err != nil {
		return nil, err
	}
	users, _, err := st.ListUsers(ctx, store.ListOptions{MaxResults: 1})
	if err != nil {
		return nil, fmt.Errorf("init admin: list users: %w", err)
	}
	if len(users) > 0 && !opts.Force {
		return nil, fmt.Errorf("%w (%s); use --force to create or recover %q and issue it a new access key", ErrAdminExists, users[0].Name, name)
	}
	account, err := st.GetSetting(ctx, store.SettingAccountID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("init admin: account id: %w", err)
	}
	if account == "" {
		account = "000000000000"
	}
	parn := iam.PolicyARN(account, "/", AdministratorPolicyName)
	if _, err := st.GetPolicy(ctx, parn); errors.Is(err, store.ErrNotFound) {
		if _, err := st.CreatePolicy(ctx, &store.Policy{Name: AdministratorPolicyName, ID: store.NewIAMID("ANPA"), Path: "/", ARN: parn,
			Description: "Allows every action on every resource (created by roam server init)."}, AdministratorPolicyDocument); err != nil {
			return nil, fmt.Errorf("init admin: create policy: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("init admin: get policy: %w", err)
	}
	u, err := st.GetUser(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		u, err = st.CreateUser(ctx, &store.User{Name: name, ID: store.NewIAMID("AIDA"), Path: "/", AttachedPolicies: []string{parn}})
		if err != nil {
			return nil, fmt.Errorf("init admin: create user: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("init admin: get user: %w", err)
	default:
		u, err = st.UpdateUser(ctx, name, func(u *store.User) error {
			if !slices.Contains(u.AttachedPolicies, parn) {
				u.AttachedPolicies = append(u.AttachedPolicies, parn)
				slices.Sort(u.AttachedPolicies)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("init admin: attach policy: %w", err)
		}
	}
	out := &AdminKey{UserName: u.Name, UserARN: iam.UserARN(account, u.Path, u.Name)}
	if opts.Force {
		keys, err := st.ListAccessKeys(ctx, u.Name)
		if err != nil {
			return nil, fmt.Errorf("init admin: list access keys: %w", err)
		}
		for _, k := range keys {
			if err := st.DeleteAccessKey(ctx, k.ID); err != nil {
				return nil, fmt.Errorf("init admin: delete access key %s: %w", k.ID, err)
			}
			out.Replaced = append(out.Replaced, k.ID)
		}
	}
	rec, secret, err := NewAccessKey(master, u.Name)
	if err != nil {
		return nil, err
	}
	rec.CreatedAt = time.Now().UTC()
	if _, err := st.CreateAccessKey(ctx, rec); err != nil {
		return nil, fmt.Errorf("init admin: create access key: %w", err)
	}
	out.AccessKeyID, out.SecretAccessKey = rec.ID, secret
	return out, nil
}

// WriteCredentialsProfile writes k as an AWS shared-credentials file with
// one profile, mode 0600. An existing file is refused unless overwrite.
func WriteCredentialsProfile(path, profile string, k *AdminKey, overwrite bool) error {
	if profile == "" {
		profile = "default"
	}
	if strings.ContainsAny(profile, "[]\n\r") {
		return fmt.Errorf("profile name %q: must not contain brackets or newlines", profile)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("key file: %w", err)
	}
	if err := WriteCredentials(f, profile, k); err != nil {
		f.Close()
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	return nil
}

// WriteCredentials writes k in the AWS shared-credentials format.
func WriteCredentials(w io.Writer, profile string, k *AdminKey) error {
	_, err := fmt.Fprintf(w, "[%s]\n# roam admin user %s\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		profile, k.UserARN, k.AccessKeyID, k.SecretAccessKey)
	return err
}
