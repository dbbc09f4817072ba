package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/dynamoclient"

	"github.com/mfa-service/mfa/pkg/mfa"
)

// TestStepUpAuthorizesOneChange: a step-up token's jti is consumed by the change it authorizes,
// in the change's transaction; a second change with it fails and changes nothing, however many
// race; the record expires with the token.
func TestStepUpAuthorizesOneChange(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	exp := s.now.Add(5 * time.Minute).Truncate(time.Second)
	use := &mfa.StepUpUse{UserID: "alice", TokenID: "jti-1", ExpiresAt: exp}
	var factors []mfa.Factor
	for range 8 {
		factors = append(factors, s.bindTOTP(t, "alice", 0))
	}
	var removed, refused atomic.Int64
	var wg sync.WaitGroup
	for _, f := range factors {
		wg.Go(func() {
			switch err := s.store.DeleteFactor(ctx, f, s.event("alice", mfa.ActionFactorRemoved), use); {
			case err == nil:
				removed.Add(1)
			case errors.Is(err, mfa.ErrStepUpUsed):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if removed.Load() != 1 || refused.Load() != int64(len(factors)-1) {
		t.Fatalf("removed %d, refused %d: one token, one change", removed.Load(), refused.Load())
	}
	p, err := s.store.LoadProfile(ctx, "alice")
	if err != nil || len(p.Factors) != len(factors)-1 || p.State.FactorCount != len(factors)-1 {
		t.Fatalf("after the race: %d factors, count %d, %v", len(p.Factors), p.State.FactorCount, err)
	}
	// The same token on the other changes it could authorize.
	set := mfa.Factor{ID: newID(), UserID: "alice", Type: mfa.TypeBackupCodes, Label: "Backup codes", CreatedAt: s.now, BackupCodes: []string{"h1"}}
	if err := s.store.ReplaceBackupCodes(ctx, set, true, s.event("alice", "x"), use); !errors.Is(err, mfa.ErrStepUpUsed) {
		t.Errorf("backup codes with a used step-up: %v", err)
	}
	e := mfa.Enrollment{ID: newID(), UserID: "alice", Type: mfa.TypeTOTP, Label: "x", SealedSecret: []byte("s"), CreatedAt: s.now, ExpiresAt: s.now.Add(time.Minute)}
	if err := s.store.CreateEnrollment(ctx, e, nil, s.event("alice", "x")); err != nil {
		t.Fatal(err)
	}
	f := mfa.Factor{ID: e.ID, UserID: "alice", Type: mfa.TypeTOTP, Label: "x", CreatedAt: s.now, SealedSecret: e.SealedSecret}
	if err := s.store.ActivateFactor(ctx, mfa.Activation{Factor: f, EnrollmentID: e.ID, StepUp: use, Event: s.event("alice", "x")}); !errors.Is(err, mfa.ErrStepUpUsed) {
		t.Errorf("activation with a used step-up: %v", err)
	}
	if p2, _ := s.store.LoadProfile(ctx, "alice"); len(p2.Factors) != len(p.Factors) || p2.State.BackupFactorID != "" {
		t.Errorf("a refused change was half-written: %d factors, backup %q", len(p2.Factors), p2.State.BackupFactorID)
	}
	// Spent tokens read as spent (an enrollment start asks before showing a secret); others not.
	for jti, want := range map[string]bool{"jti-1": true, "jti-2": false} {
		if used, err := s.store.StepUpUsed(ctx, "alice", jti); err != nil || used != want {
			t.Errorf("StepUpUsed(%s) = %v, %v; want %v", jti, used, err, want)
		}
	}
	if used, err := s.store.StepUpUsed(ctx, "bob", "jti-1"); err != nil || used {
		t.Errorf("another user's spent jti reads as spent for bob: %v, %v", used, err)
	}
	// Another token still works.
	if err := s.store.ActivateFactor(ctx, mfa.Activation{Factor: f, EnrollmentID: e.ID, StepUp: &mfa.StepUpUse{UserID: "alice", TokenID: "jti-2", ExpiresAt: exp}, Event: s.event("alice", "x")}); err != nil {
		t.Errorf("activation with a fresh step-up: %v", err)
	}
	// The record lives until the token's expiry, then TTL removes it.
	out, err := s.db.GetItem(ctx, &dynamoclient.GetItemInput{TableName: &s.table, Key: map[string]dynamoclient.AttributeValue{
		"pk": &dynamoclient.AttributeValueMemberS{Value: "USER#alice"}, "sk": &dynamoclient.AttributeValueMemberS{Value: "STEPUP#jti-1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ttl, ok := out.Item["ttl"].(*dynamoclient.AttributeValueMemberN); !ok || ttl.Value != itoa(exp.Unix()) {
		t.Errorf("step-up record ttl: %v, want %d", out.Item["ttl"], exp.Unix())
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }
