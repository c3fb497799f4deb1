// Package shell serves heron-shell's HTTP endpoints for one container from
// heron-executor: browsing and downloading the files of the container's
// working directory, file data in chunks, process ids from the pid files,
// and process reports that make sense for native processes (/proc views,
// and the Go runtime's own dumps for the executor) where Heron's shell ran
// jstack and jmap.
package shell

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MaxChunk bounds one /filedata answer.
const MaxChunk = 4 << 20

// Options configures the shell.
type Options struct {
	// Dir is the container's working directory; nothing outside it is served.
	Dir string
	// Secret is the topology id: remote callers of /killexecutor must send it.
	Secret string
	// Kill stops the whole container (the executor).
	Kill func()
}

// Handler returns the shell's routes.
func Handler(o Options) (http.Handler, error) {
	root, err := os.OpenRoot(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("shell: open working directory: %w", err)
	}
	s := &server{o: o, root: root}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/pid/{id}", s.pid)
	for _, r := range []string{"jstack", "jmap", "histo", "pmap"} {
		mux.HandleFunc("/"+r+"/{pid}", s.report(r))
	}
	mux.HandleFunc("/browse/", s.files(s.browse))
	mux.HandleFunc("/file/", s.files(s.file))
	mux.HandleFunc("/filedata/", s.files(s.filedata))
	mux.HandleFunc("/filestats/", s.files(s.filestats))
	mux.HandleFunc("/filestats", s.files(s.filestats))
	mux.HandleFunc("/download/", s.files(s.download))
	for _, p := range []string{"/killexecutor", "/quitquitquit", "/abortabortabort"} {
		mux.HandleFunc(p, s.kill)
	}
	return mux, nil
}

type server struct {
	o    Options
	root *os.Root
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

type cmdResult struct {
	Command string `json:"command"`
	Stdout  string `json:"stdout"`
	Stderr  string `json:"stderr"`
}

func (s *server) pid(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	res := cmdResult{Command: "cat " + id + ".pid"}
	if strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
		res.Stderr = "cat: " + id + ".pid: not an instance id"
		writeJSON(w, http.StatusBadRequest, res)
		return
	}
	b, err := s.root.ReadFile(id + ".pid")
	if err != nil {
		res.Stderr = "cat: " + id + ".pid: No such file or directory"
		writeJSON(w, http.StatusInternalServerError, res)
		return
	}
	res.Stdout = strings.TrimSpace(string(b)) + "\n"
	writeJSON(w, http.StatusOK, res)
}

// knownPid reports whether pid is one of the container's processes: named
// in a pid file, or in the process group of one.
func (s *server) knownPid(pid int) bool {
	ents, err := fs.ReadDir(s.root.FS(), ".")
	if err != nil {
		return false
	}
	pg, _ := syscall.Getpgid(pid)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".pid") {
			continue
		}
		b, err := s.root.ReadFile(e.Name())
		if err != nil {
			continue
		}
		p, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && (p == pid || (pg > 0 && p == pg)) {
			return true
		}
	}
	return false
}

// report answers Heron's jstack/jmap/histo/pmap routes natively.
func (s *server) report(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pid, err := strconv.Atoi(r.PathValue("pid"))
		if err != nil || pid <= 0 {
			http.NotFound(w, r)
			return
		}
		self := pid == os.Getpid()
		if !self && !s.knownPid(pid) {
			writeJSON(w, http.StatusNotFound, cmdResult{Command: kind + " " + strconv.Itoa(pid),
				Stderr: fmt.Sprintf("process %d is not a process of this container", pid)})
			return
		}
		proc := "/proc/" + strconv.Itoa(pid)
		var out bytes.Buffer
		var command string
		switch {
		case kind == "jstack" && self:
			command = "goroutine dump of heron-executor"
			_ = pprof.Lookup("goroutine").WriteTo(&out, 2)
		case kind == "jstack":
			command = "cat " + proc + "/status " + proc + "/task/*/stat"
			appendFile(&out, proc+"/status")
			out.WriteString("\nthreads (tid, name, state, wchan):\n")
			threads(&out, proc)
		case (kind == "jmap" || kind == "histo") && self:
			command = "Go runtime memory statistics of heron-executor"
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(&out, "HeapAlloc %d\nHeapSys %d\nHeapObjects %d\nHeapInuse %d\nStackInuse %d\nSys %d\nNumGC %d\nPauseTotalNs %d\nGoroutines %d\n\n",
				ms.HeapAlloc, ms.HeapSys, ms.HeapObjects, ms.HeapInuse, ms.StackInuse, ms.Sys, ms.NumGC, ms.PauseTotalNs, runtime.NumGoroutine())
			if kind == "histo" {
				_ = pprof.Lookup("heap").WriteTo(&out, 1)
			}
			appendFile(&out, proc+"/smaps_rollup")
		case kind == "jmap":
			command = "cat " + proc + "/smaps_rollup"
			appendFile(&out, proc+"/smaps_rollup")
		case kind == "histo":
			command = "grep ^Vm|^Rss " + proc + "/status"
			b, _ := os.ReadFile(proc + "/status")
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "Vm") || strings.HasPrefix(l, "Rss") {
					out.WriteString(l + "\n")
				}
			}
		default: // pmap
			command = "cat " + proc + "/maps"
			appendFile(&out, proc+"/maps")
		}
		writeJSON(w, http.StatusOK, cmdResult{Command: command, Stdout: out.String()})
	}
}

