package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/heronkit/heronkit/conf"
)

// EnvConfigPath names a folder of cluster folders that wins over the defaults.
const EnvConfigPath = "HERON_CONF_PATH"

// FindConfigPath returns the folder holding the cluster folder for cluster,
// trying in order: $HERON_CONF_PATH, ../conf next to the running binary (an
// unpacked release or a source checkout's bin/), ~/.heron/conf (Heron's own
// install location), and finally the cluster folders embedded in the binary,
// unpacked once into the user's cache directory. An explicit --config-path
// should be passed to Load instead of calling this.
func FindConfigPath(cluster string) (string, error) {
	var candidates []string
	if p := os.Getenv(EnvConfigPath); p != "" {
		candidates = append(candidates, p)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", "conf"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".heron", "conf"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(filepath.Join(c, cluster)); err == nil && st.IsDir() {
			return filepath.Clean(c), nil
		}
	}
	if _, err := fs.Stat(conf.FS, cluster); err != nil {
		return "", fmt.Errorf("cluster %q not found in %v nor among the built-in clusters (known clusters: %s); create <config-path>/%s or pass --config-path", cluster, candidates, strings.Join(knownClusters(candidates), ", "), cluster)
	}
	return unpackEmbedded()
}

// knownClusters names the cluster folders (those holding a statemgr.yaml)
// in the candidates and the built-in ones, so a typo's error shows the
// names that would have worked.
func knownClusters(candidates []string) []string {
	seen := map[string]bool{}
	add := func(fsys fs.FS) {
		entries, _ := fs.ReadDir(fsys, ".")
		for _, e := range entries {
			if _, err := fs.Stat(fsys, e.Name()+"/statemgr.yaml"); err == nil {
				seen[e.Name()] = true
			}
		}
	}
	for _, c := range candidates {
		add(os.DirFS(c))
	}
	add(conf.FS)
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// unpackEmbedded writes the embedded cluster folders into a cache folder
// named after their content, so concurrent or repeated runs share one copy
// and a new release never reads an old one.
func unpackEmbedded() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(conf.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(conf.FS, p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "heronkit", "conf-"+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir)+string(filepath.Separator), ".conf-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".conf-"); err != nil {
			return "", err
		}
	}
	err = fs.WalkDir(conf.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(tmp, p), 0o755)
		}
		b, err := fs.ReadFile(conf.FS, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, p), b, 0o644)
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		// Another process won the race: its copy is identical.
		if _, statErr := os.Stat(filepath.Join(dir, ".complete")); statErr != nil {
			return "", errors.Join(err, statErr)
		}
	}
	return dir, nil
}
