package apiserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// formSlack is what a multipart body may hold besides the file itself:
// boundaries, part headers and small fields.
const formSlack = 1 << 20

// maxSkippedPart bounds a part the upload endpoint does not use.
const maxSkippedPart = 64 << 10

// handleUpload is Heron's POST /api/v1/file/upload: one multipart part
// named "file", stored under a generated name, answered with the download
// URL as plain text. The body is streamed to disk; past the size limit the
// upload stops at once with 413 and nothing is kept.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	limit := s.opts.MaxUploadBytes
	raw := r.Body
	if r.ContentLength > limit+formSlack {
		s.refuseLarge(w, raw, s.tooLargeErr().Error())
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+formSlack)
	mr, err := multipartReader(r)
	if err != nil {
		s.badForm(w, http.StatusBadRequest, "want a multipart/form-data body with a part named \"file\": "+err.Error())
		return
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.bodyError(w, raw, err)
			return
		}
		if part.FormName() != "file" {
			if n, _ := io.Copy(io.Discard, io.LimitReader(part, maxSkippedPart+1)); n > maxSkippedPart {
				s.badForm(w, http.StatusBadRequest, "form field "+part.FormName()+" is too large; only the part \"file\" is used")
				return
			}
			continue
		}
		name, n, err := s.files.Put(part, part.FileName(), limit)
		if err != nil {
			s.bodyError(w, raw, err)
			return
		}
		s.metrics.upBytes.Add(float64(n))
		s.log.Info().Str("file", name).Int64("bytes", n).Msg("file stored")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, s.downloadURL(r, name))
		return
	}
	s.badForm(w, http.StatusBadRequest, "the form has no part named \"file\"; send the package as multipart field \"file\"")
}

// bodyError answers a failure while reading or storing a request body.
func (s *Server) bodyError(w http.ResponseWriter, raw io.Reader, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		s.refuseLarge(w, raw, s.tooLargeErr().Error())
	case isClientError(err):
		s.badForm(w, http.StatusBadRequest, "malformed multipart body: "+err.Error())
	default:
		s.log.Error().Err(err).Msg("storing an upload failed")
		writeMessage(w, http.StatusInternalServerError, "cannot store the upload: "+err.Error())
	}
}

// isClientError tells a broken request body from a failing disk.
func isClientError(err error) bool {
	var pe *os.PathError
	var le *os.LinkError
	return !errors.As(err, &pe) && !errors.As(err, &le)
}

// How long, and how much, a refused upload is still read after the 413.
const (
	drainFor = 2 * time.Second
	maxDrain = 256 << 20
)

// refuseLarge answers 413 at once, then reads and drops what the client
// still sends for a moment (never more than maxDrain), so that it sees the
// answer: a socket closed with unread data is reset, and the reset can
// destroy the answer before the client has read it.
func (s *Server) refuseLarge(w http.ResponseWriter, raw io.Reader, msg string) {
	s.metrics.rejected.WithLabelValues("too_large").Inc()
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex()
	w.Header().Set("Connection", "close")
	writeMessage(w, http.StatusRequestEntityTooLarge, msg)
	_ = rc.Flush()
	if raw == nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(drainFor))
	_, _ = io.Copy(io.Discard, io.LimitReader(raw, maxDrain))
}

func (s *Server) badForm(w http.ResponseWriter, status int, msg string) {
	s.metrics.rejected.WithLabelValues("bad_form").Inc()
	writeMessage(w, status, msg)
}

// handleDownload is Heron's GET /api/v1/file/download/{file}. Only names the
// store made can be served, from the store's directory alone.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	f, st, err := s.files.Open(name)
	if err != nil {
		if !ValidName(name) {
			s.metrics.rejected.WithLabelValues("bad_name").Inc()
		}
		writeMessage(w, http.StatusNotFound, "no file "+quote(name)+" on this server")
		return
	}
	defer f.Close()
	s.serveFile(w, r, f, st)
}

// handleDeleteFile (ours) removes an uploaded file: the HTTP uploader's
// undo, so a failed submit leaves no package behind.
func (s *Server) handleDeleteFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if err := s.files.Remove(name); err != nil {
		writeMessage(w, http.StatusNotFound, "no file "+quote(name)+" on this server")
		return
	}
	s.log.Info().Str("file", name).Msg("file deleted")
	writeMessage(w, http.StatusOK, name+" deleted")
}

// handleDownloadCore is Heron's GET /api/v1/file/download/core: the Heron
// core package given by --heron-core-package-path.
func (s *Server) handleDownloadCore(w http.ResponseWriter, r *http.Request) {
	if s.opts.CorePackagePath == "" {
		writeMessage(w, http.StatusInternalServerError, errNoCore.Error())
		return
	}
	f, err := os.Open(s.opts.CorePackagePath)
	if err != nil {
		writeMessage(w, http.StatusNotFound, "core package "+s.opts.CorePackagePath+" cannot be read: "+err.Error())
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		writeMessage(w, http.StatusNotFound, "core package "+s.opts.CorePackagePath+" is not a regular file")
		return
	}
	s.serveFile(w, r, f, st)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f *os.File, st fs.FileInfo) {
	name := st.Name()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, name, st.ModTime(), f)
	s.metrics.downBytes.Add(float64(cw.n))
}

// countingWriter counts body bytes and keeps io.ReaderFrom (sendfile).
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{c.ResponseWriter}, r)
	}
	c.n += n
	return n, err
}

func quote(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

func formatBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// multipartReader is r.MultipartReader with a large read buffer: the
// standard one scans for the boundary in 4 KiB reads, which halves upload
// throughput. (multipart.NewReader keeps a bufio.Reader that is big enough.)
func multipartReader(r *http.Request) (*multipart.Reader, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "multipart/form-data" && mt != "multipart/mixed") {
		return nil, fmt.Errorf("content type %q is not multipart/form-data", ct)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errors.New("no multipart boundary in the content type")
	}
	return multipart.NewReader(bufio.NewReaderSize(r.Body, 256<<10), boundary), nil
}
