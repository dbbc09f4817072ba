package dynamostore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mfa-service/mfa/pkg/token"
)

// One Query gives a cold start what LoadWrappedKey and LoadSigningKeys give, and a start on a
// new table that creates the keys reads its own (or the winner's) back from the table.
func TestStartKeysReadBothKeysInOneQuery(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()

	empty, err := s.store.LoadStartKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := empty.LoadWrappedKey(ctx); err != nil || w != nil {
		t.Fatalf("new table: wrapped key %q %v", w, err)
	}
	if keys, err := empty.LoadSigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("new table: signing keys %v %v", keys, err)
	}
	// The first start creates the data key; another start stored one first: it reads the
	// winner's, through to the table.
	if created, err := s.store.CreateWrappedKey(ctx, []byte("winner")); !created || err != nil {
		t.Fatal(created, err)
	}
	if created, err := empty.CreateWrappedKey(ctx, []byte("loser")); created || err != nil {
		t.Fatalf("second data key: created=%v err=%v", created, err)
	}
	if w, err := empty.LoadWrappedKey(ctx); err != nil || string(w) != "winner" {
		t.Fatalf("after losing the race: %q %v, want the winner's key", w, err)
	}
	gen1 := token.StoredKey{Generation: 1, KID: "kid-1", PublicJWK: []byte(`{"kid":"kid-1"}`), SealedPrivate: []byte("sealed-1"), CreatedAt: s.now}
	if created, err := empty.CreateSigningKey(ctx, gen1); !created || err != nil {
		t.Fatal(created, err)
	}
	if keys, err := empty.LoadSigningKeys(ctx); err != nil || len(keys) != 1 || keys[0].KID != "kid-1" {
		t.Fatalf("after creating a signing key: %v %v", keys, err)
	}

	// A later start: both keys from one read, the same as the per-key reads, newest first.
	gen2 := token.StoredKey{Generation: 2, KID: "kid-2", PublicJWK: []byte(`{"kid":"kid-2"}`), SealedPrivate: []byte("sealed-2"), CreatedAt: s.now.Add(time.Hour)}
	if created, err := s.store.CreateSigningKey(ctx, gen2); !created || err != nil {
		t.Fatal(created, err)
	}
	start, err := s.store.LoadStartKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantWrapped, _ := s.store.LoadWrappedKey(ctx)
	if w, err := start.LoadWrappedKey(ctx); err != nil || !bytes.Equal(w, wantWrapped) {
		t.Fatalf("wrapped key %q %v, want %q", w, err, wantWrapped)
	}
	wantKeys, err := s.store.LoadSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := start.LoadSigningKeys(ctx)
	if err != nil || len(keys) != 2 || len(wantKeys) != 2 {
		t.Fatalf("signing keys %v %v, want %v", keys, err, wantKeys)
	}
	for i := range keys {
		got, want := keys[i], wantKeys[i]
		if got.Generation != want.Generation || got.KID != want.KID || !bytes.Equal(got.PublicJWK, want.PublicJWK) ||
			!bytes.Equal(got.SealedPrivate, want.SealedPrivate) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("generation %d: %+v, want %+v", i, got, want)
		}
	}
	if keys[0].Generation != 2 {
		t.Errorf("newest first: got generation %d first", keys[0].Generation)
	}
}
