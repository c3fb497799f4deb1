package testscripts

import (
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/testserver"
)

func init() {
	setups = append(setups, zkSetup)
	conditions["zookeeper"] = func() (bool, error) { return zk != nil, nil }
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

// ZooKeeper's address reaches every script as $ZK; scripts that need it start
// with "[!zookeeper] skip" and use a root of their own (zk://$ZK/<script>),
// so they never see each other's nodes.
func zkSetup(t *testing.T, e *testscript.Env) error {
	if zk != nil {
		e.Setenv("ZK", zk.Addr())
	}
	return nil
}
