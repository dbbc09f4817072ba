package seal_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/mfa-service/mfa/pkg/awstest"
	"github.com/mfa-service/mfa/pkg/dynamostore"
	"github.com/mfa-service/mfa/pkg/kmsclient"
	"github.com/mfa-service/mfa/pkg/seal"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func testKeyring(t *testing.T) *seal.Keyring {
	t.Helper()
	k, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealBindsAssociatedData(t *testing.T) {
	k := testKeyring(t)
	secret := []byte("totp secret bytes!!!")
	sealed, err := k.Seal(secret, "alice", "factor1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := k.Open(sealed, "alice", "factor1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	for name, ad := range map[string][]string{
		"other user":         {"bob", "factor1"},
		"other factor":       {"alice", "factor2"},
		"shifted boundaries": {"alicef", "actor1"},
		"no ids":             nil,
	} {
		if _, err := k.Open(sealed, ad...); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("%s: opened with the wrong associated data (%v)", name, err)
		}
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.Open(tampered, "alice", "factor1"); !errors.Is(err, seal.ErrOpen) {
		t.Error("a tampered value opened")
	}
	again, _ := k.Seal(secret, "alice", "factor1")
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same value are identical: nonce reuse")
	}
}

func TestHashIsKeyedAndPurposeBound(t *testing.T) {
	a := testKeyring(t)
	b, _ := seal.New(bytes.Repeat([]byte{2}, 32))
	v := []byte("123456")
	if bytes.Equal(a.Hash("code", v), b.Hash("code", v)) {
		t.Error("hash does not depend on the key")
	}
	if bytes.Equal(a.Hash("code", v), a.Hash("device", v)) {
		t.Error("hash does not depend on the purpose")
	}
	if !bytes.Equal(a.Hash("code", v), a.Hash("code", v)) {
		t.Error("hash is not deterministic")
	}
}

// countingKMS counts calls, to prove the data key is unwrapped once per Open and never after.
type countingKMS struct {
	seal.KMS
	mu       sync.Mutex
	generate int
	decrypt  int
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, keyID string, ec map[string]string) ([]byte, []byte, error) {
	c.mu.Lock()
	c.generate++
	c.mu.Unlock()
	return c.KMS.GenerateDataKey(ctx, keyID, ec)
}

func (c *countingKMS) Decrypt(ctx context.Context, keyID string, wrapped []byte, ec map[string]string) ([]byte, error) {
	c.mu.Lock()
	c.decrypt++
	c.mu.Unlock()
	return c.KMS.Decrypt(ctx, keyID, wrapped, ec)
}

func newKMS(t *testing.T) *kmsclient.Client {
	t.Helper()
	k, err := kmsclient.New(awstest.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestOpenWithKMSGeneratesOnceAndUnwrapsThereafter(t *testing.T) {
	ctx := context.Background()
	cfg := awstest.Config(t)
	store := dynamostore.New(awstest.DBWith(t, cfg), awstest.NewTable(t), 0)
	keyID := awstest.NewKey(t)
	k := &countingKMS{KMS: newKMS(t)}

	first, err := seal.Open(ctx, k, keyID, store)
	if err != nil {
		t.Fatal(err)
	}
	if k.generate != 1 || k.decrypt != 0 {
		t.Fatalf("first start: generate=%d decrypt=%d, want 1/0", k.generate, k.decrypt)
	}
	sealed, _ := first.Seal([]byte("s3cret"), "u", "f")
	for i := 0; i < 100; i++ {
		if _, err := first.Open(sealed, "u", "f"); err != nil {
			t.Fatal(err)
		}
	}
	if k.generate != 1 || k.decrypt != 0 {
		t.Fatal("sealing and opening called KMS: the data key must stay in memory")
	}

	// A later cold start unwraps the stored key and opens what the first one sealed.
	second, err := seal.Open(ctx, k, keyID, store)
	if err != nil {
		t.Fatal(err)
	}
	if k.generate != 1 || k.decrypt != 1 {
		t.Fatalf("second start: generate=%d decrypt=%d, want 1/1", k.generate, k.decrypt)
	}
	if got, err := second.Open(sealed, "u", "f"); err != nil || string(got) != "s3cret" {
		t.Fatalf("second keyring cannot open: %q %v", got, err)
	}

	wrapped, err := store.LoadWrappedKey(ctx)
	if err != nil || len(wrapped) == 0 {
		t.Fatalf("wrapped key not stored: %v", err)
	}
}

func TestConcurrentColdStartsAgreeOnOneKey(t *testing.T) {
	ctx := context.Background()
	cfg := awstest.Config(t)
	store := dynamostore.New(awstest.DBWith(t, cfg), awstest.NewTable(t), 0)
	keyID := awstest.NewKey(t)
	k := newKMS(t)

	const n = 8
	rings := make([]*seal.Keyring, n)
	var wg sync.WaitGroup
	for i := range rings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := seal.Open(ctx, k, keyID, store)
			if err != nil {
				t.Error(err)
				return
			}
			rings[i] = r
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed, _ := rings[0].Seal([]byte("x"), "u")
	for i, r := range rings {
		if _, err := r.Open(sealed, "u"); err != nil {
			t.Errorf("keyring %d uses another data key", i)
		}
	}
}
