package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/instance"
	"github.com/heronkit/heronkit/lib/stmgr"
)

// StopGrace is how long an instance gets between SIGTERM and SIGKILL.
const StopGrace = 5 * time.Second

// supervisor runs one instance and restarts it when it dies, with
// exponential backoff and a budget. A spout that exits with status 0 has
// finished (it read its whole input) and is not restarted; anything else is.
type supervisor struct {
	dir      string
	set      settings
	m        *stmgr.Manager
	task     *stmgr.Task
	id       instance.Identity
	log      zerolog.Logger
	restarts atomic.Int64
	pgid     atomic.Int64
	finished atomic.Bool
}

func (s *supervisor) run(ctx context.Context) error {
	iid := s.task.InstanceID
	logf, err := instance.OpenLog(filepath.Join(s.dir, s.set.LogDir, iid+".log"), s.set.LogMaxBytes, s.set.LogFiles)
	if err != nil {
		return fmt.Errorf("open the log of %s: %w", iid, err)
	}
	defer logf.Close()
	comp := s.task.Component
	backoff := s.set.RestartMin
	env := s.id.Env(os.Environ())
	for runs := 1; ctx.Err() == nil; runs++ {
		started := time.Now()
		p, err := instance.Start(instance.Spec{Command: comp.Command, Dir: s.dir, Env: env, Stderr: logf, LogLifecycle: true})
		status := ""
		if err != nil {
			status = err.Error()
			s.log.Error().Err(err).Str("instance", iid).Msg("cannot start instance")
		} else {
			pid := p.Pid()
			s.pgid.Store(int64(pid))
			if err := WritePidFile(s.dir, iid, pid); err != nil {
				s.log.Warn().Err(err).Str("instance", iid).Msg("cannot write pid file")
			}
			s.log.Info().Str("instance", iid).Int("pid", pid).Int("run", runs).Msg("instance started")
			readDone := make(chan error, 1)
			giveUp := make(chan struct{})
			go func() { readDone <- s.m.RunInstance(s.task.ID, p.Stdin, p.Stdout, logf, p.Done(), giveUp) }()
			stopReading := func() {
				close(giveUp)
				p.Stdout.Close()
				<-readDone
			}
			select {
			case <-p.Done():
			case <-ctx.Done():
				p.Stop(StopGrace)
				stopReading()
				return nil
			}
			code := p.ExitCode()
			if comp.Spout && code == 0 {
				// Finished: everything it wrote is delivered, however long
				// the topology stays deactivated or backed up.
				select {
				case <-readDone:
				case <-ctx.Done():
					stopReading()
					return nil
				}
				_ = p.Signal(syscall.SIGKILL)
				p.Stdin.Close()
				p.Stdout.Close()
				s.finished.Store(true)
				s.log.Info().Str("instance", iid).Msg("spout finished (exit status 0); not restarted")
				<-ctx.Done()
				return nil
			}
			// Read what the process wrote before it died, then make sure
			// nothing of its group is left.
			select {
			case <-readDone:
			case <-time.After(2 * time.Second):
				_ = p.Signal(syscall.SIGKILL)
				stopReading()
			}
			_ = p.Signal(syscall.SIGKILL)
			p.Stdin.Close()
			p.Stdout.Close()
			status = p.Cmd.ProcessState.String()
		}
		if runs > s.set.RestartBudget {
			return fmt.Errorf("instance %s exited too many times (%d runs, last: %s); raise %s", iid, runs, status, KeyRestartBudget)
		}
		if time.Since(started) >= s.set.RestartMax {
			backoff = s.set.RestartMin
		}
		s.restarts.Add(1)
		s.log.Warn().Str("instance", iid).Str("status", status).Dur("restart_in", backoff).Msg("instance exited; restarting")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > s.set.RestartMax {
			backoff = s.set.RestartMax
		}
	}
	return nil
}
