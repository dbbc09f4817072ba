package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// function is one entry of the Makefile's FUNCTIONS list.
type function struct {
	LogicalID string `json:"logicalId"`
	Dir       string `json:"dir"` // under functions/
}

// parseFunctions reads "LogicalId:dir LogicalId:dir …", the value of FUNCTIONS.
func parseFunctions(s string) ([]function, error) {
	var out []function
	for _, f := range strings.Fields(s) {
		id, dir, ok := strings.Cut(f, ":")
		if !ok || id == "" || dir == "" || strings.Contains(dir, ":") {
			return nil, fmt.Errorf("FUNCTIONS entry %q is not LogicalId:directory", f)
		}
		out = append(out, function{LogicalID: id, Dir: dir})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("FUNCTIONS is empty")
	}
	return out, nil
}

// functionsFromMakefile reads the FUNCTIONS variable of a Makefile: "FUNCTIONS := \" and the
// backslash-continued lines after it.
func functionsFromMakefile(path string) ([]function, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		value   strings.Builder
		inside  bool
		scanner = bufio.NewScanner(f)
	)
	for scanner.Scan() {
		line := scanner.Text()
		if !inside {
			name, rest, ok := strings.Cut(line, "=")
			name = strings.TrimRight(strings.TrimSpace(name), ":+?")
			if !ok || strings.TrimSpace(name) != "FUNCTIONS" {
				continue
			}
			inside, line = true, rest
		}
		cont := strings.HasSuffix(strings.TrimRight(line, " \t"), "\\")
		line = strings.TrimSuffix(strings.TrimRight(line, " \t"), "\\")
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		value.WriteString(" " + line)
		if !cont {
			break
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if !inside {
		return nil, fmt.Errorf("%s: no FUNCTIONS variable", path)
	}
	return parseFunctions(value.String())
}

// sizeBudgetMB is a function's binary size budget (DESIGN §8), 1 MB = 1,000,000 bytes: 8 MB
// for the functions that serve public documents (jwks, ui), 15 MB for the others.
func sizeBudgetMB(dir string) float64 {
	switch dir {
	case "jwks", "ui":
		return 8
	}
	return 15
}

// SizeResult is one function's deployed binary.
type SizeResult struct {
	Function  string  `json:"function"`
	LogicalID string  `json:"logicalId"`
	Path      string  `json:"path"`
	Bytes     int64   `json:"bytes"`
	MB        float64 `json:"mb"` // 1 MB = 1,000,000 bytes
	BudgetMB  float64 `json:"budgetMb"`
}

// makeBuild runs `make build`: the arm64 binaries exactly as `make build` and `sam build`
// make them.
func makeBuild(ctx context.Context, root string) error {
	mk := os.Getenv("MAKE")
	if mk == "" {
		mk = "make"
	}
	cmd := exec.CommandContext(ctx, mk, "--no-print-directory", "build")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make build: %w", err)
	}
	return nil
}

// binarySizes measures build/<dir>/bootstrap of every function, as `make build` left them.
func binarySizes(root string, fns []function) ([]SizeResult, error) {
	var out []SizeResult
	for _, f := range fns {
		p := filepath.Join("build", f.Dir, "bootstrap")
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			return nil, fmt.Errorf("%s: %w (run `make build`; `make bench` does)", p, err)
		}
		out = append(out, SizeResult{Function: f.Dir, LogicalID: f.LogicalID, Path: p, Bytes: fi.Size(), MB: float64(fi.Size()) / 1e6, BudgetMB: sizeBudgetMB(f.Dir)})
	}
	return out, nil
}

// buildHost builds every function for this machine with the flags of `make build`
// (lambda.norpc, -trimpath, -s -w, no cgo), into dir/<function>; the cold starts run these.
func buildHost(ctx context.Context, root, dir string, fns []function) (map[string]string, error) {
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		return nil, err
	}
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, f := range fns {
		args = append(args, "./functions/"+f.Dir)
	}
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	out := map[string]string{}
	for _, f := range fns {
		out[f.Dir] = filepath.Join(root, dir, f.Dir)
	}
	return out, nil
}
