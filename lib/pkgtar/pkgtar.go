// Package pkgtar builds and unpacks topology packages (topology.tar.gz) in
// Heron's layout:
//
//	<topology file>            the jar/tar/pex, or every file of a native topology's folder
//	<name>.defn                the serialized Topology proto
//	./heron-conf/...           the cluster's config folder
//	./heron-conf/release.yaml  (when a release file is given)
//	./heron-conf/override.yaml the --config-property overrides
//
// Unpacking is safe against hostile archives: entries may not be absolute or
// climb out with "..", links may not point out of the destination, only
// files, folders and links are created, and the total size and entry count
// are bounded. (Heron's own downloaders check none of this.)
package pkgtar

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// Limits bound what Build packs and Extract unpacks.
type Limits struct {
	// MaxBytes is the total size of the files' contents.
	MaxBytes int64
	// MaxEntries is the number of entries (files, folders, links).
	MaxEntries int
}

// DefaultLimits suit a topology package: 1 GiB and 100 000 entries.
var DefaultLimits = Limits{MaxBytes: 1 << 30, MaxEntries: 100_000}

func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	return l
}

// ConfDir is the folder of the cluster config inside a package.
const ConfDir = "heron-conf"

// Contents says what goes into a package.
type Contents struct {
	// TopologyFile is a single topology binary (jar, tar, pex, so): packed
	// under its base name. Set this or TopologyDir.
	TopologyFile string
	// TopologyDir is a native topology's folder: every file in it is
	// packed under its relative path (".git" and a "heron-conf" folder are
	// left out).
	TopologyDir string
	// DefnName ("<name>.defn") and Defn are the topology definition.
	DefnName string
	Defn     []byte
	// ClusterConfDir is copied to ./heron-conf/.
	ClusterConfDir string
	// ReleaseFile, when set, is packed as ./heron-conf/<its base name>.
	ReleaseFile string
	// Override is packed as ./heron-conf/override.yaml.
	Override []byte
}

// Entry is one packed entry, for listings and dry runs.
type Entry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// Plan lists what Build would write, in order, without writing it.
func Plan(c Contents, lim Limits) ([]Entry, error) {
	items, err := collect(c, lim.orDefault())
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(items))
	for i, it := range items {
		out[i] = Entry{it.name, it.size}
	}
	return out, nil
}

// item is one entry to write: from a file on disk or from bytes.
type item struct {
	name string
	src  string
	data []byte
	dir  bool
	mode fs.FileMode
	size int64
}

