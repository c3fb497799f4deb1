package scheduler

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/statemgr"
)

// Library is a scheduler the client runs in-process, as Heron's
// LibrarySchedulerClient does when heron.scheduler.is.service is false
// (Nomad, Kubernetes, Aurora...): there is no scheduler process to call.
type Library interface {
	Kill(ctx context.Context, topology string) error
	Restart(ctx context.Context, topology string, container int) error
	Update(ctx context.Context, topology string, current, proposed *systempb.PackingPlan) error
}

// LibraryFactory makes a library scheduler from the client config.
type LibraryFactory func(cfg *config.Config, store statemgr.Store, log zerolog.Logger) (Library, error)

var (
	libMu     sync.RWMutex
	libraries = map[string]LibraryFactory{}
)

// RegisterLibrary makes a library scheduler available under the short name
// of heron.class.scheduler; twice panics.
func RegisterLibrary(name string, f LibraryFactory) {
	libMu.Lock()
	defer libMu.Unlock()
	if _, dup := libraries[name]; dup {
		panic("scheduler: library scheduler registered twice: " + name)
	}
	libraries[name] = f
}

// NewLibrary returns the in-process scheduler heron.class.scheduler names
// when heron.scheduler.is.service is false; ok is false for schedulers
// reached over HTTP.
func NewLibrary(cfg *config.Config, store statemgr.Store, log zerolog.Logger) (lib Library, ok bool, err error) {
	svc, err := cfg.Bool("heron.scheduler.is.service", true)
	if err != nil {
		return nil, false, exitcode.Wrap(exitcode.Config, err)
	}
	if svc {
		return nil, false, nil
	}
	name, err := cfg.ClassName(config.KeySchedulerClass)
	if err != nil {
		return nil, false, exitcode.Wrap(exitcode.Config, err)
	}
	libMu.RLock()
	f, found := libraries[name]
	libMu.RUnlock()
	if !found {
		return nil, false, exitcode.Errorf(exitcode.Config, "scheduler %q has no library mode in this build; set heron.scheduler.is.service to true", name)
	}
	lib, err = f(cfg, store, log)
	return lib, err == nil, err
}

// KillTopology, RestartTopology and UpdateTopology reach the topology's
// scheduler in-process (library mode) or over Heron's HTTP protocol.
func KillTopology(ctx context.Context, cfg *config.Config, store statemgr.Store, log zerolog.Logger, name string) error {
	lib, ok, err := NewLibrary(cfg, store, log)
	if err != nil {
		return err
	}
	if ok {
		return lib.Kill(ctx, name)
	}
	return Kill(ctx, store, name)
}

// RestartTopology restarts one container (-1: all) in-process or over HTTP.
func RestartTopology(ctx context.Context, cfg *config.Config, store statemgr.Store, log zerolog.Logger, name string, container int) error {
	lib, ok, err := NewLibrary(cfg, store, log)
	if err != nil {
		return err
	}
	if ok {
		return lib.Restart(ctx, name, container)
	}
	return Restart(ctx, store, name, container)
}

// UpdateTopology applies a new packing plan in-process or over HTTP.
func UpdateTopology(ctx context.Context, cfg *config.Config, store statemgr.Store, log zerolog.Logger, name string, current, proposed *systempb.PackingPlan) error {
	lib, ok, err := NewLibrary(cfg, store, log)
	if err != nil {
		return err
	}
	if ok {
		return lib.Update(ctx, name, current, proposed)
	}
	return Update(ctx, store, name, current, proposed)
}
