//go:build unix

package runtimeapi

import (
	"os"
	"syscall"
)

// minorFaults is the minor page faults of an exited process.
func minorFaults(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Minflt)
	}
	return 0
}
