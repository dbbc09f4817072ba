package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/eventsclient"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/eventpublisher"
	"github.com/mfa-service/mfa/pkg/httpapi"
	"github.com/mfa-service/mfa/pkg/localaws"
	"github.com/mfa-service/mfa/pkg/securityevents"
	"github.com/mfa-service/mfa/pkg/securityevents/schematest"
)

// newEventsStack is newStack with the security events path on (as `make run` has it).
func newEventsStack(t *testing.T, wrap func(eventpublisher.EventBridge) eventpublisher.EventBridge) (*stack, string) {
	t.Helper()
	n := stackSeq.Add(1)
	bus := fmt.Sprintf("local-e2e-events-%d", n)
	s, err := startStack(context.Background(), stackOptions{
		MotoEndpoint: awstest.Endpoint(),
		Names: localaws.Names{Table: fmt.Sprintf("local-e2e-%d", n), KeyAlias: fmt.Sprintf("alias/local-e2e-%d", n),
			SenderEmail: "mfa@example.com", EventBus: bus},
		Log:             httpapi.NewLogger(io.Discard, 0),
		WrapEventBridge: wrap,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s, bus
}

// subscribe is what an app does: a rule on the service's bus that sends its events to a queue.
func subscribe(t *testing.T, bus, name string) *localaws.EventTap {
	t.Helper()
	tap, err := localaws.NewEventTap(t.Context(), awstest.Config(t), bus, name, `{"source":["mfa-service"]}`)
	if err != nil {
		t.Fatal(err)
	}
	return tap
}

// eventsOf waits for n events of user and returns all of that user's events, checking each
// against the schema.
func eventsOf(t *testing.T, tap *localaws.EventTap, user string, n int) ([]localaws.PublishedEvent, []securityevents.Detail) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, err := tap.Drain(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var evs []localaws.PublishedEvent
		var details []securityevents.Detail
		for _, ev := range all {
			var d securityevents.Detail
			if err := json.Unmarshal(ev.Detail, &d); err != nil {
				t.Fatalf("detail %s: %v", ev.Detail, err)
			}
			if d.UserID != user {
				continue
			}
			if err := schematest.Check(ev.Source, ev.DetailType, ev.Detail); err != nil {
				t.Error(err)
			}
			evs, details = append(evs, ev), append(details, d)
		}
		if len(evs) >= n {
			time.Sleep(300 * time.Millisecond) // anything beyond n would show now
			if more, _ := tap.Drain(t.Context()); len(more) > len(all) {
				continue
			}
			consumerOrder(evs, details)
			return evs, details
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events of %s arrived: %v", len(evs), n, user, detailTypes(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// consumerOrder puts events in the order the README tells apps to use: EventBridge and the
// table's stream keep no order across items (a failure's audit event reaches the publisher
// through the audit writer, after the write of the counters that locked the user), so apps
// order by occurredAt, and a User Locked after the failure of the same instant that caused it.
func consumerOrder(evs []localaws.PublishedEvent, details []securityevents.Detail) {
	idx := make([]int, len(evs))
	for i := range idx {
		idx[i] = i
	}
	derived := func(i int) bool { return details[i].Action == securityevents.ActionUserLocked }
	sort.SliceStable(idx, func(a, b int) bool {
		da, db := details[idx[a]], details[idx[b]]
		if da.OccurredAt != db.OccurredAt {
			return da.OccurredAt < db.OccurredAt
		}
		return !derived(idx[a]) && derived(idx[b])
	})
	sortedEvs := make([]localaws.PublishedEvent, len(evs))
	sortedDetails := make([]securityevents.Detail, len(details))
	for to, from := range idx {
		sortedEvs[to], sortedDetails[to] = evs[from], details[from]
	}
	copy(evs, sortedEvs)
	copy(details, sortedDetails)
}

func detailTypes(evs []localaws.PublishedEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.DetailType)
	}
	return out
}

// TestSecurityEventsJourney: enroll, verify, fail until locked, admin unlock, reset. The app's
// queue receives exactly these events of the user, in this order, each valid against the
// schema, and none carries a code, secret or token.
func TestSecurityEventsJourney(t *testing.T) {
	s, bus := newEventsStack(t, nil)
	app := subscribe(t, bus, "journey-app")
	const user = "journey-user"
	u := s.client(t, user)
	admin := s.client(t, "support-1", "mfa/admin")
	var secrets []string // everything that must never appear in an event

	status, enr, _ := u.call("POST", "/v1/users/me/enrollments", map[string]any{"type": "totp", "label": "Phone"})
	if status != 201 {
		t.Fatalf("enroll: %d %v", status, enr)
	}
	b32 := enr["totp"].(map[string]any)["secret"].(string)
	secret := decodeB32(t, b32)
	enrollCode := code(secret, time.Now(), -1)
	status, done, _ := u.call("POST", "/v1/users/me/enrollments/"+enr["enrollmentId"].(string)+"/complete", map[string]any{"code": enrollCode})
	if status != 200 {
		t.Fatalf("complete: %d %v", status, done)
	}
	factorID := done["factor"].(map[string]any)["id"].(string)
	secrets = append(secrets, b32, enr["totp"].(map[string]any)["otpauthUri"].(string), enrollCode)
	for _, c := range done["backupCodes"].([]any) {
		secrets = append(secrets, c.(string), strings.ReplaceAll(c.(string), "-", ""))
	}

	_, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{"purpose": "sign_in"})
	good := code(secret, time.Now(), 0)
	status, ver, _ := u.call("POST", "/v1/users/me/challenges/"+ch["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "factorId": factorID, "code": good})
	if status != 200 {
		t.Fatalf("verify: %d %v", status, ver)
	}
	secrets = append(secrets, good, ver["mfaToken"].(string), u.token)

	_, ch2, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{"purpose": "sign_in"})
	wrong := code(secret, time.Now(), 40) // a code of another time: wrong now
	for i := range 5 {
		if status, out, _ := u.call("POST", "/v1/users/me/challenges/"+ch2["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "factorId": factorID, "code": wrong}); status != 401 {
			t.Fatalf("wrong answer %d: %d %v", i+1, status, out)
		}
	}
	_, ch3, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{"purpose": "sign_in"})
	if status, out, _ := u.call("POST", "/v1/users/me/challenges/"+ch3["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "factorId": factorID, "code": code(secret, time.Now(), 1)}); status != 429 {
		t.Fatalf("locked user answered: %d %v", status, out)
	}
	if status, out, _ := admin.call("POST", "/v1/admin/users/"+user+"/unlock", nil); status != 204 {
		t.Fatalf("unlock: %d %v", status, out)
	}
	if status, out, _ := admin.call("DELETE", "/v1/admin/users/"+user+"/factors", nil); status != 204 {
		t.Fatalf("reset: %d %v", status, out)
	}
	secrets = append(secrets, admin.token)

	// Opening a challenge stores nothing for a user the service knows (the id carries the
	// challenge), so it is no event: the answers are. The success is a routine event, not
	// published by default (RoutineSecurityEvents off, as the local stack runs the template).
	want := []string{
		"Enrollment Started", "Factor Bound",
		"Verification Failed", "Verification Failed", "Verification Failed", "Verification Failed", "Verification Failed", "User Locked",
		"Verification Refused", // answered during the lock: refused unchecked, not counted
		"User Unlocked", "User Reset",
	}
	evs, details := eventsOf(t, app, user, len(want))
	if got := detailTypes(evs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events of %s:\n got %q\nwant %q", user, got, want)
	}
	ids := map[string]bool{}
	for i, d := range details {
		if ids[d.EventID] {
			t.Errorf("event id %s twice", d.EventID)
		}
		ids[d.EventID] = true
		if i > 0 && d.OccurredAt < details[i-1].OccurredAt {
			t.Errorf("event %d (%s) occurred before event %d", i, want[i], i-1)
		}
	}
	if f := details[1].Factor; f == nil || f.ID != factorID || f.Type != "totp" || details[1].Actor != (securityevents.Actor{Type: "user", ID: user}) {
		t.Errorf("Factor Bound: %+v", details[1])
	}
	if l := details[7].Lock; l == nil || l.Permanent || l.ConsecutiveFailures != 5 || l.Until == "" {
		t.Errorf("User Locked: %+v", details[7])
	}
	if d := details[8]; d.Outcome != "refused" || d.Reason != "locked" {
		t.Errorf("answer during the lock: %+v", d)
	}
	if d := details[9]; d.Actor != (securityevents.Actor{Type: "admin", ID: "support-1"}) {
		t.Errorf("User Unlocked: %+v", d)
	}
	for _, ev := range evs {
		raw, _ := json.Marshal(ev)
		for _, s := range secrets {
			if s != "" && strings.Contains(string(raw), s) {
				t.Errorf("%s carries a secret (%.8s…): %s", ev.DetailType, s, raw)
			}
		}
	}

	// A policy change is an event without a user, naming the policy's scope.
	if status, out, _ := admin.call("PUT", "/v1/admin/policy", map[string]any{"mode": "optional"}); status != 200 {
		t.Fatalf("put policy: %d %v", status, out)
	}
	pol, polDetails := eventsOf(t, app, "", 1)
	if len(pol) != 1 || pol[0].DetailType != "Policy Changed" || polDetails[0].Policy == nil || polDetails[0].Policy.Scope != "global" {
		t.Errorf("policy events: %v %+v", detailTypes(pol), polDetails)
	}

	// GET /local/events shows the same events, one user's on request.
	resp, err := http.Get(s.URL + "/local/events?userId=" + user)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var local struct {
		Events []localaws.PublishedEvent `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&local); err != nil {
		t.Fatal(err)
	}
	localDetails := make([]securityevents.Detail, len(local.Events))
	for i, ev := range local.Events {
		if err := json.Unmarshal(ev.Detail, &localDetails[i]); err != nil {
			t.Fatal(err)
		}
	}
	consumerOrder(local.Events, localDetails)
	if got := detailTypes(local.Events); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GET /local/events:\n got %q\nwant %q", got, want)
	}
}

// failOnce makes one PutEvents call fail as a whole (the first) or refuse every entry of it.
type failOnce struct {
	eventpublisher.EventBridge
	mu     sync.Mutex
	calls  int
	refuse bool
}

func (f *failOnce) PutEvents(ctx context.Context, in *eventsclient.PutEventsInput) (*eventsclient.PutEventsOutput, error) {
	f.mu.Lock()
	f.calls++
	first := f.calls == 1
	f.mu.Unlock()
	if first && !f.refuse {
		return nil, fmt.Errorf("injected fault: EventBridge unavailable")
	}
	if first && f.refuse {
		out := &eventsclient.PutEventsOutput{FailedEntryCount: int32(len(in.Entries))}
		for range in.Entries {
			out.Entries = append(out.Entries, eventsclient.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("injected fault")})
		}
		return out, nil
	}
	return f.EventBridge.PutEvents(ctx, in)
}

// A fault of the publisher's first PutEvents (the call fails, or EventBridge refuses its
// entries) is retried: every event reaches the app's queue exactly once, in order.
func TestSecurityEventsSurviveAPublisherFault(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "call fails", true: "entries refused"}[refuse], func(t *testing.T) {
			fault := &failOnce{refuse: refuse}
			s, bus := newEventsStack(t, func(eb eventpublisher.EventBridge) eventpublisher.EventBridge {
				fault.EventBridge = eb
				return fault
			})
			app := subscribe(t, bus, "fault-app")
			user := "fault-user"
			u := s.client(t, user)
			_, enr, _ := u.call("POST", "/v1/users/me/enrollments", map[string]any{"type": "totp"})
			secret := decodeB32(t, enr["totp"].(map[string]any)["secret"].(string))
			if status, out, _ := u.call("POST", "/v1/users/me/enrollments/"+enr["enrollmentId"].(string)+"/complete", map[string]any{"code": code(secret, time.Now(), -1)}); status != 200 {
				t.Fatalf("complete: %d %v", status, out)
			}
			_, ch, _ := u.call("POST", "/v1/users/me/challenges", map[string]any{})
			if status, out, _ := u.call("POST", "/v1/users/me/challenges/"+ch["challengeId"].(string)+"/verifications", map[string]any{"type": "totp", "code": code(secret, time.Now(), 5)}); status != 401 {
				t.Fatalf("wrong code: %d %v", status, out)
			}
			want := []string{"Enrollment Started", "Factor Bound", "Verification Failed"}
			evs, _ := eventsOf(t, app, user, len(want))
			if got := detailTypes(evs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("events:\n got %q\nwant %q", got, want)
			}
			fault.mu.Lock()
			defer fault.mu.Unlock()
			if fault.calls < 2 {
				t.Errorf("%d PutEvents calls: the fault was never hit", fault.calls)
			}
		})
	}
}