func collect(c Contents, lim Limits) ([]item, error) {
	var items []item
	var total int64
	add := func(it item) error {
		items = append(items, it)
		total += it.size
		if total > lim.MaxBytes {
			return exitcode.Errorf(exitcode.DataErr, "the package would exceed %d bytes; make the topology folder smaller", lim.MaxBytes)
		}
		if len(items) > lim.MaxEntries {
			return exitcode.Errorf(exitcode.DataErr, "the package would exceed %d entries; make the topology folder smaller", lim.MaxEntries)
		}
		return nil
	}
	switch {
	case c.TopologyFile != "" && c.TopologyDir != "":
		return nil, fmt.Errorf("pkgtar: give a topology file or a topology folder, not both")
	case c.TopologyFile != "":
		st, err := os.Stat(c.TopologyFile)
		if err != nil || !st.Mode().IsRegular() {
			return nil, exitcode.Errorf(exitcode.NotFound, "%s is not an existing file", c.TopologyFile)
		}
		if err := add(item{name: filepath.Base(c.TopologyFile), src: c.TopologyFile, mode: st.Mode().Perm(), size: st.Size()}); err != nil {
			return nil, err
		}
	case c.TopologyDir != "":
		files, err := walk(c.TopologyDir, "", func(rel string) bool {
			return rel == ".git" || rel == ConfDir || rel == c.DefnName
		})
		if err != nil {
			return nil, err
		}
		for _, it := range files {
			if err := add(it); err != nil {
				return nil, err
			}
		}
	}
	if c.DefnName != "" {
		if strings.ContainsAny(c.DefnName, "/\\") {
			return nil, fmt.Errorf("pkgtar: definition name %q must be a base name", c.DefnName)
		}
		if err := add(item{name: c.DefnName, data: c.Defn, mode: 0o644, size: int64(len(c.Defn))}); err != nil {
			return nil, err
		}
	}
	if c.ClusterConfDir != "" {
		st, err := os.Stat(c.ClusterConfDir)
		if err != nil || !st.IsDir() {
			return nil, exitcode.Errorf(exitcode.Config, "%s is not an existing directory", c.ClusterConfDir)
		}
		if err := add(item{name: "./" + ConfDir, dir: true, mode: 0o755}); err != nil {
			return nil, err
		}
		files, err := walk(c.ClusterConfDir, "./"+ConfDir, func(rel string) bool {
			return rel == "override.yaml" // the package's own override file replaces it
		})
		if err != nil {
			return nil, err
		}
		for _, it := range files {
			if err := add(it); err != nil {
				return nil, err
			}
		}
	}
	if c.ReleaseFile != "" {
		st, err := os.Stat(c.ReleaseFile)
		if err != nil || !st.Mode().IsRegular() {
			return nil, exitcode.Errorf(exitcode.NotFound, "%s is not an existing file", c.ReleaseFile)
		}
		if err := add(item{name: "./" + ConfDir + "/" + filepath.Base(c.ReleaseFile), src: c.ReleaseFile, mode: 0o644, size: st.Size()}); err != nil {
			return nil, err
		}
	}
	if c.Override != nil {
		if err := add(item{name: "./" + ConfDir + "/override.yaml", data: c.Override, mode: 0o644, size: int64(len(c.Override))}); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// walk lists a folder's files and subfolders (symlinks to files are
// followed, as Heron's CLI dereferences them; symlinks to folders are left
// out to avoid loops), sorted, with names prefixed.
func walk(root, prefix string, skip func(rel string) bool) ([]item, error) {
	var out []item
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := rel
		if prefix != "" {
			name = prefix + "/" + rel
		}
		st, err := os.Stat(p) // follows symlinks
		if err != nil {
			return nil // a dangling link: nothing to pack
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0 && st.IsDir():
			return nil
		case st.IsDir():
			out = append(out, item{name: name, dir: true, mode: st.Mode().Perm()})
		case st.Mode().IsRegular():
			out = append(out, item{name: name, src: p, mode: st.Mode().Perm(), size: st.Size()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pkgtar: read %s: %w", root, err)
	}
	return out, nil
}

// Build writes the package as a gzipped tar and returns its entries.
func Build(w io.Writer, c Contents, lim Limits) ([]Entry, error) {
	items, err := collect(c, lim.orDefault())
	if err != nil {
		return nil, err
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	// A fixed time keeps packages of the same input identical.
	mtime := time.Unix(0, 0)
	var out []Entry
	for _, it := range items {
		h := &tar.Header{Name: it.name, Mode: int64(it.mode), ModTime: mtime, Format: tar.FormatPAX}
		if it.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = it.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if !it.dir {
			if err := writeItem(tw, it); err != nil {
				return nil, err
			}
		}
		out = append(out, Entry{it.name, it.size})
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out, gz.Close()
}

func writeItem(w io.Writer, it item) error {
	if it.src == "" {
		_, err := w.Write(it.data)
		return err
	}
	f, err := os.Open(it.src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, it.size))
	if err == nil && n != it.size {
		err = fmt.Errorf("pkgtar: %s changed size while being packed", it.src)
	}
	return err
}

// BuildFile writes the package to path (created or replaced).
func BuildFile(path string, c Contents, lim Limits) ([]Entry, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	entries, err := Build(f, c, lim)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return entries, nil
}

// ErrUnsafe marks an archive that tried to write outside its destination
// or held something other than files, folders and links.
var ErrUnsafe = exitcode.New(exitcode.DataErr, "unsafe archive")

// Extract unpacks a gzipped (or plain) tar into dir, creating dir. It refuses
// absolute names, names with "..", links that resolve outside dir, device
// and fifo entries, and archives larger than lim. Existing files are
// replaced, as Heron's downloaders do.
func Extract(r io.Reader, dir string, lim Limits) ([]Entry, error) {
	lim = lim.orDefault()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, exitcode.Errorf(exitcode.DataErr, "not a gzip archive: %v", err)
		}
		defer gz.Close()
		src = gz
	}
	tr := tar.NewReader(src)
	var out []Entry
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, exitcode.Errorf(exitcode.DataErr, "not a valid tar archive: %v", err)
		}
		if len(out) >= lim.MaxEntries {
			return out, fmt.Errorf("%w: more than %d entries", ErrUnsafe, lim.MaxEntries)
		}
		name, err := localName(h.Name)
		if err != nil {
			return out, err
		}
		if name == "." {
			continue
		}
		target := filepath.Join(root, filepath.FromSlash(name))
		if err := insideParent(root, target); err != nil {
			return out, err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := mkdirNoFollow(root, target); err != nil {
				return out, err
			}
		case tar.TypeReg, tar.TypeRegA:
			if h.Size < 0 || total+h.Size > lim.MaxBytes {
				return out, fmt.Errorf("%w: contents exceed %d bytes", ErrUnsafe, lim.MaxBytes)
			}
			n, err := writeFile(root, target, tr, h.Size, fs.FileMode(h.Mode).Perm())
			total += n
			if err != nil {
				return out, err
			}
		case tar.TypeSymlink:
			if err := symlink(root, target, h.Linkname); err != nil {
				return out, err
			}
		case tar.TypeLink:
			if err := hardlink(root, target, h.Linkname); err != nil {
				return out, err
			}
		case tar.TypeXGlobalHeader:
			continue
		default:
			return out, fmt.Errorf("%w: entry %s has type %q; only files, folders and links are allowed", ErrUnsafe, h.Name, h.Typeflag)
		}
		out = append(out, Entry{name, h.Size})
	}
	return out, nil
}

// ExtractFile unpacks the archive at path into dir.
func ExtractFile(path, dir string, lim Limits) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.NotFound, err)
	}
	defer f.Close()
	return Extract(f, dir, lim)
}

