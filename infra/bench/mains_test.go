package main

import (
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

	"github.com/mfa-service/mfa/infra/bench/runtimeapi"
	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/app/fullstack"
	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// TestEveryFunctionAnswersItsFirstEvent runs every function's real main, built for this
// machine, as Lambda runs it: started against a local Runtime API with the environment
// template.yaml gives it, pointed at moto, it must answer its first event as make bench
// expects (no init error; an HTTP 2xx, or a trigger's answer; verify and the Cognito verify
// trigger a real sign-in, their answer correct). Nothing else in make test runs the mains:
// their wiring (app.Prepare building the handler while the runtime takes the event, the data
// key unwrapped by pkg/kmsclient) is held here. verify also starts as a provisioned
// environment does, building its handler at init.
func TestEveryFunctionAnswersItsFirstEvent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := functionsFromMakefile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	// Built as go test builds its packages (so the build cache serves both), with the
	// Lambda tag; only the link is this test's own.
	bin := t.TempDir()
	args := []string{"build", "-tags", "lambda.norpc", "-o", bin + string(filepath.Separator)}
	for _, f := range fns {
		args = append(args, "./functions/"+f.Dir)
	}
	goTool := os.Getenv("GO") // as buildHost: the Makefile's go, when it passes one
	if goTool == "" {
		goTool = "go"
	}
	build := exec.CommandContext(ctx, goTool, args...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("mains-%d", time.Now().UnixNano())
	res, err := localaws.Bootstrap(ctx, awstest.Config(t), tpl, localaws.Names{Table: name, KeyAlias: "alias/" + name, SenderEmail: "mfa@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// The first container makes the keys, as in make bench; it also makes the sign-ins the
	// verify functions answer.
	for k, v := range map[string]string{
		"TABLE_NAME": res.TableName, "KMS_KEY_ID": res.KeyArn, "EMAIL_SENDER": res.SenderEmail,
		"WEBAUTHN_RP_ID": rpID, "WEBAUTHN_ORIGINS": rpOrigin,
	} {
		t.Setenv(k, v)
	}
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := app.New(ctx, cfg, fullstack.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	quiet := httpapi.NewLogger(io.Discard, cfg.LogLevel)
	seeded.Log, seeded.API.Log, seeded.Core.Log = quiet, quiet, quiet

	home := t.TempDir()
	run := func(t *testing.T, fn function, initType string) {
		name, event, err := firstEvent(root, fn, routes)
		switch fn.Dir {
		case "verify":
			name = "a sign-in"
			event, err = verifyColdStartEvent(seeded).make()
		case "cognito-verify":
			name = "a sign-in"
			var sample []byte
			if sample, err = os.ReadFile(filepath.Join(root, "events", coldStartEvents[fn.Dir])); err == nil {
				event, err = cognitoVerifyColdStartEvent(seeded, sample).make()
			}
		}
		if err != nil {
			t.Fatalf("event %s: %v", name, err)
		}
		env := functionEnv(fn, awstest.Endpoint(), res, home)
		if initType != "" {
			env = append(env, "AWS_LAMBDA_INITIALIZATION_TYPE="+initType) // the later one wins
		}
		cs, err := runtimeapi.RunColdStart(ctx, runtimeapi.Process{Path: filepath.Join(bin, fn.Dir), Env: env}, runtimeapi.Invocation{
			Event: event, FunctionARN: "arn:aws:lambda:" + localaws.Region + ":123456789012:function:" + fn.LogicalID, Timeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		// A function behind the HTTP API answers with a status; a trigger or stream consumer
		// with its own answer.
		want := "ok"
		for _, r := range routes {
			if r.FunctionID == fn.LogicalID {
				want = "HTTP 2"
			}
		}
		if got := outcome(cs.Result); cs.Result.InitError || !strings.HasPrefix(got, want) {
			t.Fatalf("answered %q to %s, want %s…; output:\n%s", got, name, want, cs.Output)
		}
		if fn.Dir == "cognito-verify" {
			var ev struct {
				Response struct {
					AnswerCorrect bool `json:"answerCorrect"`
				} `json:"response"`
			}
			if err := json.Unmarshal(cs.Result.Payload, &ev); err != nil || !ev.Response.AnswerCorrect {
				t.Fatalf("the trigger did not take a correct answer: %s", cs.Result.Payload)
			}
		}
	}
	for _, fn := range fns {
		t.Run(fn.Dir, func(t *testing.T) { run(t, fn, "") })
		if fn.Dir == "verify" {
			t.Run(fn.Dir+" (provisioned)", func(t *testing.T) { run(t, fn, "provisioned-concurrency") })
		}
	}
}
