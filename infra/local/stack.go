package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/app/fullstack"
	"github.com/mfa-service/mfa/pkg/eventpublisher"
	"github.com/mfa-service/mfa/pkg/localapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/samtemplate"
)

// stackOptions says where the local stack listens and which moto it uses.
type stackOptions struct {
	MotoEndpoint string // use this moto; empty starts one on MotoPort
	MotoPort     int
	Port         int // gateway port on 127.0.0.1; 0 picks a free one
	Names        localaws.Names
	Log          *slog.Logger
	// Deadlines gives handlers Lambda's deadline (the template's function Timeout). The test
	// stacks leave it off: moto under the attack suite's floods is far slower than DynamoDB.
	Deadlines bool
	// With Names.EventBus set the security events path runs too; WrapEventBridge, when set,
	// wraps its publisher's EventBridge client (tests inject faults).
	WrapEventBridge func(eventpublisher.EventBridge) eventpublisher.EventBridge
}

// stack is a running local stack: moto (if we started it), the service and the gateway.
type stack struct {
	URL      string
	Issuer   string
	Audience string
	App      *app.App
	Gateway  *localapi.Gateway
	moto     *localaws.Moto
	events   *securityEvents // nil when the events path is off
	audit    *streamRunner   // the audit writer's stream mapping
	server   *http.Server
	done     chan error
}

const localAudience = "mfa-local"

// startStack brings everything up. The process environment is pointed at moto through the
// SDK's standard variables, so the handlers run exactly the code paths they run in Lambda.
func startStack(ctx context.Context, o stackOptions) (*stack, error) {
	s := &stack{done: make(chan error, 1), Audience: localAudience}
	endpoint := o.MotoEndpoint
	if endpoint == "" {
		m, err := localaws.StartMoto(ctx, "127.0.0.1", o.MotoPort)
		if err != nil {
			return nil, fmt.Errorf("start moto on 127.0.0.1:%d: %w", o.MotoPort, err)
		}
		s.moto, endpoint = m, m.Endpoint()
	}
	fail := func(err error) (*stack, error) {
		s.stop()
		return nil, err
	}
	tpl, err := samtemplate.LoadNearest()
	if err != nil {
		return fail(err)
	}
	awsCfg, err := localaws.AWSConfig(ctx, endpoint)
	if err != nil {
		return fail(err)
	}
	res, err := localaws.Bootstrap(ctx, awsCfg, tpl, o.Names)
	if err != nil {
		return fail(fmt.Errorf("bootstrap local resources: %w", err))
	}

	var published func(context.Context) ([]localapi.Event, error)
	if s.audit, err = startAuditWriter(awsCfg, tpl, res, o); err != nil {
		return fail(fmt.Errorf("audit writer: %w", err))
	}
	if res.EventBus != "" {
		if s.events, err = startSecurityEvents(ctx, awsCfg, tpl, res, o); err != nil {
			return fail(fmt.Errorf("security events: %w", err))
		}
		published = s.events.published
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)))
	if err != nil {
		return fail(fmt.Errorf("listen on 127.0.0.1:%d: %w", o.Port, err))
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s.URL = fmt.Sprintf("http://localhost:%d", port)
	s.Issuer = s.URL + "/local"

	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "TABLE_NAME": res.TableName, "KMS_KEY_ID": res.KeyArn,
		"EMAIL_SENDER": res.SenderEmail,
		// Passkeys locally: the RP is localhost and the only origin the gateway's own.
		"WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_ORIGINS": s.URL,
	} {
		os.Setenv(k, v)
	}
	os.Unsetenv("AWS_PROFILE")
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		ln.Close()
		return fail(err)
	}
	if s.App, err = app.New(ctx, cfg, fullstack.Options()...); err != nil {
		ln.Close()
		return fail(err)
	}

	routes, err := tpl.Routes()
	if err != nil {
		ln.Close()
		return fail(err)
	}
	handlers := map[string]localapi.Handler{}
	for id, h := range s.App.API.Handlers() {
		handlers[id] = localapi.Handler(h)
	}
	handlers["UiFunction"] = localapi.Handler(fullstack.UI(s.App.Log))
	s.Gateway, err = localapi.New(localapi.Options{
		Routes: routes, Handlers: handlers, Issuer: s.Issuer, Audience: localAudience, Logger: o.Log,
		FunctionDeadlines: o.Deadlines,
		Outbox: func(ctx context.Context) ([]localapi.Message, error) {
			sent, err := localaws.Outbox(ctx, endpoint)
			if err != nil {
				return nil, err
			}
			out := make([]localapi.Message, 0, len(sent))
			for _, m := range sent {
				out = append(out, localapi.Message{Channel: m.Channel, Destination: m.Destination, Subject: m.Subject, Body: m.Body, SentAt: m.SentAt})
			}
			return out, nil
		},
		Events: published,
	})
	if err != nil {
		ln.Close()
		return fail(err)
	}
	s.server = &http.Server{Handler: withPages(s.Gateway), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := s.server.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// stop shuts the gateway down and stops moto if this stack started it.
func (s *stack) stop() {
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.server.Shutdown(ctx)
		cancel()
	}
	if s.events != nil {
		s.events.stop()
	}
	if s.audit != nil {
		s.audit.stop()
	}
	if s.moto != nil {
		_ = s.moto.Stop()
	}
}
