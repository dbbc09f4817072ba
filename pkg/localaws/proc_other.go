//go:build !unix

package localaws

import (
	"errors"
	"os/exec"
)

// Without process groups there is only the child itself to end.
func setProcessGroup(*exec.Cmd) {}

func terminate(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func freeze(*exec.Cmd) error { return errors.New("localaws: freezing moto needs unix signals") }

func thaw(*exec.Cmd) error { return errors.New("localaws: freezing moto needs unix signals") }
