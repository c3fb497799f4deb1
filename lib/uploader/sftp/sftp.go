// Package sftp is Heron's ScpUploader spoken over SFTP (pkg/sftp on
// golang.org/x/crypto/ssh) instead of running the ssh and scp programs. It
// reads Heron's heron.uploader.scp.* and heron.uploader.ssh.* keys, including
// the ssh/scp option strings (-i, -P/-p, -o Key=Value...), and registers as
// "scp" (org.apache.heron.uploader.scp.ScpUploader). It also reads sftp:// and
// scp:// URIs back for containers.
//
// Differences from Heron, on purpose:
//   - The returned URI is sftp://user@host[:port]/path, not Heron's bare
//     remote path, so that a container can fetch it without knowing the host.
//   - The package is written to a hidden temporary and renamed into place;
//     readers never see a partial package.
//   - Host keys are checked against known_hosts unless the options say
//     -o StrictHostKeyChecking=no (scp would prompt; we cannot).
//   - Undo removes only a package this uploader wrote.
package sftp

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/uploader"
)

// OptionsEnv gives fetch the ssh options (scp syntax, as in
// heron.uploader.scp.command.options) that a container needs, such as
// "-i /keys/id_ed25519 -o UserKnownHostsFile=/keys/known_hosts"; fetch has
// no cluster config to read them from.
const OptionsEnv = "HERON_SCP_OPTIONS"

func init() {
	uploader.Register("scp", func(cfg *config.Config) (uploader.Uploader, error) { return New(cfg) })
	uploader.RegisterFetcher("sftp", Fetch)
	uploader.RegisterFetcher("scp", Fetch)
}

// Uploader puts one topology's package on an SSH server.
type Uploader struct {
	Target *Target
	// Path is the remote package path: <dir>/<topology>-<role>-tag-0.tar.gz.
	Path string
	// Progress receives a progress line for large packages when it is a terminal.
	Progress io.Writer
	uploaded bool
}

// New reads Heron's keys from cfg.
func New(cfg *config.Config) (*Uploader, error) {
	get := func(k string) (string, error) {
		v, err := cfg.String(k, "")
		if err != nil {
			return "", exitcode.Wrap(exitcode.Config, err)
		}
		return strings.TrimSpace(v), nil
	}
	var vals [4]string
	for i, k := range []string{KeySCPConnection, KeySCPOptions, KeySSHConnection, KeySSHOptions} {
		v, err := get(k)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	t, err := ParseTarget(vals[0], vals[1], vals[2], vals[3])
	if err != nil {
		return nil, exitcode.WithHint(exitcode.Wrap(exitcode.Config, fmt.Errorf("scp uploader: %w", err)),
			"set it in uploader.yaml")
	}
	if !cfg.Has(KeyDir) {
		cfg = cfg.With(map[string]any{KeyDir: DefaultDir})
	}
	dir, err := get(KeyDir)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, exitcode.Errorf(exitcode.Config, "scp uploader: %s is empty; set it in uploader.yaml", KeyDir)
	}
	topo, _ := cfg.String(config.KeyTopologyName, "")
	role, _ := cfg.String(config.KeyRole, "")
	return &Uploader{Target: t, Path: path.Join(dir, uploader.PackageName(topo, role)), Progress: os.Stderr}, nil
}

// URI is the package's sftp:// URI.
func (u *Uploader) URI() string { return URI(u.Target, u.Path) }

// Upload implements uploader.Uploader.
func (u *Uploader) Upload(ctx context.Context, pkg string) (string, error) {
	if err := put(ctx, u.Target, pkg, u.Path, u.Progress); err != nil {
		return "", err
	}
	u.uploaded = true
	return u.URI(), nil
}

// Undo implements uploader.Uploader: it removes the package if this
// uploader wrote it.
func (u *Uploader) Undo(ctx context.Context) error {
	if !u.uploaded {
		return nil
	}
	if err := remove(ctx, u.Target, u.Path); err != nil {
		return err
	}
	u.uploaded = false
	return nil
}

// URI renders sftp://user@host[:port]/path. A relative remote path (relative
// to the login directory) is written /~/path, as the SFTP URI draft does.
func URI(t *Target, p string) string {
	host := t.Host
	if t.Port != 22 {
		host = net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/~/" + p
	}
	return (&url.URL{Scheme: "sftp", User: url.User(t.User), Host: host, Path: p}).String()
}

// ParseURI reads sftp://[user@]host[:port]/path, scp://... (the same) or
// scp's own [user@]host:path form, with ssh options in scp syntax.
func ParseURI(s, options string) (*Target, string, error) {
	var conn, p string
	if u, err := url.Parse(s); err == nil && (u.Scheme == "sftp" || u.Scheme == "scp") {
		conn = u.Host
		if u.User != nil {
			conn = u.User.Username() + "@" + u.Host
		}
		p = u.Path
		if rest, ok := strings.CutPrefix(p, "/~/"); ok {
			p = rest
		}
	} else {
		c, rest, ok := strings.Cut(s, ":")
		if !ok || rest == "" || strings.Contains(c, "/") {
			return nil, "", fmt.Errorf("%q is not an sftp:// URI nor user@host:path", s)
		}
		conn, p = c, rest
		if strings.HasPrefix(c, "[") { // [v6addr]:path
			if i := strings.Index(s, "]:"); i > 0 {
				conn, p = s[:i+1], s[i+2:]
			}
		}
	}
	if p == "" || p == "/" {
		return nil, "", fmt.Errorf("%q names no file", s)
	}
	t, err := ParseTarget(conn, options, "", "")
	if err != nil {
		return nil, "", err
	}
	return t, p, nil
}

// Fetch implements uploader.Fetcher for sftp:// and scp:// URIs, logging in
// with the user's ssh keys and agent and the options in HERON_SCP_OPTIONS.
func Fetch(ctx context.Context, u *url.URL, w io.Writer) error {
	t, p, err := ParseURI(u.String(), os.Getenv(OptionsEnv))
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	return get(ctx, t, p, w, os.Stderr)
}

// FetchSCP fetches scp's user@host:path form, which is not a URI.
func FetchSCP(ctx context.Context, s string, w io.Writer) error {
	t, p, err := ParseURI(s, os.Getenv(OptionsEnv))
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	return get(ctx, t, p, w, os.Stderr)
}