func appendFile(out *bytes.Buffer, p string) {
	b, err := os.ReadFile(p)
	if err != nil {
		fmt.Fprintf(out, "%s: %v\n", p, err)
		return
	}
	out.Write(b)
}

func threads(out *bytes.Buffer, proc string) {
	ents, err := os.ReadDir(proc + "/task")
	if err != nil {
		return
	}
	for _, e := range ents {
		b, err := os.ReadFile(proc + "/task/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		name, state := "", ""
		if i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')'); i >= 0 && j > i {
			name = string(b[i+1 : j])
			if f := bytes.Fields(b[j+1:]); len(f) > 0 {
				state = string(f[0])
			}
		}
		wchan, _ := os.ReadFile(proc + "/task/" + e.Name() + "/wchan")
		fmt.Fprintf(out, "%s %s %s %s\n", e.Name(), name, state, strings.TrimSpace(string(wchan)))
	}
}

// files applies heron-shell's path rule and hands the clean relative path on.
func (s *server) files(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if i := strings.IndexByte(p[1:], '/'); i >= 0 {
			p = p[i+2:]
		} else {
			p = ""
		}
		if p == "" {
			p = r.URL.Query().Get("path")
		}
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		if strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
			http.Error(w, "Only relative paths are allowed", http.StatusForbidden)
			return
		}
		p = path.Clean("./" + p)
		h(w, r, p)
	}
}

func (s *server) filedata(w http.ResponseWriter, r *http.Request, p string) {
	q := r.URL.Query()
	offset, err1 := atoiDefault(q.Get("offset"), -1)
	length, err2 := atoiDefault(q.Get("length"), -1)
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "offset and length must be integers"})
		return
	}
	f, err := s.root.Open(p)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "File " + p + " not found"})
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": p + " is not a regular file"})
		return
	}
	size := st.Size()
	if offset < 0 || offset > size {
		offset = size
	}
	if length < 0 || offset+length > size {
		length = size - offset
	}
	if length > MaxChunk {
		length = MaxChunk
	}
	buf := make([]byte, length)
	n, _ := f.ReadAt(buf, offset)
	if n == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"offset": offset, "length": 0})
		return
	}
	data := strings.ToValidUTF8(string(buf[:n]), "\uFFFD")
	data = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(data)
	writeJSON(w, http.StatusOK, map[string]any{"offset": offset, "length": len([]rune(data)), "data": data})
}

func atoiDefault(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

type statEntry struct {
	FormattedStat string `json:"formatted_stat"`
	IsDir         bool   `json:"is_dir"`
	Path          string `json:"path"`
}

func (s *server) listing(p string) (map[string]statEntry, []string, error) {
	d, err := s.root.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]statEntry{}
	var names []string
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		rel := path.Join(p, e.Name())
		out[e.Name()] = statEntry{FormattedStat: formatStat(info), IsDir: info.IsDir(), Path: url.PathEscape(rel)}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if p != "." {
		if info, err := s.root.Stat(path.Dir(p)); err == nil {
			out[".."] = statEntry{FormattedStat: formatStat(info), IsDir: true, Path: url.PathEscape(path.Dir(p))}
			names = append([]string{".."}, names...)
		}
	}
	return out, names, nil
}

// formatStat is heron-shell's `ls -l` line: type (d, s or -) and
// permissions, links, owner and group names (ids when unknown), size, and
// the modification time, or its year when that is not this year.
func formatStat(info fs.FileInfo) string {
	nlink, owner, group := uint64(1), "?", "?"
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		nlink = uint64(st.Nlink)
		owner, group = ownerName(st.Uid), groupName(st.Gid)
	}
	typ := '-'
	switch {
	case info.IsDir():
		typ = 'd'
	case info.Mode()&fs.ModeSocket != 0:
		typ = 's'
	}
	mt := info.ModTime()
	when := mt.Format("15:04")
	if mt.Year() != time.Now().Year() {
		when = strconv.Itoa(mt.Year())
	}
	return fmt.Sprintf("%c%s %3d %10s %10s %10d %s %2d %5s", typ, info.Mode().Perm().String()[1:], nlink, owner, group,
		info.Size(), mt.Format("Jan"), mt.Day(), when)
}

