package executor

import (
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// The data port stays bound between two stream managers: nothing else can
// bind it, and a peer connecting in between is served by the next one.
func TestDataPortKeptAcrossLeases(t *testing.T) {
	free, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	p, err := bindDataPort(port)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	first := p.lease()
	accepted := make(chan net.Conn, 1)
	done := make(chan error, 1)
	go func() {
		for {
			c, err := first.Accept()
			if err != nil {
				done <- err
				return
			}
			accepted <- c
		}
	}()
	c1, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the first lease accepted nothing")
	}

	first.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing the lease did not end its Accept")
	}
	// Between two leases the port is still ours.
	if ln, err := net.Listen("tcp", ":"+strconv.Itoa(port)); err == nil {
		ln.Close()
		t.Fatal("another listener could bind the data port between two stream managers")
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("a peer cannot connect between two stream managers: %v", err)
	}
	defer c2.Close()
	if _, err := c2.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}

	second := p.lease()
	defer second.Close()
	c, err := second.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "hello" {
		t.Fatalf("the next stream manager read %q, %v", b, err)
	}
}
