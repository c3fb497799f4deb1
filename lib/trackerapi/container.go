package trackerapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/tracker"
)

// maxShellBody bounds what is read from a shell before it is relayed as JSON.
const maxShellBody = 64 << 20

// shellOf finds a container's heron-shell: container N is stmgr-N.
func shellOf(t *tracker.Topology, container string) (string, error) {
	id := "stmgr-" + container
	sm, ok := t.StMgrs[id]
	if !ok {
		return "", errorf(http.StatusNotFound, "container %s: topology %s has no stream manager %s", container, t.Name, id)
	}
	if sm.ShellPort == 0 {
		return "", errorf(http.StatusServiceUnavailable, "container %s: stream manager %s reports no shell port", container, id)
	}
	return "http://" + hostPort(sm.Host, sm.ShellPort), nil
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// shellPath checks a container path the way heron-shell does and escapes it.
func shellPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
		return "", errorf(http.StatusForbidden, "Only relative paths are allowed")
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/"), nil
}

// getJSON fetches a shell URL and returns its JSON body unchanged.
func (s *Server) getJSON(r *http.Request, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u, nil)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	res, err := s.http.Do(req)
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "reach heron-shell: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxShellBody))
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "read heron-shell answer: %v", err)
	}
	if res.StatusCode >= 400 {
		code := http.StatusBadGateway
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusForbidden {
			code = res.StatusCode
		}
		return nil, errorf(code, "heron-shell %s answered HTTP %d: %s", req.URL.Path, res.StatusCode, shellError(b))
	}
	if !json.Valid(b) {
		return nil, errorf(http.StatusBadGateway, "heron-shell %s did not answer with JSON (is the path a regular file?)", req.URL.Path)
	}
	return b, nil
}

// shellError is the readable part of a shell's error answer: the "error"
// (file routes) or "stderr" (pid and process reports) of a JSON body, else
// the start of its text, so the tracker's message stays one clear line.
func shellError(b []byte) string {
	var m struct {
		Error  string `json:"error"`
		Stderr string `json:"stderr"`
	}
	if json.Unmarshal(b, &m) == nil {
		if s := strings.TrimSpace(m.Error + " " + m.Stderr); s != "" {
			return strings.Join(strings.Fields(s[:min(len(s), 300)]), " ")
		}
	}
	return strings.TrimSpace(string(b[:min(len(b), 200)]))
}

func (s *Server) fileData(r *http.Request, p *params) ([]byte, error) {
	t, err := s.topology(p)
	if err != nil {
		return nil, err
	}
	base, err := shellOf(t, p.s("container"))
	if err != nil {
		return nil, err
	}
	fp, err := shellPath(p.s("path"))
	if err != nil {
		return nil, err
	}
	return s.getJSON(r, fmt.Sprintf("%s/filedata/%s?offset=%d&length=%d", base, fp, p.i("offset"), p.i("length")))
}

func (s *Server) fileStats(r *http.Request, p *params) ([]byte, error) {
	t, err := s.topology(p)
	if err != nil {
		return nil, err
	}
	base, err := shellOf(t, p.s("container"))
	if err != nil {
		return nil, err
	}
	fp, err := shellPath(p.s("path"))
	if err != nil {
		return nil, err
	}
	return s.getJSON(r, base+"/filestats/"+fp)
}

// download streams a container file; the shell's status is passed on
// (Heron 0.20.5 answers 200 even when the shell failed).
func (s *Server) download(spec []param) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		fail := func(err error) {
			w.Header().Set("x-process-time", strconv.FormatFloat(time.Since(start).Seconds(), 'f', -1, 64))
			s.writeError(w, r, err)
		}
		p, err := parseParams(r, spec)
		if err != nil {
			fail(err)
			return
		}
		t, err := s.topology(p)
		if err != nil {
			fail(err)
			return
		}
		base, err := shellOf(t, p.s("container"))
		if err != nil {
			fail(err)
			return
		}
		fp, err := shellPath(p.s("path"))
		if err != nil {
			fail(err)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, base+"/download/"+fp, nil)
		if err != nil {
			fail(errorf(http.StatusBadRequest, "%v", err))
			return
		}
		// Downloads may be large: no overall timeout, only the request's context.
		res, err := (&http.Client{Transport: s.http.Transport}).Do(req)
		if err != nil {
			fail(errorf(http.StatusBadGateway, "reach heron-shell: %v", err))
			return
		}
		defer res.Body.Close()
		if res.StatusCode >= 400 {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
			code := http.StatusBadGateway
			if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusForbidden {
				code = res.StatusCode
			}
			fail(errorf(code, "heron-shell %s answered HTTP %d: %s", req.URL.Path, res.StatusCode, shellError(b)))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", path.Base(p.s("path"))))
		h.Set("Access-Control-Allow-Origin", "*")
		if cl := res.Header.Get("Content-Length"); cl != "" {
			h.Set("Content-Length", cl)
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, res.Body)
	}
}

// instanceShell resolves an instance id to its container's shell.
func (s *Server) instanceShell(p *params) (string, string, error) {
	t, err := s.topology(p)
	if err != nil {
		return "", "", err
	}
	in, ok := t.Instances[p.s("instance")]
	if !ok {
		return "", "", errorf(http.StatusNotFound, "topology %s has no instance %s", t.Name, p.s("instance"))
	}
	base, err := shellOf(t, strings.TrimPrefix(in.StMgr, "stmgr-"))
	if err != nil {
		return "", "", err
	}
	return base, in.ID, nil
}

func (s *Server) pid(r *http.Request, p *params) ([]byte, error) {
	base, id, err := s.instanceShell(p)
	if err != nil {
		return nil, err
	}
	return s.getJSON(r, base+"/pid/"+url.PathEscape(id))
}

// pidTool runs jstack, jmap or histo on an instance's process: the pid
// first, then the tool.
func (s *Server) pidTool(tool string) handlerFunc {
	return func(r *http.Request, p *params) ([]byte, error) {
		base, id, err := s.instanceShell(p)
		if err != nil {
			return nil, err
		}
		b, err := s.getJSON(r, base+"/pid/"+url.PathEscape(id))
		if err != nil {
			return nil, err
		}
		var out struct {
			Stdout string `json:"stdout"`
		}
		_ = json.Unmarshal(b, &out)
		pid := strings.TrimSpace(out.Stdout)
		if _, err := strconv.Atoi(pid); err != nil {
			return nil, errorf(http.StatusBadGateway, "Failed to get pid of %s (heron-shell answered %q)", id, out.Stdout)
		}
		return s.getJSON(r, base+"/"+tool+"/"+pid)
	}
}
