package pkcs11

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// DefaultModule is the PKCS#11 module loaded when neither --pkcs11-lib nor
// the URI's module-path names one: p11-kit's proxy, which exposes every
// module registered with p11-kit (the official helper's default).
func DefaultModule() string {
	switch runtime.GOOS {
	case "darwin":
		return "p11-kit-proxy.dylib"
	case "windows":
		return "p11-kit-proxy.dll"
	}
	return "p11-kit-proxy.so"
}

// loadedModule is a PKCS#11 module loaded and initialised in this process.
type loadedModule struct {
	ctx  *p11.Ctx
	refs int
	// owned is false when the module had already been initialised by
	// someone else in the process (CKR_CRYPTOKI_ALREADY_INITIALIZED), in
	// which case roam must not finalise it.
	owned bool
}

// moduleTable counts the users of each loaded module.
//
// This is process-wide on purpose: C_Initialize and C_Finalize act on the
// whole process (PKCS#11 v2.40 §5.4), so two Signers on the same module
// must share one initialisation, and the module may be finalised only when
// the last one closes. The table mirrors that process-wide state; it holds
// no configuration.
type moduleTable struct {
	mu   sync.Mutex
	mods map[string]*loadedModule
}

var modules = &moduleTable{mods: make(map[string]*loadedModule)}

// acquire loads and initialises the module at path (once per process) and
// returns it with a release function that must be called exactly once.
func (t *moduleTable) acquire(path string) (*p11.Ctx, func(), error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.mods[path]; ok {
		m.refs++
		return m.ctx, t.releaser(path), nil
	}
	if strings.ContainsRune(path, os.PathSeparator) {
		// Give a useful error for a missing file; dlopen's own is lost.
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("pkcs11: load module: %w", err)
		}
	}
	ctx := p11.New(path)
	if ctx == nil {
		return nil, nil, fmt.Errorf("pkcs11: cannot load module %q (not found by the dynamic loader, or not a PKCS#11 module)", path)
	}
	owned := true
	if err := ctx.Initialize(); err != nil {
		var ce p11.Error
		if !errors.As(err, &ce) || ce != p11.CKR_CRYPTOKI_ALREADY_INITIALIZED {
			ctx.Destroy()
			return nil, nil, fmt.Errorf("pkcs11: initialise module %q: %w", path, err)
		}
		owned = false
	}
	t.mods[path] = &loadedModule{ctx: ctx, refs: 1, owned: owned}
	return ctx, t.releaser(path), nil
}

// releaser returns the release function for one acquire of path.
func (t *moduleTable) releaser(path string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			m, ok := t.mods[path]
			if !ok {
				return
			}
			if m.refs--; m.refs > 0 {
				return
			}
			delete(t.mods, path)
			if m.owned {
				m.ctx.Finalize()
			}
			m.ctx.Destroy()
		})
	}
}

// refs returns how many users the module at path has (for tests).
func (t *moduleTable) refs(path string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.mods[path]; ok {
		return m.refs
	}
	return 0
}
