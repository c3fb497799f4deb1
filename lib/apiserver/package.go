package apiserver

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/submit"
)

// isArchive reports whether a topology file is a folder sent as a gzipped
// tar (what heron-submit --service-url sends for a native topology).
// Heron's own submitter cannot use .tar.gz topology files at all (its
// package type becomes "GZ"), so no Heron client sends one meaning
// anything else.
func isArchive(name string) bool {
	return strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".tgz")
}

// prepareSubmit does Heron's API-server steps 2 to 4 in WorkDir/pkg: the
// definition as <name>.defn, the topology file (or the unpacked folder),
// heron-conf/ from the server's cluster folder with override.yaml holding
// the server's -D values and the submit's extra fields, statemgr.yaml keys
// overridden in place (executors read that file), and topology.tar.gz.
func (s *Server) prepareSubmit(job *SubmitJob, form *submitForm) error {
	defn, err := os.ReadFile(form.defn)
	if err != nil {
		return err
	}
	var top apipb.Topology
	if err := proto.Unmarshal(defn, &top); err != nil {
		return exitcode.Errorf(exitcode.DataErr, "the definition is not a Topology protobuf: %v", err)
	}
	if top.GetName() != job.Name {
		return exitcode.Errorf(exitcode.DataErr, "the form names topology %s but the definition holds %s",
			quote(job.Name), quote(top.GetName()))
	}
	// As a Heron client does before packaging: the team keys, and
	// topology.stmgrs from the cluster's packing, so the packaged .defn
	// matches the plan that the submit writes.
	if defn, err = submit.FinishDefinition(job.Config, &top, job.Role, job.Environ); err != nil {
		return err
	}
	lim := pkgtar.Limits{MaxBytes: s.opts.MaxUploadBytes}
	contents := pkgtar.Contents{DefnName: job.Name + ".defn", Defn: defn}
	switch form.topoName {
	case contents.DefnName, pkgtar.ConfDir, "topology.tar.gz":
		return exitcode.Errorf(exitcode.DataErr, "the topology file may not be named %s", quote(form.topoName))
	}
	if isArchive(form.topoName) {
		dir := filepath.Join(form.dir, "topology.d")
		if _, err := pkgtar.ExtractFile(form.topology, dir, lim); err != nil {
			return exitcode.Wrap(exitcode.DataErr, fmt.Errorf("topology archive %s: %w", form.topoName, err))
		}
		contents.TopologyDir = dir
		// <main file>.tar.gz names the topology's main file (the YAML).
		job.TopologyFile = strings.TrimSuffix(strings.TrimSuffix(form.topoName, ".tgz"), ".tar.gz")
		if st, err := os.Stat(filepath.Join(dir, job.TopologyFile)); err != nil || !st.Mode().IsRegular() {
			job.TopologyFile = job.Name + ".yaml"
		}
	} else {
		named := filepath.Join(form.dir, "file")
		if err := os.Mkdir(named, 0o700); err != nil {
			return err
		}
		p := filepath.Join(named, form.topoName)
		if err := os.Rename(form.topology, p); err != nil {
			return err
		}
		contents.TopologyFile = p
		job.TopologyFile = form.topoName
	}

	overrides, err := s.overrides(job.Overrides)
	if err != nil {
		return err
	}
	contents.Override, err = config.OverrideYAML(overrides)
	if err != nil {
		return err
	}
	conf := filepath.Join(form.dir, "conf")
	if err := copyConfDir(s.opts.ConfigDir, conf); err != nil {
		return exitcode.Wrap(exitcode.Config, fmt.Errorf("copy the cluster folder: %w", err))
	}
	if err := overrideStatemgr(filepath.Join(conf, "statemgr.yaml"), overrides); err != nil {
		return exitcode.Wrap(exitcode.Config, err)
	}
	contents.ClusterConfDir = conf
	contents.ReleaseFile = s.opts.ReleaseFile

	if err := os.Mkdir(job.WorkDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(job.DefnFile, defn, 0o644); err != nil {
		return err
	}
	if _, err := pkgtar.BuildFile(job.PackageFile, contents, lim); err != nil {
		return err
	}
	// Unpack it beside the archive too, as Heron's work directory holds
	// the topology's files and heron-conf/ next to topology.tar.gz.
	if _, err := pkgtar.ExtractFile(job.PackageFile, job.WorkDir, lim); err != nil {
		return err
	}
	return nil
}

// overrides are the server's -D properties with a submit's fields laid
// over them, all as strings (Heron's API server writes them so).
func (s *Server) overrides(submit map[string]string) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range s.opts.Properties {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, exitcode.Errorf(exitcode.Usage, "-D %s: want KEY=VALUE", quote(p))
		}
		out[k] = v
	}
	for k, v := range submit {
		out[k] = v
	}
	return out, nil
}

// maxConfBytes bounds the cluster folder copied into each package.
const maxConfBytes = 16 << 20

// copyConfDir copies a cluster folder's regular files (links to files are
// followed) and subfolders.
func copyConfDir(src, dst string) error {
	var total int64
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		st, err := os.Stat(p)
		if err != nil {
			return nil
		}
		if st.IsDir() {
			if d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			return os.MkdirAll(target, 0o755)
		}
		if !st.Mode().IsRegular() {
			return nil
		}
		if total += st.Size(); total > maxConfBytes {
			return fmt.Errorf("%s holds more than %s", src, formatBytes(maxConfBytes))
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm()|0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// overrideStatemgr replaces, in statemgr.yaml, the value of every key that
// the overrides also set, as Heron's API server does: executors read the
// state manager's address from that file, not from override.yaml. Comments
// and the order of keys stay.
func overrideStatemgr(path string, overrides map[string]any) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) || len(overrides) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("statemgr.yaml: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	changed := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		v, ok := overrides[m.Content[i].Value]
		if !ok {
			continue
		}
		m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
		changed = true
	}
	if !changed {
		return nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
