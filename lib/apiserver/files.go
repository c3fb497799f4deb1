package apiserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrTooLarge is returned when an upload passes the size limit.
var ErrTooLarge = errors.New("upload too large")

// FileStore keeps uploaded packages in one directory. Every name is made by
// the store (a random id plus a cleaned copy of the client's base name, as
// Heron's <uuid>-<filename>); the client's path is never used, and every
// access goes through an os.Root so no name can reach outside the directory.
type FileStore struct {
	dir  string
	root *os.Root
}

// OpenFileStore creates dir when needed and opens it.
func OpenFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("no upload directory: set heron.apiserver.http.file.system.directory or --upload-dir")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("create upload directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open upload directory: %w", err)
	}
	return &FileStore{dir: abs, root: root}, nil
}

// Dir is the store's absolute directory.
func (s *FileStore) Dir() string { return s.dir }

// Close releases the directory handle.
func (s *FileStore) Close() error { return s.root.Close() }

// maxNameLen bounds the kept part of a client's file name.
const maxNameLen = 100

// SafeBaseName reduces a client-supplied file name to a harmless base name:
// the last path element (either slash), only letters, digits, '.', '_' and
// '-', no leading dots, at most 100 bytes. An empty result becomes "file".
func SafeBaseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if len(out) > maxNameLen {
		out = out[len(out)-maxNameLen:]
		out = strings.TrimLeft(out, ".")
	}
	if out == "" {
		return "file"
	}
	return out
}

// newID returns a random version-4 UUID, as Heron names uploads.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Put streams r into a new file named "<uuid>-<SafeBaseName(clientName)>"
// and returns that name and the byte count. At most limit bytes are
// accepted (limit <= 0: no limit); past it Put stops reading, removes the
// partial file and returns ErrTooLarge. The file becomes visible under its
// final name only when complete and synced.
func (s *FileStore) Put(r io.Reader, clientName string, limit int64) (string, int64, error) {
	name := newID() + "-" + SafeBaseName(clientName)
	tmp := ".part-" + newID()
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			_ = s.root.Remove(tmp)
		}
	}()
	n, err := copyLimited(f, r, limit)
	if err != nil {
		return "", n, err
	}
	if err := f.Sync(); err != nil {
		return "", n, err
	}
	if err := f.Close(); err != nil {
		return "", n, err
	}
	if err := s.root.Rename(tmp, name); err != nil {
		return "", n, err
	}
	ok = true
	return name, n, nil
}

// copyLimited copies at most limit bytes and fails with ErrTooLarge when the
// source holds more. It reads one byte past the limit to tell.
func copyLimited(w io.Writer, r io.Reader, limit int64) (int64, error) {
	if limit <= 0 {
		return io.Copy(w, r)
	}
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, ErrTooLarge
	}
	return n, nil
}

// ValidName reports whether name can be a stored file's name: one path
// element of safe characters, not hidden (partial uploads start with a dot).
func ValidName(name string) bool {
	if name == "" || len(name) > 200 || name[0] == '.' {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// Open opens a stored file for reading. Names that are not ValidName, and
// anything but a regular file, are fs.ErrNotExist.
func (s *FileStore) Open(name string) (*os.File, fs.FileInfo, error) {
	if !ValidName(name) {
		return nil, nil, fs.ErrNotExist
	}
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fs.ErrNotExist
		}
		return nil, nil, err
	}
	return f, st, nil
}

// Remove deletes a stored file (used when a submit that uploaded to this
// server rolls back).
func (s *FileStore) Remove(name string) error {
	if !ValidName(name) {
		return fs.ErrNotExist
	}
	return s.root.Remove(name)
}

// CleanPartial removes partial uploads older than age, left by a crash.
func (s *FileStore) CleanPartial(age time.Duration) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".part-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			_ = s.root.Remove(e.Name())
		}
	}
}
