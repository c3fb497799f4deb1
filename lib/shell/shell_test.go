package shell

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T) (string, string, chan struct{}) {
	t.Helper()
	dir := t.TempDir()
	killed := make(chan struct{}, 1)
	h, err := Handler(Options{Dir: dir, Secret: "topo-1", Kill: func() { killed <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, dir, killed
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFilesStayInsideTheWorkingDirectory(t *testing.T) {
	base, dir, _ := serve(t)
	if err := os.MkdirAll(filepath.Join(dir, "log-files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log-files", "a.log.0"), []byte("0123456789<b>"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/filedata/..%2Fx", "/download/%2Fetc%2Fpasswd", "/browse/log-files%2F..%2F.."} {
		if code, body := get(t, base+p); code != 403 || !strings.Contains(body, "Only relative paths are allowed") {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	// A plain ".." never reaches a handler (the mux cleans it away).
	if code, _ := get(t, base+"/filestats/../../etc"); code == 200 {
		t.Errorf("/filestats/../../etc answered 200")
	}
	if code, body := get(t, base+"/download/link"); code == 200 || strings.Contains(body, "secret") {
		t.Errorf("a symlink led outside: %d %q", code, body)
	}
	code, body := get(t, base+"/filedata/log-files/a.log.0?offset=8&length=5")
	var fd struct {
		Offset, Length int
		Data           string
	}
	if err := json.Unmarshal([]byte(body), &fd); code != 200 || err != nil || fd.Offset != 8 || fd.Data != "89&lt;b&gt;" || fd.Length != len(fd.Data) {
		t.Errorf("filedata: %d %s", code, body)
	}
	_, body = get(t, base+"/filedata/log-files/a.log.0")
	if !strings.Contains(body, `"length":0`) || !strings.Contains(body, `"offset":13`) {
		t.Errorf("filedata at the end: %s", body)
	}
	code, body = get(t, base+"/filestats/log-files")
	var st map[string]struct {
		IsDir bool   `json:"is_dir"`
		Path  string `json:"path"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st["a.log.0"].Path != url.PathEscape("log-files/a.log.0") || !st[".."].IsDir {
		t.Errorf("filestats: %d %s", code, body)
	}
	if code, body := get(t, base+"/download/log-files/a.log.0"); code != 200 || body != "0123456789<b>" {
		t.Errorf("download: %d %q", code, body)
	}
	if code, body := get(t, base+"/browse/log-files"); code != 200 || !strings.Contains(body, "/file/log-files%2Fa.log.0") {
		t.Errorf("browse: %d %s", code, body)
	}
}

func TestPidReportsAndKill(t *testing.T) {
	base, dir, killed := serve(t)
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleep.Wait() }()
	pid := sleep.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, "container_1_x_1.pid"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, base+"/pid/container_1_x_1")
	if code != 200 || !strings.Contains(body, `"stdout":"`+strconv.Itoa(pid)+`\n"`) {
		t.Errorf("pid: %d %s", code, body)
	}
	if code, _ := get(t, base+"/pid/nosuch"); code != 500 {
		t.Errorf("missing pid file: %d", code)
	}
	if code, body := get(t, base+"/jstack/"+strconv.Itoa(pid)); code != 200 || !strings.Contains(body, "State:") {
		t.Errorf("jstack of an instance: %d %s", code, body)
	}
	if code, body := get(t, base+"/jstack/"+strconv.Itoa(os.Getpid())); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("jstack of the executor: %d %.200s", code, body)
	}
	if code, _ := get(t, base+"/jmap/1"); code != 404 {
		t.Errorf("a foreign pid was reported: %d", code)
	}
	resp, err := http.PostForm(base+"/killexecutor", url.Values{"instance_id_to_restart": {"container_1_x_1"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("kill instance: %v %v", resp, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("instance not signalled")
	}
	resp, _ = http.PostForm(base+"/killexecutor", url.Values{"instance_id_to_restart": {"nosuch"}})
	if resp.StatusCode != 422 {
		t.Errorf("unknown instance: %d", resp.StatusCode)
	}
	resp, _ = http.PostForm(base+"/quitquitquit", nil)
	if resp.StatusCode != 200 {
		t.Errorf("quit: %d", resp.StatusCode)
	}
	select {
	case <-killed:
	case <-time.After(5 * time.Second):
		t.Fatal("executor not stopped")
	}
}
