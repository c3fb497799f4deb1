package sftp

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Heron's ScpUploader keys. Heron ran `ssh <ssh options> <ssh connection>
// mkdir -p <dir>` and `scp <scp options> <file> <scp connection>:<dir>/<name>`;
// we speak SFTP to the same host and read the same option strings.
const (
	KeySCPOptions    = "heron.uploader.scp.command.options"
	KeySCPConnection = "heron.uploader.scp.command.connection"
	KeySSHOptions    = "heron.uploader.ssh.command.options"
	KeySSHConnection = "heron.uploader.ssh.command.connection"
	KeyDir           = "heron.uploader.scp.dir.path"
)

// DefaultDir is Heron's default remote directory (tokens expanded by the
// config loader; ${HOME} is the submitting user's home, as in Heron).
const DefaultDir = "${HOME}/heron/repository/${CLUSTER}/${ROLE}/${TOPOLOGY}"

// PasswordEnv holds a password for hosts without key logins, the variable
// sshpass -e reads. Keys or an agent are better; this exists for hosts that
// allow nothing else.
const PasswordEnv = "SSHPASS"

// HostKeyPolicy is StrictHostKeyChecking.
type HostKeyPolicy int

// Host key policies: Strict (the default) refuses unknown and changed keys;
// AcceptNew records unknown keys in the first known_hosts file and refuses
// changed ones; Off checks nothing (ssh's StrictHostKeyChecking=no, which we
// take to also skip changed-key checks, as UserKnownHostsFile=/dev/null does).
const (
	Strict HostKeyPolicy = iota
	AcceptNew
	Off
)

// Target is where and how to connect, from the option strings of Heron's keys.
type Target struct {
	User string
	Host string
	Port int
	// IdentityFiles are tried in order after the agent's keys. When none is
	// given, ssh's default key files that exist are used.
	IdentityFiles []string
	// IdentitiesOnly skips the agent.
	IdentitiesOnly bool
	// KnownHostsFiles are checked for the host key; missing files are skipped.
	KnownHostsFiles []string
	HostKeys        HostKeyPolicy
	ConnectTimeout  time.Duration
	// KeepAlive is the interval of keepalive requests; after three without
	// an answer the connection is dropped, so a dead peer ends the upload.
	KeepAlive time.Duration
	// Ignored lists options that were accepted but have no effect here.
	Ignored []string
}

// Addr is host:port.
func (t *Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// String names the remote in messages: user@host:port.
func (t *Target) String() string { return t.User + "@" + t.Addr() }

// ssh/scp flags that take no argument and change nothing for SFTP.
const (
	scpBoolFlags = "346ABCOpqRrTv"
	sshBoolFlags = "46AaCfGgKkMNnqsTtVvXxYy"
)

// ParseTarget reads a connection string (user@host, host, user@host:port) and
// the scp and ssh option strings. scp options win over ssh options where both
// set something; the scp connection wins over the ssh connection (Heron runs
// both against the same host).
func ParseTarget(scpConn, scpOpts, sshConn, sshOpts string) (*Target, error) {
	conn := strings.TrimSpace(scpConn)
	if conn == "" {
		conn = strings.TrimSpace(sshConn)
	}
	if conn == "" {
		return nil, fmt.Errorf("missing %s config value (user@host)", KeySCPConnection)
	}
	t := &Target{ConnectTimeout: 30 * time.Second, KeepAlive: 15 * time.Second}
	if err := t.setConnection(conn); err != nil {
		return nil, err
	}
	// ssh options first, then scp options override them.
	var sshT, scpT Target
	if err := sshT.parseOptions(sshOpts, false); err != nil {
		return nil, fmt.Errorf("%s: %w", KeySSHOptions, err)
	}
	if err := scpT.parseOptions(scpOpts, true); err != nil {
		return nil, fmt.Errorf("%s: %w", KeySCPOptions, err)
	}
	for _, o := range []*Target{&sshT, &scpT} {
		t.merge(o)
	}
	if t.Port == 0 {
		t.Port = 22
	}
	if t.User == "" {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("no user in %q and the current user is unknown: %w", conn, err)
		}
		t.User = u.Username
	}
	home, _ := os.UserHomeDir()
	if len(t.IdentityFiles) == 0 && home != "" {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			p := filepath.Join(home, ".ssh", n)
			if _, err := os.Stat(p); err == nil {
				t.IdentityFiles = append(t.IdentityFiles, p)
			}
		}
	}
	if len(t.KnownHostsFiles) == 0 {
		if home != "" {
			t.KnownHostsFiles = []string{filepath.Join(home, ".ssh", "known_hosts"), filepath.Join(home, ".ssh", "known_hosts2")}
		}
		t.KnownHostsFiles = append(t.KnownHostsFiles, "/etc/ssh/ssh_known_hosts")
	}
	return t, nil
}

