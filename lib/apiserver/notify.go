package apiserver

import (
	"net"
	"os"
)

// sdNotify sends a state line (READY=1, STOPPING=1) to systemd when the
// service runs with Type=notify, i.e. when NOTIFY_SOCKET is set. Without it
// this does nothing; errors are returned for logging only.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' { // abstract socket namespace
		path = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
