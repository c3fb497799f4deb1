package metricsmgr

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/metricsrecord"
)

// SinkSpec says how to run one sink process.
type SinkSpec struct {
	// ID is the sink's id in metrics_sinks.yaml.
	ID string
	// Path is the executable, Args its arguments.
	Path string
	Args []string
	Dir  string
	// RestartAttempts is sink-restart-attempts: restarts allowed after the
	// process exits; negative means forever, 0 never (Heron's default).
	RestartAttempts int
	// Log receives the sink's stdout and stderr.
	Log io.Writer
}

// sinkStopGrace is how long a closing sink may take to exit once its stdin
// is closed (or, when it stopped reading, once the manager closed) before it
// is killed.
var sinkStopGrace = 10 * time.Second

// sinkProc feeds one sink process and restarts it per its budget.
type sinkProc struct {
	spec    SinkSpec
	log     zerolog.Logger
	ch      chan []*metricsrecord.Record
	closed  chan struct{}
	once    sync.Once
	dropped atomic.Int64
	starts  atomic.Int64
}

func newSinkProc(s SinkSpec, log zerolog.Logger) *sinkProc {
	return &sinkProc{spec: s, log: log.With().Str("sink", s.ID).Logger(),
		ch: make(chan []*metricsrecord.Record, 8), closed: make(chan struct{})}
}

// offer queues one interval's records; a sink that falls behind loses
// whole intervals rather than slowing the container.
func (s *sinkProc) offer(recs []*metricsrecord.Record) {
	select {
	case s.ch <- recs:
	default:
		s.dropped.Add(int64(len(recs)))
	}
}

func (s *sinkProc) close() { s.once.Do(func() { close(s.closed) }) }

func (s *sinkProc) run(ctx context.Context) {
	left := s.spec.RestartAttempts
	for {
		err := s.runOnce()
		select {
		case <-s.closed:
			return
		default:
		}
		if left == 0 {
			s.log.Error().Err(err).Msg("metrics sink exited and has no restarts left (sink-restart-attempts); it stays down")
			// Keep draining so offers never block.
			for {
				select {
				case <-s.closed:
					return
				case <-s.ch:
				}
			}
		}
		if left > 0 {
			left--
		}
		s.log.Warn().Err(err).Int("restarts_left", left).Msg("metrics sink exited; restarting")
		select {
		case <-s.closed:
			return
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// runOnce runs the process until it exits or the manager closes; on close
// it closes the sink's stdin, so the sink flushes and exits on EOF.
func (s *sinkProc) runOnce() error {
	cmd := exec.Command(s.spec.Path, s.spec.Args...)
	cmd.Dir = s.spec.Dir
	cmd.Stdout = s.spec.Log
	cmd.Stderr = s.spec.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.starts.Add(1)
	grace := sinkStopGrace
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() { done <- cmd.Wait(); close(exited) }()
	// A sink that stopped reading blocks the write below; the manager's
	// close must still end it (and so this function) in bounded time.
	go func() {
		select {
		case <-exited:
		case <-s.closed:
			select {
			case <-exited:
			case <-time.After(grace):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		}
	}()
	w := bufio.NewWriterSize(stdin, 64<<10)
	enc := metricsrecord.NewWriter(w)
	for {
		select {
		case err := <-done:
			stdin.Close()
			return err
		case <-s.closed:
			stdin.Close()
			select {
			case err := <-done:
				return err
			case <-time.After(grace):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				return <-done
			}
		case recs := <-s.ch:
			for _, r := range recs {
				if err := enc.Write(r); err != nil {
					break
				}
			}
			if err := w.Flush(); err != nil {
				stdin.Close()
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				return <-done
			}
		}
	}
}

// LookPath finds a sink binary on PATH (names only: a sink class never
// names a path), also next to the running executable.
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		cand := dirOf(self) + "/" + name
		if st, err := os.Stat(cand); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}
