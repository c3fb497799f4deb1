package stmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/native"
)

// Queue limits per destination (an instance's input or a peer connection),
// in bytes. Above HighWater the container starts back pressure; below
// LowWater it stops; above HardLimit producers wait.
const (
	DefaultHighWater = 4 << 20
	DefaultLowWater  = 1 << 20
	DefaultHardLimit = 32 << 20
)

// Config configures a Manager.
type Config struct {
	Plan       *Plan
	Container  int32
	TopologyID string
	Log        zerolog.Logger
	HighWater  int64
	LowWater   int64
	HardLimit  int64
}

// Manager is the stream manager of one container.
type Manager struct {
	cfg     Config
	plan    *Plan
	me      int32
	name    string
	log     zerolog.Logger
	dest    []*Queue // by task slot: the local input queue or the peer's queue
	locals  []*local // by task slot; nil for tasks of other containers
	peers   map[int32]*peer
	bp      *backPressure
	streams map[string]string
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	srv     serverStats
	started atomic.Bool

	connMu sync.Mutex
	conns  map[net.Conn]bool
	// from is the latest connection of each peer container: only it may
	// set or clear that peer's back pressure (an older one can end after
	// the peer reconnected and said it is congested).
	from map[int32]net.Conn
}

type serverStats struct {
	toWorkers, toWorkersLost, fromWorkers      atomic.Int64
	fromStmgrs, bytesFromStmgrs, acksFromPeers atomic.Int64
}

// New builds the manager for one container of the plan.
func New(cfg Config) (*Manager, error) {
	if cfg.HighWater <= 0 {
		cfg.HighWater = DefaultHighWater
	}
	if cfg.LowWater <= 0 || cfg.LowWater >= cfg.HighWater {
		cfg.LowWater = cfg.HighWater / 4
	}
	if cfg.HardLimit <= cfg.HighWater {
		cfg.HardLimit = 8 * cfg.HighWater
	}
	p := cfg.Plan
	m := &Manager{cfg: cfg, plan: p, me: cfg.Container, name: StmgrID(cfg.Container), log: cfg.Log,
		dest: make([]*Queue, len(p.Tasks)), locals: make([]*local, len(p.Tasks)), peers: map[int32]*peer{},
		bp: newBackPressure(), streams: map[string]string{}, conns: map[net.Conn]bool{}, from: map[int32]net.Conn{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for _, st := range p.Streams {
		m.streams[st.ID] = st.ID
	}
	m.bp.notify = m.broadcastBP
	for _, c := range p.Containers {
		if c == m.me {
			continue
		}
		pr := &peer{m: m, id: c, name: StmgrID(c), changed: make(chan struct{}, 1)}
		pr.q = newQueue(pr.name, cfg.HighWater, cfg.LowWater, cfg.HardLimit, m.bp.queueChanged)
		m.peers[c] = pr
	}
	timeout := time.Duration(p.MessageTimeoutSecs) * time.Second
	for _, t := range p.Tasks {
		if t.Container != m.me {
			m.dest[t.Slot] = m.peers[t.Container].q
			continue
		}
		l := &local{m: m, task: t, stats: newTaskStats(t.Component)}
		l.cond.L = &l.mu
		l.in = newQueue(t.InstanceID, cfg.HighWater, cfg.LowWater, cfg.HardLimit, m.bp.queueChanged)
		if t.Component.Spout {
			l.in.exempt = true
			l.acker = newAcker(l, p.MaxSpoutPending, timeout)
		} else if p.AtLeastOnce && t.Component.Mode == native.ModeJSON {
			l.flight = newFlight()
		}
		m.locals[t.Slot] = l
		m.dest[t.Slot] = l.in
	}
	return m, nil
}

// StmgrID is Heron's stream manager id for a container.
func StmgrID(container int32) string { return fmt.Sprintf("stmgr-%d", container) }

// Plan returns the plan the manager routes by.
func (m *Manager) Plan() *Plan { return m.plan }

// Start starts the writers to local instances and to peers.
func (m *Manager) Start() {
	if !m.started.CompareAndSwap(false, true) {
		return
	}
	for _, l := range m.locals {
		if l == nil {
			continue
		}
		m.wg.Add(1)
		go l.writeLoop()
	}
	for _, p := range m.peers {
		m.wg.Add(1)
		go p.run()
	}
	if m.plan.AtLeastOnce {
		m.wg.Add(1)
		go m.sweep()
	}
}

// Shutdown releases spout readers waiting for back pressure, activation or
// room for pending messages, so that instances can be stopped; call it
// before stopping them, and Close after.
func (m *Manager) Shutdown() {
	m.bp.close()
	for _, l := range m.locals {
		if l != nil && l.acker != nil {
			l.acker.close()
		}
	}
}

// Close stops every goroutine of the manager. Instances must have been
// stopped (their RunInstance returned) or be about to stop.
func (m *Manager) Close() {
	m.cancel()
	m.bp.close()
	for _, l := range m.locals {
		if l != nil {
			l.close()
		}
	}
	for _, p := range m.peers {
		p.q.close()
		p.closeConn()
	}
	m.connMu.Lock()
	for c := range m.conns {
		c.Close()
	}
	m.connMu.Unlock()
	m.wg.Wait()
}

// SetActive starts (true) or stops (false) the container's spouts, following
// the topology state of the physical plan.
func (m *Manager) SetActive(active bool) {
	m.bp.setActive(active)
	for _, l := range m.locals {
		if l != nil && l.task.Component.Spout && l.task.Component.Mode == native.ModeJSON {
			typ := "deactivate"
			if active {
				typ = "activate"
			}
			l.control(typ)
		}
	}
}

// SetPeers gives the data addresses (host:port) of the other containers.
func (m *Manager) SetPeers(addrs map[int32]string) {
	for id, p := range m.peers {
		if a, ok := addrs[id]; ok {
			p.setAddr(a)
		}
	}
}

// RunInstance connects a started instance process: its stdin receives the
// tuples routed to its task and its stdout is read, one tuple per line,
// until EOF. It returns once stdout is done and exited is closed (a bolt
// that writes nothing, like `cat > file`, closes stdout at once but keeps
// reading). Closing giveUp makes a spout stop waiting for back pressure or
// activation to end (its process died; what it wrote is dropped); a spout
// that finished is rather left to deliver its output. logw receives the log
// lines of a JSON-mode component.
func (m *Manager) RunInstance(task int32, stdin io.Writer, stdout io.Reader, logw io.Writer, exited, giveUp <-chan struct{}) error {
	t := m.plan.Task(task)
	if t == nil || m.locals[t.Slot] == nil {
		return fmt.Errorf("task %d does not run in container %d", task, m.me)
	}
	l := m.locals[t.Slot]
	gen := l.attach(stdin, logw)
	defer l.detach(gen)
	var stop atomic.Bool
	if giveUp != nil && l.acker != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-giveUp:
				stop.Store(true)
				m.bp.wake()
				l.acker.wake()
			case <-done:
			}
		}()
	}
	err := l.readLoop(stdout, &stop)
	if exited != nil {
		select {
		case <-exited:
		case <-m.ctx.Done():
		}
	}
	return err
}

