package cadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned by WriteFile when the target exists and overwriting
// was not allowed.
var ErrExists = errors.New("file exists (use --force to overwrite)")

// WriteFile writes data to path atomically: it writes a temporary file in the
// same directory with mode perm, syncs it, and renames it over path. Unless
// overwrite is set an existing path is left alone and ErrExists returned.
// Readers see either the old content or the new, never a partial file.
func WriteFile(path string, data []byte, perm fs.FileMode, overwrite bool) error {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !overwrite {
		// Link fails if path appeared meanwhile; rename would replace it.
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", path, ErrExists)
			}
			// Filesystems without hard links: fall back to rename.
			if err := os.Rename(tmp, path); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			ok = true
			return syncDir(dir)
		}
		os.Remove(tmp)
		ok = true
		return syncDir(dir)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Errors are ignored on systems where
// directories cannot be synced.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// CheckWritable lets a command refuse before it changes anything: it fails
// if the directory of one of paths does not exist, or (unless overwrite) if
// one of paths exists, with ErrExists wrapped with the path.
func CheckWritable(overwrite bool, paths ...string) error {
	for _, p := range paths {
		if info, err := os.Stat(filepath.Dir(p)); err != nil {
			return fmt.Errorf("output directory of %s: %w", p, err)
		} else if !info.IsDir() {
			return fmt.Errorf("output directory of %s is not a directory", p)
		}
		if overwrite {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: %w", p, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", p, err)
		}
	}
	return nil
}
