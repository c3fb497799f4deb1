// Package uploader puts topology packages into storage and reads them back:
// Heron's uploaders (client side, IUploader) and downloaders (container side).
//
// An uploader is made per topology from the cluster config: Heron's
// heron.class.uploader names it (a Java class name or our short name, see
// config.ClassName), and the config carries heron.config.cluster, .role,
// .environ and heron.topology.name, so backends name packages the way Heron
// does. Backends register themselves by short name with Register; readers
// of package URIs register by URI scheme with RegisterFetcher. file://,
// http:// and https:// are built in.
//
// Every backend must pass the conformance suite in lib/uploader/uploadertest.
package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
)

// Uploader stores one topology's package (Heron's IUploader).
type Uploader interface {
	// Upload copies the local package file into storage and returns the
	// URI containers fetch it from. A missing package is an error with
	// exitcode.NotFound.
	Upload(ctx context.Context, pkgPath string) (uri string, err error)
	// Undo removes what Upload stored, restoring the previous package where
	// the backend kept one. It does nothing when Upload has not succeeded,
	// so it is always safe in a rollback.
	Undo(ctx context.Context) error
}

// Factory makes an uploader for the topology named in cfg.
type Factory func(cfg *config.Config) (Uploader, error)

// Fetcher writes the bytes a URI names to w. A URI that names nothing is an
// error with exitcode.NotFound.
type Fetcher func(ctx context.Context, uri *url.URL, w io.Writer) error

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
	fetchers  = map[string]Fetcher{}
)

// Register makes a backend available under its short name (the name
// config.ClassName gives for heron.class.uploader). Registering a name twice
// panics: it is a programming error.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic("uploader: registered twice: " + name)
	}
	factories[name] = f
}

// RegisterFetcher makes URIs with a scheme readable. It may replace the
// built-in file, http and https readers; registering another scheme twice
// panics.
func RegisterFetcher(scheme string, f Fetcher) {
	mu.Lock()
	defer mu.Unlock()
	scheme = strings.ToLower(scheme)
	if _, dup := fetchers[scheme]; dup {
		panic("uploader: fetcher registered twice: " + scheme)
	}
	fetchers[scheme] = f
}

// Names lists the registered backends, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(maps.Keys(factories))
}

// Schemes lists the URI schemes Fetch reads, sorted.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	s := map[string]bool{"file": true, "http": true, "https": true}
	for k := range fetchers {
		s[k] = true
	}
	return slices.Sorted(maps.Keys(s))
}

// New makes the uploader heron.class.uploader names, for the topology in
// cfg (heron.topology.name must be set).
func New(cfg *config.Config) (Uploader, error) {
	name, err := cfg.ClassName(config.KeyUploaderClass)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	return Open(name, cfg)
}

// Open makes the uploader registered under a short name.
func Open(name string, cfg *config.Config) (Uploader, error) {
	mu.RLock()
	f, ok := factories[name]
	mu.RUnlock()
	if !ok {
		return nil, exitcode.Errorf(exitcode.Config, "uploader %q is not available in this build (have %s)", name, strings.Join(Names(), ", "))
	}
	if t, _ := cfg.String(config.KeyTopologyName, ""); t == "" {
		return nil, fmt.Errorf("uploader %s: %s is not set", name, config.KeyTopologyName)
	}
	return f(cfg)
}

// PackageName is the file name Heron's localfs, hdfs, scp and dlog
// uploaders give a package: <topology>-<role>-tag-0.tar.gz.
func PackageName(topology, role string) string {
	return topology + "-" + role + "-tag-0.tar.gz"
}

// FetchTo writes the bytes at uri to w.
func FetchTo(ctx context.Context, uri string, w io.Writer) error {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return exitcode.Errorf(exitcode.Usage, "%q is not a package URI (want file://, http(s):// or one of %s)", uri, strings.Join(Schemes(), ", "))
	}
	scheme := strings.ToLower(u.Scheme)
	mu.RLock()
	f, ok := fetchers[scheme]
	mu.RUnlock()
	if !ok {
		switch scheme {
		case "file":
			f = fetchFile
		case "http", "https":
			f = fetchHTTP
		default:
			return exitcode.Errorf(exitcode.Config, "no downloader for %s:// URIs in this build (have %s)", scheme, strings.Join(Schemes(), ", "))
		}
	}
	return f(ctx, u, w)
}

// Fetch downloads the package at uri and unpacks it safely into dir, as
// Heron's downloaders do (gunzip + untar), returning the unpacked entries.
func Fetch(ctx context.Context, uri, dir string, lim pkgtar.Limits) ([]pkgtar.Entry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".topology-*.tar.gz")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := FetchTo(ctx, uri, tmp); err != nil {
		return nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	entries, err := pkgtar.Extract(tmp, dir, lim)
	if err != nil {
		return entries, fmt.Errorf("unpack %s: %w", uri, err)
	}
	return entries, nil
}

func fetchFile(_ context.Context, u *url.URL, w io.Writer) error {
	if u.Host != "" && u.Host != "localhost" {
		return exitcode.Errorf(exitcode.Usage, "file URI %s names host %q; use file:///path", u, u.Host)
	}
	p := filepath.FromSlash(u.Path)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return exitcode.Errorf(exitcode.NotFound, "package %s does not exist", u)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return exitcode.Errorf(exitcode.DataErr, "package %s is not a regular file", u)
	}
	_, err = io.Copy(w, f)
	return err
}

// httpClient bounds the time to first byte; the body may take longer.
var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	ResponseHeaderTimeout: 60 * time.Second,
	TLSHandshakeTimeout:   30 * time.Second,
}}

func fetchHTTP(ctx context.Context, u *url.URL, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return exitcode.Errorf(exitcode.Unavailable, "download %s: %v", u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return exitcode.Errorf(exitcode.NotFound, "package %s does not exist (HTTP 404)", u.Redacted())
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return exitcode.Errorf(exitcode.Forbidden, "download %s: %s", u.Redacted(), resp.Status)
	case resp.StatusCode >= 500:
		return exitcode.Errorf(exitcode.Unavailable, "download %s: %s", u.Redacted(), resp.Status)
	case resp.StatusCode != http.StatusOK:
		return exitcode.Errorf(exitcode.Failure, "download %s: %s", u.Redacted(), resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = exitcode.Errorf(exitcode.Unavailable, "download %s: got %d of %d bytes", u.Redacted(), n, resp.ContentLength)
	}
	return err
}
