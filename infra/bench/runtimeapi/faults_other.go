//go:build !unix

package runtimeapi

import "os"

// minorFaults is not counted on this platform.
func minorFaults(*os.ProcessState) int64 { return 0 }
