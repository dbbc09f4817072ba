//go:build !unix

package main

// freshPageMicros is not measured on this platform.
func freshPageMicros() float64 { return 0 }

func flushWrites() {}
