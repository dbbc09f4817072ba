// Package fullstack gives app.New every adapter, for processes that serve all the functions
// at once: the local stack, the tests and the bench. A deployed function builds only the
// adapters its own main uses.
package fullstack

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/contact/phone"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/passkey"
	"github.com/mfa-service/mfa/pkg/webui"
)

// Options is every adapter, the notifier configured from the environment (EMAIL_SENDER,
// PRODUCT_NAME, SMS_SENDER_ID, WEBOTP_DOMAIN, …) as in the functions that send.
func Options() []app.Option {
	return []app.Option{app.WithAWSConfig(defaultChain), WithNotify(notify.ConfigFromEnv(os.Getenv)), app.WithPhoneParser(phone.ParseE164), app.WithPasskeys(passkey.Build)}
}

// WithNotify sends codes and notices through SES and SNS with cfg (after Options, it replaces
// the notifier configured from the environment).
func WithNotify(cfg notify.Config) app.Option {
	return app.WithNotifier(func(c aws.Config) (mfa.Notifier, error) { return notify.Domain(c, cfg) })
}

// defaultChain is the SDK's full chain (environment, profiles, shared files, SSO, IMDS).
func defaultChain(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}

// UI is the handler of the reference web pages (pkg/webui) for a process that serves every
// function, configured from the environment like the UI function: UI_RETURN_ORIGINS (default
// WEBAUTHN_ORIGINS), UI_FRAME_ANCESTORS and PRODUCT_NAME. A bad setting is logged and the
// pages then hand nothing back to any app (they fail closed).
func UI(log *slog.Logger) httpapi.Handler {
	cfg, err := webui.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("ui config", slog.String("error", err.Error()))
		cfg = webui.Config{}
	}
	cfg.Log = log
	ui, err := webui.New(cfg)
	if err != nil {
		panic(err) // the embedded pages are broken: a build defect that pkg/webui's tests catch
	}
	return httpapi.Handler(ui.Handle)
}
