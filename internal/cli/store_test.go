package cli

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/store"
	"github.com/roam-project/roam/internal/store/sqlite"
)

func TestStoreCopy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "src.db")
	src, err := sqlite.Open(ctx, srcPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.CreateRole(ctx, &store.Role{Name: "Admin", InlinePolicies: map[string]string{"p": "{}"}}); err != nil {
		t.Fatal(err)
	}
	if err := src.UpsertSubjects(ctx, []store.SubjectSighting{{X509Subject: "CN=a", SerialNumber: "1", Issuer: "CN=ca"}}); err != nil {
		t.Fatal(err)
	}
	want, err := src.LoadConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src.Close()

	dstPath := filepath.Join(dir, "dst.db")
	code, out, errOut := runRoam(t, "", "store", "copy", "--from", "sqlite:"+srcPath, "--to", "sqlite:"+dstPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, line := range []string{"roles             1", "subjects          1"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	dst, err := sqlite.Open(ctx, dstPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dst.LoadConfig(ctx)
	dst.Close()
	if err != nil {
		t.Fatal(err)
	}
	got.Version, want.Version = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("copied config:\n got  %+v\n want %+v", got, want)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing --to", []string{"--from", "sqlite:" + srcPath}, "--from and --to are required"},
		{"same store", []string{"--from", "sqlite:" + srcPath, "--to", "sqlite:" + srcPath}, "same store"},
		{"bad spec", []string{"--from", srcPath, "--to", "sqlite:" + dstPath}, "want sqlite:PATH or a postgres:// URL"},
		{"destination not empty", []string{"--from", "sqlite:" + srcPath, "--to", "sqlite:" + dstPath}, "already holds configuration"},
		{"password hidden", []string{"--from", "sqlite:" + srcPath, "--to", "postgres://roam:s3cret@127.0.0.1:1/roam?connect_timeout=2"},
			"postgres://roam:xxxxx@127.0.0.1:1/roam"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runRoam(t, "", append([]string{"store", "copy"}, tc.args...)...)
			if code == 0 {
				t.Fatal("succeeded")
			}
			if !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "s3cret") {
				t.Fatalf("stderr %q, want it to mention %q (and no password)", errOut, tc.want)
			}
		})
	}
}
