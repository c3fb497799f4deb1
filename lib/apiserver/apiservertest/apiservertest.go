// Package apiservertest starts a real heron-apiserver (lib/apiserver, in
// the test's process) on 127.0.0.1 for tests of the server and of its
// clients. It lives apart from lib/testserver, which packages that
// lib/apiserver imports use in their own tests.
package apiservertest

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/testserver"
)

// Start runs a server with opts on a free port of 127.0.0.1 and returns it
// with its base URL (http://127.0.0.1:port); it is stopped at cleanup.
// Download URLs name 127.0.0.1, and logs go to stderr only with -v. Unset
// options get test values: cluster "local"; as cluster folder, ClusterDir;
// uploads in a temp folder.
func Start(t testing.TB, opts apiserver.Options) (*apiserver.Server, string) {
	t.Helper()
	if opts.Cluster == "" {
		opts.Cluster = "local"
	}
	if opts.ConfigDir == "" {
		opts.ConfigDir = ClusterDir(t)
	}
	if opts.UploadDir == "" {
		opts.UploadDir = filepath.Join(t.TempDir(), "files")
	}
	opts.Addr = testserver.Host + ":0"
	opts.DownloadHostname = testserver.Host
	opts.Log = zerolog.New(io.Discard)
	if testing.Verbose() {
		opts.Log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr})
	}
	s, err := apiserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, "http://" + testserver.ServeInProcess(t, s).String()
}

// ClusterDir writes the smallest cluster folder a server runs with into a
// temp folder: the local-file state manager with its root in a temp folder,
// and round-robin packing.
func ClusterDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"statemgr.yaml": "heron.class.state.manager: org.apache.heron.statemgr.localfs.LocalFileSystemStateManager\n" +
			"heron.statemgr.connection.string: LOCALMODE\n" +
			"heron.statemgr.root.path: " + filepath.Join(t.TempDir(), "state") + "\n",
		"packing.yaml": "heron.class.packing.algorithm: org.apache.heron.packing.roundrobin.RoundRobinPacking\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
