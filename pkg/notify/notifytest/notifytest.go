// Package notifytest reads what the service sent through a moto server, the way a user reads
// their mail and texts, so that handler tests take codes from the message rather than from
// the service's internals.
package notifytest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/contact"
	"github.com/mfa-service/mfa/pkg/contact/phone"
	"github.com/mfa-service/mfa/pkg/localaws"
)

// code is a one-time code as a reader spots it: six digits standing alone.
var code = regexp.MustCompile(`\b[0-9]{6}\b`)

// LastCode returns the code in the newest message to destination (an email address or a
// phone number, in any spelling ParseEmail or ParsePhone accepts) that carries one; security
// notices and other messages without a code are passed over. It fails the test if there is
// none.
func LastCode(t testing.TB, endpoint, destination string) string {
	t.Helper()
	msgs := Messages(t, endpoint, destination)
	for i := len(msgs) - 1; i >= 0; i-- {
		if c := code.FindString(msgs[i].Body); c != "" {
			return c
		}
	}
	t.Fatalf("notifytest: no code among the %d messages sent to %s", len(msgs), destination)
	return ""
}

// Messages returns every message sent to destination, oldest first.
func Messages(t testing.TB, endpoint, destination string) []localaws.SentMessage {
	t.Helper()
	// data.json grows with everything moto ever stored; give an old moto time to answer.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	all, err := localaws.Outbox(ctx, endpoint)
	if err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	want := canonical(destination)
	var out []localaws.SentMessage
	for _, m := range all {
		if canonical(m.Destination) == want {
			out = append(out, m)
		}
	}
	return out
}

// canonical maps the spellings of one destination to one string: "Ann@Bücher.de" and
// "ann@xn--bcher-kva.de" are the same mailbox, "+44 20 7946 0958" and "+442079460958" the
// same phone.
func canonical(dest string) string {
	if e, err := contact.ParseEmail(dest); err == nil {
		return e.Normalized
	}
	if p, err := phone.Parse(dest); err == nil {
		return p.E164
	}
	return strings.ToLower(strings.TrimSpace(dest))
}
