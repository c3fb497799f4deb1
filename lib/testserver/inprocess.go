package testserver

import (
	"context"
	"net"
	"testing"
)

// InProcessServer is a server a test runs inside its own process (the
// tracker's, the UI's, the API server's Server types): it binds with
// Listen, answers on the listener until ctx ends, and releases what it holds
// with Close.
type InProcessServer interface {
	Listen() (net.Listener, error)
	Serve(ctx context.Context, ln net.Listener) error
	Close() error
}

// ServeInProcess binds s (its own address should be 127.0.0.1:0), serves it
// in the background and returns the bound address. At cleanup it stops s,
// waits for Serve to return (an error fails the test) and closes s.
func ServeInProcess(t testing.TB, s InProcessServer) net.Addr {
	t.Helper()
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		s.Close()
	})
	return ln.Addr()
}
