package daemon

import (
	"net"
	"os"
)

// Notify sends state (READY=1, STOPPING=1, STATUS=...) to systemd's
// notification socket named by NOTIFY_SOCKET, as sd_notify does for units
// with Type=notify. Without NOTIFY_SOCKET it does nothing; errors are for
// logging only, the daemon runs on regardless.
func Notify(state string) error {
	return NotifySocket(os.Getenv("NOTIFY_SOCKET"), state)
}

// NotifySocket is Notify with the socket given: a path, or a name starting
// with '@' for the abstract namespace. An empty socket is a no-op.
func NotifySocket(socket, state string) error {
	if socket == "" {
		return nil
	}
	if socket[0] == '@' {
		socket = "\x00" + socket[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
