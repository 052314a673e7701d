package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roam-project/roam/internal/apierr"
)

// FuzzRolesAnywhereDecode feeds arbitrary bodies to every control-plane
// input decoder. A decoder must never panic, must refuse with a
// ValidationException only, and what it accepts must survive a round trip.
// The committed corpus (testdata/fuzz/FuzzRolesAnywhereDecode) holds the
// SDK's request snapshot bodies and known-bad inputs.
func FuzzRolesAnywhereDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(raSnapDir, "request_snapshot", "*.request.snap"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		if i := strings.LastIndex(string(b), "\n{"); i >= 0 {
			f.Add(b[i+1:])
		}
	}
	ops := slices.Sorted(func(yield func(string) bool) {
		for k := range raInputs {
			if !yield(k) {
				return
			}
		}
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, op := range ops {
			in := raInputs[op]()
			err := raDecodeJSON(body, in)
			if err != nil {
				ae, ok := apierr.As(err)
				if !ok || ae.Code != "ValidationException" || ae.Status != 400 {
					t.Fatalf("%s: %q: error %v is not a ValidationException", op, body, err)
				}
				continue
			}
			again, err := json.Marshal(in)
			if err != nil {
				t.Fatalf("%s: re-marshal: %v", op, err)
			}
			if err := raDecodeJSON(again, raInputs[op]()); err != nil {
				t.Fatalf("%s: %s decoded but its re-encoding %s does not: %v", op, body, again, err)
			}
		}
	})
}
