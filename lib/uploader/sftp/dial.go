package sftp

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/heronkit/heronkit/lib/uploader/internal/transfer"
)

// conn is one SSH connection with its SFTP session.
type conn struct {
	t      *Target
	ssh    *ssh.Client
	sftp   *sftp.Client
	agent  net.Conn
	stop   chan struct{}
	closed sync.Once
}

// dial connects, authenticates and opens SFTP. Its errors are one line that
// name the remote and say whether the network, the host key or the login
// failed.
func dial(ctx context.Context, t *Target) (*conn, error) {
	c := &conn{t: t, stop: make(chan struct{})}
	cfg := &ssh.ClientConfig{User: t.User, Timeout: t.ConnectTimeout}
	auth, err := c.authMethods()
	if err != nil {
		return nil, transfer.Errorf(transfer.Config, "connect to", t.String(), err, "")
	}
	cfg.Auth = auth
	hk, algos, err := hostKeyCallback(t)
	if err != nil {
		c.close()
		return nil, transfer.Errorf(transfer.Config, "connect to", t.String(), err, "")
	}
	cfg.HostKeyCallback, cfg.HostKeyAlgorithms = hk, algos

	d := net.Dialer{Timeout: t.ConnectTimeout}
	nc, err := d.DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		c.close()
		return nil, transfer.Errorf(transfer.Network, "connect to", t.String(), err,
			"check the host and port in "+KeySCPConnection+" and "+KeySCPOptions)
	}
	// The handshake must end in time too: a port that accepts but never
	// speaks SSH would otherwise hang the upload.
	if t.ConnectTimeout > 0 {
		_ = nc.SetDeadline(time.Now().Add(t.ConnectTimeout))
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, t.Addr(), cfg)
	if err != nil {
		nc.Close()
		c.close()
		return nil, handshakeError(t, err)
	}
	_ = nc.SetDeadline(time.Time{})
	c.ssh = ssh.NewClient(sc, chans, reqs)
	c.sftp, err = sftp.NewClient(c.ssh,
		// Pipelined writes and reads keep the link busy; without them a
		// transfer waits one round trip per 32 KiB packet.
		sftp.UseConcurrentWrites(true),
		sftp.UseConcurrentReads(true),
		sftp.MaxConcurrentRequestsPerFile(64),
	)
	if err != nil {
		c.close()
		return nil, transfer.Errorf(transfer.Failed, "open SFTP on", t.String(), err,
			"the server must offer the sftp subsystem (Subsystem sftp in sshd_config)")
	}
	go c.keepAlive()
	go func() {
		select {
		case <-ctx.Done():
			c.close()
		case <-c.stop:
		}
	}()
	return c, nil
}

func (c *conn) close() {
	c.closed.Do(func() {
		close(c.stop)
		if c.sftp != nil {
			c.sftp.Close()
		}
		if c.ssh != nil {
			c.ssh.Close()
		}
		if c.agent != nil {
			c.agent.Close()
		}
	})
}

// keepAlive drops the connection after three unanswered keepalives, so a
// peer that vanished (no reset ever arrives) fails the upload instead of
// hanging it.
func (c *conn) keepAlive() {
	if c.t.KeepAlive <= 0 {
		return
	}
	tick := time.NewTicker(c.t.KeepAlive)
	defer tick.Stop()
	missed := 0
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				c.close()
				return
			}
			missed = 0
		case <-time.After(c.t.KeepAlive):
			if missed++; missed >= 3 {
				c.close()
				return
			}
		case <-c.stop:
			return
		}
	}
}

