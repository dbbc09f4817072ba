// Command testreport prints the slowest packages of a `go test -json` run (as gotestsum's
// --jsonfile writes it), so `make test` ends by saying where its time went.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// event is the part of a test2json event this report reads.
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
}

type packageTime struct {
	name    string
	seconds float64
	result  string
}

func main() {
	top := flag.Int("top", 8, "how many packages to list")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: testreport [-top N] go-test.json")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	defer f.Close()
	pkgs, err := packageTimes(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	writeSlowest(os.Stdout, pkgs, *top)
}

// packageTimes reads the package-level pass/fail events: their Elapsed is the package's
// whole test time.
func packageTimes(r io.Reader) ([]packageTime, error) {
	var pkgs []packageTime
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // build output lines interleaved by gotestsum are not events
		}
		if e.Test == "" && e.Package != "" && (e.Action == "pass" || e.Action == "fail") {
			pkgs = append(pkgs, packageTime{name: e.Package, seconds: e.Elapsed, result: e.Action})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].seconds > pkgs[j].seconds })
	return pkgs, nil
}

func writeSlowest(w io.Writer, pkgs []packageTime, top int) {
	if len(pkgs) < top {
		top = len(pkgs)
	}
	fmt.Fprintf(w, "Slowest packages (of %d):\n", len(pkgs))
	for _, p := range pkgs[:top] {
		fmt.Fprintf(w, "  %7.1fs  %-4s  %s\n", p.seconds, p.result, p.name)
	}
}
