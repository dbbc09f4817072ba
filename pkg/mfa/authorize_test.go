package mfa

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name   string
		caller Caller
		user   string
		kind   Kind // 0 means allowed
	}{
		{"own id", Caller{Kind: CallerUser, Subject: "alice"}, "alice", 0},
		{"other user's id", Caller{Kind: CallerUser, Subject: "alice"}, "bob", KindForbidden},
		{"service acts on anyone", Caller{Kind: CallerService, Subject: "backend"}, "bob", 0},
		{"admin token is no user token for others", Caller{Kind: CallerAdmin, Subject: "root"}, "bob", KindForbidden},
		{"empty subject", Caller{Kind: CallerUser}, "", KindInvalid},
		{"separator in id", Caller{Kind: CallerService}, "a#b", KindInvalid},
		{"overlong id", Caller{Kind: CallerService}, string(make([]byte, 129)), KindInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := authorize(tc.caller, tc.user)
			var e *Error
			switch {
			case tc.kind == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.kind != 0 && (!errors.As(err, &e) || e.Kind != tc.kind):
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
		})
	}
}

func TestStepUpFreshness(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &Core{Now: func() time.Time { return now }}
	user := Caller{Kind: CallerUser, Subject: "alice"}
	withStepUp := func(sub string, age time.Duration) Caller {
		c := user
		c.StepUp = &StepUp{Subject: sub, AuthTime: now.Add(-age), TokenID: "jti", ExpiresAt: now.Add(5 * time.Minute)}
		return c
	}
	if !s.needsStepUp(user, "alice") {
		t.Error("a user token without X-MFA-Token must step up")
	}
	if s.needsStepUp(withStepUp("alice", 14*time.Minute), "alice") {
		t.Error("a 14-minute-old step-up is fresh")
	}
	if !s.needsStepUp(withStepUp("alice", 16*time.Minute), "alice") {
		t.Error("a 16-minute-old step-up is stale")
	}
	if !s.needsStepUp(withStepUp("bob", time.Minute), "alice") {
		t.Error("another user's mfaToken is no step-up")
	}
	noJTI := withStepUp("alice", time.Minute)
	noJTI.StepUp.TokenID = ""
	if !s.needsStepUp(noJTI, "alice") {
		t.Error("a step-up without a jti cannot be consumed, so it authorizes nothing")
	}
	if s.needsStepUp(Caller{Kind: CallerService}, "alice") {
		t.Error("a service token needs no step-up")
	}
}

func TestCleanLabel(t *testing.T) {
	if l, err := cleanLabel("  Work phone ", "x"); err != nil || l != "Work phone" {
		t.Errorf("got %q %v", l, err)
	}
	if l, _ := cleanLabel("", "Authenticator app"); l != "Authenticator app" {
		t.Errorf("default label %q", l)
	}
	for _, bad := range []string{"a\nb", strings.Repeat("a", 65), "tab\there", "evil\u202Egnp.exe", "zero\u200Bwidth"} {
		if _, err := cleanLabel(bad, "x"); err == nil {
			t.Errorf("label %q accepted", bad)
		}
	}
}
