package testserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ZooKeeperClasspathEnv overrides the jars StartZooKeeper runs (a Java
// classpath), for machines where ZooKeeper is not the Debian package.
const ZooKeeperClasspathEnv = "HERON_TEST_ZOOKEEPER_CLASSPATH"

// The Debian zookeeper package installs the server jar here; its manifest
// lists every dependency jar, so only a logging backend has to be added.
const (
	debianZooKeeperJar = "/usr/share/java/zookeeper.jar"
	debianSLF4JSimple  = "/usr/share/java/slf4j-simple.jar"
)

// ZooKeeper tick and session bounds: a short tick keeps session expiry tests
// fast (sessions may be as short as 2 ticks), while the upper bound still
// allows Heron's 30 s default.
const (
	zkTickMs          = 500
	zkMinSessionMs    = 1000
	zkMaxSessionMs    = 60000
	zkReadyTimeout    = 60 * time.Second
	zkStartupGraceLog = 40
)

// ZooKeeper is a standalone ZooKeeper 3.8 server run as a plain java process
// on 127.0.0.1, with its data dir in the test's temp dir.
type ZooKeeper struct {
	t       testing.TB
	port    int
	dataDir string
	cfg     string
	java    string
	cp      string
	proc    *Process
	// StartTime is how long the last start took until the server answered.
	StartTime time.Duration
}

// StartZooKeeper starts a fresh standalone ZooKeeper and stops it when the test
// ends. A missing java or ZooKeeper skips the test (fails it when CI=true).
func StartZooKeeper(t testing.TB) *ZooKeeper {
	t.Helper()
	java := Require(t, "java")
	cp := os.Getenv(ZooKeeperClasspathEnv)
	if cp == "" {
		cp = RequireFile(t, debianZooKeeperJar, "install the Debian package zookeeper")
		if _, err := os.Stat(debianSLF4JSimple); err == nil {
			cp += string(os.PathListSeparator) + debianSLF4JSimple
		}
	}
	dir := t.TempDir()
	z := &ZooKeeper{t: t, port: FreePort(t), dataDir: filepath.Join(dir, "data"),
		cfg: filepath.Join(dir, "zoo.cfg"), java: java, cp: cp}
	if err := os.MkdirAll(z.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Join([]string{
		"tickTime=" + strconv.Itoa(zkTickMs),
		"initLimit=10",
		"syncLimit=5",
		"dataDir=" + z.dataDir,
		"clientPort=" + strconv.Itoa(z.port),
		"clientPortAddress=" + Host,
		"minSessionTimeout=" + strconv.Itoa(zkMinSessionMs),
		"maxSessionTimeout=" + strconv.Itoa(zkMaxSessionMs),
		"maxClientCnxns=0",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr,ruok,stat,cons",
		// Tests need no durability across power cuts; skipping fsync makes writes fast.
		"forceSync=no",
		"",
	}, "\n")
	if err := os.WriteFile(z.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	z.proc = StartProcess(t, "zookeeper", z.command())
	z.waitReady()
	return z
}

func (z *ZooKeeper) command() *exec.Cmd {
	cmd := exec.Command(z.java,
		// Start-up flags: the C1 compiler and the serial GC start fastest for a
		// small server; class data sharing is on by default in Java 17.
		"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
		"-Xms32m", "-Xmx256m",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-cp", z.cp,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", z.cfg)
	cmd.Dir = filepath.Dir(z.cfg)
	return cmd
}

// waitReady waits until the server answers the srvr command, which it does
// only once its database is loaded and it serves requests.
func (z *ZooKeeper) waitReady() {
	z.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := z.proc.Exited()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := Poll(ctx, zkReadyTimeout, func() error {
		out, err := z.FourLetter("srvr")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Zookeeper version") {
			return fmt.Errorf("srvr answered %q", firstLine(out))
		}
		return nil
	})
	if err != nil {
		if !z.proc.Running() {
			err = fmt.Errorf("%w: %v", ErrExited, z.proc.Err())
		}
		z.t.Fatalf("zookeeper on %s did not start: %v\n%s", z.Addr(), err, z.proc.Tail(zkStartupGraceLog))
	}
	z.StartTime = time.Since(start)
	z.t.Logf("zookeeper ready on %s in %s (pid %d)", z.Addr(), z.StartTime.Round(time.Millisecond), z.proc.PID())
}

// FourLetter sends a ZooKeeper four-letter command (srvr, ruok, stat, cons)
// and returns the answer.
func (z *ZooKeeper) FourLetter(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", z.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// Addr is the client address, 127.0.0.1:port.
func (z *ZooKeeper) Addr() string { return net.JoinHostPort(Host, strconv.Itoa(z.port)) }

// Port is the client port.
func (z *ZooKeeper) Port() int { return z.port }

// DataDir is the server's data directory.
func (z *ZooKeeper) DataDir() string { return z.dataDir }

// URI returns a state-manager URI for root on this server, e.g. zk://127.0.0.1:PORT/heron.
func (z *ZooKeeper) URI(root string) string {
	if !strings.HasPrefix(root, "/") {
		root = "/" + root
	}
	return "zk://" + z.Addr() + root
}

// PID is the server's process id.
func (z *ZooKeeper) PID() int { return z.proc.PID() }

// Stop stops the server (SIGTERM, then SIGKILL), keeping its data dir.
func (z *ZooKeeper) Stop() { z.proc.Stop() }

// Kill stops the server with SIGKILL, like a crash.
func (z *ZooKeeper) Kill() { z.proc.Kill() }

// Start starts a stopped server again on the same port and data dir, and waits
// until it serves.
func (z *ZooKeeper) Start() {
	z.t.Helper()
	if err := z.proc.Restart(z.command()); err != nil {
		z.t.Fatalf("restart zookeeper: %v", err)
	}
	z.waitReady()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
