// Package testserver starts real servers for tests: free ports on 127.0.0.1,
// processes stopped by PID, logs kept in the test's temp dir, and readiness
// waits with deadlines. Each server kind lives in its own file (zookeeper.go, ...)
// on top of the generic helpers here.
//
// A server binary that is missing skips the test with a message naming the
// package to install, except when CI=true: there it fails, so CI never passes
// by skipping.
package testserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/freeport"
)

// Host is the only interface test servers listen on.
const Host = "127.0.0.1"

// StopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const StopGrace = 10 * time.Second

// InCI reports whether CI=true, where missing servers are failures.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test (or fails it under CI=true) because something the
// test needs is not installed. hint tells a new user how to get it.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	msg := fmt.Sprintf("%s not found; %s (or run .ci/install-servers)", what, hint)
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Require returns the absolute path of binary (looked up in PATH unless it
// contains a slash), or skips/fails the test as Missing does.
func Require(t testing.TB, binary string) string {
	t.Helper()
	p, err := exec.LookPath(binary)
	if err != nil {
		Missing(t, "server binary "+binary, "install the package that provides it")
	}
	return p
}

// RequireFile returns path if it exists, or skips/fails the test as Missing does.
func RequireFile(t testing.TB, path, hint string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path, hint)
	}
	return path
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. It
// lies outside the kernel's ephemeral range, so no outgoing connection or
// listener on port 0 takes it before the server binds it, and it is never
// handed out twice in one test binary (lib/freeport).
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Pick()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return p
}

// WaitTCP waits until addr accepts TCP connections or the timeout passes.
func WaitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	return Poll(ctx, timeout, func() error {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// WaitHTTP waits until url answers with a status below 500 or the timeout passes.
func WaitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return Poll(ctx, timeout, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	})
}

// Poll calls check every 50 ms until it returns nil, ctx ends or the timeout
// passes; the error then carries check's last error.
func Poll(ctx context.Context, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		case <-tick.C:
		}
	}
}

// Process is a server process started by a test. Its stdout and stderr go to
// a log file in the test's temp dir; when the test fails, the log's tail is
// printed. It is stopped (by PID, SIGTERM then SIGKILL) at test cleanup.
type Process struct {
	t    testing.TB
	name string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess runs cmd as a named server. cmd.Stdout and cmd.Stderr are
// replaced by the log file; the process gets its own process group so that
// Stop also reaches its children.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{t: t, name: name, log: filepath.Join(t.TempDir(), name+".log")}
	if err := p.start(cmd); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of %s log:\n%s", name, p.Tail(40))
		}
		p.Stop()
	})
	return p
}

func (p *Process) start(cmd *exec.Cmd) error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Should the test binary die, the kernel kills the server too.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err = cmd, done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Restart starts a fresh copy of a stopped process with a new command
// (an exec.Cmd cannot run twice); output is appended to the same log.
func (p *Process) Restart(cmd *exec.Cmd) error {
	if p.Running() {
		return fmt.Errorf("%s is still running (pid %d)", p.name, p.PID())
	}
	return p.start(cmd)
}

// PID is the process id, or 0 before the first start.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Exited returns a channel closed when the process exits.
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Stop sends SIGTERM to the process group, waits up to StopGrace, then sends
// SIGKILL. It is a no-op on a process that has already exited.
func (p *Process) Stop() {
	p.signalAndWait(syscall.SIGTERM, StopGrace)
}

// Kill sends SIGKILL at once, like a crash or a power cut.
func (p *Process) Kill() {
	p.signalAndWait(syscall.SIGKILL, 0)
}

func (p *Process) signalAndWait(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || done == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			p.t.Logf("%s (pid %d) ignored %v for %s; killing it", p.name, pid, sig, grace)
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-done
}

// LogPath is the file that holds the process's output.
func (p *Process) LogPath() string { return p.log }

// Tail returns the last n lines of the process's log.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.log)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Err returns how the process ended, or nil while it runs.
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// ErrExited is returned by waits that notice the server process died.
var ErrExited = errors.New("server process exited")
