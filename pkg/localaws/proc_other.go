//go:build !unix

package localaws

import "os/exec"

// Without process groups there is only the child itself to end.
func setProcessGroup(*exec.Cmd) {}

func terminate(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
