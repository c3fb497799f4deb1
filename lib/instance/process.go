// Package instance runs one instance of a native component: a child process
// started from the component's command, with its stdin and stdout as the
// tuple channels (raw lines or the JSON protocol of docs/json-protocol.md)
// and its stderr going to the instance's log file.
package instance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/heronkit/heronkit/lib/native"
)

// PipeSize is the pipe buffer asked of the kernel for stdin and stdout:
// larger pipes mean fewer context switches per tuple.
const PipeSize = 1 << 20

// stderrWaitDelay bounds how long the exit of a process waits for the end
// of its stderr, which a child of its may hold open.
const stderrWaitDelay = 3 * time.Second

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
	// LogLifecycle writes a line to Stderr when the process starts, before
	// anything it writes ("<RFC3339 time> heron-executor: started pid N:
	// <command>"), and one after its last output when it exits ("...: pid
	// N exited with status S" or "...: pid N killed by signal S"), as
	// Heron's instances start their logs, so a fresh log is never empty.
	LogLifecycle bool
}

// logLine writes one lifecycle line of the executor to w.
func logLine(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, "%s heron-executor: %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// oneLine keeps a command on one log line: quoted when it holds control
// characters (a newline in a tr argument, say).
func oneLine(cmd string) string {
	if strings.ContainsFunc(cmd, unicode.IsControl) {
		return strconv.Quote(cmd)
	}
	return cmd
}

// exitLine describes how a process ended.
func exitLine(st *os.ProcessState) string {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return "exited with status " + strconv.Itoa(st.ExitCode())
}

// gate holds writes back until it is opened, so that the start line comes
// before anything the process writes.
type gate struct {
	w    io.Writer
	open chan struct{}
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	return g.w.Write(p)
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
	var g *gate
	if s.LogLifecycle && s.Stderr != nil {
		g = &gate{w: s.Stderr, open: make(chan struct{})}
		cmd.Stderr = g
	}
	cmd.SysProcAttr = sysProcAttr()
	// A child that left the process group may keep stderr open long after
	// the process exited: stop waiting for its output after a while, or
	// the exit would go unnoticed.
	cmd.WaitDelay = stderrWaitDelay
	if err := cmd.Start(); err != nil {
		if g != nil {
			close(g.open)
		}
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	inR.Close()
	outW.Close()
	pid := cmd.Process.Pid
	if g != nil {
		logLine(s.Stderr, "started pid %d: %s", pid, oneLine(s.Command))
		close(g.open)
	}
	p := &Process{Cmd: cmd, Stdin: inW, Stdout: outR, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait() // after the copy of its stderr ended
		if errors.Is(p.err, exec.ErrWaitDelay) {
			p.err = nil // it exited with status 0; only its stderr was cut
		}
		if g != nil {
			logLine(s.Stderr, "pid %d %s", pid, exitLine(cmd.ProcessState))
		}
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
