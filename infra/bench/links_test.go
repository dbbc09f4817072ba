package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// senders are the functions that send codes or notices by email or SMS.
var senders = []string{"enrollment", "challenge", "admin", "cognito-create"}

// A function that sends nothing links neither SES, SNS nor the message catalogs: their
// package initialisers (SES v2's schemas alone allocate 580 KB) would run in every one of its
// cold starts for nothing.
func TestOnlySendersLinkTheNotifier(t *testing.T) {
	fns, err := functionsFromMakefile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	heavy := []string{
		"github.com/aws/aws-sdk-go-v2/service/sesv2",
		"github.com/aws/aws-sdk-go-v2/service/sns",
		"github.com/mfa-service/mfa/pkg/notify",
	}
	for _, f := range fns {
		cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./functions/"+f.Dir)
		cmd.Dir = repoRoot
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", f.Dir, err)
		}
		deps := strings.Fields(string(out))
		for _, pkg := range heavy {
			linked := slices.Contains(deps, pkg)
			switch {
			case linked && !slices.Contains(senders, f.Dir):
				t.Errorf("%s sends nothing but links %s", f.Dir, pkg)
			case !linked && slices.Contains(senders, f.Dir):
				t.Errorf("%s sends codes or notices but does not link %s: is the senders list out of date?", f.Dir, pkg)
			}
		}
	}
}
