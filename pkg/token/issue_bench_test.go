package token_test

import "testing"

// BenchmarkIssueMFAToken is the signing part of every successful verification's CPU.
func BenchmarkIssueMFAToken(b *testing.B) {
	f := newFixture(b)
	s := f.load(b)
	c := claims
	c.AuthTime = f.now
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.IssueMFAToken(c); err != nil {
			b.Fatal(err)
		}
	}
}
