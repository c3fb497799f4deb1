package sink

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// PeerClosed reports whether the peer of a connection that never receives
// data (Graphite's plaintext port, for example) has closed it or reset it.
// TCP writes to such a connection succeed until the reset arrives, so a
// sender checks before writing rather than losing the first batch after an
// outage. It never blocks.
func PeerClosed(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var peekErr error
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case e == nil && n == 0:
			peekErr = io.EOF
		case e == nil, errors.Is(e, syscall.EAGAIN), errors.Is(e, syscall.EINTR):
		default:
			peekErr = e
		}
		return true // never wait for readability
	})
	if err != nil {
		return err
	}
	return peekErr
}
