package trackerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/testserver"
)

// Container endpoints end to end: the word-count example submitted to the
// local cluster by the real heron-submit, run by heron-executor (whose
// heron-shell answers the tracker), followed by the real heron-tracker.
// Every container endpoint is checked for status and JSON shape against
// what is on disk and in /proc.

// spoutLogLine is what the spout writes to its stderr (its instance log) at
// start: the example's instances log nothing, and the characters that must
// be XML-escaped show that filedata escapes them.
const spoutLogLine = "sentences: started <stdout is the stream> & stderr is this log"

// toolkit returns bin/<name> for each name, or skips (fails under CI=true).
func toolkit(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		p := filepath.Join(testserver.RepoRoot(t), "bin", n)
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			testserver.Missing(t, "bin/"+n, "run make build")
		}
		out[n] = p
	}
	return out
}

// startTrackerBinary runs bin/heron-tracker over a file state root with
// Heron's flags on a free port; it is stopped by PID at cleanup.
func startTrackerBinary(t *testing.T, exe, stateRoot string) string {
	t.Helper()
	port := testserver.FreePort(t)
	cmd := exec.Command(exe, "--bind", testserver.Host, "--port", strconv.Itoa(port), "--type", "file", "--name", "local",
		"--rootpath", stateRoot, "--config-file", filepath.Join(t.TempDir(), "none.yaml"))
	testserver.StartProcess(t, "heron-tracker", cmd)
	u := fmt.Sprintf("http://%s:%d", testserver.Host, port)
	if err := testserver.WaitHTTP(context.Background(), u+"/health", 30*time.Second); err != nil {
		t.Fatalf("heron-tracker: %v", err)
	}
	return u
}

// object decodes a JSON object and checks it has exactly the keys given.
func object(t *testing.T, what string, b []byte, keys ...string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %v: %.300s", what, err, b)
	}
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	want := slices.Clone(keys)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: keys %v, want %v: %.300s", what, got, want, b)
	}
	return m
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// statLine matches heron-shell's formatted_stat: mode, links, owner,
// group, size, month, day, and the time (or the year).
var statLine = regexp.MustCompile(`^([-ds][-r][-w][-x][-r][-w][-x][-r][-w][-x]) +(\d+) +(\S+) +(\S+) +(\d+) [A-Z][a-z]{2} [ 1-3]\d +(\d\d:\d\d|\d{4})$`)

