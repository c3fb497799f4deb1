package pkgtar

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heronkit/heronkit/lib/exitcode"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildNativeLayoutAndExtract(t *testing.T) {
	topo := writeTree(t, map[string]string{
		"wordcount.yaml": "name: WordCount\n", "sentences.sh": "#!/bin/sh\n", "lib/words.txt": "a b\n",
		".git/HEAD": "x", "heron-conf/stale.yaml": "x", "WordCount.defn": "stale",
	})
	conf := writeTree(t, map[string]string{"statemgr.yaml": "a: 1\n", "override.yaml": "stale: 1\n"})
	rel := writeTree(t, map[string]string{"release.yaml": "heron.build.version: 'x'\n"})
	var buf bytes.Buffer
	c := Contents{
		TopologyDir: topo, DefnName: "WordCount.defn", Defn: []byte("DEFN"),
		ClusterConfDir: conf, ReleaseFile: filepath.Join(rel, "release.yaml"), Override: []byte("{}\n"),
	}
	entries, err := Build(&buf, c, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	// Heron's order: topology files, the defn, ./heron-conf, its files,
	// release.yaml, override.yaml.
	want := []string{"lib", "lib/words.txt", "sentences.sh", "wordcount.yaml", "WordCount.defn",
		"./heron-conf", "./heron-conf/statemgr.yaml", "./heron-conf/release.yaml", "./heron-conf/override.yaml"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries\n %v\nwant\n %v", names, want)
	}
	plan, err := Plan(c, Limits{})
	if err != nil || len(plan) != len(entries) {
		t.Fatalf("plan %v %v", plan, err)
	}
	// Identical input gives identical bytes.
	var again bytes.Buffer
	if _, err := Build(&again, c, Limits{}); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("build is not reproducible")
	}

	out := t.TempDir()
	if _, err := Extract(bytes.NewReader(buf.Bytes()), out, Limits{}); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"WordCount.defn": "DEFN", "heron-conf/override.yaml": "{}\n", "lib/words.txt": "a b\n", "heron-conf/release.yaml": "heron.build.version: 'x'\n"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != body {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "sentences.sh")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("sentences.sh lost its exec bit: %v %v", st, err)
	}
}

func TestBuildSingleFileAndLimits(t *testing.T) {
	dir := writeTree(t, map[string]string{"topo.jar": "JAR", "big/a": strings.Repeat("x", 100), "big/b": strings.Repeat("x", 100)})
	entries, err := Build(&bytes.Buffer{}, Contents{TopologyFile: filepath.Join(dir, "topo.jar"), DefnName: "T.defn", Defn: []byte("d")}, Limits{})
	if err != nil || entries[0].Name != "topo.jar" || entries[1].Name != "T.defn" {
		t.Fatalf("%v %v", entries, err)
	}
	_, err = Build(&bytes.Buffer{}, Contents{TopologyDir: filepath.Join(dir, "big")}, Limits{MaxBytes: 150})
	if err == nil || exitcode.Code(err) != exitcode.DataErr {
		t.Fatalf("size limit: %v", err)
	}
	_, err = Build(&bytes.Buffer{}, Contents{TopologyDir: filepath.Join(dir, "big")}, Limits{MaxEntries: 1})
	if err == nil {
		t.Fatal("entry limit not enforced")
	}
	if _, err := Build(&bytes.Buffer{}, Contents{TopologyFile: filepath.Join(dir, "nope.jar")}, Limits{}); exitcode.Code(err) != exitcode.NotFound {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Build(&bytes.Buffer{}, Contents{ClusterConfDir: filepath.Join(dir, "nope")}, Limits{}); err == nil {
		t.Fatal("missing conf dir accepted")
	}
}

type entry struct {
	name, link string
	typ        byte
	body       string
}

func archive(t testing.TB, gz bool, es ...entry) []byte {
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range es {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			w.Write([]byte(e.body))
		}
	}
	w.Close()
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

func TestExtractRejectsEscapes(t *testing.T) {
	cases := map[string][]entry{
		"dotdot":             {{name: "../evil", typ: tar.TypeReg, body: "x"}},
		"nested dotdot":      {{name: "a/../../evil", typ: tar.TypeReg, body: "x"}},
		"absolute":           {{name: "/tmp/evil", typ: tar.TypeReg, body: "x"}},
		"symlink absolute":   {{name: "l", link: "/etc", typ: tar.TypeSymlink}},
		"symlink out":        {{name: "l", link: "../..", typ: tar.TypeSymlink}},
		"symlink chain out":  {{name: "x", link: ".", typ: tar.TypeSymlink}, {name: "a", link: "x/..", typ: tar.TypeSymlink}},
		"write through link": {{name: "d", typ: tar.TypeDir}, {name: "d/l", link: "..", typ: tar.TypeSymlink}, {name: "d/l/l2", link: "..", typ: tar.TypeSymlink}},
		"hardlink out":       {{name: "h", link: "../outside.txt", typ: tar.TypeLink}},
		"hardlink absolute":  {{name: "h", link: "/etc/passwd", typ: tar.TypeLink}},
		"hardlink missing":   {{name: "h", link: "nothing", typ: tar.TypeLink}},
		"device":             {{name: "dev", typ: tar.TypeChar}},
		"fifo":               {{name: "fifo", typ: tar.TypeFifo}},
		"backslash":          {{name: `..\evil`, typ: tar.TypeReg, body: "x"}},
	}
	for name, es := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			os.WriteFile(filepath.Join(parent, "outside.txt"), []byte("keep"), 0o644)
			dest := filepath.Join(parent, "dest")
			_, err := Extract(bytes.NewReader(archive(t, true, es...)), dest, Limits{})
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("err = %v, want ErrUnsafe", err)
			}
			if exitcode.Code(err) != exitcode.DataErr {
				t.Errorf("code %d", exitcode.Code(err))
			}
			checkNothingOutside(t, parent)
		})
	}
}