func (m *Manager) sweep() {
	defer m.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case now := <-tick.C:
			m.expire(now)
		}
	}
}

// expire fails the spout messages and forgets the bolt-held tuples older
// than the message timeout.
func (m *Manager) expire(now time.Time) {
	timeout := time.Duration(m.plan.MessageTimeoutSecs) * time.Second
	for _, l := range m.locals {
		if l == nil {
			continue
		}
		if l.acker != nil {
			l.acker.sweep(now)
		}
		if l.flight != nil {
			l.flight.expire(now, timeout)
		}
	}
}

func (m *Manager) applyAck(kind byte, task int32, key, value uint64) {
	t := m.plan.Task(task)
	if t == nil || t.Container != m.me {
		return
	}
	if l := m.locals[t.Slot]; l != nil && l.acker != nil {
		l.acker.apply(kind, key, value)
	}
}

// broadcastBP tells every peer that this container started or stopped
// initiating back pressure. It jumps the data queued for the peer.
func (m *Manager) broadcastBP(on bool) {
	for _, p := range m.peers {
		b := &batch{enc: encBP}
		if on {
			b.n = 1
		}
		p.q.pushFront(b)
	}
}

// ackBuf gathers the acks a goroutine produces and sends them per container.
type ackBuf struct {
	m    *Manager
	open map[int32]*batch
}

func newAckBuf(m *Manager) *ackBuf { return &ackBuf{m: m, open: map[int32]*batch{}} }

func (a *ackBuf) add(kind byte, task int32, key, value uint64) {
	t := a.m.plan.Task(task)
	if t == nil {
		return
	}
	if t.Container == a.m.me {
		a.m.applyAck(kind, task, key, value)
		return
	}
	b := a.open[t.Container]
	if b == nil {
		b = &batch{enc: encAck, buf: make([]byte, 0, ackRecord*64)}
		a.open[t.Container] = b
	}
	b.buf = appendAck(b.buf, kind, task, key, value)
	b.n++
}

func (a *ackBuf) flush() {
	for c, b := range a.open {
		delete(a.open, c)
		if p := a.m.peers[c]; p != nil {
			p.q.push(b, false, false)
		}
	}
}

var errClosed = errors.New("stream manager closed")
