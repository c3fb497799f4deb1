// Package tracker follows the topologies of many Heron state managers at
// once (local file system and ZooKeeper) and keeps, for each, its state and
// its rendered tracker answers, so that the REST layer (package trackerapi)
// serves from memory.
//
// It uses the watches of the statemgr backends, so a change shows up as soon
// as the backend reports it (Heron's file state manager polls every 5 s).
// A node that does not parse marks its topology with an error, and the rest
// of the tracker keeps working. A state manager that cannot be reached is
// retried in the background.
package tracker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"

	// Backends register their URI schemes.
	_ "github.com/heronkit/heronkit/lib/statemgr/localfs"
	_ "github.com/heronkit/heronkit/lib/statemgr/zookeeper"
)

// watched are the nodes the tracker follows per topology, as Heron's does.
var watched = []statemgr.Kind{statemgr.PhysicalPlans, statemgr.PackingPlans, statemgr.ExecutionState,
	statemgr.TManagers, statemgr.Schedulers}

// Topology is one topology as last seen. It is immutable: a change makes a
// new one.
type Topology struct {
	Name string
	// StateManager is the name of the state manager that holds it.
	StateManager string
	// Cluster, Environ and Role come from the execution state.
	Cluster, Environ, Role string
	// Views are the rendered answers; nil until an execution state was seen.
	Views *Views
	// Instances and StMgrs index the physical plan.
	Instances map[string]Instance
	StMgrs    map[string]StMgr
	// Components lists spouts then bolts, in plan order.
	Components []string
	// TManager is the topology manager's location, nil if none.
	TManager *tmanagerpb.TManagerLocation
	// Err is set when a node does not parse or the answers cannot be built.
	// The other fields then hold the last good state.
	Err error

	from builtFrom // what it was rendered from
}

// Snapshot is the tracker's state at one moment. It is immutable.
type Snapshot struct {
	// Clusters are the state-manager names, in config order.
	Clusters []string
	// Topologies are sorted by state manager, then name.
	Topologies []*Topology
	// Seq grows with every change.
	Seq uint64

	cache sync.Map
}

// Memo returns the value build makes for key, computed once per snapshot.
// The REST layer caches whole answers with it.
func (s *Snapshot) Memo(key string, build func() any) any {
	if v, ok := s.cache.Load(key); ok {
		return v
	}
	v, _ := s.cache.LoadOrStore(key, build())
	return v
}

// ErrTopologyNotFound: no topology, or more than one, matches a lookup.
var ErrTopologyNotFound = exitcode.New(exitcode.NotFound, "topology not found")

// Lookup finds the one topology with that cluster, environ and name (and
// role, when not empty), as Heron's tracker does. A topology whose state is
// corrupt is an error naming the corrupt node.
func (s *Snapshot) Lookup(cluster, environ, name, role string) (*Topology, error) {
	var found []*Topology
	var broken *Topology
	for _, t := range s.Topologies {
		if t.Name != name {
			continue
		}
		if t.Views == nil {
			if t.Err != nil {
				broken = t
			}
			continue
		}
		if t.Cluster == cluster && t.Environ == environ && (role == "" || t.Role == role) {
			found = append(found, t)
		}
	}
	if len(found) == 1 {
		if found[0].Err != nil {
			return found[0], found[0].Err
		}
		return found[0], nil
	}
	if len(found) == 0 && broken != nil {
		return nil, broken.Err
	}
	if role != "" {
		return nil, fmt.Errorf("%w: Topology not found for %s, %s, %s, %s", ErrTopologyNotFound, cluster, role, environ, name)
	}
	return nil, fmt.Errorf("%w: Topology not found for %s, %s, %s", ErrTopologyNotFound, cluster, environ, name)
}

