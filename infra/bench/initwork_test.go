package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The parser reads the Go runtime's own inittrace format: this test binary, started again
// with GODEBUG=inittrace=1 and no test to run, prints one line per package initialiser.
func TestParseInitTraceReadsTheRuntimesFormat(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := parseInitTrace(string(out))
	if len(lines) < 10 {
		t.Fatalf("parsed %d initialisers from:\n%s", len(lines), out)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l.pkg] = true
		if l.ms < 0 || l.bytes < 0 || l.allocs < 0 {
			t.Errorf("%+v", l)
		}
	}
	for _, pkg := range []string{"runtime", "os", "testing"} {
		if !seen[pkg] {
			t.Errorf("no initialiser of %s among %d parsed", pkg, len(lines))
		}
	}
	// Every "init " line of the output was parsed.
	if n := strings.Count(string(out), "\ninit ") + btoi(strings.HasPrefix(string(out), "init ")); n != len(lines) {
		t.Errorf("%d init lines, %d parsed", n, len(lines))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSummarizeInitAddsUpAndNamesTheHeaviest(t *testing.T) {
	p := summarizeInit([]packageInitLine{
		{pkg: "github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas", ms: 3.1, bytes: 587000, allocs: 3000},
		{pkg: "runtime", ms: 1.2},
		{pkg: "github.com/mfa-service/mfa/pkg/mfa", ms: 0.4, bytes: 13000, allocs: 10},
		{pkg: "os", ms: 0.1, bytes: 1000, allocs: 1},
	}, 2)
	if p.Packages != 4 || p.Bytes != 601000 || p.Allocs != 3011 || p.Ms < 4.79 || p.Ms > 4.81 {
		t.Errorf("sum: %+v", p)
	}
	want := []string{"dynamodb/schemas 3.1 ms 587 KB", "runtime 1.2 ms 0 KB"}
	if strings.Join(p.Heaviest, "|") != strings.Join(want, "|") {
		t.Errorf("heaviest %q, want %q", p.Heaviest, want)
	}
}

// The calibration that prices the page faults measures something: a fresh page costs time.
func TestFreshPageMicrosMeasures(t *testing.T) {
	if us := freshPageMicros(); us <= 0 || us > 10_000 {
		t.Fatalf("a fresh page cost %g µs", us)
	}
}
