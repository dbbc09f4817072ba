package securityevents_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/mfa"
	"github.com/mfa-service/mfa/pkg/securityevents"
	"github.com/mfa-service/mfa/pkg/securityevents/schematest"
)

// auditActions reads every Action* string constant of pkg/mfa from its source, so that an
// action added there without a catalog entry fails here rather than in production.
func auditActions(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../mfa/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no pkg/mfa sources: %v", err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Action") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					out[name.Name] = v
				}
			}
			return true
		})
	}
	if len(out) < 10 {
		t.Fatalf("found only %d audit actions in pkg/mfa: %v", len(out), out)
	}
	return out
}

func TestCatalogCoversEveryAuditAction(t *testing.T) {
	for name, action := range auditActions(t) {
		if dt, ok := securityevents.DetailType(action); !ok {
			t.Errorf("mfa.%s = %q has no detail-type in securityevents.Catalog", name, action)
		} else if dt == securityevents.DetailTypeUnknown {
			t.Errorf("mfa.%s maps to the catch-all detail-type", name)
		}
	}
	seenAction, seenType := map[string]bool{}, map[string]bool{}
	titleCase := regexp.MustCompile(`^[A-Z][a-z]+( [A-Z][a-z]+)+$`)
	for _, k := range securityevents.Catalog {
		if seenAction[k.Action] || seenType[k.DetailType] {
			t.Errorf("catalog repeats %q / %q", k.Action, k.DetailType)
		}
		seenAction[k.Action], seenType[k.DetailType] = true, true
		if !titleCase.MatchString(k.DetailType) {
			t.Errorf("detail-type %q is not in Title Case words", k.DetailType)
		}
	}
	for _, must := range []string{"Factor Bound", "Factor Removed", "Verification Succeeded", "Verification Failed", "User Locked", "User Unlocked", "User Reset", "Device Trusted", "Device Revoked", "Policy Changed", "Backup Codes Regenerated"} {
		if !seenType[must] {
			t.Errorf("catalog lacks %q", must)
		}
	}
}

const (
	fid = "abcdefghijklmnopqrstuvwxyz"
	cid = "zyxwvutsrqponmlkjihgfedcba"
	did = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
)

var at = time.Date(2026, 12, 6, 20, 0, 0, 123e6, time.UTC)

// sample is an audit event of each action, with the fields pkg/mfa sets for it.
func sample(action string) mfa.AuditEvent {
	ev := mfa.AuditEvent{UserID: "alice", Action: action, Actor: "user:alice", Outcome: "ok", IP: "203.0.113.9", UserAgent: "Mozilla/5.0", At: at}
	switch action {
	case mfa.ActionEnrollmentStarted, mfa.ActionFactorActivated, mfa.ActionFactorRemoved:
		ev.FactorID, ev.FactorType = fid, mfa.TypeTOTP
	case mfa.ActionFactorRenamed:
		ev.FactorID = fid
	case mfa.ActionBackupCodesRenewed:
		ev.FactorID, ev.FactorType = fid, mfa.TypeBackupCodes
	case mfa.ActionChallengeOpened:
		ev.ChallengeID, ev.Reason = cid, "risk:new_device,new_ip"
	case mfa.ActionCodeSent, mfa.ActionVerificationSuccess:
		ev.FactorID, ev.FactorType, ev.ChallengeID = fid, mfa.TypeEmail, cid
	case mfa.ActionCodeRefused:
		ev.Outcome = "failed"
	case mfa.ActionVerificationFailure:
		ev.FactorType, ev.ChallengeID, ev.Reason, ev.Outcome = mfa.TypeTOTP, cid, "wrong_code", "failed"
	case mfa.ActionDeviceTrusted, mfa.ActionDeviceRevoked:
		ev.Reason = did
	case mfa.ActionFactorsReset, mfa.ActionUnlocked:
		ev.Actor, ev.IP, ev.UserAgent = "admin:support-1", "", ""
	case mfa.ActionPolicyChanged, mfa.ActionPolicyDeleted:
		ev.UserID, ev.Actor, ev.Reason = "#policy", "admin:support-1", "organization:acme"
	}
	return ev
}

