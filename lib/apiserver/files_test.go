package apiserver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/apiserver/apiservertest"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/serviceclient"
	"github.com/heronkit/heronkit/lib/uploader"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// storedFiles lists the store's directory, partial uploads included.
func storedFiles(t testing.TB, s *apiserver.Server) []string {
	t.Helper()
	entries, err := os.ReadDir(s.Files().Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func multipartBody(t testing.TB, field, filename string, content []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func post(t testing.TB, url string, body io.Reader, ct string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, body)
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUploadAndDownload(t *testing.T) {
	s, base := apiservertest.Start(t, apiserver.Options{})
	body, ct := multipartBody(t, "file", "topology.tar.gz", []byte("package bytes"))
	code, uri := post(t, base+"/api/v1/file/upload", body, ct)
	if code != 200 {
		t.Fatalf("upload: %d %s", code, uri)
	}
	prefix := base + "/api/v1/file/download/"
	if !strings.HasPrefix(uri, prefix) || !strings.HasSuffix(uri, "-topology.tar.gz") {
		t.Fatalf("upload answered %q, want %s<uuid>-topology.tar.gz", uri, prefix)
	}
	if code, got := get(t, uri); code != 200 || got != "package bytes" {
		t.Fatalf("download: %d %q", code, got)
	}
	if n := storedFiles(t, s); len(n) != 1 {
		t.Fatalf("stored %v", n)
	}
	// The uploader client reads the same answer.
	path := filepath.Join(t.TempDir(), "pkg.tar.gz")
	writeFile(t, path, "via the client")
	uri2, err := serviceclient.UploadFile(context.Background(), nil, base+"/api/v1/file/upload", "", path)
	if err != nil {
		t.Fatal(err)
	}
	if code, got := get(t, uri2); code != 200 || got != "via the client" {
		t.Fatalf("download: %d %q", code, got)
	}
}

func TestUploadRefusals(t *testing.T) {
	s, base := apiservertest.Start(t, apiserver.Options{MaxUploadBytes: 1 << 20})
	up := base + "/api/v1/file/upload"

	// No part named file.
	body, ct := multipartBody(t, "other", "x", []byte("x"))
	if code, msg := post(t, up, body, ct); code != 400 || !strings.Contains(msg, `no part named \"file\"`) {
		t.Errorf("missing part: %d %s", code, msg)
	}
	// Not multipart at all.
	if code, msg := post(t, up, strings.NewReader("x"), "text/plain"); code != 400 || !strings.Contains(msg, "multipart") {
		t.Errorf("not multipart: %d %s", code, msg)
	}
	// Hostile file names are reduced to a base name inside the store.
	for _, name := range []string{"../../etc/passwd", "/etc/passwd", `..\..\boot.ini`, "..", ".hidden"} {
		body, ct := multipartBody(t, "file", name, []byte("x"))
		code, uri := post(t, up, body, ct)
		if code != 200 {
			t.Fatalf("%q: %d %s", name, code, uri)
		}
		stored := uri[strings.LastIndex(uri, "/")+1:]
		if strings.ContainsAny(stored, `/\`) || strings.Contains(stored, "..") {
			t.Errorf("%q stored as %q", name, stored)
		}
		if _, err := os.Stat(filepath.Join(s.Files().Dir(), stored)); err != nil {
			t.Errorf("%q: not inside the store: %v", name, err)
		}
	}
	before := len(storedFiles(t, s))
	// Over the limit, with a Content-Length (refused before reading)...
	big := bytes.Repeat([]byte("a"), 3<<20)
	body, ct = multipartBody(t, "file", "big", big)
	if code, msg := post(t, up, body, ct); code != 413 || !strings.Contains(msg, "limit of 1 MiB") {
		t.Errorf("too large: %d %s", code, msg)
	}
	// ... and streamed without one (refused while reading).
	body, ct = multipartBody(t, "file", "big", big[:(1<<20)+10])
	if code, msg := post(t, up, io.MultiReader(body), ct); code != 413 {
		t.Errorf("too large, chunked: %d %s", code, msg)
	}
	if after := storedFiles(t, s); len(after) != before {
		t.Errorf("refused uploads left files: %v", after)
	}
}

func TestDownloadCannotEscape(t *testing.T) {
	s, base := apiservertest.Start(t, apiserver.Options{})
	secret := filepath.Join(filepath.Dir(s.Files().Dir()), "secret")
	writeFile(t, secret, "secret")
	if err := os.Symlink(secret, filepath.Join(s.Files().Dir(), "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"..%2Fsecret", "%2E%2E%2Fsecret", "..%5Csecret", "link", ".part-x", "%2Fetc%2Fpasswd", "nosuch"} {
		code, body := get(t, base+"/api/v1/file/download/"+p)
		if code != 404 || strings.Contains(body, "secret\"") && !strings.Contains(body, "no file") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
	// Raw paths with .. are cleaned by the mux and never reach the store.
	resp, err := http.Get(base + "/api/v1/file/download/../../secret")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "secret") && resp.StatusCode == 200 {
		t.Errorf("escaped: %s", b)
	}
}

// TestCoreDownload serves a core package and fetches it back the way the
// schedulers do with heron.package.core.uri = <server>/api/v1/file/download/core.
func TestCoreDownload(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "bin", "heron-executor"), "#!/bin/sh\n")
	writeFile(t, filepath.Join(src, "conf", "local", "client.yaml"), "{}\n")
	core := filepath.Join(t.TempDir(), "heron-core.tar.gz")
	if _, err := pkgtar.BuildFile(core, pkgtar.Contents{TopologyDir: src}, pkgtar.Limits{}); err != nil {
		t.Fatal(err)
	}
	_, base := apiservertest.Start(t, apiserver.Options{CorePackagePath: core})
	dest := t.TempDir()
	entries, err := uploader.Fetch(context.Background(), base+"/api/v1/file/download/core", dest, pkgtar.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "bin", "heron-executor")); err != nil || string(b) != "#!/bin/sh\n" {
		t.Fatalf("unpacked core: %q %v (entries %v)", b, err, pkgtar.Names(entries))
	}
	_, base2 := apiservertest.Start(t, apiserver.Options{})
	if code, body := get(t, base2+"/api/v1/file/download/core"); code != 500 || !strings.Contains(body, "--heron-core-package-path") {
		t.Fatalf("core unset: %d %q", code, body)
	}
}

func TestTokenGuardsMutatingEndpoints(t *testing.T) {
	s, base := apiservertest.Start(t, apiserver.Options{Token: "s3cret"})
	body, ct := multipartBody(t, "file", "f", []byte("x"))
	if code, msg := post(t, base+"/api/v1/file/upload", body, ct); code != 401 || !strings.Contains(msg, "missing bearer token") {
		t.Errorf("no token: %d %s", code, msg)
	}
	body, ct = multipartBody(t, "file", "f", []byte("x"))
	if code, msg := post(t, base+"/api/v1/file/upload", body, ct, "Authorization", "Bearer wrong"); code != 401 || !strings.Contains(msg, "wrong bearer token") {
		t.Errorf("wrong token: %d %s", code, msg)
	}
	for _, p := range []string{"/api/v1/topologies", "/api/v1/topologies/local/r/e/n/activate", "/api/v1/topologies/local/r/e/n/restart"} {
		if code, _ := post(t, base+p, strings.NewReader(""), "text/plain"); code != 401 {
			t.Errorf("%s without token: %d", p, code)
		}
	}
	if n := storedFiles(t, s); len(n) != 0 {
		t.Errorf("refused uploads left files: %v", n)
	}
	body, ct = multipartBody(t, "file", "f", []byte("x"))
	if code, msg := post(t, base+"/api/v1/file/upload", body, ct, "Authorization", "Bearer s3cret"); code != 200 {
		t.Errorf("right token: %d %s", code, msg)
	}
	// Reads stay open: containers download without a token.
	if code, _ := get(t, base+"/api/v1/version"); code != 200 {
		t.Errorf("version: %d", code)
	}
}

func TestConcurrentUploadsLandIntact(t *testing.T) {
	_, base := apiservertest.Start(t, apiserver.Options{})
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			data := make([]byte, 64<<10+rng.IntN(512<<10))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			want := sha256.Sum256(data)
			uri, err := serviceclient.UploadReader(context.Background(), nil, base+"/api/v1/file/upload", "",
				"pkg-"+strconv.Itoa(i)+".tar.gz", bytes.NewReader(data))
			if err != nil {
				errs <- err
				return
			}
			resp, err := http.Get(uri)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			h := sha256.New()
			io.Copy(h, resp.Body)
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				errs <- fmt.Errorf("upload %d: checksum %x, want %x", i, got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// generator yields n bytes without holding them.
type generator struct{ left int64 }

func (g *generator) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	for i := range p {
		p[i] = byte(i)
	}
	g.left -= int64(len(p))
	return len(p), nil
}

// rss is this process's resident set size.
func rss(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestOversizedUploadMemoryStaysFlat streams a 1 GiB body at a server whose
// limit is 256 MiB: the server must stream to disk, stop at the limit, keep
// nothing, and its memory must not grow with the body.
func TestOversizedUploadMemoryStaysFlat(t *testing.T) {
	s, base := apiservertest.Start(t, apiserver.Options{MaxUploadBytes: 256 << 20})
	runtime.GC()
	before := rss(t)
	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if r := rss(t); r > peak {
					peak = r
				}
			}
		}
	}()
	_, err := serviceclient.UploadReader(context.Background(), nil, base+"/api/v1/file/upload", "",
		"huge.tar.gz", &generator{left: 1 << 30})
	close(stop)
	<-sampled
	var se *serviceclient.Error
	if !errors.As(err, &se) || se.Status != 413 || !strings.Contains(se.Message, "limit of 256 MiB") {
		t.Fatalf("got %v, want a 413 naming the limit", err)
	}
	growth := peak - before
	t.Logf("RSS before %d MiB, peak %d MiB, growth %d MiB", before>>20, peak>>20, growth>>20)
	if growth > 64<<20 {
		t.Errorf("RSS grew by %d MiB during a 1 GiB upload; want < 64 MiB", growth>>20)
	}
	// Nothing kept, the partial file included.
	if n := storedFiles(t, s); len(n) != 0 {
		t.Errorf("left %v", n)
	}
}

func TestUnknownPathsAndVersion(t *testing.T) {
	_, base := apiservertest.Start(t, apiserver.Options{})
	code, body := get(t, base+"/api/v1/nothing/here")
	var nf map[string][]string
	if code != 404 || json.Unmarshal([]byte(body), &nf) != nil || len(nf["paths"]) != 3 {
		t.Errorf("unknown path: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/api/v1/version", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("wrong method: %d", resp.StatusCode)
	}
	code, body = get(t, base+"/api/v1/version")
	var v map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil || v["heron.build.version"] == "" {
		t.Errorf("version: %d %s", code, body)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"10": 10, "1KiB": 1024, "2M": 2 << 20, "1GiB": 1 << 30, "3 gb": 3 << 30} {
		if got, err := apiserver.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1PB", "99999999999T"} {
		if _, err := apiserver.ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}