// localName cleans an entry name ("./heron-conf/x" → "heron-conf/x") and
// refuses names that are absolute or climb out.
func localName(n string) (string, error) {
	if n == "" || strings.ContainsRune(n, 0) || strings.Contains(n, "\\") {
		return "", fmt.Errorf("%w: entry name %q", ErrUnsafe, n)
	}
	if strings.HasPrefix(n, "/") {
		return "", fmt.Errorf("%w: entry %q has an absolute path", ErrUnsafe, n)
	}
	c := path.Clean(n)
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: entry %q climbs out with ..", ErrUnsafe, n)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(c)) && c != "." {
		return "", fmt.Errorf("%w: entry %q is not a local path", ErrUnsafe, n)
	}
	return c, nil
}

// within reports whether p is root or below it (both absolute, clean).
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// insideParent checks that the real location of target's parent folder is
// inside root, so that a symlinked folder from an earlier entry cannot
// redirect a write.
func insideParent(root, target string) error {
	parent := filepath.Dir(target)
	for p := parent; within(root, p) && p != root; p = filepath.Dir(p) {
		st, err := os.Lstat(p)
		if err != nil {
			continue // not created yet: no link there
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			real, err := filepath.EvalSymlinks(p)
			if err != nil || !within(root, real) {
				return fmt.Errorf("%w: %s passes through a link out of the destination", ErrUnsafe, target)
			}
		}
	}
	real := parent
	if _, err := os.Lstat(parent); err == nil {
		if r, err := filepath.EvalSymlinks(parent); err == nil {
			real = r
		}
	}
	if !within(root, real) {
		return fmt.Errorf("%w: %s is outside the destination", ErrUnsafe, target)
	}
	return nil
}

func mkdirNoFollow(root, target string) error {
	if st, err := os.Lstat(target); err == nil {
		if st.IsDir() {
			return nil
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			if real, err := filepath.EvalSymlinks(target); err == nil && within(root, real) {
				return nil
			}
			return fmt.Errorf("%w: folder %s is a link out of the destination", ErrUnsafe, target)
		}
		if err := os.Remove(target); err != nil {
			return err
		}
	}
	return os.MkdirAll(target, 0o755)
}

