package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// maxPasswordFile bounds the size of a password file.
const maxPasswordFile = 4096

// passwordRequest says where a password may come from.
type passwordRequest struct {
	what    string // "CA key", "PKCS#12"; used in prompts and errors
	file    string // --password-file
	envVar  string // environment variable, "" for none
	confirm bool   // prompt twice (new passwords)
}

// errNoPasswordSource is returned when no password source is available.
var errNoPasswordSource = errors.New("no password source")

// readPassword returns the password from the file, else the environment
// variable, else a prompt on the terminal. It never includes the password
// in an error.
func (env *Env) readPassword(req passwordRequest) ([]byte, error) {
	if req.file != "" {
		data, err := readPasswordFile(req.file)
		if err != nil {
			return nil, err
		}
		return data, nil
	}
	if req.envVar != "" && env.Getenv != nil {
		if v := env.Getenv(req.envVar); v != "" {
			return []byte(v), nil
		}
	}
	f, ok := env.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		hint := "--password-file"
		if req.envVar != "" {
			hint += " or $" + req.envVar
		}
		return nil, fmt.Errorf("%s password needed but stdin is not a terminal: %w (use %s)", req.what, errNoPasswordSource, hint)
	}
	fmt.Fprintf(env.Stderr, "%s password: ", req.what)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return nil, fmt.Errorf("read %s password: %w", req.what, err)
	}
	if len(pw) == 0 {
		return nil, fmt.Errorf("empty %s password", req.what)
	}
	if req.confirm {
		fmt.Fprintf(env.Stderr, "Repeat %s password: ", req.what)
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return nil, fmt.Errorf("read %s password: %w", req.what, err)
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("passwords do not match")
		}
	}
	return pw, nil
}

// readPasswordFile reads a password file, dropping one trailing newline.
func readPasswordFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	if len(buf) > maxPasswordFile {
		return nil, fmt.Errorf("password file %s is larger than %d bytes", path, maxPasswordFile)
	}
	pw := bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
	if len(pw) == 0 {
		return nil, fmt.Errorf("password file %s is empty", path)
	}
	return pw, nil
}