func TestContainerEndpointsAgainstHeronShell(t *testing.T) {
	bins := toolkit(t, "heron-submit", "heron-executor", "heron-tracker")
	wc := testserver.SubmitWordCount(t, testserver.WordCountOptions{HeronSubmit: bins["heron-submit"],
		SpoutWrap: "echo '" + spoutLogLine + "' >&2; exec %s"})
	workdir := wc.WorkDir
	tr := startTrackerBinary(t, bins["heron-tracker"], wc.StateRoot())
	q := "cluster=local&environ=default&topology=WordCount"
	api := func(path string, params ...string) (int, http.Header, []byte) {
		t.Helper()
		u := tr + path + "?" + q
		for i := 0; i+1 < len(params); i += 2 {
			u += "&" + params[i] + "=" + url.QueryEscape(params[i+1])
		}
		return get(t, u)
	}

	// The physical plan names the containers' shells once every instance runs.
	var pp struct {
		Instances map[string]struct {
			Name  string `json:"name"`
			StMgr string `json:"stmgr_id"`
		} `json:"instances"`
		Stmgrs map[string]struct {
			Host      string `json:"host"`
			ShellPort int    `json:"shell_port"`
			Cwd       string `json:"cwd"`
		} `json:"stmgrs"`
	}
	spout := ""
	spoutLog := func() string { return filepath.Join(workdir, "log-files", spout+".log.0") }
	if err := testserver.Poll(context.Background(), 60*time.Second, func() error {
		code, _, b := api("/topologies/physicalplan")
		if code != 200 {
			return fmt.Errorf("physicalplan: %d %s", code, b)
		}
		if err := json.Unmarshal(b, &pp); err != nil {
			return err
		}
		if len(pp.Instances) != 6 || len(pp.Stmgrs) != 2 || pp.Stmgrs["stmgr-1"].ShellPort == 0 {
			return fmt.Errorf("%d instances, %d stream managers", len(pp.Instances), len(pp.Stmgrs))
		}
		for id, in := range pp.Instances {
			if in.Name == "sentences" && in.StMgr == "stmgr-1" {
				spout = id
			}
		}
		for id := range pp.Instances {
			if _, err := os.Stat(filepath.Join(workdir, id+".pid")); err != nil {
				return err
			}
		}
		if st, err := os.Stat(spoutLog()); err != nil || st.Size() < int64(len(spoutLogLine)) {
			return fmt.Errorf("the spout %q has not logged yet", spout)
		}
		return nil
	}); err != nil {
		t.Fatalf("WordCount never ran: %v", err)
	}
	if pp.Stmgrs["stmgr-1"].Cwd != workdir {
		t.Errorf("stmgr-1 cwd %q, want the working directory %q", pp.Stmgrs["stmgr-1"].Cwd, workdir)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("filestats", func(t *testing.T) {
		for _, path := range []string{"/topologies/container/filestats", "/topologies/containerfilestats"} {
			code, hd, b := api(path, "container", "1")
			if code != 200 || hd.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d %s %.300s", path, code, hd.Get("Content-Type"), b)
			}
			var list map[string]map[string]any
			if err := json.Unmarshal(b, &list); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if _, ok := list[".."]; ok {
				t.Errorf("%s: the top of the working directory has a '..' entry", path)
			}
			for _, name := range []string{"wordcount.yaml", "WordCount.defn", "sentences.sh", spout + ".pid", "log-files", "heron-conf"} {
				e, ok := list[name]
				if !ok {
					t.Errorf("%s: no entry %s in %v", path, name, slices.Sorted(maps.Keys(list)))
					continue
				}
				object(t, path+" "+name, mustJSON(e), "formatted_stat", "is_dir", "path")
				st, err := os.Stat(filepath.Join(workdir, name))
				if err != nil {
					t.Fatal(err)
				}
				if e["is_dir"] != st.IsDir() || e["path"] != name {
					t.Errorf("%s %s: is_dir %v path %v, want %v %q", path, name, e["is_dir"], e["path"], st.IsDir(), name)
				}
				fs, _ := e["formatted_stat"].(string)
				m := statLine.FindStringSubmatch(fs)
				if m == nil {
					t.Errorf("%s %s: formatted_stat %q is not an ls -l line", path, name, fs)
					continue
				}
				mode := st.Mode().Perm().String()
				if st.IsDir() {
					mode = "d" + mode[1:]
				}
				if m[1] != mode {
					t.Errorf("%s %s: mode %s, file has %s", path, name, m[1], st.Mode())
				}
				if m[3] != me.Username || m[5] != strconv.FormatInt(st.Size(), 10) {
					t.Errorf("%s %s: owner %s size %s, want %s %d (%q)", path, name, m[3], m[5], me.Username, st.Size(), fs)
				}
			}
		}
		code, _, b := api("/topologies/container/filestats", "container", "1", "path", "log-files")
		if code != 200 {
			t.Fatalf("filestats log-files: %d %s", code, b)
		}
		var logs map[string]map[string]any
		_ = json.Unmarshal(b, &logs)
		if up := logs[".."]; up == nil || up["is_dir"] != true || up["path"] != "." {
			t.Errorf("filestats log-files: '..' entry %v, want a directory with path \".\"", up)
		}
		for id := range pp.Instances {
			e := logs[id+".log.0"]
			if e == nil || e["is_dir"] != false || e["path"] != "log-files%2F"+id+".log.0" {
				t.Errorf("filestats log-files: %s.log.0 entry %v", id, e)
			}
		}
	})

	t.Run("filedata", func(t *testing.T) {
		onDisk, err := os.ReadFile(spoutLog())
		if err != nil {
			t.Fatal(err)
		}
		// The executor's start line comes first, then what the spout wrote.
		lines := strings.SplitN(string(onDisk), "\n", 3)
		if len(lines) < 3 || !strings.Contains(lines[0], "heron-executor: started pid ") || lines[1] != spoutLogLine {
			t.Fatalf("the spout's log starts %q, want the executor's start line and then the spout's line", onDisk)
		}
		logPath := "log-files/" + spout + ".log.0"
		for _, c := range []struct{ offset, length int }{{0, len(spoutLogLine) + 1}, {11, 7}, {0, 20}, {19, 23}} {
			for _, path := range []string{"/topologies/container/filedata", "/topologies/containerfiledata"} {
				code, _, b := api(path, "container", "1", "path", logPath, "offset", strconv.Itoa(c.offset), "length", strconv.Itoa(c.length))
				if code != 200 {
					t.Fatalf("%s %+v: %d %s", path, c, code, b)
				}
				m := object(t, fmt.Sprintf("%s %+v", path, c), b, "offset", "length", "data")
				want := xmlEscape(string(onDisk[c.offset : c.offset+c.length]))
				if m["offset"] != float64(c.offset) || m["data"] != want || m["length"] != float64(len([]rune(want))) {
					t.Errorf("%s %+v: %s, want offset %d, data %q, length %d", path, c, b, c.offset, want, len([]rune(want)))
				}
			}
		}
		// offset -1 is the end of the file: nothing to read, no data key.
		code, _, b := api("/topologies/container/filedata", "container", "1", "path", logPath, "offset", "-1", "length", "-1")
		if code != 200 {
			t.Fatalf("filedata at the end: %d %s", code, b)
		}
		m := object(t, "filedata at the end", b, "offset", "length")
		if m["length"] != float64(0) || m["offset"].(float64) < float64(len(onDisk)) {
			t.Errorf("filedata at the end: %s, the file had %d bytes", b, len(onDisk))
		}
		// length -1 reads to the end (the log may have grown since).
		code, _, b = api("/topologies/container/filedata", "container", "1", "path", logPath, "offset", "0", "length", "-1")
		m = object(t, "filedata of the whole file", b, "offset", "length", "data")
		if code != 200 || !strings.Contains(m["data"].(string), xmlEscape(spoutLogLine)) {
			t.Errorf("filedata of the whole file: %d %s", code, b)
		}
		code, _, b = api("/topologies/container/filedata", "container", "1", "path", logPath, "offset", "abc", "length", "3")
		if code != 422 || !strings.Contains(string(b), `"loc":["query","offset"]`) {
			t.Errorf("filedata with offset=abc: %d %s", code, b)
		}
	})

	t.Run("filedownload", func(t *testing.T) {
		for _, name := range []string{"wordcount.yaml", "WordCount.defn"} {
			want, err := os.ReadFile(filepath.Join(workdir, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/topologies/container/filedownload", "/topologies/containerfiledownload"} {
				code, hd, b := api(path, "container", "2", "path", name)
				if code != 200 || string(b) != string(want) {
					t.Errorf("%s %s: %d, %d bytes, want %d bytes equal to the file", path, name, code, len(b), len(want))
				}
				if cd := hd.Get("Content-Disposition"); cd != `attachment; filename="`+name+`"` {
					t.Errorf("%s %s: Content-Disposition %q", path, name, cd)
				}
				if ct := hd.Get("Content-Type"); ct != "application/octet-stream" {
					t.Errorf("%s %s: Content-Type %q", path, name, ct)
				}
			}
		}
		code, _, b := api("/topologies/container/filedownload", "container", "1", "path", "log-files/"+spout+".log.0")
		if code != 200 || !strings.Contains(string(b), "\n"+spoutLogLine+"\n") {
			t.Errorf("download of the spout's log: %d %.100q", code, b)
		}
	})

	t.Run("pid", func(t *testing.T) {
		seen := map[string]string{}
		for id := range pp.Instances {
			code, _, b := api("/topologies/pid", "instance", id)
			if code != 200 {
				t.Errorf("pid %s: %d %s", id, code, b)
				continue
			}
			m := object(t, "pid "+id, b, "command", "stdout", "stderr")
			if m["command"] != "cat "+id+".pid" || m["stderr"] != "" {
				t.Errorf("pid %s: %s", id, b)
			}
			out, _ := m["stdout"].(string)
			pid, err := strconv.Atoi(strings.TrimSuffix(out, "\n"))
			if err != nil || !strings.HasSuffix(out, "\n") {
				t.Errorf("pid %s: stdout %q is not a pid and a newline", id, out)
				continue
			}
			if other, dup := seen[out]; dup {
				t.Errorf("instances %s and %s have the same pid %d", id, other, pid)
			}
			seen[out] = id
			// The pid is the instance's real process: its environment names
			// the instance and it runs in the container's directory.
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if err != nil {
				t.Errorf("pid %s: process %d: %v", id, pid, err)
				continue
			}
			if !slices.Contains(strings.Split(string(env), "\x00"), "HERON_INSTANCE_ID="+id) {
				t.Errorf("pid %s: process %d is not that instance", id, pid)
			}
			if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != workdir {
				t.Errorf("pid %s: process %d runs in %s", id, pid, cwd)
			}
		}
	})

	t.Run("jstack jmap histo", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(workdir, spout+".pid"))
		pid := strings.TrimSpace(string(b))
		for tool, want := range map[string][]string{
			"jstack": {"Pid:\t" + pid + "\n", "threads (tid, name, state, wchan):\n" + pid + " "},
			"jmap":   {"Rss:", "Pss:"},
			"histo":  {"VmRSS:", "VmSize:"},
		} {
			code, _, b := api("/topologies/"+tool, "instance", spout)
			if code != 200 {
				t.Errorf("%s: %d %s", tool, code, b)
				continue
			}
			m := object(t, tool, b, "command", "stdout", "stderr")
			if cmd, _ := m["command"].(string); !strings.Contains(cmd, "/proc/"+pid+"/") {
				t.Errorf("%s: command %q is not about process %s", tool, cmd, pid)
			}
			for _, w := range want {
				if !strings.Contains(m["stdout"].(string), w) {
					t.Errorf("%s: stdout lacks %q: %.400s", tool, w, m["stdout"])
				}
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		failed := func(what string, code, want int, b []byte, text string) {
			t.Helper()
			var msg string
			if err := json.Unmarshal(b, &msg); code != want || err != nil || !strings.HasPrefix(msg, "request failed: ") || !strings.Contains(msg, text) {
				t.Errorf("%s: %d %s, want %d and \"request failed: ...%s...\"", what, code, b, want, text)
			}
		}
		for _, c := range []string{"9", "0", "one"} {
			code, _, b := api("/topologies/container/filestats", "container", c)
			failed("filestats of container "+c, code, 404, b, "no stream manager stmgr-"+c)
			code, _, b = api("/topologies/container/filedata", "container", c, "path", "wordcount.yaml", "offset", "0", "length", "1")
			failed("filedata of container "+c, code, 404, b, "stmgr-"+c)
			code, _, b = api("/topologies/container/filedownload", "container", c, "path", "wordcount.yaml")
			failed("filedownload of container "+c, code, 404, b, "stmgr-"+c)
		}
		for _, tool := range []string{"pid", "jstack", "jmap", "histo"} {
			code, _, b := api("/topologies/"+tool, "instance", "container_1_nosuch_99")
			failed(tool+" of an unknown instance", code, 404, b, "no instance container_1_nosuch_99")
		}
		code, _, b := get(t, tr+"/topologies/pid?cluster=local&environ=default&topology=NoSuchTopology&instance="+spout)
		failed("pid in an unknown topology", code, 404, b, "NoSuchTopology")
		// An instance of the plan without a pid file: the shell's error,
		// in one line.
		var other string
		for id, in := range pp.Instances {
			if in.Name == "count" {
				other = id
			}
		}
		pidFile := filepath.Join(workdir, other+".pid")
		if err := os.Rename(pidFile, pidFile+".away"); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"pid", "jstack"} {
			code, _, b = api("/topologies/"+tool, "instance", other)
			failed(tool+" without a pid file", code, 502, b, "answered HTTP 500: cat: "+other+".pid: No such file or directory")
		}
		if err := os.Rename(pidFile+".away", pidFile); err != nil {
			t.Fatal(err)
		}

		// Paths that leave the working directory are refused, by the
		// tracker and by the shell itself.
		if err := os.Symlink("/etc", filepath.Join(workdir, "escape")); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"../wordcount/wordcount.yaml", "/etc/hostname", "log-files/../../x", "%2e%2e/%2e%2e/etc/hostname"} {
			code, _, b := api("/topologies/container/filedata", "container", "1", "path", p, "offset", "0", "length", "10")
			failed("filedata "+p, code, 403, b, "Only relative paths are allowed")
			code, _, b = api("/topologies/container/filestats", "container", "1", "path", p)
			failed("filestats "+p, code, 403, b, "Only relative paths are allowed")
			code, _, b = api("/topologies/container/filedownload", "container", "1", "path", p)
			failed("filedownload "+p, code, 403, b, "Only relative paths are allowed")
		}
		hostname, _ := os.ReadFile("/etc/hostname")
		for _, p := range []string{"escape/hostname", "escape"} {
			code, _, b := api("/topologies/container/filedata", "container", "1", "path", p, "offset", "0", "length", "100")
			if code != 404 || (len(hostname) > 0 && strings.Contains(string(b), strings.TrimSpace(string(hostname)))) {
				t.Errorf("filedata through a symlink out of the directory: %d %s", code, b)
			}
			code, _, b = api("/topologies/container/filestats", "container", "1", "path", p)
			if code != 404 {
				t.Errorf("filestats through a symlink out of the directory: %d %.200s", code, b)
			}
			code, _, b = api("/topologies/container/filedownload", "container", "1", "path", p)
			if code != 404 {
				t.Errorf("filedownload through a symlink out of the directory: %d %.200s", code, b)
			}
		}
		shell := fmt.Sprintf("http://%s", hostPort(pp.Stmgrs["stmgr-1"].Host, pp.Stmgrs["stmgr-1"].ShellPort))
		for _, p := range []string{"/filedata/..%2F..%2Fetc%2Fhostname", "/filestats/%2Fetc", "/download/log-files%2F..%2F..%2Fx"} {
			code, _, b := get(t, shell+p)
			if code != 403 || !strings.Contains(string(b), "Only relative paths are allowed") {
				t.Errorf("heron-shell %s: %d %s", p, code, b)
			}
		}
		// Missing files and directories, and a directory as a file.
		code, _, b = api("/topologies/container/filedata", "container", "1", "path", "log-files/nosuch.log.0", "offset", "0", "length", "1")
		failed("filedata of a missing file", code, 404, b, "not found")
		code, _, b = api("/topologies/container/filedata", "container", "1", "path", "log-files", "offset", "0", "length", "1")
		failed("filedata of a directory", code, 404, b, "not a regular file")
		code, _, b = api("/topologies/container/filestats", "container", "1", "path", "nosuch")
		failed("filestats of a missing directory", code, 404, b, "not found")
		code, _, b = api("/topologies/container/filedownload", "container", "1", "path", "nosuch.txt")
		failed("filedownload of a missing file", code, 404, b, "not found")
		code, _, b = api("/topologies/container/filedata", "container", "1", "offset", "0", "length", "1")
		if code != 422 || !strings.Contains(string(b), `"loc":["query","path"]`) {
			t.Errorf("filedata without a path: %d %s", code, b)
		}
	})
}
