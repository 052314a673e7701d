// Command roam is IAM Roles Anywhere you can run yourself: a private CA, an
// exchange server, a credential helper and an mTLS + SigV4 gateway in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/roam-project/roam/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
