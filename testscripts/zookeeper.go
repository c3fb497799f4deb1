package testscripts

import (
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/testserver"
)

func init() {
	commands["zookeeper"] = cmdZooKeeper
}

var zk *testserver.ZooKeeper

// startSharedServers starts, from the test's own goroutine, the servers that
// scripts share. A server that is not installed leaves its scripts skipped
// (StartZooKeeper fails the run instead when CI=true).
func startSharedServers(t *testing.T) {
	if _, err := exec.LookPath("java"); err == nil || testserver.InCI() {
		if _, err := os.Stat(testserver.ZooKeeperJar); err == nil || testserver.InCI() {
			zk = testserver.StartZooKeeper(t)
		}
	}
}

// cmdZooKeeper makes sure the shared ZooKeeper server runs and exports its
// address as $ZK. Scripts use a root of their own (zk://$ZK/<script>), so
// they never see each other's nodes. Without java or ZooKeeper the script is
// skipped (failed under CI=true).
func cmdZooKeeper(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: zookeeper")
	}
	if zk == nil {
		ts.Skip("ZooKeeper is not installed (java and the Debian zookeeper package): run make check")
	}
	ts.Setenv("ZK", zk.Addr())
}
