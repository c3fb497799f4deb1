package instance

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// LogFile is an instance's log in Heron's naming: <base>.0 is the current
// file, older ones are <base>.1 ... <base>.<files-1>. It rotates when the
// current file would pass maxBytes.
type LogFile struct {
	mu    sync.Mutex
	base  string
	f     *os.File
	size  int64
	max   int64
	files int
}

// OpenLog opens (appending) <base>.0, creating its directory.
func OpenLog(base string, maxBytes int64, files int) (*LogFile, error) {
	if files < 1 {
		files = 1
	}
	if maxBytes <= 0 {
		maxBytes = 100 << 20
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return nil, err
	}
	l := &LogFile{base: base, max: maxBytes, files: files}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// Path is the current file.
func (l *LogFile) Path() string { return l.base + ".0" }

func (l *LogFile) open() error {
	f, err := os.OpenFile(l.Path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		// A failed rotation leaves the current file open: writing goes
		// on there and the next write tries again.
		if err := l.rotate(); err != nil && l.f == nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate renames the files while the current one stays open (so it can be
// kept if a rename fails), then opens a new current file.
func (l *LogFile) rotate() error {
	for i := l.files - 1; i >= 1; i-- {
		from := fmt.Sprintf("%s.%d", l.base, i-1)
		to := fmt.Sprintf("%s.%d", l.base, i)
		if _, err := os.Stat(from); err == nil {
			if err := os.Rename(from, to); err != nil {
				return err
			}
		}
	}
	l.f.Close()
	l.f = nil
	if l.files == 1 {
		_ = os.Remove(l.Path())
	}
	return l.open()
}

// Close closes the file; later writes fail.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
