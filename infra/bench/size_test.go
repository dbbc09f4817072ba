package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFunctionBinariesWithinBudget builds every function of the Makefile's FUNCTIONS as
// `make build` does (linux/arm64, lambda.norpc, -trimpath, -s -w; the same flags, so the
// build shares Go's cache with `make build`) and fails when one is over its size budget
// (DESIGN §8: 15 MB, jwks and ui 8 MB). A size test, not a timing.
func TestFunctionBinariesWithinBudget(t *testing.T) {
	fns, err := functionsFromMakefile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out + string(filepath.Separator)}
	for _, f := range fns {
		args = append(args, "./functions/"+f.Dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	for _, f := range fns {
		fi, err := os.Stat(filepath.Join(out, f.Dir))
		if err != nil {
			t.Fatal(err)
		}
		mb, budget := float64(fi.Size())/1e6, sizeBudgetMB(f.Dir)
		t.Logf("%-15s %6.2f MB (budget %g MB)", f.Dir, mb, budget)
		if mb > budget {
			t.Errorf("%s is %.2f MB, over its %g MB budget: see what it links with `go version -m` and `go tool nm -size -sort size` on a build without -s -w", f.Dir, mb, budget)
		}
	}
}
