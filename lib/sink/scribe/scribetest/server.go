// Package scribetest is a Scribe server for tests: Thrift's own server
// (TSimpleServer, framed transport, binary protocol) on a free port of
// 127.0.0.1, keeping every entry it is sent.
package scribetest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/heronkit/heronkit/lib/sink/scribe/scribethrift"
)

// Server is a running (or stopped) Scribe server.
type Server struct {
	t    testing.TB
	addr string

	mu       sync.Mutex
	entries  []*scribethrift.LogEntry
	calls    int
	tryLater int
	srv      *thrift.TSimpleServer
	ln       *trackingListener
	served   chan struct{}
}

// Start starts a server on a free port; it is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, addr: ln.Addr().String()}
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

func (s *Server) serve(ln net.Listener) {
	tl := &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}
	addr := ln.Addr()
	st := thrift.NewTServerSocketFromFactoryTimeout(func(net.Addr) (net.Listener, error) { return tl, nil }, addr, 0)
	conf := &thrift.TConfiguration{}
	srv := thrift.NewTSimpleServer4(scribethrift.NewScribeProcessor(handler{s}), st,
		thrift.NewTFramedTransportFactoryConf(thrift.NewTTransportFactory(), conf),
		thrift.NewTBinaryProtocolFactoryConf(conf))
	srv.SetLogContext(context.Background())
	if err := srv.Listen(); err != nil {
		s.t.Fatalf("scribe server: %v", err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.AcceptLoop()
	}()
	s.mu.Lock()
	s.srv, s.ln, s.served = srv, tl, served
	s.mu.Unlock()
}

// Stop stops the server and drops its connections, like a crash of the
// destination. A stopped server refuses connections.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, tl, served := s.srv, s.ln, s.served
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	tl.closeAll()
	_ = srv.Stop()
	<-served
}

// Restart starts a stopped server again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// The port was just released; it is normally free at once.
	for i := 0; i < 100; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("scribe server restart: %v", err)
	}
	s.serve(ln)
}

// TryLater makes the next n Log calls answer TRY_LATER (and keep nothing).
func (s *Server) TryLater(n int) {
	s.mu.Lock()
	s.tryLater = n
	s.mu.Unlock()
}

// Entries returns a copy of the entries received so far.
func (s *Server) Entries() []*scribethrift.LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*scribethrift.LogEntry(nil), s.entries...)
}

// Calls returns how many Log calls arrived.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// WaitEntries waits until at least n entries arrived.
func (s *Server) WaitEntries(n int, timeout time.Duration) ([]*scribethrift.LogEntry, error) {
	deadline := time.Now().Add(timeout)
	for {
		e := s.Entries()
		if len(e) >= n {
			return e, nil
		}
		if time.Now().After(deadline) {
			return e, fmt.Errorf("scribe server got %d entries in %s, want %d", len(e), timeout, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type handler struct{ s *Server }

func (h handler) Log(_ context.Context, msgs []*scribethrift.LogEntry) (scribethrift.ResultCode, error) {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.tryLater > 0 {
		s.tryLater--
		return scribethrift.ResultCode_TRY_LATER, nil
	}
	s.entries = append(s.entries, msgs...)
	return scribethrift.ResultCode_OK, nil
}

// trackingListener remembers accepted connections so that Stop can cut them
// (Thrift's server waits for its clients to hang up).
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	return c, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.Listener.Close()
	for c := range l.conns {
		c.Close()
	}
}