// authMethods: the agent's keys (unless IdentitiesOnly), then the identity
// files, then a password from SSHPASS. Encrypted key files are skipped when
// the agent is there (it likely holds them) and are an error otherwise.
func (c *conn) authMethods() ([]ssh.AuthMethod, error) {
	var signers []ssh.Signer
	var agentSigners func() ([]ssh.Signer, error)
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !c.t.IdentitiesOnly {
		if ac, err := net.Dial("unix", sock); err == nil {
			c.agent = ac
			agentSigners = agent.NewClient(ac).Signers
		}
	}
	var encrypted []string
	for _, f := range c.t.IdentityFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("identity file: %w", err)
		}
		s, err := ssh.ParsePrivateKey(b)
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			encrypted = append(encrypted, f)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("identity file %s: %w", f, err)
		}
		signers = append(signers, s)
	}
	if len(encrypted) > 0 && agentSigners == nil && len(signers) == 0 && os.Getenv(PasswordEnv) == "" {
		return nil, fmt.Errorf("identity file %s has a passphrase and no ssh-agent is running (SSH_AUTH_SOCK); add it to an agent with ssh-add", encrypted[0])
	}
	var methods []ssh.AuthMethod
	if agentSigners != nil || len(signers) > 0 {
		// One public-key method that offers every key in turn, agent first.
		methods = append(methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			var all []ssh.Signer
			if agentSigners != nil {
				if as, err := agentSigners(); err == nil {
					all = append(all, as...)
				}
			}
			return append(all, signers...), nil
		}))
	}
	if pw := os.Getenv(PasswordEnv); pw != "" {
		methods = append(methods, ssh.Password(pw))
	}
	if len(methods) == 0 {
		return nil, errors.New("no key to log in with: give one with -i in " + KeySCPOptions +
			", start an ssh-agent, or create ~/.ssh/id_ed25519")
	}
	return methods, nil
}

// hostKeyCallback checks host keys against the known_hosts files, following
// the StrictHostKeyChecking policy, and lists the key algorithms known for the
// host so that the server presents a key of a type we can check.
func hostKeyCallback(t *Target) (ssh.HostKeyCallback, []string, error) {
	if t.HostKeys == Off {
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	var files []string
	for _, f := range t.KnownHostsFiles {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	var check ssh.HostKeyCallback
	if len(files) > 0 {
		var err error
		if check, err = knownhosts.New(files...); err != nil {
			return nil, nil, fmt.Errorf("known hosts: %w", err)
		}
	} else {
		check = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	}
	algos := knownAlgorithms(check, t.Addr())
	cb := func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if err == nil || !errors.As(err, &ke) {
			return err
		}
		if len(ke.Want) > 0 {
			return &hostKeyError{msg: fmt.Sprintf("the host key of %s (%s %s) does not match the one in %s:%d; it may have been replaced, or someone may be intercepting the connection",
				knownhosts.Normalize(host), key.Type(), ssh.FingerprintSHA256(key), ke.Want[0].Filename, ke.Want[0].Line)}
		}
		if t.HostKeys == AcceptNew {
			return appendKnownHost(t, host, key)
		}
		return &hostKeyError{unknown: true, msg: fmt.Sprintf("the host key of %s (%s %s) is unknown",
			knownhosts.Normalize(host), key.Type(), ssh.FingerprintSHA256(key))}
	}
	return cb, algos, nil
}

type hostKeyError struct {
	msg     string
	unknown bool
}

func (e *hostKeyError) Error() string { return e.msg }

// knownAlgorithms asks the known_hosts check about a throwaway key: the
// mismatch error lists the keys on file for the host.
func knownAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(check(addr, &net.TCPAddr{}, probe), &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// appendKnownHost records a new host key (StrictHostKeyChecking=accept-new)
// in the first known_hosts file, creating it (and ~/.ssh) as ssh does.
func appendKnownHost(t *Target, host string, key ssh.PublicKey) error {
	if len(t.KnownHostsFiles) == 0 {
		return nil
	}
	f := t.KnownHostsFiles[0]
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return err
	}
	fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(fh, knownhosts.Line([]string{knownhosts.Normalize(host)}, key))
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// handshakeError sorts a failed SSH handshake into host key, login or
// network failures.
func handshakeError(t *Target, err error) error {
	var hk *hostKeyError
	switch {
	case errors.As(err, &hk) && hk.unknown:
		return transfer.Errorf(transfer.Auth, "connect to", t.String(), hk, fmt.Sprintf(
			"add it with: ssh-keyscan -p %d %s >> ~/.ssh/known_hosts (after checking the fingerprint), or turn checking off with -o StrictHostKeyChecking=no in %s",
			t.Port, t.Host, KeySCPOptions))
	case errors.As(err, &hk):
		return transfer.Errorf(transfer.Auth, "connect to", t.String(), hk,
			"if the key change is expected, remove the old line from known_hosts")
	case strings.Contains(err.Error(), "unable to authenticate"):
		return transfer.Errorf(transfer.Auth, "log in to", t.String(), err,
			"check the user in "+KeySCPConnection+" and the key given with -i in "+KeySCPOptions+" (or the ssh-agent)")
	case transfer.IsNetwork(err):
		return transfer.Errorf(transfer.Network, "connect to", t.String(), err, "is an SSH server listening there?")
	default:
		return transfer.Errorf(transfer.Failed, "connect to", t.String(), err, "")
	}
}
