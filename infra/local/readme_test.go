package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The README's walkthroughs are executable documentation. Every ```sh block of README.md runs,
// in order, in one bash session (variables and functions carry from block to block) against a
// fresh local stack; `http://localhost:3000` in the text is the stack's address. A ```json
// block that follows a ```sh block (blank lines between are allowed) is that block's
// documented output, compared by shape (see matchShape). Command listings that are not meant
// to run here (deploys, the two make commands) use another fence (```console, ```text).

// docBlock is one ```sh block and the output documented under it.
type docBlock struct {
	line   int    // 1-based line of the opening fence in README.md
	script string // the block as written
	want   string // the ```json block after it, or ""
}

// readmeBlocks extracts the runnable blocks of a Markdown text.
func readmeBlocks(text string) ([]docBlock, error) {
	lines := strings.Split(text, "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		info, ok := strings.CutPrefix(lines[i], "```")
		if !ok || info == "" {
			continue
		}
		body, end, err := fenceBody(lines, i)
		if err != nil {
			return nil, err
		}
		lang := strings.Fields(info)[0]
		switch lang {
		case "sh":
			blocks = append(blocks, docBlock{line: i + 1, script: body})
		case "json":
			if prev := previousFence(lines, i); prev >= 0 && len(blocks) > 0 && blocks[len(blocks)-1].line == prev+1 {
				blocks[len(blocks)-1].want = body
			}
		}
		i = end
	}
	return blocks, nil
}

// fenceBody returns the text between the fence opening at lines[open] and its closing line.
func fenceBody(lines []string, open int) (string, int, error) {
	for j := open + 1; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) == "```" {
			return strings.Join(lines[open+1:j], "\n"), j, nil
		}
	}
	return "", 0, fmt.Errorf("README.md:%d: fence never closed", open+1)
}

// previousFence is the opening line of the fenced block that ends right before lines[at]
// with only blank lines between, or -1.
func previousFence(lines []string, at int) int {
	j := at - 1
	for j >= 0 && strings.TrimSpace(lines[j]) == "" {
		j--
	}
	if j < 0 || strings.TrimSpace(lines[j]) != "```" {
		return -1
	}
	for k := j - 1; k >= 0; k-- {
		if strings.HasPrefix(lines[k], "```") {
			if strings.TrimSpace(lines[k]) == "```" {
				return -1 // j closed nothing: it opened a block
			}
			return k
		}
	}
	return -1
}

// TestReadmeWalkthroughsRun runs every shell block of README.md against a local stack.
func TestReadmeWalkthroughsRun(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq", "oathtool", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's walkthroughs use %s, which is not on PATH (make test installs it: infra/tools.sh)", tool)
		}
	}
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 8 {
		t.Fatalf("README.md has %d runnable sh blocks; the walkthroughs have more", len(blocks))
	}
	s, _ := newEventsStack(t, nil) // as `make run`: with the security events path
	dir := t.TempDir()

	// One bash session: each block's output goes to its own files, its status to a third.
	var script strings.Builder
	script.WriteString("set -o pipefail\ncd " + shellQuote(dir) + "\n")
	for i, b := range blocks {
		body := strings.ReplaceAll(b.script, "http://localhost:3000", s.URL)
		fmt.Fprintf(&script, "{\n%s\n} >%d.out 2>%d.err\necho $? >%d.rc\n", body, i, i, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walkthrough session failed: %v\n%s", err, stderr.String())
	}
	for i, b := range blocks {
		read := func(ext string) string {
			raw, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.%s", i, ext)))
			if err != nil {
				t.Fatalf("README.md:%d: %v", b.line, err)
			}
			return string(raw)
		}
		out, errOut := read("out"), read("err")
		if rc := strings.TrimSpace(read("rc")); rc != "0" {
			t.Errorf("README.md:%d: the block exited %s\nstdout:\n%s\nstderr:\n%s", b.line, rc, out, errOut)
			continue
		}
		if b.want == "" {
			continue
		}
		if err := matchOutputs(out, b.want); err != nil {
			t.Errorf("README.md:%d: the output differs from the documented one: %v\ngot:\n%s\nstderr:\n%s", b.line, err, out, errOut)
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// matchOutputs compares a stream of JSON values with the documented stream, value by value.
func matchOutputs(got, want string) error {
	g, err := jsonStream(got)
	if err != nil {
		return fmt.Errorf("output is not JSON: %v", err)
	}
	w, err := jsonStream(want)
	if err != nil {
		return fmt.Errorf("documented output is not JSON: %v", err)
	}
	if len(g) != len(w) {
		return fmt.Errorf("%d JSON values, documented %d", len(g), len(w))
	}
	for i := range w {
		if err := matchShape(g[i], w[i], "$"); err != nil {
			return fmt.Errorf("value %d: %v", i+1, err)
		}
	}
	return nil
}

func jsonStream(s string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var vals []any
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return vals, nil
		} else if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
}

// matchShape says whether got has the documented shape want:
//   - object: every documented key is present and matches (other keys may be present too);
//   - array: [] is an empty array; [x] a non-empty array whose every element matches x;
//     [x, y, …] exactly that many elements, matched in order;
//   - string: "…" stands for any string, "abc…" for any string starting with "abc"; any other
//     string, number, boolean or null must be equal.
func matchShape(got, want any, path string) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %s, documented an object", path, brief(got))
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := matchShape(gv, wv, path+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: got %s, documented an array", path, brief(got))
		}
		switch {
		case len(w) == 0 && len(g) != 0:
			return fmt.Errorf("%s: got %d elements, documented none", path, len(g))
		case len(w) == 1 && len(g) == 0:
			return fmt.Errorf("%s: got no elements", path)
		case len(w) > 1 && len(g) != len(w):
			return fmt.Errorf("%s: got %d elements, documented %d", path, len(g), len(w))
		}
		for i, gv := range g {
			if err := matchShape(gv, w[min(i, len(w)-1)], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case string:
		g, ok := got.(string)
		if !ok {
			return fmt.Errorf("%s: got %s, documented a string", path, brief(got))
		}
		if prefix, wild := strings.CutSuffix(w, "…"); wild {
			if !strings.HasPrefix(g, prefix) {
				return fmt.Errorf("%s: got %q, documented %q", path, g, w)
			}
			return nil
		}
		if g != w {
			return fmt.Errorf("%s: got %q, documented %q", path, g, w)
		}
		return nil
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s: got %s, documented %s", path, brief(got), brief(want))
		}
		return nil
	}
}

func brief(v any) string {
	raw, _ := json.Marshal(v)
	if len(raw) > 60 {
		return string(raw[:60]) + "…"
	}
	return string(raw)
}