// Owner and group names are looked up once per id (os/user reads
// /etc/passwd and /etc/group when built without cgo).
var ownerNames, groupNames sync.Map

func ownerName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if v, ok := ownerNames.Load(id); ok {
		return v.(string)
	}
	name := id
	if u, err := user.LookupId(id); err == nil {
		name = u.Username
	}
	ownerNames.Store(id, name)
	return name
}

func groupName(gid uint32) string {
	id := strconv.FormatUint(uint64(gid), 10)
	if v, ok := groupNames.Load(id); ok {
		return v.(string)
	}
	name := id
	if g, err := user.LookupGroupId(id); err == nil {
		name = g.Name
	}
	groupNames.Store(id, name)
	return name
}

func (s *server) filestats(w http.ResponseWriter, r *http.Request, p string) {
	out, _, err := s.listing(p)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Directory " + p + " not found"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) browse(w http.ResponseWriter, r *http.Request, p string) {
	out, names, err := s.listing(p)
	if err != nil {
		if st, serr := s.root.Stat(p); serr == nil && !st.IsDir() {
			s.file(w, r, p)
			return
		}
		http.Error(w, "Directory "+p+" not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%s</title></head><body><h1>%s</h1><pre>\n", html.EscapeString(p), html.EscapeString(p))
	for _, n := range names {
		e := out[n]
		target := "/file/" + e.Path
		if e.IsDir {
			target = "/browse/" + e.Path
		}
		dl := ""
		if !e.IsDir {
			dl = fmt.Sprintf(` <a href="/download/%s">download</a>`, e.Path)
		}
		fmt.Fprintf(w, "%s <a href=\"%s\">%s</a>%s\n", html.EscapeString(e.FormattedStat), target, html.EscapeString(n), dl)
	}
	fmt.Fprint(w, "</pre></body></html>\n")
}

// file is a small log viewer that pages through /filedata.
func (s *server) file(w http.ResponseWriter, r *http.Request, p string) {
	if st, err := s.root.Stat(p); err != nil || st.IsDir() {
		http.Error(w, "File "+p+" not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	esc := url.PathEscape(p)
	fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>%[1]s</title></head><body>
<h1>%[1]s</h1><p><a href="/download/%[2]s">download</a> <button id="older">older</button></p>
<pre id="data"></pre>
<script>
const chunk = 65536; let start = -1;
async function load(offset, length) {
  const r = await fetch('/filedata/%[2]s?offset=' + offset + '&length=' + length);
  return r.json();
}
async function tail() {
  const end = await load(-1, 0);
  start = Math.max(0, end.offset - chunk);
  const d = await load(start, end.offset - start);
  document.getElementById('data').innerHTML = d.data || '';
}
document.getElementById('older').onclick = async () => {
  if (start <= 0) return;
  const from = Math.max(0, start - chunk);
  const d = await load(from, start - from);
  start = from;
  document.getElementById('data').innerHTML = (d.data || '') + document.getElementById('data').innerHTML;
};
tail();
</script></body></html>
`, html.EscapeString(p), esc)
}

func (s *server) download(w http.ResponseWriter, r *http.Request, p string) {
	f, err := s.root.Open(p)
	if err != nil {
		http.Error(w, "File "+p+" not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.Error(w, "File "+p+" not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(path.Base(p)))
	http.ServeContent(w, r, path.Base(p), st.ModTime(), f)
}

func isLocal(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *server) kill(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !isLocal(r) && r.PostForm.Get("secret") != s.o.Secret {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	id := r.PostForm.Get("instance_id_to_restart")
	if id == "" {
		w.WriteHeader(http.StatusOK)
		s.killExecutor()
		return
	}
	if strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
		http.Error(w, "bad instance id", http.StatusUnprocessableEntity)
		return
	}
	b, err := s.root.ReadFile(id + ".pid")
	if err != nil {
		http.Error(w, "No such instance: "+id, http.StatusUnprocessableEntity)
		return
	}
	if strings.HasPrefix(id, "heron-executor-") {
		w.WriteHeader(http.StatusOK)
		s.killExecutor()
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		http.Error(w, "unreadable pid file for "+id, http.StatusUnprocessableEntity)
		return
	}
	// The executor restarts the instance.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *server) killExecutor() {
	if s.o.Kill != nil {
		go func() {
			time.Sleep(100 * time.Millisecond) // let the answer leave
			s.o.Kill()
		}()
	}
}