// Options tunes a Tracker.
type Options struct {
	// Log receives what the tracker does; the zero logger discards.
	Log zerolog.Logger
	// OpenTimeout bounds one attempt to reach a state manager (default 10 s).
	OpenTimeout time.Duration
	// RetryInterval is the wait between attempts (default 5 s).
	RetryInterval time.Duration
	// OnChange is called (without locks held) after the state changed.
	OnChange func()
}

// Tracker watches the state managers of a Config.
type Tracker struct {
	cfg  *Config
	opts Options

	mu     sync.Mutex
	topos  map[key]*entry
	status map[string]error // per state manager: nil when watching
	seq    uint64

	dirty atomic.Bool
	snap  atomic.Pointer[Snapshot]

	readyOnce sync.Once
	ready     chan struct{}
	pending   atomic.Int32
}

type key struct{ sm, name string }

type entry struct {
	key
	cancel context.CancelFunc
	st     state
	errs   map[statemgr.Kind]error
	seen   int // how many watches reported at least once
	got    map[statemgr.Kind]bool
}

// New returns a tracker for cfg; call Run to start watching.
func New(cfg *Config, opts Options) *Tracker {
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = 10 * time.Second
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 5 * time.Second
	}
	t := &Tracker{cfg: cfg, opts: opts, topos: map[key]*entry{}, status: map[string]error{}, ready: make(chan struct{})}
	for _, sm := range cfg.StateManagers {
		t.status[sm.Name] = errors.New("not connected yet")
	}
	t.pending.Store(int32(len(cfg.StateManagers)))
	if len(cfg.StateManagers) == 0 {
		close(t.ready)
	}
	t.dirty.Store(true)
	return t
}

// Ready is closed once every state manager has either listed its
// topologies (and each topology's nodes were read once) or failed a first time.
func (t *Tracker) Ready() <-chan struct{} { return t.ready }

func (t *Tracker) doneOne() {
	if t.pending.Add(-1) == 0 {
		t.readyOnce.Do(func() { close(t.ready) })
	}
}

// Status reports each state manager's health: nil when it is being watched.
func (t *Tracker) Status() map[string]error {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]error, len(t.status))
	for k, v := range t.status {
		out[k] = v
	}
	return out
}

// Run watches every state manager until ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, sm := range t.cfg.StateManagers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.runStore(ctx, sm)
		}()
	}
	wg.Wait()
	return nil
}

func (t *Tracker) setStatus(name string, err error) {
	t.mu.Lock()
	t.status[name] = err
	t.mu.Unlock()
}

func (t *Tracker) runStore(ctx context.Context, sm StateManager) {
	log := t.opts.Log.With().Str("statemgr", sm.Name).Logger()
	first := true
	markReady := func() {
		if first {
			first = false
			t.doneOne()
		}
	}
	defer markReady()
	uri, err := sm.URI()
	if err != nil {
		t.setStatus(sm.Name, err)
		log.Error().Err(err).Msg("state manager not usable")
		return
	}
	for ctx.Err() == nil {
		err := t.watchStore(ctx, sm, uri, log, markReady)
		if ctx.Err() != nil {
			return
		}
		t.setStatus(sm.Name, err)
		log.Warn().Err(err).Str("uri", uri).Dur("retry_in", t.opts.RetryInterval).Msg("state manager unavailable; retrying")
		markReady()
		select {
		case <-ctx.Done():
			return
		case <-time.After(t.opts.RetryInterval):
		}
	}
}