// setConnection parses [user@]host[:port]; an IPv6 host needs brackets when a
// port follows.
func (t *Target) setConnection(conn string) error {
	if i := strings.LastIndex(conn, "@"); i >= 0 {
		t.User, conn = conn[:i], conn[i+1:]
	}
	host := conn
	if h, p, err := net.SplitHostPort(conn); err == nil {
		port, perr := strconv.Atoi(p)
		if perr != nil || port <= 0 || port > 65535 {
			return fmt.Errorf("bad port in connection %q", conn)
		}
		host, t.Port = h, port
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || strings.ContainsAny(host, " /") {
		return fmt.Errorf("bad host in connection %q (want user@host)", conn)
	}
	t.Host = host
	return nil
}

func (t *Target) merge(o *Target) {
	if o.User != "" && t.User == "" {
		t.User = o.User
	}
	if o.Port != 0 {
		t.Port = o.Port
	}
	if len(o.IdentityFiles) > 0 {
		t.IdentityFiles = o.IdentityFiles
	}
	if o.IdentitiesOnly {
		t.IdentitiesOnly = true
	}
	if len(o.KnownHostsFiles) > 0 {
		t.KnownHostsFiles = o.KnownHostsFiles
	}
	if o.HostKeys != Strict {
		t.HostKeys = o.HostKeys
	}
	if o.ConnectTimeout != 0 {
		t.ConnectTimeout = o.ConnectTimeout
	}
	if o.KeepAlive != 0 {
		t.KeepAlive = o.KeepAlive
	}
	t.Ignored = append(t.Ignored, o.Ignored...)
}

// parseOptions reads ssh or scp command-line options. Flags that only matter
// to the ssh programs are accepted and listed in Ignored; ones that would
// change where or how we connect but are not supported (-J, -F) are errors,
// so an upload never silently goes elsewhere.
func (t *Target) parseOptions(s string, scp bool) error {
	args, err := splitWords(s)
	if err != nil {
		return err
	}
	boolFlags, portFlag := sshBoolFlags, byte('p')
	if scp {
		boolFlags, portFlag = scpBoolFlags, 'P'
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			return fmt.Errorf("unexpected argument %q (options only; put user@host in the connection key)", a)
		}
		// Clustered boolean flags such as -qC, possibly ending in one that
		// takes a value (-qi key).
		for j := 1; j < len(a); j++ {
			f := a[j]
			if strings.IndexByte(boolFlags, f) >= 0 {
				t.Ignored = append(t.Ignored, "-"+string(f))
				continue
			}
			val := a[j+1:]
			if val == "" {
				if i+1 >= len(args) {
					return fmt.Errorf("option -%c needs a value", f)
				}
				i++
				val = args[i]
			}
			if err := t.flag(f, val, portFlag); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

func (t *Target) flag(f byte, val string, portFlag byte) error {
	switch {
	case f == portFlag:
		return t.option("Port", val)
	case f == 'i':
		t.IdentityFiles = append(t.IdentityFiles, expandHome(val))
	case f == 'o':
		k, v, ok := strings.Cut(val, "=")
		if !ok {
			k, v, _ = strings.Cut(strings.TrimSpace(val), " ")
		}
		return t.option(strings.TrimSpace(k), strings.TrimSpace(v))
	case f == 'l' && portFlag == 'p':
		t.User = val
	case f == 'c' || f == 'm' || f == 'S' || f == 'b' || f == 'E' || f == 'D' || f == 'L' ||
		f == 'R' || f == 'W' || f == 'w' || f == 'Q' || f == 'e' || f == 'B' || f == 'I' ||
		(f == 'l' && portFlag == 'P'):
		t.Ignored = append(t.Ignored, "-"+string(f)+" "+val)
	default:
		return fmt.Errorf("option -%c is not supported by the SFTP uploader", f)
	}
	return nil
}

// option applies one -o Key=Value (ssh_config keywords, case-insensitive).
func (t *Target) option(k, v string) error {
	switch strings.ToLower(k) {
	case "port":
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return fmt.Errorf("bad port %q", v)
		}
		t.Port = p
	case "user":
		t.User = v
	case "identityfile":
		t.IdentityFiles = append(t.IdentityFiles, expandHome(v))
	case "identitiesonly":
		t.IdentitiesOnly = yes(v)
	case "userknownhostsfile":
		for _, f := range strings.Fields(v) {
			t.KnownHostsFiles = append(t.KnownHostsFiles, expandHome(f))
		}
	case "stricthostkeychecking":
		switch strings.ToLower(v) {
		case "yes", "ask":
			t.HostKeys = Strict
		case "accept-new":
			t.HostKeys = AcceptNew
		case "no", "off":
			t.HostKeys = Off
		default:
			return fmt.Errorf("bad StrictHostKeyChecking %q (yes, accept-new or no)", v)
		}
	case "connecttimeout":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("bad ConnectTimeout %q (seconds)", v)
		}
		t.ConnectTimeout = time.Duration(n) * time.Second
	case "serveraliveinterval":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("bad ServerAliveInterval %q (seconds)", v)
		}
		t.KeepAlive = time.Duration(n) * time.Second
	case "proxyjump", "proxycommand", "hostname":
		return fmt.Errorf("-o %s is not supported by the SFTP uploader", k)
	default:
		t.Ignored = append(t.Ignored, "-o "+k+"="+v)
	}
	return nil
}

func yes(v string) bool {
	v = strings.ToLower(v)
	return v == "yes" || v == "true" || v == "on"
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// splitWords splits a command line as a POSIX shell does for plain words,
// single and double quotes and backslashes (no expansions).
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
