//go:build !unix && !windows

package cadir

import "os"

// tryLockFile: this platform has no advisory locks; the directory assumes
// one writer at a time.
func tryLockFile(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) {}
