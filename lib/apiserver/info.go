package apiserver

import (
	"fmt"
	"net/http"
	"os"
	"os/user"
	"runtime/debug"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/heronkit/heronkit/lib/cli"
)

// readRelease reads Heron's release.yaml (heron.build.* keys). Without a
// file the toolkit describes its own build the same way.
func readRelease(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		out["heron.build.version"] = cli.Version
		out["heron.build.user"] = "heronkit"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					out["heron.build.git.revision"] = s.Value
				case "vcs.modified":
					out["heron.build.git.status"] = map[string]string{"true": "Modified", "false": "Clean"}[s.Value]
				case "vcs.time":
					out["heron.build.time"] = s.Value
				}
			}
		}
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release file: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("release file %s: %w", path, err)
	}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

// handleVersion is Heron's GET /api/v1/version: every heron.build key,
// values as strings, sorted, pretty-printed.
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{}
	for _, k := range s.base.Keys() {
		if strings.Contains(k, "heron.build") {
			v, _ := s.base.String(k, "")
			out[k] = v
		}
	}
	for k, v := range s.release {
		if strings.Contains(k, "heron.build") {
			out[k] = v
		}
	}
	writeIndented(w, http.StatusOK, out) // encoding/json sorts map keys
}

// secretWords mark config keys whose values /api/v1/config hides.
var secretWords = []string{"secret", "password", "passwd", "token", "access_key", "credential", "private"}

// handleConfig (ours) shows the base configuration the server submits
// with, secrets masked, so an operator can check what -D did.
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	vals := s.base.Map()
	for k := range vals {
		lk := strings.ToLower(k)
		for _, word := range secretWords {
			if strings.Contains(lk, word) {
				vals[k] = "********"
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"cluster":     s.opts.Cluster,
		"config_path": s.opts.ConfigDir,
		"files":       s.files.Dir(),
		"config":      vals,
	})
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "heron"
}