// checkNothingOutside: only dest/ and outside.txt (unchanged) may exist.
func checkNothingOutside(t testing.TB, parent string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != "dest" && e.Name() != "outside.txt" {
			t.Errorf("extraction wrote %s outside the destination", e.Name())
		}
	}
	if b, err := os.ReadFile(filepath.Join(parent, "outside.txt")); err == nil && string(b) != "keep" {
		t.Errorf("outside.txt changed to %q", b)
	}
}

func TestExtractAllowsLinksInside(t *testing.T) {
	dest := t.TempDir()
	_, err := Extract(bytes.NewReader(archive(t, false,
		entry{name: "./a/b.txt", typ: tar.TypeReg, body: "B"},
		entry{name: "a/l", link: "b.txt", typ: tar.TypeSymlink},
		entry{name: "top", link: "a", typ: tar.TypeSymlink},
		entry{name: "h", link: "a/b.txt", typ: tar.TypeLink},
		entry{name: "top/c.txt", typ: tar.TypeReg, body: "C"},
		entry{name: "a/b.txt", typ: tar.TypeReg, body: "B2"}, // replaces, as Heron does
	)), dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a/l": "B2", "top/c.txt": "C", "a/c.txt": "C", "h": "B"} {
		if b, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q %v, want %q", name, b, err, want)
		}
	}
}

func TestExtractLimits(t *testing.T) {
	big := archive(t, true, entry{name: "a", typ: tar.TypeReg, body: strings.Repeat("x", 1000)})
	if _, err := Extract(bytes.NewReader(big), t.TempDir(), Limits{MaxBytes: 999}); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("size: %v", err)
	}
	many := archive(t, true, entry{name: "a", typ: tar.TypeDir}, entry{name: "b", typ: tar.TypeDir}, entry{name: "c", typ: tar.TypeDir})
	if _, err := Extract(bytes.NewReader(many), t.TempDir(), Limits{MaxEntries: 2}); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("entries: %v", err)
	}
	if _, err := Extract(strings.NewReader("\x1f\x8bgarbage"), t.TempDir(), Limits{}); exitcode.Code(err) != exitcode.DataErr {
		t.Fatalf("garbage: %v", err)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(archive(f, true, entry{name: "a/b", typ: tar.TypeReg, body: "x"}))
	f.Add(archive(f, false, entry{name: "../x", typ: tar.TypeReg, body: "x"}))
	f.Add(archive(f, false, entry{name: "l", link: "..", typ: tar.TypeSymlink}, entry{name: "l/x", typ: tar.TypeReg, body: "x"}))
	f.Add(archive(f, false, entry{name: "x", link: ".", typ: tar.TypeSymlink}, entry{name: "a", link: "x/..", typ: tar.TypeSymlink}))
	f.Add(archive(f, false, entry{name: "h", link: "../outside.txt", typ: tar.TypeLink}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		os.WriteFile(filepath.Join(parent, "outside.txt"), []byte("keep"), 0o644)
		_, _ = Extract(bytes.NewReader(data), filepath.Join(parent, "dest"), Limits{MaxBytes: 1 << 20, MaxEntries: 1000})
		checkNothingOutside(t, parent)
	})
}

func TestExtractLinkLoopIsBounded(t *testing.T) {
	data := archive(t, false,
		entry{name: "a", link: "a/a/a/a/a/a", typ: tar.TypeSymlink},
		entry{name: "b", link: "a/a/a/a/a/a/a/a", typ: tar.TypeSymlink})
	_, err := Extract(bytes.NewReader(data), t.TempDir(), Limits{})
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("err %v", err)
	}
}
