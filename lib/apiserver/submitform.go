package apiserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Bounds on the non-file parts of a submit form.
const (
	maxFieldBytes = 64 << 10
	maxFields     = 1000
	maxDefnBytes  = 64 << 20
)

// submitForm is a submit request read from its multipart body: small fields
// in memory, the two files on disk under fixed names in dir.
type submitForm struct {
	fields   map[string]string
	dir      string
	defn     string // path of the saved definition part
	topology string // path of the saved topology part
	topoName string // the client's file name for it, made safe
}

// readSubmitForm streams a submit's multipart body. Files go to disk as
// they arrive (bounded by the upload limit); the first value of a field
// wins, as in Heron. A cluster field naming another cluster stops the
// reading at once.
func (s *Server) readSubmitForm(w http.ResponseWriter, r *http.Request, work string) (*submitForm, *formError) {
	limit := s.opts.MaxUploadBytes
	f := &submitForm{}
	if r.ContentLength > limit+maxDefnBytes+formSlack {
		return nil, &formError{status: http.StatusRequestEntityTooLarge, err: s.tooLargeErr()}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+maxDefnBytes+formSlack)
	mr, err := multipartReader(r)
	if err != nil {
		return nil, &formError{status: http.StatusBadRequest,
			err: fmt.Errorf("want a multipart/form-data body with Heron's submit fields: %v", err)}
	}
	f.fields, f.dir = map[string]string{}, filepath.Join(work, "in")
	if err := os.Mkdir(f.dir, 0o700); err != nil {
		return nil, &formError{status: http.StatusInternalServerError, err: err}
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, s.readError(err)
		}
		name := part.FormName()
		if name == "" || seen[name] {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, s.readError(err)
			}
			continue
		}
		seen[name] = true
		switch name {
		case fieldDefinition:
			f.defn = filepath.Join(f.dir, "definition")
			if err := saveTo(f.defn, part, maxDefnBytes); err != nil {
				if errors.Is(err, ErrTooLarge) {
					return nil, &formError{status: http.StatusRequestEntityTooLarge,
						err: fmt.Errorf("the definition is larger than %s; is it a topology .defn?", formatBytes(maxDefnBytes))}
				}
				return nil, s.readError(err)
			}
		case fieldTopology:
			f.topology = filepath.Join(f.dir, "topology")
			f.topoName = SafeBaseName(part.FileName())
			if part.FileName() == "" {
				f.topoName = ""
			}
			if err := saveTo(f.topology, part, limit); err != nil {
				return nil, s.readError(err)
			}
		default:
			if len(f.fields) >= maxFields {
				return nil, &formError{status: statusUnprocessable, err: fmt.Errorf("more than %d form fields", maxFields)}
			}
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return nil, s.readError(err)
			}
			if len(b) > maxFieldBytes {
				return nil, &formError{status: statusUnprocessable,
					err: fmt.Errorf("form field %s is longer than %s", quote(name), formatBytes(maxFieldBytes))}
			}
			f.fields[name] = string(b)
			if name == fieldCluster && !strings.EqualFold(string(b), s.opts.Cluster) {
				return nil, &formError{status: statusUnprocessable,
					err: fmt.Errorf("Unknown cluster %s expecting '%s'", string(b), s.opts.Cluster)}
			}
		}
	}
	var missing []string
	for _, k := range requiredSubmitFields {
		_, ok := f.fields[k]
		switch k {
		case fieldDefinition:
			ok = f.defn != ""
		case fieldTopology:
			ok = f.topology != ""
		}
		if !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, &formError{status: statusUnprocessable, missing: missing,
			err: fmt.Errorf("Validation failed missing required params: [%s]", strings.Join(missing, ", "))}
	}
	for _, p := range []struct{ what, key string }{{"topology name", fieldName}, {"role", fieldRole}} {
		if err := checkName(p.what, f.fields[p.key], false); err != nil {
			return nil, &formError{status: statusUnprocessable, err: err}
		}
	}
	if err := checkName("environment", f.fields[fieldEnvironment], true); err != nil {
		return nil, &formError{status: statusUnprocessable, err: err}
	}
	if err := checkName("user", f.fields[fieldUser], true); err != nil {
		return nil, &formError{status: statusUnprocessable, err: err}
	}
	if f.topoName == "" {
		f.topoName = f.fields[fieldName] + ".yaml"
	}
	return f, nil
}

func (s *Server) tooLargeErr() error {
	return fmt.Errorf("upload larger than the limit of %s; raise heron-apiserver --max-upload-size", formatBytes(s.opts.MaxUploadBytes))
}

// readError classifies a failure while reading the body.
func (s *Server) readError(err error) *formError {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return &formError{status: http.StatusRequestEntityTooLarge, err: s.tooLargeErr()}
	case isClientError(err):
		return &formError{status: http.StatusBadRequest, err: fmt.Errorf("malformed multipart body: %v", err)}
	}
	return &formError{status: http.StatusInternalServerError, err: err}
}

// saveTo streams r into a new file, at most limit bytes.
func saveTo(path string, r io.Reader, limit int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = copyLimited(f, r, limit)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
