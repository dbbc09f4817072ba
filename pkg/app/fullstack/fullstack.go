// Package fullstack gives app.New every optional adapter, for processes that serve all the
// functions at once: the local stack and the tests. A deployed function links only the
// adapters its own main passes.
package fullstack

import (
	"github.com/mfa-service/mfa/pkg/app"
	"github.com/mfa-service/mfa/pkg/contact/phone"
	"github.com/mfa-service/mfa/pkg/notify"
	"github.com/mfa-service/mfa/pkg/passkey"
)

// Options is every optional adapter.
func Options() []app.Option {
	return []app.Option{app.WithNotifier(notify.FromAWS), app.WithPhoneParser(phone.ParseE164), app.WithPasskeys(passkey.Build)}
}
