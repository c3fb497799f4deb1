package testserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHDBinaryEnv overrides the sshd binary StartSSHD runs (an absolute path).
const SSHDBinaryEnv = "HERON_TEST_SSHD"

// debianSSHD is where Debian's openssh-server installs the daemon; sshd
// insists on being started by absolute path.
const debianSSHD = "/usr/sbin/sshd"

const sshdReadyTimeout = 20 * time.Second

// SSHD is a real OpenSSH server on 127.0.0.1 with its own host key and one
// authorized client key, all in the test's temp dir. It logs in the user the
// test runs as (sshd can only switch to another user when run as root).
// Password logins are allowed by the config but the account's password is
// never known to the test, so any password is a wrong one.
type SSHD struct {
	t    testing.TB
	bin  string
	dir  string
	cfg  string
	proc *Process

	// Port is the listening port on Host.
	Port int
	// User is the login name, the user the test runs as.
	User string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey
	// KnownHosts is a known_hosts file that trusts HostKey for [Host]:Port.
	KnownHosts string
	// ClientKey is the path of an unencrypted OpenSSH private key the server
	// accepts; ClientSigner is the same key, parsed.
	ClientKey    string
	ClientSigner ssh.Signer
	// Root is an empty directory that the user may write, for uploads.
	Root string
}

// StartSSHD starts a fresh sshd and stops it when the test ends. A missing
// sshd skips the test (fails it when CI=true).
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	bin := os.Getenv(SSHDBinaryEnv)
	if bin == "" {
		bin = RequireFile(t, debianSSHD, "install the Debian package openssh-server")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshd: current user: %v", err)
	}
	dir := t.TempDir()
	s := &SSHD{t: t, bin: bin, dir: dir, cfg: filepath.Join(dir, "sshd_config"),
		Port: FreePort(t), User: u.Username, Root: filepath.Join(dir, "root")}
	if err := os.MkdirAll(s.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	// sshd refuses to start without its privilege separation directory.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshd: %v", err)
		}
	}
	hostKeyFile := filepath.Join(dir, "host_ed25519")
	hostSigner := writeKey(t, hostKeyFile)
	s.HostKey = hostSigner.PublicKey()
	s.ClientKey = filepath.Join(dir, "client_ed25519")
	s.ClientSigner = writeKey(t, s.ClientKey)
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(s.ClientSigner.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	line := KnownHostsLine(s.Addr(), s.HostKey)
	if err := os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Join([]string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress " + Host,
		"HostKey " + hostKeyFile,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + authorized,
		"PubkeyAuthentication yes",
		// Offered so that a client's wrong password is refused by the real
		// password check rather than by the method being absent.
		"PasswordAuthentication yes",
		"PermitEmptyPasswords no",
		"KbdInteractiveAuthentication no",
		// No PAM setup is needed, and the temp dir's parents need not be
		// owned by the user.
		"UsePAM no",
		"StrictModes no",
		"PermitRootLogin yes",
		"MaxStartups 100",
		"MaxSessions 100",
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
		"",
	}, "\n")
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-f", s.cfg).CombinedOutput(); err != nil {
		t.Fatalf("sshd config test: %v: %s", err, out)
	}
	s.proc = StartProcess(t, "sshd", s.command())
	s.waitReady()
	return s
}

func (s *SSHD) command() *exec.Cmd {
	// -D: stay in the foreground so the PID is the daemon's; -e: log to the
	// process's stderr, which lands in the log file.
	return exec.Command(s.bin, "-D", "-e", "-f", s.cfg)
}

// waitReady waits until the server sends its SSH banner.
func (s *SSHD) waitReady() {
	s.t.Helper()
	err := Poll(context.Background(), sshdReadyTimeout, func() error {
		if !s.proc.Running() {
			return fmt.Errorf("sshd exited: %v", s.proc.Err())
		}
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 4)
		if _, err := c.Read(buf); err != nil {
			return err
		}
		if string(buf) != "SSH-" {
			return fmt.Errorf("unexpected banner %q", buf)
		}
		return nil
	})
	if err != nil {
		s.t.Fatalf("sshd on %s: %v\n%s", s.Addr(), err, s.proc.Tail(20))
	}
}

// Addr is the server's host:port.
func (s *SSHD) Addr() string { return net.JoinHostPort(Host, strconv.Itoa(s.Port)) }

// Process is the running daemon, to kill or stop it in a test.
func (s *SSHD) Process() *Process { return s.proc }

// Restart starts the daemon again on the same port with the same keys.
func (s *SSHD) Restart() {
	s.t.Helper()
	if err := s.proc.Restart(s.command()); err != nil {
		s.t.Fatalf("restart sshd: %v", err)
	}
	s.waitReady()
}

// Crash kills the daemon and every process it started with SIGKILL, as a
// crash of the machine would. Killing the daemon alone is not enough: sshd
// moves each connection into a session of its own, so open connections
// would live on.
func (s *SSHD) Crash() {
	s.t.Helper()
	pid := s.proc.PID()
	kids := descendants(pid)
	s.proc.Kill()
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
}

// Dial opens an SSH connection as User with ClientKey, checking the host key.
func (s *SSHD) Dial() (*ssh.Client, error) {
	return ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:            s.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(s.ClientSigner)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey),
		Timeout:         10 * time.Second,
	})
}

// NewKey writes a fresh ed25519 private key that the server does not accept
// into the test's temp dir and returns its path.
func (s *SSHD) NewKey(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "other_ed25519")
	writeKey(t, p)
	return p
}

// KnownHostsLine is a known_hosts line for a server at addr (host:port).
func KnownHostsLine(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)
}

// writeKey makes an ed25519 key, writes it at path in OpenSSH format (mode
// 0600, as ssh requires) and returns it as a signer.
func writeKey(t testing.TB, path string) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	return signer
}
