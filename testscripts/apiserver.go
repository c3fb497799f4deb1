package testscripts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/binaries"
	"github.com/heronkit/heronkit/lib/pkgtar"
)

func init() {
	commands["apiurl"] = cmdAPIURL
	commands["http"] = cmdHTTP
	commands["mktopotar"] = cmdMkTopoTar
	conditions["service-url"] = submitHasServiceURL
}

// cmdAPIURL waits (up to 20 s) for the JSON line heron-apiserver prints once
// listening, written to FILE by a background command, and exports its base
// URL as $API and its host:port as $API_ADDR:
//
//	exec sh -c 'exec heron-apiserver --cluster local --bind 127.0.0.1 --port 0 > api.json 2> api.log' &api&
//	apiurl api.json
func cmdAPIURL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: apiurl FILE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		var v struct{ URL, Listen string }
		if line, _, ok := bytes.Cut(b, []byte("\n")); ok && json.Unmarshal(line, &v) == nil && v.URL != "" {
			ts.Setenv("API", v.URL)
			ts.Setenv("API_ADDR", v.Listen)
			// Topologies the server launched outlive it (the local
			// scheduler detaches); if the script stops early, stop them.
			dir := ts.MkAbs(".herondata/topologies")
			ts.Defer(func() { killProcsIn(dir) })
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "api.log"))
			ts.Fatalf("apiurl: heron-apiserver did not report its address in %s within 20s; its log:\n%s", args[0], log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killProcsIn kills, by PID, the processes whose working directory is in
// dir: what a script's topologies left running.
func killProcsIn(dir string) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// cmdHTTP sends one HTTP request and checks the status; the response body
// becomes stdout (and the response headers stderr) for the next checks:
//
//	http 200 GET $API/api/v1/version
//	http -file file=pkg.tar.gz 200 POST $API/api/v1/file/upload
//	http -form container_id=1 -token s3cret 200 POST $API/api/v1/topologies/local/r/e/T/restart
//	http -o out.bin 200 GET @url.txt   (the URL is read from url.txt)
//
// Options: -H 'Name: value', -form KEY=VALUE (urlencoded, or a multipart
// field when -file is also given), -file FIELD=PATH[;filename=NAME], -token
// TOKEN, -body TEXT, -o FILE (save the body instead of showing it).
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("use http WANT_STATUS ...; it checks the status itself")
	}
	var headers [][2]string
	var forms, files [][2]string
	var token, body, out string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if len(args) < 2 {
			ts.Fatalf("http: %s needs a value", args[0])
		}
		opt, val := args[0], args[1]
		args = args[2:]
		switch opt {
		case "-H":
			k, v, _ := strings.Cut(val, ":")
			headers = append(headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		case "-form", "-file":
			k, v, ok := strings.Cut(val, "=")
			if !ok {
				ts.Fatalf("http: %s %q: want KEY=VALUE", opt, val)
			}
			if opt == "-form" {
				forms = append(forms, [2]string{k, v})
			} else {
				files = append(files, [2]string{k, v})
			}
		case "-token":
			token = val
		case "-body":
			body = val
		case "-o":
			out = val
		default:
			ts.Fatalf("http: unknown option %s", opt)
		}
	}
	if len(args) != 3 {
		ts.Fatalf("usage: http [options] WANT_STATUS METHOD URL")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("http: %q is not a status", args[0])
	}
	var reqBody io.Reader
	ctype := ""
	switch {
	case len(files) > 0:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range forms {
			ts.Check(mw.WriteField(f[0], f[1]))
		}
		for _, f := range files {
			path, name, _ := strings.Cut(f[1], ";filename=")
			if name == "" {
				name = filepath.Base(path)
			}
			w, err := mw.CreateFormFile(f[0], name)
			ts.Check(err)
			_, err = w.Write([]byte(ts.ReadFile(path)))
			ts.Check(err)
		}
		ts.Check(mw.Close())
		reqBody, ctype = &buf, mw.FormDataContentType()
	case len(forms) > 0:
		v := url.Values{}
		for _, f := range forms {
			v.Add(f[0], f[1])
		}
		reqBody, ctype = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	case body != "":
		reqBody, ctype = strings.NewReader(body), "text/plain"
	}
	target := args[2]
	if name, ok := strings.CutPrefix(target, "@"); ok { // the URL is in a file
		target = strings.TrimSpace(ts.ReadFile(name))
	}
	req, err := http.NewRequest(args[1], target, reqBody)
	ts.Check(err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		ts.Fatalf("http %s %s: %v", args[1], args[2], err)
	}
	defer resp.Body.Close()
	var dst io.Writer = ts.Stdout()
	if out != "" {
		f, err := os.Create(ts.MkAbs(out))
		ts.Check(err)
		defer f.Close()
		dst = f
	}
	_, err = io.Copy(dst, resp.Body)
	ts.Check(err)
	for k, v := range resp.Header {
		io.WriteString(ts.Stderr(), k+": "+strings.Join(v, ", ")+"\n")
	}
	if resp.StatusCode != want {
		ts.Fatalf("http %s %s: status %d, want %d", args[1], args[2], resp.StatusCode, want)
	}
}

// cmdMkTopoTar packs a topology folder as heron-submit --service-url
// sends it (a gzipped tar of the folder):
//
//	mktopotar topo wordcount.yaml.tar.gz
func cmdMkTopoTar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mktopotar DIR OUT.tar.gz")
	}
	_, err := pkgtar.BuildFile(ts.MkAbs(args[1]), pkgtar.Contents{TopologyDir: ts.MkAbs(args[0])}, pkgtar.Limits{})
	ts.Check(err)
}

// submitHasServiceURL is the [service-url] condition: heron-submit has its
// --service-url flag (wired to lib/submit/remote). Under CI=true its
// absence is an error, not a skip.
func submitHasServiceURL() (bool, error) {
	if app, ok := binaries.Apps["heron-submit"]; ok {
		if p, err := app().Parser(io.Discard, io.Discard, func(int) {}); err == nil {
			for _, f := range p.Model.Node.AllFlags(true) {
				for _, flag := range f {
					if flag.Name == "service-url" {
						return true, nil
					}
				}
			}
			for _, n := range p.Model.Node.Children {
				for _, flag := range n.Flags {
					if flag.Name == "service-url" {
						return true, nil
					}
				}
			}
		}
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("heron-submit has no --service-url flag: wire it to lib/submit/remote")
	}
	return false, nil
}
