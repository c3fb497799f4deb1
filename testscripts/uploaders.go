package testscripts

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/testserver"
	// The remote uploaders (scp, s3, hdfs), for heron-upload run in-process.
)

func init() {
	commands["sshd-start"] = cmdSSHDStart
	commands["minio-start"] = cmdMinIOStart
	commands["mkpkg"] = cmdMkpkg
	commands["subst"] = cmdSubst
	commands["urienv"] = cmdURIEnv
	// A server counts as present under CI=true even when missing, so that
	// starting it fails the script instead of skipping it.
	conditions["sshd"] = func() (bool, error) {
		_, err := os.Stat("/usr/sbin/sshd")
		return err == nil || os.Getenv(testserver.SSHDBinaryEnv) != "" || testserver.InCI(), nil
	}
	conditions["minio"] = func() (bool, error) {
		_, err := os.Stat(testserver.MinIOBinary())
		return err == nil || testserver.InCI(), nil
	}
}

// cmdSSHDStart starts an OpenSSH server for this script and exports
// SSHD_ADDR, SSHD_PORT, SSHD_USER, SSHD_KEY (a private key it accepts),
// SSHD_OTHER_KEY (a key it refuses), SSHD_KNOWN_HOSTS and SSHD_ROOT (a
// writable directory):
//
//	[!sshd] skip 'openssh-server is not installed: run .ci/install-servers'
//	sshd-start
func cmdSSHDStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: sshd-start")
	}
	tb := &scriptTB{ts: ts}
	s := testserver.StartSSHD(tb)
	ts.Setenv("SSHD_OTHER_KEY", s.NewKey(tb))
	ts.Setenv("SSHD_ADDR", s.Addr())
	ts.Setenv("SSHD_PORT", strconv.Itoa(s.Port))
	ts.Setenv("SSHD_USER", s.User)
	ts.Setenv("SSHD_KEY", s.ClientKey)
	ts.Setenv("SSHD_KNOWN_HOSTS", s.KnownHosts)
	ts.Setenv("SSHD_ROOT", s.Root)
}

// cmdMinIOStart starts MinIO for this script, creates the buckets named and
// exports MINIO_URL, MINIO_ACCESS_KEY and MINIO_SECRET_KEY:
//
//	[!minio] skip 'MinIO is not built: run .ci/servers/minio.sh'
//	minio-start heron
func cmdMinIOStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: minio-start BUCKET...")
	}
	m := testserver.StartMinIO(&scriptTB{ts: ts})
	c, err := minio.New(m.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""), Region: "us-east-1"})
	ts.Check(err)
	for _, b := range args {
		ts.Check(c.MakeBucket(context.Background(), b, minio.MakeBucketOptions{}))
	}
	ts.Setenv("MINIO_URL", m.URL())
	ts.Setenv("MINIO_ACCESS_KEY", m.AccessKey)
	ts.Setenv("MINIO_SECRET_KEY", m.SecretKey)
}

// cmdMkpkg builds a topology package FILE for topology NAME whose defn holds
// MARKER:
//
//	mkpkg WordCount topology.tar.gz first
func cmdMkpkg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: mkpkg NAME FILE MARKER")
	}
	src, err := os.MkdirTemp(ts.Getenv("WORK"), ".pkgsrc-")
	ts.Check(err)
	ts.Check(os.WriteFile(filepath.Join(src, args[0]+".yaml"), []byte("name: "+args[0]+"\n"), 0o644))
	_, err = pkgtar.BuildFile(ts.MkAbs(args[1]), pkgtar.Contents{TopologyDir: src, DefnName: args[0] + ".defn",
		Defn: []byte(args[2]), Override: []byte("{}\n")}, pkgtar.Limits{})
	ts.Check(err)
}

var substVar = regexp.MustCompile(`@@([A-Za-z_][A-Za-z0-9_]*)@@`)

// cmdSubst replaces @@NAME@@ in FILE by the script's $NAME, for config
// files that need a server's port or key path (Heron's own ${TOKENS} stay):
//
//	subst conf/test/uploader.yaml
func cmdSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: subst FILE")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	out := substVar.ReplaceAllFunc(b, func(m []byte) []byte { return []byte(ts.Getenv(string(m[2 : len(m)-2]))) })
	ts.Check(os.WriteFile(p, out, 0o644))
}

// cmdURIEnv sets $VAR to the "uri" of the JSON line heron-upload printed:
//
//	exec heron-upload --cluster test topology.tar.gz
//	urienv URI
func cmdURIEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: urienv VAR")
	}
	var v struct{ URI string }
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &v); err != nil || v.URI == "" {
		ts.Fatalf("stdout holds no {\"uri\": ...}: %v", err)
	}
	ts.Setenv(args[0], v.URI)
}