func writeFile(root, target string, r io.Reader, size int64, mode fs.FileMode) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return 0, err
	}
	if err := insideParent(root, target); err != nil {
		return 0, err
	}
	// Replace whatever is there (a link included) instead of writing through it.
	if st, err := os.Lstat(target); err == nil && !st.Mode().IsRegular() {
		if err := os.RemoveAll(target); err != nil {
			return 0, err
		}
	} else if err == nil {
		if err := os.Remove(target); err != nil {
			return 0, err
		}
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode|0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = exitcode.Errorf(exitcode.DataErr, "archive entry %s is truncated", target)
	}
	return n, err
}

// symlink creates a link whose target, resolved from the link's folder,
// stays inside root. Absolute targets are refused.
func symlink(root, target, link string) error {
	if link == "" || strings.HasPrefix(link, "/") || strings.ContainsRune(link, 0) {
		return fmt.Errorf("%w: link %s points to %q", ErrUnsafe, target, link)
	}
	resolved := filepath.Join(filepath.Dir(target), filepath.FromSlash(link))
	if !within(root, resolved) {
		return fmt.Errorf("%w: link %s points to %q, outside the destination", ErrUnsafe, target, link)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if err := insideParent(root, target); err != nil {
		return err
	}
	if _, err := os.Lstat(target); err == nil {
		if err := os.RemoveAll(target); err != nil {
			return err
		}
	}
	// Links from earlier entries may make the lexical check wrong (x -> "."
	// then a -> "x/.."), so follow what exists on disk too.
	base, err := filepath.EvalSymlinks(filepath.Dir(target))
	if err != nil {
		return err
	}
	follows := 0
	real, ok := resolve(base, link, &follows)
	if !ok || !within(root, real) {
		return fmt.Errorf("%w: link %s points to %q, which resolves outside the destination", ErrUnsafe, target, link)
	}
	return os.Symlink(link, target)
}

// resolve follows link from folder base one component at a time, as the
// kernel would, through the links that exist now; components that do not
// exist yet are taken as plain names.
// At most 40 links are followed in all, as the kernel does (ELOOP).
func resolve(base, link string, follows *int) (string, bool) {
	cur := base
	if filepath.IsAbs(link) {
		cur = "/"
	}
	for _, part := range strings.Split(filepath.ToSlash(link), "/") {
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		st, err := os.Lstat(next)
		if err == nil && st.Mode()&fs.ModeSymlink != 0 {
			if *follows++; *follows > 40 {
				return "", false // a link loop
			}
			t, err := os.Readlink(next)
			if err != nil {
				return "", false
			}
			r, ok := resolve(cur, t, follows)
			if !ok {
				return "", false
			}
			next = r
		}
		cur = next
	}
	return cur, true
}

// hardlink links to an entry already unpacked inside root.
func hardlink(root, target, link string) error {
	name, err := localName(link)
	if err != nil {
		return fmt.Errorf("%w: hard link %s points to %q", ErrUnsafe, target, link)
	}
	src := filepath.Join(root, filepath.FromSlash(name))
	st, err := os.Lstat(src)
	if err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%w: hard link %s points to %q, which is not a file unpacked before it", ErrUnsafe, target, link)
	}
	if err := insideParent(root, src); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if err := insideParent(root, target); err != nil {
		return err
	}
	if _, err := os.Lstat(target); err == nil {
		if err := os.RemoveAll(target); err != nil {
			return err
		}
	}
	return os.Link(src, target)
}

// Names lists entry names, sorted, for messages and tests.
func Names(es []Entry) []string {
	n := make([]string, len(es))
	for i, e := range es {
		n[i] = e.Name
	}
	sort.Strings(n)
	return slices.Compact(n)
}

// DefnName finds the top-level <name>.defn entry of a package and returns
// the topology name, reading headers only.
func DefnName(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", exitcode.Wrap(exitcode.NotFound, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", exitcode.Errorf(exitcode.DataErr, "%s is not a gzipped topology package: %v", path, err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", exitcode.Errorf(exitcode.DataErr, "%s holds no <name>.defn at its top level; is it a topology package?", path)
		}
		if err != nil {
			return "", exitcode.Errorf(exitcode.DataErr, "%s is not a valid tar archive: %v", path, err)
		}
		n := strings.TrimPrefix(h.Name, "./")
		if !strings.Contains(n, "/") && strings.HasSuffix(n, ".defn") && len(n) > len(".defn") {
			return strings.TrimSuffix(n, ".defn"), nil
		}
	}
}
