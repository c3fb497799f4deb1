package executor

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// dataPort is a container's data port (--server-port). The executor binds
// it once and keeps it for its whole life, lending it to the stream manager
// of each packing plan in turn. A plan change therefore never releases the
// port: nothing else (an outgoing connection given it as its ephemeral
// port, a peer dialling it and connecting to itself) can take it in
// between, which would leave the container without a stream manager and
// the topology manager waiting for it. Peers that connect between two
// stream managers wait in the kernel's accept queue for the next one.
type dataPort struct {
	ln *net.TCPListener

	mu      sync.Mutex
	cur     *portLease
	pending []net.Conn // accepted by a lease that had just ended
}

func bindDataPort(port int) (*dataPort, error) {
	ln, err := listen(port, "data")
	if err != nil {
		return nil, err
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("the data port %d is not a TCP port", port)
	}
	return &dataPort{ln: tl}, nil
}

// Close releases the port for good.
func (p *dataPort) Close() error {
	p.mu.Lock()
	for _, c := range p.pending {
		c.Close()
	}
	p.pending = nil
	p.mu.Unlock()
	return p.ln.Close()
}

// lease lends the port to one stream manager. The previous lease must be
// closed and its Accept returned (runtime.stop waits for that).
func (p *dataPort) lease() *portLease {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := &portLease{p: p}
	p.cur = l
	_ = p.ln.SetDeadline(time.Time{})
	return l
}

// portLease is the net.Listener a stream manager serves: closing it ends
// the stream manager's use of the port, not the port.
type portLease struct {
	p      *dataPort
	closed bool // guarded by p.mu
}

func (l *portLease) Accept() (net.Conn, error) {
	for {
		l.p.mu.Lock()
		if l.closed {
			l.p.mu.Unlock()
			return nil, net.ErrClosed
		}
		if n := len(l.p.pending); n > 0 {
			c := l.p.pending[0]
			l.p.pending = l.p.pending[1:]
			l.p.mu.Unlock()
			return c, nil
		}
		l.p.mu.Unlock()

		c, err := l.p.ln.Accept()
		l.p.mu.Lock()
		closed := l.closed
		if closed && c != nil {
			l.p.pending = append(l.p.pending, c) // for the next lease
		}
		l.p.mu.Unlock()
		switch {
		case closed:
			return nil, net.ErrClosed
		case err == nil:
			return c, nil
		case errors.Is(err, net.ErrClosed):
			return nil, err
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// A deadline an earlier lease set: clear it and go on.
			l.p.mu.Lock()
			if l.p.cur == l && !l.closed {
				_ = l.p.ln.SetDeadline(time.Time{})
			}
			l.p.mu.Unlock()
			continue
		}
		return nil, err
	}
}

// Close ends the lease: a pending Accept returns net.ErrClosed.
func (l *portLease) Close() error {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.p.cur == l {
		l.p.cur = nil
		// Wakes the Accept in progress without closing the socket.
		_ = l.p.ln.SetDeadline(time.Now())
	}
	return nil
}

func (l *portLease) Addr() net.Addr { return l.p.ln.Addr() }
