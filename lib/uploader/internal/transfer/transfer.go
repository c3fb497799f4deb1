// Package transfer holds what the remote uploaders (sftp, s3, hdfs) share:
// temporary names that readers never mistake for a package, a progress line
// on a terminal for large files, and one-line errors that name the remote and
// the kind of failure with the matching exit code.
package transfer

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// TempMarker is in every temporary name, so that stale temporaries from a
// killed upload can be recognised (and are never matched as packages).
const TempMarker = ".heron-tmp-"

// TempName is a hidden sibling of the remote path final, unique per upload:
// the bytes go there first and are renamed over final only when complete.
func TempName(final string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	dir, base := path.Split(final)
	return dir + "." + base + TempMarker + hex.EncodeToString(b[:])
}

// IsTempOf reports whether name (a base name) is a temporary of final's base name.
func IsTempOf(name, final string) bool {
	return strings.HasPrefix(name, "."+path.Base(final)+TempMarker)
}

// StaleAfter is how old a temporary must be before an upload of the same
// package removes it: older than any upload still running, so a concurrent
// upload is never broken.
const StaleAfter = time.Hour

// ProgressMin is the smallest file that gets a progress line.
const ProgressMin = 16 << 20

// Progress wraps r so that reading it draws a progress line on w, when w is
// a terminal and total is at least ProgressMin; otherwise it returns r as is.
// Call the returned done when the transfer ends, whatever the outcome.
func Progress(w io.Writer, label string, total int64, r io.Reader) (io.Reader, func()) {
	f, ok := w.(*os.File)
	if !ok || total < ProgressMin || !isatty.IsTerminal(f.Fd()) {
		return r, func() {}
	}
	p := &progress{w: w, label: label, total: total, start: time.Now()}
	return &progressReader{r: r, p: p}, p.finish
}

// ProgressWriter is Progress for code that writes (an io.ReaderFrom target):
// it returns a writer that counts what passes through it.
func ProgressWriter(w io.Writer, label string, total int64, dst io.Writer) (io.Writer, func()) {
	f, ok := w.(*os.File)
	if !ok || total < ProgressMin || !isatty.IsTerminal(f.Fd()) {
		return dst, func() {}
	}
	p := &progress{w: w, label: label, total: total, start: time.Now()}
	return &progressWriter{w: dst, p: p}, p.finish
}

type progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int64
	done  int64
	start time.Time
	last  time.Time
	drawn bool
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	secs := time.Since(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(p.done) / secs / (1 << 20)
	}
	fmt.Fprintf(p.w, "\r%s: %3d%% %d/%d MiB %.1f MiB/s ", p.label, p.done*100/p.total,
		p.done>>20, p.total>>20, rate)
	p.drawn = true
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(n)
	return n, err
}

type progressWriter struct {
	w io.Writer
	p *progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.add(n)
	return n, err
}

// Kinds of failure, each with its exit code and a hint.
const (
	Auth     = "authentication failed"
	Denied   = "permission denied"
	NotFound = "not found"
	Network  = "cannot reach the server"
	Config   = "bad configuration"
	Failed   = "failed"
)

var kindCodes = map[string]int{
	Auth:     exitcode.Forbidden,
	Denied:   exitcode.Forbidden,
	NotFound: exitcode.NotFound,
	Network:  exitcode.Unavailable,
	Config:   exitcode.Config,
	Failed:   exitcode.Failure,
}

// Errorf makes the one-line error every remote uploader returns:
//
//	<op> <remote>: <kind>: <cause>
//
// with the exit code of kind and hint (if any) for the user.
func Errorf(kind, op, remote string, cause error, hint string) error {
	msg := op + " " + remote + ": " + kind
	if cause != nil {
		msg += ": " + oneLine(cause.Error())
	}
	err := exitcode.Wrap(kindCodes[kind], &remoteError{msg: msg, cause: cause})
	if hint != "" {
		err = exitcode.WithHint(err, hint)
	}
	return err
}

// remoteError keeps the cause in the chain (errors.Is sees a cancelled
// context, say) while its message stays one line.
type remoteError struct {
	msg   string
	cause error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.cause }

// IsNetwork reports whether err comes from the network rather than from the
// server's answer: refused or reset connections, timeouts, unexpected EOFs.
func IsNetwork(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// ProgressCounter is Progress for clients that report what they sent by
// reading the same bytes from a side reader (minio-go's Progress option):
// reading returns at once and only counts. It is nil when no line is drawn.
func ProgressCounter(w io.Writer, label string, total int64) (io.Reader, func()) {
	f, ok := w.(*os.File)
	if !ok || total < ProgressMin || !isatty.IsTerminal(f.Fd()) {
		return nil, func() {}
	}
	p := &progress{w: w, label: label, total: total, start: time.Now()}
	return counter{p}, p.finish
}

type counter struct{ p *progress }

func (c counter) Read(b []byte) (int, error) {
	c.p.add(len(b))
	return len(b), nil
}
