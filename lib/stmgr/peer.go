package stmgr

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// peer is the outgoing connection to another container's stream manager.
// Tuples for the peer's tasks queue here while it is unreachable (back
// pressure stops the spouts); it reconnects whenever the peer comes back,
// possibly at a new address.
type peer struct {
	m       *Manager
	id      int32
	name    string
	q       *Queue
	mu      sync.Mutex
	addr    string
	conn    net.Conn
	changed chan struct{}

	tuplesTo, bytesTo, lost, connects atomic.Int64
}

func (p *peer) setAddr(a string) {
	p.mu.Lock()
	if p.addr == a {
		p.mu.Unlock()
		return
	}
	p.addr = a
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.Close() // reconnect to the new address
	}
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

func (p *peer) closeConn() {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (p *peer) run() {
	defer p.m.wg.Done()
	backoff := 50 * time.Millisecond
	for p.m.ctx.Err() == nil {
		p.mu.Lock()
		addr := p.addr
		p.mu.Unlock()
		if addr == "" {
			select {
			case <-p.m.ctx.Done():
				return
			case <-p.changed:
			}
			continue
		}
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, err := d.DialContext(p.m.ctx, "tcp", addr)
		if err != nil {
			select {
			case <-p.m.ctx.Done():
				return
			case <-p.changed:
			case <-time.After(backoff):
			}
			if backoff *= 2; backoff > 2*time.Second {
				backoff = 2 * time.Second
			}
			continue
		}
		backoff = 50 * time.Millisecond
		p.connects.Add(1)
		p.mu.Lock()
		p.conn = conn
		p.mu.Unlock()
		p.q.setLossy(false)
		err = p.serve(conn)
		conn.Close()
		p.mu.Lock()
		p.conn = nil
		p.mu.Unlock()
		if p.m.ctx.Err() == nil {
			p.m.log.Info().Str("peer", p.name).Err(err).Msg("connection to peer lost; reconnecting")
			// While the peer is away its queue may fill; past the hard
			// limit new tuples for it are dropped instead of stalling
			// the bolts that produce them.
			p.q.setLossy(true)
		}
	}
}

type hello struct {
	Container  int32  `json:"container"`
	TopologyID string `json:"topology_id"`
}

func (p *peer) serve(conn net.Conn) error {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	w := bufio.NewWriterSize(conn, 256<<10)
	h, _ := json.Marshal(hello{Container: p.m.me, TopologyID: p.m.cfg.TopologyID})
	if err := writeHello(w, h); err != nil {
		return err
	}
	if p.m.bp.initiating() {
		if err := writeBatchFrame(w, &batch{enc: encBP, n: 1}); err != nil {
			return err
		}
	}
	// The peer never writes on this connection: a read returning means it
	// is gone, which we learn before the next write would.
	go func() {
		var b [1]byte
		_, _ = conn.Read(b[:])
		conn.Close()
	}()
	bs := make([]*batch, 0, 64)
	for {
		bs = p.q.pop(bs[:0])
		if bs == nil {
			return errClosed
		}
		for i, b := range bs {
			if err := writeBatchFrame(w, b); err != nil {
				// The frames buffered before it may or may not have
				// arrived: they are lost (at most once).
				p.drop(bs[:i], true)
				p.q.unget(bs[i:])
				return err
			}
		}
		if err := w.Flush(); err != nil {
			// Frames may or may not have arrived; resend none of them
			// (at most once).
			p.drop(bs, true)
			return err
		}
		p.drop(bs, false)
	}
}

// drop releases batches written to the peer, counting their tuples as sent
// or, when the write failed, as lost.
func (p *peer) drop(bs []*batch, lost bool) {
	for i, b := range bs {
		if b.enc == encRaw || b.enc == encJSON {
			if lost {
				p.lost.Add(int64(b.n))
			} else {
				p.tuplesTo.Add(int64(b.n))
				p.bytesTo.Add(int64(len(b.buf)))
			}
		}
		bs[i] = nil
		putBatch(b)
	}
}

// Serve accepts the connections of peer stream managers on ln until the
// manager closes or ln is closed (then it returns nil).
func (m *Manager) Serve(ln net.Listener) error {
	go func() {
		<-m.ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if m.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		m.connMu.Lock()
		m.conns[c] = true
		m.connMu.Unlock()
		go func() {
			err := m.receive(c)
			if err != nil && m.ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				m.log.Info().Err(err).Str("remote", c.RemoteAddr().String()).Msg("peer connection closed")
			}
			c.Close()
			m.connMu.Lock()
			delete(m.conns, c)
			m.connMu.Unlock()
		}()
	}
}

func (m *Manager) intern(s string) string {
	if v, ok := m.streams[s]; ok {
		return v
	}
	return s
}

// receive reads the frames a peer sends and delivers them locally.
func (m *Manager) receive(c net.Conn) error {
	r := bufio.NewReaderSize(c, 256<<10)
	f, err := readFrame(r, m.intern)
	if err != nil {
		return err
	}
	if f.typ != frameHello {
		return fmt.Errorf("peer did not say hello")
	}
	var h hello
	if err := json.Unmarshal(f.hello, &h); err != nil {
		return fmt.Errorf("bad hello: %w", err)
	}
	if h.TopologyID != m.cfg.TopologyID {
		return fmt.Errorf("peer %s belongs to topology %q, not %q", StmgrID(h.Container), h.TopologyID, m.cfg.TopologyID)
	}
	// A new connection starts uncongested: the peer says at once if it
	// is not, and an older connection's state is stale.
	m.connMu.Lock()
	m.from[h.Container] = c
	m.bp.setRemote(h.Container, false)
	m.connMu.Unlock()
	// remote sets the peer's back pressure if c is still its connection
	// (end: c is closing, so it no longer is).
	remote := func(on, end bool) {
		m.connMu.Lock()
		defer m.connMu.Unlock()
		if m.from[h.Container] != c {
			return
		}
		if end {
			delete(m.from, h.Container)
		}
		m.bp.setRemote(h.Container, on)
	}
	defer remote(false, true)
	for {
		f, err := readFrame(r, m.intern)
		if err != nil {
			return err
		}
		switch f.typ {
		case frameBP:
			remote(f.bp, false)
		case frameAck:
			b := f.body
			for i := 0; i+ackRecord <= len(b.buf); i += ackRecord {
				kind, task, key, value := parseAck(b.buf[i : i+ackRecord])
				m.applyAck(kind, task, key, value)
			}
			m.srv.acksFromPeers.Add(int64(b.n))
			putBatch(b)
		case frameData:
			b := f.body
			t := m.plan.Task(f.dst)
			src := m.plan.Task(f.src)
			if t == nil || src == nil || m.locals[t.Slot] == nil {
				putBatch(b)
				return fmt.Errorf("peer %s sent tuples for task %d, which is not ours", StmgrID(h.Container), f.dst)
			}
			st := src.Component.Output(f.stream)
			if st == nil {
				putBatch(b)
				continue
			}
			b.src, b.dst, b.stream, b.enc, b.n = f.src, f.dst, st, f.enc, f.n
			m.srv.fromStmgrs.Add(int64(f.n))
			m.srv.bytesFromStmgrs.Add(int64(len(b.buf)))
			m.locals[t.Slot].in.push(b, true, false)
		}
	}
}
