package localaws

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// runMoto starts a moto for one test and stops it when the test ends.
func runMoto(t *testing.T) *Moto {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	m, err := StartMoto(ctx, "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop moto: %v", err)
		}
	})
	return m
}

// fresh avoids pooled keep-alive connections, so each probe dials anew.
var fresh = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func TestStartMotoAnswersAndStopEndsIt(t *testing.T) {
	m := runMoto(t)
	if !strings.HasPrefix(m.Endpoint(), "http://127.0.0.1:") {
		t.Fatalf("endpoint = %q, want http://127.0.0.1:PORT", m.Endpoint())
	}
	resp, err := fresh.Get(m.Endpoint() + "/moto-api/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /moto-api/ = %s", resp.Status)
	}

	if err := m.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := m.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	// Stop has reaped the process, so Wait must not block.
	waited := make(chan error, 1)
	go func() { waited <- m.Wait() }()
	select {
	case <-waited:
	case <-time.After(time.Second):
		t.Fatal("Wait blocks after Stop")
	}
	if m.cmd.ProcessState == nil {
		t.Error("process not reaped after Stop")
	}
	if _, err := fresh.Get(m.Endpoint() + "/moto-api/"); err == nil {
		t.Fatal("moto still answers after Stop")
	}
}

func TestStartMotoRefusesNonLoopbackHost(t *testing.T) {
	for _, host := range []string{"0.0.0.0", "::", "192.0.2.1", "example.com"} {
		if m, err := StartMoto(t.Context(), host, 0); err == nil {
			m.Stop()
			t.Errorf("StartMoto(%q) succeeded, want an error", host)
		}
	}
}

func TestStartMotoRefusesABusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	m, err := StartMoto(t.Context(), "127.0.0.1", port)
	if err == nil {
		m.Stop()
		t.Fatal("StartMoto on a busy port succeeded")
	}
	if !errors.Is(err, errPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error = %v, want port %d in use", err, port)
	}
}

func TestStartMotoWithoutMotoSaysRunMakeTools(t *testing.T) {
	// A python3 that cannot see site-packages stands in for one without moto installed.
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nexec '" + strings.TrimSpace(string(out)) + "' -S \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "python3"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	m, err := StartMoto(t.Context(), "127.0.0.1", 0)
	if err == nil {
		m.Stop()
		t.Fatal("StartMoto without moto succeeded")
	}
	if !strings.Contains(err.Error(), "make tools") {
		t.Errorf("error = %v, want advice to run make tools", err)
	}
}

// A developer's AWS settings must not reach moto: botocore inside it fails every request
// when AWS_PROFILE names a profile it cannot find.
func TestMotoIgnoresTheCallersAWSEnvironment(t *testing.T) {
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-3")
	m := runMoto(t)
	os.Unsetenv("AWS_PROFILE") // for our own SDK config; t.Setenv restores it afterwards
	cfg, err := AWSConfig(t.Context(), m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kms.NewFromConfig(cfg).CreateKey(t.Context(), &kms.CreateKeyInput{}); err != nil {
		t.Fatalf("moto started with AWS_PROFILE set: %v", err)
	}
}
