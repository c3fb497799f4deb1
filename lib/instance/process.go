// Package instance runs one instance of a native component: a child process
// started from the component's command, with its stdin and stdout as the
// tuple channels (raw lines or the JSON protocol of docs/json-protocol.md)
// and its stderr going to the instance's log file.
package instance

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/heronkit/heronkit/lib/native"
)

// PipeSize is the pipe buffer asked of the kernel for stdin and stdout:
// larger pipes mean fewer context switches per tuple.
const PipeSize = 1 << 20

// Identity is what an instance is told about itself through its environment.
type Identity struct {
	Topology, TopologyID, Component, InstanceID string
	TaskID, Index, Container, Parallelism       int32
}

// Env returns base plus the HERON_* variables of lib/native.
func (id Identity) Env(base []string) []string {
	env := append([]string(nil), base...)
	add := func(k, v string) { env = append(env, k+"="+v) }
	add(native.EnvTopology, id.Topology)
	add(native.EnvTopologyID, id.TopologyID)
	add(native.EnvComponent, id.Component)
	add(native.EnvTaskID, strconv.Itoa(int(id.TaskID)))
	add(native.EnvInstanceID, id.InstanceID)
	add(native.EnvIndex, strconv.Itoa(int(id.Index)))
	add(native.EnvContainer, strconv.Itoa(int(id.Container)))
	add(native.EnvParallelism, strconv.Itoa(int(id.Parallelism)))
	return env
}

// Spec says how to start a process.
type Spec struct {
	// Command runs with /bin/sh -c.
	Command string
	Dir     string
	Env     []string
	// Stderr receives the process's stderr (the instance log).
	Stderr io.Writer
}

// Process is a running instance process, leader of its own process group
// so that everything it starts can be stopped with it.
type Process struct {
	Cmd    *exec.Cmd
	Stdin  *os.File
	Stdout *os.File
	done   chan struct{}
	err    error
}

// Start starts the process.
func Start(s Spec) (*Process, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	setPipeSize(inW)
	setPipeSize(outR)
	cmd := exec.Command("/bin/sh", "-c", s.Command)
	cmd.Dir = s.Dir
	cmd.Env = s.Env
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = s.Stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	inR.Close()
	outW.Close()
	p := &Process{Cmd: cmd, Stdin: inW, Stdout: outR, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the exit error (nil for status 0), valid after Done.
func (p *Process) Err() error { return p.err }

// ExitCode is the exit status, or -1 when killed by a signal.
func (p *Process) ExitCode() int {
	if p.Cmd.ProcessState == nil {
		return -1
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid(), sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Stop sends SIGTERM to the process group, then SIGKILL after grace, and
// waits for the process to be reaped. It closes the pipes.
func (p *Process) Stop(grace time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	// The leader may be gone while its children linger in the group.
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
	p.Stdin.Close()
}