// watchStore opens one state manager and follows its topologies until the
// watch ends. Topologies of that state manager are dropped when it ends.
func (t *Tracker) watchStore(ctx context.Context, sm StateManager, uri string, log zerolog.Logger, markReady func()) error {
	octx, cancel := context.WithTimeout(ctx, t.opts.OpenTimeout)
	opts := statemgr.DefaultOptions()
	opts.InitTree = false // the tracker only reads
	opts.ConnectionTimeout = t.opts.OpenTimeout
	store, err := statemgr.Open(octx, uri, opts)
	cancel()
	if err != nil {
		return fmt.Errorf("open %s: %w", uri, err)
	}
	defer store.Close()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	defer t.dropAll(sm.Name)
	ch, err := store.WatchChildren(wctx, statemgr.Topologies)
	if err != nil {
		return fmt.Errorf("watch %s/topologies: %w", uri, err)
	}
	t.setStatus(sm.Name, nil)
	log.Info().Str("uri", uri).Msg("watching state manager")
	first := true
	for ev := range ch {
		if ev.Type != statemgr.EventChildren {
			continue
		}
		var initial sync.WaitGroup
		t.sync(wctx, store, sm.Name, ev.Children, &initial, log)
		if first {
			// First list: wait (bounded) until each topology's nodes were read once.
			waitTimeout(&initial, t.opts.OpenTimeout)
			first = false
		}
		markReady()
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("watch of %s/topologies ended", uri)
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// sync adds and removes topologies so that the state manager's set is names.
func (t *Tracker) sync(ctx context.Context, store statemgr.Store, sm string, names []string, initial *sync.WaitGroup, log zerolog.Logger) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	t.mu.Lock()
	for k, e := range t.topos {
		if k.sm == sm && !want[k.name] {
			e.cancel()
			delete(t.topos, k)
			log.Info().Str("topology", k.name).Msg("topology removed")
		}
	}
	var added []*entry
	for _, n := range names {
		k := key{sm, n}
		if _, ok := t.topos[k]; ok {
			continue
		}
		ectx, cancel := context.WithCancel(ctx)
		e := &entry{key: k, cancel: cancel, errs: map[statemgr.Kind]error{}, got: map[statemgr.Kind]bool{}}
		t.topos[k] = e
		added = append(added, e)
		e.start(ectx, t, store, initial)
	}
	t.mu.Unlock()
	for _, e := range added {
		log.Info().Str("topology", e.name).Msg("topology added")
	}
	t.changed()
}

func (t *Tracker) dropAll(sm string) {
	t.mu.Lock()
	for k, e := range t.topos {
		if k.sm == sm {
			e.cancel()
			delete(t.topos, k)
		}
	}
	t.mu.Unlock()
	t.changed()
}

func (t *Tracker) changed() {
	t.dirty.Store(true)
	if t.opts.OnChange != nil {
		t.opts.OnChange()
	}
}

// start watches the five nodes of a topology (t.mu is held). initial is
// released once every node was reported once.
func (e *entry) start(ctx context.Context, t *Tracker, store statemgr.Store, initial *sync.WaitGroup) {
	initial.Add(1)
	var once sync.Once
	release := func() { once.Do(initial.Done) }
	for _, kind := range watched {
		ch, err := store.Watch(ctx, kind, e.name)
		if err != nil {
			e.errs[kind] = fmt.Errorf("watch %s/%s: %w", kind, e.name, err)
			e.got[kind] = true
			if e.seen++; e.seen == len(watched) {
				release()
			}
			continue
		}
		go func() {
			for ev := range ch {
				switch ev.Type {
				case statemgr.EventCreated, statemgr.EventChanged:
					t.apply(e, kind, ev.Data, release)
				case statemgr.EventDeleted:
					t.apply(e, kind, nil, release)
				}
			}
		}()
	}
}

// apply records a node's new bytes (nil: deleted) and marks the snapshot stale.
func (t *Tracker) apply(e *entry, kind statemgr.Kind, data []byte, release func()) {
	var msg proto.Message
	var err error
	if data != nil {
		msg, err = nodes.Decode(kind, data)
		if err != nil {
			err = fmt.Errorf("corrupt state node %s/%s: %w", kind, e.name, err)
			t.opts.Log.Warn().Err(err).Str("statemgr", e.sm).Msg("topology state does not parse")
		}
	}
	t.mu.Lock()
	if t.topos[e.key] != e { // removed meanwhile
		t.mu.Unlock()
		return
	}
	if err != nil {
		e.errs[kind] = err
	} else {
		delete(e.errs, kind)
		switch kind {
		case statemgr.PhysicalPlans:
			e.st.pplan, _ = msg.(*systempb.PhysicalPlan)
		case statemgr.PackingPlans:
			e.st.packing, _ = msg.(*systempb.PackingPlan)
		case statemgr.ExecutionState:
			e.st.exec, _ = msg.(*systempb.ExecutionState)
		case statemgr.TManagers:
			e.st.tmanager, _ = msg.(*tmanagerpb.TManagerLocation)
		case statemgr.Schedulers:
			e.st.sched, _ = msg.(*schedulerpb.SchedulerLocation)
		}
	}
	if !e.got[kind] {
		e.got[kind] = true
		e.seen++
	}
	all := e.seen == len(watched)
	t.mu.Unlock()
	if all {
		release()
	}
	t.changed()
}

// Snapshot returns the current state, rebuilding it if something changed.
func (t *Tracker) Snapshot() *Snapshot {
	if !t.dirty.Load() {
		if s := t.snap.Load(); s != nil {
			return s
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.dirty.Load() {
		if s := t.snap.Load(); s != nil {
			return s
		}
	}
	t.dirty.Store(false)
	t.seq++
	prev := t.snap.Load()
	old := map[key]*Topology{}
	if prev != nil {
		for _, tp := range prev.Topologies {
			old[key{tp.StateManager, tp.Name}] = tp
		}
	}
	s := &Snapshot{Seq: t.seq}
	for _, sm := range t.cfg.StateManagers {
		s.Clusters = append(s.Clusters, sm.Name)
	}
	for k, e := range t.topos {
		s.Topologies = append(s.Topologies, t.topology(k, e, old[k]))
	}
	sort.Slice(s.Topologies, func(i, j int) bool {
		a, b := s.Topologies[i], s.Topologies[j]
		if a.StateManager != b.StateManager {
			return a.StateManager < b.StateManager
		}
		return a.Name < b.Name
	})
	t.snap.Store(s)
	return s
}

// builtFrom remembers what a Topology was rendered from, so an unchanged
// topology is not rendered again.
type builtFrom struct {
	st   state
	errs string
}

func errText(errs map[statemgr.Kind]error) string {
	if len(errs) == 0 {
		return ""
	}
	var parts []string
	for _, k := range watched {
		if err := errs[k]; err != nil {
			parts = append(parts, err.Error())
		}
	}
	return strings.Join(parts, "; ")
}

// topology renders an entry, reusing the previous Topology when its inputs
// did not change (protos are replaced, never mutated, so pointers compare).
func (t *Tracker) topology(k key, e *entry, prev *Topology) *Topology {
	et := errText(e.errs)
	from := builtFrom{st: e.st, errs: et}
	if prev != nil && prev.from == from {
		return prev
	}
	tp := &Topology{Name: k.name, StateManager: k.sm, TManager: e.st.tmanager, from: from}
	if e.st.exec != nil {
		tp.Cluster, tp.Environ, tp.Role = e.st.exec.GetCluster(), e.st.exec.GetEnviron(), e.st.exec.GetRole()
	}
	if p := e.st.pplan; p != nil {
		for _, s := range p.GetTopology().GetSpouts() {
			tp.Components = append(tp.Components, s.GetComp().GetName())
		}
		for _, b := range p.GetTopology().GetBolts() {
			tp.Components = append(tp.Components, b.GetComp().GetName())
		}
	}
	if e.st.exec != nil {
		v, idx, sidx, err := buildViews(k.name, &e.st, t.cfg.ExtraLinks)
		if err != nil {
			tp.Err = err
		} else {
			tp.Views, tp.Instances, tp.StMgrs = v, idx, sidx
		}
	}
	if et != "" {
		tp.Err = errors.New(et)
	}
	return tp
}