func TestEveryKindValidatesAgainstTheSchema(t *testing.T) {
	for _, k := range securityevents.Catalog {
		t.Run(k.DetailType, func(t *testing.T) {
			var ev securityevents.Event
			if k.Action == securityevents.ActionUserLocked {
				var ok bool
				ev, ok = securityevents.LockStarted(mfa.DefaultRegulation,
					mfa.UserState{UserID: "alice", ConsecutiveFailures: 4, LastFailureAt: at.Add(-time.Second)},
					mfa.UserState{UserID: "alice", ConsecutiveFailures: 5, LastFailureAt: at})
				if !ok {
					t.Fatal("the fifth failure started no lock")
				}
			} else {
				ev = securityevents.FromAudit("AUDIT#alice/EVENT#1", sample(k.Action))
			}
			if ev.DetailType != k.DetailType {
				t.Fatalf("detail-type %q, want %q", ev.DetailType, k.DetailType)
			}
			raw, err := json.Marshal(ev.Detail)
			if err != nil {
				t.Fatal(err)
			}
			if err := schematest.Check(securityevents.Source, ev.DetailType, raw); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The schema is strict: whatever is not in it (a code, a secret, an address) fails, and so
// does a detail that lacks what its kind requires. This is what makes the validation of
// every published event a check that can fail.
func TestSchemaRefusesWhatIsNotInIt(t *testing.T) {
	good := securityevents.FromAudit("k", sample(mfa.ActionVerificationSuccess))
	raw, _ := json.Marshal(good.Detail)
	if err := schematest.Validate(raw); err != nil {
		t.Fatalf("baseline does not validate: %v", err)
	}
	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for name, bad := range map[string][]byte{
		"a code":               mutate(func(m map[string]any) { m["code"] = "123456" }),
		"a secret in factor":   mutate(func(m map[string]any) { m["factor"].(map[string]any)["secret"] = "JBSWY3DPEHPK3PXP" }),
		"an email in client":   mutate(func(m map[string]any) { m["client"].(map[string]any)["email"] = "a@example.com" }),
		"no event id":          mutate(func(m map[string]any) { delete(m, "eventId") }),
		"no challenge id":      mutate(func(m map[string]any) { delete(m, "challengeId") }),
		"another version":      mutate(func(m map[string]any) { m["schemaVersion"] = "2" }),
		"unknown outcome":      mutate(func(m map[string]any) { m["outcome"] = "maybe" }),
		"a lock on a success":  mutate(func(m map[string]any) { m["lock"] = map[string]any{"permanent": true, "consecutiveFailures": 100} }),
		"an unknown action":    mutate(func(m map[string]any) { m["action"] = "factor.exploded" }),
		"a time without zone":  mutate(func(m map[string]any) { m["occurredAt"] = "2026-12-06T20:00:00.123" }),
		"a malformed factorId": mutate(func(m map[string]any) { m["factor"].(map[string]any)["id"] = "../../etc" }),
	} {
		if err := schematest.Validate(bad); err == nil {
			t.Errorf("%s: validated\n%s", name, bad)
		}
	}
	if err := schematest.Check(securityevents.Source, "Factor Bound", raw); err == nil {
		t.Error("a detail-type that does not match the action passed")
	}
}

func TestFromAuditMapsFields(t *testing.T) {
	pol := securityevents.FromAudit("k", sample(mfa.ActionPolicyChanged)).Detail
	if pol.UserID != "" || pol.Policy == nil || pol.Policy.Scope != "organization:acme" || pol.Policy.OrganizationID != "acme" || pol.Reason != "" {
		t.Errorf("policy event: %+v", pol)
	}
	dev := securityevents.FromAudit("k", sample(mfa.ActionDeviceTrusted)).Detail
	if dev.DeviceID != did || dev.Reason != "" {
		t.Errorf("device event: %+v", dev)
	}
	adm := securityevents.FromAudit("k", sample(mfa.ActionUnlocked)).Detail
	if adm.Actor != (securityevents.Actor{Type: "admin", ID: "support-1"}) || adm.Client != nil {
		t.Errorf("admin event: %+v", adm)
	}
	if got := securityevents.FromAudit("k", sample(mfa.ActionVerificationSuccess)).Detail.OccurredAt; got != "2026-12-06T20:00:00.123Z" {
		t.Errorf("occurredAt %q", got)
	}
	unknown := securityevents.FromAudit("k", mfa.AuditEvent{UserID: "u", Action: "factor.exploded", Actor: "user:u", Outcome: "ok", At: at})
	if unknown.DetailType != securityevents.DetailTypeUnknown {
		t.Errorf("unknown action published as %q", unknown.DetailType)
	}
}

func TestEventIDIsStablePerItem(t *testing.T) {
	a := securityevents.FromAudit("AUDIT#alice/EVENT#0001#aa", sample(mfa.ActionFactorActivated)).Detail.EventID
	b := securityevents.FromAudit("AUDIT#alice/EVENT#0001#aa", sample(mfa.ActionFactorActivated)).Detail.EventID
	c := securityevents.FromAudit("AUDIT#alice/EVENT#0001#ab", sample(mfa.ActionFactorActivated)).Detail.EventID
	if a != b || a == c {
		t.Errorf("ids %s %s %s: want the same id for the same item only", a, b, c)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("id %s is not a version-8 UUID", a)
	}
}

func TestLockStarted(t *testing.T) {
	r := mfa.DefaultRegulation
	t0 := at
	st := func(n int, last time.Time) mfa.UserState {
		return mfa.UserState{UserID: "alice", ConsecutiveFailures: n, LastFailureAt: last}
	}
	for _, tc := range []struct {
		name          string
		before, after mfa.UserState
		want          bool
		permanent     bool
		until         time.Time
	}{
		{"fourth failure", st(3, t0.Add(-time.Second)), st(4, t0), false, false, time.Time{}},
		{"fifth failure locks a minute", st(4, t0.Add(-time.Second)), st(5, t0), true, false, t0.Add(time.Minute)},
		{"failure during the lock extends it silently", st(5, t0.Add(-10*time.Second)), st(6, t0), false, false, time.Time{}},
		{"failure after the lock ran out locks again, longer", st(5, t0.Add(-2*time.Minute)), st(6, t0), true, false, t0.Add(2 * time.Minute)},
		{"hundredth failure locks for good", st(99, t0.Add(-time.Second)), st(100, t0), true, true, time.Time{}},
		{"after the permanent lock", st(100, t0.Add(-time.Second)), st(101, t0), false, false, time.Time{}},
		{"unlock", st(7, t0), st(0, time.Time{}), false, false, time.Time{}},
		{"success resets", st(2, t0), st(0, t0), false, false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := securityevents.LockStarted(r, tc.before, tc.after)
			if ok != tc.want {
				t.Fatalf("locked event %v, want %v", ok, tc.want)
			}
			if !ok {
				return
			}
			l := ev.Detail.Lock
			if l.Permanent != tc.permanent || l.ConsecutiveFailures != tc.after.ConsecutiveFailures {
				t.Errorf("lock %+v", l)
			}
			if !tc.permanent && l.Until != tc.until.UTC().Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("until %s, want %s", l.Until, tc.until)
			}
			again, _ := securityevents.LockStarted(r, tc.before, tc.after)
			if again.Detail.EventID != ev.Detail.EventID {
				t.Error("the same transition gave another event id")
			}
		})
	}
}

// The README's catalog lists every kind, as the code names it.
func TestReadmeCatalogMatches(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, k := range securityevents.Catalog {
		row := "| `" + k.DetailType + "` | `" + k.Action + "` | " + k.Meaning + " |"
		if !strings.Contains(readme, row) {
			t.Errorf("README catalog lacks the row\n%s", row)
		}
	}
}
