package serviceclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
)

// SubmitRequest is Heron's submit form.
type SubmitRequest struct {
	Name, Cluster, Role, Environment string
	// User is the submitting user (Heron's CLI sends the OS user).
	User string
	// Definition is the path of the compiled <name>.defn.
	Definition string
	// TopologyFile is a single topology file (a jar, a pex, a YAML with no
	// companion files), sent under its base name. Set it or TopologyDir.
	TopologyFile string
	// TopologyDir is a native topology's folder, sent as a gzipped tar
	// built on the fly (nothing is written locally) named <MainFile>.tar.gz,
	// which tells the server the topology's main file (the YAML).
	TopologyDir string
	// MainFile is the base name of the topology's file in TopologyDir.
	MainFile string
	// Properties are --config-property KEY=VALUE items, sent as extra form
	// fields; boolean values are sent as True/False, as Heron's CLI does.
	Properties []string
	DryRun     bool
	// DryRunFormat is sent when set (Heron's CLI never sends it).
	DryRunFormat string
	VerboseGC    bool
}

// SubmitResult is the server's answer: 201 with the topology's name and
// place, or 200 with a dry run's plan.
type SubmitResult struct {
	Name        string          `json:"name,omitempty"`
	Cluster     string          `json:"cluster,omitempty"`
	Role        string          `json:"role,omitempty"`
	Environment string          `json:"environment,omitempty"`
	Response    json.RawMessage `json:"response,omitempty"`
	// Location is the new topology's path (201 only).
	Location string `json:"location,omitempty"`
}

// Submit sends a topology to the server. The body is written while it is
// sent, so packages of any size cost no memory.
func (c *Client) Submit(ctx context.Context, s SubmitRequest) (*SubmitResult, error) {
	if (s.TopologyFile == "") == (s.TopologyDir == "") {
		return nil, exitcode.New(exitcode.Usage, "submit: give a topology file or a topology folder")
	}
	for _, p := range []string{s.Definition, s.TopologyFile, s.TopologyDir} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return nil, exitcode.Wrap(exitcode.NotFound, err)
		}
	}
	fields := [][2]string{{"name", s.Name}, {"cluster", s.Cluster}, {"role", s.Role},
		{"environment", s.Environment}, {"user", s.User}}
	for _, p := range s.Properties {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, exitcode.Errorf(exitcode.Usage, "--config-property %q: want KEY=VALUE", p)
		}
		switch v {
		case "true", "True", "TRUE":
			v = "True"
		case "false", "False", "FALSE":
			v = "False"
		}
		fields = append(fields, [2]string{k, v})
	}
	if s.DryRun {
		fields = append(fields, [2]string{"dry_run", "True"})
		if s.DryRunFormat != "" {
			fields = append(fields, [2]string{"dry_run_format", s.DryRunFormat})
		}
	}
	if s.VerboseGC {
		fields = append(fields, [2]string{"verbose_gc", "True"})
	}

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeSubmitForm(mw, fields, s))
	}()
	defer pr.Close()
	var out SubmitResult
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/topologies", pr, mw.FormDataContentType(), true, &out)
	if err != nil {
		return nil, err
	}
	out.Location = resp.Header.Get("Location")
	return &out, nil
}

func writeSubmitForm(mw *multipart.Writer, fields [][2]string, s SubmitRequest) error {
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	if err := copyFilePart(mw, "definition", filepath.Base(s.Definition), s.Definition); err != nil {
		return err
	}
	if s.TopologyFile != "" {
		if err := copyFilePart(mw, "topology", filepath.Base(s.TopologyFile), s.TopologyFile); err != nil {
			return err
		}
	} else {
		name := filepath.Base(filepath.Clean(s.TopologyDir)) + ".tar.gz"
		if s.MainFile != "" {
			name = filepath.Base(s.MainFile) + ".tar.gz"
		}
		w, err := filePart(mw, "topology", name)
		if err != nil {
			return err
		}
		if _, err := pkgtar.Build(w, pkgtar.Contents{TopologyDir: s.TopologyDir}, pkgtar.DefaultLimits); err != nil {
			return fmt.Errorf("pack %s: %w", s.TopologyDir, err)
		}
	}
	return mw.Close()
}

func filePart(mw *multipart.Writer, field, name string) (io.Writer, error) {
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, field, escapeQuotes(name)))
	h.Set("Content-Type", "application/octet-stream")
	return mw.CreatePart(h)
}

func copyFilePart(mw *multipart.Writer, field, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := filePart(mw, field, name)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }
