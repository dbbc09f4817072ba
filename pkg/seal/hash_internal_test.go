package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

// Hash, reusing keyed HMACs, gives what a fresh HMAC-SHA256 under the hashing key gives, one
// call after another and from many goroutines at once (stored hashes of codes must keep
// matching).
func TestHashReusedIsHashFresh(t *testing.T) {
	k, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(purpose string, value []byte) []byte {
		m := hmac.New(sha256.New, k.hashKey)
		m.Write(append([]byte{version, 0, 0, 0, byte(len(purpose))}, purpose...))
		m.Write(value)
		return m.Sum(nil)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				purpose, value := fmt.Sprintf("purpose-%d", i%3), []byte(fmt.Sprintf("value-%d-%d", g, i))
				if got, want := k.Hash(purpose, value), fresh(purpose, value); !bytes.Equal(got, want) {
					t.Errorf("Hash(%s, %s) = %x, want %x", purpose, value, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
