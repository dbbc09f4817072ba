package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mfa-service/mfa/infra/bench/runtimeapi"
)

// PackageInit is what a function's binary does before main: the initialisers of its
// packages (package-level variables and init functions), from one extra, unmeasured cold
// start with GODEBUG=inittrace=1. Work here is paid by every cold start whether the function
// uses the package or not, so it belongs to the init-work report.
type PackageInit struct {
	Packages int     `json:"packages"`
	Ms       float64 `json:"ms"`    // sum of the initialisers' wall clock
	Bytes    int64   `json:"bytes"` // heap they allocated
	Allocs   int64   `json:"allocs"`
	// Heaviest are the costliest initialisers, e.g. "dynamodb/schemas 3.1 ms 587 KB".
	Heaviest []string `json:"heaviest"`
}

type packageInitLine struct {
	pkg    string
	ms     float64
	bytes  int64
	allocs int64
}

// parseInitTrace reads the runtime's inittrace lines ("init <package> @<t> ms, <c> ms clock,
// <b> bytes, <a> allocs") out of a process's output.
func parseInitTrace(output string) []packageInitLine {
	var out []packageInitLine
	s := bufio.NewScanner(strings.NewReader(output))
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		f := strings.Fields(s.Text())
		// init pkg @0.32 ms, 1.2 ms clock, 0 bytes, 0 allocs
		if len(f) != 11 || f[0] != "init" || f[6] != "clock," || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		b, err2 := strconv.ParseInt(f[7], 10, 64)
		a, err3 := strconv.ParseInt(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, packageInitLine{pkg: f[1], ms: ms, bytes: b, allocs: a})
	}
	return out
}

// summarizeInit adds the initialisers up and names the heaviest n.
func summarizeInit(lines []packageInitLine, n int) PackageInit {
	p := PackageInit{Packages: len(lines), Heaviest: []string{}}
	for _, l := range lines {
		p.Ms += l.ms
		p.Bytes += l.bytes
		p.Allocs += l.allocs
	}
	sorted := append([]packageInitLine(nil), lines...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ms > sorted[j].ms })
	for i := 0; i < len(sorted) && i < n; i++ {
		l := sorted[i]
		p.Heaviest = append(p.Heaviest, fmt.Sprintf("%s %.1f ms %d KB", shortPackage(l.pkg), l.ms, l.bytes/1000))
	}
	return p
}

// shortPackage keeps the last two elements of an import path: "dynamodb/schemas".
func shortPackage(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "/")
}

// tracePackageInit cold-starts the function once more with GODEBUG=inittrace=1 (not timed:
// tracing slows the start) and summarises its package initialisers.
func tracePackageInit(ctx context.Context, p runtimeapi.Process, inv runtimeapi.Invocation) (PackageInit, error) {
	p.Env = append(append([]string{}, p.Env...), "GODEBUG=inittrace=1")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cs, err := runtimeapi.RunColdStart(ctx, p, inv)
	if err != nil {
		return PackageInit{}, err
	}
	lines := parseInitTrace(cs.Output)
	if len(lines) == 0 {
		return PackageInit{}, fmt.Errorf("no inittrace lines in the output of %s", p.Path)
	}
	return summarizeInit(lines, 3), nil
}

// renderInitWork prints, per function, what a cold start builds before its first request and
// what its first request builds lazily.
func renderInitWork(w io.Writer, cs []ColdStartResult) {
	fmt.Fprintln(w, "\nInit work per function. Built once per container: the package initialisers (before main: package-level")
	fmt.Fprintln(w, "variables and init functions, GODEBUG=inittrace=1, summed wall clock and heap), then the AWS calls of main")
	fmt.Fprintln(w, "(the unwrapped data key, the signing keys, a policy read): before the first poll for an event, or after it for")
	fmt.Fprintln(w, "a function that builds its handler while the runtime takes the first event (app.Prepare). Built lazily: the AWS")
	fmt.Fprintln(w, "calls of the first request itself (per-container caches such as the key set fill there). Page faults: the median")
	fmt.Fprintln(w, "cold start's minor faults, start to first response: the pages it touched (heap first), which the load does not change.")
	tw := table(w)
	fmt.Fprintln(tw, "function\tpackage init\theaviest initialisers\tpage faults\tAWS calls before the first poll\tafter it")
	for _, c := range cs {
		if c.Error != "" {
			continue
		}
		pkgs, heaviest := "not traced: "+firstLine(c.PackageInitError), ""
		if p := c.PackageInit; p != nil {
			pkgs = fmt.Sprintf("%d pkgs, %.1f ms, %d KB", p.Packages, p.Ms, p.Bytes/1000)
			heaviest = strings.Join(p.Heaviest, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", c.Function, pkgs, heaviest, c.PageFaults, callList(c.InitWork), callList(c.RequestWork))
	}
	tw.Flush()
	var costs []float64
	for _, c := range cs {
		if c.FreshPageMicros > 0 {
			costs = append(costs, c.FreshPageMicros)
		}
	}
	if len(costs) > 0 {
		fmt.Fprintf(w, "A fresh page cost %.1f–%.1f µs on this machine during these runs (mmap and first touch, before each function's runs).\n", minOf(costs), maxOf(costs))
	}
	renderComparison(w, cs)
}
