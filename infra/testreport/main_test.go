package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSlowestPackagesFirst(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"a","Test":"TestX"}`,
		`{"Action":"pass","Package":"a","Test":"TestX","Elapsed":9.5}`,
		`{"Action":"pass","Package":"a","Elapsed":1.2}`,
		`not json: a build line`,
		`{"Action":"fail","Package":"b","Elapsed":30.25}`,
		`{"Action":"skip","Package":"c","Elapsed":0}`,
		`{"Action":"pass","Package":"d","Elapsed":4}`,
	}, "\n")
	pkgs, err := packageTimes(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeSlowest(&out, pkgs, 2)
	want := "Slowest packages (of 3):\n     30.2s  fail  b\n      4.0s  pass  d\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
