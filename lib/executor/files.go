package executor

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
)

// WritePidFile writes <dir>/<name>.pid atomically, as Heron's executor does:
// a temp file named with 12 random upper-case letters and ".heron.tmp",
// synced, then renamed.
func WritePidFile(dir, name string, pid int) error {
	var r [12]byte
	_, _ = rand.Read(r[:])
	for i := range r {
		r[i] = 'A' + r[i]%26
	}
	tmp := filepath.Join(dir, string(r[:])+".heron.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strconv.Itoa(pid)); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name+".pid")); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
