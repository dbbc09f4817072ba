//go:build unix

package main

import (
	"os"
	"syscall"
	"time"
)

// freshPageMicros is what this machine charges, now, for the first touch of a page of fresh
// anonymous memory: the cost a cold start pays for each page its page-fault count shows. It
// maps and touches calibrationPages pages; 0 if it cannot map.
func freshPageMicros() float64 {
	const calibrationPages = 1024
	size := calibrationPages * os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return 0
	}
	defer syscall.Munmap(mem)
	start := time.Now()
	for i := 0; i < size; i += os.Getpagesize() {
		mem[i] = 1
	}
	return float64(time.Since(start).Nanoseconds()) / 1000 / calibrationPages
}

// flushWrites writes the page cache's dirty pages out (sync): the binaries just built, whose
// writeback would otherwise run during the cold starts and slow them (a deployed function's
// binary is never freshly written).
func flushWrites() { syscall.Sync() }
