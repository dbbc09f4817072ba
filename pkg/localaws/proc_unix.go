//go:build unix

package localaws

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in a group of its own so that signals reach everything
// python starts, and a Ctrl-C in the terminal is left to our own shutdown to handle.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks the whole group to exit.
func terminate(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGTERM) }

// kill ends the whole group at once.
func kill(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGKILL) }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	// The group id is the leader's pid; ESRCH just means it is already gone.
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}

// freeze stops the whole group (SIGSTOP): the sockets stay open and accept connections, but
// nothing answers, as a hung store would.
func freeze(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGSTOP) }

// thaw lets a frozen group run again (SIGCONT).
func thaw(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT) }
